# SPDX-License-Identifier: GPL-3.0-or-later
"""Every error the operator is shown derives from one base, which the modules catch."""
import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import (
    certificate, der, envelope, flags, identity, material, ntpq, private_keys)
from ansible_collections.ntp.autokey.plugins.module_utils.autokey import module_support
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError

ERRORS = [certificate.CertificateError, der.DerError, envelope.EnvelopeError, flags.FlagsError,
          identity.IdentityError, material.MaterialError, ntpq.NtpqError, private_keys.KeyFileError]


@pytest.mark.parametrize('error', ERRORS, ids=[e.__name__ for e in ERRORS])
def test_one_base(error):
    assert issubclass(error, AutokeyError) and issubclass(error, ValueError)


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
