# SPDX-License-Identifier: GPL-3.0-or-later
"""Stock ntp-keygen and this collection read each other's files (the ntp-keygen of AUTOKEY_NTPD_BUILD)."""

import os
import shutil
import uuid

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import identity
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.group_material import read_source
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.host_material import HostMaterial, MaterialError

import ntplab
from material import group_master, host_keys, ntp_keygen_iff_default_fails, stock_iff_flags


def on_disk(inside):
    """A path inside the build's rootfs, as the machine sees it."""
    return ntplab.in_rootfs(inside, ntplab.build().rootfs)


@pytest.fixture
def workdir():
    inside = '/srv/autokey-keygen/%s' % uuid.uuid4().hex[:8]
    os.makedirs(on_disk(inside))
    yield inside
    shutil.rmtree(on_disk(inside))


@pytest.mark.parametrize('scheme', ['iff', 'gq'])
def test_ntp_keygen_reads_our_keys_and_exports_them(workdir, scheme):
    path = on_disk(workdir)
    master = group_master(path, scheme, 'thpw', size=512)
    gq_public = master.material.key.v if scheme == 'gq' else None
    host_keys(path, 'th', 'thpw', group='lab', trusted=True, signature='RSA-MD5', gq_public=gq_public)
    run = ntplab.keygen(workdir, '-q', 'exportpw', '-s', 'th@lab', env={'NTP_KEYGEN_PASSWORD': 'thpw'})
    assert run.returncode == 0 and 'Corrupt' not in run.stderr, run.stderr
    # ntp-keygen re-signs a certificate on every run: it used our host key, and made none of its own
    assert [n for n in os.listdir(path) if n.startswith('ntpkey_RSAhost_')] == [os.readlink(path + '/ntpkey_host_th')]
    rewritten = HostMaterial(KeysDir(path), 'th', 'thpw', group='lab', trusted=True, signature='RSA-MD5',
                             gq_public=gq_public)  # GQ: ntp-keygen put v from our key's q field in the SKI
    facts = rewritten.describe()
    assert os.path.basename(facts['certificate']) in run.stderr  # ntp-keygen's own new certificate
    assert rewritten.plan() == {}  # its certificate matches our key, subject and trust
    exported = read_source(scheme, run.stdout, 'exportpw')  # ntp-keygen decrypted ours and re-encrypted it
    assert exported.key.public_fingerprint() == master.material.key.public_fingerprint()
    assert exported.filestamp == master.material.filestamp


def test_ntp_keygen_refuses_our_key_with_a_wrong_password(workdir):
    host_keys(on_disk(workdir), 'th', 'thpw', group='lab', trusted=True)
    run = ntplab.keygen(workdir, '-s', 'th@lab', env={'NTP_KEYGEN_PASSWORD': 'notthepw'})
    assert run.returncode != 0 and 'Corrupt file' in run.stderr + run.stdout


@pytest.mark.parametrize('signature', ['RSA-MD5', 'RSA-SHA1', 'RSA-SHA256', 'RSA-RIPEMD160'])
def test_we_adopt_fresh_ntp_keygen_host_material(workdir, signature):
    run = ntplab.keygen(workdir, '-T', '-S', 'RSA', '-m', '1024', '-c', signature, '-s', 'th@lab',
                        env={'NTP_KEYGEN_PASSWORD': 'thpw'})
    assert run.returncode == 0, run.stderr
    keysdir = KeysDir(on_disk(workdir))
    adopted = HostMaterial(keysdir, 'th', 'thpw', group='lab', trusted=True, sign_key=True, size=1024,
                           signature=signature)
    assert adopted.plan() == {}  # keys readable, certificate fields as ntp-keygen wrote them
    facts = adopted.describe()
    assert facts['signature'] == signature and facts['trusted']
    with pytest.raises(MaterialError, match='bad decrypt'):
        HostMaterial(keysdir, 'th', 'wrong', group='lab').plan()


def test_ntp_keygen_default_iff_group(workdir):
    env = {'NTP_KEYGEN_PASSWORD': 'thpw'}
    run = ntplab.keygen(workdir, '-T', '-I', '-s', 'th@lab', env=env)
    made = [n for n in os.listdir(on_disk(workdir)) if n.startswith('ntpkey_IFFkey_lab.')]
    assert run.returncode == 0, run.stderr
    if ntp_keygen_iff_default_fails(ntplab.build()):
        assert made == [], 'ntp-keygen 4.2.8p15 on OpenSSL 3 made an IFF group at its default modulus: %s' % made
    else:
        assert len(made) == 1, run.stderr


@pytest.mark.parametrize('scheme, flags', [('iff', ['-I']), ('gq', ['-G', '-b', '512'])])
def test_we_import_fresh_ntp_keygen_group_keys(workdir, scheme, flags):
    env = {'NTP_KEYGEN_PASSWORD': 'thpw'}
    if scheme == 'iff':
        flags = stock_iff_flags(ntplab.build())
    assert ntplab.keygen(workdir, '-T', '-s', 'th@lab', *flags, env=env).returncode == 0
    path = on_disk(workdir)
    kind = identity.SCHEMES[scheme].master_kind
    stamped = [n for n in os.listdir(path) if n.startswith('ntpkey_%s_lab.' % kind)][0]
    os.symlink(stamped, os.path.join(path, 'ntpkey_%skey_lab' % scheme))
    export = ntplab.keygen(workdir, '-q', 'exportpw', '-s', 'th@lab', env=env).stdout
    with open(os.path.join(path, stamped)) as handle:
        from_file = read_source(scheme, handle.read(), 'thpw')
    from_export = read_source(scheme, export, 'exportpw')
    assert from_file.key.public_fingerprint() == from_export.key.public_fingerprint()
    params = from_file.client_params()
    server = identity.as_loaded(from_export.server_key(), 'pkcs8')
    gq = from_file.key.v if scheme == 'gq' else None
    assert all(identity.exchange(scheme, server, params, gq) is None for dummy in range(10))


def test_we_refuse_fresh_ntp_keygen_mv_files(workdir):
    env = {'NTP_KEYGEN_PASSWORD': 'thpw'}
    assert ntplab.keygen(workdir, '-T', '-V', '4', '-s', 'th@lab', env=env).returncode == 0
    path = on_disk(workdir)
    stamped = [n for n in os.listdir(path) if n.startswith('ntpkey_MVta_lab.')][0]
    with open(os.path.join(path, stamped)) as handle:
        with pytest.raises(MaterialError, match='cannot be recomputed'):
            read_source('mv', handle.read(), 'thpw')
