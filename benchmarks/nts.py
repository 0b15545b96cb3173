# SPDX-License-Identifier: GPL-3.0-or-later
"""NTS on this machine: NTS-KE handshakes per second against a chronyd server, and time to the first
NTS-authenticated synchronisation of a chronyd client.

Real chronyd 4.3 (Debian 12 rootfs) serves NTS in a lab network namespace (lab/ntplab.py; -x, without
CAP_SYS_TIME), with a certificate of a private CA (ECDSA P-256, as the collection issues them).

* handshakes: a TLS 1.3 NTS-KE client (Python's ssl, ALPN ntske/1) in another lab namespace asks for NTPv4 and
  AEAD 15 and counts complete answers (8 cookies) for --seconds, with 1 and 2 connections at a time. No other
  NTS-KE client is at hand to compare with; chronyd's own client is what the next measurement times.
* time to trust: a chronyd 4.0 and a 4.3 client started with `server ntsserver nts iburst` and the poll
  settings given (the lab's minpoll 3 and chrony's default), timed from start until status_info's judge says
  NTS ok and the source is selected (polled every 0.2 s), --runs times each.

Usage (root, after lab/setup.sh; the Python is the one lab/setup.sh installs):

    /var/cache/ntp-autokey/venv/bin/python benchmarks/nts.py --seconds 10 --runs 5
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'lab'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'reference'))
import ntplab  # noqa: E402  pylint: disable=wrong-import-position
from keygen import collection_path  # noqa: E402  pylint: disable=wrong-import-position
from nts_lab import ROOTFS, etc_with_hosts, nts_host, private_ca, reap_bookworm  # noqa: E402  pylint: disable=wrong-import-position

sys.path.insert(0, collection_path())
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.chrony import assess  # noqa: E402  pylint: disable=wrong-import-position

# The NTS-KE client, run in the client's network namespace: RFC 8915 records (critical bit, type, length, body)
KE_CLIENT = r'''
import socket, ssl, struct, sys, threading, time
address, ca, seconds, connections = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
REQUEST = (struct.pack('>HHH', 0x8001, 2, 0) + struct.pack('>HHH', 0x0004, 2, 15) + struct.pack('>HH', 0x8000, 0))
context = ssl.create_default_context(cafile=ca)
context.minimum_version = ssl.TLSVersion.TLSv1_3
context.set_alpn_protocols(['ntske/1'])
done, failed = [0], [0]

def exchange():
    with socket.create_connection((address, 4460), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname='ntsserver') as tls:
            tls.sendall(REQUEST)
            data, cookies = b'', 0
            while True:
                chunk = tls.recv(4096)
                if not chunk:
                    return 0
                data += chunk
                offset = 0
                while offset + 4 <= len(data):
                    kind, length = struct.unpack('>HH', data[offset:offset + 4])
                    if offset + 4 + length > len(data):
                        break
                    if kind & 0x7fff == 5:
                        cookies += 1
                    if kind & 0x7fff == 0:
                        return cookies
                    offset += 4 + length

def worker(end):
    while time.monotonic() < end:
        try:
            if exchange() == 8:
                done[0] += 1
            else:
                failed[0] += 1
        except OSError:
            failed[0] += 1

end = time.monotonic() + seconds
threads = [threading.Thread(target=worker, args=(end,)) for _ in range(connections)]
start = time.monotonic()
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(done[0], failed[0], time.monotonic() - start)
'''


def judged(host):
    out = host.outputs()
    result = assess(out['sources'], out['authdata'], out['ntpdata'], out['tracking'], names_text=out['names'],
                    running_for=time.time() - host.started)
    assoc = (result['associations'] or [{}])[0]
    return assoc.get('state') == 'nts' and result['synchronised_authenticated']


def time_to_trust(lab, folder, etcs, name, version, poll):
    host = nts_host(lab, name, version, etcs)
    shutil.copy(os.path.join(folder, 'ca.pem'), host.fs(host.root + '/keys/ca.pem'))
    host.write_conf(['ntstrustedcerts %s/keys/ca.pem' % host.root, ('server ntsserver nts iburst %s' % poll).strip()])
    host.start()
    try:
        found, waited = ntplab.wait_for(lambda: judged(host), 120, 0.2)
        if not found:
            raise SystemExit('%s: no NTS-authenticated sync after %.0f s:\n%s' % (name, waited, host.log()[-1500:]))
        return time.time() - host.started
    finally:
        host.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--seconds', type=float, default=10, help='length of each handshake measurement')
    parser.add_argument('--runs', type=int, default=5, help='client starts per chrony version and poll setting')
    parser.add_argument('--polls', nargs='*', default=['minpoll 3 maxpoll 3', ''],
                        help="poll options of the client's server line ('' is chrony's default)")
    args = parser.parse_args()
    reap_bookworm()
    lab, folder = ntplab.Lab(), tempfile.mkdtemp(prefix='nts-bench-')
    try:
        address = ntplab.SUBNET % 10
        etcs = dict((version, etc_with_hosts(folder, rootfs, [(address, 'ntsserver')])) for version, rootfs in ROOTFS.items())
        private_ca(folder, ['ntsserver'])
        server = nts_host(lab, 'srv43', '4.3', etcs)
        assert server.address == address, (server.address, address)
        for suffix in ('.pem', '.key'):
            shutil.copy(os.path.join(folder, 'ntsserver' + suffix), server.fs('%s/keys/ntsserver%s' % (server.root, suffix)))
        server.write_conf(['ntsserverkey %s/keys/ntsserver.key' % server.root,
                           'ntsservercert %s/keys/ntsserver.pem' % server.root, 'local stratum 1', 'allow 192.0.2.0/24'])
        server.start()
        print('# %s, Python %s, chronyd 4.3 NTS server (ECDSA P-256 certificate), %d cores'
              % (time.strftime('%Y-%m-%d'), platform.python_version(), os.cpu_count()))
        print('| measurement | result |')
        print('|---|---:|')
        probe = lab.host('ke', 'chronyd')  # only its namespace: the NTS-KE client runs there
        for connections in (1, 2):
            out = subprocess.run(['ip', 'netns', 'exec', probe.ns, sys.executable, '-c', KE_CLIENT, address,
                                  os.path.join(folder, 'ca.pem'), str(args.seconds), str(connections)],
                                 capture_output=True, text=True, check=True).stdout.split()
            done, failed, elapsed = int(out[0]), int(out[1]), float(out[2])
            print('| NTS-KE handshakes/s, %d connection%s at a time (%d complete, %d failed, %.1f s) | %.0f |'
                  % (connections, '' if connections == 1 else 's', done, failed, elapsed, done / elapsed))
        for version in ('4.0', '4.3'):
            for index, poll in enumerate(args.polls):
                # each client a host (and network namespace) of its own: c<version><poll index>-<run>
                times = [time_to_trust(lab, folder, etcs, 'c%s%d-%d' % (version.replace('.', ''), index, run), version,
                                       poll) for run in range(args.runs)]
                print('| chronyd %s client, `server ntsserver nts iburst%s`: start to NTS-authenticated sync, median '
                      '(min-max) of %d | %.1f s (%.1f-%.1f) |' % (version, ' ' + poll if poll else '', args.runs,
                                                                  statistics.median(times), min(times), max(times)))
    finally:
        lab.close()
        shutil.rmtree(ntplab.in_rootfs('/srv/autokey-lab/%s' % lab.id, ROOTFS['4.3']), ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == '__main__':
    main()
