# SPDX-License-Identifier: GPL-3.0-or-later
"""verify.yml's reports (JSON, JUnit XML, Prometheus text) from fleet_report on the lab fleet's real ntpq output:
read back with prometheus_client's parser and junitparser, and held to the fleet report they come from."""

import json
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings, strategies as st
from junitparser import JUnitXml
from prometheus_client.parser import text_string_to_metric_families

from ansible.errors import AnsibleFilterError
from ansible_collections.ntp.autokey.plugins.filter import reports as filters
from ansible_collections.ntp.autokey.plugins.module_utils.autokey import fleet
from ansible_collections.ntp.autokey.plugins.plugin_utils import reports

from fleet_fixture import FLEET, assess_snapshot, snapshot

NOW = 1796000000  # 2026-11-30


def fleet_report(state='settled', hosts=None):
    hosts = hosts or sorted(FLEET[state])
    results = dict((name, {'status': assess_snapshot(snapshot(state, name), name)}) for name in FLEET[state])
    return fleet.report(results, hosts, ['th']), hosts


def samples(text):
    """{(metric, frozenset(labels)): value} of a Prometheus text."""
    found = {}
    for family in text_string_to_metric_families(text):
        assert family.type == 'gauge' and family.documentation
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in found, 'duplicate series %s' % (key,)
            found[key] = sample.value
    return found


def value(found, name, **labels):
    matches = [v for (n, ls), v in found.items() if n == name and all(dict(ls).get(k) == w for k, w in labels.items())]
    assert len(matches) == 1, (name, labels, matches)
    return matches[0]


@pytest.mark.parametrize('state', ['settled', 'stale'])
def test_json_says_what_the_fleet_report_says(state):
    report, hosts = fleet_report(state)
    document = json.loads(filters.fleet_json(report, hosts, now=NOW))
    assert document['generated'] == '2026-11-30T00:53:20Z'
    assert document['ok'] is report['ok'] is False
    assert sorted(document['hosts']) == hosts
    for host in hosts:
        summary = document['hosts'][host]
        assert summary['ok'] is (host not in report['problems'])
        placed = summary['causes'] + [c for a in document['associations'] if a['host'] == host for c in a['causes']]
        assert sorted(placed) == sorted(report['problems'].get(host, []))  # every finding once, none invented
    # one record per row of verify.yml's table, in its order
    assert [(a['host'], a['verdict']) for a in document['associations']] == [
        (r['host'], r['verdict']) for r in report['records']]
    rows = report['lines'][1:1 + len(report['records'])]
    assert [row.split()[0] for row in rows] == [a['host'] for a in document['associations']]


def test_findings_go_to_the_association_they_name():
    report, hosts = fleet_report('settled')
    document = json.loads(filters.fleet_json(report, hosts, now=NOW))
    by_host = dict((a['host'], a) for a in document['associations'] if a['method'] == 'autokey')
    assert by_host['cl']['ok'] and by_host['cl']['authenticated'] and by_host['cl']['causes'] == []
    assert not by_host['clnoident']['ok'] and not by_host['clnoident']['authenticated']
    assert 'tc-only' in by_host['clnoident']['causes'][0]
    assert 'bad_filestamp' in by_host['clbadparams']['causes'][0]
    assert document['hosts']['clbadparams']['causes'] == []


def test_stale_trust_is_its_own_metric():
    report, _hosts = fleet_report('stale')
    found = samples(filters.fleet_prometheus(report, 'cl', now=NOW))
    assert value(found, 'ntp_autokey_association_stale_trust', host='cl', method='autokey') == 1
    assert value(found, 'ntp_autokey_association_ok', host='cl', method='autokey') == 0
    assert value(found, 'ntp_autokey_host_ok', host='cl') == 0
    assert value(found, 'ntp_autokey_host_findings', host='cl') == len(report['problems']['cl'])
    settled, _hosts = fleet_report('settled')
    found = samples(filters.fleet_prometheus(settled, 'cl', now=NOW))
    assert value(found, 'ntp_autokey_association_stale_trust', host='cl', method='autokey') == 0
    assert value(found, 'ntp_autokey_association_ok', host='cl', method='autokey') == 1
    assert value(found, 'ntp_autokey_association_authenticated', host='cl', method='autokey') == 1
    assert value(found, 'ntp_autokey_host_synchronised_authenticated', host='cl') == 1
    assert value(found, 'ntp_autokey_verify_timestamp_seconds', host='cl') == NOW


