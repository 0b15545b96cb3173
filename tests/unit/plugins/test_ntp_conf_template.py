# SPDX-License-Identifier: GPL-3.0-or-later
"""No password, name, address or line given to the ntpd role can cut a word of ntp.conf or add a line."""

import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import HealthCheck, given, settings, strategies as st

from ntp_conf_render import render
from ntp_scanner import commands

CRYPTO = dict(host='gs1', ident='lab', password='Secret-pw')
SERVER = dict(address='192.0.2.10', autokey=True, ident='lab', minpoll=3, maxpoll=4)


def _conf(crypto=None, server=None, restrict=None, extra=None):
    return render(ntpd_crypto=dict(CRYPTO, **(crypto or {})), ntpd_servers=[dict(SERVER, **(server or {}))],
                  ntpd_restrict=restrict or ['default nomodify'], ntpd_extra_config=extra or [])


def test_baseline_commands():
    assert commands(_conf()) == [
        ['driftfile', '/var/lib/ntp/ntp.drift'], ['keysdir', '/etc/ntp/'],
        ['crypto', 'host', 'gs1', 'ident', 'lab', 'pw', 'Secret-pw'],
        ['statsdir', '/var/log/ntpstats/'], ['statistics', 'cryptostats'],
        ['filegen', 'cryptostats', 'file', 'cryptostats', 'type', 'none', 'enable'],
        ['server', '192.0.2.10', 'autokey', 'ident', 'lab', 'iburst', 'minpoll', '3', 'maxpoll', '4'],
        ['restrict', 'default', 'nomodify']]


@pytest.mark.parametrize('crypto, server, restrict, extra, named', [
    ({'password': 'pa#ss'}, None, None, None, 'ntpd_crypto.password'),
    ({'password': 'pa ss'}, None, None, None, 'ntpd_crypto.password'),
    ({'password': 'pa"ss'}, None, None, None, 'ntpd_crypto.password'),
    ({'password': 'pw\nserver 203.0.113.66 prefer'}, None, None, None, 'ntpd_crypto.password'),
    ({'password': 'x' * 128}, None, None, None, 'ntpd_crypto.password'),
    ({'password': ''}, None, None, None, 'ntpd_crypto.password'),
    ({'host': 'gs1\n'}, None, None, None, 'ntpd_crypto.host'),
    ({'ident': 'lab pw other'}, None, None, None, 'ntpd_crypto.ident'),
    (None, {'address': '192.0.2.10 prefer'}, None, None, 'address of an ntpd_servers entry'),
    (None, {'ident': 'lab\nserver 203.0.113.66'}, None, None, 'ident of server'),
    (None, {'minpoll': '3 prefer'}, None, None, 'minpoll of server'),
    (None, None, ['default\nserver 203.0.113.66 prefer'], None, 'ntpd_restrict'),
    (None, None, None, ['tinker panic 0\rserver 203.0.113.66'], 'ntpd_extra_config'),
])
def test_values_that_would_change_the_file_are_refused(crypto, server, restrict, extra, named):
    with pytest.raises(AnsibleFilterError) as error:
        _conf(crypto, server, restrict, extra)
    assert named in str(error.value)
    if crypto and 'password' in crypto and crypto['password']:
        assert crypto['password'] not in str(error.value)  # a refused password is never shown


def test_ntpd_specials_stay_inside_the_password():
    # '=', ',', ';', '|', parentheses and braces are separators elsewhere, not after "pw" (ntpd 4.2.8p15 reads
    # them back: tests/reference/test_ntp_conf_readback.py)
    password = "a=b,c;d|e(f)g{h}i!$%&'*+-./:<>?@[\\]^_`~"
    assert commands(_conf({'password': password}))[2][-1] == password


