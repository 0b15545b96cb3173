#!/usr/bin/python
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r'''
module: status_info
short_description: What ntpd's Autokey and symmetric associations, or chronyd's sources, really verified, in plain words
version_added: 0.1.0
description:
  - Reads ntpd's state through C(ntpq) (C(rv 0) system variables with the certificate cache, C(as), and
    C(rv <assid>) of every association), the cryptostats file and the names of the files in the keys directory.
  - Judges each association by what ntpd 4.2.8p15 actually does. VRFY set with C(ident) and a scheme bit
    can only come from a real identity exchange. VRFY without C(ident) is certificate-only trust (TC).
    VRFY with C(ident) but without a scheme bit means the server offers no scheme and ntpd fell back to TC.
    The scheme bits of an association are copied from the server's status word, so they prove nothing on
    their own.
  - Reads file names and link targets in the keys directory, and the client params files
    (C(ntpkey_<scheme>par_<group>)), which are public, to name why an identity exchange fails (stock
    C(ntp-keygen -e) params, params of another filestamp, a revoked MV client key). Never reads a private key.
  - Judges associations authenticated by a symmetric key (C(keyid) 1 to 65535, no Autokey) as C(symmetric)
    (authentic answers), C(failing) (flash TEST5, or no authenticated answer in 8 polls) or C(pending), with
    the key's type read from O(keys_file) (IDs and types only, never a secret); a type in
    O(forbidden_key_types) is a problem.
  - With O(daemon=chrony), judges chronyd's sources from C(chronyc -c sources), C(-N sources) (the names of the
    configuration), C(authdata), C(ntpdata) and C(tracking) the same way (mode C(SK) with C(Authenticated Yes));
    a source without a key is C(none) and a problem. Autokey facts (certificates, params, restarts) do not apply there.
  - An NTS source (chrony C(server NAME nts)) is C(nts) when chronyd holds its NTS keys (KeyID, AEAD type and key
    length) and cookies, its last answer was authenticated and it is reachable. It is C(failing) when key
    establishment (NTS-KE, TCP 4460) failed twice, or once when chronyd has run longer than one attempt lasts
    (chronyd retries a failed TLS handshake only after 1024 s), or when the server refuses fresh cookies (NTS NAK)
    again; the hint names what to check (the CA in C(ntstrustedcerts), the name in the certificate, its expiry,
    C(ntsserverkey) and C(ntsservercert) on the server). Verdicts name the source as configured, for example
    V(gs (10.89.0.3\)). chronyd's start time comes from C(/run/chrony/chronyd.pid) or its only main process.
  - With O(daemon=ntpsec) (ntpsec deployed on purpose, Debian 12 and later), judges ntpsec's NTS associations
    (C(server NAME nts)) and symmetric ones; ntpsec has no Autokey, so O(keysdir) and O(cryptostats) are not read.
    An NTS association is C(nts) when its answers are authentic (ntpq's C(auth) with C(authenb)) and it is
    reachable. It is C(failing) when NTS key establishment failed (ntpsec then keeps no cookies and waits 68 minutes,
    poll exponent 12; an untrusted CA, a name the certificate lacks and a server without NTS-KE look alike in ntpq,
    so the hint names each), when NTS keys were established but no answer was authenticated in 8 polls, or when
    its answers fail authentication (flash TEST5); else C(pending). A daemon other than ntpsec is a problem there,
    and so is an association without NTS or a key. With O(daemon=ntpd), an ntpsec host is one whose ntpd was
    replaced, and its problem says so (RV(status.daemon_identity)).
  - Judges the daemon it queries. Its start time comes from ntpd's pidfile (O(pidfile)), else from the
    service manager (O(service)), else from the only ntpd process of the machine; with several ntpd and
    neither, and for a remote O(server), RV(status.daemon_started) and RV(status.restart_needed) are null.
author:
  - ntp.autokey developers (@ntp-autokey)
options:
  daemon:
    description:
      - The time daemon deployed on this host. V(ntpd) is the reference ntpd with Autokey (an ntpsec answering there
        replaced it); V(ntpsec) is ntpsec deployed on purpose (NTS and symmetric keys); V(chrony) is chronyd.
    type: str
    choices: [ntpd, ntpsec, chrony]
    default: ntpd
  ntpq:
    description:
      - The ntpq program (name looked up in C(PATH), or a path).
    type: str
    default: ntpq
  chronyc:
    description:
      - The chronyc program, for O(daemon=chrony).
    type: str
    default: chronyc
  keys_file:
    description:
      - ntpd's symmetric key file, read for the type of each key ID (never a secret). Default C(/etc/ntp/ntp.keys),
        with O(daemon=ntpsec) C(/etc/ntpsec/ntp.keys) (where a change after the daemon started means a restart is
        pending).
    type: path
  forbidden_key_types:
    description:
      - Symmetric key types the policy refuses; an association using one is a problem. MD5 by default
        (docs/symmetric-keys.md says why); V([]) accepts every type.
    type: list
    elements: str
    default: [MD5]
  server:
    description:
      - The ntpd to query. The default is ntpq's own (localhost).
      - Another host's ntpd (for example a trusted host Ansible does not manage, queried from a group server)
        answers only when its C(restrict) lines let this host query (no C(noquery) for it). Its cryptostats,
        keys directory and process are not visible from here, so O(cryptostats), O(keysdir), O(config) and
        O(pidfile) are not read, the identity proof of its associations is inferred, and
        RV(status.daemon_started) and RV(status.restart_needed) are null.
    type: str
  pidfile:
    description:
      - ntpd's pidfile, which names the daemon being judged (Debian and Ubuntu C(/run/ntpd.pid); RHEL's unit
        writes none, then O(service) tells).
    type: path
    default: /run/ntpd.pid
  service:
    description:
      - The ntpd service, whose main process is the daemon being judged when O(pidfile) names no running ntpd
        (asked from systemd). By default C(ntp), then C(ntpd); with O(daemon=ntpsec), C(ntpsec).
    type: str
  stuck:
    description:
      - Certificate names (C(host@group)) of upstreams that are not synchronised and will not be by waiting
        (their own verdicts are final). An association waiting for one of them is C(blocked), a final verdict,
        so RV(status.converged) does not wait for them. C(playbooks/verify.yml) passes the group servers it
        found so while it waits for their clients.
    type: list
    elements: str
    default: []
  replaced:
    description:
      - Upstreams whose ntpd was replaced by a daemon without Autokey (ntpsec after an upgrade to Debian 12), as
        address (a name or an IP, as the server lines write it) to a text naming the host and what runs there.
        An Autokey association with one of them is C(blocked), a final verdict, even while its flags still show
        what was verified before the switch. Names are resolved here, as ntpd resolved them.
      - C(playbooks/verify.yml) passes the upstreams whose own reading named such a daemon (the host, then the
        daemon in parentheses).
    type: dict
    default: {}
  cryptostats:
    description:
      - ntpd's cryptostats file. Without it the identity proof is inferred from the flags and errors are unknown.
        Not read with O(daemon=ntpsec) (RV(status.cryptostats) says so).
    type: path
    default: /var/log/ntpstats/cryptostats
  keysdir:
    description:
      - ntpd's keys directory, to name missing params and group keys, and to see files newer than the daemon.
        Not read with O(daemon=ntpsec).
    type: path
    default: /etc/ntp
  config:
    description:
      - ntpd's configuration file; a change after the daemon started means a restart is pending. Default
        C(/etc/ntp.conf), with O(daemon=ntpsec) C(/etc/ntpsec/ntp.conf).
    type: path
  offers:
    description:
      - The identity scheme this host must offer to its clients (trusted hosts and group servers).
        A host that does not offer it is reported as a problem.
    type: str
    choices: [iff, gq, mv]
  require_identity:
    description:
      - Report certificate-only trust (C(tc-only), C(tc-fallback)) as a problem. Set V(false) only for a
        policy that accepts TC, which any host with a Trust Root certificate of the right name can pass.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Nothing changes.
  action_group:
    support: full
    membership: [ntp.autokey.keys]
    description: Part of the action group C(ntp.autokey.keys), so C(module_defaults) can set O(keysdir) once.
notes:
  - An association is C(pending) until it reaches a verdict; poll with C(until) on RV(status.converged).
    A verdict that waiting cannot change (an upstream that will not synchronise, a failure whose cause the
    params on disk show) ends the wait at once.
  - C(docs/troubleshooting.md) in the collection shows each verdict with real output from the lab.
'''

