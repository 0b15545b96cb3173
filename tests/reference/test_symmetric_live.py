# SPDX-License-Identifier: GPL-3.0-or-later
"""Key files written by symmetric_keys, loaded and used by ntpd (AUTOKEY_NTPD_BUILD: 4.2.8p15 by default) and
chronyd 4.0 in network namespaces. Where 4.2.8p18 behaves otherwise (SHA256 and SHA512 with chronyd, the words of
its key-file errors), the test asserts what each build does.

For each key type both daemons verify, one chain: ntpd server (stratum 1) -> chronyd -> ntpd client, every
link authenticated by that key, both directions of the ntpd/chrony bridge. Then what the roles rely on for
rollover: ntpd re-reads its key file and trusts a new key at runtime through ntpq with the controlkey, and
chronyd through `chronyc rekey`, with no restart. And the failures the docs describe, as the daemons log them.
"""

import os
import re

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.symmetric import check_key, ntpq_password
from ansible_collections.ntp.autokey.plugins.modules import symmetric_keys

import ntplab
from helpers import run_module

# CI must never skip the referee (conftest.py); elsewhere a missing chrony rootfs skips this file
pytestmark = pytest.mark.skipif(not ntplab.chrony_available() and not os.environ.get('AUTOKEY_REQUIRE_LAB'),
                                reason='chrony lab rootfs missing: run lab/setup.sh (needs %s)' % ntplab.CHRONY_ROOTFS)

SECRETS = {
    'AES128CMAC': '8c0f1e6a4b2d3c5e7f9a1b2c3d4e5f60',
    'SHA1': '0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778',
    'SHA256': '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',
    'SHA512': 'ffeeddccbbaa99887766554433221100ffeeddccbbaa9988',
    'MD5': '0123456789abcdef0123456789abcdef',
}
# ntpq sends its `passwd` text as the key's bytes (it never decodes hex): a controlkey's bytes are printable
CONTROL = dict(id=1, type='AES128CMAC', secret=b'Qx7tLp2ZvR9mK4wE'.hex())
LOCAL_CLOCK = ['server 127.127.1.0 minpoll 3 maxpoll 3 prefer', 'fudge 127.127.1.0 stratum 0']


def write_keys(host, daemon, keys):
    """The key file of `host`, written by the module; returns its path inside the rootfs."""
    path = host.root + ('/ntp.keys' if daemon == 'ntpd' else '/chrony.keys')
    result, raw = run_module(symmetric_keys, dict(daemon=daemon, path=host.fs(path), keys=keys, group='root'))
    assert not result.get('failed'), result.get('msg')
    for key in keys:
        assert key['secret'] not in raw
    return path


def ntpd_conf(host, keys, trusted, extra=()):
    path = write_keys(host, 'ntpd', keys)
    return ['keys %s' % path, 'trustedkey %s' % ' '.join(str(k) for k in trusted), 'controlkey 1',
            'restrict 192.0.2.0 mask 255.255.255.0 nomodify notrap'] + list(extra)


def ntpq_auth(host, *commands):
    """ntpq with the controlkey: what the roles use to reload keys without a restart."""
    return host.ntpq('keyid %d' % CONTROL['id'], 'keytype %s' % CONTROL['type'],
                     'passwd %s' % ntpq_password(check_key(CONTROL, 'ntpd')), *commands)


def auth_ok(host):
    """ntpd: the first association's auth column ('ok', 'bad', 'none') and its status word."""
    out = host.ntpq('as')
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 7 and parts[0] == '1':
            return parts[5], parts[2]
    return None, None


def chrony_authenticated(host):
    return 'Authenticated   : Yes' in host.chronyc('ntpdata')


def chrony_auth_row(host):
    for line in host.chronyc('-N', 'authdata').splitlines():
        if line.startswith('192.0.2.'):
            return line.split()
    return []


CASES = [('AES128CMAC', 'hex'), ('SHA1', 'hex'), ('SHA256', 'hex'), ('SHA512', 'hex'), ('MD5', 'hex'),
         ('MD5', 'ascii')]


