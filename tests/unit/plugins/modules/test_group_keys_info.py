# SPDX-License-Identifier: GPL-3.0-or-later
import os

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import identity
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import parse
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.private_keys import load_pem
from ansible_collections.ntp.autokey.plugins.modules import group_keys, group_keys_info

from helpers import FIXTURES, STOCK_PASSWORD, run_module

TH_PW = 'Th-Vault-Secret-1'
TRANSPORT_PW = 'Transport-Secret-2'
GS_PW = 'Gs-Vault-Secret-3'
SIZES = {'iff': 512, 'gq': 512, 'mv': 256}
MASK = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def state(path):
    """Names, link targets, sizes and mtimes of a directory: what a reader must leave alone."""
    found = {}
    for name in sorted(os.listdir(str(path))):
        full = os.path.join(str(path), name)
        st = os.lstat(full)
        found[name] = (os.readlink(full) if os.path.islink(full) else None, st.st_size, st.st_mtime_ns, st.st_mode)
    return found


def trusted_host(path, scheme, **kw):
    args = dict(keysdir=str(path), scheme=scheme, group='lab', generate=True, size=SIZES[scheme], passphrase=TH_PW)
    args.update(kw)
    result, dummy = run_module(group_keys, args)
    assert result['changed'], result
    return result


@pytest.fixture(params=['iff', 'gq', 'mv'])
def scheme(request):
    return request.param


def test_reads_what_group_keys_generated_and_exports_it(tmp_path, scheme):
    th, gs = tmp_path / 'th', tmp_path / 'gs'
    generated = trusted_host(th, scheme)
    before = state(th)
    info, raw = run_module(group_keys_info, dict(keysdir=str(th), scheme=scheme, group='lab', passphrase=TH_PW,
                                                 export_passphrase=TRANSPORT_PW))
    assert state(th) == before and not info['changed'] and 'failed' not in info
    for name in ('scheme', 'group', 'filestamp', 'fingerprint', 'bits', 'gq_public_key', 'mv_keys', 'mv_revoked'):
        assert info.get(name) == generated.get(name), name
    master = 'ntpkey_%s_lab.%d' % (identity.SCHEMES[scheme].master_kind, generated['filestamp'])
    assert info['source'] == os.path.join(str(th), master)
    assert info['params_export'] == generated['params_export']  # made by the same code
    assert info.get('mv_params_exports') == generated.get('mv_params_exports')
    assert (scheme == 'mv') == ('mv_params_exports' in info)
    assert TH_PW not in raw and TRANSPORT_PW not in raw
    # the export decrypts with the export passphrase only, and installs on a group server
    keyfile = parse(info['server_key_export'])
    assert keyfile.filestamp == generated['filestamp'] and 'ENCRYPTED' in keyfile.body  # PBES2, MV: PEM
    load_pem(keyfile.body, TRANSPORT_PW)
    with pytest.raises(ValueError):
        load_pem(keyfile.body, TH_PW)
    installed, dummy = run_module(group_keys, dict(keysdir=str(gs), scheme=scheme, group='lab', passphrase=GS_PW,
                                                   content=info['server_key_export'], source_passphrase=TRANSPORT_PW,
                                                   params=scheme != 'mv'))  # MV params come from mv_params_exports
    assert installed['changed'] and installed['filestamp'] == generated['filestamp']
    assert installed['fingerprint'] == (generated['fingerprint'] if scheme != 'mv' else None)
    assert os.readlink(str(gs / ('ntpkey_%skey_lab' % scheme))) == 'ntpkey_%skey_lab.%d' % (scheme, generated['filestamp'])


def test_mv_reports_revocation_and_exports_usable_keys_only(tmp_path):
    trusted_host(tmp_path, 'mv', mv_keys=3, mv_revoked=[2])
    info, dummy = run_module(group_keys_info, dict(keysdir=str(tmp_path), scheme='mv', group='lab', passphrase=TH_PW))
    assert info['mv_keys'] == 3 and info['mv_revoked'] == [2, 4]
    assert sorted(info['mv_params_exports']) == ['1', '3'] and info['params_export'] == info['mv_params_exports']['1']
    assert 'server_key_export' not in info


