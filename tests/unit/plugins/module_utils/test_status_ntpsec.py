# SPDX-License-Identifier: GPL-3.0-or-later
"""ntpsec 1.2.2 deployed on purpose (status_info daemon=ntpsec): its NTS associations judged from ntpq output
captured live (fixtures/ntpq/ntpsec-nts-*.txt), ntpsec in network namespaces of the lab, minpoll 3.

  ok, unselected, pending  nc, NTS client of ns (ntpsec NTS server, itself NTS client of chronyd 4.3 cs): before
                           NTS-KE (0.3 s), authentic but not selected yet (1.5 s), sys.peer (57 s)
  server                   ns itself, NTS client of chronyd 4.3
  untrusted-ca             its `ca` file is another CA (ntpsec logs "certificate invalid: 7=>certificate signature
                           failure")
  wrong-name               asks ns as `othername`, a name its certificate lacks ("62=>hostname mismatch")
  no-ke                    asks pl, a plain ntpsec NTP server ("connect failed: Connection refused")
  used-up, server-stopped  nc after ns stopped: no answer to 8 cookies (122 s), then its new NTS-KE refused (402 s)
  keyed, no-answer         NTS-KE to chronyd works, but the NTP server its ntsntpserver names answers without NTS:
                           7 cookies and no answer yet (1.1 s), no authenticated answer in 9 polls (85 s)

The three NTS-KE failures look alike in ntpq (srcadr 0.0.0.0, ntscookies=-1, hpoll=12, reach 000, unreach 0):
only ntpsec's log tells them apart, so the verdict is one and the hint names each cause.
"""


import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import fleet, status
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError

from helpers import ntpq_texts


def texts(name):
    return ntpq_texts(name)


def reading(kind, daemon='ntpsec', **kw):
    system, peers = texts('ntpsec-nts-' + kind)
    return status.assess(system, peers, daemon=daemon, **kw)


def only(result):
    [assoc] = result['associations']
    return assoc


KE_FAILED = 'NTS key establishment failed, no cookies (ntpsec retries after 68 minutes)'
KE_CAUSES = ('signed by a CA this host trusts (ca on the server line', '(subjectAltName)', 'has not expired',
             'NTS-KE on TCP 4460 (nts enable, nts key, nts cert)', 'NTSc:', 'SIGHUP')


@pytest.mark.parametrize('kind, label', [('ok', 'ns (192.0.2.11)'), ('server', 'cs (192.0.2.10)')])
def test_nts_association_is_authenticated(kind, label):
    result = reading(kind)
    assoc = only(result)
    assert (assoc['method'], assoc['state'], assoc['name'], assoc['cookies']) == ('nts', 'nts', label[:2], 8)
    assert assoc['verdict'] == 'NTS with %s ok (8 cookies)' % label and assoc['hint'] == ''
    assert assoc['key_id'] is None and assoc['synchronised'] and assoc['authentic']
    assert result['synchronised_authenticated'] and result['converged'] and result['problems'] == []
    assert result['expected_daemon'] == 'ntpsec' and result['daemon_identity']['kind'] == 'ntpsec'


def test_keyid_0_is_not_a_symmetric_key():
    assoc = only(reading('ok'))
    assert assoc['key_type'] is None and 'symmetric' not in assoc['verdict']


def test_authentic_but_not_selected_yet_is_not_converged():
    result = reading('unselected')
    assoc = only(result)
    assert assoc['state'] == 'nts' and assoc['selection'] == 'reject' and not assoc['synchronised']
    assert not result['converged'] and not result['synchronised_authenticated']
    assert result['problems'] == ['not synchronised to an authenticated source (ns (192.0.2.11) reject)']


