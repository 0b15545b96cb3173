# -*- coding: utf-8 -*-
# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One host's Autokey state, judged: what each association really verified, in plain words.

Inputs are texts read on the host (ntpq output, cryptostats) and the names
in its keysdir; nothing here runs commands, so captured outputs test it.

Identity verdict of an association (reference section 5.4):
* VRFY with ident and a scheme bit: only a real identity exchange sets it;
* VRFY without ident: certificate-only trust (TC), any Trust Root passes;
* VRFY with ident but no scheme bit: the server offers no scheme, TC fallback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import cryptostats, flags, ntpq

CERT_TRUST = 0x01
CERT_FLAGS = ((0x01, 'trust'), (0x02, 'sign'), (0x04, 'valid'), (0x08, 'private'), (0x80, 'error'))
# ntpq's hmode: how this host talks to the association's peer
MODES = {'1': 'active', '2': 'passive', '3': 'client', '4': 'server', '5': 'broadcast', '6': 'bclient'}
FINAL = ('verified', 'tc-only', 'tc-fallback', 'failing', 'none')
TRUSTING = ('verified', 'tc-only', 'tc-fallback')  # VRFY set


def _certificate(entry, own_host, now):
    flags_word = entry['flags']
    until = entry['until']
    return dict(subject=entry['subject'], issuer=entry['issuer'], flags='0x%x' % flags_word,
                flag_names=[name for bit, name in CERT_FLAGS if flags_word & bit], until=until,
                self_signed=entry['subject'] == entry['issuer'], own=entry['subject'] == own_host,
                trusted=bool(flags_word & CERT_TRUST),
                expired=bool(until) and until < time.strftime('%Y%m%d%H%M', time.gmtime(now)))


def trail(certificates, start, own_host):
    """Certificates from `start` up to a self-signed one, as ntpd's cache holds them."""
    chain, subject, seen = [], start, set()
    while subject and subject not in seen:
        seen.add(subject)
        candidates = [c for c in certificates if c['subject'] == subject]
        if subject == own_host or not candidates:  # our own certificate never ends an upstream trail
            break
        cert = sorted(candidates, key=lambda c: 'valid' not in c['flag_names'])[0]
        chain.append(cert)
        if cert['self_signed']:
            break
        subject = cert['issuer']
    return chain


def _params_link(files, scheme, group):
    return 'ntpkey_%spar_%s' % (scheme, group) in files


def judge(assoc, files):
    """(state, verdict, hint) of one association; see the module docstring."""
    word = assoc['flags']
    if word is None and assoc['ident']:  # configured with autokey ident, the server has not answered yet
        return 'pending', 'pending: assoc (no answer from the server yet)', 'check that the server runs and is reachable'
    if word is None:
        return 'none', 'not an Autokey association', ''
    ident, offered = assoc['ident'], word['schemes']
    errors = assoc['errors']
    if word['bits']['VRFY']:
        if not ident:
            return ('tc-only', 'tc-only: no ident on the server line',
                    'certificate-only trust: any host with a Trust Root certificate of that name would pass; '
                    'add "ident <group>" to the server line and give this host the params')
        if not offered:
            return ('tc-fallback', 'tc-fallback: server offers no scheme',
                    'the server has no group key loaded, so ntpd trusted the certificate alone; install the '
                    'server key on the upstream and restart it')
        return 'verified', '%s verified' % offered[0], ''
    waiting = word.get('waiting_for') or 'assoc'
    if ident and offered and files and not _params_link(files, offered[0], ident):
        return ('failing', 'failing: no params file ntpkey_%spar_%s' % (offered[0], ident),
                'the client cannot run the identity exchange and restarts the association (10f); install the params')
    if len(errors) >= 2 or (errors and assoc['restarts']):
        last = errors[-1]
        return 'failing', 'failing: %s %s' % (last['code'], last['text']), last['hint']
    if errors:
        return 'pending', 'pending: %s (after one %s %s)' % (waiting, errors[-1]['code'], errors[-1]['text']), ''
    if word['bits']['ENAB'] and not offered and ident:
        return 'pending', 'pending: %s' % waiting, 'the server offers no scheme: this will fall back to TC'
    return 'pending', 'pending: %s' % waiting, ''


