# SPDX-License-Identifier: GPL-3.0-or-later
"""A trusted host Ansible does not manage, on captured lab output (fixtures/ntpq/unmanaged.json, made by
tests/reference/fleet_lab.py run_unmanaged_states): thx made with stock ntp-keygen, re-keyed and restarted,
then each restart order of the group server gs and the clients cl, cl2; clstock with stock `ntp-keygen -e`
params; clmv whose MV client key was revoked. Every stale sentence and every named cause is checked here."""

import json
import os

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import fleet, status
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import KeyFile
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.private_keys import PrivateKey
from helpers import FIXTURES, stock

with open(os.path.join(FIXTURES, 'ntpq', 'unmanaged.json')) as _handle:
    LAB = json.load(_handle)
OLD, NEW = LAB['filestamp'], LAB['new_filestamp']
TH = '192.0.2.10'
SERVERS = ('gs', 'thx', 'thmv')


def assess(state, host, stuck=(), params=None):
    snap = LAB[state][host]
    return status.assess(snap['system'], snap['peers'], snap['cryptostats'], snap['files'],
                         offers='iff' if host in SERVERS else None, stuck=stuck,
                         params=snap.get('params') if params is None else params)


def results(state, stuck=()):
    return dict((name, {'status': assess(state, name, stuck)}) for name in LAB[state] if '@' not in name)


def queried(state, answered=True):
    """What verify.yml registers on gs: status_info with server=thx's address, looped over the addresses."""
    if not answered:
        item = {'item': TH, 'failed': True, 'msg': 'ntpq could not read ntpd (is it running and allowed to answer '
                                                   'queries from here?): 192.0.2.10: timed out, nothing received'}
    else:
        snap = LAB[state]['thx@gs']
        item = {'item': TH, 'status': status.assess(snap['system'], snap['peers'], None, {})}
    return {'gs': {'results': [item]}, 'cl': {'skipped': True}}


def unmanaged(state, key_file=OLD, answered=True, query=True):
    return {'query': query, 'key_file': {'scheme': 'iff', 'filestamp': key_file} if key_file else {},
            'queries': queried(state, answered) if query else {}}


def report(state, key_file=OLD, hosts=('gs', 'cl', 'cl2'), **kw):
    accept = kw.pop('accept', False)
    found = results(state, kw.pop('stuck', ()))
    return fleet.report(found, [h for h in hosts if h in found], [], unmanaged(state, key_file, **kw), accept)


def lines_of(result, host):
    return [line for line in result['lines'] if line.startswith(host + ': ')]


# -- what status_info reads from a remote ntpd -----------------------------------------------------------------

def test_the_trusted_host_queried_remotely():
    snap = LAB['stale']['thx@gs']
    result = status.assess(snap['system'], snap['peers'], None, {})
    own = [c for c in result['certificates'] if c['own'] and c['self_signed']]
    assert result['host'] == 'th@lab' and result['offers'] == ['iff'] and result['synchronised']
    assert len(own) == 1 and own[0]['until'] != LAB['settled']['thx@gs']['system'].split('until=')[1][:12]
    assert result['loaded'] == dict(certificate=None, group_keys={})  # ntpq shows no filestamp


def test_settled_fleet_matches_what_the_trusted_host_presents():
    result = report('settled')
    assert result['ok'], result['problems']
    assert result['trusted'] == ['th@lab']
    note = [line for line in result['lines'] if line.startswith(TH + ' (not managed here')]
    assert note == ['192.0.2.10 (not managed here, queried from gs): presents th@lab valid until %s, offers IFF, '
                    'synchronised; the group key it holds is not visible to ntpq: compared with the key file '
                    'handed over (IFF fs %d)' % (LAB['settled']['thx@gs']['system'].split('until=')[1][:12], OLD)]
    assert not any('stale' in line for line in result['lines'])


# -- stale trust: found by the query alone ----------------------------------------------------------------------

def test_rekeyed_trusted_host_found_by_the_query_alone():
    """The key file handed over is still the old one: only the certificate the query shows tells."""
    result = report('stale', key_file=OLD)
    assert sorted(result['problems']) == ['cl', 'cl2', 'gs']
    gs = [p for p in result['problems']['gs'] if 'stale' in p]
    assert gs == [
        '192.0.2.10 (th@lab): stale trust: still trusts the th@lab certificate valid until %s (fs %d), but the '
        'trusted host 192.0.2.10 (not managed here) now presents one valid until %s. ntpd keeps this association '
        'until it restarts (or its ~6-day refresh); a restart fetches the new certificate (and is refused, 103 '
        'bad_filestamp, if the group key changed too and this host still holds the old params): restart ntpd '
        'here, then on the hosts that sync from it' % (_until('settled'), OLD, _until('stale'))]
    for client in ('cl', 'cl2'):
        assert result['problems'][client] == [
            '192.0.2.11 (gs@lab): stale trust: still trusts the th@lab certificate valid until %s (fs %d), but the '
            'trusted host 192.0.2.10 (not managed here) now presents one valid until %s. It came through gs@lab, '
            'which still holds the old one: restarted alone, this host fetches the old certificate again from '
            'gs@lab and stays in stale trust; restart ntpd on gs@lab first, then here'
            % (_until('settled'), OLD, _until('stale'))]


