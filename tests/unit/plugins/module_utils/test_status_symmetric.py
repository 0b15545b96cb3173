# SPDX-License-Identifier: GPL-3.0-or-later
"""ntpd associations authenticated by symmetric keys, judged from ntpq output captured in the symmetric scenario
(ntpd 4.2.8p15: cl and gs authenticated, bad holding another secret under key 20)."""

import os

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.status import assess

from helpers import FIXTURES


def reading(host, **kw):
    texts = []
    for part in ('system', 'peers'):
        with open(os.path.join(FIXTURES, 'ntpq', 'symmetric-%s-%s.txt' % (host, part))) as handle:
            texts.append(handle.read())
    return assess(texts[0], texts[1], '', **kw)


def test_client_authenticated_by_its_key():
    result = reading('cl', key_types={21: 'AES128CMAC'})
    [assoc] = result['associations']
    assert (assoc['method'], assoc['key_id'], assoc['state']) == ('symmetric', 21, 'symmetric')
    assert assoc['verdict'] == 'symmetric key 21 (AES128CMAC) ok'
    assert result['synchronised_authenticated'] and result['converged']
    assert result['problems'] == []


def test_group_server_keyed_to_the_trusted_host_while_offering_iff():
    result = reading('gs', key_types={10: 'AES128CMAC'}, offers='iff')
    assert [a['verdict'] for a in result['associations']] == ['symmetric key 10 (AES128CMAC) ok']
    assert result['problems'] == []


def test_mismatched_secret_is_failing_with_the_reason():
    result = reading('bad')
    [assoc] = result['associations']
    assert assoc['state'] == 'failing'
    assert assoc['verdict'] == 'failing: symmetric key 20: no authenticated answer in 60 polls (auth bad)'
    assert result['converged'] and not result['synchronised_authenticated']
    assert result['problems'][0].startswith('10.89.0.13: failing: symmetric key 20')


def test_forbidden_key_type():
    result = reading('cl', key_types={21: 'MD5'}, forbidden_types=['MD5'])
    assert result['problems'] == ['10.89.0.13: uses key 21 of type MD5, which the policy forbids: roll it over to '
                                  'AES128CMAC (docs/symmetric-keys.md)']


def test_ntpsec_client_authenticated_by_a_key_file_written_for_ntpd():
    """ntpsec 1.2.2 (Debian 12's ntpd) with the key file symmetric_keys writes for ntpd, keyed to ntpd 4.2.8p15,
    captured live: its ntpq prints `keyid=20,  filtdelay =...` (a space before '=', control bytes in the
    values). The key ID is read as 20, not as the rest of the line."""
    result = reading('ntpsec', key_types={20: 'AES128CMAC'})
    [assoc] = result['associations']
    assert (assoc['method'], assoc['key_id'], assoc['state']) == ('symmetric', 20, 'symmetric')
    assert assoc['verdict'] == 'symmetric key 20 (AES128CMAC) ok'
    assert result['synchronised_authenticated'] and result['problems'] == []


STOPPED = ': the server stopped answering this host, is restarting, or drops its requests (a key changed on one side only)'


# ntpd 4.2.8p15 client keyed (AES128CMAC, key 20) to ntpd 4.2.8p15 at poll 3; the server then restarted with another
# secret under key 20 (captured live): the client kept status f61a (sys.peer, authentic, flash 00 ok) for 8 polls
# while reach went 017 -> 036 -> 074 -> 170 -> ... -> 200, then 000 (e013)
@pytest.mark.parametrize('name, state, verdict', [
    ('good', 'symmetric', 'symmetric key 20 (AES128CMAC) ok'),
    ('miss1', 'pending', 'pending: symmetric key 20 (AES128CMAC): no authenticated answer to its last poll (reach 36)'
     + STOPPED),
    ('miss3', 'pending', 'pending: symmetric key 20 (AES128CMAC): no authenticated answer to its last 3 polls '
     '(reach 170)' + STOPPED),
])
def test_an_association_selected_on_its_last_answer_is_not_ok(name, state, verdict):
    result = reading('rekeyed-' + name, key_types={20: 'AES128CMAC'})
    [assoc] = result['associations']
    assert (assoc['state'], assoc['verdict']) == (state, verdict)
    assert assoc['selection'] == 'sys.peer'  # what ntpd still shows
    assert result['synchronised_authenticated'] == (state == 'symmetric')
    assert bool(result['problems']) == (state != 'symmetric')
    assert result['converged'] == (state != 'pending')


def test_unreachable_after_the_rekey_is_never_ok():
    # reach 000 and unreach 0 right after the eighth miss: pending until ntpd has counted SYMMETRIC_PATIENCE polls
    result = reading('rekeyed-miss8', key_types={20: 'AES128CMAC'})
    [assoc] = result['associations']
    assert (assoc['reach'], assoc['state']) == ('000', 'pending')
    assert not result['synchronised_authenticated'] and result['problems']
