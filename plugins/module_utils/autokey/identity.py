# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""IFF, GQ and MV group keys in the layouts ntpd 4.2.8p15 verifies (and GQ in the layout of ntpd 4.2.6).

ntpd 4.2.8p15 built with OpenSSL >= 1.1 reads the scheme values from these
fields (see crypto_bob/_iff, crypto_bob2/_gq, crypto_bob3/_mv):

=====  ===========================================  =============================================
       server key (``<s>key_<group>``)              client params (``<s>par_<group>``)
=====  ===========================================  =============================================
IFF    PKCS#8 DSA {p, q, g, priv=b}                 traditional DSA {p, q, g, pub=v, priv=1}
GQ     PKCS#8 RSA {n, e=u, d=b, p=1, q=v}           PKCS#8 RSA {n, e=1, d=b}
MV     traditional DSA {p, q, g=E, pub=ghat,        traditional DSA {p, 1, 1, pub=xhat_j,
       priv=gbar}                                   priv=xbar_j}
=====  ===========================================  =============================================

ntpd 4.2.6 reads GQ from other fields: its server key is ntp-keygen's {n, e=b, d=1, p=u, q=v}, its params
{n, e=b}; the collection writes its params as {n, e=b, d=b}, which 4.2.8 verifies too (GqKey, layout '4.2.6').

Stock ntp-keygen files store IFF params as PKCS#8 (OpenSSL then recomputes
pub = g and loses v) and GQ with e=b, d=1, so they never verify; IFF and GQ
server keys hold everything needed and are imported, MV stock files lack
values that cannot be recomputed.
"""


import hashlib
import math

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.numbers import (
    byte_length, is_probable_prime, random_below, random_coprime, random_prime, schnorr_group)
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.private_keys import PrivateKey

MVMAX = 100  # ntpd's array limit; client keys are numbered 1..n


class IdentityError(AutokeyError):
    pass


def _require(key, names, what, low=2):
    """Refuse scheme values that no generator writes (zero moduli, missing values) before any arithmetic."""
    for name in names:
        value = key.fields.get(name)
        if value is None:
            raise IdentityError('%s lacks its %s value (written as PKCS#8, which drops it?)' % (what, name))
        if value < low:
            raise IdentityError('%s has %s = %d: not a usable %s (damaged file?)' % (what, name, value, what))


def _fingerprint(*values):
    digest = hashlib.sha256()
    for value in values:
        digest.update(value.to_bytes(byte_length(value) or 1, 'big') + b'|')
    return digest.hexdigest()


def _md5_number(value):
    """ntpd's bighash(): MD5 of the minimal big-endian bytes, read back as a number."""
    return int.from_bytes(hashlib.md5(value.to_bytes(byte_length(value), 'big')).digest(), 'big')


def _bn_rand(nbytes):
    """BN_rand(len * 8, -1, 1): any value of that many bytes, odd."""
    return random_below(1 << (8 * nbytes), 0) | 1


class GroupKey:
    """What the three schemes share. Each scheme class knows its file layouts
    (`classify`), its generation, its facts and its half of ntpd's exchange (`prove`)."""

    scheme = master_kind = None
    server_container = params_container = None
    master_is_server = True  # IFF, GQ: the trusted host's master file is the server key itself

    @classmethod
    def generate_for(cls, bits, mv_keys):
        """A new key of `bits` (`mv_keys` counts only for MV)."""
        return cls.generate(bits)

    @classmethod
    def classify(cls, keys):
        """What a file's decoded blocks hold, as GroupSource arguments: {'key': ...},
        {'server': ...} or {'params': ...}. IdentityError for files that can never verify."""
        raise NotImplementedError

    def master(self):
        return [self.server_key()]

    def differs(self, bits, mv_keys):
        """How this key differs from the options (None: it does not)."""
        if self.bits != bits:
            return 'group key is %d bits, %d requested' % (self.bits, bits)
        return None

    def facts(self):
        """Public facts about the key (no secret values)."""
        return {'bits': self.bits}

    def usable_clients(self):
        """Numbers of the client keys that may be given out, None when every client shares one params file."""
        return None

    @staticmethod
    def filestamps_match(server_fstamp, params_fstamp):
        """ntpd's filestamp rule for IFF and MV: equal (else 103 bad_filestamp)."""
        return server_fstamp == params_fstamp

    @classmethod
    def exchange(cls, server_key, params, gq_public=None, server_fstamp=0, params_fstamp=0):
        """One identity exchange as ntpd 4.2.8p15 runs it: None on success, or ntpd's error text."""
        if not cls.filestamps_match(server_fstamp, params_fstamp):
            return 'bad_filestamp'
        return cls.prove(server_key, params, gq_public)

    @classmethod
    def prove(cls, server_key, params, gq_public=None):
        raise NotImplementedError


