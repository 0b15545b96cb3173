# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Decode ntpd 4.2.8 Autokey flags words (system `rv 0 flags` or association `rv <id> flags`).

Low 16 bits: protocol state (include/ntp_crypto.h). Bits 31..16: the OpenSSL
NID of the certificate signature (own certificate in a system word, the
server's in an association word).
"""


import re

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError

BITS = (
    (0x0001, 'ENAB', 'crypto enabled'),
    (0x0002, 'TAI', 'leap/TAI values available (set once synchronised)'),
    (0x0010, 'PRIV', 'private certificate (PC scheme)'),
    (0x0020, 'IFF', 'IFF identity scheme offered'),
    (0x0040, 'GQ', 'GQ identity scheme offered'),
    (0x0080, 'MV', 'MV identity scheme offered'),
    (0x0100, 'CERT', 'certificate trail reached a trusted certificate'),
    (0x0200, 'VRFY', 'identity confirmed (or TC fallback)'),
    (0x0400, 'PROV', 'proventic: a signature verified after VRFY'),
    (0x0800, 'COOK', 'cookie received'),
    (0x1000, 'AUTO', 'autokey values received'),
    (0x2000, 'SIGN', 'our certificate was signed by this server'),
    (0x4000, 'LEAP', 'leap values received'),
)
KNOWN = sum(bit for bit, dummy, dummy2 in BITS)
SCHEME_BITS = ((0x0020, 'iff'), (0x0040, 'gq'), (0x0080, 'mv'))
SCHEME_MASK = 0x00F0
ALL = 0x7F00  # every client-side bit: the association completed the protocol

# Protocol steps of a client association, in the order ntpd runs them (flag that marks each done).
STEPS = (('assoc', 0x0001), ('cert', 0x0100), ('identity', 0x0200), ('cookie', 0x0800), ('proventic', 0x0400),
         ('sign', 0x2000), ('leap', 0x4000))

# OpenSSL NIDs of certificate signatures (long names as ntpq prints them).
NIDS = {
    8: 'md5WithRSAEncryption', 65: 'sha1WithRSAEncryption', 671: 'sha224WithRSAEncryption',
    668: 'sha256WithRSAEncryption', 669: 'sha384WithRSAEncryption', 670: 'sha512WithRSAEncryption',
    119: 'ripemd160WithRSA', 396: 'md4WithRSAEncryption',
    113: 'dsaWithSHA1', 66: 'dsaWithSHA', 802: 'dsa_with_SHA224', 803: 'dsa_with_SHA256',
}
UNUSABLE_NIDS = (113, 66, 802, 803)  # DSA: no digest by NID on OpenSSL 1.1, peers answer 105
_WORD = re.compile(r'^(0[xX][0-9a-fA-F]{1,8}|[0-9]{1,10})$')


class FlagsError(AutokeyError):
    pass


def parse_word(word):
    """An int from 0x-hex text, decimal text or an int; FlagsError when it is not a 32-bit flags word."""
    if isinstance(word, bool):
        raise FlagsError('not a flags word: %r (a boolean)' % (word,))
    if isinstance(word, int):
        value = word
    elif isinstance(word, str):
        text = word.strip().strip('"')
        if not _WORD.match(text):
            raise FlagsError('not a flags word: %r (expected hex such as 0x87f03, or a decimal number)'
                             % (word[:40],))
        value = int(text, 16) if text.lower().startswith('0x') else int(text)
    else:
        raise FlagsError('not a flags word: %r (a %s)' % (word, type(word).__name__))
    if not 0 <= value <= 0xFFFFFFFF:
        raise FlagsError('not a flags word: %r (outside 32 bits)' % (word,))
    return value


def signature_name(nid):
    if nid == 0:
        return None
    return NIDS.get(nid, 'unknown signature (NID %d)' % nid)


def step_reached(value):
    """(last step done, next step awaited or None) for an association word."""
    done, waiting = None, None
    for name, bit in STEPS:
        if value & bit:
            done = name
        elif waiting is None:
            waiting = name
    return done, waiting


def decode(word, kind='auto'):
    """Every fact a flags word holds, as a dict; `kind` is auto, system or association."""
    value = parse_word(word)
    if kind not in ('auto', 'system', 'association'):
        raise FlagsError('kind must be auto, system or association, not %r' % (kind,))
    low, nid = value & 0xFFFF, value >> 16
    if kind == 'auto':
        kind = 'association' if low & ALL else 'system'
    result = dict(
        value=value, word='0x%x' % value, kind=kind, nid=nid, signature=signature_name(nid),
        names=[name for bit, name, dummy in BITS if low & bit],
        schemes=[name for bit, name in SCHEME_BITS if low & bit],
        unknown_bits='0x%x' % (low & ~KNOWN) if low & ~KNOWN else None,
    )
    result['bits'] = dict((name, bool(low & bit)) for bit, name, dummy in BITS)
    if kind == 'association':
        result['step'], result['waiting_for'] = step_reached(low)
        result['complete'] = low & ALL == ALL
    result['explanation'] = explain(result)
    return result


def _signature_words(facts, whose):
    nid, name = facts['nid'], facts['signature']
    if nid == 0:
        return 'no certificate signature recorded (upper 16 bits are 0)'
    text = '%s certificate signed with %s (NID %d in bits 31..16)' % (whose, name, nid)
    if nid in UNUSABLE_NIDS:
        text += ': a DSA signature, which ntpd 4.2.8 on OpenSSL 1.1 cannot use (105 unsupported digest)'
    return text


def explain(facts):
    """Plain words for a decoded word (see decode)."""
    low = facts['value'] & 0xFFFF
    parts = []
    if not low & 0x0001:
        parts.append('crypto is not enabled' if facts['kind'] == 'system' else
                     'no Autokey response from the server yet')
    offered = '/'.join(s.upper() for s in facts['schemes'])
    if facts['kind'] == 'system':
        parts.append(_signature_words(facts, 'own'))
        parts.append('offers %s to clients' % offered if offered else
                     'offers no identity scheme: clients with ident fall back to trusting the certificate alone')
        parts.append('synchronised (TAI set)' if low & 0x0002 else 'not yet synchronised (no TAI bit)')
        if low & 0x0010:
            parts.append('private certificate (PC scheme)')
        if low & ALL:
            parts.append('holds association bits, so this is not a system word')
    else:
        parts.append(_signature_words(facts, "server's"))
        parts.append('server offers %s' % offered if offered else 'server offers no identity scheme')
        done = [name for bit, name, dummy in BITS if low & bit & ALL]
        parts.append('steps done: %s' % (' '.join(done) or 'none'))
        if facts['complete']:
            parts.append('protocol complete')
        else:
            parts.append('waiting for %s' % facts['waiting_for'])
        if low & 0x0200:
            parts.append('VRFY without a scheme bit came from the trusted certificate alone (TC fallback): '
                         'any host with a Trust Root certificate of that name would pass' if not offered else
                         'VRFY with %s offered: a real %s exchange ran only if the server line has ident '
                         '(proof: a cryptostats "%s ..." line)' % (offered, offered, facts['schemes'][0]))
        if low & 0x0002:
            parts.append('server has TAI values')
    if facts['unknown_bits']:
        parts.append('bits %s have no meaning in ntpd 4.2.8' % facts['unknown_bits'])
    return '%s word %s: %s' % (facts['kind'], facts['word'], '; '.join(parts))
