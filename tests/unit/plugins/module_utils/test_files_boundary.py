# SPDX-License-Identifier: GPL-3.0-or-later
"""The keys directory as a boundary (files.py): links, bounded reads, staged changes with rollback,
the lock, the keysdir's own mode and owner, and the files' modes and owners."""
import os
import stat
import time

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import files
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import (
    MAX_FILE, KeysDir, KeysDirError, plain_name, read_file)

from helpers import plant, tree

SECRET = 'TOPSECRET-first-line-4711'


@pytest.fixture
def place(tmp_path):
    """A keysdir `keys` beside an `outside` directory holding a secret file and a subdirectory."""
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'secret').write_text(SECRET + '\nmore\n')
    (outside / 'dir').mkdir()
    keys = tmp_path / 'keys'
    keys.mkdir()
    return tmp_path, keys, outside


@pytest.mark.parametrize('name, ok', [
    ('ntpkey_RSAhost_th.4004501552', True), ('a', True), ('', False), ('.', False), ('..', False),
    ('../x', False), ('/etc/shadow', False), ('a/b', False), ('a\0b', False), (None, False),
])
def test_plain_names(name, ok):
    assert plain_name(name) == ok


HOSTILE = ['absolute', 'dotdot', 'chain', 'outside_dir', 'dangling_outside', 'fifo', 'link_to_fifo', 'dev_zero',
           'directory', 'dot']


@pytest.mark.parametrize('kind', HOSTILE)
def test_hostile_entries_are_refused_without_following(place, kind):
    root, keys, outside = place
    plant(keys, outside, kind, 'ntpkey_host_th')
    before = tree(root)
    kd = KeysDir(str(keys))
    entry = kd.resolve('ntpkey_host_th')
    assert entry.name is None and entry.problem.startswith(str(keys / 'ntpkey_host_th') + ' is ')
    assert SECRET not in entry.problem
    assert entry.replaceable == (kind != 'directory')
    assert kd.link_target('ntpkey_host_th') is None and kd.seen == set()
    assert tree(root) == before


def test_legitimate_links_and_plain_files(place):
    root, keys, outside = place
    kd = KeysDir(str(keys))
    kd.write('ntpkey_RSAhost_th.1', 'x')
    kd.link('ntpkey_host_th', 'ntpkey_RSAhost_th.1')
    kd.write('ntpkey_cert_th', 'plain file at the link name')
    os.symlink('ntpkey_RSAhost_th.2', str(keys / 'ntpkey_sign_th'))  # in the keysdir, missing: reading fails
    assert kd.resolve('ntpkey_host_th').name == 'ntpkey_RSAhost_th.1'
    assert kd.resolve('ntpkey_cert_th').name == 'ntpkey_cert_th'
    assert kd.resolve('ntpkey_sign_th').name == 'ntpkey_RSAhost_th.2'
    assert kd.resolve('ntpkey_missing').name is None and kd.resolve('ntpkey_missing').problem is None
    assert kd.seen == {'ntpkey_RSAhost_th.1', 'ntpkey_cert_th'}
    with pytest.raises(OSError):
        kd.read('ntpkey_RSAhost_th.2')


def test_join_refuses_names_leaving_the_keysdir(tmp_path):
    kd = KeysDir(str(tmp_path))
    for name in ('../x', '/etc/passwd', '..', ''):
        with pytest.raises(KeysDirError):
            kd.join(name)


def test_read_refuses_fifo_without_hanging(place):
    root, keys, outside = place
    os.mkfifo(str(keys / 'pipe'))
    started = time.time()
    with pytest.raises(KeysDirError, match='is a FIFO, not a key file'):
        KeysDir(str(keys)).read('pipe')
    with pytest.raises(KeysDirError, match='is a FIFO, not a key file'):
        read_file(str(keys / 'pipe'))  # following links (a src given by the operator)
    assert time.time() - started < 5


@pytest.mark.skipif(not os.path.exists('/dev/zero'), reason='no /dev/zero here')
def test_read_refuses_devices_before_opening_them(place):
    root, keys, outside = place
    os.symlink('/dev/zero', str(keys / 'zero'))
    with pytest.raises(KeysDirError, match='is a link'):
        KeysDir(str(keys)).read('zero')
    with pytest.raises(KeysDirError, match='is a character device, not a key file'):
        read_file(str(keys / 'zero'))


