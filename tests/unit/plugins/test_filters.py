# SPDX-License-Identifier: GPL-3.0-or-later
"""The filters as Ansible calls them."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ntp.autokey.plugins.filter.crypto_flags import FilterModule as FlagsFilters
from ansible_collections.ntp.autokey.plugins.filter.fleet_report import FilterModule as FleetFilters

crypto_flags = FlagsFilters().filters()['crypto_flags']
fleet_report = FleetFilters().filters()['fleet_report']


def test_crypto_flags_decodes_and_refuses():
    assert crypto_flags('0x80021', 'system')['schemes'] == ['iff']
    with pytest.raises(AnsibleFilterError, match='crypto_flags: not a flags word'):
        crypto_flags('0xnope')


def test_fleet_report_input_checks():
    with pytest.raises(AnsibleFilterError, match='expects a dict'):
        fleet_report(['x'], ['x'])
    with pytest.raises(AnsibleFilterError, match='malformed'):
        fleet_report({'cl': {'status': {'problems': []}}}, ['cl'])
    assert fleet_report({}, ['cl'])['problems'] == {'cl': ['no status: the host was unreachable']}


# -- members: member_addresses, associations, host_results ------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

from ansible_collections.ntp.autokey.plugins.filter.members import FilterModule as MemberFilters  # noqa: E402

_members = MemberFilters().filters()
member_addresses = _members['member_addresses']
associations = _members['associations']
host_results = _members['host_results']

HOSTVARS = {'th': {'autokey_address': '10.0.0.1'}, 'gs': {}, 'cl': {'autokey_address': ''},
            'bad': {'autokey_address': 'gs\nserver evil prefer'}}


def test_member_addresses_prefers_autokey_address():
    assert member_addresses(['th', 'gs', 'cl'], HOSTVARS) == ['10.0.0.1', 'gs', 'cl']
    assert member_addresses([], HOSTVARS) == []


def test_member_addresses_refuses_unknown_hosts_and_non_lists():
    with pytest.raises(AnsibleFilterError, match='nope is not in the inventory'):
        member_addresses(['nope'], HOSTVARS)
    with pytest.raises(AnsibleFilterError, match='expects a list of inventory names'):
        member_addresses('th', HOSTVARS)


def test_member_addresses_refuses_a_value_that_would_add_a_line():
    with pytest.raises(AnsibleFilterError, match='autokey_address of bad is .*one token'):
        member_addresses(['bad'], HOSTVARS)


def test_associations_autokey_with_options():
    assert associations(['gs1', 'gs2'], 'autokey', 'lab', {'minpoll': 3, 'maxpoll': 3}) == [
        {'address': 'gs1', 'method': 'autokey', 'autokey': True, 'ident': 'lab', 'minpoll': 3, 'maxpoll': 3},
        {'address': 'gs2', 'method': 'autokey', 'autokey': True, 'ident': 'lab', 'minpoll': 3, 'maxpoll': 3}]
    assert associations(['a'], 'none') == [{'address': 'a', 'method': 'none', 'autokey': False}]


@pytest.mark.parametrize('options, message', [
    ({'burst': True}, "unknown server option 'burst'"),
    ({'minpoll': 2}, 'minpoll must be a poll exponent from 3 to 17'),
    ({'maxpoll': '6'}, 'maxpoll must be a poll exponent'),
    ({'maxpoll': True}, 'maxpoll must be a poll exponent'),
    ({'iburst': 'yes'}, 'iburst must be true or false'),
    ({'minpoll': 6, 'maxpoll': 4}, 'minpoll 6 is above maxpoll 4'),
    ([], 'options must be a dict'),
])
def test_associations_refuses_bad_options(options, message):
    with pytest.raises(AnsibleFilterError, match=message):
        associations(['gs'], 'autokey', 'lab', options)


def test_associations_refuses_unknown_method():
    with pytest.raises(AnsibleFilterError, match="method must be one of autokey, symmetric, nts, none, not 'ntske'"):
        associations(['gs'], 'ntske')


def test_associations_nts_has_no_key_and_no_ident():
    assert associations(['gs1.example.net'], 'nts', 'lab', {'minpoll': 3}) == [
        dict(address='gs1.example.net', method='nts', autokey=False, minpoll=3)]


def test_associations_symmetric_carries_its_key():
    assert associations(['gs1'], 'symmetric', 'lab', {'minpoll': 3}, 42) == [
        {'address': 'gs1', 'method': 'symmetric', 'autokey': False, 'key': 42, 'minpoll': 3}]
    for key in (None, 0, 65536, '42', True):
        with pytest.raises(AnsibleFilterError, match='method symmetric needs key'):
            associations(['gs1'], 'symmetric', '', {}, key)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_associations_address_is_one_token_or_refused(address):
    try:
        result = associations([address], 'autokey', 'lab')
    except AnsibleFilterError as exc:
        assert 'one token' in str(exc)
        return
    assert result[0]['address'] == address
    assert address and not any(c.isspace() or ord(c) < 32 or c in '#"' for c in address)


def test_host_results_fills_missing_with_empty():
    hostvars = {'th': {'autokey_status': {'status': 1}}, 'cl': {}}
    assert host_results(['th', 'cl'], hostvars, 'autokey_status') == {'th': {'status': 1}, 'cl': {}}
    with pytest.raises(AnsibleFilterError, match='host_results: x is not in the inventory'):
        host_results(['x'], hostvars, 'autokey_status')
