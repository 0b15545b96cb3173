# SPDX-License-Identifier: GPL-3.0-or-later
"""lab/locks.sh: an environment is compared with its lock by pip freeze, and each difference named."""

import os
import stat
import subprocess

import pytest

from conftest import ROOT

LOCKS = os.path.join(ROOT, 'lab', 'locks.sh')


def fake_environment(tmp_path, frozen):
    """A directory whose bin/pip prints `frozen` for `pip freeze`, as an environment would."""
    folder = tmp_path / 'venv'
    (folder / 'bin').mkdir(parents=True)
    pip = folder / 'bin' / 'pip'
    pip.write_text('#!/bin/sh\ncat <<"EOF"\n%sEOF\n' % ''.join(line + '\n' for line in frozen))
    pip.chmod(pip.stat().st_mode | stat.S_IXUSR)
    return str(folder)


def drift(tmp_path, locked, frozen):
    lock = tmp_path / 'env.txt'
    lock.write_text('# a lock, with comments\n\n' + ''.join(line + '\n' for line in locked))
    run = subprocess.run(['bash', '-c', '. "$0" && lock_drift "$1" "$2"', LOCKS,
                          fake_environment(tmp_path, frozen), str(lock)], capture_output=True, text=True, check=True)
    return run.stdout.splitlines()


def test_an_environment_that_matches_its_lock_has_no_drift(tmp_path):
    # order and comments do not matter
    assert drift(tmp_path, ['pytest==9.2.0', 'cryptography==51.0.1'], ['cryptography==51.0.1', 'pytest==9.2.0']) == []


@pytest.mark.parametrize('locked, frozen, expected', [
    (['cryptography==50.0.2'], ['cryptography==51.0.1'], ['cryptography: 50.0.2 -> 51.0.1']),
    (['cryptography==51.0.1', 'six==1.17.0'], ['cryptography==51.0.1'], ['six: 1.17.0 -> absent']),
    (['cryptography==51.0.1'], ['cryptography==51.0.1', 'yamllint==1.37.1'], ['yamllint: absent -> 1.37.1']),
    # names as pip writes them in one place and another
    (['ruamel.yaml.clib==0.2.15', 'typing_extensions==4.15.0'], ['ruamel.yaml.clib==0.2.15', 'typing-extensions==4.13.2'],
     ['typing_extensions: 4.15.0 -> 4.13.2']),
])
def test_each_difference_is_named(tmp_path, locked, frozen, expected):
    assert drift(tmp_path, locked, frozen) == expected


def test_every_lock_pins_exact_versions():
    folder = os.path.join(ROOT, 'tests', 'requirements')
    locks = sorted(name for name in os.listdir(folder) if name.endswith('.txt'))
    assert locks == ['cryptography-2.8.txt', 'newest.txt', 'oldest.txt', 'sanity.txt']
    for name in locks:
        with open(os.path.join(folder, name)) as handle:
            lines = [line.strip() for line in handle if line.strip() and not line.startswith('#')]
        assert lines and all(line.count('==') == 1 and ' ' not in line for line in lines), name
        assert os.path.exists(os.path.join(folder, name[:-len('.txt')] + '.in')), name
