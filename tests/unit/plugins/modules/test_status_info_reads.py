# SPDX-License-Identifier: GPL-3.0-or-later
"""status_info reads what a daemon writes as the key modules read key files: regular files only, no link followed
out of the keys directory (none at all outside it), a bounded size, and nothing of a refused file in its result.
The statistics directory belongs to the ntp account, so cryptostats is the daemon account's to replace; a FIFO
there must not hold a root run, nor a link to /dev/zero fill its memory."""
import os
import signal
import stat
from unittest import mock

import pytest
from ansible.module_utils import basic
from hypothesis import given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import status
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDirError, read_tail
from ansible_collections.ntp.autokey.plugins.modules import status_info
from fleet_fixture import snapshot, write_host_files
from helpers import run_module

SECRET_LINE = '# root:$6$not-for-the-result$.x'


@pytest.fixture(autouse=True)
def deadline():
    """A read that blocks (a FIFO opened for reading) fails the test instead of hanging it."""
    def expired(signum, frame):  # pylint: disable=unused-argument
        raise AssertionError('a read blocked for 20 s')
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def lab(tmp_path, host='cl'):
    """cl's keys directory and cryptostats from the fleet fixture, under tmp_path."""
    snap = snapshot('settled', host)
    stats, keys = write_host_files(snap, tmp_path)
    return snap, stats, keys


def run(snap, **args):
    def run_command(self, argv, **kw):  # pylint: disable=unused-argument
        commands = [argv[i + 1] for i, arg in enumerate(argv) if arg == '-c']
        return 0, snap['system'] if commands == ['rv 0', 'as'] else snap['peers'], ''
    with mock.patch.object(basic.AnsibleModule, 'run_command', run_command):
        result, dummy = run_module(status_info, args, check_mode=True)
    return result


def params_target(keys):
    return keys / os.readlink(str(keys / 'ntpkey_iffpar_lab'))


def test_a_fifo_at_cryptostats_is_named_not_waited_for(tmp_path):
    snap, stats, keys = lab(tmp_path)
    stats.unlink()
    os.mkfifo(str(stats))
    result = run(snap, cryptostats=str(stats), keysdir=str(keys))
    assert not result.get('failed'), result.get('msg')
    assert result['status']['cryptostats'] == 'not read: %s is a FIFO, not a file the daemon writes: not read' % stats


@pytest.mark.parametrize('kind', ['fifo', 'link to /dev/zero', 'link out of the keys directory'])
def test_params_that_are_not_a_file_of_the_keys_directory_are_refused_by_name(tmp_path, kind):
    snap, stats, keys = lab(tmp_path)
    link = keys / 'ntpkey_iffpar_lab'
    if kind == 'fifo':
        target = params_target(keys)
        target.unlink()
        os.mkfifo(str(target))
        expected = 'is a FIFO'
    else:
        outside = tmp_path / 'outside'
        outside.write_text(SECRET_LINE + '\n')
        link.unlink()
        os.symlink('/dev/zero' if kind == 'link to /dev/zero' else str(outside), str(link))
        expected = 'is a link to %r' % os.readlink(str(link))
    result = run(snap, cryptostats=str(stats), keysdir=str(keys))
    assert not result.get('failed'), result.get('msg')
    facts = result['status']['params']['ntpkey_iffpar_lab']
    assert facts['layout'] == 'unreadable' and facts['problem'].startswith('not read: ') and expected in facts['problem']
    assert 'not-for-the-result' not in repr(result)


def test_a_link_to_dev_zero_at_cryptostats_or_pidfile_is_not_read(tmp_path):
    snap, stats, keys = lab(tmp_path)
    stats.unlink()
    os.symlink('/dev/zero', str(stats))
    pidfile = tmp_path / 'ntpd.pid'
    os.symlink('/dev/zero', str(pidfile))
    result = run(snap, cryptostats=str(stats), keysdir=str(keys), pidfile=str(pidfile))
    assert not result.get('failed'), result.get('msg')
    assert result['status']['cryptostats'] == 'not read: %s is a link, which is not followed here: not read' % stats
    assert status_info.read_pid(str(pidfile)) is None


