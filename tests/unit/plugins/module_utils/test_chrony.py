# SPDX-License-Identifier: GPL-3.0-or-later
"""chrony sources judged from chronyc's CSV output, captured from chronyd 4.0 in the symmetric scenario and from
chronyd 4.0 and 4.3 NTS clients (tests/reference/test_nts_live.py: nts-<client>-<command>.csv)."""

import os
import re

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.chrony import NTS_KE_SECONDS, ChronycError, assess, names
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.chrony import _ADDRESS as ADDRESS

from helpers import FIXTURES


def fixture(name):
    with open(os.path.join(FIXTURES, 'chronyc', 'symmetric-%s.csv' % name)) as handle:
        return handle.read()


def test_authenticated_symmetric_source():
    result = assess(fixture('sources'), fixture('authdata'), fixture('ntpdata'), fixture('tracking'))
    [assoc] = result['associations']
    assert assoc['address'] == '10.89.0.13'
    assert (assoc['method'], assoc['key_id'], assoc['key_type']) == ('symmetric', 21, 'AES128CMAC')
    assert assoc['verdict'] == 'symmetric key 21 (AES128CMAC) ok'
    assert result['synchronised_authenticated'] and result['converged'] and result['problems'] == []
    assert result['leap'] == 'Normal'


def test_forbidden_type_is_a_problem():
    result = assess(fixture('sources'), fixture('authdata'), fixture('ntpdata'), forbidden_types=['AES128CMAC'])
    assert result['problems'] == ['10.89.0.13: uses key 21 of type AES128CMAC, which the policy forbids: roll it '
                                  'over to AES128CMAC (docs/symmetric-keys.md)']


SOURCES = '^,*,192.0.2.10,2,3,377,3,-0.000000503,-0.000000593,0.010931349\n'
UNSELECTED = '^,?,192.0.2.10,0,3,0,-,0,0,0\n'


def ntpdata(authenticated):
    cells = ['192.0.2.10', 'C000020A', '123', '192.0.2.11', 'C000020B', 'Normal', '4', 'Server', '2', '3', '8',
             '-24', '0.00000006', '0', '0', '0A59000C', '', '1795949345.9', '0', '0', '0', '0', '0.00', '111', '111',
             '1111', 'No', 'Yes' if authenticated else 'No', 'Kernel', 'Kernel', '37', '37', '37']
    return ','.join(cells) + '\n'


@pytest.mark.parametrize('sources, auth, data, state, verdict', [
    (SOURCES, '192.0.2.10,-,0,0,0,4294967295,0,0,0,0\n', ntpdata(False), 'none',
     'unauthenticated: no key and no NTS on this source'),
    # (Atmp counts NTS key establishments only: it says nothing of an SK source)
    (UNSELECTED, '192.0.2.10,SK,20,13,128,4294967295,9,0,0,0\n', '', 'pending',
     'pending: first authenticated answer with symmetric key 20 (AES128CMAC)'),
    (UNSELECTED, '192.0.2.10,SK,20,1,160,4294967295,2,2,0,0\n', '', 'failing',
     'failing: symmetric key 20 (MD5): the server answered with 2 crypto-NAKs'),
    (UNSELECTED, '192.0.2.10,SK,20,13,128,4294967295,0,0,0,0\n', '', 'pending',
     'pending: first authenticated answer with symmetric key 20 (AES128CMAC)'),
    (UNSELECTED, '192.0.2.10,SK,20,13,128,4294967295,7,0,0,0\n', '', 'pending',
     'pending: first authenticated answer with symmetric key 20 (AES128CMAC)'),
])
def test_sources_that_are_not_authenticated(sources, auth, data, state, verdict):
    result = assess(sources, auth, data)
    [assoc] = result['associations']
    assert (assoc['state'], assoc['verdict']) == (state, verdict)
    assert result['problems']
    assert not result['synchronised_authenticated']


