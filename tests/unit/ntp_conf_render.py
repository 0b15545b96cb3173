# SPDX-License-Identifier: GPL-3.0-or-later
"""Render the daemon roles' templates as the template module does (trim_blocks, the collection's filters under
their FQCN): roles/ntpd/templates/ntp.conf.j2 (render) and roles/chrony/templates/chrony.conf.j2 (render_chrony)."""

import os

import jinja2
import yaml
from ansible.plugins.filter.core import comment

from ansible_collections.ntp.autokey.plugins.filter.ntp_conf import FilterModule

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, 'roles', 'ntpd', 'templates', 'ntp.conf.j2')
CHRONY_TEMPLATE = os.path.join(ROOT, 'roles', 'chrony', 'templates', 'chrony.conf.j2')
CHRONY_DEFAULTS = dict(
    ansible_managed='Ansible managed', chrony_keys=[], chrony_keys_file='/etc/chrony/chrony.keys',
    chrony_sources_file='/etc/chrony/sources.d/ntp-autokey.sources', chrony_servers=[], chrony_serve=False,
    chrony_allow=[], chrony_local_stratum=0, chrony_extra_config=[], chrony_nts_trusted_certificates='',
    chrony_nts_server_key='', chrony_nts_server_certificate='', chrony_authselectmode='',
)

DEFAULTS = dict(
    ansible_managed='Ansible managed', ntpd_driftfile='/var/lib/ntp/ntp.drift', ntpd_keysdir='/etc/ntp',
    ntpd_statsdir='/var/log/ntpstats', ntpd_cryptostats=True, ntpd_crypto={}, ntpd_ident='', ntpd_servers=[],
    ntpd_broadcast=[], ntpd_broadcastclient=False, ntpd_multicastclient=[], ntpd_local_clock=False,
    ntpd_local_clock_stratum=10, ntpd_local_clock_prefer=False, ntpd_local_clock_poll=6,
    ntpd_restrict=['-4 default kod notrap nomodify nopeer noquery limited', '127.0.0.1'], ntpd_extra_config=[],
    ntpd_keys=[], ntpd_keys_file='/etc/ntp/ntp.keys', ntpd_trustedkeys=[], ntpd_controlkey=0,
    ntpd_symmetric_file='/etc/ntp/symmetric.conf',
)


def _template(path):
    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters['comment'] = comment
    env.filters['dirname'] = os.path.dirname
    for name, function in FilterModule().filters().items():
        env.filters['ntp.autokey.' + name] = function
    with open(path) as handle:
        return env.from_string(handle.read())


_TEMPLATES = {}


def dialect(release):
    """The ntpd role's dialect data for `release` ('4.2.6' or '4.2.8'), as vars/main.yml loads it."""
    with open(os.path.join(ROOT, 'roles', 'ntpd', 'files', 'dialects', release + '.yml')) as handle:
        return yaml.safe_load(handle)


def render(release='4.2.8', **variables):
    """ntp.conf as the ntpd role renders it on a host whose ntpd speaks the dialect of `release`."""
    if TEMPLATE not in _TEMPLATES:
        _TEMPLATES[TEMPLATE] = _template(TEMPLATE)
    return _TEMPLATES[TEMPLATE].render(dict(DEFAULTS, __ntpd_dialect=dialect(release), **variables))


def render_chrony(**variables):
    if CHRONY_TEMPLATE not in _TEMPLATES:
        _TEMPLATES[CHRONY_TEMPLATE] = _template(CHRONY_TEMPLATE)
    return _TEMPLATES[CHRONY_TEMPLATE].render(dict(CHRONY_DEFAULTS, **variables))
