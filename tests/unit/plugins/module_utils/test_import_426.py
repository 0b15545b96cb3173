# SPDX-License-Identifier: GPL-3.0-or-later
"""A 4.2.6 trusted host's own group keys (fixtures/ntp-keygen-4.2.6: ntp-keygen 4.2.6p5, PBES2 with single DES)
are imported, re-encrypted with AES-256 and verify; a wrong password is one message naming the file."""

import base64
import glob
import os

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import identity
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import parse
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.group_material import GroupMaterial, read_given
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.material import MaterialError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.private_keys import load_pem

from helpers import FIXTURES, STOCK_PASSWORD

DES_CBC_OID = b'\x06\x05\x2b\x0e\x03\x02\x07'  # 1.3.14.3.2.7


def fixture(kind):
    [path] = glob.glob(os.path.join(FIXTURES, 'ntp-keygen-4.2.6', 'ntpkey_%skey_th.*' % kind))
    return path


def der_of(text):
    body = ''.join(line for line in text.splitlines() if line and not line.startswith(('#', '-----')))
    return base64.b64decode(body)


@pytest.mark.parametrize('scheme, kind', [('iff', 'IFF'), ('gq', 'GQ')])
def test_the_fixture_is_single_des(scheme, kind):
    with open(fixture(kind)) as handle:
        assert DES_CBC_OID in der_of(handle.read())


@pytest.mark.parametrize('scheme, kind', [('iff', 'IFF'), ('gq', 'GQ')])
def test_a_4_2_6_group_key_is_imported_and_verifies(tmp_path, scheme, kind):
    source = read_given(scheme, 'th', src=fixture(kind), passphrase=STOCK_PASSWORD)
    material = GroupMaterial(KeysDir(str(tmp_path)), scheme, 'th', passphrase='gspw', source=source)
    assert set(material.plan()) == {'server', 'params'}
    material.apply()
    server_file = (tmp_path / ('ntpkey_%skey_th' % scheme)).read_text()
    assert DES_CBC_OID not in der_of(server_file)  # written again with AES-256, never with DES
    server, = load_pem(parse(server_file).body, 'gspw')
    params_file = parse((tmp_path / ('ntpkey_%spar_th' % scheme)).read_text())
    params, = load_pem(params_file.body)
    with open(fixture(kind)) as handle:
        stamp = parse(handle.read()).filestamp
    assert parse(server_file).filestamp == params_file.filestamp == stamp
    gq = getattr(source.key, 'v', None)
    assert identity.exchange(scheme, identity.as_loaded(server, 'pkcs8'), params, gq, stamp, stamp) is None


def test_a_wrong_password_names_the_file():
    with pytest.raises(MaterialError) as refused:
        read_given('iff', 'th', src=fixture('IFF'), passphrase='not-the-password')
    assert str(refused.value) == '%s: bad decrypt: wrong password or corrupted key' % fixture('IFF')
