# SPDX-License-Identifier: GPL-3.0-or-later
"""The ntpq outputs, cryptostats and keysdir names captured from the lab by tests/reference/capture_ntpq.py:
fleet.json on Debian 11's ntpd, fleet-<build>.json on the other builds (AUTOKEY_NTPD_BUILD)."""

import glob
import json
import os

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import status

from helpers import FIXTURES

with open(os.path.join(FIXTURES, 'ntpq', 'fleet.json')) as _handle:
    FLEET = json.load(_handle)

BUILDS = {}
for _path in sorted(glob.glob(os.path.join(FIXTURES, 'ntpq', 'fleet-*.json'))):
    with open(_path) as _handle:
        BUILDS[os.path.basename(_path)[len('fleet-'):-len('.json')]] = json.load(_handle)

# host, state, verdict of each client and group server once the fleet settled
SETTLED_VERDICTS = [
    ('gs', 'verified', 'iff verified'),
    ('gsnokey', 'verified', 'iff verified'),
    ('cl', 'verified', 'iff verified'),
    ('clnoident', 'tc-only', 'tc-only: no ident on the server line'),
    ('clfallback', 'tc-fallback', 'tc-fallback: server offers no scheme'),
    ('clbadparams', 'failing', 'failing: 103 bad_filestamp'),
    ('clnoparams', 'failing', 'failing: no params file ntpkey_iffpar_lab'),
]

# the hosts of the fleet that serve IFF to others
SERVERS = ('th', 'gs', 'gsnokey')


def snapshot(state, host):
    return FLEET[state][host]


def assess_snapshot(snap, host, **kw):
    """status.assess on one captured host, told what it serves."""
    kw.setdefault('offers', 'iff' if host in SERVERS else None)
    return status.assess(snap['system'], snap['peers'], snap['cryptostats'], snap['files'], **kw)


def only_association(result):
    autokey = [a for a in result['associations'] if a['state'] != 'none']
    assert len(autokey) == 1
    return autokey[0]


def write_host_files(snap, tmp_path):
    """A host's cryptostats and keys directory (its links, and 'x' for its files) from a snapshot, under tmp_path:
    (cryptostats path, keys directory)."""
    stats = tmp_path / 'cryptostats'
    stats.write_text(snap['cryptostats'])
    keys = tmp_path / 'keys'
    keys.mkdir()
    for name, target in snap['files'].items():
        if target:
            os.symlink(target, str(keys / name))
        else:
            (keys / name).write_text('x')
    return stats, keys
