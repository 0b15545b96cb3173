# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters the ntp.conf template passes every value through: a value ntpd would not read back exactly
(cut at '#', split at whitespace, or ending the line) fails the task instead of reaching ntp.conf."""


from ansible.errors import AnsibleFilterError

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.conf_tokens import (
    MAX_WORD, TokenError, check_line, check_word)


def ntpd_word(value, what, secret=False):
    """`value` as one word of ntp.conf, or AnsibleFilterError naming `what` (the value hidden when `secret`)."""
    try:
        return check_word(value, what, secret=secret)
    except TokenError as exc:
        raise AnsibleFilterError(str(exc))


def _words(line):
    """The words ntpd's scanner reads from one line of printable ASCII and tabs, as long as it reads them: '#'
    drops the rest of the line, whitespace separates words, '"' quotes to the next '"' or the line end (the quoted
    text joins the word before it; the word after the closing quote is counted with it too, never shorter than
    ntpd reads it)."""
    words, word, index = [], '', 0
    while index < len(line):
        char = line[index]
        if char == '#':
            break
        if char == '"':
            end = line.find('"', index + 1)
            end = len(line) if end < 0 else end
            word += line[index + 1:end]
            index = end + 1
            continue
        if char in ' \t':
            if word:
                words.append(word)
            word = ''
        else:
            word += char
        index += 1
    if word:
        words.append(word)
    return words


def ntpd_line(value, what):
    """`value` as the words of one ntp.conf line, or AnsibleFilterError naming `what`: no line break or other
    control character, and no word longer than every supported ntpd reads (MAX_WORD: ntpd's configuration scanner
    exits at start on a longer one; its buffer, MAX_LEXEME in ntpd/ntp_scanner.c, holds 1024 characters in
    4.2.8p15 and 127 in 4.2.8p18)."""
    try:
        text = check_line(value, what)
    except TokenError as exc:
        raise AnsibleFilterError(str(exc))
    for word in _words(text):
        if len(word) > MAX_WORD:
            raise AnsibleFilterError(
                '%s has a word of %d characters (starting %r): ntpd reads at most %d characters in one word of '
                'ntp.conf (4.2.8p18; 4.2.8p15 reads 1024) and exits at start on a longer one. Shorten it'
                % (what, len(word), word[:40], MAX_WORD))
    return text


class FilterModule:
    def filters(self):
        return {'ntpd_word': ntpd_word, 'ntpd_line': ntpd_line}
