# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parse what `ntpq -n -c "rv 0" -c as` and `ntpq -n -c "rv <assid>"` print (ntpq 4.2.8).

rv output is `name=value` pairs separated by commas and line breaks; values
may be quoted, and unquoted ones (reftime, filtdelay) may hold commas and
spaces, so a value runs until the next `, name=` or line-leading `name=`.
ntpsec's ntpq (1.2.2) writes some names with a space before the `=`
(`keyid=20,  filtdelay =...`, seen live), so a name may be followed by blanks. It also prints one or two bytes
that are no part of the value before the first tab of filtdelay, filtoffset and filtdisp (`filtdelay =PX<tab>0.12`,
`=Xw<tab>`, `=^X<tab>`: seen live, different at each call): dropped before parsing, whatever they are (a quote, a
comma or an `=` among them would otherwise shift every variable after them).
"""


import re

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError

SELECTION = ('reject', 'falsetick', 'excess', 'outlier', 'candidate', 'backup', 'sys.peer', 'pps.peer')
_HEADER = re.compile(r'associd=(\d+) status=([0-9a-fA-F]{4})\b[^\n]*', re.ASCII)
_NAME = re.compile(r'[\s,]*([A-Za-z_][A-Za-z0-9_.]*)[ \t]*=', re.ASCII)
_NEXT = re.compile(r',\s*(?=[A-Za-z_][A-Za-z0-9_.]*[ \t]*=)|\n(?=[A-Za-z_][A-Za-z0-9_.]*[ \t]*=)', re.ASCII)
_NTPSEC_FILTER = re.compile(r'\b(filtdelay|filtoffset|filtdisp)[ \t]+=[^\t]{0,8}\t', re.ASCII)
_ROW = re.compile(r'^\s*(\d+)\s+(\d+)\s+([0-9a-fA-F]{4})\s+(yes|no)\s+(yes|no)\s+(\S+)\s+(\S+)(?:\s+(\S+))?\s+(\d+)\s*$', re.ASCII)


class NtpqError(AutokeyError):
    pass


def _pairs(text):
    """[(name, value)] of the variable text after an associd header line."""
    pairs, pos, end = [], 0, len(text)
    while pos < end:
        match = _NAME.match(text, pos)
        if not match:
            if text[pos:].strip(' \t\r\n,'):
                raise NtpqError('unexpected text in ntpq output: %r' % text[pos:pos + 40])
            break
        name, pos = match.group(1), match.end()
        if text.startswith('"', pos):
            close = text.find('"', pos + 1)
            if close < 0:
                raise NtpqError('unterminated quoted value of %s in ntpq output' % name)
            value, pos = text[pos + 1:close], close + 1
        else:
            stop = _NEXT.search(text, pos)
            stop_at = stop.start() if stop else end
            value, pos = text[pos:stop_at].strip().rstrip(',').strip(), stop_at
        pairs.append((name, value))
    return pairs


def read_variables(text):
    """Each `associd=` block of rv output as {'associd', 'status', 'pairs'}."""
    if not isinstance(text, str):
        raise NtpqError('ntpq output must be text, not %s' % type(text).__name__)
    headers = list(_HEADER.finditer(text))
    blocks = []
    for index, header in enumerate(headers):
        stop = headers[index + 1].start() if index + 1 < len(headers) else len(text)
        body = text[header.end():stop]
        table = body.find('\nind assid')
        if table >= 0:  # `rv 0` and `as` in one call: the table follows a blank line
            body = body[:table]
        body = _NTPSEC_FILTER.sub(lambda match: match.group(1) + '=\t', body)
        blocks.append(dict(associd=int(header.group(1)), status=int(header.group(2), 16), pairs=_pairs(body)))
    return blocks


def variables(block):
    """{name: value} of a block (last value wins) plus the certificate cache as a list."""
    values = dict(block['pairs'])
    certs = []
    for name, value in block['pairs']:
        if name == 'cert':
            parts = value.split()
            if len(parts) != 3:
                raise NtpqError('certificate entry %r is not "subject issuer 0xflags"' % value[:80])
            try:
                flags = int(parts[2], 16)
            except ValueError:
                raise NtpqError('certificate entry %r has no hex flags' % value[:80])
            certs.append(dict(subject=parts[0], issuer=parts[1], flags=flags, until=None))
        elif name == 'until' and certs:
            certs[-1]['until'] = value
    values.pop('cert', None)
    values.pop('until', None)
    return values, certs


def peer_status(word):
    """The association status word as ntpq's `as` shows it."""
    high = word >> 8
    return dict(configured=bool(high & 0x80), authenable=bool(high & 0x40), authentic=bool(high & 0x20),
                reachable=bool(high & 0x10), broadcast=bool(high & 0x08), selection=SELECTION[high & 0x07])


def read_associations(text):
    """Rows of the `as` table: [{'assid', 'status', 'auth', 'condition', ...}]."""
    if not isinstance(text, str):
        raise NtpqError('ntpq output must be text, not %s' % type(text).__name__)
    rows = []
    for line in text.splitlines():
        match = _ROW.match(line)
        if match:
            rows.append(dict(assid=int(match.group(2)), status=int(match.group(3), 16), configured=match.group(4),
                             reachable=match.group(5), auth=match.group(6), condition=match.group(7)))
    return rows
