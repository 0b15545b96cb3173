# SPDX-License-Identifier: GPL-3.0-or-later
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import certificate as cert
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import ntp_now, parse, pem_blocks

from helpers import stock

KEY = rsa.generate_private_key(65537, 1024)
FS = ntp_now()


def _hash_available(signature):
    try:
        cert._digest(cert.SIGNATURES[signature][2], b'')
        return True
    except cert.CertificateError:
        return False


@pytest.mark.parametrize('signature', sorted(cert.SIGNATURES))
def test_every_signature_ntpd_accepts_builds_and_verifies(signature):
    if not _hash_available(signature):
        pytest.skip('%s digest not available in this OpenSSL' % signature)
    c = cert.Certificate(cert.build(KEY, 'th@lab', FS, signature=signature, trusted=True))
    assert c.signature == signature
    assert c.nid == cert.SIGNATURES[signature][1]
    assert c.signature_valid()
    assert c.subject == c.issuer == 'th@lab'


def test_fields_ntpd_checks():
    c = cert.Certificate(cert.build(KEY, 'th@lab', FS, days=10, trusted=True))
    assert c.serial == FS
    assert c.not_before == cert.utc_from_ntp(FS)  # notBefore >= filestamp, to the second
    assert c.not_after - c.not_before == datetime.timedelta(days=10)
    assert c.trusted and not c.private and c.version == 3
    parsed = x509.load_der_x509_certificate(c.der)  # an independent parser agrees
    assert parsed.extensions.get_extension_for_class(x509.BasicConstraints).critical
    assert parsed.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = parsed.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_cert_sign and not usage.key_encipherment


def test_private_and_plain_certificates():
    assert cert.Certificate(cert.build(KEY, 'h', FS, private=True)).private
    plain = cert.Certificate(cert.build(KEY, 'h', FS))
    assert not plain.trusted and not plain.private and cert.OID_EKU not in plain.extensions


def test_gq_public_key_in_ski_as_ntpd_reads_it():
    v = (1 << 1015) + 12345
    c = cert.Certificate(cert.build(KEY, 'th@lab', FS, trusted=True, gq_public=v))
    assert c.gq_public == v


def test_gq_key_too_long_for_ntpd_refused():
    with pytest.raises(cert.CertificateError, match='at most 127 bytes'):
        cert.build(KEY, 'th@lab', FS, gq_public=1 << 1020)


def test_tampered_certificate_fails_verification():
    data = bytearray(cert.build(KEY, 'th@lab', FS))
    data[-5] ^= 1
    assert not cert.Certificate(bytes(data)).signature_valid()


def test_unknown_signature_refused():
    with pytest.raises(cert.CertificateError, match='unsupported signature'):
        cert.build(KEY, 'th@lab', FS, signature='DSA-SHA1')


def test_reads_ntp_keygen_certificate():
    keyfile = parse(stock('iff', 'ntpkey_RSA-MD5cert'))
    c = cert.Certificate(pem_blocks(keyfile.body)[0].der)
    assert c.subject == 'th@lab' and c.trusted and c.signature == 'RSA-MD5' and c.nid == 8
    assert c.signature_valid() and c.not_before >= cert.utc_from_ntp(keyfile.filestamp)


def test_garbage_is_a_clear_error():
    with pytest.raises(cert.CertificateError, match='malformed certificate'):
        cert.Certificate(b'\x30\x03\x02\x01\x00')
