# SPDX-License-Identifier: GPL-3.0-or-later
"""ntpd reads the role's ntp.conf back word for word (--saveconfigquit), including passwords made of the
characters that separate words elsewhere and of the longest length the role allows; and the values the role
refuses are indeed read otherwise. Run against every build (AUTOKEY_NTPD_BUILD): 4.2.8p18 reads at most 127
characters in a word and exits on more, 4.2.8p15 1024."""

import re

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.conf_tokens import MAX_WORD

from ntp_conf_render import render
from ntp_scanner import commands

SPECIALS = "a=b,c;d|e(f)g{h}i!$%&'*+-./:<>?@[\\]^_`~"


def _crypto_line(saved):
    match = re.search(r'^crypto (.*)$', saved, re.M)
    assert match, saved
    return match.group(1).split(' ')


def test_ntpd_reads_the_rendered_crypto_and_server_lines_back(lab):
    host = lab.host('th')
    for password in (SPECIALS, 'P' * MAX_WORD, '0123'):
        text = render(ntpd_crypto=dict(host='gs-1.example', ident='lab_2', password=password),
                      ntpd_servers=[dict(address='192.0.2.10', autokey=True, ident='lab_2', minpoll=3, maxpoll=4)])
        saved = host.read_back(text)
        assert _crypto_line(saved) == ['host', 'gs-1.example', 'ident', 'lab_2', 'pw', password]
        server = re.search(r'^server (.*)$', saved, re.M).group(1).replace('"', '').split(' ')
        # ntpd writes the options in its own order
        assert sorted(server) == sorted(['192.0.2.10', 'autokey', 'ident', 'lab_2', 'iburst', 'minpoll', '3',
                                         'maxpoll', '4']), saved
        # the scanner model the unit tests use agrees with ntpd on this file
        assert ['crypto', 'host', 'gs-1.example', 'ident', 'lab_2', 'pw', password] in commands(text)


def test_refused_values_are_the_ones_ntpd_would_read_otherwise(lab):
    """Written by hand (the template refuses them): '#' cuts the password, a space drops its second word, a quote
    starts a string, a line break adds a server line."""
    host = lab.host('th')
    cases = {'pa#ss': ['pw', 'pa'], 'pa"ss': ['pw', 'pass']}
    for password, expected in cases.items():
        saved = host.read_back('crypto host th pw %s\n' % password)
        assert _crypto_line(saved)[-2:] == expected, saved
        assert commands('crypto host th pw %s\n' % password)[0][-2:] == expected
    saved = host.read_back('crypto host th pw pw\nserver 203.0.113.66 prefer\n')
    assert re.search(r'^server 203\.0\.113\.66 prefer$', saved, re.M), saved


def test_a_word_longer_than_the_role_allows_stops_some_ntpd(lab):
    """One character more than MAX_WORD: 4.2.8p18 exits at start (nothing saved), 4.2.8p15 reads it."""
    host = lab.host('th')
    text = 'crypto host th pw %s\n' % ('P' * (MAX_WORD + 1))
    if host.build.release() == '4.2.8p15':
        assert _crypto_line(host.read_back(text))[-1] == 'P' * (MAX_WORD + 1)
    else:
        with pytest.raises(AssertionError, match='longer than limit'):
            host.read_back(text)
