# SPDX-License-Identifier: GPL-3.0-or-later
"""subject_alt_names and nts_certificate_problems, on what community.crypto's x509_certificate_info reports (the
fields the filter reads), with real public keys."""

import base64
import datetime

import pytest
from ansible.errors import AnsibleFilterError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.filter.nts import FilterModule

_filters = FilterModule().filters()
subject_alt_names = _filters['subject_alt_names']
problems = _filters['nts_certificate_problems']
NOW = '20261129120000Z'


def _pem_public(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def info(sans, days=(-1, 90), usage=('TLS Web Server Authentication',), key=None):
    """What x509_certificate_info returns for a certificate with these SAN entries, validity and EKU."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    start = datetime.datetime(2026, 11, 29, 12) + datetime.timedelta(days=days[0])
    end = datetime.datetime(2026, 11, 29, 12) + datetime.timedelta(days=days[1])
    return dict(subject_alt_name=list(sans), not_before=start.strftime('%Y%m%d%H%M%SZ'),
                not_after=end.strftime('%Y%m%d%H%M%SZ'), public_key=_pem_public(key),
                extended_key_usage=list(usage) if usage else None), key


def test_subject_alt_names_from_names_and_addresses():
    assert subject_alt_names(['GS1.Example.net.', '192.0.2.10', '2001:db8::1']) == [
        'DNS:gs1.example.net', 'IP:192.0.2.10', 'IP:2001:db8::1']


@pytest.mark.parametrize('names', [[], 'gs', ['gs\nserver evil'], ['-gs'], ['a' * 64], ['gs..x'], [None]])
def test_subject_alt_names_refuses_what_is_no_name(names):
    with pytest.raises(AnsibleFilterError, match='subject_alt_names'):
        subject_alt_names(names)


def test_a_certificate_for_the_names_and_key_has_no_problem():
    cert, key = info(['DNS:gs', 'DNS:*.example.net', 'IP:192.0.2.10'])
    assert problems(cert, ['gs', 'GS1.example.net', '192.0.2.10'], _pem_public(key), NOW) == []


def test_each_problem_is_named():
    cert, dummy = info(['DNS:gs'], days=(-100, -10), usage=['TLS Web Client Authentication'])
    found = problems(cert, ['gs', 'nts-gs', 'a.b.example.net'], _pem_public(ec.generate_private_key(ec.SECP256R1())),
                     NOW)
    assert found[0].startswith('it expired on 2026-11-19 12:00')
    assert 'does not name nts-gs, a.b.example.net' in found[1]
    assert found[2] == 'it is not the certificate of the server key (another public key)'
    assert 'does not allow a TLS server' in found[3]
    future, dummy = info(['DNS:gs'], days=(2, 90))
    assert problems(future, ['gs'], None, NOW) == ['it is not valid before 2026-12-01 12:00 UTC']


def test_an_unreadable_certificate():
    assert problems({'failed': True, 'msg': 'No such file'}, ['gs']) == ['cannot read it as a PEM certificate (No such file)']
    assert problems('text', ['gs']) == ['cannot read it as a PEM certificate']


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=5), st.text(max_size=20), st.text(max_size=20),
       st.one_of(st.none(), st.lists(st.text(max_size=20), max_size=3)))
def test_damaged_info_never_raises_and_never_passes_an_uncovered_name(sans, not_before, not_after, usage):
    # whatever x509_certificate_info returned, the filter answers in words; 'gs' is covered only by DNS:gs
    found = problems(dict(subject_alt_name=sans, not_before=not_before, not_after=not_after, public_key='',
                          extended_key_usage=usage), ['gs'], None, NOW)
    assert isinstance(found, list)
    if not [s for s in sans if s.lower().rstrip('.') == 'dns:gs']:
        assert [p for p in found if 'does not name gs' in p]


# -- what chrony (GnuTLS) refuses and the filter used to pass: DER, broad or dotted SAN entries, key usage ----------

class _Module:
    params = {'name_encoding': 'ignore'}

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs.get('msg'))

    def warn(self, msg):
        pass


def _x509_certificate_info(data):
    """What community.crypto.x509_certificate_info returns for the file `data` (PEM or DER: it reads both)."""
    try:  # community.crypto 3
        from ansible_collections.community.crypto.plugins.module_utils._crypto.module_backends.certificate_info \
            import CertificateInfoRetrieval
        return CertificateInfoRetrieval(module=_Module(), content=data).get_info(der_support_enabled=True)
    except ImportError:  # community.crypto 2 (the oldest environment)
        from ansible_collections.community.crypto.plugins.module_utils.crypto.module_backends.certificate_info \
            import CertificateInfoRetrievalCryptography
        return CertificateInfoRetrievalCryptography(_Module(), data).get_info(der_support_enabled=True)


def _certificate(sans=('gs1.example.net',), key_usage=None, encoding=serialization.Encoding.PEM):
    """A real certificate (cryptography 3.3.2's API) for the DNS names `sans`, with `key_usage` names set."""
    from cryptography import x509
    from cryptography.hazmat.backends import default_backend
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1(), default_backend())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'gs1')])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(4711).not_valid_before(datetime.datetime(2026, 11, 1))
               .not_valid_after(datetime.datetime(2027, 2, 1))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    if key_usage is not None:
        flags = dict(digital_signature=False, content_commitment=False, key_encipherment=False,
                     data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                     encipher_only=False, decipher_only=False)
        flags.update((usage, True) for usage in key_usage)
        builder = builder.add_extension(x509.KeyUsage(**flags), critical=True)
    return builder.sign(key, hashes.SHA256(), default_backend()).public_bytes(encoding), key


