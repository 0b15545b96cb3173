# SPDX-License-Identifier: GPL-3.0-or-later
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

    monkeypatch.setattr(numbers.dsa, 'generate_parameters', lambda bits: Parameters)
    assert numbers._openssl_group(1024, 160) is None
    assert _is_group(numbers.schnorr_group(1024, 160), 1024, 160)  # searched instead