def _until(state):
    return LAB[state]['thx@gs']['system'].split('until=')[1][:12]


def test_a_client_restarted_alone_stays_in_stale_trust():
    """Measured: cl2 restarted on the old params re-verified through gs, on the old certificate."""
    cl2 = assess('stale_client_restarted', 'cl2')
    assoc = [a for a in cl2['associations'] if a['state'] != 'none'][0]
    assert assoc['verdict'] == 'iff verified' and assoc['trust_root']['until'] == _until('settled')
    result = report('stale_client_restarted', hosts=('cl2',))
    assert 'restarted alone, this host fetches the old certificate again from gs@lab' in result['problems']['cl2'][0]


# -- stale group key and server key: the key file handed over ----------------------------------------------------

def test_new_key_file_shows_stale_group_and_server_keys():
    result = report('stale', key_file=NEW)
    assert ('stale server key: serves the IFF group key fs %d, but the key file handed over (autokey_group_key_file) '
            'for 192.0.2.10 (not managed here) is fs %d. Its clients on the params of fs %d keep verifying against '
            'it, also after they restart; clients given the new params are refused (103 bad_filestamp) until ntpd '
            'here restarts on the new server key: install it (site.yml), restart ntpd here, then on its clients'
            % (OLD, NEW, OLD)) in result['problems']['gs']
    assert ('192.0.2.10 (th@lab): stale group key: verified IFF against group key fs %d, but the key file handed '
            'over (autokey_group_key_file) for 192.0.2.10 (not managed here) is fs %d. ntpd keeps this association '
            'until it restarts (or its ~6-day refresh); restarted on these params it is refused (103 bad_filestamp): '
            'install the new params (site.yml), then restart ntpd here' % (OLD, NEW)) in result['problems']['gs']
    assert ('192.0.2.11 (gs@lab): stale group key: verified IFF against group key fs %d, but the key file handed '
            'over (autokey_group_key_file) for 192.0.2.10 (not managed here) is fs %d. gs@lab still serves fs %d: '
            'this host verifies against it on the old key, also after a restart; once gs@lab runs on fs %d, this '
            'host restarted on these params is refused (103 bad_filestamp) until it holds the new params: install '
            'them (site.yml) and restart ntpd here after gs@lab' % (OLD, NEW, OLD, NEW)) in result['problems']['cl']


def test_stale_server_key_state_matches_ntpd():
    """gs on the new params but its old server key: cl2 (old params) verified, cl (new params) refused 103."""
    result = report('stale_server_key', key_file=NEW)
    assert any(p.startswith('stale server key: serves the IFF group key fs %d' % OLD) for p in result['problems']['gs'])
    cl = [a for a in assess('stale_server_key', 'cl')['associations'] if a['state'] != 'none'][0]
    assert cl['verdict'].startswith('failing: 103 bad_filestamp')
    cl2 = [a for a in assess('stale_server_key', 'cl2')['associations'] if a['state'] != 'none'][0]
    assert cl2['verdict'] == 'iff verified' and cl2['identity_filestamp'] == OLD


def test_remedied_fleet_passes():
    result = report('remedied', key_file=NEW)
    assert result['ok'], result['problems']


# -- accepting, or not querying -----------------------------------------------------------------------------------

def test_stale_findings_can_be_accepted():
    result = report('stale', key_file=NEW, accept=True)
    # gs had dropped thx while thx restarted (20 s before this capture): that is no stale finding
    assert result['problems'] == {'gs': ['not synchronised to its verified association (th@lab reject)']}
    assert sorted(result['accepted']) == ['cl', 'cl2', 'gs']
    assert report('stale_client_restarted', key_file=NEW, accept=True)['ok']
    assert all('stale' in text for texts in result['accepted'].values() for text in texts)
    assert any(line.startswith('cl: accepted (verify_accept_stale_unmanaged): 192.0.2.11 (gs@lab): stale trust')
               for line in result['lines'])


