# SPDX-License-Identifier: GPL-3.0-or-later
"""subject_alt_names and nts_certificate_problems, on what community.crypto's x509_certificate_info reports (the
fields the filter reads), with real public keys."""

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
