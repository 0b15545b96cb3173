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


import binascii
import hashlib
import os
import re

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
    # single DES, read only: ntp-keygen 4.2.6 encrypts with it (written keys are always AES-256)
    '1.3.14.3.2.7': ('DES-CBC', 'DES', 8),
}


class _SingleDes:
    """Single DES as 3DES with its one key three times (cryptography has no DES of its own)."""
    block_size = 64

    def __new__(cls, key):
        return TripleDES(key * 3)


def _cipher(name):
    if name == 'DES':
        return _SingleDes
    return TripleDES if name == '3DES' else getattr(algorithms, name)


OID_AES256_CBC = '2.16.840.1.101.3.4.1.42'
_BY_DEK_NAME = dict((v[0], k) for k, v in _CIPHERS.items())
PBKDF2_ITERATIONS = 100000
MAX_ITERATIONS = 10000000  # bounds the work a damaged or hostile file asks for
MAX_BITS = 16384  # no key value ntpd reads is larger (OpenSSL's RSA limit)
BAD_DECRYPT = 'bad decrypt: wrong password or corrupted key'
_KEY_LABELS = ('ENCRYPTED PRIVATE KEY', 'PRIVATE KEY', 'RSA PRIVATE KEY', 'DSA PRIVATE KEY')

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
        raise KeyFileError('an empty password cannot protect or open a key file: give the passphrase ntpd uses '
                           'on this host (crypto pw)')
    return password.encode('utf-8') if isinstance(password, str) else password


def _cbc(factory, key, iv, data, encrypt):
    block = factory.block_size // 8
    if len(iv) != block:
        raise KeyFileError('malformed encrypted key: an IV of %d bytes, the cipher takes %d' % (len(iv), block))
    cipher = Cipher(factory(key), modes.CBC(iv))
    if encrypt:
        padder = padding.PKCS7(factory.block_size).padder()
        data = padder.update(data) + padder.finalize()
        ctx = cipher.encryptor()
        return ctx.update(data) + ctx.finalize()
    if not data or len(data) % block:
        raise KeyFileError('malformed encrypted key: %d bytes of ciphertext, not a multiple of the %d-byte '
                           'block (truncated or damaged file)' % (len(data), block))
    ctx = cipher.decryptor()
    plain = ctx.update(data) + ctx.finalize()
    unpadder = padding.PKCS7(factory.block_size).unpadder()
    try:
        return unpadder.update(plain) + unpadder.finalize()
    except ValueError:
        raise KeyFileError(BAD_DECRYPT)


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


def _parts(element, counts, what):
    """The children of the SEQUENCE `element`, checking their number (one of `counts`)."""
    items = element.expect(der.SEQUENCE, what).children()
    if len(items) not in counts:
        raise der.DerError('%s has %d elements, %s expected' % (what, len(items), ' or '.join(map(str, counts))))
    return items


def _no_parameters(items, what):
    """An AlgorithmIdentifier whose parameters are absent or NULL."""
    if len(items) == 2 and items[1].raw != b'\x05\x00':
        raise der.DerError('%s parameters are not NULL' % what)


