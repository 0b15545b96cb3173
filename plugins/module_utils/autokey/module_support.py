# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the key modules share: common options, errors shown as they are, the plan/apply run."""


import os
import re
import sys
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


# The oldest cryptography the modules are tested with (Debian 11's python3-cryptography): README, module docs.
MIN_CRYPTOGRAPHY_VERSION = '3.3.2'


def _release(version):
    """The leading numbers of a version string ('41.0.7' -> (41, 0, 7), '3.4.dev1' -> (3, 4)); () when none."""
    match = re.match(r'\d+(?:\.\d+)*', str(version))
    return tuple(int(n) for n in match.group(0).split('.')) if match else ()


def cryptography_too_old(version):
    """The message for a cryptography older than MIN_CRYPTOGRAPHY_VERSION (or of no readable version), else None."""
    found = _release(version)
    if found and found >= _release(MIN_CRYPTOGRAPHY_VERSION):
        return None
    return ('Python cryptography %s is installed for %s on this host; ntp.autokey needs cryptography %s or newer. '
            'Upgrade it with the OS package (python3-cryptography, e.g. Debian 11 or newer) or with '
            "%s -m pip install 'cryptography>=%s', or point ansible_python_interpreter at a Python that has it."
            % (version, sys.executable, MIN_CRYPTOGRAPHY_VERSION, sys.executable, MIN_CRYPTOGRAPHY_VERSION))


# The oldest Python the modules are tested on (Debian 11's python3): README, Supported platforms. This file and
# the modules parse on Python 3.6 (tests/unit/plugins/test_target_python.py), so that an older Python reaches
# this message instead of a syntax error.
MIN_PYTHON = (3, 9)


def python_too_old(version_info):
    """The message for a Python older than MIN_PYTHON, else None."""
    found = tuple(version_info)[:2]
    if found >= MIN_PYTHON:
        return None
    wanted = '%d.%d' % MIN_PYTHON
    return ('Python %d.%d runs this module (%s); ntp.autokey modules need Python %s or newer on the managed host. '
            'Install one (Debian 11 has Python 3.9) and point ansible_python_interpreter at it.'
            % (found[0], found[1], sys.executable, wanted))


def require_python(module):
    too_old = python_too_old(sys.version_info)
    if too_old:
        module.fail_json(msg=too_old)


def require_cryptography(module):
    """Python and cryptography new enough for the key modules, or the task fails with what to do."""
    require_python(module)
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'), exception=CRYPTOGRAPHY_ERROR)
    too_old = cryptography_too_old(getattr(cryptography, '__version__', 'of unknown version'))
    if too_old:
        module.fail_json(msg=too_old)


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


def attribute_text(mode, uid, gid):
    return 'mode %04o, owner %d:%d' % (mode, uid, gid)


def run(module, build):
    """Build the material object, plan, and apply unless in check mode.

    `build()` returns an object with `dir` (files.KeysDir), describe() (current files),
    plan() ({what: why} for each change), apply() (writes, returns backups) and
    facts(). ERRORS fail the module with their message.

    The keysdir is a boundary (files.py): plan and apply run under its lock (exclusive;
    shared in check mode, which writes nothing, not even a lock file). Before anything is
    read, a keysdir that group or others may write is made safe, and one owned by another
    account is refused (KeysDir.unsafe). The mode and owner of the files the links name are
    enforced. Each such fix is a change with its reason and in the diff. On failure nothing
    is changed: the transaction puts the links back, and what this run fixed or created is
    put back too.
    """
    try:
        material = build()
        keys = material.dir
        created = False if module.check_mode else keys.ensure()
        try:
            with keys.locked(exclusive=not module.check_mode) as exists:
                result = _plan_and_apply(module, material, keys, exists, created)
        except BaseException:
            if created:
                keys.remove_if_empty()
            raise
        return material, result
    except ERRORS as exc:
        module.fail_json(msg=str(exc))


def _plan_and_apply(module, material, keys, exists, created):
    check = module.check_mode
    unsafe = keys.unsafe() if exists else None
    old_mode = None
    fixes = {}
    done = {}
    if unsafe and not check:
        old_mode = keys.make_safe()  # first: from now on no other account can change the keysdir
    try:
        before = material.describe()
        reasons = material.plan()
        fixes = keys.attribute_fixes()
        changes = dict(reasons)
        if unsafe:
            changes['keysdir'] = unsafe
        if fixes:
            changes['permissions'] = '; '.join(
                '%s has %s, %s wanted' % (keys.join(name), attribute_text(*have), attribute_text(*want))
                for name, (have, want) in sorted(fixes.items()))
        result = dict(changed=bool(changes), reasons=changes, backup_files=[])
        if not check:
            keys.fix_attributes(fixes)
            done = fixes
            if reasons:
                result['backup_files'] = material.apply()
        after = dict(before, pending=changes) if check else material.describe()
        result.update(material.facts())
    except BaseException:
        keys.fix_attributes(dict((name, (want, have)) for name, (have, want) in done.items()))
        if old_mode is not None:
            os.chmod(keys.path, old_mode)
        raise
    if created and not changes:
        keys.remove_if_empty()
    if module._diff:
        before, after = dict(before), dict(after)
        if unsafe:
            mode = old_mode if old_mode is not None else keys.dir_mode()
            before['keysdir_mode'], after['keysdir_mode'] = '%04o' % mode, '%04o' % (mode & ~0o022)
        if fixes:
            before['file_attributes'] = dict((keys.join(n), attribute_text(*h)) for n, (h, w) in fixes.items())
            after['file_attributes'] = dict((keys.join(n), attribute_text(*w)) for n, (h, w) in fixes.items())
        result['diff'] = dict(before=before, after=after)
    return result
