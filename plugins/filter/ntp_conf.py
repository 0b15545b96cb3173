# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters the ntp.conf template passes every value through: a value ntpd would not read back exactly
(cut at '#', split at whitespace, or ending the line) fails the task instead of reaching ntp.conf."""


from ansible.errors import AnsibleFilterError

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.conf_tokens import (
    TokenError, check_line, check_word)


def ntpd_word(value, what, secret=False):
    """`value` as one word of ntp.conf, or AnsibleFilterError naming `what` (the value hidden when `secret`)."""
    try:
        return check_word(value, what, secret=secret)
    except TokenError as exc:
        raise AnsibleFilterError(str(exc))


def ntpd_line(value, what):
    """`value` as the words of one ntp.conf line, or AnsibleFilterError naming `what` (conf_tokens.check_line)."""
    try:
        return check_line(value, what)
    except TokenError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {'ntpd_word': ntpd_word, 'ntpd_line': ntpd_line}
