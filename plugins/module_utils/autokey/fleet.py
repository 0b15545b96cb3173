# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Judge a fleet from each host's status_info result.

Beyond each host's own problems, compares what every downstream host trusts
with what the trusted hosts hold now. A host still trusting a certificate or a
group key its trusted host no longer has is in stale trust: ntpd re-fetches
credentials only at its ~6 day refresh or a restart, and until then an old
(maybe leaked) key keeps working.

The reference for each trusted host is either its own status_info result (a
trusted host of the run) or, for a trusted host Ansible does not manage, what
its ntpd presents to a group server that queried it (certificate, offered
schemes: status_info with `server`) and the key file the user handed over
(its filestamp): ntpq never shows a group key's filestamp, so the group key a
trusted host holds now is known only from its files or from the key file.

Each stale sentence says what ntpd does next (measured on ntpd 4.2.8p15, see
docs/troubleshooting.md): a running association is never re-checked before its
refresh; a restart fetches credentials again from the direct upstream, which
hands on the certificates it holds itself.
"""

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.status import AUTHENTICATED

COLUMNS = ('host', 'upstream', 'flags', 'verdict', 'trust root', 'group fs', 'sync')
KEEPS = 'ntpd keeps this association until it restarts (or its ~6-day refresh)'


def _own_certificate(status):
    for cert in (status or {}).get('certificates', []):
        if cert['own'] and cert['self_signed']:
            return cert
    return None


def references(statuses, trusted_hosts):
    """{TH certificate CN: reference} of the trusted hosts in the run: 'until', 'filestamp' (of the certificate
    its ntpd loaded), 'group_keys' ({scheme: fs} it loaded), 'inventory' (its name in sentences), 'managed'."""
    refs = {}
    for name in trusted_hosts:
        status = statuses.get(name) or {}
        cert = _own_certificate(status)
        if cert:
            loaded = status.get('loaded', {})
            refs[cert['subject']] = dict(until=cert['until'], filestamp=loaded.get('certificate'),
                                         group_keys=loaded.get('group_keys', {}), inventory=name, managed=True,
                                         handed_over={}, offers=status.get('offers', []))
    return refs


def _answers(queries):
    """{address: {'status', 'from', 'msg'}} from the registered results of status_info with `server` looped over
    the addresses ({inventory name: registered loop result}): per address the first host that got an answer,
    else the first error."""
    answers = {}
    for name in sorted(queries or {}):
        for item in (queries[name] or {}).get('results', []):
            if item.get('skipped') or 'item' not in item:
                continue
            address, status = item['item'], item.get('status')
            if status and not (answers.get(address) or {}).get('status'):
                answers[address] = dict(status=status, msg=None, **{'from': name})
            elif address not in answers:
                answers[address] = dict(status=None, msg=item.get('msg'), **{'from': name})
    return answers


def unmanaged_references(unmanaged):
    """References, problems and notes for trusted hosts Ansible does not manage.

    `unmanaged`: {'queries': {inventory name: registered result of status_info with `server` looped over the
    trusted host addresses}, 'key_file': group_keys_info's result for the key file handed over (or {}),
    'query': False when the trusted hosts were not to be queried}.
    Returns (refs, problems {inventory name: [..]}, notes [..])."""
    refs, problems, notes = {}, {}, []
    unmanaged = unmanaged or {}
    key_file = unmanaged.get('key_file') or {}
    handed = {key_file['scheme']: key_file['filestamp']} if key_file.get('filestamp') and key_file.get('scheme') else {}
    answers = _answers(unmanaged.get('queries'))
    handed_words = '%s fs %s' % (key_file['scheme'].upper(), key_file['filestamp']) if handed else None
    for address in sorted(answers):
        answer = answers[address]
        status, origin = answer['status'], answer['from']
        cert = _own_certificate(status)
        if not cert:
            problems.setdefault(origin, []).append(
                'cannot query the trusted host %s (not managed here) from %s: %s. Without it, a new certificate '
                'on that host goes unnoticed: let %s query it (a restrict line for its address without noquery '
                'in that host\'s ntp.conf), or set verify_unmanaged_query=false to compare only with the key '
                'file handed over' % (address, origin, (answer['msg'] or 'no certificate in its answer')[:200],
                                      origin))
            continue
        refs[cert['subject']] = dict(until=cert['until'], filestamp=None, group_keys={}, managed=False,
                                     inventory='%s (not managed here)' % address, handed_over=handed,
                                     offers=status.get('offers', []))
        offers = '/'.join(status.get('offers', [])).upper() or 'no scheme'
        synchronised = 'synchronised' if status.get('synchronised') else 'not synchronised'
        compared = ('compared with the key file handed over (%s)' % handed_words if handed
                    else 'no key file to compare with (autokey_group_key_file)')
        notes.append('%s (not managed here, queried from %s): presents %s valid until %s, offers %s, %s; the group '
                     'key it holds is not visible to ntpq: %s' % (address, origin, cert['subject'], cert['until'],
                                                                  offers, synchronised, compared))
    if unmanaged and not unmanaged.get('query', True):
        notes.append('trusted hosts not managed here were not queried (verify_unmanaged_query=false): a new '
                     'certificate on them goes unnoticed until a group server restarts; group keys are compared '
                     'with the key file handed over (%s)' % (handed_words or 'none given'))
        if handed:  # without a certificate, the key file alone is the reference for the group key
            refs[None] = dict(until=None, filestamp=None, group_keys={}, managed=False, handed_over=handed,
                              inventory='the trusted host (not managed here)', offers=[])
    return refs, problems, notes


def _fs(filestamp):
    return ' (fs %s)' % filestamp if filestamp else ''


def _root_note(ref):
    if ref['managed']:
        return '%s now holds one' % ref['inventory']
    return 'the trusted host %s now presents one' % ref['inventory']


def _stale_root(assoc, refs, running, unchecked):
    root = assoc.get('trust_root')
    if not root:
        return None
    ref = refs.get(root['subject'])
    if ref is None:
        if unchecked:
            return ('stale trust not checked: cannot tell whether the %s certificate it trusts (until %s) is still '
                    'the one its trusted host presents (%s)' % (root['subject'], root['until'], unchecked))
        named = sorted(cn for cn in refs if cn)
        if not named:
            return None
        return 'trusts %s, which is not a trusted host of this run (%s): an impostor, or a trusted host missing ' \
               'from the inventory' % (root['subject'], ', '.join(named))
    differs = root['until'] != ref['until'] or (
        root.get('filestamp') and ref['filestamp'] and root['filestamp'] != ref['filestamp'])
    if not differs:
        return None
    text = ('stale trust: still trusts the %s certificate valid until %s%s, but %s valid until %s%s. '
            % (root['subject'], root['until'], _fs(root.get('filestamp')), _root_note(ref), ref['until'],
               _fs(ref['filestamp'])))
    trail = assoc.get('trail') or []
    via = trail[0] if len(trail) > 1 else None
    if via is None:
        return text + (KEEPS + '; a restart fetches the new certificate (and is refused, 103 bad_filestamp, if the '
                       'group key changed too and this host still holds the old params): restart ntpd here, then '
                       'on the hosts that sync from it')
    upstream = running.get(via)
    if upstream and upstream['root_until'] == ref['until']:
        if not upstream['synchronised']:
            return text + ('%s already holds the new one but is not synchronised: restarted now, this host would '
                           'wait for it (no certificate until it is); fix %s first (its own findings say why), then '
                           'restart ntpd here' % (via, via))
        return text + ('%s already holds the new one: %s; restart ntpd here' % (via, KEEPS))
    return text + ('It came through %s, which still holds the old one: restarted alone, this host fetches the old '
                   'certificate again from %s and stays in stale trust; restart ntpd on %s first, then here'
                   % (via, via, via))


def _stale_trail(assoc, running):
    """Certificates of in-between hosts (group servers) that changed since this host fetched them."""
    found = []
    root = (assoc.get('trust_root') or {}).get('subject')
    for cert in assoc.get('received', []):
        now = running.get(cert['subject'])
        if cert['subject'] == root or not now or not now['certificate'] or now['certificate'] == cert['filestamp']:
            continue
        found.append('stale trust: holds the %s certificate fs %s, but %s now runs fs %s; %s: restart ntpd here'
                     % (cert['subject'], cert['filestamp'], now['name'], now['certificate'], KEEPS))
    return found


def running_certificates(statuses):
    """{CN: {'name' (inventory), 'certificate' (filestamp of the certificate its ntpd loaded), 'root_until'
    (notAfter of the trusted host certificate it holds), 'serves' ({scheme: fs} of its group keys),
    'synchronised'}} of every host in the run."""
    found = {}
    for name, status in statuses.items():
        if not status or not status.get('host'):
            continue
        roots = [c['until'] for c in status.get('certificates', [])
                 if c['self_signed'] and not c['own'] and c['trusted']]
        loaded = status.get('loaded') or {}
        found[status['host']] = dict(name=name, certificate=loaded.get('certificate'),
                                     root_until=roots[0] if len(roots) == 1 else None,
                                     serves=loaded.get('group_keys') or {}, synchronised=status.get('synchronised'))
    return found


def _current_group_key(ref, scheme):
    """(filestamp, words naming where it comes from) of the group key a trusted host holds now."""
    if ref['group_keys'].get(scheme):
        return ref['group_keys'][scheme], '%s now holds fs %s' % (ref['inventory'], ref['group_keys'][scheme])
    if ref['handed_over'].get(scheme):
        return ref['handed_over'][scheme], ('the key file handed over (autokey_group_key_file) for %s is fs %s'
                                            % (ref['inventory'], ref['handed_over'][scheme]))
    return None, None


def _stale_group(assoc, refs, running):
    root, stamp = assoc.get('trust_root'), assoc.get('identity_filestamp')
    ref = (refs.get(root['subject']) or refs.get(None)) if root else None
    if not ref or not stamp:
        return None
    scheme = (assoc.get('flags') or {}).get('schemes', [None])[0]
    current, where = _current_group_key(ref, scheme)
    if not current or current == stamp:
        return None
    text = 'stale group key: verified %s against group key fs %s, but %s. ' % ((scheme or '?').upper(), stamp, where)
    trail = assoc.get('trail') or []
    via = trail[0] if len(trail) > 1 else None
    served = (running.get(via) or {}).get('serves', {}).get(scheme) if via else None
    if via and served == stamp:
        return text + ('%s still serves fs %s: this host verifies against it on the old key, also after a restart; '
                       'once %s runs on fs %s, this host restarted on these params is refused (103 bad_filestamp) '
                       'until it holds the new params: install them (site.yml) and restart ntpd here after %s'
                       % (via, stamp, via, current, via))
    return text + (KEEPS + '; restarted on these params it is refused (103 bad_filestamp): install the new params '
                   '(site.yml), then restart ntpd here')


def _stale_server_key(status, refs):
    found = []
    for scheme, stamp in (status.get('loaded') or {}).get('group_keys', {}).items():
        current = {}
        for ref in refs.values():
            fs, where = _current_group_key(ref, scheme)
            if fs:
                current[fs] = where
        if current and stamp not in current:
            found.append('stale server key: serves the %s group key fs %s, but %s. Its clients on the params of fs '
                         '%s keep verifying against it, also after they restart; clients given the new params are '
                         'refused (103 bad_filestamp) until ntpd here restarts on the new server key: install it '
                         '(site.yml), restart ntpd here, then on its clients'
                         % (scheme.upper(), stamp, '; '.join(current[fs] for fs in sorted(current)), stamp))
    return found


def host_problems(status, refs, is_trusted, error=None, running=None, unchecked=None):
    if not status:
        return ['no status: %s' % (error or 'the host was unreachable')]
    found = list(status['problems'])
    if is_trusted:
        return found
    running = running or {}
    found += _stale_server_key(status, refs)
    for assoc in status['associations']:
        if assoc.get('method') != 'autokey' or assoc['state'] in ('none', 'pending', 'failing', 'blocked'):
            continue  # stale trust is about the certificates and group keys of Autokey associations
        texts = [_stale_root(assoc, refs, running, unchecked), _stale_group(assoc, refs, running)]
        texts += _stale_trail(assoc, running)
        found += ['%s (%s): %s' % (assoc['address'], assoc['cn'] or '?', text) for text in texts if text]
    return found


def stuck(statuses):
    """CNs of hosts that are not synchronised and will not be by waiting: every verdict final, an Autokey
    association among them (a host without one, such as a trusted host on its time sources, may still
    synchronise). Clients waiting for one of them have a final verdict (status_info `stuck`)."""
    return sorted(s['host'] for s in statuses.values()
                  if s and s.get('host') and s.get('converged') and not s.get('synchronised')
                  and any(a['state'] != 'none' for a in s.get('associations', [])))


def replaced(statuses):
    """{inventory name: 'name (daemon)'} of the hosts that run no Autokey-capable ntpd where one was deployed (ntpsec
    after an upgrade to Debian 12, an ntpd built without OpenSSL): their Autokey clients can never verify them.
    A host where ntpsec was deployed on purpose (status_info daemon=ntpsec) replaced nothing."""
    found = {}
    for name, status in statuses.items():
        daemon = (status or {}).get('daemon_identity') or {}
        if status and status.get('expected_daemon') == 'ntpsec':
            continue
        if daemon.get('kind') in ('ntpsec', 'ntpd-no-openssl') and not status.get('flags'):
            found[name] = '%s (%s)' % (name, daemon['name'])
    return found


def _record(host, upstream, verdict, synchronised, authenticated, assoc=None, **extra):
    """One line of the fleet's table as data (the table, JSON, JUnit and Prometheus reports read these)."""
    assoc = assoc or {}
    root = assoc.get('trust_root') or {}
    record = dict(host=host, upstream=upstream, address=assoc.get('address'), method=assoc.get('method') or 'none',
                  state=assoc.get('state'), flags=(assoc.get('flags') or {}).get('word'), verdict=verdict,
                  trust_root=root.get('subject'), trust_root_until=root.get('until'),
                  group_filestamp=assoc.get('identity_filestamp'), synchronised=synchronised,
                  authenticated=authenticated)
    record.update(extra)
    return record


