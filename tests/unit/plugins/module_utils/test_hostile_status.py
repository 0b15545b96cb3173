# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile and damaged ntpq output and cryptostats: only AutokeyError escapes, numbers are ASCII digits."""
import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import cryptostats, ntpq, status
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError
from fleet_fixture import FLEET, snapshot

# digits str.isdigit() or Unicode \d take but ntpd never prints, and int() refuses some of
FOREIGN_DIGITS = ['\u00b2', '\u0663', '\uff13', '\u2460', '\U0001d7d9']


def assess(snap):
    return status.assess(snap['system'], snap['peers'], snap['cryptostats'], snap['files'])


@pytest.mark.parametrize('digit', FOREIGN_DIGITS)
def test_stratum_and_peer_in_foreign_digits(digit):
    snap = dict(snapshot('settled', 'cl'))
    assert 'stratum=3' in snap['system'] and 'stratum=' in snap['peers']
    snap['system'] = snap['system'].replace('stratum=3', 'stratum=%s' % digit).replace('peer=', 'peer=%s' % digit)
    snap['peers'] = snap['peers'].replace('stratum=', 'stratum=%s' % digit)
    result = assess(snap)
    assert result['stratum'] is None and result['system_peer'] is None and not result['synchronised']
    assert all(a['upstream_stratum'] is None for a in result['associations'])


@pytest.mark.parametrize('value, expected', [('3', 3), ('16', 16), ('\u00b2', None), ('\u0663', None), ('', None),
                                             (' 3', None), ('3\n', None), ('99999999999', None), (None, None)])
def test_numbers_are_ascii_digits(value, expected):
    assert status.number(value) == expected


def test_cryptostats_lines_in_foreign_digits_are_skipped():
    assert cryptostats.read('\u0663\u0663 1.5 0.0.0.0 setup x\n61368 1.5 0.0.0.0 setup y\n')[0].message == 'setup y'
    assert cryptostats.read('61368 1.5 192.0.2.1 iff th@lab fs \u0663\n')[0].message.endswith('\u0663')
    assert cryptostats.association_facts(cryptostats.read('61368 1.5 192.0.2.1 iff th@lab fs \u0663\n'),
                                         '192.0.2.1')['proof'] is None


def test_cryptostats_that_is_not_utf8(tmp_path):
    snap = snapshot('settled', 'cl')
    path = tmp_path / 'cryptostats'
    path.write_bytes(b'\xff\xfe garbage \x80\n' + snap['cryptostats'].encode('ascii') + b'\n61368 1.5 \xc3(\n')
    text = status.read_text(str(path))
    assert '\ufffd' in text
    result = status.assess(snap['system'], snap['peers'], text, snap['files'])
    assert result['associations'] == assess(snap)['associations']
    assert cryptostats.read(path.read_bytes())[-1].message != ''


def test_read_text_keeps_the_tail_and_drops_the_cut_line(tmp_path):
    path = tmp_path / 'cryptostats'
    path.write_bytes(b'61368 1.5 0.0.0.0 first line\n61368 2.5 0.0.0.0 second line\n')
    assert status.read_text(str(path), limit=40) == '61368 2.5 0.0.0.0 second line\n'
    assert status.read_text(str(tmp_path / 'missing')) is None
    assert status.read_text(str(tmp_path)) is None


def test_ntpq_readers_refuse_what_is_not_text():
    with pytest.raises(ntpq.NtpqError):
        ntpq.read_associations(b'ind assid')
    with pytest.raises(ntpq.NtpqError):
        ntpq.read_variables(None)


def test_association_table_in_foreign_digits_is_no_row():
    assert ntpq.read_associations('  1 \u0663\u0663 961a   yes  yes  none  sys.peer  sys_peer  1') == []


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(FLEET['settled'])), st.sampled_from(['system', 'peers', 'cryptostats']),
       st.integers(min_value=0, max_value=4000),
       st.one_of(st.text(max_size=12), st.sampled_from(FOREIGN_DIGITS),
                 st.sampled_from(['stratum=', 'flags=', 'cert=', 'associd=0 status=', '"', ',', '\n', '=', 'x=\u00b2'])))
def test_damaged_output_raises_only_autokey_errors(host, part, cut, junk):
    snap = dict(snapshot('settled', host))
    snap[part] = snap[part][:cut] + junk + snap[part][cut:]
    try:
        result = assess(snap)
    except AutokeyError:
        return
    assert isinstance(result['problems'], list)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_cryptostats_bytes_never_crash(data):
    events = cryptostats.read(data)
    cryptostats.loaded(events, 'cl', 'lab')
    cryptostats.association_facts(events, '192.0.2.11')
