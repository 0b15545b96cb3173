# -*- coding: utf-8 -*-
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What host_keys and group_keys share: common options and the plan/apply run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import cryptography  # noqa: F401, pylint: disable=unused-import
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_ERROR = None
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_ERROR = traceback.format_exc()

COMMON_ARGS = dict(
    path=dict(type='path', default='/etc/ntp'),
    regenerate=dict(type='str', default='partial_idempotence',
                    choices=['never', 'fail', 'partial_idempotence', 'full_idempotence', 'always']),
    backup=dict(type='bool', default=True),
    mode=dict(type='str', default='0600', choices=['0600', '0640']),
    replace_before=dict(type='str'),
)


def replace_before(module):
    """The replace_before option as NTP seconds (None when unset); EnvelopeError when unusable."""
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import filestamp_from_time
    value = module.params['replace_before']
    return filestamp_from_time(value) if value else None


def require_cryptography(module):
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'), exception=CRYPTOGRAPHY_ERROR)


def keysdir(module):
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
    return KeysDir(module.params['path'], mode=int(module.params['mode'], 8))


def run(module, build, errors):
    """Build the material object, plan, and apply unless in check mode.

    `build()` returns an object with describe() (current files), plan()
    ({what: why} for each change), apply() (writes, returns backups) and
    facts(); `errors` are the exception types shown to the user as they are.
    """
    try:
        material = build()
        before = material.describe()
        reasons = material.plan()
        result = dict(changed=bool(reasons), reasons=reasons, backup_files=[])
        if reasons and not module.check_mode:
            material.dir.ensure()
            result['backup_files'] = material.apply()
        after = dict(before, pending=reasons) if module.check_mode else material.describe()
        result.update(material.facts())
        if module._diff:
            result['diff'] = dict(before=before, after=after)
        return material, result
    except errors as exc:
        module.fail_json(msg=str(exc))
