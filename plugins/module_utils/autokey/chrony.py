# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One chrony host's sources, judged as status.py judges ntpd's associations.

Inputs are chronyc's CSV outputs (-c), read on the host: `-n sources`, `-N sources` (the names of the
configuration), `-n authdata`, `ntpdata` and `tracking` (chrony 4.0 and 4.3). Nothing here runs commands, so
captured outputs test it. A line that is not what chronyc prints is skipped; output with no line at all is an
error naming the command.
"""


import re

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.status import number, reach_register, stale as stale_verdict
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.symmetric import forbidden_type

# chronyc authdata's Type column: the hash or cipher of a key (SK), the AEAD algorithm of NTS (chrony's numbering)
TYPES = {'1': 'MD5', '2': 'SHA1', '3': 'SHA256', '4': 'SHA384', '5': 'SHA512', '13': 'AES128CMAC',
         '14': 'AES256CMAC', '15': 'AES-SIV-CMAC-256', '30': 'AES-128-GCM-SIV'}
_ADDRESS = re.compile(r'^[0-9A-Fa-f:.]{2,45}\Z')
_NAME = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.:%-]{0,252}\Z')
# chronyc tracking's reference ID while chronyd serves its own clock (`local`)
LOCAL_REFID = '7F7F0101'
# polls of an SK source without an authenticated answer before it is failing, not pending
PATIENCE = 8
# NTS-KE attempts without cookies before NTS is failing. chronyd retries a failed TLS handshake only after
# 1024 s, so a first attempt is also judged once chronyd has run longer than one attempt can last.
NTS_ATTEMPTS = 2
NTS_KE_SECONDS = 20  # chronyd gives up an NTS-KE session after 16 s; its first poll is 0.2 s after the start
NTS_HINT = ('%s: check that the server certificate is signed by a CA this host trusts (ntstrustedcerts, or the '
            'system CAs), names %s (subjectAltName), has not expired, and that the server serves NTS-KE on TCP 4460 '
            '(ntsserverkey and ntsservercert) and is up; chronyd logs the TLS error')


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


def _poll(value):
    return int(value) if re.match(r'^-?[0-9]{1,2}\Z', value) else None


def sources(text):
    """{address: {'selected': bool, 'reach': int, 'stratum': int, 'poll': log2 seconds, 'last_rx': seconds since
    the last valid sample}} of `chronyc -n -c sources` (NTP sources)."""
    found = {}
    for cells in _rows(text, 7, 'sources'):
        if cells[0] != '^' or not _ADDRESS.match(cells[2]):
            continue
        found[cells[2]] = dict(selected=cells[1] == '*', state=cells[1], stratum=number(cells[3]),
                               poll=_poll(cells[4]), reach=reach_register(cells[5]), last_rx=number(cells[6]))
    return found


def names(sources_text, names_text):
    """{address: name the configuration gives} from `chronyc -n -c sources` and `chronyc -N -c sources`, which list
    the same sources in the same order. {} when the two lists differ (a source came or went between them)."""
    by_address = _rows(sources_text, 7, 'sources')
    by_name = _rows(names_text, 7, '-N sources')
    if len(by_address) != len(by_name):
        return {}
    found = {}
    for address, name in zip(by_address, by_name):
        if address[0] != name[0]:
            return {}  # not the same list: a source came or went between the two calls
        if address[0] == '^' and _ADDRESS.match(address[2]) and _NAME.match(name[2]):
            found[address[2]] = name[2]
    return found


def stale(named, source):
    """(state, verdict, hint) of a source chronyd still shows as answered but that missed its last polls, or None."""
    return stale_verdict(named, source.get('reach'), source.get('last_rx'))


def authdata(text):
    """{address: {'mode', 'key_id', 'key_type', 'key_length', 'attempts', 'naks', 'cookies'}} of
    `chronyc -n -c authdata` (columns: address, Mode, KeyID, Type, KLen, Last, Atmp, NAK, Cook, CLen)."""
    found = {}
    for cells in _rows(text, 10, 'authdata'):
        if not _ADDRESS.match(cells[0]):
            continue
        found[cells[0]] = dict(mode=cells[1], key_id=number(cells[2]),
                               key_type=TYPES.get(cells[3], 'type %s' % cells[3] if number(cells[3]) else None),
                               type_number=number(cells[3]), key_length=number(cells[4]),
                               attempts=number(cells[6]), naks=number(cells[7]), cookies=number(cells[8]))
    return found


def ntpdata(text):
    """{address: {'authenticated': bool, 'valid_rx': int}} of `chronyc -c ntpdata`."""
    found = {}
    for cells in _rows(text, 31, 'ntpdata'):
        if _ADDRESS.match(cells[0]):  # chrony 4.0 prints 33 fields, 4.3 34 (Total good RX last)
            found[cells[0]] = dict(authenticated=cells[27] == 'Yes', valid_rx=number(cells[32]) if len(cells) > 32 else None)
    return found


def nts_ok(source):
    """Whether chronyd holds NTS keys and cookies for this source and its last answer was authenticated."""
    return bool(source.get('mode') == 'NTS' and source.get('key_id') and source.get('type_number')
                and source.get('key_length') and source.get('cookies') and source.get('authenticated') is True
                and source.get('reach'))


def judge_nts(source, running_for=None):
    """(state, verdict, hint) of an NTS source. `running_for`: seconds chronyd has run, None when unknown."""
    label = source.get('label') or source.get('address')
    named = 'NTS with %s' % label
    attempts, cookies = source.get('attempts') or 0, source.get('cookies') or 0
    if nts_ok(source):
        return stale(named, source) or ('nts', '%s ok (AEAD %d %s, key %d bits, %d cookies)' % (
            named, source['type_number'], source['key_type'], source['key_length'], cookies), '')
    if source.get('naks'):
        if attempts >= NTS_ATTEMPTS:
            return ('failing', "failing: %s: the server refuses this host's cookies (NTS NAK), also after %d new key "
                    'establishments' % (named, attempts),
                    "the server's NTS keys changed and this host must get new cookies, but the new ones are refused "
                    'too: check that the NTS-KE server and the NTP server it names share their keys (ntsdumpdir, '
                    'ntsrotate), then restart chronyd here')
        return ('pending', "pending: %s: the server refused this host's cookies (NTS NAK: its keys changed), new ones "
                'are on their way' % named, '')
    first_failed = attempts == 1 and not source.get('key_id') and running_for is not None \
        and running_for > NTS_KE_SECONDS
    if not cookies and (attempts >= NTS_ATTEMPTS or first_failed):
        return ('failing', 'failing: %s: NTS key establishment failed (%d %s), no cookies'
                % (named, attempts, 'attempt' if attempts == 1 else 'attempts'),
                'chronyd gets no NTS keys from ' + NTS_HINT % (label, source.get('name') or label))
    if cookies and attempts >= NTS_ATTEMPTS:
        return ('failing', 'failing: %s: NTS keys established %d times, but no authenticated answer' % (named, attempts),
                'the server gives cookies over NTS-KE but its NTP service does not answer them: check that it '
                'serves NTP (UDP 123, allow) with the keys of its NTS-KE service')
    if not attempts and not source.get('key_id'):
        return 'pending', 'pending: %s: NTS key establishment not tried yet' % named, ''
    if not cookies:  # one attempt: maybe under way, or failed and retried after 1024 s (a TLS error)
        return ('pending', 'pending: %s: NTS key establishment under way or failed once (chronyd logs why, and tries '
                'a refused certificate again after 17 minutes)' % named, '')
    return 'pending', 'pending: %s: first authenticated answer' % named, ''


def judge(source, running_for=None):
    """(state, verdict, hint) of one source."""
    mode, key, kind = source.get('mode'), source.get('key_id'), source.get('key_type')
    if mode == 'SK':
        named = 'symmetric key %s%s' % (key, ' (%s)' % kind if kind else '')
        if source.get('authenticated') and source.get('reach'):
            return stale(named, source) or ('symmetric', '%s ok' % named, '')
        if source.get('naks'):
            return ('failing', 'failing: %s: the server answered with %d crypto-NAKs' % (named, source['naks']),
                    'the server lacks key %s or holds another secret under it' % key)
        # (authdata's Atmp counts NTS key establishments only: without an answer, the time chronyd has polled)
        poll = source.get('poll')
        if not source.get('reach') and running_for is not None and poll is not None \
                and running_for > PATIENCE * 2 ** max(poll, 0):
            return ('failing', 'failing: %s: no authenticated answer' % named,
                    'the server drops requests whose MAC it cannot verify: it lacks key %s, does not trust it, or '
                    'holds another secret under it (or it is down: see its own verdict)' % key)
        return 'pending', 'pending: first authenticated answer with %s' % named, ''
    if mode == 'NTS':
        return judge_nts(source, running_for)
    return ('none', 'unauthenticated: no key and no NTS on this source',
            'anyone on the path can give this host time: remove the server line, or authenticate it as the rest of '
            'the fleet is (nts, or a key); with authselectmode require chronyd never selects it')


AUTHENTICATED = ('symmetric', 'nts')


def assess(sources_text, authdata_text, ntpdata_text, tracking_text=None, forbidden_types=(), names_text=None,
           running_for=None):
    """Everything status_info returns about a chrony host, in the shape of status.assess()'s result.
    `names_text`: `chronyc -c -N sources`, for the names NTS sources are known by; `running_for`: seconds chronyd
    has run (None when unknown), which tells a failed first NTS key establishment from one under way."""
    srcs = sources(sources_text)
    auth, data = authdata(authdata_text), ntpdata(ntpdata_text)
    known = names(sources_text, names_text) if names_text else {}
    associations = []
    for address in sorted(srcs):
        facts = dict(srcs[address], **auth.get(address, {}))
        facts.update(data.get(address, {}))
        name = known.get(address)
        facts.update(address=address, name=name, label='%s (%s)' % (name, address) if name and name != address
                     else address)
        state, verdict, hint = judge(facts, running_for)
        nts = facts.get('mode') == 'NTS'
        associations.append(dict(
            address=address, cn=None, name=name, method={'SK': 'symmetric', 'NTS': 'nts'}.get(facts.get('mode'), 'none'),
            key_id=facts.get('key_id'), key_type=facts.get('key_type'), key_length=facts.get('key_length'),
            cookies=facts.get('cookies') if nts else None, ke_attempts=facts.get('attempts') if nts else None,
            reach=facts.get('reach'), selection='sys.peer' if facts['selected'] else facts['state'],
            synchronised=facts['selected'], authentic=bool(facts.get('authenticated')), state=state, verdict=verdict,
            hint=hint))
    tracking = (tracking_text or '').strip().split(',')
    leap = tracking[-1] if tracking_text else None
    # a trusted host on its own clock (`local stratum N`, no server line): reference ID 7F7F0101
    own_clock = number(tracking[2]) if not associations and len(tracking) > 2 and tracking[0] == LOCAL_REFID else None
    synchronised = any(a['synchronised'] for a in associations) or bool(own_clock)
    found = []
    if not associations and not own_clock:
        found.append('no NTP source: chronyd has no server line')
    for assoc in associations:
        if assoc['state'] == 'symmetric' and assoc['key_type'] in forbidden_types:
            found.append(forbidden_type(assoc['address'], assoc['key_id'], assoc['key_type']))
        elif assoc['state'] not in AUTHENTICATED:
            found.append('%s%s%s' % ('' if assoc['address'] in assoc['verdict'] else assoc['address'] + ': ',
                                     assoc['verdict'], ' (%s)' % assoc['hint'] if assoc['hint'] else ''))
    selected = [a for a in associations if a['synchronised']]
    if associations and not selected:
        found.append('not synchronised to any source')
    elif selected and selected[0]['state'] not in AUTHENTICATED:
        found.append('synchronised to %s, which is not authenticated' % selected[0]['address'])
    return dict(
        daemon='chrony', host=None, flags=None, offers=[], certificates=[], associations=associations,
        synchronised=synchronised, leap=leap, own_clock_stratum=own_clock,
        synchronised_authenticated=any(a['synchronised'] and a['state'] in AUTHENTICATED for a in associations),
        converged=bool(own_clock) or bool(associations)
        and all(a['state'] in AUTHENTICATED + ('failing', 'none') for a in associations)
        and (not [a for a in associations if a['state'] in AUTHENTICATED]
             or any(a['synchronised'] for a in associations)),
        problems=found)
