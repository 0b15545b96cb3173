# -*- coding: utf-8 -*-
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the key modules share: common options, errors shown as they are, the plan/apply run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError

try:
    import cryptography  # noqa: F401, pylint: disable=unused-import
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_ERROR = None
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_ERROR = traceback.format_exc()

# Every error this collection raises, and the file system's: shown to the user as they are.
ERRORS = (AutokeyError, OSError)

KEYSDIR_ARGS = dict(
    keysdir=dict(type='path', default='/etc/ntp', aliases=['path']),
)

COMMON_ARGS = dict(
    KEYSDIR_ARGS,
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
    return KeysDir(module.params['keysdir'], mode=int(module.params.get('mode') or '0600', 8))


def unmask_public_content(module, source):
    """Let public params given as `content` come back in clear.

    `content` is no_log because it may hold a server key, and Ansible replaces every
    return value that contains a no_log input: params given as `content` made
    params_export VALUE_SPECIFIED_IN_NO_LOG_PARAMETER. Once `source` (parsed from
    `content`) is known to hold client params only, which are public, that exact
    text is no secret and is taken off the list of masked values. Passwords, and
    content holding a server or group key, stay masked."""
    content = module.params.get('content')
    if content and source is not None and source.public_only:
        module.no_log_values.discard(content)


def run(module, build):
    """Build the material object, plan, and apply unless in check mode.

    `build()` returns an object with describe() (current files), plan()
    ({what: why} for each change), apply() (writes, returns backups) and
    facts(). ERRORS fail the module with their message.
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
    except ERRORS as exc:
        module.fail_json(msg=str(exc))
