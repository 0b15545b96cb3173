# SPDX-License-Identifier: GPL-3.0-or-later
import re

import pytest
from hypothesis import given, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import envelope
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import EnvelopeError, filestamp_from_time


def test_ntp_seconds_match_the_reference_example():
    # autokey-reference.md section 2: 4004501552 = 2026-11-24 09:32:32 UTC
    assert envelope.ntp_to_unix(4004501552) == 1795512752


def test_header_lines_follow_ntp_keygen():
    text = envelope.KeyFile('ntpkey_IFFkey_lab.4004501552', 4004501552, '-----BEGIN X-----\n-----END X-----\n').text()
    first, second, third = text.split('\n')[:3]
    assert first == '# ntpkey_IFFkey_lab.4004501552'
    assert re.match(r'^# (Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ 1-3][0-9] \d\d:\d\d:\d\d \d{4}$', second)
    assert third == ''


@pytest.mark.parametrize('line, stamp', [
    ('# ntpkey_iffpar_lab.4004501552', 4004501552),
    ('# ntpkey_iffpar_lab.example.org.4004501552', 4004501552),  # ntpd takes the last dot
    ('# x.12abc', 12),  # sscanf("%u") stops at the first non-digit
])
def test_filestamp_parsed_like_ntpd(line, stamp):
    assert envelope.parse_filestamp(line) == stamp


@pytest.mark.parametrize('line, message', [
    ('# ntpkey_host_th', 'no filestamp'),
    ('# ntpkey_host_th.abc', 'invalid filestamp'),
])
def test_filestamp_errors(line, message):
    with pytest.raises(envelope.EnvelopeError, match=message):
        envelope.parse_filestamp(line)


def test_parse_refuses_truncated_file():
    good = envelope.KeyFile('n.5', 5, envelope.pem('PRIVATE KEY', b'\x30\x00')).text()
    assert envelope.parse(good).filestamp == 5
    with pytest.raises(envelope.EnvelopeError, match='incomplete PEM'):
        envelope.parse(good[:-30], 'f')
    with pytest.raises(envelope.EnvelopeError, match='empty'):
        envelope.parse('', 'f')


@pytest.mark.parametrize('host, group, cn', [('th', 'lab', 'th@lab'), ('gs1.example.org', None, 'gs1.example.org')])
def test_subject_names(host, group, cn):
    assert envelope.subject_name(host, group) == cn


@pytest.mark.parametrize('host, group', [('th@lab', None), ('th', 'l@b'), ('a b', None), ('../x', None), ('', None),
                                         ('h', 'x' * 200)])
def test_names_ntpd_cannot_use_are_refused(host, group):
    with pytest.raises(envelope.EnvelopeError):
        envelope.subject_name(host, group)


@given(st.binary(max_size=40).map(lambda b: b.hex()))
def test_pem_round_trip(hexdata):
    data = bytes.fromhex(hexdata)
    blocks = envelope.pem_blocks(envelope.pem('PRIVATE KEY', data))
    assert [(b.label, b.der) for b in blocks] == [('PRIVATE KEY', data)]


@given(st.text(max_size=200))
def test_parse_never_crashes(text):
    try:
        envelope.parse(text)
    except envelope.EnvelopeError:
        pass


@pytest.mark.parametrize('text, expected', [
    ('2026-11-24T15:00:00Z', 4004521200), ('2026-11-24 15:00', 4004521200), ('2026-11-24', 4004467200),
    ('4004521200', 4004521200), ('2026-11-24T15:00:00+00:00', 4004521200),
])
def test_rollover_times(text, expected):
    assert filestamp_from_time(text, now=4004600000) == expected


@pytest.mark.parametrize('text, message', [
    ('yesterday', 'not a UTC time'), ('2026-13-01', 'not a valid time'), ('2026-11-24T15:00:00+01:00', 'not a UTC'),
    ('2026-11-25', 'lies in the future'),
])
def test_rollover_time_errors(text, message):
    with pytest.raises(EnvelopeError, match=message):
        filestamp_from_time(text, now=4004521200)