def test_a_refused_query_fails_the_group_server_and_says_what_to_allow():
    result = report('settled', answered=False)
    assert result['problems']['gs'][-1:] == [
        'cannot query the trusted host 192.0.2.10 (not managed here) from gs: ntpq could not read ntpd (is it '
        'running and allowed to answer queries from here?): 192.0.2.10: timed out, nothing received. Without it, a '
        'new certificate on that host goes unnoticed: let gs query it (a restrict line for its address without '
        'noquery in that host\'s ntp.conf), or set verify_unmanaged_query=false to compare only with the key file '
        'handed over']
    assert 'stale trust not checked: cannot tell whether the th@lab certificate it trusts' in result['problems']['cl'][0]


def test_without_queries_the_key_file_is_the_only_reference():
    result = report('stale', key_file=NEW, query=False)
    assert any('were not queried (verify_unmanaged_query=false)' in line for line in result['lines'])
    assert any('stale group key' in p for p in result['problems']['cl'])
    assert any(p.startswith('stale server key') for p in result['problems']['gs'])
    # what only the query could tell is not checked, not a failure; the rest fails as usual
    assert not any('stale trust not checked' in p for texts in result['problems'].values() for p in texts)
    assert any('stale trust not checked' in text for text in result['not_checked']['cl'])
    assert any(line.startswith('cl: not checked (verify_unmanaged_query=false), not a failure: ')
               and 'stale trust not checked' in line for line in result['lines'])
    assert result['trusted'] == []


def test_without_queries_a_settled_fleet_passes_and_says_what_was_not_checked():
    result = report('settled', query=False)
    assert result['ok'], result['problems']
    assert result['not_checked'] and all(
        'stale trust not checked' in text for texts in result['not_checked'].values() for text in texts)


# -- final verdicts: an upstream that will not synchronise ------------------------------------------------------

def test_group_server_refused_by_the_rekeyed_trusted_host_is_stuck():
    gs = assess('server_restarted_old', 'gs')
    assoc = [a for a in gs['associations'] if a['state'] != 'none'][0]
    assert assoc['state'] == 'failing' and assoc['verdict'].startswith('failing: 103 bad_filestamp')
    assert gs['converged'] and not gs['synchronised']
    assert fleet.stuck({'gs': gs}) == ['gs@lab']


def test_clients_of_a_stuck_group_server_have_their_verdict_at_once():
    # without knowing gs is stuck, both clients would wait for verify.yml's timeout
    assert not assess('server_restarted_old', 'cl')['converged']
    assert not assess('server_restarted_old', 'cl2')['converged']
    cl = assess('server_restarted_old', 'cl', stuck=['gs@lab'])
    assert cl['converged']
    assert cl['problems'][0] == ('not synchronised to its verified association (gs@lab reject: gs@lab is not '
                                 'synchronised itself)')
    cl2 = assess('server_restarted_old', 'cl2', stuck=['gs@lab'])
    assoc = [a for a in cl2['associations'] if a['state'] != 'none'][0]
    assert cl2['converged'] and assoc['state'] == 'blocked'
    assert assoc['verdict'] == 'blocked: waits for cert from gs@lab, which is not synchronised and will not be by waiting'


def test_stale_trust_through_an_unsynchronised_group_server_says_to_fix_it_first():
    result = report('server_restarted_old', key_file=NEW, hosts=('gs', 'cl'), stuck=['gs@lab'])
    assert any('gs@lab already holds the new one but is not synchronised' in p for p in result['problems']['cl'])


# -- causes named from the params on disk --------------------------------------------------------------------------

def _params_text(scheme, key, filestamp, container):
    name = 'ntpkey_%spar_lab.%d' % (scheme, filestamp)
    return name, KeyFile(name, filestamp, key.to_pem(container)).text()


def test_read_params_tells_stock_from_verifiable():
    stock_iff = status.read_params('ntpkey_iffpar_lab', stock('iff', 'iffpar'))
    assert stock_iff['layout'] == 'stock' and 'PKCS#8 kept no public value v' in stock_iff['problem']
    stock_gq = status.read_params('ntpkey_gqpar_lab', stock('gq', 'gqpar'))
    assert stock_gq['layout'] == 'stock' and 'ntpd 4.2.8p15 reads b from d' in stock_gq['problem']
    stock_mv = status.read_params('ntpkey_mvpar_lab', stock('mv', 'mvpar'))
    assert stock_mv['layout'] == 'stock'
    dummy, ours = _params_text('iff', PrivateKey('DSA', p=23, q=11, g=4, pub=9, priv=1), 4004913313, 'traditional')
    facts = status.read_params('ntpkey_iffpar_lab', ours)
    assert facts == dict(file='ntpkey_iffpar_lab', filestamp=4004913313, scheme='iff', layout='verifiable',
                         problem=None)
    assert status.read_params('ntpkey_iffpar_lab', 'garbage')['layout'] == 'unreadable'


