# SPDX-License-Identifier: GPL-3.0-or-later
import os

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import identity
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import parse
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.group_material import GroupMaterial, read_source
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.host_material import MaterialError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.private_keys import load_pem

from helpers import STOCK_EXPORT_PASSWORD, STOCK_PASSWORD, snapshot, stock

SIZES = {'iff': 512, 'gq': 512, 'mv': 256}


def run(path, scheme, **kw):
    args = dict(passphrase='thpw', size=SIZES[scheme])
    args.update(kw)
    m = GroupMaterial(KeysDir(str(path)), scheme, 'lab', **args)
    reasons = m.plan()
    m.apply()
    return m, reasons


def on_disk(path, link, password=None):
    keyfile = parse((path / link).read_text())
    return keyfile.filestamp, load_pem(keyfile.body, password)


@pytest.fixture(params=['iff', 'gq', 'mv'])
def scheme(request):
    return request.param


def test_trusted_host_to_server_to_client(tmp_path, scheme):
    th, gs, cl = tmp_path / 'th', tmp_path / 'gs', tmp_path / 'cl'
    for d in (th, gs, cl):
        d.mkdir()
    master, reasons = run(th, scheme, generate=True, params=False)
    assert 'master' in reasons
    exports = master.exports('transport')
    server_src = read_source(scheme, exports['server_key_export'], 'transport')
    run(gs, scheme, passphrase='gspw', source=server_src, params=False)
    run(cl, scheme, passphrase=None, source=read_source(scheme, exports['params_export']), server_key=False)
    fs_server, (server,) = on_disk(gs, 'ntpkey_%skey_lab' % scheme, 'gspw')
    fs_params, (params,) = on_disk(cl, 'ntpkey_%spar_lab' % scheme)
    assert fs_server == fs_params == master.material.filestamp
    server = identity.as_loaded(server, identity.SCHEMES[scheme].server_container)
    gq = getattr(master.material.key, 'v', None)
    assert identity.exchange(scheme, server, params, gq, fs_server, fs_params) is None
    with pytest.raises(Exception):
        on_disk(gs, 'ntpkey_%skey_lab' % scheme, 'thpw')  # re-encrypted under the server's own password


def test_idempotent_and_check_mode(tmp_path, scheme):
    run(tmp_path, scheme, generate=True)
    before = snapshot(tmp_path)
    m = GroupMaterial(KeysDir(str(tmp_path)), scheme, 'lab', passphrase='thpw', generate=True, size=SIZES[scheme])
    assert m.plan() == {} and snapshot(tmp_path) == before
    fresh = tmp_path / 'fresh'
    fresh.mkdir()
    assert GroupMaterial(KeysDir(str(fresh)), scheme, 'lab', passphrase='x', generate=True, size=SIZES[scheme]).plan()
    assert os.listdir(str(fresh)) == []


def test_rollover_gets_a_new_filestamp_and_keeps_backups(tmp_path, scheme):
    first, dummy = run(tmp_path, scheme, generate=True)
    second, reasons = run(tmp_path, scheme, generate=True, regenerate='always')
    assert second.material.filestamp > first.material.filestamp
    assert second.material.fingerprint() != first.material.fingerprint()
    fs, dummy = on_disk(tmp_path, 'ntpkey_%spar_lab' % scheme)
    assert fs == second.material.filestamp
    assert any(str(first.material.filestamp) in n for n in os.listdir(str(tmp_path)))


def test_rollover_time_replaces_an_older_group_key_once(tmp_path, scheme):
    first, dummy = run(tmp_path, scheme, generate=True)
    decided = first.material.filestamp + 1
    second, reasons = run(tmp_path, scheme, generate=True, replace_before=decided)
    assert reasons['master'].startswith('group key filestamp') and second.material.filestamp >= decided
    third, reasons = run(tmp_path, scheme, generate=True, replace_before=decided)
    assert reasons == {} and third.material.filestamp == second.material.filestamp


