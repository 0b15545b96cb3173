# SPDX-License-Identifier: GPL-3.0-or-later
"""Stock ntpd 4.2.6p5 trusted hosts, as RHEL 7 sites keep them, imported by the collection.

Each trusted host is made only with 4.2.6's own ntp-keygen (host key, trusted certificate and IFF group key, all
encrypted with single DES) and runs 4.2.6p5; no code of the collection touches it. The collection reads its group
key file as an operator hands it over (group_keys_info with src: read_given, the single-DES import) and makes the
group servers' and clients' material from it, for both releases (each in its own dialect: 4.2.6 names the group
by the trusted host's subject in crypto ident and in the params file name):

    tha (4.2.6p5, -s th@lab) -> gs (Debian 11 4.2.8p15) -> cl (4.2.6p5)
    th  (4.2.6p5, -s th)     -> gs2 (4.2.6p5)           -> cl2 (Debian 11 4.2.8p15)
    th  (4.2.6p5, -s th)     -> gx (Debian 11 4.2.8p15): never answered

Each verified member shows every Autokey flag with IFF's bit and the cryptostats line "iff <subject> fs <the stock
key's filestamp>". gx records a limit live daemons showed: a 4.2.8 Autokey association straight to a 4.2.6
server whose subject has no @group accepts no reply (reach stays 0; the server counts its requests as "keys not
found"), whatever the host key, signature or IFF key; with a subject host@group it verifies (docs/ntpd-4.2.6.md).

The 4.2.6p5 build is the user's (docs/ntpd-4.2.6.md), named in AUTOKEY_NTPD_BUILDS as 4.2.6p5; without it this
file is skipped, and says so.
"""

import os
import re
import time

import pytest

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.group_material import read_given

import ntplab
from material import ALL_FLAGS, LOCAL_CLOCK, POLL, SCHEME_BIT, host_keys, install

P265 = '4.2.6p5'
MISSING = ntplab.builds_missing(P265)
pytestmark = pytest.mark.skipif(bool(MISSING), reason='%s (see tests/reference/test_426_live.py)' % MISSING)

STOCK_PW = 'stock-th-pw'  # test-only


def stock_trusted_host(th, subject):
    """ntp-keygen 4.2.6p5 -T -I -s <subject> in th's keysdir, and 4.2.6's own ntp.conf. Returns the group key
    file."""
    made = th.keygen('-T', '-I', '-p', STOCK_PW, '-s', subject)
    assert made.returncode == 0, made.stdout + made.stderr
    names = sorted(os.listdir(th.host_keysdir))
    group_keys = [name for name in names if re.match(r'ntpkey_IFFkey_%s\.\d+$' % re.escape(subject), name)]
    assert len(group_keys) == 1, names
    th.write_conf(['crypto host %s ident %s pw %s' % (subject, subject, STOCK_PW)] + LOCAL_CLOCK)
    return os.path.join(th.host_keysdir, group_keys[0])


def on_426(host):
    return host.build.release().startswith('4.2.6')


def member(host, name, group, subject, upstream, server_text, params_text):
    """A group server (with the server key) or a client of `upstream` in `group`, in the dialect of its release:
    4.2.6 says crypto ident <trust root subject> on every tier and opens ntpkey_iffpar_<subject>."""
    password = name + '-pw'
    host_keys(host.host_keysdir, name, password, group=group)
    if server_text:
        install(host.host_keysdir, 'iff', server_text, 'transport', password, server_key=True, params=False,
                group=group)
    install(host.host_keysdir, 'iff', params_text, group=group)
    if on_426(host) and subject != group:
        for kind in ('iffpar', 'iffkey') if server_text else ('iffpar',):
            os.symlink('ntpkey_%s_%s' % (kind, group), os.path.join(host.host_keysdir, 'ntpkey_%s_%s' % (kind, subject)))
    if on_426(host):
        crypto, server = 'crypto host %s ident %s' % (name, subject), 'server %s autokey %s'
    else:
        crypto = 'crypto host %s%s' % (name, ' ident ' + group if server_text else '')
        server = 'server %%s autokey ident %s %%s' % group
    host.write_conf(['%s pw %s' % (crypto, password), server % (upstream.address, POLL)])


