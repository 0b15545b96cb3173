#!/usr/bin/python
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r'''
module: symmetric_keys
short_description: The symmetric key file of one host, for ntpd or chronyd
version_added: 0.1.0
description:
  - Keeps the file that ntpd reads with C(keys) or chronyd with C(keyfile) holding exactly the keys given,
    in the form that daemon reads, written whole under a temporary name and renamed into place.
  - Every key is checked before anything is written, and a key the target daemon could not read exactly
    (type, secret length, ID range) is refused with its ID and the fix. ntpd rejects a whole file for one
    line it cannot read, so no line is ever written that it would refuse.
  - Keys are daemon-neutral (the same list serves ntpd and chrony hosts), from a vault or from
    M(ntp.autokey.symmetric_keyset).
  - Check mode and diff show key IDs and types, never a secret.
  - The file is never followed when it is a link, and its directory is checked like a keys directory (see
    docs/hostile-input.md). Reloading the daemon is the caller's part (the roles use authenticated
    C(ntpq :config keys) and C(chronyc rekey)).
author:
  - ntp.autokey developers (@ntp-autokey)
options:
  daemon:
    description: Which daemon reads the file.
    type: str
    required: true
    choices: [ntpd, chrony]
  path:
    description:
      - The key file. Default C(/etc/ntp/ntp.keys) for ntpd (Debian's AppArmor profile lets ntpd read
        C(/etc/ntp.keys) and C(/etc/ntp/**)) and C(/etc/chrony/chrony.keys) for chrony (Debian's C(keyfile)).
    type: path
  keys:
    description:
      - All keys of the file; keys not listed are removed.
    type: list
    elements: dict
    required: true
    suboptions:
      id:
        description: Key ID; 1 to 65535 for ntpd (higher IDs are Autokey's), 1 to 4294967295 for chrony.
        type: int
        required: true
      type:
        description:
          - V(AES128CMAC) (chrony's C(AES128)) is the strongest type ntpd 4.2.8 and chrony verify with each other.
          - V(MD5) and V(SHA1) only for peers that have nothing else; V(AES256CMAC) is chrony's alone;
            V(SHA256) and V(SHA512) need C(version 4) on chrony's side to interoperate with ntpd.
        type: str
        choices: [AES128CMAC, AES256CMAC, SHA1, SHA256, SHA512, MD5]
        default: AES128CMAC
      secret:
        description:
          - The key, hex; 16 bytes for V(AES128CMAC), 32 for V(AES256CMAC), 16 to 32 for digests.
        type: str
        required: true
      format:
        description:
          - V(ascii) for an existing digest key of 1 to 20 printable characters (no spaces or C(#)), which both
            daemons read alike.
        type: str
        choices: [hex, ascii]
        default: hex
  mode:
    description: File mode. chronyd reloads keys (C(chronyc rekey)) after it has dropped root, so chrony's
      default is V(0640) with O(group).
    type: str
    choices: ['0600', '0640']
  group:
    description: Group of the file; default C(root) for ntpd, C(_chrony) for chrony where that group exists.
    type: str
  backup:
    description: Keep a replaced file beside it as C(<name>.replaced-<unix time>) (it holds the old secrets).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: ntpd's keys, from a vault
  ntp.autokey.symmetric_keys:
    daemon: ntpd
    keys:
      - id: 42
        type: AES128CMAC
        secret: "{{ vault_ntp_key_42 }}"
  no_log: true
'''

RETURN = r'''
path:
  description: The key file.
  returned: success
  type: str
key_ids:
  description: IDs of the keys in the file.
  returned: success
  type: list
  elements: int
key_types:
  description: Type of each key, by ID.
  returned: success
  type: dict
  sample: {"42": "AES128CMAC"}
reasons:
  description: What changed (or would change in check mode) and why, by key ID; never a secret.
  returned: success
  type: dict
  sample: {"key 42": "added (AES128CMAC)"}
backup_files:
  description: The replaced file, when O(backup) kept it.
  returned: success
  type: list
  elements: str
'''

import grp
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.module_support import require_python, run
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.symmetric import KeyFile, TYPES, check_keys

DEFAULTS = {
    'ntpd': ('/etc/ntp/ntp.keys', '0600', None),
    'chrony': ('/etc/chrony/chrony.keys', '0640', '_chrony'),
}


def file_group(module, daemon):
    """The gid the file gets (None: the writer's)."""
    name = module.params['group']
    try:
        return grp.getgrnam(name).gr_gid if name else grp.getgrnam(DEFAULTS[daemon][2]).gr_gid
    except KeyError:
        if name:
            module.fail_json(msg='group %s does not exist on this host' % name)
        return None
    except TypeError:  # no default group for this daemon
        return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            daemon=dict(type='str', required=True, choices=['ntpd', 'chrony']),
            path=dict(type='path'),
            keys=dict(type='list', elements='dict', required=True, no_log=False, options=dict(
                id=dict(type='int', required=True),
                type=dict(type='str', default='AES128CMAC', choices=sorted(TYPES)),
                secret=dict(type='str', required=True, no_log=True),
                format=dict(type='str', default='hex', choices=['hex', 'ascii']),
            )),
            mode=dict(type='str', choices=['0600', '0640']),
            group=dict(type='str'),
            backup=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    require_python(module)
    p = module.params
    daemon = p['daemon']
    path = p['path'] or DEFAULTS[daemon][0]
    mode = int(p['mode'] or DEFAULTS[daemon][1], 8)
    gid = file_group(module, daemon)
    directory, name = os.path.split(os.path.abspath(path))

    def build():
        keys = check_keys(p['keys'], daemon)
        return KeyFile(KeysDir(directory, mode=mode, gid=gid), name, keys, daemon, backup=p['backup'])

    dummy, result = run(module, build)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