def _slurp(data):
    return dict(content=base64.b64encode(data).decode('ascii'), encoding='base64', source='/etc/chrony/nts/gs1.crt')


def test_a_real_pem_certificate_has_no_problem():
    pem, key = _certificate(key_usage=['digital_signature'])
    assert problems(_x509_certificate_info(pem), ['gs1.example.net'], _pem_public(key), NOW, _slurp(pem)) == []
    assert problems(_x509_certificate_info(pem), ['gs1.example.net'], None, NOW, pem.decode()) == []


def test_a_der_certificate_is_refused_because_chrony_reads_only_pem():
    der, key = _certificate(encoding=serialization.Encoding.DER)
    info = _x509_certificate_info(der)  # x509_certificate_info reads DER: its result alone cannot tell
    assert info['subject_alt_name'] == ['DNS:gs1.example.net']
    found = problems(info, ['gs1.example.net'], _pem_public(key), NOW, _slurp(der))
    assert len(found) == 1 and found[0].startswith('it is a DER (binary) certificate, and chrony reads only PEM')
    assert 'openssl x509 -inform DER -outform PEM' in found[0]


@pytest.mark.parametrize('certificate, problem', [
    (dict(content='not base64!', encoding='base64'), 'cannot read the certificate file'),
    (b'\x00\x01garbage', 'cannot read it as a PEM certificate (it is neither PEM nor DER)'),
    ('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'cannot read it as a PEM certificate (damaged'),
    (42, 'cannot read the certificate file'),
])
def test_an_unreadable_certificate_file_is_named(certificate, problem):
    pem, dummy = _certificate()
    found = problems(_x509_certificate_info(pem), ['gs1.example.net'], None, NOW, certificate)
    assert found and found[0].startswith(problem)


@pytest.mark.parametrize('san, name, why', [
    ('*.net', 'example.net', 'is a wildcard over a top-level domain'),
    ('*.net', 'gs1.net', 'is a wildcard over a top-level domain'),
    ('example.net.', 'example.net', 'ends with a dot'),
    ('gs1.example.net.', 'gs1.example.net', 'ends with a dot'),
    ('gs*.example.net', 'gs1.example.net', 'has a wildcard that is not the whole leftmost label'),
])
def test_san_entries_chrony_never_matches_are_named(san, name, why):
    pem, dummy = _certificate(sans=[san])
    found = problems(_x509_certificate_info(pem), [name], None, NOW, pem)
    assert len(found) == 1
    assert 'does not name %s, which clients use' % name in found[0]
    assert 'DNS:%s %s' % (san, why) in found[0]


def test_a_wildcard_covers_one_label_never_the_parent_or_two():
    pem, dummy = _certificate(sans=['*.example.net'])
    info = _x509_certificate_info(pem)
    assert problems(info, ['gs1.example.net'], None, NOW) == []
    for name in ('example.net', 'a.gs1.example.net'):
        assert 'does not name %s' % name in problems(info, [name], None, NOW)[0]


@pytest.mark.parametrize('usage, refused', [
    (['key_encipherment'], True), (['key_agreement', 'key_cert_sign'], True), (['digital_signature'], False),
    (['digital_signature', 'key_encipherment'], False), (None, False),
])
def test_a_key_usage_without_digital_signature_is_refused(usage, refused):
    pem, dummy = _certificate(key_usage=usage)
    found = problems(_x509_certificate_info(pem), ['gs1.example.net'], None, NOW)
    if refused:
        assert len(found) == 1 and found[0].startswith('its key usage (')
        assert 'lacks digitalSignature' in found[0]
    else:
        assert found == []


_LABELS = st.sampled_from(['a', 'b', 'ab', 'net'])


def _gnutls_covers(san, name):
    """Reference: an exact entry, or "*." and two or more labels covering exactly one more label; no trailing dot; no
    partial wildcard ("a*.", which the filter does not take, stricter than GnuTLS may be)."""
    if san.endswith('.'):
        return False
    if san == name:
        return True
    return san.startswith('*.') and san[2:].count('.') >= 1 and '*' not in san[2:] and \
        name.partition('.')[2] == san[2:] and name.partition('.')[0] != ''


@settings(max_examples=400, deadline=None)
@given(name=st.lists(_LABELS, min_size=1, max_size=4).map('.'.join),
       sans=st.lists(st.tuples(st.sampled_from(['', '*.', '*', 'a*.']), st.lists(_LABELS, min_size=1, max_size=4),
                               st.sampled_from(['', '.'])).map(lambda t: t[0] + '.'.join(t[1]) + t[2]), max_size=3),
       key_usage=st.one_of(st.none(), st.lists(st.sampled_from(['Digital Signature', 'Key Encipherment']), max_size=2),
                           st.text(max_size=5), st.integers()))
def test_a_name_counts_as_covered_only_as_chrony_matches_it(name, sans, key_usage):
    found = problems(dict(subject_alt_name=['DNS:' + s for s in sans], not_before='20260101000000Z',
                          not_after='20270101000000Z', public_key='', extended_key_usage=None, key_usage=key_usage),
                     [name], None, NOW)
    assert all(isinstance(p, str) for p in found)
    named = [p for p in found if 'does not name %s,' % name in p]
    assert bool(named) != any(_gnutls_covers(s, name) for s in sans)
    assert bool([p for p in found if p.startswith('its key usage')]) == bool(
        key_usage and (not isinstance(key_usage, list) or 'Digital Signature' not in key_usage))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=64), st.text(max_size=64), st.dictionaries(st.text(max_size=8), st.text(max_size=20),
                                                                               max_size=3)))
