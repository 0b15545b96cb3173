# SPDX-License-Identifier: GPL-3.0-or-later
"""ansible-doc renders every module, filter and role entry point of the collection."""

import glob
import json
import os
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, _collection_path

ANSIBLE_DOC = os.path.join(os.path.dirname(sys.executable), 'ansible-doc')


def _names(pattern):
    return sorted(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(ROOT, pattern))
                  if not os.path.basename(p).startswith('__'))


def _doc(kind, names):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collection_path(), ANSIBLE_NOCOLOR='1')
    run = subprocess.run([ANSIBLE_DOC, '--json', '-t', kind] + ['ntp.autokey.' + n for n in names],
                         env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert 'ERROR' not in run.stderr and 'WARNING' not in run.stderr, run.stderr
    return json.loads(run.stdout)


pytestmark = pytest.mark.skipif(not os.path.exists(ANSIBLE_DOC), reason='ansible-doc is not installed here')


def test_every_module_renders_with_examples_and_return():
    names = _names('plugins/modules/*.py')
    docs = _doc('module', names)
    for name in names:
        doc = docs['ntp.autokey.' + name]
        assert doc['doc']['short_description'] and doc['examples'] and doc['return'], name


def test_every_filter_renders():
    names = _names('plugins/filter/*.yml')
    docs = _doc('filter', names)
    for name in names:
        assert docs['ntp.autokey.' + name]['doc']['short_description'], name


def test_every_role_entry_point_is_described():
    roles = _names('roles/*')
    docs = _doc('role', roles)
    for role in roles:
        with open(os.path.join(ROOT, 'roles', role, 'meta', 'argument_specs.yml')) as handle:
            declared = set(yaml.safe_load(handle)['argument_specs'])
        tasks = set(_names('roles/%s/tasks/*.yml' % role))
        entry_points = docs['ntp.autokey.' + role]['entry_points']
        assert set(entry_points) == declared, role
        for name, entry in entry_points.items():
            assert entry.get('short_description') and entry.get('description'), (role, name)
            assert name in tasks, (role, name)


def test_action_group_keys_holds_every_module_with_a_keysdir():
    """module_defaults: {group/ntp.autokey.keys: {keysdir: ...}} reaches every module that takes a keys directory."""
    names = _names('plugins/modules/*.py')
    docs = _doc('module', names)
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as handle:
        group = yaml.safe_load(handle)['action_groups']['keys']
    assert sorted(group) == sorted(n for n in names if 'keysdir' in docs['ntp.autokey.' + n]['doc']['options'])
    for name in names:
        membership = docs['ntp.autokey.' + name]['doc'].get('attributes', {}).get('action_group', {}).get('membership')
        assert membership == (['ntp.autokey.keys'] if name in group else None), name