class IffKey(GroupKey):
    """Schnorr (IFF): group key b, public key v = g^(q-b) mod p."""

    scheme = 'iff'
    master_kind = 'IFFkey'
    server_container, params_container = 'pkcs8', 'traditional'

    def __init__(self, p, q, g, b):
        self.p, self.q, self.g, self.b = p, q, g, b
        self.v = pow(g, q - b, p)

    @classmethod
    def generate(cls, bits=2048, qbits=None):
        if bits < 512:
            raise IdentityError('IFF modulus must be at least 512 bits')
        qbits = qbits or (160 if bits < 2048 else 256)
        p, q, g = schnorr_group(bits, qbits)
        return cls(p, q, g, random_below(q, 2))

    @classmethod
    def from_private_key(cls, key):
        if key.algorithm != 'DSA':
            raise IdentityError('an IFF key is a DSA structure, found %s' % key.algorithm)
        if key['priv'] == 1:
            raise IdentityError('this is an IFF client params file (priv = 1): it holds no group key. '
                                'Import the IFF server key (ntpkey_IFFkey_<group> or an ntp-keygen -q export)')
        _require(key, ('p', 'q', 'g'), 'IFF group key')
        if pow(key['g'], key['q'], key['p']) != 1 or not 1 < key['priv'] < key['q']:
            raise IdentityError('the DSA values do not form an IFF group key (g^q != 1 or b out of range)')
        return cls(key['p'], key['q'], key['g'], key['priv'])

    @classmethod
    def classify(cls, keys):
        first = keys[0]
        if first.algorithm == 'DSA' and first['priv'] == 1:
            if 'pub' not in first.fields:
                raise IdentityError(
                    'this IFF params file was written by ntp-keygen -e: PKCS#8 dropped the public value v, so '
                    'it can never verify on ntpd 4.2.8. Import the IFF server key (ntpkey_IFFkey_<group> or an '
                    'ntp-keygen -q export) and let this collection write the params')
            return {'params': first}
        return {'key': cls.from_private_key(first)}

    @property
    def bits(self):
        return self.p.bit_length()

    def server_key(self):
        return PrivateKey('DSA', p=self.p, q=self.q, g=self.g, priv=self.b)

    def params(self, client=None):
        return PrivateKey('DSA', p=self.p, q=self.q, g=self.g, pub=self.v, priv=1)

    def public_fingerprint(self):
        return _fingerprint(self.p, self.q, self.g, self.v)

    @classmethod
    def prove(cls, server_key, params, gq_public=None):  # crypto_alice / crypto_bob / crypto_iff
        p, q, g = params['p'], params['q'], params['g']
        pub = params.fields.get('pub', pow(g, params['priv'], p))
        nbytes = byte_length(q)
        r = _bn_rand(nbytes) % q
        sp, sq, sg, b = server_key['p'], server_key['q'], server_key['g'], server_key['priv']
        k = _bn_rand(nbytes)
        y = (k + b * r) % sq
        s = _md5_number(pow(sg, k, sp))
        ok = _md5_number((pow(pub, r, p) * pow(g, y, p)) % p) == s
        return None if ok else 'crypto_iff: identity not verified'


