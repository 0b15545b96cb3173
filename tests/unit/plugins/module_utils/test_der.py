# SPDX-License-Identifier: GPL-3.0-or-later
import datetime

import pytest
from hypothesis import given, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import der


@given(st.integers(min_value=0, max_value=1 << 4100))
def test_integer_round_trip(value):
    assert der.decode(der.integer(value)).as_int() == value


def test_integer_known_encodings():
    assert der.integer(0) == b'\x02\x01\x00'
    assert der.integer(127) == b'\x02\x01\x7f'
    assert der.integer(128) == b'\x02\x02\x00\x80'  # sign byte keeps it positive
    assert der.integer(256) == b'\x02\x02\x01\x00'


def test_long_form_length():
    data = der.octet_string(b'x' * 300)
    assert data[:4] == b'\x04\x82\x01\x2c'
    assert der.decode(data).content == b'x' * 300


@pytest.mark.parametrize('dotted, encoded', [
    ('1.2.840.113549.1.1.4', '06092a864886f70d010104'),
    ('1.3.6.1.5.5.7.48.1.11', '06092b060105050730010b'),
    ('2.5.29.37', '0603551d25'),
])
def test_oid_encoding(dotted, encoded):
    assert der.oid(dotted).hex() == encoded
    assert der.decode(der.oid(dotted)).as_oid() == dotted


def test_time_switches_to_generalized_after_2049():
    early = datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)
    late = datetime.datetime(2050, 1, 1, tzinfo=datetime.timezone.utc)
    assert der.time(early)[0] == der.UTC_TIME
    assert der.time(late)[0] == der.GENERALIZED_TIME
    assert der.decode(der.time(late)).as_time() == late
    assert der.decode(der.time(early)).as_time() == early


@pytest.mark.parametrize('data', [b'', b'\x30', b'\x30\x05\x02\x01', b'\x02\x01\x01\x00', b'\x30\x85\x01\x01\x01\x01\x01'])
def test_malformed_input_is_refused(data):
    with pytest.raises(der.DerError):
        der.decode(data)


def test_sequence_of_integers_checks_count():
    seq = der.sequence(der.integer(1), der.integer(2))
    assert der.integers(der.decode(seq)) == [1, 2]
    with pytest.raises(der.DerError, match='expected 3 integers'):
        der.integers(der.decode(seq), 3)


@given(st.binary(max_size=64))
def test_decoder_never_crashes_on_garbage(data):
    try:
        der.decode_all(data)
    except der.DerError:
        pass
