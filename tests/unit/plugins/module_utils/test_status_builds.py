# SPDX-License-Identifier: GPL-3.0-or-later
"""The judge on the output of the other ntpd 4.2.8 builds fleets run: 4.2.8p15 on OpenSSL 3 (as Ubuntu 22.04
ships it) and 4.2.8p18, each fleet of tests/reference/fleet_lab.py run on that build and captured by
tests/reference/capture_ntpq.py (AUTOKEY_NTPD_BUILD): fixtures/ntpq/fleet-<build>.json. The same verdicts as on
Debian 11's build (test_status.py), from what each build printed."""

import re

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import fleet

from fleet_fixture import BUILDS, SETTLED_VERDICTS, assess_snapshot, only_association


def test_the_builds_fleets_ask_for_were_captured():
    assert sorted(BUILDS) == ['4.2.8p15-openssl3', '4.2.8p18']
    assert re.match(r'ntpd 4\.2\.8p18\b', BUILDS['4.2.8p18']['ntpd_version'])
    assert re.match(r'ntpd 4\.2\.8p15\b', BUILDS['4.2.8p15-openssl3']['ntpd_version'])


def assess(build, state, host, **kw):
    return assess_snapshot(BUILDS[build][state][host], host, **kw)


@pytest.mark.parametrize('build', sorted(BUILDS))
@pytest.mark.parametrize('host, state, verdict', SETTLED_VERDICTS)
def test_settled_verdicts(build, host, state, verdict):
    assoc = only_association(assess(build, 'settled', host))
    assert (assoc['state'], assoc['verdict']) == (state, verdict)


@pytest.mark.parametrize('build', sorted(BUILDS))
def test_verified_client_proof_and_trail(build):
    captured = BUILDS[build]
    result = assess(build, 'settled', 'cl')
    assoc = only_association(result)
    assert assoc['proof'] == 'iff th@lab fs %d' % captured['filestamp']
    assert assoc['trail'] == ['gs@lab', 'th@lab'] and assoc['trust_root']['subject'] == 'th@lab'
    assert assoc['synchronised'] and assoc['flags']['complete']
    assert result['problems'] == [] and result['converged']


@pytest.mark.parametrize('build', sorted(BUILDS))
def test_trusted_host_and_group_server_without_key(build):
    result = assess(build, 'settled', 'th')
    assert result['offers'] == ['iff'] and result['problems'] == []
    assert result['loaded']['group_keys'] == {'iff': BUILDS[build]['filestamp']}
    problems = assess(build, 'settled', 'gsnokey')['problems']
    assert len(problems) == 1 and problems[0].startswith('offers no IFF to its clients')


@pytest.mark.parametrize('build', sorted(BUILDS))
def test_early_associations_are_pending(build):
    for host in ('gs', 'cl', 'clnoident', 'clbadparams', 'clfallback'):
        result = assess(build, 'early', host)
        assert only_association(result)['state'] == 'pending', host
        assert not result['converged']


def report(build, state):
    captured = BUILDS[build][state]
    results = dict((name, {'status': assess(build, state, name)}) for name in captured)
    return fleet.report(results, sorted(captured), ['th'])


@pytest.mark.parametrize('build', sorted(BUILDS))
def test_fleet_report_and_stale_trust(build):
    settled = report(build, 'settled')
    assert sorted(settled['problems']) == ['clbadparams', 'clfallback', 'clnoident', 'clnoparams', 'gsnokey']
    stale = report(build, 'stale')
    for host in ('gs', 'cl', 'clnoident', 'clfallback'):
        assert any('stale trust: still trusts the th@lab certificate' in p for p in stale['problems'][host]), host
    assert 'th' not in stale['problems']
