# SPDX-License-Identifier: GPL-3.0-or-later
"""status_info's verdicts on real ntpsec 1.2.2 (Debian 12) deployed on purpose, in network namespaces.

  cs  chronyd 4.3 NTS server   <- ns  ntpsec, NTS client of cs and NTS server   -> nts
                                      <- nc  ntpsec, NTS client, trusts the CA    -> nts
                                      <- nb  ntpsec, NTS client, another CA       -> failing (NTS-KE)

A private CA signs the certificates of cs and ns (subjectAltName = the name); every daemon resolves the names
through an /etc/hosts of its own (nts_lab). ntpsec runs from AUTOKEY_LAB_NTPSEC_ROOTFS without CAP_SYS_TIME (ntplab
checks it), so nothing touches this machine's clock. minpoll 3: nc is at sys.peer within about 20 s.

ntpsec shows a failed NTS key establishment as srcadr 0.0.0.0, ntscookies=-1, reach 000 and hpoll 12 (its next
attempt 68 minutes later); its log names the TLS error ("certificate invalid: 7=>certificate signature failure").
"""

import os
import shutil
import tempfile

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import status

import ntplab
from nts_lab import (BOOKWORM_ROOTFS, NTPSEC_ROOTFS, etc_with_hosts, nts_host, ntpsec_available, ntpsec_host,
                     private_ca, reap_bookworm)

pytestmark = pytest.mark.skipif(
    bool(ntpsec_available() or not os.path.exists(os.path.join(BOOKWORM_ROOTFS, 'usr/sbin/chronyd')))
    and not os.environ.get('AUTOKEY_REQUIRE_LAB'),
    reason=ntpsec_available() or 'chrony 4.3 lab rootfs missing (%s)' % BOOKWORM_ROOTFS)

NAMES = ['cs', 'ns', 'nc', 'nb']


