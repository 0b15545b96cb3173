# SPDX-License-Identifier: GPL-3.0-or-later
import os

from ansible_collections.ntp.autokey.plugins.modules import host_keys

from helpers import run_module, snapshot

PASSWORD = 'Vault-Secret-4711'


def args(path, **kw):
    base = dict(keysdir=str(path), host='th', group='lab', passphrase=PASSWORD, trusted=True, size=1024)
    base.update(kw)
    return base


def test_create_then_idempotent(tmp_path):
    result, raw = run_module(host_keys, args(tmp_path), diff=True)
    assert result['changed'] and result['subject'] == 'th@lab' and result['signature_nid'] == 668
    assert result['diff']['before']['host_key'] is None and result['diff']['after']['host_key']
    assert PASSWORD not in raw and 'PRIVATE KEY' not in raw
    again, dummy = run_module(host_keys, args(tmp_path))
    assert not again['changed'] and again['reasons'] == {}
    assert again['certificate_fingerprint'] == result['certificate_fingerprint']


def test_check_mode_reports_and_writes_nothing(tmp_path):
    result, dummy = run_module(host_keys, args(tmp_path), check_mode=True, diff=True)
    assert result['changed'] and 'host' in result['reasons']
    assert result['diff']['after']['pending'] == result['reasons']
    assert os.listdir(str(tmp_path)) == []
    run_module(host_keys, args(tmp_path))
    before = snapshot(tmp_path)
    result, dummy = run_module(host_keys, args(tmp_path, signature='RSA-MD5'), check_mode=True)
    assert result['changed'] and list(result['reasons']) == ['cert']
    assert snapshot(tmp_path) == before


def test_wrong_passphrase_fails_clearly(tmp_path):
    run_module(host_keys, args(tmp_path))
    before = snapshot(tmp_path)
    result, raw = run_module(host_keys, args(tmp_path, passphrase='not-it'))
    assert result['failed'] and 'ntpkey_host_th' in result['msg'] and 'passphrase' in result['msg']
    assert snapshot(tmp_path) == before and 'not-it' not in raw


def test_invalid_options_fail(tmp_path):
    result, dummy = run_module(host_keys, args(tmp_path, host='th@lab'))
    assert result['failed'] and 'cannot be used by ntpd' in result['msg']
    result, dummy = run_module(host_keys, args(tmp_path, trusted=True, private=True))
    assert result['failed'] and 'mutually exclusive' in result['msg']
    result, dummy = run_module(host_keys, args(tmp_path, gq_public_key='xyz'))
    assert result['failed'] and 'hexadecimal' in result['msg']
    result, dummy = run_module(host_keys, args(tmp_path, lifetime=30, renew_before=30))
    assert result['failed'] and 'renew_before' in result['msg']


def test_mode_0640(tmp_path):
    result, dummy = run_module(host_keys, args(tmp_path, mode='0640'))
    assert os.stat(result['host_key']).st_mode & 0o777 == 0o640


def test_rollover_time_in_the_future_is_refused(tmp_path):
    run_module(host_keys, args(tmp_path))
    before = snapshot(tmp_path)
    result, dummy = run_module(host_keys, dict(args(tmp_path), replace_before='2999-01-01'))
    assert result['failed'] and 'lies in the future' in result['msg'] and snapshot(tmp_path) == before
    result, dummy = run_module(host_keys, dict(args(tmp_path), replace_before='2000-01-01T00:00:00Z'))
    assert not result.get('failed') and not result['changed']


def test_path_is_an_alias_of_keysdir(tmp_path):
    result, dummy = run_module(host_keys, dict(path=str(tmp_path), host='th', group='lab', passphrase=PASSWORD,
                                               size=1024))
    assert result['changed'] and result['host_key'].startswith(str(tmp_path) + '/ntpkey_RSAhost_th.')


def test_passwords_and_names_ntpd_cannot_read_back_are_refused_before_anything_is_written(tmp_path):
    for bad in ('Vault#Secret', 'Vault Secret', 'Vault-Secret\nserver 203.0.113.66 prefer'):
        result, raw = run_module(host_keys, args(tmp_path, passphrase=bad))
        assert result['failed'] and 'passphrase' in result['msg'] and 'ntp.conf' in result['msg']
        assert 'Vault' not in raw  # no part of the password is shown
    result, dummy = run_module(host_keys, args(tmp_path, host='th\n'))
    assert result['failed'] and 'cannot be used by ntpd' in result['msg']
    assert os.listdir(str(tmp_path)) == []
