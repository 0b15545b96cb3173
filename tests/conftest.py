# SPDX-License-Identifier: GPL-3.0-or-later
"""Make this checkout importable as ansible_collections.ntp.autokey."""

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collection_path():
    parts = ROOT.split(os.sep)
    if parts[-3:-1] == ['ansible_collections', 'ntp'] and parts[-1] == 'autokey':
        return os.sep.join(parts[:-3])
    base = tempfile.mkdtemp(prefix='ntp-autokey-')
    os.makedirs(os.path.join(base, 'ansible_collections', 'ntp'))
    os.symlink(ROOT, os.path.join(base, 'ansible_collections', 'ntp', 'autokey'))
    return base


sys.path.insert(0, _collection_path())
sys.path.insert(0, os.path.join(ROOT, 'tests', 'unit'))