@pytest.mark.parametrize('kind, verdict', [
    ('pending', 'pending: NTS with ns: NTS key establishment not done yet'),
    ('keyed', 'pending: NTS with cs (192.0.2.11): first authenticated answer (7 cookies left)'),
    ('used-up', 'pending: NTS with ns (192.0.2.11): no answer to its cookies, which are used up: a new NTS key '
                'establishment is due'),
])
def test_pending_until_the_evidence_says_more(kind, verdict):
    result = reading(kind)
    assoc = only(result)
    assert (assoc['state'], assoc['verdict'], assoc['hint']) == ('pending', verdict, '')
    assert not result['converged'] and not result['synchronised_authenticated']
    assert result['problems'] == [verdict, 'not synchronised to an authenticated source']


@pytest.mark.parametrize('kind, name', [('untrusted-ca', 'ns'), ('wrong-name', 'othername'), ('no-ke', 'pl')])
def test_failed_nts_key_establishment_names_each_cause(kind, name):
    result = reading(kind)
    assoc = only(result)
    assert (assoc['state'], assoc['address'], assoc['cookies']) == ('failing', '0.0.0.0', 0)
    assert assoc['verdict'] == 'failing: NTS with %s: %s' % (name, KE_FAILED)
    assert assoc['hint'].startswith('ntpsec gets no NTS keys from %s: ' % name)
    assert 'names %s (subjectAltName)' % name in assoc['hint']
    for cause in KE_CAUSES:
        assert cause in assoc['hint']
    assert result['converged'] and not result['synchronised_authenticated']
    assert result['problems'] == ['%s (%s)' % (assoc['verdict'], assoc['hint']),
                                  'not synchronised to an authenticated source']


def test_the_same_association_waiting_for_its_first_attempt_is_pending():
    """The only difference between a failed NTS-KE and one not tried yet: ntpsec raised hpoll to 12."""
    system, peers = texts('ntpsec-nts-untrusted-ca')
    assert 'hpoll=12,' in peers
    assoc = only(status.assess(system, peers.replace('hpoll=12,', 'hpoll=6,'), daemon='ntpsec'))
    assert assoc['state'] == 'pending' and assoc['verdict'].endswith('NTS key establishment not done yet')


def test_server_that_stopped_answering_is_failing():
    result = reading('server-stopped')
    assoc = only(result)
    assert assoc['state'] == 'failing' and not assoc['synchronised']
    assert assoc['verdict'] == ('failing: NTS with ns (192.0.2.11): no answer to its cookies, and a new NTS key '
                                'establishment failed (ntpsec retries after 68 minutes)')
    assert assoc['hint'].startswith('ns stopped answering: it is down or unreachable from here')
    assert result['converged'] and not result['synchronised_authenticated']


def test_cookies_without_an_authenticated_answer_fail_after_8_polls():
    result = reading('no-answer')
    assoc = only(result)
    assert (assoc['state'], assoc['cookies'], assoc['unreach']) == ('failing', 6, 9)
    assert assoc['verdict'] == ('failing: NTS with cs (192.0.2.11): NTS keys established, but no authenticated answer '
                                'in 9 polls')
    assert assoc['hint'].startswith('the NTS-KE server cs gives cookies, but the NTP server it names, 192.0.2.11, ')
    system, peers = texts('ntpsec-nts-no-answer')
    assert only(status.assess(system, peers.replace('unreach=9,', 'unreach=7,'), daemon='ntpsec'))['state'] == 'pending'


def test_answers_failing_authentication_are_failing():
    system, peers = texts('ntpsec-nts-keyed')
    assert 'flash=1400 ' in peers
    assoc = only(status.assess(system, peers.replace('flash=1400 ', 'flash=1410 '), daemon='ntpsec'))
    assert assoc['state'] == 'failing' and assoc['verdict'].endswith('the answers fail authentication (flash TEST5)')
    assert 'notrust' in assoc['hint']


def test_the_auth_bit_without_reach_is_not_nts():
    """ntpsec keeps `auth` after the server stopped answering (status e013, reach 000)."""
    system, peers = texts('ntpsec-nts-used-up')
    assert 'status=e013 conf, authenb, auth,' in peers
    assert only(status.assess(system, peers, daemon='ntpsec'))['authentic']
    assert only(status.assess(system, peers, daemon='ntpsec'))['state'] != 'nts'


