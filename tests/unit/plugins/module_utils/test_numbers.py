# SPDX-License-Identifier: GPL-3.0-or-later
import types

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import numbers


@pytest.mark.parametrize('n, prime', [(2, True), (3, True), (4, False), (561, False), (7919, True),
                                      (2 ** 127 - 1, True), (2 ** 128 + 1, False),
                                      (3215031751, False)])  # a strong pseudoprime to bases 2, 3, 5, 7
def test_primality(n, prime):
    assert numbers.is_probable_prime(n) is prime


def test_random_prime_has_exact_size():
    for bits in (16, 64, 256):
        p = numbers.random_prime(bits, top_two=True)
        assert p.bit_length() == bits and p >> (bits - 2) == 3 and numbers.is_probable_prime(p)


def test_schnorr_group():
    p, q, g = numbers.schnorr_group(512, 160)
    assert p.bit_length() == 512 and q.bit_length() == 160
    assert (p - 1) % q == 0 and g != 1 and pow(g, q, p) == 1


def _is_group(group, pbits, qbits):
    p, q, g = group
    return (p.bit_length() == pbits and q.bit_length() == qbits and (p - 1) % q == 0 and g != 1
            and pow(g, q, p) == 1 and numbers.is_probable_prime(p) and numbers.is_probable_prime(q))


def test_openssl_makes_the_groups_of_its_sizes():
    for pbits, qbits in ((1024, 160), (2048, 256)):
        group = numbers._openssl_group(pbits, qbits)
        assert group is not None and _is_group(group, pbits, qbits)
        assert _is_group(numbers.schnorr_group(pbits, qbits), pbits, qbits)
    assert numbers._openssl_group(512, 160) is None  # not a size OpenSSL makes: searched here
    assert numbers._openssl_group(2048, 160) is None


def test_a_group_from_openssl_that_does_not_check_out_is_not_used(monkeypatch):
    class Numbers:
        p, q, g = 2 ** 1023 + 1, 2 ** 159 + 1, 1  # g = 1 and no primes: never a group

    class Parameters:
        @staticmethod
        def parameter_numbers():
            return Numbers

    # a stand-in for the dsa module (cryptography 51 wraps it in a module of deprecated attributes)
    monkeypatch.setattr(numbers, 'dsa', types.SimpleNamespace(generate_parameters=lambda bits: Parameters))
    assert numbers._openssl_group(1024, 160) is None
    assert _is_group(numbers.schnorr_group(1024, 160), 1024, 160)  # searched instead


def test_the_dsa_deprecation_is_not_passed_on():
    """cryptography 51 warns that DSA goes; a group is made either way, so nothing reaches the module's output."""
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert _is_group(numbers.schnorr_group(1024, 160), 1024, 160)
    assert [str(warning.message) for warning in caught] == []


@pytest.mark.parametrize('gone', ['refused by the backend', 'removed from cryptography'])
def test_groups_are_made_when_dsa_is_gone(monkeypatch, gone):
    if gone == 'removed from cryptography':
        monkeypatch.setattr(numbers, 'dsa', None)
    else:
        from cryptography.exceptions import UnsupportedAlgorithm, _Reasons

        def refuse(bits):
            raise UnsupportedAlgorithm('DSA is not supported by this backend', _Reasons.UNSUPPORTED_PUBLIC_KEY_ALGORITHM)
        monkeypatch.setattr(numbers, 'dsa', types.SimpleNamespace(generate_parameters=refuse))
    assert numbers._openssl_group(1024, 160) is None
    assert _is_group(numbers.schnorr_group(1024, 160), 1024, 160)
