# SPDX-License-Identifier: GPL-3.0-or-later
"""Symmetric key lines per daemon: what is refused before writing, what is written, what is read back."""

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.symmetric import (
    TYPES, SymmetricKeyError, check_key, check_keys, compare, ntpq_password, parse, render, render_line)

AES = '00112233445566778899aabbccddeeff'


@pytest.mark.parametrize('daemon, key, message', [
    ('ntpd', dict(id=0, secret=AES), 'key IDs are 1 to 65535'),
    ('ntpd', dict(id=65536, secret=AES), 'reserved for Autokey'),
    ('chrony', dict(id=4294967296, secret=AES), 'key IDs are 1 to 4294967295'),
    ('ntpd', dict(id='x', secret=AES), 'id must be a whole number'),
    ('ntpd', dict(id=1, type='AES256CMAC', secret=AES * 2), 'ntpd cannot use type AES256CMAC'),
    ('ntpd', dict(id=1, type='GOST', secret=AES), 'type GOST is not one of'),
    ('ntpd', dict(id=1, secret=AES[:-2]), 'AES128CMAC secret has 16 bytes, this one 15'),
    ('chrony', dict(id=1, type='AES256CMAC', secret=AES), 'AES256CMAC secret has 32 bytes, this one 16'),
    ('ntpd', dict(id=1, type='SHA1', secret='ab' * 33), 'SHA1 secret has 16 to 32 bytes, this one 33'),
    ('ntpd', dict(id=1, type='SHA1', secret='ab' * 10), 'SHA1 secret has 16 to 32 bytes, this one 10'),
    ('ntpd', dict(id=1, secret='0g' * 16), 'not hex'),
    ('ntpd', dict(id=1, secret=AES + '0'), 'not hex'),
    ('ntpd', dict(id=1, type='MD5', secret='has space', format='ascii'), 'ASCII secret is 1 to 20'),
    ('ntpd', dict(id=1, type='MD5', secret='has#hash', format='ascii'), 'ASCII secret is 1 to 20'),
    ('ntpd', dict(id=1, type='MD5', secret='x' * 21, format='ascii'), 'ASCII secret is 1 to 20'),
    ('ntpd', dict(id=1, type='MD5', secret='caf\u00e9', format='ascii'), 'ASCII secret is 1 to 20'),
    ('chrony', dict(id=1, secret='abcdefghijklmnop', format='ascii'), 'ASCII secret is for digest keys'),
    ('ntpd', dict(id=1), 'secret is missing'),
    ('ntpd', dict(id=1, secret=AES, format='base64'), 'format must be hex or ascii'),
    ('ntpsec', dict(id=1, secret=AES), 'unknown daemon'),
])
def test_refused_before_writing_with_the_key_named_and_never_the_secret(daemon, key, message):
    with pytest.raises(SymmetricKeyError) as caught:
        check_key(key, daemon)
    assert message in str(caught.value)
    if key.get('secret'):
        assert key['secret'] not in str(caught.value)


def test_duplicate_ids_refused():
    with pytest.raises(SymmetricKeyError, match='key 3 is listed twice'):
        check_keys([dict(id=3, secret=AES), dict(id='3', secret=AES)], 'ntpd')


def test_lines_per_daemon():
    keys = check_keys([dict(id=9, type='md5', secret='Pa55!word', format='ascii'),
                       dict(id=2, secret=AES.upper()), dict(id=5, type='SHA512', secret='ab' * 24)], 'ntpd')
    assert [render_line(k, 'ntpd') for k in keys] == [
        '2 AES128CMAC ' + AES, '5 SHA512 ' + 'ab' * 24, '9 MD5 Pa55!word']
    assert [render_line(k, 'chrony') for k in keys] == [
        '2 AES128 HEX:' + AES, '5 SHA512 HEX:' + 'ab' * 24, '9 MD5 ASCII:Pa55!word']


