# SPDX-License-Identifier: GPL-3.0-or-later
"""ntpd builds mixed in one fleet: Debian 11's 4.2.8p15 (OpenSSL 1.1.1), 4.2.8p15 on OpenSSL 3 (as Ubuntu 22.04
ships it) and 4.2.8p18, in every tier, on this collection's files.

The two builds other than Debian 11's are built by the user from ntp.org's release sources and named in
AUTOKEY_NTPD_BUILDS (lab/ntplab.py); without them this file is skipped, and says so. The whole referee suite
runs against one build with AUTOKEY_NTPD_BUILD; this file mixes them:

* Autokey: for IFF, GQ and MV, the chains p18 -> p15/OpenSSL 3 -> Debian 11 and Debian 11 -> p18 -> p15/OpenSSL 3
  (trusted host -> group server -> client), each link identity-verified (all flags, the scheme's bit, the
  cryptostats line with the trusted host's filestamp);
* every certificate signature the collection offers, on a trusted host of one OpenSSL 3 build and a client of
  the other, both ways;
* symmetric keys: for every key type the collection writes for ntpd, Debian 11 -> p18 -> p15/OpenSSL 3, so that
  p15 and p18 serve each other both ways (ntpd 4.2.8p16 read hex keys otherwise and did not interoperate with
  p15 until p17). AES128CMAC, SHA1 and MD5 authenticate; SHA256 and SHA512 never do, either way: p15 cuts their
  digest to 20 bytes and p18 refuses any MAC but the whole one ("MAC length error: 24 not 36").
"""

import re
import time

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.certificate import SIGNATURES

import ntplab
from material import LOCAL_CLOCK, POLL, chain, group_master, host_keys, identity_synchronised, install
from test_symmetric_live import CASES, CONTROL, SECRETS, auth_ok, ntpd_conf

P18, P15_OPENSSL3, DEBIAN11 = '4.2.8p18', '4.2.8p15-openssl3', ntplab.DEBIAN11
MISSING = ntplab.builds_missing(P18, P15_OPENSSL3)
pytestmark = pytest.mark.skipif(bool(MISSING), reason='%s (see tests/reference/test_builds_live.py)' % MISSING)

CHAINS = [(P18, P15_OPENSSL3, DEBIAN11), (DEBIAN11, P18, P15_OPENSSL3)]
# key types whose MAC 4.2.8p18 expects whole: the 4-byte key ID and the whole digest
FULL_DIGEST = {'SHA256': 4 + 32, 'SHA512': 4 + 64}


def _proved(host, scheme, fs):
    ok, state = identity_synchronised(host, scheme)
    line = re.search(r'\b%s th@lab fs (\d+)' % scheme, host.cryptostats())
    return ok and line is not None and int(line.group(1)) == fs, state


def test_autokey_chains_across_builds(lab, capsys):
    expected = []
    for scheme in ('iff', 'gq', 'mv'):
        for number, builds in enumerate(CHAINS):
            master, hosts = chain(lab, scheme, suffix='%s%d' % (scheme, number), builds=builds)
            expected += [(scheme, master.material.filestamp, host, builds) for host in hosts[1:]]
    for host in lab.hosts:
        host.start()
    started, done = time.time(), {}

    def all_verified():
        for scheme, fs, host, dummy in expected:
            if host.name not in done and _proved(host, scheme, fs)[0]:
                done[host.name] = round(time.time() - started)
        return len(done) == len(expected)

    ntplab.wait_for(all_verified, 360, 2)
    report = []
    for scheme, fs, host, builds in expected:
        ok, state = _proved(host, scheme, fs)
        upstream = builds[0] if host.name.startswith('gs') else builds[1]
        report.append('%-7s %-18s <- %-18s flags=%s %s after %ss' % (
            host.name, host.build.name, upstream, hex(state['flags'] or 0), state['condition'],
            done.get(host.name, '-')))
        assert ok, '%s (%s) did not verify %s:\n%s\ncryptostats:\n%s\nlog:\n%s' % (
            host.name, host.build.name, scheme, state['raw'], host.cryptostats()[-2000:], host.log()[-2000:])
    for host in lab.hosts:
        assert host.running(), host.log()
        host.assert_off_the_clock()
    with capsys.disabled():
        print('\nAutokey across ntpd builds (%s):\n  %s' % (
            '; '.join('%s: %s' % (name, ntplab.build(name).short_version()) for name in (DEBIAN11, P18, P15_OPENSSL3)),
            '\n  '.join(report)))


