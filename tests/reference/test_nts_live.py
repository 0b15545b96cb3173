# SPDX-License-Identifier: GPL-3.0-or-later
"""status_info's NTS verdicts on real chronyd 4.0 (Debian 11) and 4.3 (Debian 12) in network namespaces.

A private CA signs one certificate per NTS server (subjectAltName = its name). Each chronyd resolves the names
through an /etc/hosts of its own: a copy of its rootfs's /etc, bind-mounted over it in the daemon's private
mount namespace (the shared rootfs is never changed). Every chronyd runs with -x and without CAP_SYS_TIME
(ntplab checks it), in a namespace of the lab, so nothing touches this machine's clock.

  ntsserver   chronyd 4.3 NTS server    <- good40 (4.0)    trusts the CA            -> nts
                                        <- badname (4.3)   calls it othername         -> failing (TLS: wrong name)
                                        <- noca (4.0)      no ntstrustedcerts         -> failing (TLS: unknown issuer)
                                        <- refused (4.3)   NTS-KE on TCP 4461: none   -> failing (2 attempts)
  ntsserver40 chronyd 4.0 NTS server    <- good43 (4.3)    trusts the CA            -> nts

Real `chronyc -c authdata` lines seen (address, Mode, KeyID, Type, KLen, Last, Atmp, NAK, Cook, CLen), the same on
4.0 and 4.3:
  good:                  192.0.2.10,NTS,1,15,256,7,0,0,8,100   (Atmp back to 0 after the first authenticated answer)
  badname, noca:         192.0.2.10,NTS,0,0,0,4294967295,1,0,0,0   (Last '-'; the next TLS attempt only after 1024 s)
  refused (connection):  192.0.2.10,NTS,0,0,0,4294967295,2,0,0,0   (the second attempt 16 s after the first)
`chronyc -c ntpdata` fields 26-27 (Interleaved, Authenticated): good `No,Yes` on both; a failing 4.3 client keeps
a row `192.0.2.10,...,No,No,...` with zero counters, a failing 4.0 client prints its remote address as [UNSPEC].
chronyd's log names the TLS error: 'The name in the certificate does not match the expected.' (badname),
'The certificate issuer is unknown.' (noca).

AUTOKEY_CAPTURE_CHRONYC=<directory> writes each client's chronyc outputs there (tests/unit/fixtures/chronyc).
"""

import os
import shutil
import tempfile
import time

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.chrony import NTS_KE_SECONDS, assess

import ntplab
from nts_lab import BOOKWORM_ROOTFS, ROOTFS, etc_with_hosts, nts_host, private_ca, reap_bookworm

pytestmark = pytest.mark.skipif(
    not (ntplab.chrony_available() and os.path.exists(os.path.join(BOOKWORM_ROOTFS, 'usr/sbin/chronyd')))
    and not os.environ.get('AUTOKEY_REQUIRE_LAB'),
    reason='chrony 4.0 and 4.3 lab rootfs missing (%s, %s)' % (ntplab.CHRONY_ROOTFS, BOOKWORM_ROOTFS))

# client: (chrony version, server line name, server, trusts the CA, extra server options)
CLIENTS = {
    'good40': ('4.0', 'ntsserver', 'srv43', True, ''),
    'good43': ('4.3', 'ntsserver40', 'srv40', True, ''),
    'badname': ('4.3', 'othername', 'srv43', True, ''),
    'noca': ('4.0', 'ntsserver', 'srv43', False, ''),
    'refused': ('4.3', 'ntsserver', 'srv43', True, ' ntsport 4461'),
}