def test_hex_secrets_are_longer_than_ntpd_takes_as_ascii():
    """ntpd reads a key of 20 characters or fewer as ASCII: every hex secret written has more."""
    for kind, (ntpd, chrony, length) in TYPES.items():
        low = length if isinstance(length, int) else length[0]
        assert 2 * low > 20, kind


def test_rendered_file_reads_back():
    keys = check_keys([dict(id=1, secret=AES), dict(id=7, type='MD5', secret='abc', format='ascii')], 'chrony')
    for daemon in ('ntpd', 'chrony'):
        found, problems = parse(render(keys, daemon), daemon)
        assert problems == []
        assert dict((k, v[0]) for k, v in found.items()) == {1: 'AES128CMAC', 7: 'MD5'}
        assert compare(found, keys, daemon) == {}


def test_compare_names_changes_without_secrets():
    old, dummy = parse('1 AES128CMAC %s\n2 MD5 oldsecret\n3 SHA1 %s\n' % (AES, 'cd' * 20), 'ntpd')
    new = check_keys([dict(id=1, secret=AES.upper()), dict(id=2, type='MD5', secret='newsecret', format='ascii'),
                      dict(id=4, secret=AES)], 'ntpd')
    reasons = compare(old, new, 'ntpd')
    assert reasons == {'2': 'secret replaced (MD5)', '3': 'removed (SHA1)', '4': 'added (AES128CMAC)'}
    assert 'newsecret' not in repr(reasons) and 'oldsecret' not in repr(reasons)


def test_parse_reports_lines_by_number_only():
    text = '# comment\n1 MD5 abc # trailing\nsecret-looking-garbage\n1 SHA1 again\n70000 MD5 x\n2 MD5\n'
    found, problems = parse(text, 'ntpd')
    assert list(found) == [1]
    assert problems == ['line 3: not a key ID', 'line 4: key 1 again', 'line 5: not a key ID',
                        'line 6: missing type or key']
    assert 'garbage' not in repr(problems)


def test_ntpq_password():
    assert ntpq_password(check_key(dict(id=1, secret=b'Qx7tLp2ZvR9mK4wE'.hex()), 'ntpd')) == 'Qx7tLp2ZvR9mK4wE'
    assert ntpq_password(check_key(dict(id=1, type='MD5', secret='abc', format='ascii'), 'ntpd')) == 'abc'
    with pytest.raises(SymmetricKeyError, match='not printable ASCII'):
        ntpq_password(check_key(dict(id=1, secret='00' * 16), 'ntpd'))
    with pytest.raises(SymmetricKeyError, match='ntpq cannot sign with SHA256'):
        ntpq_password(check_key(dict(id=1, type='SHA256', secret='41' * 16), 'ntpd'))


def _ntpq_tokenize(line):
    """ntpq 4.2.8p15's tokenize() (ntpq/ntpq.c), for the lines the roles send: words end at ' ', '\t' and the line
    end ('\n', '\r', NUL); '"' ends a word, and a word starting with '"' runs to the next '"'."""
    tokens, i = [], 0
    eol = ('\n', '\r', '\0')
    while True:
        while i < len(line) and line[i] in ' \t':
            i += 1
        if i >= len(line) or line[i] in eol:
            return tokens
        word = ''
        if line[i] == '"':
            i += 1
            while True:
                word += line[i] if i < len(line) else ''
                i += 1
                if i >= len(line) or line[i] == '"' or line[i] in eol:
                    break
        else:
            while True:
                word += line[i]
                i += 1
                if i >= len(line) or line[i] == '"' or line[i] in ' \t' or line[i] in eol:
                    break
        tokens.append(word)


def test_ntpq_tokenize_model_cuts_at_a_double_quote():
    assert _ntpq_tokenize('passwd ab"cd') == ['passwd', 'ab', 'cd']
    assert _ntpq_tokenize('passwd a#b!') == ['passwd', 'a#b!']


