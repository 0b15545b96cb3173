# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for NTS certificates: the subjectAltName entries of the names clients use, and what is wrong with a
certificate (community.crypto.x509_certificate_info's result) for those names and that key."""


import datetime
import ipaddress
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types

# A DNS name as a client's server line gives it (RFC 1123 labels); '*.' only in certificates
_DNS_NAME = re.compile(r'^(?=.{1,253}\Z)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?\Z')
_TIME = '%Y%m%d%H%M%SZ'


def _ip(name):
    try:
        return ipaddress.ip_address(to_text(name))
    except ValueError:
        return None


def _check_names(names, what):
    if isinstance(names, string_types) or not isinstance(names, (list, tuple)) or not names:
        raise AnsibleFilterError('%s: expects a non-empty list of host names or addresses, not %r' % (what, names))
    checked = []
    for name in names:
        if not isinstance(name, string_types):
            raise AnsibleFilterError('%s: %r is not a host name or address (a string)' % (what, name))
        name = to_text(name)
        if _ip(name) is None and not _DNS_NAME.match(name):
            raise AnsibleFilterError('%s: %r is neither a DNS name (letters, digits, "-" and ".") nor an IP address: '
                                     'fix autokey_nts_names or autokey_address' % (what, name))
        checked.append(name)
    return checked


def subject_alt_names(names):
    """['DNS:gs1.example.net', 'IP:192.0.2.1'] for the names and addresses clients use."""
    return ['IP:%s' % _ip(name) if _ip(name) is not None else 'DNS:%s' % name.rstrip('.').lower()
            for name in _check_names(names, 'subject_alt_names')]


def _covers(entries, name):
    """Whether one of the certificate's SAN entries names `name` (RFC 6125: a wildcard covers one left label)."""
    address = _ip(name)
    for entry in entries:
        kind, dummy, value = to_text(entry).partition(':')
        if address is not None:
            if kind == 'IP' and _ip(value) == address:
                return True
            continue
        wanted, value = name.rstrip('.').lower(), value.rstrip('.').lower()
        if kind != 'DNS':
            continue
        if value == wanted or (value.startswith('*.') and '.' in wanted and wanted.split('.', 1)[1] == value[2:]):
            return True
    return False


def _when(text):
    try:
        return datetime.datetime.strptime(to_text(text), _TIME)
    except (TypeError, ValueError):
        return None


def nts_certificate_problems(info, names, public_key=None, now=None):
    """What keeps this certificate from serving NTS to clients that use `names`, in plain words ([] when nothing):
    unreadable, outside its validity, a name the SAN lacks, not the certificate of the server key, not for TLS
    servers. `info` is community.crypto.x509_certificate_info's result; `now` ('%Y%m%d%H%M%SZ', UTC) is for tests."""
    names = _check_names(names, 'nts_certificate_problems')
    if not isinstance(info, dict) or info.get('failed') or 'subject_alt_name' not in info:
        message = info.get('msg') if isinstance(info, dict) else None
        return ['cannot read it as a PEM certificate%s' % (' (%s)' % message if message else '')]
    found = []
    moment = _when(now) if now else datetime.datetime.utcnow()
    not_before, not_after = _when(info.get('not_before')), _when(info.get('not_after'))
    if not_after is None or not_before is None:
        found.append('its validity dates cannot be read')
    elif moment >= not_after:
        found.append('it expired on %s UTC' % not_after.strftime('%Y-%m-%d %H:%M'))
    elif moment < not_before:
        found.append('it is not valid before %s UTC' % not_before.strftime('%Y-%m-%d %H:%M'))
    entries = info.get('subject_alt_name') or []
    missing = [name for name in names if not _covers(entries, name)]
    if missing:
        found.append('its subjectAltName (%s) does not name %s, which clients use: chrony refuses it ("The name in the '
                     'certificate does not match")' % (', '.join(to_text(e) for e in entries) or 'none', ', '.join(missing)))
    if public_key is not None and to_text(info.get('public_key', '')).strip() != to_text(public_key).strip():
        found.append('it is not the certificate of the server key (another public key)')
    usages = info.get('extended_key_usage')
    if usages and not set(usages) & {'TLS Web Server Authentication', 'serverAuth', 'Any Extended Key Usage'}:
        found.append('its extended key usage (%s) does not allow a TLS server' % ', '.join(usages))
    return found


class FilterModule:
    def filters(self):
        return {'subject_alt_names': subject_alt_names, 'nts_certificate_problems': nts_certificate_problems}
