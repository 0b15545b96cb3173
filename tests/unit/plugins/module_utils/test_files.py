# SPDX-License-Identifier: GPL-3.0-or-later
import os

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir


def test_retire_keeps_backups_or_removes(tmp_path):
    keysdir = KeysDir(str(tmp_path))
    for name in ('a.1', 'b.1', 'c.2'):
        keysdir.write(name, name)
    keysdir.link('ntpkey_x', 'c.2')
    kept = keysdir.retire(['a.1', None, 'missing.1', 'a.1', 'b.1'], backup=True)
    assert kept == [str(tmp_path / 'a.1'), str(tmp_path / 'b.1')]
    assert sorted(os.listdir(str(tmp_path))) == ['a.1', 'b.1', 'c.2', 'ntpkey_x']
    assert keysdir.retire(['a.1', 'b.1', ''], backup=False) == []
    assert sorted(os.listdir(str(tmp_path))) == ['c.2', 'ntpkey_x']


def test_write_is_atomic_with_mode(tmp_path):
    keysdir = KeysDir(str(tmp_path), mode=0o640)
    keysdir.write('f.1', 'text')
    assert (tmp_path / 'f.1').read_text() == 'text' and os.stat(str(tmp_path / 'f.1')).st_mode & 0o777 == 0o640
    assert os.listdir(str(tmp_path)) == ['f.1']
