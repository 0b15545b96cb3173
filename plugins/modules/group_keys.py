#!/usr/bin/python
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r'''
module: group_keys
short_description: Autokey IFF, GQ and MV group keys, server keys and client params
version_added: 0.1.0
description:
  - Generates the group key of an Autokey identity scheme on a trusted host, imports group keys written by
    C(ntp-keygen), installs the encrypted server key on group servers and the public client params on every
    host that verifies a group member, and returns exports for other hosts or appliances.
  - Files use the layouts that ntpd 4.2.8p15 built with OpenSSL 1.1 verifies. Stock C(ntp-keygen) IFF and MV
    params and GQ keys never pass the identity exchange there; this module converts IFF and GQ server keys
    written by C(ntp-keygen) and refuses files that cannot be repaired, saying why.
  - Before writing, one identity exchange is computed exactly as ntpd computes it; material that would not
    verify is never written.
  - Every file of a group carries the group key's filestamp, as ntpd requires.
  - A source whose header line names another scheme or group is refused (the name may also be the fully qualified
    name of the trusted host that made it, as C(ntp-keygen) writes without a group).
  - To read a group key without writing anything, for example to export it, use M(ntp.autokey.group_keys_info).
author:
  - ntp.autokey developers (@ntp-autokey)
extends_documentation_fragment:
  - ntp.autokey.keysdir
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
      - Group name, the C(ident) of server lines and C(crypto ident) of group members. Names the files.
    type: str
    required: true
  passphrase:
    description:
      - This host's C(crypto pw). Encrypts the group key and the server key written here.
      - Required with O(generate=true) or O(server_key=true).
      - Printable ASCII without spaces, C(") or C(#), at most 127 characters (what ntpd reads back exactly
        from C(ntp.conf)); other passwords are refused.
    type: str
  generate:
    description:
      - Keep the group key in O(keysdir), generating it when missing (trusted host). O(regenerate) decides when an
        existing one is replaced; V(always) rolls the group key over with a new filestamp.
    type: bool
    default: false
  content:
    description:
      - Text of a group file to install from, for example RV(server_key_export) or RV(params_export) of a
        trusted host, an C(ntp-keygen -q) export, or an C(ntp-keygen) C(ntpkey_IFFkey_<group>) file.
    type: str
  src:
    description:
      - Path on the managed host of a group file to install from, as O(content).
      - Must be a regular file of at most 1 MiB (a FIFO or device is refused, never read).
    type: path
  source_passphrase:
    description:
      - Password of an encrypted O(content) or O(src).
    type: str
  server_key:
    description:
      - Write the server key (C(ntpkey_<scheme>key_<group>)) so that this host answers identity challenges.
        Group servers and the trusted host need it.
    type: bool
    default: true
  params:
    description:
      - Write the client params (C(ntpkey_<scheme>par_<group>)) so that this host can verify its group upstream.
    type: bool
    default: true
  size:
    description:
      - Modulus of a generated group key in bits. Defaults are 2048 for IFF, 1016 for GQ (at most 1016 so the
        public key fits the subjectKeyIdentifier ntpd reads) and 512 for MV.
    type: int
  mv_keys:
    description:
      - Number of MV client keys. One more key is made and always revoked, as the scheme requires.
    type: int
    default: 4
  mv_client:
    description:
      - MV client key (1 to O(mv_keys)) written as this host's params and returned in RV(params_export).
    type: int
    default: 1
  mv_revoked:
    description:
      - MV client keys to revoke. Changes the server key; servers must receive it and restart.
    type: list
    elements: int
  aliases:
    description:
      - More names for the server key and params links, each a certificate subject (V(host@group)). The links
        C(ntpkey_<scheme>key_<alias>) and C(ntpkey_<scheme>par_<alias>) point to the same files as those named
        after O(group), and follow them when they change.
      - ntpd 4.2.6 opens the group files under the subject of the Trust Root certificate its chain ends in (its
        C(crypto ident)), not under the group; the roles give it the subjects of the group's trust roots on
        hosts that run 4.2.6 (docs/ntpd-4.2.6.md).
      - A regular file under an alias name is refused, never overwritten.
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  layout:
    description:
      - The ntpd release whose field layout the GQ files are written in. ntpd 4.2.6 reads the GQ values from other
        fields than 4.2.8, so a host runs GQ only with files in its own release's layout; IFF and MV files are
        the same for both. The params of layout V(4.2.6) verify on 4.2.8 too; its server key does not.
      - Changing it rewrites the GQ files of the same group key (same filestamp, no new key).
    type: str
    choices: ['4.2.8', '4.2.6']
    default: '4.2.8'
    version_added: 0.2.0
  export_passphrase:
    description:
      - Return RV(server_key_export), the server key encrypted with this password, to install on another host.
      - Kept for compatibility. To read the group key and export it, use M(ntp.autokey.group_keys_info), which
        never writes and returns the same exports.
    type: str
seealso:
  - module: ntp.autokey.group_keys_info
  - module: ntp.autokey.host_keys
attributes:
  check_mode:
    support: full
    description: Decides every change and writes nothing.
  diff_mode:
    support: full
    description: Filestamps, fingerprints and file attributes before and after, never key bytes.
  action_group:
    support: full
    membership: [ntp.autokey.keys]
    description: Part of the action group C(ntp.autokey.keys), so C(module_defaults) can set O(keysdir) once.
'''

