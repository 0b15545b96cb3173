# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What ntpd reads back exactly from ntp.conf: the rules every name, password and line obeys.

ntpd 4.2.8's configuration scanner ends a word at whitespace, ends a command at a line break, drops the
rest of a line from '#' on (also inside a word), starts a quoted string at '"', and refuses a word longer
than its lexeme buffer: 1024 characters in 4.2.8p15, 127 in 4.2.8p18 (the whole daemon exits when that happens
while reading ntp.conf). A value that
breaks one of these rules reaches ntpd cut, split or as an extra line: a password "pa#ss" becomes "pa"
(so the key files do not open), a name with a line break adds a line of the writer's choice. The key
modules and the ntp.conf template refuse such values with these functions, one place for the rules.
Checked against ntpd 4.2.8p15 and 4.2.8p18 with --saveconfigquit (tests/reference).
"""


import re

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError

# The longest word every supported ntpd reads: 4.2.8p18's lexeme buffer holds 127 characters (seen live: 128
# stops it at start with "configuration item on line 1 longer than limit of 50", the limit it prints being
# wrong); 4.2.8p15's holds 1024. A fleet may mix them, and a host may be upgraded under its ntp.conf.
MAX_WORD = 127
# printable ASCII without space, '"' and '#'
_WORD = re.compile(r'[!$-~]+\Z')
# one line: printable ASCII and tabs (a free-form line such as "restrict default nomodify")
_LINE = re.compile(r'[\t -~]*\Z')


class TokenError(AutokeyError):
    """A value that ntpd would not read back exactly from ntp.conf."""


def _text(value, what):
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TokenError('%s must be a string, not %s' % (what, type(value).__name__))
    return str(value)


def check_word(value, what, secret=False):
    """`value` as one ntp.conf word that ntpd reads back unchanged; TokenError naming `what` otherwise
    (and showing the value unless `secret`)."""
    text = _text(value, what)
    if not secret:
        what = '%s %r' % (what, text)
    if not text:
        raise TokenError('%s is empty' % what)
    if len(text) > MAX_WORD:
        raise TokenError('%s is %d characters long; ntpd 4.2.8p18 reads at most %d in one word of ntp.conf and '
                         'exits at start on a longer one' % (what, len(text), MAX_WORD))
    if not _WORD.match(text):
        raise TokenError('%s cannot be written to ntp.conf as it is: use printable ASCII without spaces, \'"\' or '
                         '\'#\' (ntpd splits words at whitespace, ends a command at a line break, cuts a word at '
                         '\'#\' and starts a quoted string at \'"\')' % what)
    return text


def check_password(value, what='passphrase'):
    """A `crypto pw` value: one word ntpd hands to OpenSSL unchanged. The message never shows the value."""
    return check_word(value, what, secret=True)


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


def check_line(value, what):
    """`value` as the words of one ntp.conf line: no line break or other control character, and no word longer than
    every supported ntpd reads (MAX_WORD: ntpd's configuration scanner exits at start on a longer one; its buffer,
    MAX_LEXEME in ntpd/ntp_scanner.c, holds 1024 characters in 4.2.8p15 and 127 in 4.2.8p18)."""
    text = _text(value, what)
    if not _LINE.match(text):
        raise TokenError('%s %r is not one line of printable ASCII: a line break or control character would '
                         'end the command there and start another line of ntp.conf' % (what, text))
    for word in _words(text):
        if len(word) > MAX_WORD:
            raise TokenError('%s has a word of %d characters (starting %r): ntpd reads at most %d characters in one '
                             'word of ntp.conf (4.2.8p18; 4.2.8p15 reads 1024) and exits at start on a longer one. '
                             'Shorten it' % (what, len(word), word[:40], MAX_WORD))
    return text