def test_certificate_expiry_from_ntpq_and_from_community_crypto():
    report, _hosts = fleet_report('settled')
    record = next(r for r in report['records'] if r['host'] == 'cl' and r['method'] == 'autokey')
    found = samples(filters.fleet_prometheus(report, 'cl', {'cl': {'subject': 'cl.lab', 'not_after': '20271201120000Z',
                                                                   'problems': []}}, now=NOW))
    assert value(found, 'ntp_autokey_certificate_expiry_timestamp_seconds', kind='nts_server') == 1827662400
    assert value(found, 'ntp_autokey_certificate_expiry_timestamp_seconds', kind='autokey_trust_root') == \
        reports.expiry_seconds(record['trust_root_until'])
    own = report['own_certificates']['cl']
    assert value(found, 'ntp_autokey_certificate_expiry_timestamp_seconds', kind='autokey_host',
                 subject=own[0]) == reports.expiry_seconds(own[1])
    assert reports.expiry_seconds('202712062132') == 1828128720
    for junk in ('', None, '2027120621', '20271306213200Z', 'until', '202712062132 '):
        assert reports.expiry_seconds(junk) is None


def test_an_nts_certificate_finding_fails_the_host_in_every_report():
    report, hosts = fleet_report('settled')
    certs = {'cl': {'subject': 'cl', 'not_after': '20200101000000Z', 'problems': ['expired on 2020-01-01']}}
    assert json.loads(filters.fleet_json(report, hosts, certs, now=NOW))['hosts']['cl']['ok'] is False
    suite = next(s for s in JUnitXml.fromstring(filters.fleet_junit(report, hosts, certs, now=NOW)) if s.name == 'cl')
    failed = [case for case in suite if not case.is_passed]
    assert [case.name for case in failed] == ['host'] and 'expired on 2020-01-01' in failed[0].result[0].message
    assert value(samples(filters.fleet_prometheus(report, 'cl', certs, now=NOW)), 'ntp_autokey_host_ok') == 0


@pytest.mark.parametrize('state', ['settled', 'stale'])
def test_junit_fails_exactly_the_hosts_verify_fails(state):
    report, hosts = fleet_report(state)
    xml = JUnitXml.fromstring(filters.fleet_junit(report, hosts, now=NOW))
    suites = dict((suite.name, suite) for suite in xml)
    assert sorted(suites) == sorted(hosts)
    for host, suite in suites.items():
        failed = [case for case in suite if not case.is_passed]
        assert bool(failed) is (host in report['problems']), host
        assert suite.tests == len(list(suite)) and suite.failures == len(failed)
        for case in failed:
            assert case.result[0].message in report['problems'][host]
    assert xml.tests == sum(s.tests for s in suites.values()) and xml.failures == sum(s.failures for s in suites.values())


