# SPDX-License-Identifier: GPL-3.0-or-later
"""ntpd 4.2.8p15 starts on our files: its cryptostats `setup` line shows the
scheme bits and the certificate's signature NID (crypto_setup)."""

import re

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.certificate import SIGNATURES

import ntplab
from material import group_master, host_keys

LONG_NAMES = {'RSA-MD5': 'md5WithRSAEncryption', 'RSA-SHA1': 'sha1WithRSAEncryption',
              'RSA-SHA224': 'sha224WithRSAEncryption', 'RSA-SHA256': 'sha256WithRSAEncryption',
              'RSA-SHA384': 'sha384WithRSAEncryption', 'RSA-SHA512': 'sha512WithRSAEncryption',
              'RSA-RIPEMD160': 'ripemd160WithRSA'}
SCHEME_BIT = {'iff': 0x20, 'gq': 0x40, 'mv': 0x80, None: 0}


def _setup_line(host):
    line, dummy = ntplab.wait_for(lambda: re.search(r'setup (0x[0-9a-f]+) host (\S+) (\S+)', host.cryptostats()), 15, 0.2)
    return line


CASES = [(s, 'RSA-SHA256', {}) for s in ('iff', 'gq', 'mv')] + \
        [('iff', sig, {}) for sig in sorted(SIGNATURES) if sig != 'RSA-SHA256'] + \
        [(None, 'RSA-SHA256', {'private': True}), (None, 'RSA-MD5', {'sign_key': True, 'size': 1024})]


@pytest.mark.parametrize('scheme, signature, extra', CASES,
                         ids=['%s-%s%s' % (c[0], c[1], ''.join('-' + k for k in c[2])) for c in CASES])
def test_ntpd_loads_our_material(lab, scheme, signature, extra):
    host = lab.host('th')
    kw = dict(group='lab', signature=signature, trusted=not extra.get('private'))
    kw.update(extra)
    gq_public = None
    if scheme:
        master = group_master(host.host_keysdir, scheme, 'thpw')
        gq_public = master.material.key.v if scheme == 'gq' else None
    facts = host_keys(host.host_keysdir, 'th', 'thpw', gq_public=gq_public, **kw)
    host.write_conf(['crypto host th ident lab pw thpw'])
    host.start()
    line = _setup_line(host)
    assert line, 'no setup line; ntpd log:\n' + host.log()
    flags = int(line.group(1), 16)
    nid = SIGNATURES[signature][1]
    assert flags >> 16 == nid == facts['signature_nid']
    assert flags & 0xF0 == SCHEME_BIT[scheme] | (0x10 if extra.get('private') else 0)
    assert flags & 0x01  # CRYPTO_FLAG_ENAB
    assert line.group(3) == LONG_NAMES[signature]
    stats = host.cryptostats()
    assert re.search(r'ntpkey_RSAhost_th\.\d+ mod %d' % kw.get('size', 2048), stats)
    if extra.get('sign_key'):
        assert re.search(r'ntpkey_RSAsign_th\.\d+ mod 1024', stats)
    assert host.running(), 'ntpd exited:\n' + host.log()


def test_ntpd_refuses_wrong_password(lab):
    """The failure our modules prevent: ntpd exits at start on a bad decrypt."""
    host = lab.host('th')
    host_keys(host.host_keysdir, 'th', 'thpw', group='lab', trusted=True)
    host.write_conf(['crypto host th pw wrongpw'])
    host.start()
    exited, dummy = ntplab.wait_for(lambda: not host.running(), 15, 0.2)
    assert exited
    assert 'bad decrypt' in host.log() or 'crypto_key' in host.log()
