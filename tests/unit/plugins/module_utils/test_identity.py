# SPDX-License-Identifier: GPL-3.0-or-later
"""Identity exchanges computed as ntpd 4.2.8p15 computes them (crypto_bob/iff,
crypto_bob2/gq, crypto_bob3/mv), on our files and on stock ntp-keygen files."""

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import identity as ident
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.certificate import Certificate
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import parse, pem_blocks
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.private_keys import load_pem

from helpers import STOCK_EXPORT_PASSWORD, STOCK_PASSWORD, stock

ROUNDS = 20


def _as_ntpd_loads(text, password=None):
    """Keys as PEM_read_PrivateKey returns them (PKCS#8 DSA gets pub = g^priv)."""
    body = parse(text).body
    blocks = [b for b in pem_blocks(body) if b.label.endswith('PRIVATE KEY')]
    keys = load_pem(body, password)
    return [ident.as_loaded(k, 'pkcs8' if b.label in ('PRIVATE KEY', 'ENCRYPTED PRIVATE KEY') else 'traditional')
            for k, b in zip(keys, blocks)]


def _passes(scheme, server, params, gq_public=None):
    return sum(ident.exchange(scheme, server, params, gq_public) is None for dummy in range(ROUNDS))


@pytest.fixture(scope='module', params=['iff', 'gq', 'mv'])
def generated(request):
    sizes = {'iff': 512, 'gq': 512, 'mv': 256}
    return ident.SCHEMES[request.param].generate(sizes[request.param])


def test_our_layouts_verify_every_time(generated):
    server = ident.as_loaded(generated.server_key(), generated.server_container)
    assert _passes(generated.scheme, server, generated.params(1), getattr(generated, 'v', None)) == ROUNDS


def test_wrong_group_key_never_verifies(generated):
    other = type(generated).generate(generated.bits if generated.scheme != 'mv' else 256)
    server = ident.as_loaded(other.server_key(), generated.server_container)
    if generated.scheme == 'iff':  # same group parameters, different b: only the key differs
        server = ident.as_loaded(ident.IffKey(generated.p, generated.q, generated.g, other.b).server_key(), 'pkcs8')
    assert _passes(generated.scheme, server, generated.params(1), getattr(generated, 'v', None)) == 0


def test_filestamps_must_match_as_ntpd_requires(generated):
    server, params = generated.server_key(), generated.params(1)
    gq = getattr(generated, 'v', None)
    assert ident.exchange(generated.scheme, server, params, gq, server_fstamp=10, params_fstamp=11) == 'bad_filestamp'
    newer = ident.exchange(generated.scheme, ident.as_loaded(server, generated.server_container), params, gq,
                           server_fstamp=12, params_fstamp=11)
    assert newer == (None if generated.scheme == 'gq' else 'bad_filestamp')  # GQ accepts a newer server key


def test_iff_needs_traditional_params():
    key = ident.IffKey.generate(512)
    pkcs8_params = ident.as_loaded(key.params(), 'pkcs8')  # what ntp-keygen -e gives: pub = g
    assert pkcs8_params['pub'] == key.g
    assert _passes('iff', key.server_key(), pkcs8_params) == 0


def test_gq_missing_group_key_in_certificate():
    key = ident.GqKey.generate(512)
    assert ident.exchange('gq', key.server_key(), key.params(), None) == 'crypto_gq: missing group key'


def test_gq_public_key_fits_ntpd_ski():
    for dummy in range(3):
        assert ident.GqKey.generate(1016).v.bit_length() <= 1016
    with pytest.raises(ident.IdentityError, match='512 to 1016'):
        ident.GqKey.generate(1024)


def test_mv_revocation():
    key = ident.MvKey.generate(256, keys=3)  # keys 1-3 usable, key 4 revoked
    assert key.revoked == [4]
    spare = ident.PrivateKey('DSA', p=key.p, q=1, g=1, pub=key.xhat[3], priv=key.xbar[3])
    assert _passes('mv', key.server_key(), spare) == 0
    key2 = key.with_revoked([2, 4])
    assert _passes('mv', key2.server_key(), key2.params(1)) == ROUNDS
    assert _passes('mv', key2.server_key(), key.params(2)) == 0
    with pytest.raises(ident.IdentityError, match='revoked'):
        key2.params(2)


def test_mv_master_round_trip_restores_revocations():
    key = ident.MvKey.generate(256, keys=3).with_revoked([1, 4])
    again = ident.MvKey.from_master(key.master())
    assert again.revoked == [1, 4] and again.public_fingerprint() == key.public_fingerprint()


