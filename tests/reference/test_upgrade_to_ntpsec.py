# SPDX-License-Identifier: GPL-3.0-or-later
"""The upgrade to Debian 12 run on an Autokey group server of a live fleet (upgrade_lab.py): the package ntp
becomes ntpsec, which has no Autokey. The judge must say so at once, with the true cause, for the host and for
its client, and name the world-readable copy of the crypto password the upgrade makes."""

import os
import stat

import pytest

import ntplab
import upgrade_lab
from ansible_collections.ntp.autokey.plugins.module_utils.autokey import fleet, status
from ansible_collections.ntp.autokey.plugins.modules.status_info import exposed_passwords, resolved

pytestmark = pytest.mark.skipif(bool(upgrade_lab.available()), reason=upgrade_lab.available() or 'ready')


def judge(snap, **kw):
    return status.assess(snap['system'], snap['peers'], snap['cryptostats'], snap['files'], params=snap['params'], **kw)


@pytest.fixture(scope='module')
def upgraded(tmp_path_factory):
    log = []
    root = upgrade_lab.copy_root(str(tmp_path_factory.mktemp('upgrade')))
    lab = ntplab.Lab()
    try:
        result = upgrade_lab.run(lab, root, log)
        result['log'] = log
        yield result
    finally:
        lab.close()
        upgrade_lab.remove_root(root)
        print('\nupgrade of gs to Debian 12:\n  ' + '\n  '.join(log))


def test_the_upgrade_replaces_ntpd_by_ntpsec(upgraded):
    root = upgraded['root']
    assert ntplab.Build('after', root, '/usr').version().startswith('ntpd ntpsec-')
    before = judge(upgraded['before']['gs'])
    assert before['daemon_identity']['kind'] == 'ntpd' and before['offers'] == ['iff']


def test_the_copied_configuration_exposes_the_password_and_is_named(upgraded):
    root = upgraded['root']
    copied = os.path.join(root, upgrade_lab.NTPSEC_CONFIG.lstrip('/'))
    mode = stat.S_IMODE(os.stat(copied).st_mode)
    with open(copied) as handle:
        assert 'pw %s' % upgrade_lab.GS_PASSWORD in handle.read()  # the package copied the crypto line as it was
    findings = exposed_passwords([os.path.join(root, 'etc/ntp.conf'), copied])
    assert findings == ['%s holds the crypto password and is readable by others (mode %04o): make it 0600 or remove '
                        'the crypto line, and treat the password as exposed (a new autokey_password, which renews '
                        'the host key)' % (copied, mode)]
    assert mode & 0o004, 'ntpsec\'s package made %s mode %04o' % (copied, mode)
    assert upgrade_lab.GS_PASSWORD not in findings[0]


def test_the_upgraded_host_is_judged_replaced_at_once(upgraded):
    gs = judge(upgraded['after']['gs'])
    assert gs['daemon_identity']['kind'] == 'ntpsec', gs['version']
    assert gs['converged']
    [problem] = gs['problems']
    assert problem.startswith('%s replaced ntpd: Autokey is gone' % gs['daemon_identity']['name'])
    assert fleet.replaced({'gs': gs}) == {'gs': 'gs (%s)' % gs['daemon_identity']['name']}


def test_its_client_is_blocked_at_once_with_the_cause(upgraded):
    gs = judge(upgraded['after']['gs'])
    address = upgraded['hosts']['gs'].address
    replaced = resolved({address: 'gs (%s)' % gs['daemon_identity']['name']})
    cl = judge(upgraded['after']['cl'], replaced=replaced)
    [assoc] = [a for a in cl['associations'] if a['state'] != 'none']
    assert assoc['state'] == 'blocked' and cl['converged']
    assert assoc['verdict'] == 'blocked: its server gs (%s) has no Autokey (it replaced ntpd there)' % (
        gs['daemon_identity']['name'])
    alone = judge(upgraded['after']['cl'])
    print('\ncl right after the upgrade, judged without the fleet: %s (%s)' % (
        [a['verdict'] for a in alone['associations']], ', '.join(alone['problems']) or 'no problem'))