EXAMPLES = r'''
- name: Read the Autokey state of a group server
  ntp.autokey.status_info:
    offers: iff
  register: autokey_status
  until: autokey_status.status.converged
  retries: 60
  delay: 5

- name: Every association verified through an identity exchange
  ansible.builtin.assert:
    that: autokey_status.status.problems | length == 0
    fail_msg: "{{ autokey_status.status.problems }}"

# On a group server: what the customer's trusted host (not managed by Ansible) presents now. Its ntp.conf
# must let this group server query it: a restrict line for this address without noquery.
- name: Read the trusted host's certificate and offered scheme from here
  ntp.autokey.status_info:
    server: stratum1.customer.example
  register: customer_th
'''

RETURN = r'''
status:
  description: The host's Autokey state.
  returned: success
  type: dict
  contains:
    host:
      description: Own certificate CN (C(host@group)).
      type: str
      sample: gs@lab
    group:
      description: Group part of the CN.
      type: str
      sample: lab
    version:
      description: The daemon's version as ntpq shows it (system variable C(version)).
      type: str
      sample: ntpd 4.2.8p15@1.3728-o Wed Sep 23 11:46:38 UTC 2020 (1)
    daemon_identity:
      description:
        - What that version says runs here. C(kind) is C(ntpd) (the reference ntpd built with OpenSSL, which has
          Autokey), C(ntpd-no-openssl), C(ntpsec) (no Autokey; what Debian 12 and later install for the package
          C(ntp)) or C(unknown); C(name) is for example C(ntpd 4.2.8p15) or C(ntpsec 1.2.2); C(autokey) whether
          the daemon can run Autokey at all.
        - "A host without Autokey flags on a daemon that replaced ntpd has the problem C(ntpsec 1.2.2 replaced
          ntpd: Autokey is gone ...), with what it synchronises to and whether that is authenticated. With
          O(daemon=ntpsec) ntpsec is expected there: another daemon is the problem C(not ntpsec: ntpd 4.2.8p15
          answers ntpq here ...)."
      type: dict
      sample: {kind: ntpsec, name: ntpsec 1.2.2, autokey: false}
    expected_daemon:
      description: The daemon deployed here as O(daemon) says (V(ntpd) or V(ntpsec)), against which it was judged.
      type: str
      sample: ntpsec
    flags:
      description: The system flags word decoded (see the P(ntp.autokey.crypto_flags#filter) filter).
      type: dict
    offers:
      description: Identity schemes this host offers to its clients.
      type: list
      elements: str
      sample: [iff]
    synchronised:
      description: Whether ntpd is synchronised (stratum below 16 and a system peer).
      type: bool
    certificates:
      description: ntpd's certificate cache (subject, issuer, flags, flag_names, until, self_signed, own, trusted, expired).
      type: list
      elements: dict
    cryptostats:
      description: Whether O(cryptostats) was read, C(read), C(not available) (missing), or C(not read) and why
        (a remote O(server); O(daemon=ntpsec), which has no Autokey; a file that is not a regular one).
      type: str
      sample: 'not read: ntpsec has no Autokey'
    loaded:
      description: Filestamps of the certificate and group keys the running daemon loaded (from cryptostats).
      type: dict
      sample: {certificate: 4004517315, group_keys: {iff: 4004517309}}
    files:
      description: Names in the keys directory that start with C(ntpkey_), with their link targets (null for plain files).
      type: dict
    params:
      description:
        - The client params files in the keys directory (public), by link name (C(ntpkey_iffpar_lab)), each with
          C(file), C(filestamp), C(scheme), C(layout) (C(verifiable), C(stock) for C(ntp-keygen -e) output that
          ntpd 4.2.8p15 cannot verify, C(server key), C(unreadable)) and C(problem) (null when usable).
      type: dict
    associations:
      description:
        - One entry per association. Its C(method) is C(autokey), C(symmetric), C(nts) (chrony, ntpsec) or C(none); its
          C(state) is C(verified), C(tc-only), C(tc-fallback), C(symmetric) (authenticated by its key), C(nts)
          (authenticated by NTS), C(pending), C(failing) or C(none) (not authenticated); symmetric ones carry
          C(key_id) and C(key_type); its C(verdict) says it in words, for example C(iff verified),
          C(symmetric key 20 (AES128CMAC) ok), V(NTS with gs (10.89.0.3\) ok (AEAD 15 AES-SIV-CMAC-256, key 256 bits,
          8 cookies\)), V(NTS with ns (192.0.2.11\) ok (8 cookies\)) (ntpsec), C(tc-only) followed by the reason, or
          C(failing) followed by the cryptostats error; C(hint) says what to do.
        - chrony sources also carry C(name) (the name of the configuration, null when unknown), C(key_length) (bits),
          and for NTS C(cookies) and C(ke_attempts) (NTS-KE attempts since the last success), else null; for NTS,
          C(key_id) counts successful key establishments and C(key_type) is the AEAD (C(AES-SIV-CMAC-256),
          C(AES-128-GCM-SIV)).
        - ntpsec associations carry C(name) (its C(srchost), the name of the server line; null for an address) and,
          for NTS, C(cookies) (ntpsec's C(ntscookies), 0 before the first NTS key establishment); their C(address)
          is C(0.0.0.0) until NTS key establishment succeeded.
        - Also address, cn, mode (C(client), C(bclient) for a broadcast or multicast client, ...), signature, ident,
          flags (decoded), reach, selection, synchronised, step, waiting_for,
          proof (the cryptostats line of the identity exchange), identity_filestamp, errors, restarts, trail
          (certificate subjects up to the trust root) and trust_root (subject, until, filestamp).
      type: list
      elements: dict
    converged:
      description: No association is pending; each has a verdict that waiting would not change.
      type: bool
    synchronised_authenticated:
      description: Whether the host is synchronised to an association that is Autokey-verified, symmetric ok or NTS ok.
      type: bool
    own_clock_stratum:
      description: With O(daemon=chrony), the stratum at which chronyd serves its own clock (C(local stratum), a
        trusted host with no server line), null otherwise.
      type: int
      returned: with O(daemon=chrony)
    daemon:
      description:
        - The ntpd being judged, C(pid) and C(source) (how it was found, for example C(pidfile /run/ntpd.pid),
          C(service ntp), C(the only ntpd process)), or C(pid) null and C(source) saying why not (several ntpd
          processes and no pidfile, a remote O(server)).
      type: dict
    daemon_started:
      description: When the judged ntpd started (Unix seconds), from C(/proc); null when it runs elsewhere or
        cannot be told apart from other ntpd processes.
      type: float
    changed_since_start:
      description: Key files (and the configuration file) modified after ntpd started; ntpd reads them only at start.
      type: list
      elements: str
    restart_needed:
      description: Whether ntpd runs on key material or configuration older than what is on disk; null when
        RV(status.daemon_started) is.
      type: bool
    problems:
      description:
        - What keeps this host from being protected, one sentence each; empty when all is well.
        - Includes O(config), or ntpsec's C(/etc/ntpsec/ntp.conf), holding a crypto password while others may
          read it (Debian's ntpsec package copies C(/etc/ntp.conf) there with mode 0644 on the upgrade).
      type: list
      elements: str
'''

