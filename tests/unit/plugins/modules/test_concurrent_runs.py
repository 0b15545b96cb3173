# SPDX-License-Identifier: GPL-3.0-or-later
"""Two module processes on one keysdir at once, round after round: the links always form one
consistent set (the certificate carries the host key; params, server key and group key share the
group key's filestamp and pass the identity exchange), and every run that reports success left such
a set. A failure in the middle of apply leaves the old set linked."""
import multiprocessing
import os
import time
import traceback

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import files
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.group_material import GroupMaterial
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.host_material import HostMaterial
from ansible_collections.ntp.autokey.plugins.modules import group_keys, host_keys

from helpers import run_module

PW = 'Concurrent-Secret-7'
SECONDS = 2.5


def host_args(keys, **kw):
    return dict(dict(keysdir=keys, host='th', group='lab', passphrase=PW, size=1024, trusted=True), **kw)


def group_args(keys, scheme, **kw):
    return dict(dict(keysdir=keys, scheme=scheme, group='lab', generate=True, passphrase=PW,
                     size=512 if scheme == 'iff' else 256), **kw)


def inconsistency(keys, scheme=None, host=True):
    """None when the links form one consistent set (host material, and the group material of
    `scheme`), else what is wrong. Read under a shared lock, as group_keys_info reads."""
    reasons, state = {}, {}
    with KeysDir(keys).locked(exclusive=False):
        host = HostMaterial(KeysDir(keys), 'th', PW, group='lab', size=1024, trusted=True).plan() if host else {}
        if scheme:
            group = GroupMaterial(KeysDir(keys), scheme, 'lab', passphrase=PW, generate=True,
                                  size=512 if scheme == 'iff' else 256)
            reasons = group.plan()
            state = group.describe()
    stamps = set(role['filestamp'] for role in state.values()) or {None}
    if host or reasons or len(stamps) != 1:
        return 'host %r, group %r, filestamps %r' % (host, reasons, state)
    return None


def worker(keys, scheme, deadline, queue):
    rounds, problems = 0, []
    try:
        while time.time() < deadline:
            for module, args in ((host_keys, host_args(keys, regenerate='always', backup=rounds % 2 == 0)),
                                 (group_keys, group_args(keys, scheme, regenerate='always'))):
                result, dummy = run_module(module, args)
                if result.get('failed'):
                    problems.append('failed: %s' % result['msg'])
            rounds += 1
            problem = inconsistency(keys, scheme)
            if problem:
                problems.append('after round %d: %s' % (rounds, problem))
    except Exception:
        problems.append(traceback.format_exc())
    queue.put((rounds, problems))


@pytest.mark.parametrize('scheme', ['iff', 'mv'])
def test_two_processes_on_one_keysdir(tmp_path, scheme):
    keys = str(tmp_path / 'keys')
    for module, args in ((host_keys, host_args(keys)), (group_keys, group_args(keys, scheme))):
        result, dummy = run_module(module, args)
        assert result['changed']
    ctx = multiprocessing.get_context('fork')
    queue = ctx.Queue()
    deadline = time.time() + SECONDS
    workers = [ctx.Process(target=worker, args=(keys, scheme, deadline, queue)) for dummy in range(2)]
    for process in workers:
        process.start()
    observed, problems = 0, []
    while any(p.is_alive() for p in workers) and time.time() < deadline + 60:
        problem = inconsistency(keys, scheme)
        observed += 1
        if problem:
            problems.append('observed: %s' % problem)
        time.sleep(0.02)
    reports = [queue.get(timeout=60) for dummy in workers]
    for process in workers:
        process.join(10)
    rounds = sum(r for r, dummy in reports)
    problems += [p for dummy, ps in reports for p in ps]
    assert not problems, problems[:3]
    assert rounds >= 4 and observed >= 2, (rounds, observed)
    assert not [n for n in os.listdir(keys) if n.startswith('.')]  # no temporary file left behind


def fail_at(monkeypatch, count):
    """Make the `count`-th rename fail (the swap renames staged entries into place)."""
    real, calls = os.rename, []

    def rename(src, dst, *args, **kw):
        calls.append(dst)
        if len(calls) == count:
            raise OSError(5, 'Input/output error (injected)')
        return real(src, dst, *args, **kw)
    monkeypatch.setattr(files.os, 'rename', rename)
    return calls


def listing(keys):
    out = {}
    for name in sorted(os.listdir(keys)):
        path = os.path.join(keys, name)
        if os.path.islink(path):
            out[name] = os.readlink(path)
        else:
            with open(path, 'rb') as handle:
                out[name] = handle.read()
    return out


@pytest.mark.parametrize('entry', ['host', 'iff', 'mv'])
def test_failure_in_the_middle_of_apply_keeps_the_old_set(tmp_path, monkeypatch, entry):
    keys = str(tmp_path / 'keys')
    module, args = (host_keys, host_args(keys)) if entry == 'host' else (group_keys, group_args(keys, entry))
    run_module(module, args)
    for count in range(1, 8):
        before = listing(keys)
        calls = fail_at(monkeypatch, count)
        result, dummy = run_module(module, dict(args, regenerate='always', backup=False))
        monkeypatch.undo()
        if not result.get('failed'):
            assert len(calls) < count  # every rename of this run happened before the injected failure
            break
        assert 'injected' in result['msg'] and listing(keys) == before, count
        if entry == 'host':
            assert inconsistency(keys) is None
        else:
            assert inconsistency(keys, entry, host=False) is None
    else:
        pytest.fail('the apply needs more renames than expected')


def _first_run(keys, barrier, errors):
    try:
        barrier.wait(10)
        result, dummy = run_module(host_keys, host_args(keys))
        if result.get('failed'):
            errors.put(result['msg'])
    except Exception:  # noqa: BLE001  (reported, not hidden: the test fails with it)
        errors.put(traceback.format_exc())


def test_first_runs_on_a_missing_keysdir_at_once(tmp_path):
    """Each of several runs finds the keys directory missing and makes it; none may fail because another made it
    meanwhile ([Errno 17] File exists before)."""
    context = multiprocessing.get_context('fork')
    for trial in range(6):
        keys = str(tmp_path / ('keys%d' % trial) / 'ntp')
        barrier, errors = context.Barrier(4), context.Queue()
        workers = [context.Process(target=_first_run, args=(keys, barrier, errors)) for dummy in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        failures = []
        while not errors.empty():
            failures.append(errors.get())
        assert not failures, 'trial %d: %s' % (trial, failures[0])
        assert oct(os.stat(keys).st_mode & 0o777) == '0o750'


def test_a_keysdir_made_by_another_run_between_the_check_and_mkdir(tmp_path, monkeypatch):
    """The window itself, made certain: the check finds no directory, then another run makes it."""
    keys = tmp_path / 'ntp'
    real_isdir, calls = os.path.isdir, []

    def isdir(path):
        calls.append(path)
        if len(calls) == 1:
            os.mkdir(path, 0o750)  # the other run
            return False
        return real_isdir(path)
    monkeypatch.setattr(files.os.path, 'isdir', isdir)
    assert KeysDir(str(keys)).ensure() is False and real_isdir(str(keys))
