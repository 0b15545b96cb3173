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


import re

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import identity
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import (
    MAX_TEXT, EnvelopeError, KeyFile, check_name, file_name, link_name, parse, split_name, subject_name)
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import read_file
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.material import (
    Material, MaterialError, next_filestamp, read_linked)
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.private_keys import load_pem

DEFAULT_BITS = {'iff': 2048, 'gq': 1016, 'mv': 512}
# the ntpd release whose field layout the files are written in (GroupMaterial layout): only GQ differs
LAYOUTS = {None: None, '4.2.8': None, '4.2.6': '4.2.6'}
_KIND_SCHEME = re.compile(r'^(iff|gq|mv)', re.IGNORECASE)


class GroupSource:
    """Group material read from one file: the whole group key, or only a
    server key or only client params (what an export carries)."""

    def __init__(self, scheme, filestamp, key=None, server=None, params=None, raw=None):
        self.scheme, self.filestamp = scheme, filestamp
        self.key, self.server, self.params = key, server, params
        self.cls = identity.SCHEMES[scheme]
        self.raw = raw  # the first key of the file as read (its fields in the file's own layout)
        self.layout = None  # the ntpd release whose GQ layout the files are written in (None: 4.2.8's)

    @property
    def public_only(self):
        """Client params only: nothing in it is secret."""
        return self.key is None and self.server is None

    def server_key(self):
        if self.key is not None:
            return self.key.server_key(self.layout) if self.scheme == 'gq' else self.key.server_key()
        if self.server is None:
            raise MaterialError('the %s material given holds client params only: a server key cannot be '
                                'made from it. Supply the group key or a server-key export' % self.scheme.upper())
        return self.server

    def client_params(self, client=1):
        if self.key is not None:
            try:
                return self.key.params(client, self.layout) if self.scheme == 'gq' else self.key.params(client)
            except identity.IdentityError as exc:
                raise MaterialError(str(exc))
        if self.params is None:
            raise MaterialError('the %s material given is a server key only: for MV, client params come '
                                'from the trusted host\'s MVta or a params export' % self.scheme.upper())
        return identity.GqKey.params_in_layout(self.params, self.layout) if self.scheme == 'gq' else self.params

    def fingerprint(self):
        if self.key is not None:
            return self.key.public_fingerprint()
        return None

    # -- file texts -------------------------------------------------------
    def server_text(self, name, passphrase):
        body = self.server_key().to_pem(self.cls.server_container, passphrase)
        return KeyFile(name, self.filestamp, body).text()

    def params_text(self, name, client=1):
        body = self.client_params(client).to_pem(self.cls.params_container)
        return KeyFile(name, self.filestamp, body).text()

    def exports(self, group, export_passphrase=None, client=1):
        """File texts for other hosts: the params of `client` (public; None when the
        material cannot make them), for MV those of every usable client key, and the
        server key only when encrypted with `export_passphrase`."""
        fs = self.filestamp
        params_name = file_name('%spar' % self.scheme, group, fs)
        out = {'filestamp': fs}
        try:
            out['params_export'] = self.params_text(params_name, client)
        except MaterialError:
            out['params_export'] = None
        clients = self.key.usable_clients() if self.key is not None else None
        if clients is not None:
            out['mv_params_exports'] = dict((str(j), self.params_text(params_name, j)) for j in clients)
        if export_passphrase:
            out['server_key_export'] = self.server_text(file_name('%skey' % self.scheme, group, fs),
                                                        export_passphrase)
        return out

    def facts(self, group):
        """Public facts: scheme, group, filestamp, fingerprint, and what the whole key tells."""
        facts = {'scheme': self.scheme, 'group': group, 'filestamp': self.filestamp,
                 'fingerprint': self.fingerprint()}
        if self.key is not None:
            facts.update(self.key.facts())
        return facts


