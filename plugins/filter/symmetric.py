# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for symmetric keys: the text ntpq's `passwd` takes for a controlkey."""


from ansible.errors import AnsibleFilterError

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.symmetric import (
    SymmetricKeyError, check_key, ntpq_password as _ntpq_password)


def ntpq_password(key):
    """The password ntpq sends for `key` ({id, type, secret, format}), or AnsibleFilterError naming the key."""
    try:
        return _ntpq_password(check_key(key, 'ntpd'))
    except SymmetricKeyError as exc:
        raise AnsibleFilterError('ntpq_password: %s' % exc)


class FilterModule:
    def filters(self):
        return {'ntpq_password': ntpq_password}
