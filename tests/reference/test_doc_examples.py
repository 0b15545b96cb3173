# SPDX-License-Identifier: GPL-3.0-or-later
"""The EXAMPLES of every module and filter, as ansible-doc shows them, run unmodified on lab containers.

Each plugin's examples become one playbook. An example names where it runs by the start of its name
("On the trusted host", "On each group server", "On each client"): it runs on that inventory group, in a play
of its own, and the other examples on the plugin's hosts. The test supplies the variables the examples use and
prepares what they expect to find (an ntp-keygen key file, a group key to read) in setup tasks before them.

Two fleets of Debian 11 containers, none holding CAP_SYS_TIME:
  keys  th1, gs1 and cl1 without a network, for the examples that write key files;
  live  th1 -> gs1 running ntpd 4.2.8p15 (Autokey with IFF) on an internal podman network made here, for
        status_info and the filters. Its daemons start first, so that the group server verifies its trusted
        host while the other playbooks run.
"""

import glob
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
IMAGE = os.environ.get('AUTOKEY_LAB_IMAGE', 'localhost/ntp-autokey-lab:bullseye')


def _lab_missing():
    if not shutil.which('podman'):
        return 'podman is not installed'
    if subprocess.run(['podman', 'image', 'exists', IMAGE], check=False).returncode:
        return 'podman image %s missing: run lab/setup.sh' % IMAGE
    if not os.path.exists(os.path.join(BIN, 'ansible-playbook')):
        return 'ansible-playbook is not installed beside %s' % sys.executable
    return None


MISSING = _lab_missing()
# CI must never skip the referee (conftest.py); elsewhere a missing lab skips this file
pytestmark = pytest.mark.skipif(bool(MISSING) and not os.environ.get('AUTOKEY_REQUIRE_LAB'), reason=MISSING or '')

# Where an example runs, by the start of its name; None: the plugin's hosts (the task delegates itself).
PLACES = (('On the trusted host', 'autokey_trusted_hosts'), ('On each group server', 'autokey_servers'),
          ('On each client', 'autokey_clients'), ('On the controller', None))
GROUPS = {'th1': 'autokey_trusted_hosts', 'gs1': 'autokey_servers', 'cl1': 'autokey_clients'}

# The variables the examples use. Passwords are new on every run and never printed (the tasks have no_log).
CONTROL_PASSWORD = secrets.token_hex(8)  # ntpq types a controlkey: its bytes are printable
VARS = dict(
    vault_autokey_th1_password=secrets.token_hex(12),
    vault_autokey_th_password=secrets.token_hex(12),
    vault_autokey_password=secrets.token_hex(12),
    vault_autokey_transport_password=secrets.token_hex(12),
    vault_autokey_appliance_password=secrets.token_hex(12),
    vault_customer_th_password=secrets.token_hex(12),
    vault_ntp_key_42=secrets.token_hex(16),
    control_key=dict(id=1, type='AES128CMAC', secret=CONTROL_PASSWORD.encode().hex()),
)

NTP_KEYGEN_FILE = 'ntpkey_IFFkey_lab.4004501552'  # the file name the examples give


def _ntp_keygen(dest, password_var):
    """Setup: an IFF group key as ntp-keygen writes it, under the name the examples use."""
    return {'name': 'Setup: an ntp-keygen IFF key at %s' % dest, 'no_log': True,
            'ansible.builtin.shell': 'set -e; dir=$(mktemp -d); cd "$dir"; ntp-keygen -I -s th1@lab -p "$PW" >/dev/null;'
                                     ' mkdir -p "$(dirname %s)"; mv ntpkey_IFFkey_lab.* %s; rm -rf "$dir"' % (dest, dest),
            'environment': {'PW': '{{ %s }}' % password_var}}


def _group_key(scheme, password_var, **extra):
    args = dict(scheme=scheme, group='lab', generate=True, passphrase='{{ %s }}' % password_var)
    args.update(extra)
    return {'name': 'Setup: the %s group key of the trusted host' % scheme.upper(), 'no_log': True,
            'ntp.autokey.group_keys': args}


