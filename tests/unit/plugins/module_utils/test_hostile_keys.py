# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile and damaged key files: the readers refuse them with the module's own errors.

The referees are the OpenSSL builds ntpd links (tests/unit/openssl_referee.py: Debian 11's 1.1.1 and the 3.0
series of Ubuntu 22.04), asked through their own `openssl pkey`, which reads keys as ntpd's PEM_read_PrivateKey
does. Not the controller's `cryptography`: its bundled OpenSSL changes with every wheel (OpenSSL 4.1 reads a
PKCS#8 key of version 1, 3.x does too; the Rust parsers of cryptography 40-50 did not).

Where ntpd's OpenSSL reads a key that the modules refuse, the test says so and asserts that OpenSSL reads it:
the modules are deliberately stricter there. ntp-keygen and the modules never write such encodings (PKCS#8
version 0, minimal DER, nothing after the key), so one on disk is damage or tampering, and refusing it costs
no working key."""
import base64
import binascii
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import der, envelope
from ansible_collections.ntp.autokey.plugins.module_utils.autokey import private_keys as pk
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import EnvelopeError, pem, pem_blocks
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.host_material import fields_from_rsa

from helpers import STOCK_PASSWORD, stock
from openssl_referee import REFEREES, referee_params, usable

BOUNDED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEY = rsa.generate_private_key(65537, 1024)
FIELDS = fields_from_rsa(KEY)
PKCS8 = FIELDS.pkcs8_der()
# measured with `openssl pkey` of both series: which of them read a case
NTPD_OPENSSL = ('1.1.1', '3.0')
NONE = ()


@pytest.fixture(params=referee_params())
def referee(request):
    return usable(request.param)


def pkcs8_pem(data):
    return pem('PRIVATE KEY', data)


def load_der(data, label='PRIVATE KEY'):
    return pk.load_block(envelope.PemBlock(label, {}, data))


def rebuild(version=0, algorithm=None, inner=None, extra=()):
    """A PKCS#8 PrivateKeyInfo of KEY with one part replaced."""
    algorithm = algorithm or der.sequence(der.oid(pk.OID_RSA), der.null())
    inner = inner if inner is not None else FIELDS.traditional_der()
    return der.sequence(der.integer(version), algorithm, der.octet_string(inner), *extra)


def rsa_private_key(values):
    return der.sequence(*[der.tlv(der.INTEGER, v) if isinstance(v, bytes) else der.integer(v) for v in values])


# -- defect 2: damaged keys are never reported fine ---------------------------------------------------

# name: (PrivateKeyInfo, the series of ntpd's OpenSSL that read it)
DAMAGED_PKCS8 = {
    'PKCS#8 version 1': (rebuild(version=1), NTPD_OPENSSL),  # RFC 5958's v2, without its public key
    'PKCS#8 version 2': (rebuild(version=2), NTPD_OPENSSL),
    'RSA parameters not NULL': (rebuild(algorithm=der.sequence(der.oid(pk.OID_RSA), der.octet_string(b''))),
                                NTPD_OPENSSL),
    'unexpected PKCS#8 element': (rebuild(extra=[der.integer(0)]), NONE),
    'RSAPrivateKey version 1': (rebuild(inner=rsa_private_key([1] + [FIELDS[k] for k in pk.RSA_FIELDS])), NONE),
    'RSAPrivateKey missing qinv': (rebuild(inner=rsa_private_key([0] + [FIELDS[k] for k in pk.RSA_FIELDS[:-1]])),
                                   NONE),
    'non-minimal INTEGER': (rebuild(inner=rsa_private_key([0, FIELDS['n'], b'\x00\x01\x00\x01'] +
                                                          [FIELDS[k] for k in pk.RSA_FIELDS[2:]])), NTPD_OPENSSL),
    # read, and found inconsistent only by a key check, which ntpd never makes
    'negative modulus': (rebuild(inner=rsa_private_key([0, b'\x80\x01'] + [FIELDS[k] for k in pk.RSA_FIELDS[1:]])),
                         NTPD_OPENSSL),
    'trailing bytes after the key': (PKCS8 + b'\x00\x00', NTPD_OPENSSL),
    'trailing bytes inside the octet string': (rebuild(inner=FIELDS.traditional_der() + b'\x05\x00'), NTPD_OPENSSL),
    'non-minimal length': (b'\x30\x83\x00' + PKCS8[2:], NTPD_OPENSSL),
}


