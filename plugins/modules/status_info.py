#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: status_info
short_description: What ntpd's Autokey associations really verified, in plain words
version_added: 0.1.0
description:
  - Reads ntpd's state through C(ntpq) (C(rv 0) system variables with the certificate cache, C(as), and
    C(rv <assid>) of every association), the cryptostats file and the names of the files in the keys directory.
  - Judges each association by what ntpd 4.2.8p15 actually does. VRFY set with C(ident) and a scheme bit
    can only come from a real identity exchange. VRFY without C(ident) is certificate-only trust (TC).
    VRFY with C(ident) but without a scheme bit means the server offers no scheme and ntpd fell back to TC.
    The scheme bits of an association are copied from the server's status word, so they prove nothing on
    their own.
  - Reads file names and link targets in the keys directory, never file contents.
author:
  - ntp.autokey developers (@ntp-autokey)
options:
  ntpq:
    description:
      - The ntpq program (name looked up in C(PATH), or a path).
    type: str
    default: ntpq
  server:
    description:
      - The ntpd to query. The default is ntpq's own (localhost); remote ntpd usually refuse queries (C(noquery)).
    type: str
  cryptostats:
    description:
      - ntpd's cryptostats file. Without it the identity proof is inferred from the flags and errors are unknown.
    type: path
    default: /var/log/ntpstats/cryptostats
  keysdir:
    description:
      - ntpd's keys directory, to name missing params and group keys, and to see files newer than the daemon.
    type: path
    default: /etc/ntp
  config:
    description:
      - ntpd's configuration file; a change after the daemon started means a restart is pending.
    type: path
    default: /etc/ntp.conf
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
notes:
  - An association is C(pending) until it reaches a verdict; poll with C(until) on RV(status.converged).
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
    loaded:
      description: Filestamps of the certificate and group keys the running daemon loaded (from cryptostats).
      type: dict
      sample: {certificate: 4004517315, group_keys: {iff: 4004517309}}
    files:
      description: Names in the keys directory that start with C(ntpkey_), with their link targets (null for plain files).
      type: dict
    associations:
      description:
        - One entry per association. Its C(state) is C(verified), C(tc-only), C(tc-fallback), C(pending),
          C(failing) or C(none) (not Autokey); its C(verdict) says it in words, for example C(iff verified),
          C(tc-only) followed by the reason, or C(failing) followed by the cryptostats error; C(hint) says what to do.
        - Also address, cn, mode (C(client), C(bclient) for a broadcast or multicast client, ...), signature, ident,
          flags (decoded), reach, selection, synchronised, step, waiting_for,
          proof (the cryptostats line of the identity exchange), identity_filestamp, errors, restarts, trail
          (certificate subjects up to the trust root) and trust_root (subject, until, filestamp).
      type: list
      elements: dict
    converged:
      description: No association is pending.
      type: bool
    daemon_started:
      description: When the running ntpd started (Unix seconds), from C(/proc); null when it runs elsewhere.
      type: float
    changed_since_start:
      description: Key files (and the configuration file) modified after ntpd started; ntpd reads them only at start.
      type: list
      elements: str
    restart_needed:
      description: Whether ntpd runs on key material or configuration older than what is on disk.
      type: bool
    problems:
      description: What keeps this host from being protected, one sentence each; empty when all is well.
      type: list
      elements: str
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import status as autokey_status
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError


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


def daemon_started(proc='/proc'):
    """Start time (Unix seconds) of the oldest ntpd process, from /proc; None when there is none."""
    try:
        with open(os.path.join(proc, 'stat')) as handle:
            boot = int([line.split()[1] for line in handle if line.startswith('btime ')][0])
        pids = [p for p in os.listdir(proc) if p.isdigit()]
    except (OSError, IndexError, ValueError):
        return None
    starts = []
    for pid in pids:
        try:
            with open(os.path.join(proc, pid, 'stat')) as handle:
                stat = handle.read()
        except (IOError, OSError):
            continue
        name, rest = stat[stat.find('(') + 1:stat.rfind(')')], stat[stat.rfind(')') + 2:].split()
        if name == 'ntpd':
            starts.append(boot + int(rest[19]) / float(os.sysconf('SC_CLK_TCK')))
    return min(starts) if starts else None


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def ntpq(module, commands):
    args = [module.params['ntpq'], '-n']
    for command in commands:
        args += ['-c', command]
    if module.params['server']:
        args.append(module.params['server'])
    rc, out, err = module.run_command(args)
    if rc != 0 or 'associd=' not in out:
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
            config=dict(type='path', default='/etc/ntp.conf'),
            offers=dict(type='str', choices=['iff', 'gq', 'mv']),
            require_identity=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    system = ntpq(module, ['rv 0', 'as'])
    try:
        assids = [row['assid'] for row in autokey_status.ntpq.read_associations(system)]
        peers = ntpq(module, ['rv %d' % assid for assid in assids]) if assids else ''
        mtimes = {}
        files = keysdir_names(module.params['keysdir'], mtimes)
        if os.path.exists(module.params['config']):
            mtimes[os.path.basename(module.params['config'])] = os.stat(module.params['config']).st_mtime
        result = autokey_status.assess(system, peers, read_text(module.params['cryptostats']), files,
                                       require_identity=module.params['require_identity'],
                                       offers=module.params['offers'])
        result.update(autokey_status.restart_facts(daemon_started(), mtimes))
    except AutokeyError as exc:
        module.fail_json(msg='cannot understand ntpq output: %s' % exc)
    module.exit_json(changed=False, status=result)


if __name__ == '__main__':
    main()
