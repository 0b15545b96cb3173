# SPDX-License-Identifier: GPL-3.0-or-later
"""The judge on ntpd 4.2.6p5's own output (fixtures/ntpq/autokey-4.2.6p5.json), captured live from the molecule
scenario builds with th, gs and cl2 on ntpd 4.2.6p5 (OpenSSL 1.0.2u) and cl on Debian 11's 4.2.8p15:

* verified: the fleet as the roles deploy it (crypto ident th@lab on every 4.2.6 host);
* early-noident, noident: cl2 without crypto ident, 4 s and 110 s after a restart (0x29c7f21, the same flags as a
  verified association, and no identity exchange in cryptostats);
* noparams: cl2 with crypto ident but without ntpkey_iffpar_th@lab (10f protocol_error, restarts, no flags).

4.2.6 shows no ident per association; its system variable `group` is the crypto ident (docs/ntpd-4.2.6.md)."""

import json
import os

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import fleet, status

from helpers import FIXTURES

with open(os.path.join(FIXTURES, 'ntpq', 'autokey-4.2.6p5.json')) as _handle:
    CAPTURED = json.load(_handle)


def assess(case, host):
    snap = CAPTURED[case][host]
    return status.assess(snap['system'], snap['peers'], snap['cryptostats'], snap['files'],
                         offers='iff' if host in ('th', 'gs') else None)


def autokey_associations(result):
    return [a for a in result['associations'] if a['state'] != 'none']


@pytest.mark.parametrize('host', ['gs', 'cl2', 'cl'])
def test_the_deployed_fleet_is_verified_by_a_real_exchange(host):
    result = assess('verified', host)
    [assoc] = autokey_associations(result)
    assert (assoc['state'], assoc['verdict']) == ('verified', 'iff verified')
    assert assoc['proof'].startswith('iff th@lab fs ')
    assert result['problems'] == [] and result['converged']


def test_the_group_of_a_4_2_6_host_is_its_crypto_ident():
    result = assess('verified', 'cl2')
    assert result['daemon_identity'] == {'kind': 'ntpd', 'name': 'ntpd 4.2.6p5', 'autokey': True}
    [assoc] = autokey_associations(result)
    assert assoc['ident'] == 'th@lab' and assoc['host_group'] == 'ntpd 4.2.6p5'


def test_the_trusted_host_local_clock_is_no_autokey_association():
    result = assess('verified', 'th')
    assert [a['state'] for a in result['associations']] == ['none']
    assert result['offers'] == ['iff'] and result['problems'] == []


def test_without_crypto_ident_the_same_flags_are_certificate_only():
    verified = autokey_associations(assess('verified', 'cl2'))[0]
    result = assess('noident', 'cl2')
    [assoc] = autokey_associations(result)
    assert assoc['flags']['word'] == verified['flags']['word']  # 0x29c7f21 both: flags cannot tell them apart
    assert (assoc['state'], assoc['verdict']) == ('tc-only', 'tc-only: no crypto ident (ntpd 4.2.6p5)')
    assert assoc['proof'] is None and 'crypto ... ident' in assoc['hint']
    assert len(result['problems']) == 1 and result['converged']


def test_early_without_crypto_ident_is_pending():
    [assoc] = autokey_associations(assess('early-noident', 'cl2'))
    assert assoc['state'] == 'pending'


def test_missing_params_under_the_trust_root_name_fail_with_the_name():
    result = assess('noparams', 'cl2')
    [assoc] = autokey_associations(result)
    assert assoc['flags'] is None  # 4.2.6 shows no flags while the association restarts
    assert (assoc['state'], assoc['verdict']) == ('failing', 'failing: 10f protocol_error')
    assert assoc['hint'].startswith('no params file ntpkey_<scheme>par_th@lab')


def test_fleet_report_of_the_mixed_fleet():
    results = dict((host, {'status': assess('verified', host)}) for host in CAPTURED['verified'])
    report = fleet.report(results, ['th', 'gs', 'cl', 'cl2'], ['th'])
    assert report['ok'] and report['problems'] == {}
    rows = dict((line.split()[0], line) for line in report['lines'] if line.split() and line.split()[0] in results)
    for host in ('gs', 'cl', 'cl2'):
        assert 'iff verified' in rows[host], rows[host]


def test_a_4_2_8_host_keeps_its_per_association_ident():
    snap = CAPTURED['verified']['cl']
    assert 'group=' not in snap['system']
    [assoc] = autokey_associations(assess('verified', 'cl'))
    assert assoc['ident'] == 'lab' and assoc['host_group'] is None


def test_the_trusted_host_is_named_by_its_certificate_and_its_group_key_read():
    """4.2.6 shows host="th" (its crypto host); the subject th@lab and the group come from its certificate."""
    result = assess('verified', 'th')
    fs = int(CAPTURED['verified']['gs']['cryptostats'].split(' iff th@lab fs ')[1].split()[0])
    assert (result['host'], result['group']) == ('th@lab', 'lab')
    assert result['loaded']['group_keys'] == {'iff': fs}