def test_synchronised_to_an_unauthenticated_source_is_named():
    result = assess(SOURCES, '192.0.2.10,-,0,0,0,4294967295,0,0,0,0\n', ntpdata(False))
    assert 'synchronised to 192.0.2.10, which is not authenticated' in result['problems']


def test_unreadable_output_names_the_command():
    with pytest.raises(ChronycError, match='chronyc authdata'):
        assess(SOURCES, 'garbage without commas\n', '')


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300), st.text(max_size=300))
def test_any_output_gives_a_verdict_or_a_clear_error(sources, auth, data):
    try:
        result = assess(sources, auth, data)
    except ChronycError as exc:
        assert str(exc).startswith('cannot read chronyc ')
        return
    for assoc in result['associations']:
        assert assoc['state'] in ('symmetric', 'nts', 'failing', 'pending', 'none')


# -- NTS --------------------------------------------------------------------------------------------------------

def nts(client, running_for=None, **replace):
    """assess() of the chronyc outputs captured on a live NTS client, some of them replaced."""
    texts = {}
    for what in ('sources', 'names', 'authdata', 'ntpdata', 'tracking'):
        with open(os.path.join(FIXTURES, 'chronyc', 'nts-%s-%s.csv' % (client, what))) as handle:
            texts[what] = replace.get(what, handle.read())
    return assess(texts['sources'], texts['authdata'], texts['ntpdata'], texts['tracking'],
                  names_text=texts['names'], running_for=running_for)


@pytest.mark.parametrize('client, name, address', [('good40', 'ntsserver', '192.0.2.10'),
                                                   ('good43', 'ntsserver40', '192.0.2.11')])
def test_nts_source_is_authenticated(client, name, address):
    result = nts(client)
    [assoc] = result['associations']
    assert assoc == dict(
        address=address, cn=None, name=name, method='nts', key_id=1, key_type='AES-SIV-CMAC-256', key_length=256,
        cookies=8, ke_attempts=0, reach=7, selection='sys.peer', synchronised=True, authentic=True, state='nts',
        verdict='NTS with %s (%s) ok (AEAD 15 AES-SIV-CMAC-256, key 256 bits, 8 cookies)' % (name, address), hint='')
    assert result['synchronised_authenticated'] and result['converged'] and result['problems'] == []
    assert result['leap'] == 'Normal'


def test_nts_source_not_selected_yet_is_not_converged():
    result = nts('good40-early')
    [assoc] = result['associations']
    assert assoc['state'] == 'nts' and not assoc['synchronised']
    assert not result['converged'] and not result['synchronised_authenticated']
    assert result['problems'] == ['not synchronised to any source']


def test_nts_source_selected_without_authentication_is_a_problem():
    text = '192.0.2.10,NTS,1,15,256,0,0,0,8,100\n'
    with open(os.path.join(FIXTURES, 'chronyc', 'nts-good40-ntpdata.csv')) as handle:
        refused = handle.read().replace(',No,Yes,', ',No,No,')
    result = nts('good40', authdata=text, ntpdata=refused)
    assert result['associations'][0]['state'] == 'pending'
    assert 'synchronised to 192.0.2.10, which is not authenticated' in result['problems']


CERTIFICATE_CAUSES = ('ntstrustedcerts', '(subjectAltName)', 'has not expired', 'TCP 4460', 'ntsserverkey and ntsservercert')


@pytest.mark.parametrize('client, name', [('badname', 'othername'), ('noca', 'ntsserver')])
def test_refused_certificate_fails_once_an_attempt_cannot_be_under_way(client, name):
    result = nts(client, running_for=NTS_KE_SECONDS + 1)
    [assoc] = result['associations']
    label = '%s (192.0.2.10)' % name
    assert (assoc['state'], assoc['name'], assoc['ke_attempts'], assoc['cookies']) == ('failing', name, 1, 0)
    assert assoc['verdict'] == 'failing: NTS with %s: NTS key establishment failed (1 attempt), no cookies' % label
    assert assoc['hint'].startswith('chronyd gets no NTS keys from %s: ' % label)
    assert 'names %s (subjectAltName)' % name in assoc['hint']
    for cause in CERTIFICATE_CAUSES:
        assert cause in assoc['hint']
    assert result['converged'] and not result['synchronised_authenticated']
    assert result['problems'] == ['%s (%s)' % (assoc['verdict'], assoc['hint']), 'not synchronised to any source']


