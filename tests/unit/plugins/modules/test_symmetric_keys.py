# SPDX-License-Identifier: GPL-3.0-or-later
"""symmetric_keys: idempotence, check mode, diff without secrets, the file boundary."""

import json
import os
import stat

import pytest

from ansible_collections.ntp.autokey.plugins.modules import symmetric_keys

from helpers import run_module, tree

AES = '8c0f1e6a4b2d3c5e7f9a1b2c3d4e5f60'
KEYS = [dict(id=10, type='AES128CMAC', secret=AES), dict(id=3, type='MD5', secret='Legacy-Pw1', format='ascii')]
SECRETS = (AES, 'Legacy-Pw1')


def run(path, keys=None, daemon='ntpd', **kw):
    check = kw.pop('check', False)
    args = dict(daemon=daemon, path=str(path), keys=KEYS if keys is None else keys, group='root')
    args.update(kw)
    result, raw = run_module(symmetric_keys, args, check_mode=check, diff=True)
    for secret in SECRETS:
        assert secret not in raw
    return result


@pytest.mark.parametrize('daemon, text', [
    ('ntpd', '3 MD5 Legacy-Pw1\n10 AES128CMAC %s\n' % AES),
    ('chrony', '3 MD5 ASCII:Legacy-Pw1\n10 AES128 HEX:%s\n' % AES),
])
def test_writes_once_then_changes_nothing(tmp_path, daemon, text):
    path = tmp_path / 'keys'
    first = run(path, daemon=daemon)
    assert first['changed'] and first['key_ids'] == [3, 10]
    assert first['key_types'] == {'3': 'MD5', '10': 'AES128CMAC'}
    assert first['diff']['after']['keys'] == {'3': 'MD5', '10': 'AES128CMAC'}
    assert path.read_text().endswith(text)
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == (0o600 if daemon == 'ntpd' else 0o640)
    second = run(path, daemon=daemon)
    assert not second['changed'] and second['reasons'] == {}


def test_check_mode_writes_nothing_and_says_what_would_change(tmp_path):
    path = tmp_path / 'ntp.keys'
    run(path)
    before = tree(tmp_path)
    result = run(path, keys=[dict(id=10, secret='00' * 16), dict(id=11, secret=AES)], check=True)
    assert result['changed']
    assert result['reasons'] == {'key 10': 'secret replaced (AES128CMAC)', 'key 11': 'added (AES128CMAC)',
                                 'key 3': 'removed (MD5)'}
    assert tree(tmp_path) == before


def test_refused_key_changes_nothing(tmp_path):
    path = tmp_path / 'ntp.keys'
    run(path)
    before = tree(tmp_path)
    result = run(path, keys=[dict(id=10, secret=AES), dict(id=70000, secret=AES)])
    assert result['failed'] and 'reserved for Autokey' in result['msg']
    assert tree(tmp_path) == before


def test_damaged_file_is_replaced_with_the_lines_named(tmp_path):
    path = tmp_path / 'ntp.keys'
    path.write_text('10 AES128CMAC %s\nnot a key line with a secret\n' % AES)
    result = run(path)
    assert result['changed']
    assert 'line 2: not a key ID' in result['reasons']['file']
    assert 'secret' not in result['reasons']['file'].replace('ntpd would reject', '')
    assert path.read_text().count('\n') == 4


@pytest.mark.parametrize('make', ['link', 'dangling', 'fifo', 'directory', 'hard_link'])
def test_never_follows_or_replaces_what_is_not_its_file(tmp_path, make):
    keys_dir = tmp_path / 'etc'
    keys_dir.mkdir()
    outside = tmp_path / 'outside'
    outside.write_text('precious\n')
    path = keys_dir / 'ntp.keys'
    if make == 'link':
        os.symlink(str(outside), str(path))
    elif make == 'dangling':
        os.symlink(str(tmp_path / 'nowhere'), str(path))
    elif make == 'fifo':
        os.mkfifo(str(path))
    elif make == 'directory':
        path.mkdir()
    else:
        os.link(str(outside), str(path))
    before = tree(tmp_path)
    result = run(path)
    assert result.get('failed'), result
    assert str(path) in result['msg'] and 'Nothing was changed' in result['msg']
    assert tree(tmp_path) == before
    assert not (tmp_path / 'nowhere').exists()


def test_mode_and_group_enforced(tmp_path):
    path = tmp_path / 'chrony.keys'
    run(path, daemon='chrony')
    os.chmod(str(path), 0o644)
    result = run(path, daemon='chrony')
    assert result['changed'] and 'permissions' in result['reasons']
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o640


def test_unknown_group_is_refused(tmp_path):
    result = run(tmp_path / 'k', group='no-such-group-here')
    assert result['failed'] and 'group no-such-group-here does not exist' in result['msg']


def test_no_backup_of_old_secrets_by_default(tmp_path):
    path = tmp_path / 'ntp.keys'
    run(path)
    result = run(path, keys=[dict(id=10, secret='11' * 16)])
    assert result['backup_files'] == []
    assert sorted(os.listdir(str(tmp_path))) == ['ntp.keys']
    assert json.dumps(result).count('11' * 16) == 0
