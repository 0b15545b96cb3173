# SPDX-License-Identifier: GPL-3.0-or-later
"""An Autokey group server upgraded from Debian 11 to Debian 12 under its running fleet, on real daemons.

th (Debian 11 ntpd, trusted host) -> gs -> cl (Debian 11 ntpd, client), IFF. gs runs in a copy of the lab's Debian 11
root (lab/rootfs.sh upgrade: bookworm's packages downloaded, nothing installed), ntpd 4.2.8p15 on the files the
collection writes: ntp.conf rendered from the ntpd role's template (mode 0600), keys in /etc/ntp. Once cl is
IFF-verified, gs's ntpd stops, `apt-get full-upgrade` runs in that root, offline, with services held
(policy-rc.d), and the ntpd the upgrade left is started as ntpsec's service starts it (-c /etc/ntpsec/ntp.conf).

Used by test_upgrade_to_ntpsec.py and by capture_ntpq.py (upgraded), which records the ntpq output of both hosts
for the unit tests of the judge.
"""

import os
import shutil
import subprocess
import time

import fleet_lab
import ntplab
from material import group_master, host_keys, install
from ntp_conf_render import render

GS_PASSWORD = 'lab-gs-pw'
NTPSEC_CONFIG = '/etc/ntpsec/ntp.conf'


def available():
    """'' when the upgrade root is there, else why not."""
    if not os.path.exists(os.path.join(ntplab.UPGRADE_ROOTFS, '.ntp-autokey-rootfs')):
        return 'no upgrade root %s (lab/setup.sh makes it: lab/rootfs.sh DIR upgrade bookworm)' % ntplab.UPGRADE_ROOTFS
    return ''


def copy_root(workdir):
    """A private copy of the upgrade root, which the test upgrades."""
    root = os.path.join(workdir, 'gs-root')
    os.makedirs(root)
    subprocess.run(['sh', '-c', 'tar -C "$0" --exclude=./.ntp-autokey-rootfs -cf - . | tar -C "$1" -xf -',
                    ntplab.UPGRADE_ROOTFS, root], check=True)
    return root


def _answers(host):
    return 'associd=0' in host.ntpq('rv 0')


def run(lab, root, log):
    """Runs the fleet, verifies cl, upgrades gs. Returns {hosts, root, before, after, upgrade_seconds}: snapshots
    (fleet_lab.snapshot) of gs and cl with cl verified, and right after ntpsec on gs answers ntpq."""
    th = lab.host('th')
    master = group_master(th.host_keysdir, 'iff', 'thpw')
    fleet_lab.trusted_host(th)
    export = master.exports('transport')
    params = export['params_export']

    ntplab.add_build('upgraded-gs', root, '/usr')
    gs = lab.host('gs', build_name='upgraded-gs')
    gs.config = '/etc/ntp.conf'
    keysdir = gs.fs('/etc/ntp')
    os.makedirs(keysdir, exist_ok=True)
    host_keys(keysdir, 'gs', GS_PASSWORD, group='lab')
    install(keysdir, 'iff', export['server_key_export'], 'transport', GS_PASSWORD, server_key=True, params=False)
    install(keysdir, 'iff', params)
    conf = render(ntpd_crypto=dict(host='gs', ident='lab', password=GS_PASSWORD),
                  ntpd_servers=[dict(address=th.address, autokey=True, ident='lab', minpoll=3, maxpoll=3)])
    with open(gs.fs('/etc/ntp.conf'), 'w') as handle:
        handle.write(conf)
    os.chmod(gs.fs('/etc/ntp.conf'), 0o600)

    cl = lab.host('cl')
    fleet_lab.member(cl, 'cl', gs, params)
    hosts = {'th': th, 'gs': gs, 'cl': cl}
    for host in hosts.values():
        host.start()
    if not fleet_lab.wait_logged('cl IFF-verified through gs on ntpd 4.2.8p15', lambda: fleet_lab.verified(cl), 240, log):
        raise AssertionError('cl never verified gs before the upgrade:\n%s' % cl.ntpq('as', 'rv &1'))
    before = dict((name, fleet_lab.snapshot(host)) for name, host in hosts.items())

    gs.stop()
    started = time.time()
    upgrade = subprocess.run(
        ['chroot', root, '/usr/bin/env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'full-upgrade', '-y', '-qq',
         '--no-download', '-o', 'Dpkg::Options::=--force-confold'],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, check=False)
    upgrade_seconds = time.time() - started
    log.append('apt-get full-upgrade to Debian 12 in gs\'s root: exit %d in %.0f s' % (upgrade.returncode,
                                                                                       upgrade_seconds))
    if upgrade.returncode:
        raise AssertionError('the upgrade failed:\n%s' % upgrade.stdout[-3000:])
    gs.build = ntplab.add_build('upgraded-gs', root, '/usr')  # the programs the upgrade left, read anew
    gs.config = NTPSEC_CONFIG
    gs.start()
    fleet_lab.wait_logged('gs answers ntpq after the upgrade', lambda: _answers(gs), 30, log)
    after = dict((name, fleet_lab.snapshot(hosts[name])) for name in ('gs', 'cl'))
    return dict(hosts=hosts, root=root, before=before, after=after, upgrade_seconds=upgrade_seconds)


def remove_root(root):
    shutil.rmtree(root, ignore_errors=True)
