# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Autokey X.509 certificates: built and parsed field by field.

ntpd (cert_parse) reads the CN after the first "CN=", the signature NID, the
first printed line of extendedKeyUsage ("Trust Root" or "Private") and the
subjectKeyIdentifier (GQ public key, 2-byte header assumed). It requires a
self-signed certificate whose notBefore is not earlier than its filestamp.
`cryptography`'s builder refuses MD5 and SHA-1, so the TBS is encoded here and
signed with PKCS#1 v1.5, which covers every digest ntpd 4.2.8 accepts.
"""


import datetime
import hashlib

try:
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
except ImportError:  # the modules report a missing cryptography (module_support)
    hashes = None

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import der
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import ntp_to_unix
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError

# ntp-keygen -c name: (signature OID, OpenSSL NID, digest name, DigestInfo OID)
SIGNATURES = {
    'RSA-MD5': ('1.2.840.113549.1.1.4', 8, 'md5', '1.2.840.113549.2.5'),
    'RSA-SHA1': ('1.2.840.113549.1.1.5', 65, 'sha1', '1.3.14.3.2.26'),
    'RSA-SHA224': ('1.2.840.113549.1.1.14', 671, 'sha224', '2.16.840.1.101.3.4.2.4'),
    'RSA-SHA256': ('1.2.840.113549.1.1.11', 668, 'sha256', '2.16.840.1.101.3.4.2.1'),
    'RSA-SHA384': ('1.2.840.113549.1.1.12', 669, 'sha384', '2.16.840.1.101.3.4.2.2'),
    'RSA-SHA512': ('1.2.840.113549.1.1.13', 670, 'sha512', '2.16.840.1.101.3.4.2.3'),
    'RSA-RIPEMD160': ('1.3.36.3.3.1.2', 119, 'ripemd160', '1.3.36.3.2.1'),
}
DEFAULT_SIGNATURE = 'RSA-SHA256'
_BY_OID = dict((v[0], k) for k, v in SIGNATURES.items())
_HASHES = {'md5': 'MD5', 'sha1': 'SHA1', 'sha224': 'SHA224', 'sha256': 'SHA256', 'sha384': 'SHA384',
           'sha512': 'SHA512'}


def _hash(name):
    return getattr(hashes, _HASHES[name])()


OID_CN = '2.5.4.3'
OID_BASIC_CONSTRAINTS = '2.5.29.19'
OID_KEY_USAGE = '2.5.29.15'
OID_SKI = '2.5.29.14'
OID_EKU = '2.5.29.37'
OID_TRUST_ROOT = '1.3.6.1.5.5.7.48.1.11'  # printed by OpenSSL as "Trust Root"
OID_PRIVATE = '1.3.6.1.4'  # printed as "Private" (PC scheme)
MAX_SKI_BYTES = 127  # ntpd skips a 2-byte OCTET STRING header: short form only


class CertificateError(AutokeyError):
    pass


def _digest(name, data):
    if name in _HASHES:
        h = hashes.Hash(_hash(name))
        h.update(data)
        return h.finalize()
    try:
        return hashlib.new(name, data).digest()
    except ValueError:
        raise CertificateError('this Python/OpenSSL has no %s digest; choose another signature' % name)


def _digest_info(signature, data):
    _oid, _nid, name, digest_oid = SIGNATURES[signature]
    return der.sequence(der.sequence(der.oid(digest_oid), der.null()), der.octet_string(_digest(name, data)))


def sign(private_key, signature, data):
    """PKCS#1 v1.5 signature of `data` with the digest of `signature`."""
    name = SIGNATURES[signature][2]
    if name in _HASHES:
        return private_key.sign(data, padding.PKCS1v15(), _hash(name))
    # RIPEMD-160 is not among cryptography's signature hashes: pad and sign here.
    numbers = private_key.private_numbers()
    n = numbers.public_numbers.n
    size = (n.bit_length() + 7) // 8
    info = _digest_info(signature, data)
    block = b'\x00\x01' + b'\xff' * (size - len(info) - 3) + b'\x00' + info
    m = int.from_bytes(block, 'big')
    s1, s2 = pow(m, numbers.dmp1, numbers.p), pow(m, numbers.dmq1, numbers.q)
    s = s2 + numbers.q * ((numbers.iqmp * (s1 - s2)) % numbers.p)
    return s.to_bytes(size, 'big')


def verify(public_key, signature, sig, data):
    name = SIGNATURES[signature][2]
    if name in _HASHES:
        try:
            public_key.verify(sig, data, padding.PKCS1v15(), _hash(name))
            return True
        except InvalidSignature:
            return False
    numbers = public_key.public_numbers()
    size = (numbers.n.bit_length() + 7) // 8
    block = pow(int.from_bytes(sig, 'big'), numbers.e, numbers.n).to_bytes(size, 'big')
    info = _digest_info(signature, data)
    return block == b'\x00\x01' + b'\xff' * (size - len(info) - 3) + b'\x00' + info


def _name(cn):
    return der.sequence(der.set_of(der.sequence(der.oid(OID_CN), der.utf8_string(cn))))


def _extension(oid, value, critical=False):
    parts = [der.oid(oid)] + ([der.boolean(True)] if critical else []) + [der.octet_string(value)]
    return der.sequence(*parts)


def utc_from_ntp(filestamp):
    return datetime.datetime.fromtimestamp(ntp_to_unix(filestamp), datetime.timezone.utc)