def test_a_fifo_or_device_pidfile_gives_no_pid(tmp_path):
    fifo = tmp_path / 'fifo.pid'
    os.mkfifo(str(fifo))
    assert status_info.read_pid(str(fifo)) is None
    device = tmp_path / 'zero.pid'
    try:
        os.mknod(str(device), stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero's numbers
    except PermissionError:
        pytest.skip('making a device node needs root')
    assert status_info.read_pid(str(device)) is None
    with pytest.raises(KeysDirError, match='is a character device, not a file the daemon writes'):
        read_tail(str(device), 64)


@pytest.mark.parametrize('text, pid', [('1234\n', 1234), ('\u00b2\n', None), ('\u0663\u0663', None), ('12 34', None),
                                       ('', None), ('99999999999', None), ('-5', None)])
def test_pidfile_holds_ascii_digits(tmp_path, text, pid):
    pidfile = tmp_path / 'ntpd.pid'
    pidfile.write_text(text, encoding='utf-8')
    assert status_info.read_pid(str(pidfile)) == pid


def test_a_large_cryptostats_is_read_from_its_end_only(tmp_path):
    stats = tmp_path / 'cryptostats'
    with open(str(stats), 'wb') as handle:
        handle.write(b'x' * (1 << 20) + b'\n61381 1.5 0.0.0.0 setup 0x29c0021 host cl\n')
    text, problem = status.read_log(str(stats), limit=4096)
    assert problem is None and text == '61381 1.5 0.0.0.0 setup 0x29c0021 host cl\n'


def test_a_missing_file_is_no_problem(tmp_path):
    assert status.read_log(str(tmp_path / 'missing')) == (None, None)
    assert status.read_params_file(str(tmp_path), 'ntpkey_iffpar_lab') == (None, None)


def test_a_hard_linked_cryptostats_is_read(tmp_path):
    """ntpd's filegen links cryptostats to the day's file (two names): that is what it writes."""
    day = tmp_path / 'cryptostats.20261207'
    day.write_text('61381 1.5 0.0.0.0 setup 0x29c0021 host cl\n')
    os.link(str(day), str(tmp_path / 'cryptostats'))
    assert status.read_log(str(tmp_path / 'cryptostats'))[0].startswith('61381 ')


def test_a_params_file_with_a_second_name_is_refused(tmp_path):
    """A params file is one the keys modules or ntp-keygen wrote: one name. Another may lie anywhere."""
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.write_text(SECRET_LINE + '\n')
    keys = tmp_path / 'keys'
    keys.mkdir()
    os.link(str(elsewhere), str(keys / 'ntpkey_iffpar_lab.3989000000'))
    os.symlink('ntpkey_iffpar_lab.3989000000', str(keys / 'ntpkey_iffpar_lab'))
    text, problem = status.read_params_file(str(keys), 'ntpkey_iffpar_lab')
    assert text is None and 'has 2 names (hard links)' in problem and 'not-for-the-result' not in problem


def test_an_invalid_filestamp_is_named_without_the_line(tmp_path):
    keys = tmp_path / 'keys'
    keys.mkdir()
    (keys / 'ntpkey_iffpar_lab').write_text(SECRET_LINE + '\n-----BEGIN X-----\n')
    text, problem = status.read_params_file(str(keys), 'ntpkey_iffpar_lab')
    facts = status.read_params('ntpkey_iffpar_lab', text)
    assert problem is None and 'invalid filestamp' in facts['problem'] and 'not-for-the-result' not in facts['problem']


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_any_bytes_in_a_log_give_text(tmp_path_factory, data):
    path = tmp_path_factory.mktemp('log') / 'cryptostats'
    path.write_bytes(data)
    text, problem = status.read_log(str(path), limit=1024)
    assert problem is None and isinstance(text, str) and len(text) <= 1024


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=256))
def test_any_bytes_in_a_pidfile_give_a_pid_or_none(tmp_path_factory, data):
    path = tmp_path_factory.mktemp('pid') / 'ntpd.pid'
    path.write_bytes(data)
    pid = status_info.read_pid(str(path))
    assert pid is None or (isinstance(pid, int) and 0 <= pid < 10 ** 10)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_any_bytes_in_a_params_file_give_facts_or_a_problem(tmp_path_factory, data):
    keys = tmp_path_factory.mktemp('keys')
    (keys / 'ntpkey_iffpar_lab').write_bytes(data)
    text, problem = status.read_params_file(str(keys), 'ntpkey_iffpar_lab')
    assert problem is None
    try:
        facts = status.read_params('ntpkey_iffpar_lab', text)
    except AutokeyError:
        raise AssertionError('read_params raised instead of naming the problem')
    assert facts['layout'] in ('verifiable', 'stock', 'server key', 'unreadable')
