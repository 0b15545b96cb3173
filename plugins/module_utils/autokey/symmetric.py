# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Symmetric keys as ntpd and chronyd read them: the fleet's key types, what each daemon accepts, the
line each daemon reads, and a tolerant reader of existing key files (IDs and types only, for the diff).

Hand-written because no library writes or reads these two formats. The rules, checked on ntpd 4.2.8p15
and chrony 4.0 (docs/symmetric-keys.md):

* ntpd (`keys FILE`): `ID TYPE KEY`; IDs 1-65535; a key of 20 characters or fewer is taken as ASCII, a
  longer one as hex of at most 64 digits (more are cut silently); '#' starts a comment anywhere; one line
  ntpd cannot read makes it reject the whole file.
* chronyd (`keyfile FILE`): `ID TYPE HEX:KEY` or `ID TYPE ASCII:KEY`; IDs 1-2^32-1; AES keys must have
  the cipher's length.

A key of the fleet is daemon-neutral: its type is one of TYPES and its secret is hex (or short ASCII for
the legacy digest keys that sites already run); this module refuses, before anything is written, every
key one daemon could not read exactly as the other.
"""


import re
import stat

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import (
    KeysDirError, kind_of, lstat_or_none, read_file)

DAEMONS = ('ntpd', 'chrony')

# fleet type -> (ntpd's name or None, chrony's name or None, secret length in bytes: exact or (min, max))
TYPES = {
    'AES128CMAC': ('AES128CMAC', 'AES128', 16),
    'AES256CMAC': (None, 'AES256', 32),
    'SHA1': ('SHA1', 'SHA1', (16, 32)),
    'SHA256': ('SHA256', 'SHA256', (16, 32)),
    'SHA512': ('SHA512', 'SHA512', (16, 32)),
    'MD5': ('MD5', 'MD5', (16, 32)),
}
# The strongest type both daemons verify with each other; MD5 and SHA1 only for peers that have nothing else.
DEFAULT_TYPE = 'AES128CMAC'
WEAK_TYPES = ('MD5', 'SHA1')
# Types ntpq 4.2.8p15 can sign control requests with (it refuses 32-octet digests).
NTPQ_TYPES = ('AES128CMAC', 'MD5', 'SHA1')

MAX_ID = {'ntpd': 65535, 'chrony': 4294967295}
# ASCII secrets: what both daemons read as the same bytes (ntpd takes 20 characters or fewer as ASCII;
# '#' would start a comment there). Only for digest keys.
ASCII_SECRET = re.compile(r'[!"$-~]{1,20}\Z')
# What ntpq's `passwd` reads back as the key's bytes. ntpq 4.2.8p15 splits every command line it reads with
# tokenize() (ntpq/ntpq.c): a word ends at ' ', '\t', '\r', '\n' or NUL, and '"' ends it too (a '"' at its start
# opens a quoted word instead), so a key with such a byte is cut there and ntpq signs with another key. Those are
# the only bytes tokenize() treats specially; '#' is refused as well, as in every key and word this collection
# writes (ntpd's key file and ntp.conf cut at it), so that a controlkey reads the same everywhere.
NTPQ_PASSWORD = re.compile(r'[!$-~]+\Z')
NTPQ_RULE = 'printable ASCII without spaces, \'#\' or \'"\''
KEY_ID = re.compile(r'[0-9]{1,10}\Z')  # ASCII digits only ('²'.isdigit() is true)
HEX_SECRET = re.compile(r'[0-9a-fA-F]+\Z')


class SymmetricKeyError(AutokeyError):
    """A key that cannot be written for the daemon; the message names the key and the fix."""


def _length_text(length):
    return '%d bytes' % length if isinstance(length, int) else '%d to %d bytes' % length


def check_key(key, daemon, where='key'):
    """A normalised copy of `key` ({id, type, secret, format}) for `daemon`, or SymmetricKeyError naming
    the key (never its secret) and what to change."""
    if daemon not in DAEMONS:
        raise SymmetricKeyError('unknown daemon %r: ntpd or chrony' % (daemon,))
    if not isinstance(key, dict):
        raise SymmetricKeyError('%s is not a mapping with id, type and secret' % where)
    key_id = key.get('id')
    if isinstance(key_id, bool) or not isinstance(key_id, int):
        try:
            key_id = int(str(key_id), 10)
        except ValueError:
            raise SymmetricKeyError('%s: id must be a whole number' % where)
    where = '%s %d' % (where, key_id)
    if not 1 <= key_id <= MAX_ID[daemon]:
        raise SymmetricKeyError('%s: %s key IDs are 1 to %d%s' % (
            where, daemon, MAX_ID[daemon], ' (higher ones are reserved for Autokey)' if daemon == 'ntpd' else ''))
    kind = str(key.get('type') or DEFAULT_TYPE).upper()
    if kind not in TYPES:
        raise SymmetricKeyError('%s: type %s is not one of %s' % (where, kind, ', '.join(sorted(TYPES))))
    names = TYPES[kind]
    if names[DAEMONS.index(daemon)] is None:
        raise SymmetricKeyError('%s: %s cannot use type %s; use %s, which ntpd and chrony both verify'
                                % (where, daemon, kind, DEFAULT_TYPE))
    secret = key.get('secret')
    if not isinstance(secret, str) or not secret:
        raise SymmetricKeyError('%s: secret is missing (hex, from a vault or symmetric_keyset)' % where)
    form = key.get('format') or 'hex'
    length = names[2]
    if form == 'ascii':
        if isinstance(length, int):
            raise SymmetricKeyError('%s: an ASCII secret is for digest keys (MD5, SHA1, ...); %s needs %d bytes '
                                    'of hex' % (where, kind, length))
        if not ASCII_SECRET.match(secret):
            raise SymmetricKeyError('%s: an ASCII secret is 1 to 20 printable characters without spaces or #, '
                                    'which ntpd and chrony read alike; use hex for anything else' % where)
    elif form == 'hex':
        if not HEX_SECRET.match(secret) or len(secret) % 2:
            raise SymmetricKeyError('%s: the secret is not hex (an even number of 0-9, a-f)' % where)
        size = len(secret) // 2
        low, high = (length, length) if isinstance(length, int) else length
        if not low <= size <= high:
            raise SymmetricKeyError('%s: a %s secret has %s, this one %d' % (where, kind, _length_text(length), size))
        secret = secret.lower()
    else:
        raise SymmetricKeyError('%s: format must be hex or ascii' % where)
    return dict(id=key_id, type=kind, secret=secret, format=form)


def check_keys(keys, daemon):
    """check_key() for each key; IDs must be unique."""
    if not isinstance(keys, list):
        raise SymmetricKeyError('keys must be a list of {id, type, secret}')
    checked, seen = [], set()
    for index, key in enumerate(keys):
        one = check_key(key, daemon, where='key' if isinstance(key, dict) else 'entry %d of keys' % (index + 1))
        if one['id'] in seen:
            raise SymmetricKeyError('key %d is listed twice: one key per ID' % one['id'])
        seen.add(one['id'])
        checked.append(one)
    return sorted(checked, key=lambda k: k['id'])


def ntpq_password(key):
    """What ntpq's `passwd` takes for a checked key: ntpq 4.2.8 uses the text it is given as the key's bytes
    and never decodes hex, so only a key whose bytes are printable ASCII without spaces, '#' or '"' can sign
    control requests (the controlkey; see NTPQ_PASSWORD). SymmetricKeyError otherwise, naming the key ID and
    never its bytes."""
    if key['type'] not in NTPQ_TYPES:
        raise SymmetricKeyError('key %d: ntpq cannot sign with %s; a controlkey is one of %s'
                                % (key['id'], key['type'], ', '.join(NTPQ_TYPES)))
    if key['format'] == 'ascii':
        text = key['secret']
    else:
        text = bytes.fromhex(key['secret']).decode('latin-1')
    if NTPQ_PASSWORD.match(text):
        return text
    if not re.match(r'[ -~]+\Z', text):
        why = ('its bytes are not printable ASCII, and ntpq takes a password as text (it ends it at a control '
               'character)')
    elif '"' in text:
        why = ('its bytes contain \'"\', where ntpq\'s command reader ends the password, so ntpq would sign with '
               'another key')
    elif ' ' in text:
        why = 'its bytes contain a space, where ntpq\'s command reader ends the password'
    else:
        why = 'its bytes contain \'#\', which no controlkey of this collection may hold'
    raise SymmetricKeyError('key %d: %s. A controlkey needs bytes that are %s: make a new one with '
                            'symmetric_keyset (purpose control) or choose another controlkey'
                            % (key['id'], why, NTPQ_RULE))


def daemon_type(kind, daemon):
    return TYPES[kind][DAEMONS.index(daemon)]


def render_line(key, daemon):
    """The key file line of a checked key."""
    kind = daemon_type(key['type'], daemon)
    if daemon == 'ntpd':
        return '%d %s %s' % (key['id'], kind, key['secret'])
    return '%d %s %s:%s' % (key['id'], kind, 'ASCII' if key['format'] == 'ascii' else 'HEX', key['secret'])


def render(keys, daemon):
    """The whole key file of checked keys."""
    head = ['# Symmetric NTP keys, written by ntp.autokey (symmetric_keys) for %s; changes here are replaced.'
            % daemon, '# ID TYPE KEY']
    return '\n'.join(head + [render_line(k, daemon) for k in keys]) + '\n'


# -- reading an existing file: IDs and types, never secrets in any output ---------------------------------

_NTPD_TYPES = dict((v[0], k) for k, v in TYPES.items() if v[0])
_NTPD_TYPES['M'] = 'MD5'
_CHRONY_TYPES = dict((v[1], k) for k, v in TYPES.items() if v[1])


def parse(text, daemon):
    """({id: (fleet type or the daemon's type name, secret)}, [problems]) of a key file's text.

    Never raises on content: a line that is not a key is a problem ('line N: ...'), named without any of
    its content. The secret is returned as the daemon would read it, for comparison only."""
    keys, problems = {}, []
    for number, raw in enumerate(text.split('\n'), 1):
        line = raw.split('#', 1)[0] if daemon == 'ntpd' else ('' if raw.lstrip()[:1] in ('#', '!', ';', '%')
                                                              else raw)
        words = line.split()
        if not words:
            continue
        problem = None
        if not KEY_ID.match(words[0]) or not 1 <= int(words[0]) <= MAX_ID[daemon]:
            problem = 'not a key ID'
        elif daemon == 'ntpd' and len(words) < 3:
            problem = 'missing type or key'
        elif daemon == 'chrony' and len(words) < 2:
            problem = 'missing key'
        if problem is None:
            key_id = int(words[0])
            if daemon == 'ntpd':
                kind, secret = _NTPD_TYPES.get(words[1].upper(), words[1].upper()), words[2]
            else:
                kind = _CHRONY_TYPES.get(words[1].upper(), words[1].upper()) if len(words) > 2 else 'MD5'
                secret = words[-1] if len(words) > 2 else words[1]
            if key_id in keys:
                problem = 'key %d again' % key_id
            else:
                keys[key_id] = (kind, secret)
        if problem:
            problems.append('line %d: %s' % (number, problem))
    return keys, problems


def forbidden_type(address, key_id, kind):
    """The finding for an association whose key type the policy forbids (status and chrony judges)."""
    return ('%s: uses key %s of type %s, which the policy forbids: roll it over to AES128CMAC '
            '(docs/symmetric-keys.md)' % (address, key_id, kind))


def key_types(keys):
    """{id: type} of parse()'s or check_keys()'s keys, for the diff."""
    if isinstance(keys, dict):
        return dict((str(k), v[0]) for k, v in sorted(keys.items()))
    return dict((str(k['id']), k['type']) for k in keys)


def _secret_text(word, daemon):
    """A key word as the daemon reads it: hex in any case is the same key, ASCII is case-sensitive."""
    hexadecimal = word[:4].upper() == 'HEX:' if daemon == 'chrony' else len(word) > 20
    return word.lower() if hexadecimal else word


def compare(old, new, daemon):
    """{id: why} for every key added, removed or changed between parse()'s `old` and checked `new`."""
    reasons = {}
    wanted = dict((k['id'], k) for k in new)
    for key_id in sorted(set(old) | set(wanted)):
        if key_id not in wanted:
            reasons[str(key_id)] = 'removed (%s)' % old[key_id][0]
        elif key_id not in old:
            reasons[str(key_id)] = 'added (%s)' % wanted[key_id]['type']
        else:
            key = wanted[key_id]
            line = render_line(key, daemon).split()
            if old[key_id][0] != key['type']:
                reasons[str(key_id)] = 'type %s, was %s' % (key['type'], old[key_id][0])
            elif _secret_text(old[key_id][1], daemon) != _secret_text(line[-1], daemon):
                reasons[str(key_id)] = 'secret replaced (%s)' % key['type']
    return reasons


class KeyFile:
    """One host's key file as module_support.run() drives it: describe(), plan(), apply(), facts().

    The file's directory is a keys.KeysDir boundary: its lock, its safety check, the file never followed
    when it is a link, written whole under a temporary name and renamed into place (atomic), and its mode
    and owner enforced. `keys` are check_keys()'s."""

    def __init__(self, keysdir, name, keys, daemon, backup=False):
        self.dir, self.name, self.keys, self.daemon, self.backup = keysdir, name, keys, daemon, backup
        self.text = render(keys, daemon)
        self._old = None

    def _read(self):
        """({id: (type, secret)}, problems) of the file there now; None when there is none."""
        if self._old is None:
            path = self.dir.join(self.name)
            st = lstat_or_none(path)
            if st is None:
                self._old = ({}, [], None)
            elif stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
                raise KeysDirError('%s is %s, not a key file: it is never followed or replaced here. Remove it and '
                                   'rerun. Nothing was changed.' % (path, kind_of(st.st_mode)))
            elif st.st_nlink > 1:
                raise KeysDirError('%s has %d names (hard links), and another may lie outside %s: it is never '
                                   'replaced here. Remove the other names and rerun. Nothing was changed.'
                                   % (path, st.st_nlink, self.dir.path))
            else:
                self.dir.resolve(self.name)  # its mode and owner are enforced
                try:
                    text = read_file(path, follow=False)
                except UnicodeDecodeError:
                    self._old = ({}, ['not a text file'], None)
                else:
                    keys, problems = parse(text, self.daemon)
                    self._old = (keys, problems, text)
        return self._old

    def describe(self):
        keys, problems, text = self._read()
        state = dict(path=self.dir.join(self.name), keys=key_types(keys))
        if problems:
            state['unreadable'] = problems
        return state

    def plan(self):
        keys, problems, text = self._read()
        if text == self.text:
            return {}
        reasons = dict(('key %s' % k, v) for k, v in compare(keys, self.keys, self.daemon).items())
        if problems:
            reasons['file'] = '%s: %s, which %s would reject' % (
                self.dir.join(self.name), '; '.join(problems[:5]), self.daemon)
        if text is None:
            reasons['file'] = 'created'
        if not reasons:
            reasons['file'] = 'rewritten in the form this collection writes (same keys)'
        return reasons

    def apply(self):
        with self.dir.transaction() as tx:
            tx.write(self.name, self.text)
            kept = tx.commit(backup=self.backup)
        self._old = None  # describe() reads the new file
        return kept

    def facts(self):
        return dict(path=self.dir.join(self.name), key_ids=[k['id'] for k in self.keys],
                    key_types=key_types(self.keys))