@pytest.mark.parametrize('running_for', [None, 0.5, NTS_KE_SECONDS])
def test_one_attempt_is_pending_while_it_may_be_under_way(running_for):
    [assoc] = nts('badname', running_for=running_for)['associations']
    assert assoc['state'] == 'pending'
    assert assoc['verdict'] == ('pending: NTS with othername (192.0.2.10): NTS key establishment under way or failed once '
                                '(chronyd logs why, and tries a refused certificate again after 17 minutes)')


@pytest.mark.parametrize('running_for', [None, 3600])
def test_two_failed_attempts_fail(running_for):
    [assoc] = nts('refused', running_for=running_for)['associations']
    assert assoc['state'] == 'failing' and assoc['ke_attempts'] == 2
    assert assoc['verdict'] == 'failing: NTS with ntsserver (192.0.2.10): NTS key establishment failed (2 attempts), no cookies'


def test_without_names_verdicts_name_the_address():
    [assoc] = nts('badname', running_for=60, names='')['associations']
    assert assoc['name'] is None
    assert assoc['verdict'].startswith('failing: NTS with 192.0.2.10: ')


@pytest.mark.parametrize('authdata, state, verdict', [
    ('192.0.2.10,NTS,0,0,0,4294967295,0,0,0,0', 'pending', 'NTS key establishment not tried yet'),
    ('192.0.2.10,NTS,3,15,256,5,0,1,8,100', 'pending', "the server refused this host's cookies (NTS NAK: its keys "
     'changed), new ones are on their way'),
    ('192.0.2.10,NTS,3,15,256,5,1,1,0,0', 'pending', "the server refused this host's cookies"),
    ('192.0.2.10,NTS,4,15,256,5,2,1,0,0', 'failing', "the server refuses this host's cookies (NTS NAK), also after 2 "
     'new key establishments'),
    ('192.0.2.10,NTS,2,15,256,5,2,0,8,100', 'failing', 'NTS keys established 2 times, but no authenticated answer'),
    ('192.0.2.10,NTS,2,15,256,5,3,0,0,0', 'failing', 'NTS key establishment failed (3 attempts), no cookies'),
    ('192.0.2.10,NTS,1,15,256,5,0,0,8,100', 'pending', 'first authenticated answer'),
])
def test_nts_states_without_an_authenticated_answer(authdata, state, verdict):
    [assoc] = nts('badname', running_for=3600, authdata=authdata + '\n')['associations']
    assert assoc['state'] == state
    assert assoc['verdict'].startswith('%s: NTS with othername (192.0.2.10): %s' % (state, verdict))
    assert bool(assoc['hint']) == (state == 'failing')


def test_nts_naks_that_persist_name_the_cure():
    [assoc] = nts('badname', authdata='192.0.2.10,NTS,4,15,256,5,2,1,0,0\n')['associations']
    assert "NTS keys changed and this host must get new cookies" in assoc['hint']


def test_aes_gcm_siv_of_newer_chrony():
    [assoc] = nts('good43', authdata='192.0.2.11,NTS,1,30,128,0,0,0,8,100\n')['associations']
    assert assoc['verdict'] == 'NTS with ntsserver40 (192.0.2.11) ok (AEAD 30 AES-128-GCM-SIV, key 128 bits, 8 cookies)'