def check_header(keyfile, scheme, group, where):
    """Refuse a file whose header line names another scheme, or clearly another group.

    Line 1 is `# ntpkey_<kind>_<name>.<filestamp>`; ntpd reads only the filestamp
    from it. <kind> tells the scheme (IFFkey, iffkey, iffpar, GQkey, MVta, mvkey,
    mvpar ...). <name> is the group, or the trusted host's own name where ntp-keygen
    ran without a group (4.2.6 trusted hosts). Headers without such a name pass."""
    parts = split_name(keyfile.name)
    kind = parts and _KIND_SCHEME.match(parts[0])
    if not kind:
        return
    said, name = kind.group(1).lower(), parts[1]
    if said != scheme:
        raise MaterialError(
            '%s: its header line "# %s" says it is %s material, but scheme %s was asked. Give scheme: %s, or the '
            '%s file of the group (ntpkey_%s_<group> or an export of it)'
            % (where, keyfile.name, said.upper(), scheme, said, scheme.upper(), identity.SCHEMES[scheme].master_kind))
    if name.lower() == group.lower() or name.lower().endswith('@' + group.lower()):
        return  # the same group, or a 4.2.6 trusted host named host@group (its files carry its name)
    if '.' in name and '.' not in group:
        return  # a fully qualified trusted host name (ntp-keygen without a group)
    raise MaterialError(
        '%s: its header line "# %s" names group %s, but group %s was asked. Give the %s file of group %s (from '
        'that group\'s trusted host), or group: %s if this host belongs to group %s. If %s is the name of the '
        'trusted host that made the file (ntp-keygen without a group names the file after its host), change '
        'line 1 to "# ntpkey_%s_%s.%d": ntpd reads only the filestamp from it'
        % (where, keyfile.name, name, group, scheme.upper(), group, name, name, name, parts[0], group,
           keyfile.filestamp))


def read_source(scheme, text, passphrase=None, where='source', group=None):
    """The GroupSource in `text`; errors name `where`. With `group`, the header line
    must not name another scheme or group (check_header)."""
    try:
        keyfile = parse(text, where)
    except EnvelopeError as exc:
        raise MaterialError(str(exc))
    return read_keyfile(scheme, keyfile, passphrase, where, group)


def read_keyfile(scheme, keyfile, passphrase=None, where='source', group=None):
    """The GroupSource in a parsed file (read_source)."""
    if group is not None:
        check_header(keyfile, scheme, group, where)
    try:
        blocks = load_pem(keyfile.body, passphrase)
        held = identity.SCHEMES[scheme].classify(blocks)
    except AutokeyError as exc:
        raise MaterialError('%s: %s' % (where, exc))
    return GroupSource(scheme, keyfile.filestamp, raw=blocks[0], **held)


def read_given(scheme, group, src=None, content=None, passphrase=None, where='content'):
    """The GroupSource in the file `src` or the text `content` (the option `where`), None without either.
    Refuses a header line that names another scheme or group."""
    if src:
        return read_source(scheme, _source_text(src), passphrase, src, group)
    if content:
        if not isinstance(content, str) or not _is_utf8(content):
            raise MaterialError('%s is not the text of an Autokey file (binary data?): give the file\'s text' % where)
        return read_source(scheme, content, passphrase, where, group)
    return None


def _is_utf8(text):
    try:
        text.encode('utf-8')  # surrogates stand for undecodable bytes
        return True
    except UnicodeError:
        return False


def _source_text(src):
    """The text of the file `src`: a regular file (a FIFO or device is refused before it is opened,
    files.read_file), at most MAX_TEXT bytes and UTF-8 (ntpd reads ASCII PEM)."""
    try:
        return read_file(src, limit=MAX_TEXT)
    except UnicodeDecodeError:
        raise MaterialError('%s is not a text file (corrupted?): give an Autokey key file' % src)
    except AutokeyError as exc:  # not a regular file, too large: the message names src
        raise MaterialError(str(exc))
    except OSError as exc:
        raise MaterialError('cannot read %s: %s' % (src, exc.strerror or exc))


def read_link(keysdir, scheme, link, passphrase):
    """Loaded state of the group file behind `link` in `keysdir`; the error names the file."""
    return read_linked(keysdir, link, lambda keyfile, path: read_keyfile(scheme, keyfile, passphrase, path))


def master_link(scheme, group):
    """The link to the group key a trusted host keeps: ntpkey_iffkey_<g>, ntpkey_gqkey_<g>, ntpkey_mvta_<g>."""
    return link_name(identity.SCHEMES[scheme].master_kind.lower(), group)


