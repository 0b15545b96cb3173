# SPDX-License-Identifier: GPL-3.0-or-later
"""Real identity exchanges between ntpd 4.2.8p15 daemons on our files.

Chains TH -> GS -> CL for IFF, GQ and MV, and a trusted host keeping stock
ntp-keygen files whose client verifies with params this collection wrote
from the stock server key, while a client with stock `-e` params fails.
All chains run at once; the test polls until every expectation holds.
"""

import os
import re
import time

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import parse

import ntplab
from material import LOCAL_CLOCK, POLL, chain, host_keys, identity_synchronised, install, stock_iff_flags


def _chain(lab, scheme):
    master, hosts = chain(lab, scheme, suffix=scheme)
    return {'fs': master.material.filestamp, 'hosts': hosts}


def _stock_chain(lab):
    th, good, bad = lab.host('thstock'), lab.host('clrepaired'), lab.host('clstock')
    env = {'NTP_KEYGEN_PASSWORD': 'thpw'}
    result = th.keygen('-T', *stock_iff_flags(th.build), '-s', 'th@lab', env=env)
    assert result.returncode == 0, result.stderr
    stamped = [n for n in os.listdir(th.host_keysdir) if n.startswith('ntpkey_IFFkey_lab.')][0]
    os.symlink(stamped, th.host_keysdir + '/ntpkey_iffkey_lab')
    stock_params = th.keygen('-e', '-s', 'th@lab', env=env).stdout
    th.write_conf(['crypto host th ident lab pw thpw'] + LOCAL_CLOCK)
    with open(th.host_keysdir + '/' + stamped) as handle:
        stock_key = handle.read()
    host_keys(good.host_keysdir, 'cl', 'clpw', group='lab')
    install(good.host_keysdir, 'iff', stock_key, 'thpw')  # our params from the stock server key
    good.write_conf(['crypto host cl pw clpw', 'server %s autokey ident lab %s' % (th.address, POLL)])
    host_keys(bad.host_keysdir, 'cl', 'clpw', group='lab')
    fs = parse(stock_params).filestamp
    with open(bad.host_keysdir + '/ntpkey_iffpar_lab.%d' % fs, 'w') as handle:
        handle.write(stock_params)
    os.symlink('ntpkey_iffpar_lab.%d' % fs, bad.host_keysdir + '/ntpkey_iffpar_lab')
    bad.write_conf(['crypto host cl pw clpw', 'server %s autokey ident lab %s' % (th.address, POLL)])
    return {'fs': parse(stock_key).filestamp, 'hosts': (th, good, bad)}


def _verified(host, scheme, fs):
    ok, state = identity_synchronised(host, scheme)
    line = re.search(r'\b%s th@lab fs (\d+)' % scheme, host.cryptostats())
    return ok and line is not None and int(line.group(1)) == fs, state


def test_identity_exchanges_on_live_daemons(lab, capsys):
    chains = {scheme: _chain(lab, scheme) for scheme in ('iff', 'gq', 'mv')}
    stock = _stock_chain(lab)
    for host in lab.hosts:
        host.start()
    started = time.time()
    expected = [(scheme, c['fs'], h) for scheme, c in chains.items() for h in c['hosts'][1:]]
    expected.append(('iff', stock['fs'], stock['hosts'][1]))
    done = {}

    def all_verified():
        for scheme, fs, host in expected:
            if host.name not in done and _verified(host, scheme, fs)[0]:
                done[host.name] = round(time.time() - started)
        return len(done) == len(expected)

    ntplab.wait_for(all_verified, 300, 2)
    report = []
    for scheme, fs, host in expected:
        ok, state = _verified(host, scheme, fs)
        report.append('%-11s %s flags=%s %s after %ss' % (
            host.name, scheme, hex(state['flags'] or 0), state['condition'], done.get(host.name, '-')))
        assert ok, '%s did not verify %s:\n%s\ncryptostats:\n%s\nlog:\n%s' % (
            host.name, scheme, state['raw'], host.cryptostats()[-2000:], host.log()[-2000:])
    bad = stock['hosts'][2]
    state = bad.association()
    assert not (state['flags'] or 0) & 0x200, 'stock -e params must never pass: %s' % state['raw']
    assert re.search(r'\b10e\b', bad.cryptostats()) or 'identity not verified' in bad.log()
    report.append('%-11s stock -e params: flags=%s, refused (10e bad_or_missing_group key)'
                  % (bad.name, hex(state['flags'] or 0)))
    for host in lab.hosts:
        host.assert_off_the_clock()
    with capsys.disabled():
        print('\nlive identity exchanges (%s):\n  ' % ntplab.build().short_version() + '\n  '.join(report))