# -- deployed on purpose, or replaced -----------------------------------------------------------------------------

def test_deployed_ntpsec_is_never_the_replaced_ntpd():
    for kind in ('ok', 'untrusted-ca', 'pending'):
        assert not any('replaced ntpd' in p or 'Autokey' in p for p in reading(kind)['problems']), kind
    system, peers = texts('upgraded-ntpsec')
    result = status.assess(system, peers, daemon='ntpsec')
    assert only(result)['method'] == 'none'
    assert result['problems'] == [
        '192.0.2.10: unauthenticated: no key and no NTS on its server line (anyone on the path can give this host '
        'time: add nts, or a key, to it)',
        'not synchronised to an authenticated source (synchronised to 192.0.2.10 without authentication)']


def test_upgrade_case_is_unchanged():
    system, peers = texts('upgraded-ntpsec')
    [problem] = status.assess(system, peers)['problems']
    assert problem.startswith('ntpsec 1.2.2 replaced ntpd: Autokey is gone')


def test_nts_counts_where_symmetric_counts_on_an_ntpsec_host_judged_as_ntpd():
    """Without daemon=ntpsec (the upgrade case), an ntpsec host with NTS is judged like one with symmetric keys."""
    result = reading('ok', daemon='ntpd')
    assert result['problems'] == [] and result['synchronised_authenticated'] and result['converged']
    failing = reading('untrusted-ca', daemon='ntpd')
    assert failing['problems'] == ['failing: NTS with ns: %s (%s)' % (KE_FAILED, only(failing)['hint'])]


def test_another_daemon_where_ntpsec_was_deployed_is_named():
    system, peers = texts('symmetric-cl')
    result = status.assess(system, peers, daemon='ntpsec')
    assert result['daemon_identity']['name'] == 'ntpd 4.2.8p15'
    assert result['problems'][0].startswith('not ntpsec: ntpd 4.2.8p15 answers ntpq here, where ntpsec was deployed')
    unknown = status.assess('associd=0 status=0615 leap_none,\nstratum=2, peer=1, version="chronyd 4.3"', '',
                            daemon='ntpsec')
    assert unknown['problems'] == ['not ntpsec: a daemon of version chronyd 4.3 answers ntpq here, where ntpsec was '
                                   'deployed (is the old daemon still installed and running, or is the ntpsec service '
                                   'stopped?)', 'no association: ntpsec has no server line']


def test_symmetric_keys_on_deployed_ntpsec():
    system, peers = texts('symmetric-ntpsec')
    result = status.assess(system, peers, daemon='ntpsec', key_types={20: 'AES128CMAC'})
    assert only(result)['verdict'] == 'symmetric key 20 (AES128CMAC) ok' and result['problems'] == []
    forbidden = status.assess(system, peers, daemon='ntpsec', key_types={20: 'MD5'}, forbidden_types=['MD5'])
    assert forbidden['problems'] == ['192.0.2.10: uses key 20 of type MD5, which the policy forbids: roll it over to '
                                     'AES128CMAC (docs/symmetric-keys.md)']


def test_a_reference_clock_is_no_unauthenticated_source():
    system, peers = texts('upgraded-ntpsec')
    clock = peers.replace('srcadr=192.0.2.10,', 'srcadr=127.127.28.0,')
    assert not any('unauthenticated' in p for p in status.assess(system, clock, daemon='ntpsec')['problems'])


def test_fleet_does_not_count_a_deployed_ntpsec_as_replaced():
    deployed = {'status': reading('ok')}
    system, peers = texts('upgraded-ntpsec')
    upgraded = {'status': status.assess(system, peers)}
    report = fleet.report({'ns': deployed, 'gs': upgraded}, ['ns', 'gs'])
    assert report['replaced'] == {'gs': 'gs (ntpsec 1.2.2)'}
    assert 'ns' not in report['problems']
    row = [line for line in report['lines'] if line.startswith('ns ')][0]
    assert 'NTS with ns (192.0.2.11) ok (8 cookies)' in row and row.endswith('yes')


