# SPDX-License-Identifier: GPL-3.0-or-later
import os

from ansible_collections.ntp.autokey.plugins.modules import group_keys

from helpers import STOCK_EXPORT_PASSWORD, STOCK_PASSWORD, FIXTURES, run_module, snapshot, stock

TH_PW = 'Th-Vault-Secret-1'
TRANSPORT_PW = 'Transport-Secret-2'
GS_PW = 'Gs-Vault-Secret-3'


def test_trusted_host_export_and_install(tmp_path):
    th, gs = tmp_path / 'th', tmp_path / 'gs'
    result, raw = run_module(group_keys, dict(keysdir=str(th), scheme='gq', group='lab', generate=True, params=False,
                                              size=512, passphrase=TH_PW, export_passphrase=TRANSPORT_PW), diff=True)
    assert result['changed'] and result['bits'] == 512 and int(result['gq_public_key'], 16) > 1
    assert 'ENCRYPTED PRIVATE KEY' in result['server_key_export'] and 'PRIVATE KEY' in result['params_export']
    assert TH_PW not in raw and TRANSPORT_PW not in raw
    assert oct(os.stat(str(th)).st_mode & 0o777) == '0o750'
    installed, dummy = run_module(group_keys, dict(keysdir=str(gs), scheme='gq', group='lab', passphrase=GS_PW,
                                                   content=result['server_key_export'], source_passphrase=TRANSPORT_PW))
    assert installed['changed'] and installed['filestamp'] == result['filestamp']
    assert installed['fingerprint'] == result['fingerprint']
    assert sorted(os.listdir(str(gs))) == sorted(['ntpkey_gqkey_lab', 'ntpkey_gqpar_lab',
                                                  'ntpkey_gqkey_lab.%d' % result['filestamp'],
                                                  'ntpkey_gqpar_lab.%d' % result['filestamp']])
    again, dummy = run_module(group_keys, dict(keysdir=str(gs), scheme='gq', group='lab', passphrase=GS_PW,
                                               content=result['server_key_export'], source_passphrase=TRANSPORT_PW))
    assert not again['changed']


def test_check_mode_writes_nothing(tmp_path):
    result, dummy = run_module(group_keys, dict(keysdir=str(tmp_path / 'new'), scheme='iff', group='lab', generate=True,
                                                size=512, passphrase=TH_PW), check_mode=True)
    assert result['changed'] and not os.path.exists(str(tmp_path / 'new'))


def test_import_stock_file_from_path(tmp_path):
    src = os.path.join(FIXTURES, 'ntp-keygen', 'iff')
    stamped = [n for n in os.listdir(src) if n.startswith('ntpkey_IFFkey_lab.')][0]
    result, dummy = run_module(group_keys, dict(keysdir=str(tmp_path), scheme='iff', group='lab', server_key=False,
                                                src=os.path.join(src, stamped), source_passphrase=STOCK_PASSWORD))
    assert result['changed'] and result['filestamp'] == int(stamped.rsplit('.', 1)[1])
    assert os.listdir(str(tmp_path)) and '-----BEGIN DSA PRIVATE KEY-----' in result['params_export']


def test_unrepairable_stock_file_fails_and_writes_nothing(tmp_path):
    src = os.path.join(FIXTURES, 'ntp-keygen', 'iff', 'iffpar.export')
    result, dummy = run_module(group_keys, dict(keysdir=str(tmp_path), scheme='iff', group='lab', server_key=False, src=src))
    assert result['failed'] and 'ntp-keygen -e' in result['msg'] and os.listdir(str(tmp_path)) == []


def test_regenerate_always_rolls_over(tmp_path):
    first, dummy = run_module(group_keys, dict(keysdir=str(tmp_path), scheme='mv', group='lab', generate=True, size=256,
                                               passphrase=TH_PW))
    before = snapshot(tmp_path)
    second, dummy = run_module(group_keys, dict(keysdir=str(tmp_path), scheme='mv', group='lab', generate=True, size=256,
                                                passphrase=TH_PW, regenerate='always'))
    assert second['changed'] and second['filestamp'] > first['filestamp']
    assert set(before) < set(snapshot(tmp_path)) and len(second['backup_files']) == 3


def test_missing_source_and_passphrase_errors(tmp_path):
    result, dummy = run_module(group_keys, dict(keysdir=str(tmp_path), scheme='iff', group='lab'))
    assert result['failed'] and 'nothing to install' in result['msg']
    result, dummy = run_module(group_keys, dict(keysdir=str(tmp_path), scheme='iff', group='lab', generate=True))
    assert result['failed'] and 'passphrase' in result['msg']
    result, dummy = run_module(group_keys, dict(keysdir=str(tmp_path), scheme='iff', group='lab', generate=True,
                                                passphrase='x', content='y'))
    assert result['failed'] and 'not both' in result['msg']


