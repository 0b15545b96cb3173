# SPDX-License-Identifier: GPL-3.0-or-later
"""Key generation: ntp.autokey's module_utils against ntp-keygen 4.2.8p15.

Each measurement is one child process (so both sides pay process start-up);
wall time and peak RSS come from wait4(). ntp-keygen runs in the lab rootfs
(chroot); a host key exists beforehand so that group-key runs do not also
generate one. Usage (root, after lab/setup.sh):

    python3 benchmarks/keygen.py [--repeat N]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'lab'))
import ntplab  # noqa: E402  pylint: disable=wrong-import-position

OURS = '''
import sys, tempfile
sys.path.insert(0, %(path)r)
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.group_material import GroupMaterial
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.host_material import HostMaterial
kind, bits, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if kind == 'baseline':
    sys.exit(0)
if kind == 'host':
    m = HostMaterial(KeysDir(out), 'th', 'pw', group='lab', size=bits, trusted=True)
else:
    kw = dict(mv_keys=4) if kind == 'mv' else {}
    m = GroupMaterial(KeysDir(out), kind, 'lab', 'pw', generate=True, size=bits, **kw)
m.plan()
m.apply()
'''

# (label, our kind and size, ntp-keygen arguments, the file ntp-keygen must write)
CASES = [
    ('RSA host key + certificate, 1024 bit', ('host', 1024), ['-H', '-m', '1024', '-c', 'RSA-SHA256'],
     'ntpkey_RSA-SHA256cert_th.'),
    ('RSA host key + certificate, 2048 bit', ('host', 2048), ['-H', '-m', '2048', '-c', 'RSA-SHA256'],
     'ntpkey_RSA-SHA256cert_th.'),
    ('IFF group key, 512 bit', ('iff', 512), ['-I', '-b', '512'], 'ntpkey_IFFkey_lab.'),
    ('IFF group key, 1024 bit', ('iff', 1024), ['-I', '-b', '1024'], 'ntpkey_IFFkey_lab.'),
    ('IFF group key, 2048 bit', ('iff', 2048), ['-I', '-b', '2048'], 'ntpkey_IFFkey_lab.'),
    ('GQ group key, 512 bit', ('gq', 512), ['-G', '-b', '512'], 'ntpkey_GQkey_lab.'),
    ('GQ group key, 1016 bit', ('gq', 1016), ['-G', '-b', '1016'], 'ntpkey_GQkey_lab.'),
    ('MV group key, 512 bit, 4+1 client keys', ('mv', 512), ['-V', '5', '-b', '512'], 'ntpkey_MVta_lab.'),
]


def measure(argv, env=None):
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status:
        raise RuntimeError('%s failed (%d)' % (' '.join(argv), status))
    return elapsed, usage.ru_maxrss / 1024.0


def ours(collection_path, kind, bits):
    out = tempfile.mkdtemp()
    try:
        return measure([sys.executable, '-c', OURS % {'path': collection_path}, kind, str(bits), out])
    finally:
        shutil.rmtree(out)


def ntp_keygen(args, expected):
    """Time one ntp-keygen run; None when it wrote no `expected` file (it often exits 0 on failure)."""
    inside = '/srv/autokey-bench/%d' % os.getpid()
    os.makedirs(ntplab.in_rootfs(inside), exist_ok=True)
    try:
        if '-H' not in args:  # an existing host key keeps ntp-keygen from making one
            subprocess.run(['chroot', ntplab.ROOTFS, 'sh', '-c', 'cd %s && ntp-keygen -p pw -m 1024 -s th@lab' % inside],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        result = measure(['chroot', ntplab.ROOTFS, 'sh', '-c', 'cd %s && exec ntp-keygen -p pw -s th@lab %s'
                          % (inside, ' '.join(args))])
        written = any(name.startswith(expected) for name in os.listdir(ntplab.in_rootfs(inside)))
        return result if written else None
    finally:
        shutil.rmtree(ntplab.in_rootfs(inside), ignore_errors=True)


def cell(runs, index, fmt):
    if any(run is None for run in runs):
        return 'fails (exit 0, no file)'
    values = [run[index] for run in runs]
    return fmt % (statistics.median(values) if index == 0 else max(values))


def collection_path():
    base = tempfile.mkdtemp()
    os.makedirs(os.path.join(base, 'ansible_collections', 'ntp'))
    os.symlink(ROOT, os.path.join(base, 'ansible_collections', 'ntp', 'autokey'))
    return base


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeat', type=int, default=5)
    args = parser.parse_args()
    if not ntplab.available():
        sys.exit('run lab/setup.sh as root first')
    path = collection_path()
    import cryptography
    print('# %s, cryptography %s, %d cores, median of %d runs; time in seconds, peak RSS in MiB'
          % (sys.version.split()[0], cryptography.__version__, os.cpu_count(), args.repeat))
    print('| artifact | ntp.autokey time | ntp-keygen time | ntp.autokey RSS | ntp-keygen RSS |')
    print('|---|---:|---:|---:|---:|')
    base = [ours(path, 'baseline', 0) for dummy in range(args.repeat)]
    print('| baseline: Python start and imports, nothing generated | %s | | %s | |'
          % (cell(base, 0, '%.3f'), cell(base, 1, '%.1f')))
    for label, (kind, bits), keygen_args, expected in CASES:
        a = [ours(path, kind, bits) for dummy in range(args.repeat)]
        b = [ntp_keygen(keygen_args, expected) for dummy in range(args.repeat)]
        print('| %s | %s | %s | %s | %s |' % (label, cell(a, 0, '%.3f'), cell(b, 0, '%.3f'),
                                              cell(a, 1, '%.1f'), cell(b, 1, '%.1f')))
        sys.stdout.flush()
    shutil.rmtree(path)


if __name__ == '__main__':
    main()
