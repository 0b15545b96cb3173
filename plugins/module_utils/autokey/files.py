# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The keys directory as a boundary: reads, staged changes, the links ntpd opens, retiring replaced files.

The modules run as root on every managed host, in a directory that other accounts
may have been able to write to. So:

* nothing outside the keysdir is read, followed for writing, renamed or removed. A link
  ntpd opens is accepted only as one file name in the same directory naming a regular
  file (ntp-keygen's layout); any other link is refused and never followed;
* only regular files with one name and at most MAX_FILE bytes are read, opened without
  following a link and without blocking (a FIFO or a device never hangs a run);
* changes are staged under unique temporary names, then swapped in; on any failure the
  previous entries are put back, so the links show either the old set or the new one;
* one lock per keysdir (flock on the directory itself, no lock file) serialises runs.
"""


import contextlib
import errno
import fcntl
import os
import stat
import time

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import MAX_TEXT, EnvelopeError, parse
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError

# Autokey files are a few kilobytes; MV keys with many clients stay far below this (the envelope's limit).
MAX_FILE = MAX_TEXT
# How long a run waits for another run on the same keysdir (key generation takes seconds).
LOCK_TIMEOUT = 300
O_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
O_DIRECTORY = getattr(os, 'O_DIRECTORY', 0)


class KeysDirError(AutokeyError):
    """The keys directory or an entry in it cannot be used safely; the message names it and the fix."""


def plain_name(name):
    """A single file name: what a link ntpd opens may point to."""
    return bool(name) and '/' not in name and '\0' not in name and name not in ('.', '..')


def kind_of(mode):
    """What a file type is called in messages."""
    for test, what in ((stat.S_ISDIR, 'a directory'), (stat.S_ISFIFO, 'a FIFO'), (stat.S_ISSOCK, 'a socket'),
                       (stat.S_ISCHR, 'a character device'), (stat.S_ISBLK, 'a block device'),
                       (stat.S_ISLNK, 'a link'), (stat.S_ISREG, 'a regular file')):
        if test(mode):
            return what
    return 'not a regular file'


def lstat_or_none(path):
    try:
        return os.lstat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def read_file(path, follow=True, limit=MAX_FILE, binary=False):
    """Text (with binary=True, bytes) of the regular file `path`: refuses anything else (FIFO,
    device, directory) before opening it, opens without blocking (and, with follow=False, without
    following a link), checks the opened file again and reads at most `limit` bytes. Errors name
    `path` only, never any content. UnicodeDecodeError for a file that is not text."""
    st = os.stat(path) if follow else os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise KeysDirError('cannot read %s: it is %s, not a key file' % (path, kind_of(st.st_mode)))
    flags = os.O_RDONLY | os.O_NONBLOCK | O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise KeysDirError('cannot read %s: it is a link, which is not followed here' % path)
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise KeysDirError('cannot read %s: it is %s, not a key file' % (path, kind_of(st.st_mode)))
        if not follow and st.st_nlink > 1:
            raise KeysDirError('cannot read %s: it has %d names (hard links); a key file written by ntp-keygen or '
                               'this collection has one, and another name may lie outside the keys directory. Remove '
                               'the other names or this one' % (path, st.st_nlink))
        data = _read_at_most(fd, limit + 1)
        if len(data) > limit:
            raise KeysDirError('cannot read %s: it is larger than %d bytes, not a key file' % (path, limit))
    finally:
        os.close(fd)
    return data if binary else data.decode('utf-8')


def _read_at_most(fd, limit):
    """At most `limit` bytes from `fd`, bounded even if the file grows meanwhile."""
    chunks, total = [], 0
    while total < limit:
        chunk = os.read(fd, min(65536, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b''.join(chunks)


def read_tail(path, limit):
    """(offset, bytes): the last `limit` bytes of the regular file `path`, for files a daemon writes outside the
    keys directory (cryptostats, a pidfile, ntp.conf). Anything but a regular file is refused before it is
    opened, and a link is never followed: a FIFO would hold the run forever, a device could be read without end,
    and a link may lead anywhere. A second name (hard link) is allowed: ntpd's filegen links cryptostats to the
    current day's file. Errors name `path` only, never any content (KeysDirError; OSError when it is missing)."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise KeysDirError('%s is a link, which is not followed here: not read' % path)
    if not stat.S_ISREG(st.st_mode):
        raise KeysDirError('%s is %s, not a file the daemon writes: not read' % (path, kind_of(st.st_mode)))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise KeysDirError('%s is a link, which is not followed here: not read' % path)
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise KeysDirError('%s is %s, not a file the daemon writes: not read' % (path, kind_of(st.st_mode)))
        start = max(0, st.st_size - limit)
        os.lseek(fd, start, os.SEEK_SET)
        data = _read_at_most(fd, limit)
    finally:
        os.close(fd)
    return start, data


class Entry:
    """What a link name in the keysdir holds.

    `name`: the regular file in the keysdir ntpd opens through it (the link name itself
    when it is a plain file; a link to a file of the keysdir that is missing keeps its
    name, reading it then fails); None when missing or refused. `problem`: why the entry
    is refused; `replaceable`: whether a new link may take its place (not a directory)."""

    __slots__ = ('name', 'problem', 'replaceable')

    def __init__(self, name=None, problem=None, replaceable=True):
        self.name, self.problem, self.replaceable = name, problem, replaceable


class KeysDir:
    """A keysdir such as /etc/ntp. Files are written with `mode`, owned by `uid` (default: the
    module's effective user, root on a managed host) and `gid` (None keeps the writer's)."""

    def __init__(self, path, mode=0o600, uid=None, gid=None):
        self.path = path
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.seen = set()  # regular files resolved through links: their mode and owner are enforced

    @property
    def owner(self):
        return os.geteuid() if self.uid is None else self.uid

    def join(self, name):
        if not plain_name(name):
            raise KeysDirError('%r is not a file name inside the keys directory %s' % (name, self.path))
        return os.path.join(self.path, name)

    def exists(self, name):
        return lstat_or_none(self.join(name)) is not None

    # -- reading ------------------------------------------------------------
    def resolve(self, link):
        """The Entry behind `link`, without following anything that leaves the keysdir."""
        path = self.join(link)
        st = lstat_or_none(path)
        if st is None:
            return Entry()
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(path)
            if not plain_name(target):
                return Entry(problem='%s is a link to %r: ntpd\'s links name a file in the keys directory itself, '
                                     'so this one is never followed' % (path, target))
            tst = lstat_or_none(self.join(target))
            if tst is None:
                return Entry(name=target)
            if not stat.S_ISREG(tst.st_mode):
                return Entry(problem='%s is a link to %s, which is %s, not a key file: it is never followed'
                                     % (path, target, kind_of(tst.st_mode)))
            self.seen.add(target)
            return Entry(name=target)
        if stat.S_ISDIR(st.st_mode):
            return Entry(problem='%s is a directory where ntpd expects a key file' % path, replaceable=False)
        if not stat.S_ISREG(st.st_mode):
            return Entry(problem='%s is %s where ntpd expects a key file' % (path, kind_of(st.st_mode)))
        self.seen.add(link)
        return Entry(name=link)

    def link_target(self, link):
        """The file name `link` points to (the link's own name for a plain file); None when
        missing or refused (resolve() says why)."""
        return self.resolve(link).name

    def read(self, name):
        """Text of the regular file `name` of the keysdir (read_file, never following a link)."""
        return read_file(self.join(name), follow=False)

    def load(self, name, where=None):
        """Parse the Autokey file `name`; errors name `where` (default: the file)."""
        where = where or self.join(name)
        try:
            return parse(self.read(name), where)
        except UnicodeDecodeError:
            raise EnvelopeError('%s is not a text file (corrupted?)' % where)

    # -- the directory ------------------------------------------------------
    def ensure(self):
        """Create the keysdir (mode 0750) when missing; True when it was created."""
        if os.path.isdir(self.path):
            return False
        try:
            os.makedirs(self.path, 0o750)
        except FileExistsError:
            if os.path.isdir(self.path):
                return False  # another run made it between the two calls: it is there, as wanted
            raise
        return True

    def remove_if_empty(self):
        try:
            os.rmdir(self.path)
        except OSError:
            pass

    @contextlib.contextmanager
    def locked(self, exclusive=True, timeout=LOCK_TIMEOUT):
        """Hold the keysdir's lock: flock on the directory itself, so that no lock file is
        needed (check mode writes nothing). Yields False when the keysdir does not exist."""
        try:
            fd = os.open(self.path, os.O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise
            fd = None
        if fd is None:
            yield False
            return
        try:
            deadline = time.time() + timeout
            while True:
                try:
                    fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                if time.time() > deadline:
                    raise KeysDirError('another run has held the lock of %s for %d seconds: wait for it to end '
                                       'and rerun. Nothing was changed.' % (self.path, timeout))
                time.sleep(0.05)
            yield True
        finally:
            os.close(fd)

    def unsafe(self):
        """Why the keysdir must be made safe (its mode lets group or others write), None when it
        is safe. KeysDirError when it cannot be: not a directory, owned by another account, or a
        shared sticky directory such as /tmp."""
        st = os.stat(self.path)
        if not stat.S_ISDIR(st.st_mode):
            raise KeysDirError('keysdir %s is %s, not a directory' % (self.path, kind_of(st.st_mode)))
        if st.st_uid not in (0, self.owner):
            raise KeysDirError('keysdir %s is owned by uid %d, not by root: that account could replace key files '
                               'and links behind ntpd. Make root its owner (chown root %s) or choose a keys '
                               'directory of its own. Nothing was changed.' % (self.path, st.st_uid, self.path))
        mode = stat.S_IMODE(st.st_mode)
        if not mode & 0o022:
            return None
        if mode & stat.S_ISVTX:
            raise KeysDirError('keysdir %s is a shared directory (mode %04o: others may write, sticky): choose a '
                               'keys directory of its own. Nothing was changed.' % (self.path, mode))
        return 'keysdir mode %04o lets group or others replace key files and links: set to %04o' % (
            mode, mode & ~0o022)

    def dir_mode(self):
        return stat.S_IMODE(os.stat(self.path).st_mode)

    def make_safe(self):
        """Take group and other write permission off the keysdir; returns the previous mode."""
        mode = self.dir_mode()
        os.chmod(self.path, mode & ~0o022)
        return mode

    # -- modes and owners ---------------------------------------------------
    def attribute_fixes(self):
        """{file name: (current, wanted)} for the files resolved so far whose mode or owner differ
        from `mode` and `owner` (group only when `gid` is set). Files with more than one name are
        left alone (reading them is refused)."""
        fixes = {}
        for name in sorted(self.seen):
            st = lstat_or_none(self.join(name))
            if st is None or not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
                continue
            gid = st.st_gid if self.gid is None else self.gid
            have = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            want = (self.mode, self.owner, gid)
            if have != want:
                fixes[name] = (have, want)
        return fixes

    def fix_attributes(self, fixes):
        """Apply attribute_fixes() through the file itself (never following a link)."""
        for name, (_have, want) in sorted(fixes.items()):
            try:
                fd = os.open(self.join(name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | O_CLOEXEC)
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ELOOP):
                    continue  # retired meanwhile, or no longer a file: nothing to fix
                raise
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
                    continue
                if (st.st_uid, st.st_gid) != want[1:]:
                    os.fchown(fd, want[1], want[2])
                os.fchmod(fd, want[0])
            finally:
                os.close(fd)

    # -- writing --------------------------------------------------------------
    def transaction(self):
        return Transaction(self)

    def write(self, name, text):
        """Atomically replace `name` with `text` at the configured mode."""
        with self.transaction() as tx:
            tx.write(name, text)
            tx.commit()

    def link(self, link, target):
        """Point `link` at `target` (a file name in the same directory) atomically."""
        with self.transaction() as tx:
            tx.link(link, target)
            tx.commit()

    def remove(self, name):
        if self.exists(name):
            os.unlink(self.join(name))

    def linked_names(self):
        """File names that some link in the keysdir points to."""
        names = set()
        for name in os.listdir(self.path):
            path = os.path.join(self.path, name)
            if os.path.islink(path):
                target = os.readlink(path)
                if plain_name(target):
                    names.add(target)
        return names

    def retire(self, names, backup, keep=()):
        """Files that links no longer point to. Their names carry their filestamp, so
        each is its own backup: kept when `backup` (their paths are returned), else
        removed. Only regular files of the keysdir with one name are retired: names in
        `keep`, names a link still points to, missing names, files with other names (hard
        links) and anything but a regular file are skipped."""
        kept = []
        linked = None
        for name in names:
            if not name or not plain_name(name) or name in keep or self.join(name) in kept:
                continue
            st = lstat_or_none(self.join(name))
            if st is None or not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
                continue  # a file with another name may be one outside the keysdir: neither removed nor a backup
            if linked is None:
                linked = self.linked_names()
            if name in linked:
                continue
            if backup:
                kept.append(self.join(name))
            else:
                os.unlink(self.join(name))
        return kept

    def free_name(self, base):
        """A name in the keysdir starting with `base` that nothing uses yet."""
        candidate, n = base, 0
        while lstat_or_none(self.join(candidate)) is not None:
            n += 1
            candidate = '%s.%d' % (base, n)
        return candidate

    def temp_name(self, name, what):
        return '.%s.%s.%s' % (name, os.urandom(6).hex(), what)

    def sync(self):
        try:
            fd = os.open(self.path, os.O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


class Transaction:
    """Changes to a keysdir that take effect together.

    write() and link() stage new files and links under unique temporary names (nothing ntpd
    opens changes); commit() validates every name, swaps the staged entries in (files first,
    then links, then removals) and retires what was replaced. A failure while swapping puts
    the previous entries back and removes the staged ones before the error is raised, so
    the links show either the old set or the new one. Use as a context manager: leaving it
    without commit() removes what was staged."""

    def __init__(self, keysdir):
        self.dir = keysdir
        self.files = []    # (name, temporary name)
        self.links = {}    # link -> temporary link name
        self.removals = []
        self.committed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if not self.committed:
            self.abort()
        return False

    def abort(self):
        for tmp in [t for dummy, t in self.files] + list(self.links.values()):
            try:
                os.unlink(self.dir.join(tmp))
            except OSError:
                pass
        self.files, self.links = [], {}

    def write(self, name, text):
        """Stage `name` with `text` at the keysdir's mode and owner."""
        d = self.dir
        d.join(name)
        data = text.encode('utf-8')
        while True:
            tmp = d.temp_name(name, 'new')
            try:
                fd = os.open(d.join(tmp), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | O_CLOEXEC, 0o600)
                break
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise
        self.files.append((name, tmp))
        with os.fdopen(fd, 'wb') as handle:
            if d.uid is not None or d.gid is not None:
                os.fchown(handle.fileno(), -1 if d.uid is None else d.uid, -1 if d.gid is None else d.gid)
            os.fchmod(handle.fileno(), d.mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def link(self, link, target):
        """Stage `link` -> `target`, a file name in the same directory."""
        d = self.dir
        d.join(link)
        if not plain_name(target):
            raise KeysDirError('a link must name a file in the keys directory, not %r' % target)
        old = self.links.pop(link, None)
        if old:
            os.unlink(d.join(old))
        while True:
            tmp = d.temp_name(link, 'link')
            try:
                os.symlink(target, d.join(tmp))
                break
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise
        self.links[link] = tmp

    def remove(self, name):
        """Stage the removal of the entry `name` (a link itself, never what it points to)."""
        self.dir.join(name)
        self.removals.append(name)

    def _check(self):
        for name in [n for n, dummy in self.files] + list(self.links) + self.removals:
            st = lstat_or_none(self.dir.join(name))
            if st is not None and stat.S_ISDIR(st.st_mode):
                raise KeysDirError('%s is a directory where a key file or link must be written: remove it. Nothing '
                                   'was changed.' % self.dir.join(name))

    def _swap(self, name, tmp, undo, displaced):
        """Put `tmp` (None: nothing) at `name`, recording how to undo it."""
        d = self.dir
        path = d.join(name)
        st = lstat_or_none(path)
        if st is None:
            if tmp is not None:
                os.rename(d.join(tmp), path)
                undo.append(lambda: os.unlink(path))
            return
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(path)

            def restore():
                back = d.temp_name(name, 'undo')
                os.symlink(target, d.join(back))
                os.rename(d.join(back), path)
            if tmp is None:
                os.unlink(path)
            else:
                os.rename(d.join(tmp), path)  # replaces the link itself, never what it points to
            undo.append(restore)
            return
        # a file (or FIFO, socket ...) at that name: set aside, kept until the swap is complete
        aside = d.temp_name(name, 'old')
        os.rename(path, d.join(aside))
        undo.append(lambda: os.rename(d.join(aside), path))
        displaced.append((name, aside, stat.S_ISREG(st.st_mode)))
        if tmp is not None:
            os.rename(d.join(tmp), path)
            undo.append(lambda: os.unlink(path))

    def commit(self, retired=(), backup=True):
        """Swap the staged entries in, then retire the files in `retired` (Material.retire);
        returns the paths of the files kept as backups."""
        d = self.dir
        self._check()
        undo, displaced = [], []
        try:
            for name, tmp in self.files:
                self._swap(name, tmp, undo, displaced)
            for link, tmp in sorted(self.links.items()):
                self._swap(link, tmp, undo, displaced)
            for name in self.removals:
                self._swap(name, None, undo, displaced)
        except BaseException:
            for step in reversed(undo):
                try:
                    step()
                except OSError:
                    pass
            self.abort()
            raise
        self.committed = True
        new = set(n for n, dummy in self.files) | set(self.links)
        kept = []
        for name, aside, regular in displaced:
            if regular and backup:
                keep = d.free_name('%s.replaced-%d' % (name, int(time.time())))
                os.rename(d.join(aside), d.join(keep))
                kept.append(d.join(keep))
            else:
                os.unlink(d.join(aside))
        kept.extend(p for p in d.retire(retired, backup, keep=new) if p not in kept)
        d.sync()
        return kept
