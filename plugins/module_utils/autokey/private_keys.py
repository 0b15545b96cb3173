# -*- coding: utf-8 -*-
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private-key containers as OpenSSL's PEM_read_PrivateKey reads them.

* PKCS#8 `PRIVATE KEY` and `ENCRYPTED PRIVATE KEY` (PBES2/PBKDF2), which is what
  ntp-keygen writes and what ntpd reads for host keys and most group keys;
* traditional `RSA/DSA PRIVATE KEY`, optionally encrypted with
  `Proc-Type`/`DEK-Info`: the only DSA form that keeps the public value, which
  the IFF and MV identity files need.

Key fields are handled as plain integers: in Autokey group files the RSA and
DSA structures only carry scheme values, so no consistency is assumed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import hashlib
import os

try:
    from cryptography.hazmat.primitives import hashes, padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    try:  # cryptography >= 43 keeps 3DES among the "decrepit" algorithms
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    except ImportError:  # cryptography 3.3.2 (Debian 11)
        TripleDES = algorithms.TripleDES
except ImportError:  # the modules report a missing cryptography (module_support)
    hashes = algorithms = TripleDES = None

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import der
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import pem, pem_blocks
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError

OID_RSA = '1.2.840.113549.1.1.1'
OID_DSA = '1.2.840.10040.4.1'
OID_PBES2 = '1.2.840.113549.1.5.13'
OID_PBKDF2 = '1.2.840.113549.1.5.12'
_PRF = {
    '1.2.840.113549.2.7': 'SHA1',
    '1.2.840.113549.2.8': 'SHA224',
    '1.2.840.113549.2.9': 'SHA256',
    '1.2.840.113549.2.10': 'SHA384',
    '1.2.840.113549.2.11': 'SHA512',
}
OID_HMAC_SHA256 = '1.2.840.113549.2.9'
# OID -> (name in DEK-Info, cipher, key length)
_CIPHERS = {
    '2.16.840.1.101.3.4.1.2': ('AES-128-CBC', 'AES', 16),
    '2.16.840.1.101.3.4.1.22': ('AES-192-CBC', 'AES', 24),
    '2.16.840.1.101.3.4.1.42': ('AES-256-CBC', 'AES', 32),
    '1.2.840.113549.3.7': ('DES-EDE3-CBC', '3DES', 24),
}


def _cipher(name):
    return TripleDES if name == '3DES' else getattr(algorithms, name)


OID_AES256_CBC = '2.16.840.1.101.3.4.1.42'
_BY_DEK_NAME = dict((v[0], k) for k, v in _CIPHERS.items())
PBKDF2_ITERATIONS = 100000

RSA_FIELDS = ('n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qinv')
DSA_FIELDS = ('p', 'q', 'g', 'pub', 'priv')


class KeyFileError(AutokeyError):
    """Unreadable key: wrong password, corruption or an unsupported format."""