def read_group_key(keysdir, scheme, group, passphrase):
    """(GroupSource, path) of the group key kept in `keysdir`, read only."""
    link = master_link(scheme, group)
    loaded = read_link(keysdir, scheme, link, passphrase)
    if loaded.refused:
        raise MaterialError('%s: remove it; ntp.autokey.group_keys generate=true regenerate=full_idempotence '
                            'replaces it by a group key made here (what it points to is left alone)'
                            % loaded.refused)
    if loaded.name is None:
        raise MaterialError('%s does not exist: this host keeps no %s group key of group %s. Generate it with '
                            'ntp.autokey.group_keys generate=true on the trusted host, or read an exported key '
                            'with src or content' % (keysdir.join(link), scheme.upper(), group))
    if loaded.error:
        raise MaterialError('cannot read the group key %s. Check the passphrase (the crypto pw of the host that '
                            'keeps it); a damaged file is replaced by ntp.autokey.group_keys generate=true '
                            'regenerate=full_idempotence. Nothing was changed.' % loaded.error)
    return loaded.value, keysdir.join(loaded.name)


def check_source_choice(generate, has_source):
    if generate and has_source:
        raise MaterialError('either generate the group key here or import it from a source, not both')
    if not generate and not has_source:
        raise MaterialError('nothing to install: give a source (content or file) or generate=true')


def member_material(keysdir, group, passphrase, given, regenerate='partial_idempotence', backup=True):
    """The group material of a group server or client from the texts its trusted host exports (`given`: scheme,
    params, and for a group server server_key with source_passphrase, mv_client, aliases): a GroupMaterial each."""
    scheme, parts, aliases, layout = given['scheme'], [], given.get('aliases') or (), given.get('layout')
    if given.get('server_key'):
        source = read_given(scheme, group, content=given['server_key'], passphrase=given.get('source_passphrase'),
                            where='group_material.server_key')
        parts.append(GroupMaterial(keysdir, scheme, group, passphrase=passphrase, source=source, params=False,
                                   regenerate=regenerate, backup=backup, aliases=aliases, layout=layout))
    source = read_given(scheme, group, content=given['params'], where='group_material.params')
    if source is None:
        raise MaterialError('group_material.params is empty: give the params text the trusted host exports')
    if parts and parts[0].source.filestamp != source.filestamp:
        # ntpd pairs the server key and params by filestamp: a pair of two group keys is refused at the exchange
        raise MaterialError('group_material.server_key (filestamp %d) and group_material.params (filestamp %d) are of '
                            'two different group keys: ntpd refuses such a pair (bad_filestamp). Give both from the '
                            'same export of the trusted host (autokey_group_export, or group_keys_info with '
                            'export_passphrase)' % (parts[0].source.filestamp, source.filestamp))
    parts.append(GroupMaterial(keysdir, scheme, group, source=source, server_key=False,
                               mv_client=given.get('mv_client', 1), regenerate=regenerate, backup=backup,
                               aliases=aliases, layout=layout))
    return parts


def check_alias(name):
    """An alias is a certificate subject (`host@group` or `host`): ntpd 4.2.6 opens the group files under the
    subject of the Trust Root certificate its chain ends in, not under the group name."""
    if not isinstance(name, str):
        raise MaterialError('alias %r is not a certificate subject (host@group)' % (name,))
    host, dummy, group = name.partition('@')
    try:
        subject_name(host, group or None)
        if dummy and not group:
            raise EnvelopeError('nothing after "@"')
    except EnvelopeError as exc:
        raise MaterialError('alias %r is not a certificate subject (host@group): %s' % (name, exc))
    return name