def _records(name, status, is_trusted=False):
    if not status:
        return [_record(name, None, 'no status', None, False)]
    records = []
    daemon = status.get('daemon_identity') or {}
    # (a host whose other associations are authenticated: a plain one beside them is a finding, shown in the table)
    authenticated = any(a.get('method') in ('autokey', 'symmetric', 'nts') for a in status['associations'])
    for assoc in status['associations']:
        if assoc['state'] == 'none':
            # a host without Autokey (replaced ntpd, crypto off): the time it takes, with nothing proving where it
            # came from (a trusted host's own time sources and reference clocks are not the fleet's to judge)
            if (assoc['synchronised'] and 'daemon_identity' in status and not status.get('flags')
                    and not assoc['address'].startswith('127.127.')):
                records.append(_record(name, assoc['address'], 'no authentication' + (
                    ' (%s, no Autokey)' % daemon['name'] if daemon.get('name') and not daemon.get('autokey') else ''),
                    True, False, assoc))
            elif authenticated and not is_trusted and not assoc['address'].startswith('127.127.'):
                records.append(_record(name, assoc.get('name') or assoc['address'], assoc['verdict'],
                                       bool(assoc['synchronised']), False, assoc))
            continue
        upstream = (assoc['cn'] or assoc['address']) + (' (%s)' % assoc['mode'] if assoc.get('mode') == 'bclient' else '')
        records.append(_record(name, upstream, assoc['verdict'], bool(assoc['synchronised']),
                               assoc['state'] in AUTHENTICATED, assoc))
    if not records and status.get('own_clock_stratum'):
        records.append(_record(name, '(own clock)', 'serves its own clock at stratum %s' % status['own_clock_stratum'],
                               True, True))
    if not records and daemon.get('name') and not daemon.get('autokey'):
        records.append(_record(name, None, 'no Autokey (%s)' % daemon['name'], bool(status.get('synchronised')),
                               False))
    if not records:
        offers = '/'.join(status.get('offers', [])).upper() or 'no scheme'
        records.append(_record(name, '(own clock)', 'offers %s' % offers, bool(status.get('synchronised')), True,
                               flags=(status.get('flags') or {}).get('word'), trust_root=status.get('host'),
                               group_filestamp=' '.join('%s %s' % kv for kv in sorted(
                                   (status.get('loaded') or {}).get('group_keys', {}).items())) or None))
    return records


