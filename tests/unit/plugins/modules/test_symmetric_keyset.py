# SPDX-License-Identifier: GPL-3.0-or-later
"""symmetric_keyset: allocation without collisions, rotation then retirement, damaged and hostile sets refused,
no secret in the result. Secrets are never compared or printed as they are (fingerprint() only)."""

import fcntl
import hashlib
import json
import os
import stat
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import keyset
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.symmetric import (
    SymmetricKeyError, check_key, ntpq_password)
from ansible_collections.ntp.autokey.plugins.modules import symmetric_keyset

from helpers import run_module, tree

KEYS = [dict(name='upstream'), dict(name='control', purpose='control'), dict(name='legacy', type='MD5')]
SECRET = '11' * 16  # a secret planted in hostile files: must never show in a message


def run(path, raw=False, **kw):
    check = kw.pop('check', False)
    args = dict(path=str(path), keys=KEYS)
    args.update(kw)
    result, text = run_module(symmetric_keyset, args, check_mode=check, diff=True)
    return (result, text) if raw else result


def stored(path):
    """{id: key} of the key set file, as a task that needs the secrets reads it."""
    with open(str(path)) as handle:
        data = json.load(handle)
    return dict((k['id'], k) for g in data['keys'].values() for k in g.values())


def fingerprint(keys):
    """{id: (type, short hash of the secret)}: comparable, and safe to show in a failure."""
    return dict((i, (k['type'], hashlib.sha256(k['secret'].encode()).hexdigest()[:12])) for i, k in keys.items())


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_keys_made_once_with_free_ids(tmp_path):
    path = tmp_path / 'set.json'
    first = run(path, reserved_ids=[1, 3])
    assert first['changed']
    # in the order listed, skipping the reserved IDs
    assert first['ids'] == {'upstream': {'current': 2}, 'control': {'current': 4}, 'legacy': {'current': 5}}
    assert mode_of(path) == 0o600
    keys = stored(path)
    assert sorted(keys) == [2, 4, 5]
    for key in keys.values():
        check_key(dict(key, format='hex'), 'ntpd')
    assert ntpq_password(check_key(dict(keys[4], format='hex'), 'ntpd')).isalnum()
    second = run(path, reserved_ids=[1, 3])
    assert not second['changed'] and second['keys'] == first['keys']
    assert fingerprint(stored(path)) == fingerprint(keys)


def test_result_holds_no_secret(tmp_path):
    """Item 5: names, IDs, types and creation times, never a secret (not even under another field)."""
    path = tmp_path / 'set.json'
    result, raw = run(path, raw=True)
    secrets = [k['secret'] for k in stored(path).values()]
    assert len(secrets) == 3
    assert not any(s in raw for s in secrets), 'a secret is in the module output'
    assert not any(bytes.fromhex(s).decode('latin-1') in raw for s in secrets if len(s) >= 32)
    assert [(k['name'], k['state'], k['id'], k['type'], k['planned']) for k in result['keys']] == [
        ('upstream', 'current', 1, 'AES128CMAC', False), ('control', 'current', 2, 'AES128CMAC', False),
        ('legacy', 'current', 3, 'MD5', False)]
    assert all(set(k) == {'name', 'state', 'id', 'type', 'created', 'planned'} for k in result['keys'])
    assert result['path'] == str(path)
    rotated, raw = run(path, raw=True, rotate=['upstream'])
    assert not any(k['secret'] in raw for k in stored(path).values()), 'a secret is in the module output'
    assert [(k['name'], k['state'], k['id']) for k in rotated['keys']] == [
        ('upstream', 'previous', 1), ('control', 'current', 2), ('legacy', 'current', 3),
        ('upstream', 'current', 4)]


def test_check_mode_plans_without_inventing_secrets(tmp_path):
    """Item 5: check mode lists the keys it would make as planned, with no secret and nothing written; the
    real run then makes them with the planned IDs."""
    path = tmp_path / 'set.json'
    planned, raw = run(path, raw=True, check=True)
    assert planned['changed'] and os.listdir(str(tmp_path)) == []  # not even a lock file
    assert 'secret' not in raw
    assert [(k['name'], k['id'], k['planned']) for k in planned['keys']] == [
        ('upstream', 1, True), ('control', 2, True), ('legacy', 3, True)]
    assert all('created' not in k for k in planned['keys'])
    made = run(path)
    assert made['ids'] == planned['ids']
    rotation, raw = run(path, raw=True, check=True, rotate=['upstream'])
    assert not any(k['secret'] in raw for k in stored(path).values()), 'a secret is in the module output'
    assert [(k['name'], k['state'], k['id'], k['planned']) for k in rotation['keys']] == [
        ('upstream', 'previous', 1, False), ('control', 'current', 2, False), ('legacy', 'current', 3, False),
        ('upstream', 'current', 4, True)]
    assert sorted(stored(path)) == [1, 2, 3]
    assert run(path, rotate=['upstream'])['ids'] == rotation['ids']