@pytest.mark.parametrize('name', sorted(DAMAGED_PKCS8))
def test_damaged_pkcs8_is_refused(name):
    with pytest.raises(pk.KeyFileError, match='^malformed key'):
        load_der(DAMAGED_PKCS8[name][0])


@pytest.mark.parametrize('name', sorted(DAMAGED_PKCS8))
def test_damaged_pkcs8_as_ntpd_openssl_reads_it(name, referee):
    """The modules refuse every case (above); ntpd's OpenSSL refuses some and reads the others, where the
    modules are deliberately stricter."""
    data, read_by = DAMAGED_PKCS8[name]
    stricter = referee.series in read_by
    assert referee.accepts(pkcs8_pem(data)) is stricter, (
        '%r %s %s; recorded: %s' % (referee, 'refused' if stricter else 'read', name,
                                    'read (the modules are stricter)' if stricter else 'refused'))


@pytest.mark.parametrize('name', sorted(DAMAGED_PKCS8))
def test_damaged_pkcs8_encrypted_is_bad_decrypt(name):
    data = DAMAGED_PKCS8[name][0]
    block = envelope.PemBlock('ENCRYPTED PRIVATE KEY', {}, pk.encrypt_pkcs8(data, 'pw', iterations=1000))
    with pytest.raises(pk.KeyFileError, match='^bad decrypt: wrong password or corrupted key$'):
        pk.load_block(block, 'pw')


def test_the_undamaged_key_is_accepted_by_both(referee):
    assert load_der(PKCS8) == FIELDS
    assert pk.check_rsa(FIELDS) is FIELDS
    assert referee.accepts(pkcs8_pem(PKCS8), check=True)
    assert referee.accepts(FIELDS.to_pkcs8_pem('pw'), 'pw', check=True)


TRADITIONAL_DAMAGE = [
    # label, values, the series of ntpd's OpenSSL that read it
    ('RSA PRIVATE KEY', [1] + [FIELDS[k] for k in pk.RSA_FIELDS], NONE),
    ('DSA PRIVATE KEY', [1, 23, 11, 4, 9, 5], NTPD_OPENSSL),  # OpenSSL reads DSA keys of any version
    ('DSA PRIVATE KEY', [0, 23, 11, 4, 9], NONE),
]


@pytest.mark.parametrize('label, values, read_by', TRADITIONAL_DAMAGE)
def test_traditional_version_and_count(label, values, read_by):
    with pytest.raises(pk.KeyFileError, match='^malformed key'):
        load_der(rsa_private_key(values), label)


@pytest.mark.parametrize('label, values, read_by', TRADITIONAL_DAMAGE)
def test_traditional_version_and_count_as_ntpd_openssl_reads_it(label, values, read_by, referee):
    assert referee.accepts(pem(label, rsa_private_key(values))) is (referee.series in read_by)


def test_dsa_algorithm_needs_its_parameters():
    info = der.sequence(der.integer(0), der.sequence(der.oid(pk.OID_DSA)), der.octet_string(der.integer(5)))
    with pytest.raises(pk.KeyFileError, match='DSA algorithm without parameters'):
        load_der(info)


def flipped_iv_pkcs8(position):
    text = FIELDS.to_pkcs8_pem('pw')
    block = pem_blocks(text)[0]
    iv = der.decode(block.der).children()[0].children()[1].children()[1].children()[1].content
    assert len(iv) == 16
    damaged = bytearray(block.der)
    damaged[block.der.index(iv) + position] ^= 0x01
    return pem('ENCRYPTED PRIVATE KEY', bytes(damaged))


# CBC: a damaged IV changes the same byte of the first plaintext block only, so the padding still checks out.
# Byte 6 of that block is the PKCS#8 version (30 82 LL LL 02 01 00): flipped, the key reads as version 1.
PKCS8_VERSION_BYTE = 6


