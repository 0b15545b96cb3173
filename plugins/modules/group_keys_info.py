#!/usr/bin/python
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r'''
module: group_keys_info
short_description: Read an Autokey IFF, GQ or MV group key and return its facts and exports
version_added: 0.1.0
description:
  - Reads the group key that a trusted host keeps in its keys directory (the C(ntpkey_iffkey_<group>),
    C(ntpkey_gqkey_<group>) or C(ntpkey_mvta_<group>) link that M(ntp.autokey.group_keys) writes with
    O(ntp.autokey.group_keys#module:generate=true)), or a given group file (O(src) or O(content)), for example
    the exported key of a trusted host that Ansible does not manage.
  - Returns its filestamp and fingerprint, the client params file (public) and, with O(export_passphrase), the
    server key encrypted for transport to group servers. The exports are made by the same code as those of
    M(ntp.autokey.group_keys).
  - Never writes anything and never reports a change.
  - The link is followed only to a regular file in the keys directory itself (as M(ntp.autokey.group_keys) and
    C(ntp-keygen) make it); any other link, and a file larger than 1 MiB, fail the task naming it. The read waits
    for a run of M(ntp.autokey.group_keys) on the same keys directory to end (a shared lock).
author:
  - ntp.autokey developers (@ntp-autokey)
extends_documentation_fragment:
  - ntp.autokey.keysdir.read_only
requirements:
  - cryptography >= 3.3.2 on the host that runs the module
options:
  scheme:
    description:
      - Identity scheme.
    type: str
    choices: [iff, gq, mv]
    required: true
  group:
    description:
      - Group name, the C(ident) of server lines and C(crypto ident) of group members.
      - A given file whose header line names another group or scheme is refused.
    type: str
    required: true
  passphrase:
    description:
      - The C(crypto pw) of the host that keeps the group key in O(keysdir).
      - Required unless O(src) or O(content) is given.
    type: str
  src:
    description:
      - Path of a group file to read instead of the keys directory, on the host that runs the module
        (with C(delegate_to=localhost), on the controller).
      - An C(ntpkey_IFFkey_<group>.<fs>) or C(ntpkey_GQkey_<group>.<fs>) file written by C(ntp-keygen), an
        C(ntp-keygen -q) export, or an export of this module (RV(server_key_export), RV(params_export)) or of
        M(ntp.autokey.group_keys).
    type: path
  content:
    description:
      - Text of a group file to read, as O(src).
    type: str
  source_passphrase:
    description:
      - Password of an encrypted O(src) or O(content).
    type: str
  export_passphrase:
    description:
      - Also return RV(server_key_export), the server key encrypted with this password (PBES2, as
        M(ntp.autokey.group_keys) writes it), to install on group servers.
    type: str
attributes:
  check_mode:
    support: full
    description: Reads only; check mode changes nothing.
  diff_mode:
    support: none
    description: Nothing changes.
  action_group:
    support: full
    membership: [ntp.autokey.keys]
    description: Part of the action group C(ntp.autokey.keys), so C(module_defaults) can set O(keysdir) once.
notes:
  - Private key material is returned only inside RV(server_key_export), encrypted with O(export_passphrase).
    Run tasks that pass passwords or exports with C(no_log=true).
seealso:
  - module: ntp.autokey.group_keys
'''

EXAMPLES = r'''
- name: On the trusted host, after group_keys generate=true, read the group key and export it for the group servers
  ntp.autokey.group_keys_info:
    keysdir: /etc/ntp
    scheme: iff
    group: lab
    passphrase: "{{ vault_autokey_th_password }}"
    export_passphrase: "{{ vault_autokey_transport_password }}"
  register: autokey_group
  no_log: true

- name: On each group server, install the server key under its own password, and the params
  ntp.autokey.group_keys:
    scheme: iff
    group: lab
    content: "{{ hostvars[groups['autokey_trusted_hosts'][0]].autokey_group.server_key_export }}"
    source_passphrase: "{{ vault_autokey_transport_password }}"
    passphrase: "{{ vault_autokey_password }}"
  no_log: true

- name: On the controller, params of the key file of a trusted host that Ansible does not manage
  ntp.autokey.group_keys_info:
    scheme: iff
    group: lab
    src: "{{ playbook_dir }}/files/ntpkey_IFFkey_lab.4004501552"
    source_passphrase: "{{ vault_customer_th_password }}"
  delegate_to: localhost
  run_once: true
  register: autokey_customer_group
  no_log: true

- name: On the trusted host, MV client params of every usable key (each member gets only its own)
  ntp.autokey.group_keys_info:
    scheme: mv
    group: lab
    passphrase: "{{ vault_autokey_th_password }}"
  register: autokey_mv
  no_log: true
'''