import os
import re
import socket
import stat
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import chrony as chrony_status
from ansible_collections.ntp.autokey.plugins.module_utils.autokey import status as autokey_status
from ansible_collections.ntp.autokey.plugins.module_utils.autokey import symmetric
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import read_file
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.module_support import require_python


def keysdir_names(path, mtimes=None):
    """{name: link target or None} of ntpkey_* entries; {} when the directory cannot be read.
    Fills `mtimes` with each entry's own modification time (a link's, not its target's)."""
    try:
        names = os.listdir(path)
    except OSError:
        return {}
    found = {}
    for name in sorted(names):
        if name.startswith('ntpkey_'):
            full = os.path.join(path, name)
            found[name] = os.readlink(full) if os.path.islink(full) else None
            if mtimes is not None:
                mtimes[name] = os.lstat(full).st_mtime
    return found


PARAMS_LINK = re.compile(r'^ntpkey_(iff|gq|mv)par_(?!.*[.][0-9]+$)')  # the links, not the stamped files
LOCAL_SERVERS = ('', 'localhost', '127.0.0.1', '::1', 'ip6-localhost')
# where Debian's ntpsec package copies /etc/ntp.conf, mode 0644, when an upgrade replaces ntpd (docs/ntpsec.md)
NTPSEC_CONFIG = '/etc/ntpsec/ntp.conf'