def decrypt_pkcs8(encrypted, password):
    """The PrivateKeyInfo inside an EncryptedPrivateKeyInfo (PBES2 with PBKDF2)."""
    try:
        algorithm, data = _parts(der.decode(encrypted), (2,), 'EncryptedPrivateKeyInfo')
        alg_oid, params = _parts(algorithm, (2,), 'encryption algorithm')
        if alg_oid.as_oid() != OID_PBES2:
            raise KeyFileError('unsupported key encryption %s (only PBES2 is read)' % alg_oid.as_oid())
        kdf, scheme = _parts(params, (2,), 'PBES2 parameters')
        kdf_oid, kdf_params = _parts(kdf, (2,), 'key derivation')
        if kdf_oid.as_oid() != OID_PBKDF2:
            raise KeyFileError('unsupported key derivation %s' % kdf_oid.as_oid())
        cipher_oid, iv = _parts(scheme, (2,), 'key cipher')
        if cipher_oid.as_oid() not in _CIPHERS:
            raise KeyFileError('unsupported key cipher %s' % cipher_oid.as_oid())
        _name, cipher, key_len = _CIPHERS[cipher_oid.as_oid()]
        kp = _parts(kdf_params, (2, 3, 4), 'PBKDF2 parameters')
        salt, iterations = kp[0].expect(der.OCTET_STRING, 'PBKDF2 salt').content, kp[1].as_int()
        if not 1 <= iterations <= MAX_ITERATIONS:
            raise KeyFileError('malformed encrypted key: PBKDF2 iteration count %d is outside 1 to %d'
                               % (iterations, MAX_ITERATIONS))
        prf, rest = 'SHA1', kp[2:]
        if rest and rest[0].tag == der.INTEGER:  # optional keyLength
            if rest[0].as_int() != key_len:
                raise KeyFileError('malformed encrypted key: PBKDF2 key length %d, the cipher takes %d'
                                   % (rest[0].as_int(), key_len))
            rest = rest[1:]
        if len(rest) > 1:
            raise der.DerError('PBKDF2 parameters have extra elements')
        if rest:
            prf_items = _parts(rest[0], (1, 2), 'PBKDF2 hash')
            prf_oid = prf_items[0].as_oid()
            if prf_oid not in _PRF:
                raise KeyFileError('unsupported PBKDF2 hash %s' % prf_oid)
            _no_parameters(prf_items, 'PBKDF2 hash')
            prf = _PRF[prf_oid]
        iv = iv.expect(der.OCTET_STRING, 'IV').content
        ciphertext = data.expect(der.OCTET_STRING, 'encrypted data').content
        key = PBKDF2HMAC(getattr(hashes, prf)(), key_len, salt, iterations).derive(_text(password))
    except der.DerError as exc:
        raise KeyFileError('malformed encrypted key: %s' % exc)
    return _cbc(_cipher(cipher), key, iv, ciphertext, False)


_HEX = re.compile(r'^(?:[0-9A-Fa-f]{2})+$')


def _decrypt_traditional(block, password):
    if block.headers.get('Proc-Type', '').replace(' ', '') != '4,ENCRYPTED':
        return block.der
    name, _comma, iv_hex = block.headers.get('DEK-Info', '').partition(',')
    if name not in _BY_DEK_NAME:
        raise KeyFileError('unsupported PEM encryption %r' % name[:40])
    if not _HEX.match(iv_hex.strip()):
        raise KeyFileError('malformed encrypted key: the DEK-Info IV %r is not hex digits in pairs' % iv_hex[:40])
    if password is None:
        raise KeyFileError('the key is encrypted and no password was given')
    _name, cipher, key_len = _CIPHERS[_BY_DEK_NAME[name]]
    iv = binascii.unhexlify(iv_hex.strip())
    if len(iv) < 8:  # the key derivation takes 8 bytes of salt from it; _cbc checks the size
        raise KeyFileError('malformed encrypted key: a DEK-Info IV of %d bytes' % len(iv))
    return _cbc(_cipher(cipher), _bytes_to_key(_text(password), iv[:8], key_len), iv, block.der, False)


def _version_zero(element, what):
    if element.as_int() != 0:
        raise der.DerError('%s version %d, OpenSSL reads version 0 only' % (what, element.as_int()))


def _rsa_fields(element):
    """RSAPrivateKey: version 0 and the eight values, each a non-negative INTEGER."""
    items = _parts(element, (9,), 'RSAPrivateKey')
    _version_zero(items[0], 'RSAPrivateKey')
    return dict(zip(RSA_FIELDS, (item.as_uint(name, MAX_BITS) for name, item in zip(RSA_FIELDS, items[1:]))))


