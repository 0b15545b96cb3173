# -*- coding: utf-8 -*-
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Modules that write key material (ntp.autokey.keysdir). ansible-test reads fragments as literal
    # strings, so the keysdir option is spelled out in both fragments.
    DOCUMENTATION = r'''
options:
  keysdir:
    description:
      - The keys directory (C(keysdir) in C(ntp.conf)).
      - Created with mode C(0750) if missing.
      - Debian's ntpd may only read C(/etc/ntp/) under its AppArmor profile.
      - C(path) is an alias, the name of this option before 0.2.0.
    type: path
    default: /etc/ntp
    aliases: [path]
  regenerate:
    description:
      - When to replace existing key material, as in C(community.crypto).
      - C(never) keeps readable existing keys even when they differ from the options (missing files are still created).
      - C(fail) fails when existing keys differ from the options.
      - C(partial_idempotence) replaces keys that differ from the options; a key that cannot be read
        (wrong passphrase, damaged file) makes the task fail and nothing is changed.
      - C(full_idempotence) also replaces keys that cannot be read.
      - C(always) makes new keys on every run (a rollover); not idempotent.
    type: str
    choices: [never, fail, partial_idempotence, full_idempotence, always]
    default: partial_idempotence
  backup:
    description:
      - Keep replaced files in O(keysdir). Their names carry their filestamp, so a replaced file is its own backup;
        the links show which file is current.
      - With V(false) replaced files are removed.
    type: bool
    default: true
  mode:
    description:
      - Mode of the files written. Key files must not be readable by others.
    type: str
    choices: ['0600', '0640']
    default: '0600'
  replace_before:
    description:
      - Rollover. Key material whose filestamp is older than this time is replaced (host and sign keys with their
        certificate; the group key on the trusted host, when M(ntp.autokey.group_keys) generates it).
      - A UTC time such as V(2026-11-24T15:00:00Z) or V(2026-11-24 15:00), or NTP seconds. It must not lie in the
        future. Give the time the rollover was decided and keep it when rerunning an interrupted rollover; material
        made by the first run is newer and is kept, so reruns converge.
    type: str
notes:
  - Files are written atomically (temporary file, then rename) and links are replaced atomically.
  - ntpd reads key files only at start; restart it after a change.
attributes:
  check_mode:
    support: full
    description: Decides what would change and writes nothing.
  diff_mode:
    support: full
    description: Shows filestamps and fingerprints, never key bytes.
'''

    # Read-only modules (ntp.autokey.keysdir.read_only): the keysdir option alone.
    READ_ONLY = r'''
options:
  keysdir:
    description:
      - The keys directory (C(keysdir) in C(ntp.conf)).
      - Only read; nothing in it is written or changed.
      - Debian's ntpd may only read C(/etc/ntp/) under its AppArmor profile.
      - C(path) is an alias, the name of this option before 0.2.0.
    type: path
    default: /etc/ntp
    aliases: [path]
'''
