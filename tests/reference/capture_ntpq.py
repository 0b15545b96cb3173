# SPDX-License-Identifier: GPL-3.0-or-later
"""Record what status_info reads on the hosts of fleet_lab, for the unit tests of the status parser.

Usage (root, lab rootfs installed): python3 tests/reference/capture_ntpq.py
Writes tests/unit/fixtures/ntpq/fleet.json: {filestamp, early|settled|stale: {host: snapshot}}.
"""

import json
import os
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'lab')]
runpy.run_path(os.path.join(os.path.dirname(HERE), 'conftest.py'))  # makes the collection importable

import fleet_lab  # noqa: E402  pylint: disable=wrong-import-position
import ntplab  # noqa: E402  pylint: disable=wrong-import-position

OUT = os.path.join(os.path.dirname(HERE), 'unit', 'fixtures', 'ntpq', 'fleet.json')


def main():
    ntplab.reap_stale()
    lab = ntplab.Lab()
    try:
        dummy, states = fleet_lab.run_states(lab)
    finally:
        lab.close()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as handle:
        json.dump(states, handle, indent=1, sort_keys=True)
    print('wrote', OUT)


if __name__ == '__main__':
    main()
