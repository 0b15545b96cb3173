# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # Modules that write key material (ntp.autokey.keysdir). ansible-test reads fragments as literal
    # strings, so the keysdir option is spelled out in both fragments.
    DOCUMENTATION = r'''
options:
  keysdir:
    description:
      - The keys directory (C(keysdir) in C(ntp.conf)).
      - Created with mode C(0750) if missing.
      - It must belong to root (or to the user the module runs as). One owned by another account is refused, since
        that account could replace key files and links behind ntpd; give it to root or choose a directory of its own.
      - Group or other write permission on it is taken off before anything is read (a change, with its reason and in
        the diff; not in check mode, which only reports it). A shared sticky directory such as C(/tmp) is refused.
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
      - C(full_idempotence) also replaces keys that cannot be read, and links ntpd's files must not be (see the notes).
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
      - Mode of the files written, and of the existing files the links name. Key files must not be readable by others.
      - Existing files whose mode or owner differ (owner root, or the user the module runs as; the group is kept) are
        corrected, reported as a change with its reason and in the diff.
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
  - The keys directory is a boundary. A link ntpd opens is used only when it is one file name in the same directory
    naming a regular file, as C(ntp-keygen) makes it. Any other entry at that name (a link that is absolute, contains
    C(/) or C(..), or points at a link, a FIFO, a device or a directory; a FIFO or device itself) is never followed;
    the task fails naming it, or with O(regenerate=full_idempotence) or V(always) it is replaced by a link to material
    made here. What it pointed to is never read, changed, removed or reported as a backup. A directory at that name
    always fails the task.
  - Only regular files with a single name and at most 1 MiB are read, without following links and without blocking.
  - New files are written under unique temporary names first; then the links are switched together. If anything
    fails, the previous links are put back and the new files removed, so ntpd always finds either the old set or the
    new one. On failure nothing is changed.
  - Runs on the same keys directory wait for each other (a lock on the directory itself, shared in check mode; no
    lock file is created).
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
      - Only read; nothing in it is written or changed. Links are followed only to a file in the same directory.
      - Debian's ntpd may only read C(/etc/ntp/) under its AppArmor profile.
      - C(path) is an alias, the name of this option before 0.2.0.
    type: path
    default: /etc/ntp
    aliases: [path]
'''
