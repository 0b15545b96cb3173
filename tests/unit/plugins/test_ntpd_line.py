# SPDX-License-Identifier: GPL-3.0-or-later
"""ntpd_line: a free-form line of ntp.conf (ntpd_restrict, ntpd_extra_config) is refused when one of its words is
longer than ntpd's configuration scanner reads (ntpd exits at start on it), with the limit in the message."""

import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.filter.ntp_conf import FilterModule
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.conf_tokens import MAX_WORD
from ntp_conf_render import render
from ntp_scanner import commands

ntpd_line = FilterModule().filters()['ntpd_line']


def test_the_limit_is_the_shortest_lexeme_buffer_of_the_supported_ntpd_builds():
    # MAX_LEXEME in ntpd/ntp_scanner.c: 1024 + 1 in 4.2.8p15, 128 in 4.2.8p18, one byte being the terminator
    assert MAX_WORD == 127


@pytest.mark.parametrize('line', [
    'x' * 1025,                                  # beyond 4.2.8p15's buffer too
    'tinker panic ' + 'y' * (MAX_WORD + 1),      # one character beyond 4.2.8p18's
    'default "%s"' % ('a ' * 70),                # a quoted word: its spaces belong to it
    'default ab"%s' % ('c' * MAX_WORD),           # the quoted text joins the word before it
])
def test_a_word_longer_than_ntpd_reads_is_refused_with_the_limit(line):
    with pytest.raises(AnsibleFilterError) as caught:
        ntpd_line(line, 'ntpd_extra_config')
    message = str(caught.value)
    assert message.startswith('ntpd_extra_config has a word of ')
    assert 'at most %d characters in one word' % MAX_WORD in message and 'exits at start' in message
    assert len(message) < 400  # the word is quoted by its start only


def test_the_template_refuses_a_long_word_in_a_free_form_line():
    with pytest.raises(AnsibleFilterError, match='ntpd_restrict has a word of 1025 characters'):
        render(ntpd_restrict=['default ' + 'n' * 1025])


@pytest.mark.parametrize('line', [
    'x' * MAX_WORD, 'a ' * 600, 'default nomodify # ' + 'c' * 2000, 'tinker\t"%s"' % ('q' * MAX_WORD), '',
])
def test_long_lines_of_words_ntpd_reads_pass_unchanged(line):
    assert ntpd_line(line, 'ntpd_extra_config') == line


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(['a', ' ', '\t', '"', '#', '\n']), st.integers(1, 140)), max_size=6))
def test_a_line_is_refused_or_every_word_fits_ntpds_buffer(runs):
    line = ''.join(char * count for char, count in runs)
    try:
        text = ntpd_line(line, 'ntpd_extra_config')
    except AnsibleFilterError as exc:
        assert str(exc).startswith('ntpd_extra_config ')
        return
    read = commands('restrict %s\n' % text)
    assert len(read) == 1
    assert all(len(word) <= MAX_WORD for word in read[0])
