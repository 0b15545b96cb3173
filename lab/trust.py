# SPDX-License-Identifier: GPL-3.0-or-later
"""Print the verified trust of every Autokey association of the lab containers.

Usage: python3 lab/trust.py CONTAINER...   (reads ntpq and cryptostats through podman exec)
"""

import re
import subprocess
import sys

FLAG_NAMES = [(0x0100, 'CERT'), (0x0200, 'VRFY'), (0x0400, 'PROV'), (0x0800, 'COOK'), (0x1000, 'AUTO'),
              (0x2000, 'SIGN'), (0x4000, 'LEAP'), (0x20, 'IFF'), (0x40, 'GQ'), (0x80, 'MV')]
SCHEMES = {0x20: 'iff', 0x40: 'gq', 0x80: 'mv'}


def podman(container, *command):
    return subprocess.run(['podman', 'exec', container] + list(command), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False).stdout


def decode(flags):
    return 'NID %d %s' % (flags >> 16, '+'.join(name for bit, name in FLAG_NAMES if flags & bit))


def association(container):
    out = podman(container, 'ntpq', '-n', '-c', 'as', '-c', 'rv &1 flags,host,ident')
    flags = re.search(r'flags=(0x[0-9a-f]+)', out)
    if not flags:
        return None
    row = re.search(r'^\s*1\s+\d+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)', out, re.M)
    host = re.search(r'host="([^"]*)"', out)
    return int(flags.group(1), 16), row.group(1) if row else '?', host.group(1) if host else '?'


def verdict(flags, condition, proof):
    scheme = next((name for bit, name in SCHEMES.items() if flags & bit), None)
    if not scheme:
        return 'NOT PROTECTED: upstream offers no identity scheme (TC fallback)'
    if not flags & 0x200:
        return 'NOT VERIFIED'
    if not proof:
        return 'NOT PROTECTED: VRFY without an identity exchange'
    if flags & 0x7F00 != 0x7F00 or condition != 'sys.peer':
        return 'verified, not yet synchronised'
    return 'verified through %s' % scheme.upper()


def main(containers):
    header = ('host', 'upstream', 'flags', 'state', 'decoded', 'identity proof', 'verdict')
    print('%-6s %-12s %-11s %-10s %-48s %-24s %s' % header)
    bad = 0
    for container in containers:
        assoc = association(container)
        if assoc is None:
            continue  # no upstream association (a trusted host on its own clock)
        flags, condition, upstream = assoc
        stats = podman(container, 'cat', '/var/log/ntpstats/cryptostats')
        proofs = re.findall(r'\b(?:iff|gq|mv) \S+ fs \d+', stats)
        text = verdict(flags, condition, proofs[-1] if proofs else '')
        bad += not text.startswith('verified through')
        print('%-6s %-12s %-11s %-10s %-48s %-24s %s' % (container, upstream, hex(flags), condition, decode(flags),
                                                         proofs[-1] if proofs else 'none', text))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