@pytest.fixture(scope='module')
def fleet():
    reap_bookworm()
    lab, folder = ntplab.Lab(), tempfile.mkdtemp(prefix='nts-ca-')
    try:
        servers = {'srv43': ('4.3', 'ntsserver'), 'srv40': ('4.0', 'ntsserver40')}
        addresses = dict((name, ntplab.SUBNET % (10 + index)) for index, name in enumerate(servers))
        entries = [(addresses['srv43'], 'ntsserver othername'), (addresses['srv40'], 'ntsserver40')]
        etcs = dict((version, etc_with_hosts(folder, rootfs, entries)) for version, rootfs in ROOTFS.items())
        private_ca(folder, [name for dummy, name in servers.values()])
        hosts = {}
        for host_name, (version, name) in servers.items():
            host = hosts[host_name] = nts_host(lab, host_name, version, etcs)
            assert host.address == addresses[host_name]
            for suffix in ('.pem', '.key'):
                shutil.copy(os.path.join(folder, name + suffix), host.fs('%s/keys/%s%s' % (host.root, name, suffix)))
            host.write_conf(['ntsserverkey %s/keys/%s.key' % (host.root, name),
                             'ntsservercert %s/keys/%s.pem' % (host.root, name), 'local stratum 1',
                             'allow 192.0.2.0/24'])
            host.start()
        for host_name, (version, name, dummy, trusts, options) in CLIENTS.items():
            host = hosts[host_name] = nts_host(lab, host_name, version, etcs)
            lines = ['server %s nts iburst minpoll 0 maxpoll 0%s' % (name, options)]
            if trusts:
                shutil.copy(os.path.join(folder, 'ca.pem'), host.fs(host.root + '/keys/ca.pem'))
                lines.insert(0, 'ntstrustedcerts %s/keys/ca.pem' % host.root)
            host.write_conf(lines)
            host.start()
        for host in hosts.values():
            assert host.running(), '%s exited:\n%s' % (host.name, host.log())
        yield hosts
    finally:
        lab.close()
        shutil.rmtree(ntplab.in_rootfs('/srv/autokey-lab/%s' % lab.id, BOOKWORM_ROOTFS), ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


def judged(host, running_for='measured'):
    """The chronyc outputs of `host` and its one association as status_info judges them."""
    out = host.outputs()
    result = assess(out['sources'], out['authdata'], out['ntpdata'], out['tracking'], names_text=out['names'],
                    running_for=time.time() - host.started if running_for == 'measured' else running_for)
    return out, result, (result['associations'] or [{}])[0]


def wait_for_state(host, state, timeout, synchronised=False):
    """Polls until the association is in `state` (and, with `synchronised`, selected); returns judged()."""
    def reached():
        out, result, assoc = judged(host)
        if assoc.get('state') == state and (result['synchronised'] or not synchronised):
            return out, result, assoc
        return None
    found, waited = ntplab.wait_for(reached, timeout, 0.5)
    if not found:
        out, result, assoc = judged(host)
        raise AssertionError('%s not %s after %.0f s: %s\n%s\n%s' % (host.name, state, waited, assoc, out, host.log()[-1500:]))
    capture = os.environ.get('AUTOKEY_CAPTURE_CHRONYC')
    if capture:
        for what, text in found[0].items():
            with open(os.path.join(capture, 'nts-%s-%s.csv' % (host.name, what)), 'w') as handle:
                handle.write(text)
    return found


@pytest.mark.parametrize('client', ['good40', 'good43'])
def test_nts_client_is_authenticated(fleet, client):
    dummy, result, assoc = wait_for_state(fleet[client], 'nts', 30, synchronised=True)
    name = CLIENTS[client][1]
    address = fleet[CLIENTS[client][2]].address
    assert (assoc['name'], assoc['address'], assoc['method']) == (name, address, 'nts')
    assert assoc['verdict'] == 'NTS with %s (%s) ok (AEAD 15 AES-SIV-CMAC-256, key 256 bits, %d cookies)' % (
        name, address, assoc['cookies'])
    assert assoc['key_id'] >= 1 and assoc['key_length'] == 256 and assoc['cookies'] >= 1
    assert result['synchronised_authenticated'] and result['converged'] and result['problems'] == []


@pytest.mark.parametrize('client, logged', [
    ('badname', 'The name in the certificate does not match the expected'),
    ('noca', 'The certificate issuer is unknown'),
])
def test_certificate_refused(fleet, client, logged):
    host = fleet[client]
    name = CLIENTS[client][1]
    label = '%s (%s)' % (name, fleet['srv43'].address)
    found, dummy = ntplab.wait_for(lambda: logged in host.log(), 10, 0.2)
    assert found, host.log()
    # one attempt that failed, or one under way: only the time chronyd has run tells them apart
    dummy, result, assoc = judged(host, running_for=None)
    assert assoc['state'] == 'pending' and assoc['ke_attempts'] == 1, assoc
    assert not result['converged']
    dummy, result, assoc = wait_for_state(host, 'failing', NTS_KE_SECONDS + 15)
    assert assoc['verdict'] == 'failing: NTS with %s: NTS key establishment failed (1 attempt), no cookies' % label
    for cause in ('ntstrustedcerts', 'names %s (subjectAltName)' % name, 'expired', 'TCP 4460', 'ntsservercert'):
        assert cause in assoc['hint']
    assert result['converged'] and not result['synchronised_authenticated']
    assert result['problems'][0].startswith('failing: NTS with %s' % label)
    assert 'not synchronised to any source' in result['problems']


def test_no_nts_ke_service_fails_after_two_attempts(fleet):
    """Connection refused: chronyd tries again after 16 s, so two attempts fail whatever the time it has run."""
    dummy, result, assoc = wait_for_state(fleet['refused'], 'failing', 40)
    assert assoc['ke_attempts'] >= 2
    dummy, dummy, unknown_age = judged(fleet['refused'], running_for=None)
    assert unknown_age['state'] == 'failing'


def test_status_info_module_runs_chronyc(fleet):
    """The module itself, through a chronyc that talks to the lab host's chronyd."""
    from ansible_collections.ntp.autokey.plugins.modules import status_info
    from helpers import run_module

    wait_for_state(fleet['good43'], 'nts', 30, synchronised=True)
    wait_for_state(fleet['refused'], 'failing', 40)
    for client, state in (('good43', 'nts'), ('refused', 'failing')):
        host = fleet[client]
        wrapper = host.fs(host.root + '/chronyc')
        with open(wrapper, 'w') as handle:
            handle.write('#!/bin/sh\nexec ip netns exec %s chroot %s chronyc -h %s "$@"\n' % (host.ns, host.rootfs, host.socket))
        os.chmod(wrapper, 0o700)
        result, dummy = run_module(status_info, dict(daemon='chrony', chronyc=wrapper))
        assert not result.get('failed'), result
        [assoc] = result['status']['associations']
        assert (assoc['state'], assoc['name']) == (state, CLIENTS[client][1]), assoc
        assert '%s (%s)' % (CLIENTS[client][1], fleet[CLIENTS[client][2]].address) in assoc['verdict']