def test_server_copy_follows_a_new_group_key(tmp_path, scheme):
    th, gs = tmp_path / 'th', tmp_path / 'gs'
    th.mkdir()
    gs.mkdir()
    old, dummy = run(th, scheme, generate=True)
    run(gs, scheme, passphrase='gspw', source=read_source(scheme, old.exports('t')['server_key_export'], 't'),
        params=False)
    new, dummy = run(th, scheme, generate=True, regenerate='always')
    dummy, reasons = run(gs, scheme, passphrase='gspw', source=read_source(scheme, new.exports('t')['server_key_export'], 't'),
                         params=False)
    assert 'differs' in reasons['server']
    assert on_disk(gs, 'ntpkey_%skey_lab' % scheme, 'gspw')[0] == new.material.filestamp


def test_wrong_passphrase_on_existing_group_key(tmp_path, scheme):
    run(tmp_path, scheme, generate=True)
    before = snapshot(tmp_path)
    with pytest.raises(MaterialError, match='Check the passphrase.*Nothing was changed'):
        GroupMaterial(KeysDir(str(tmp_path)), scheme, 'lab', passphrase='bad', generate=True,
                      size=SIZES[scheme]).plan()
    assert snapshot(tmp_path) == before


def test_mv_revocation_rewrites_server_key_only(tmp_path):
    m, dummy = run(tmp_path, 'mv', generate=True, mv_keys=3)
    params_before = (tmp_path / 'ntpkey_mvpar_lab').read_text()
    m2, reasons = run(tmp_path, 'mv', generate=True, mv_keys=3, mv_revoked=[2])
    assert set(reasons) == {'master', 'server'} and m2.material.key.revoked == [2, 4]
    assert (tmp_path / 'ntpkey_mvpar_lab').read_text() == params_before  # client 1 keeps its key
    assert m2.material.filestamp == m.material.filestamp
    with pytest.raises(MaterialError, match='revoked'):
        GroupMaterial(KeysDir(str(tmp_path)), 'mv', 'lab', passphrase='thpw', generate=True, size=256, mv_keys=3,
                      mv_revoked=[2], mv_client=2).plan()


def test_mv_exports_one_params_file_per_usable_client_key(tmp_path):
    (tmp_path / 'th').mkdir()
    m, dummy = run(tmp_path / 'th', 'mv', generate=True, params=False, mv_keys=3, mv_revoked=[2])
    exports = m.exports('transport')['mv_params_exports']
    assert sorted(exports) == ['1', '3']  # 2 revoked here, 4 the spare that is always revoked
    server = identity.as_loaded(m.material.key.server_key(), identity.MvKey.server_container)
    for number, text in exports.items():
        keyfile = parse(text)
        (params,) = load_pem(keyfile.body)
        assert keyfile.filestamp == m.material.filestamp
        assert params == m.material.key.params(int(number))
        assert identity.exchange('mv', server, params) is None
    assert exports['1'] != exports['3']


def test_mv_client_installs_its_own_key_from_its_export(tmp_path):
    (tmp_path / 'th').mkdir()
    (tmp_path / 'cl').mkdir()
    m, dummy = run(tmp_path / 'th', 'mv', generate=True, params=False, mv_keys=3)
    text = m.exports()['mv_params_exports']['3']
    cl, reasons = run(tmp_path / 'cl', 'mv', passphrase=None, source=read_source('mv', text), server_key=False,
                      mv_client=3)
    assert reasons == {'params': 'params missing'}
    assert on_disk(tmp_path / 'cl', 'ntpkey_mvpar_lab')[1] == [m.material.key.params(3)]


# -- stock ntp-keygen files ------------------------------------------------

@pytest.mark.parametrize('scheme, name, password', [
    ('iff', 'ntpkey_IFFkey', STOCK_PASSWORD), ('iff', 'iffkey.export', STOCK_EXPORT_PASSWORD),
    ('gq', 'ntpkey_GQkey', STOCK_PASSWORD), ('gq', 'gqkey.export', STOCK_EXPORT_PASSWORD),
])
def test_import_stock_server_keys_writes_verifying_files(tmp_path, scheme, name, password):
    text = stock(scheme, name)
    m, dummy = run(tmp_path, scheme, passphrase='gspw', source=read_source(scheme, text, password))
    fs, (server,) = on_disk(tmp_path, 'ntpkey_%skey_lab' % scheme, 'gspw')
    pfs, (params,) = on_disk(tmp_path, 'ntpkey_%spar_lab' % scheme)
    assert fs == pfs == parse(text).filestamp  # the TH's stock key keeps answering with its filestamp
    gq = getattr(m.material.key, 'v', None)
    assert identity.exchange(scheme, identity.as_loaded(server, 'pkcs8'), params, gq, fs, pfs) is None


