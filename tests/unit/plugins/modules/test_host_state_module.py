# SPDX-License-Identifier: GPL-3.0-or-later
"""host_state module: one call, every difference listed, never changed, never a write."""

import hashlib
import os

from ansible_collections.ntp.autokey.plugins.modules import host_state

from helpers import run_module, snapshot

ME = str(os.getuid())


def args(tmp_path, **kw):
    conf = tmp_path / 'ntp.conf'
    conf.write_bytes(b'server gs autokey\n')
    os.chmod(str(conf), 0o600)
    keys = tmp_path / 'keys'
    keys.mkdir(exist_ok=True)
    os.chmod(str(keys), 0o750)
    result = dict(
        directories=[dict(path=str(keys), owner=ME, group=str(os.getgid()), mode='0750')],
        files=[dict(path=str(conf), sha1=hashlib.sha1(b'server gs autokey\n').hexdigest(), owner=ME,
                    group=str(os.getgid()), mode='0600')],
        version_command=['/bin/echo', 'ntpd 4.2.8p15@1.3728-o'])
    result.update(kw)
    return result


def test_a_host_as_wanted_has_no_differences_and_its_version(tmp_path):
    result, dummy = run_module(host_state, args(tmp_path))
    assert result['changed'] is False
    assert result['differences'] == []
    assert result['version'] == 'ntpd 4.2.8p15@1.3728-o'


def test_each_difference_is_listed_and_nothing_written(tmp_path):
    given = args(tmp_path, version_command=['/nonexistent/ntpd', '--version'])
    os.chmod(str(tmp_path / 'ntp.conf'), 0o644)
    (tmp_path / 'keys').rmdir()
    before = snapshot(str(tmp_path))
    result, dummy = run_module(host_state, given, check_mode=True)
    assert result['changed'] is False
    assert result['differences'] == ['%s is missing' % (tmp_path / 'keys'),
                                     '%s has mode 0644, 0600 wanted' % (tmp_path / 'ntp.conf')]
    assert result['version'] == ''
    assert snapshot(str(tmp_path)) == before


def test_the_template_checksum_never_shows(tmp_path):
    given = args(tmp_path)
    result, raw = run_module(host_state, given)
    assert given['files'][0]['sha1'] not in raw


def test_a_relative_path_or_a_bad_mode_is_refused_by_name(tmp_path):
    given = args(tmp_path, directories=[dict(path=str(tmp_path), mode='755')])
    result, dummy = run_module(host_state, given)
    assert result['failed'] and "a path must be absolute and a mode four octal digits ('755')" in result['msg']
