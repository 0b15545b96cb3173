# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What host and group material share: the `regenerate` ladder, the rollover
time, filestamps, and writing in one transaction.

A material class reads its files into `Loaded` values (`read_linked`), decides with
`replace_reason()` (and the three rungs it is made of) why each must be
replaced, then stages its files with `write()`; `apply()` commits them and retires
what they replaced (`Joined` does the same for several materials at once).
"""


from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import MAX_FILESTAMP, ntp_now
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError

REGENERATE = ('never', 'fail', 'partial_idempotence', 'full_idempotence', 'always')


class MaterialError(AutokeyError):
    """A problem the operator must fix; the message names the file and the fix."""


# A filestamp later than now by more than this was made under a wrong clock (here or now).
FUTURE_TOLERANCE = 86400


def in_future(filestamp, now=None):
    """Whether `filestamp` lies more than FUTURE_TOLERANCE in the future."""
    return bool(filestamp) and filestamp > (now or ntp_now()) + FUTURE_TOLERANCE


def next_filestamp(*existing, **options):
    """A filestamp newer than every existing one: ntpd replaces a cached
    certificate only by one with a larger filestamp.

    Stamps in the future (in_future) are ignored: they are what is being replaced, and
    following them would stamp the new material in the future too. MaterialError when no
    newer filestamp fits ntpd's 32 bits (an existing stamp at the maximum, or a clock past
    2036), rather than write a file ntpd reads with another stamp."""
    now = options.get('now') or ntp_now()
    stamp = max([now] + [fs + 1 for fs in existing if fs and not in_future(fs, now)])
    if stamp > MAX_FILESTAMP:
        raise MaterialError('no filestamp newer than %d fits the 32 bits ntpd reads: the existing material is '
                            'stamped at the maximum or this host\'s clock is past 2036. Check the clock; to start '
                            'over, remove the key files and run again. Nothing was changed.' % (stamp - 1))
    return stamp


class Loaded:
    """State of one linked file: its name, filestamp and decoded object, or the error.

    `refused`: why the entry at the link name is not followed (a link leaving the keysdir,
    a FIFO, a directory ...; files.KeysDir.resolve), with `name` None; `replaceable`:
    whether a new link may take its place."""

    def __init__(self, name=None, filestamp=None, value=None, error=None, refused=None, replaceable=True):
        self.name, self.filestamp, self.value, self.error = name, filestamp, value, error
        self.refused, self.replaceable = refused, replaceable


def read_linked(keysdir, link, decode):
    """Loaded state of the Autokey file behind `link` in `keysdir`.

    `decode(keyfile, path)` turns the parsed file into its value; any error it or
    the reading raises (ValueError, which AutokeyError is, or OSError) is kept in
    Loaded.error, naming the file. A link that leaves the keysdir (or any entry but a
    regular file or a link to one in the keysdir) is never followed: Loaded.refused."""
    entry = keysdir.resolve(link)
    if entry.problem:
        return Loaded(refused=entry.problem, replaceable=entry.replaceable)
    name = entry.name
    if name is None:
        return Loaded()
    path = keysdir.join(link)
    try:
        keyfile = keysdir.load(name, path)
        return Loaded(name, keyfile.filestamp, decode(keyfile, path))
    except (ValueError, OSError) as exc:
        error = str(exc)
        return Loaded(name, error=error if error.startswith(path) else '%s: %s' % (path, error))


class Material:
    """Key material in one keysdir, replaced as `regenerate` and `replace_before` say.

    `replace_before` is in NTP seconds: a file with an older filestamp is rolled over."""

    def __init__(self, keysdir, regenerate='partial_idempotence', backup=True, replace_before=None):
        if regenerate not in REGENERATE:
            raise MaterialError('regenerate must be one of %s' % ', '.join(REGENERATE))
        self.dir = keysdir
        self.regenerate, self.backup, self.replace_before = regenerate, backup, replace_before

    # -- the ladder -------------------------------------------------------
    def mismatch(self, reason, where=None):
        """A readable file differs from the options (`reason`, None when it does not):
        the reason to replace it, None to keep it, or MaterialError with regenerate=fail.
        `where`: the file, when ntpd itself refuses to start with it, so that never cannot keep it either."""
        if reason is not None and where and self.regenerate == 'never':
            raise MaterialError('%s: %s, and ntpd refuses to start with it; regenerate=never keeps it. Rerun with '
                                'regenerate=partial_idempotence to replace it. Nothing was changed.' % (where, reason))
        if reason is None or self.regenerate == 'never':
            return None
        if self.regenerate == 'fail':
            raise MaterialError('%s and regenerate=fail. Nothing was changed.' % reason)
        return reason

    def refused_link(self, what, loaded):
        """An entry that is not followed (`loaded.refused` names it): replaced by a new link
        with full_idempotence and always, otherwise MaterialError and nothing changes. What
        it points to is never read, changed or removed."""
        if loaded.replaceable and self.regenerate in ('full_idempotence', 'always'):
            return '%s: %s; replaced by a link to material made here (what it points to is left alone)' % (
                what, loaded.refused)
        fix = 'remove it, or rerun with regenerate=full_idempotence to replace it by material made here (what it ' \
              'points to is left alone)' if loaded.replaceable else 'remove it'
        raise MaterialError('%s: %s. Nothing was changed.' % (loaded.refused, fix))

    def unreadable(self, what, loaded):
        """A file that cannot be read (`loaded.error` names it): replaced with
        full_idempotence and always, otherwise MaterialError and nothing changes."""
        if self.regenerate in ('full_idempotence', 'always'):
            return 'unreadable (%s)' % loaded.error
        raise MaterialError('cannot read the %s %s. Check the passphrase; if the file is damaged, rerun with '
                            'regenerate=full_idempotence to replace it (a backup is kept). Nothing was changed.'
                            % (what, loaded.error))

    def from_future(self, what, loaded):
        """The reason to replace a file stamped in the future (in_future), or None.

        ntpd refuses a certificate that is not yet valid, so such material is never kept
        as fine: replaced with partial_idempotence, full_idempotence and always (the new
        filestamp is now), MaterialError with never and fail."""
        if not in_future(loaded.filestamp):
            return None
        days = (loaded.filestamp - ntp_now()) // 86400
        reason = ('%s filestamp %d lies %d days in the future: it was made while a clock was wrong (or this '
                  'host\'s clock is wrong now)' % (what, loaded.filestamp, days))
        if self.regenerate in ('never', 'fail'):
            raise MaterialError('%s (%s). Check the clock (timedatectl); then rerun with '
                                'regenerate=partial_idempotence to replace it. Nothing was changed.'
                                % (reason, self.dir.join(loaded.name)))
        return reason

    def rolled_over(self, what, loaded):
        """The reason to replace a file older than the rollover time, or None."""
        if self.replace_before and loaded.filestamp < self.replace_before:
            return '%s filestamp %d is older than the rollover time %d' % (what, loaded.filestamp, self.replace_before)
        return None

    def replace_reason(self, loaded, what, differs):
        """Why the key behind `loaded` must be replaced, or None to keep it.

        `differs(value)` says how a readable key differs from the options (None: it does not)."""
        if loaded.refused:
            return self.refused_link(what, loaded)
        if self.regenerate == 'always':
            return 'regenerate=always'
        if loaded.name is None:
            return '%s missing' % what
        if loaded.error:
            return self.unreadable(what, loaded)
        return self.from_future(what, loaded) or self.rolled_over(what, loaded) or self.mismatch(differs(loaded.value))

    # -- writing ----------------------------------------------------------
    def apply(self):
        """Write the planned files; they take effect together (files.Transaction): on any failure the
        previous links stay. Returns the paths of the replaced files kept as backups."""
        return write_together(self.dir, [self], self.backup)

    def write(self, tx):
        """Stage the planned files in `tx`; returns the names of the files they replace."""
        raise NotImplementedError

    def written(self):
        """Called once the staged files are in place."""


def write_together(keysdir, materials, backup):
    """Stage the planned files of `materials` in one transaction of `keysdir` and commit it: all take effect
    or none. Replaced files are kept as backups (their paths are returned) or removed."""
    with keysdir.transaction() as tx:
        replaced = []
        for material in materials:
            replaced.extend(material.write(tx))
        backups = tx.commit(replaced, backup)
    for material in materials:
        material.written()
    return backups


class Joined:
    """Materials of one keysdir planned together and written in one transaction: a host's key material
    changes together or not at all (one module call for what several would do, docs/fleet-scale.md).

    describe() and facts() are those of the first, with the others' merged under `others_key`."""

    def __init__(self, first, others, others_key):
        self.parts = [first] + list(others)
        self.dir, self.backup, self.others_key = first.dir, first.backup, others_key

    def plan(self):
        reasons = {}
        for part in self.parts:
            reasons.update(part.plan())
        return reasons

    def apply(self):
        return write_together(self.dir, self.parts, self.backup)

    def _merged(self, what):
        merged = {}
        for part in self.parts[1:]:
            for key, value in getattr(part, what)().items():
                if isinstance(value, list):  # lists of the parts add up (alias_links)
                    merged[key] = merged.get(key, []) + value
                elif value is not None:
                    merged[key] = value
        return dict(getattr(self.parts[0], what)(), **{self.others_key: merged})

    def describe(self):
        return self._merged('describe')

    def facts(self):
        return self._merged('facts')
