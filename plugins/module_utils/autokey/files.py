# -*- coding: utf-8 -*-
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Key directory operations: atomic writes, the links ntpd opens, retiring replaced files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import EnvelopeError, parse


class KeysDir:
    """A keysdir such as /etc/ntp. Files are written with `mode` and owner
    uid/gid (None keeps the writer's)."""

    def __init__(self, path, mode=0o600, uid=None, gid=None):
        self.path = path
        self.mode = mode
        self.uid = uid
        self.gid = gid

    def join(self, name):
        return os.path.join(self.path, name)

    def exists(self, name):
        return os.path.lexists(self.join(name))

    def read(self, name):
        with open(self.join(name), 'r') as handle:
            return handle.read()

    def load(self, name):
        """Parse an Autokey file; errors name the file."""
        try:
            return parse(self.read(name), self.join(name))
        except UnicodeDecodeError:
            raise EnvelopeError('%s is not a text file (corrupted?)' % self.join(name))

    def link_target(self, link):
        path = self.join(link)
        if not os.path.islink(path):
            return name_if_file(path)
        return os.readlink(path)

    def write(self, name, text):
        """Atomically replace `name` with `text` at the configured mode."""
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % name, dir=self.path)
        try:
            os.fchmod(fd, self.mode)
            if self.uid is not None or self.gid is not None:
                os.fchown(fd, -1 if self.uid is None else self.uid, -1 if self.gid is None else self.gid)
            with os.fdopen(fd, 'w') as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.join(name))
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def link(self, link, target):
        """Point `link` at `target` (relative, in the same directory) atomically."""
        tmp = self.join('.%s.tmp' % link)
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(target, tmp)
        os.replace(tmp, self.join(link))

    def remove(self, name):
        if os.path.lexists(self.join(name)):
            os.unlink(self.join(name))

    def retire(self, names, backup):
        """Files that links no longer point to. Their names carry their filestamp, so
        each is its own backup: kept when `backup` (their paths are returned), else
        removed. Empty and missing names are skipped."""
        kept = []
        for name in names:
            if not name or not self.exists(name) or self.join(name) in kept:
                continue
            if backup:
                kept.append(self.join(name))
            else:
                self.remove(name)
        return kept

    def ensure(self):
        if not os.path.isdir(self.path):
            os.makedirs(self.path, 0o750)


def name_if_file(path):
    return os.path.basename(path) if os.path.isfile(path) else None
