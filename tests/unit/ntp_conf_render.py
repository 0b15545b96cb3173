# SPDX-License-Identifier: GPL-3.0-or-later
"""Render roles/ntpd/templates/ntp.conf.j2 as the template module does (trim_blocks, the collection's
filters under their FQCN)."""

import os

import jinja2
from ansible.plugins.filter.core import comment

from ansible_collections.ntp.autokey.plugins.filter.ntp_conf import FilterModule

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, 'roles', 'ntpd', 'templates', 'ntp.conf.j2')

DEFAULTS = dict(
    ansible_managed='Ansible managed', ntpd_driftfile='/var/lib/ntp/ntp.drift', ntpd_keysdir='/etc/ntp',
    ntpd_statsdir='/var/log/ntpstats', ntpd_cryptostats=True, ntpd_crypto={}, ntpd_ident='', ntpd_servers=[],
    ntpd_broadcast=[], ntpd_broadcastclient=False, ntpd_multicastclient=[], ntpd_local_clock=False,
    ntpd_local_clock_stratum=10, ntpd_local_clock_prefer=False, ntpd_local_clock_poll=6,
    ntpd_restrict=['-4 default kod notrap nomodify nopeer noquery limited', '127.0.0.1'], ntpd_extra_config=[],
    ntpd_keys=[], ntpd_keys_file='/etc/ntp/ntp.keys', ntpd_trustedkeys=[], ntpd_controlkey=0,
    ntpd_symmetric_file='/etc/ntp/symmetric.conf',
)


def _template():
    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters['comment'] = comment
    for name, function in FilterModule().filters().items():
        env.filters['ntp.autokey.' + name] = function
    with open(TEMPLATE) as handle:
        return env.from_string(handle.read())


_TEMPLATE = []


def render(**variables):
    if not _TEMPLATE:
        _TEMPLATE.append(_template())
    return _TEMPLATE[0].render(dict(DEFAULTS, **variables))