def test_stock_gq_params_are_repaired(tmp_path):
    run(tmp_path, 'gq', server_key=False, passphrase=None, source=read_source('gq', stock('gq', 'gqpar.export')))
    dummy, (params,) = on_disk(tmp_path, 'ntpkey_gqpar_lab')
    key = identity.GqKey.from_private_key(load_pem(parse(stock('gq', 'ntpkey_GQkey')).body, STOCK_PASSWORD)[0])
    assert params['d'] == key.b and params['e'] == 1


@pytest.mark.parametrize('scheme, name, password, message', [
    ('iff', 'iffpar.export', None, 'ntp-keygen -e: PKCS#8 dropped the public value'),
    ('mv', 'ntpkey_MVta', STOCK_PASSWORD, 'written by ntp-keygen'),
    ('mv', 'mvkey.export', STOCK_EXPORT_PASSWORD, 'written by ntp-keygen'),
    ('mv', 'mvpar.export', None, 'written by ntp-keygen'),
    ('iff', 'ntpkey_IFFkey', 'wrong', 'wrong password'),
])
def test_unrepairable_or_unreadable_stock_files_refused(scheme, name, password, message):
    with pytest.raises(MaterialError, match=message):
        read_source(scheme, stock(scheme, name), password, name)


def test_params_only_source_cannot_make_a_server_key(tmp_path):
    key = identity.IffKey.generate(512)
    src = read_source('iff', '# x.5\n\n' + key.params().to_pem(key.params_container))
    with pytest.raises(MaterialError, match='client params only'):
        GroupMaterial(KeysDir(str(tmp_path)), 'iff', 'lab', passphrase='p', source=src).plan()


@pytest.mark.parametrize('kw, message', [
    (dict(generate=False), 'nothing to install'),
    (dict(generate=True, passphrase=None), 'needs the passphrase'),
    (dict(generate=True, regenerate='sometimes'), 'regenerate must be'),
])
def test_option_errors(tmp_path, kw, message):
    args = dict(passphrase='p')
    args.update(kw)
    with pytest.raises(MaterialError, match=message):
        GroupMaterial(KeysDir(str(tmp_path)), 'iff', 'lab', **args)


# -- header line against the options ----------------------------------------

STOCK_FILES = [
    ('iff', 'ntpkey_IFFkey', STOCK_PASSWORD), ('iff', 'iffkey.export', STOCK_EXPORT_PASSWORD),
    ('gq', 'ntpkey_GQkey', STOCK_PASSWORD), ('gq', 'gqkey.export', STOCK_EXPORT_PASSWORD),
    ('gq', 'gqpar.export', None),
]


@pytest.mark.parametrize('scheme, name, password', STOCK_FILES)
def test_stock_files_of_group_lab_still_import_with_their_header(scheme, name, password):
    text = stock(scheme, name)
    assert '_lab.' in text.split('\n', 1)[0]  # ntpkey_IFFkey_lab.<fs>, ntpkey_iffkey_lab.<fs>, ...
    source = read_source(scheme, text, password, name, group='lab')
    assert source.filestamp == parse(text).filestamp


@pytest.mark.parametrize('scheme, name, password, message', [
    ('iff', 'iffpar.export', None, 'ntp-keygen -e: PKCS#8 dropped the public value'),
    ('mv', 'ntpkey_MVta', STOCK_PASSWORD, 'written by ntp-keygen'),
    ('mv', 'mvkey.export', STOCK_EXPORT_PASSWORD, 'written by ntp-keygen'),
    ('mv', 'mvpar.export', None, 'written by ntp-keygen'),
])
def test_stock_files_keep_their_own_refusal_with_a_group(scheme, name, password, message):
    with pytest.raises(MaterialError, match=message):
        read_source(scheme, stock(scheme, name), password, name, group='lab')


