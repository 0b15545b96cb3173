# SPDX-License-Identifier: GPL-3.0-or-later
"""host_state: every difference found, every doubt a difference, nothing written."""

import hashlib
import io
import os

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import host_state

ME = str(os.getuid())
MY_GROUP = str(os.getgid())


def make(path, data=b'x\n', mode=0o600):
    path.write_bytes(data)
    os.chmod(str(path), mode)
    return str(path)


def test_directory_as_wanted_and_each_difference(tmp_path):
    path = tmp_path / 'keys'
    path.mkdir()
    os.chmod(str(path), 0o750)
    assert host_state.directory_differences(str(path), ME, MY_GROUP, '0750') == []
    assert host_state.directory_differences(str(path), ME, MY_GROUP, '0700') == [
        '%s has mode 0750, 0700 wanted' % path]
    assert host_state.directory_differences(str(tmp_path / 'none'), ME, MY_GROUP, '0750') == [
        '%s is missing' % (tmp_path / 'none')]
    other = str(int(ME) + 1)
    assert host_state.directory_differences(str(path), other, MY_GROUP, '0750') == [
        '%s belongs to %s:%s, %s:%s wanted' % (path, ME, MY_GROUP, other, MY_GROUP)]
    assert host_state.directory_differences(make(tmp_path / 'f'), ME, MY_GROUP, '0600') == [
        '%s is not a directory' % (tmp_path / 'f')]


def test_unknown_owner_is_a_doubt(tmp_path):
    found = host_state.directory_differences(str(tmp_path), 'no-such-user-here', 'root', '0755')
    assert found and 'cannot tell' in found[0]


def test_file_content_and_attributes(tmp_path):
    path = make(tmp_path / 'ntp.conf', b'server gs\n')
    sha1 = hashlib.sha1(b'server gs\n').hexdigest()
    assert host_state.file_differences(path, sha1, ME, MY_GROUP, '0600') == []
    assert host_state.file_differences(path, sha1.upper(), ME, MY_GROUP, '0600') == []
    assert host_state.file_differences(path, hashlib.sha1(b'server th\n').hexdigest(), ME, MY_GROUP, '0600') == [
        '%s differs from its template' % path]
    assert host_state.file_differences(path, sha1, ME, MY_GROUP, '0640') == ['%s has mode 0600, 0640 wanted' % path]


def test_a_link_where_a_file_belongs_is_a_difference(tmp_path):
    target = make(tmp_path / 'real', b'server gs\n')
    link = tmp_path / 'ntp.conf'
    link.symlink_to(target)
    assert host_state.file_differences(str(link), hashlib.sha1(b'server gs\n').hexdigest(), ME, MY_GROUP,
                                       '0600') == ['%s is not a regular file' % link]


def test_oversized_and_unreadable_files_are_doubts(tmp_path, monkeypatch):
    path = make(tmp_path / 'big', b'x' * 64)
    monkeypatch.setattr(host_state, 'MAX_READ', 16)
    found = host_state.file_differences(path, hashlib.sha1(b'x' * 64).hexdigest(), ME, MY_GROUP, '0600')
    assert found == ['%s: cannot tell its content (larger than 16 bytes)' % path]
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo, 0o600)
    assert host_state.line_differences(fifo, 'x', ME, MY_GROUP, '0600') == ['%s is not a regular file' % fifo]


def test_line(tmp_path):
    path = make(tmp_path / 'usr.sbin.ntpd', b'# local\r\n/var/log/ntpstats/cryptostats* rwl,\r\n', 0o644)
    line = '/var/log/ntpstats/cryptostats* rwl,'
    assert host_state.line_differences(path, line, ME, MY_GROUP, '0644') == []
    assert host_state.line_differences(path, line + ' ', ME, MY_GROUP, '0644') == [
        '%s lacks the line %s ' % (path, line)]
    assert host_state.line_differences(str(tmp_path / 'none'), line, ME, MY_GROUP, '0644') == [
        '%s is missing' % (tmp_path / 'none')]


def lineinfile_finds(data, line):
    """How ansible.builtin.lineinfile (line only, no regexp) decides that a file already holds a line."""
    return any(row.rstrip(b'\r\n') == line.encode('utf-8') for row in io.BytesIO(data).readlines())


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200) | st.lists(st.sampled_from(
    [b'a', b'b rwl,', b'\n', b'\r', b'\x0c', b'\x85', b'\xe2\x80\xa8', b' ', b'#'])).map(b''.join),
    line=st.sampled_from(['a', 'b rwl,', 'a b', '']))
def test_line_agrees_with_lineinfile(tmp_path_factory, data, line):
    path = make(tmp_path_factory.mktemp('line') / 'f', data, 0o644)
    found = host_state.line_differences(path, line, ME, MY_GROUP, '0644')
    assert (found == []) == lineinfile_finds(data, line)


def fake(results):
    calls = []

    def run(argv):
        calls.append(argv)
        return results.get(argv[0], (127, '', 'not found'))
    return run, calls


