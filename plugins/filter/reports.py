# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet_json, fleet_junit, fleet_prometheus and fleet_html filters: verify.yml's verdicts (fleet_report's
result) for JSON readers, CI systems and AWX/AAP (JUnit XML), Prometheus (node_exporter's textfile collector) and
people (an HTML page with the trust graph)."""


from ansible.errors import AnsibleFilterError

from ansible_collections.ntp.autokey.plugins.plugin_utils import reports


def _checked(name, report, hosts, nts_certificates):
    if not isinstance(report, dict) or not isinstance(report.get('records'), list):
        raise AnsibleFilterError('%s: expects the result of ntp.autokey.fleet_report, not %s'
                                 % (name, type(report).__name__))
    if not isinstance(hosts, (list, tuple)) or not all(isinstance(host, str) for host in hosts):
        raise AnsibleFilterError('%s: hosts must be a list of inventory names' % name)
    if nts_certificates is not None and not isinstance(nts_certificates, dict):
        raise AnsibleFilterError('%s: nts_certificates must be a dict of inventory name to certificate, not %s'
                                 % (name, type(nts_certificates).__name__))
    return dict((host, cert) for host, cert in (nts_certificates or {}).items() if isinstance(cert, dict) and cert)


def _run(name, render, report, hosts, nts_certificates, now):
    certificates = _checked(name, report, hosts, nts_certificates)
    try:
        return render(report, list(hosts), certificates, float(now) if now is not None else None)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise AnsibleFilterError('%s: the fleet report is malformed (%s: %s)' % (name, type(exc).__name__, exc))


def fleet_json(report, hosts, nts_certificates=None, now=None):
    return _run('fleet_json', reports.json_report, report, hosts, nts_certificates, now)


def fleet_junit(report, hosts, nts_certificates=None, now=None):
    return _run('fleet_junit', reports.junit_xml, report, hosts, nts_certificates, now)


def fleet_html(report, hosts, tiers=None, addresses=None, nts_certificates=None, now=None):
    for name, value in (('tiers', tiers), ('addresses', addresses)):
        if value is not None and not isinstance(value, dict):
            raise AnsibleFilterError('fleet_html: %s must be a dict by inventory name, not %s' % (name, type(value).__name__))
    return _run('fleet_html', lambda r, h, c, n: reports.html_report(r, h, dict(tiers or {}), dict(addresses or {}), c, n),
                report, hosts, nts_certificates, now)


def fleet_prometheus(report, host, nts_certificates=None, now=None):
    if not isinstance(host, str):
        raise AnsibleFilterError('fleet_prometheus: host must be one inventory name')
    return _run('fleet_prometheus', lambda r, h, c, n: reports.prometheus_text(r, h[0], c, n), report, [host],
                nts_certificates, now)


class FilterModule:
    def filters(self):
        return {'fleet_json': fleet_json, 'fleet_junit': fleet_junit, 'fleet_prometheus': fleet_prometheus,
                'fleet_html': fleet_html}
