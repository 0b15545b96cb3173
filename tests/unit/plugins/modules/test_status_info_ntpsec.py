# SPDX-License-Identifier: GPL-3.0-or-later
"""status_info with daemon=ntpsec (ntpsec deployed on purpose) on ntpq output captured live, ntpq replaced by the
recorded answers: no keys directory and no cryptostats read, ntpsec's files and service, its NTS verdicts."""

import os
from unittest import mock

from ansible.module_utils import basic

from ansible_collections.ntp.autokey.plugins.modules import status_info
from helpers import FIXTURES, ntpq_texts, run_module


def recorded(kind):
    return ntpq_texts('ntpsec-nts-' + kind)


def run(tmp_path, kind, services=None, **args):
    system, peers = recorded(kind)
    calls = []

    def run_command(self, argv, **kw):  # pylint: disable=unused-argument
        calls.append(argv)
        commands = [argv[i + 1] for i, arg in enumerate(argv) if arg == '-c']
        return 0, system if commands == ['rv 0', 'as'] else peers, ''

    def service_pid(module, names):  # pylint: disable=unused-argument
        (services if services is not None else []).append(list(names))
        return None, None

    keys = tmp_path / 'keys'  # what Autokey left: params, and a cryptostats (a FIFO, named if it were read)
    if not keys.exists():
        keys.mkdir()
        (keys / 'ntpkey_iffpar_lab').write_text('left from Autokey\n')
        os.mkfifo(str(tmp_path / 'cryptostats'))
    defaults = dict(daemon='ntpsec', keysdir=str(keys), cryptostats=str(tmp_path / 'cryptostats'),
                    config=str(tmp_path / 'ntp.conf'), keys_file=str(tmp_path / 'ntp.keys'),
                    pidfile=str(tmp_path / 'ntpd.pid'))
    with mock.patch.object(basic.AnsibleModule, 'run_command', run_command), \
            mock.patch.object(status_info, 'service_pid', service_pid), \
            mock.patch.object(status_info, 'ntpd_processes', lambda: {}):
        result, dummy = run_module(status_info, dict(defaults, **args), check_mode=True)
    return result, calls


def test_nts_client_judged_without_autokey_files(tmp_path):
    services = []
    result, calls = run(tmp_path, 'ok', services)
    assert not result.get('failed'), result
    status = result['status']
    [assoc] = status['associations']
    assert (assoc['method'], assoc['state'], assoc['cookies'], assoc['name']) == ('nts', 'nts', 8, 'ns')
    assert assoc['verdict'] == 'NTS with ns (192.0.2.11) ok (8 cookies)'
    assert status['problems'] == [] and status['converged'] and status['synchronised_authenticated']
    assert status['expected_daemon'] == 'ntpsec'
    # the keys directory and the cryptostats FIFO are not read: no Autokey on ntpsec
    assert status['files'] == {} and status['params'] == {}
    assert status['cryptostats'] == 'not read: ntpsec has no Autokey'
    assert services == [['ntpsec']]
    assert calls[1][-2:] == ['-c', 'rv 17767']


def test_failing_nts_is_a_problem(tmp_path):
    result, dummy = run(tmp_path, 'untrusted-ca')
    status = result['status']
    assert status['associations'][0]['state'] == 'failing' and status['converged']
    assert status['problems'][0].startswith('failing: NTS with ns: NTS key establishment failed, no cookies')


def test_the_service_option_names_ntpsec_service(tmp_path):
    services = []
    run(tmp_path, 'ok', services, service='ntpsec-custom')
    assert services == [['ntpsec-custom']]
    services = []
    run(tmp_path, 'ok', services, daemon='ntpd')
    assert services == [['ntp', 'ntpd']]


def test_its_key_file_and_configuration_changed_after_start_need_a_restart(tmp_path):
    (tmp_path / 'ntp.keys').write_text('20 AES128CMAC 00112233445566778899aabbccddeeff\n')
    (tmp_path / 'ntp.conf').write_text('server ns nts\n')
    os.utime(str(tmp_path / 'ntp.keys'), (2000, 2000))
    os.utime(str(tmp_path / 'ntp.conf'), (500, 500))
    with mock.patch.object(status_info, 'read_pid', lambda path: 7):
        real = status_info.running_daemon
        with mock.patch.object(status_info, 'running_daemon',
                               lambda processes, *a: real({7: 1000.0}, *a)):
            result, dummy = run(tmp_path, 'ok')
    status = result['status']
    assert status['daemon_started'] == 1000.0
    assert status['changed_since_start'] == ['ntp.keys'] and status['restart_needed'] is True
    assert '00112233' not in repr(result)


def test_a_readable_configuration_with_the_crypto_password_is_still_named(tmp_path):
    conf = tmp_path / 'ntp.conf'
    conf.write_text('crypto host ns pw ntpsec-secret-pw\nserver ns nts\n')
    conf.chmod(0o644)
    result, dummy = run(tmp_path, 'ok')
    exposed = [p for p in result['status']['problems'] if 'readable by others' in p]
    assert len(exposed) == 1 and exposed[0].startswith('%s holds the crypto password' % conf)
    assert 'ntpsec-secret-pw' not in repr(result)


def read_fixture(name):
    with open(os.path.join(FIXTURES, 'ntpq', name)) as handle:
        return handle.read()


def test_ntpsec_120_prints_no_associd_and_is_asked_one_association_at_a_time(tmp_path):
    # ntpsec 1.2.0 (Debian 11), captured live in molecule migration: `rv N` prints `status=...` without `associd=N`
    system = read_fixture('ntpsec-1.2.0-symmetric-system.txt')
    one_call = read_fixture('ntpsec-1.2.0-symmetric-peers-one-call.txt')
    assert 'associd=' not in system + one_call
    answers = {('rv 0', 'as'): system, ('rv 17767', 'rv 17768'): one_call,
               ('rv 17767',): read_fixture('ntpsec-1.2.0-symmetric-rv-17767.txt'),
               ('rv 17768',): read_fixture('ntpsec-1.2.0-symmetric-rv-17768.txt')}
    calls = []

    def run_command(self, argv, **kw):  # pylint: disable=unused-argument
        commands = tuple(argv[i + 1] for i, arg in enumerate(argv) if arg == '-c')
        calls.append(commands)
        return 0, answers[commands], ''

    (tmp_path / 'ntp.keys').write_text('20 AES128CMAC 00112233445566778899aabbccddeeff\n')
    with mock.patch.object(basic.AnsibleModule, 'run_command', run_command), \
            mock.patch.object(status_info, 'service_pid', lambda module, names: (None, None)), \
            mock.patch.object(status_info, 'ntpd_processes', lambda: {}):
        result, dummy = run_module(status_info, dict(daemon='ntpsec', keys_file=str(tmp_path / 'ntp.keys'),
                                                     config=str(tmp_path / 'ntp.conf'),
                                                     pidfile=str(tmp_path / 'ntpd.pid')), check_mode=True)
    assert not result.get('failed'), result
    assert calls == [('rv 0', 'as'), ('rv 17767', 'rv 17768'), ('rv 17767',), ('rv 17768',)]
    status = result['status']
    assert status['daemon_identity'] == {'kind': 'ntpsec', 'name': 'ntpsec 1.2.0', 'autokey': False}
    assert [(a['assid'], a['address'], a['verdict'], a['synchronised']) for a in status['associations']] == [
        (17767, '10.89.0.18', 'symmetric key 20 (AES128CMAC) ok', True),
        (17768, '10.89.0.19', 'symmetric key 20 (AES128CMAC) ok', False)]
    assert status['problems'] == [] and status['synchronised_authenticated']
