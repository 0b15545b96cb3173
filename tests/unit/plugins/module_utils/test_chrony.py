# SPDX-License-Identifier: GPL-3.0-or-later
"""chrony sources judged from chronyc's CSV output (captured from chronyd 4.0 in the symmetric scenario)."""

import os

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.chrony import ChronycError, assess

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
     'unauthenticated: no key on this source'),
    (UNSELECTED, '192.0.2.10,SK,20,13,128,4294967295,9,0,0,0\n', '', 'failing',
     'failing: symmetric key 20 (AES128CMAC): no authenticated answer'),
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
        assert assoc['state'] in ('symmetric', 'failing', 'pending', 'none')
