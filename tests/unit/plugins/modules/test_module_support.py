# SPDX-License-Identifier: GPL-3.0-or-later
"""module_support.run shows every AutokeyError (and OSError) as it is and lets programming errors through.
(Here, not under module_utils: module_support needs ansible, which managed hosts' test run lacks.)"""
import pytest

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
