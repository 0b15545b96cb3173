# SPDX-License-Identifier: GPL-3.0-or-later
"""How ntpd 4.2.8's configuration scanner splits ntp.conf into commands and words (the parts that matter for
the words the collection writes; checked against ntpd itself in tests/reference/test_ntp_conf_readback.py)."""


def commands(text):
    """ntp.conf text -> list of commands, each a list of words: a line break ends a command, '#' drops the
    rest of its line (inside a word too), whitespace separates words, '"' quotes to the next '"' or line end."""
    result = []
    for line in text.split('\n'):
        words, word, i = [], '', 0
        while i < len(line):
            ch = line[i]
            if ch == '#':
                break
            if ch == '"':
                end = line.find('"', i + 1)
                end = len(line) if end < 0 else end
                word += line[i + 1:end]
                i = end + 1
                continue
            if ch.isspace():
                if word:
                    words.append(word)
                word = ''
            else:
                word += ch
            i += 1
        if word:
            words.append(word)
        if words:
            result.append(words)
    return result
