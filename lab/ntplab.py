# SPDX-License-Identifier: GPL-3.0-or-later
"""Real ntpd and chronyd 4.0 hosts for tests, each in its own network namespace.

The daemons come from the bullseye root file systems of lab/rootfs.sh (one with
ntp, one with chrony: the packages conflict) and run chrooted into them with
CAP_SYS_TIME removed from the bounding set (capsh), so they can never touch the
machine's clock; every start checks that in /proc. chronyd also runs with -x
(no clock control), without which it exits when it lacks the capability.
Hosts talk over a bridge living in a namespace of its own, on 192.0.2.0/24
(TEST-NET-1), which exists only inside these namespaces.

ntpd builds: `debian11` (ntpd 4.2.8p15 of the lab rootfs) always; others built by the user from ntp.org's
release sources are named in AUTOKEY_NTPD_BUILDS, as space-separated NAME=ROOTFS[:PREFIX] entries: a root
file system holding that build's ntpd, ntpq and ntp-keygen (under PREFIX/sbin or PREFIX/bin; without PREFIX,
/usr/local then /usr) and the libraries they link. AUTOKEY_NTPD_BUILD names the build of every host a test
does not give one (default debian11), so that one suite runs against each build in turn.
"""

import os
import re
import shutil
import subprocess
import time
import uuid

ROOTFS = os.environ.get('AUTOKEY_LAB_ROOTFS', '/var/cache/ntp-autokey/bullseye')
CHRONY_ROOTFS = os.environ.get('AUTOKEY_LAB_CHRONY_ROOTFS', ROOTFS + '-chrony')
# the ntp rootfs ready for its upgrade to Debian 12 (lab/rootfs.sh upgrade): copied by the tests that upgrade it
UPGRADE_ROOTFS = ROOTFS + '-upgrade'
CAP_SYS_TIME = 25
SUBNET = '192.0.2.%d'
# one file per live lab, named by its id, holding the pid of the process that made it
OWNERS = '/run/autokey-lab'


def in_rootfs(path, rootfs=ROOTFS):
    """Absolute path inside the rootfs -> path as seen by the host."""
    return os.path.join(rootfs, path.lstrip('/'))


DEBIAN11 = 'debian11'


class Build:
    """An ntpd build: a root file system holding ntpd, ntpq and ntp-keygen and the libraries they link."""

    def __init__(self, name, rootfs, prefix=None):
        self.name, self.rootfs = name, rootfs
        self._version = None
        folders = [prefix + '/sbin', prefix + '/bin'] if prefix else [
            '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin']
        self.programs = {}
        for program in ('ntpd', 'ntpq', 'ntp-keygen'):
            for folder in folders:
                if os.path.exists(in_rootfs(folder + '/' + program, rootfs)):
                    self.programs[program] = folder + '/' + program
                    break

    def __repr__(self):
        return 'ntpd build %s (%s)' % (self.name, self.rootfs)

    def available(self):
        return not self.missing()

    def missing(self):
        """What this build's rootfs lacks, or ''."""
        lacks = [p for p in ('ntpd', 'ntpq', 'ntp-keygen') if p not in self.programs]
        # ntpq looks up the "ntp" service: without netbase's /etc/services it prints only
        # "Servname not supported for ai_socktype"
        if not os.path.exists(in_rootfs('/etc/services', self.rootfs)):
            lacks.append('/etc/services (netbase)')
        return 'ntpd build %s: no %s in %s' % (self.name, ', '.join(lacks), self.rootfs) if lacks else ''

    def path(self, program):
        return self.programs.get(program, '/usr/sbin/' + program)

    def openssl_series(self):
        """The OpenSSL series ntpd links, from its libcrypto's soname: '1.1', '3' (None if not found)."""
        linked = subprocess.run(['chroot', self.rootfs, 'ldd', self.path('ntpd')], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=30, check=False).stdout
        match = re.search(r'libcrypto\.so\.([0-9.]+)', linked)
        return match.group(1) if match else None

    def version(self):
        """`ntpd --version`, e.g. 'ntpd 4.2.8p18@1.4062-o Sun Dec  6 14:33:32 UTC 2026 (3)' (read once)."""
        if self._version is None:
            self._version = subprocess.run(['chroot', self.rootfs, self.path('ntpd'), '--version'],
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30,
                                           check=False).stdout.strip()
        return self._version

    def short_version(self):
        """The version without the build's date, e.g. 'ntpd 4.2.8p18@1.4062-o Sun Dec  6 14:33:32 UTC 2026'."""
        return self.version().split(' (')[0]

    def release(self):
        """The release, e.g. '4.2.8p15' ('' if the version cannot be read)."""
        match = re.match(r'ntpd (4\.[0-9.]+(?:p[0-9]+)?)', self.version())
        return match.group(1) if match else ''


