# SPDX-License-Identifier: GPL-3.0-or-later
"""The OpenSSL builds ntpd links, as referees of what a key file's reader accepts.

ntpd reads its keys with PEM_read_PrivateKey of the OpenSSL it is linked with; `openssl pkey` of the same build
runs the same reader. What `cryptography`'s bundled OpenSSL accepts says nothing about those builds (its wheel
moves with every release), so the assertions about OpenSSL are made with these:

* ``1.1.1``: Debian 11's (ntpd 4.2.8p15 of the lab), the lab rootfs's `openssl`, run through chroot
  (AUTOKEY_LAB_ROOTFS, root), or directly when the tests run inside that rootfs (tests/run units-debian11);
* ``3.0``: Debian 12's `openssl`, the series Ubuntu 22.04's ntpd 4.2.8p15 links;
* any other build named in AUTOKEY_REFEREE_OPENSSL (``SERIES=PATH`` pairs separated by spaces, e.g.
  ``1.0.2=/opt/openssl-1.0.2u/bin/openssl`` for RHEL 7's series); only series with recorded expectations are
  asserted.
"""

import os
import subprocess

LAB_ROOTFS = os.environ.get('AUTOKEY_LAB_ROOTFS', '/var/cache/ntp-autokey/bullseye')
PASSWORD_VARIABLE = 'AUTOKEY_REFEREE_PASSWORD'


class Referee:
    def __init__(self, series, argv, where):
        self.series, self.argv, self.where = series, argv, where
        self.version = self._run(['version'], b'')[1].decode('ascii', 'replace').strip()

    def __repr__(self):
        return '%s (%s)' % (self.version or self.series, self.where)

    def _run(self, args, data, password=None):
        env = dict(os.environ)
        env.pop(PASSWORD_VARIABLE, None)
        if password is not None:
            env[PASSWORD_VARIABLE] = password
        done = subprocess.run(self.argv + args, input=data, capture_output=True, env=env, timeout=30, check=False)
        return done.returncode, done.stdout

    def accepts(self, pem_text, password=None, check=False):
        """Whether this OpenSSL reads the PEM private key `pem_text` (with `check`: and finds it consistent)."""
        args = ['pkey', '-noout', '-passin', 'env:' + PASSWORD_VARIABLE]
        if check:
            args.append('-check')
        data = pem_text if isinstance(pem_text, bytes) else pem_text.encode('ascii')
        # an unencrypted key needs no password, but -passin must name one that is set
        code, out = self._run(args, data, password if password is not None else '')
        # 1.1.1 prints "Key is invalid" and still exits 0
        return code == 0 and (not check or b'Key is valid' in out)


def _inside_lab_rootfs():
    try:
        with open('/etc/debian_version') as handle:
            return handle.read().startswith('11.') and os.path.exists('/usr/bin/openssl')
    except OSError:
        return False


def _found():
    found = []
    if _inside_lab_rootfs():
        found.append(Referee('1.1.1', ['/usr/bin/openssl'], 'Debian 11, this system'))
    else:
        if os.geteuid() == 0 and os.path.exists(os.path.join(LAB_ROOTFS, 'usr/bin/openssl')):
            found.append(Referee('1.1.1', ['chroot', LAB_ROOTFS, '/usr/bin/openssl'], 'Debian 11 lab rootfs'))
        if os.path.exists('/usr/bin/openssl'):
            system = Referee('system', ['/usr/bin/openssl'], 'this system')
            if system.version.startswith('OpenSSL 3.0.'):
                system.series = '3.0'
                found.append(system)
    for pair in os.environ.get('AUTOKEY_REFEREE_OPENSSL', '').split():
        series, path = pair.split('=', 1) if '=' in pair else ('unknown', pair)
        found.append(Referee(series, [path], 'AUTOKEY_REFEREE_OPENSSL'))
    return found


REFEREES = _found()
MISSING = ('no OpenSSL of an ntpd build to referee with: build the lab rootfs (lab/rootfs.sh, AUTOKEY_LAB_ROOTFS) '
           'and run as root, or run on Debian 12 (openssl 3.0)')


# The series whose answers the tests record; another build's answers are not asserted.
MEASURED_SERIES = ('1.1.1', '3.0')


def referee_params():
    """pytest params, one per referee found; one that fails (AUTOKEY_REQUIRE_LAB) or skips when none is."""
    import pytest
    if REFEREES:
        return [pytest.param(referee, id=referee.series) for referee in REFEREES]
    return [pytest.param(None, id='no-referee')]


def usable(referee):
    """The referee, after failing (AUTOKEY_REQUIRE_LAB) or skipping the test when there is none or its series
    has no recorded answers."""
    import pytest
    if referee is None:
        if os.environ.get('AUTOKEY_REQUIRE_LAB'):
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    if referee.series not in MEASURED_SERIES:
        pytest.skip('%r: no answers recorded for OpenSSL %s (recorded: %s)'
                    % (referee, referee.series, ', '.join(MEASURED_SERIES)))
    return referee