@pytest.mark.parametrize('position', range(16))
def test_flipped_iv_byte_is_bad_decrypt(position):
    with pytest.raises(pk.KeyFileError, match='^bad decrypt: wrong password or corrupted key$'):
        pk.load_pem(flipped_iv_pkcs8(position), 'pw')


@pytest.mark.parametrize('position', range(16))
def test_flipped_iv_byte_as_ntpd_openssl_reads_it(position, referee):
    """ntpd's OpenSSL refuses each flip, except the one that makes the version 1, which it reads (the modules
    refuse it: stricter)."""
    assert referee.accepts(flipped_iv_pkcs8(position), 'pw') is (position == PKCS8_VERSION_BYTE)


@pytest.mark.parametrize('position', range(8))
def test_flipped_iv_byte_of_a_stock_ntp_keygen_key(position):
    """ntp-keygen 4.2.8p15 encrypts with des-ede3-cbc: an 8-byte IV."""
    body = envelope.parse(stock('iff', 'ntpkey_RSAhost')).body
    block = pem_blocks(body)[0]
    scheme = der.decode(block.der).children()[0].children()[1].children()[1]
    iv = scheme.children()[1].content
    damaged = bytearray(block.der)
    damaged[block.der.index(scheme.raw) + len(scheme.raw) - 8 + position] ^= 0x20
    assert len(iv) == 8
    with pytest.raises(pk.KeyFileError, match='^bad decrypt'):
        pk.load_pem(pem('ENCRYPTED PRIVATE KEY', bytes(damaged)), STOCK_PASSWORD)


def flipped_iv_traditional(position):
    text = FIELDS.to_traditional_pem('pw')
    block = pem_blocks(text)[0]
    iv = bytearray(binascii.unhexlify(block.headers['DEK-Info'].split(',')[1]))
    iv[position] ^= 0x01
    return text.replace(block.headers['DEK-Info'], 'AES-256-CBC,' + binascii.hexlify(bytes(iv)).decode().upper())


@pytest.mark.parametrize('position', range(16))
def test_flipped_iv_byte_of_a_traditional_key(position):
    # The first 8 bytes are also the key derivation's salt: a flip there changes the key (bad decrypt); a
    # flip past them changes one plaintext byte, maybe only a value of n: the host key check refuses that.
    with pytest.raises(pk.KeyFileError, match='^bad decrypt|RSA values are inconsistent'):
        pk.check_rsa(pk.load_pem(flipped_iv_traditional(position), 'pw')[0])


@pytest.mark.parametrize('position', range(16))
def test_flipped_iv_byte_of_a_traditional_key_is_damage_to_openssl(position, referee):
    """OpenSSL's key check agrees that the key is damaged (it reads some of them: bytes 10-15 change a value
    of the key, which ntpd, checking nothing, would load)."""
    assert not referee.accepts(flipped_iv_traditional(position), 'pw', check=True)


def test_stock_host_keys_are_consistent_rsa_keys():
    for scheme in ('iff', 'gq', 'mv'):
        key = pk.load_pem(envelope.parse(stock(scheme, 'ntpkey_RSAhost')).body, STOCK_PASSWORD)[0]
        assert pk.check_rsa(key) is key


@pytest.mark.parametrize('change', [dict(n=FIELDS['n'] + 2), dict(p=FIELDS['p'] + 2), dict(d=FIELDS['d'] + 2),
                                    dict(dp=FIELDS['dp'] ^ 1), dict(qinv=FIELDS['qinv'] + 1), dict(e=4)])
def test_inconsistent_host_key_values_are_refused(change):
    key = pk.PrivateKey('RSA', **dict(FIELDS.fields, **change))
    with pytest.raises(pk.KeyFileError, match='RSA values are inconsistent'):
        pk.check_rsa(key)


@pytest.mark.parametrize('change', [dict(n=FIELDS['n'] + 2), dict(p=FIELDS['p'] + 2), dict(d=FIELDS['d'] + 2),
                                    dict(dp=FIELDS['dp'] ^ 1), dict(qinv=FIELDS['qinv'] + 1), dict(e=4)])
