# SPDX-License-Identifier: GPL-3.0-or-later
"""Read verify.yml's reports back with the libraries their consumers use, and print what they say as JSON:
read_reports.py DIR [PROM...]: DIR's JUnit XML (junitparser), JSON and HTML trust graph (html.parser); each PROM,
a textfile of one host (prometheus_client's text-format parser). A report that does not parse fails this script."""

import json
import sys
from html.parser import HTMLParser

from junitparser import JUnitXml
from prometheus_client.parser import text_string_to_metric_families


def junit(path):
    suites = {}
    for suite in JUnitXml.fromfile(path):
        failed = [case for case in suite if not case.is_passed]
        suites[suite.name] = dict(tests=suite.tests, failures=suite.failures,
                                  failed=[case.name for case in failed],
                                  messages=[case.result[0].message for case in failed])
    return suites


def metrics(path):
    found = {}
    with open(path) as handle:
        for family in text_string_to_metric_families(handle.read()):
            for sample in family.samples:
                key = sample.name + '{' + ','.join('%s=%s' % kv for kv in sorted(sample.labels.items())
                                                   if kv[0] in ('method', 'kind')) + '}'
                found.setdefault(key, []).append(sample.value)
    return found


class Graph(HTMLParser):
    """The host boxes and the links (host, upstream, colour class) of the HTML trust graph."""

    def __init__(self):
        super().__init__()
        self.hosts, self.links = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'g' and attrs.get('class') == 'host':
            self.hosts.append(attrs['data-host'])
        if tag == 'line':
            self.links.append([attrs['data-host'], attrs['data-upstream'], attrs['class'].split()[1]])


def graph(path):
    parsed = Graph()
    with open(path) as handle:
        parsed.feed(handle.read())
    return dict(hosts=sorted(parsed.hosts), links=parsed.links)


def main(directory, *proms):
    with open(directory + '/ntp-autokey-verify.json') as handle:
        document = json.load(handle)
    print(json.dumps(dict(
        json=dict(ok=document['ok'], hosts=dict((h, v['ok']) for h, v in document['hosts'].items()),
                  associations=len(document['associations'])),
        junit=junit(directory + '/ntp-autokey-verify.xml'),
        html=graph(directory + '/ntp-autokey-verify.html'),
        metrics=dict((path.rsplit('/', 1)[-1].split('.')[0], metrics(path)) for path in proms))))


if __name__ == '__main__':
    main(*sys.argv[1:])
