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
