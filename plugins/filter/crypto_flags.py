# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The crypto_flags filter: decode an ntpd Autokey flags word."""


from ansible.errors import AnsibleFilterError

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.flags import FlagsError, decode


def crypto_flags(word, kind='auto'):
    try:
        return decode(word, kind)
    except FlagsError as exc:
        raise AnsibleFilterError('crypto_flags: %s' % exc)


class FilterModule:
    def filters(self):
        return {'crypto_flags': crypto_flags}