def test_inconsistent_host_key_values_are_damage_to_openssl(change, referee):
    """ntpd's OpenSSL reads such a key (ntpd checks nothing and would sign with it); its key check refuses it."""
    key = pk.PrivateKey('RSA', **dict(FIELDS.fields, **change))
    assert referee.accepts(pkcs8_pem(key.pkcs8_der()))
    assert not referee.accepts(pkcs8_pem(key.pkcs8_der()), check=True)


@pytest.mark.skipif(not REFEREES, reason='no referee OpenSSL (tests/unit/openssl_referee.py)')
@settings(max_examples=150, deadline=None)
@given(st.data())
def test_no_wrong_success_on_a_damaged_host_key(data):
    """Any byte changed, cut or added: refused with KeyFileError, or still a key that every referee reads and
    finds consistent."""
    raw = bytearray(PKCS8)
    action = data.draw(st.sampled_from(['flip', 'cut', 'insert']))
    at = data.draw(st.integers(0, len(raw) - 1))
    if action == 'flip':
        raw[at] ^= data.draw(st.integers(1, 255))
    elif action == 'cut':
        del raw[at:at + data.draw(st.integers(1, 8))]
    else:
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=4))
    try:
        pk.check_rsa(load_der(bytes(raw)))
    except pk.KeyFileError:
        return
    for referee in REFEREES:
        assert referee.accepts(pkcs8_pem(bytes(raw)), check=True), referee


@BOUNDED
@given(st.binary(max_size=300),
       st.sampled_from(['PRIVATE KEY', 'RSA PRIVATE KEY', 'DSA PRIVATE KEY', 'ENCRYPTED PRIVATE KEY']))
def test_garbage_blocks_raise_only_key_file_errors(data, label):
    with pytest.raises(pk.KeyFileError):
        pk.load_block(envelope.PemBlock(label, {}, data), 'pw')


@BOUNDED
@given(st.integers(0, 400), st.integers(1, 255))
def test_damaged_encrypted_key_raises_only_key_file_errors(at, xor):
    raw = bytearray(pk.encrypt_pkcs8(PKCS8, 'pw', iterations=1000))
    raw[at % len(raw)] ^= xor
    try:
        key = pk.load_block(envelope.PemBlock('ENCRYPTED PRIVATE KEY', {}, bytes(raw)), 'pw')
    except pk.KeyFileError:
        return
    # the ciphertext changed past the padding block: values damaged, the consistency check catches it
    with pytest.raises(pk.KeyFileError):
        pk.check_rsa(key)


# -- defect 3: malformed encryption parameters end as KeyFileError -------------------------------------

def traditional(dek_info, body=b'\x00' * 32):
    return pem('RSA PRIVATE KEY', body, (('Proc-Type', '4,ENCRYPTED'), ('DEK-Info', dek_info)))


@pytest.mark.parametrize('dek_info, body, message', [
    ('AES-256-CBC,ABC', b'\x00' * 32, 'not hex digits in pairs'),
    ('AES-256-CBC,ZZ' + '00' * 15, b'\x00' * 32, 'not hex digits in pairs'),
    ('AES-256-CBC,' + '00' * 8, b'\x00' * 32, 'an IV of 8 bytes, the cipher takes 16'),
    ('AES-256-CBC,' + '00' * 4, b'\x00' * 32, 'a DEK-Info IV of 4 bytes'),
    ('DES-EDE3-CBC,' + '00' * 16, b'\x00' * 32, 'an IV of 16 bytes, the cipher takes 8'),
    ('AES-256-CBC,' + '00' * 16, b'\x00' * 33, 'not a multiple of the 16-byte block'),
    ('AES-256-CBC,' + '00' * 16, b'', 'not a multiple'),
    ('AES-256-CBC,' + '\u0663' * 32, b'\x00' * 32, 'not hex'),
    ('ROT13,00', b'\x00' * 32, 'unsupported PEM encryption'),
])
def test_malformed_traditional_encryption(dek_info, body, message):
    with pytest.raises(pk.KeyFileError, match=message):
        pk.load_pem(traditional(dek_info, body), 'pw')


