# SPDX-License-Identifier: GPL-3.0-or-later
"""A host whose ntpd was replaced by ntpsec (Debian 12's package ntp), judged from ntpsec 1.2.2's ntpq output
captured live (fixtures/ntpq/upgraded-ntpsec-*.txt): ntpsec started on the collection's ntp.conf, the crypto lines
dropped and the server line kept without "autokey ident lab", synchronised to a Debian 11 ntpd in 26 s. The
capture put iburst and the poll options before "autokey" (the collection writes them after it, where the upgrade
drops them too), so that it synchronised in seconds; ntpq prints the same variables either way."""

import os

from hypothesis import given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import fleet, status
from fleet_fixture import assess_snapshot, snapshot

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'ntpq')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def upgraded():
    return status.assess(fixture('upgraded-ntpsec-system.txt'), fixture('upgraded-ntpsec-peers.txt'))


def test_the_replaced_daemon_is_named_with_the_unauthenticated_source():
    result = upgraded()
    assert result['daemon_identity'] == {'kind': 'ntpsec', 'name': 'ntpsec 1.2.2', 'autokey': False}
    [problem] = result['problems']
    assert problem.startswith('ntpsec 1.2.2 replaced ntpd: Autokey is gone')
    assert problem.endswith('synchronised without authentication to 192.0.2.10')
    assert 'no crypto line' not in problem and 'without OpenSSL' not in problem


def test_its_verdict_is_final_at_once():
    result = upgraded()
    [assoc] = result['associations']
    assert (assoc['state'], assoc['method'], assoc['synchronised']) == ('none', 'none', True)
    assert result['converged'] and not result['synchronised_authenticated']


def test_the_authentic_bit_without_authenb_is_no_authentication():
    """ntpsec shows status b61a (conf, auth, reach, sys.peer) for a server without a key: ntpq's `as` says
    auth none. Only with authenb is the bit authentication."""
    [assoc] = upgraded()['associations']
    assert assoc['authentic'] is False


def test_the_fleet_table_shows_the_source_not_its_own_clock():
    report = fleet.report({'gs': {'status': upgraded()}}, ['gs'])
    row = [line for line in report['lines'] if line.startswith('gs ')][0]
    assert '192.0.2.10' in row and 'no authentication (ntpsec 1.2.2, no Autokey)' in row and '(own clock)' not in row
    assert not report['ok'] and report['problems']['gs'][0].startswith('ntpsec 1.2.2 replaced ntpd')


def test_daemon_identity_of_each_build_seen():
    seen = {
        'ntpd 4.2.8p15@1.3728-o Wed Sep 23 11:46:38 UTC 2020 (1)': ('ntpd', 'ntpd 4.2.8p15', True),
        'ntpd 4.2.8p18-o Sun Dec  6 14:33:32 UTC 2026 (3)': ('ntpd', 'ntpd 4.2.8p18', True),
        'ntpd 4.2.6p5@1.2349-o Fri Apr 13 12:52:27 UTC 2018 (1)': ('ntpd', 'ntpd 4.2.6p5', True),
        'ntpd 4.2.8p15@1.3728 Wed Sep 23 11:46:38 UTC 2020 (1)': ('ntpd-no-openssl', 'ntpd 4.2.8p15', False),
        'ntpd ntpsec-1.2.2': ('ntpsec', 'ntpsec 1.2.2', False),
        'chronyd 4.3': ('unknown', None, False),
        '': ('unknown', None, False),
    }
    for version, (kind, name, autokey) in seen.items():
        assert status.daemon_identity(version) == {'kind': kind, 'name': name, 'autokey': autokey}, version
    assert status.daemon_identity(None)['kind'] == 'unknown'


def test_each_cause_of_autokey_off_is_told_apart():
    base = 'associd=0 status=0615 leap_none,\nstratum=2, peer=1, version="%s"'
    said = dict((version, status.assess(base % version, '')['problems'][0]) for version in (
        'ntpd 4.2.8p15@1.3728-o Wed', 'ntpd 4.2.8p15@1.3728 Wed', 'ntpd ntpsec-1.2.2', 'something else'))
    assert said['ntpd 4.2.8p15@1.3728-o Wed'].startswith('Autokey is off: ntpd 4.2.8p15 shows no crypto flags')
    assert said['ntpd 4.2.8p15@1.3728 Wed'].startswith('Autokey is off: ntpd 4.2.8p15 was built without OpenSSL')
    assert said['ntpd ntpsec-1.2.2'].startswith('ntpsec 1.2.2 replaced ntpd')
    assert "its version (something else) is not the reference ntpd" in said['something else']
    assert all(text.endswith('; not synchronised') for text in said.values())


def test_a_readable_configuration_with_the_password_is_named_without_the_password():
    text = 'driftfile /var/lib/ntp/ntp.drift\ncrypto host gs pw s3cret-pw ident lab\nserver th\n'
    finding = status.exposed_password('/etc/ntpsec/ntp.conf', text, 0o100644)
    assert finding.startswith('/etc/ntpsec/ntp.conf holds the crypto password and is readable by others (mode 0644)')
    assert 's3cret' not in finding
    assert status.exposed_password('/etc/ntp.conf', text, 0o100600) == ''
    assert status.exposed_password('/etc/ntp.conf', text, 0o100640) != ''  # group-readable: the ntp group too
    for harmless in ('crypto host gs\n', '# crypto pw old\n', 'server th # crypto pw x\n', 'keys /etc/ntp/keys\n', ''):
        assert status.exposed_password('/etc/ntp.conf', harmless, 0o100644) == '', harmless


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_daemon_identity_never_raises(version):
    identity = status.daemon_identity(version)
    assert identity['kind'] in ('ntpd', 'ntpd-no-openssl', 'ntpsec', 'unknown')
    assert identity['autokey'] == (identity['kind'] == 'ntpd')


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.integers(min_value=0, max_value=0o177777))
def test_exposed_password_never_raises_and_never_repeats_the_text(text, mode):
    finding = status.exposed_password('/etc/ntp.conf', text, mode)
    assert finding == '' or (finding.startswith('/etc/ntp.conf holds') and mode & 0o044)


def test_a_trusted_host_on_its_reference_clock_keeps_its_own_row():
    """The 'no authentication' row is for hosts without Autokey: a trusted host's local clock is its design."""
    th = assess_snapshot(snapshot('settled', 'th'), 'th')
    row = [line for line in fleet.report({'th': {'status': th}}, ['th'], ['th'])['lines'] if line.startswith('th ')][0]
    assert '(own clock)' in row and 'offers IFF' in row and 'no authentication' not in row


def test_an_unsynchronised_replaced_host_is_not_shown_as_serving_its_own_clock():
    """Right after the upgrade ntpsec has no source yet (no iburst left on its server line)."""
    system = fixture('upgraded-ntpsec-system.txt').replace('peer=17767, ', '')
    peers = fixture('upgraded-ntpsec-peers.txt').replace('status=b61a', 'status=9014')
    result = status.assess(system, peers)
    assert result['problems'][0].endswith('; not synchronised')
    row = [line for line in fleet.report({'gs': {'status': result}}, ['gs'])['lines'] if line.startswith('gs ')][0]
    assert 'no Autokey (ntpsec 1.2.2)' in row and '(own clock)' not in row and row.endswith('no')