def test_hostile_names_and_verdicts_stay_inside_their_fields():
    report, _hosts = fleet_report('settled')
    evil = 'a"b\\c\nd</failure><x>&'
    for record in report['records']:
        record['upstream'] = evil
        record['verdict'] = evil
    report['problems']['cl'] = [evil + ' finding']
    found = samples(filters.fleet_prometheus(report, 'cl', now=NOW))
    assert {dict(labels)['upstream'] for (name, labels), _v in found.items() if 'association' in name} == {evil}
    suite = next(s for s in JUnitXml.fromstring(filters.fleet_junit(report, ['cl'], now=NOW)))
    assert [case.result[0].message for case in suite if not case.is_passed] == [evil + ' finding']


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=4), st.text(max_size=30), st.sampled_from(['settled', 'stale']))
def test_any_finding_text_is_placed_once_and_parses(texts, upstream, state):
    report, hosts = fleet_report(state)
    report['problems']['cl'] = list(report['problems'].get('cl', [])) + texts
    for record in report['records']:
        if record['host'] == 'cl':
            record['upstream'] = upstream or None
    document = json.loads(filters.fleet_json(report, hosts, now=NOW))
    placed = document['hosts']['cl']['causes'] + [
        c for a in document['associations'] if a['host'] == 'cl' for c in a['causes']]
    assert sorted(placed) == sorted(report['problems']['cl'])
    samples(filters.fleet_prometheus(report, 'cl', now=NOW))
    JUnitXml.fromstring(filters.fleet_junit(report, hosts, now=NOW))


@pytest.mark.parametrize('call', [
    lambda: filters.fleet_json(['not', 'a report'], ['cl']),
    lambda: filters.fleet_json({'records': 'x'}, ['cl']),
    lambda: filters.fleet_junit({'records': []}, 'cl'),
    lambda: filters.fleet_prometheus({'records': []}, ['cl']),
    lambda: filters.fleet_json({'records': []}, ['cl'], nts_certificates=['x']),
    lambda: filters.fleet_json({'records': [{'host': 'cl'}]}, ['cl']),
])
def test_wrong_input_is_a_filter_error(call):
    with pytest.raises(AnsibleFilterError):
        call()


class _Graph(HTMLParser):
    """The boxes, links and table rows of the HTML report."""

    def __init__(self):
        super().__init__()
        self.hosts, self.links, self.rows, self.tags = [], [], [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == 'g' and attrs.get('class') == 'host':
            self.hosts.append(attrs['data-host'])
        if tag == 'line':
            self.links.append((attrs['data-host'], attrs['data-upstream'], attrs['class'].split()[1]))
        if tag == 'tr' and attrs.get('class'):
            self.rows.append(attrs['class'])


def graph(report, hosts, tiers=None):
    page = filters.fleet_html(report, hosts, tiers or {'th': 'trusted_host', 'gs': 'server', 'gsnokey': 'server'},
                              now=NOW)
    parsed = _Graph()
    parsed.feed(page)
    return parsed, page


def test_the_trust_graph_shows_every_host_and_colours_each_link_by_its_verdict():
    report, hosts = fleet_report('settled')
    parsed, page = graph(report, hosts)
    assert sorted(parsed.hosts) == sorted(hosts) and 'script' not in parsed.tags
    links = dict(((host, upstream), kind) for host, upstream, kind in parsed.links)
    assert links[('cl', 'gs')] == 'ok' and links[('gs', 'th')] == 'ok'
    assert links[('clnoident', 'gs')] == 'failed'  # certificate trust only: not authenticated
    # a row per association, and one per host with findings that name none of its associations
    document = json.loads(filters.fleet_json(report, hosts, now=NOW))
    assert len(parsed.rows) == len(report['records']) + sum(1 for h in document['hosts'].values() if h['causes'])
    assert 'Fleet trust: FAILED' in page
    stale, _hosts = fleet_report('stale')
    parsed, page = graph(stale, hosts)
    links = dict(((host, upstream), kind) for host, upstream, kind in parsed.links)
    assert links[('cl', 'gs')] == 'stale'  # still verified by ntpd, failed by verify.yml


def test_the_trust_graph_escapes_what_it_shows():
    report, hosts = fleet_report('settled')
    for record in report['records']:
        record['verdict'] = '<script>alert(1)</script>'
    report['problems']['cl'] = ['<img src=x onerror=alert(1)>']
    parsed, page = graph(report, hosts)
    assert 'script' not in parsed.tags and 'img' not in parsed.tags
    assert '&lt;script&gt;' in page and '&lt;img src=x' in page
