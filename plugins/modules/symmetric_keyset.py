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
  - The file is mode 0600, replaced atomically. A damaged file is refused, never overwritten.
  - The result holds secrets; use C(no_log) on the task. Sites that keep keys in a vault instead give
    M(ntp.autokey.symmetric_keys) their keys directly.
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
  no_log: true
  register: fleet_keys
'''

RETURN = r'''
keys:
  description:
    - Every key (current and previous ones), by ID, as M(ntp.autokey.symmetric_keys) and the roles'
      C(autokey_symmetric_keys) take them; RV(ids) says which name and state each ID has.
  returned: success
  type: list
  elements: dict
ids:
  description: The IDs by name and state; no secret.
  returned: success
  type: dict
  sample: {"upstream": {"current": 2, "previous": 1}}
reasons:
  description: What changed and why, by name; no secret.
  returned: success
  type: dict
'''

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import read_file
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.keyset import dump, load, plan, public
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.symmetric import TYPES
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.module_support import require_python


def read(path):
    """The key set at `path` and its retired IDs (empty when there is none)."""
    if not os.path.lexists(path):
        return {}, []
    try:
        return load(read_file(path, follow=False), path)
    except UnicodeDecodeError:
        raise AutokeyError('%s is not a text file: restore it; it is never overwritten' % path)


def write(path, text):
    """Replace `path` atomically at mode 0600. Not AnsibleModule.atomic_move: for a new file it applies the
    umask's mode (0644 seen), which would show the secrets to every account until a chmod."""
    fd, tmp = tempfile.mkstemp(prefix='.keyset.', dir=os.path.dirname(path))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
        ),
        supports_check_mode=True,
    )
    require_python(module)
    p = module.params
    path = os.path.abspath(p['path'])
    if len(p['id_range']) != 2:
        module.fail_json(msg='id_range is two IDs, the lowest and the highest')
    try:
        old, retired = read(path)
        new, retired, reasons = plan(old, retired, p['keys'], p['rotate'], p['retire'], p['id_range'],
                                     p['reserved_ids'])
        if reasons and not module.check_mode:
            write(path, dump(new, retired))
    except (AutokeyError, OSError) as exc:
        module.fail_json(msg=str(exc))
    keys = sorted((dict(id=k['id'], type=k['type'], secret=k['secret'], format='hex') for g in new.values()
                   for k in g.values()), key=lambda k: k['id'])
    module.exit_json(changed=bool(reasons), reasons=reasons, ids=public(new), keys=keys,
                     diff=dict(before=public(old), after=public(new)))


if __name__ == '__main__':
    main()
