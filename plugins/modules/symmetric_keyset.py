#!/usr/bin/python
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r'''
module: symmetric_keyset
short_description: The fleet's symmetric keys, generated and kept in one file on the controller
version_added: 0.1.0
description:
  - Keeps a JSON file of named symmetric keys (run it on the controller, C(delegate_to localhost),
    C(run_once)). A key is made when its name first appears, with the lowest free ID of O(id_range) that no
    other key of the set and none of O(reserved_ids) holds, so IDs never collide across the fleet.
  - A rotation makes a new current key and keeps the old one as previous until it is retired in a later
    run, so every host can hold and trust both while associations switch (docs/symmetric-keys.md).
    Rerunning a rotation does nothing until the previous key is retired.
  - Secrets are random bytes (C(os.urandom)); a key of purpose V(control) is random letters and digits,
    because ntpq sends its password as text.
  - The result holds no secret, only names, IDs, types and creation times. Tasks that need the secrets read
    the key set file, for example with the C(ansible.builtin.file) lookup and the C(from_json) filter on the
    controller (see EXAMPLES). In check mode the keys a run would make are listed with RV(keys[].planned=true) and no secret
    exists for them yet.
  - Runs on one file are serialised by an exclusive lock (C(flock)) on C(PATH.lock) next to it, held from
    reading the file to replacing it, so that runs at the same time never lose a key nor give one ID two
    secrets. The lock file (mode 0600, empty) exists only while a run holds it. Check mode only reads the
    file (it is replaced by a rename, so a read sees one whole set) and takes no lock.
  - The file is mode 0600, written under a temporary name in its directory, synced and renamed into place.
    An existing file of another mode is set to 0600 (reported as a change).
  - A damaged or hostile file is refused with a message naming it and the fix, and never overwritten. That is
    a file that is not a regular file (a link, a FIFO, a directory), is larger than 32 MiB, is not JSON, nests
    deeper than 16 levels, holds a name twice in one JSON object, or holds keys that are not valid.
  - Every run must list all keys of the set in O(keys), since keys not listed are removed.
  - Sites that keep keys in a vault instead give M(ntp.autokey.symmetric_keys) their keys directly.
author:
  - ntp.autokey developers (@ntp-autokey)
options:
  path:
    description: The key set file on the controller; created when missing.
    type: path
    required: true
  keys:
    description: Every key of the set; keys not listed are removed from it.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the key (letters, digits, C(.), C(-), C(_)).
        type: str
        required: true
      type:
        description: Key type (see M(ntp.autokey.symmetric_keys)).
        type: str
        choices: [AES128CMAC, AES256CMAC, SHA1, SHA256, SHA512, MD5]
        default: AES128CMAC
      purpose:
        description: V(control) for ntpd's controlkey (typed into ntpq), V(association) otherwise.
        type: str
        choices: [association, control]
        default: association
  rotate:
    description: Names whose current key is replaced by a new one (the old one stays as previous).
    type: list
    elements: str
    default: []
  retire:
    description: Names whose previous key is removed, once no association uses it.
    type: list
    elements: str
    default: []
  id_range:
    description: Lowest and highest ID to allocate.
    type: list
    elements: int
    default: [1, 65535]
  reserved_ids:
    description: IDs held elsewhere (appliances, other fleets), never allocated.
    type: list
    elements: int
    default: []
  lock_timeout:
    description: Seconds to wait for another run that holds the lock of the file before failing (nothing is
      changed then).
    type: int
    default: 300
    version_added: 0.2.0
'''

EXAMPLES = r'''
- name: The fleet's keys
  ntp.autokey.symmetric_keyset:
    path: "{{ inventory_dir }}/ntp-keyset.json"
    keys:
      - name: upstream
      - name: control
        purpose: control
  delegate_to: localhost
  run_once: true
  register: fleet_keys

# The result holds no secret: read them from the key set file (on the controller, where the file is).
- name: The keys as ntp.autokey.symmetric_keys and the roles' autokey_symmetric_keys take them
  ansible.builtin.set_fact:
    autokey_symmetric_keys: "{{ autokey_symmetric_keys | default([]) + [{'id': item.id, 'type': item.type,
                                                                         'secret': item.secret}] }}"
  loop: "{{ (lookup('ansible.builtin.file', fleet_keys.path) | from_json)['keys'] | dict2items
            | map(attribute='value') | map('dict2items') | flatten | map(attribute='value') }}"
  no_log: true  # the items hold the secrets

- name: The ID of the current upstream key (no secret needed)
  ansible.builtin.debug:
    msg: "{{ fleet_keys.ids.upstream.current }}"
'''

