# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared test helpers."""

import os
import stat

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')
STOCK_PASSWORD = 'fixturepw'
STOCK_EXPORT_PASSWORD = 'exportpw'


def ntpq_texts(name):
    """[system, peers]: the ntpq output captured as fixtures/ntpq/<name>-system.txt and <name>-peers.txt."""
    found = []
    for part in ('system', 'peers'):
        with open(os.path.join(FIXTURES, 'ntpq', '%s-%s.txt' % (name, part))) as handle:
            found.append(handle.read())
    return found


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


PLANTED = ['absolute', 'dotdot', 'chain', 'outside_dir', 'dangling_outside', 'fifo', 'link_to_fifo', 'dev_zero',
           'dot', 'device_node', 'hard_link', 'oversize', 'directory']


def plant(keys, outside, kind, link):
    """Replace `link` in the keysdir `keys` (a pathlib.Path beside `outside`, which holds a file `secret` and a
    directory `dir`) by a hostile entry of `kind` (PLANTED)."""
    path = str(keys / link)
    if os.path.lexists(path):
        os.unlink(path)
    if kind == 'absolute':
        os.symlink(str(outside / 'secret'), path)
    elif kind == 'dotdot':
        os.symlink('../outside/secret', path)
    elif kind == 'chain':
        os.symlink('../outside/secret', str(keys / 'inner'))
        os.symlink('inner', path)
    elif kind == 'outside_dir':
        os.symlink(str(outside / 'dir'), path)
    elif kind == 'dangling_outside':
        os.symlink(str(outside / 'missing'), path)
    elif kind == 'fifo':
        os.mkfifo(path)
    elif kind == 'link_to_fifo':
        os.mkfifo(str(keys / 'pipe'))
        os.symlink('pipe', path)
    elif kind == 'dev_zero':
        os.symlink('/dev/zero', path)
    elif kind == 'dot':
        os.symlink('.', path)
    elif kind == 'device_node':
        os.mknod(str(keys / 'zero'), stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero's numbers
        os.symlink('zero', path)
    elif kind == 'hard_link':
        os.link(str(outside / 'secret'), str(keys / 'ntpkey_stolen.1'))
        os.symlink('ntpkey_stolen.1', path)
    elif kind == 'oversize':
        (keys / 'ntpkey_big.1').write_bytes(b'# ntpkey_big.1\n' + b'A' * (2 << 20))
        os.symlink('ntpkey_big.1', path)
    elif kind == 'directory':
        os.mkdir(path)
    else:
        raise AssertionError(kind)


def tree(root, skip=None):
    """{relative path: (type, mode, uid, gid, content, link target or device number)} of everything under
    `root` except the subtree `skip`: a snapshot that shows any change, to prove nothing outside changed."""
    state = {}
    for base, dirs, names in os.walk(str(root)):
        if skip and os.path.abspath(base).startswith(os.path.abspath(str(skip))):
            continue
        for name in dirs + names:
            full = os.path.join(base, name)
            if skip and os.path.abspath(full) == os.path.abspath(str(skip)):
                continue
            st_ = os.lstat(full)
            if stat.S_ISLNK(st_.st_mode):
                what = os.readlink(full)
            elif stat.S_ISREG(st_.st_mode):
                with open(full, 'rb') as handle:
                    what = handle.read()
            else:
                what = st_.st_rdev
            state[os.path.relpath(full, str(root))] = (stat.S_IFMT(st_.st_mode), stat.S_IMODE(st_.st_mode),
                                                       st_.st_uid, st_.st_gid, what)
    return state