def build(sign_key, subject, filestamp, days=365, signature=DEFAULT_SIGNATURE,
          trusted=False, private=False, gq_public=None):
    """DER of a self-signed Autokey certificate.

    serial = filestamp and notBefore = filestamp, so that ntpd's check
    notBefore >= filestamp holds to the second.
    """
    if signature not in SIGNATURES:
        raise CertificateError('unsupported signature %r; ntpd accepts %s' % (signature, ', '.join(sorted(SIGNATURES))))
    sig_oid = SIGNATURES[signature][0]
    algorithm = der.sequence(der.oid(sig_oid), der.null())
    start = utc_from_ntp(filestamp)
    extensions = [
        _extension(OID_BASIC_CONSTRAINTS, der.sequence(der.boolean(True)), critical=True),
        _extension(OID_KEY_USAGE, der.bit_string(b'\x84', unused_bits=2)),
    ]
    if gq_public is not None:
        ski = gq_public.to_bytes((gq_public.bit_length() + 7) // 8, 'big')
        if len(ski) > MAX_SKI_BYTES:
            raise CertificateError('GQ public key of %d bytes does not fit the subjectKeyIdentifier ntpd reads '
                                   '(at most %d bytes): use a GQ modulus of at most 1016 bits' % (len(ski), MAX_SKI_BYTES))
        extensions.append(_extension(OID_SKI, der.octet_string(ski)))
    if trusted or private:
        extensions.append(_extension(OID_EKU, der.sequence(der.oid(OID_TRUST_ROOT if trusted else OID_PRIVATE))))
    spki = sign_key.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    tbs = der.sequence(
        der.explicit(0, der.integer(2)),
        der.integer(filestamp),
        algorithm,
        _name(subject),
        der.sequence(der.time(start), der.time(start + datetime.timedelta(days=days))),
        _name(subject),
        spki,
        der.explicit(3, der.sequence(*extensions)),
    )
    return der.sequence(tbs, algorithm, der.bit_string(sign(sign_key, signature, tbs)))


class Certificate:
    """The fields of a certificate that ntpd and this collection look at, all read at once:
    a certificate ntpd could not use raises CertificateError here, never later."""

    def __init__(self, data):
        try:
            self._parse(data)
        except (der.DerError, IndexError, ValueError, UnsupportedAlgorithm) as exc:
            raise CertificateError('malformed certificate: %s' % exc)

    def _parse(self, data):
        self.der = data
        tbs, algorithm, sig = _children(der.decode(data), 3, 'Certificate')
        self.tbs = tbs.raw
        self.signature_oid = algorithm.expect(der.SEQUENCE, 'signature algorithm').children()[0].as_oid()
        self.signature = _BY_OID.get(self.signature_oid)
        self.nid = SIGNATURES[self.signature][1] if self.signature else None
        self.signature_value = sig.as_bits()
        fields = tbs.expect(der.SEQUENCE, 'TBSCertificate').children()
        if fields[0].tag == 0xA0:
            self.version = fields[0].children()[0].as_int() + 1
            fields = fields[1:]
        else:
            self.version = 1
        if len(fields) < 6:
            raise CertificateError('malformed certificate: TBSCertificate has %d fields' % len(fields))
        self.serial = fields[0].as_int()
        self.issuer = _common_name(fields[2])
        not_before, not_after = _children(fields[3], 2, 'validity')
        self.not_before, self.not_after = not_before.as_time(), not_after.as_time()
        self.subject = _common_name(fields[4])
        self.public_key = serialization.load_der_public_key(fields[5].raw)
        if not isinstance(self.public_key, rsa.RSAPublicKey):
            raise CertificateError('the certificate key is not an RSA key: ntpd 4.2.8 signs with RSA only')
        self.extensions = {}
        for item in fields[6:]:
            if item.tag == 0xA3:
                for ext in item.children()[0].expect(der.SEQUENCE, 'extensions').children():
                    parts = ext.expect(der.SEQUENCE, 'extension').children()
                    if len(parts) not in (2, 3):
                        raise CertificateError('malformed certificate: an extension has %d elements' % len(parts))
                    self.extensions[parts[0].as_oid()] = parts[-1].expect(der.OCTET_STRING, 'extension').content
        self.eku = _eku(self.extensions.get(OID_EKU))

    @property
    def trusted(self):
        return self.eku == [OID_TRUST_ROOT]

    @property
    def private(self):
        return self.eku == [OID_PRIVATE]

    @property
    def gq_public(self):
        """The GQ public key v as ntpd reads it: SKI bytes after a 2-byte header."""
        value = self.extensions.get(OID_SKI)
        return int.from_bytes(value[2:], 'big') if value else None

    @property
    def self_signed(self):
        return self.subject == self.issuer

    def signature_valid(self, public_key=None):
        if not self.signature:
            return False
        try:
            return verify(public_key or self.public_key, self.signature, self.signature_value, self.tbs)
        except UnsupportedAlgorithm:
            raise CertificateError('this Python/OpenSSL cannot verify %s signatures; choose another signature'
                                   % self.signature)

    def fingerprint(self):
        return hashlib.sha256(self.der).hexdigest()


def _children(element, count, what):
    items = element.expect(der.SEQUENCE, what).children()
    if len(items) != count:
        raise CertificateError('malformed certificate: %s has %d elements, %d expected' % (what, len(items), count))
    return items


def _eku(value):
    """The OIDs of an extendedKeyUsage extension value (an empty list without one)."""
    if value is None:
        return []
    try:
        return [e.as_oid() for e in der.decode(value).expect(der.SEQUENCE, 'extendedKeyUsage').children()]
    except der.DerError as exc:
        raise CertificateError('malformed certificate: extendedKeyUsage: %s' % exc)


def _common_name(name):
    for rdn in name.expect(der.SEQUENCE, 'name').children():
        for attribute in rdn.expect(der.SET, 'name').children():
            oid, value = _children(attribute, 2, 'name attribute')
            if oid.as_oid() == OID_CN:
                return value.as_text()
    raise CertificateError('certificate name has no CN')
