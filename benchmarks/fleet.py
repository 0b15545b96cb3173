# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet cost: what playbooks/site.yml and playbooks/verify.yml cost the controller as the fleet grows.

For each N, a fleet of one trusted host, two group servers and N clients is started as lab containers
(the lab image, podman, no CAP_SYS_TIME, one network of its own), and timed:

* first run: site.yml on fresh hosts (packages already in the image, all key material made);
* second run: site.yml again, nothing to change;
* verify: verify.yml until every association has a verdict (this includes ntpd's own time to trust).

For each: wall time, the controller's CPU seconds (ansible-playbook and everything it waited for: its
workers and the podman clients; not the modules running inside the containers), and tasks per host from
the play recap (ok + failed + skipped, over all hosts, divided by the number of hosts).

Usage (root, after lab/setup.sh; the Python is the one lab/setup.sh installs):

    /var/cache/ntp-autokey/venv/bin/python benchmarks/fleet.py 2 12 24 [--forks 5] [--connection ssh] [--fact-cache]

--task-costs also times, on the same fleet, playbooks of ten identical tasks without facts (and one that only
gathers facts), and prints what one task of each kind costs the controller per host: the run's CPU less that
of a playbook with no task, divided by tasks and hosts.

--fact-cache runs every playbook with the controller's fact cache (gathering smart, jsonfile cache in the
work directory; docs/fleet-scale.md): the first run gathers facts and keeps them, later runs read them.

The fleet uses the lab's settings (.config/molecule/config.yml: IFF group "lab", minpoll 3). Containers and
the network are removed at the end, also after a failure.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HOME = os.environ.get('AUTOKEY_CI_HOME', '/var/cache/ntp-autokey')
IMAGE = os.environ.get('AUTOKEY_LAB_IMAGE', 'localhost/ntp-autokey-lab:bullseye')
PREFIX = 'bench-fleet-'
NETWORK = 'ntp-autokey-bench-fleet'
# as the lab's containers run (molecule/shared/vars/platform.yml): the machine's limits fail podman's defaults
RUN_OPTIONS = ('--cap-drop', 'SYS_TIME', '--init', '--runtime=runc', '--ulimit', 'nofile=20000:20000',
               '--ulimit', 'nproc=32768:32768')
RECAP = re.compile(r'^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)')

SSH_IMAGE = IMAGE + '-ssh'
CONNECTIONS = {
    'podman': {'ansible_connection': 'containers.podman.podman'},
    # what a production controller uses: one SSH master per host, modules piped into its sessions
    'ssh': {'ansible_connection': 'ssh', 'ansible_user': 'root', 'ansible_pipelining': True,
            'ansible_ssh_common_args': '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null '
                                       '-o ControlMaster=auto -o ControlPersist=300s'},
}
# the lab's fleet settings (.config/molecule/config.yml); test-only passwords: real fleets keep them in a vault
FLEET_VARS = {'autokey_group': 'lab', 'autokey_scheme': 'iff', 'autokey_transport_password': 'bench-transport-pw',
              'autokey_server_options': {'minpoll': 3, 'maxpoll': 3}, 'trusted_host_local_clock_poll': 3}


def podman(*args, check=True):
    return subprocess.run(('podman',) + args, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)


def fleet_names(clients):
    return {'autokey_trusted_hosts': ['th'], 'autokey_servers': ['gs1', 'gs2'],
            'autokey_clients': ['cl%d' % i for i in range(1, clients + 1)]}


def remove_fleet():
    names = podman('ps', '-a', '--format', '{{.Names}}').stdout.split()
    doomed = [name for name in names if name.startswith(PREFIX)]
    if doomed:
        podman('rm', '-f', '-t', '0', *doomed)
    podman('network', 'rm', '-f', NETWORK, check=False)


def ssh_image():
    """The lab image with an SSH server (built once, from Debian bullseye's openssh-server)."""
    if podman('image', 'exists', SSH_IMAGE, check=False).returncode == 0:
        return
    builder = PREFIX + 'ssh-image'
    podman('rm', '-f', builder, check=False)
    podman('run', '--name', builder, *RUN_OPTIONS, IMAGE, 'sh', '-ec',
           'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends '
           'openssh-server >/dev/null && mkdir -p -m 0700 /run/sshd /root/.ssh && rm -f /etc/ssh/ssh_host_*')
    podman('commit', '-q', builder, SSH_IMAGE)
    podman('rm', '-f', builder)


