#!/usr/bin/python
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r'''
module: host_keys
short_description: Autokey host key, sign key and self-signed certificate of one host
version_added: 0.1.0
description:
  - Generates, checks and renews the RSA host key, the optional RSA sign key and the self-signed
    X.509 certificate that ntpd 4.2.8 loads at start (C(ntpkey_host_<host>), C(ntpkey_sign_<host>),
    C(ntpkey_cert_<host>) in the keys directory), in the files and links C(ntp-keygen) would write.
  - The certificate's CN is C(host@group) (or C(host)), its serial and notBefore equal its filestamp as
    ntpd requires, and it carries the Trust Root extended key usage on a trusted host, the Private one for
    the PC scheme, and the GQ public key as subjectKeyIdentifier when given.
  - Existing files written by C(ntp-keygen) are adopted when they match the options, so a host keeps its keys.
  - Private keys never leave the host and never appear in the module's output.
author:
  - ntp.autokey developers (@ntp-autokey)
extends_documentation_fragment:
  - ntp.autokey.keysdir
requirements:
  - cryptography >= 3.3.2 on the managed host
options:
  host:
    description:
      - Autokey host name, the C(crypto host) value in C(ntp.conf). Names the files and is the first part of the CN.
    type: str
    required: true
  group:
    description:
      - Autokey group name. The CN becomes C(host@group). Either every host of a tree has a group or none has.
    type: str
  passphrase:
    description:
      - Password that encrypts the private keys, the C(crypto pw) value in C(ntp.conf). Keep it in a vault.
      - Printable ASCII without spaces, C(") or C(#), at most 127 characters; ntpd would read any other
        password cut or split from C(ntp.conf), and the keys would not open. Other passwords are refused.
    type: str
    required: true
  size:
    description:
      - RSA modulus of generated host and sign keys, in bits.
      - Values from 1024 to 4096 fit ntpd 4.2.8's extension fields (see the collection README for the measurements).
    type: int
    default: 2048
  signature:
    description:
      - Certificate signature scheme; its OpenSSL NID appears in the upper 16 bits of ntpd's crypto flags.
      - All schemes ntpd 4.2.8 accepts on OpenSSL 1.1 are offered. The default avoids MD5 and SHA-1, whose
        collisions let an attacker forge certificates; V(RSA-MD5) is ntp-keygen's default and what some appliances expect.
    type: str
    choices: [RSA-MD5, RSA-SHA1, RSA-SHA224, RSA-SHA256, RSA-SHA384, RSA-SHA512, RSA-RIPEMD160]
    default: RSA-SHA256
  lifetime:
    description:
      - Certificate lifetime in days from its filestamp.
    type: int
    default: 365
  renew_before:
    description:
      - Renew the certificate when it expires within this many days (not with O(regenerate=never)).
    type: int
    default: 30
  trusted:
    description:
      - Mark the certificate as a Trust Root (trusted host, C(ntp-keygen -T)).
    type: bool
    default: false
  private:
    description:
      - Mark the certificate Private for the PC identity scheme (C(ntp-keygen -P)). Excludes O(trusted).
    type: bool
    default: false
  sign_key:
    description:
      - Use a separate RSA sign key for the certificate and signatures (C(ntp-keygen -S RSA)).
      - With V(false) an existing sign-key link is removed so ntpd signs with the host key.
    type: bool
    default: false
  gq_public_key:
    description:
      - GQ public key as hexadecimal, put in the certificate's subjectKeyIdentifier. Needed on the trusted
        host of a GQ group; take it from the RV(ntp.autokey.group_keys#module:gq_public_key) result (or that of
        M(ntp.autokey.group_keys_info)).
    type: str
  group_material:
    description:
      - The group material a group server or client holds, installed in the same call as its host key and
        certificate, as M(ntp.autokey.group_keys) would from O(ntp.autokey.group_keys#module:content) (same files,
        links, checks and reasons). The roles use it so that a host's key material is one module call per run.
      - Host key, certificate and group material are planned together and written in one transaction, under
        O(group) and O(passphrase) (which re-encrypts a server key); on any failure none of them changes.
    type: dict
    suboptions:
      scheme:
        description: Identity scheme of the group.
        type: str
        choices: [iff, gq, mv]
        required: true
      params:
        description:
          - Client params text, the RV(ntp.autokey.group_keys#module:params_export) of the trusted host, or for MV
            this member's entry of RV(ntp.autokey.group_keys#module:mv_params_exports).
          - Public, but kept out of the output like any key text in case a key is given by mistake.
        type: str
        required: true
      server_key:
        description:
          - Group server only. Server key text (or the group key file of a trusted host), encrypted with
            O(group_material.source_passphrase); installed re-encrypted with O(passphrase).
        type: str
      source_passphrase:
        description: Password of O(group_material.server_key).
        type: str
      mv_client:
        description: MV client key number these params are for.
        type: int
        default: 1
      aliases:
        description:
          - More names for the group's server key and params links, as O(ntp.autokey.group_keys#module:aliases)
            does; the roles give the subjects of the trust roots a host running ntpd 4.2.6 may meet (docs/ntpd-4.2.6.md).
        type: list
        elements: str
        default: []
        version_added: 0.2.0
      layout:
        description: The ntpd release whose GQ field layout the files are written in, as O(ntp.autokey.group_keys#module:layout).
        type: str
        choices: ['4.2.8', '4.2.6']
        default: '4.2.8'
        version_added: 0.2.0
seealso:
  - module: ntp.autokey.group_keys
  - module: ntp.autokey.group_keys_info
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
# Each host makes its own keys: every task runs on the host whose keys it writes (private keys never leave it).

- name: On the trusted host, Trust Root certificate of group "lab"
  ntp.autokey.host_keys:
    keysdir: /etc/ntp
    host: th1
    group: lab
    trusted: true
    passphrase: "{{ vault_autokey_th1_password }}"
  no_log: true

- name: On the trusted host of a GQ group, the certificate carries the GQ public key from group_keys_info
  ntp.autokey.host_keys:
    host: th1
    group: lab
    trusted: true
    gq_public_key: "{{ autokey_group.gq_public_key }}"
    passphrase: "{{ vault_autokey_th1_password }}"
  no_log: true

- name: On each client, certificate renewed 60 days before it expires
  ntp.autokey.host_keys:
    host: "{{ inventory_hostname_short }}"
    group: lab
    passphrase: "{{ vault_autokey_password }}"
    renew_before: 60
  no_log: true

- name: On each group server, an appliance-compatible certificate signed with RSA-MD5
  ntp.autokey.host_keys:
    host: "{{ inventory_hostname_short }}"
    group: lab
    signature: RSA-MD5
    passphrase: "{{ vault_autokey_password }}"
  no_log: true
'''