# -- stock ntp-keygen 4.2.8p15 files (fixtures) ----------------------------

def test_stock_iff_fails_and_import_repairs_it():
    server = _as_ntpd_loads(stock('iff', 'ntpkey_IFFkey'), STOCK_PASSWORD)[0]
    params = _as_ntpd_loads(stock('iff', 'iffpar.export'))[0]
    assert _passes('iff', server, params) == 0  # documented: 0/20 with stock files
    imported = ident.IffKey.from_private_key(load_pem(stock('iff', 'iffkey.export'), STOCK_EXPORT_PASSWORD)[0])
    assert _passes('iff', server, imported.params()) == ROUNDS  # stock server key, our params


def test_stock_gq_fails_and_import_repairs_it():
    server = _as_ntpd_loads(stock('gq', 'ntpkey_GQkey'), STOCK_PASSWORD)[0]
    params = _as_ntpd_loads(stock('gq', 'gqpar.export'))[0]
    th_cert = Certificate(pem_blocks(parse(stock('gq', 'ntpkey_RSA-MD5cert')).body)[0].der)
    assert _passes('gq', server, params, th_cert.gq_public) == 0
    imported = ident.GqKey.from_private_key(load_pem(parse(stock('gq', 'ntpkey_GQkey')).body, STOCK_PASSWORD)[0])
    assert imported.v == th_cert.gq_public  # the stock TH certificate already carries v
    assert _passes('gq', imported.server_key(), imported.params(), th_cert.gq_public) == ROUNDS


def test_stock_mv_fails_and_cannot_be_imported():
    server = _as_ntpd_loads(stock('mv', 'mvkey.export'), STOCK_EXPORT_PASSWORD)[0]
    params = _as_ntpd_loads(stock('mv', 'mvpar.export'))[0]
    assert _passes('mv', server, params) == 0
    with pytest.raises(ident.IdentityError, match='written by ntp-keygen'):
        ident.MvKey.from_master(load_pem(parse(stock('mv', 'ntpkey_MVta')).body, STOCK_PASSWORD))


def test_params_files_hold_no_group_key():
    iff = ident.IffKey.generate(512)
    with pytest.raises(ident.IdentityError, match='params file'):
        ident.IffKey.from_private_key(iff.params())
    gq = ident.GqKey.generate(512)
    with pytest.raises(ident.IdentityError, match='params file'):
        ident.GqKey.from_private_key(gq.params())


def test_inconsistent_values_refused():
    gq = ident.GqKey.generate(512)
    with pytest.raises(ident.IdentityError, match='do not form a GQ'):
        ident.GqKey(gq.n, gq.b, gq.u, gq.v + 1)
    iff = ident.IffKey.generate(512)
    bad = ident.PrivateKey('DSA', p=iff.p, q=iff.q, g=iff.g + 1, priv=iff.b)
    with pytest.raises(ident.IdentityError, match='do not form an IFF'):
        ident.IffKey.from_private_key(bad)


# -- each scheme class owns its behaviour ----------------------------------

def test_class_exchange_is_what_the_dispatcher_runs(generated):
    cls = type(generated)
    server = ident.as_loaded(generated.server_key(), generated.server_container)
    gq = getattr(generated, 'v', None)
    assert cls.exchange(server, generated.params(1), gq) is None
    assert ident.SCHEMES[generated.scheme] is cls
    assert cls.exchange(server, generated.params(1), gq, server_fstamp=5, params_fstamp=6) == 'bad_filestamp'
    with pytest.raises(ident.IdentityError, match='unknown identity scheme'):
        ident.exchange('pc', server, generated.params(1))


def test_classify_tells_what_our_files_hold(generated):
    cls = type(generated)
    held = cls.classify(generated.master())
    assert list(held) == ['key'] and held['key'].public_fingerprint() == generated.public_fingerprint()
    assert cls.classify([generated.params(1)]) == {'params': generated.params(1)}
    if generated.scheme == 'mv':
        assert cls.classify([generated.server_key()]) == {'server': generated.server_key()}
    assert cls.master_is_server == (generated.scheme != 'mv')


