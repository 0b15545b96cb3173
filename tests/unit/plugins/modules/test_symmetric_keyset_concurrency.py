# SPDX-License-Identifier: GPL-3.0-or-later
"""symmetric_keyset: many runs on one key set file at the same time, round after round.

PROCESSES module runs start together (a barrier) in each round. Every run lists the set's keys (keys not listed
are removed, by design): the shared names and one new name per process per round so far, its own new name
first, the rest shuffled. After its run, each process reads the file as a task that needs the secrets would
(the module returns none) and records what it saw. Then:

* every ID has had exactly one secret, in every file any run saw and in the final one;
* every name has had exactly one ID, and every run reported the IDs the final file holds;
* every name ever handed out is in the final file, with the secret it was handed; no two names share an ID.

Without the lock, two runs read the same set and the last to write loses the other's keys, or gives one ID two
secrets. Secrets never leave the workers: they are compared as short hashes only.
"""

import hashlib
import json
import multiprocessing
import os
import random
import traceback

from ansible_collections.ntp.autokey.plugins.modules import symmetric_keyset

from helpers import run_module

PROCESSES = 8
ROUNDS = 4
ITERATIONS = 16
SHARED = [dict(name='upstream'), dict(name='control', purpose='control'), dict(name='legacy', type='MD5')]


def new_name(process, round_):
    return 'p%d-r%d' % (process, round_)


def seen(path):
    """{name: {state: (id, hash of the secret)}} of the key set file."""
    with open(path) as handle:
        data = json.load(handle)
    return dict((name, dict((state, (k['id'], hashlib.sha256(k['secret'].encode()).hexdigest()[:12]))
                            for state, k in generations.items()))
                for name, generations in data['keys'].items())


def worker(path, process, barrier, queue):
    records = []
    try:
        rng = random.Random(process)
        for round_ in range(ROUNDS):
            others = [dict(name=new_name(p, r)) for p in range(PROCESSES) for r in range(round_ + 1)
                      if (p, r) != (process, round_)]
            rng.shuffle(others)
            keys = [dict(name=new_name(process, round_))] + SHARED + others
            barrier.wait(timeout=60)
            result, dummy = run_module(symmetric_keyset, dict(path=path, keys=keys))
            if result.get('failed'):
                records.append(('failed', round_, result.get('msg')))
            else:
                records.append(('ids', round_, result['ids']))
                records.append(('seen', round_, seen(path)))
    except Exception:
        records.append(('error', process, traceback.format_exc(limit=3)))
    queue.put((process, records))


def run_iteration(path):
    context = multiprocessing.get_context('fork')
    barrier = context.Barrier(PROCESSES)
    queue = context.Queue()
    workers = [context.Process(target=worker, args=(path, n, barrier, queue)) for n in range(PROCESSES)]
    for one in workers:
        one.start()
    records = []
    try:
        for dummy in workers:
            records.extend(queue.get(timeout=120)[1])
    finally:
        for one in workers:
            one.join(timeout=10)
            if one.is_alive():
                one.kill()
    return records


def problems_of(path, records):
    """What went wrong in one iteration (no secret in it), empty when nothing did."""
    problems = [r for r in records if r[0] in ('failed', 'error')]
    final = seen(path)
    expected = set(d['name'] for d in SHARED) | set(new_name(p, r) for p in range(PROCESSES) for r in range(ROUNDS))
    if set(final) != expected:
        problems.append(('names lost or extra', sorted(expected - set(final)), sorted(set(final) - expected)))
    secrets_of_id, ids_of_name = {}, {}
    for kind, round_, what in records + [('seen', 'final', final)]:
        if kind == 'seen':
            for name, generations in what.items():
                for state, (key_id, secret) in generations.items():
                    secrets_of_id.setdefault(key_id, set()).add(secret)
                    ids_of_name.setdefault((name, state), set()).add(key_id)
        elif kind == 'ids':
            for name, generations in what.items():
                for state, key_id in generations.items():
                    ids_of_name.setdefault((name, state), set()).add(key_id)
    problems.extend(('ID with %d secrets' % len(s), key_id) for key_id, s in sorted(secrets_of_id.items())
                    if len(s) != 1)
    problems.extend(('name with IDs', name, sorted(i)) for name, i in sorted(ids_of_name.items()) if len(i) != 1)
    states = [(name, state) for name, generations in final.items() for state in generations]
    if states != [(name, 'current') for name in final]:
        problems.append(('a key was rotated', states))
    holders = {}
    for name, generations in final.items():
        for key_id, secret in generations.values():
            holders.setdefault(key_id, []).append(name)
            if secrets_of_id.get(key_id) != {secret}:
                problems.append(('final secret differs from one handed out', name, key_id))
    problems.extend(('ID shared', key_id, names) for key_id, names in sorted(holders.items()) if len(names) > 1)
    return problems


def test_parallel_runs_lose_no_key_and_give_each_id_one_secret(tmp_path):
    for iteration in range(ITERATIONS):
        path = str(tmp_path / ('set-%d.json' % iteration))
        records = run_iteration(path)
        assert sum(1 for r in records if r[0] == 'ids') == PROCESSES * ROUNDS, [r for r in records if r[0] != 'seen']
        problems = problems_of(path, records)
        assert not problems, 'iteration %d: %r' % (iteration, problems[:10])
        assert oct(os.stat(path).st_mode & 0o777) == '0o600'
        # no lock file nor temporary file is left behind
        assert sorted(os.listdir(str(tmp_path))) == sorted('set-%d.json' % i for i in range(iteration + 1))
