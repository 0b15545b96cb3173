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
