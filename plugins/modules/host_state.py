#!/usr/bin/python
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r'''
module: host_state
short_description: Whether a host's packages, directories, files and service already are as wanted, in one call
version_added: 0.2.0
description:
  - Reads, in one module call, what a role would otherwise find out with a task each (package, directories,
    a templated file, a line in a file, a service), and lists every difference. The roles skip their
    ordinary tasks on a host without differences, so that a run that changes nothing costs one call per host
    instead of one per task (docs/fleet-scale.md).
  - Changes nothing, and is never V(changed). Whatever it cannot read or decide (an unknown package or
    service manager, a file too large or unreadable, a symbolic link where a file belongs) is a difference,
    so that the role's own tasks run and deal with it.
author:
  - ntp.autokey developers (@ntp-autokey)
options:
  package_manager:
    description: The host's package manager, as in C(ansible_facts.pkg_mgr); V(apt), V(dnf) and V(yum) are read.
    type: str
    default: apt
  packages:
    description: Packages that must be installed.
    type: list
    elements: str
    default: []
  directories:
    description: Directories that must exist with this owner, group and mode.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      owner:
        description: Owner, a name or a number.
        type: str
        default: root
      group:
        description: Group, a name or a number.
        type: str
        default: root
      mode:
        description: Mode as four octal digits.
        type: str
        required: true
  files:
    description: Regular files (not symbolic links) with this content, owner, group and mode.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      sha1:
        description: SHA-1 of the wanted content, in hexadecimal (for a template, of its rendered text).
        type: str
        required: true
      owner:
        description: Owner, a name or a number.
        type: str
        default: root
      group:
        description: Group, a name or a number.
        type: str
        default: root
      mode:
        description: Mode as four octal digits.
        type: str
        required: true
  lines:
    description: Regular files that must hold a line (as M(ansible.builtin.lineinfile) with O(ansible.builtin.lineinfile#module:line) only).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      line:
        description: The whole line.
        type: str
        required: true
      owner:
        description: Owner, a name or a number.
        type: str
        default: root
      group:
        description: Group, a name or a number.
        type: str
        default: root
      mode:
        description: Mode as four octal digits.
        type: str
        required: true
  service:
    description: A service that must run and start at boot.
    type: str
  service_manager:
    description:
      - The host's service manager, as in C(ansible_facts.service_mgr).
      - The service is read through C(systemctl) when systemd runs the host, else through its SysV init script and
        its C(/etc/rc?.d) links, as M(ansible.builtin.service) reads it (also where process 1 is a container's
        init). Under OpenRC, upstart, runit and other managers its state is a difference.
    type: str
    default: systemd
  version_command:
    description: A command whose standard output is returned as RV(version) (for example V([ntpd, --version])).
    type: list
    elements: str
  version_pattern:
    description:
      - A regular expression the output of O(version_command) must contain (Python C(re.search)); when it does
        not, that is a difference naming the version found (for example ntpsec where the reference ntpd with
        Autokey was deployed).
    type: str
notes:
  - Supports check mode; it reads only.
'''

EXAMPLES = r'''
- name: Is ntp installed, ntp.conf the text this play wants, and ntpd running?
  ntp.autokey.host_state:
    packages: [ntp]
    directories:
      - {path: /var/log/ntpstats, mode: "0755"}
    files:
      # in a role, the SHA-1 of its template: lookup('ansible.builtin.template', 'ntp.conf.j2') | hash('sha1')
      - {path: /etc/ntp.conf, sha1: "{{ ntp_conf | hash('sha1') }}", mode: "0600"}
    service: ntp
    service_manager: sysvinit  # in a play that gathers facts: ansible_facts['service_mgr']
    version_command: [ntpd, --version]
  vars:
    ntp_conf: "driftfile /var/lib/ntp/ntp.drift\nserver gs iburst\n"
  register: ntpd_state

- name: Say what differs, where something does
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} ({{ ntpd_state.version }}): {{ ntpd_state.differences | join('; ') }}"
  when: ntpd_state.differences | length > 0
'''

RETURN = r'''
differences:
  description: Each way the host differs from what was asked, in words; empty when it is as wanted.
  returned: always
  type: list
  elements: str
  sample: ["/etc/ntp.conf differs from its template", "service ntp is not running"]
version:
  description: Standard output of O(version_command), stripped; empty when it failed or could not run.
  returned: when O(version_command) is set
  type: str
  sample: ntpd 4.2.8p15@1.3728-o Wed Sep 23 11:46:38 UTC 2020 (1)
'''

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.module_support import require_python

ATTRIBUTES = dict(
    path=dict(type='path', required=True),
    owner=dict(type='str', default='root'),
    group=dict(type='str', default='root'),
    mode=dict(type='str', required=True),
)
MODE = re.compile(r'^0[0-7]{3}\Z')


def main():
    module = AnsibleModule(
        argument_spec=dict(
            package_manager=dict(type='str', default='apt'),
            packages=dict(type='list', elements='str', default=[]),
            directories=dict(type='list', elements='dict', default=[], options=ATTRIBUTES),
            files=dict(type='list', elements='dict', default=[],
                       # no_log: with the rest of ntp.conf known, its hash would let the crypto password be guessed
                       options=dict(ATTRIBUTES, sha1=dict(type='str', required=True, no_log=True))),
            lines=dict(type='list', elements='dict', default=[],
                       options=dict(ATTRIBUTES, line=dict(type='str', required=True))),
            service=dict(type='str'),
            service_manager=dict(type='str', default='systemd'),
            version_command=dict(type='list', elements='str'),
            version_pattern=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    require_python(module)

    from ansible_collections.ntp.autokey.plugins.module_utils.autokey import host_state

    p = module.params
    for item in p['directories'] + p['files'] + p['lines']:
        if not MODE.match(item['mode']) or not item['path'].startswith('/'):
            module.fail_json(msg='%s: a path must be absolute and a mode four octal digits (%r)'
                             % (item['path'], item['mode']))

    try:
        re.compile(p['version_pattern'] or '')
    except re.error as exc:
        module.fail_json(msg='version_pattern %r is not a regular expression: %s' % (p['version_pattern'], exc))

    def run(argv):
        """rc, stdout, stderr; a command that cannot start is an rc of 127, read as a difference."""
        try:
            return module.run_command(argv, environ_update=dict(LC_ALL='C'), handle_exceptions=False)
        except OSError as exc:
            return 127, '', str(exc)

    found = host_state.package_differences(p['package_manager'], p['packages'], run)
    for item in p['directories']:
        found += host_state.directory_differences(item['path'], item['owner'], item['group'], item['mode'])
    for item in p['files']:
        found += host_state.file_differences(item['path'], item['sha1'], item['owner'], item['group'], item['mode'])
    for item in p['lines']:
        found += host_state.line_differences(item['path'], item['line'], item['owner'], item['group'], item['mode'])
    if p['service']:
        found += host_state.service_differences(p['service_manager'], p['service'], run)
    result = dict(changed=False, differences=found)
    if p['version_command']:
        rc, out, dummy = run(p['version_command'])
        result['version'] = out.strip() if rc == 0 else ''
        if p['version_pattern'] and not re.search(p['version_pattern'], result['version']):
            found.append("%s says '%s', which is not the daemon wanted (/%s/)" % (
                ' '.join(p['version_command']), result['version'][:120] or 'nothing', p['version_pattern']))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
