# SPDX-License-Identifier: GPL-3.0-or-later
"""Deploy a 3-tier IFF secure group on the built-in lab and show its verified trust.

Three hosts (th, gs, cl), each a network namespace running the reference
ntpd 4.2.8p15 without CAP_SYS_TIME. lab/demo.yml writes their key material
through ntp.autokey's modules; this script writes ntp.conf, starts the
daemons and prints what each association verified.
"""

import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ntplab  # noqa: E402  pylint: disable=wrong-import-position

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GROUP = 'lab'
FLAG_NAMES = [(0x0100, 'CERT'), (0x0200, 'VRFY'), (0x0400, 'PROV'), (0x0800, 'COOK'), (0x1000, 'AUTO'),
              (0x2000, 'SIGN'), (0x4000, 'LEAP'), (0x20, 'IFF'), (0x40, 'GQ'), (0x80, 'MV')]


def run_playbook(work, hosts, passwords):
    collections = os.path.join(work, 'collections')
    os.makedirs(os.path.join(collections, 'ansible_collections', 'ntp'))
    os.symlink(ROOT, os.path.join(collections, 'ansible_collections', 'ntp', 'autokey'))
    groups = {'autokey_trusted_hosts': ['th'], 'autokey_servers': ['gs'], 'autokey_clients': ['cl']}
    inventory = {name: {'hosts': dict((h, {'autokey_keysdir': hosts[h].host_keysdir,
                                           'autokey_password': passwords[h]}) for h in members)}
                 for name, members in groups.items()}
    inventory['all'] = {'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                                 'autokey_group': GROUP, 'autokey_transport_password': passwords['transport']}}
    path = os.path.join(work, 'inventory.json')
    with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as handle:
        json.dump(inventory, handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_INVENTORY_ENABLED='yaml',
               ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_NOCOLOR='1')
    playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    subprocess.run([playbook, '-i', path, os.path.join(HERE, 'demo.yml')], env=env, check=True)


def configure(hosts, passwords):
    local = ['server 127.127.1.0 minpoll 3 maxpoll 3 prefer', 'fudge 127.127.1.0 stratum 0']
    hosts['th'].write_conf(['crypto host th ident %s pw %s' % (GROUP, passwords['th'])] + local)
    hosts['gs'].write_conf(['crypto host gs ident %s pw %s' % (GROUP, passwords['gs']),
                            'server %s autokey ident %s iburst minpoll 3 maxpoll 3' % (hosts['th'].address, GROUP)])
    hosts['cl'].write_conf(['crypto host cl pw %s' % passwords['cl'],
                            'server %s autokey ident %s iburst minpoll 3 maxpoll 3' % (hosts['gs'].address, GROUP)])


def describe(flags):
    names = [name for bit, name in FLAG_NAMES if flags & bit]
    return 'NID %d %s' % (flags >> 16, '+'.join(names))


def main():
    if not ntplab.available():
        sys.exit('the lab is not installed: run lab/setup.sh as root first')
    passwords = dict((name, secrets.token_urlsafe(12)) for name in ('th', 'gs', 'cl', 'transport'))
    ntplab.reap_stale()
    lab = ntplab.Lab()
    work = tempfile.mkdtemp(prefix='autokey-demo-')
    try:
        hosts = dict((name, lab.host(name)) for name in ('th', 'gs', 'cl'))
        run_playbook(work, hosts, passwords)
        configure(hosts, passwords)
        for name in ('th', 'gs', 'cl'):
            hosts[name].start()
        print('\nntpd 4.2.8p15 started on th (%s), gs (%s), cl (%s); waiting for verified identities...'
              % (hosts['th'].address, hosts['gs'].address, hosts['cl'].address))
        start = time.time()

        def verified():
            states = [hosts[n].association() for n in ('gs', 'cl')]
            return all((s['flags'] or 0) & 0x7F20 == 0x7F20 and s['condition'] == 'sys.peer' for s in states)

        ok, waited = ntplab.wait_for(verified, 300, 2)
        print('\n%-4s %-14s %-12s %-10s %-48s %s' % ('host', 'upstream', 'flags', 'state', 'decoded', 'identity proof'))
        for name, upstream in (('gs', 'th'), ('cl', 'gs')):
            state = hosts[name].association()
            proof = re.findall(r'iff \S+ fs \d+', hosts[name].cryptostats())
            print('%-4s %-14s %-12s %-10s %-48s %s' % (
                name, '%s (%s)' % (upstream, state['host']), hex(state['flags'] or 0), state['condition'],
                describe(state['flags'] or 0), proof[-1] if proof else 'none'))
        trail = re.findall(r'cert="([^"]*)"', hosts['cl'].ntpq('rv 0 cert'))
        print('\ncertificates cached by cl (subject issuer flags): %s' % ('; '.join(trail) or 'none'))
        for host in hosts.values():
            host.assert_off_the_clock()
        if not ok:
            print('\nNOT verified after %ds' % waited)
            return 1
        print('\nsecure group "%s" verified through real IFF exchanges in %ds' % (GROUP, waited))
        return 0
    finally:
        lab.close()
        subprocess.run(['rm', '-rf', work], check=False)


if __name__ == '__main__':
    sys.exit(main())
