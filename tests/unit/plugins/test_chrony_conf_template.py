# SPDX-License-Identifier: GPL-3.0-or-later
"""chrony.conf and the keyed sources file of the chrony role."""

import pytest
from ansible.errors import AnsibleFilterError

from ntp_conf_render import render_chrony

KEYS = [dict(id=20, type='AES128CMAC'), dict(id=30, type='SHA256')]


def lines(text):
    return [line for line in text.splitlines() if line and not line.startswith('#')]


def test_sources_carry_the_key_and_version_4_for_long_digests():
    servers = [dict(address='gs1', method='symmetric', key=20, minpoll=3, maxpoll=3),
               dict(address='gs2', method='symmetric', key=30, iburst=False, prefer=True)]
    assert lines(render_chrony(__chrony_part='sources', chrony_servers=servers, chrony_keys=KEYS)) == [
        'server gs1 key 20 iburst minpoll 3 maxpoll 3', 'server gs2 key 30 version 4 prefer']


def test_main_file_serves_only_when_asked():
    assert 'allow' not in render_chrony()
    conf = lines(render_chrony(chrony_serve=True, chrony_local_stratum=5))
    assert conf[:2] == ['keyfile /etc/chrony/chrony.keys', 'sourcedir /etc/chrony/sources.d']
    assert 'allow' in conf and 'local stratum 5' in conf
    assert 'allow 192.0.2.0/24' in lines(render_chrony(chrony_serve=True, chrony_allow=['192.0.2.0/24']))


def test_nts_sources_and_server_files():
    servers = [dict(address='gs1.example.net', method='nts', minpoll=3), dict(address='gs2', method='symmetric', key=20)]
    assert lines(render_chrony(__chrony_part='sources', chrony_servers=servers, chrony_keys=KEYS)) == [
        'server gs1.example.net nts iburst minpoll 3', 'server gs2 key 20 iburst']
    assert not [line for line in lines(render_chrony()) if line.startswith('ntsserver') or line.startswith('ntstrusted')]
    conf = lines(render_chrony(chrony_nts_trusted_certificates='/etc/chrony/nts/ca.crt',
                               chrony_nts_server_key='/etc/chrony/nts/server.key',
                               chrony_nts_server_certificate='/etc/chrony/nts/server.crt'))
    assert [line for line in conf if line.startswith('nts')] == [
        'ntsdumpdir /var/lib/chrony', 'ntstrustedcerts /etc/chrony/nts/ca.crt',
        'ntsserverkey /etc/chrony/nts/server.key', 'ntsservercert /etc/chrony/nts/server.crt']


@pytest.mark.parametrize('variables, named', [
    (dict(chrony_nts_server_key='/etc/chrony/a key', chrony_nts_server_certificate='c'), 'chrony_nts_server_key'),
    (dict(chrony_nts_trusted_certificates='/x\nntsserverkey /etc/shadow'), 'chrony_nts_trusted_certificates'),
    (dict(__chrony_part='sources', chrony_servers=[dict(address='gs\nserver evil', key=20)]), 'address of a'),
    (dict(__chrony_part='sources', chrony_servers=[dict(address='gs', key='20 prefer')]), 'key of server gs'),
    (dict(chrony_serve=True, chrony_allow=['all\nserver evil']), 'chrony_allow'),
    (dict(chrony_extra_config=['a\nb']), 'chrony_extra_config'),
])
def test_values_that_would_add_a_line_are_refused(variables, named):
    with pytest.raises(AnsibleFilterError, match=named):
        render_chrony(**variables)


@pytest.mark.parametrize('servers, mode, expected', [
    ([{'address': 'gs', 'method': 'nts'}], '', 'authselectmode require'),
    ([{'address': '192.0.2.1', 'method': 'symmetric', 'key': 20}], '', 'authselectmode require'),
    ([{'address': 'gs', 'method': 'nts'}, {'address': 'pool.example'}], '', None),
    ([{'address': 'gs', 'method': 'nts'}, {'address': '192.0.2.9', 'method': 'none'}], '', None),
    ([], '', None),  # a trusted host on its own clock
    ([{'address': 'pool.example'}], 'prefer', 'authselectmode prefer'),
])
def test_authselectmode_require_when_every_source_is_authenticated(servers, mode, expected):
    lines = render_chrony(chrony_servers=servers, chrony_authselectmode=mode).splitlines()
    found = [line for line in lines if line.startswith('authselectmode')]
    assert found == ([expected] if expected else [])