# Per plugin: the fleet, the hosts of examples that name no place, and setup plays [(hosts, tasks)].
PLUGINS = {
    'host_keys': dict(setup=[('autokey_trusted_hosts', [
        _group_key('gq', 'vault_autokey_th1_password', params=False),
        {'name': 'Setup: the GQ public key the certificate carries', 'no_log': True, 'register': 'autokey_group',
         'ntp.autokey.group_keys_info': dict(scheme='gq', group='lab', passphrase='{{ vault_autokey_th1_password }}')},
    ])]),
    'group_keys': dict(setup=[('autokey_trusted_hosts', [_ntp_keygen('/etc/ntp/' + NTP_KEYGEN_FILE, 'vault_autokey_th_password')])]),
    'group_keys_info': dict(setup=[('autokey_trusted_hosts', [
        _group_key('iff', 'vault_autokey_th_password', params=False),
        _group_key('mv', 'vault_autokey_th_password'),
        _ntp_keygen('/tmp/customer/' + NTP_KEYGEN_FILE, 'vault_customer_th_password'),
        {'name': 'Setup: the customer key file on the controller',
         'ansible.builtin.fetch': dict(src='/tmp/customer/' + NTP_KEYGEN_FILE,
                                       dest='{{ playbook_dir }}/files/' + NTP_KEYGEN_FILE, flat=True)},
    ])]),
    'status_info': dict(fleet='live', hosts='autokey_servers'),
    'crypto_flags': dict(fleet='live', setup=[('all', [
        {'name': 'Setup: the system flags word', 'register': 'setup_rv0', 'changed_when': False,
         'ansible.builtin.command': 'ntpq -n -c "rv 0 flags" 127.0.0.1'},
        {'name': 'Setup: system_flags', 'ansible.builtin.set_fact': {
            'system_flags': "{{ (setup_rv0.stdout | regex_search('flags=0x[0-9a-f]+')).split('=')[1] }}"}},
    ])]),
    'fleet_report': dict(fleet='live', setup=[('all', [
        {'name': "Setup: every host's status", 'register': 'autokey_status',
         'ntp.autokey.status_info': {'offers': 'iff'}}])]),
}
PLUGINS['host_results'] = PLUGINS['fleet_report']
# the reports filters: each host's status judged by fleet_report into autokey_fleet (as verify.yml does)
_JUDGED = [
    {'name': "Setup: every host's status", 'register': 'autokey_status', 'ntp.autokey.status_info': {'offers': 'iff'}},
    {'name': 'Setup: the fleet judged', 'run_once': True, 'ansible.builtin.set_fact': {
        'autokey_fleet': "{{ ansible_play_hosts_all | ntp.autokey.host_results(hostvars, 'autokey_status')"
                         " | ntp.autokey.fleet_report(ansible_play_hosts_all) }}"}},
]
for _name in ('fleet_json', 'fleet_junit', 'fleet_html'):
    PLUGINS[_name] = dict(fleet='live', setup=[('all', _JUDGED)])
PLUGINS['fleet_prometheus'] = dict(fleet='live', setup=[('all', _JUDGED + [
    {'name': "Setup: node_exporter's textfile directory",
     'ansible.builtin.file': dict(path='/var/lib/prometheus/node-exporter', state='directory', mode='0755')}])])
for _name in ('associations', 'member_addresses', 'ntpd_line', 'ntpd_word', 'ntpq_password'):
    PLUGINS[_name] = dict(fleet='live')


def _names(pattern):
    return sorted(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(ROOT, pattern))
                  if not os.path.basename(p).startswith('__'))


# The keys fleet first; the live one last, status_info at the very end (its daemons have had the most time).
CASES = sorted([('module', n) for n in _names('plugins/modules/*.py')] + [('filter', n) for n in _names('plugins/filter/*.yml')],
               key=lambda c: (PLUGINS.get(c[1], {}).get('fleet', 'keys') == 'live', c[1] == 'status_info', c))


# --- containers ---

def podman(*args):
    run = subprocess.run(('podman',) + args, capture_output=True, text=True, check=False)
    assert run.returncode == 0, 'podman %s: %s' % (' '.join(args[:3]), run.stderr)
    return run.stdout


def _start(name, hostname, network, aliases=()):
    podman('run', '-d', '--name', name, '--hostname', hostname, '--network', network,
           *('--network-alias=%s' % a for a in aliases),
           '--cap-drop=SYS_TIME', '--init', '--runtime=runc', '--ulimit=nofile=20000:20000',
           '--ulimit=nproc=32768:32768', IMAGE, 'sleep', 'infinity')
    caps = json.loads(podman('inspect', name))[0]
    assert 'CAP_SYS_TIME' not in (caps.get('EffectiveCaps') or []) + (caps.get('BoundingCaps') or []), name


def _inventory(path, containers):
    """An inventory of {inventory name: container}; the example variables for every host."""
    hosts = dict((n, dict(ansible_connection='containers.podman.podman', ansible_host=c,
                          ansible_python_interpreter='/usr/bin/python3')) for n, c in containers.items())
    children = dict((GROUPS[n], {'hosts': {n: None}}) for n in containers)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        yaml.safe_dump({'all': {'hosts': hosts, 'children': children, 'vars': VARS}}, handle)


