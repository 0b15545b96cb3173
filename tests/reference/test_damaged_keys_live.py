# SPDX-License-Identifier: GPL-3.0-or-later
"""A host key damaged in the ways that once passed as fine: ntpd 4.2.8p15 (OpenSSL 1.1.1) will not start on it,
and host_keys refuses it before any restart (partial_idempotence: fails naming the file, nothing changed;
full_idempotence: replaces it, and ntpd starts on the replacement)."""

import os

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import der, envelope
from ansible_collections.ntp.autokey.plugins.module_utils.autokey import private_keys as pk
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.host_material import HostMaterial
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.material import MaterialError

import ntplab
from material import host_keys

PASSWORD = 'thpw'


def _host_key_file(keysdir):
    return os.path.join(keysdir, os.readlink(os.path.join(keysdir, 'ntpkey_host_th')))


def _rewrite(path, new_der):
    with open(path) as handle:
        text = handle.read()
    head = text[:text.index('-----BEGIN ')]
    with open(path, 'w') as handle:
        handle.write(head + envelope.pem('ENCRYPTED PRIVATE KEY', new_der))


def _encrypted_der(path):
    with open(path) as handle:
        return envelope.pem_blocks(handle.read())[0].der


def flip_iv_byte(path):
    """One bit of the CBC IV: only the first plaintext block changes, the padding still checks out."""
    data = _encrypted_der(path)
    iv = der.decode(data).children()[0].children()[1].children()[1].children()[1].content
    damaged = bytearray(data)
    damaged[data.index(iv) + 3] ^= 0x01
    _rewrite(path, bytes(damaged))


def rsa_version_1(path):
    """The RSAPrivateKey inside the PKCS#8 envelope says version 1 (two-prime keys are version 0)."""
    info = pk.decrypt_pkcs8(_encrypted_der(path), PASSWORD)
    version, algorithm, inner = der.decode(info).children()
    fields = der.integers(der.decode(inner.content))
    rebuilt = der.sequence(version.raw, algorithm.raw,
                           der.octet_string(der.sequence(der.integer(1), *[der.integer(v) for v in fields[1:]])))
    _rewrite(path, pk.encrypt_pkcs8(rebuilt, PASSWORD, iterations=1000))


@pytest.mark.parametrize('damage', [flip_iv_byte, rsa_version_1], ids=['flipped-iv-byte', 'rsa-version-1'])
def test_damaged_host_key_refused_by_ntpd_and_by_host_keys(lab, damage):
    host = lab.host('th')
    host_keys(host.host_keysdir, 'th', PASSWORD, group='lab', trusted=True)
    damage(_host_key_file(host.host_keysdir))
    host.write_conf(['crypto host th ident lab pw %s' % PASSWORD])

    # the referee: ntpd cannot load it and exits
    host.start()
    exited, dummy = ntplab.wait_for(lambda: not host.running(), 15, 0.2)
    assert exited, 'ntpd runs on the damaged key:\n' + host.log()

    # the module: refused with the file named, nothing changed
    before = {name: os.path.getmtime(os.path.join(host.host_keysdir, name)) for name in os.listdir(host.host_keysdir)}
    material = HostMaterial(KeysDir(host.host_keysdir), 'th', PASSWORD, group='lab', trusted=True)
    with pytest.raises(MaterialError) as error:
        material.plan()
    assert 'ntpkey_host_th' in str(error.value) and 'full_idempotence' in str(error.value)
    assert before == {name: os.path.getmtime(os.path.join(host.host_keysdir, name))
                      for name in os.listdir(host.host_keysdir)}

    # full_idempotence replaces it, and ntpd starts on the new key
    material = HostMaterial(KeysDir(host.host_keysdir), 'th', PASSWORD, group='lab', trusted=True,
                            regenerate='full_idempotence')
    assert 'host' in material.plan()
    material.apply()
    host.start()
    line, dummy = ntplab.wait_for(lambda: 'setup 0x' in host.cryptostats(), 15, 0.2)
    assert line and host.running(), 'ntpd did not start on the replaced key:\n' + host.log()