RETURN = r'''
path:
  description: The key set file (absolute); read it for the secrets.
  returned: success
  type: str
  sample: /srv/inventory/ntp-keyset.json
keys:
  description:
    - Every key of the set (current and previous ones) by ID, without its secret.
    - In check mode, the keys the run would make are listed with C(planned=true); the real run makes them with
      the same IDs unless another run changes the file first.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The name of the key.
      type: str
      returned: success
      sample: upstream
    state:
      description: V(current) or V(previous) (kept until it is retired).
      type: str
      returned: success
      sample: current
    id:
      description: The key ID.
      type: int
      returned: success
      sample: 2
    type:
      description: The key type.
      type: str
      returned: success
      sample: AES128CMAC
    created:
      description: When the key was made (UTC, ISO 8601).
      type: str
      returned: when the key is in the file (not planned)
      sample: '2024-05-01T10:00:00Z'
    planned:
      description: True for a key that check mode would make; it is not in the file and has no secret yet.
      type: bool
      returned: success
      sample: false
ids:
  description: The IDs by name and state; no secret.
  returned: success
  type: dict
  sample: {"upstream": {"current": 2, "previous": 1}}
reasons:
  description: What changed (or would change, in check mode) and why, by name; a change of the file's mode under
    the file's path. No secret.
  returned: success
  type: dict
  sample: {"upstream": "new key 2 (AES128CMAC)", "/srv/inventory/ntp-keyset.json": "mode 0644 set to 0600"}
'''

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import read_file
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.keyset import MAX_SIZE, dump, load, plan, public
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.symmetric import TYPES
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.module_support import require_python

MODE = 0o600
O_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
KINDS = ((stat.S_ISDIR, 'a directory'), (stat.S_ISFIFO, 'a FIFO'), (stat.S_ISSOCK, 'a socket'),
         (stat.S_ISCHR, 'a character device'), (stat.S_ISBLK, 'a block device'), (stat.S_ISLNK, 'a link'))


class KeysetError(AutokeyError):
    """The key set file or its lock cannot be used; the message names it and the fix."""


def kind_of(mode):
    for test, what in KINDS:
        if test(mode):
            return what
    return 'not a regular file'


def _refuse_lock(lock, what):
    raise KeysetError('the lock file %s of the key set is %s, not a regular file: remove it (runs make it while '
                      'they hold it). Nothing was changed' % (lock, what))


