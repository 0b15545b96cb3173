# SPDX-License-Identifier: GPL-3.0-or-later
import datetime
import os
import shutil

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import certificate
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.host_material import HostMaterial, MaterialError

from helpers import FIXTURES, STOCK_PASSWORD, snapshot


def material(path, **kw):
    args = dict(group='lab', size=1024)
    args.update(kw)
    return HostMaterial(KeysDir(str(path)), args.pop('host', 'th'), args.pop('passphrase', 'pw'), **args)


def apply(path, **kw):
    m = material(path, **kw)
    reasons = m.plan()
    m.apply()
    return reasons


def test_creates_files_and_links_like_ntp_keygen(tmp_path):
    assert apply(tmp_path, trusted=True) == {'host': 'host key missing', 'cert': 'key regenerated'}
    names = sorted(os.listdir(tmp_path))
    assert names[2:] == ['ntpkey_cert_th', 'ntpkey_host_th']
    assert names[0].startswith('ntpkey_RSA-SHA256cert_th.') and names[1].startswith('ntpkey_RSAhost_th.')
    assert os.readlink(tmp_path / 'ntpkey_host_th') == names[1]
    for name in names[:2]:
        assert os.stat(tmp_path / name).st_mode & 0o777 == 0o600
    facts = material(tmp_path, trusted=True).describe()
    assert facts['trusted'] and facts['subject'] == 'th@lab' and facts['signature_nid'] == 668


def test_second_run_changes_nothing(tmp_path):
    apply(tmp_path)
    before = snapshot(tmp_path)
    m = material(tmp_path)
    assert m.plan() == {}
    assert snapshot(tmp_path) == before


def test_check_mode_plan_writes_nothing(tmp_path):
    m = material(tmp_path)
    assert m.plan()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('change, reason', [
    (dict(trusted=True), 'trusted'),
    (dict(signature='RSA-MD5'), 'signature RSA-SHA256, RSA-MD5 wanted'),
    (dict(group='other'), "subject 'th@lab', 'th@other' wanted"),
    (dict(gq_public=12345), 'GQ public key'),
])
def test_certificate_follows_options_and_keeps_the_key(tmp_path, change, reason):
    apply(tmp_path)
    key = os.readlink(tmp_path / 'ntpkey_host_th')
    reasons = apply(tmp_path, **change)
    assert list(reasons) == ['cert'] and reason in reasons['cert']
    assert os.readlink(tmp_path / 'ntpkey_host_th') == key
    assert material(tmp_path, **change).plan() == {}


def test_renewal_when_due(tmp_path):
    apply(tmp_path, lifetime=20)
    assert material(tmp_path, lifetime=20, renew_before=10).plan() == {}
    reasons = material(tmp_path, lifetime=20, renew_before=25).plan()
    assert 'expires' in reasons['cert']
    assert material(tmp_path, lifetime=20, renew_before=25, regenerate='never').plan() == {}


def test_new_certificate_gets_a_newer_filestamp(tmp_path):
    apply(tmp_path)
    old = material(tmp_path).describe()['certificate_filestamp']
    apply(tmp_path, signature='RSA-SHA1')
    facts = material(tmp_path, signature='RSA-SHA1').describe()
    assert facts['certificate_filestamp'] > old  # ntpd replaces cached certificates only by newer ones
    c = facts['not_before']
    assert datetime.datetime.fromisoformat(c) == certificate.utc_from_ntp(facts['certificate_filestamp'])


def test_backup_keeps_or_removes_replaced_files(tmp_path):
    apply(tmp_path)
    m = material(tmp_path, regenerate='always')
    m.plan()
    backups = m.apply()
    assert len(backups) == 2 and all(os.path.exists(b) for b in backups)
    m = material(tmp_path, regenerate='always', backup=False)
    m.plan()
    assert m.apply() == [] and len(os.listdir(tmp_path)) == 6  # 2 current + 2 backups + 2 links


def test_size_mismatch_ladder(tmp_path):
    apply(tmp_path)
    assert material(tmp_path, size=2048, regenerate='never').plan() == {}
    with pytest.raises(MaterialError, match='1024 bits, 2048 requested and regenerate=fail'):
        material(tmp_path, size=2048, regenerate='fail').plan()
    assert set(material(tmp_path, size=2048).plan()) == {'host', 'cert'}


def test_wrong_password_fails_and_touches_nothing(tmp_path):
    apply(tmp_path)
    before = snapshot(tmp_path)
    for regenerate in ('never', 'fail', 'partial_idempotence'):
        with pytest.raises(MaterialError, match='bad decrypt.*Check the passphrase.*Nothing was changed'):
            material(tmp_path, passphrase='wrong', regenerate=regenerate).plan()
    assert snapshot(tmp_path) == before