def test_any_certificate_content_gives_words_never_an_exception(certificate):
    found = problems(dict(subject_alt_name=['DNS:gs'], not_before='20260101000000Z', not_after='20270101000000Z'),
                     ['gs'], None, NOW, certificate)
    assert found and all(isinstance(p, str) for p in found)


def _served(pem):
    """What community.crypto.get_certificate returns for a TLS server presenting this certificate."""
    return dict(changed=False, cert=pem.decode('ascii'), serial_number=1)


def test_the_served_certificate_is_the_file():
    pem, key = _certificate(key_usage=['digital_signature'])
    assert problems(_x509_certificate_info(pem), ['gs1.example.net'], _pem_public(key), NOW, _slurp(pem),
                    _served(pem)) == []
    # the file may carry its chain after it: the server's own certificate is the first block
    chained = pem + _certificate()[0]
    assert problems(_x509_certificate_info(pem), ['gs1.example.net'], None, NOW, _slurp(chained), _served(pem)) == []


def test_another_certificate_served_than_the_file_is_named():
    pem, key = _certificate(key_usage=['digital_signature'])
    old, dummy = _certificate(key_usage=['digital_signature'])  # what the daemon loaded at its start
    found = problems(_x509_certificate_info(pem), ['gs1.example.net'], _pem_public(key), NOW, _slurp(pem), _served(old))
    assert len(found) == 1 and found[0].startswith('NTS-KE serves another certificate than the file (serial ')
    assert 'restart the daemon' in found[0]


@pytest.mark.parametrize('served', [
    dict(failed=True, msg='Failed to get cert from 127.0.0.1:4460, error: [Errno 111] Connection refused'),
    dict(changed=False), 'garbage', {},
])
def test_no_certificate_served_is_named(served):
    pem, dummy = _certificate()
    found = problems(_x509_certificate_info(pem), ['gs1.example.net'], None, NOW, _slurp(pem), served)
    assert found and found[0].startswith('NTS-KE on TCP 4460 of this host served no certificate')


def test_a_damaged_served_certificate_never_passes():
    pem, dummy = _certificate()
    found = problems(_x509_certificate_info(pem), ['gs1.example.net'], None, NOW, _slurp(pem),
                     dict(cert='-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'))
    assert found == ['the certificate NTS-KE serves here cannot be read']
