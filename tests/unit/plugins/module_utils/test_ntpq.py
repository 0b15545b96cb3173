# SPDX-License-Identifier: GPL-3.0-or-later
"""ntpq output as ntpd 4.2.8p15 prints it (captured in the lab, fixtures/ntpq/fleet.json)."""

import pytest
from hypothesis import given, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import ntpq
from fleet_fixture import snapshot


def test_system_variables_and_certificate_cache():
    blocks = ntpq.read_variables(snapshot('settled', 'cl')['system'])
    assert len(blocks) == 1 and blocks[0]['associd'] == 0
    values, certs = ntpq.variables(blocks[0])
    assert values['host'] == 'cl@lab' and values['flags'] == '0x29c0003' and values['stratum'] == '3'
    assert values['reftime'].endswith(':17.709') or ',' in values['reftime']  # a value holding commas
    by_subject = dict(((c['subject'], c['issuer']), c) for c in certs)
    assert by_subject[('th@lab', 'th@lab')]['flags'] == 0x5 and by_subject[('th@lab', 'th@lab')]['until']
    assert ('gs@lab', 'th@lab') in by_subject and ('cl@lab', 'cl@lab') in by_subject


def test_association_table_and_peer_variables():
    snap = snapshot('settled', 'gs')
    rows = ntpq.read_associations(snap['system'])
    assert len(rows) == 1 and rows[0]['condition'] == 'sys.peer'
    block = ntpq.read_variables(snap['peers'])[0]
    assert block['associd'] == rows[0]['assid']
    values, dummy = ntpq.variables(block)
    assert (values['host'], values['ident'], values['srcadr']) == ('th@lab', 'lab', '192.0.2.10')
    assert values['filtdelay'].split()[0] == '0.10' or len(values['filtdelay'].split()) == 8
    assert ntpq.peer_status(block['status'])['selection'] == 'sys.peer'


def test_rejected_association_status():
    block = ntpq.read_variables(snapshot('settled', 'clbadparams')['peers'])[0]
    status = ntpq.peer_status(block['status'])
    assert status['selection'] == 'reject' and status['authenable'] and not status['reachable']


def test_quoted_values_with_commas():
    pairs = ntpq.read_variables('associd=0 status=0614 leap_none,\nversion="a, b=c", x=1,\ny=2')[0]['pairs']
    assert pairs == [('version', 'a, b=c'), ('x', '1'), ('y', '2')]


def test_names_with_a_blank_before_the_equals_sign():
    """ntpsec 1.2.2's ntpq: `keyid=20,  filtdelay =...` and a continuation line that starts with blanks."""
    text = 'associd=1 status=f61a conf\nkeyid=20,  filtdelay =\x1a\t0.09\t0.08,\npmode=4,\n  filtdisp =\t0.1,\nflash=00 ok'
    values = dict(ntpq.read_variables(text)[0]['pairs'])
    assert values['keyid'] == '20' and values['pmode'] == '4' and values['flash'] == '00 ok'
    assert values['filtdelay'].split() == ['0.09', '0.08'] and values['filtdisp'] == '0.1'  # (the stray byte dropped)


@pytest.mark.parametrize('text, message', [
    ('associd=0 status=0614 x\nversion="open', 'unterminated'),
    ('associd=0 status=0614 x\n!!!', 'unexpected text'),
    ('associd=0 status=0614 x\ncert="a b", until=1', 'not "subject issuer 0xflags"'),
    ('associd=0 status=0614 x\ncert="a b 0xzz", until=1', 'no hex flags'),
])
def test_malformed_output_is_refused_clearly(text, message):
    with pytest.raises(ntpq.NtpqError, match=message):
        ntpq.variables(ntpq.read_variables(text)[0])


def test_not_text():
    with pytest.raises(ntpq.NtpqError, match='must be text'):
        ntpq.read_variables(None)


@given(st.text(max_size=300))
def test_arbitrary_text_parses_or_is_refused(text):
    try:
        for block in ntpq.read_variables(text):
            ntpq.variables(block)
    except ntpq.NtpqError:
        pass
    assert isinstance(ntpq.read_associations(text), list)


@given(st.lists(st.tuples(st.from_regex(r'[a-z][a-z_]{0,8}', fullmatch=True),
                          st.text(alphabet=st.characters(blacklist_characters='"\n\r,='), max_size=20)),
                max_size=8))
def test_quoted_pairs_round_trip(pairs):
    text = 'associd=3 status=f61a x,\n' + ', '.join('%s="%s"' % pair for pair in pairs)
    assert ntpq.read_variables(text)[0]['pairs'] == pairs


# ntpsec 1.2.2's peer variables after NTS-KE failed (tests/unit/fixtures/ntpq/ntpsec-nts-untrusted-ca-peers.txt),
# with the bytes ntpsec prints before each filter value's first tab replaced by GARBAGE
NTPSEC_PEER = ('associd=17767 status=c011 conf, authenb, sel_reject, 1 event, mobilize,\n'
               'srcadr=0.0.0.0, srcport=0, hmode=3, reach=000, unreach=0, hpoll=12,\n'
               'keyid=0,  filtdelay =GARBAGE\t0.00\t0.00\t0.00\t0.00\t0.00\t0.00\t0.00\t0.00,\n'
               'filtoffset =GARBAGE\t0.00\t0.00\t0.00\t0.00\t0.00\t0.00\t0.00\t0.00,\n'
               'pmode=0,\n'
               '  filtdisp =GARBAGE\t0.00\t16000.00\t16000.00\t16000.00,\n'
               'flash=1400 peer_dist peer_unreach, headway=0, srchost="ns", ntscookies=-1\n')


@pytest.mark.parametrize('garbage', ['PX', 'Xw', '\x18', '"', '",', 'a=', ',', '=', ', x=', '', '\nXw', 'P\n'])
def test_ntpsec_filter_bytes_seen_live_or_worse_never_shift_the_variables(garbage):
    [block] = ntpq.read_variables(NTPSEC_PEER.replace('GARBAGE', garbage))
    values, dummy = ntpq.variables(block)
    assert (values['keyid'], values['pmode'], values['srchost'], values['ntscookies']) == ('0', '0', 'ns', '-1')
    assert values['hpoll'] == '12' and values['flash'].startswith('1400')


@given(st.text(alphabet=st.characters(blacklist_characters='\t', blacklist_categories=('Cs',)), max_size=3))
def test_ntpsec_filter_bytes_of_any_kind(garbage):
    [block] = ntpq.read_variables(NTPSEC_PEER.replace('GARBAGE', garbage))
    values, dummy = ntpq.variables(block)
    assert (values['srchost'], values['ntscookies'], values['keyid']) == ('ns', '-1', '0')