class GqKey(GroupKey):
    """Guillou-Quisquater: modulus n, group key b, private u, public v = (u^-1)^b mod n."""

    scheme = 'gq'
    master_kind = 'GQkey'
    server_container, params_container = 'pkcs8', 'pkcs8'
    MAX_BITS = 1016  # v must fit the 127-byte subjectKeyIdentifier ntpd parses

    def __init__(self, n, b, u, v):
        self.n, self.b, self.u, self.v = n, b, u, v
        if (pow(u, b, n) * v) % n != 1:
            raise IdentityError('the RSA values do not form a GQ group key (u^b * v != 1 mod n)')

    @classmethod
    def generate(cls, bits=1016):
        if not 512 <= bits <= cls.MAX_BITS:
            raise IdentityError('GQ modulus must be 512 to %d bits: ntpd reads the public key from a '
                                'subjectKeyIdentifier of at most 127 bytes' % cls.MAX_BITS)
        while True:
            p, q = random_prime(bits // 2, top_two=True), random_prime(bits - bits // 2, top_two=True)
            if p != q:
                break
        n = p * q
        b = random_coprime(n)
        u = random_coprime(n)
        return cls(n, b, u, pow(pow(u, -1, n), b, n))

    @classmethod
    def from_private_key(cls, key):
        if key.algorithm != 'RSA':
            raise IdentityError('a GQ key is an RSA structure, found %s' % key.algorithm)
        if key['p'] == 1 and key['q'] == 1:
            raise IdentityError('this is a GQ client params file: it holds no private key. '
                                'Import the GQ server key (ntpkey_GQkey_<group> or an ntp-keygen -q export)')
        _require(key, ('n',), 'GQ group key', low=3)
        if key['d'] == 1:  # ntp-keygen layout: e = b, p = u, q = v
            return cls(key['n'], key['e'], key['p'], key['q'])
        return cls(key['n'], key['d'], key['e'], key['q'])  # this collection's layout

    @classmethod
    def classify(cls, keys):
        first = keys[0]
        if first.algorithm == 'RSA' and first['p'] == 1 and first['q'] == 1:
            _require(first, ('n',), 'GQ params', low=3)
            b = first['d'] if first['e'] == 1 else first['e']  # ours: d = b; ntp-keygen: e = b
            fields = dict(first.fields, e=1, d=b)
            return {'params': PrivateKey('RSA', **fields)}
        return {'key': cls.from_private_key(first)}

    @property
    def bits(self):
        return self.n.bit_length()

    def facts(self):
        return dict(GroupKey.facts(self), gq_public_key='%x' % self.v)

    @staticmethod
    def filestamps_match(server_fstamp, params_fstamp):
        """GQ: the server key may be newer than the params."""
        return server_fstamp >= params_fstamp

    @classmethod
    def prove(cls, server_key, params, gq_public=None):
        # crypto_alice2 / crypto_bob2 (E as u, D as b) / crypto_gq (D as b)
        if gq_public is None:
            return 'crypto_gq: missing group key'
        n = params['n']
        r = _bn_rand(byte_length(n)) % n
        sn, u, b = server_key['n'], server_key['e'], server_key['d']
        k = _bn_rand(byte_length(r)) % sn
        y = (k * pow(u, r, sn)) % sn
        s = _md5_number(pow(k, b, sn))
        ok = _md5_number((pow(gq_public, r, n) * pow(y, params['d'], n)) % n) == s
        return None if ok else 'crypto_gq: identity not verified'

    def server_key(self, layout=None):
        if layout == '4.2.6':  # crypto_bob2 of 4.2.6 reads u from P and b from E (ntp-keygen's own layout)
            return PrivateKey('RSA', n=self.n, e=self.b, d=1, p=self.u, q=self.v, dp=1, dq=1, qinv=1)
        return PrivateKey('RSA', n=self.n, e=self.u, d=self.b, p=1, q=self.v, dp=1, dq=1, qinv=1)

    def params(self, client=None, layout=None):
        return self.params_in_layout(PrivateKey('RSA', n=self.n, e=1, d=self.b, p=1, q=1, dp=1, dq=1, qinv=1), layout)

    @staticmethod
    def params_in_layout(params, layout=None):
        """GQ params (this collection's layout, D = b) as ntpd `layout` reads them: crypto_gq of 4.2.6 reads b
        from E, so there E = b too (4.2.8 reads D and ignores E: such params verify on both)."""
        if layout == '4.2.6':
            return PrivateKey('RSA', **dict(params.fields, e=params['d']))
        return params

    def public_fingerprint(self):
        return _fingerprint(self.n, self.b, self.v)


def _whole_bytes(bits):
    """The MV modulus size for `bits`: whole bytes (a multiple of 8 bits, at least 8 bits per client key).

    ntpd 4.2.8's MV client (crypto_alice3) sends its challenge r < p as BN_bn2bin(r) in a buffer of
    BN_num_bytes(p) bytes, and the server (crypto_bob3) reads the whole buffer back. When r has fewer
    bytes than p the server reads r followed by whatever the buffer held, and the exchange fails (10e
    bad_or_missing_group key). That happens for about 2^(8(len-1))/p of the challenges: most of them
    when p has a single bit in its top byte (a 513-bit p), at most 1 in 128 when p fills its top byte.
    """
    return bits - bits % 8


def _mv_prime_widths(bits, n):
    """Bits of each of the n primes: together one bit less than the modulus, so that p = 2 * prod + 1 has
    exactly _whole_bytes(bits) bits whenever the product reaches its top bit (primes with their two top bits
    set make that likely)."""
    total = _whole_bytes(bits) - 1
    return [total // n + (1 if i < total % n else 0) for i in range(n)]


class MvKey(GroupKey):
    """Mu-Varadharajan: n client keys, one server key for the current revocation set.

    Client key j is revoked when its prime s_j divides out of the enabling key
    s = q / prod(s_j revoked). At least one key is always revoked (with none,
    E = A^q = 1 and the exchange proves nothing), so `generate(keys=n)`
    makes n usable client keys plus one spare that is revoked from the start.
    """

    scheme = 'mv'
    master_kind = 'MVta'
    server_container, params_container = 'traditional', 'traditional'
    master_is_server = False  # the MVta holds the TA values; the server key is a file of its own

    def __init__(self, p, q, g, a, b, primes, xbar, xhat, revoked):
        self.p, self.q, self.g, self.a, self.b = p, q, g, a, b
        self.primes, self.xbar, self.xhat = list(primes), list(xbar), list(xhat)
        self.revoked = sorted(set(revoked))
        if not self.revoked:
            raise IdentityError('MV needs at least one revoked client key')
        if not all(1 <= j <= len(self.primes) for j in self.revoked):
            raise IdentityError('MV revoked key numbers must be between 1 and %d' % len(self.primes))
        s = q
        for j in self.revoked:
            s //= self.primes[j - 1]
        self.e = pow(a, s, p)
        self.gbar = pow(g, s, p)
        self.ghat = pow(g, (s * b) % q, p)

    @classmethod
    def generate(cls, bits=512, keys=4):
        n = keys + 1
        if not 1 <= keys < MVMAX - 2:
            raise IdentityError('MV supports 1 to %d client keys' % (MVMAX - 3))
        if bits // n < 16:
            raise IdentityError('MV needs at least 16 bits per client key: raise the size or lower the key count')
        widths, pbits = _mv_prime_widths(bits, n), _whole_bytes(bits)
        primes = []
        while len(primes) < n:
            candidate = random_prime(widths[len(primes)], top_two=True)
            if candidate not in primes:
                primes.append(candidate)
        replace = 0
        while True:
            q = math.prod(primes)
            p = 2 * q + 1
            if p.bit_length() == pbits and is_probable_prime(p):
                break
            while True:  # replace one prime at a time, as ntp-keygen does
                candidate = random_prime(widths[replace % n], top_two=True)
                if candidate not in primes:
                    primes[replace % n] = candidate
                    replace += 1
                    break
        while True:  # generator with gcd(g, p-1) = 1 and g^q = 1
            g = random_below(p, 2)
            if math.gcd(g, p - 1) == 1 and pow(g, q, p) == 1:
                break
        roots = []
        for dummy in range(n):
            roots.append(random_coprime(q))
        # Master key A = g^(sum_j sum_{i<n} a_i x_j^i) = g^(-sum_j x_j^n).
        powers = [pow(x, n, q) for x in roots]
        a = pow(g, (-sum(powers)) % q, p)
        b = random_coprime(q)
        b_inv = pow(b, -1, q)
        xbar = [(b_inv * (sum(powers) - powers[j])) % q for j in range(n)]
        xhat = [(powers[j] * ((q + primes[j]) // primes[j])) % q for j in range(n)]
        return cls(p, q, g, a, b, primes, xbar, xhat, revoked=[n])

    @classmethod
    def from_master(cls, keys):
        """Read this collection's MVta: TA block, server block, then client blocks."""
        if len(keys) < 3 or any(k.algorithm != 'DSA' for k in keys):
            raise IdentityError('an MV trusted-authority file has at least three DSA blocks')
        if len(keys) > MVMAX + 2:
            raise IdentityError('an MV trusted-authority file has at most %d client keys' % MVMAX)
        ta = keys[0]
        if any('pub' not in k.fields for k in keys):
            raise IdentityError(
                'this MV file was written by ntp-keygen: PKCS#8 dropped the group key b and the client '
                'values xhat, which cannot be recomputed, so it can never verify on ntpd 4.2.8. '
                'Generate the MV group key with ntp.autokey.group_keys instead')
        _require(ta, ('p', 'q', 'g'), 'MV group key', low=3)
        for client in keys[2:]:
            _require(client, ('q',), 'MV client key')
        p, q = ta['p'], ta['q']
        clients = keys[2:]
        primes = [c['q'] for c in clients]
        key = cls(p, q, ta['g'], ta['priv'], ta['pub'], primes,
                  [c['priv'] for c in clients], [c['pub'] for c in clients], revoked=[len(clients)])
        server = keys[1]
        revoked = [j for j in range(1, len(clients) + 1)
                   if (pow(server['priv'], key.xhat[j - 1], p) * pow(server['pub'], key.xbar[j - 1], p) * server['g']) % p != 1]
        return key.with_revoked(revoked)

    @classmethod
    def generate_for(cls, bits, mv_keys):
        return cls.generate(bits, mv_keys)

    @classmethod
    def classify(cls, keys):
        if len(keys) >= 3:
            return {'key': cls.from_master(keys)}
        first = keys[0]
        if first.algorithm != 'DSA' or 'pub' not in first.fields:
            raise IdentityError(
                'this MV file was written by ntp-keygen: its PKCS#8 blocks lost values that cannot be recomputed, '
                'so it can never verify on ntpd 4.2.8. Generate MV with ntp.autokey.group_keys')
        _require(first, ('p',), 'MV key', low=3)
        if first['q'] == 1 and first['g'] == 1:
            return {'params': first}
        return {'server': first}

    def with_revoked(self, revoked):
        return MvKey(self.p, self.q, self.g, self.a, self.b, self.primes, self.xbar, self.xhat, revoked)

    @property
    def bits(self):
        return self.p.bit_length()

    @property
    def keys(self):
        return len(self.primes)

    @property
    def prime_bits(self):
        return self.primes[0].bit_length()

    def differs(self, bits, mv_keys):
        if self.keys != mv_keys + 1:
            return 'MV group has %d client keys, %d requested' % (self.keys - 1, mv_keys)
        if self.bits % 8:
            top = self.p >> (8 * ((self.bits - 1) // 8))
            return ('MV modulus of %d bits has 0x%02x in its top byte: ntpd 4.2.8 fails about 1 in %d of its identity '
                    'exchanges with it (10e, its challenge loses leading zero bytes); a modulus of whole bytes fixes '
                    'it' % (self.bits, top, top))
        if self.bits == _whole_bytes(bits):
            return None
        return 'MV group key is %d bits, %d requested' % (self.bits, _whole_bytes(bits))

    def facts(self):
        return dict(GroupKey.facts(self), mv_keys=self.keys - 1, mv_revoked=self.revoked)

    def usable_clients(self):
        return [j for j in range(1, self.keys + 1) if j not in self.revoked]

    def master(self):
        blocks = [PrivateKey('DSA', p=self.p, q=self.q, g=self.g, pub=self.b, priv=self.a), self.server_key()]
        for j in range(self.keys):
            blocks.append(PrivateKey('DSA', p=self.p, q=self.primes[j], g=1, pub=self.xhat[j], priv=self.xbar[j]))
        return blocks

    def server_key(self):
        return PrivateKey('DSA', p=self.p, q=self.q, g=self.e, pub=self.ghat, priv=self.gbar)

    def params(self, client=1):
        if not 1 <= client <= self.keys:
            raise IdentityError('MV client key %d does not exist (1 to %d)' % (client, self.keys))
        if client in self.revoked:
            raise IdentityError('MV client key %d is revoked' % client)
        return PrivateKey('DSA', p=self.p, q=1, g=1, pub=self.xhat[client - 1], priv=self.xbar[client - 1])

    def public_fingerprint(self):
        return _fingerprint(self.p, self.e, self.gbar, self.ghat)

    @classmethod
    def prove(cls, server_key, params, gq_public=None):  # crypto_alice3 / crypto_bob3 / crypto_mv
        p = params['p']
        pub = params.fields.get('pub', pow(params['g'], params['priv'], p))
        r = _bn_rand(byte_length(p)) % p
        sp, sq = server_key['p'], server_key['q']
        spub = server_key.fields.get('pub', pow(server_key['g'], server_key['priv'], sp))
        while True:
            k = random_below(sq, 0)
            if math.gcd(k, sq) == 1:
                break
        ep = (pow(server_key['g'], k, sp) * r) % sp
        eq, eg = pow(server_key['priv'], k, sp), pow(spub, k, sp)
        ok = (pow(eq, pub, p) * pow(eg, params['priv'], p) * ep) % p == r
        return None if ok else 'crypto_mv: identity not verified'


SCHEMES = {'iff': IffKey, 'gq': GqKey, 'mv': MvKey}


def exchange(scheme, server_key, params, gq_public=None, server_fstamp=0, params_fstamp=0):
    """One identity exchange computed exactly as ntpd 4.2.8p15 computes it.

    `server_key` and `params` are PrivateKey structures as OpenSSL returns them
    on load (a PKCS#8 DSA key has pub = g^priv). Returns None on success or
    ntpd's error text.
    """
    if scheme not in SCHEMES:
        raise IdentityError('unknown identity scheme %r' % scheme)
    return SCHEMES[scheme].exchange(server_key, params, gq_public, server_fstamp, params_fstamp)


def as_loaded(key, container):
    """What OpenSSL's PEM_read_PrivateKey hands ntpd for a key in `container`:
    PKCS#8 stores no DSA public value, so OpenSSL recomputes pub = g^priv."""
    if key.algorithm == 'DSA' and container == 'pkcs8':
        fields = dict(key.fields)
        fields['pub'] = pow(key['g'], key['priv'], key['p'])
        return PrivateKey('DSA', **fields)
    return key
