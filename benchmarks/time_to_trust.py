# SPDX-License-Identifier: GPL-3.0-or-later
"""Time to trust: how long an Autokey IFF chain TH -> GS -> CL takes to be verified and synchronised.

Real ntpd 4.2.8p15 daemons in network namespaces (lab/ntplab.py, without CAP_SYS_TIME). For each poll
setting of the GS and CL server lines, it measures:

* cold start: all three daemons started at once, until CL is verified (flags 0x7f00 with the IFF bit,
  ident, a fresh cryptostats `iff th@lab` line) and its upstream is sys.peer;
* GS restart: GS restarted alone, until GS is verified and synchronised again (a fresh exchange), and the
  longest time CL went without a verified, synchronised upstream meanwhile (CL keeps its trust in GS, whose
  host key did not change; it only loses sys.peer while GS is unsynchronised);
* CL restart: CL restarted alone, until it is verified and synchronised again (a fresh exchange).

Usage (root, after lab/setup.sh; the Python is the one lab/setup.sh installs):

    /var/cache/ntp-autokey/venv/bin/python benchmarks/time_to_trust.py "iburst minpoll 3 maxpoll 3" "iburst"

Each argument is the poll part of the server lines; the trusted host's own clock polls every 8 s.
"""

import argparse
import os
import re
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'lab'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'reference'))
import ntplab  # noqa: E402  pylint: disable=wrong-import-position
from keygen import collection_path  # noqa: E402  pylint: disable=wrong-import-position

sys.path.insert(0, collection_path())
from material import chain, identity_synchronised  # noqa: E402  pylint: disable=wrong-import-position


def synchronised_verified(host):
    return identity_synchronised(host, 'iff')[0]


def trusted(host, since):
    """Verified through a real exchange (a cryptostats line written after `since` bytes) and synchronised."""
    fresh = host.cryptostats()[since:]
    return synchronised_verified(host) and re.search(r'\biff th@lab fs \d+', fresh) is not None


def until_trusted(hosts, since, started, timeout):
    """Seconds from `started` until each host is trusted (None if not within timeout)."""
    times = {}

    def done():
        for host in hosts:
            if host.name not in times and trusted(host, since.get(host.name, 0)):
                times[host.name] = round(time.time() - started, 1)
        return len(times) == len(hosts)

    ntplab.wait_for(done, timeout, 1)
    return [times.get(host.name) for host in hosts]


def restart_upstream(gs, cl, timeout, settle=60):
    """Restart GS: seconds until it is trusted again, and CL's longest time without a verified, synchronised
    upstream, sampled every second until GS is trusted and then `settle` seconds more."""
    since = restart(gs)
    started = time.time()
    gs_again = None
    gap = longest = 0.0
    last = started
    while time.time() - started < timeout:
        now = time.time()
        if synchronised_verified(cl):
            gap = 0.0
        else:
            gap += now - last
            longest = max(longest, gap)
        last = now
        if gs_again is None and trusted(gs, since):
            gs_again = round(now - started, 1)
        if gs_again is not None and now - started > gs_again + settle:
            break
        time.sleep(1)
    return gs_again, round(longest, 1)


def restart(host):
    since = len(host.cryptostats())
    host.stop()
    host.start()
    return since


def measure(poll, timeout):
    lab = ntplab.Lab()
    try:
        dummy, (th, gs, cl) = chain(lab, 'iff', poll)
        started = time.time()
        for host in (th, gs, cl):
            host.start()
        gs_cold, cl_cold = until_trusted([gs, cl], {}, started, timeout)
        gs_again, cl_gap = restart_upstream(gs, cl, timeout)
        since = {'cl': restart(cl)}
        started = time.time()
        cl_alone, = until_trusted([cl], since, started, timeout)
        for host in (th, gs, cl):
            host.assert_off_the_clock()
        return [gs_cold, cl_cold, gs_again, cl_gap, cl_alone]
    finally:
        lab.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('polls', nargs='+', help='poll part of the server lines, e.g. "iburst minpoll 3 maxpoll 3"')
    parser.add_argument('--timeout', type=int, default=1200, help='seconds to wait for each step')
    args = parser.parse_args()
    # stopped: the lab's daemons and namespaces go too (Lab.close in measure's finally)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not ntplab.available():
        sys.exit('the reference lab is missing: run lab/setup.sh')
    print('# ntpd 4.2.8p15 (Debian 11), IFF, seconds until verified and sys.peer; "-" = not within %d s'
          % args.timeout)
    print('| server line poll options | cold start: GS | cold start: CL | GS restart: GS '
          '| GS restart: CL unsynchronised (longest) | CL restart: CL |')
    print('|---|---:|---:|---:|---:|---:|')
    for poll in args.polls:
        row = measure(poll, args.timeout)
        print('| `%s` | %s |' % (poll, ' | '.join('-' if value is None else '%g' % value for value in row)),
              flush=True)


if __name__ == '__main__':
    main()
