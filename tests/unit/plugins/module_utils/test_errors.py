# SPDX-License-Identifier: GPL-3.0-or-later
"""Every error the operator is shown derives from one base, which the modules catch."""
import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import (
    certificate, der, envelope, flags, identity, material, ntpq, private_keys)
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError

ERRORS = [certificate.CertificateError, der.DerError, envelope.EnvelopeError, flags.FlagsError,
          identity.IdentityError, material.MaterialError, ntpq.NtpqError, private_keys.KeyFileError]


@pytest.mark.parametrize('error', ERRORS, ids=[e.__name__ for e in ERRORS])
def test_one_base(error):
    assert issubclass(error, AutokeyError) and issubclass(error, ValueError)
