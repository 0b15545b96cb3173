# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for NTS certificates: the subjectAltName entries of the names clients use, and what is wrong with a
certificate (community.crypto.x509_certificate_info's result) for those names and that key."""


import base64
import binascii
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


def _dns_entry_problem(value):
    """Why this DNS subjectAltName entry never names a client's name as chrony (GnuTLS) checks it, or None.

    GnuTLS compares a client's name with an entry byte for byte (case aside), so an entry with a trailing dot
    matches no name; it takes '*' only as the whole leftmost label with at least two labels after it ('*.net'
    covers nothing), and a wildcard covers exactly one label."""
    if value.endswith('.'):
        return 'ends with a dot, which chrony never matches to a name (re-issue it without the trailing dot)'
    if '*' in value:
        if not value.startswith('*.') or '*' in value[1:]:
            return ('has a wildcard that is not the whole leftmost label, which this check never takes as naming a '
                    'client\'s name (name the server in full, or use "*." and two or more labels)')
        if '.' not in value[2:]:
            return ('is a wildcard over a top-level domain, which chrony never matches: a wildcard needs two or more '
                    'labels after "*." and covers exactly one label (DNS:*.example.net covers gs1.example.net, '
                    'not example.net)')
    return None


def _covers(entries, name):
    """Whether one of the certificate's SAN entries names `name` as chrony (GnuTLS) checks it: the exact name, or
    a wildcard '*.<two or more labels>' covering exactly one left label; never the bare parent domain."""
    address = _ip(name)
    wanted = name.rstrip('.').lower()
    for entry in entries:
        kind, dummy, value = to_text(entry).partition(':')
        if address is not None:
            if kind == 'IP' and _ip(value) == address:
                return True
            continue
        value = value.lower()
        if kind != 'DNS' or _dns_entry_problem(value):
            continue
        if value == wanted:
            return True
        label, dummy, parent = wanted.partition('.')
        if value.startswith('*.') and label and parent == value[2:]:
            return True
    return False


def _unusable_entries(entries):
    """'DNS:x: why' for each DNS entry chrony never matches, for the message about the names it lacks."""
    notes = []
    for entry in entries:
        kind, dummy, value = to_text(entry).partition(':')
        why = _dns_entry_problem(value) if kind == 'DNS' else None
        if why:
            notes.append('%s %s' % (to_text(entry), why))
    return notes


def _certificate_bytes(certificate):
    """The certificate file's bytes from ansible.builtin.slurp's result (base64), bytes or text; None when it
    cannot be decoded."""
    if isinstance(certificate, dict):
        content = certificate.get('content')
        if not isinstance(content, string_types) or certificate.get('encoding', 'base64') != 'base64':
            return None
        try:
            return base64.b64decode(to_text(content).encode('ascii'), validate=True)
        except (binascii.Error, ValueError, UnicodeError):
            return None
    if isinstance(certificate, bytes):
        return certificate
    if isinstance(certificate, string_types):
        try:
            return to_text(certificate).encode('utf-8', 'surrogateescape')
        except UnicodeError:
            return None
    return None


def _encoding_problem(certificate):
    """Why chrony cannot read the certificate file, whose content is given (chrony loads it with GnuTLS as PEM
    only), or None when it is a PEM certificate."""
    data = _certificate_bytes(certificate)
    if data is None:
        return 'cannot read the certificate file (give ansible.builtin.slurp\'s result, its bytes or its text)'
    try:
        from cryptography import x509
        from cryptography.hazmat.backends import default_backend
    except ImportError:
        return 'cannot check the certificate file: the Python library cryptography is missing on the controller'
    if b'-----BEGIN' in data:
        try:
            x509.load_pem_x509_certificate(data, default_backend())
            return None
        except Exception:  # cryptography raises ValueError or others for damaged input, by version
            return 'cannot read it as a PEM certificate (damaged PEM)'
    try:
        x509.load_der_x509_certificate(data, default_backend())
    except Exception:  # as above
        return 'cannot read it as a PEM certificate (it is neither PEM nor DER)'
    return ('it is a DER (binary) certificate, and chrony reads only PEM ("-----BEGIN CERTIFICATE-----"): convert it '
            'with "openssl x509 -inform DER -outform PEM"')


def _served_problem(served, certificate):
    """Why the certificate NTS-KE serves here is not the file's (community.crypto.get_certificate's result for TCP
    4460 on the host, and the file as slurp returns it), or None. The daemon reads the file at start only: a file
    changed since (renewed, put back) is not what clients meet until it restarts."""
    from cryptography import x509
    from cryptography.hazmat.backends import default_backend

    if not isinstance(served, dict) or served.get('failed') or not served.get('cert'):
        message = served.get('msg') if isinstance(served, dict) else None
        return ('NTS-KE on TCP 4460 of this host served no certificate%s: is the daemon running, with its NTS server '
                'settings?' % (' (%s)' % to_text(message)[:200] if message else ''))
    try:
        live = x509.load_pem_x509_certificate(to_text(served['cert']).encode('ascii'), default_backend())
    except Exception:  # cryptography raises ValueError or others for damaged input, by version
        return 'the certificate NTS-KE serves here cannot be read'
    data = _certificate_bytes(certificate)
    block = re.search(br'-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----', data or b'', re.S)
    try:
        on_file = x509.load_pem_x509_certificate(block.group(0), default_backend()) if block else None
    except Exception:  # as above
        on_file = None
    if on_file is not None and on_file == live:
        return None
    # (cryptography 42 and newer: not_valid_after_utc, aware; older: not_valid_after, naive UTC)
    until = getattr(live, 'not_valid_after_utc', None) or live.not_valid_after
    expired = until.replace(tzinfo=None) <= datetime.datetime.utcnow()
    return ('NTS-KE serves another certificate than the file (serial %x, valid until %s UTC%s): the daemon read it '
            'before the file changed, and clients meet the served one; restart the daemon to serve the file'
            % (live.serial_number, until.strftime('%Y-%m-%d %H:%M'), ', expired' if expired else ''))


def _when(text):
    try:
        return datetime.datetime.strptime(to_text(text), _TIME)
    except (TypeError, ValueError):
        return None


def nts_certificate_problems(info, names, public_key=None, now=None, certificate=None, served=None):
    """What keeps this certificate from serving NTS to clients that use `names`, in plain words ([] when nothing):
    unreadable, not PEM, outside its validity, a name the SAN lacks (or an entry chrony never matches), not the
    certificate of the server key, a key usage without digitalSignature, not for TLS servers. `info` is
    community.crypto.x509_certificate_info's result (which also reads DER, so `certificate`, the file's content as
    ansible.builtin.slurp returns it, is needed to tell PEM from DER); `now` ('%Y%m%d%H%M%SZ', UTC) is for tests.
    `served`: community.crypto.get_certificate's result for NTS-KE (TCP 4460) on the host, compared with the file."""
    names = _check_names(names, 'nts_certificate_problems')
    found = []
    if served is not None:
        problem = _served_problem(served, certificate)
        if problem:
            found.append(problem)
    if certificate is not None:
        encoding = _encoding_problem(certificate)
        if encoding:
            found.append(encoding)
    if not isinstance(info, dict) or info.get('failed') or 'subject_alt_name' not in info:
        message = info.get('msg') if isinstance(info, dict) else None
        unreadable = 'cannot read it as a PEM certificate%s' % (' (%s)' % message if message else '')
        return found if found and found[0].startswith('cannot read') else found + [unreadable]
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
        unusable = _unusable_entries(entries)
        found.append('its subjectAltName (%s) does not name %s, which clients use: chrony refuses it ("The name in the '
                     'certificate does not match")%s' % (
                         ', '.join(to_text(e) for e in entries) or 'none', ', '.join(missing),
                         '; ' + '; '.join(unusable) if unusable else ''))
    if public_key is not None and to_text(info.get('public_key', '')).strip() != to_text(public_key).strip():
        found.append('it is not the certificate of the server key (another public key)')
    key_usage = info.get('key_usage')
    if key_usage and not isinstance(key_usage, (list, tuple)):
        found.append('its key usage cannot be read (%r)' % (key_usage,))
    elif key_usage and not set(to_text(u) for u in key_usage) & {'Digital Signature', 'digitalSignature'}:
        found.append('its key usage (%s) lacks digitalSignature, which the TLS 1.3 server signature of NTS-KE needs: '
                     'chrony (GnuTLS) refuses the handshake; re-issue it with key usage digitalSignature'
                     % ', '.join(to_text(u) for u in key_usage))
    usages = info.get('extended_key_usage')
    if usages and not set(usages) & {'TLS Web Server Authentication', 'serverAuth', 'Any Extended Key Usage'}:
        found.append('its extended key usage (%s) does not allow a TLS server' % ', '.join(usages))
    return found


class FilterModule:
    def filters(self):
        return {'subject_alt_names': subject_alt_names, 'nts_certificate_problems': nts_certificate_problems}