def resolved(upstreams):
    """{IP address: text} for {name or address: text}: each name as getaddrinfo gives it (what ntpd did with the
    server line), the name itself too; a name that does not resolve keeps only itself."""
    found = {}
    for name, text in (upstreams or {}).items():
        name, text = str(name), str(text)
        found[name] = text
        try:
            infos = socket.getaddrinfo(name, 123, 0, socket.SOCK_DGRAM)
        except (OSError, UnicodeError, ValueError):
            continue
        for info in infos:
            found[info[4][0]] = text
    return found


def exposed_passwords(paths):
    """Findings for the configuration files among `paths` that hold a crypto password others may read. Only
    regular files are read (a link or a device is not a configuration file ntpd wrote), at most 1 MiB of each."""
    found = []
    for path in sorted(set(paths)):
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_mode & 0o044:
            finding = autokey_status.exposed_password(path, read_text(path, 1 << 20), info.st_mode)
            if finding:
                found.append(finding)
    return found


def _boot_time(proc, now=None):
    """When the machine booted, in Unix seconds: now less /proc/uptime (1/100 s); else /proc/stat's btime, whole
    seconds only, which puts every start up to a second early, so that files written just before a start would
    count as changed after it."""
    try:
        with open(os.path.join(proc, 'uptime')) as handle:
            return (time.time() if now is None else now) - float(handle.read().split()[0])
    except (OSError, IndexError, ValueError):
        pass
    with open(os.path.join(proc, 'stat')) as handle:
        return int([line.split()[1] for line in handle if line.startswith('btime ')][0])