def _renamed(text, name):
    return '# %s\n' % name + text.split('\n', 1)[1]


@pytest.mark.parametrize('header', ['ntpkey_iffpar_other.3989000000', 'ntpkey_IFFkey_other.3989000000',
                                    'ntpkey_iffkey_other.3989000000'])
def test_header_of_another_group_is_refused(header):
    text = _renamed(stock('iff', 'iffkey.export'), header)
    with pytest.raises(MaterialError) as refused:
        read_source('iff', text, STOCK_EXPORT_PASSWORD, '/tmp/given', group='lab')
    message = str(refused.value)
    assert message.startswith('/tmp/given: its header line "# %s" names group other, but group lab was asked' % header)
    assert 'group: other' in message and 'ntpd reads only the filestamp' in message
    kind = header.split('_')[1]
    assert '"# ntpkey_%s_lab.3989000000"' % kind in message  # the fix for a file named after its host


def test_trusted_host_of_another_group_is_refused():
    """host@group names the group after the @: lab@other is a host named lab in group other."""
    text = _renamed(stock('iff', 'iffkey.export'), 'ntpkey_IFFkey_lab@other.3989000000')
    with pytest.raises(MaterialError, match='names group lab@other, but group lab was asked'):
        read_source('iff', text, STOCK_EXPORT_PASSWORD, '/tmp/given', group='lab')


@pytest.mark.parametrize('scheme, stock_scheme, name, said', [
    ('iff', 'gq', 'ntpkey_GQkey', 'GQ'), ('mv', 'iff', 'iffkey.export', 'IFF'), ('gq', 'mv', 'mvpar.export', 'MV'),
])
def test_header_of_another_scheme_is_refused(scheme, stock_scheme, name, said):
    with pytest.raises(MaterialError, match='content: its header line "# ntpkey_[A-Za-z]+_lab.4004507722" says it is '
                                            '%s material, but scheme %s was asked. Give scheme: %s'
                                            % (said, scheme, stock_scheme)):
        read_source(scheme, stock(stock_scheme, name), 'wrong password: the header is checked first', 'content',
                    group='lab')


@pytest.mark.parametrize('header', [
    'ntpkey_iffkey_th1.example.net.3989000000',  # ntp-keygen without a group: the trusted host's own name
    'ntpkey_iffkey_LAB.3989000000',  # the same name but for case
    'ntpkey_IFFkey_th@lab.3989000000',  # ntp-keygen 4.2.6 -s th@lab: a trusted host named host@group
    'somefile.3989000000', 'x.5', 'ntpkey_RSAhost_th.3989000000',  # no group name in it
])
def test_headers_that_do_not_clearly_name_another_group_pass(header):
    source = read_source('iff', _renamed(stock('iff', 'iffkey.export'), header), STOCK_EXPORT_PASSWORD,
                         'content', group='lab')
    assert source.filestamp == 3989000000 or header == 'x.5'


def test_keysdir_files_are_read_without_the_header_check(tmp_path):
    """The link names the group; a file adopted under it keeps working."""
    text = _renamed(stock('iff', 'ntpkey_IFFkey'), 'ntpkey_IFFkey_th1.4004507722')
    (tmp_path / 'ntpkey_IFFkey_th1.4004507722').write_text(text)
    os.symlink('ntpkey_IFFkey_th1.4004507722', str(tmp_path / 'ntpkey_iffkey_lab'))
    m = GroupMaterial(KeysDir(str(tmp_path)), 'iff', 'lab', passphrase=STOCK_PASSWORD, generate=True,
                      regenerate='never')
    assert m.plan() == {'params': 'params missing'}


def test_unreadable_group_key_message_names_the_file(tmp_path):
    run(tmp_path, 'iff', generate=True)
    with pytest.raises(MaterialError) as refused:
        GroupMaterial(KeysDir(str(tmp_path)), 'iff', 'lab', passphrase='bad', generate=True, size=512).plan()
    assert str(refused.value).startswith('cannot read the group key %s: ' % (tmp_path / 'ntpkey_iffkey_lab'))


# -- exports and facts are one code path ----------------------------------