@pytest.mark.parametrize('authdata', [
    '192.0.2.11,NTS,0,15,256,0,0,0,8,100',   # no key established
    '192.0.2.11,NTS,1,0,256,0,0,0,8,100',    # no AEAD
    '192.0.2.11,NTS,1,15,0,0,0,0,8,100',     # no key
    '192.0.2.11,NTS,1,15,256,0,0,0,0,100',   # no cookie
    '192.0.2.11,NTS,1,15,256,0,0,0,x,100',   # damaged
    '192.0.2.11,SK,1,15,256,0,0,0,8,100',    # not NTS
])
def test_nts_needs_every_condition(authdata):
    [assoc] = nts('good43', running_for=1, authdata=authdata + '\n')['associations']
    assert assoc['state'] != 'nts'


def test_nts_needs_reach():
    with open(os.path.join(FIXTURES, 'chronyc', 'nts-good43-sources.csv')) as handle:
        unreached = handle.read().replace(',0,7,0,', ',0,0,0,')
    assert nts('good43', sources=unreached)['associations'][0]['state'] == 'pending'


@pytest.mark.parametrize('names_text', [
    '',                                                            # chronyc without -N
    '^,*,ntsserver,1,0,7,0,0,0,0\n^,-,other,1,0,7,0,0,0,0\n',     # a source came between the two calls
    '#,*,ntsserver,1,0,7,0,0,0,0\n',                               # another kind of source
    '^,*,nts server,1,0,7,0,0,0,0\n',                              # not a name
    '^,*,ntsserver\x1b[2J,1,0,7,0,0,0,0\n',                        # terminal control in a name
])
def test_names_only_from_matching_lines(names_text):
    assert names('^,*,192.0.2.10,1,0,7,0,0,0,0\n', names_text) == {}


def test_names_map_addresses_in_order():
    sources_text = '#,*,PPS0,0,4,377,1,0,0,0\n^,+,192.0.2.10,1,0,7,0,0,0,0\n^,-,2001:db8::1,2,6,1,0,0,0,0\n'
    names_text = '#,*,PPS0,0,4,377,1,0,0,0\n^,+,gs.example,1,0,7,0,0,0,0\n^,-,2001:db8::1,2,6,1,0,0,0,0\n'
    assert names(sources_text, names_text) == {'192.0.2.10': 'gs.example', '2001:db8::1': '2001:db8::1'}


CELLS = st.sampled_from(['192.0.2.10', 'NTS', 'SK', '-', '0', '1', '2', '8', '15', '30', '256', '377', '7', 'Yes', 'No',
                         '^', '*', '?', '', 'x', '4294967295', 'ntsserver', '-1', '1e3', '\u0661'])
LINES = st.lists(st.lists(CELLS, min_size=1, max_size=36).map(','.join), max_size=4).map('\n'.join)


def rows(*columns):
    """Lines of chronyc's shape whose cells are plausible values, a hostile value or damaged."""
    cell = [st.one_of(st.sampled_from(values), CELLS, st.text(max_size=4)) if len(values) > 1 or values[0] != '0'
            else st.sampled_from(values) for values in columns]
    return st.lists(st.tuples(*cell).map(','.join), max_size=3).map('\n'.join)


ADDRESSES = ['192.0.2.10', '2001:db8::1']
NUMBERS = ['0', '1', '2', '3', '8', '15']
SOURCES_ROWS = rows(['^'], ['*', '+', '?'], ADDRESSES, NUMBERS, NUMBERS, ['0', '377'], NUMBERS, ['0'], ['0'], ['0'])
NAMES_ROWS = rows(['^'], ['*', '+', '?'], ['ntsserver', 'gs.example', '192.0.2.10'], NUMBERS, NUMBERS, ['0', '377'],
                  NUMBERS, ['0'], ['0'], ['0'])
AUTHDATA_ROWS = rows(ADDRESSES, ['NTS', 'SK', '-'], NUMBERS, ['0', '15', '30', '13'], ['0', '128', '256'],
                     ['0', '4294967295'], NUMBERS, ['0', '1'], ['0', '1', '8'], ['0', '100'])
NTPDATA_ROWS = rows(*([ADDRESSES] + [['0']] * 26 + [['Yes', 'No']] + [['0']] * 5))


