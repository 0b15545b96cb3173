# SPDX-License-Identifier: GPL-3.0-or-later
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'lab'))

import ntplab  # noqa: E402  pylint: disable=wrong-import-position


def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
    if ntplab.available():
        ntplab.reap_stale()
        return
    reason = 'reference lab missing: run lab/rootfs.sh as root (needs %s)' % ntplab.ROOTFS
    if os.environ.get('AUTOKEY_REQUIRE_LAB'):
        raise pytest.UsageError(reason)  # CI must never skip the referee
    for item in items:
        if 'reference' in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def lab():
    instance = ntplab.Lab()
    yield instance
    instance.close()