RETURN = r'''
subject:
  description: Certificate subject CN.
  returned: success
  type: str
  sample: th1@lab
host_key:
  description: Host key file the C(ntpkey_host_<host>) link points to.
  returned: success
  type: str
  sample: /etc/ntp/ntpkey_RSAhost_th1.4004501552
host_key_filestamp:
  description: Filestamp (NTP seconds) of the host key.
  returned: success
  type: int
  sample: 4004501552
host_key_fingerprint:
  description: SHA-256 of the host public key (SubjectPublicKeyInfo).
  returned: success
  type: str
sign_key:
  description: Sign key file, when O(sign_key=true).
  returned: when O(sign_key=true)
  type: str
sign_key_fingerprint:
  description: SHA-256 of the sign public key.
  returned: when O(sign_key=true)
  type: str
certificate:
  description: Certificate file the C(ntpkey_cert_<host>) link points to.
  returned: success
  type: str
  sample: /etc/ntp/ntpkey_RSA-SHA256cert_th1.4004501552
certificate_filestamp:
  description: Filestamp of the certificate file.
  returned: success
  type: int
certificate_fingerprint:
  description: SHA-256 of the certificate.
  returned: when a certificate exists
  type: str
signature:
  description: Certificate signature scheme.
  returned: when a certificate exists
  type: str
  sample: RSA-SHA256
signature_nid:
  description: OpenSSL NID of the signature, as in the upper 16 bits of ntpd's crypto flags.
  returned: when a certificate exists
  type: int
  sample: 668
trusted:
  description: Whether the certificate is a Trust Root.
  returned: when a certificate exists
  type: bool
private:
  description: Whether the certificate is Private (PC scheme).
  returned: when a certificate exists
  type: bool
not_before:
  description: Certificate notBefore (ISO 8601, UTC).
  returned: when a certificate exists
  type: str
not_after:
  description: Certificate notAfter (ISO 8601, UTC).
  returned: when a certificate exists
  type: str
group_material:
  description:
    - With O(group_material), the facts RV(ntp.autokey.group_keys#module:scheme), RV(ntp.autokey.group_keys#module:group),
      RV(ntp.autokey.group_keys#module:filestamp), RV(ntp.autokey.group_keys#module:params_link) of the installed
      group material; with a server key also RV(ntp.autokey.group_keys#module:server_key_link), and where the server
      key holds the whole group key RV(ntp.autokey.group_keys#module:fingerprint) and RV(ntp.autokey.group_keys#module:bits).
  returned: when O(group_material) is set
  type: dict
  sample: {"scheme": "iff", "group": "lab", "filestamp": 4004501552, "params_link": "/etc/ntp/ntpkey_iffpar_lab"}
reasons:
  description:
    - What changed (or would change in check mode) and why.
    - Besides the material, C(keysdir) when group or other write permission was taken off the keys directory, and
      C(permissions) when the mode or owner of existing files was corrected.
  returned: success
  type: dict
  sample: {"cert": "certificate expires 2026-12-01T09:00:00+00:00 (renewal window 30 days)"}
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
    COMMON_ARGS, keysdir, replace_before, require_cryptography, run)


def main():
    argument_spec = dict(
        host=dict(type='str', required=True),
        group=dict(type='str'),
        passphrase=dict(type='str', required=True, no_log=True),
        size=dict(type='int', default=2048),
        signature=dict(type='str', default='RSA-SHA256',
                       choices=['RSA-MD5', 'RSA-SHA1', 'RSA-SHA224', 'RSA-SHA256', 'RSA-SHA384',
                                'RSA-SHA512', 'RSA-RIPEMD160']),
        lifetime=dict(type='int', default=365),
        renew_before=dict(type='int', default=30),
        trusted=dict(type='bool', default=False),
        private=dict(type='bool', default=False),
        sign_key=dict(type='bool', default=False),
        gq_public_key=dict(type='str'),
        group_material=dict(type='dict', options=dict(
            scheme=dict(type='str', required=True, choices=['iff', 'gq', 'mv']),
            params=dict(type='str', required=True, no_log=True),
            server_key=dict(type='str', no_log=True),
            source_passphrase=dict(type='str', no_log=True),
            mv_client=dict(type='int', default=1),
            aliases=dict(type='list', elements='str', default=[]),
            layout=dict(type='str', default='4.2.8', choices=['4.2.8', '4.2.6']),
        )),
    )
    argument_spec.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[('trusted', 'private')])
    require_cryptography(module)

    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.conf_tokens import check_password
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.group_material import member_material
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.host_material import HostMaterial
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.material import Joined

    p = module.params
    gq_public = None
    if p['gq_public_key']:
        try:
            gq_public = int(p['gq_public_key'], 16)
        except ValueError:
            module.fail_json(msg='gq_public_key must be hexadecimal')
    if p['lifetime'] < 1 or p['renew_before'] < 0 or p['renew_before'] >= p['lifetime']:
        module.fail_json(msg='lifetime must be at least 1 day and renew_before between 0 and lifetime - 1')
    if p['group_material'] and not p['group']:
        module.fail_json(msg='group_material needs group: the group the material belongs to')

    def build():
        check_password(p['passphrase'])
        keys = keysdir(module)
        host = HostMaterial(keys, p['host'], p['passphrase'], group=p['group'], size=p['size'],
                            signature=p['signature'], lifetime=p['lifetime'], trusted=p['trusted'],
                            private=p['private'], sign_key=p['sign_key'], gq_public=gq_public,
                            renew_before=p['renew_before'], regenerate=p['regenerate'], backup=p['backup'],
                            replace_before=replace_before(module))
        if not p['group_material']:
            return host
        return Joined(host, member_material(keys, p['group'], p['passphrase'], p['group_material'],
                                            regenerate=p['regenerate'], backup=p['backup']), 'group_material')

    dummy, result = run(module, build)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
