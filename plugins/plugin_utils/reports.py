# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet's verdicts for the tools operators watch: a JSON document, JUnit XML (CI systems, AWX/AAP job
results), Prometheus metrics (the text format node_exporter's textfile collector reads) and an HTML page with the
fleet's trust graph.

All three are read from fleet.report()'s result: the same records and findings as verify.yml's table and
assertions, so a report never says more or less than the run did. Each finding of a host is attached to the
association it names (by address or upstream name); the others stay with the host. A host that fails has at
least one failing test case and metric.

The Prometheus text format (a line per sample, three characters escaped in label values) is written here rather
than with prometheus_client, so that the controller needs no further package; the tests read it back with
prometheus_client's parser.
"""

import calendar
import html
import json
import re
import time
import xml.etree.ElementTree as ET

STALE = 'stale'
METRICS = (
    ('ntp_autokey_association_authenticated', 'Whether the association is identity-verified (Autokey) or '
     'authenticated (symmetric key, NTS): 1, or not: 0.'),
    ('ntp_autokey_association_synchronised', 'Whether the host takes its time from this association: 1, or not: 0.'),
    ('ntp_autokey_association_ok', 'Whether verify.yml passed this association: 1 when no finding names it and its '
     'host passed, else 0.'),
    ('ntp_autokey_association_stale_trust', 'Whether this association trusts a certificate or group key its trusted '
     'host no longer holds: 1, or not: 0.'),
    ('ntp_autokey_host_ok', 'Whether verify.yml passed this host: 1, or not: 0.'),
    ('ntp_autokey_host_findings', 'How many findings verify.yml made on this host (0 on a host that passed).'),
    ('ntp_autokey_host_synchronised_authenticated', 'Whether the host is synchronised to an authenticated source (a '
     'trusted host: to its own clock): 1, or not: 0.'),
    ('ntp_autokey_certificate_expiry_timestamp_seconds', 'When a certificate the host holds or trusts expires, in '
     'seconds since the epoch (kind: autokey_host, autokey_trust_root, nts_server).'),
    ('ntp_autokey_verify_timestamp_seconds', 'When verify.yml judged this host, in seconds since the epoch.'),
)


def expiry_seconds(text):
    """Seconds since the epoch of a certificate's end: ntpq's `until` (YYYYMMDDHHMM, UTC) or an ASN.1 time as
    community.crypto shows it (YYYYMMDDHHMMSSZ). None for anything else."""
    text = str(text or '')
    for pattern, layout in ((r'\d{12}', '%Y%m%d%H%M'), (r'\d{14}Z', '%Y%m%d%H%M%SZ')):
        if re.match(pattern + r'\Z', text):
            try:
                return calendar.timegm(time.strptime(text, layout))
            except ValueError:
                return None
    return None


def _names(text, record):
    """Whether a finding names the record's association (its address or upstream as a whole word)."""
    for word in (record.get('address'), record.get('upstream')):
        if word and word not in ('-', '(own clock)') and re.search(
                r'(?<![\w.@-])%s(?![\w@-]|\.\w)' % re.escape(word.split(' (')[0]), text):
            return True
    return False


def judged(report, hosts, nts_certificates=None):
    """{'hosts': {host: {...}}, 'associations': [record + 'causes']} with every finding placed once: on the first
    association it names, else on its host ('causes' of the host). NTS server certificate findings
    (nts_certificates: {host: {'not_after', 'subject', 'problems'}}) are the host's."""
    nts_certificates = nts_certificates or {}
    associations = [dict(record, causes=[]) for record in report.get('records', []) if record['host'] in hosts]
    summary = {}
    for host in hosts:
        own = [a for a in associations if a['host'] == host]
        findings = list(report.get('problems', {}).get(host, []))
        nts = nts_certificates.get(host) or {}
        nts_problems = list(nts.get('problems') or [])
        left = []
        for text in findings:
            target = next((a for a in own if _names(text, a)), None)
            (target['causes'] if target else left).append(text)
        left += ['NTS certificate: %s' % text for text in nts_problems]
        ok = not findings and not nts_problems
        for assoc in own:
            assoc['ok'] = ok and not assoc['causes']
            assoc['stale_trust'] = any(STALE in text for text in assoc['causes'])
        own_cert = (report.get('own_certificates') or {}).get(host)
        summary[host] = dict(
            ok=ok, findings=len(findings) + len(nts_problems), causes=left,
            accepted=list(report.get('accepted', {}).get(host, [])),
            not_checked=list(report.get('not_checked', {}).get(host, [])),
            synchronised_authenticated=any(a['synchronised'] and a['authenticated'] for a in own),
            autokey_certificate=dict(subject=own_cert[0], until=own_cert[1]) if own_cert else None,
            nts_certificate=dict(subject=nts.get('subject'), not_after=nts.get('not_after')) if nts else None)
    return dict(hosts=summary, associations=associations)


def json_report(report, hosts, nts_certificates=None, now=None):
    """The JSON document: when, whether the fleet passed, each host's summary, each association."""
    data = judged(report, hosts, nts_certificates)
    document = dict(generated=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now or time.time())),
                    ok=all(h['ok'] for h in data['hosts'].values()), trusted=report.get('trusted', []),
                    hosts=data['hosts'], associations=data['associations'])
    return json.dumps(document, indent=2, sort_keys=True) + '\n'