def pbes2(iterations=der.integer(1000), iv=b'\x00' * 16, data=b'\x00' * 32, extra_kdf=(), extra=(), prf=None):
    if isinstance(iterations, int):
        iterations = der.integer(iterations)
    kdf_params = [der.octet_string(b'salt'), iterations] + list(extra_kdf)
    if prf is not None:
        kdf_params.append(prf)
    kdf = der.sequence(der.oid(pk.OID_PBKDF2), der.sequence(*kdf_params))
    scheme = der.sequence(der.oid(pk.OID_AES256_CBC), der.octet_string(iv))
    algorithm = der.sequence(der.oid(pk.OID_PBES2), der.sequence(kdf, scheme))
    return der.sequence(algorithm, der.octet_string(data), *extra)


def integer_tlv(value):
    """An INTEGER of any sign (der.integer writes non-negative ones only)."""
    size = (value if value >= 0 else ~value).bit_length() // 8 + 1
    return der.tlv(der.INTEGER, value.to_bytes(size, 'big', signed=True))


@pytest.mark.parametrize('envelope_der, message', [
    (pbes2(iterations=0), 'iteration count 0 is outside 1 to 10000000'),
    (pbes2(iterations=10 ** 9), 'iteration count 1000000000 is outside'),
    (pbes2(iterations=1 << 70), 'outside'),
    (pbes2(iv=b'\x00' * 15), 'an IV of 15 bytes'),
    (pbes2(data=b'\x00' * 17), 'not a multiple of the 16-byte block'),
    (pbes2(extra=[der.null()]), 'EncryptedPrivateKeyInfo has 3 elements, 2 expected'),
    (pbes2(extra_kdf=[der.integer(16)]), 'PBKDF2 key length 16, the cipher takes 32'),
    (pbes2(prf=der.sequence(der.oid('1.2.3.4'))), 'unsupported PBKDF2 hash'),
    (pbes2(prf=der.sequence(der.oid('1.2.840.113549.2.9'), der.integer(1))), 'parameters are not NULL'),
    (pbes2(extra_kdf=[der.integer(32), der.null(), der.null()]), 'PBKDF2 parameters has 5 elements'),
    (b'\x30\x00', 'has 0 elements'),
])
def test_malformed_pkcs8_encryption(envelope_der, message):
    with pytest.raises(pk.KeyFileError, match=message):
        pk.load_block(envelope.PemBlock('ENCRYPTED PRIVATE KEY', {}, envelope_der), 'pw')


def test_negative_iteration_count():
    data = pbes2(iterations=integer_tlv(-5))
    with pytest.raises(pk.KeyFileError, match='iteration count -5 is outside'):
        pk.load_block(envelope.PemBlock('ENCRYPTED PRIVATE KEY', {}, data), 'pw')


def test_empty_passphrase_names_the_fix():
    with pytest.raises(pk.KeyFileError, match='empty password .* give the passphrase ntpd uses'):
        pk.load_pem(FIELDS.to_pkcs8_pem('pw'), '')


def test_foreign_private_key_labels():
    with pytest.raises(pk.KeyFileError, match='not a private key ntpd reads'):
        pk.load_pem(pem('EC PRIVATE KEY', b'\x30\x00'))


# -- the DER codec -------------------------------------------------------------------------------------

@pytest.mark.parametrize('data, message', [
    (b'\x02\x02\x00\x05', 'superfluous leading bytes'),
    (b'\x02\x02\xff\x85', 'superfluous leading bytes'),
    (b'\x04\x81\x05hello', 'non-minimal DER length'),
    (b'\x04\x82\x00\x80' + b'x' * 128, 'non-minimal DER length'),
    (b'\x06\x03\x2a\x80\x01', 'leading 0x80'),
    (der.tlv(der.UTC_TIME, '\u0663\u0663'.encode('utf-8') + b'0101000000Z'), 'malformed time'),
    (b'\x17\x0b2601010000Z', 'malformed time'),
    (b'\x0c\x02\xff\xfe', 'not UTF-8'),
])
def test_der_refuses_what_is_not_der(data, message):
    readers = {der.INTEGER: 'as_int', der.OCTET_STRING: 'children', der.OID: 'as_oid', der.UTC_TIME: 'as_time',
               der.UTF8_STRING: 'as_text'}
    with pytest.raises(der.DerError, match=message):
        item = der.decode(data)
        getattr(item, readers[item.tag])()