def _processes(name, proc='/proc'):
    """{pid: (start time in Unix seconds, parent pid)} of every process called `name`; None when /proc cannot be
    read. A stat line that is not what the kernel writes is skipped."""
    try:
        boot = _boot_time(proc)
        pids = [p for p in os.listdir(proc) if p.isdigit()]
    except (OSError, IndexError, ValueError):
        return None
    found = {}
    for pid in pids:
        try:
            with open(os.path.join(proc, pid, 'stat')) as handle:
                text = handle.read()
        except OSError:
            continue
        command, rest = text[text.find('(') + 1:text.rfind(')')], text[text.rfind(')') + 2:].split()
        if command == name and len(rest) > 19 and rest[1].isdigit() and rest[19].isdigit():
            found[int(pid)] = (boot + int(rest[19]) / float(os.sysconf('SC_CLK_TCK')), int(rest[1]))
    return found


def ntpd_processes(proc='/proc'):
    """{pid: start time (Unix seconds)} of every process named ntpd; {} when /proc cannot be read."""
    return dict((pid, started) for pid, (started, dummy) in (_processes('ntpd', proc) or {}).items())


PID = re.compile(r'[0-9]{1,10}\Z')  # ASCII digits only ('²'.isdigit() is true)


def read_pid(path):
    """The pid written in a pidfile (its first 64 bytes, a regular file, no link followed); None when it is missing
    or holds no number."""
    text = read_text(path, 64) if path else None
    return int(text.strip()) if text and PID.match(text.strip()) else None


def running_daemon(processes, pidfile_pid=None, pidfile=None, service_pid=None, service=None):
    """{'pid', 'started', 'source'} of the ntpd being judged: the pidfile's, else the service's main process,
    else the only ntpd process; pid None (and source saying why) when none of them names a running ntpd."""
    for pid, source in ((pidfile_pid, 'pidfile %s' % pidfile), (service_pid, 'service %s' % service)):
        if pid in processes:
            return dict(pid=pid, started=processes[pid], source=source)
    if len(processes) == 1:
        pid = list(processes)[0]
        return dict(pid=pid, started=processes[pid], source='the only ntpd process')
    if not processes:
        return dict(pid=None, started=None, source='no ntpd process on this machine')
    return dict(pid=None, started=None,
                source='%d ntpd processes, and neither the pidfile (%s) nor the service names one of them: give '
                       'pidfile' % (len(processes), pidfile))


def service_pid(module, names):
    """Main pid systemd gives for the first of `names` that has one; None without systemd."""
    systemctl = module.get_bin_path('systemctl')
    if not systemctl or not os.path.isdir('/run/systemd/system'):
        return None, None
    for name in names:
        rc, out, dummy = module.run_command([systemctl, 'show', '--property', 'MainPID', name])
        value = out.strip().split('=', 1)[-1] if rc == 0 else ''
        if value.isdigit() and int(value):
            return int(value), name
    return None, None