def association(host):
    """Flags, reach and condition of the host's one association (4.2.6's ntpq knows no ident variable)."""
    out = host.ntpq('as', 'rv &1 flags,reach')
    rows = [line.split() for line in out.splitlines() if re.match(r'\s*1\s+\d+\s', line)]
    flags, reach = re.search(r'flags=(0x[0-9a-f]+)', out), re.search(r'reach=(\d+)', out)
    return dict(flags=int(flags.group(1), 16) if flags else 0, reach=reach.group(1) if reach else None,
                condition=rows[0][6] if rows and len(rows[0]) > 6 else None, raw=out)


def _proved(host, subject, fs):
    state = association(host)
    line = re.search(r'\biff %s fs (\d+)' % re.escape(subject), host.cryptostats())
    ok = (state['flags'] & ALL_FLAGS == ALL_FLAGS and state['flags'] & 0xF0 == SCHEME_BIT['iff']
          and state['condition'] == 'sys.peer' and line is not None and int(line.group(1)) == fs)
    return ok, state


def test_stock_426_trusted_hosts_imported(lab, capsys):
    chains, members, params = [], [], {}
    for th_name, subject, builds in (('tha', 'th@lab', (ntplab.DEBIAN11, P265)), ('th', 'th', (P265, ntplab.DEBIAN11))):
        th = lab.host(th_name, build_name=P265)
        group = subject.rsplit('@', maxsplit=1)[-1]
        key_file = stock_trusted_host(th, subject)
        source = read_given('iff', group, key_file, None, STOCK_PW)  # as group_keys_info src= reads it
        assert key_file.endswith('.%d' % source.filestamp)
        exports = source.exports(group, 'transport')
        suffix = '' if th_name == 'tha' else '2'
        gs = lab.host('gs' + suffix, build_name=builds[0])
        cl = lab.host('cl' + suffix, build_name=builds[1])
        member(gs, gs.name, group, subject, th, exports['server_key_export'], exports['params_export'])
        member(cl, cl.name, group, subject, gs, None, exports['params_export'])
        chains.append(th)
        params[th_name] = exports['params_export']
        members += [(gs, subject, source.filestamp), (cl, subject, source.filestamp)]
    plain_th = chains[1]
    gx = lab.host('gx', build_name=ntplab.DEBIAN11)
    member(gx, 'gx', 'th', 'th', plain_th, None, params['th'])
    for host in chains + [host for host, dummy, dummy in members] + [gx]:
        host.start()
    started, done = time.time(), {}

    def all_verified():
        for host, subject, fs in members:
            if host.name not in done and _proved(host, subject, fs)[0]:
                done[host.name] = round(time.time() - started)
        return len(done) == len(members)

    ntplab.wait_for(all_verified, 300, 2)
    report, failed = [], []
    for host, subject, fs in members:
        ok, state = _proved(host, subject, fs)
        report.append('%-4s %-8s flags=%s %s, %s after %ss' % (
            host.name, host.build.release(), hex(state['flags']), state['condition'],
            'iff %s fs %d' % (subject, fs) if ok else 'no proof', done.get(host.name, '-')))
        if not ok:
            failed.append('%s (%s):\n%s\ncryptostats:\n%s\nlog (tail):\n%s' % (
                host.name, host.build.name, state['raw'], host.cryptostats()[-1500:], host.log()[-800:]))
    unanswered = association(gx)
    report.append('gx   %-8s reach=%s %s (straight to th, subject without @group)' % (
        gx.build.release(), unanswered['reach'], unanswered['condition']))
    assert not failed, 'not verified on the stock 4.2.6 group keys:\n%s\n\n%s' % ('\n'.join(report), '\n\n'.join(failed))
    # the limit, as found: if it ever verifies, docs/ntpd-4.2.6.md must change
    assert unanswered['reach'] == '000' and unanswered['flags'] == 0, unanswered['raw']
    for host in chains + [host for host, dummy, dummy in members] + [gx]:
        assert host.running(), host.log()
        host.assert_off_the_clock()
    with capsys.disabled():
        print('\nstock 4.2.6p5 IFF trusted hosts (single-DES keys) imported:\n  %s' % '\n  '.join(report))