# characters XML 1.0 cannot hold (a daemon's output may have them): shown as \xNN
_NOT_XML = re.compile('[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]')


def _xml_text(text):
    return _NOT_XML.sub(lambda match: '\\x%02x' % ord(match.group()), str(text))


def _case_name(assoc):
    return _xml_text('%s (%s)' % (assoc['upstream'] or 'no association', assoc['method']))


def junit_xml(report, hosts, nts_certificates=None, now=None):
    """JUnit XML: a test suite per host, a test case per association (failed with its causes) and one for the
    host's own findings (failed when it has some)."""
    data = judged(report, hosts, nts_certificates)
    stamp = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(now or time.time()))
    suites = ET.Element('testsuites', name='ntp.autokey verify')
    total = failed = 0
    for host in hosts:
        summary = data['hosts'][host]
        cases = [(_case_name(a), _xml_text(a['verdict']), [_xml_text(c) for c in a['causes']])
                 for a in data['associations'] if a['host'] == host]
        cases.append(('host', 'passed' if summary['ok'] else 'failed', [_xml_text(c) for c in summary['causes']]))
        suite = ET.SubElement(suites, 'testsuite', name=_xml_text(host), tests=str(len(cases)),
                              failures=str(sum(1 for case in cases if case[2])), errors='0', timestamp=stamp)
        for name, verdict, causes in cases:
            case = ET.SubElement(suite, 'testcase', classname=_xml_text('ntp.autokey.%s' % host), name=name)
            if causes:
                failure = ET.SubElement(case, 'failure', message=causes[0], type='verify')
                failure.text = '\n'.join(causes)
            ET.SubElement(case, 'system-out').text = verdict
        total += len(cases)
        failed += int(suite.get('failures'))
    suites.set('tests', str(total))
    suites.set('failures', str(failed))
    suites.set('errors', '0')
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding='unicode') + '\n'


def _label(value):
    return str(value).replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"')


def _series(name, labels):
    return '%s{%s}' % (name, ','.join('%s="%s"' % (key, _label(labels[key])) for key in sorted(labels)))


def prometheus_text(report, host, nts_certificates=None, now=None):
    """The metrics of one host in the Prometheus text format, for node_exporter's textfile collector. A series
    appears once (the first association that gives it wins: two associations trusting one root give one expiry)."""
    data = judged(report, [host], nts_certificates)
    summary = data['hosts'][host]
    samples = dict((name, {}) for name, _help in METRICS)

    def add(name, labels, value):
        samples[name].setdefault(_series(name, labels), value)

    for assoc in data['associations']:
        labels = dict(host=host, upstream=assoc['upstream'] or '', address=assoc['address'] or '',
                      method=assoc['method'])
        add('ntp_autokey_association_authenticated', labels, int(bool(assoc['authenticated'])))
        add('ntp_autokey_association_synchronised', labels, int(bool(assoc['synchronised'])))
        add('ntp_autokey_association_ok', labels, int(assoc['ok']))
        add('ntp_autokey_association_stale_trust', labels, int(assoc['stale_trust']))
        until = expiry_seconds(assoc.get('trust_root_until'))
        if until is not None:
            add('ntp_autokey_certificate_expiry_timestamp_seconds',
                dict(host=host, kind='autokey_trust_root', subject=assoc['trust_root'] or ''), until)
    for kind, cert, field in (('autokey_host', summary['autokey_certificate'], 'until'),
                              ('nts_server', summary['nts_certificate'], 'not_after')):
        until = expiry_seconds((cert or {}).get(field))
        if until is not None:
            add('ntp_autokey_certificate_expiry_timestamp_seconds',
                dict(host=host, kind=kind, subject=cert.get('subject') or ''), until)
    add('ntp_autokey_host_ok', dict(host=host), int(summary['ok']))
    add('ntp_autokey_host_findings', dict(host=host), summary['findings'])
    add('ntp_autokey_host_synchronised_authenticated', dict(host=host), int(summary['synchronised_authenticated']))
    add('ntp_autokey_verify_timestamp_seconds', dict(host=host), int(now or time.time()))
    lines = []
    for name, text in METRICS:
        if samples[name]:
            lines += ['# HELP %s %s' % (name, text), '# TYPE %s gauge' % name]
            lines += ['%s %s' % item for item in samples[name].items()]
    return '\n'.join(lines) + '\n'


# the colour of a link: verified and passed; authenticated but failed (stale trust, another finding); not
# authenticated, or waiting
_LINK = (('ok', '#2e7d32', 'verified'), ('stale', '#ef6c00', 'authenticated, but failed'),
         ('failed', '#c62828', 'not authenticated'))
_COLUMNS = (('trusted_host', 'trusted hosts'), ('server', 'group servers'), ('client', 'clients'))