def test_stock_params_failure_is_final_with_its_cause():
    assert LAB['settled']['clstock']['params']['ntpkey_iffpar_lab']['layout'] == 'stock'  # read by status_info
    result = assess('settled', 'clstock')
    assoc = [a for a in result['associations'] if a['state'] != 'none'][0]
    assert assoc['state'] == 'failing' and result['converged']
    assert assoc['verdict'] == ('failing: 10e bad_or_missing_group key: ntpkey_iffpar_lab was written by ntp-keygen '
                                '-e: PKCS#8 kept no public value v, so OpenSSL hands ntpd pub = g and the IFF '
                                'exchange can never verify')
    assert assoc['hint'].startswith('refused at every poll for as long as these params stay')


def test_revoked_mv_client_key_is_named():
    facts = LAB['settled']['clmv']['params']['ntpkey_mvpar_lab']
    assoc = [a for a in assess('settled', 'clmv')['associations'] if a['state'] != 'none'][0]
    assert assoc['state'] == 'failing'
    assert assoc['verdict'] == ('failing: 10e bad_or_missing_group key: MV client key revoked: the params (fs %d) '
                                'are of the server\'s group key (the filestamps agree, else ntpd says 103), and the '
                                'server\'s key no longer accepts this client key' % facts['filestamp'])
    assert 'usable autokey_mv_key' in assoc['hint']
    # without the params facts the same output is only "failing: 10e" after a second error
    assert assess('settled', 'clmv', params={})['associations'][0]['verdict'] == 'failing: 10e bad_or_missing_group key'


def test_params_of_another_filestamp_are_final_at_the_first_103():
    """The first 103 already says it all when the params on disk carry another filestamp."""
    snap = LAB['stale_server_key']['cl']
    first = [line for line in snap['cryptostats'].splitlines() if ' 103 ' in line][0]
    cut = snap['cryptostats'][:snap['cryptostats'].index(first) + len(first)] + '\n'
    result = status.assess(snap['system'], snap['peers'], cut, snap['files'], params=snap['params'])
    assoc = [a for a in result['associations'] if a['state'] != 'none'][0]
    assert assoc['state'] == 'failing' and result['converged']
    assert assoc['verdict'] == ('failing: 103 bad_filestamp: the params here are of group key fs %d '
                                '(ntpkey_iffpar_lab), the server answers with a group key of another filestamp' % NEW)
    without = status.assess(snap['system'], snap['peers'], cut, snap['files'])
    assert [a for a in without['associations'] if a['state'] != 'none'][0]['state'] == 'pending'


def test_group_server_restarted_on_the_new_key_refuses_clients_on_old_params():
    """Measured: cl2 restarted on the old params against gs running on the new server key: 103 at once."""
    result = assess('client_left_on_old_params', 'cl2')
    assoc = [a for a in result['associations'] if a['state'] != 'none'][0]
    assert assoc['verdict'] == ('failing: 103 bad_filestamp: the params here are of group key fs %d '
                                '(ntpkey_iffpar_lab), the server answers with a group key of another filestamp' % OLD)
    assert result['converged']


@pytest.mark.parametrize('state', sorted(s for s in LAB if isinstance(LAB[s], dict)))
def test_every_captured_state_is_judged(state):
    for name, result in results(state).items():
        assert result['status']['associations'], name


def test_an_error_before_the_association_restarted_is_history():
    """A 10e from before the association's last restart (its server restarted with another key, as after an MV
    revocation where the client's new params met the server's old key) is no verdict: the restarted association
    gets its own (pending until it proves or fails again). An error after the restart is final again."""
    snap = dict(LAB['settled']['clmv'])
    lines = snap['cryptostats'].splitlines()
    error = [line for line in lines if ' 10e ' in line][-1]
    day, seconds, address = error.split()[:3]
    restart = '%s %.3f %s assoc 4242 4242 host gs@lab sha256WithRSAEncryption' % (day, float(seconds) + 1, address)
    snap['cryptostats'] = '\n'.join(lines + [restart]) + '\n'

    def judged(cryptostats):
        result = status.assess(snap['system'], snap['peers'], cryptostats, snap['files'], params=snap['params'])
        return [a for a in result['associations'] if a['state'] != 'none'][0], result['converged']

    assoc, converged = judged(snap['cryptostats'])
    assert assoc['state'] != 'failing' and not converged, assoc['verdict']
    again = '%s %.3f %s %s' % (day, float(seconds) + 2, address, ' '.join(error.split()[3:]))
    assoc, converged = judged(snap['cryptostats'] + again + '\n')
    assert assoc['verdict'].startswith('failing: 10e bad_or_missing_group key: MV client key revoked') and converged