def start_fleet(groups, connection, workdir):
    """Start the containers; returns {name: address} (the container's address for ssh, its name for podman)."""
    podman('network', 'create', NETWORK)
    command = ['sleep', 'infinity']
    options = []
    if connection == 'ssh':
        command = ['sh', '-c', 'ssh-keygen -A -q && exec /usr/sbin/sshd -D -e']
        options = ['--volume', '%s:/root/.ssh/authorized_keys:ro' % os.path.join(workdir, 'id_ed25519.pub')]
    addresses = {}
    for name in sum(groups.values(), []):
        podman('run', '-d', '--name', PREFIX + name, '--hostname', name, '--network', NETWORK,
               '--network-alias', name, *RUN_OPTIONS, '--label', 'owner=bench-fleet', *options, SSH_IMAGE if connection == 'ssh' else IMAGE, *command)
        caps = podman('inspect', '--format', '{{.EffectiveCaps}}', PREFIX + name).stdout
        if 'CAP_SYS_TIME' in caps:
            raise SystemExit('%s holds CAP_SYS_TIME: refusing to run ntpd in it' % name)
        addresses[name] = PREFIX + name
        if connection == 'ssh':
            addresses[name] = podman('inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
                                     PREFIX + name).stdout.strip()
    return addresses


def write_inventory(path, groups, connection, addresses, workdir):
    """The fleet's inventory, as JSON (which the YAML inventory plugin reads)."""
    fleet_vars = dict(FLEET_VARS, **CONNECTIONS[connection])
    if connection == 'ssh':
        fleet_vars['ansible_ssh_private_key_file'] = os.path.join(workdir, 'id_ed25519')
    children = dict((group, {'hosts': dict((name, {'ansible_host': addresses[name],
                                                   'autokey_password': 'bench-%s-pw' % name}) for name in names)})
                    for group, names in groups.items())
    with open(path, 'w') as handle:
        json.dump({'all': {'vars': fleet_vars, 'children': children}}, handle, indent=1)


def timed(argv, env, log, need_recap=True):
    """Run argv; returns (wall seconds, controller CPU seconds, tasks per host)."""
    start = time.monotonic()
    with open(log, 'w') as out:
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        dummy, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - start
    with open(log) as handle:
        text = handle.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit('%s failed; its output: %s\n%s' % (' '.join(argv), log, text[-3000:]))
    recap = [RECAP.match(line) for line in text.split('PLAY RECAP')[-1].splitlines()]
    counts = [int(m.group(2)) + int(m.group(5)) + int(m.group(6)) for m in recap if m]
    if not counts and need_recap:
        raise SystemExit('%s ran no host; its output: %s' % (' '.join(argv), log))
    return wall, usage.ru_utime + usage.ru_stime, sum(counts) / float(len(counts) or 1)


# playbooks of ten identical tasks (one kind each), and the empty playbook they are compared with
TASK_KINDS = {
    'module (ansible.builtin.ping)': 'ansible.builtin.ping: {}',
    'module (ansible.builtin.stat)': 'ansible.builtin.stat: {path: /etc/ntp.conf}',
    "module (the collection's group_keys_info)": 'ntp.autokey.group_keys_info: {scheme: iff, group: lab}\n'
                                                 '  failed_when: false',
    'debug': 'ansible.builtin.debug: {msg: probe}',
    'skipped (when: false)': 'ansible.builtin.debug: {msg: probe}\n  when: false',
}


def task_costs(playbook, inventory, env, workdir, hosts):
    """Controller CPU per task per host for each kind of TASK_KINDS, and for fact gathering (`playbook`: the
    ansible-playbook command)."""
    env = dict((key, value) for key, value in env.items() if key not in fact_cache(''))  # facts gathered each time

    def cpu(name, text):
        path = os.path.join(workdir, 'probe-%s.yml' % name)
        with open(path, 'w') as handle:
            handle.write(text)
        return timed([playbook, '-i', inventory, path], env, path + '.log', need_recap=False)[1]

    empty = cpu('empty', '- hosts: all\n  gather_facts: false\n  tasks: []\n')
    costs = {'fact gathering (min, network)':
             cpu('facts', '- hosts: all\n  gather_subset: [min, network]\n  tasks: []\n') - empty}
    for number, (kind, task) in enumerate(TASK_KINDS.items()):
        tasks = ''.join('    - ' + task.replace('\n', '\n    ') + '\n' for dummy in range(10))
        costs[kind] = (cpu('kind%d' % number, '- hosts: all\n  gather_facts: false\n  tasks:\n' + tasks) - empty) / 10
    for kind, seconds in costs.items():
        print('  task cost: %-42s %5.1f ms per host' % (kind, 1000 * seconds / hosts), flush=True)
    return costs


