# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/appliance_export.yml: the ntp.conf that INSTRUCTIONS.txt tells the operator to copy has one server line
per trusted host, whatever autokey_server_options holds; options that are not single ntpd words are refused before
anything is exported, by the associations filter the roles use (the playbook's assert evaluates it)."""

import datetime
import os

import jinja2
import pytest
import yaml
from ansible.errors import AnsibleFilterError
from hypothesis import given, settings, strategies as st
from jinja2.nativetypes import NativeEnvironment

from ansible_collections.ntp.autokey.plugins.filter.members import FilterModule as Members
from ansible_collections.ntp.autokey.plugins.filter.ntp_conf import FilterModule as NtpConf
from ntp_scanner import commands

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(ROOT, 'playbooks', 'appliance_export.yml')
TEMPLATE = os.path.join(ROOT, 'playbooks', 'templates', 'appliance-instructions.txt.j2')
HOSTVARS = {'th1': {'autokey_address': '192.0.2.1'}, 'th2': {}}


def _environment(cls, **options):
    env = cls(undefined=jinja2.StrictUndefined, **options)
    for module in (Members(), NtpConf()):
        for name, function in module.filters().items():
            env.filters['ntp.autokey.' + name] = function
    env.globals['now'] = lambda utc=False: datetime.datetime(2026, 11, 29, 12)
    return env


def _play():
    with open(PLAYBOOK) as handle:
        return yaml.safe_load(handle)[0]


def _task(play, name):
    return next(task for task in play['tasks'] if task['name'].startswith(name))


def _variables(options, with_task_vars=True):
    """The play's and the template task's vars, evaluated in order as Ansible would for these inputs."""
    play = _play()
    native = _environment(NativeEnvironment)
    context = dict(groups={'autokey_trusted_hosts': ['th1', 'th2']}, hostvars=HOSTVARS, autokey_group='lab',
                   autokey_server_options=options,
                   __appliance_files=dict(filestamp='3974712345', server_key_link='k', params_link='p'))
    scopes = [play.get('vars') or {}]
    if with_task_vars:
        scopes.append(_task(play, 'Write the instructions').get('vars') or {})
    for scope in scopes:
        for name, expression in scope.items():
            context[name] = native.from_string(expression).render(context)
    return context


def _ntp_conf(options):
    """The ntp.conf section of INSTRUCTIONS.txt, rendered as ansible.builtin.template does (trim_blocks)."""
    with open(TEMPLATE) as handle:
        template = _environment(jinja2.Environment, trim_blocks=True).from_string(handle.read())
    text = template.render(_variables(options))
    return text.split('# --- ntp.conf begin ---\n', 1)[1].split('# --- ntp.conf end ---', 1)[0]


def test_server_lines_carry_the_checked_options():
    servers = [c for c in commands(_ntp_conf({'minpoll': 3, 'maxpoll': 5, 'prefer': True})) if c[0] == 'server']
    assert servers == [['server', address, 'autokey', 'ident', 'lab', 'iburst', 'prefer', 'minpoll', '3', 'maxpoll', '5']
                       for address in ('192.0.2.1', 'th2')]
    assert [c for c in commands(_ntp_conf({'iburst': False})) if c[0] == 'server'][0] == [
        'server', '192.0.2.1', 'autokey', 'ident', 'lab']


HOSTILE = [
    {'minpoll': '3\nserver 203.0.113.66 prefer'},
    {'minpoll 3\nserver 203.0.113.66 prefer\n#': 3},
    {'maxpoll': '10 # cut'},
    {'prefer': 'yes\nrestrict default'},
    {'noselect': True},
    {'minpoll': 9, 'maxpoll': 4},
    'minpoll 3\nserver 203.0.113.66',
]


@pytest.mark.parametrize('options', HOSTILE)
def test_options_that_are_not_single_ntpd_words_are_refused(options):
    """A line break in autokey_server_options used to add lines to the ntp.conf the operator copies."""
    with pytest.raises(AnsibleFilterError) as caught:
        _ntp_conf(options)
    assert str(caught.value).startswith('associations: ')


@pytest.mark.parametrize('options', HOSTILE)
def test_the_playbook_assert_refuses_them_before_anything_is_exported(options):
    play = _play()
    names = [task['name'] for task in play['tasks']]
    check = _task(play, 'Check the server options')
    assert names.index(check['name']) < names.index('Read the group key of the trusted host, encrypted for the '
                                                    'appliance (on the trusted host)')
    native = _environment(NativeEnvironment)
    context = _variables({'minpoll': 4}, with_task_vars=False)
    assert all(native.from_string('{{ %s }}' % that).render(context) for that in check['ansible.builtin.assert']['that'])
    context = dict(context, autokey_server_options=options)
    del context['__appliance_servers']
    with pytest.raises(AnsibleFilterError, match='^associations: '):
        context.update(_variables(options, with_task_vars=False))
        for that in check['ansible.builtin.assert']['that']:
            native.from_string('{{ %s }}' % that).render(context)


_WORDS = st.one_of(st.sampled_from(['minpoll', 'maxpoll', 'iburst', 'prefer']), st.text(max_size=12))
_VALUES = st.one_of(st.integers(0, 20), st.booleans(), st.text(max_size=12))


@settings(max_examples=300, deadline=None)
@given(options=st.dictionaries(_WORDS, _VALUES, max_size=4))
def test_any_options_are_refused_or_give_one_server_line_per_trusted_host(options):
    try:
        conf = _ntp_conf(options)
    except AnsibleFilterError as exc:
        assert str(exc).startswith('associations: ')
        return
    read = commands(conf)
    servers = [c for c in read if c[0] == 'server']
    assert [c[1] for c in servers] == ['192.0.2.1', 'th2']
    assert len(read) == len(servers) + 9  # the fixed lines around them
    for command in servers:
        assert command[2:5] == ['autokey', 'ident', 'lab']
        words = command[5:]
        assert set(words) <= {'iburst', 'prefer', 'minpoll', 'maxpoll'} | {str(n) for n in range(3, 18)}
