# SPDX-License-Identifier: GPL-3.0-or-later
"""A small IFF fleet with every common mistake, on real ntpd daemons.

th (trusted host) -> gs (group server)      -> cl          verified
                                            -> clnoident   server line without ident: TC only
                                            -> clbadparams params of another group key: refused
                                            -> clnoparams  ident but no params file
                  -> gsnokey (no group key) -> clfallback  ident, but the server offers no scheme

Used by test_status_live.py and by capture_ntpq.py, which records the ntpq
output the unit tests of the status parser read.
"""

import os
import subprocess
import time

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import status
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import ntp_now, parse
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.host_material import HostMaterial

from ansible_collections.ntp.autokey.plugins.modules.status_info import keysdir_names, params_facts
import ntplab
from material import LOCAL_CLOCK, POLL, group_master, host_keys, install, stock_iff_flags

NTPQ_SYSTEM = ('rv 0', 'as')


def trusted_host(host, password='thpw'):
    host_keys(host.host_keysdir, 'th', password, group='lab', trusted=True)
    host.write_conf(['crypto host th ident lab pw %s' % password] + LOCAL_CLOCK)


def regenerate_trusted_host(host, password='thpw'):
    """The trusted host's keys made anew, as an operator re-running ntp-keygen would."""
    material = HostMaterial(KeysDir(host.host_keysdir), 'th', password, group='lab', trusted=True,
                            regenerate='always')
    material.plan()
    material.apply()


def member(host, name, upstream, params=None, server_key=None, ident=True):
    password = name + 'pw'
    host_keys(host.host_keysdir, name, password, group='lab')
    if server_key:
        install(host.host_keysdir, 'iff', server_key, 'transport', password, server_key=True, params=False)
    if params:
        install(host.host_keysdir, 'iff', params)
    crypto = 'crypto host %s pw %s' % (name, password) + (' ident lab' if server_key else '')
    server = 'server %s autokey %s%s' % (upstream.address, 'ident lab ' if ident else '', POLL)
    host.write_conf([crypto, server])


def build(lab):
    """Write every host's files and configuration; returns {name: Host} and the group filestamp."""
    th = lab.host('th')
    # clbadparams gets the params of an older group key. Generated in the same second, the two keys would share a
    # filestamp and ntpd would refuse with 10e (bad group key) instead of 103 (bad filestamp): the group key
    # is made in a later second, so that the verdict is always the same one.
    os.makedirs(os.path.join(th.host_keysdir, 'other'))
    other = group_master(os.path.join(th.host_keysdir, 'other'), 'iff', 'thpw')
    while ntp_now() <= other.material.filestamp:
        time.sleep(0.05)
    master = group_master(th.host_keysdir, 'iff', 'thpw')
    trusted_host(th)
    export = master.exports('transport')
    params = export['params_export']
    hosts = {'th': th}
    hosts['gs'] = lab.host('gs')
    member(hosts['gs'], 'gs', th, params, export['server_key_export'])
    hosts['gsnokey'] = lab.host('gsnokey')
    member(hosts['gsnokey'], 'gsnokey', th, params)
    for name, upstream, kw in (('cl', 'gs', {'params': params}),
                               ('clnoident', 'gs', {'ident': False}),
                               ('clbadparams', 'gs', {'params': other.exports()['params_export']}),
                               ('clnoparams', 'gs', {}),
                               ('clfallback', 'gsnokey', {'params': params})):
        hosts[name] = lab.host(name)
        member(hosts[name], name, hosts[upstream], **kw)
    return hosts, master.material.filestamp


def snapshot(host):
    """What status_info reads on a host: ntpq system view, every association, cryptostats, keysdir names."""
    system = host.ntpq(*NTPQ_SYSTEM)
    ids = [line.split()[1] for line in system.splitlines() if line.split()[:1] and line.split()[0].isdigit()]
    peers = host.ntpq(*['rv %s' % assid for assid in ids]) if ids else ''
    files = keysdir_names(host.host_keysdir)
    return {'system': system, 'peers': peers, 'cryptostats': host.cryptostats(), 'files': files,
            'params': params_facts(host.host_keysdir, files)}


def settle(hosts, seconds, until=None, interval=2):
    """Snapshots of every host after `seconds` more of running or, with `until`, as soon as `until(snapshots)`
    holds (polled every `interval` s; after `seconds` the last snapshots, for the caller's assertions to explain)."""
    deadline = time.time() + seconds
    if until is None:
        time.sleep(seconds)
    while True:
        states = dict((name, snapshot(host)) for name, host in hosts.items())
        if until is None or until(states) or time.time() >= deadline:
            return states
        time.sleep(interval)