class GroupMaterial(Material):
    def __init__(self, keysdir, scheme, group, passphrase=None, generate=False, size=None, source=None,
                 server_key=True, params=True, mv_keys=4, mv_client=1, mv_revoked=None,
                 regenerate='partial_idempotence', backup=True, replace_before=None, aliases=(), layout=None):
        if scheme not in identity.SCHEMES:
            raise MaterialError('scheme must be one of iff, gq, mv')
        if layout not in LAYOUTS:
            raise MaterialError('layout must be one of %s' % ', '.join(sorted(k for k in LAYOUTS if k)))
        check_source_choice(generate, source is not None)
        if server_key and not passphrase:
            raise MaterialError('a server key needs the passphrase ntpd uses on this host (crypto pw)')
        # replace_before (NTP seconds): an older group key is rolled over (generate only)
        Material.__init__(self, keysdir, regenerate, backup, replace_before)
        self.scheme, self.group = scheme, check_name(group, 'group name')
        self.cls = identity.SCHEMES[scheme]
        # GQ for ntpd 4.2.6: every GQ file in 4.2.6's layout, the trusted host's group key too (it is the server key)
        self.layout = LAYOUTS[layout] if scheme == 'gq' else None
        self.master_is_server = generate and self.cls.master_is_server
        self.passphrase, self.generate, self.source = passphrase, generate, source
        self.size = size or DEFAULT_BITS[scheme]
        self.want_server, self.want_params = server_key, params
        self.mv_keys, self.mv_client, self.mv_revoked = mv_keys, mv_client, mv_revoked
        self.master_link = master_link(scheme, group)
        self.server_link = link_name('%skey' % scheme, group)
        self.params_link = link_name('%spar' % scheme, group)
        # more names for the same files (check_alias): {role: [link, ...]}, and those this run points anew
        names = sorted(set(check_alias(a) for a in aliases) - {group})
        self.alias_links = {'server': [link_name('%skey' % scheme, a) for a in names if server_key],
                            'params': [link_name('%spar' % scheme, a) for a in names if params]}
        self.alias_changes = {}
        self.actions = {}
        self.replaced = {}
        self.material = None

    # -- reading ----------------------------------------------------------
    def _read(self, link, passphrase):
        return read_link(self.dir, self.scheme, link, passphrase)

    # -- deciding ---------------------------------------------------------
    def _master_reason(self, loaded):
        def differs(source):
            if source.key is None:
                return 'the file holds no complete group key'
            return source.key.differs(self.size, self.mv_keys)
        return self.replace_reason(loaded, 'group key', differs)

    def plan(self):
        """Work out the desired files; returns {file role: reason} for changes."""
        if self.generate:
            master = self._read(self.master_link, self.passphrase)
            reason = self._master_reason(master)
            if reason:
                self.actions['master'] = reason
                fs = next_filestamp(master.filestamp)
                material = GroupSource(self.scheme, fs, key=self.cls.generate_for(self.size, self.mv_keys))
            else:
                material = master.value
                if self.scheme == 'gq' and material.raw != material.key.server_key(self.layout):
                    self.actions['master'] = 'group key in the GQ layout of ntpd %s (the same key)' % (
                        self.layout or '4.2.8')
            self.master = master
        else:
            material = self.source
        if self.scheme == 'mv' and material.key is not None and self.mv_revoked is not None:
            revoked = sorted(set(self.mv_revoked) | {material.key.keys})
            if revoked != material.key.revoked:
                material = GroupSource('mv', material.filestamp, key=material.key.with_revoked(revoked))
                if self.generate and 'master' not in self.actions:
                    self.actions['master'] = 'MV revoked keys now %s' % revoked
        material.layout = self.layout
        self.material = material
        if self.want_server:
            self._plan_copy('server', self.server_link, self.passphrase, material.server_key())
        if self.want_params:
            self._plan_copy('params', self.params_link, None, material.client_params(self.mv_client))
        self._plan_aliases()
        self._check_exchange()
        return dict(self.actions)

    def _plan_aliases(self):
        """Alias links follow their role's link: new whenever it changes, else where they do not point with it."""
        for role, main in (('server', self.server_link), ('params', self.params_link)):
            for link in self.alias_links[role]:
                entry = self.dir.resolve(link)
                if entry.name == link or not entry.replaceable:
                    raise MaterialError('%s is a file, not a link: ntpd 4.2.6 opens the %s under this name, which '
                                        'the collection keeps as a link to the group\'s file. Move it out of the keys '
                                        'directory and run again' % (self.dir.join(link), role))
                changed = role in self.actions or (role == 'server' and 'master' in self.actions)
                if changed or entry.name is None or entry.name != self.dir.link_target(main):
                    self.alias_changes[link] = role
                    self.actions['%s alias' % link] = 'link for ntpd 4.2.6 %s' % (
                        'follows the %s' % role if changed else 'missing' if entry.name is None and not entry.problem
                        else 'points elsewhere')

    def _plan_copy(self, role, link, passphrase, wanted):
        if role == 'server' and self.master_is_server:
            # IFF and GQ: the master file is the server key; only its link matters.
            if 'master' not in self.actions and self.dir.link_target(link) != self.master.name:
                self.actions[role] = 'link does not point to the group key'
            elif 'master' in self.actions:
                self.actions[role] = 'group key changed'
            return
        current = self._read(link, passphrase)
        if current.refused:
            self.actions[role] = self.refused_link('%s file' % role, current)
        elif current.name is None:
            self.actions[role] = '%s missing' % role
        elif current.error:
            self.actions[role] = self.unreadable('%s file' % role, current)
        else:
            have = current.value.server_key() if role == 'server' else current.value.client_params()
            if self.scheme == 'gq':  # GQ files differ in layout too (ntpd 4.2.6's or 4.2.8's fields)
                have = current.value.raw
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
        error = self.cls.exchange(server, params, gq_public=getattr(key, 'v', None))
        if error:
            raise MaterialError('self-test of the %s exchange failed (%s): the material is inconsistent'
                                % (self.scheme.upper(), error))

    # -- writing ----------------------------------------------------------
    def write(self, tx):
        """Stage the planned files (Material.apply): never params of one group key beside the server key
        of another."""
        replaced, staged = [], {}

        def link(name, target):
            tx.link(name, target)
            staged[name] = target
        fs = self.material.filestamp
        master_is_server = self.master_is_server
        if 'master' in self.actions:
            key = self.material.key
            name = file_name(self.cls.master_kind, self.group, fs)
            blocks = [key.server_key(self.layout)] if self.scheme == 'gq' else key.master()
            body = ''.join(block.to_pem(self.cls.server_container, self.passphrase) for block in blocks)
            tx.write(name, KeyFile(name, fs, body).text())
            link(self.master_link, name)
            if self.master.name != name:
                replaced.append(self.master.name)
            if master_is_server and self.want_server:
                link(self.server_link, name)
        elif 'server' in self.actions and master_is_server:
            link(self.server_link, self.master.name)
        for role, main, kind, text in (
                ('server', self.server_link, '%skey' % self.scheme, self.server_text),
                ('params', self.params_link, '%spar' % self.scheme, self.params_text)):
            if role not in self.actions or (role == 'server' and master_is_server):
                continue
            name = file_name(kind, self.group, fs)
            tx.write(name, text(name))
            link(main, name)
            if self.replaced.get(role) != name:
                replaced.append(self.replaced.get(role))
        for alias, role in sorted(self.alias_changes.items()):
            main = self.server_link if role == 'server' else self.params_link
            tx.link(alias, staged.get(main) or self.dir.link_target(main))
        return replaced

    def server_text(self, name, passphrase=None):
        return self.material.server_text(name, passphrase or self.passphrase)

    def params_text(self, name, client=None):
        return self.material.params_text(name, client or self.mv_client)

    def exports(self, export_passphrase=None):
        """File contents for other hosts: params always (public), the server
        key only encrypted with `export_passphrase` (GroupSource.exports)."""
        return self.material.exports(self.group, export_passphrase, self.mv_client)

    def describe(self):
        """The files ntpd opens now: link, file and filestamp (no key bytes)."""
        state = {}
        links = [('server_key', self.server_link), ('params', self.params_link)]
        if self.generate:
            links.insert(0, ('group_key', self.master_link))
        for role, link in links:
            entry = self.dir.resolve(link)
            if entry.problem:
                state[role] = {'file': None, 'filestamp': None, 'refused': entry.problem}
                continue
            try:
                fs = self.dir.load(entry.name).filestamp if entry.name else None
            except (AutokeyError, OSError):
                fs = 'unreadable'
            state[role] = {'file': entry.name and self.dir.join(entry.name), 'filestamp': fs}
        return state

    def facts(self):
        facts = self.material.facts(self.group)
        facts.update(server_key_link=self.dir.join(self.server_link) if self.want_server else None,
                     params_link=self.dir.join(self.params_link) if self.want_params else None,
                     alias_links=[self.dir.join(link) for role in ('server', 'params') for link in self.alias_links[role]])
        return facts
