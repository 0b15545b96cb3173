# SPDX-License-Identifier: GPL-3.0-or-later
"""GQ in the layout of ntpd 4.2.6 (layout '4.2.6'): 4.2.6's crypto_bob2 reads u from P and b from E, its crypto_gq
reads b from E; 4.2.8 reads u from E and b from D (identity.py). Each exchange is run here as that release runs it."""

import hashlib

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import identity
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import parse
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.group_material import (
    GroupMaterial, MaterialError, read_source)
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.private_keys import load_pem

from helpers import snapshot


def _md5(value):
    data = value.to_bytes((value.bit_length() + 7) // 8 or 1, 'big')
    return int.from_bytes(hashlib.md5(data).digest(), 'big')


def exchange_426(server, params, v, r=0x1234567890abcdef1234567):
    """crypto_bob2 (y = k u^r with u = P, hash(k^b) with b = E) then crypto_gq (v^r y^b with b = E)."""
    n, u, b = server['n'], server['p'], server['e']
    k = 0x2468ace02468ace02468ace % n
    y = (k * pow(u, r, n)) % n
    return _md5((pow(v, r, params['n']) * pow(y, params['e'], params['n'])) % params['n']) == _md5(pow(k, b, n))


def on_disk(path, link, password=None):
    keyfile = parse((path / link).read_text())
    return keyfile.filestamp, load_pem(keyfile.body, password)[0]


@pytest.fixture(scope='module')
def key():
    return identity.GqKey.generate(512)


def test_the_4_2_6_layouts_verify_as_4_2_6_runs_them(key):
    server, params = key.server_key('4.2.6'), key.params(None, '4.2.6')
    assert exchange_426(server, params, key.v)
    assert not exchange_426(key.server_key(), key.params(None), key.v)  # 4.2.8's files never verify on 4.2.6


def test_4_2_6_params_verify_on_4_2_8_too_its_server_key_does_not(key):
    params = key.params(None, '4.2.6')
    server_428 = identity.as_loaded(key.server_key(), 'pkcs8')
    assert identity.exchange('gq', server_428, params, key.v) is None
    server_426 = identity.as_loaded(key.server_key('4.2.6'), 'pkcs8')
    assert identity.exchange('gq', server_426, params, key.v) is not None


def test_a_4_2_6_server_key_reads_back_as_the_same_group_key(key):
    again = identity.GqKey.from_private_key(key.server_key('4.2.6'))
    assert (again.n, again.b, again.u, again.v) == (key.n, key.b, key.u, key.v)


def run(path, **kw):
    material = GroupMaterial(KeysDir(str(path)), 'gq', 'lab', **kw)
    reasons = material.plan()
    material.apply()
    return material, reasons


def test_a_4_2_6_trusted_host_keeps_its_group_key_in_4_2_6_layout(tmp_path):
    first, dummy = run(tmp_path, passphrase='thpw', generate=True, size=512, params=False, layout='4.2.6')
    fs, master = on_disk(tmp_path, 'ntpkey_gqkey_lab', 'thpw')
    assert master == first.material.key.server_key('4.2.6')
    before = snapshot(tmp_path)
    again = GroupMaterial(KeysDir(str(tmp_path)), 'gq', 'lab', passphrase='thpw', generate=True, size=512,
                          params=False, layout='4.2.6')
    assert again.plan() == {} and snapshot(tmp_path) == before
    # the host moves to 4.2.8: the same key, the same filestamp, 4.2.8's fields
    moved, reasons = run(tmp_path, passphrase='thpw', generate=True, size=512, params=False, layout='4.2.8')
    assert reasons == {'master': 'group key in the GQ layout of ntpd 4.2.8 (the same key)', 'server': 'group key changed'}
    fs2, master2 = on_disk(tmp_path, 'ntpkey_gqkey_lab', 'thpw')
    assert fs2 == fs and master2 == first.material.key.server_key()
    assert moved.material.fingerprint() == first.material.fingerprint()


def test_a_4_2_6_member_of_a_4_2_8_trusted_host(tmp_path):
    th, gs = tmp_path / 'th', tmp_path / 'gs'
    th.mkdir()
    gs.mkdir()
    master, dummy = run(th, passphrase='thpw', generate=True, size=512, params=False)
    exports = master.exports('transport')
    source = read_source('gq', exports['server_key_export'], 'transport')
    run(gs, passphrase='gspw', source=source, params=False, layout='4.2.6')
    run(gs, source=read_source('gq', exports['params_export']), server_key=False, layout='4.2.6')
    dummy, server = on_disk(gs, 'ntpkey_gqkey_lab', 'gspw')
    dummy, params = on_disk(gs, 'ntpkey_gqpar_lab')
    assert exchange_426(server, params, master.material.key.v)
    assert params['e'] == params['d'] == master.material.key.b
    before = snapshot(gs)
    for kw in (dict(passphrase='gspw', source=source, params=False),
               dict(source=read_source('gq', exports['params_export']), server_key=False)):
        assert GroupMaterial(KeysDir(str(gs)), 'gq', 'lab', layout='4.2.6', **kw).plan() == {}
    assert snapshot(gs) == before


def test_an_unknown_layout_is_refused(tmp_path):
    with pytest.raises(MaterialError) as refused:
        GroupMaterial(KeysDir(str(tmp_path)), 'gq', 'lab', passphrase='x', generate=True, layout='4.2.4')
    assert str(refused.value) == 'layout must be one of 4.2.6, 4.2.8'
