# SPDX-License-Identifier: GPL-3.0-or-later
"""check_word, check_password, check_line and check_name: accepted values are read back by ntpd's scanner as
exactly what was given; anything else is refused with TokenError/EnvelopeError, never another exception."""

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.conf_tokens import (
    MAX_WORD, TokenError, check_line, check_password, check_word)
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import EnvelopeError, check_name
from ntp_scanner import commands

_ANY = st.one_of(st.text(max_size=20), st.integers(), st.none(), st.booleans(), st.binary(max_size=5))


@settings(max_examples=400, deadline=None)
@given(value=_ANY)
def test_a_word_is_refused_or_read_back_whole(value):
    try:
        word = check_word(value, 'x')
    except TokenError:
        return
    assert commands('crypto pw %s\n' % word) == [['crypto', 'pw', str(value)]]


@settings(max_examples=400, deadline=None)
@given(value=_ANY)
def test_a_line_is_refused_or_stays_one_line(value):
    try:
        line = check_line(value, 'x')
    except TokenError:
        return
    assert len(commands('restrict %s\n' % line)) == 1


@settings(max_examples=300, deadline=None)
@given(value=_ANY)
def test_a_name_is_refused_or_one_word(value):
    try:
        name = check_name(value, 'host name')
    except EnvelopeError:
        return
    assert commands('crypto host %s\n' % name) == [['crypto', 'host', value]]


@pytest.mark.parametrize('password', ['pa#ss', 'pa ss', 'pa"ss', 'pw\nserver 203.0.113.66 prefer', 'pw\n', '\tpw',
                                      'p\u00e4ss', '', 'x' * (MAX_WORD + 1)])
def test_passwords_ntpd_would_not_read_back_are_refused_without_showing_them(password):
    with pytest.raises(TokenError) as error:
        check_password(password, 'passphrase')
    assert 'passphrase' in str(error.value)
    if password.strip():
        assert password.strip() not in str(error.value)


def test_longest_password_and_specials_pass():
    assert check_password('x' * MAX_WORD) == 'x' * MAX_WORD
    assert check_password("a=b,c;d|e(f)g{h}i") == "a=b,c;d|e(f)g{h}i"


@pytest.mark.parametrize('name', ['th\n', 'th\r\n', 'th ', ' th', 'th\x00', '-th', 'th/..', 'th@lab', ''])
def test_names_with_a_trailing_line_break_or_other_junk_are_refused(name):
    with pytest.raises(EnvelopeError, match='cannot be used by ntpd'):
        check_name(name, 'host name')