def test_corrupt_key_fails_unless_full_idempotence(tmp_path):
    apply(tmp_path)
    target = tmp_path / os.readlink(tmp_path / 'ntpkey_host_th')
    target.write_text(target.read_text()[:200])
    before = snapshot(tmp_path)
    with pytest.raises(MaterialError, match='ntpkey_host_th.*(truncated|incomplete)'):
        material(tmp_path).plan()
    assert snapshot(tmp_path) == before
    reasons = apply(tmp_path, regenerate='full_idempotence')
    assert reasons['host'].startswith('unreadable') and target.exists()  # kept as backup
    assert material(tmp_path).plan() == {}


def test_sign_key(tmp_path):
    assert set(apply(tmp_path, sign_key=True)) == {'host', 'sign', 'cert'}
    facts = material(tmp_path, sign_key=True).describe()
    cert_key = facts['sign_key_fingerprint']
    assert cert_key != facts['host_key_fingerprint']
    # a new host key under a separate sign key keeps the certificate
    m = material(tmp_path, sign_key=True, size=2048)
    assert set(m.plan()) == {'host', 'sign', 'cert'}
    apply(tmp_path, sign_key=True, size=2048)
    assert set(apply(tmp_path, sign_key=False, size=2048)) == {'cert'}
    assert not os.path.lexists(tmp_path / 'ntpkey_sign_th')


def test_adopts_stock_ntp_keygen_files(tmp_path):
    src = os.path.join(FIXTURES, 'ntp-keygen', 'iff')
    for name in os.listdir(src):
        if name.startswith('ntpkey_RSA'):
            shutil.copy(os.path.join(src, name), str(tmp_path))
    for name in os.listdir(str(tmp_path)):
        kind = 'host' if 'RSAhost' in name else 'cert'
        os.symlink(name, str(tmp_path / ('ntpkey_%s_th' % kind)))
    keep = material(tmp_path, passphrase=STOCK_PASSWORD, trusted=True, signature='RSA-MD5', regenerate='never')
    assert keep.plan() == {}
    upgrade = material(tmp_path, passphrase=STOCK_PASSWORD, trusted=True)
    assert set(upgrade.plan()) == {'host', 'cert'}


@pytest.mark.parametrize('kw, message', [
    (dict(size=512), 'size 512 is not supported'),
    (dict(size=8192), 'size 8192'),
    (dict(signature='RSA-MD2'), 'not one ntpd'),
    (dict(trusted=True, private=True), 'either trusted'),
    (dict(host='th@lab'), 'cannot be used by ntpd'),
])
def test_option_errors(tmp_path, kw, message):
    with pytest.raises((MaterialError, ValueError), match=message):
        material(tmp_path, **kw)


def test_rollover_replaces_older_keys_once(tmp_path):
    apply(tmp_path)
    old = os.readlink(tmp_path / 'ntpkey_host_th')
    decided = int(old.rsplit('.', 1)[1]) + 1  # the rollover was decided after the key was made
    reasons = apply(tmp_path, replace_before=decided)
    assert reasons['host'].startswith('host key filestamp') and reasons['cert'] == 'key regenerated'
    new = os.readlink(tmp_path / 'ntpkey_host_th')
    assert new != old and int(new.rsplit('.', 1)[1]) >= decided
    assert apply(tmp_path, replace_before=decided) == {}  # a rerun with the same time keeps the new key


def _stamp_certificate_later(path, seconds):
    """Line 1 of the certificate file names a filestamp later than the certificate's notBefore."""
    cert = path / os.readlink(str(path / 'ntpkey_cert_th'))
    first, rest = cert.read_text().split('\n', 1)
    stem, stamp = first.rsplit('.', 1)
    cert.write_text('%s.%d\n%s' % (stem, int(stamp) + seconds, rest))
    return cert


@pytest.mark.parametrize('regenerate, outcome', [
    ('never', 'refused'), ('fail', 'refused'), ('partial_idempotence', 'replaced')])
def test_a_certificate_older_than_its_filestamp_is_never_kept(tmp_path, regenerate, outcome):
    """ntpd refuses to start with a certificate whose notBefore is earlier than its filestamp: regenerate=never
    keeps what differs from the options, not that."""
    apply(tmp_path)
    cert = _stamp_certificate_later(tmp_path, 3600)
    before = cert.read_text()
    m = material(tmp_path, regenerate=regenerate)
    if outcome == 'refused':
        with pytest.raises(MaterialError, match='notBefore is earlier than the filestamp.*Nothing was changed'):
            m.plan()
        assert cert.read_text() == before
    else:
        assert m.plan()['cert'] == 'notBefore is earlier than the filestamp'