_ANY = st.text(st.characters(max_codepoint=0x2FF), max_size=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(host=_ANY, ident=_ANY, password=_ANY, address=_ANY, restrict=_ANY, extra=_ANY)
def test_rendered_or_refused_never_changed(host, ident, password, address, restrict, extra):
    """Whatever the values, the template either refuses them or ntpd reads back exactly the commands the role
    meant: same number of commands, each value one whole word in its place."""
    try:
        text = _conf({'host': host, 'ident': ident, 'password': password}, {'address': address, 'ident': ident},
                     ['default ' + restrict], ['tinker ' + extra])
    except AnsibleFilterError:
        return
    got = commands(text)
    with_ident = ['ident', ident] if ident else []  # an empty ident is left out
    assert got[2] == ['crypto', 'host', host] + with_ident + ['pw', password]
    assert got[6][:3 + len(with_ident)] == ['server', address, 'autokey'] + with_ident
    # each restrict and extra entry is read as at most one command, the words it holds
    assert got[7:] == commands('restrict default ' + restrict) + commands('tinker ' + extra)


def test_symmetric_part_is_included_and_holds_the_keyed_servers():
    servers = [SERVER, dict(address='192.0.2.20', method='symmetric', key=20, minpoll=3)]
    symmetric = dict(ntpd_servers=servers, ntpd_keys=[{'id': 20}], ntpd_trustedkeys=[1, 20], ntpd_controlkey=1)
    main = commands(render(**symmetric))
    assert ['includefile', '/etc/ntp/symmetric.conf'] in main
    assert [c for c in main if c[0] == 'server'] == [
        ['server', '192.0.2.10', 'autokey', 'ident', 'lab', 'iburst', 'minpoll', '3', 'maxpoll', '4']]
    assert commands(render(__ntpd_part='symmetric', **symmetric)) == [
        ['keys', '/etc/ntp/ntp.keys'], ['trustedkey', '1', '20'], ['controlkey', '1'],
        ['server', '192.0.2.20', 'key', '20', 'iburst', 'minpoll', '3']]
    assert 'includefile' not in render()


@pytest.mark.parametrize('variables, named', [
    (dict(ntpd_servers=[dict(address='gs', key='20 prefer')]), 'key of server gs'),
    (dict(ntpd_trustedkeys=['1\ncontrolkey 2']), 'ntpd_trustedkeys'),
    (dict(ntpd_controlkey='1 2'), 'ntpd_controlkey'),
    (dict(ntpd_keys_file='/etc/ntp/a b'), 'ntpd_keys_file'),
])
def test_symmetric_values_that_would_change_the_file_are_refused(variables, named):
    with pytest.raises(AnsibleFilterError, match=named):
        render(__ntpd_part='symmetric', **dict(dict(ntpd_keys=[{'id': 1}]), **variables))


# -- the dialect of ntpd 4.2.6 (roles/ntpd/files/dialects/4.2.6.yml) -------------------------------------------

ROOTED = dict(CRYPTO, trust_root='th1@lab')


@pytest.mark.parametrize('release, crypto, server', [
    ('4.2.8', ['crypto', 'host', 'gs1', 'ident', 'lab', 'pw', 'Secret-pw'],
     ['server', '192.0.2.10', 'autokey', 'ident', 'lab', 'iburst', 'minpoll', '3', 'maxpoll', '4']),
    # 4.2.6: the group is the Trust Root's subject, named once on the crypto line; `ident` on a server line is a
    # syntax error there
    ('4.2.6', ['crypto', 'host', 'gs1', 'ident', 'th1@lab', 'pw', 'Secret-pw'],
     ['server', '192.0.2.10', 'autokey', 'iburst', 'minpoll', '3', 'maxpoll', '4']),
])
def test_each_release_names_the_group_its_own_way(release, crypto, server):
    got = commands(render(release, ntpd_crypto=ROOTED, ntpd_servers=[SERVER]))
    assert crypto in got and server in got


def test_a_4_2_6_client_names_its_trust_root_and_a_4_2_8_client_its_server_lines():
    client = dict(host='cl1', ident='', password='Secret-pw', trust_root='th1@lab')
    assert ['crypto', 'host', 'cl1', 'ident', 'th1@lab', 'pw', 'Secret-pw'] in commands(
        render('4.2.6', ntpd_crypto=client, ntpd_servers=[SERVER]))
    assert ['crypto', 'host', 'cl1', 'pw', 'Secret-pw'] in commands(
        render('4.2.8', ntpd_crypto=client, ntpd_servers=[SERVER]))


def test_4_2_6_has_no_ident_line():
    for release, lines in (('4.2.8', [['ident', 'lab']]), ('4.2.6', [])):
        got = commands(render(release, ntpd_crypto=ROOTED, ntpd_ident='lab', ntpd_broadcastclient=True))
        assert [c for c in got if c[0] == 'ident'] == lines


def test_a_trust_root_that_would_change_the_file_is_refused():
    with pytest.raises(AnsibleFilterError) as error:
        render('4.2.6', ntpd_crypto=dict(ROOTED, trust_root='th1@lab pw x'))
    assert 'ntpd_crypto.trust_root' in str(error.value)


def test_4_2_6_leaves_out_restrict_source():
    restrict = ['default nomodify', 'source notrap nomodify noquery']
    assert [c for c in commands(render('4.2.6', ntpd_restrict=restrict)) if c[0] == 'restrict'] == [
        ['restrict', 'default', 'nomodify']]
    assert len([c for c in commands(render('4.2.8', ntpd_restrict=restrict)) if c[0] == 'restrict']) == 2