class PrivateKey:
    """Fields of an RSA or DSA private-key structure.

    `algorithm` is 'RSA' or 'DSA'; `fields` maps RSA_FIELDS or DSA_FIELDS to
    ints (a PKCS#8 DSA key has no 'pub': OpenSSL recomputes it on load).
    """

    __slots__ = ('algorithm', 'fields')

    def __init__(self, algorithm, **fields):
        self.algorithm = algorithm
        self.fields = fields

    def __getitem__(self, name):
        return self.fields[name]

    def __eq__(self, other):
        return isinstance(other, PrivateKey) and (self.algorithm, self.fields) == (other.algorithm, other.fields)

    # -- structures ---------------------------------------------------------
    def _rsa_der(self):
        return der.sequence(der.integer(0), *[der.integer(self.fields.get(k, 1)) for k in RSA_FIELDS])

    def pkcs8_der(self):
        if self.algorithm == 'RSA':
            algorithm = der.sequence(der.oid(OID_RSA), der.null())
            inner = self._rsa_der()
        else:
            f = self.fields
            algorithm = der.sequence(der.oid(OID_DSA), der.sequence(*[der.integer(f[k]) for k in ('p', 'q', 'g')]))
            inner = der.integer(f['priv'])
        return der.sequence(der.integer(0), algorithm, der.octet_string(inner))

    def traditional_der(self):
        if self.algorithm == 'RSA':
            return self._rsa_der()
        return der.sequence(der.integer(0), *[der.integer(self.fields[k]) for k in DSA_FIELDS])

    # -- PEM ----------------------------------------------------------------
    def to_pem(self, container, password=None):
        """PEM text in `container` ('pkcs8' or 'traditional'), encrypted if `password`."""
        if container == 'pkcs8':
            return self.to_pkcs8_pem(password)
        return self.to_traditional_pem(password)

    def to_pkcs8_pem(self, password=None):
        if password is None:
            return pem('PRIVATE KEY', self.pkcs8_der())
        return pem('ENCRYPTED PRIVATE KEY', encrypt_pkcs8(self.pkcs8_der(), password))

    def to_traditional_pem(self, password=None):
        label = '%s PRIVATE KEY' % self.algorithm
        body = self.traditional_der()
        if password is None:
            return pem(label, body)
        iv = os.urandom(16)
        key = _bytes_to_key(_text(password), iv[:8], 32)
        headers = (('Proc-Type', '4,ENCRYPTED'), ('DEK-Info', 'AES-256-CBC,%s' % binascii.hexlify(iv).decode().upper()))
        return pem(label, _cbc(algorithms.AES, key, iv, body, encrypt=True), headers)


def _text(password):
    if not isinstance(password, (bytes, str)) or not password:
        raise KeyFileError('an empty password cannot protect or open a key file')
    return password.encode('utf-8') if isinstance(password, str) else password


def _cbc(factory, key, iv, data, encrypt):
    cipher = Cipher(factory(key), modes.CBC(iv))
    block = factory.block_size
    if encrypt:
        padder = padding.PKCS7(block).padder()
        data = padder.update(data) + padder.finalize()
        ctx = cipher.encryptor()
        return ctx.update(data) + ctx.finalize()
    ctx = cipher.decryptor()
    plain = ctx.update(data) + ctx.finalize()
    unpadder = padding.PKCS7(block).unpadder()
    try:
        return unpadder.update(plain) + unpadder.finalize()
    except ValueError:
        raise KeyFileError('bad decrypt: wrong password or corrupted key')


def _bytes_to_key(password, salt, size):
    """OpenSSL EVP_BytesToKey(MD5, count=1), used by traditional PEM encryption."""
    out, block = b'', b''
    while len(out) < size:
        block = hashlib.md5(block + password + salt).digest()
        out += block
    return out[:size]


def encrypt_pkcs8(private_key_info, password, iterations=PBKDF2_ITERATIONS):
    salt, iv = os.urandom(16), os.urandom(16)
    key = PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(_text(password))
    kdf = der.sequence(
        der.oid(OID_PBKDF2),
        der.sequence(der.octet_string(salt), der.integer(iterations),
                     der.sequence(der.oid(OID_HMAC_SHA256), der.null())))
    scheme = der.sequence(der.oid(OID_AES256_CBC), der.octet_string(iv))
    algorithm = der.sequence(der.oid(OID_PBES2), der.sequence(kdf, scheme))
    return der.sequence(algorithm, der.octet_string(_cbc(algorithms.AES, key, iv, private_key_info, True)))


