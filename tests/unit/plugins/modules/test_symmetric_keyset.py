# SPDX-License-Identifier: GPL-3.0-or-later
"""symmetric_keyset: allocation without collisions, rotation then retirement, damaged sets refused."""

import json
import os
import stat

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.symmetric import check_key, ntpq_password
from ansible_collections.ntp.autokey.plugins.modules import symmetric_keyset

from helpers import run_module, tree

KEYS = [dict(name='upstream'), dict(name='control', purpose='control'), dict(name='legacy', type='MD5')]


def run(path, **kw):
    check = kw.pop('check', False)
    args = dict(path=str(path), keys=KEYS)
    args.update(kw)
    return run_module(symmetric_keyset, args, check_mode=check, diff=True)[0]


def test_keys_made_once_with_free_ids(tmp_path):
    path = tmp_path / 'set.json'
    first = run(path, reserved_ids=[1, 3])
    assert first['changed']
    # in the order listed, skipping the reserved IDs
    assert first['ids'] == {'upstream': {'current': 2}, 'control': {'current': 4}, 'legacy': {'current': 5}}
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    for key in first['keys']:
        check_key(key, 'ntpd')
    assert [k['id'] for k in first['keys']] == [2, 4, 5]
    assert set(first['keys'][0]) == {'id', 'type', 'secret', 'format'}
    control = [k for k in first['keys'] if k['id'] == first['ids']['control']['current']][0]
    assert ntpq_password(check_key(control, 'ntpd')).isalnum()
    second = run(path, reserved_ids=[1, 3])
    assert not second['changed'] and second['keys'] == first['keys']


def test_rotation_keeps_the_previous_key_until_retired(tmp_path):
    path = tmp_path / 'set.json'
    made = run(path)
    rotated = run(path, rotate=['upstream'])
    assert rotated['ids']['upstream'] == {'current': 4, 'previous': made['ids']['upstream']['current']}
    assert rotated['reasons'] == {'upstream': 'rotated: key 4 (AES128CMAC) is current, key 1 previous until it is '
                                              'retired'}
    assert not run(path, rotate=['upstream'])['changed']  # a rerun after an interruption rotates nothing
    retired = run(path, retire=['upstream'])
    assert retired['ids']['upstream'] == {'current': 4}
    # the retired key 1 is never allocated again
    assert run(path, rotate=['upstream'])['ids']['upstream'] == {'current': 5, 'previous': 4}


def test_check_mode_writes_nothing(tmp_path):
    result = run(tmp_path / 'set.json', check=True)
    assert result['changed'] and os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize('text, message', [
    ('{"version": 1, "keys": {"a": {"current": {"id": 1, "type": "AES128CMAC", "secret": "00"}}}}',
     'AES128CMAC secret has 16 bytes'),
    ('{"version": 1, "keys": {"a": {"current": {"id": 70000, "type": "MD5", "secret": "%s"}}}}' % ('00' * 16),
     'reserves for Autokey'),
    ('{"version": 1, "keys": {"a": {"current": {"id": 1, "type": "MD5", "secret": "%s"}},'
     ' "b": {"current": {"id": 1, "type": "MD5", "secret": "%s"}}}}' % ('00' * 16, '11' * 16), 'key ID 1 is held'),
    ('not json', 'not JSON'),
    ('[]', 'not a key set of version 1'),
    ('{"version": 1, "keys": {"../x": {"current": {}}}}', 'is not a named key'),
])
def test_damaged_set_is_refused_and_left_alone(tmp_path, text, message):
    path = tmp_path / 'set.json'
    path.write_text(text)
    before = tree(tmp_path)
    result = run(path)
    assert result['failed'] and message in result['msg'] and str(path) in result['msg']
    assert '11' * 16 not in result['msg']
    assert tree(tmp_path) == before


def test_link_is_never_followed(tmp_path):
    target = tmp_path / 'elsewhere.json'
    target.write_text(json.dumps(dict(version=1, keys={})))
    os.symlink(str(target), str(tmp_path / 'set.json'))
    result = run(tmp_path / 'set.json')
    assert result['failed'] and 'link' in result['msg']


def test_rotate_and_retire_one_name_in_one_run_is_refused(tmp_path):
    result = run(tmp_path / 'set.json', rotate=['upstream'], retire=['upstream'])
    assert result['failed'] and 'both rotated and retired' in result['msg']
