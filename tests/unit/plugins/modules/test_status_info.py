# SPDX-License-Identifier: GPL-3.0-or-later
"""status_info end to end on captured lab output, with ntpq replaced by the recorded answers."""

import os
from unittest import mock

from ansible.module_utils import basic

from ansible_collections.ntp.autokey.plugins.modules import status_info
from fleet_fixture import snapshot
from helpers import run_module


def fake_ntpq(snap, calls):
    def run_command(self, args, **kw):  # pylint: disable=unused-argument
        calls.append(args)
        commands = [args[i + 1] for i, arg in enumerate(args) if arg == '-c']
        if commands == ['rv 0', 'as']:
            return 0, snap['system'], ''
        return 0, snap['peers'], ''
    return run_command


def run(tmp_path, host, state='settled', **args):
    snap = snapshot(state, host)
    stats = tmp_path / 'cryptostats'
    stats.write_text(snap['cryptostats'])
    keys = tmp_path / 'keys'
    keys.mkdir()
    for name, target in snap['files'].items():
        if target:
            os.symlink(target, str(keys / name))
        else:
            (keys / name).write_text('x')
    calls = []
    with mock.patch.object(basic.AnsibleModule, 'run_command', fake_ntpq(snap, calls)):
        result, dummy = run_module(status_info, dict(dict(cryptostats=str(stats), keysdir=str(keys)), **args),
                                   check_mode=True)
    return result, calls


def test_verified_client(tmp_path):
    result, calls = run(tmp_path, 'cl')
    assert not result.get('failed') and not result['changed']
    assoc = result['status']['associations'][0]
    assert assoc['verdict'] == 'iff verified' and assoc['proof'].startswith('iff th@lab fs ')
    assert calls[0][:2] == ['ntpq', '-n'] and calls[1][-2:] == ['-c', 'rv %d' % assoc['assid']]
    assert result['status']['files']['ntpkey_iffpar_lab'].startswith('ntpkey_iffpar_lab.')


def test_missing_params_found_in_the_keysdir(tmp_path):
    result, dummy = run(tmp_path, 'clnoparams')
    assert result['status']['associations'][0]['verdict'] == 'failing: no params file ntpkey_iffpar_lab'


def test_server_must_offer_the_scheme(tmp_path):
    result, dummy = run(tmp_path, 'gsnokey', offers='iff')
    assert 'ntpkey_iffkey_lab is missing' in result['status']['problems'][0]


def test_ntpq_without_answer_fails_clearly(tmp_path):
    with mock.patch.object(basic.AnsibleModule, 'run_command',
                           lambda self, args, **kw: (1, '', 'localhost: timed out, nothing received')):
        result, dummy = run_module(status_info, dict(keysdir=str(tmp_path)))
    assert result['failed'] and 'ntpq could not read ntpd' in result['msg'] and 'timed out' in result['msg']


def test_unreadable_output_fails_clearly(tmp_path):
    answer = 'associd=0 status=0614 x\nflags=0xzz'
    with mock.patch.object(basic.AnsibleModule, 'run_command', lambda self, args, **kw: (0, answer, '')):
        result, dummy = run_module(status_info, dict(keysdir=str(tmp_path)))
    assert result['failed'] and result['msg'].startswith('cannot understand ntpq output')


def test_daemon_start_from_proc(tmp_path):
    ticks = os.sysconf('SC_CLK_TCK')
    (tmp_path / 'stat').write_text('cpu 1 2 3\nbtime 1000\n')
    for pid, comm, start in (('12', 'ntpd', 50 * ticks), ('13', 'ntpd', 70 * ticks), ('14', 'sshd (x)', ticks)):
        (tmp_path / pid).mkdir()
        fields = ['S'] + ['0'] * 18 + [str(start)] + ['0'] * 5
        (tmp_path / pid / 'stat').write_text('%s (%s) %s\n' % (pid, comm, ' '.join(fields)))
    assert status_info.daemon_started(str(tmp_path)) == 1050
    assert status_info.daemon_started(str(tmp_path / 'missing')) is None


def test_restart_needed_when_files_changed_after_start():
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.status import restart_facts
    facts = restart_facts(100.0, {'ntpkey_iffpar_lab': 150.0, 'ntp.conf': 90.0})
    assert facts == dict(daemon_started=100.0, changed_since_start=['ntpkey_iffpar_lab'], restart_needed=True)
    assert not restart_facts(None, {'x': 1})['restart_needed']