def fact_cache(directory):
    """The controller settings of a fact cache kept in `directory` (docs/fleet-scale.md)."""
    return {'ANSIBLE_GATHERING': 'smart', 'ANSIBLE_CACHE_PLUGIN': 'ansible.builtin.jsonfile',
            'ANSIBLE_CACHE_PLUGIN_CONNECTION': directory, 'ANSIBLE_CACHE_PLUGIN_TIMEOUT': '86400'}


def measure(clients, forks, connection, workdir, logs, cached=False, costs=False):
    groups = fleet_names(clients)
    inventory = os.path.join(workdir, 'inventory-%d.yml' % clients)
    env = dict(os.environ, ANSIBLE_FORKS=str(forks), ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(workdir, 'collections'),
               PATH=os.path.join(HOME, 'venv', 'bin') + os.pathsep + os.environ['PATH'])
    if cached:  # a cache of its own per fleet: the containers are new
        env.update(fact_cache(os.path.join(workdir, 'facts-%d' % clients)))
    playbook = os.path.join(HOME, 'venv', 'bin', 'ansible-playbook')
    remove_fleet()
    try:
        write_inventory(inventory, groups, connection, start_fleet(groups, connection, workdir), workdir)
        row = {}
        for step, book in (('first', 'site.yml'), ('second', 'site.yml'), ('verify', 'verify.yml')):
            log = os.path.join(logs or workdir, '%s-%d.log' % (step, clients))
            row[step] = timed([playbook, '-i', inventory, os.path.join('playbooks', book)], env, log)
            print('  N=%d %-6s wall %6.1f s  controller CPU %6.1f s  tasks/host %5.1f' % ((clients, step) + row[step]),
                  flush=True)
        if costs:
            task_costs(playbook, inventory, env, workdir, clients + 3)
        return row
    finally:
        remove_fleet()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('clients', nargs='+', type=int, help='fleet sizes to measure (number of clients)')
    parser.add_argument('--forks', type=int, default=5)
    parser.add_argument('--connection', choices=sorted(CONNECTIONS), default='podman')
    parser.add_argument('--task-costs', action='store_true', help='also time one task of each kind per host')
    parser.add_argument('--fact-cache', action='store_true', help='gathering smart with a jsonfile fact cache')
    parser.add_argument('--logs', help='keep the playbook outputs in this directory (default: removed)')
    args = parser.parse_args()
    if args.logs:
        os.makedirs(args.logs, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix='bench-fleet-')
    os.makedirs(os.path.join(workdir, 'collections', 'ansible_collections', 'ntp'))
    os.symlink(ROOT, os.path.join(workdir, 'collections', 'ansible_collections', 'ntp', 'autokey'))
    if args.connection == 'ssh':
        ssh_image()
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', os.path.join(workdir, 'id_ed25519')],
                       check=True)
    version = subprocess.run([os.path.join(HOME, 'venv', 'bin', 'ansible'), '--version'], check=True,
                             stdout=subprocess.PIPE, text=True).stdout.splitlines()[0]
    rows = {}
    try:
        for clients in args.clients:
            rows[clients] = measure(clients, args.forks, args.connection, workdir, args.logs, args.fact_cache, args.task_costs)
    finally:
        shutil.rmtree(workdir)
    image = SSH_IMAGE if args.connection == 'ssh' else IMAGE
    print('\n# %s, forks %d, %d cores, %s connection, lab image %s%s' % (
        version, args.forks, os.cpu_count(), args.connection, image, ', fact cache' if args.fact_cache else ''))
    print('| hosts (clients) | first: wall / CPU / tasks per host | second: wall / CPU / tasks per host '
          '| second / first (wall) | verify: wall / CPU |')
    print('|---|---:|---:|---:|---:|')
    for clients, row in rows.items():
        first, second, verify = row['first'], row['second'], row['verify']
        print('| %d (%d) | %.0f s / %.0f s / %.1f | %.0f s / %.0f s / %.1f | %.2f | %.0f s / %.0f s |' % (
            clients + 3, clients, first[0], first[1], first[2], second[0], second[1], second[2],
            second[0] / first[0], verify[0], verify[1]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
