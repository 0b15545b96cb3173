# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet_report filter: judge a fleet from the status_info results of its hosts."""


from ansible.errors import AnsibleFilterError

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.fleet import report


def fleet_report(results, hosts, trusted_hosts=None, unmanaged=None, accept_stale_unmanaged=False):
    if not isinstance(results, dict):
        raise AnsibleFilterError('fleet_report: expects a dict of inventory name to status_info result, not %s'
                                 % type(results).__name__)
    if unmanaged is not None and not isinstance(unmanaged, dict):
        raise AnsibleFilterError('fleet_report: unmanaged must be a dict (queries, key_file, query), not %s'
                                 % type(unmanaged).__name__)
    try:
        return report(dict(results), list(hosts), list(trusted_hosts or []), dict(unmanaged or {}),
                      bool(accept_stale_unmanaged))
    except (KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError('fleet_report: a status_info result is malformed (%s: %s)'
                                 % (type(exc).__name__, exc))


class FilterModule:
    def filters(self):
        return {'fleet_report': fleet_report}
