# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared test helpers."""

import os

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')
STOCK_PASSWORD = 'fixturepw'
STOCK_EXPORT_PASSWORD = 'exportpw'


def stock(scheme, prefix):
    """Text of the stock ntp-keygen fixture of `scheme` whose name starts with `prefix`."""
    folder = os.path.join(FIXTURES, 'ntp-keygen', scheme)
    for name in sorted(os.listdir(folder)):
        if name.startswith(prefix):
            with open(os.path.join(folder, name)) as handle:
                return handle.read()
    raise LookupError('no fixture %s/%s*' % (scheme, prefix))


def snapshot(path):
    """{name: (link target or bytes, mode)} of a directory, to prove nothing changed."""
    state = {}
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if os.path.islink(full):
            state[name] = ('link', os.readlink(full))
        else:
            with open(full, 'rb') as handle:
                state[name] = (handle.read(), os.stat(full).st_mode & 0o7777)
    return state


def run_module(module, args, check_mode=False, diff=False):
    """Run an Ansible module's main() in-process; returns its JSON result and raw output."""
    import io
    import json
    import sys
    from unittest import mock

    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    payload = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff, _ansible_remote_tmp='/tmp',
                   _ansible_keep_remote_files=False)
    out = io.StringIO()
    with mock.patch.object(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': payload}))), \
            mock.patch.object(basic, '_ANSIBLE_PROFILE', 'legacy', create=True), \
            mock.patch.object(sys, 'stdout', out):
        try:
            module.main()
        except SystemExit:
            pass
    raw = out.getvalue()
    return json.loads(raw), raw
