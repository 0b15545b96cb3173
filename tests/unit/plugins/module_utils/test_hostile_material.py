# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile and damaged material: group sources, certificates and filestamps at the edges.

Every reader ends in the module's own error (AutokeyError), and a file ntpd cannot use is never kept as
fine: with regenerate=full_idempotence it is replaced through the normal unreadable path."""
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import certificate, der, envelope
from ansible_collections.ntp.autokey.plugins.module_utils.autokey import private_keys as pk
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.group_material import MaterialError, read_given, read_source
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.host_material import HostMaterial, fields_from_rsa
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.material import next_filestamp
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import KeyFile, ntp_now, pem, pem_blocks

from helpers import STOCK_EXPORT_PASSWORD, STOCK_PASSWORD, stock

BOUNDED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEY = rsa.generate_private_key(65537, 1024)


def keyfile(kind, stamp, body, owner='th'):
    name = envelope.file_name(kind, owner, stamp)
    return name, KeyFile(name, stamp, body).text()


# -- group sources ---------------------------------------------------------------------------------------

def source_text(key, container='pkcs8', password=None):
    return keyfile('GQkey', 4004507722, key.to_pem(container, password), 'lab')[1]


@pytest.mark.parametrize('scheme, key, message', [
    ('gq', pk.PrivateKey('RSA', n=0, e=5, d=7, p=3, q=9, dp=1, dq=1, qinv=1), 'n = 0'),
    ('gq', pk.PrivateKey('RSA', n=0, e=1, d=7, p=1, q=1, dp=1, dq=1, qinv=1), 'n = 0'),
    ('iff', pk.PrivateKey('DSA', p=0, q=11, g=4, pub=3, priv=5), 'p = 0'),
    ('iff', pk.PrivateKey('DSA', p=23, q=0, g=4, pub=3, priv=5), 'q = 0'),
    ('mv', pk.PrivateKey('DSA', p=0, q=11, g=4, pub=3, priv=5), 'p = 0'),
])
def test_zero_values_are_refused_before_any_arithmetic(scheme, key, message):
    with pytest.raises(MaterialError, match='^content: .*%s' % message):
        read_source(scheme, source_text(key, 'traditional' if key.algorithm == 'DSA' else 'pkcs8'), None, 'content')


def test_mv_master_with_a_zero_prime_or_missing_values():
    ta = pk.PrivateKey('DSA', p=23, q=11, g=4, pub=3, priv=5)
    client = pk.PrivateKey('DSA', p=23, q=0, g=1, pub=3, priv=5)
    body = ''.join(k.to_traditional_pem() for k in (ta, ta, client))
    with pytest.raises(MaterialError, match='MV client key has q = 0'):
        read_source('mv', keyfile('MVta', 5, body, 'lab')[1], None, 'content')
    body = ta.to_traditional_pem() + ta.to_pkcs8_pem() + ta.to_traditional_pem()
    with pytest.raises(MaterialError, match='written by ntp-keygen'):
        read_source('mv', keyfile('MVta', 5, body, 'lab')[1], None, 'content')


def test_binary_src_and_content(tmp_path):
    src = tmp_path / 'binary'
    src.write_bytes(b'# ntpkey_IFFkey_lab.5\n\xff\xfe\x00')
    with pytest.raises(MaterialError, match='^%s is not a text file' % src):
        read_given('iff', 'lab', src=str(src))
    with pytest.raises(MaterialError, match='^content is not the text of an Autokey file'):
        read_given('iff', 'lab', content='# ntpkey_IFFkey_lab.5\n\udcff\udcfe')
    with pytest.raises(MaterialError, match='^cannot read %s' % tmp_path):
        read_given('iff', 'lab', src=str(tmp_path))
    big = tmp_path / 'big'
    big.write_bytes(b'#' * ((1 << 20) + 1))
    with pytest.raises(MaterialError, match='larger than'):
        read_given('iff', 'lab', src=str(big))


@pytest.mark.parametrize('scheme, name, password', [
    ('iff', 'iffkey.export', STOCK_EXPORT_PASSWORD), ('iff', 'ntpkey_IFFkey', STOCK_PASSWORD),
    ('gq', 'gqkey.export', STOCK_EXPORT_PASSWORD), ('gq', 'gqpar.export', None),
])
def test_stock_sources_still_read(scheme, name, password):
    assert read_source(scheme, stock(scheme, name), password, name).filestamp == 4004507722


@BOUNDED
@given(st.sampled_from([('iff', 'iffkey.export', STOCK_EXPORT_PASSWORD), ('gq', 'gqpar.export', None),
                        ('gq', 'gqkey.export', STOCK_EXPORT_PASSWORD), ('iff', 'iffpar.export', None),
                        ('mv', 'mvpar.export', None)]),
       st.integers(0, 4000), st.characters(min_codepoint=0, max_codepoint=0x3000))
def test_damaged_group_sources_raise_only_material_errors(source, at, char):
    scheme, name, password = source
    text = stock(scheme, name)
    at %= len(text)
    try:
        read_source(scheme, text[:at] + char + text[at + 1:], password, name, group='lab')
    except MaterialError:
        pass


# -- certificates ------------------------------------------------------------------------------------------

CERT = certificate.build(KEY, 'th@lab', 4004507722, trusted=True)


def replace_tbs_field(data, index, raw):
    tbs, algorithm, sig = der.decode(data).children()
    fields = [f.raw for f in tbs.children()]
    fields[index] = raw
    return der.sequence(der.sequence(*fields), algorithm.raw, sig.raw)


def test_certificate_with_a_key_that_is_not_rsa():
    spki = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(certificate.CertificateError, match='not an RSA key'):
        certificate.Certificate(replace_tbs_field(CERT, 6, spki))


def test_certificate_with_an_unknown_signature_algorithm():
    known = der.oid(certificate.SIGNATURES['RSA-SHA256'][0])
    data = CERT.replace(known, der.oid('1.2.840.113549.1.1.10'))
    c = certificate.Certificate(data)
    assert c.signature is None and c.nid is None and not c.signature_valid()


# extendedKeyUsage values of the length of the Trust Root one, so that only the extension is damaged
MALFORMED_EKU = [b'\x30\x0b\x04\x09' + b'x' * 9, b'\x04\x0b' + b'x' * 11, b'\x30\x0b\x06\x09\x2b' + b'\x80' * 8,
                 b'\x30\x0c\x06\x09\x2b' + b'\x01' * 8]


def damage_eku(data, eku):
    good = der.sequence(der.oid(certificate.OID_TRUST_ROOT))
    assert len(eku) == len(good) and good in data
    return data.replace(good, eku)


@pytest.mark.parametrize('eku', MALFORMED_EKU)
def test_certificate_with_a_malformed_eku(eku):
    with pytest.raises(certificate.CertificateError, match='malformed certificate: extendedKeyUsage'):
        certificate.Certificate(damage_eku(CERT, eku))


@BOUNDED
@given(st.integers(0, len(CERT) - 1), st.integers(1, 255))
def test_damaged_certificates_raise_only_certificate_errors(at, xor):
    data = bytearray(CERT)
    data[at] ^= xor
    try:
        c = certificate.Certificate(bytes(data))
    except certificate.CertificateError:
        return
    try:
        [c.trusted, c.private, c.gq_public, c.self_signed, c.fingerprint(), c.signature_valid()]
    except AutokeyError:
        pass


# -- host material: unreadable and damaged files go the unreadable path ------------------------------------

def material(path, **kw):
    args = dict(group='lab', size=1024)
    args.update(kw)
    return HostMaterial(KeysDir(str(path)), 'th', 'pw', **args)


def put_host_key(path, stamp, text_of_key):
    name, text = keyfile('RSAhost', stamp, text_of_key)
    (path / name).write_text(text)
    link = path / 'ntpkey_host_th'
    if os.path.lexists(str(link)):
        link.unlink()
    os.symlink(name, str(link))
    return name


def pkcs8_with_version(version):
    info = fields_from_rsa(KEY).pkcs8_der()
    damaged = info[:6] + bytes([version]) + info[7:]
    return pem('ENCRYPTED PRIVATE KEY', pk.encrypt_pkcs8(damaged, 'pw', iterations=1000))


def flipped_iv():
    block = pem_blocks(fields_from_rsa(KEY).to_pkcs8_pem('pw'))[0]
    iv = der.decode(block.der).children()[0].children()[1].children()[1].children()[1].content
    data = bytearray(block.der)
    data[block.der.index(iv)] ^= 0x80
    return pem('ENCRYPTED PRIVATE KEY', bytes(data))


@pytest.mark.parametrize('damaged', [pkcs8_with_version(1), flipped_iv()], ids=['version', 'iv'])
def test_damaged_host_key_is_never_fine(tmp_path, damaged):
    put_host_key(tmp_path, 4004507722, damaged)
    with pytest.raises(MaterialError, match='cannot read the host key .*bad decrypt.*full_idempotence'):
        material(tmp_path).plan()
    reasons = material(tmp_path, regenerate='full_idempotence').plan()
    assert reasons['host'].startswith('unreadable (') and 'bad decrypt' in reasons['host']


def test_malformed_encryption_parameters_are_replaced_with_full_idempotence(tmp_path):
    items = der.decode(pk.encrypt_pkcs8(fields_from_rsa(KEY).pkcs8_der(), 'pw', iterations=1000)).children()
    put_host_key(tmp_path, 4004507722, pem('ENCRYPTED PRIVATE KEY', der.sequence(items[0].raw, items[1].raw, der.null())))
    with pytest.raises(MaterialError, match='cannot read the host key .*has 3 elements, 2 expected'):
        material(tmp_path).plan()
    assert material(tmp_path, regenerate='full_idempotence').plan()['host'].startswith('unreadable (')


def test_host_key_stamped_at_the_maximum(tmp_path):
    put_host_key(tmp_path, 0xFFFFFFFF, fields_from_rsa(KEY).to_pkcs8_pem('pw'))
    m = material(tmp_path, regenerate='always')
    m.plan()
    m.apply()
    stamp = envelope.parse_filestamp(os.readlink(str(tmp_path / 'ntpkey_host_th')))
    assert stamp <= ntp_now() + 1
    assert material(tmp_path).plan() == {}


def test_next_filestamp_refuses_to_leave_32_bits():
    with pytest.raises(MaterialError, match='no filestamp newer than 4294967295 fits the 32 bits'):
        next_filestamp(0xFFFFFFFF, now=0xFFFFFFFF - 100)
    with pytest.raises(MaterialError, match='clock is past 2036'):
        next_filestamp(now=0xFFFFFFFF + 1)
    assert next_filestamp(0xFFFFFFFF - 1, now=0xFFFFFFFF - 100) == 0xFFFFFFFF


def test_host_key_stamped_years_in_the_future(tmp_path):
    future = ntp_now() + 3 * 365 * 86400
    name = put_host_key(tmp_path, future, fields_from_rsa(KEY).to_pkcs8_pem('pw'))
    for regenerate in ('never', 'fail'):
        with pytest.raises(MaterialError, match='lies 109[45] days in the future.*Check the clock'):
            material(tmp_path, regenerate=regenerate).plan()
    m = material(tmp_path)
    reasons = m.plan()
    assert 'in the future' in reasons['host'] and reasons['cert'] == 'key regenerated'
    m.apply()
    assert os.readlink(str(tmp_path / 'ntpkey_host_th')) != name
    assert material(tmp_path).plan() == {}
    facts = material(tmp_path).describe()
    assert facts['host_key_filestamp'] <= ntp_now() + 1
    assert facts['certificate_filestamp'] <= ntp_now() + 1  # notBefore = filestamp: valid now


def test_an_hour_ahead_is_within_tolerance(tmp_path):
    material(tmp_path).plan()
    put_host_key(tmp_path, ntp_now() + 3600, fields_from_rsa(KEY).to_pkcs8_pem('pw'))
    assert 'host' not in material(tmp_path).plan()


@pytest.mark.parametrize('eku', MALFORMED_EKU[:2])
def test_damaged_certificate_is_replaced(tmp_path, eku):
    m = material(tmp_path, trusted=True)
    m.plan()
    m.apply()
    link = str(tmp_path / 'ntpkey_cert_th')
    text = open(link).read()
    block = pem_blocks(text)[0]
    damaged = text[:text.index('-----BEGIN')] + pem('CERTIFICATE', damage_eku(block.der, eku))
    with open(link, 'w') as handle:
        handle.write(damaged)
    reasons = material(tmp_path, trusted=True).plan()
    assert reasons['cert'].startswith('certificate unreadable (') and 'extendedKeyUsage' in reasons['cert']


def test_certificate_stamped_in_the_future_is_never_fine(tmp_path):
    """A valid host key with a certificate whose filestamp (line 1) lies a year ahead: replaced, not kept."""
    m = material(tmp_path)
    m.plan()
    m.apply()
    link = tmp_path / 'ntpkey_cert_th'
    target = tmp_path / os.readlink(str(link))
    future = ntp_now() + 365 * 86400
    lines = target.read_text().split('\n')
    lines[0] = '# ntpkey_RSA-SHA256cert_th.%d' % future
    target.write_text('\n'.join(lines))
    with pytest.raises(MaterialError, match='certificate filestamp %d lies 36[45] days in the future' % future):
        material(tmp_path, regenerate='fail').plan()
    reasons = material(tmp_path).plan()
    assert list(reasons) == ['cert'] and 'in the future' in reasons['cert']