RETURN = r'''
scheme:
  description: Identity scheme.
  returned: success
  type: str
  sample: iff
group:
  description: Group name.
  returned: success
  type: str
  sample: lab
source:
  description: The file read (for the keys directory, the file the group key link points to), or V(content).
  returned: success
  type: str
  sample: /etc/ntp/ntpkey_IFFkey_lab.4004501552
filestamp:
  description: Filestamp (NTP seconds) of the group key, carried by every file of the group.
  returned: success
  type: int
  sample: 4004501552
fingerprint:
  description: SHA-256 over the group's public values; equal on every host that holds the same group key.
  returned: when the whole group key is known
  type: str
bits:
  description: Modulus of the group key in bits.
  returned: when the whole group key is known
  type: int
gq_public_key:
  description: GQ public key v as hexadecimal, for the trusted host's certificate (O(ntp.autokey.host_keys#module:gq_public_key)).
  returned: when O(scheme=gq) and the whole group key is known
  type: str
mv_keys:
  description: Usable MV client keys.
  returned: when O(scheme=mv) and the whole group key is known
  type: int
mv_revoked:
  description: Revoked MV client keys.
  returned: when O(scheme=mv) and the whole group key is known
  type: list
  elements: int
params_export:
  description:
    - Client params file text (public), to install with O(ntp.autokey.group_keys#module:content) on other hosts.
    - For MV, the params of client key 1.
  returned: success; null when the material read cannot make params (an MV server key alone, or MV key 1 revoked)
  type: str
mv_params_exports:
  description:
    - Params file text of every usable MV client key, by key number. Each is public within the group but belongs
      to one member; give a member only its own, so that revoking that key refuses that member alone.
  returned: when O(scheme=mv) and the whole group key is known
  type: dict
  sample: {"1": "# ntpkey_mvpar_lab.4004501552\n...", "2": "..."}
server_key_export:
  description: Server key file text encrypted with O(export_passphrase).
  returned: when O(export_passphrase) is set
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.module_support import (
    ERRORS, KEYSDIR_ARGS, keysdir, require_cryptography, unmask_public_content)


def main():
    argument_spec = dict(
        scheme=dict(type='str', required=True, choices=['iff', 'gq', 'mv']),
        group=dict(type='str', required=True),
        passphrase=dict(type='str', no_log=True),
        src=dict(type='path'),
        content=dict(type='str', no_log=True),
        source_passphrase=dict(type='str', no_log=True),
        export_passphrase=dict(type='str', no_log=True),
    )
    argument_spec.update(KEYSDIR_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[('content', 'src'), ('passphrase', 'src'), ('passphrase', 'content')],
                           required_one_of=[('passphrase', 'src', 'content')])
    require_cryptography(module)

    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import check_name
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.group_material import (
        read_given, read_group_key)

    p = module.params
    try:
        group = check_name(p['group'], 'group name')
        if p['src'] or p['content']:
            source = read_given(p['scheme'], group, p['src'], p['content'], p['source_passphrase'])
            unmask_public_content(module, source)
            where = p['src'] or 'content'
        else:
            keys = keysdir(module)
            with keys.locked(exclusive=False):  # a shared lock: no run changes the keysdir meanwhile
                source, where = read_group_key(keys, p['scheme'], group, p['passphrase'])
        result = dict(changed=False, source=where)
        result.update(source.facts(group))
        result.update(source.exports(group, p['export_passphrase']))
    except ERRORS as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