def test_rotation_keeps_the_previous_key_until_retired(tmp_path):
    path = tmp_path / 'set.json'
    made = run(path)
    rotated = run(path, rotate=['upstream'])
    assert rotated['ids']['upstream'] == {'current': 4, 'previous': made['ids']['upstream']['current']}
    assert rotated['reasons'] == {'upstream': 'rotated: key 4 (AES128CMAC) is current, key 1 previous until it is '
                                              'retired'}
    assert not run(path, rotate=['upstream'])['changed']  # a rerun after an interruption rotates nothing
    retired = run(path, retire=['upstream'])
    assert retired['ids']['upstream'] == {'current': 4}
    # the retired key 1 is never allocated again
    assert run(path, rotate=['upstream'])['ids']['upstream'] == {'current': 5, 'previous': 4}


@pytest.mark.parametrize('start', [0o644, 0o640, 0o400, 0o4600])
def test_other_mode_is_set_to_0600_and_reported(tmp_path, start):
    """Item 2: a key set file of another mode becomes 0600, reported as a change (check mode: would change,
    changes nothing); its keys stay as they are."""
    path = tmp_path / 'set.json'
    run(path)
    keys = fingerprint(stored(path))
    os.chmod(str(path), start)
    before = tree(tmp_path)
    checked = run(path, check=True)
    assert checked['changed'] and checked['reasons'] == {str(path): 'mode %04o set to 0600: the file holds the '
                                                                    'secrets' % start}
    assert tree(tmp_path) == before
    fixed = run(path)
    assert fixed['changed'] and fixed['reasons'] == checked['reasons']
    assert mode_of(path) == 0o600 and fingerprint(stored(path)) == keys
    assert not run(path)['changed']


def test_other_mode_with_a_key_change_is_written_0600(tmp_path):
    path = tmp_path / 'set.json'
    run(path)
    os.chmod(str(path), 0o644)
    result = run(path, rotate=['legacy'])
    assert set(result['reasons']) == {'legacy', str(path)} and mode_of(path) == 0o600