@pytest.mark.parametrize('kind, form', CASES, ids=['%s-%s' % c for c in CASES])
def test_chain_authenticates_both_ways(lab, kind, form):
    key = dict(id=42, type=kind, secret='Ab!cd$ef-gh:ij~kl<m' if form == 'ascii' else SECRETS[kind], format=form)
    # chrony sends NTPv4 to ntpd when a MAC is longer than NTPv3 allows (the interop facts)
    version = ' version 4' if kind in ('SHA256', 'SHA512') else ''
    server, middle, client = lab.host('srv'), lab.host('chr', 'chronyd'), lab.host('cl')
    server.write_conf(ntpd_conf(server, [CONTROL, key], [1, 42], LOCAL_CLOCK))
    middle_keys = write_keys(middle, 'chrony', [key])
    middle.write_conf(['keyfile %s' % middle_keys, 'server %s key 42 minpoll 3 maxpoll 3 iburst%s'
                       % (server.address, version), 'local stratum 3', 'allow 192.0.2.0/24'])
    client.write_conf(ntpd_conf(client, [CONTROL, key], [1, 42],
                                ['server %s key 42 minpoll 3 maxpoll 3 iburst' % middle.address]))
    for host in (server, middle, client):
        host.start()

    def both():
        return chrony_authenticated(middle) and auth_ok(client)[0] == 'ok'
    if kind in ('SHA256', 'SHA512') and not is_p15(server):
        # ntpd 4.2.8p18 and chronyd 4.0 never authenticate each other with a digest longer than 20 bytes, either
        # way: chronyd accepts no reply of the ntpd server, the ntpd client marks chronyd's replies bad
        done, waited = ntplab.wait_for(lambda: chrony_authenticated(middle) or auth_ok(client)[0] == 'ok', 45, 1)
        assert not done, 'authenticated after %d s: %s' % (waited, middle.chronyc('-N', 'authdata'))
        assert auth_ok(client)[0] == 'bad' and chrony_auth_row(middle)[5] == '-'
        return
    done, waited = ntplab.wait_for(both, 90, 1)
    assert done, 'not authenticated after %d s:\nchronyd:\n%s\n%s\nntpd client:\n%s\n%s' % (
        waited, middle.chronyc('-N', 'authdata'), middle.log()[-2000:], client.ntpq('as', 'rv &1'), client.log()[-2000:])
    row = chrony_auth_row(middle)
    assert row[1:3] == ['SK', '42'], row
    status = int(auth_ok(client)[1], 16) >> 8  # the peer status byte of the status word
    assert status & 0x20 and status & 0x40  # auth ok, auth enabled
    for host in (server, client):
        assert 'authreadkeys' not in host.log(), host.log()
        assert host.running()
    assert middle.running()


def test_ntpd_reloads_and_trusts_a_new_key_at_runtime(lab):
    """Rollover's first step on ntpd: the new key added to the file and trusted, through ntpq :config with the
    controlkey; the server never restarts. chronyd takes a new key with chronyc rekey."""
    old = dict(id=10, type='AES128CMAC', secret=SECRETS['AES128CMAC'])
    new = dict(id=11, type='AES128CMAC', secret='00ff' * 8)
    server, client, chrony = lab.host('srv'), lab.host('cl'), lab.host('chr', 'chronyd')
    server.write_conf(ntpd_conf(server, [CONTROL, old], [1, 10], LOCAL_CLOCK + ['allow 0']))
    client.write_conf(ntpd_conf(client, [CONTROL, old, new], [1, 10, 11],
                                ['server %s key 11 minpoll 3 maxpoll 3 iburst' % server.address]))
    chrony_keys = write_keys(chrony, 'chrony', [old])
    chrony.write_conf(['keyfile %s' % chrony_keys, 'server %s key 11 minpoll 3 maxpoll 3 iburst' % server.address])
    for host in (server, client, chrony):
        host.start()
    pid = server.proc.pid

    # the server has no key 11: the client's packets fail authentication there, so no answer is authentic
    refused, dummy = ntplab.wait_for(lambda: auth_ok(client)[0] in ('bad', 'none'), 20, 1)
    assert refused
    assert auth_ok(client)[0] != 'ok'
    assert chrony.chronyc('-N', 'authdata').count(' SK ') == 1
    assert not chrony_authenticated(chrony)

    # step 1 of a rollover: the new key into the file, re-read and trusted at runtime
    path = write_keys(server, 'ntpd', [CONTROL, old, new])
    out = ntpq_auth(server, ':config keys %s' % path, ':config trustedkey 1 10 11')
    assert 'Config Succeeded' in out, out
    done, waited = ntplab.wait_for(lambda: auth_ok(client)[0] == 'ok', 60, 1)
    assert done, 'client not authenticated %d s after the runtime reload:\n%s\n%s' % (
        waited, client.ntpq('as'), server.log()[-2000:])
    assert server.proc.pid == pid and server.running()

    write_keys(chrony, 'chrony', [old, new])
    assert '200 OK' in chrony.chronyc('rekey')
    done, waited = ntplab.wait_for(lambda: chrony_authenticated(chrony), 60, 1)
    assert done, 'chronyd not authenticated %d s after rekey:\n%s' % (waited, chrony.chronyc('-N', 'authdata'))