@contextlib.contextmanager
def locked(path, timeout):
    """Hold the exclusive lock of the key set `path`: flock on PATH.lock, made for the run and removed at its
    end while still held (a run that waited on a removed or replaced lock file takes the new one), so that
    nothing is left behind. Not a lock on the key set itself: it is replaced by a rename, and a run waiting on
    the old file would then read a stale set."""
    lock = path + '.lock'
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise KeysetError('cannot lock %s: its directory %s does not exist; create it first. Nothing was '
                          'changed' % (path, directory))
    deadline = time.time() + timeout
    while True:
        try:
            st = os.lstat(lock)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise
        else:
            if not stat.S_ISREG(st.st_mode):
                _refuse_lock(lock, kind_of(st.st_mode))
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | O_CLOEXEC, MODE)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
                _refuse_lock(lock, 'a link or a special file')
            raise KeysetError('cannot make the lock file %s of the key set: %s. Nothing was changed'
                              % (lock, exc.strerror))
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                _refuse_lock(lock, kind_of(st.st_mode))
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                if time.time() >= deadline:
                    raise KeysetError('another run has held the lock %s of the key set for %d seconds: wait for '
                                      'it to end and rerun (or raise lock_timeout). Nothing was changed'
                                      % (lock, timeout))
                time.sleep(0.01)
            try:
                now = os.lstat(lock)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise
                now = None
            if now is not None and (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
                try:
                    yield
                finally:
                    os.unlink(lock)
                return
        finally:
            os.close(fd)
        # the run that held it removed (or replaced) the lock file meanwhile: take the current one


def read(path):
    """The key set at `path`, its retired IDs (empty when there is none) and the file's mode (None)."""
    if not os.path.lexists(path):
        return {}, [], None
    try:
        text = read_file(path, follow=False, limit=MAX_SIZE)
    except UnicodeDecodeError:
        raise KeysetError('%s is not a text file: restore it; it is never overwritten' % path)
    keys, retired = load(text, path)
    return keys, retired, stat.S_IMODE(os.lstat(path).st_mode)


def set_mode(path):
    """chmod 0600 through the file itself, never following a link (read() refused anything else)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise KeysetError('%s is no longer a regular file: nothing was changed' % path)
        os.fchmod(fd, MODE)
    finally:
        os.close(fd)


def write(path, text):
    """Replace `path` atomically at mode 0600: a temporary file in the same directory, synced, then renamed and
    the directory synced. Not AnsibleModule.atomic_move: for a new file it applies the umask's mode (0644 seen),
    which would show the secrets to every account until a chmod."""
    if len(text.encode('utf-8')) > MAX_SIZE:
        raise KeysetError('%s would be larger than %d bytes, more than this module reads back: retire or remove '
                          'keys. Nothing was changed' % (path, MAX_SIZE))
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix='.keyset.', dir=directory)
    try:
        os.fchmod(fd, MODE)
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    dfd = os.open(directory, os.O_RDONLY | O_CLOEXEC)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def listing(old, new):
    """The keys of `new` without their secrets; keys not in `old` (made by this run) are `planned` in check mode."""
    made = set(k['id'] for g in old.values() for k in g.values())
    keys = []
    for name, generations in new.items():
        for state, key in generations.items():
            entry = dict(name=name, state=state, id=key['id'], type=key['type'], planned=key['id'] not in made)
            if key['id'] in made:
                entry['created'] = key['created']
            keys.append(entry)
    return sorted(keys, key=lambda k: k['id'])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            keys=dict(type='list', elements='dict', required=True, no_log=False, options=dict(
                name=dict(type='str', required=True),
                type=dict(type='str', default='AES128CMAC', choices=sorted(TYPES)),
                purpose=dict(type='str', default='association', choices=['association', 'control']),
            )),
            rotate=dict(type='list', elements='str', default=[]),
            retire=dict(type='list', elements='str', default=[]),
            id_range=dict(type='list', elements='int', default=[1, 65535]),
            reserved_ids=dict(type='list', elements='int', default=[]),
            lock_timeout=dict(type='int', default=300),
        ),
        supports_check_mode=True,
    )
    require_python(module)
    p = module.params
    path = os.path.abspath(p['path'])
    if len(p['id_range']) != 2:
        module.fail_json(msg='id_range is two IDs, the lowest and the highest')
    if p['lock_timeout'] < 0:
        module.fail_json(msg='lock_timeout is a number of seconds, 0 or more')
    try:
        # check mode only reads: the file is replaced by a rename, so a read sees one whole set without a lock
        with contextlib.nullcontext() if module.check_mode else locked(path, p['lock_timeout']):
            old, retired, mode = read(path)
            new, retired, reasons = plan(old, retired, p['keys'], p['rotate'], p['retire'], p['id_range'],
                                         p['reserved_ids'])
            key_changes = bool(reasons)
            if mode is not None and mode != MODE:
                reasons[path] = 'mode %04o set to %04o: the file holds the secrets' % (mode, MODE)
            if not module.check_mode:
                if key_changes:
                    write(path, dump(new, retired))
                elif path in reasons:
                    set_mode(path)
    except (AutokeyError, OSError) as exc:
        module.fail_json(msg=str(exc))
    keys = listing(old, new) if module.check_mode else listing(new, new)
    module.exit_json(changed=bool(reasons), path=path, reasons=reasons, ids=public(new), keys=keys,
                     diff=dict(before=public(old), after=public(new)))


if __name__ == '__main__':
    main()
