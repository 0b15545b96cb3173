# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A host's own Autokey material: RSA host key, optional sign key, certificate.

`HostMaterial.plan()` decides what must change and why without writing;
`apply()` writes it. Files and links follow ntp-keygen:
ntpkey_RSAhost_<host>.<fs> <- ntpkey_host_<host>,
ntpkey_RSAsign_<host>.<fs> <- ntpkey_sign_<host>,
ntpkey_<signature>cert_<host>.<fs> <- ntpkey_cert_<host>.
"""


import datetime
import hashlib

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError:  # the modules report a missing cryptography (module_support)
    rsa = None

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import certificate
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import (
    EnvelopeError, KeyFile, file_name, link_name, pem, pem_blocks, subject_name)
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.material import (
    Loaded, Material, MaterialError, next_filestamp, read_linked)
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.private_keys import (
    PrivateKey, check_rsa, load_pem)

MIN_BITS, MAX_BITS = 1024, 4096


def rsa_from_fields(key):
    f = key.fields
    numbers = rsa.RSAPrivateNumbers(f['p'], f['q'], f['d'], f['dp'], f['dq'], f['qinv'],
                                    rsa.RSAPublicNumbers(f['e'], f['n']))
    return numbers.private_key()


def fields_from_rsa(private_key):
    n = private_key.private_numbers()
    return PrivateKey('RSA', n=n.public_numbers.n, e=n.public_numbers.e, d=n.d, p=n.p, q=n.q,
                      dp=n.dmp1, dq=n.dmq1, qinv=n.iqmp)


def public_fingerprint(public_key):
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return 'SHA256:' + hashlib.sha256(spki).hexdigest()


def decode_certificate(keyfile, path):
    blocks = [b for b in pem_blocks(keyfile.body) if b.label == 'CERTIFICATE']
    if not blocks:
        raise EnvelopeError('no CERTIFICATE block')
    return certificate.Certificate(blocks[0].der)


class HostMaterial(Material):
    def __init__(self, keysdir, host, passphrase, group=None, size=2048,
                 signature=certificate.DEFAULT_SIGNATURE, lifetime=365, trusted=False,
                 private=False, sign_key=False, gq_public=None, renew_before=30,
                 regenerate='partial_idempotence', backup=True, replace_before=None):
        Material.__init__(self, keysdir, regenerate, backup, replace_before)
        self.host = host
        self.subject = subject_name(host, group)
        self.passphrase = passphrase
        if not MIN_BITS <= size <= MAX_BITS:
            raise MaterialError('host key size %d is not supported: use %d to %d bits (smaller keys are breakable, '
                                'larger ones overflow ntpd 4.2.8 extension fields)' % (size, MIN_BITS, MAX_BITS))
        if signature not in certificate.SIGNATURES:
            raise MaterialError('signature %r is not one ntpd 4.2.8 accepts: %s'
                                % (signature, ', '.join(sorted(certificate.SIGNATURES))))
        if trusted and private:
            raise MaterialError('a certificate is either trusted (TH) or private (PC scheme), not both')
        self.size, self.signature, self.lifetime = size, signature, lifetime
        self.trusted, self.private, self.want_sign_key = trusted, private, sign_key
        self.gq_public, self.renew_before = gq_public, renew_before
        self.links = {'host': link_name('host', host), 'sign': link_name('sign', host),
                      'cert': link_name('cert', host)}
        self._plan = None
        self._loaded = {}  # link -> Loaded, so describe() and plan() decrypt each key once
        self.result = {}

    # -- reading ----------------------------------------------------------
    def _cached(self, link, reader):
        if link not in self._loaded:
            self._loaded[link] = reader(link)
        return self._loaded[link]

    def _load_key(self, link):
        return self._cached(link, self._read_key)

    def _load_cert(self):
        return self._cached(self.links['cert'], self._read_cert)

    def _read_key(self, link):
        return read_linked(self.dir, link, self._decode_key)

    def _decode_key(self, keyfile, path):
        return rsa_from_fields(check_rsa(load_pem(keyfile.body, self.passphrase)[0]))

    def _read_cert(self, link):
        return read_linked(self.dir, link, decode_certificate)

    # -- deciding ---------------------------------------------------------
    def _key_reason(self, loaded, what):
        def differs(key):
            if key.key_size != self.size:
                return '%s is %d bits, %d requested' % (what, key.key_size, self.size)
            return None
        return self.replace_reason(loaded, what, differs)

    def _cert_reason(self, cert, sign_key, regenerated):
        if cert.refused:
            return self.refused_link('certificate', cert)
        if regenerated:
            return 'key regenerated'
        if cert.name is None:
            return 'certificate missing'
        if cert.error:
            return self.mismatch('certificate unreadable (%s)' % cert.error)
        future = self.from_future('certificate', cert)
        if future:
            return future
        c = cert.value
        checks = [
            (c.subject == self.subject and c.self_signed, 'subject %r, %r wanted' % (c.subject, self.subject)),
            (c.trusted == self.trusted, 'trusted (Trust Root) is %s' % c.trusted),
            (c.private == self.private, 'private (PC) is %s' % c.private),
            (c.signature == self.signature, 'signature %s, %s wanted' % (c.signature, self.signature)),
            (c.gq_public == self.gq_public, 'GQ public key (subjectKeyIdentifier) differs'),
            (public_fingerprint(c.public_key) == public_fingerprint(sign_key.public_key()),
             'certificate key is not the sign key'),
            (c.not_before >= certificate.utc_from_ntp(cert.filestamp), 'notBefore is earlier than the filestamp'),
            (c.signature_valid(), 'self-signature does not verify'),
        ]
        for ok, reason in checks:
            if not ok:
                # never keeps what differs from the options, not what ntpd itself refuses to start with
                fatal = reason == 'notBefore is earlier than the filestamp'
                return self.mismatch(reason, self.dir.join(cert.name) if fatal else None)
        remaining = c.not_after - datetime.datetime.now(datetime.timezone.utc)
        if remaining < datetime.timedelta(days=self.renew_before) and self.regenerate != 'never':
            return 'certificate expires %s (renewal window %d days)' % (c.not_after.isoformat(), self.renew_before)
        return None

    def plan(self):
        host = self._load_key(self.links['host'])
        sign = self._load_key(self.links['sign']) if self.want_sign_key else Loaded()
        cert = self._load_cert()
        host_reason = self._key_reason(host, 'host key')
        sign_reason = self._key_reason(sign, 'sign key') if self.want_sign_key else None
        stale_sign = None if self.want_sign_key else self._stale_sign()
        # The certificate carries the sign key (the host key when there is none):
        # a new host key under a separate sign key keeps the certificate.
        signer, signer_reason = (sign, sign_reason) if self.want_sign_key else (host, host_reason)
        cert_reason = self._cert_reason(cert, signer.value, bool(signer_reason) or bool(stale_sign))
        self._plan = {'host': (host, host_reason), 'sign': (sign, sign_reason), 'cert': (cert, cert_reason),
                      'stale_sign': stale_sign}
        return dict((k, v[1]) for k, v in self._plan.items() if k != 'stale_sign' and v[1])

    def _stale_sign(self):
        """A sign-key link left while no sign key is wanted: (its entry, the file it names).
        Removed with the certificate renewed; a refused entry only under the ladder."""
        entry = self.dir.resolve(self.links['sign'])
        if entry.problem:
            self.refused_link('sign key link (no sign key wanted)',
                              Loaded(refused=entry.problem, replaceable=entry.replaceable))
            return (self.links['sign'], None)
        return (self.links['sign'], entry.name) if entry.name else None

    # -- writing ----------------------------------------------------------
    def write(self, tx):
        """Stage the planned files (Material.apply): never a new key with an old certificate."""
        if self._plan is None:
            self.plan()
        plan = self._plan
        existing = [plan[k][0].filestamp for k in ('host', 'sign', 'cert')]
        fs = next_filestamp(*existing)
        replaced = []
        keys = {}
        for kind, kind_tag in (('host', 'RSAhost'), ('sign', 'RSAsign')):
            loaded, reason = plan[kind]
            if kind == 'sign' and not self.want_sign_key:
                continue
            if reason:
                new = rsa.generate_private_key(65537, self.size)
                name = file_name(kind_tag, self.host, fs)
                tx.write(name, KeyFile(name, fs, fields_from_rsa(new).to_pkcs8_pem(self.passphrase)).text())
                tx.link(self.links[kind], name)
                replaced.append(loaded.name)
                keys[kind] = (new, name, fs)
            else:
                keys[kind] = (loaded.value, loaded.name, loaded.filestamp)
        if plan['stale_sign']:
            tx.remove(plan['stale_sign'][0])
            replaced.append(plan['stale_sign'][1])
        sign_key = keys['sign' if self.want_sign_key else 'host'][0]
        cert, cert_reason = plan['cert']
        if cert_reason:
            body = certificate.build(sign_key, self.subject, fs, self.lifetime, self.signature,
                                     self.trusted, self.private, self.gq_public)
            name = file_name('%scert' % self.signature, self.host, fs)
            tx.write(name, KeyFile(name, fs, pem('CERTIFICATE', body)).text())
            tx.link(self.links['cert'], name)
            replaced.append(cert.name)
        return replaced

    def written(self):
        self._loaded.clear()  # the files changed: describe() must read them again

    def describe(self):
        """Public facts about the current files (fingerprints, never key bytes)."""
        host = self._load_key(self.links['host'])
        cert = self._load_cert()
        facts = {'subject': self.subject,
                 'host_key': host.name and self.dir.join(host.name),
                 'host_key_filestamp': host.filestamp,
                 'host_key_fingerprint': host.value and public_fingerprint(host.value.public_key()),
                 'certificate': cert.name and self.dir.join(cert.name),
                 'certificate_filestamp': cert.filestamp}
        if cert.value:
            c = cert.value
            facts.update(certificate_fingerprint='SHA256:' + c.fingerprint(), signature=c.signature,
                         signature_nid=c.nid, trusted=c.trusted, private=c.private,
                         not_before=c.not_before.isoformat(), not_after=c.not_after.isoformat())
        if self.want_sign_key:
            sign = self._load_key(self.links['sign'])
            facts.update(sign_key=sign.name and self.dir.join(sign.name),
                         sign_key_fingerprint=sign.value and public_fingerprint(sign.value.public_key()))
        return facts

    facts = describe