def _row(record):
    """The table's cells of a record."""
    root = record['trust_root'] or '-'
    if record['trust_root_until']:
        root += ' until %s' % record['trust_root_until']
    return (record['host'], record['upstream'] or '-', record['flags'] or '-', record['verdict'], root,
            str(record['group_filestamp'] or '-'),
            '-' if record['synchronised'] is None else 'yes' if record['synchronised'] else 'no')


def _own_certificates(statuses):
    """{host: (subject, until)} of each host's own Autokey certificate (ntpq `until`, YYYYMMDDHHMM UTC)."""
    found = {}
    for name, status in statuses.items():
        cert = _own_certificate(status)
        if cert and cert.get('until'):
            found[name] = (cert['subject'], cert['until'])
    return found


def table(rows):
    widths = [max(len(str(r[i])) for r in [COLUMNS] + rows) for i in range(len(COLUMNS))]
    return ['  '.join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
            for row in [COLUMNS] + rows]


def _about_unmanaged(text):
    """Whether a finding is stale trust against a trusted host not managed here (what verify_accept_stale_unmanaged
    accepts)."""
    return ('stale' in text and '(not managed here)' in text) or 'stale trust not checked' in text


def report(results, hosts, trusted_hosts=(), unmanaged=None, accept_stale_unmanaged=False):
    """{'ok', 'problems': {host: [..]}, 'accepted': {host: [..]}, 'lines': table, notes and findings, 'trusted',
    'records': the table's lines as data, each with its host's 'ok', 'own_certificates': {host: (subject, until)},
    'stuck', 'replaced'} for `hosts` (inventory names, in order).

    `results` maps inventory names to what status_info returned (registered), for hosts that ran it.
    `unmanaged` describes trusted hosts Ansible does not manage (see unmanaged_references); with
    `accept_stale_unmanaged`, stale findings against them are listed as accepted instead of failing."""
    statuses = dict((name, (result or {}).get('status')) for name, result in results.items())
    refs = references(statuses, trusted_hosts)
    outside, query_problems, notes = unmanaged_references(unmanaged)
    for cn, ref in outside.items():
        refs.setdefault(cn, ref)
    unchecked = None
    if unmanaged and not [cn for cn in outside if cn]:
        unchecked = ('the trusted host is not managed here and was not queried' if not unmanaged.get('query', True)
                     else 'the trusted host not managed here could not be queried')
    running = running_certificates(statuses)
    # with verify_unmanaged_query=false (the operator's choice), what only the query could tell is not checked, not
    # a failure; everything else is judged as usual. A query that was tried and failed stays a failure.
    not_queried = bool(unmanaged) and not unmanaged.get('query', True)
    problems, accepted, not_checked, records = {}, {}, {}, []
    for name in hosts:
        status = statuses.get(name)
        error = (results.get(name) or {}).get('msg')
        found = host_problems(status, refs, name in trusted_hosts, error, running, unchecked)
        found += query_problems.get(name, [])
        if not_queried:
            unknown = [text for text in found if 'stale trust not checked' in text]
            if unknown:
                not_checked[name] = unknown
                found = [text for text in found if text not in unknown]
        if accept_stale_unmanaged:
            kept = [text for text in found if not _about_unmanaged(text)]
            if len(kept) != len(found):
                accepted[name] = [text for text in found if text not in kept]
            found = kept
        if found:
            problems[name] = found
        records += [dict(record, ok=not found) for record in _records(name, status, name in trusted_hosts)]
    for name in query_problems:  # a host that queried but is not reported on
        if name not in hosts:
            problems.setdefault(name, []).extend(query_problems[name])
    lines = table([_row(record) for record in records]) + notes
    if not [cn for cn in refs if cn] and not unchecked:
        lines.append('stale trust not checked: no trusted host of this run answered')
    for name in hosts:
        for text in problems.get(name, []):
            lines.append('%s: %s' % (name, text))
        for text in accepted.get(name, []):
            lines.append('%s: accepted (verify_accept_stale_unmanaged): %s' % (name, text))
        for text in not_checked.get(name, []):
            lines.append('%s: not checked (verify_unmanaged_query=false), not a failure: %s' % (name, text))
    return dict(ok=not problems, problems=problems, accepted=accepted, not_checked=not_checked, lines=lines,
                trusted=sorted(cn for cn in refs if cn), records=records, own_certificates=_own_certificates(statuses),
                stuck=stuck(statuses), replaced=replaced(statuses))