def test_lock_is_held_during_the_run_and_removed_after(tmp_path, monkeypatch):
    """Item 1: the run holds an exclusive flock on PATH.lock (mode 0600) from reading to replacing the file and
    removes it at the end; a run that cannot get it within lock_timeout fails naming the lock and changes
    nothing; check mode takes no lock."""
    path = tmp_path / 'set.json'
    lock = tmp_path / 'set.json.lock'
    seen = []
    real_read = symmetric_keyset.read

    def spying_read(name):
        fd = os.open(str(lock), os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        seen.append(mode_of(lock))
        return real_read(name)

    monkeypatch.setattr(symmetric_keyset, 'read', spying_read)
    assert run(path)['changed'] and seen == [0o600]
    monkeypatch.setattr(symmetric_keyset, 'read', real_read)
    assert sorted(os.listdir(str(tmp_path))) == ['set.json']
    lock.write_bytes(b'')
    before = tree(tmp_path)
    fd = os.open(str(lock), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        started = time.time()
        result = run(path, lock_timeout=1, rotate=['upstream'])
        assert result['failed'] and 'another run has held the lock %s' % lock in result['msg']
        assert 'Nothing was changed' in result['msg'] and time.time() - started >= 1
        assert tree(tmp_path) == before
        assert run(path, check=True, lock_timeout=0, rotate=['upstream'])['changed']
    finally:
        os.close(fd)
    assert run(path, rotate=['upstream'])['changed']
    assert sorted(os.listdir(str(tmp_path))) == ['set.json']


def test_a_run_that_waited_on_a_removed_lock_file_takes_the_new_one(tmp_path, monkeypatch):
    """The lock file is removed by the run that held it; a run that opened it before must not go on with the
    removed file's lock while a third run holds the new one."""
    path = tmp_path / 'set.json'
    lock = str(tmp_path / 'set.json.lock')
    real_flock, calls = fcntl.flock, []

    def flock(fd, op):
        if not calls:  # first attempt: another run removes the file and a new one is made and locked
            os.unlink(lock)
            other = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
            real_flock(other, fcntl.LOCK_EX)
            calls.append(other)
            return real_flock(fd, op)
        if len(calls) == 1:
            calls.append(None)
            os.unlink(lock)  # the other run ends: removes its lock file, then lets go
            os.close(calls[0])
        return real_flock(fd, op)

    monkeypatch.setattr(symmetric_keyset.fcntl, 'flock', flock)
    assert run(path)['changed']
    assert len(calls) == 2 and not os.path.exists(lock)


@pytest.mark.parametrize('kind', ['symlink', 'fifo', 'directory'])
def test_hostile_lock_file_is_refused(tmp_path, kind):
    path = tmp_path / 'set.json'
    lock = str(tmp_path / 'set.json.lock')
    {'symlink': lambda: os.symlink(str(tmp_path / 'elsewhere'), lock), 'fifo': lambda: os.mkfifo(lock),
     'directory': lambda: os.mkdir(lock)}[kind]()
    before = tree(tmp_path)
    result = run(path)
    assert result['failed'] and 'lock file %s' % lock in result['msg'] and 'remove it' in result['msg']
    assert tree(tmp_path) == before


def test_missing_directory_is_named(tmp_path):
    result = run(tmp_path / 'missing' / 'set.json')
    assert result['failed'] and 'directory %s does not exist' % (tmp_path / 'missing') in result['msg']
    assert os.listdir(str(tmp_path)) == []


def test_check_mode_writes_nothing(tmp_path):
    result = run(tmp_path / 'set.json', check=True)
    assert result['changed'] and os.listdir(str(tmp_path)) == []


DUPLICATES = [
    ('{"version": 1, "keys": {"a": {"current": {"id": 1, "type": "MD5", "secret": "%s"}},'
     ' "a": {"current": {"id": 2, "type": "MD5", "secret": "%s"}}}}' % ('00' * 16, SECRET), 'a'),
    ('{"version": 1, "keys": {"a": {"current": {"id": 1, "id": 2, "type": "MD5", "secret": "%s"}}}}' % SECRET,
     'id'),
    ('{"version": 1, "version": 1, "keys": {}}', 'version'),
    ('{"version": 1, "keys": {"b": {"current": {"id": 1, "type": "MD5", "secret": "%s"},'
     ' "current": {"id": 1, "type": "MD5", "secret": "%s"}}}}' % (SECRET, SECRET), 'current'),
]


@pytest.mark.parametrize('text, name', DUPLICATES)
def test_duplicate_name_is_refused(tmp_path, text, name):
    """Item 3: json would keep the last of two equal names (and the first key's ID could be handed out again):
    one message naming the file, the name and the fix; nothing changed."""
    path = tmp_path / 'set.json'
    path.write_text(text)
    before = tree(tmp_path)
    result = run(path)
    assert result['failed']
    assert result['msg'].startswith('%s: the name "%s" appears twice in one JSON object' % (path, name))
    assert 'so that "%s" appears once' % name in result['msg'] and SECRET not in result['msg']
    assert tree(tmp_path) == before
    assert run(path, check=True)['failed']


@pytest.mark.parametrize('text', [
    '[' * 100000 + ']' * 100000,
    '{"a": ' * 100000 + '1' + '}' * 100000,
    '{"version": 1, "keys": {}, "retired": [' + '[' * 100000,  # unterminated as well
    '{"version": 1, "keys": {"a": {"current": {"id": 1, "type": "MD5", "secret": "%s", "created": %s%s}}}}' % (
        SECRET, '[' * 17, ']' * 17),
])
def test_deep_nesting_is_refused(tmp_path, text):
    """Item 4: no RecursionError traceback: one message naming the file; nothing changed."""
    path = tmp_path / 'set.json'
    path.write_text(text)
    before = tree(tmp_path)
    result = run(path)
    assert result['failed'] and 'exception' not in result
    assert result['msg'] == ('%s nests deeper than 16 levels, which no key set does (a key set has 4): it is not a '
                             'key set. Restore it from its backup or vault; it is never overwritten' % path)
    assert tree(tmp_path) == before


def test_brackets_in_strings_do_not_count_as_nesting(tmp_path):
    path = tmp_path / 'set.json'
    run(path)
    data = json.loads(path.read_text())
    data['keys']['upstream']['current']['created'] = '[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{\\"[['
    path.write_text(json.dumps(data))
    assert run(path)['changed'] is False


def test_huge_number_is_refused_quickly(tmp_path):
    path = tmp_path / 'set.json'
    path.write_text('{"version": 1, "keys": {}, "retired": [%s]}' % ('9' * 1000000))
    before = tree(tmp_path)
    started = time.time()
    result = run(path)
    assert time.time() - started < 5
    assert result['failed'] and str(path) in result['msg'] and 'more than 20 digits' in result['msg']
    assert tree(tmp_path) == before


def test_oversize_file_is_refused(tmp_path):
    path = tmp_path / 'set.json'
    with open(str(path), 'wb') as handle:
        handle.truncate(keyset.MAX_SIZE + 1)  # sparse: no disk used
    os.chmod(str(path), 0o600)
    before = os.stat(str(path))
    result = run(path)
    assert result['failed'] and str(path) in result['msg'] and 'larger than %d bytes' % keyset.MAX_SIZE in result['msg']
    after = os.stat(str(path))
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)


@pytest.mark.parametrize('kind', ['fifo', 'directory'])
def test_not_a_regular_file_is_refused(tmp_path, kind):
    path = tmp_path / 'set.json'
    (os.mkfifo if kind == 'fifo' else os.mkdir)(str(path))
    before = tree(tmp_path)
    result = run(path)  # a FIFO never blocks the run
    assert result['failed'] and str(path) in result['msg'] and ('a FIFO' if kind == 'fifo' else 'a directory') \
        in result['msg']
    assert tree(tmp_path) == before


@pytest.mark.parametrize('text, message', [
    ('{"version": 1, "keys": {"a": {"current": {"id": 1, "type": "AES128CMAC", "secret": "00"}}}}',
     'AES128CMAC secret has 16 bytes'),
    ('{"version": 1, "keys": {"a": {"current": {"id": 70000, "type": "MD5", "secret": "%s"}}}}' % ('00' * 16),
     'reserves for Autokey'),
    ('{"version": 1, "keys": {"a": {"current": {"id": 1, "type": "MD5", "secret": "%s"}},'
     ' "b": {"current": {"id": 1, "type": "MD5", "secret": "%s"}}}}' % ('00' * 16, SECRET), 'key ID 1 is held'),
    ('not json', 'not JSON'),
    ('[]', 'not a key set of version 1'),
    ('{"version": 1, "keys": {"../x": {"current": {}}}}', 'is not a named key'),
])
def test_damaged_set_is_refused_and_left_alone(tmp_path, text, message):
    path = tmp_path / 'set.json'
    path.write_text(text)
    before = tree(tmp_path)
    result = run(path)
    assert result['failed'] and message in result['msg'] and str(path) in result['msg']
    assert SECRET not in result['msg']
    assert tree(tmp_path) == before


def test_link_is_never_followed(tmp_path):
    target = tmp_path / 'elsewhere.json'
    target.write_text(json.dumps(dict(version=1, keys={})))
    os.symlink(str(target), str(tmp_path / 'set.json'))
    result = run(tmp_path / 'set.json')
    assert result['failed'] and 'link' in result['msg']


def test_rotate_and_retire_one_name_in_one_run_is_refused(tmp_path):
    result = run(tmp_path / 'set.json', rotate=['upstream'], retire=['upstream'])
    assert result['failed'] and 'both rotated and retired' in result['msg']


# -- the JSON reader, property-based ------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10 ** 30, 10 ** 30) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=40)


def true_depth(value):
    if isinstance(value, list):
        return 1 + max([true_depth(v) for v in value] or [0])
    if isinstance(value, dict):
        return 1 + max([true_depth(v) for v in value.values()] or [0])
    return 0


@settings(max_examples=300, deadline=None)
@given(JSON, st.booleans())
def test_depth_is_the_nesting_of_any_json(value, ascii_only):
    assert keyset.depth(json.dumps(value, ensure_ascii=ascii_only)) == min(true_depth(value), keyset.MAX_DEPTH + 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_any_json_is_read_as_it_is_or_refused_by_name(value):
    """parse() gives back what json gives back, or one SymmetricKeyError naming the file; no other exception."""
    text = json.dumps(value)
    try:
        parsed = keyset.parse(text, '/x/set.json')
    except SymmetricKeyError as exc:
        assert str(exc).startswith('/x/set.json') and ('20 digits' in str(exc) or 'deeper' in str(exc))
        return
    assert parsed == json.loads(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='{}[]",:\\0123456789 ab-e.', max_size=60) | st.text(max_size=60))
def test_any_text_is_loaded_or_refused_by_name(text):
    try:
        keyset.load(text, '/x/set.json')
    except SymmetricKeyError as exc:
        assert str(exc).startswith('/x/set.json')


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=6), JSON, min_size=1, max_size=5), st.data())
def test_a_name_twice_in_any_object_is_refused(value, data):
    name = data.draw(st.sampled_from(sorted(value)))
    body = json.dumps(value)
    doubled = '{%s: null, %s' % (json.dumps(name), body[1:])
    with pytest.raises(SymmetricKeyError) as caught:
        keyset.parse('{"outer": [%s]}' % doubled, '/x/set.json')
    message = str(caught.value)
    assert message.startswith('/x/set.json')
    assert 'appears twice' in message or 'deeper' in message or '20 digits' in message