def _builds():
    builds = {DEBIAN11: Build(DEBIAN11, ROOTFS, '/usr')}
    for entry in os.environ.get('AUTOKEY_NTPD_BUILDS', '').split():
        name, where = entry.split('=', 1) if '=' in entry else (entry, '')
        rootfs, prefix = where.split(':', 1) if ':' in where else (where, '')
        builds[name] = Build(name, rootfs, prefix or None)
    return builds


BUILDS = _builds()
DEFAULT_BUILD = os.environ.get('AUTOKEY_NTPD_BUILD', DEBIAN11)


def add_build(name, rootfs, prefix=None):
    """Make a root file system a build of this run (for example a copy a test upgrades)."""
    BUILDS[name] = Build(name, rootfs, prefix)
    return BUILDS[name]


def build(name=None):
    """The build `name` (default: AUTOKEY_NTPD_BUILD); an unknown name is an error naming the variable."""
    name = name or DEFAULT_BUILD
    if name not in BUILDS:
        raise LookupError('no ntpd build %r: AUTOKEY_NTPD_BUILDS names %s' % (name, ', '.join(sorted(BUILDS))))
    return BUILDS[name]


def builds_missing(*names):
    """Why the builds `names` cannot run here, or '' when they all can (for skip reasons)."""
    reasons = []
    for name in names:
        if name not in BUILDS:
            reasons.append('ntpd build %s not given: set AUTOKEY_NTPD_BUILDS="%s=ROOTFS[:PREFIX] ..."' % (name, name))
        elif not BUILDS[name].available():
            reasons.append(BUILDS[name].missing())
    return '; '.join(reasons)


def available():
    return (os.geteuid() == 0 and os.path.exists(os.path.join(ROOTFS, 'usr/sbin/ntpd')) and shutil.which('capsh')
            and DEFAULT_BUILD in BUILDS and BUILDS[DEFAULT_BUILD].available())


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kw).stdout


def chrony_available():
    return os.path.exists(os.path.join(CHRONY_ROOTFS, 'usr/sbin/chronyd'))


def keygen(workdir, *args, env=None, build_name=None):
    """Run the ntp-keygen of a build (default: AUTOKEY_NTPD_BUILD) in `workdir` (a path inside its rootfs)."""
    chosen = build(build_name)
    environ = ['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin'] + ['%s=%s' % kv for kv in (env or {}).items()]
    return subprocess.run(['chroot', chosen.rootfs] + environ + ['sh', '-c', 'cd "$0" && program=$1 && shift && exec "$program" "$@"', workdir,
                                                                 chosen.path('ntp-keygen')] + list(args),
                          capture_output=True, text=True, check=False)


