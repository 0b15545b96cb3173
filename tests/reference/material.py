# SPDX-License-Identifier: GPL-3.0-or-later
"""Write this collection's key material into a lab host's keysdir."""


from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.group_material import GroupMaterial, read_source
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.host_material import HostMaterial

SIZES = {'iff': 2048, 'gq': 1016, 'mv': 512}


def host_keys(path, host, password, **kw):
    m = HostMaterial(KeysDir(path), host, password, **kw)
    m.plan()
    m.apply()
    return m.describe()


def group_master(path, scheme, password, **kw):
    kw.setdefault('size', SIZES[scheme])
    m = GroupMaterial(KeysDir(path), scheme, 'lab', password, generate=True, params=False, **kw)
    m.plan()
    m.apply()
    return m


def install(path, scheme, text, source_password=None, password=None, server_key=False, params=True, group='lab'):
    m = GroupMaterial(KeysDir(path), scheme, group, password, source=read_source(scheme, text, source_password),
                      server_key=server_key, params=params)
    m.plan()
    m.apply()
    return m


# -- a TH -> GS -> CL chain on lab hosts (test_live_exchange.py, test_symmetric_live.py, benchmarks/time_to_trust.py) --

POLL = 'iburst minpoll 3 maxpoll 3'
LOCAL_CLOCK = ['server 127.127.1.0 minpoll 3 maxpoll 3 prefer', 'fudge 127.127.1.0 stratum 0']
ALL_FLAGS = 0x7F00
SCHEME_BIT = {'iff': 0x20, 'gq': 0x40, 'mv': 0x80}


def trusted_host(host, scheme):
    """th: the group key and a Trust Root certificate (th@lab), on its local clock. Returns the group key."""
    master = group_master(host.host_keysdir, scheme, 'thpw')
    gq = master.material.key.v if scheme == 'gq' else None
    host_keys(host.host_keysdir, 'th', 'thpw', group='lab', trusted=True, gq_public=gq)
    host.write_conf(['crypto host th ident lab pw thpw'] + LOCAL_CLOCK)
    return master


def member(host, name, password, upstream, scheme, params_text, server_text=None, poll=POLL):
    """A group server (with server_text, the exported server key) or a client of `upstream`."""
    host_keys(host.host_keysdir, name, password, group='lab')
    if server_text:
        install(host.host_keysdir, scheme, server_text, 'transport', password, server_key=True, params=False)
    install(host.host_keysdir, scheme, params_text)
    crypto = 'crypto host %s%s pw %s' % (name, ' ident lab' if server_text else '', password)
    host.write_conf([crypto, 'server %s autokey ident lab %s' % (upstream.address, poll)])


def chain(lab, scheme, poll=POLL, suffix='', builds=(None, None, None)):
    """th -> gs -> cl (lab hosts named th<suffix>, ...; certificates th@lab, gs@lab, cl@lab), each of the ntpd
    build named in `builds` (default: AUTOKEY_NTPD_BUILD's); an MV client gets its own client key (2). Returns the
    group key and the three hosts."""
    th, gs, cl = (lab.host(name + suffix, build_name=build)
                  for name, build in zip(('th', 'gs', 'cl'), builds))
    master = trusted_host(th, scheme)
    export = master.exports('transport')
    member(gs, 'gs', 'gspw', th, scheme, export['params_export'], export['server_key_export'], poll=poll)
    client_params = export['params_export']
    if scheme == 'mv':
        master.mv_client = 2
        client_params = master.exports()['params_export']
    member(cl, 'cl', 'clpw', gs, scheme, client_params, poll=poll)
    return master, (th, gs, cl)


def identity_synchronised(host, scheme):
    """The host's association shows every Autokey flag, the scheme's bit, ident lab and sys.peer; and its state."""
    state = host.association()
    flags = state['flags'] or 0
    return (flags & ALL_FLAGS == ALL_FLAGS and flags & 0xF0 == SCHEME_BIT[scheme] and state['ident'] == 'lab'
            and state['condition'] == 'sys.peer'), state


def ntp_keygen_iff_default_fails(build):
    """ntp-keygen 4.2.8p15 on OpenSSL 3 makes no IFF group at its default modulus: it exits 0 and writes nothing
    (upstream bug 3802, fixed in 4.2.8p16). Users who import stock files from such a host meet it."""
    return build.release() == '4.2.8p15' and build.openssl_series() == '3'


def stock_iff_flags(build):
    """ntp-keygen's flags for a stock IFF group on `build`: its default, or -b 1024 where the default fails."""
    return ['-I', '-b', '1024'] if ntp_keygen_iff_default_fails(build) else ['-I']