def association(block, events, certificates, own_host, files):
    values, dummy = ntpq.variables(block)
    status = ntpq.peer_status(block['status'])
    address = values.get('srcadr', '')
    word = flags.decode(values['flags'], 'association') if 'flags' in values else None
    stats = cryptostats.association_facts(events, address)
    cn = values.get('host')
    chain = trail(certificates, cn, own_host) if cn else []
    root = chain[-1] if chain and chain[-1]['self_signed'] else None
    received = dict((c['subject'], c['filestamp']) for c in stats['certificates'])
    assoc = dict(
        assid=block['associd'], address=address, cn=cn, signature=values.get('signature'),
        mode=MODES.get(values.get('hmode')),
        ident=values.get('ident') or None, flags=word, reach=values.get('reach'),
        selection=status['selection'], synchronised=status['selection'] in ('sys.peer', 'pps.peer'),
        authentic=status['authentic'], flash=values.get('flash'), step=word['step'] if word else None,
        waiting_for=word['waiting_for'] if word else None, proof=stats['proof'],
        identity_filestamp=stats['identity_filestamp'], errors=stats['errors'][-3:], restarts=stats['restarts'],
        trail=[c['subject'] for c in chain],
        received=[dict(subject=c['subject'], issuer=c['issuer'], filestamp=c['filestamp']) for c in stats['certificates']],
        trust_root=dict(root, filestamp=received.get(root['subject'])) if root else None)
    assoc['state'], assoc['verdict'], assoc['hint'] = judge(assoc, files)
    if assoc['state'] == 'verified' and not assoc['proof']:
        assoc['proof'] = 'inferred: VRFY with ident %s and %s offered (no cryptostats line for it)' % (
            assoc['ident'], word['schemes'][0].upper())
    return assoc


def assess(system_text, peers_text, cryptostats_text=None, files=None, require_identity=True, offers=None,
           now=None):
    """Everything status_info returns about one host (see its RETURN documentation)."""
    now = time.time() if now is None else now
    files = files or {}
    blocks = ntpq.read_variables(system_text)
    if not blocks or blocks[0]['associd'] != 0:
        raise ntpq.NtpqError('no system variables in ntpq output (is ntpd running and answering ntpq?)')
    values, raw_certs = ntpq.variables(blocks[0])
    events = cryptostats.read(cryptostats_text) if cryptostats_text is not None else []
    own = values.get('host')
    certificates = [_certificate(c, own, now) for c in raw_certs]
    system_word = flags.decode(values['flags'], 'system') if 'flags' in values else None
    group = own.split('@', 1)[1] if own and '@' in own else None
    result = dict(
        host=own, group=group, flags=system_word, offers=system_word['schemes'] if system_word else [],
        stratum=int(values['stratum']) if values.get('stratum', '').isdigit() else None,
        system_peer=int(values['peer']) if values.get('peer', '').isdigit() else None,
        signature=values.get('signature'), certificates=certificates,
        cryptostats='read' if cryptostats_text is not None else 'not available',
        loaded=cryptostats.loaded(events, own.split('@')[0] if own else None, group),
        files=files)
    result['synchronised'] = bool(result['stratum'] is not None and result['stratum'] < 16 and result['system_peer'])
    result['associations'] = [association(b, events, certificates, own, files)
                              for b in ntpq.read_variables(peers_text or '') if b['associd']]
    trusting = [a for a in result['associations'] if a['state'] in TRUSTING]
    result['synchronised_to_autokey'] = any(a['synchronised'] for a in trusting)
    result['converged'] = bool(result['associations']) and all(a['state'] in FINAL for a in result['associations']) and all(
        a['flags']['complete'] for a in trusting) and (result['synchronised_to_autokey'] or not trusting)
    result['problems'] = problems(result, require_identity, offers)
    return result


def problems(result, require_identity=True, offers=None):
    """Plain-word findings that make this host not protected by Autokey."""
    found = []
    word = result['flags']
    if word is None:
        return ['Autokey is off: ntpd shows no crypto flags (no crypto line in ntp.conf, or an ntpd without '
                'OpenSSL)']
    if offers and offers not in result['offers']:
        link = 'ntpkey_%skey_%s' % (offers, result['group'])
        found.append('offers no %s to its clients (system flags %s): %s' % (
            offers.upper(), word['word'],
            '%s is missing from the keysdir' % link if link not in result['files'] else
            'the group key is on disk but ntpd did not load it (restart ntpd, or check crypto ident)'))
    for cert in result['certificates']:
        if cert['own'] and cert['self_signed'] and cert['expired']:
            found.append('own certificate expired (%s): this host can neither sign nor be signed' % cert['until'])
    autokey = [a for a in result['associations'] if a['state'] != 'none']
    if not autokey and not offers:
        found.append('no Autokey association: nothing this host trusts is verified')
    accepted = [a for a in autokey if a['state'] == 'verified' or (a['state'] in TRUSTING and not require_identity)]
    if accepted and not any(a['synchronised'] for a in accepted):
        found.append('not synchronised to its verified association%s (%s)' % (
            's' if len(accepted) > 1 else '', ', '.join(a['selection'] for a in accepted)))
    for assoc in autokey:
        state, who = assoc['state'], '%s (%s)' % (assoc['address'], assoc['cn'] or '?')
        if state == 'verified':
            continue
        if state in ('tc-only', 'tc-fallback') and not require_identity:
            continue
        found.append('%s: %s%s' % (who, assoc['verdict'], ' (%s)' % assoc['hint'] if assoc['hint'] else ''))
    return found


def restart_facts(started, mtimes):
    """Files changed since ntpd started (it reads keys and configuration at start only)."""
    if started is None:
        return dict(daemon_started=None, changed_since_start=[], restart_needed=False)
    newer = sorted(name for name, when in mtimes.items() if when > started)
    return dict(daemon_started=started, changed_since_start=newer, restart_needed=bool(newer))
