# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Minimal strict DER encoder and decoder.

Autokey files need structures that `cryptography` will not build (512-bit
DSA, RSA containers whose fields are not an RSA key, MD5 certificates), so
they are encoded here, field by field.
"""


import datetime

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError

BOOLEAN = 0x01
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
UTF8_STRING = 0x0C
PRINTABLE_STRING = 0x13
IA5_STRING = 0x16
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
SEQUENCE = 0x30
SET = 0x31


class DerError(AutokeyError):
    """Raised for any malformed or unexpected DER input."""


def _length(size):
    if size < 0x80:
        return bytes([size])
    body = size.to_bytes((size.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(body)]) + body


def tlv(tag, content):
    return bytes([tag]) + _length(len(content)) + content


def integer(value):
    if value < 0:
        raise DerError('negative integers are not used in Autokey files')
    body = value.to_bytes(value.bit_length() // 8 + 1, 'big')
    return tlv(INTEGER, body)


def sequence(*items):
    return tlv(SEQUENCE, b''.join(items))


def set_of(*items):
    return tlv(SET, b''.join(sorted(items)))


def octet_string(data):
    return tlv(OCTET_STRING, data)


def bit_string(data, unused_bits=0):
    return tlv(BIT_STRING, bytes([unused_bits]) + data)


def null():
    return tlv(NULL, b'')


def boolean(value):
    return tlv(BOOLEAN, b'\xff' if value else b'\x00')


def utf8_string(text):
    return tlv(UTF8_STRING, text.encode('utf-8'))


def explicit(number, content):
    return tlv(0xA0 | number, content)


def oid(dotted):
    arcs = [int(part) for part in dotted.split('.')]
    if len(arcs) < 2:
        raise DerError('an OID needs at least two arcs: %s' % dotted)
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return tlv(OID, bytes(out))


def time(value):
    """UTCTime up to 2049, GeneralizedTime afterwards (RFC 5280 4.1.2.5)."""
    value = value.astimezone(datetime.timezone.utc)
    if 1950 <= value.year <= 2049:
        return tlv(UTC_TIME, value.strftime('%y%m%d%H%M%SZ').encode('ascii'))
    return tlv(GENERALIZED_TIME, value.strftime('%Y%m%d%H%M%SZ').encode('ascii'))


class Element:
    """One decoded TLV. `raw` holds the whole encoding, `content` the value."""

    __slots__ = ('tag', 'content', 'raw')

    def __init__(self, tag, content, raw):
        self.tag = tag
        self.content = content
        self.raw = raw

    def expect(self, tag, what='element'):
        if self.tag != tag:
            raise DerError('%s: expected tag 0x%02x, found 0x%02x' % (what, tag, self.tag))
        return self

    def children(self):
        if not self.tag & 0x20:
            raise DerError('tag 0x%02x is not constructed' % self.tag)
        return decode_all(self.content)

    def as_int(self):
        """The INTEGER's value; DerError unless minimally encoded (as OpenSSL requires)."""
        self.expect(INTEGER, 'INTEGER')
        body = self.content
        if not body:
            raise DerError('empty INTEGER')
        if len(body) > 1 and ((body[0] == 0 and body[1] < 0x80) or (body[0] == 0xFF and body[1] >= 0x80)):
            raise DerError('INTEGER with superfluous leading bytes (not DER)')
        return int.from_bytes(body, 'big', signed=True)

    def as_uint(self, what='INTEGER', max_bits=None):
        """A non-negative INTEGER of at most `max_bits` bits."""
        value = self.as_int()
        if value < 0:
            raise DerError('%s is negative' % what)
        if max_bits is not None and value.bit_length() > max_bits:
            raise DerError('%s has %d bits, more than %d' % (what, value.bit_length(), max_bits))
        return value

    def as_oid(self):
        self.expect(OID, 'OBJECT IDENTIFIER')
        arcs, value = [], 0
        for byte in self.content:
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                arcs.append(value)
                value = 0
        if not arcs or self.content[-1] & 0x80:
            raise DerError('truncated OBJECT IDENTIFIER')
        if any(byte == 0x80 and (i == 0 or not self.content[i - 1] & 0x80) for i, byte in enumerate(self.content)):
            raise DerError('OBJECT IDENTIFIER arc with a leading 0x80 (not DER)')
        first = min(arcs[0] // 40, 2)
        return '.'.join(str(a) for a in [first, arcs[0] - 40 * first] + arcs[1:])

    def as_text(self):
        if self.tag not in (UTF8_STRING, PRINTABLE_STRING, IA5_STRING):
            raise DerError('tag 0x%02x is not a string' % self.tag)
        try:
            return self.content.decode('utf-8')
        except UnicodeDecodeError:
            raise DerError('string is not UTF-8')

    def as_time(self):
        formats = {UTC_TIME: (13, '%y%m%d%H%M%SZ'), GENERALIZED_TIME: (15, '%Y%m%d%H%M%SZ')}
        if self.tag not in formats:
            raise DerError('tag 0x%02x is not a time' % self.tag)
        size, layout = formats[self.tag]
        # strptime alone would take non-ASCII digits and single-digit fields
        if len(self.content) != size or not _ascii_digits(self.content[:-1]) or self.content[-1:] != b'Z':
            raise DerError('malformed time %r' % self.content[:20])
        try:
            parsed = datetime.datetime.strptime(self.content.decode('ascii'), layout)
        except ValueError:
            raise DerError('malformed time %r' % self.content[:20])
        return parsed.replace(tzinfo=datetime.timezone.utc)

    def as_bits(self):
        self.expect(BIT_STRING, 'BIT STRING')
        if not self.content or self.content[0] > 7:
            raise DerError('malformed BIT STRING')
        return self.content[1:]


def _ascii_digits(data):
    return bool(data) and all(0x30 <= byte <= 0x39 for byte in bytearray(data))


def _read(data, offset):
    if offset + 2 > len(data):
        raise DerError('truncated DER at offset %d' % offset)
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DerError('multi-byte tags are not supported')
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        size = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise DerError('bad DER length at offset %d' % offset)
        size = int.from_bytes(data[pos:pos + count], 'big')
        if size < 0x80 or size >> (8 * (count - 1)) == 0:  # DER: the shortest length form only
            raise DerError('non-minimal DER length at offset %d' % offset)
        pos += count
    end = pos + size
    if end > len(data):
        raise DerError('DER element at offset %d runs past the end' % offset)
    return Element(tag, bytes(data[pos:end]), bytes(data[offset:end])), end


def decode_all(data):
    items, offset = [], 0
    while offset < len(data):
        item, offset = _read(data, offset)
        items.append(item)
    return items


def decode(data):
    """Decode exactly one element that spans all of `data`."""
    item, end = _read(data, 0)
    if end != len(data):
        raise DerError('%d trailing bytes after DER element' % (len(data) - end))
    return item


def integers(element, count=None, max_bits=None):
    """The INTEGER children of a SEQUENCE, as non-negative Python ints of at most `max_bits` bits."""
    values = [child.as_uint(max_bits=max_bits) for child in element.expect(SEQUENCE, 'SEQUENCE').children()]
    if count is not None and len(values) != count:
        raise DerError('expected %d integers, found %d' % (count, len(values)))
    return values
