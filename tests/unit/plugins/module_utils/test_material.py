# SPDX-License-Identifier: GPL-3.0-or-later
"""The regenerate ladder and rollover time shared by host and group material, and materials joined."""
import os

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import group_material, host_material
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.material import (
    REGENERATE, Joined, Loaded, Material, MaterialError, next_filestamp, read_linked)

DIFFERS = 'key is 1024 bits, 2048 requested'


def decide(regenerate, loaded, differs=None, replace_before=None):
    m = Material(KeysDir('/nonexistent'), regenerate, replace_before=replace_before)
    return m.replace_reason(loaded, 'key', lambda value: differs)


@pytest.mark.parametrize('regenerate, expected', [
    ('never', None), ('partial_idempotence', DIFFERS), ('full_idempotence', DIFFERS), ('always', 'regenerate=always'),
])
def test_mismatch_ladder(regenerate, expected):
    assert decide(regenerate, Loaded('f', 10, object()), DIFFERS) == expected


def test_mismatch_fails_with_regenerate_fail():
    with pytest.raises(MaterialError, match='^%s and regenerate=fail. Nothing was changed.$' % DIFFERS):
        decide('fail', Loaded('f', 10, object()), DIFFERS)
    assert decide('fail', Loaded('f', 10, object())) is None


@pytest.mark.parametrize('regenerate', REGENERATE)
def test_missing_file_is_always_made(regenerate):
    expected = 'regenerate=always' if regenerate == 'always' else 'key missing'
    assert decide(regenerate, Loaded()) == expected


@pytest.mark.parametrize('regenerate', ['never', 'fail', 'partial_idempotence'])
def test_unreadable_file_fails_and_names_the_fix(regenerate):
    with pytest.raises(MaterialError, match='^cannot read the key /k/f: bad decrypt. Check the passphrase; .*'
                                            'regenerate=full_idempotence .*Nothing was changed.$'):
        decide(regenerate, Loaded('f', error='/k/f: bad decrypt'))


def test_unreadable_file_is_replaced_with_full_idempotence():
    assert decide('full_idempotence', Loaded('f', error='/k/f: bad')) == 'unreadable (/k/f: bad)'
    m = Material(KeysDir('/k'), 'always')
    assert m.unreadable('params file', Loaded('f', error='/k/f: bad')) == 'unreadable (/k/f: bad)'


def test_rollover_time_before_the_options():
    old = Loaded('f', 100, object())
    assert decide('never', old, replace_before=101) == 'key filestamp 100 is older than the rollover time 101'
    assert decide('fail', old, DIFFERS, replace_before=101).startswith('key filestamp 100')
    assert decide('partial_idempotence', old, replace_before=100) is None


def test_regenerate_is_checked():
    with pytest.raises(MaterialError, match='regenerate must be one of never, fail'):
        Material(KeysDir('/k'), 'sometimes')


def test_next_filestamp_is_newer_than_every_existing_one():
    assert next_filestamp(None, 5) >= 3900000000
    now = 4000000000
    assert next_filestamp(now + 3600, None, now - 10, now=now) == now + 3601  # an hour ahead: within tolerance


def test_both_material_classes_share_the_base_and_the_names():
    assert issubclass(host_material.HostMaterial, Material) and issubclass(group_material.GroupMaterial, Material)
    assert issubclass(MaterialError, AutokeyError) and issubclass(MaterialError, ValueError)
    for name in ('Loaded', 'MaterialError', 'next_filestamp'):  # still importable from host_material
        assert getattr(host_material, name) is globals()[name]


def test_read_linked_names_the_file_once(tmp_path):
    keysdir = KeysDir(str(tmp_path))
    assert read_linked(keysdir, 'ntpkey_x_lab', None).name is None
    keysdir.write('x.7', '# ntpkey_x_lab.7\n\n-----BEGIN X-----\nAAAA\n-----END X-----\n')
    keysdir.link('ntpkey_x_lab', 'x.7')
    link = str(tmp_path / 'ntpkey_x_lab')
    loaded = read_linked(keysdir, 'ntpkey_x_lab', lambda keyfile, path: (keyfile.body.count('-----'), path))
    assert (loaded.name, loaded.filestamp, loaded.value, loaded.error) == ('x.7', 7, (4, link), None)

    def refuse(keyfile, path):
        raise MaterialError('bad decrypt')
    assert read_linked(keysdir, 'ntpkey_x_lab', refuse).error == link + ': bad decrypt'
    keysdir.write('x.7', 'truncated.7\n')
    error = read_linked(keysdir, 'ntpkey_x_lab', refuse).error
    assert error == link + ' has no PEM block (truncated or not an Autokey file)'  # not named twice
    (tmp_path / 'x.7').write_bytes(b'\xff\xfe')
    assert read_linked(keysdir, 'ntpkey_x_lab', refuse).error == link + ' is not a text file (corrupted?)'


def _member(path):
    keys, th_keys = KeysDir(str(path / 'cl')), KeysDir(str(path / 'th'))
    th_keys.ensure()
    th = group_material.GroupMaterial(th_keys, 'iff', 'lab', passphrase='pw', generate=True, params=False, size=512)
    th.plan()
    th.apply()
    params = group_material.read_given('iff', 'lab', content=th.exports()['params_export'])
    host = host_material.HostMaterial(keys, 'cl', 'pw', group='lab', size=1024)
    parts = [group_material.GroupMaterial(keys, 'iff', 'lab', source=params, server_key=False)]
    return keys, Joined(host, parts, 'group_material')


def test_joined_materials_are_planned_and_written_together(tmp_path):
    keys, joined = _member(tmp_path)
    keys.ensure()
    assert set(joined.plan()) == {'host', 'cert', 'params'}
    joined.apply()
    assert {'ntpkey_host_cl', 'ntpkey_cert_cl', 'ntpkey_iffpar_lab'} <= set(os.listdir(keys.path))
    facts = joined.facts()
    assert facts['subject'] == 'cl@lab' and facts['group_material']['params_link'].endswith('ntpkey_iffpar_lab')
    assert 'server_key_link' not in facts['group_material']  # None values are left out


def test_joined_materials_change_nothing_when_one_fails_to_stage(tmp_path, monkeypatch):
    keys, joined = _member(tmp_path)
    keys.ensure()
    joined.plan()

    def broken(tx):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(joined.parts[1], 'write', broken)
    with pytest.raises(OSError):
        joined.apply()
    assert os.listdir(keys.path) == []  # the host key staged first was not put in place either
