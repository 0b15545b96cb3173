# SPDX-License-Identifier: GPL-3.0-or-later
"""Verdicts on the lab fleet's real ntpq output (fixtures/ntpq/fleet.json, see tests/reference/fleet_lab.py)."""

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import fleet, ntpq, status
from fleet_fixture import FLEET, SETTLED_VERDICTS, assess_snapshot, only_association, snapshot


def assess(state, host, **kw):
    return assess_snapshot(snapshot(state, host), host, **kw)


@pytest.mark.parametrize('host, state, verdict', SETTLED_VERDICTS)
def test_settled_verdicts(host, state, verdict):
    assoc = only_association(assess('settled', host))
    assert (assoc['state'], assoc['verdict']) == (state, verdict)


def test_verified_association_carries_its_proof_and_trail():
    result = assess('settled', 'cl')
    assoc = only_association(result)
    assert assoc['proof'] == 'iff th@lab fs %d' % FLEET['filestamp']
    assert assoc['identity_filestamp'] == FLEET['filestamp']
    assert assoc['trail'] == ['gs@lab', 'th@lab'] and assoc['trust_root']['subject'] == 'th@lab'
    assert assoc['synchronised'] and assoc['flags']['complete'] and assoc['ident'] == 'lab'
    assert assoc['mode'] == 'client'
    assert result['problems'] == [] and result['converged'] and result['synchronised']


def test_broadcast_client_association_is_named_in_the_table():
    snap = snapshot('settled', 'cl')
    peers = snap['peers'].replace('hmode=3', 'hmode=6')
    result = status.assess(snap['system'], peers, snap['cryptostats'], snap['files'])
    assert only_association(result)['mode'] == 'bclient'
    report = fleet.report({'cl': {'status': result}}, ['cl'])
    assert report['lines'][1].split()[:3] == ['cl', 'gs@lab', '(bclient)']


def test_an_autokey_association_without_any_answer_is_pending():
    snap = snapshot('settled', 'cl')
    peers = '\n'.join(line for line in snap['peers'].splitlines() if 'flags=' not in line)
    assert 'ident="lab"' in peers or 'ident=lab' in peers
    result = status.assess(snap['system'], peers, None, snap['files'])
    autokey = [a for a in result['associations'] if a['state'] != 'none']
    assert [a['verdict'] for a in autokey] == ['pending: assoc (no answer from the server yet)']
    assert not result['converged']


def test_early_associations_are_pending():
    for host in ('gs', 'cl', 'clnoident', 'clbadparams', 'clfallback'):
        result = assess('early', host)
        assert only_association(result)['state'] == 'pending', host
        assert not result['converged']
    assert 'fall back to TC' in only_association(assess('early', 'clfallback'))['hint']


def test_trusted_host_offers_its_scheme_and_loaded_keys():
    result = assess('settled', 'th')
    assert result['offers'] == ['iff'] and result['problems'] == []
    assert result['loaded']['group_keys'] == {'iff': FLEET['filestamp']}
    assert [a['state'] for a in result['associations']] == ['none']  # the local clock


def test_group_server_without_group_key_is_named():
    problems = assess('settled', 'gsnokey')['problems']
    assert problems == ['offers no IFF to its clients (system flags 0x29c0003): ntpkey_iffkey_lab is missing '
                        'from the keysdir']


def test_accepting_tc_by_policy():
    assert assess('settled', 'clnoident', require_identity=False)['problems'] == []
    assert assess('settled', 'clnoident')['problems'][0].startswith('192.0.2.11 (gs@lab): tc-only')
    assert assess('settled', 'clbadparams', require_identity=False)['problems']


def test_without_cryptostats_the_proof_is_inferred_and_the_error_unknown():
    snap = snapshot('settled', 'cl')
    assoc = only_association(status.assess(snap['system'], snap['peers'], None, snap['files']))
    assert assoc['state'] == 'verified' and assoc['proof'].startswith('inferred')
    bad = snapshot('settled', 'clbadparams')
    assoc = only_association(status.assess(bad['system'], bad['peers'], None, bad['files']))
    assert assoc['verdict'] == 'pending: identity'