def _ntp_conf(host, password_var, upstream):
    return '\n'.join([
        'keysdir /etc/ntp/', 'crypto host %s ident lab pw {{ %s }}' % (host, password_var),
        'statsdir /var/log/ntpstats/', 'statistics cryptostats', 'filegen cryptostats file cryptostats type none enable',
        'keys /etc/ntp/ntp.keys', 'trustedkey 1', 'controlkey 1',
        'restrict default nomodify notrap nopeer', 'restrict 127.0.0.1', upstream, ''])


# The live fleet: th1 keeps the IFF group key, gs1 verifies it (iburst, 8 s polls) and serves the group.
LIVE_SETUP = [
    ('autokey_trusted_hosts', [
        {'name': 'Trusted host keys', 'no_log': True, 'ntp.autokey.host_keys': dict(
            host='th1', group='lab', trusted=True, passphrase='{{ vault_autokey_th1_password }}')},
        {'name': 'Group key', 'no_log': True, 'register': 'autokey_group', 'ntp.autokey.group_keys': dict(
            scheme='iff', group='lab', generate=True, passphrase='{{ vault_autokey_th1_password }}',
            export_passphrase='{{ vault_autokey_transport_password }}')},
        {'name': 'ntp.conf', 'no_log': True, 'ansible.builtin.copy': dict(dest='/etc/ntp.conf', mode='0600', content=_ntp_conf(
            'th1', 'vault_autokey_th1_password', 'server 127.127.1.0 minpoll 3 maxpoll 3 prefer\nfudge 127.127.1.0 stratum 0'))},
    ]),
    ('autokey_servers', [
        {'name': 'Group server keys', 'no_log': True, 'ntp.autokey.host_keys': dict(
            host='gs1', group='lab', passphrase='{{ vault_autokey_password }}')},
        {'name': 'Server key', 'no_log': True, 'ntp.autokey.group_keys': dict(
            scheme='iff', group='lab', content="{{ hostvars['th1'].autokey_group.server_key_export }}",
            source_passphrase='{{ vault_autokey_transport_password }}', passphrase='{{ vault_autokey_password }}')},
        {'name': 'ntp.conf', 'no_log': True, 'ansible.builtin.copy': dict(dest='/etc/ntp.conf', mode='0600', content=_ntp_conf(
            'gs1', 'vault_autokey_password', 'server th1 autokey ident lab iburst minpoll 3 maxpoll 3'))},
    ]),
    ('all', [
        {'name': 'The controlkey', 'no_log': True, 'ntp.autokey.symmetric_keys': dict(daemon='ntpd', keys=['{{ control_key }}'])},
    ]),
]


class Fleets:
    def __init__(self, work):
        self.work = work
        self.tag = 'doc-examples-%s' % uuid.uuid4().hex[:8]
        self.containers, self.network = [], None
        collections = os.path.join(work, 'collections', 'ansible_collections', 'ntp')
        os.makedirs(collections)
        os.symlink(ROOT, os.path.join(collections, 'autokey'))
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(work, 'collections'),
                        ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_NOCOLOR='1',
                        ANSIBLE_LOCAL_TEMP=os.path.join(work, 'tmp'), ANSIBLE_TASK_TIMEOUT='60')  # per attempt: no hang
        self.inventories, self.hosts = {}, {}

    def container(self, name, network, aliases=()):
        full = '%s-%s' % (self.tag, name)
        self.containers.append(full)
        _start(full, name, network, aliases)
        return full

    def start(self):
        keys = dict((n, self.container('keys-' + n, 'none')) for n in ('th1', 'gs1', 'cl1'))
        self.inventories['keys'] = os.path.join(self.work, 'keys', 'inventory.yml')
        _inventory(self.inventories['keys'], keys)
        self.hosts['keys'] = sorted(keys)
        self.network = self.tag
        podman('network', 'create', '--internal', self.network)
        # th1 is also the customer's trusted host of status_info's last example
        live = {'th1': self.container('live-th1', self.network, ('th1', 'stratum1.customer.example')),
                'gs1': self.container('live-gs1', self.network, ('gs1',))}
        self.inventories['live'] = os.path.join(self.work, 'live', 'inventory.yml')
        _inventory(self.inventories['live'], live)
        self.hosts['live'] = sorted(live)
        check(self.playbook('live', os.path.join(self.work, 'live'), _plays(LIVE_SETUP)))
        for container in live.values():
            podman('exec', '-d', container, 'ntpd', '-n', '-g', '-p', '/run/ntpd.pid', '-c', '/etc/ntp.conf')
        for container in live.values():
            deadline = time.time() + 20
            while 'flags=' not in subprocess.run(['podman', 'exec', container, 'ntpq', '-n', '-c', 'rv 0 flags', '127.0.0.1'],
                                                 capture_output=True, text=True, check=False).stdout:
                assert time.time() < deadline, '%s: ntpd does not answer' % container
                time.sleep(0.5)

    def close(self):
        shutil.rmtree(self.work, ignore_errors=True)  # the inventories hold this run's passwords
        for container in self.containers:
            subprocess.run(['podman', 'rm', '-f', '-t', '0', container], capture_output=True, check=False)
        if self.network:
            subprocess.run(['podman', 'network', 'rm', '-f', self.network], capture_output=True, check=False)

    def playbook(self, fleet, directory, plays):
        """Run `plays` on the fleet; the json callback's report."""
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, 'playbook.yml')
        with open(path, 'w') as handle:
            yaml.safe_dump(plays, handle, sort_keys=False)
        run = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', self.inventories[fleet], path],
                             env=self.env, cwd=directory, capture_output=True, text=True, timeout=420, check=False)
        try:
            report = json.loads(run.stdout)
        except ValueError:
            raise AssertionError('ansible-playbook exit %d without a report:\n%s\n%s' % (
                run.returncode, run.stdout[-3000:], run.stderr[-3000:]))
        report['rc'] = run.returncode
        return report