def test_path_is_an_alias_of_keysdir(tmp_path):
    result, dummy = run_module(group_keys, dict(path=str(tmp_path), scheme='iff', group='lab', generate=True, size=512,
                                                passphrase=TH_PW))
    assert result['changed'] and result['server_key_link'] == str(tmp_path / 'ntpkey_iffkey_lab')


def test_public_params_given_as_content_come_back_unmasked(tmp_path):
    th, cl = tmp_path / 'th', tmp_path / 'cl'
    exported, dummy = run_module(group_keys, dict(keysdir=str(th), scheme='iff', group='lab', generate=True,
                                                  params=False, size=512, passphrase=TH_PW))
    params = exported['params_export']
    result, raw = run_module(group_keys, dict(keysdir=str(cl), scheme='iff', group='lab', server_key=False,
                                              content=params))
    assert result['changed'] and result['params_export'] == params  # the real text, not masked
    assert 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' not in raw and '********' not in raw
    assert result['filestamp'] == exported['filestamp']


def test_only_public_content_is_unmasked(tmp_path):
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.group_material import read_source
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.module_support import unmask_public_content

    class Module:
        def __init__(self, content):
            self.params = {'content': content}
            self.no_log_values = {content, TH_PW}

    exported, dummy = run_module(group_keys, dict(keysdir=str(tmp_path), scheme='iff', group='lab', generate=True,
                                                  size=512, passphrase=TH_PW, export_passphrase=TRANSPORT_PW))
    public = Module(exported['params_export'])
    unmask_public_content(public, read_source('iff', exported['params_export']))
    assert public.no_log_values == {TH_PW}
    private = Module(exported['server_key_export'])
    unmask_public_content(private, read_source('iff', exported['server_key_export'], TRANSPORT_PW))
    assert private.no_log_values == {exported['server_key_export'], TH_PW}
    unmask_public_content(private, None)
    assert private.no_log_values == {exported['server_key_export'], TH_PW}


def test_header_naming_another_group_or_scheme_is_refused(tmp_path):
    params = stock('iff', 'iffkey.export')  # # ntpkey_iffkey_lab.<fs>
    result, dummy = run_module(group_keys, dict(keysdir=str(tmp_path), scheme='iff', group='other', server_key=False,
                                                content=params, source_passphrase=STOCK_EXPORT_PASSWORD))
    assert result['failed'] and result['msg'].startswith('content: its header line "# ntpkey_iffkey_lab.')
    assert 'names group lab, but group other was asked' in result['msg'] and 'group: lab' in result['msg']
    assert os.listdir(str(tmp_path)) == []
    src = os.path.join(FIXTURES, 'ntp-keygen', 'gq')
    stamped = [n for n in os.listdir(src) if n.startswith('ntpkey_GQkey_lab.')][0]
    result, dummy = run_module(group_keys, dict(keysdir=str(tmp_path), scheme='iff', group='lab', server_key=False,
                                                src=os.path.join(src, stamped), source_passphrase=STOCK_PASSWORD))
    assert result['failed'] and result['msg'].startswith(os.path.join(src, stamped) + ': its header line')
    assert 'says it is GQ material, but scheme iff was asked. Give scheme: gq' in result['msg']
    assert os.listdir(str(tmp_path)) == []


def test_binary_src_is_named(tmp_path):
    src = tmp_path / 'binary'
    src.write_bytes(b'\xff\xfe\x00garbage')
    result, dummy = run_module(group_keys, dict(keysdir=str(tmp_path / 'k'), scheme='iff', group='lab',
                                                server_key=False, src=str(src)))
    assert result['failed'] and result['msg'].startswith('%s is not a text file (corrupted?)' % src)


def test_crypto_pw_that_ntpd_cannot_read_back_is_refused_before_anything_is_written(tmp_path):
    for bad in ('Th#Secret', 'Th Secret', 'Th"Secret', 'Th-Secret\nserver 203.0.113.66 prefer'):
        result, raw = run_module(group_keys, dict(keysdir=str(tmp_path), scheme='iff', group='lab', generate=True,
                                                  size=512, passphrase=bad))
        assert result['failed'] and 'passphrase' in result['msg'] and 'ntp.conf' in result['msg']
        assert 'Secret' not in raw
    result, dummy = run_module(group_keys, dict(keysdir=str(tmp_path), scheme='iff', group='lab\n', generate=True,
                                                size=512, passphrase=TH_PW))
    assert result['failed'] and 'cannot be used by ntpd' in result['msg']
    assert os.listdir(str(tmp_path)) == []