def test_no_system_variables():
    with pytest.raises(ntpq.NtpqError, match='no system variables'):
        status.assess('localhost: timed out, nothing received', '')


def test_crypto_off():
    result = status.assess('associd=0 status=0615 leap_none,\nstratum=2, peer=1', '')
    assert result['problems'][0].startswith('Autokey is off')


def report(state, hosts=None):
    results = dict((name, {'status': assess(state, name)}) for name in FLEET[state])
    return fleet.report(results, hosts or sorted(FLEET[state]), ['th'])


def test_fleet_report_names_every_bad_host_and_no_good_one():
    result = report('settled')
    assert not result['ok'] and result['trusted'] == ['th@lab']
    assert sorted(result['problems']) == ['clbadparams', 'clfallback', 'clnoident', 'clnoparams', 'gsnokey']
    assert result['lines'][0].split()[:2] == ['host', 'upstream']


def test_stale_trust_after_the_trusted_host_was_rekeyed():
    result = report('stale')
    for host in ('gs', 'cl', 'clnoident', 'clfallback'):
        assert any('stale trust: still trusts the th@lab certificate' in p for p in result['problems'][host]), host
    assert 'th' not in result['problems']


def test_stale_group_key_and_server_key():
    results = dict((name, {'status': assess('settled', name)}) for name in ('th', 'gs', 'cl'))
    results['th']['status']['loaded']['group_keys']['iff'] += 100
    result = fleet.report(results, ['th', 'gs', 'cl'], ['th'])
    assert any(p.startswith('stale server key: serves the IFF group key fs') for p in result['problems']['gs'])
    assert any('stale group key' in p for p in result['problems']['cl'])


def test_unknown_root_and_missing_hosts():
    results = {'cl': {'status': assess('settled', 'cl')}, 'gs': {'failed': True, 'msg': 'ntpq could not read'}}
    results['th'] = {'status': assess('settled', 'th')}
    results['th']['status']['certificates'][0]['subject'] = 'other@lab'
    result = fleet.report(results, ['th', 'gs', 'cl', 'gone'], ['th'])
    assert result['problems']['gs'] == ['no status: ntpq could not read']
    assert result['problems']['gone'] == ['no status: the host was unreachable']
    assert 'not a trusted host of this run' in result['problems']['cl'][0]


def test_without_a_trusted_host_stale_trust_is_not_checked():
    result = fleet.report({'cl': {'status': assess('settled', 'cl')}}, ['cl'])
    assert result['ok'] and result['lines'][-1].startswith('stale trust not checked')


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(FLEET['settled'])), st.sampled_from(['system', 'peers', 'cryptostats']),
       st.integers(min_value=0, max_value=4000), st.text(max_size=20))
def test_damaged_output_never_crashes(host, part, cut, junk):
    snap = dict(snapshot('settled', host))
    snap[part] = snap[part][:cut] + junk + snap[part][cut:]
    try:
        result = status.assess(snap['system'], snap['peers'], snap['cryptostats'], snap['files'])
    except (ntpq.NtpqError, ValueError):
        return
    assert isinstance(result['problems'], list)


def test_stale_group_server_certificate():
    results = dict((name, {'status': assess('settled', name)}) for name in ('th', 'gs', 'cl'))
    assert fleet.report(results, ['th', 'gs', 'cl'], ['th'])['ok']
    results['gs']['status']['loaded']['certificate'] += 7  # gs restarted on a new certificate
    problems = fleet.report(results, ['th', 'gs', 'cl'], ['th'])['problems']
    assert list(problems) == ['cl'] and 'holds the gs@lab certificate fs' in problems['cl'][0]


def test_a_daemon_without_associations_yet_has_not_converged():
    # right after a restart, ntpq lists no association until ntpd has mobilized its server lines
    snap = snapshot('settled', 'cl')
    result = status.assess(snap['system'], '', snap['cryptostats'], snap['files'])
    assert not result['converged']
    assert result['problems'] == ['no Autokey association: nothing this host trusts is verified']
