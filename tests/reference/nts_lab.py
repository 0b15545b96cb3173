# SPDX-License-Identifier: GPL-3.0-or-later
"""NTS in the lab: a private CA, and chronyd 4.0 (Debian 11) or 4.3 (Debian 12) or ntpsec 1.2.2 (Debian 12) hosts
that resolve the servers' names through an /etc/hosts of their own (a copy of their rootfs's /etc, bind-mounted
over it in the daemon's private mount namespace; the shared rootfs is never changed). Shared by test_nts_live.py,
test_ntpsec_live.py and benchmarks/nts.py."""

import datetime
import os
import shutil
import subprocess
import time

import ntplab

BOOKWORM_ROOTFS = os.environ.get('AUTOKEY_LAB_BOOKWORM_CHRONY_ROOTFS', '/var/cache/ntp-autokey/bookworm-chrony')
NTPSEC_ROOTFS = os.environ.get('AUTOKEY_LAB_NTPSEC_ROOTFS', '/var/cache/ntp-autokey/bookworm-ntpsec')
NTPSEC = 'ntpsec'  # the ntplab build of NTPSEC_ROOTFS
ROOTFS = {'4.0': ntplab.CHRONY_ROOTFS, '4.3': BOOKWORM_ROOTFS}
CHRONYC = {'authdata': ('-c', 'authdata'), 'sources': ('-c', 'sources'), 'names': ('-c', '-N', 'sources'),
           'ntpdata': ('-c', 'ntpdata'), 'tracking': ('-c', 'tracking')}


def private_ca(folder, names):
    """ca.pem, and <name>.pem and <name>.key for each server name, its only subjectAltName."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def subject(common_name):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    now = datetime.datetime.now(datetime.timezone.utc)
    valid = dict(not_valid_before=now - datetime.timedelta(hours=1), not_valid_after=now + datetime.timedelta(days=1))
    pem = serialization.Encoding.PEM
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = x509.CertificateBuilder(subject_name=subject('autokey test CA'), issuer_name=subject('autokey test CA'),
                                 public_key=ca_key.public_key(), serial_number=x509.random_serial_number(), **valid) \
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True) \
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True) \
        .sign(ca_key, hashes.SHA256())
    with open(os.path.join(folder, 'ca.pem'), 'wb') as handle:
        handle.write(ca.public_bytes(pem))
    for name in names:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = x509.CertificateBuilder(subject_name=subject(name), issuer_name=ca.subject, public_key=key.public_key(),
                                       serial_number=x509.random_serial_number(), **valid) \
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False) \
            .sign(ca_key, hashes.SHA256())
        with open(os.path.join(folder, name + '.pem'), 'wb') as handle:
            handle.write(cert.public_bytes(pem))
        with open(os.path.join(folder, name + '.key'), 'wb') as handle:
            handle.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def spawn_with_etc(host, bind_proc=False):
    """Start `host`'s daemon in its namespace, chrooted without CAP_SYS_TIME, its rootfs's /etc replaced by host.etc
    in a private mount namespace (and /proc bound there, as ntplab binds it for every ntpd, with `bind_proc`)."""
    host.started = time.time()
    binds = 'mount --bind "$0" "$1/etc" && ' + ('mount --bind /proc "$1/proc" && ' if bind_proc else '')
    with open(host.fs(host.root + '/daemon.out'), 'w') as out:
        host.proc = subprocess.Popen(
            ['ip', 'netns', 'exec', host.ns, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c',
             binds + 'exec capsh --drop=cap_sys_time --chroot="$1" -- -c "exec $2"',
             host.etc, host.rootfs, host.command()], stdout=out, stderr=subprocess.STDOUT)


class NtsHost(ntplab.ChronyHost):
    """A lab chronyd whose rootfs's /etc is replaced, for this daemon only, by `etc` (a copy with an /etc/hosts)."""

    etc = None
    started = None

    def spawn(self):
        spawn_with_etc(self)

    def outputs(self):
        return dict((what, self.chronyc(*args)) for what, args in CHRONYC.items())


class NtpsecHost(ntplab.Host):
    """A lab ntpsec whose rootfs's /etc is replaced, for this daemon only, by `etc` (a copy with an /etc/hosts), with
    /proc bound as ntplab binds it for every ntpd."""

    etc = None
    started = None

    def spawn(self):
        spawn_with_etc(self, bind_proc=True)

    def write_conf(self, lines):
        """ntp.conf of `lines` after the lab's files; ROOT in a line is this host's folder."""
        conf = ['driftfile %s/drift' % self.root, 'logfile %s/ntpd.log' % self.root, 'statsdir %s/stats/' % self.root,
                'restrict default kod nomodify nopeer noquery limited', 'restrict 127.0.0.1']
        with open(self.fs(self.root + '/ntp.conf'), 'w') as handle:
            handle.write('\n'.join(conf + [line.replace('ROOT', self.root) for line in lines]) + '\n')


def ntpsec_available():
    """'' when the ntpsec rootfs is there, else why not."""
    if not os.path.exists(os.path.join(NTPSEC_ROOTFS, 'usr/sbin/ntpd')):
        return 'ntpsec lab rootfs missing (%s: lab/rootfs.sh DIR ntpsec bookworm)' % NTPSEC_ROOTFS
    return ''


def ntpsec_host(lab, name, etc):
    """A new ntpsec host of the lab (not started), resolving names through `etc`."""
    if NTPSEC not in ntplab.BUILDS:
        ntplab.add_build(NTPSEC, NTPSEC_ROOTFS)
    host = lab.host(name, build_name=NTPSEC)
    host.__class__ = NtpsecHost  # same lab namespace, another spawn
    host.etc = etc
    return host


def nts_host(lab, name, version, etcs):
    host = lab.host(name, 'chronyd')
    host.__class__ = NtsHost  # same lab namespace, another rootfs and spawn
    host.rootfs, host.etc = ROOTFS[version], etcs[version]
    for sub in ('keys', 'stats'):
        os.makedirs(host.fs('%s/%s' % (host.root, sub)), exist_ok=True)
    return host


def etc_with_hosts(folder, rootfs, entries):
    etc = os.path.join(folder, os.path.basename(rootfs) + '-etc')
    shutil.copytree(os.path.join(rootfs, 'etc'), etc, symlinks=True)
    with open(os.path.join(etc, 'hosts'), 'w') as handle:
        handle.write('127.0.0.1 localhost\n' + ''.join('%s %s\n' % entry for entry in entries))
    return etc


def reap_bookworm():
    """Files of killed labs in the bookworm rootfs (chrony 4.3, ntpsec), which ntplab.reap_stale does not know."""
    for rootfs in (BOOKWORM_ROOTFS, NTPSEC_ROOTFS):
        labs = ntplab.in_rootfs('/srv/autokey-lab', rootfs)
        for lab_id in (os.listdir(labs) if os.path.isdir(labs) else []):
            if not ntplab._owner_alive(lab_id):  # pylint: disable=protected-access
                shutil.rmtree(os.path.join(labs, lab_id), ignore_errors=True)