@settings(max_examples=400, deadline=None)
@given(st.one_of(SOURCES_ROWS, LINES, st.text(max_size=200)), st.one_of(NAMES_ROWS, LINES, st.text(max_size=200)),
       st.one_of(AUTHDATA_ROWS, LINES, st.text(max_size=300)), st.one_of(NTPDATA_ROWS, LINES, st.text(max_size=200)),
       st.one_of(st.none(), st.floats(allow_nan=True), st.integers(-10, 10 ** 6)))
def test_nts_from_any_output_only_when_every_condition_holds(sources, names_text, auth, data, running_for):
    try:
        result = assess(sources, auth, data, names_text=names_text, running_for=running_for)
    except ChronycError as exc:
        assert str(exc).startswith('cannot read chronyc ')
        return
    for assoc in result['associations']:
        assert assoc['state'] in ('nts', 'symmetric', 'failing', 'pending', 'none')
        if assoc['state'] == 'nts':
            assert assoc['method'] == 'nts' and assoc['authentic'] and assoc['reach']
            assert assoc['key_id'] > 0 and assoc['key_length'] > 0 and assoc['cookies'] > 0 and assoc['key_type']
            row = [line.split(',') for line in auth.splitlines() if line.split(',')[0] == assoc['address']][-1]
            assert row[1] == 'NTS' and int(row[3]) > 0
        if assoc['method'] == 'nts' and assoc['name']:
            assert assoc['name'] in assoc['verdict']


# cells of the real good capture (4.3 client) replaced by anything that stays inside its cell
GOOD = dict((what, open(os.path.join(FIXTURES, 'chronyc', 'nts-good43-%s.csv' % what)).read().strip().split(','))
            for what in ('sources', 'authdata', 'ntpdata'))
CELL_TEXT = st.text(alphabet=st.characters(blacklist_characters=',\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029'), max_size=6)
PLACES = [('sources', i) for i in (0, 1, 2, 5)] + [('authdata', i) for i in range(10)] + [('ntpdata', 0), ('ntpdata', 27)]


def positive(cell):
    return cell.isascii() and cell.isdigit() and int(cell) > 0


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.sampled_from(PLACES), st.one_of(CELLS, CELL_TEXT), max_size=3),
       st.one_of(st.none(), st.floats(0, 10 ** 6)))
def test_nts_state_exactly_when_every_condition_holds(changes, running_for):
    cells = dict((what, list(values)) for what, values in GOOD.items())
    for (what, index), value in changes.items():
        cells[what][index] = value
    src, auth, data = cells['sources'], cells['authdata'], cells['ntpdata']
    result = assess(','.join(src), ','.join(auth), ','.join(data), running_for=running_for)
    if src[0] != '^' or not ADDRESS.match(src[2]):
        assert result['associations'] == []
        return
    [assoc] = result['associations']
    expected = (auth[0] == src[2] and auth[1] == 'NTS' and all(positive(auth[i]) for i in (2, 3, 4, 8))
                and data[0] == src[2] and data[27] == 'Yes' and re.match(r'^[0-7]{1,3}\Z', src[5])
                and int(src[5], 8) & 1)  # the last poll answered: a source selected on an older answer is not ok
    assert (assoc['state'] == 'nts') == bool(expected), (changes, assoc)


def test_trusted_host_on_its_own_clock():
    # captured from the molecule nts trusted host (chrony 4.3, `local stratum 1`, no server line)
    with open(os.path.join(FIXTURES, 'chronyc', 'own-clock-tracking.csv')) as handle:
        tracking = handle.read()
    status = assess('', '', '', tracking)
    assert (status['own_clock_stratum'], status['synchronised'], status['converged'], status['problems']) == (
        1, True, True, [])
    # any other reference with no server line is still a host without a source
    lost = assess('', '', '', tracking.replace('7F7F0101', '00000000', 1))
    assert lost['own_clock_stratum'] is None and lost['problems'] == ['no NTP source: chronyd has no server line']