def _upstream_host(assoc, hosts, addresses):
    """The inventory host an association's upstream is, or None (a server outside the inventory)."""
    words = [w for w in (assoc.get('upstream'), assoc.get('address')) if w]
    for host in hosts:
        names = set([host] + list(addresses.get(host) or []))
        for word in words:
            word = word.split(' (')[0]
            if word in names or word.split('@')[0] == host:
                return host
    return None


def _link(assoc):
    if assoc['ok']:
        return _LINK[0]
    return _LINK[1] if assoc['authenticated'] else _LINK[2]


def html_report(report, hosts, tiers=None, addresses=None, nts_certificates=None, now=None):
    """A page with the fleet's trust graph (inline SVG, no script, nothing fetched): a column per tier, a box per
    host (red when verify.yml failed it), a line per association from the host to its upstream coloured by its
    verdict, the verdict and causes on hover (SVG title), and the same as a table below for reading and search."""
    tiers, addresses = tiers or {}, addresses or {}
    data = judged(report, hosts, nts_certificates)
    outside = []
    for assoc in data['associations']:
        assoc['to'] = _upstream_host(assoc, hosts, addresses)
        if not assoc['to'] and assoc['upstream'] and assoc['upstream'] != '(own clock)':
            assoc['to'] = 'outside: %s' % assoc['upstream']
            if assoc['to'] not in outside:
                outside.append(assoc['to'])
    columns = [list(outside)] + [[h for h in hosts if tiers.get(h, 'client') == tier] for tier, _title in _COLUMNS]
    place = {}
    for index, column in enumerate(columns):
        for row, name in enumerate(column):
            place[name] = (40 + index * 260, 70 + row * 56)
    height = 110 + 56 * max([len(c) for c in columns] + [1])
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="trust graph">'
           % (40 + 260 * len(columns), height)]
    for index, title in enumerate(['outside the inventory'] + [t for _tier, t in _COLUMNS]):
        svg.append('<text x="%d" y="40" font-weight="bold">%s</text>' % (40 + index * 260, title))
    for assoc in data['associations']:
        if assoc['to'] not in place or assoc['host'] not in place:
            continue
        (x1, y1), (x2, y2) = place[assoc['host']], place[assoc['to']]
        kind, colour, _words = _link(assoc)
        svg.append('<line class="link %s" data-host="%s" data-upstream="%s" x1="%d" y1="%d" x2="%d" y2="%d" '
                   'stroke="%s" stroke-width="3"><title>%s</title></line>' % (
                       kind, html.escape(assoc['host']), html.escape(assoc['to']), x1, y1 + 18, x2 + 180, y2 + 18,
                       colour, html.escape('%s -> %s (%s): %s%s' % (
                           assoc['host'], assoc['upstream'], assoc['method'], assoc['verdict'],
                           ''.join('\n' + cause for cause in assoc['causes'])))))
    for name, (x, y) in place.items():
        summary = data['hosts'].get(name)
        fill = '#eeeeee' if summary is None else '#c8e6c9' if summary['ok'] else '#ffcdd2'
        hint = name if summary is None else '%s: %s' % (name, 'passed' if summary['ok'] else '; '.join(
            summary['causes'] + [c for a in data['associations'] if a['host'] == name for c in a['causes']]))
        svg.append('<g class="host" data-host="%s"><rect x="%d" y="%d" width="180" height="36" rx="6" fill="%s" '
                   'stroke="#555"/><text x="%d" y="%d">%s</text><title>%s</title></g>' % (
                       html.escape(name), x, y, fill, x + 8, y + 23, html.escape(name[:28]), html.escape(hint)))
    svg.append('</svg>')
    rows = ''.join('<tr class="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
        _link(a)[0], html.escape(a['host']), html.escape(a['upstream'] or '-'), html.escape(a['method']),
        html.escape(a['verdict']), html.escape('; '.join(a['causes']))) for a in data['associations'])
    rows += ''.join('<tr class="failed"><td>%s</td><td>-</td><td>-</td><td>host</td><td>%s</td></tr>' % (
        html.escape(h), html.escape('; '.join(s['causes']))) for h, s in data['hosts'].items() if s['causes'])
    legend = ' '.join('<span style="color:%s">&#9644; %s</span>' % (colour, words) for _k, colour, words in _LINK)
    stamp = time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(now or time.time()))
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>ntp.autokey: fleet trust</title>'
            '<style>body{font-family:sans-serif} td,th{border:1px solid #ccc;padding:2px 6px} '
            'tr.failed td{background:#ffebee} tr.stale td{background:#fff3e0}</style></head><body>'
            '<h1>Fleet trust: %s</h1><p>verify.yml, %s. %s</p>%s<table><tr><th>host</th><th>upstream</th>'
            '<th>method</th><th>verdict</th><th>causes</th></tr>%s</table></body></html>\n') % (
                'passed' if all(s['ok'] for s in data['hosts'].values()) else 'FAILED', stamp, legend,
                ''.join(svg), rows)
