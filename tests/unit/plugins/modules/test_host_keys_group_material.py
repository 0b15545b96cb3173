# SPDX-License-Identifier: GPL-3.0-or-later
"""host_keys with group_material: a member's whole key material in one call and one transaction."""
import os
import time

import pytest

from ansible_collections.ntp.autokey.plugins.modules import group_keys, host_keys

from helpers import run_module, snapshot

TH_PW = 'Th-Vault-Secret-1'
TRANSPORT_PW = 'Transport-Secret-2'
MEMBER_PW = 'Member-Vault-Secret-3'


@pytest.fixture(scope='module')
def export(tmp_path_factory):
    th = tmp_path_factory.mktemp('th')
    result, dummy = run_module(group_keys, dict(keysdir=str(th), scheme='iff', group='lab', generate=True,
                                                params=False, size=512, passphrase=TH_PW,
                                                export_passphrase=TRANSPORT_PW))
    assert result['changed']
    return result


def member(path, export, server=False, **kw):
    material = dict(scheme='iff', params=export['params_export'])
    if server:
        material.update(server_key=export['server_key_export'], source_passphrase=TRANSPORT_PW)
    base = dict(keysdir=str(path), host='m1', group='lab', passphrase=MEMBER_PW, size=1024,
                group_material=material)
    base.update(kw)
    return base


def test_group_server_material_in_one_call_then_idempotent(tmp_path, export):
    result, raw = run_module(host_keys, member(tmp_path, export, server=True), diff=True)
    fs = export['filestamp']
    assert result['changed'] and set(result['reasons']) == {'server', 'params', 'host', 'cert'}
    assert result['group_material'] == dict(scheme='iff', group='lab', filestamp=fs, bits=512,
                                            fingerprint=export['fingerprint'],
                                            server_key_link=str(tmp_path / 'ntpkey_iffkey_lab'),
                                            params_link=str(tmp_path / 'ntpkey_iffpar_lab'), alias_links=[])
    names = set(os.listdir(str(tmp_path)))
    assert {'ntpkey_iffkey_lab', 'ntpkey_iffkey_lab.%d' % fs, 'ntpkey_iffpar_lab', 'ntpkey_iffpar_lab.%d' % fs,
            'ntpkey_host_m1', 'ntpkey_cert_m1'} <= names
    assert result['diff']['before']['group_material']['params']['file'] is None
    assert result['diff']['after']['group_material']['params']['filestamp'] == fs
    for secret in (TRANSPORT_PW, MEMBER_PW, export['server_key_export']):
        assert secret not in raw
    again, dummy = run_module(host_keys, member(tmp_path, export, server=True))
    assert not again['changed'] and again['reasons'] == {}


def test_same_files_as_group_keys(tmp_path, export):
    """The params file is the one group_keys installs from the same export, byte for byte."""
    one, two = tmp_path / 'one', tmp_path / 'two'
    run_module(host_keys, member(one, export))
    run_module(group_keys, dict(keysdir=str(two), scheme='iff', group='lab', server_key=False,
                                content=export['params_export']))
    name = 'ntpkey_iffpar_lab.%d' % export['filestamp']
    assert (one / name).read_bytes() == (two / name).read_bytes()
    assert os.readlink(str(one / 'ntpkey_iffpar_lab')) == os.readlink(str(two / 'ntpkey_iffpar_lab')) == name


def test_check_mode_plans_both_and_writes_nothing(tmp_path, export):
    keys = tmp_path / 'keys'
    result, dummy = run_module(host_keys, member(keys, export), check_mode=True, diff=True)
    assert result['changed'] and set(result['reasons']) == {'params', 'host', 'cert'}
    assert not keys.exists()
    run_module(host_keys, member(keys, export))
    os.unlink(str(keys / 'ntpkey_iffpar_lab'))
    before = snapshot(keys)
    result, dummy = run_module(host_keys, member(keys, export), check_mode=True)
    assert result['changed'] and result['reasons'] == {'params': 'params missing'}
    assert snapshot(keys) == before


def test_a_refused_part_changes_nothing(tmp_path, export):
    """Host key and group material are one transaction: if either is refused, neither is written."""
    run_module(host_keys, member(tmp_path, export))
    os.unlink(str(tmp_path / 'ntpkey_iffpar_lab'))
    before = snapshot(tmp_path)
    result, raw = run_module(host_keys, member(tmp_path, export, passphrase='Another-Password-4'))
    assert result['failed'] and 'ntpkey_host_m1' in result['msg'] and 'passphrase' in result['msg']
    assert snapshot(tmp_path) == before and 'Another-Password-4' not in raw
    other = dict(scheme='iff', params=export['params_export'].replace('_lab.', '_other.'))
    result, dummy = run_module(host_keys, member(tmp_path, export, group_material=other))
    assert result['failed'] and snapshot(tmp_path) == before


@pytest.mark.parametrize('material, words', [
    (dict(scheme='iff', params=''), 'group_material.params is empty'),
    (dict(scheme='iff', params='not a key file\n'), 'group_material.params'),
    (dict(scheme='gq', params=None), 'group_material.params'),
    (dict(scheme='iff', params='x', server_key='-----BEGIN garbage\n'), 'group_material.server_key'),
])
def test_damaged_or_missing_material_is_refused_by_name(tmp_path, export, material, words):
    if material['params'] is None:  # params of another scheme
        material['params'] = export['params_export']
    result, dummy = run_module(host_keys, member(tmp_path, export, group_material=material))
    assert result['failed'] and words in result['msg'], result['msg']
    assert os.listdir(str(tmp_path)) == []


def test_group_material_needs_the_group(tmp_path, export):
    result, dummy = run_module(host_keys, member(tmp_path, export, group=None))
    assert result['failed'] and 'group_material needs group' in result['msg']
    assert os.listdir(str(tmp_path)) == []


def test_server_key_and_params_of_two_group_keys_are_refused(tmp_path, tmp_path_factory, export):
    """ntpd pairs them by filestamp and refuses the exchange otherwise (103 bad_filestamp): refused before writing."""
    other = export
    while other['filestamp'] == export['filestamp']:  # a group key of another second
        time.sleep(0.2)
        other, dummy = run_module(group_keys, dict(keysdir=str(tmp_path_factory.mktemp('other-th')), scheme='iff',
                                                   group='lab', generate=True, params=False, size=512,
                                                   passphrase=TH_PW, export_passphrase=TRANSPORT_PW))
    args = member(tmp_path, export, server=True)
    args['group_material']['params'] = other['params_export']
    result, raw = run_module(host_keys, args)
    assert result['failed'] and os.listdir(str(tmp_path)) == []
    assert result['msg'].startswith('group_material.server_key (filestamp %d) and group_material.params (filestamp %d) '
                                    'are of two different group keys' % (export['filestamp'], other['filestamp']))
    assert TRANSPORT_PW not in raw and MEMBER_PW not in raw
