# -*- coding: utf-8 -*-
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A group's identity material (IFF, GQ or MV) in one keysdir.

Files (all carry the group key's filestamp; ntpd requires equal filestamps
for IFF and MV, server >= params for GQ):

* master, on the trusted host: ntpkey_IFFkey_<g>.<fs> / ntpkey_GQkey_<g>.<fs>
  (also the server key) or ntpkey_MVta_<g>.<fs> (plus ntpkey_mvkey_<g>.<fs>);
* server key (link ntpkey_<s>key_<g>), encrypted with the host's password;
* client params (link ntpkey_<s>par_<g>), unencrypted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import identity
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import (
    EnvelopeError, KeyFile, check_name, file_name, link_name, parse)
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.host_material import (
    REGENERATE, Loaded, MaterialError, next_filestamp)
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.private_keys import KeyFileError, load_pem

DEFAULT_BITS = {'iff': 2048, 'gq': 1016, 'mv': 512}


class GroupSource:
    """Group material read from one file: the whole group key, or only a
    server key or only client params (what an export carries)."""

    def __init__(self, scheme, filestamp, key=None, server=None, params=None):
        self.scheme, self.filestamp = scheme, filestamp
        self.key, self.server, self.params = key, server, params

    def server_key(self):
        if self.key is not None:
            return self.key.server_key()
        if self.server is None:
            raise MaterialError('the %s material given holds client params only: a server key cannot be '
                                'made from it. Supply the group key or a server-key export' % self.scheme.upper())
        return self.server

    def client_params(self, client=1):
        if self.key is not None:
            try:
                return self.key.params(client)
            except identity.IdentityError as exc:
                raise MaterialError(str(exc))
        if self.params is None:
            raise MaterialError('the %s material given is a server key only: for MV, client params come '
                                'from the trusted host\'s MVta or a params export' % self.scheme.upper())
        return self.params

    def fingerprint(self):
        if self.key is not None:
            return self.key.public_fingerprint()
        return None


def _classify(scheme, keys, filestamp):
    """Decide what a file holds; refuse stock files that can never verify."""
    first = keys[0]
    if scheme == 'iff':
        if first.algorithm == 'DSA' and first['priv'] == 1:
            if 'pub' not in first.fields:
                raise MaterialError(
                    'this IFF params file was written by ntp-keygen -e: PKCS#8 dropped the public value v, so '
                    'it can never verify on ntpd 4.2.8. Import the IFF server key (ntpkey_IFFkey_<group> or an '
                    'ntp-keygen -q export) and let this collection write the params')
            return GroupSource(scheme, filestamp, params=first)
        return GroupSource(scheme, filestamp, key=identity.IffKey.from_private_key(first))
    if scheme == 'gq':
        if first.algorithm == 'RSA' and first['p'] == 1 and first['q'] == 1:
            b = first['d'] if first['e'] == 1 else first['e']  # ours: d = b; ntp-keygen: e = b
            fields = dict(first.fields, e=1, d=b)
            return GroupSource(scheme, filestamp, params=type(first)('RSA', **fields))
        return GroupSource(scheme, filestamp, key=identity.GqKey.from_private_key(first))
    if len(keys) >= 3:
        return GroupSource(scheme, filestamp, key=identity.MvKey.from_master(keys))
    if first.algorithm != 'DSA' or 'pub' not in first.fields:
        raise MaterialError(
            'this MV file was written by ntp-keygen: its PKCS#8 blocks lost values that cannot be recomputed, '
            'so it can never verify on ntpd 4.2.8. Generate MV with ntp.autokey.group_keys')
    if first['q'] == 1 and first['g'] == 1:
        return GroupSource(scheme, filestamp, params=first)
    return GroupSource(scheme, filestamp, server=first)


def read_source(scheme, text, passphrase=None, where='source'):
    try:
        keyfile = parse(text, where)
    except EnvelopeError as exc:
        raise MaterialError(str(exc))
    try:
        return _classify(scheme, load_pem(keyfile.body, passphrase), keyfile.filestamp)
    except (KeyFileError, identity.IdentityError) as exc:
        raise MaterialError('%s: %s' % (where, exc))


def check_source_choice(generate, has_source):
    if generate and has_source:
        raise MaterialError('either generate the group key here or import it from a source, not both')
    if not generate and not has_source:
        raise MaterialError('nothing to install: give a source (content or file) or generate=true')


