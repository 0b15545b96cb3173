# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Autokey file envelope: names, filestamps, header lines and PEM blocks.

ntpd reads line 1 of every key file, takes the digits after its last dot as
the filestamp (NTP seconds) and hands the rest to OpenSSL's PEM reader.
"""


import base64
import binascii
import re
import time

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError

NTP_UNIX_OFFSET = 2208988800
MAX_FILESTAMP = 0xFFFFFFFF  # ntpd keeps filestamps in 32 bits

_DAYS = ('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun')
_MONTHS = ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec')
_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]*\Z')
# ntpd keeps at most 128 octets of host name (ntp.h, extension field budget).
MAX_SUBJECT = 128


class EnvelopeError(AutokeyError):
    """A file that ntpd could not use, with the reason."""


def ntp_now():
    return int(time.time()) + NTP_UNIX_OFFSET


def ntp_to_unix(filestamp):
    return filestamp - NTP_UNIX_OFFSET


_WHEN = re.compile(r'^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?(?:Z|[+]00:?00)?$')
_DIGITS = re.compile(r'^[0-9]+$')


def filestamp_from_time(value, now=None):
    """NTP seconds of a rollover time: UTC 'YYYY-MM-DD[THH:MM[:SS]][Z]', or NTP seconds.

    Refuses the future: material made now would still be older, so a rerun would
    replace it again and never converge."""
    text = str(value).strip()
    if _DIGITS.match(text):  # ASCII only: str.isdigit() takes digits int() refuses
        stamp = int(text)
    else:
        match = _WHEN.match(text)
        if not match:
            raise EnvelopeError('%r is not a UTC time such as 2026-11-24T15:00:00Z (or NTP seconds)' % text)
        fields = [int(g or 0) for g in match.groups()]
        try:
            import calendar
            import datetime
            moment = datetime.datetime(*fields)
        except ValueError as exc:
            raise EnvelopeError('%r is not a valid time: %s' % (text, exc))
        stamp = calendar.timegm(moment.timetuple()) + NTP_UNIX_OFFSET
    if stamp > (now or ntp_now()):
        raise EnvelopeError('%s lies in the future: give the time the rollover was decided, so that a rerun '
                            'keeps the material made by the first run' % text)
    if not 0 <= stamp <= MAX_FILESTAMP:
        raise EnvelopeError('%s lies outside the NTP seconds ntpd keeps in a filestamp (0 to %d)' % (text, MAX_FILESTAMP))
    return stamp


def ctime_line(filestamp):
    """Line 2 of a key file: ctime(3) of the filestamp in local time."""
    tm = time.localtime(ntp_to_unix(filestamp))
    return '%s %s %2d %02d:%02d:%02d %d' % (
        _DAYS[tm.tm_wday], _MONTHS[tm.tm_mon - 1], tm.tm_mday,
        tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year)


def check_name(value, what):
    """Host and group names end up in file names, ntp.conf tokens and the CN."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise EnvelopeError(
            '%s %r cannot be used by ntpd: use letters, digits, dot, dash and underscore, '
            'starting with a letter or digit (no "@", "/" or spaces)' % (what, value))
    return value


def subject_name(host, group=None):
    """Certificate CN: `host@group`, or `host` when the fleet uses no group."""
    check_name(host, 'host name')
    subject = host
    if group:
        subject = '%s@%s' % (host, check_name(group, 'group name'))
    if len(subject) > MAX_SUBJECT:
        raise EnvelopeError('subject %r is longer than the %d octets ntpd keeps' % (subject, MAX_SUBJECT))
    return subject


def file_name(kind, owner, filestamp):
    """`ntpkey_<kind>_<owner>.<filestamp>`, e.g. ntpkey_IFFkey_lab.4004501552."""
    return 'ntpkey_%s_%s.%d' % (kind, owner, filestamp)


_STAMPED = re.compile(r'^ntpkey_([A-Za-z0-9-]+)_(.+)\.\d+$')


def split_name(name):
    """(kind, owner) of a stamped name such as ntpkey_IFFkey_lab.4004501552, None for any other name."""
    match = _STAMPED.match(name or '')
    return match.groups() if match else None


def link_name(kind, owner):
    """The name ntpd opens, e.g. ntpkey_host_gs1 or ntpkey_iffpar_lab."""
    return 'ntpkey_%s_%s' % (kind, owner)


def pem(label, der, headers=None):
    lines = ['-----BEGIN %s-----' % label]
    for key, value in headers or ():
        lines.append('%s: %s' % (key, value))
    if headers:
        lines.append('')
    body = base64.b64encode(der).decode('ascii')
    lines.extend(body[i:i + 64] for i in range(0, len(body), 64))
    lines.append('-----END %s-----' % label)
    return '\n'.join(lines) + '\n'


class PemBlock:
    __slots__ = ('label', 'headers', 'der')

    def __init__(self, label, headers, der):
        self.label = label
        self.headers = headers
        self.der = der