def run_states(lab, settle_seconds=120, settled=None, stale=None):
    """Snapshots early (6 s: a point in time, exchanges under way), settled, and in stale trust (trusted host
    re-keyed and restarted). `settled` and `stale` tell when those states are reached (polled, for at most
    `settle_seconds` and 60 s); without them, fixed times: `settle_seconds` and 20 s."""
    hosts, filestamp = build(lab)
    for host in hosts.values():
        host.start()
    states = {'filestamp': filestamp, 'early': settle(hosts, 6),
              'settled': settle(hosts, settle_seconds, settled)}
    regenerate_trusted_host(hosts['th'])
    hosts['th'].stop()
    hosts['th'].start()
    states['stale'] = settle(hosts, 60, stale) if stale else settle(hosts, 20)
    return hosts, states


# -- a trusted host Ansible does not manage (issue 14) ---------------------------------------------------------
# thx: the customer's stratum 1, made with stock ntp-keygen (as molecule/unmanaged/prepare.yml does); gs, cl, cl2
# configured from its key file as the roles do; clstock holds stock `ntp-keygen -e` params (public value lost);
# thmv -> clmv: an MV group whose client key 2 was revoked after clmv got its params.

def _stock_trusted_host(host, query_from):
    env = {'NTP_KEYGEN_PASSWORD': 'thpw'}
    result = host.keygen('-T', *stock_iff_flags(host.build), '-H', '-s', 'th@lab', env=env)
    assert result.returncode == 0, result.stderr
    stamped = sorted(n for n in os.listdir(host.host_keysdir) if n.startswith('ntpkey_IFFkey_lab.'))[-1]
    link = os.path.join(host.host_keysdir, 'ntpkey_iffkey_lab')
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(stamped, link)
    host.write_conf(['crypto host th ident lab pw thpw', 'restrict %s nomodify notrap nopeer' % query_from.address,
                     'restrict default nomodify notrap nopeer noquery'] + LOCAL_CLOCK)
    with open(os.path.join(host.host_keysdir, stamped)) as handle:
        key = handle.read()
    stock_params = host.keygen('-e', '-s', 'th@lab', env=env).stdout
    return key, stock_params, int(stamped.rsplit('.', 1)[1])


def _install_from(host, key, server=False, params=True):
    password = host.name + 'pw'
    if server:
        install(host.host_keysdir, 'iff', key, 'thpw', password, server_key=True, params=False)
    if params:
        install(host.host_keysdir, 'iff', key, 'thpw')


def build_unmanaged(lab):
    hosts = dict((name, lab.host(name)) for name in ('thx', 'gs', 'cl', 'cl2', 'clstock', 'thmv', 'clmv'))
    key, stock_params, filestamp = _stock_trusted_host(hosts['thx'], hosts['gs'])
    host_keys(hosts['gs'].host_keysdir, 'gs', 'gspw', group='lab')
    _install_from(hosts['gs'], key, server=True)
    hosts['gs'].write_conf(['crypto host gs ident lab pw gspw',
                            'server %s autokey ident lab %s' % (hosts['thx'].address, POLL)])
    for name in ('cl', 'cl2', 'clstock'):
        host_keys(hosts[name].host_keysdir, name, name + 'pw', group='lab')
        if name == 'clstock':
            stamp = parse(stock_params).filestamp
            with open(os.path.join(hosts[name].host_keysdir, 'ntpkey_iffpar_lab.%d' % stamp), 'w') as handle:
                handle.write(stock_params)
            os.symlink('ntpkey_iffpar_lab.%d' % stamp, os.path.join(hosts[name].host_keysdir, 'ntpkey_iffpar_lab'))
        else:
            _install_from(hosts[name], key)
        hosts[name].write_conf(['crypto host %s pw %spw' % (name, name),
                                'server %s autokey ident lab %s' % (hosts['gs'].address, POLL)])
    thmv, clmv = hosts['thmv'], hosts['clmv']
    master = group_master(thmv.host_keysdir, 'mv', 'thpw', mv_keys=2)
    revoked_params = master.material.params_text('ntpkey_mvpar_lab.%d' % master.material.filestamp, 2)
    group_master(thmv.host_keysdir, 'mv', 'thpw', mv_keys=2, mv_revoked=[2])
    host_keys(thmv.host_keysdir, 'thmv', 'thpw', group='lab', trusted=True)
    thmv.write_conf(['crypto host thmv ident lab pw thpw'] + LOCAL_CLOCK)
    host_keys(clmv.host_keysdir, 'clmv', 'clmvpw', group='lab')
    install(clmv.host_keysdir, 'mv', revoked_params)
    clmv.write_conf(['crypto host clmv pw clmvpw', 'server %s autokey ident lab %s' % (thmv.address, POLL)])
    return hosts, filestamp


def ntpq_remote(host, address, *commands):
    """ntpq run in `host`'s namespace against the ntpd at `address`."""
    args = ['ip', 'netns', 'exec', host.ns, 'chroot', host.rootfs, host.build.path('ntpq'), '-n']
    for command in commands:
        args += ['-c', command]
    return subprocess.run(args + [address], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=10, check=False).stdout