def test_exports_and_facts_come_from_the_source(tmp_path, scheme):
    m, dummy = run(tmp_path, scheme, generate=True)
    source = read_source(scheme, (tmp_path / m.master_link).read_text(), 'thpw', group='lab')
    assert source.exports('lab', client=1)['params_export'] == m.exports()['params_export']
    assert source.facts('lab') == dict((k, v) for k, v in m.facts().items() if not k.endswith(('_link', '_links')))


# -- aliases: the names ntpd 4.2.6 opens the group files under ------------------------------------------------

def _targets(path):
    return dict((n, os.readlink(str(path / n))) for n in os.listdir(str(path)) if os.path.islink(str(path / n)))


def test_aliases_point_with_the_group_links_and_follow_a_rollover(tmp_path, scheme):
    first, reasons = run(tmp_path, scheme, generate=True, aliases=['th1@lab', 'th2@lab'])
    links = _targets(tmp_path)
    for alias in ('th1@lab', 'th2@lab'):
        assert links['ntpkey_%skey_%s' % (scheme, alias)] == links['ntpkey_%skey_lab' % scheme]
        assert links['ntpkey_%spar_%s' % (scheme, alias)] == links['ntpkey_%spar_lab' % scheme]
    assert sorted(first.facts()['alias_links']) == sorted(
        str(tmp_path / ('ntpkey_%s%s_%s' % (scheme, role, a))) for role in ('key', 'par') for a in ('th1@lab', 'th2@lab'))
    before = snapshot(tmp_path)
    again = GroupMaterial(KeysDir(str(tmp_path)), scheme, 'lab', passphrase='thpw', generate=True, size=SIZES[scheme],
                          aliases=['th1@lab', 'th2@lab'])
    assert again.plan() == {} and snapshot(tmp_path) == before
    second, reasons = run(tmp_path, scheme, generate=True, regenerate='always', aliases=['th1@lab', 'th2@lab'])
    links = _targets(tmp_path)
    assert str(second.material.filestamp) in links['ntpkey_%spar_th2@lab' % scheme]
    assert links['ntpkey_%skey_th1@lab' % scheme] == links['ntpkey_%skey_lab' % scheme]


def test_an_alias_added_later_is_a_change_of_its_own(tmp_path):
    run(tmp_path, 'iff', generate=True)
    dummy, reasons = run(tmp_path, 'iff', generate=True, aliases=['th1@lab'])
    assert reasons == {'ntpkey_iffkey_th1@lab alias': 'link for ntpd 4.2.6 missing',
                       'ntpkey_iffpar_th1@lab alias': 'link for ntpd 4.2.6 missing'}


def test_a_member_gets_aliases_for_what_it_holds_only(tmp_path):
    th, cl = tmp_path / 'th', tmp_path / 'cl'
    th.mkdir()
    cl.mkdir()
    master, dummy = run(th, 'iff', generate=True, params=False)
    run(cl, 'iff', passphrase=None, source=read_source('iff', master.exports('t')['params_export']), server_key=False,
        aliases=['th1@lab'])
    assert sorted(_targets(cl)) == ['ntpkey_iffpar_lab', 'ntpkey_iffpar_th1@lab']


@pytest.mark.parametrize('alias', ['th1@', '@lab', 'th 1@lab', '../th1@lab', 'th1@lab@x', '', 5])
def test_an_alias_that_is_no_subject_is_refused(tmp_path, alias):
    with pytest.raises(MaterialError) as refused:
        GroupMaterial(KeysDir(str(tmp_path)), 'iff', 'lab', passphrase='x', generate=True, size=512, aliases=[alias])
    assert 'is not a certificate subject' in str(refused.value)


def test_a_file_under_an_alias_name_is_refused_and_kept(tmp_path):
    (tmp_path / 'ntpkey_iffpar_th1@lab').write_text('an operator file')
    with pytest.raises(MaterialError) as refused:
        run(tmp_path, 'iff', generate=True, aliases=['th1@lab'])
    assert 'ntpkey_iffpar_th1@lab is a file, not a link' in str(refused.value)
    assert os.listdir(str(tmp_path)) == ['ntpkey_iffpar_th1@lab']
    assert (tmp_path / 'ntpkey_iffpar_th1@lab').read_text() == 'an operator file'