def test_packages_by_dpkg_and_rpm():
    run, calls = fake({'dpkg-query': (1, 'ntp ii \npython3-cryptography un \n', '')})
    assert host_state.package_differences('apt', ['ntp', 'python3-cryptography'], run) == [
        'package python3-cryptography is not installed']
    assert calls[0][:2] == ['dpkg-query', '-W']
    run, calls = fake({'rpm': (0, 'ntp\n', '')})
    assert host_state.package_differences('yum', ['ntp'], run) == []
    assert host_state.package_differences('pacman', ['ntp'], run) == [
        'cannot tell whether ntp are installed (package manager pacman)']
    assert host_state.package_differences('apt', ['-oDpkg::x=y'], run)[0].startswith('cannot tell')
    run, calls = fake({})  # dpkg-query missing: nothing is installed as far as anyone can tell
    assert host_state.package_differences('apt', ['ntp'], run) == ['package ntp is not installed']


@settings(max_examples=300, deadline=None)
@given(out=st.text(max_size=300))
def test_any_dpkg_output_is_read_without_error(out):
    run, dummy = fake({'dpkg-query': (0, out, '')})
    found = host_state.package_differences('apt', ['ntp'], run)
    installed = any(row.split() in (['ntp', 'ii'], ['ntp', 'hi']) or row.split()[:1] == ['ntp:amd64']
                    and row.split()[1:] in (['ii'], ['hi']) for row in out.splitlines())
    assert (found == []) == installed


def test_service_under_systemd():
    run, calls = fake({'systemctl': (0, 'enabled\n', '')})
    assert host_state.service_differences('systemd', 'ntp', run) == []
    assert host_state.service_differences('sysvinit', 'ntp', run, systemd_booted=True) == []
    run, calls = fake({'systemctl': (3, 'disabled\n', '')})
    assert host_state.service_differences('systemd', 'ntp', run) == [
        'service ntp is not running', 'service ntp is not enabled (systemctl is-enabled: disabled)']


def test_service_under_sysv(monkeypatch):
    monkeypatch.setattr(host_state.os.path, 'isfile', lambda path: path == '/etc/init.d/ntp')
    monkeypatch.setattr(host_state.glob, 'glob', lambda pattern: ['/etc/rc2.d/S01ntp'] if pattern.endswith('ntp') else [])
    run, calls = fake({'/etc/init.d/ntp': (0, '', '')})
    # podman-init: process 1 of a container (the lab's), where ansible.builtin.service uses the init script too
    for manager in ('sysvinit', 'podman-init'):
        assert host_state.service_differences(manager, 'ntp', run, systemd_booted=False) == []
    assert calls[0] == ['/etc/init.d/ntp', 'status']
    run, calls = fake({'/etc/init.d/ntp': (3, '', '')})
    assert host_state.service_differences('sysvinit', 'ntp', run, systemd_booted=False) == [
        'service ntp is not running']
    monkeypatch.setattr(host_state.glob, 'glob', lambda pattern: [])
    assert host_state.service_differences('sysvinit', 'ntp', run, False)[-1].startswith('service ntp is not enabled')
    assert host_state.service_differences('sysvinit', 'chrony', run, False) == [
        'cannot tell the state of service chrony (service manager sysvinit, no /etc/init.d/chrony)']


@pytest.mark.parametrize('manager, name', [('openrc', 'ntp'), ('systemd', '../ntp'), ('systemd', '-H host')])
def test_unknown_service_manager_or_name_is_a_doubt(manager, name):
    run, calls = fake({})
    assert host_state.service_differences(manager, name, run, systemd_booted=False)[0].startswith('cannot tell')
    assert calls == []


@pytest.mark.parametrize('owner, group', [('\u00b2', 'root'), ('root', '\u0663'), ('ro\0ot', 'root'),
                                          ('root', 'gr\udc80oup'), ('99999999999', 'root')])
def test_owner_or_group_that_is_no_name_is_a_doubt(tmp_path, owner, group):
    found = host_state.directory_differences(str(tmp_path), owner, group, '0755')
    assert len(found) == 1 and 'cannot tell whether it belongs to' in found[0]


@pytest.mark.parametrize('path', ['/etc/ntp\0x', '/etc/n\0tp/ntp.conf'])
def test_a_path_that_no_file_can_have_is_a_doubt(path):
    for found in (host_state.directory_differences(path, 'root', 'root', '0755'),
                  host_state.file_differences(path, '00', 'root', 'root', '0600'),
                  host_state.line_differences(path, 'x', 'root', 'root', '0644')):
        assert found == ['%r: cannot tell its state (not a file name: a NUL byte or text that is not UTF-8)' % path]


def test_a_line_that_is_not_utf8_is_a_doubt(tmp_path):
    path = tmp_path / 'apparmor'
    path.write_text('x\n')
    os.chmod(str(path), 0o644)
    uid, gid = os.getuid(), os.getgid()
    found = host_state.line_differences(str(path), 'cryptostats\udc80 rwl,', str(uid), str(gid), '0644')
    assert len(found) == 1 and 'cannot tell whether it holds the line' in found[0]