def remote_snapshot(host, server):
    """What status_info with `server` set reads from `host`'s namespace: ntpq of the remote ntpd only."""
    system = ntpq_remote(host, server.address, *NTPQ_SYSTEM)
    ids = [line.split()[1] for line in system.splitlines() if line.split()[:1] and line.split()[0].isdigit()]
    peers = ntpq_remote(host, server.address, *['rv %s' % assid for assid in ids]) if ids else ''
    return {'system': system, 'peers': peers, 'cryptostats': None, 'files': {}}


def _verdict(host):
    snap = snapshot(host)
    try:
        result = status.assess(snap['system'], snap['peers'], snap['cryptostats'], snap['files'],
                               params=snap['params'])
    except status.ntpq.NtpqError:  # just restarted, not answering yet
        return []
    return [(a['verdict'], a['synchronised'], (a.get('trust_root') or {}).get('until'))
            for a in result['associations'] if a['state'] != 'none']


def wait_logged(what, predicate, timeout, log):
    value, took = ntplab.wait_for(predicate, timeout, 1.0)
    log.append('%s: %s after %.0f s' % (what, 'yes' if value else 'NO', took))
    return value


def verified(host):
    return any(v == 'iff verified' and sync for v, sync, dummy in _verdict(host))


def _error(host, code):
    return ' %s ' % code in host.cryptostats()


def run_unmanaged_states(lab, log=None):
    """Snapshots of the unmanaged trusted host fleet: settled, stale (thx re-keyed with ntp-keygen and restarted),
    then each restart order measured (what ntpd does next in each stale state), then remedied."""
    log = [] if log is None else log
    hosts, first = build_unmanaged(lab)
    thx, gs, cl, cl2 = hosts['thx'], hosts['gs'], hosts['cl'], hosts['cl2']
    for host in hosts.values():
        host.start()
    states = {'filestamp': first}

    def take(state, names=None):
        states[state] = dict((n, snapshot(hosts[n])) for n in (names or sorted(hosts)))
        states[state]['thx@gs'] = remote_snapshot(gs, thx)
        log.append('%s: %s' % (state, dict((n, _verdict(hosts[n])) for n in (names or ('gs', 'cl', 'cl2'))
                                           if n != 'thx')))

    wait_logged('gs, cl, cl2 verified', lambda: all(verified(h) for h in (gs, cl, cl2)), 240, log)
    wait_logged('clstock 10e, clmv 10e', lambda: _error(hosts['clstock'], '10e') and _error(hosts['clmv'], '10e'), 60, log)
    take('settled')
    # the customer re-keys the trusted host with ntp-keygen (new host key, certificate, IFF key) and restarts it
    key, dummy, second = _stock_trusted_host(thx, gs)
    states['new_filestamp'] = second
    thx.stop()
    thx.start()
    time.sleep(20)
    take('stale', ['thx', 'gs', 'cl', 'cl2'])
    # a client restarted on the old params while its group server still runs on the old material
    cl2.stop()
    cl2.start()
    wait_logged('cl2 restarted, old params, gs stale: verified', lambda: verified(cl2), 120, log)
    take('stale_client_restarted', ['gs', 'cl', 'cl2'])
    # the group server restarted on its old params and old server key
    gs.stop()
    gs.start()
    wait_logged('gs restarted on old params: 103', lambda: _error(gs, '103'), 60, log)
    time.sleep(20)
    cl2.stop()
    cl2.start()
    time.sleep(30)
    take('server_restarted_old', ['gs', 'cl', 'cl2'])
    # the group server gets the new params, keeps its old server key (a partial install), restarts
    _install_from(gs, key)
    gs.stop()
    gs.start()
    wait_logged('gs with new params verified', lambda: verified(gs), 120, log)
    _install_from(cl, key)
    cl.stop()
    cl.start()
    cl2.stop()
    cl2.start()
    wait_logged('cl (new params) 103 against gs on the old server key', lambda: _error(cl, '103'), 90, log)
    wait_logged('cl2 (old params) verified against gs on the old server key', lambda: verified(cl2), 90, log)
    take('stale_server_key', ['gs', 'cl', 'cl2'])
    # remedy: the new server key on gs, restart gs, then the clients on new params
    _install_from(gs, key, server=True, params=False)
    gs.stop()
    gs.start()
    wait_logged('cl (new params, not restarted) verified again after gs restarted', lambda: verified(cl), 120, log)
    take('server_key_renewed', ['gs', 'cl', 'cl2'])  # cl2 still runs on the old params
    cl2.stop()
    cl2.start()
    wait_logged('cl2 restarted on the old params against gs on the new server key: 103', lambda: _error(cl2, '103'), 90, log)
    take('client_left_on_old_params', ['gs', 'cl2'])
    _install_from(cl2, key)
    cl2.stop()
    cl2.start()
    wait_logged('cl2 new params verified', lambda: verified(cl2), 120, log)
    take('remedied', ['thx', 'gs', 'cl', 'cl2'])
    return hosts, states