def test_read_is_bounded_and_never_follows(place):
    root, keys, outside = place
    (keys / 'big').write_bytes(b'#' * (MAX_FILE + 1))
    (keys / 'fits').write_bytes(b'#' * MAX_FILE)
    kd = KeysDir(str(keys))
    with pytest.raises(KeysDirError, match='larger than %d bytes' % MAX_FILE):
        kd.read('big')
    assert len(kd.read('fits')) == MAX_FILE
    os.symlink(str(outside / 'secret'), str(keys / 'out'))
    with pytest.raises(KeysDirError) as info:
        kd.read('out')
    assert SECRET not in str(info.value)
    with pytest.raises(KeysDirError, match='is a directory'):
        read_file(str(outside / 'dir'))


def test_read_growing_file_is_bounded(place, monkeypatch):
    """A file that grows after fstat still stops at the limit."""
    root, keys, outside = place
    (keys / 'f').write_bytes(b'x' * 100)
    with pytest.raises(KeysDirError, match='larger than 10 bytes'):
        read_file(str(keys / 'f'), follow=False, limit=10)


def test_hard_link_is_not_read_retired_or_fixed(place):
    root, keys, outside = place
    os.link(str(outside / 'secret'), str(keys / 'ntpkey_RSAhost_th.1'))
    os.chmod(str(outside / 'secret'), 0o644)
    os.symlink('ntpkey_RSAhost_th.1', str(keys / 'ntpkey_host_th'))
    before = tree(outside)
    kd = KeysDir(str(keys))
    assert kd.resolve('ntpkey_host_th').name == 'ntpkey_RSAhost_th.1'
    with pytest.raises(KeysDirError, match='has 2 names') as info:
        kd.load('ntpkey_RSAhost_th.1')
    assert SECRET not in str(info.value)
    assert kd.attribute_fixes() == {}
    os.unlink(str(keys / 'ntpkey_host_th'))
    assert kd.retire(['ntpkey_RSAhost_th.1'], backup=False) == []
    assert kd.retire(['ntpkey_RSAhost_th.1'], backup=True) == []
    assert tree(outside) == before and (keys / 'ntpkey_RSAhost_th.1').exists()


def test_retire_skips_linked_files_and_other_kinds(place):
    root, keys, outside = place
    kd = KeysDir(str(keys))
    kd.write('a.1', 'a')
    kd.link('ntpkey_a', 'a.1')
    os.mkfifo(str(keys / 'pipe'))
    os.symlink(str(outside / 'secret'), str(keys / 'out'))
    assert kd.retire(['a.1', 'pipe', 'out', '../outside/secret', str(outside / 'secret')], backup=False) == []
    assert sorted(os.listdir(str(keys))) == ['a.1', 'ntpkey_a', 'out', 'pipe']
    assert (outside / 'secret').read_text().startswith(SECRET)


def test_link_never_points_outside(tmp_path):
    kd = KeysDir(str(tmp_path))
    for target in ('../x', '/etc/shadow', '.', ''):
        with pytest.raises(KeysDirError):
            kd.link('ntpkey_x', target)
    assert os.listdir(str(tmp_path)) == []


def test_link_replaces_a_hostile_link_itself(place):
    root, keys, outside = place
    plant(keys, outside, 'absolute', 'ntpkey_host_th')
    before = tree(outside)
    kd = KeysDir(str(keys))
    kd.write('ntpkey_RSAhost_th.1', 'new')
    kd.link('ntpkey_host_th', 'ntpkey_RSAhost_th.1')
    assert os.readlink(str(keys / 'ntpkey_host_th')) == 'ntpkey_RSAhost_th.1'
    assert tree(outside) == before


def test_temporary_names_are_unique(tmp_path):
    kd = KeysDir(str(tmp_path))
    names = set(kd.temp_name('ntpkey_host_th', 'link') for dummy in range(1000))
    assert len(names) == 1000 and all(plain_name(n) and n.startswith('.ntpkey_host_th.') for n in names)


# -- transactions ---------------------------------------------------------------

def populated(keys):
    kd = KeysDir(str(keys))
    for name in ('ntpkey_RSAhost_th.1', 'ntpkey_cert_th.1'):
        kd.write(name, name)
    kd.link('ntpkey_host_th', 'ntpkey_RSAhost_th.1')
    kd.link('ntpkey_cert_th', 'ntpkey_cert_th.1')
    kd.write('ntpkey_sign_th', 'a plain file at a link name')
    return kd


def stage_new_set(kd):
    tx = kd.transaction()
    tx.write('ntpkey_RSAhost_th.2', 'host 2')
    tx.write('ntpkey_cert_th.2', 'cert 2')
    tx.link('ntpkey_host_th', 'ntpkey_RSAhost_th.2')
    tx.link('ntpkey_cert_th', 'ntpkey_cert_th.2')
    tx.remove('ntpkey_sign_th')
    return tx


