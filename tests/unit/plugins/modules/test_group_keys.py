# SPDX-License-Identifier: GPL-3.0-or-later
import os

from ansible_collections.ntp.autokey.plugins.modules import group_keys

from helpers import STOCK_PASSWORD, FIXTURES, run_module, snapshot

TH_PW = 'Th-Vault-Secret-1'
TRANSPORT_PW = 'Transport-Secret-2'
GS_PW = 'Gs-Vault-Secret-3'


def test_trusted_host_export_and_install(tmp_path):
    th, gs = tmp_path / 'th', tmp_path / 'gs'
    result, raw = run_module(group_keys, dict(path=str(th), scheme='gq', group='lab', generate=True, params=False,
                                              size=512, passphrase=TH_PW, export_passphrase=TRANSPORT_PW), diff=True)
    assert result['changed'] and result['bits'] == 512 and int(result['gq_public_key'], 16) > 1
    assert 'ENCRYPTED PRIVATE KEY' in result['server_key_export'] and 'PRIVATE KEY' in result['params_export']
    assert TH_PW not in raw and TRANSPORT_PW not in raw
    assert oct(os.stat(str(th)).st_mode & 0o777) == '0o750'
    installed, dummy = run_module(group_keys, dict(path=str(gs), scheme='gq', group='lab', passphrase=GS_PW,
                                                   content=result['server_key_export'], source_passphrase=TRANSPORT_PW))
    assert installed['changed'] and installed['filestamp'] == result['filestamp']
    assert installed['fingerprint'] == result['fingerprint']
    assert sorted(os.listdir(str(gs))) == sorted(['ntpkey_gqkey_lab', 'ntpkey_gqpar_lab',
                                                  'ntpkey_gqkey_lab.%d' % result['filestamp'],
                                                  'ntpkey_gqpar_lab.%d' % result['filestamp']])
    again, dummy = run_module(group_keys, dict(path=str(gs), scheme='gq', group='lab', passphrase=GS_PW,
                                               content=result['server_key_export'], source_passphrase=TRANSPORT_PW))
    assert not again['changed']


def test_check_mode_writes_nothing(tmp_path):
    result, dummy = run_module(group_keys, dict(path=str(tmp_path / 'new'), scheme='iff', group='lab', generate=True,
                                                size=512, passphrase=TH_PW), check_mode=True)
    assert result['changed'] and not os.path.exists(str(tmp_path / 'new'))


def test_import_stock_file_from_path(tmp_path):
    src = os.path.join(FIXTURES, 'ntp-keygen', 'iff')
    stamped = [n for n in os.listdir(src) if n.startswith('ntpkey_IFFkey_lab.')][0]
    result, dummy = run_module(group_keys, dict(path=str(tmp_path), scheme='iff', group='lab', server_key=False,
                                                src=os.path.join(src, stamped), source_passphrase=STOCK_PASSWORD))
    assert result['changed'] and result['filestamp'] == int(stamped.rsplit('.', 1)[1])
    assert os.listdir(str(tmp_path)) and '-----BEGIN DSA PRIVATE KEY-----' in result['params_export']


def test_unrepairable_stock_file_fails_and_writes_nothing(tmp_path):
    src = os.path.join(FIXTURES, 'ntp-keygen', 'iff', 'iffpar.export')
    result, dummy = run_module(group_keys, dict(path=str(tmp_path), scheme='iff', group='lab', server_key=False, src=src))
    assert result['failed'] and 'ntp-keygen -e' in result['msg'] and os.listdir(str(tmp_path)) == []


def test_regenerate_always_rolls_over(tmp_path):
    first, dummy = run_module(group_keys, dict(path=str(tmp_path), scheme='mv', group='lab', generate=True, size=256,
                                               passphrase=TH_PW))
    before = snapshot(tmp_path)
    second, dummy = run_module(group_keys, dict(path=str(tmp_path), scheme='mv', group='lab', generate=True, size=256,
                                                passphrase=TH_PW, regenerate='always'))
    assert second['changed'] and second['filestamp'] > first['filestamp']
    assert set(before) < set(snapshot(tmp_path)) and len(second['backup_files']) == 3


def test_missing_source_and_passphrase_errors(tmp_path):
    result, dummy = run_module(group_keys, dict(path=str(tmp_path), scheme='iff', group='lab'))
    assert result['failed'] and 'nothing to install' in result['msg']
    result, dummy = run_module(group_keys, dict(path=str(tmp_path), scheme='iff', group='lab', generate=True))
    assert result['failed'] and 'passphrase' in result['msg']
    result, dummy = run_module(group_keys, dict(path=str(tmp_path), scheme='iff', group='lab', generate=True,
                                                passphrase='x', content='y'))
    assert result['failed'] and 'not both' in result['msg']
