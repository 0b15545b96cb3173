# SPDX-License-Identifier: GPL-3.0-or-later
"""Host key sizes against ntpd 4.2.8p15's extension-field budget.

The largest Autokey messages are CERT and SIGN: a certificate plus a
signature, both growing with the RSA modulus, in a packet ntpd builds in a
2048-byte extension area (NTP_MAXEXTEN) and receives into a buffer of about
2100 bytes. Every size host_keys accepts must complete the whole protocol
(all of 0x7f00, including SIGN) on a TH -> GS -> CL chain.
"""

import re
import time

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.host_material import MAX_BITS, MIN_BITS

import ntplab
from material import group_master, host_keys, install

SIZES = [MIN_BITS, 2048, 3072, MAX_BITS]


def _chain(lab, bits):
    th, gs, cl = (lab.host('%s%d' % (role, bits)) for role in ('th', 'gs', 'cl'))
    master = group_master(th.host_keysdir, 'iff', 'thpw', size=1024)
    exports = master.exports('transport')
    host_keys(th.host_keysdir, 'th', 'thpw', group='lab', trusted=True, size=bits)
    th.write_conf(['crypto host th ident lab pw thpw', 'server 127.127.1.0 minpoll 3 maxpoll 3 prefer',
                   'fudge 127.127.1.0 stratum 0'])
    for host, name, upstream, server in ((gs, 'gs', th, True), (cl, 'cl', gs, False)):
        host_keys(host.host_keysdir, name, name + 'pw', group='lab', size=bits)
        if server:
            install(host.host_keysdir, 'iff', exports['server_key_export'], 'transport', name + 'pw',
                    server_key=True, params=False)
        install(host.host_keysdir, 'iff', exports['params_export'])
        ident = ' ident lab' if server else ''
        host.write_conf(['crypto host %s%s pw %spw' % (name, ident, name),
                         'server %s autokey ident lab iburst minpoll 3 maxpoll 3' % upstream.address])
    return gs, cl


def test_every_accepted_host_key_size_completes_autokey(lab, capsys):
    chains = dict((bits, _chain(lab, bits)) for bits in SIZES)
    for host in lab.hosts:
        host.start()
    start = time.time()
    seen = {}

    def complete():
        for bits, hosts in chains.items():
            flags = [h.association()['flags'] or 0 for h in hosts]
            if bits not in seen and all(f & 0x7F00 == 0x7F00 for f in flags):
                seen[bits] = round(time.time() - start)
        return len(seen) == len(chains)

    ntplab.wait_for(complete, 240, 2)
    lines = []
    for bits, (gs, cl) in sorted(chains.items()):
        lines.append('%4d-bit host keys: GS %s, CL %s, complete after %ss' % (
            bits, hex(gs.association()['flags'] or 0), hex(cl.association()['flags'] or 0), seen.get(bits, '-')))
        assert bits in seen, '%d-bit chain incomplete:\n%s\n%s\n%s' % (
            bits, cl.association()['raw'], cl.cryptostats()[-1500:], gs.cryptostats()[-1500:])
        assert re.search(r'sign cl@lab th@lab', cl.cryptostats()) is None  # CL is signed by its GS
        assert re.search(r'sign cl@lab gs@lab', cl.cryptostats())
    with capsys.disabled():
        print('\nhost key sizes on %s:\n  ' % ntplab.build().short_version() + '\n  '.join(lines))
