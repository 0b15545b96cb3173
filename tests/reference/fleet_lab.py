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
import time

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.host_material import HostMaterial

from ansible_collections.ntp.autokey.plugins.modules.status_info import keysdir_names
from material import group_master, host_keys, install

POLL = 'iburst minpoll 3 maxpoll 3'
LOCAL_CLOCK = ['server 127.127.1.0 minpoll 3 maxpoll 3 prefer', 'fudge 127.127.1.0 stratum 0']
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
    master = group_master(th.host_keysdir, 'iff', 'thpw')
    trusted_host(th)
    export = master.exports('transport')
    params = export['params_export']
    os.makedirs(os.path.join(th.host_keysdir, 'other'))
    other = group_master(os.path.join(th.host_keysdir, 'other'), 'iff', 'thpw')
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
    return {'system': system, 'peers': peers, 'cryptostats': host.cryptostats(),
            'files': keysdir_names(host.host_keysdir)}


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