# -- hostile and damaged output ----------------------------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [('-1', -1), ('0', 0), ('8', 8), ('--1', None), ('-', None), ('', None),
                                             ('\u0663', None), ('-\u0663', None), (' 8', None), (None, None)])
def test_signed_numbers_are_ascii_digits(value, expected):
    assert status.signed(value) == expected


KINDS = ['ok', 'server', 'unselected', 'pending', 'keyed', 'used-up', 'untrusted-ca', 'wrong-name', 'no-ke',
         'server-stopped', 'no-answer']


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(KINDS), st.sampled_from(['system', 'peers']), st.integers(min_value=0, max_value=900),
       st.one_of(st.text(max_size=12), st.sampled_from(['ntscookies=', 'ntscookies=-', 'hpoll=', 'reach=', 'srcadr=',
                                                        'unreach=', 'flash=', 'keyid=', '"', ',', '\n', '\u0663'])))
def test_damaged_ntpsec_output_raises_only_autokey_errors(kind, part, cut, junk):
    system, peers = texts('ntpsec-nts-' + kind)
    if part == 'system':
        system = system[:cut] + junk + system[cut:]
    else:
        peers = peers[:cut] + junk + peers[cut:]
    try:
        result = status.assess(system, peers, daemon='ntpsec')
    except AutokeyError:
        return
    for assoc in result['associations']:
        assert assoc['state'] in ('nts', 'symmetric', 'failing', 'pending', 'none', 'tc-only', 'tc-fallback',
                                  'verified', 'blocked')
        if assoc['state'] == 'nts':
            assert assoc['method'] == 'nts' and assoc['authentic'] and assoc['reach'] not in (None, '0', '000')
        if assoc['method'] == 'nts':
            assert assoc['cookies'] >= 0 and assoc['key_id'] is None


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.sampled_from(['-1', '0', '1', '8', 'x', '-0', '99999999999'])),
       st.one_of(st.none(), st.sampled_from(['3', '6', '11', '12', '17', '99', ''])),
       st.sampled_from(['000', '001', '377']), st.sampled_from(['0', '3', '8', '99']),
       st.sampled_from(['192.0.2.11', '0.0.0.0']), st.sampled_from(['c011', 'e013', 'f61a', 'f014', '9014']),
       st.sampled_from(['0', '20']), st.sampled_from(['1400', '1410', '00']))
def test_nts_state_exactly_when_authentic_and_reachable(cookies, hpoll, reach, unreach, address, word, keyid, flash):
    variables = ['srcadr=%s' % address, 'reach=%s' % reach, 'unreach=%s' % unreach, 'keyid=%s' % keyid,
                 'flash=%s' % flash, 'srchost="ns"']
    variables += ['ntscookies=%s' % cookies] if cookies is not None else []
    variables += ['hpoll=%s' % hpoll] if hpoll is not None else []
    peers = 'associd=17767 status=%s conf,\n%s\n' % (word, ', '.join(variables))
    system = texts('ntpsec-nts-ok')[0]
    assoc = only(status.assess(system, peers, daemon='ntpsec'))
    high = int(word[:2], 16)
    number = status.signed(cookies)
    nts = keyid == '0' and number is not None and (number >= 0 or bool(high & 0x40))
    assert (assoc['method'] == 'nts') == nts
    if nts:
        assert (assoc['state'] == 'nts') == bool(high & 0x40 and high & 0x20 and reach != '000')
        assert assoc['state'] in ('nts', 'failing', 'pending')
        assert assoc['hint'] == '' or assoc['state'] == 'failing'
        assert 'NTS with ns' in assoc['verdict']