def test_wrong_passphrase_one_clear_message(tmp_path, scheme):
    trusted_host(tmp_path, scheme)
    before = state(tmp_path)
    result, raw = run_module(group_keys_info, dict(keysdir=str(tmp_path), scheme=scheme, group='lab',
                                                   passphrase='not-it'))
    link = os.path.join(str(tmp_path), 'ntpkey_%s_lab' % identity.SCHEMES[scheme].master_kind.lower())
    assert result['failed'] and result['msg'].startswith('cannot read the group key %s: ' % link)
    assert 'Check the passphrase' in result['msg'] and 'Nothing was changed' in result['msg']
    assert 'not-it' not in raw and state(tmp_path) == before


def test_damaged_group_key_is_named(tmp_path):
    generated = trusted_host(tmp_path, 'iff')
    target = tmp_path / ('ntpkey_IFFkey_lab.%d' % generated['filestamp'])
    target.write_text(target.read_text()[:300])
    result, dummy = run_module(group_keys_info, dict(keysdir=str(tmp_path), scheme='iff', group='lab', passphrase=TH_PW))
    assert result['failed'] and 'ntpkey_iffkey_lab' in result['msg'] and 'incomplete' in result['msg']


def test_missing_group_key_names_the_link_and_the_fix(tmp_path, scheme):
    result, dummy = run_module(group_keys_info, dict(keysdir=str(tmp_path), scheme=scheme, group='lab', passphrase=TH_PW))
    link = os.path.join(str(tmp_path), 'ntpkey_%s_lab' % identity.SCHEMES[scheme].master_kind.lower())
    assert result['failed'] and result['msg'].startswith(link + ' does not exist')
    assert 'generate it with ntp.autokey.group_keys generate=true' in result['msg'].lower()
    assert os.listdir(str(tmp_path)) == []


def test_check_mode_reads_the_same_and_writes_nothing(tmp_path):
    trusted_host(tmp_path, 'gq')
    before = state(tmp_path)
    args = dict(keysdir=str(tmp_path), scheme='gq', group='lab', passphrase=TH_PW, export_passphrase=TRANSPORT_PW)
    checked, dummy = run_module(group_keys_info, args, check_mode=True)
    normal, dummy = run_module(group_keys_info, args)
    assert not checked['changed'] and checked['fingerprint'] == normal['fingerprint']
    assert checked['params_export'] == normal['params_export'] and checked['server_key_export']
    assert state(tmp_path) == before


def test_reads_a_stock_key_file_on_the_controller(tmp_path):
    src = os.path.join(FIXTURES, 'ntp-keygen', 'iff')
    stamped = [n for n in os.listdir(src) if n.startswith('ntpkey_IFFkey_lab.')][0]
    before = state(src)
    info, dummy = run_module(group_keys_info, dict(scheme='iff', group='lab', src=os.path.join(src, stamped),
                                                   source_passphrase=STOCK_PASSWORD, keysdir=str(tmp_path / 'none')))
    assert info['source'] == os.path.join(src, stamped) and info['filestamp'] == int(stamped.rsplit('.', 1)[1])
    assert '-----BEGIN DSA PRIVATE KEY-----' in info['params_export'] and info['fingerprint']
    assert state(src) == before and not os.path.exists(str(tmp_path / 'none'))


def test_public_content_comes_back_unmasked(tmp_path):
    generated = trusted_host(tmp_path, 'iff')
    info, raw = run_module(group_keys_info, dict(scheme='iff', group='lab', content=generated['params_export']))
    assert info['source'] == 'content' and info['params_export'] == generated['params_export']
    assert MASK not in raw and 'fingerprint' in info and info['fingerprint'] is None


def test_header_of_another_group_or_scheme_is_refused(tmp_path):
    generated = trusted_host(tmp_path, 'iff')
    result, dummy = run_module(group_keys_info, dict(scheme='iff', group='other', content=generated['params_export']))
    assert result['failed'] and 'names group lab, but group other was asked' in result['msg']
    result, dummy = run_module(group_keys_info, dict(scheme='gq', group='lab', content=generated['params_export']))
    assert result['failed'] and 'says it is IFF material, but scheme gq was asked' in result['msg']


@pytest.mark.parametrize('args, message', [
    (dict(), 'one of the following is required: passphrase, src, content'),
    (dict(passphrase='Secret-1', content='Secret-2'), 'mutually exclusive'),
    (dict(passphrase='Secret-1', group='lab@x'), 'cannot be used by ntpd'),
    (dict(src='/nonexistent/file'), 'No such file'),
])
def test_option_errors(tmp_path, args, message):
    base = dict(keysdir=str(tmp_path), scheme='iff', group='lab')
    base.update(args)
    result, dummy = run_module(group_keys_info, base)
    assert result['failed'] and message in result['msg']