@pytest.fixture(scope='module')
def chain():
    reap_bookworm()
    lab, folder = ntplab.Lab(), tempfile.mkdtemp(prefix='ntpsec-ca-')
    other = tempfile.mkdtemp(prefix='ntpsec-other-ca-')
    try:
        addresses = dict((name, ntplab.SUBNET % (10 + index)) for index, name in enumerate(NAMES))
        entries = [(addresses[name], name) for name in NAMES]
        chrony_etc = etc_with_hosts(folder, BOOKWORM_ROOTFS, entries)
        ntpsec_etc = etc_with_hosts(folder, NTPSEC_ROOTFS, entries)
        private_ca(folder, ['cs', 'ns'])
        private_ca(other, [])
        cs = nts_host(lab, 'cs', '4.3', {'4.3': chrony_etc})
        for suffix in ('.pem', '.key'):
            shutil.copy(os.path.join(folder, 'cs' + suffix), cs.fs('%s/keys/cs%s' % (cs.root, suffix)))
        cs.write_conf(['ntsserverkey %s/keys/cs.key' % cs.root, 'ntsservercert %s/keys/cs.pem' % cs.root,
                       'local stratum 1', 'allow 192.0.2.0/24'])
        hosts = {'cs': cs}
        for name, ca in (('ns', folder), ('nc', folder), ('nb', other)):
            host = hosts[name] = ntpsec_host(lab, name, ntpsec_etc)
            assert host.address == addresses[name]
            shutil.copy(os.path.join(ca, 'ca.pem'), host.fs(host.root + '/keys/ca.pem'))
            upstream = 'cs' if name == 'ns' else 'ns'
            lines = ['server %s nts ca ROOT/keys/ca.pem minpoll 3 maxpoll 3 iburst' % upstream]
            if name == 'ns':
                for suffix in ('.pem', '.key'):
                    shutil.copy(os.path.join(folder, 'ns' + suffix), host.fs('%s/keys/ns%s' % (host.root, suffix)))
                lines += ['nts enable', 'nts key ROOT/keys/ns.key', 'nts cert ROOT/keys/ns.pem', 'nts cookie ROOT/nts-keys']
            host.write_conf(lines)
        for name in NAMES:
            hosts[name].start()
        for host in hosts.values():
            assert host.running(), '%s exited:\n%s' % (host.name, host.log())
        yield hosts
    finally:
        lab.close()
        for rootfs in (BOOKWORM_ROOTFS, NTPSEC_ROOTFS):
            shutil.rmtree(ntplab.in_rootfs('/srv/autokey-lab/%s' % lab.id, rootfs), ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(other, ignore_errors=True)


def judged(host):
    """status_info's judgement of a lab ntpsec, from its ntpq output, deployed on purpose."""
    system = host.ntpq('rv 0', 'as')
    assids = [row['assid'] for row in status.ntpq.read_associations(system)]
    peers = host.ntpq(*['rv %d' % assid for assid in assids]) if assids else ''
    return status.assess(system, peers, daemon='ntpsec')


def wait_for_state(host, state, timeout, synchronised=False):
    def reached():
        result = judged(host)
        assocs = result['associations']
        if assocs and assocs[0]['state'] == state and (result['synchronised'] or not synchronised):
            return result
        return None
    found, waited = ntplab.wait_for(reached, timeout, 0.5)
    if not found:
        raise AssertionError('%s not %s after %.0f s:\n%s\n%s' % (
            host.name, state, waited, host.ntpq('as', 'rv &1'), host.log()[-1500:]))
    return found


def test_nts_chain_is_authenticated(chain):
    result = wait_for_state(chain['nc'], 'nts', 45, synchronised=True)
    [assoc] = result['associations']
    assert (assoc['method'], assoc['name'], assoc['address']) == ('nts', 'ns', chain['ns'].address)
    assert assoc['verdict'] == 'NTS with ns (%s) ok (%d cookies)' % (chain['ns'].address, assoc['cookies'])
    assert assoc['cookies'] >= 1 and assoc['synchronised']
    assert result['synchronised_authenticated'] and result['converged'] and result['problems'] == []
    assert result['daemon_identity'] == {'kind': 'ntpsec', 'name': 'ntpsec 1.2.2', 'autokey': False}
    server = judged(chain['ns'])  # ntpsec's NTS client of chronyd, and the NTS server of nc
    assert [a['verdict'] for a in server['associations']] == [
        'NTS with cs (%s) ok (%d cookies)' % (chain['cs'].address, server['associations'][0]['cookies'])]
    assert server['problems'] == []


def test_untrusted_ca_fails_nts_key_establishment(chain):
    host = chain['nb']
    result = wait_for_state(host, 'failing', 15)
    [assoc] = result['associations']
    assert assoc['verdict'] == ('failing: NTS with ns: NTS key establishment failed, no cookies (ntpsec retries after '
                                '68 minutes)')
    assert 'signed by a CA this host trusts' in assoc['hint'] and 'names ns (subjectAltName)' in assoc['hint']
    assert 'certificate invalid' in host.log()  # the cause, which only the log shows
    assert result['converged'] and not result['synchronised_authenticated']
    assert result['problems'] == ['%s (%s)' % (assoc['verdict'], assoc['hint']),
                                  'not synchronised to an authenticated source']


def test_status_info_module_runs_ntpq(chain, tmp_path):
    """The module itself, through an ntpq that talks to the lab host's ntpsec."""
    from ansible_collections.ntp.autokey.plugins.modules import status_info
    from helpers import run_module

    wait_for_state(chain['nc'], 'nts', 45, synchronised=True)
    host = chain['nc']
    wrapper = tmp_path / 'ntpq'
    wrapper.write_text('#!/bin/sh\nexec ip netns exec %s chroot %s %s "$@" 127.0.0.1\n'
                       % (host.ns, host.rootfs, host.build.path('ntpq')))
    wrapper.chmod(0o700)
    result, dummy = run_module(status_info, dict(daemon='ntpsec', ntpq=str(wrapper), config=str(tmp_path / 'ntp.conf'),
                                                 keys_file=str(tmp_path / 'ntp.keys'), pidfile=str(tmp_path / 'ntpd.pid'),
                                                 service='ntpsec-lab-absent'))
    assert not result.get('failed'), result
    [assoc] = result['status']['associations']
    assert (assoc['state'], assoc['name']) == ('nts', 'ns'), assoc
    assert result['status']['cryptostats'] == 'not read: ntpsec has no Autokey'
    assert result['status']['problems'] == []
