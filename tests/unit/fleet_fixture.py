# SPDX-License-Identifier: GPL-3.0-or-later
"""The ntpq outputs, cryptostats and keysdir names captured from the lab by tests/reference/capture_ntpq.py."""

import json
import os

from helpers import FIXTURES

with open(os.path.join(FIXTURES, 'ntpq', 'fleet.json')) as _handle:
    FLEET = json.load(_handle)


def snapshot(state, host):
    return FLEET[state][host]