def daemon_started(proc='/proc'):
    """Start time (Unix seconds) of the only ntpd process; None when there is none or several."""
    return running_daemon(ntpd_processes(proc))['started']


def params_facts(path, files):
    """read_params facts of every params link (ntpkey_<s>par_<group>) in the keysdir; a file read_params_file
    refuses (a link out of the keys directory, a FIFO, a device, too large) is a problem named without its content."""
    found = {}
    for name in files:
        if PARAMS_LINK.match(name):
            text, problem = autokey_status.read_params_file(path, name)
            if text is not None or problem:
                found[name] = autokey_status.read_params(name, text, refused=problem)
    return found


def read_text(path, limit=16 << 20):
    return autokey_status.read_text(path, limit)


def key_types(path):
    """{key ID: type} of ntpd's key file; {} when it cannot be read (the verdicts then name no type)."""
    try:
        keys, dummy = symmetric.parse(read_file(path, follow=False), 'ntpd')
    except (AutokeyError, OSError, UnicodeDecodeError):
        return {}
    return dict((key_id, kind) for key_id, (kind, dummy) in keys.items())


def chronyc(module, *command, **kw):
    """chronyc's output; a failure ends the module, or gives None with optional=True (an option older chronyc lacks)."""
    rc, out, err = module.run_command([module.params['chronyc']] + list(command))
    if rc != 0:
        if kw.get('optional'):
            return None
        module.fail_json(msg='chronyc %s failed (is chronyd running?): %s' % (' '.join(command), (err or out).strip()[:300]),
                         rc=rc)
    return out


CHRONYD_PIDFILE = '/run/chrony/chronyd.pid'


def chronyd_running_for(proc='/proc', pidfile=CHRONYD_PIDFILE, now=None):
    """Seconds the chronyd of this host has run: its pidfile's process, else the only chronyd process whose parent
    is not a chronyd (its NTS helpers are); None when that cannot be told."""
    processes = _processes('chronyd', proc)
    if processes is None:
        return None
    pid = read_pid(pidfile)
    if pid not in processes:
        main = [p for p, (dummy, parent) in processes.items() if parent not in processes]
        pid = main[0] if len(main) == 1 else None
    if pid is None:
        return None
    return (time.time() if now is None else now) - processes[pid][0]


def chrony_main(module):
    try:
        sources = chronyc(module, '-n', '-c', 'sources')
        names = chronyc(module, '-c', '-N', 'sources', optional=True)  # chrony 4.0 and later
        result = chrony_status.assess(sources, chronyc(module, '-n', '-c', 'authdata'),
                                      chronyc(module, '-c', 'ntpdata'), chronyc(module, '-c', 'tracking'),
                                      forbidden_types=module.params['forbidden_key_types'], names_text=names,
                                      running_for=chronyd_running_for())
    except AutokeyError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, status=result)


