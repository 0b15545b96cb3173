# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Number theory for the identity schemes: random values and primes.

`cryptography` generates no DSA parameters or RSA moduli of some sizes ntpd's
identity schemes need (512-bit, or primes of b/n bits for MV), so primes are
found here with Miller-Rabin over the system CSPRNG. For the IFF group sizes
OpenSSL's DSA parameter generation supports, schnorr_group takes its group:
the same kind of group (q prime, q | p-1, g of order q), 5 to 10 times faster.
"""


import math
import secrets
import warnings

try:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import dsa
    from cryptography.utils import CryptographyDeprecationWarning
except ImportError:  # no cryptography (module_support reports it), or one without DSA: groups are searched here
    dsa = None

# p bits -> q bits of the groups OpenSSL's DSA parameter generation makes (cryptography >= 3.3.2)
OPENSSL_DSA_SIZES = {1024: 160, 2048: 256, 3072: 256}

_SMALL_PRIMES = [p for p in range(3, 2000, 2) if all(p % d for d in range(3, int(p ** 0.5) + 1, 2))]


def random_below(limit, low=1):
    """Uniform integer in [low, limit)."""
    return low + secrets.randbelow(limit - low)


def random_coprime(modulus):
    """Uniform value in [2, modulus) with gcd(value, modulus) == 1."""
    while True:
        value = random_below(modulus, 2)
        if math.gcd(value, modulus) == 1:
            return value


def is_probable_prime(n, rounds=40):
    """Miller-Rabin; error probability below 4**-rounds for random input."""
    if n < 2:
        return False
    if n in (2, 3):
        return True
    if n % 2 == 0:
        return False
    for p in _SMALL_PRIMES:
        if n == p:
            return True
        if n % p == 0:
            return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for dummy in range(rounds):
        x = pow(random_below(n - 1, 2), d, n)
        if x in (1, n - 1):
            continue
        for dummy in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def random_prime(bits, top_two=False):
    """A random prime of exactly `bits` bits (two top bits set if asked,
    so that the product of two such primes has 2*bits bits)."""
    if bits < 16:
        raise ValueError('primes below 16 bits are not supported')
    top = 3 << (bits - 2) if top_two else 1 << (bits - 1)
    while True:
        candidate = secrets.randbits(bits) | top | 1
        if is_probable_prime(candidate):
            return candidate


def schnorr_group(pbits, qbits):
    """(p, q, g): p prime of pbits, q prime of qbits dividing p-1, g of order q."""
    group = _openssl_group(pbits, qbits)
    return group if group else _searched_group(pbits, qbits)


def _openssl_group(pbits, qbits):
    """OpenSSL's DSA parameters when it makes groups of these sizes and the result checks out, else None."""
    if dsa is None or OPENSSL_DSA_SIZES.get(pbits) != qbits:
        return None
    try:
        with warnings.catch_warnings():
            # cryptography 51 deprecates DSA; when it goes (or a backend refuses it, as in FIPS mode) the
            # group is searched here instead, so its warning tells an operator nothing to act on
            warnings.simplefilter('ignore', CryptographyDeprecationWarning)
            numbers = dsa.generate_parameters(pbits).parameter_numbers()
    except (UnsupportedAlgorithm, ValueError):
        return None
    p, q, g = numbers.p, numbers.q, numbers.g
    # OpenSSL tested p and q as FIPS 186-4 asks; a few rounds here only catch a broken backend cheaply
    if (p.bit_length() == pbits and q.bit_length() == qbits and (p - 1) % q == 0 and 1 < g < p
            and pow(g, q, p) == 1 and is_probable_prime(q) and is_probable_prime(p, rounds=4)):
        return p, q, g
    return None


def _searched_group(pbits, qbits):
    q = random_prime(qbits)
    low, high = 1 << (pbits - 1), 1 << pbits
    while True:
        k = random_below(high // q, low // q + 1)
        p = k * q + 1
        if low <= p < high and is_probable_prime(p):
            break
    while True:
        g = pow(random_below(p - 1, 2), (p - 1) // q, p)
        if g != 1:
            return p, q, g


def byte_length(value):
    return (value.bit_length() + 7) // 8