EXAMPLES = r'''
- name: On the trusted host, keep the IFF group key (generated when missing)
  ntp.autokey.group_keys:
    keysdir: /etc/ntp
    scheme: iff
    group: lab
    generate: true
    params: false
    passphrase: "{{ vault_autokey_th_password }}"
  no_log: true

- name: On the trusted host, export the group key for the group servers
  ntp.autokey.group_keys_info:
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

- name: On each client, install only the params (public)
  ntp.autokey.group_keys:
    scheme: iff
    group: lab
    server_key: false
    content: "{{ hostvars[groups['autokey_trusted_hosts'][0]].autokey_group.params_export }}"

- name: On the trusted host itself (its private key stays there), import its ntp-keygen key and write correct params
  ntp.autokey.group_keys:
    scheme: iff
    group: lab
    src: /etc/ntp/ntpkey_IFFkey_lab.4004501552
    source_passphrase: "{{ vault_autokey_th_password }}"
    server_key: false
  no_log: true

- name: On the controller, files for an appliance, written to a directory there
  ntp.autokey.group_keys:
    scheme: iff
    group: lab
    keysdir: "{{ playbook_dir }}/appliance-keys"
    content: "{{ hostvars[groups['autokey_trusted_hosts'][0]].autokey_group.server_key_export }}"
    source_passphrase: "{{ vault_autokey_transport_password }}"
    passphrase: "{{ vault_autokey_appliance_password }}"
  delegate_to: localhost
  run_once: true
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
server_key_link:
  description: Link ntpd opens for the server key.
  returned: when O(server_key=true)
  type: str
  sample: /etc/ntp/ntpkey_iffkey_lab
params_link:
  description: Link ntpd opens for the client params.
  returned: when O(params=true)
  type: str
  sample: /etc/ntp/ntpkey_iffpar_lab
alias_links:
  description: The links O(aliases) adds (server key and params under each alias).
  returned: success
  type: list
  elements: str
  sample: [/etc/ntp/ntpkey_iffkey_th1@lab, /etc/ntp/ntpkey_iffpar_th1@lab]
  version_added: 0.2.0
params_export:
  description: Client params file text (public), to install with O(content) on other hosts.
  returned: when params can be made from the material
  type: str
mv_params_exports:
  description:
    - Params file text of every usable MV client key, by key number. Each is public within the group but belongs
      to one member; give a member only its own, so that revoking that key refuses that member alone.
  returned: when O(scheme=mv) and the whole group key is known
  type: dict
  sample: {"1": "# ntpkey_mvpar_lab.4004501552\n...", "2": "..."}
server_key_export:
  description:
    - Server key file text encrypted with O(export_passphrase).
    - Kept for compatibility; M(ntp.autokey.group_keys_info) returns the same.
  returned: when O(export_passphrase) is set
  type: str
reasons:
  description:
    - What changed (or would change in check mode) and why.
    - Besides the material, C(keysdir) when group or other write permission was taken off the keys directory, and
      C(permissions) when the mode or owner of existing files was corrected.
  returned: success
  type: dict
  sample: {"params": "params missing"}
backup_files:
  description:
    - Replaced files kept in the keys directory. Never a file outside it, even when a replaced link pointed there.
    - A plain file found where a link belongs is kept as C(<name>.replaced-<unix time>).
  returned: success
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.module_support import (
    COMMON_ARGS, keysdir, replace_before, require_cryptography, run, unmask_public_content)


def main():
    argument_spec = dict(
        scheme=dict(type='str', required=True, choices=['iff', 'gq', 'mv']),
        group=dict(type='str', required=True),
        passphrase=dict(type='str', no_log=True),
        generate=dict(type='bool', default=False),
        content=dict(type='str', no_log=True),
        src=dict(type='path'),
        source_passphrase=dict(type='str', no_log=True),
        server_key=dict(type='bool', default=True),
        params=dict(type='bool', default=True),
        size=dict(type='int'),
        mv_keys=dict(type='int', default=4, no_log=False),
        mv_client=dict(type='int', default=1),
        mv_revoked=dict(type='list', elements='int'),
        export_passphrase=dict(type='str', no_log=True),
        aliases=dict(type='list', elements='str', default=[]),
        layout=dict(type='str', default='4.2.8', choices=['4.2.8', '4.2.6']),
    )
    argument_spec.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[('content', 'src')])
    require_cryptography(module)

    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.conf_tokens import check_password
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.group_material import (
        GroupMaterial, check_source_choice, read_given)

    p = module.params

    def build():
        if p['passphrase'] is not None:
            check_password(p['passphrase'])
        check_source_choice(p['generate'], bool(p['src'] or p['content']))
        source = read_given(p['scheme'], p['group'], p['src'], p['content'], p['source_passphrase'])
        unmask_public_content(module, source)
        return GroupMaterial(keysdir(module), p['scheme'], p['group'], passphrase=p['passphrase'],
                             generate=p['generate'], size=p['size'], source=source,
                             server_key=p['server_key'], params=p['params'], mv_keys=p['mv_keys'],
                             mv_client=p['mv_client'], mv_revoked=p['mv_revoked'],
                             regenerate=p['regenerate'], backup=p['backup'],
                             replace_before=replace_before(module), aliases=p['aliases'],
                             layout=p['layout'])

    material, result = run(module, build)
    result.update(material.exports(p['export_passphrase']))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