def test_der_minimal_integers_are_kept():
    for value in (0, 127, 128, 255, 256, -1, -128, -129):
        assert der.decode(integer_tlv(value)).as_int() == value


@BOUNDED
@given(st.binary(max_size=200))
def test_der_readers_raise_only_der_errors(data):
    try:
        items = der.decode_all(data)
    except der.DerError:
        return
    for item in items:
        for reader in (item.as_int, item.as_oid, item.as_text, item.as_time, item.as_bits, item.children):
            try:
                reader()
            except der.DerError:
                pass


# -- defect 4: PEM reading is linear and bounded ---------------------------------------------------------

def test_many_begin_lines_are_read_in_linear_time():
    text = '-----BEGIN PRIVATE KEY-----\nAAAA\n' * 6000
    started = time.time()
    with pytest.raises(EnvelopeError, match='incomplete PEM block'):
        pem_blocks(text)
    assert time.time() - started < 1


def test_many_blocks_are_refused():
    block = pem('PRIVATE KEY', b'\x30\x00')
    with pytest.raises(EnvelopeError, match='more than 256 PEM blocks'):
        pem_blocks(block * 257)
    assert len(pem_blocks(block * 256)) == 256


def test_oversized_text_is_refused():
    with pytest.raises(EnvelopeError, match='not a key file'):
        envelope.parse('# x.5\n' + '-----BEGIN X-----\n' + 'A' * (1 << 20))


@pytest.mark.parametrize('text, message', [
    ('-----BEGIN PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n', 'ends with'),
    ('-----BEGIN PRIVATE KEY-----\nMA\u00e9A=\n-----END PRIVATE KEY-----\n', 'not valid base64'),
    ('-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nMAA=\n-----END PRIVATE KEY-----\n', 'no blank line'),
])
def test_damaged_pem(text, message):
    with pytest.raises(EnvelopeError, match=message):
        pem_blocks(text)


def test_pem_with_crlf_and_headers():
    text = traditional('AES-256-CBC,' + '00' * 16).replace('\n', '\r\n')
    block = pem_blocks(text)[0]
    assert block.headers['DEK-Info'] == 'AES-256-CBC,' + '00' * 16 and block.der == b'\x00' * 32


@BOUNDED
@given(st.lists(st.sampled_from(['-----BEGIN PRIVATE KEY-----', '-----END PRIVATE KEY-----', 'MAA=', '',
                                 'Proc-Type: 4,ENCRYPTED', '-----BEGIN X-----', '-----END X-----', '\u00e9', 'A:b',
                                 base64.b64encode(PKCS8).decode()]), max_size=30),
       st.text(max_size=20))
def test_envelope_raises_only_envelope_errors(lines, noise):
    text = '# ntpkey_RSAhost_th.' + noise + '\n' + '\n'.join(lines)
    try:
        keyfile = envelope.parse(text)
        pk.load_pem(keyfile.body, 'pw')
    except AutokeyError:
        pass


# -- defect 7: filestamps in ASCII digits --------------------------------------------------------------

@pytest.mark.parametrize('line', ['# ntpkey_host_th.\u0663\u0663', '# ntpkey_host_th.\u00b2', '# x.\u00a0123',
                                  '# x.-5', '# x.4294967296'])
def test_filestamps_are_ascii_digits_in_32_bits(line):
    with pytest.raises(EnvelopeError, match='invalid filestamp'):
        envelope.parse_filestamp(line)


def test_filestamp_accepts_c_whitespace_and_plus():
    assert envelope.parse_filestamp('# x.\t+42') == 42 and envelope.parse_filestamp('# x.4294967295') == 0xFFFFFFFF


@pytest.mark.parametrize('text', ['\u00b2', '\u0663\u0663', '\u0662\u0660\u0662\u0666-11-24', '-5', '1899-01-01'])
def test_rollover_time_in_ascii_only(text):
    with pytest.raises(EnvelopeError):
        envelope.filestamp_from_time(text, now=4004600000)