def test_transaction_swaps_and_retires(place):
    root, keys, outside = place
    kd = populated(keys)
    with stage_new_set(kd) as tx:
        kept = tx.commit(['ntpkey_RSAhost_th.1', 'ntpkey_cert_th.1'], backup=True)
    assert os.readlink(str(keys / 'ntpkey_host_th')) == 'ntpkey_RSAhost_th.2'
    assert os.readlink(str(keys / 'ntpkey_cert_th')) == 'ntpkey_cert_th.2'
    assert not os.path.lexists(str(keys / 'ntpkey_sign_th'))
    backups = sorted(os.path.basename(p) for p in kept)
    assert backups[:2] == ['ntpkey_RSAhost_th.1', 'ntpkey_cert_th.1']
    assert backups[2].startswith('ntpkey_sign_th.replaced-')  # the plain file displaced, kept as a backup
    assert not [n for n in os.listdir(str(keys)) if n.startswith('.')]


def test_transaction_without_backup_removes_only_what_it_replaced(place):
    root, keys, outside = place
    kd = populated(keys)
    with stage_new_set(kd) as tx:
        assert tx.commit(['ntpkey_RSAhost_th.1', 'ntpkey_cert_th.1', 'ntpkey_host_th'], backup=False) == []
    assert sorted(os.listdir(str(keys))) == ['ntpkey_RSAhost_th.2', 'ntpkey_cert_th', 'ntpkey_cert_th.2',
                                             'ntpkey_host_th']


def count_renames():
    calls = []
    real = os.rename

    def counting(src, dst, *args, **kw):
        calls.append(dst)
        return real(src, dst, *args, **kw)
    return calls, counting


def test_failure_at_any_step_of_the_swap_restores_the_old_set(place, monkeypatch):
    root, keys, outside = place
    populated(keys)
    calls, counting = count_renames()
    monkeypatch.setattr(os, 'rename', counting)
    with stage_new_set(KeysDir(str(keys))) as tx:
        tx.commit(['ntpkey_RSAhost_th.1'], backup=False)  # no backup: every rename is part of the swap
    steps = len(calls)
    monkeypatch.undo()
    assert steps >= 5
    for failing in range(1, steps + 1):
        keys_n = root / ('keys%d' % failing)
        keys_n.mkdir()
        populated(keys_n)
        before = tree(keys_n)
        real = os.rename
        seen = []

        def failing_rename(src, dst, *args, **kw):
            seen.append(dst)
            if len(seen) == failing:
                raise OSError(28, 'No space left on device (injected)')
            return real(src, dst, *args, **kw)
        monkeypatch.setattr(os, 'rename', failing_rename)
        with pytest.raises(OSError, match='injected'):
            with stage_new_set(KeysDir(str(keys_n))) as tx:
                tx.commit(['ntpkey_RSAhost_th.1'], backup=False)
        monkeypatch.undo()
        assert tree(keys_n) == before, 'rename %d of %d failed' % (failing, steps)


def test_leaving_without_commit_removes_the_staged_files(place):
    root, keys, outside = place
    kd = populated(keys)
    before = tree(keys)
    with pytest.raises(RuntimeError):
        with stage_new_set(kd):
            raise RuntimeError('generation failed')
    assert tree(keys) == before


def test_directory_in_the_way_changes_nothing(place):
    root, keys, outside = place
    kd = populated(keys)
    os.mkdir(str(keys / 'ntpkey_cert_th.2'))
    before = tree(keys)
    with pytest.raises(KeysDirError, match='is a directory where a key file or link must be written'):
        with stage_new_set(kd) as tx:
            tx.commit()
    assert tree(keys) == before


# -- the keysdir itself -----------------------------------------------------------

def test_safe_keysdir(tmp_path):
    os.chmod(str(tmp_path), 0o755)
    assert KeysDir(str(tmp_path)).unsafe() is None


@pytest.mark.parametrize('mode', [0o777, 0o775, 0o757, 0o770])
def test_writable_keysdir_is_made_safe(tmp_path, mode):
    os.chmod(str(tmp_path), mode)
    kd = KeysDir(str(tmp_path))
    reason = kd.unsafe()
    assert reason == 'keysdir mode %04o lets group or others replace key files and links: set to %04o' % (
        mode, mode & ~0o022)
    assert kd.make_safe() == mode and kd.dir_mode() == mode & ~0o022 and kd.unsafe() is None


def test_shared_sticky_keysdir_is_refused(tmp_path):
    os.chmod(str(tmp_path), 0o1777)
    with pytest.raises(KeysDirError, match='shared directory'):
        KeysDir(str(tmp_path)).unsafe()
    assert stat.S_IMODE(os.stat(str(tmp_path)).st_mode) == 0o1777


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to give the directory away')
def test_keysdir_of_another_account_is_refused(tmp_path):
    os.chown(str(tmp_path), 4242, 4242)
    with pytest.raises(KeysDirError, match='owned by uid 4242, not by root'):
        KeysDir(str(tmp_path)).unsafe()


