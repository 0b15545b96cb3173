# SPDX-License-Identifier: GPL-3.0-or-later
"""docs/alerts/ntp-autokey.rules.yml checked with promtool (PROMTOOL; lab/setup.sh unpacks Debian's): the rules
parse, and on the metrics fleet_prometheus writes for the lab fleet's real ntpq output (a stale client, a tc-only
client, a group server whose certificate ends soon, the trusted host) each alert fires for exactly the series
its threshold names, with its annotations, and for no other."""

import os
import re
import subprocess

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.ntp.autokey.plugins.filter import reports as filters
from ansible_collections.ntp.autokey.plugins.module_utils.autokey import fleet

from fleet_fixture import FLEET, assess_snapshot, snapshot

RULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'docs', 'alerts',
                     'ntp-autokey.rules.yml')
PROMTOOL = os.environ.get('PROMTOOL', '/var/cache/ntp-autokey/promtool/usr/bin/promtool')
MISSING = None if os.access(PROMTOOL, os.X_OK) else (
    "promtool not found at %s (PROMTOOL): lab/setup.sh unpacks it from Debian's prometheus package" % PROMTOOL)
pytestmark = pytest.mark.skipif(bool(MISSING) and not os.environ.get('AUTOKEY_REQUIRE_LAB'), reason=MISSING or '')
EVAL = 20 * 60  # promtool's time of the check, in seconds after its time 0
# each rule's threshold, read in Python: promtool must agree with it series by series
THRESHOLDS = {
    'NtpAutokeyCertificateExpiresSoon': ('ntp_autokey_certificate_expiry_timestamp_seconds',
                                         lambda value: value - EVAL < 30 * 86400),
    'NtpAutokeyAssociationNotVerified': ('ntp_autokey_association_ok', lambda value: value == 0),
    'NtpAutokeyStaleTrust': ('ntp_autokey_association_stale_trust', lambda value: value == 1),
    'NtpAutokeyNoAuthenticatedSource': ('ntp_autokey_host_synchronised_authenticated', lambda value: value == 0),
    'NtpAutokeyVerificationOld': ('ntp_autokey_verify_timestamp_seconds', lambda value: EVAL - value > 2 * 86400),
}


def promtool(*args):
    if MISSING:
        pytest.fail(MISSING)
    return subprocess.run([PROMTOOL] + list(args), capture_output=True, text=True, timeout=120, check=False)


def metrics(state, host, expire_days=None):
    """The Prometheus text of `host` in the captured fleet `state`, written at promtool's time 0; with
    expire_days, the host's own Autokey certificate ends that many days after it."""
    results = dict((name, {'status': assess_snapshot(snapshot(state, name), name)}) for name in FLEET[state])
    report = fleet.report(results, sorted(FLEET[state]), ['th'])
    if expire_days is not None:
        subject = report['own_certificates'][host][0]
        report['own_certificates'][host] = (subject, '197001%02d0000' % (1 + expire_days))
    return filters.fleet_prometheus(report, host, now=0)


def render(template, labels):
    return re.sub(r'\{\{ \$labels\.(\w+) \}\}', lambda match: labels[match.group(1)], template)


def test_the_rules_parse():
    checked = promtool('check', 'rules', RULES)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert 'SUCCESS: %d rules found' % len(THRESHOLDS) in checked.stdout


def test_each_alert_fires_for_exactly_the_faulty_series(tmp_path):
    text = ''.join([metrics('stale', 'cl'), metrics('settled', 'clnoident'), metrics('settled', 'gs', expire_days=10),
                    metrics('settled', 'th')])
    samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
    with open(RULES) as handle:
        rules = dict((rule['alert'], rule) for rule in yaml.safe_load(handle)['groups'][0]['rules'])
    assert sorted(rules) == sorted(THRESHOLDS)
    tests, firing = [], {}
    for name, (metric, fires) in THRESHOLDS.items():
        exp = []
        for sample in samples:
            if sample.name == metric and fires(sample.value):
                labels = dict(sample.labels, **rules[name]['labels'])
                exp.append(dict(exp_labels=labels, exp_annotations=dict(
                    (key, render(value, labels)) for key, value in rules[name]['annotations'].items())))
        firing[name] = sorted(set(alert['exp_labels']['host'] for alert in exp))
        tests.append(dict(eval_time='%ds' % EVAL, alertname=name, exp_alerts=exp))
    # the faults of this fleet, named: the expectations above are not empty by accident
    assert firing == {'NtpAutokeyCertificateExpiresSoon': ['gs'], 'NtpAutokeyAssociationNotVerified': ['cl', 'clnoident'],
                      'NtpAutokeyStaleTrust': ['cl'], 'NtpAutokeyNoAuthenticatedSource': ['clnoident'],
                      'NtpAutokeyVerificationOld': []}
    inputs = [dict(series='%s{%s}' % (s.name, ','.join('%s="%s"' % kv for kv in sorted(s.labels.items()))),
                   values='%sx30' % repr(s.value)) for s in samples]
    path = tmp_path / 'test.yml'
    path.write_text(yaml.safe_dump(dict(rule_files=[RULES], evaluation_interval='1m',
                                        tests=[dict(interval='1m', input_series=inputs, alert_rule_test=tests)])))
    ran = promtool('test', 'rules', str(path))
    assert ran.returncode == 0 and 'SUCCESS' in ran.stdout, ran.stdout + ran.stderr
