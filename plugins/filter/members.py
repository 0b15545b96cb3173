# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters over the inventory that the roles and playbooks share: the address each fleet member is
reached at, the upstream associations built from addresses, and one registered result per host."""


import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types

# What an address or a name may look like on a server line: one token, no control characters.
_ADDRESS = re.compile(r'^[A-Za-z0-9_.:%\[\]-]+\Z')
METHODS = ('autokey', 'symmetric', 'nts', 'none')
_POLL = range(3, 18)  # ntpd accepts poll exponents 3 (8 s) to 17 (36 h)


def _names(value, filter_name):
    if isinstance(value, string_types) or not hasattr(value, '__iter__'):
        raise AnsibleFilterError('%s: expects a list of inventory names, not %s' % (filter_name, type(value).__name__))
    return [to_text(name) for name in value]


def member_addresses(names, hostvars, variable='autokey_address'):
    """Each member's `variable` (autokey_address) where it is set, its inventory name otherwise."""
    addresses = []
    for name in _names(names, 'member_addresses'):
        if name not in hostvars:
            raise AnsibleFilterError('member_addresses: %s is not in the inventory' % name)
        address = hostvars[name].get(variable) or name
        addresses.append(check_address(address, '%s of %s' % (variable, name)))
    return addresses


def check_address(address, what):
    address = to_text(address)
    if not _ADDRESS.match(address):
        raise AnsibleFilterError('%s is %r: an address or host name for a server line is one token of letters, digits '
                                 'and . : - _ [ ] %%' % (what, address))
    return address


def _check_options(options):
    if not isinstance(options, dict):
        raise AnsibleFilterError('associations: options must be a dict such as {minpoll: 4, maxpoll: 6}, not %s'
                                 % type(options).__name__)
    known = {'iburst': bool, 'prefer': bool, 'minpoll': int, 'maxpoll': int}
    for key, value in options.items():
        if key not in known:
            raise AnsibleFilterError('associations: unknown server option %r (known: %s)'
                                     % (key, ', '.join(sorted(known))))
        if known[key] is int and (isinstance(value, bool) or not isinstance(value, int) or value not in _POLL):
            raise AnsibleFilterError('associations: %s must be a poll exponent from 3 to 17, not %r' % (key, value))
        if known[key] is bool and not isinstance(value, bool):
            raise AnsibleFilterError('associations: %s must be true or false, not %r' % (key, value))
    if options.get('minpoll', 3) > options.get('maxpoll', 17):
        raise AnsibleFilterError('associations: minpoll %s is above maxpoll %s' % (options['minpoll'], options['maxpoll']))
    return dict(options)


def associations(addresses, method='autokey', ident='', options=None, key=None):
    """Upstream associations, one per address, in the daemon-neutral form the roles hand to the daemon role:
    {address, method, ident, key, iburst, prefer, minpoll, maxpoll}. ntpd's template writes `autokey ident
    <group>` for method autokey and `key <key>` for symmetric, chrony's `nts` for nts (the address is then the
    name the server's certificate must carry); `none` is plain NTP (a trusted host's own time sources)."""
    if method not in METHODS:
        raise AnsibleFilterError('associations: method must be one of %s, not %r' % (', '.join(METHODS), method))
    if method == 'symmetric' and (isinstance(key, bool) or not isinstance(key, int) or not 1 <= key <= 65535):
        raise AnsibleFilterError('associations: method symmetric needs key, a key ID from 1 to 65535, not %r' % (key,))
    options = _check_options({} if options is None else options)
    result = []
    for address in _names(addresses, 'associations'):
        entry = dict(options, address=check_address(address, 'upstream address'), method=method)
        entry['autokey'] = method == 'autokey'
        if method == 'autokey' and ident:
            entry['ident'] = to_text(ident)
        if method == 'symmetric':
            entry['key'] = key
        result.append(entry)
    return result


def host_results(names, hostvars, variable):
    """{name: hostvars[name][variable]} for every name ({} where the host has none): the fleet's registered
    results in the form fleet_report takes."""
    results = {}
    for name in _names(names, 'host_results'):
        if name not in hostvars:
            raise AnsibleFilterError('host_results: %s is not in the inventory' % name)
        results[name] = hostvars[name].get(variable, {})
    return results


class FilterModule:
    def filters(self):
        return {'member_addresses': member_addresses, 'associations': associations, 'host_results': host_results}