class Host:
    """One ntpd in its own namespace. Files live under /srv/autokey-lab/<id>/<name> in the rootfs."""

    rootfs = ROOTFS
    daemon = 'ntpd'
    # the configuration file ntpd reads, inside the rootfs; None: the lab's own (write_conf)
    config = None

    def __init__(self, lab, name, address, build_name=None):
        self.lab, self.name, self.address = lab, name, address
        if self.daemon == 'ntpd':
            self.build = build(build_name)
            self.rootfs = self.build.rootfs
        self.ns = '%s-%s' % (lab.id, name)
        self.root = '/srv/autokey-lab/%s/%s' % (lab.id, name)   # inside the chroot
        self.keysdir = self.root + '/keys'
        for sub in ('keys', 'stats'):
            os.makedirs(self.fs('%s/%s' % (self.root, sub)), exist_ok=True)
        self.proc = None

    def fs(self, path):
        """A path inside this host's rootfs, as seen from the machine."""
        return in_rootfs(path, self.rootfs)

    @property
    def host_keysdir(self):
        return self.fs(self.keysdir)

    def write_conf(self, lines):
        conf = ['keysdir %s/' % self.keysdir, 'statsdir %s/stats/' % self.root, 'statistics cryptostats',
                'filegen cryptostats file cryptostats type none enable', 'logfile %s/ntpd.log' % self.root,
                'restrict default nomodify notrap nopeer', 'restrict 127.0.0.1'] + list(lines)
        with open(self.fs(self.root + '/ntp.conf'), 'w') as handle:
            handle.write('\n'.join(conf) + '\n')

    def command(self):
        return '%s -n -c %s' % (self.build.path('ntpd'), self.config or self.root + '/ntp.conf')

    def keygen(self, *args, env=None):
        """This host's build of ntp-keygen, run in its keysdir."""
        return keygen(self.keysdir, *args, env=env, build_name=self.build.name)

    def confined(self, command):
        """argv running `command` in this host's namespace, chrooted, without CAP_SYS_TIME in its bounding set.
        /proc is bound into the rootfs in the mount namespace `ip netns exec` makes (never seen outside it):
        ntpd 4.2.8p18 segfaults at its interface scan in a chroot without /proc."""
        return ['ip', 'netns', 'exec', self.ns, 'sh', '-c',
                'mount --bind /proc "$0/proc" && exec capsh --drop=cap_sys_time --chroot="$0" -- -c "$1"',
                self.rootfs, 'exec ' + command]

    def spawn(self):
        """Start the daemon in this host's namespace, chrooted, without CAP_SYS_TIME in its bounding set."""
        with open(self.fs(self.root + '/daemon.out'), 'w') as out:
            self.proc = subprocess.Popen(self.confined(self.command()), stdout=out, stderr=subprocess.STDOUT)

    def start(self):
        self.spawn()
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with open('/proc/%d/comm' % self.proc.pid) as handle:
                    if handle.read().strip() == self.daemon:
                        break
            except OSError:
                break
            time.sleep(0.05)
        self.assert_off_the_clock()

    def read_back(self, conf_text):
        """The configuration ntpd parsed from `conf_text`, as ntpd --saveconfigquit writes it back (ntpd reads
        the file and exits, without serving)."""
        with open(self.fs(self.root + '/readback.conf'), 'w') as handle:
            handle.write(conf_text)
        saved = self.root + '/saved.conf'
        if os.path.exists(self.fs(saved)):
            os.unlink(self.fs(saved))  # a run that saves nothing must not leave the last one's file to be read
        result = subprocess.run(
            self.confined('%s -n -c %s/readback.conf --saveconfigquit=%s' % (self.build.path('ntpd'), self.root, saved)),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30, check=False)
        try:
            with open(self.fs(saved)) as handle:
                return handle.read()
        except OSError:
            raise AssertionError('ntpd saved no configuration (exit %d):\n%s' % (result.returncode, result.stdout))

    def assert_off_the_clock(self):
        """Refuse to go on if this ntpd could set the clock."""
        if self.proc.poll() is not None:
            return  # exited (e.g. rejected its keys); it never ran without the check
        with open('/proc/%d/status' % self.proc.pid) as handle:
            status = dict(line.split(':', 1) for line in handle.read().splitlines() if ':' in line)
        for field in ('CapEff', 'CapPrm', 'CapBnd'):
            if int(status[field].strip(), 16) & (1 << CAP_SYS_TIME):
                self.stop()
                raise AssertionError('%s %s holds CAP_SYS_TIME (%s); stopped' % (self.daemon, self.name, field))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def cryptostats(self):
        try:
            with open(self.fs(self.root + '/stats/cryptostats')) as handle:
                return handle.read()
        except OSError:
            return ''

    def log(self):
        text = ''
        for name in ('daemon.out', 'ntpd.log'):
            try:
                with open(self.fs('%s/%s' % (self.root, name))) as handle:
                    text += handle.read()
            except OSError:
                pass
        return text

    def ntpq(self, *commands):
        args = ['ip', 'netns', 'exec', self.ns, 'chroot', self.rootfs, self.build.path('ntpq'), '-n']
        for command in commands:
            args += ['-c', command]
        result = subprocess.run(args + ['127.0.0.1'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=10, check=False)
        return result.stdout

    def association(self):
        """Flags, condition and peer variables of the first association."""
        out = self.ntpq('as', 'rv &1 flags,host,ident,signature')
        state = {'condition': None, 'flags': None}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 7 and parts[0] == '1':  # ind assid status conf reach auth condition ...
                state['auth'], state['condition'] = parts[5], parts[6]
        match = re.search(r'flags=(0x[0-9a-f]+)', out)
        if match:
            state['flags'] = int(match.group(1), 16)
        for key in ('host', 'ident', 'signature'):
            found = re.search(r'%s="?([^",\s]+)' % key, out)
            state[key] = found.group(1) if found else None
        state['raw'] = out
        return state


class ChronyHost(Host):
    """One chronyd 4.0 (-x: never the clock) in its own namespace, with its own command socket and files
    under /srv/autokey-lab/<id>/<name> in the chrony rootfs."""

    rootfs = CHRONY_ROOTFS
    daemon = 'chronyd'

    @property
    def socket(self):
        return self.root + '/run/chronyd.sock'

    def write_conf(self, lines):
        os.makedirs(self.fs(self.root + '/run'), mode=0o700, exist_ok=True)
        conf = ['bindcmdaddress %s' % self.socket, 'pidfile %s/run/chronyd.pid' % self.root,
                'driftfile %s/drift' % self.root, 'ntsdumpdir %s/run' % self.root, 'cmdport 0'] + list(lines)
        with open(self.fs(self.root + '/chrony.conf'), 'w') as handle:
            handle.write('\n'.join(conf) + '\n')

    def command(self):
        return '/usr/sbin/chronyd -x -d -u root -f %s/chrony.conf' % self.root

    def start(self):
        self.spawn()
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(self.fs(self.socket)):
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.assert_off_the_clock()

    def chronyc(self, *commands):
        args = ['ip', 'netns', 'exec', self.ns, 'chroot', self.rootfs, 'chronyc', '-n', '-h', self.socket]
        result = subprocess.run(args + list(commands), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=10, check=False)
        return result.stdout


class Lab:
    """A set of namespaces joined by one bridge; tear it down with close()."""

    def __init__(self):
        self.id = 'ak%s' % uuid.uuid4().hex[:6]
        self.bridge_ns = '%s-br' % self.id
        self.hosts = []
        # the owner's pid, so that reap_stale() in another process leaves a live lab alone
        os.makedirs(OWNERS, exist_ok=True)
        with open(os.path.join(OWNERS, self.id), 'w') as handle:
            handle.write('%d\n' % os.getpid())
        sh('ip', 'netns', 'add', self.bridge_ns)
        sh('ip', 'netns', 'exec', self.bridge_ns, 'ip', 'link', 'add', 'br0', 'type', 'bridge')
        sh('ip', 'netns', 'exec', self.bridge_ns, 'ip', 'link', 'set', 'br0', 'up')

    def host(self, name, daemon='ntpd', build_name=None):
        """A new host running `daemon` (ntpd of the build `build_name`, or chronyd), not started yet."""
        address = SUBNET % (len(self.hosts) + 10)
        host = ChronyHost(self, name, address) if daemon == 'chronyd' else Host(self, name, address, build_name)
        ns, index = host.ns, len(self.hosts)
        sh('ip', 'netns', 'add', ns)
        sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up')
        sh('ip', 'link', 'add', 'v%s%d' % (self.id, index), 'type', 'veth', 'peer', 'name', 'p%s%d' % (self.id, index))
        sh('ip', 'link', 'set', 'v%s%d' % (self.id, index), 'netns', ns, 'name', 'eth0')
        sh('ip', 'link', 'set', 'p%s%d' % (self.id, index), 'netns', self.bridge_ns)
        sh('ip', 'netns', 'exec', self.bridge_ns, 'ip', 'link', 'set', 'p%s%d' % (self.id, index), 'master', 'br0', 'up')
        sh('ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', '%s/24' % address, 'dev', 'eth0')
        # no duplicate address detection: the link-local address is usable at once, not tentative when ntpd
        # starts (ntpd 4.2.8p18 crashes after failing to bind a tentative one)
        sh('ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.eth0.accept_dad=0')
        sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'eth0', 'up')
        self.hosts.append(host)
        return host

    def close(self):
        for host in self.hosts:
            host.stop()
        for ns in [h.ns for h in self.hosts] + [self.bridge_ns]:
            subprocess.run(['ip', 'netns', 'del', ns], stderr=subprocess.DEVNULL, check=False)
        for rootfs in lab_rootfs():
            shutil.rmtree(in_rootfs('/srv/autokey-lab/%s' % self.id, rootfs), ignore_errors=True)
        _forget_owner(self.id)