def ntpq(module, commands, assid=None, headers=True):
    """ntpq's output of `commands`. With `assid` (one `rv` of that association first), a status line printed without
    `associd=` (ntpsec 1.2.0's ntpq; 1.2.2's and ntpd's print it) gets it, so every build reads alike. headers=False:
    output without any `associd=` is returned as it is (the caller asks again, one association at a time)."""
    args = [module.params['ntpq'], '-n']
    for command in commands:
        args += ['-c', command]
    if module.params['server']:
        args.append(module.params['server'])
    try:
        rc, out, err = module.run_command(args, handle_exceptions=False)
    except OSError as exc:
        module.fail_json(msg='cannot run ntpq %r on this host (%s): install the package that has it (Debian 11: ntp; '
                             'ntpsec: ntpsec-ntpq) or give the ntpq option its path'
                         % (args[0], exc.strerror or exc))
    if rc == 0 and assid is not None and 'associd=' not in out and out.lstrip().startswith('status='):
        out = 'associd=%d %s' % (assid, out.lstrip())
    if rc != 0 or ('associd=' not in out and headers):
        module.fail_json(msg='ntpq could not read ntpd (is it running and allowed to answer queries from here?): %s'
                         % (err or out).strip()[:300], rc=rc)
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ntpq=dict(type='str', default='ntpq'),
            server=dict(type='str'),
            cryptostats=dict(type='path', default='/var/log/ntpstats/cryptostats'),
            keysdir=dict(type='path', default='/etc/ntp'),
            config=dict(type='path'),
            offers=dict(type='str', choices=['iff', 'gq', 'mv']),
            require_identity=dict(type='bool', default=True),
            pidfile=dict(type='path', default='/run/ntpd.pid'),
            service=dict(type='str'),
            stuck=dict(type='list', elements='str', default=[]),
            replaced=dict(type='dict', default={}),
            daemon=dict(type='str', default='ntpd', choices=['ntpd', 'ntpsec', 'chrony']),
            chronyc=dict(type='str', default='chronyc'),
            keys_file=dict(type='path'),
            forbidden_key_types=dict(type='list', elements='str', default=['MD5'], no_log=False),
        ),
        supports_check_mode=True,
    )
    require_python(module)
    if module.params['daemon'] == 'chrony':
        chrony_main(module)
    system = ntpq(module, ['rv 0', 'as'], assid=0)
    ntpsec = module.params['daemon'] == 'ntpsec'
    if not module.params['keys_file']:
        module.params['keys_file'] = '/etc/ntpsec/ntp.keys' if ntpsec else '/etc/ntp/ntp.keys'
    if not module.params['config']:
        module.params['config'] = NTPSEC_CONFIG if ntpsec else '/etc/ntp.conf'
    try:
        assids = [row['assid'] for row in autokey_status.ntpq.read_associations(system)]
        peers = ntpq(module, ['rv %d' % assid for assid in assids], headers=False) if assids else ''
        if assids and 'associd=' not in peers:  # (ntpsec 1.2.0: one call per association, each named)
            peers = '\n'.join(ntpq(module, ['rv %d' % assid], assid=assid) for assid in assids)
        mtimes, remote = {}, (module.params['server'] or '').strip() not in LOCAL_SERVERS
        stats_problem = None
        if remote:  # nothing of that host is on this machine: only what ntpq tells
            files, params, stats, types = {}, {}, None, {}
            daemon = dict(pid=None, started=None, source='remote server %s: its process is not visible from here'
                          % module.params['server'])
        else:
            types = key_types(module.params['keys_file'])
            if ntpsec:  # no Autokey: no keys directory, no cryptostats; its key file is read at start
                files, params, stats = {}, {}, None
                if os.path.exists(module.params['keys_file']):
                    mtimes[os.path.basename(module.params['keys_file'])] = os.stat(module.params['keys_file']).st_mtime
            else:
                files = keysdir_names(module.params['keysdir'], mtimes)
                params = params_facts(module.params['keysdir'], files)
                stats, stats_problem = autokey_status.read_log(module.params['cryptostats'])
            if os.path.exists(module.params['config']):
                mtimes[os.path.basename(module.params['config'])] = os.stat(module.params['config']).st_mtime
            processes = ntpd_processes()  # ntpsec's daemon is called ntpd too
            by_service, name = (None, None)
            pid = read_pid(module.params['pidfile'])
            if pid not in processes:
                by_service, name = service_pid(module, [module.params['service']] if module.params['service']
                                               else ['ntpsec'] if ntpsec else ['ntp', 'ntpd'])
            daemon = running_daemon(processes, pid, module.params['pidfile'], by_service, name)
        result = autokey_status.assess(system, peers, stats, files,
                                       require_identity=module.params['require_identity'],
                                       offers=module.params['offers'], params=params,
                                       stuck=module.params['stuck'], key_types=types,
                                       forbidden_types=module.params['forbidden_key_types'],
                                       replaced=resolved(module.params['replaced']),
                                       daemon='ntpsec' if ntpsec else 'ntpd')
        if remote:
            result['cryptostats'] = 'not read: remote server'
        elif ntpsec:
            result['cryptostats'] = 'not read: ntpsec has no Autokey'
            result['problems'] += exposed_passwords([module.params['config'], NTPSEC_CONFIG])
        elif stats_problem:
            result['cryptostats'] = 'not read: %s' % stats_problem
        else:
            result['problems'] += exposed_passwords([module.params['config'], NTPSEC_CONFIG])
        result['daemon'] = dict((k, daemon[k]) for k in ('pid', 'source'))
        result.update(autokey_status.restart_facts(daemon['started'], mtimes))
    except AutokeyError as exc:
        module.fail_json(msg='cannot understand ntpq output: %s' % exc)
    module.exit_json(changed=False, status=result)


if __name__ == '__main__':
    main()
