# SPDX-License-Identifier: GPL-3.0-or-later
"""status_info's judgement on live daemons: the fleet of fleet_lab, settled and after the trusted host re-keyed."""

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import fleet, ntpq, status

import fleet_lab
import ntplab

EXPECTED = {
    'gs': 'iff verified', 'gsnokey': 'iff verified', 'cl': 'iff verified',
    'clnoident': 'tc-only: no ident on the server line', 'clfallback': 'tc-fallback: server offers no scheme',
    'clbadparams': 'failing: 103 bad_filestamp', 'clnoparams': 'failing: no params file ntpkey_iffpar_lab',
}


# hosts that trust th's certificate, directly or through a group server: in stale trust once th is re-keyed
TRUSTING_TH = ('gs', 'gsnokey', 'cl', 'clnoident', 'clfallback')


def judge(snapshots):
    """status_info's results on every host of one state ({host: snapshot}) and fleet_report's report on them."""
    results = {}
    for name, snap in snapshots.items():
        results[name] = {'status': status.assess(snap['system'], snap['peers'], snap['cryptostats'], snap['files'],
                                                 offers='iff' if name in ('th', 'gs', 'gsnokey') else None)}
    return results, fleet.report(results, sorted(results), ['th'])


def converged(snapshots):
    """Every association of every host has a verdict (status_info's converged)."""
    try:
        results, dummy = judge(snapshots)
    except ntpq.NtpqError:  # a daemon not answering yet
        return False
    return all(result['status']['converged'] for result in results.values())


def stale_trust_seen(snapshots):
    """th answers again, with its new certificate, and every host that trusted the old one is in stale trust."""
    try:
        dummy, report = judge(snapshots)
    except ntpq.NtpqError:
        return False
    return all(any('stale trust' in p for p in report['problems'].get(name, [])) for name in TRUSTING_TH)


def test_verdicts_and_stale_trust_on_live_daemons(lab, capsys):
    hosts, states = fleet_lab.run_states(lab, settle_seconds=240, settled=converged, stale=stale_trust_seen)
    for host in hosts.values():
        host.assert_off_the_clock()
    results, settled = judge(states['settled'])
    verdicts = dict((name, [a['verdict'] for a in r['status']['associations'] if a['state'] != 'none'])
                    for name, r in results.items())
    expected = dict((name, [verdict]) for name, verdict in EXPECTED.items())
    assert verdicts == dict(expected, th=[]), verdicts
    proof = results['cl']['status']['associations'][0]['proof']
    assert proof == 'iff th@lab fs %d' % states['filestamp']
    assert sorted(settled['problems']) == ['clbadparams', 'clfallback', 'clnoident', 'clnoparams', 'gsnokey']
    dummy, stale = judge(states['stale'])
    for name in TRUSTING_TH:
        assert any('stale trust' in p for p in stale['problems'][name]), (name, stale['problems'].get(name))
    with capsys.disabled():
        print('\nfleet verdicts on live %s (settled, then the trusted host re-keyed):\n  '
              % ntplab.build().short_version() + '\n  '.join(settled['lines'] + ['--- stale'] + stale['lines']))