@pytest.mark.parametrize('key, why', [
    (dict(id=7, secret=b'Qx7tLp2Z"R9mK4wE'.hex()), "contain '\"'"),
    (dict(id=7, type='MD5', secret='ab"cd', format='ascii'), "contain '\"'"),
    (dict(id=7, type='SHA1', secret=b'Qx7tLp2Z R9mK4wE'.hex()), 'contain a space'),
    (dict(id=7, type='SHA1', secret=b'Qx7tLp2Z#R9mK4wE'.hex()), "contain '#'"),
    (dict(id=7, secret=b'Qx7tLp2Z\tR9mK4wE'.hex()), 'not printable ASCII'),
    (dict(id=7, secret=b'Qx7tLp2Z\nR9mK4wE'.hex()), 'not printable ASCII'),
])
def test_ntpq_password_refuses_bytes_ntpqs_tokenizer_would_cut(key, why):
    """A '"' in the key's bytes used to pass: ntpq cut the password there and signed with another key."""
    with pytest.raises(SymmetricKeyError) as caught:
        ntpq_password(check_key(key, 'ntpd'))
    message = str(caught.value)
    assert message.startswith('key 7: ') and why in message
    assert 'printable ASCII without spaces, \'#\' or \'"\'' in message and 'symmetric_keyset' in message
    text = bytes.fromhex(key['secret']).decode('latin-1') if key.get('format') != 'ascii' else key['secret']
    assert key['secret'] not in message and text not in message and text[:8] not in message


@settings(max_examples=400, deadline=None)
@given(data=st.one_of(st.binary(min_size=16, max_size=20),  # mostly printable, at most one byte ntpq cuts at
                      st.tuples(st.lists(st.integers(0x21, 0x7e), min_size=16, max_size=20), st.integers(0, 20),
                                st.sampled_from(list(b'"" #\t\r\n\x00\x7f\xff') + [None]))
                      .map(lambda t: bytes(t[0][:t[1]] + ([t[2]] if t[2] is not None else []) + t[0][t[1]:])[:20])),
       kind=st.sampled_from(['AES128CMAC', 'MD5', 'SHA1']), ascii_form=st.booleans())
def test_ntpq_password_is_refused_or_read_back_by_ntpq_as_the_key(data, kind, ascii_form):
    if kind == 'AES128CMAC':
        data, ascii_form = data[:16], False
    text = data.decode('latin-1')
    key = dict(id=9, type=kind, secret=text, format='ascii') if ascii_form else dict(id=9, type=kind, secret=data.hex())
    try:
        checked = check_key(key, 'ntpd')
    except SymmetricKeyError:
        return  # not a key at all (check_key's own rules)
    try:
        password = ntpq_password(checked)
    except SymmetricKeyError as exc:
        assert str(exc).startswith('key 9: ') and text not in str(exc) and data.hex() not in str(exc)
        return
    assert password.encode('latin-1') == data
    assert _ntpq_tokenize('passwd ' + password) == ['passwd', password]


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=400), daemon=st.sampled_from(['ntpd', 'chrony']))
def test_parse_never_raises_and_never_quotes_content(text, daemon):
    found, problems = parse(text, daemon)
    for problem in problems:
        assert problem.startswith('line ')
        number, dummy, why = problem[5:].partition(': ')
        assert number.isdigit() and why in ('not a key ID', 'missing type or key', 'missing key') or \
            why.startswith('key ') and why.endswith(' again')
    assert all(isinstance(k, int) for k in found)


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.fixed_dictionaries(dict(
    id=st.integers(1, 65535), type=st.sampled_from(['AES128CMAC', 'SHA1', 'SHA256', 'SHA512', 'MD5']),
    secret=st.binary(min_size=16, max_size=32).map(bytes.hex))), max_size=8, unique_by=lambda k: k['id']),
    daemon=st.sampled_from(['ntpd', 'chrony']))
def test_every_checked_key_round_trips(keys, daemon):
    for key in keys:
        if key['type'] == 'AES128CMAC':
            key['secret'] = key['secret'][:32].ljust(32, '0')
    checked = check_keys(keys, daemon)
    found, problems = parse(render(checked, daemon), daemon)
    assert problems == []
    assert compare(found, checked, daemon) == {}