def test_keysdir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / 'f').write_text('x')
    with pytest.raises(KeysDirError, match='not a directory'):
        KeysDir(str(tmp_path / 'f')).unsafe()


def test_attribute_fixes(tmp_path):
    kd = KeysDir(str(tmp_path), mode=0o640)
    kd.write('a.1', 'a')
    kd.link('ntpkey_a', 'a.1')
    kd.write('b.1', 'b')  # not resolved: not this run's file
    os.chmod(str(tmp_path / 'a.1'), 0o644)
    assert kd.resolve('ntpkey_a').name == 'a.1'
    fixes = kd.attribute_fixes()
    uid, gid = os.geteuid(), os.stat(str(tmp_path / 'a.1')).st_gid
    assert fixes == {'a.1': ((0o644, uid, gid), (0o640, uid, gid))}
    kd.fix_attributes(fixes)
    assert stat.S_IMODE(os.stat(str(tmp_path / 'a.1')).st_mode) == 0o640 and kd.attribute_fixes() == {}


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to give a file away')
def test_owner_is_enforced(tmp_path):
    kd = KeysDir(str(tmp_path))
    kd.write('a.1', 'a')
    os.chown(str(tmp_path / 'a.1'), 4242, 4242)
    kd.resolve('a.1')
    fixes = kd.attribute_fixes()
    assert fixes == {'a.1': ((0o600, 4242, 4242), (0o600, 0, 4242))}
    kd.fix_attributes(fixes)
    assert os.stat(str(tmp_path / 'a.1')).st_uid == 0


# -- the lock ----------------------------------------------------------------------

class Holder:
    """A forked process holding the keysdir's lock until released (pipes, no semaphores: the
    Debian 11 rootfs the module_utils tests also run in has no /dev/shm)."""

    def __init__(self, path, exclusive):
        ready_r, self.ready_w = os.pipe()
        self.release_r, release_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: hold the lock until told
            code = 1
            try:
                os.close(ready_r)
                os.close(release_w)
                with KeysDir(path).locked(exclusive=exclusive, timeout=5):
                    os.write(self.ready_w, b'1')
                    os.read(self.release_r, 1)
                code = 0
            finally:
                os._exit(code)
        os.close(self.ready_w)
        os.close(self.release_r)
        self.ready_r, self.release_w = ready_r, release_w

    def wait_ready(self):
        return os.read(self.ready_r, 1) == b'1'

    def release(self):
        os.write(self.release_w, b'x')
        os.close(self.release_w)
        os.close(self.ready_r)
        return os.waitpid(self.pid, 0)[1]


def test_lock_excludes_another_process(tmp_path):
    holder = Holder(str(tmp_path), True)
    try:
        assert holder.wait_ready()
        with pytest.raises(KeysDirError, match='another run has held the lock'):
            with KeysDir(str(tmp_path)).locked(exclusive=False, timeout=0.3):
                pass
    finally:
        assert holder.release() == 0
    with KeysDir(str(tmp_path)).locked(exclusive=True, timeout=5) as exists:
        assert exists is True
    assert os.listdir(str(tmp_path)) == []  # no lock file


def test_shared_locks_coexist(tmp_path):
    holder = Holder(str(tmp_path), False)
    try:
        assert holder.wait_ready()
        with KeysDir(str(tmp_path)).locked(exclusive=False, timeout=1):
            pass
    finally:
        assert holder.release() == 0


def test_lock_of_a_missing_keysdir_creates_nothing(tmp_path):
    with KeysDir(str(tmp_path / 'missing')).locked() as exists:
        assert exists is False
    assert os.listdir(str(tmp_path)) == []


# -- any name, any content ----------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(target=st.text(alphabet='ab./\\-_~ \n', min_size=0, max_size=12))
def test_any_link_target_is_followed_only_when_it_names_a_regular_file_here(tmp_path_factory, target):
    base = tmp_path_factory.mktemp('any')
    keys = base / 'keys'
    keys.mkdir()
    (keys / 'a').write_text('a')
    (base / 'a').write_text('outside')
    if not target or '\0' in target:
        return
    os.symlink(target, str(keys / 'ntpkey_x'))
    entry = KeysDir(str(keys)).resolve('ntpkey_x')
    if entry.name is not None:
        assert plain_name(entry.name) and entry.name == target
        assert entry.problem is None
    else:
        assert entry.problem


def test_errors_are_autokey_errors():
    assert issubclass(KeysDirError, AutokeyError) and files.MAX_FILE == 1 << 20
