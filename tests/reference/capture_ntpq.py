# SPDX-License-Identifier: GPL-3.0-or-later
"""Record what status_info reads on the hosts of fleet_lab, for the unit tests of the status parser.

Usage (root, lab rootfs installed): python3 tests/reference/capture_ntpq.py [fleet|unmanaged ...]
With AUTOKEY_NTPD_BUILD naming another build than debian11 (lab/ntplab.py), the fleet runs on that build and the
files are named after it: fleet-4.2.8p18.json for fleet.json.
Writes tests/unit/fixtures/ntpq/fleet.json: {filestamp, early|settled|stale: {host: snapshot}}, and
tests/unit/fixtures/ntpq/unmanaged.json: the trusted host made with stock ntp-keygen, re-keyed, each restart
order, remedied ({filestamp, new_filestamp, <state>: {host: snapshot, 'thx@gs': thx queried from gs}}).
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

OUT = os.path.join(os.path.dirname(HERE), 'unit', 'fixtures', 'ntpq',
                   '%s.json' if ntplab.DEFAULT_BUILD == ntplab.DEBIAN11 else '%s-' + ntplab.DEFAULT_BUILD + '.json')
RUNS = {'fleet': fleet_lab.run_states, 'unmanaged': fleet_lab.run_unmanaged_states}


def main():
    ntplab.reap_stale()
    for name in sys.argv[1:] or sorted(RUNS):
        lab = ntplab.Lab()
        try:
            dummy, states = RUNS[name](lab)
        finally:
            lab.close()
        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        states['ntpd_version'] = ntplab.build().version()
        with open(OUT % name, 'w') as handle:
            json.dump(states, handle, indent=1, sort_keys=True)
        print('wrote', OUT % name)


if __name__ == '__main__':
    main()