def test_every_signature_across_builds(lab, capsys):
    """A trusted host whose certificate is signed with each digest, and an IFF client of the other build."""
    pairs = []
    for signature in sorted(SIGNATURES):
        for number, (upstream, downstream) in enumerate([(P18, P15_OPENSSL3), (P15_OPENSSL3, P18)]):
            tag = '%s%d' % (re.sub('[^a-z0-9]', '', signature.lower()), number)
            th, cl = lab.host('th' + tag, build_name=upstream), lab.host('cl' + tag, build_name=downstream)
            master = group_master(th.host_keysdir, 'iff', 'thpw')
            host_keys(th.host_keysdir, 'th', 'thpw', group='lab', trusted=True, signature=signature)
            th.write_conf(['crypto host th ident lab pw thpw'] + LOCAL_CLOCK)
            host_keys(cl.host_keysdir, 'cl', 'clpw', group='lab', signature=signature)
            install(cl.host_keysdir, 'iff', master.exports()['params_export'])
            cl.write_conf(['crypto host cl pw clpw', 'server %s autokey ident lab %s' % (th.address, POLL)])
            pairs.append((signature, master.material.filestamp, th, cl))
    for host in lab.hosts:
        host.start()
    started, done = time.time(), {}

    def all_verified():
        for dummy, fs, dummy_th, cl in pairs:
            if cl.name not in done and _proved(cl, 'iff', fs)[0]:
                done[cl.name] = round(time.time() - started)
        return len(done) == len(pairs)

    ntplab.wait_for(all_verified, 300, 2)
    report = []
    for signature, fs, th, cl in pairs:
        ok, state = _proved(cl, 'iff', fs)
        report.append('%-13s %-18s <- %-18s flags=%s after %ss' % (
            signature, cl.build.name, th.build.name, hex(state['flags'] or 0), done.get(cl.name, '-')))
        assert ok, '%s: %s (%s) did not verify its trusted host (%s):\n%s\nlog:\n%s' % (
            signature, cl.name, cl.build.name, th.build.name, state['raw'], cl.log()[-2000:])
        assert (state['flags'] or 0) >> 16 == SIGNATURES[signature][1]  # the trusted certificate's NID
    with capsys.disabled():
        print('\ncertificate signatures across OpenSSL 3 builds:\n  ' + '\n  '.join(report))


@pytest.mark.parametrize('kind, form', CASES, ids=['%s-%s' % c for c in CASES])
def test_symmetric_keys_across_builds(lab, kind, form, capsys):
    key = dict(id=42, type=kind, secret='Ab!cd$ef-gh:ij~kl<m' if form == 'ascii' else SECRETS[kind], format=form)
    server = lab.host('srv', build_name=DEBIAN11)
    middle = lab.host('mid', build_name=P18)
    client = lab.host('cl', build_name=P15_OPENSSL3)
    server.write_conf(ntpd_conf(server, [CONTROL, key], [1, 42], LOCAL_CLOCK))
    for host, upstream in ((middle, server), (client, middle)):
        host.write_conf(ntpd_conf(host, [CONTROL, key], [1, 42],
                                  ['server %s key 42 minpoll 3 maxpoll 3 iburst' % upstream.address]))
    for host in (server, middle, client):
        host.start()
    started = time.time()
    if kind in FULL_DIGEST:
        # 4.2.8p15 sends these digests cut to 20 bytes (a 24-byte MAC with the key ID); 4.2.8p18 wants them whole
        done, waited = ntplab.wait_for(lambda: auth_ok(middle)[0] == 'ok' or auth_ok(client)[0] == 'ok', 40, 1)
        assert not done, 'authenticated after %d s' % waited
        assert 'MAC length error: 24 not %d for key 42' % FULL_DIGEST[kind] in middle.log(), middle.log()[-2000:]
        assert auth_ok(middle)[0] == 'bad' and auth_ok(client)[0] == 'bad'
        with capsys.disabled():
            print('\n%s-%s: p15 and p18 never authenticate each other (p18 logs "MAC length error: 24 not %d")'
                  % (kind, form, FULL_DIGEST[kind]))
        return
    done, waited = ntplab.wait_for(lambda: auth_ok(middle)[0] == 'ok' and auth_ok(client)[0] == 'ok', 90, 1)
    assert done, 'not authenticated after %d s:\np18 <- p15:\n%s\n%s\np15/OpenSSL 3 <- p18:\n%s\n%s' % (
        waited, middle.ntpq('as', 'rv &1'), middle.log()[-2000:], client.ntpq('as', 'rv &1'), client.log()[-2000:])
    for host in (server, middle, client):
        assert 'authreadkeys' not in host.log(), host.log()
        assert host.running()
    with capsys.disabled():
        print('\n%s-%s: p15 (Debian 11) -> p18 -> p15 (OpenSSL 3) authenticated after %d s'
              % (kind, form, round(time.time() - started)))
