# SPDX-License-Identifier: GPL-3.0-or-later
"""status_info's judgement on live daemons: the fleet of fleet_lab, settled and after the trusted host re-keyed."""

import fleet_lab

EXPECTED = {
    'gs': 'iff verified', 'gsnokey': 'iff verified', 'cl': 'iff verified',
    'clnoident': 'tc-only: no ident on the server line', 'clfallback': 'tc-fallback: server offers no scheme',
    'clbadparams': 'failing: 103 bad_filestamp', 'clnoparams': 'failing: no params file ntpkey_iffpar_lab',
}


def test_verdicts_and_stale_trust_on_live_daemons(lab, capsys):
    hosts, states = fleet_lab.run_states(lab)
    for host in hosts.values():
        host.assert_off_the_clock()
    results, settled = fleet_lab.judge(states['settled'])
    verdicts = dict((name, [a['verdict'] for a in r['status']['associations'] if a['state'] != 'none'])
                    for name, r in results.items())
    expected = dict((name, [verdict]) for name, verdict in EXPECTED.items())
    assert verdicts == dict(expected, th=[]), verdicts
    proof = results['cl']['status']['associations'][0]['proof']
    assert proof == 'iff th@lab fs %d' % states['filestamp']
    assert sorted(settled['problems']) == ['clbadparams', 'clfallback', 'clnoident', 'clnoparams', 'gsnokey']
    dummy, stale = fleet_lab.judge(states['stale'])
    for name in fleet_lab.TRUSTING_TH:
        assert any('stale trust' in p for p in stale['problems'][name]), (name, stale['problems'].get(name))
    with capsys.disabled():
        print('\nfleet verdicts on live ntpd 4.2.8p15 (settled, then the trusted host re-keyed):\n  '
              + '\n  '.join(settled['lines'] + ['--- stale'] + stale['lines']))
