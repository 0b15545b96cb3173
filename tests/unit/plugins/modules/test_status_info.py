# SPDX-License-Identifier: GPL-3.0-or-later
"""status_info end to end on captured lab output, with ntpq replaced by the recorded answers."""

import os
import time
from unittest import mock

import pytest
from ansible.module_utils import basic

from ansible_collections.ntp.autokey.plugins.modules import status_info
from fleet_fixture import snapshot, write_host_files
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
    stats, keys = write_host_files(snap, tmp_path)
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


def fake_proc(tmp_path, processes):
    """A /proc with `processes` [(pid, comm, start seconds after boot[, parent pid])], booted at 1000."""
    ticks = os.sysconf('SC_CLK_TCK')
    proc = tmp_path / 'proc'
    proc.mkdir()
    (proc / 'stat').write_text('cpu 1 2 3\nbtime 1000\n')
    for process in processes:
        pid, comm, start, parent = (tuple(process) + (0,))[:4]
        (proc / pid).mkdir()
        fields = ['S', str(parent)] + ['0'] * 17 + [str(start * ticks)] + ['0'] * 5
        (proc / pid / 'stat').write_text('%s (%s) %s\n' % (pid, comm, ' '.join(fields)))
    return str(proc)


def test_boot_time_from_uptime_to_the_hundredth(tmp_path):
    proc = tmp_path / 'proc'
    proc.mkdir()
    (proc / 'stat').write_text('cpu 1 2 3\nbtime 1000\n')
    (proc / 'uptime').write_text('250.37 480.10\n')
    assert status_info._boot_time(str(proc), now=1250.99) == pytest.approx(1000.62)  # pylint: disable=protected-access
    (proc / 'uptime').write_text('garbage\n')
    assert status_info._boot_time(str(proc), now=1250.99) == 1000  # pylint: disable=protected-access


def test_a_file_written_just_before_the_start_is_not_newer(tmp_path):
    # btime says 1000 (whole seconds); the machine booted at 1000.62 by uptime; ntpd started 5 s after boot, and
    # its configuration was written 0.3 s before that: with btime the start would read 1005.0, before the file
    proc = tmp_path / 'proc'
    fake_proc(tmp_path, [('12', 'ntpd', 5)])
    (proc / 'uptime').write_text('%.2f 1.0\n' % (time.time() - 1000.62))
    [started] = status_info.ntpd_processes(str(proc)).values()
    assert started == pytest.approx(1005.62, abs=0.05)
    facts = status_info.autokey_status.restart_facts(started, {'ntp.conf': 1005.32})
    assert facts['restart_needed'] is False


# Two ntpd on one machine (a lab, a chroot): the older one is not the daemon that answers ntpq.
TWO_NTPD = [('12', 'ntpd', 50), ('13', 'ntpd', 70), ('14', 'sshd (x)', 1)]


def test_two_ntpd_the_pidfile_names_the_daemon(tmp_path):
    processes = status_info.ntpd_processes(fake_proc(tmp_path, TWO_NTPD))
    assert processes == {12: 1050.0, 13: 1070.0}
    pidfile = tmp_path / 'ntpd.pid'
    pidfile.write_text('13\n')
    daemon = status_info.running_daemon(processes, status_info.read_pid(str(pidfile)), str(pidfile))
    assert daemon == dict(pid=13, started=1070.0, source='pidfile %s' % pidfile)


def test_two_ntpd_without_pidfile_the_service_names_it(tmp_path):
    processes = status_info.ntpd_processes(fake_proc(tmp_path, TWO_NTPD))
    daemon = status_info.running_daemon(processes, status_info.read_pid(str(tmp_path / 'none.pid')),
                                        str(tmp_path / 'none.pid'), 12, 'ntpd')
    assert daemon == dict(pid=12, started=1050.0, source='service ntpd')


def test_two_ntpd_and_nothing_names_one_no_start_time(tmp_path):
    processes = status_info.ntpd_processes(fake_proc(tmp_path, TWO_NTPD))
    stale = tmp_path / 'ntpd.pid'
    stale.write_text('99\n')  # left by a daemon that is gone
    daemon = status_info.running_daemon(processes, status_info.read_pid(str(stale)), str(stale))
    assert daemon['pid'] is None and daemon['started'] is None
    assert daemon['source'].startswith('2 ntpd processes, and neither the pidfile')
    assert status_info.daemon_started(str(tmp_path / 'proc')) is None  # not the older of the two


def test_one_ntpd_is_the_daemon_without_pidfile(tmp_path):
    processes = status_info.ntpd_processes(fake_proc(tmp_path, [('40', 'ntpd', 5)]))
    assert status_info.running_daemon(processes)['source'] == 'the only ntpd process'
    assert status_info.ntpd_processes(str(tmp_path / 'missing')) == {}