def lab_rootfs():
    """Every root file system a lab host may keep files in."""
    return sorted(set([ROOTFS, CHRONY_ROOTFS] + [b.rootfs for b in BUILDS.values()]))


def _forget_owner(lab_id):
    try:
        os.unlink(os.path.join(OWNERS, lab_id))
    except OSError:
        pass


def _owner_alive(lab_id):
    """True when the process that made this lab still runs (a lab of another test run, a benchmark)."""
    try:
        with open(os.path.join(OWNERS, lab_id)) as handle:
            os.kill(int(handle.read().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


def reap_stale():
    """Stop daemons and remove namespaces and files left by a lab whose process was killed before close()."""
    listing = subprocess.run(['ip', 'netns', 'list'], stdout=subprocess.PIPE, text=True, check=False).stdout
    stale = [line.split()[0] for line in listing.splitlines()
             if re.match(r'^ak[0-9a-f]{6}-', line) and not _owner_alive(line[:8])]
    for ns in stale:
        pids = subprocess.run(['ip', 'netns', 'pids', ns], stdout=subprocess.PIPE, text=True,
                              check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), 9)
            except OSError:
                pass
        subprocess.run(['ip', 'netns', 'del', ns], stderr=subprocess.DEVNULL, check=False)
    for rootfs in lab_rootfs():
        labs = in_rootfs('/srv/autokey-lab', rootfs)
        for lab_id in (os.listdir(labs) if os.path.isdir(labs) else []):
            if not _owner_alive(lab_id):
                shutil.rmtree(os.path.join(labs, lab_id), ignore_errors=True)
                _forget_owner(lab_id)
    return stale


def wait_for(predicate, timeout, interval=1.0):
    """Poll until predicate() is truthy; returns (value, seconds waited)."""
    start = time.time()
    while True:
        value = predicate()
        if value or time.time() - start > timeout:
            return value, time.time() - start
        time.sleep(interval)