def test_controlkey_refuses_a_wrong_key(lab):
    server = lab.host('srv')
    server.write_conf(ntpd_conf(server, [CONTROL], [1]))
    server.start()
    out = server.ntpq('keyid 1', 'keytype AES128CMAC', 'passwd Qx7tLp2ZvR9mK4wF', ':config trustedkey 1')
    assert 'Config Succeeded' not in out
    assert re.search(r'(?i)authentication|permission', out), out
    assert 'Config Succeeded' in ntpq_auth(server, ':config trustedkey 1')


def is_p15(host):
    """ntpd 4.2.8p15 (Debian 11's, or built on OpenSSL 3); 4.2.8p16 and newer read key files otherwise."""
    return host.build.release() == '4.2.8p15'


# line, what 4.2.8p15 logs, what 4.2.8p18 logs
BAD_LINES = [('2 SHA1 0011223344556677889g00112233', 'invalid hex digit for key 2', 'passwd has bad char for key 2'),
             ('70000 MD5 abcdef', 'key 70000 > 65535 reserved for Autokey', None),
             ('2 MD5', 'no key for key 2', None),
             ('x MD5 abc', 'cannot change key x', None)]


@pytest.mark.parametrize('line, logged, logged_p18', BAD_LINES, ids=['hex', 'id', 'no-key', 'not-a-number'])
def test_ntpd_rejects_a_whole_file_for_one_bad_line(lab, line, logged, logged_p18):
    """Why the module never writes a line ntpd cannot read: ntpd then drops every key of the file, the
    controlkey too (docs/symmetric-keys.md, troubleshooting)."""
    server = lab.host('srv')
    path = server.root + '/ntp.keys'
    with open(server.fs(path), 'w') as handle:
        handle.write('1 AES128CMAC %s\n%s\n' % (CONTROL['secret'], line))
    server.write_conf(['keys %s' % path, 'trustedkey 1', 'controlkey 1'])
    server.start()
    rejected, dummy = ntplab.wait_for(lambda: "rejecting file '%s' after 1 error(s)" % path in server.log(), 15, 0.2)
    assert rejected, server.log()
    assert 'authreadkeys: %s' % (logged if is_p15(server) else logged_p18 or logged) in server.log()
    assert 'Config Succeeded' not in ntpq_auth(server, ':config trustedkey 1')


def test_ntpd_skips_a_key_of_unknown_type(lab):
    """A digest name this OpenSSL lacks costs that key alone; the rest of the file stays."""
    server = lab.host('srv')
    path = server.root + '/ntp.keys'
    with open(server.fs(path), 'w') as handle:
        handle.write('1 AES128CMAC %s\n2 NOSUCHDIGEST 00112233445566778899aabbccddeeff\n' % CONTROL['secret'])
    server.write_conf(['keys %s' % path, 'trustedkey 1', 'controlkey 1'])
    server.start()
    message = 'invalid type for key 2' if is_p15(server) else 'unsupported type NOSUCHDIGEST for key 2'
    logged, dummy = ntplab.wait_for(lambda: 'authreadkeys: ' + message in server.log(), 15, 0.2)
    assert logged, server.log()
    assert 'rejecting file' not in server.log()
    assert 'Config Succeeded' in ntpq_auth(server, ':config trustedkey 1')


