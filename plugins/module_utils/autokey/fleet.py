# -*- coding: utf-8 -*-
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Judge a fleet from each host's status_info result.

Beyond each host's own problems, compares what every downstream host trusts
with what the trusted hosts hold now. A host still trusting a certificate or a
group key its trusted host no longer has is in stale trust: ntpd re-fetches
credentials only at its ~6 day refresh or a restart, and until then an old
(maybe leaked) key keeps working.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

COLUMNS = ('host', 'upstream', 'flags', 'verdict', 'trust root', 'group fs', 'sync')


def references(statuses, trusted_hosts):
    """{TH certificate CN: {'until', 'filestamp', 'group_keys', 'inventory'}} of the trusted hosts in the run."""
    refs = {}
    for name in trusted_hosts:
        status = statuses.get(name) or {}
        for cert in status.get('certificates', []):
            if cert['own'] and cert['self_signed']:
                loaded = status.get('loaded', {})
                refs[cert['subject']] = dict(until=cert['until'], filestamp=loaded.get('certificate'),
                                             group_keys=loaded.get('group_keys', {}), inventory=name)
    return refs


def _stale_root(assoc, refs):
    root = assoc.get('trust_root')
    if not root or not refs:
        return None
    ref = refs.get(root['subject'])
    if ref is None:
        return 'trusts %s, which is not a trusted host of this run (%s): an impostor, or a trusted host missing ' \
               'from the inventory' % (root['subject'], ', '.join(sorted(refs)))
    differs = root['until'] != ref['until'] or (
        root.get('filestamp') and ref['filestamp'] and root['filestamp'] != ref['filestamp'])
    if differs:
        return ('stale trust: still trusts the %s certificate valid until %s (fs %s), but %s now holds one valid '
                'until %s (fs %s); restart ntpd here (group servers before their clients)'
                % (root['subject'], root['until'], root.get('filestamp') or '?', ref['inventory'], ref['until'],
                   ref['filestamp'] or '?'))
    return None


def _stale_trail(assoc, running):
    """Certificates of in-between hosts (group servers) that changed since this host fetched them."""
    found = []
    root = (assoc.get('trust_root') or {}).get('subject')
    for cert in assoc.get('received', []):
        now = running.get(cert['subject'])
        if cert['subject'] == root or not now or not now[1] or now[1] == cert['filestamp']:
            continue
        found.append('stale trust: holds the %s certificate fs %s, but %s now runs fs %s; restart ntpd here'
                     % (cert['subject'], cert['filestamp'], now[0], now[1]))
    return found


def running_certificates(statuses):
    """{CN: (inventory name, filestamp of the certificate its ntpd loaded)} of every host in the run."""
    return dict((s['host'], (name, (s.get('loaded') or {}).get('certificate')))
                for name, s in statuses.items() if s and s.get('host'))


def _stale_group(assoc, refs):
    root, stamp = assoc.get('trust_root'), assoc.get('identity_filestamp')
    ref = refs.get(root['subject']) if root else None
    if not ref or not stamp:
        return None
    scheme = (assoc.get('flags') or {}).get('schemes', [None])[0]
    current = ref['group_keys'].get(scheme)
    if current and current != stamp:
        return ('stale group key: verified %s against group key fs %s, but %s now holds fs %s; install the new '
                'params and restart ntpd' % ((scheme or '?').upper(), stamp, ref['inventory'], current))
    return None


def _stale_server_key(status, refs):
    found = []
    for scheme, stamp in (status.get('loaded') or {}).get('group_keys', {}).items():
        current = set(r['group_keys'].get(scheme) for r in refs.values()) - set([None])
        if current and stamp not in current:
            found.append('stale server key: serves the %s group key fs %s, but the trusted host holds fs %s: its '
                         'clients will fail (103) once they restart; install the new server key and restart ntpd'
                         % (scheme.upper(), stamp, ', '.join(str(c) for c in sorted(current))))
    return found


def host_problems(status, refs, is_trusted, error=None, running=None):
    if not status:
        return ['no status: %s' % (error or 'the host was unreachable')]
    found = list(status['problems'])
    if is_trusted:
        return found
    found += _stale_server_key(status, refs)
    for assoc in status['associations']:
        if assoc['state'] in ('none', 'pending', 'failing'):
            continue
        texts = [check(assoc, refs) for check in (_stale_root, _stale_group)] + _stale_trail(assoc, running or {})
        found += ['%s (%s): %s' % (assoc['address'], assoc['cn'] or '?', text) for text in texts if text]
    return found


def _rows(name, status):
    if not status:
        return [(name, '-', '-', 'no status', '-', '-', '-')]
    rows = []
    for assoc in status['associations']:
        if assoc['state'] == 'none':
            continue
        root = assoc.get('trust_root') or {}
        upstream = (assoc['cn'] or assoc['address']) + (' (%s)' % assoc['mode'] if assoc.get('mode') == 'bclient' else '')
        rows.append((name, upstream, (assoc['flags'] or {}).get('word', '-'), assoc['verdict'],
                     root.get('subject', '-') + (' until %s' % root['until'] if root.get('until') else ''),
                     str(assoc.get('identity_filestamp') or '-'), 'yes' if assoc['synchronised'] else 'no'))
    if not rows:
        word = (status.get('flags') or {}).get('word', '-')
        offers = '/'.join(status.get('offers', [])).upper() or 'no scheme'
        rows.append((name, '(own clock)', word, 'offers %s' % offers, status.get('host') or '-',
                     ' '.join('%s %s' % kv for kv in sorted((status.get('loaded') or {}).get('group_keys', {}).items()))
                     or '-',
                     'yes' if status.get('synchronised') else 'no'))
    return rows


def table(rows):
    widths = [max(len(str(r[i])) for r in [COLUMNS] + rows) for i in range(len(COLUMNS))]
    return ['  '.join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
            for row in [COLUMNS] + rows]


def report(results, hosts, trusted_hosts=()):
    """{'ok', 'problems': {host: [..]}, 'lines': table and findings} for `hosts` (inventory names, in order).

    `results` maps inventory names to what status_info returned (registered), for hosts that ran it."""
    statuses = dict((name, (result or {}).get('status')) for name, result in results.items())
    refs = references(statuses, trusted_hosts)
    running = running_certificates(statuses)
    problems, rows = {}, []
    for name in hosts:
        status = statuses.get(name)
        error = (results.get(name) or {}).get('msg')
        found = host_problems(status, refs, name in trusted_hosts, error, running)
        if found:
            problems[name] = found
        rows += _rows(name, status)
    lines = table(rows)
    if not refs:
        lines.append('stale trust not checked: no trusted host of this run answered')
    for name in hosts:
        for text in problems.get(name, []):
            lines.append('%s: %s' % (name, text))
    return dict(ok=not problems, problems=problems, lines=lines, trusted=sorted(refs))