def test_classify_stock_files():
    params = load_pem(parse(stock('iff', 'iffpar.export')).body)
    with pytest.raises(ident.IdentityError, match='ntp-keygen -e'):
        ident.IffKey.classify(params)
    gq_params = ident.GqKey.classify(load_pem(parse(stock('gq', 'gqpar.export')).body))['params']
    key = ident.GqKey.from_private_key(load_pem(parse(stock('gq', 'ntpkey_GQkey')).body, STOCK_PASSWORD)[0])
    assert gq_params['e'] == 1 and gq_params['d'] == key.b  # repaired to the layout ntpd reads
    for name, password in (('ntpkey_MVta', STOCK_PASSWORD), ('mvpar.export', None)):
        with pytest.raises(ident.IdentityError, match='written by ntp-keygen'):
            ident.MvKey.classify(load_pem(parse(stock('mv', name)).body, password))


def test_facts_and_differences(generated):
    facts = generated.facts()
    assert facts['bits'] == generated.bits
    assert ('gq_public_key' in facts) == (generated.scheme == 'gq')
    if generated.scheme == 'mv':
        assert facts['mv_keys'] == generated.keys - 1 and facts['mv_revoked'] == generated.revoked
        assert generated.usable_clients() == list(range(1, generated.keys))
        assert generated.differs(256, generated.keys - 1) is None
        assert generated.differs(256, 9) == 'MV group has %d client keys, 9 requested' % (generated.keys - 1)
    else:
        assert generated.usable_clients() is None
        assert generated.differs(generated.bits, 4) is None
    what = 'MV group key' if generated.scheme == 'mv' else 'group key'
    assert generated.differs(4096, generated.keys - 1 if generated.scheme == 'mv' else 4) == \
        '%s is %d bits, 4096 requested' % (what, generated.bits)


# -- MV modulus of whole bytes --------------------------------------------------------------------------

def _ntpd_challenge_on_the_wire(r, p):
    """What ntpd 4.2.8's MV server reads of the client's challenge: crypto_alice3 writes BN_bn2bin(r) into a
    buffer of BN_num_bytes(p) bytes (the rest keeps what malloc left, here 0xA5), crypto_bob3 reads all of it."""
    size = (p.bit_length() + 7) // 8
    body = r.to_bytes((r.bit_length() + 7) // 8, 'big')
    return int.from_bytes(body + b'\xa5' * (size - len(body)), 'big')


def test_mv_modulus_fills_whole_bytes():
    for keys in (1, 3, 4):
        key = ident.MvKey.generate(512, keys)
        assert key.bits == 512 and key.differs(512, keys) is None


def test_a_short_challenge_fails_the_exchange_as_on_ntpd(monkeypatch):
    """With a 513-bit modulus about every challenge is short: the server answers another r and the client's
    check fails (10e on ntpd); this is why generate() keeps the modulus at whole bytes."""
    monkeypatch.setattr(ident, '_whole_bytes', lambda bits: 513)
    key = ident.MvKey.generate(512, 3)
    monkeypatch.undo()
    assert key.bits == 513
    server, params = key.server_key(), key.params(1)
    short = (1 << 500) + 12345  # fewer bytes than p
    assert _ntpd_challenge_on_the_wire(short, key.p) != short
    full = key.p - 12345  # as many bytes as p
    assert _ntpd_challenge_on_the_wire(full, key.p) == full
    # the old group is no longer judged fine: the trusted host replaces it
    assert key.differs(512, 3).startswith('MV modulus of 513 bits has 0x01 in its top byte')
    assert ident.MvKey.prove(server, params) is None  # the values themselves are right


def test_status_names_a_short_mv_modulus_as_the_cause(monkeypatch):
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey import status
    from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import KeyFile
    monkeypatch.setattr(ident, '_whole_bytes', lambda bits: 513)
    key = ident.MvKey.generate(512, 3)
    monkeypatch.undo()
    text = KeyFile('ntpkey_mvpar_lab.4004500000', 4004500000, key.params(1).to_traditional_pem()).text()
    held = status.read_params('ntpkey_mvpar_lab', text)
    assert held['layout'] == 'verifiable' and 'modulus of 513 bits has 0x01' in held['problem']
    cause, hint = status._cause('10e', held, 'mv')
    assert 'about 1 in 1 of its identity exchanges' in cause and 'regenerate the MV group key' in hint
    good = ident.MvKey.generate(512, 3)
    text = KeyFile('ntpkey_mvpar_lab.4004500000', 4004500000, good.params(1).to_traditional_pem()).text()
    assert status.read_params('ntpkey_mvpar_lab', text)['problem'] is None