def test_status_verdicts_on_live_ntpd(lab):
    """status.assess on live ntpq output: a key that works, one this client does not trust (flash TEST5), and
    one whose secret differs from the server's (the server never answers authentically)."""
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.status import assess
    key = dict(id=42, type='AES128CMAC', secret=SECRETS['AES128CMAC'])
    server, good, untrusted, wrong = lab.host('srv'), lab.host('good'), lab.host('untrusted'), lab.host('wrong')
    server.write_conf(ntpd_conf(server, [CONTROL, key], [1, 42], LOCAL_CLOCK))
    line = ['server %s key 42 minpoll 3 maxpoll 3 iburst' % server.address]
    good.write_conf(ntpd_conf(good, [CONTROL, key], [1, 42], line))
    untrusted.write_conf(ntpd_conf(untrusted, [CONTROL, key], [1], line))
    wrong.write_conf(ntpd_conf(wrong, [CONTROL, dict(key, secret='11' * 16)], [1, 42], line))
    for host in (server, good, untrusted, wrong):
        host.start()

    def verdict(host):
        assid = re.search(r'^\s+1\s+(\d+)', host.ntpq('as'), re.M)
        if not assid:
            return None
        result = assess(host.ntpq('rv 0', 'as'), host.ntpq('rv %s' % assid.group(1)), '',
                        key_types={42: 'AES128CMAC'})
        return result['associations'][0]['verdict'] if result['converged'] else None

    expected = {good: 'symmetric key 42 (AES128CMAC) ok',
                untrusted: 'failing: symmetric key 42 (AES128CMAC): the answers fail authentication (flash TEST5)',
                wrong: 'failing: symmetric key 42 (AES128CMAC): no authenticated answer in '}
    for host, text in expected.items():
        found, waited = ntplab.wait_for(lambda h=host: verdict(h), 150, 2)
        assert found and found.startswith(text), '%s after %d s: %s\n%s' % (host.name, waited, found, host.ntpq('as'))


def test_group_server_keyed_to_its_trusted_host_serves_autokey_as_a_trust_root(lab):
    """A group server keyed to the trusted host has no Autokey association to it, so the trusted host never signs
    its certificate: its Autokey clients wait for a trail forever (flags 0x29c5021, flash pkt_autokey). With a Trust
    Root certificate of the group (what the roles give such a group server), they verify IFF against it."""
    from material import POLL, host_keys, member, trusted_host
    key = dict(id=10, type='AES128CMAC', secret=SECRETS['AES128CMAC'])
    th, gs, cl = lab.host('th'), lab.host('gs'), lab.host('cl')
    master = trusted_host(th, 'iff')
    with open(th.fs(th.root + '/ntp.conf')) as handle:
        own = [line for line in handle.read().splitlines() if line.startswith(('crypto', 'server', 'fudge'))]
    th.write_conf(own + ['keys %s' % write_keys(th, 'ntpd', [key]), 'trustedkey 10'])
    export = master.exports('transport')
    member(gs, 'gs', 'gspw', th, 'iff', export['params_export'], export['server_key_export'])
    host_keys(gs.host_keysdir, 'gs', 'gspw', group='lab', trusted=True, regenerate='always')
    gs.write_conf(['crypto host gs ident lab pw gspw', 'keys %s' % write_keys(gs, 'ntpd', [key]), 'trustedkey 10',
                   'server %s key 10 %s' % (th.address, POLL)])
    member(cl, 'cl', 'clpw', gs, 'iff', export['params_export'])
    for host in (th, gs, cl):
        host.start()

    def verified():
        state = cl.association()
        return state['flags'] and state['flags'] & 0x7f20 == 0x7f20 and state['condition'] == 'sys.peer' \
            and re.search(r'iff gs@lab fs %d' % master.material.filestamp, cl.cryptostats())
    done, waited = ntplab.wait_for(verified, 150, 2)
    assert done, 'cl not verified after %d s:\n%s\n%s' % (waited, cl.association()['raw'], cl.cryptostats()[-800:])
    assert auth_ok(gs)[0] == 'ok'
