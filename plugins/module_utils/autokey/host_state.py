# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether a host already is as a role would make it: packages, directories, files, one line, a service.

Read only. Each check returns the differences it found as sentences naming the path or the name; anything
it cannot read or decide is a difference too ("cannot tell ..."), so that the role then runs its ordinary
tasks, which change what needs changing or fail with their own message. A missed difference would skip a
needed change, so every doubt counts as one."""

import glob
import grp
import hashlib
import os
import pwd
import re
import stat

# Larger files are not read: the role's own task looks at them.
MAX_READ = 1024 * 1024

PACKAGE_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9.+_-]*\Z')
SERVICE_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9.@_-]*\Z')


ID = re.compile(r'[0-9]{1,10}\Z')  # ASCII digits only ('²'.isdigit() is true, and int() refuses it)


def _ids(owner, group):
    """uid and gid of the wanted owner and group (names or numbers); KeyError when unknown, or not a name at all
    (a NUL byte or a lone surrogate, which the user database cannot be asked about)."""
    try:
        uid = int(owner) if ID.match(str(owner)) else pwd.getpwnam(owner).pw_uid
        gid = int(group) if ID.match(str(group)) else grp.getgrnam(group).gr_gid
    except (ValueError, UnicodeError):
        raise KeyError(owner)
    return uid, gid


def _attributes(path, st, kind, owner, group, mode):
    """The differences in type, owner, group and mode of an lstat result."""
    is_kind = stat.S_ISDIR if kind == 'directory' else stat.S_ISREG
    if not is_kind(st.st_mode):
        return ['%s is not a %s' % (path, 'directory' if kind == 'directory' else 'regular file')]
    try:
        uid, gid = _ids(owner, group)
    except KeyError:
        return ['%s: cannot tell whether it belongs to %s:%s (no such user or group here)' % (path, owner, group)]
    found = []
    if (st.st_uid, st.st_gid) != (uid, gid):
        found.append('%s belongs to %d:%d, %s:%s wanted' % (path, st.st_uid, st.st_gid, owner, group))
    if stat.S_IMODE(st.st_mode) != int(mode, 8):
        found.append('%s has mode %04o, %s wanted' % (path, stat.S_IMODE(st.st_mode), mode))
    return found


def _lstat(path):
    try:
        return os.lstat(path), None
    except FileNotFoundError:
        return None, '%s is missing' % path
    except OSError as exc:
        return None, '%s: cannot tell its state (%s)' % (path, exc.strerror or exc)
    except (ValueError, UnicodeError):  # a NUL byte or a lone surrogate: no file can have that name
        return None, '%r: cannot tell its state (not a file name: a NUL byte or text that is not UTF-8)' % (path,)


def directory_differences(path, owner, group, mode):
    st, problem = _lstat(path)
    return [problem] if problem else _attributes(path, st, 'directory', owner, group, mode)


def _content(path, owner, group, mode):
    """The bytes of a regular file of at most MAX_READ bytes with this owner, group and mode, and the differences
    found on the way (its bytes are None when there are any)."""
    st, problem = _lstat(path)
    if problem:
        return None, [problem]
    found = _attributes(path, st, 'file', owner, group, mode)
    if found:
        return None, found
    if st.st_size > MAX_READ:
        return None, ['%s: cannot tell its content (larger than %d bytes)' % (path, MAX_READ)]
    try:
        # O_NOFOLLOW: a link put in place after the lstat is not followed
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0))
    except OSError as exc:
        return None, ['%s: cannot tell its content (%s)' % (path, exc.strerror or exc)]
    with os.fdopen(fd, 'rb') as handle:
        return handle.read(MAX_READ + 1), []


def file_differences(path, sha1, owner, group, mode):
    """A regular file with this SHA-1 of its content, owner, group and mode."""
    data, found = _content(path, owner, group, mode)
    if found:
        return found
    return [] if hashlib.sha1(data).hexdigest() == sha1.lower() else ['%s differs from its template' % path]


def line_differences(path, line, owner, group, mode):
    """A regular file that holds `line` as one of its lines (as ansible.builtin.lineinfile puts it)."""
    data, found = _content(path, owner, group, mode)
    if found:
        return found
    rows = data.split(b'\n')
    if rows[-1] == b'':
        rows.pop()  # what follows the last line break is no line
    lines = [row.rstrip(b'\r') for row in rows]
    try:
        wanted = line.encode('utf-8')
    except UnicodeError:  # a lone surrogate: no file holds that line
        return ['%s: cannot tell whether it holds the line %r (not UTF-8 text)' % (path, line)]
    return [] if wanted in lines else ['%s lacks the line %s' % (path, line)]


def package_differences(manager, names, run):
    """The packages of `names` that are not installed, by the host's package manager (apt or dnf/yum)."""
    bad = [name for name in names if not PACKAGE_NAME.match(name)]
    if bad:
        return ['cannot tell whether package %r is installed (not a package name)' % bad[0]]
    if not names:
        return []
    if manager == 'apt':
        rc, out, dummy = run(['dpkg-query', '-W', '-f=${Package} ${db:Status-Abbrev}\n'] + list(names))
        installed = set(fields[0].split(':')[0] for fields in (row.split() for row in out.splitlines())
                        if len(fields) == 2 and fields[1] in ('ii', 'hi'))
    elif manager in ('dnf', 'yum', 'dnf5'):
        rc, out, dummy = run(['rpm', '-q', '--qf', '%{NAME}\n'] + list(names))
        installed = set(out.split())
    else:
        return ['cannot tell whether %s are installed (package manager %s)' % (', '.join(names), manager)]
    return ['package %s is not installed' % name for name in names if name not in installed]


# Service managers whose services ansible.builtin.service handles neither through systemd nor SysV init scripts.
OTHER_SERVICE_MANAGERS = ('openrc', 'upstart', 'runit', 'launchd', 'bsdinit', 'smf', 'src', 'openwrt_init',
                          'dinit', 's6', 'svcs')


def service_differences(manager, name, run, systemd_booted=None):
    """A service that runs and starts at boot, read the way ansible.builtin.service reads it on Linux: through
    systemctl when systemd runs the host, else through the SysV init script and its /etc/rc?.d links (also
    where process 1 is a container's init, which the service_mgr fact then names)."""
    if not SERVICE_NAME.match(name):
        return ['cannot tell the state of service %r (not a service name)' % name]
    if systemd_booted is None:
        systemd_booted = os.path.isdir('/run/systemd/system')
    if manager == 'systemd' or systemd_booted:
        found = []
        if run(['systemctl', 'is-active', '--quiet', name])[0] != 0:
            found.append('service %s is not running' % name)
        rc, out, dummy = run(['systemctl', 'is-enabled', name])
        if out.strip() != 'enabled':
            found.append('service %s is not enabled (systemctl is-enabled: %s)' % (name, out.strip() or rc))
        return found
    if manager in OTHER_SERVICE_MANAGERS:
        return ['cannot tell the state of service %s (service manager %s)' % (name, manager)]
    script = '/etc/init.d/%s' % name
    if not os.path.isfile(script):
        return ['cannot tell the state of service %s (service manager %s, no %s)' % (name, manager, script)]
    found = []
    if run([script, 'status'])[0] != 0:
        found.append('service %s is not running' % name)
    if not glob.glob('/etc/rc?.d/S??' + name):
        found.append('service %s is not enabled (no /etc/rc?.d/S??%s link)' % (name, name))
    return found
