# SPDX-License-Identifier: GPL-3.0-or-later
"""module_support.run shows every AutokeyError (and OSError) as it is and lets programming errors through;
require_cryptography refuses a cryptography older than the documented minimum with the fix.
(Here, not under module_utils: module_support needs ansible, which managed hosts' test run lacks.)"""
import glob
import os

import pytest

from conftest import ROOT
from ansible_collections.ntp.autokey.plugins.module_utils.autokey import (
    certificate, der, envelope, flags, identity, material, module_support, ntpq, private_keys)

ERRORS = [certificate.CertificateError, der.DerError, envelope.EnvelopeError, flags.FlagsError,
          identity.IdentityError, material.MaterialError, ntpq.NtpqError, private_keys.KeyFileError]


class Failed(Exception):
    pass


class Module:
    check_mode = False
    _diff = False

    def fail_json(self, msg):
        raise Failed(msg)


@pytest.mark.parametrize('error', ERRORS + [OSError], ids=[e.__name__ for e in ERRORS + [OSError]])
def test_run_shows_every_error_as_it_is(error):
    def build():
        raise error('the file and the fix')
    with pytest.raises(Failed, match='^the file and the fix$'):
        module_support.run(Module(), build)


def test_run_lets_programming_errors_through():
    def build():
        raise KeyError('bug')
    with pytest.raises(KeyError):
        module_support.run(Module(), build)


class FailedJson(Exception):
    pass


class CheckedModule:
    def fail_json(self, msg, **kwargs):
        raise FailedJson(msg)


@pytest.mark.parametrize('version', ['3.3.2', '3.4', '41.0.7', '43.0.0.dev1'])
def test_require_cryptography_accepts_the_minimum_and_newer(monkeypatch, version):
    import cryptography
    monkeypatch.setattr(cryptography, '__version__', version)
    module_support.require_cryptography(CheckedModule())


@pytest.mark.parametrize('version', ['3.3.1', '3.3', '2.8', '3.2.1', 'unknown'])
def test_require_cryptography_refuses_older_versions_with_the_fix(monkeypatch, version):
    import cryptography
    monkeypatch.setattr(cryptography, '__version__', version)
    with pytest.raises(FailedJson) as failed:
        module_support.require_cryptography(CheckedModule())
    message = str(failed.value)
    assert 'cryptography %s is installed' % version in message
    assert 'needs cryptography 3.3.2 or newer' in message
    assert 'python3-cryptography' in message and "pip install 'cryptography>=3.3.2'" in message


def test_minimum_is_the_documented_one():
    """README, module docs and the check name the same minimum."""
    minimum = module_support.MIN_CRYPTOGRAPHY_VERSION
    with open(os.path.join(ROOT, 'README.md')) as handle:
        assert '`cryptography` %s or newer' % minimum in handle.read()
    for path in glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py')):
        with open(path) as handle:
            text = handle.read()
        if 'require_cryptography(' in text:
            assert '  - cryptography >= %s ' % minimum in text, path


@pytest.mark.parametrize('version', [(3, 9, 2), (3, 11, 7), (3, 13, 0)])
def test_require_python_accepts_the_minimum_and_newer(monkeypatch, version):
    monkeypatch.setattr(module_support.sys, 'version_info', version)
    module_support.require_python(CheckedModule())
    module_support.require_cryptography(CheckedModule())


@pytest.mark.parametrize('version', [(3, 8, 10), (3, 6, 8), (2, 7, 5)])
def test_require_python_refuses_older_versions_with_the_fix(monkeypatch, version):
    monkeypatch.setattr(module_support.sys, 'version_info', version)
    for check in (module_support.require_python, module_support.require_cryptography):
        with pytest.raises(FailedJson) as failed:
            check(CheckedModule())
        message = str(failed.value)
        assert message.startswith('Python %d.%d runs this module' % version[:2])
        assert 'need Python 3.9 or newer' in message and 'ansible_python_interpreter' in message


def test_every_module_checks_its_python():
    for path in glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py')):
        with open(path) as handle:
            text = handle.read()
        assert 'require_python(module)' in text or 'require_cryptography(module)' in text, path


def test_python_minimum_is_the_documented_one():
    with open(os.path.join(ROOT, 'README.md')) as handle:
        assert 'Python %d.%d or newer' % module_support.MIN_PYTHON in handle.read()
