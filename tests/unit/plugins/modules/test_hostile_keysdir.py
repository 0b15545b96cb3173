# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile keysdirs, driven through every module entry point and every relevant regenerate value.

For each case: no exception escapes the module (it fails with a message or succeeds), a success is no
wrong success (the links are ntpd's own and a rerun changes nothing), nothing outside the keysdir changes
(names, types, modes, owners, contents, link targets), the output never holds the secret of a file
outside, and a failure or check mode changes nothing in the keysdir either."""
import os
import shutil
import stat

import pytest

from ansible_collections.ntp.autokey.plugins.modules import group_keys, group_keys_info, host_keys

from helpers import plant, run_module, tree

PW = 'Hostile-Test-Secret-1'
SECRET = 'TOPSECRET-first-line-4711'
REFUSED = ['absolute', 'dotdot', 'chain', 'outside_dir', 'dangling_outside', 'fifo', 'link_to_fifo', 'dev_zero',
           'dot', 'device_node']
UNREADABLE = ['hard_link', 'oversize']
KINDS = REFUSED + UNREADABLE + ['directory']
RUNGS = [('never', True), ('fail', True), ('partial_idempotence', True), ('full_idempotence', True),
         ('full_idempotence', False), ('always', True), ('always', False)]


# -- entry points: (module, arguments, links it owns, the link attacked) -----------------------------

def host_args(keys, **kw):
    args = dict(keysdir=str(keys), host='th', group='lab', passphrase=PW, size=1024)
    args.update(kw)
    return args


def group_args(keys, **kw):
    args = dict(keysdir=str(keys), scheme='iff', group='lab', generate=True, size=512, passphrase=PW)
    args.update(kw)
    return args


def mv_args(keys, **kw):
    return group_args(keys, scheme='mv', size=256, **kw)


def import_args(keys, **kw):
    args = dict(keysdir=str(keys), scheme='iff', group='lab', server_key=False,
                content=PARAMS['text'])
    args.update(kw)
    return args


PARAMS = {}

ENTRIES = {
    'host_key': (host_keys, host_args, 'ntpkey_host_th'),
    'host_cert': (host_keys, host_args, 'ntpkey_cert_th'),
    'host_stale_sign': (host_keys, host_args, 'ntpkey_sign_th'),
    'host_sign_key': (host_keys, lambda keys, **kw: host_args(keys, sign_key=True, **kw), 'ntpkey_sign_th'),
    'iff_group_key': (group_keys, group_args, 'ntpkey_iffkey_lab'),
    'iff_params': (group_keys, group_args, 'ntpkey_iffpar_lab'),
    'mv_server_key': (group_keys, mv_args, 'ntpkey_mvkey_lab'),
    'mv_group_key': (group_keys, mv_args, 'ntpkey_mvta_lab'),
    'imported_params': (group_keys, import_args, 'ntpkey_iffpar_lab'),
}


@pytest.fixture(scope='module')
def templates(tmp_path_factory):
    """Each entry point's material made once, copied for every case."""
    base = tmp_path_factory.mktemp('templates')
    made = {}
    th = base / 'th-for-params'
    result, dummy = run_module(group_keys, group_args(th, params=False))
    PARAMS['text'] = result['params_export']
    for entry, (module, args, link) in ENTRIES.items():
        keys = base / entry
        result, dummy = run_module(module, args(keys))
        assert result['changed'] and not result.get('failed'), result
        made[entry] = keys
    return made


def setup_case(tmp_path, templates, entry, kind):
    root = tmp_path
    outside = root / 'outside'
    outside.mkdir()
    (outside / 'secret').write_text(SECRET + '\nsecond line\n')
    os.chmod(str(outside / 'secret'), 0o644)
    (outside / 'dir').mkdir()
    (outside / 'dir' / 'inner').write_text('inner')
    keys = root / 'keys'
    shutil.copytree(str(templates[entry]), str(keys), symlinks=True)
    plant(keys, outside, kind, ENTRIES[entry][2])
    return root, keys


def proper_links(keys):
    """Every ntpkey_ link of the keysdir names a regular file with one name in it."""
    for name in os.listdir(str(keys)):
        path = os.path.join(str(keys), name)
        if os.path.islink(path) and name.startswith('ntpkey_'):
            target = os.readlink(path)
            assert '/' not in target and target not in ('.', '..'), (name, target)
            st_ = os.lstat(os.path.join(str(keys), target))
            assert stat.S_ISREG(st_.st_mode) and st_.st_nlink == 1, (name, target)


def expected_failure(entry, kind, regenerate):
    """Whether a run must fail. A directory is never replaced. A refused entry is replaced only with
    full_idempotence and always. An unreadable file fails below full_idempotence, except a certificate,
    which is public and remade (kept with never, refused with fail), and a stale sign-key link, whose
    file is no longer wanted."""
    if kind == 'directory':
        return True
    replaces = regenerate in ('full_idempotence', 'always')
    if kind in REFUSED:
        return not replaces
    if entry == 'host_stale_sign':
        return False
    if entry == 'host_cert':
        return regenerate == 'fail'
    return not replaces


CASES = [(e, k, r, b) for e in ENTRIES for k in KINDS for r, b in RUNGS]


@pytest.mark.parametrize('entry, kind, regenerate, backup', CASES,
                         ids=['%s-%s-%s-%s' % (e, k, r, 'backup' if b else 'nobackup') for e, k, r, b in CASES])
def test_hostile_entry(tmp_path, templates, entry, kind, regenerate, backup):
    if kind == 'device_node' and os.geteuid() != 0:
        pytest.skip('needs root for mknod')
    root, keys = setup_case(tmp_path, templates, entry, kind)
    module, args, link = ENTRIES[entry]
    outside_before = tree(root, skip=keys)
    keys_before = tree(keys)
    options = args(keys, regenerate=regenerate, backup=backup)
    check, dummy = run_module(module, options, check_mode=True, diff=True)
    assert tree(keys) == keys_before and tree(root, skip=keys) == outside_before
    result, raw = run_module(module, options, diff=True)
    assert tree(root, skip=keys) == outside_before
    assert SECRET not in raw and 'Traceback' not in raw and 'exception' not in result
    assert bool(check.get('failed')) == bool(result.get('failed')), (check, result)
    if expected_failure(entry, kind, regenerate):
        assert result.get('failed'), result
        assert tree(keys) == keys_before
        if kind in REFUSED or kind == 'directory':
            assert str(keys / link) in result['msg'] and 'Nothing was changed' in result['msg']
            assert 'remove it' in result['msg']
            if kind != 'directory':
                assert 'regenerate=full_idempotence' in result['msg']
        return
    assert not result.get('failed'), result
    for path in result['backup_files']:
        assert os.path.dirname(path) == str(keys) and stat.S_ISREG(os.lstat(path).st_mode)
    assert str(root / 'outside' / 'secret') not in result['backup_files']
    if regenerate == 'never' and entry == 'host_cert':
        return  # an unreadable certificate is kept with never, as the ladder says
    proper_links(keys)
    again, dummy = run_module(module, args(keys))
    assert not again.get('failed') and not again['changed'], again


INFO_KINDS = KINDS


@pytest.mark.parametrize('kind', INFO_KINDS)
def test_hostile_entry_read_only(tmp_path, templates, kind):
    if kind == 'device_node' and os.geteuid() != 0:
        pytest.skip('needs root for mknod')
    root, keys = setup_case(tmp_path, templates, 'iff_group_key', kind)
    before = tree(root)
    result, raw = run_module(group_keys_info, dict(keysdir=str(keys), scheme='iff', group='lab', passphrase=PW))
    assert result.get('failed') and str(keys / 'ntpkey_iffkey_lab') in result['msg']
    assert SECRET not in raw and 'Traceback' not in raw and tree(root) == before


@pytest.mark.parametrize('kind', ['fifo', 'dev_zero', 'directory', 'oversize'])
def test_hostile_src(tmp_path, kind):
    src = tmp_path / 'src'
    if kind == 'fifo':
        os.mkfifo(str(src))
    elif kind == 'dev_zero':
        os.symlink('/dev/zero', str(src))
    elif kind == 'directory':
        src.mkdir()
    else:
        src.write_bytes(b'A' * (2 << 20))
    keys = tmp_path / 'keys'
    result, raw = run_module(group_keys, dict(keysdir=str(keys), scheme='iff', group='lab', server_key=False,
                                              src=str(src)))
    assert result.get('failed') and result['msg'].startswith('cannot read %s: it is ' % src)
    assert 'not a key file' in result['msg']
    assert not keys.exists()


# -- the keysdir's own mode and owner, and the files' -------------------------------------------------

@pytest.mark.parametrize('entry', ['host_key', 'iff_group_key', 'imported_params'])
def test_writable_keysdir_is_made_safe(tmp_path, templates, entry):
    keys = tmp_path / 'keys'
    shutil.copytree(str(templates[entry]), str(keys), symlinks=True)
    os.chmod(str(keys), 0o777)
    module, args, link = ENTRIES[entry]
    check, dummy = run_module(module, args(keys), check_mode=True, diff=True)
    assert check['changed'] and check['reasons'] == {
        'keysdir': 'keysdir mode 0777 lets group or others replace key files and links: set to 0755'}
    assert stat.S_IMODE(os.stat(str(keys)).st_mode) == 0o777
    result, dummy = run_module(module, args(keys), diff=True)
    assert result['changed'] and list(result['reasons']) == ['keysdir']
    assert result['diff']['before']['keysdir_mode'] == '0777' and result['diff']['after']['keysdir_mode'] == '0755'
    assert stat.S_IMODE(os.stat(str(keys)).st_mode) == 0o755
    again, dummy = run_module(module, args(keys))
    assert not again['changed']


def test_failure_puts_the_keysdir_mode_back(tmp_path, templates):
    keys = tmp_path / 'keys'
    shutil.copytree(str(templates['host_key']), str(keys), symlinks=True)
    os.chmod(str(keys), 0o777)
    result, dummy = run_module(host_keys, host_args(keys, passphrase='wrong'))
    assert result['failed'] and 'passphrase' in result['msg']
    assert stat.S_IMODE(os.stat(str(keys)).st_mode) == 0o777


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to give things away')
@pytest.mark.parametrize('entry', ['host_key', 'iff_group_key'])
def test_keysdir_of_another_account_is_refused(tmp_path, templates, entry):
    keys = tmp_path / 'keys'
    shutil.copytree(str(templates[entry]), str(keys), symlinks=True)
    os.chown(str(keys), 4242, 4242)
    before = tree(tmp_path)
    module, args, link = ENTRIES[entry]
    for check_mode in (True, False):
        result, dummy = run_module(module, args(keys), check_mode=check_mode)
        assert result['failed'] and 'is owned by uid 4242, not by root' in result['msg']
        assert 'chown root' in result['msg'] and tree(tmp_path) == before


def test_shared_sticky_keysdir_is_refused(tmp_path, templates):
    keys = tmp_path / 'keys'
    shutil.copytree(str(templates['host_key']), str(keys), symlinks=True)
    os.chmod(str(keys), 0o1777)
    result, dummy = run_module(host_keys, host_args(keys))
    assert result['failed'] and 'shared directory' in result['msg']
    assert stat.S_IMODE(os.stat(str(keys)).st_mode) == 0o1777


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to give a file away')
@pytest.mark.parametrize('entry', ['host_key', 'iff_group_key', 'mv_group_key', 'imported_params'])
def test_key_files_of_another_account_are_taken_back(tmp_path, templates, entry):
    keys = tmp_path / 'keys'
    shutil.copytree(str(templates[entry]), str(keys), symlinks=True)
    module, args, link = ENTRIES[entry]
    target = str(keys / os.readlink(str(keys / link)))
    os.chmod(target, 0o644)
    os.chown(target, 4242, 4242)
    before = tree(keys)
    check, dummy = run_module(module, args(keys), check_mode=True, diff=True)
    assert check['changed'] and list(check['reasons']) == ['permissions'] and tree(keys) == before
    assert '%s has mode 0644, owner 4242:4242, mode 0600, owner 0:4242 wanted' % target in check['reasons'][
        'permissions']
    result, dummy = run_module(module, args(keys), diff=True)
    assert result['changed'] and list(result['reasons']) == ['permissions']
    assert result['diff']['before']['file_attributes'][target] == 'mode 0644, owner 4242:4242'
    assert result['diff']['after']['file_attributes'][target] == 'mode 0600, owner 0:4242'
    st_ = os.stat(target)
    assert stat.S_IMODE(st_.st_mode) == 0o600 and st_.st_uid == 0
    again, dummy = run_module(module, args(keys))
    assert not again['changed']


@pytest.mark.parametrize('entry', ['host_key', 'iff_group_key', 'imported_params'])
def test_mode_option_is_applied_to_existing_files(tmp_path, templates, entry):
    keys = tmp_path / 'keys'
    shutil.copytree(str(templates[entry]), str(keys), symlinks=True)
    module, args, link = ENTRIES[entry]
    result, dummy = run_module(module, args(keys, mode='0640'))
    assert result['changed'] and list(result['reasons']) == ['permissions']
    for name in os.listdir(str(keys)):
        if not os.path.islink(str(keys / name)):
            assert stat.S_IMODE(os.stat(str(keys / name)).st_mode) == 0o640, name
    again, dummy = run_module(module, args(keys, mode='0640'))
    assert not again['changed']


def test_missing_keysdir_in_check_mode_stays_missing(tmp_path):
    for module, args in ((host_keys, host_args), (group_keys, group_args)):
        result, dummy = run_module(module, args(tmp_path / 'new'), check_mode=True)
        assert result['changed'] and not (tmp_path / 'new').exists()


def test_failed_first_run_leaves_no_keysdir(tmp_path):
    result, dummy = run_module(group_keys, dict(keysdir=str(tmp_path / 'new'), scheme='iff', group='lab',
                                                server_key=False, content='# ntpkey_iffpar_lab.1\nnot a key\n'))
    assert result['failed'] and not (tmp_path / 'new').exists()