def _from_pkcs8(info):
    items = _parts(der.decode(info), (3, 4), 'PrivateKeyInfo')
    _version_zero(items[0], 'PrivateKeyInfo')
    if len(items) == 4 and items[3].tag != 0xA0:  # [0] attributes, the only optional element
        raise der.DerError('PrivateKeyInfo has an unexpected element (tag 0x%02x)' % items[3].tag)
    alg = _parts(items[1], (1, 2), 'private key algorithm')
    kind = alg[0].as_oid()
    inner = der.decode(items[2].expect(der.OCTET_STRING, 'private key').content)
    if kind == OID_RSA:
        _no_parameters(alg, 'RSA algorithm')
        return PrivateKey('RSA', **_rsa_fields(inner))
    if kind == OID_DSA:
        if len(alg) != 2:
            raise der.DerError('DSA algorithm without parameters')
        p, q, g = der.integers(alg[1], 3, MAX_BITS)
        return PrivateKey('DSA', p=p, q=q, g=g, priv=inner.as_uint('DSA private value', MAX_BITS))
    raise KeyFileError('unsupported key algorithm %s (Autokey uses RSA and DSA)' % kind)


def _from_traditional(label, body):
    element = der.decode(body)
    if label == 'RSA PRIVATE KEY':
        return PrivateKey('RSA', **_rsa_fields(element))
    items = _parts(element, (6,), 'DSAPrivateKey')
    _version_zero(items[0], 'DSAPrivateKey')
    values = [item.as_uint(name, MAX_BITS) for name, item in zip(DSA_FIELDS, items[1:])]
    return PrivateKey('DSA', **dict(zip(DSA_FIELDS, values)))


def load_block(block, password=None):
    """Decode one PEM block into a PrivateKey, decrypting with `password`.

    Refuses what OpenSSL's PEM_read_PrivateKey refuses (so ntpd would not start): non-DER
    encodings, versions other than 0, unexpected algorithm parameters, trailing bytes. When the
    key was decrypted, any such defect means a wrong password or a damaged file (a wrong key, or
    a damaged IV or ciphertext, changes the plaintext without breaking the padding now and then)."""
    if block.label not in _KEY_LABELS:
        raise KeyFileError('PEM block %r is not a private key ntpd reads (RSA or DSA)' % block.label[:40])
    if block.label == 'ENCRYPTED PRIVATE KEY' and password is None:
        raise KeyFileError('the key is encrypted and no password was given')
    decrypted = block.label == 'ENCRYPTED PRIVATE KEY' or 'DEK-Info' in block.headers
    if block.label == 'ENCRYPTED PRIVATE KEY':
        plain = decrypt_pkcs8(block.der, password)
    elif block.label == 'PRIVATE KEY':
        plain = block.der
    else:
        plain = _decrypt_traditional(block, password)
    try:
        if block.label in ('ENCRYPTED PRIVATE KEY', 'PRIVATE KEY'):
            return _from_pkcs8(plain)
        return _from_traditional(block.label, plain)
    except (der.DerError, KeyFileError) as exc:
        if decrypted:
            raise KeyFileError(BAD_DECRYPT)
        if isinstance(exc, KeyFileError):
            raise
        raise KeyFileError('malformed key (corrupted file): %s' % exc)


def check_rsa(key):
    """Refuse an RSA host or sign key whose values do not form an RSA key (a damaged file):
    only for real RSA keys, never for the scheme values of group files."""
    f = key.fields
    if key.algorithm != 'RSA':
        raise KeyFileError('ntpd needs an RSA key here, found %s' % key.algorithm)
    p, q, d = f['p'], f['q'], f['d']
    if p < 3 or q < 3 or f['n'] != p * q or f['e'] < 3 or not f['e'] & 1 or (d * f['e']) % (p - 1) != 1 \
            or f['dp'] != d % (p - 1) or f['dq'] != d % (q - 1) or (f['qinv'] * q) % p != 1:
        raise KeyFileError('malformed key (corrupted file): the RSA values are inconsistent (n != p*q or d, e, '
                           'qinv do not fit)')
    return key


def load_pem(text, password=None):
    """All private keys of a PEM text, in order."""
    blocks = [b for b in pem_blocks(text) if b.label.endswith('PRIVATE KEY')]
    if not blocks:
        raise KeyFileError('no private key found')
    return [load_block(b, password) for b in blocks]