class GroupMaterial:
    def __init__(self, keysdir, scheme, group, passphrase=None, generate=False, size=None, source=None,
                 server_key=True, params=True, mv_keys=4, mv_client=1, mv_revoked=None,
                 regenerate='partial_idempotence', backup=True, replace_before=None):
        if scheme not in identity.SCHEMES:
            raise MaterialError('scheme must be one of iff, gq, mv')
        check_source_choice(generate, source is not None)
        if server_key and not passphrase:
            raise MaterialError('a server key needs the passphrase ntpd uses on this host (crypto pw)')
        if regenerate not in REGENERATE:
            raise MaterialError('regenerate must be one of %s' % ', '.join(REGENERATE))
        self.dir, self.scheme, self.group = keysdir, scheme, check_name(group, 'group name')
        self.passphrase, self.generate, self.source = passphrase, generate, source
        self.size = size or DEFAULT_BITS[scheme]
        self.want_server, self.want_params = server_key, params
        self.mv_keys, self.mv_client, self.mv_revoked = mv_keys, mv_client, mv_revoked
        self.regenerate, self.backup = regenerate, backup
        self.replace_before = replace_before  # NTP seconds: an older group key is rolled over (generate only)
        cls = identity.SCHEMES[scheme]
        self.master_link = link_name(cls.master_kind.lower(), group)
        self.server_link = link_name('%skey' % scheme, group)
        self.params_link = link_name('%spar' % scheme, group)
        self.actions = {}
        self.replaced = {}
        self.material = None

    # -- reading ----------------------------------------------------------
    def _read(self, link, passphrase):
        name = self.dir.link_target(link)
        if name is None:
            return Loaded()
        try:
            return Loaded(name, value=read_source(self.scheme, self.dir.read(link), passphrase, self.dir.join(link)),
                          filestamp=self.dir.load(link).filestamp)
        except (MaterialError, OSError, UnicodeDecodeError) as exc:
            return Loaded(name, error=str(exc))

    def _unreadable(self, what, loaded):
        if self.regenerate in ('full_idempotence', 'always'):
            return 'unreadable (%s)' % loaded.error
        raise MaterialError('cannot read the %s: %s. Check the passphrase; if the file is damaged, rerun with '
                            'regenerate=full_idempotence to replace it (a backup is kept). Nothing was changed.'
                            % (what, loaded.error))

    def _master_reason(self, loaded):
        if self.regenerate == 'always':
            return 'regenerate=always'
        if loaded.name is None:
            return 'group key missing'
        if loaded.error:
            return self._unreadable('group key', loaded)
        if self.replace_before and loaded.filestamp < self.replace_before:
            return 'group key filestamp %d is older than the rollover time %d' % (loaded.filestamp, self.replace_before)
        key = loaded.value.key
        problems = []
        if key is None:
            problems.append('the file holds no complete group key')
        elif self.scheme == 'mv' and key.keys != self.mv_keys + 1:
            problems.append('MV group has %d client keys, %d requested' % (key.keys - 1, self.mv_keys))
        elif key.bits != self.size and not (self.scheme == 'mv' and key.prime_bits == self.size // key.keys):
            problems.append('group key is %d bits, %d requested' % (key.bits, self.size))
        if not problems or self.regenerate == 'never':
            return None
        if self.regenerate == 'fail':
            raise MaterialError('%s and regenerate=fail. Nothing was changed.' % problems[0])
        return problems[0]

    def _new_key(self):
        cls = identity.SCHEMES[self.scheme]
        if self.scheme == 'mv':
            return cls.generate(self.size, self.mv_keys)
        return cls.generate(self.size)

    # -- deciding ---------------------------------------------------------
    def plan(self):
        """Work out the desired files; returns {file role: reason} for changes."""
        if self.generate:
            master = self._read(self.master_link, self.passphrase)
            reason = self._master_reason(master)
            if reason:
                self.actions['master'] = reason
                fs = next_filestamp(master.filestamp)
                material = GroupSource(self.scheme, fs, key=self._new_key())
            else:
                material = master.value
            self.master = master
        else:
            material = self.source
        if self.scheme == 'mv' and material.key is not None and self.mv_revoked is not None:
            revoked = sorted(set(self.mv_revoked) | {material.key.keys})
            if revoked != material.key.revoked:
                material = GroupSource('mv', material.filestamp, key=material.key.with_revoked(revoked))
                if self.generate and 'master' not in self.actions:
                    self.actions['master'] = 'MV revoked keys now %s' % revoked
        self.material = material
        if self.want_server:
            self._plan_copy('server', self.server_link, self.passphrase, material.server_key())
        if self.want_params:
            self._plan_copy('params', self.params_link, None, material.client_params(self.mv_client))
        self._check_exchange()
        return dict(self.actions)

    def _plan_copy(self, role, link, passphrase, wanted):
        if self.generate and role == 'server' and self.scheme != 'mv':
            # IFF and GQ: the master file is the server key; only its link matters.
            if 'master' not in self.actions and self.dir.link_target(link) != self.master.name:
                self.actions[role] = 'link does not point to the group key'
            elif 'master' in self.actions:
                self.actions[role] = 'group key changed'
            return
        current = self._read(link, passphrase)
        if current.name is None:
            self.actions[role] = '%s missing' % role
        elif current.error:
            self.actions[role] = self._unreadable('%s file' % role, current)
        else:
            have = current.value.server_key() if role == 'server' else current.value.client_params()
            if have != wanted or current.filestamp != self.material.filestamp:
                self.actions[role] = '%s differs from the group key (filestamp %s, group key %s)' % (
                    role, current.filestamp, self.material.filestamp)
        if role in self.actions:
            self.replaced[role] = current.name

    def _check_exchange(self):
        """Refuse to write material that would not verify on ntpd 4.2.8p15."""
        if self.material.key is None:
            return
        key = self.material.key
        server = identity.as_loaded(key.server_key(), key.server_container)
        params = self.material.client_params(self.mv_client)  # refuses a revoked MV key
        error = identity.exchange(self.scheme, server, params, gq_public=getattr(key, 'v', None))
        if error:
            raise MaterialError('self-test of the %s exchange failed (%s): the material is inconsistent'
                                % (self.scheme.upper(), error))

    # -- writing ----------------------------------------------------------
    def apply(self):
        replaced = []
        fs = self.material.filestamp
        cls = identity.SCHEMES[self.scheme]
        if 'master' in self.actions:
            key = self.material.key
            name = file_name(cls.master_kind, self.group, fs)
            body = ''.join(block.to_pem(cls.server_container, self.passphrase) for block in key.master())
            self.dir.write(name, KeyFile(name, fs, body).text())
            self.dir.link(self.master_link, name)
            if self.master.name != name:
                replaced.append(self.master.name)
            if self.scheme != 'mv' and self.want_server:
                self.dir.link(self.server_link, name)
        elif 'server' in self.actions and self.generate and self.scheme != 'mv':
            self.dir.link(self.server_link, self.master.name)
        for role, link, kind, text in (
                ('server', self.server_link, '%skey' % self.scheme, self.server_text),
                ('params', self.params_link, '%spar' % self.scheme, self.params_text)):
            if role not in self.actions or (role == 'server' and self.generate and self.scheme != 'mv'):
                continue
            name = file_name(kind, self.group, fs)
            self.dir.write(name, text(name))
            self.dir.link(link, name)
            if self.replaced.get(role) != name:
                replaced.append(self.replaced.get(role))
        backups = []
        for name in replaced:
            if not name or not self.dir.exists(name):
                continue
            if self.backup:
                backups.append(self.dir.join(name))
            else:
                self.dir.remove(name)
        return backups

    def server_text(self, name, passphrase=None):
        body = self.material.server_key().to_pem(identity.SCHEMES[self.scheme].server_container,
                                                 passphrase or self.passphrase)
        return KeyFile(name, self.material.filestamp, body).text()

    def params_text(self, name, client=None):
        params = self.material.client_params(client or self.mv_client)
        body = params.to_pem(identity.SCHEMES[self.scheme].params_container)
        return KeyFile(name, self.material.filestamp, body).text()

    def exports(self, export_passphrase=None):
        """File contents for other hosts: params always (public), the server
        key only encrypted with `export_passphrase`."""
        fs = self.material.filestamp
        out = {'filestamp': fs}
        try:
            out['params_export'] = self.params_text(file_name('%spar' % self.scheme, self.group, fs))
        except MaterialError:
            out['params_export'] = None
        key = self.material.key
        if self.scheme == 'mv' and key is not None:
            name = file_name('mvpar', self.group, fs)
            out['mv_params_exports'] = dict(
                (str(j), self.params_text(name, j)) for j in range(1, key.keys + 1) if j not in key.revoked)
        if export_passphrase:
            out['server_key_export'] = self.server_text(file_name('%skey' % self.scheme, self.group, fs),
                                                        export_passphrase)
        return out

    def describe(self):
        """The files ntpd opens now: link, file and filestamp (no key bytes)."""
        state = {}
        links = [('server_key', self.server_link), ('params', self.params_link)]
        if self.generate:
            links.insert(0, ('group_key', self.master_link))
        for role, link in links:
            name = self.dir.link_target(link)
            try:
                fs = self.dir.load(link).filestamp if name else None
            except (EnvelopeError, OSError, UnicodeDecodeError):
                fs = 'unreadable'
            state[role] = {'file': name and self.dir.join(name), 'filestamp': fs}
        return state

    def facts(self):
        key = self.material.key
        facts = {'scheme': self.scheme, 'group': self.group, 'filestamp': self.material.filestamp,
                 'fingerprint': self.material.fingerprint(),
                 'server_key_link': self.dir.join(self.server_link) if self.want_server else None,
                 'params_link': self.dir.join(self.params_link) if self.want_params else None}
        if key is not None:
            facts['bits'] = key.bits
            if self.scheme == 'gq':
                facts['gq_public_key'] = '%x' % key.v
            if self.scheme == 'mv':
                facts['mv_keys'] = key.keys - 1
                facts['mv_revoked'] = key.revoked
        return facts
