# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet's symmetric key set, kept on the controller: named keys, IDs allocated without collisions,
secrets generated, one rotation at a time (the current key and the previous one until it is retired).

The file is JSON: {"version": 1, "keys": {NAME: {"current": KEY, "previous": KEY}}, "retired": [ID, ...]},
with KEY {"id", "type", "secret" (hex), "created" (UTC, ISO 8601)}. Retired IDs are never allocated again:
a host that missed the retirement still holds the old secret under that ID. Every key read back is checked as a key both
daemons could hold (symmetric.check_key); a damaged file is refused, never repaired or overwritten.

The file's text is read as hostile input (docs/hostile-input.md): a name that appears twice in one JSON
object (json would keep the last, and the other's ID could be handed out again with another secret), nesting
deeper than a key set has (a RecursionError otherwise), numbers of more than ID_DIGITS digits and anything
that is not JSON are refused with one message naming the file and the fix.
"""


import json
import os
import re
import time

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.symmetric import (
    TYPES, SymmetricKeyError, check_key)

# IDs every daemon accepts (ntpd reserves the ones above for Autokey).
ID_LIMIT = 65535
NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z')
# The largest key set file read or written: 65535 IDs of the longest type with names of 64 characters stay
# below 20 MiB.
MAX_SIZE = 32 << 20
# A key set nests 4 levels ({"keys": {NAME: {"current": KEY}}}); anything far deeper is not one.
MAX_DEPTH = 16
# Digits of a number in a key set (IDs, retired IDs); longer ones are refused before they are converted.
ID_DIGITS = 20
# JSON strings, an unterminated one included (so that the pattern never backtracks over the rest).
_STRING = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.DOTALL)
_BRACKET = re.compile(r'[\[\]{}]')
# A controlkey's bytes are typed into ntpq as text (symmetric.ntpq_password): letters and digits only.
CONTROL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'


def secret_length(kind):
    length = TYPES[kind][2]
    return length if isinstance(length, int) else 20


def new_secret(kind, purpose):
    """Hex of fresh random bytes; for a controlkey, of random letters and digits (62 symbols, 5.95 bits each:
    95 bits for an AES128CMAC key) so that ntpq can send it."""
    size = secret_length(kind)
    if purpose == 'control':
        data = bytearray()
        while len(data) < size:
            byte = os.urandom(1)[0]
            if byte < 248:  # 248 = 4 * 62: no modulo bias
                data.append(ord(CONTROL_ALPHABET[byte % 62]))
        return bytes(data).hex()
    return os.urandom(size).hex()


def _checked(entry, where):
    if not isinstance(entry, dict) or set(entry) - {'id', 'type', 'secret', 'created'}:
        raise SymmetricKeyError('%s is not a key of a key set (id, type, secret, created)' % where)
    key = check_key(dict(entry, format='hex'), 'chrony', where=where)
    if key['id'] > ID_LIMIT:
        raise SymmetricKeyError('%s: ID above %d, which ntpd reserves for Autokey' % (where, ID_LIMIT))
    key['created'] = str(entry.get('created', ''))
    del key['format']
    return key


class DuplicateName(SymmetricKeyError):
    """A name appears twice in one JSON object of a key set."""

    def __init__(self, name):
        SymmetricKeyError.__init__(self, name)
        self.name = name


class TooLong(SymmetricKeyError):
    """A number of a key set has more than ID_DIGITS digits."""


def depth(text):
    """How deep the arrays and objects of the JSON `text` nest (strings skipped), counted up to MAX_DEPTH + 1
    only: linear in the text, never recursive."""
    level = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('', text)):
        if match.group(0) in '[{':
            level += 1
            if level > deepest:
                deepest = level
                if deepest > MAX_DEPTH:
                    break
        else:
            level -= 1
    return deepest


def _pairs(pairs):
    """object_pairs_hook: the object as a dict, refusing a name that appears twice."""
    data = {}
    for name, value in pairs:
        if name in data:
            raise DuplicateName(name)
        data[name] = value
    return data


def _number(text):
    """parse_int: refuses long numbers before int() (whose time grows with the square of the digits)."""
    if len(text.lstrip('-')) > ID_DIGITS:
        raise TooLong(text[:ID_DIGITS])
    return int(text)


def parse(text, where):
    """The JSON value of a key set file's `text`, or SymmetricKeyError naming the file (`where`) and the fix;
    never a RecursionError, never a duplicate name silently dropped."""
    if depth(text) > MAX_DEPTH:
        raise SymmetricKeyError('%s nests deeper than %d levels, which no key set does (a key set has 4): it is '
                                'not a key set. Restore it from its backup or vault; it is never overwritten'
                                % (where, MAX_DEPTH))
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_int=_number)
    except DuplicateName as exc:
        raise SymmetricKeyError('%s: the name %s appears twice in one JSON object. JSON readers keep only one of '
                                'them, so the other key\'s ID could be handed out again with another secret. Edit the '
                                'file so that %s appears once, keeping the entry your hosts hold (see their key '
                                'files), then rerun; nothing was changed' % (where, json.dumps(exc.name)[:80],
                                                                             json.dumps(exc.name)[:80]))
    except TooLong:
        raise SymmetricKeyError('%s holds a number of more than %d digits, which no key ID has: it is not a key set. '
                                'Restore it from its backup or vault; it is never overwritten' % (where, ID_DIGITS))
    except RecursionError:
        raise SymmetricKeyError('%s nests too deep to read: it is not a key set. Restore it from its backup or '
                                'vault; it is never overwritten' % where)
    except ValueError:
        raise SymmetricKeyError('%s is not a key set (not JSON): restore it from its backup or vault; it is '
                                'never overwritten' % where)


def load(text, where):
    """({name: {'current': key, 'previous': key}}, [retired IDs]) of a key set file's text; SymmetricKeyError
    naming the file and the entry for anything else (the file is then left as it is)."""
    data = parse(text, where)
    if not isinstance(data, dict) or data.get('version') != 1 or not isinstance(data.get('keys'), dict) \
            or not isinstance(data.get('retired', []), list) \
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in data.get('retired', [])):
        raise SymmetricKeyError('%s is not a key set of version 1: restore it; it is never overwritten' % where)
    retired = sorted(set(data.get('retired', [])))
    keys, ids = {}, {}
    for name, generations in data['keys'].items():
        if not NAME.match(str(name)) or not isinstance(generations, dict) or 'current' not in generations \
                or set(generations) - {'current', 'previous'}:
            raise SymmetricKeyError('%s: entry %r is not a named key with current (and previous)' % (where, name))
        keys[name] = {}
        for state, entry in sorted(generations.items()):
            key = _checked(entry, '%s: %s (%s)' % (where, name, state))
            if key['id'] in ids:
                raise SymmetricKeyError('%s: key ID %d is held by %s and %s; restore the file'
                                        % (where, key['id'], ids[key['id']], name))
            ids[key['id']] = name
            keys[name][state] = key
    return keys, retired


def dump(keys, retired):
    return json.dumps(dict(version=1, keys=keys, retired=sorted(retired)), indent=2, sort_keys=True) + '\n'


def allocate(used, low, high):
    for candidate in range(low, high + 1):
        if candidate not in used:
            return candidate
    raise SymmetricKeyError('no free key ID left between %d and %d: widen id_range or retire keys' % (low, high))


def plan(keys, retired, wanted, rotate, retire, id_range, reserved, now=None):
    """The new key set, its retired IDs and {name: why} for each change. `wanted`: [{name, type, purpose}]."""
    low, high = id_range
    if not 1 <= low <= high <= ID_LIMIT:
        raise SymmetricKeyError('id_range must be two IDs from 1 to %d, low first' % ID_LIMIT)
    names = [w['name'] for w in wanted]
    for name in names + list(rotate) + list(retire):
        if not NAME.match(str(name)):
            raise SymmetricKeyError('key name %r: letters, digits, ".", "-", "_" (at most 64)' % (name,))
    if len(set(names)) != len(names):
        raise SymmetricKeyError('a key name is listed twice in keys')
    for name in set(rotate) & set(retire):
        raise SymmetricKeyError('%s is both rotated and retired: rotate, switch the associations, then retire '
                                'in a later run' % name)
    for name in list(rotate) + list(retire):
        if name not in names:
            raise SymmetricKeyError('%s is rotated or retired but not one of keys' % name)
    new = json.loads(json.dumps(keys))
    reasons = {}
    retired = set(retired)
    used = set(reserved) | retired | set(k['id'] for g in new.values() for k in g.values())
    created = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now))
    for want in wanted:
        name, kind = want['name'], want['type']
        if kind not in TYPES:
            raise SymmetricKeyError('%s: type %s is not one of %s' % (name, kind, ', '.join(sorted(TYPES))))
        have = new.get(name)
        if have is None or name in rotate and 'previous' not in have or have['current']['type'] != kind:
            key_id = allocate(used, low, high)
            used.add(key_id)
            fresh = dict(id=key_id, type=kind, secret=new_secret(kind, want['purpose']), created=created)
            if have is None:
                reasons[name] = 'new key %d (%s)' % (key_id, kind)
                new[name] = dict(current=fresh)
            else:
                if 'previous' in have:
                    raise SymmetricKeyError('%s: key %d is still the previous key; retire it before the next '
                                            'rotation' % (name, have['previous']['id']))
                reasons[name] = 'rotated: key %d (%s) is current, key %d previous until it is retired' % (
                    key_id, kind, have['current']['id'])
                new[name] = dict(current=fresh, previous=have['current'])
        elif name in retire and 'previous' in have:
            reasons[name] = 'key %d retired' % have['previous']['id']
            retired.add(new[name].pop('previous')['id'])
    for name in sorted(set(new) - set(names)):
        reasons[name] = 'removed (keys %s)' % ', '.join(str(k['id']) for k in new[name].values())
        retired.update(k['id'] for k in new.pop(name).values())
    return new, sorted(retired), reasons


def public(keys):
    """{name: {'current': id, 'previous': id}}: what may be shown."""
    return dict((name, dict((state, k['id']) for state, k in g.items())) for name, g in keys.items())
