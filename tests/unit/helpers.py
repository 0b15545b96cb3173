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