# Bounds of what is read: the largest Autokey file (an MV master with 100 client keys) is far below both.
MAX_TEXT = 1 << 20
MAX_BLOCKS = 256
_BEGIN, _END, _DASHES = '-----BEGIN ', '-----END ', '-----'
_LABEL = re.compile(r'^[A-Z0-9 ]+$')


def _label(line, marker):
    """The label of a `-----BEGIN <label>-----` (or END) line, None for any other line."""
    line = line.rstrip('\r')
    if not line.startswith(marker) or not line.endswith(_DASHES) or len(line) < len(marker) + len(_DASHES) + 1:
        return None
    label = line[len(marker):-len(_DASHES)]
    return label if _LABEL.match(label) else None


def check_size(text, source='text'):
    if len(text) > MAX_TEXT:
        raise EnvelopeError('%s is %d characters long, more than the %d of any Autokey file: not a key file'
                            % (source, len(text), MAX_TEXT))


def pem_blocks(text):
    """The PEM blocks of `text`, read line by line as OpenSSL's PEM reader does (in linear time).
    Text outside blocks is skipped; a block without its END line is an error, as it is for ntpd."""
    check_size(text)
    blocks, label, lines = [], None, []
    for line in text.split('\n'):
        if label is None:
            label = _label(line, _BEGIN)
            lines = []
            continue
        if line.startswith(_END):
            if _label(line, _END) != label:
                raise EnvelopeError('PEM block %s ends with %r (damaged file)' % (label, line.strip()[:60]))
            if len(blocks) == MAX_BLOCKS:
                raise EnvelopeError('more than %d PEM blocks: not an Autokey file' % MAX_BLOCKS)
            blocks.append(_block(label, lines))
            label = None
        else:
            lines.append(line.rstrip('\r'))
    if label is not None:
        raise EnvelopeError('incomplete PEM block %s: no END line (truncated file?)' % label)
    return blocks


def _block(label, lines):
    headers = {}
    if lines and ':' in lines[0]:  # RFC 1421 headers (Proc-Type, DEK-Info) up to a blank line
        try:
            blank = lines.index('')
        except ValueError:
            raise EnvelopeError('PEM block %s has headers but no blank line after them' % label)
        for line in lines[:blank]:
            key, _colon, value = line.partition(':')
            headers[key.strip()] = value.strip()
        lines = lines[blank + 1:]
    body = ''.join(''.join(lines).split())
    try:
        der = base64.b64decode(body.encode('ascii'), validate=True)
    except (binascii.Error, ValueError):  # UnicodeEncodeError is a ValueError
        raise EnvelopeError('PEM block %s is not valid base64' % label)
    return PemBlock(label, headers, der)


class KeyFile:
    """One Autokey file: its stamped name, filestamp and PEM body."""

    __slots__ = ('name', 'filestamp', 'body')

    def __init__(self, name, filestamp, body):
        self.name = name
        self.filestamp = filestamp
        self.body = body

    def text(self):
        return '# %s\n# %s\n\n%s' % (self.name, ctime_line(self.filestamp), self.body)

    def blocks(self):
        return pem_blocks(self.body)


# sscanf("%u"): C white space, an optional sign, ASCII digits (a '-' is refused here, not wrapped around)
_STAMP = re.compile(r'[ \t\n\v\f\r]*\+?([0-9]+)')


def parse_filestamp(first_line):
    """The filestamp exactly as ntpd reads it: digits after the last dot of line 1."""
    dot = first_line.rfind('.')
    if dot < 0:
        raise EnvelopeError('line 1 has no filestamp (no ".<digits>" at its end)')
    match = _STAMP.match(first_line[dot + 1:])
    if not match or int(match.group(1)) > MAX_FILESTAMP:
        # (nothing of the line in the message: the file may not be a key file at all, and its content not ours to show)
        raise EnvelopeError('line 1 has an invalid filestamp (it must end in 1 to 10 digits, at most %d)' % MAX_FILESTAMP)
    return int(match.group(1))


def parse(text, source='file'):
    """Parse an Autokey file written by ntp-keygen or by this collection."""
    if not text.strip():
        raise EnvelopeError('%s is empty' % source)
    check_size(text, source)
    first = text.split('\n', 1)[0].rstrip('\r')
    try:
        filestamp = parse_filestamp(first)
    except EnvelopeError as exc:
        raise EnvelopeError('%s: %s' % (source, exc))
    name = first[2:].strip() if first.startswith('# ') else first.strip()
    begin = text.find('-----BEGIN ')
    if begin < 0:
        raise EnvelopeError('%s has no PEM block (truncated or not an Autokey file)' % source)
    body = text[begin:]
    try:
        blocks = pem_blocks(body)
    except EnvelopeError as exc:
        raise EnvelopeError('%s: %s' % (source, exc))
    if not blocks:
        raise EnvelopeError('%s has an incomplete PEM block (truncated file?)' % source)
    return KeyFile(name, filestamp, body)