def _place(task, hosts):
    """The hosts an example runs on: the group its name starts with, else the plugin's hosts."""
    name = task.get('name', '')
    for prefix, group in PLACES:
        if name.startswith(prefix):
            return group or hosts
    assert not name.startswith('On '), 'an example placed on hosts this test does not know: %s' % name
    return hosts


def _plays(setup, tasks=(), hosts='all'):
    """The setup plays, then the examples in order, each on its place (consecutive ones share a play)."""
    plays = [(h, list(t)) for h, t in setup]
    for task in tasks:
        where = _place(task, hosts)
        if len(plays) > len(setup) and plays[-1][0] == where:
            plays[-1][1].append(task)
        else:
            plays.append((where, [task]))
    return [{'name': 'On %s' % h, 'hosts': h, 'gather_facts': False, 'tasks': t} for h, t in plays]


def check(report):
    """Every task succeeded on every host; returns {task name: hosts where it ran}."""
    ran, failed = {}, []
    for play in report['plays']:
        for task in play['tasks']:
            for host, result in task['hosts'].items():
                if result.get('failed') or result.get('unreachable'):
                    failed.append('%s on %s: %s' % (task['task']['name'], host, result.get('msg', result.get('censored'))))
                elif not result.get('skipped'):
                    ran.setdefault(task['task']['name'], []).append(host)
    stats = report['stats']
    assert not failed and report['rc'] == 0, 'exit %d, failed:\n%s\n%s' % (report['rc'], '\n'.join(failed), stats)
    assert all(s['failures'] == 0 and s['unreachable'] == 0 for s in stats.values()), stats
    return ran


@pytest.fixture(scope='module')
def fleets():
    if MISSING:
        pytest.fail(MISSING)
    instance = Fleets(tempfile.mkdtemp(prefix='doc-examples-'))
    try:
        instance.start()
        yield instance
    finally:
        instance.close()


@pytest.fixture(scope='module')
def examples(fleets):
    """ansible-doc's examples of every plugin, parsed: {(kind, name): [task]}."""
    found = {}
    for kind in ('module', 'filter'):
        names = [n for k, n in CASES if k == kind]
        run = subprocess.run([os.path.join(BIN, 'ansible-doc'), '--json', '-t', kind] + ['ntp.autokey.' + n for n in names],
                             env=fleets.env, capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stderr
        docs = json.loads(run.stdout)
        for name in names:
            found[(kind, name)] = yaml.safe_load(docs['ntp.autokey.' + name]['examples'])
    return found


@pytest.mark.parametrize('kind, name', CASES, ids=['%s-%s' % c for c in CASES])
def test_examples_run_as_written(fleets, examples, kind, name):
    tasks = examples[(kind, name)]
    assert tasks, 'no examples'
    names = [t['name'] for t in tasks]
    assert len(set(names)) == len(names), 'example names must be unique: %s' % names
    settings = PLUGINS.get(name, {})
    fleet, hosts = settings.get('fleet', 'keys'), settings.get('hosts', 'all')
    ran = check(fleets.playbook(fleet, os.path.join(fleets.work, name), _plays(settings.get('setup', ()), tasks, hosts)))
    # each example ran on every host of its place, or on one of them with run_once
    for task in tasks:
        where = _place(task, hosts)
        expected = sorted(n for n in fleets.hosts[fleet] if where in ('all', GROUPS[n]))
        done = sorted(ran.get(task['name'], []))
        if task.get('run_once'):
            assert len(done) == 1 and done[0] in expected, (task['name'], done, expected)
        else:
            assert done == expected, (task['name'], done, expected)