def rekeyed(name, running_for=None):
    """chronyd 4.0 keyed (key 20) to ntpd 4.2.8p15 at poll 3, then `chronyc rekey` on a key file with another
    secret under key 20 (captured live: good, then 1, 3 and 8 polls after the rekey)."""
    texts = []
    for what in ('sources', 'authdata', 'ntpdata', 'tracking'):
        with open(os.path.join(FIXTURES, 'chronyc', 'rekeyed-%s-%s.csv' % (name, what))) as handle:
            texts.append(handle.read())
    return assess(*texts, running_for=running_for)


STOPPED = ': the server stopped answering this host, is restarting, or drops its requests (a key changed on one side only)'


@pytest.mark.parametrize('name, running_for, state, verdict', [
    ('good', 36, 'symmetric', 'symmetric key 20 (AES128CMAC) ok'),
    ('wrong1', 52, 'pending', 'pending: symmetric key 20 (AES128CMAC): no authenticated answer to its last poll '
     '(reach 376, last valid sample 20 s ago)' + STOPPED),
    ('wrong3', 68, 'pending', 'pending: symmetric key 20 (AES128CMAC): no authenticated answer to its last 3 polls '
     '(reach 370, last valid sample 37 s ago)' + STOPPED),
    ('wrong8', 109, 'failing', 'failing: symmetric key 20 (AES128CMAC): no authenticated answer'),
    # reach 0 after 8 polls: failing only once chronyd has polled 8 times (8 x 2^3 s) since it started
    ('wrong8', 60, 'pending', 'pending: first authenticated answer with symmetric key 20 (AES128CMAC)'),
    ('wrong8', None, 'pending', 'pending: first authenticated answer with symmetric key 20 (AES128CMAC)'),
])
def test_a_source_selected_on_its_last_answer_is_not_ok(name, running_for, state, verdict):
    result = rekeyed(name, running_for)
    [assoc] = result['associations']
    assert (assoc['state'], assoc['verdict']) == (state, verdict)
    assert result['synchronised_authenticated'] == (state == 'symmetric')
    assert bool(result['problems']) == (state != 'symmetric')
    assert result['converged'] == (state != 'pending')


@given(st.integers(min_value=1, max_value=255))
def test_symmetric_ok_exactly_when_the_last_poll_was_answered(reach):
    sources = '^,*,192.0.2.10,2,3,%o,3,-0.000000503,-0.000000593,0.010931349\n' % reach
    result = assess(sources, '192.0.2.10,SK,20,13,128,4294967295,0,0,0,0\n', ntpdata(True))
    [assoc] = result['associations']
    misses = (reach & -reach).bit_length() - 1
    expected = 'symmetric' if misses == 0 else 'pending'  # never ok, never final while the register holds an answer
    assert assoc['state'] == expected


def test_a_plain_source_beside_nts_is_a_row_of_the_fleet_table():
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey import fleet
    texts = {}
    for what in ('sources', 'authdata', 'ntpdata', 'tracking'):
        with open(os.path.join(FIXTURES, 'chronyc', 'nts-good43-%s.csv' % what)) as handle:
            texts[what] = handle.read()
    texts['sources'] += '^,?,192.0.2.99,1,3,377,2,0.000012042,0.000020479,0.000040864\n'
    texts['authdata'] += '192.0.2.99,-,0,0,0,4294967295,0,0,0,0\n'
    status = assess(texts['sources'], texts['authdata'], texts['ntpdata'], texts['tracking'])
    report = fleet.report({'cl': dict(status=status)}, ['cl'], [])
    assert not report['ok'] and any(text.startswith('192.0.2.99: unauthenticated') for text in report['problems']['cl'])
    assert [line.split()[:3] for line in report['lines'] if line.startswith('cl ') and '192.0.2.99' in line] == [
        ['cl', '192.0.2.99', '-']]
    # on a trusted host, plain time sources are its own business: no row
    assert not [line for line in fleet.report({'th': dict(status=status)}, ['th'], ['th'])['lines']
                if '192.0.2.99' in line and line.startswith('th ')]
