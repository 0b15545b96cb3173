# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read ntpd's cryptostats file: `<MJD> <seconds> <source address> <message>` per line.

Only lines of the daemon's current run count (after its last `setup` line),
and for an association only those after its last `assoc` line.
"""


import re

_LINE = re.compile(r'^(\d+) (\d+(?:\.\d+)?) (\S+) (.*)$', re.ASCII)
_LOADED = re.compile(r'^ntpkey_(\S+?)_(\S+)\.(\d+) (?:mod \d+|0x[0-9a-f]+ len \d+)$', re.ASCII)
_PROOF = re.compile(r'^(iff|gq|mv) (\S+) fs (\d+)$', re.ASCII)
_CERT = re.compile(r'^cert (\S+) (\S+) (0x[0-9a-f]+) (\S+) \((\d+)\) fs (\d+)$', re.ASCII)
_ERROR = re.compile(r'^[0-9a-f]{8} (\d+) (1[0-9a-f]{2}) (\S.*)$', re.ASCII)
_ASSOC = re.compile(r'^assoc (\d+) \d+ host (\S+)', re.ASCII)

# What each error code usually means (autokey reference, section 7.3).
ERROR_HINTS = {
    '101': 'malformed or oversized extension field',
    '102': 'sender not synchronised, or a replay',
    '103': 'the params filestamp differs from the server key: the client holds params of another group key',
    '104': 'defective identity or cookie key',
    '105': 'the server certificate signature has no usable digest (DSA certificate?)',
    '106': 'identity scheme mismatch (PC against non-PC, or symmetric peers differ)',
    '107': 'signature length differs from the public key size',
    '108': 'signature not verified: certificate key differs from the sign key, or a stale cached certificate',
    '109': 'a certificate on the trail is signed by a different key (restart the group server to be re-signed)',
    '10a': 'a certificate on the trail, or this host\'s own, is outside its validity',
    '10b': 'bad or missing cookie',
    '10c': 'bad or missing leap seconds values',
    '10d': 'a received certificate could not be parsed (notBefore earlier than its filestamp?)',
    '10e': 'identity not verified: the params do not match the server\'s group key (for MV: or this client\'s key was revoked), or the server lacks it',
    '10f': 'the server answered with an error; a client without a params file sends an empty identity request '
           'and restarts',
}


class Event:
    __slots__ = ('day', 'seconds', 'source', 'message')

    def __init__(self, day, seconds, source, message):
        self.day, self.seconds, self.source, self.message = day, seconds, source, message

    @property
    def when(self):
        """Seconds since the Unix epoch (MJD 40587 is 1970-01-01)."""
        return (self.day - 40587) * 86400 + self.seconds


def read(text):
    """Events of the current daemon run, oldest first; lines that are not cryptostats lines are skipped."""
    if isinstance(text, bytes):  # ntpd writes ASCII: a damaged byte spoils its own line only
        text = text.decode('utf-8', 'replace')
    events = []
    for line in (text or '').splitlines():
        match = _LINE.match(line.strip())
        if not match:
            continue
        event = Event(int(match.group(1)), float(match.group(2)), match.group(3), match.group(4))
        if event.message.startswith('setup '):
            # ntpd (re)started: keep only the key files it loaded just before this line
            start = len(events)
            while start and events[start - 1].source == '0.0.0.0' and _LOADED.match(events[start - 1].message):
                start -= 1
            events = events[start:]
        events.append(event)
    return events


def loaded_files(events):
    """{(kind, name): filestamp} of the key files ntpd loaded at startup, e.g. ('IFFkey', 'lab')."""
    files = {}
    for event in events:
        match = _LOADED.match(event.message)
        if match and event.source == '0.0.0.0':
            files[(match.group(1), match.group(2))] = int(match.group(3))
    return files


def loaded(events, host, group):
    """Filestamps of the daemon's own certificate (ntpkey_<digest>cert_<host>.<fs>) and of each group
    (server) key it loaded ({'iff': fs, ...}, whatever the case of the file name)."""
    certificate, group_keys = None, {}
    for (kind, name), filestamp in loaded_files(events).items():
        if name == host and kind.endswith('cert'):
            certificate = filestamp
        elif name == group and kind.lower() in ('iffkey', 'gqkey', 'mvkey'):
            group_keys[kind.lower()[:-3]] = filestamp
    return dict(certificate=certificate, group_keys=group_keys)


def association_events(events, address):
    """Events of the current association with `address` (after its last `assoc` line)."""
    mine = [e for e in events if e.source == address]
    starts = [i for i, e in enumerate(mine) if _ASSOC.match(e.message)]
    return mine[starts[-1]:] if starts else mine


def association_facts(events, address):
    """Identity proof, received certificates and errors of the association with `address`."""
    current = association_events(events, address)
    every = [e for e in events if e.source == address]
    facts = dict(proof=None, identity_filestamp=None, certificates=[], errors=[], restarts=0, error_is_current=False)
    for event in current:
        proof = _PROOF.match(event.message)
        if proof:
            facts['proof'] = event.message
            facts['identity_filestamp'] = int(proof.group(3))
        cert = _CERT.match(event.message)
        if cert:
            facts['certificates'].append(dict(subject=cert.group(1), issuer=cert.group(2), flags=int(cert.group(3), 16),
                                              signature=cert.group(4), nid=int(cert.group(5)),
                                              filestamp=int(cert.group(6))))
    for event in every:  # errors restart the association (10f), so look across its restarts
        error = _ERROR.match(event.message)
        if error:
            facts['errors'].append(dict(code=error.group(2), text=error.group(3), when=event.when,
                                        hint=ERROR_HINTS.get(error.group(2), '')))
    facts['restarts'] = max(0, sum(1 for e in every if _ASSOC.match(e.message)) - 1)
    # whether the last error belongs to the association as it runs now: after a newer assoc line (the server or
    # this daemon restarted it since), an error is history, and the files that explained it may since be right
    facts['error_is_current'] = any(_ERROR.match(e.message) for e in current)
    return facts
