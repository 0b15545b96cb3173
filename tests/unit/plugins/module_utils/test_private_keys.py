# SPDX-License-Identifier: GPL-3.0-or-later
import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import private_keys as pk
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import parse, pem_blocks

from helpers import STOCK_EXPORT_PASSWORD, STOCK_PASSWORD, stock

DSA = pk.PrivateKey('DSA', p=0xE3, q=0x71, g=0x2, pub=0x55, priv=0x1)
RSA_CONTAINER = pk.PrivateKey('RSA', n=3233, e=17, d=2753, p=61, q=53, dp=53, dq=49, qinv=38)


@pytest.mark.parametrize('key', [DSA, RSA_CONTAINER])
@pytest.mark.parametrize('password', [None, 'secret'])
def test_traditional_round_trip_keeps_every_field(key, password):
    assert pk.load_pem(key.to_traditional_pem(password), password) == [key]


def test_pkcs8_dsa_drops_the_public_value():
    loaded = pk.load_pem(DSA.to_pkcs8_pem('pw'), 'pw')[0]
    assert 'pub' not in loaded.fields and loaded['priv'] == 1


def test_pkcs8_encryption_parameters():
    block = pem_blocks(RSA_CONTAINER.to_pkcs8_pem('pw'))[0]
    assert block.label == 'ENCRYPTED PRIVATE KEY'
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey import der
    algorithm = der.decode(block.der).children()[0]
    oid, params = algorithm.children()
    kdf, cipher = params.children()
    assert oid.as_oid() == pk.OID_PBES2
    assert kdf.children()[1].children()[1].as_int() == pk.PBKDF2_ITERATIONS
    assert cipher.children()[0].as_oid() == pk.OID_AES256_CBC


@pytest.mark.parametrize('writer', ['to_pkcs8_pem', 'to_traditional_pem'])
def test_wrong_password_is_reported(writer):
    text = getattr(RSA_CONTAINER, writer)('right')
    with pytest.raises(pk.KeyFileError, match='bad decrypt: wrong password'):
        pk.load_pem(text, 'wrong')
    with pytest.raises(pk.KeyFileError, match='no password'):
        pk.load_pem(text, None)


@pytest.mark.parametrize('writer', ['to_pkcs8_pem', 'to_traditional_pem'])
def test_wrong_password_with_lucky_padding_still_says_bad_decrypt(monkeypatch, writer):
    """About one wrong password in 256 decrypts to valid padding; the message must not change."""
    text = getattr(RSA_CONTAINER, writer)('right')
    monkeypatch.setattr(pk, '_cbc', lambda *args: b'\x30\x03\x02\x01\x00garbage')
    with pytest.raises(pk.KeyFileError, match='^bad decrypt: wrong password'):
        pk.load_pem(text, 'wrong')


def test_corrupt_unencrypted_key_is_malformed():
    block = pem_blocks(DSA.to_traditional_pem())[0]
    block.der = block.der[:-3]
    with pytest.raises(pk.KeyFileError, match='malformed key'):
        pk.load_block(block)


def test_real_rsa_key_readable_by_cryptography():
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(65537, 1024)
    n = key.private_numbers()
    fields = pk.PrivateKey('RSA', n=n.public_numbers.n, e=n.public_numbers.e, d=n.d, p=n.p, q=n.q,
                           dp=n.dmp1, dq=n.dmq1, qinv=n.iqmp)
    loaded = serialization.load_pem_private_key(fields.to_pkcs8_pem('pw').encode(), b'pw')
    assert loaded.private_numbers() == n


def test_stock_ntp_keygen_keys_decrypt():
    # ntp-keygen 4.2.8p15: PBES2, PBKDF2-HMAC-SHA256, des-ede3-cbc
    host = pk.load_pem(parse(stock('iff', 'ntpkey_RSAhost')).body, STOCK_PASSWORD)[0]
    assert host.algorithm == 'RSA' and host['n'] == host['p'] * host['q'] and host['n'].bit_length() == 512
    export = pk.load_pem(stock('iff', 'iffkey.export'), STOCK_EXPORT_PASSWORD)[0]
    assert export.algorithm == 'DSA' and export['p'].bit_length() == 512
    with pytest.raises(pk.KeyFileError):
        pk.load_pem(stock('iff', 'iffkey.export'), STOCK_PASSWORD)


def test_empty_password_refused():
    with pytest.raises(pk.KeyFileError, match='empty password'):
        RSA_CONTAINER.to_pkcs8_pem('')


def test_non_key_block_refused():
    with pytest.raises(pk.KeyFileError, match='no private key'):
        pk.load_pem('-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n')