def run_with_proc(tmp_path, host, proc, pidfile_pid=None, **args):
    pidfile = tmp_path / 'ntpd.pid'
    if pidfile_pid:
        pidfile.write_text('%d\n' % pidfile_pid)
    real = status_info.ntpd_processes
    with mock.patch.object(status_info, 'ntpd_processes', lambda: real(proc)), \
            mock.patch.object(status_info, 'service_pid', lambda module, names: (None, None)):
        return run(tmp_path, host, pidfile=str(pidfile), **args)


def test_module_judges_the_daemon_of_its_pidfile(tmp_path):
    proc = fake_proc(tmp_path, TWO_NTPD)
    result, dummy = run_with_proc(tmp_path, 'cl', proc, pidfile_pid=13)
    status = result['status']
    assert status['daemon'] == dict(pid=13, source='pidfile %s' % (tmp_path / 'ntpd.pid'))
    assert status['daemon_started'] == 1070.0 and status['restart_needed'] is True  # fixture files are newer


def test_module_without_a_way_to_tell_the_daemon_says_so(tmp_path):
    proc = fake_proc(tmp_path, TWO_NTPD)
    result, dummy = run_with_proc(tmp_path, 'cl', proc)
    status = result['status']
    assert status['daemon']['pid'] is None and '2 ntpd processes' in status['daemon']['source']
    assert status['daemon_started'] is None and status['restart_needed'] is None
    assert status['changed_since_start'] == []


def test_remote_server_reads_nothing_local(tmp_path):
    proc = fake_proc(tmp_path, TWO_NTPD)
    result, calls = run_with_proc(tmp_path, 'th', proc, pidfile_pid=12, server='192.0.2.10')
    status = result['status']
    assert calls[0][-1] == '192.0.2.10'
    assert status['daemon_started'] is None and status['restart_needed'] is None
    assert status['daemon'] == dict(pid=None, source='remote server 192.0.2.10: its process is not visible from here')
    assert status['files'] == {} and status['params'] == {}
    assert status['loaded'] == dict(certificate=None, group_keys={})
    assert status['cryptostats'] == 'not read: remote server'
    assert status['host'] == 'th@lab' and status['offers'] == ['iff']


def test_restart_needed_when_files_changed_after_start():
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.status import restart_facts
    facts = restart_facts(100.0, {'ntpkey_iffpar_lab': 150.0, 'ntp.conf': 90.0})
    assert facts == dict(daemon_started=100.0, changed_since_start=['ntpkey_iffpar_lab'], restart_needed=True)
    assert not restart_facts(None, {'x': 1})['restart_needed']


@pytest.mark.parametrize('processes, pidfile, judged', [
    ([('40', 'chronyd', 100, 1), ('41', 'chronyd', 500, 40)], None, 100),  # the main process, not its NTS helper
    ([('40', 'chronyd', 100, 1), ('50', 'chronyd', 500, 1)], '50', 500),   # the pidfile's, among several
    ([('40', 'chronyd', 100, 1), ('50', 'chronyd', 500, 1)], '7', None),   # several, and a stale pidfile
    ([('40', 'ntpd', 100, 1)], None, None),
])
def test_chronyd_running_for(tmp_path, processes, pidfile, judged):
    proc = fake_proc(tmp_path, processes)
    if pidfile:
        (tmp_path / 'chronyd.pid').write_text(pidfile + '\n')
    found = status_info.chronyd_running_for(proc, str(tmp_path / 'chronyd.pid'), now=5000)
    assert found == (None if judged is None else pytest.approx(5000 - 1000 - judged))


def test_a_readable_config_with_the_crypto_password_is_a_problem(tmp_path):
    """The file the upgrade to ntpsec leaves (mode 0644, the crypto line kept) is named; a private one, a link or
    a missing one is not, and the password never reaches the result."""
    conf = tmp_path / 'ntp.conf'
    conf.write_text('crypto host cl pw lab-secret-pw\nserver gs autokey ident lab\n')
    conf.chmod(0o644)
    result, dummy = run(tmp_path, 'cl', config=str(conf))
    exposed = [p for p in result['status']['problems'] if 'readable by others' in p]
    assert exposed == ['%s holds the crypto password and is readable by others (mode 0644): make it 0600 or remove '
                       'the crypto line, and treat the password as exposed (a new autokey_password, which renews the '
                       'host key)' % conf]
    assert 'lab-secret-pw' not in repr(result)
    conf.chmod(0o600)
    assert status_info.exposed_passwords([str(conf), str(tmp_path / 'missing')]) == []
    link = tmp_path / 'link.conf'
    link.symlink_to(conf)
    conf.chmod(0o644)
    assert status_info.exposed_passwords([str(link)]) == []


def test_a_missing_ntpq_is_named_with_its_remedy(tmp_path):
    result, dummy = run_module(status_info, dict(keysdir=str(tmp_path), ntpq=str(tmp_path / 'no-ntpq-here')))
    assert result['failed'] and result['msg'] == (
        "cannot run ntpq '%s' on this host (No such file or directory): install the package that has it "
        "(Debian 11: ntp; ntpsec: ntpsec-ntpq) or give the ntpq option its path" % (tmp_path / 'no-ntpq-here'))