def decrypt_pkcs8(encrypted, password):
    try:
        algorithm, data = der.decode(encrypted).children()
        alg_oid, params = algorithm.children()
        if alg_oid.as_oid() != OID_PBES2:
            raise KeyFileError('unsupported key encryption %s (only PBES2 is read)' % alg_oid.as_oid())
        kdf, scheme = params.children()
        kdf_oid, kdf_params = kdf.children()
        if kdf_oid.as_oid() != OID_PBKDF2:
            raise KeyFileError('unsupported key derivation %s' % kdf_oid.as_oid())
        kp = kdf_params.children()
        salt, iterations = kp[0].expect(der.OCTET_STRING).content, kp[1].as_int()
        prf = 'SHA1'
        for extra in kp[2:]:
            if extra.tag == der.SEQUENCE:
                prf_oid = extra.children()[0].as_oid()
                if prf_oid not in _PRF:
                    raise KeyFileError('unsupported PBKDF2 hash %s' % prf_oid)
                prf = _PRF[prf_oid]
        cipher_oid, iv = scheme.children()
        if cipher_oid.as_oid() not in _CIPHERS:
            raise KeyFileError('unsupported key cipher %s' % cipher_oid.as_oid())
        _name, cipher, key_len = _CIPHERS[cipher_oid.as_oid()]
        key = PBKDF2HMAC(getattr(hashes, prf)(), key_len, salt, iterations).derive(_text(password))
        return _cbc(_cipher(cipher), key, iv.expect(der.OCTET_STRING).content, data.expect(der.OCTET_STRING).content, False)
    except der.DerError as exc:
        raise KeyFileError('malformed encrypted key: %s' % exc)


def _decrypt_traditional(block, password):
    if block.headers.get('Proc-Type', '').replace(' ', '') != '4,ENCRYPTED':
        return block.der
    name, _comma, iv_hex = block.headers.get('DEK-Info', '').partition(',')
    if name not in _BY_DEK_NAME:
        raise KeyFileError('unsupported PEM encryption %r' % name)
    if password is None:
        raise KeyFileError('the key is encrypted and no password was given')
    _name, cipher, key_len = _CIPHERS[_BY_DEK_NAME[name]]
    iv = binascii.unhexlify(iv_hex.strip())
    return _cbc(_cipher(cipher), _bytes_to_key(_text(password), iv[:8], key_len), iv, block.der, False)


def _from_pkcs8(info):
    items = der.decode(info).children()
    alg = items[1].children()
    kind = alg[0].as_oid()
    inner = der.decode(items[2].expect(der.OCTET_STRING).content)
    if kind == OID_RSA:
        values = der.integers(inner, 9)[1:]
        return PrivateKey('RSA', **dict(zip(RSA_FIELDS, values)))
    if kind == OID_DSA:
        p, q, g = der.integers(alg[1], 3)
        return PrivateKey('DSA', p=p, q=q, g=g, priv=inner.as_int())
    raise KeyFileError('unsupported key algorithm %s (Autokey uses RSA and DSA)' % kind)


def _from_traditional(label, body):
    values = der.integers(der.decode(body))
    if label == 'RSA PRIVATE KEY' and len(values) == 9:
        return PrivateKey('RSA', **dict(zip(RSA_FIELDS, values[1:])))
    if label == 'DSA PRIVATE KEY' and len(values) == 6:
        return PrivateKey('DSA', **dict(zip(DSA_FIELDS, values[1:])))
    raise KeyFileError('malformed %s' % label)


def load_block(block, password=None):
    """Decode one PEM block into a PrivateKey, decrypting with `password`."""
    encrypted = block.label == 'ENCRYPTED PRIVATE KEY' or 'DEK-Info' in block.headers
    try:
        if block.label == 'ENCRYPTED PRIVATE KEY':
            if password is None:
                raise KeyFileError('the key is encrypted and no password was given')
            return _from_pkcs8(decrypt_pkcs8(block.der, password))
        if block.label == 'PRIVATE KEY':
            return _from_pkcs8(block.der)
        if block.label in ('RSA PRIVATE KEY', 'DSA PRIVATE KEY'):
            return _from_traditional(block.label, _decrypt_traditional(block, password))
    except (der.DerError, IndexError) as exc:
        if encrypted:  # a wrong key passes the padding check about once in 256 tries
            raise KeyFileError('bad decrypt: wrong password or corrupted key')
        raise KeyFileError('malformed key (corrupted file): %s' % exc)
    raise KeyFileError('PEM block %r is not a private key' % block.label)


def load_pem(text, password=None):
    """All private keys of a PEM text, in order."""
    blocks = [b for b in pem_blocks(text) if b.label.endswith('PRIVATE KEY')]
    if not blocks:
        raise KeyFileError('no private key found')
    return [load_block(b, password) for b in blocks]
