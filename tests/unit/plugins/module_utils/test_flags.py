# SPDX-License-Identifier: GPL-3.0-or-later
"""Flags words: the bits, the signature NID above them, and the plain-word meaning."""

import pytest
from hypothesis import given, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.flags import FlagsError, decode, parse_word


def test_trusted_host_system_word_before_synchronisation():
    facts = decode('0x80021')
    assert facts['kind'] == 'system'
    assert (facts['nid'], facts['signature']) == (8, 'md5WithRSAEncryption')
    assert facts['names'] == ['ENAB', 'IFF'] and facts['schemes'] == ['iff']
    assert 'offers IFF to clients' in facts['explanation']
    assert 'not yet synchronised' in facts['explanation']


def test_complete_association_without_a_scheme_is_the_tc_fallback():
    facts = decode('0x87f03')
    assert facts['kind'] == 'association' and facts['complete']
    assert facts['schemes'] == [] and facts['bits']['VRFY']
    assert facts['step'] == 'leap' and facts['waiting_for'] is None
    assert 'TC fallback' in facts['explanation']


def test_association_waiting_for_leap_values():
    facts = decode('0x83f21')
    assert facts['names'] == ['ENAB', 'IFF', 'CERT', 'VRFY', 'PROV', 'COOK', 'AUTO', 'SIGN']
    assert not facts['complete'] and facts['waiting_for'] == 'leap'
    assert 'real IFF exchange ran only if the server line has ident' in facts['explanation']


@pytest.mark.parametrize('word, nid, name', [
    ('0x417f21', 65, 'sha1WithRSAEncryption'), ('0x29c7f23', 668, 'sha256WithRSAEncryption'),
    ('0x29f0001', 671, 'sha224WithRSAEncryption'), ('0x770001', 119, 'ripemd160WithRSA'),
    ('0x1', 0, None), ('0x12340001', 0x1234, 'unknown signature (NID 4660)'),
])
def test_signature_nid_in_the_upper_bits(word, nid, name):
    facts = decode(word)
    assert (facts['nid'], facts['signature']) == (nid, name)


def test_dsa_signature_is_called_unusable():
    assert '105 unsupported digest' in decode('0x710001')['explanation']


def test_lab_client_words_step_by_step():
    # captured from the lab (tests/unit/fixtures/ntpq/fleet.json): cl early, cl refused, cl verified
    assert decode('0x29c5021')['waiting_for'] == 'cert'
    assert decode('0x29c5121')['waiting_for'] == 'identity'
    assert decode('0x29c7f21')['complete']


def test_forced_kind_and_unknown_bits():
    facts = decode('0x8000c', 'association')
    assert facts['kind'] == 'association' and facts['unknown_bits'] == '0xc'
    assert 'no meaning in ntpd 4.2.8' in facts['explanation']
    assert 'not a system word' in decode('0x7f01', 'system')['explanation']


@pytest.mark.parametrize('word', ['', 'flags', '0x', '0x123456789', '-1', '1.5', 'x87f03', '0x87f03 1'])
def test_malformed_words_are_refused_clearly(word):
    with pytest.raises(FlagsError, match='not a flags word'):
        decode(word)


@pytest.mark.parametrize('word', [-1, 2 ** 32, True, None, 1.0, [1]])
def test_non_words_are_refused(word):
    with pytest.raises(FlagsError, match='not a flags word'):
        parse_word(word)


def test_bad_kind():
    with pytest.raises(FlagsError, match='kind must be'):
        decode(1, 'peer')


@given(st.integers(min_value=0, max_value=2 ** 32 - 1), st.sampled_from(['auto', 'system', 'association']))
def test_every_32_bit_word_decodes(value, kind):
    facts = decode(value, kind)
    assert facts['value'] == value and decode(hex(value), kind) == facts and decode(str(value), kind) == facts
    assert facts['nid'] == value >> 16 and facts['explanation'].startswith(facts['kind'])


@given(st.text(max_size=30))
def test_arbitrary_text_decodes_or_is_refused(text):
    try:
        facts = decode(text)
    except FlagsError as exc:
        assert 'not a flags word' in str(exc)
    else:
        assert 0 <= facts['value'] < 2 ** 32
