# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One chrony host's sources, judged as status.py judges ntpd's associations.

Inputs are chronyc's CSV outputs (-c), read on the host: `-n sources`, `-n authdata`, `ntpdata` and
`tracking` (chrony 4.0 and 4.3). Nothing here runs commands, so captured outputs test it. A line that is not
what chronyc prints is skipped; output with no line at all is an error naming the command.
"""


import re

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.status import number
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.symmetric import forbidden_type

# chronyc authdata's Type column: the hash or cipher (chrony's numbering)
TYPES = {'1': 'MD5', '2': 'SHA1', '3': 'SHA256', '4': 'SHA384', '5': 'SHA512', '13': 'AES128CMAC',
         '14': 'AES256CMAC'}
_ADDRESS = re.compile(r'^[0-9A-Fa-f:.]{2,45}\Z')
# polls of an SK source without an authenticated answer before it is failing, not pending
PATIENCE = 8


class ChronycError(AutokeyError):
    """chronyc printed something this module cannot read; the message names the command."""


def _rows(text, fields, what):
    rows = []
    for line in (text or '').splitlines():
        cells = line.split(',')
        if len(cells) >= fields:
            rows.append(cells)
    if text and text.strip() and not rows:
        raise ChronycError('cannot read chronyc %s output (no line of %d or more CSV fields)' % (what, fields))
    return rows


def sources(text):
    """{address: {'selected': bool, 'reach': int, 'stratum': int}} of `chronyc -n -c sources` (NTP sources)."""
    found = {}
    for cells in _rows(text, 7, 'sources'):
        if cells[0] != '^' or not _ADDRESS.match(cells[2]):
            continue
        reach = cells[5]
        found[cells[2]] = dict(selected=cells[1] == '*', state=cells[1], stratum=number(cells[3]),
                               reach=int(reach, 8) if re.match(r'^[0-7]{1,3}\Z', reach) else None)
    return found


def authdata(text):
    """{address: {'mode', 'key_id', 'key_type', 'naks', 'attempts'}} of `chronyc -n -c authdata`."""
    found = {}
    for cells in _rows(text, 10, 'authdata'):
        if not _ADDRESS.match(cells[0]):
            continue
        found[cells[0]] = dict(mode=cells[1], key_id=number(cells[2]),
                               key_type=TYPES.get(cells[3], 'type %s' % cells[3] if number(cells[3]) else None),
                               attempts=number(cells[6]), naks=number(cells[7]))
    return found


def ntpdata(text):
    """{address: {'authenticated': bool, 'valid_rx': int}} of `chronyc -c ntpdata`."""
    found = {}
    for cells in _rows(text, 31, 'ntpdata'):
        if _ADDRESS.match(cells[0]):
            found[cells[0]] = dict(authenticated=cells[27] == 'Yes', valid_rx=number(cells[-1]))
    return found


def judge(source):
    """(state, verdict, hint) of one source."""
    mode, key, kind = source.get('mode'), source.get('key_id'), source.get('key_type')
    if mode == 'SK':
        named = 'symmetric key %s%s' % (key, ' (%s)' % kind if kind else '')
        if source.get('authenticated') and source.get('reach'):
            return 'symmetric', '%s ok' % named, ''
        if source.get('naks'):
            return ('failing', 'failing: %s: the server answered with %d crypto-NAKs' % (named, source['naks']),
                    'the server lacks key %s or holds another secret under it' % key)
        if (source.get('attempts') or 0) >= PATIENCE:
            return ('failing', 'failing: %s: no authenticated answer' % named,
                    'the server drops requests whose MAC it cannot verify: it lacks key %s, does not trust it, or '
                    'holds another secret under it (or it is down: see its own verdict)' % key)
        return 'pending', 'pending: first authenticated answer with %s' % named, ''
    if mode == 'NTS':
        return 'pending', 'pending: NTS is not judged by this collection yet', ''
    return ('none', 'unauthenticated: no key on this source',
            'anyone on the path can give this host time: give the server line a key (autokey_upstream_method '
            'symmetric)')


def assess(sources_text, authdata_text, ntpdata_text, tracking_text=None, forbidden_types=()):
    """Everything status_info returns about a chrony host, in the shape of status.assess()'s result."""
    srcs = sources(sources_text)
    auth, data = authdata(authdata_text), ntpdata(ntpdata_text)
    associations = []
    for address in sorted(srcs):
        facts = dict(srcs[address], **auth.get(address, {}))
        facts.update(data.get(address, {}))
        state, verdict, hint = judge(facts)
        associations.append(dict(
            address=address, cn=None, method={'SK': 'symmetric', 'NTS': 'nts'}.get(facts.get('mode'), 'none'),
            key_id=facts.get('key_id'), key_type=facts.get('key_type'), reach=facts.get('reach'),
            selection='sys.peer' if facts['selected'] else facts['state'], synchronised=facts['selected'],
            authentic=bool(facts.get('authenticated')), state=state, verdict=verdict, hint=hint))
    leap = (tracking_text or '').strip().split(',')[-1] if tracking_text else None
    synchronised = any(a['synchronised'] for a in associations)
    found = []
    if not associations:
        found.append('no NTP source: chronyd has no server line')
    for assoc in associations:
        if assoc['state'] == 'symmetric' and assoc['key_type'] in forbidden_types:
            found.append(forbidden_type(assoc['address'], assoc['key_id'], assoc['key_type']))
        elif assoc['state'] != 'symmetric':
            found.append('%s: %s%s' % (assoc['address'], assoc['verdict'],
                                       ' (%s)' % assoc['hint'] if assoc['hint'] else ''))
    selected = [a for a in associations if a['synchronised']]
    if associations and not selected:
        found.append('not synchronised to any source')
    elif selected and selected[0]['state'] != 'symmetric':
        found.append('synchronised to %s, which is not authenticated' % selected[0]['address'])
    return dict(
        daemon='chrony', host=None, flags=None, offers=[], certificates=[], associations=associations,
        synchronised=synchronised, leap=leap,
        synchronised_authenticated=any(a['synchronised'] and a['state'] == 'symmetric' for a in associations),
        converged=bool(associations) and all(a['state'] in ('symmetric', 'failing', 'none') for a in associations)
        and (not [a for a in associations if a['state'] == 'symmetric']
             or any(a['synchronised'] for a in associations)),
        problems=found)
