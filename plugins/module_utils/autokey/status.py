# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One host's Autokey state, judged: what each association really verified, in plain words.

Inputs are texts read on the host (ntpq output, cryptostats), the names in
its keysdir and the facts of its params files (public: read_params); nothing
here runs commands, so captured outputs test it.

Identity verdict of an association (reference section 5.4):
* VRFY with ident and a scheme bit: only a real identity exchange sets it;
* VRFY without ident: certificate-only trust (TC), any Trust Root passes;
* VRFY with ident but no scheme bit: the server offers no scheme, TC fallback.

ntpd 4.2.6 has one group per host, its `crypto ident` (ntpq's system variable `group`), and no ident per
association: there the association's ident is that group, and VRFY without it is certificate-only trust
(docs/ntpd-4.2.6.md). It opens the params under the subject of the Trust Root, not the group.
"""


import errno
import re
import time

from ansible_collections.ntp.autokey.plugins.module_utils.autokey import cryptostats, flags, ntpq
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.envelope import parse as parse_keyfile
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.errors import AutokeyError
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import (
    MAX_FILE, KeysDir, KeysDirError, read_file, read_tail)
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.private_keys import load_pem
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.symmetric import forbidden_type

CERT_TRUST = 0x01
CERT_FLAGS = ((0x01, 'trust'), (0x02, 'sign'), (0x04, 'valid'), (0x08, 'private'), (0x80, 'error'))
# ntpq's hmode: how this host talks to the association's peer
MODES = {'1': 'active', '2': 'passive', '3': 'client', '4': 'server', '5': 'broadcast', '6': 'bclient'}
# blocked: waits for an upstream that is not synchronised and will not be without a fix there (its own verdict
# is final: verify.yml passes those upstreams in `stuck`)
FINAL = ('verified', 'tc-only', 'tc-fallback', 'failing', 'blocked', 'none', 'symmetric', 'nts')
TRUSTING = ('verified', 'tc-only', 'tc-fallback')  # VRFY set
KEYED = ('symmetric', 'nts')  # authenticated without Autokey: by a symmetric key, by NTS (ntpsec)
AUTHENTICATED = ('verified',) + KEYED  # what a host may take time from
TEST5 = 0x0010  # flash: the packet failed authentication
# polls without an authenticated answer after which a symmetric association is failing, not pending: ntpd sends
# iburst's eight packets and then one a poll; a server drops a request whose MAC it cannot verify
SYMMETRIC_PATIENCE = 8
# ntpsec's hpoll after a failed NTS key establishment (NTS-KE): at least 8, plus 4, at most 12, so the next attempt
# comes 2^12 s (68 minutes) later; until then the association keeps no cookies and no answer (seen live, 1.2.2)
NTS_KE_RETRY_HPOLL = 12
# ntpsec's srcadr of an NTS association before its first NTS-KE succeeded (the server's address comes with it)
UNSET_ADDRESSES = ('', '0.0.0.0', '::')
NTPSEC_NTS_HINT = ('%s: check that the server certificate is signed by a CA this host trusts (ca on the server line, '
                   'or the system CAs), names %s (subjectAltName), has not expired, and that the server serves NTS-KE '
                   'on TCP 4460 (nts enable, nts key, nts cert) and is up; ntpsec logs the TLS error (NTSc: lines); '
                   'once fixed, a restart or SIGHUP makes ntpsec try again at once')


def _certificate(entry, own_host, now):
    flags_word = entry['flags']
    until = entry['until']
    return dict(subject=entry['subject'], issuer=entry['issuer'], flags='0x%x' % flags_word,
                flag_names=[name for bit, name in CERT_FLAGS if flags_word & bit], until=until,
                self_signed=entry['subject'] == entry['issuer'], own=entry['subject'] == own_host,
                trusted=bool(flags_word & CERT_TRUST),
                expired=bool(until) and until < time.strftime('%Y%m%d%H%M', time.gmtime(now)))


_NUMBER = re.compile(r'^[0-9]{1,10}\Z')


def number(value):
    """The int of an ntpq value of ASCII digits, None for anything else (str.isdigit() also takes
    digits such as '\u00b2' that int() refuses)."""
    return int(value) if isinstance(value, str) and _NUMBER.match(value) else None


_SIGNED = re.compile(r'^-?[0-9]{1,10}\Z')


def signed(value):
    """number() that also takes a leading minus (ntpsec's ntscookies is -1 before the first NTS-KE)."""
    return int(value) if isinstance(value, str) and _SIGNED.match(value) else None


def read_log(path, limit=16 << 20):
    """(text, problem): the text of the last `limit` bytes of a file the daemon writes (cryptostats, a pidfile,
    ntp.conf), or None and why it was not read (a link, a FIFO, a device: files.read_tail; the reason names the
    path only; None when it is missing). Bytes that are not UTF-8 become U+FFFD: a damaged line is skipped, not fatal."""
    try:
        start, data = read_tail(path, limit)
    except KeysDirError as exc:
        return None, str(exc)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None, None  # missing: nothing to say beyond its absence
        return None, '%s cannot be read (%s)' % (path, exc.strerror or exc.__class__.__name__)
    if start:  # drop the line cut in two
        data = data[data.find(b'\n') + 1:]
    return data.decode('utf-8', 'replace'), None


def read_text(path, limit=16 << 20):
    """read_log's text alone: None when the file cannot be read."""
    return read_log(path, limit)[0]


def read_params_file(keysdir, link):
    """(text, problem) of the params file ntpd opens through `link` in `keysdir`: only a regular file of the keys
    directory itself, reached by at most one link that stays in it (KeysDir.resolve), at most MAX_FILE bytes
    (files.read_file). A refused file gives the reason, which names it and never its content; a missing one
    (None, None)."""
    keys = KeysDir(keysdir)
    entry = keys.resolve(link)
    if entry.problem:
        return None, entry.problem
    if entry.name is None:
        return None, None
    try:
        raw = read_file(keys.join(entry.name), follow=False, limit=MAX_FILE, binary=True)
    except KeysDirError as exc:
        return None, str(exc)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None, None  # a link to a file that is gone: as if there were no params
        return None, '%s cannot be read (%s)' % (keys.join(entry.name), exc.strerror or exc.__class__.__name__)
    return raw.decode('utf-8', 'replace'), None


def _hex(value):
    try:
        return int((value or '').split()[0], 16)
    except (IndexError, ValueError):
        return None


def trail(certificates, start, own_host):
    """Certificates from `start` up to a self-signed one, as ntpd's cache holds them."""
    chain, subject, seen = [], start, set()
    while subject and subject not in seen:
        seen.add(subject)
        candidates = [c for c in certificates if c['subject'] == subject]
        if subject == own_host or not candidates:  # our own certificate never ends an upstream trail
            break
        cert = sorted(candidates, key=lambda c: 'valid' not in c['flag_names'])[0]
        chain.append(cert)
        if cert['self_signed']:
            break
        subject = cert['issuer']
    return chain


def _params_link(files, scheme, group):
    return 'ntpkey_%spar_%s' % (scheme, group) in files


STOCK_PARAMS = {
    'iff': 'written by ntp-keygen -e: PKCS#8 kept no public value v, so OpenSSL hands ntpd pub = g and the IFF '
           'exchange can never verify',
    'gq': 'written by ntp-keygen -e: it holds the group key b in the e field (d = 1), but ntpd 4.2.8p15 reads b '
          'from d, so the GQ exchange can never verify',
    'mv': 'written by ntp-keygen -e: PKCS#8 kept no public value xhat, so the MV exchange can never verify',
}


def read_params(name, text, refused=None):
    """Facts of a client params file (public, nothing secret): {'file', 'filestamp', 'scheme', 'layout', 'problem'}.

    layout is `verifiable` (what ntpd 4.2.8p15 can verify), `stock` (ntp-keygen -e output, which it cannot),
    `server key` (a group key where params belong) or `unreadable`; problem says why in words (None when usable).
    `refused`: why the file was not read (read_params_file), instead of `text`."""
    scheme = name[len('ntpkey_'):].split('par_', 1)[0].lower()
    facts = dict(file=name, filestamp=None, scheme=scheme, layout='unreadable', problem=None)
    if refused:
        facts['problem'] = 'not read: %s' % refused
        return facts
    try:
        keyfile = parse_keyfile(text, name)
        facts['filestamp'] = keyfile.filestamp
        first = load_pem(keyfile.body)[0]
    except AutokeyError as exc:
        facts['problem'] = 'cannot be read (%s)' % exc
        return facts
    fields = first.fields
    if scheme == 'iff' and first.algorithm == 'DSA':
        if fields.get('priv') != 1:
            facts['layout'], facts['problem'] = 'server key', 'holds the IFF group key itself, not params'
        else:
            facts['layout'] = 'verifiable' if 'pub' in fields else 'stock'
    elif scheme == 'gq' and first.algorithm == 'RSA':
        if fields.get('p') != 1 or fields.get('q') != 1:
            facts['layout'], facts['problem'] = 'server key', 'holds the GQ private key u, not params'
        else:
            facts['layout'] = 'stock' if fields.get('d') == 1 and fields.get('e') != 1 else 'verifiable'
    elif scheme == 'mv' and first.algorithm == 'DSA':
        facts['layout'] = 'verifiable' if 'pub' in fields else 'stock'
        bits = fields.get('p', 0).bit_length()
        if facts['layout'] == 'verifiable' and bits % 8:  # identity._whole_bytes says why
            top = fields['p'] >> (8 * ((bits - 1) // 8))
            facts['problem'] = ('is of an MV group whose modulus of %d bits has 0x%02x in its top byte: ntpd 4.2.8 '
                                'fails about 1 in %d of its identity exchanges with it (the challenge loses leading '
                                'zero bytes)' % (bits, top, top))
    else:
        facts['problem'] = 'is a %s key, not %s params' % (first.algorithm, scheme.upper())
    if facts['layout'] == 'stock':
        facts['problem'] = STOCK_PARAMS[scheme]
    return facts


def _cause(code, held, scheme):
    """(cause, hint) of an identity error that the params file on disk explains; None when it does not."""
    if not held:
        return None
    name = held['file']
    if held['problem'] and code == '10e' and scheme == 'mv' and held['layout'] == 'verifiable':
        return ('%s %s' % (name, held['problem']),
                'regenerate the MV group key on the trusted host (site.yml replaces one whose modulus is not of '
                'whole bytes), then restart ntpd top-down')
    if held['problem'] and code in ('10e', '10f'):
        return ('%s was %s' % (name, held['problem']) if held['layout'] == 'stock' else '%s %s' % (name, held['problem']),
                'refused at every poll for as long as these params stay: install params made from the server key by '
                'this collection (site.yml, or group_keys) and restart ntpd here')
    if code == '103' and held['filestamp']:
        return ('the params here are of group key fs %d (%s), the server answers with a group key of another '
                'filestamp' % (held['filestamp'], name),
                'refused at every poll until this host holds the params of the key its server runs: install them '
                '(site.yml with the current key) and restart ntpd here')
    if code == '10e' and scheme == 'mv' and held['layout'] == 'verifiable':
        return ('MV client key revoked: the params (fs %s) are of the server\'s group key (the filestamps agree, '
                'else ntpd says 103), and the server\'s key no longer accepts this client key' % held['filestamp'],
                'refused until it restarts with a usable client key: give this host a usable autokey_mv_key '
                '(site.yml), or remove it from the group')
    if code == '10e' and held['layout'] == 'verifiable':
        return ('the params (fs %s) do not match the server\'s group key although the filestamps agree: the key was '
                'regenerated under the same filestamp (ntp-keygen reuses the filestamp of files it reads)'
                % held['filestamp'],
                'install params made from the server\'s current key and restart ntpd here; regenerate group keys in '
                'an empty directory or with ntp.autokey.group_keys so that filestamps change')
    return None


PKT_STRATUM = 0x0020  # flash TEST6: the server's packets say it is not synchronised (leap 11 or stratum 16)


# ntpq's `version` system variable: the reference ntpd ("ntpd 4.2.8p15@1.3728-o Wed Sep 23 ..."; "-o" when built
# with OpenSSL, which Autokey needs) or ntpsec ("ntpd ntpsec-1.2.2"), which has no Autokey
_REFERENCE = re.compile(r'ntpd (4\.[0-9]+\.[0-9]+(?:p[0-9]+)?)(?:@[^ ]*?)?(-o)?(?: |\Z)')
_NTPSEC = re.compile(r'ntpd ntpsec-([0-9][0-9A-Za-z.+~-]{0,30})')
# ntpd 4.2.6 and older: the group is the host's crypto ident, not a word of each server line
_HOST_GROUP = re.compile(r'ntpd 4\.[0-2]\.[0-6](?![0-9])')
# a crypto line with a password (only the keyword is looked for: the password itself is never read into a result)
_CRYPTO_PW = re.compile(r'^[ \t]*crypto\b[^#\n]*[ \t]pw[ \t]+[^ \t#\n]', re.M)


def daemon_identity(version):
    """What ntpq's `version` says runs here: {'kind': 'ntpd' (the reference ntpd with OpenSSL), 'ntpd-no-openssl',
    'ntpsec' or 'unknown', 'name': 'ntpd 4.2.8p15' or 'ntpsec 1.2.2' (None when unknown), 'autokey': bool}."""
    text = (version or '').strip()
    found = _NTPSEC.match(text)
    if found:
        return dict(kind='ntpsec', name='ntpsec %s' % found.group(1), autokey=False)
    found = _REFERENCE.match(text)
    if found:
        return dict(kind='ntpd' if found.group(2) else 'ntpd-no-openssl', name='ntpd %s' % found.group(1),
                    autokey=bool(found.group(2)))
    return dict(kind='unknown', name=None, autokey=False)


def exposed_password(path, text, mode):
    """The finding for a configuration file that holds a crypto password and that others may read, or ''.
    `text` is the file's text, `mode` its permission bits."""
    if mode & 0o044 and _CRYPTO_PW.search(text or ''):
        return ('%s holds the crypto password and is readable by others (mode %04o): make it 0600 or remove the '
                'crypto line, and treat the password as exposed (a new autokey_password, which renews the host key)'
                % (path, mode & 0o7777))
    return ''


def _upstream(assoc):
    """Whether the server of an association is synchronised; None before anything was heard from it.
    ntpq keeps the leap and stratum of the last packet ntpd accepted, so the flash bits of the last packet
    received tell more (a restarted server's packets are dropped for their stratum)."""
    if assoc.get('upstream_heard') is False:
        return None
    if assoc.get('flash_bits') is not None and assoc['flash_bits'] & PKT_STRATUM:
        return False
    if assoc.get('upstream_stratum') is None:
        return None
    return assoc['upstream_leap'] != '11' and assoc['upstream_stratum'] < 16


def judge(assoc, files, params=None, stuck=()):
    """(state, verdict, hint) of one association; see the module docstring.

    `params`: facts of the params files (read_params) by link name; `stuck`: CNs of upstreams that are not
    synchronised and will not be without a fix there (an association waiting for one of them is blocked)."""
    word = assoc['flags']
    errors = assoc['errors']
    if word is None and assoc['ident'] and (len(errors) >= 2 or (errors and assoc['restarts'])):
        last = errors[-1]  # ntpd 4.2.6 shows no flags between the restarts of a failing association
        return 'failing', 'failing: %s %s' % (last['code'], last['text']), _missing_params(assoc, files) or last['hint']
    if word is None and assoc['ident']:  # configured with autokey ident, the server has not answered yet
        return 'pending', 'pending: assoc (no answer from the server yet)', 'check that the server runs and is reachable'
    if word is None:
        return 'none', 'not an Autokey association', ''
    ident, offered = assoc['ident'], word['schemes']
    if word['bits']['VRFY']:
        if not ident and assoc.get('host_group'):
            return ('tc-only', 'tc-only: no crypto ident (%s)' % assoc['host_group'],
                    'certificate-only trust: %s runs the identity exchange only with "crypto ... ident <subject of the '
                    'trusted host>" (the ntpd role writes it); add it and give this host the params under that name'
                    % assoc['host_group'])
        if not ident:
            return ('tc-only', 'tc-only: no ident on the server line',
                    'certificate-only trust: any host with a Trust Root certificate of that name would pass; '
                    'add "ident <group>" to the server line and give this host the params')
        if not offered:
            return ('tc-fallback', 'tc-fallback: server offers no scheme',
                    'the server has no group key loaded, so ntpd trusted the certificate alone; install the '
                    'server key on the upstream and restart it')
        return 'verified', '%s verified' % offered[0], ''
    waiting = word.get('waiting_for') or 'assoc'
    params_name = _params_name(assoc)
    if ident and offered and files and not _params_link(files, offered[0], params_name):
        return ('failing', 'failing: no params file ntpkey_%spar_%s' % (offered[0], params_name),
                'the client cannot run the identity exchange and restarts the association (10f); install the params')
    held = (params or {}).get('ntpkey_%spar_%s' % (offered[0], params_name)) if ident and offered else None
    # an error before the association's last restart (the server restarted it, with other keys perhaps) is history:
    # only an error of the association as it runs now is a verdict
    current = errors and assoc.get('error_is_current', True)
    if current:
        last = errors[-1]
        cause = _cause(last['code'], held, offered[0] if offered else None)
        if cause:  # the files on disk tell why: waiting changes nothing
            return 'failing', 'failing: %s %s: %s' % (last['code'], last['text'], cause[0]), cause[1]
    if current and (len(errors) >= 2 or assoc['restarts']):
        last = errors[-1]
        return 'failing', 'failing: %s %s' % (last['code'], last['text']), last['hint']
    if assoc['cn'] and assoc['cn'] in stuck:
        return ('blocked', 'blocked: waits for %s from %s, which is not synchronised and will not be by waiting'
                % (waiting, assoc['cn']), 'fix %s first (its own verdict says why), then restart ntpd here' % assoc['cn'])
    if errors:
        return 'pending', 'pending: %s (after one %s %s)' % (waiting, errors[-1]['code'], errors[-1]['text']), ''
    if held and held['problem']:
        return 'pending', 'pending: %s' % waiting, '%s %s: the exchange will fail' % (held['file'], held['problem'])
    if word['bits']['ENAB'] and not offered and ident:
        return 'pending', 'pending: %s' % waiting, 'the server offers no scheme: this will fall back to TC'
    if _upstream(assoc) is False:
        return 'pending', 'pending: %s' % waiting, ('%s is not synchronised: it sends no certificate and no signature '
                                                    'until it is' % (assoc['cn'] or assoc['address']))
    return 'pending', 'pending: %s' % waiting, ''


def _received_root(received):
    """The self-signed certificate among those cryptostats says were received (ntpd 4.2.6 keeps no trail while an
    association restarts), as {'subject': ..., 'filestamp': ...}, or None."""
    roots = [c for c in received if c['subject'] == c['issuer']]
    return dict(subject=roots[-1]['subject'], filestamp=roots[-1]['filestamp']) if roots else None


def _params_name(assoc):
    """The name the params are opened under: the group, or on ntpd 4.2.6 the Trust Root's subject."""
    if assoc.get('host_group') and assoc.get('trust_root'):
        return assoc['trust_root']['subject']
    return assoc['ident']


def _missing_params(assoc, files):
    """The hint for a failing association whose params are not on disk (any scheme), or ''."""
    name = _params_name(assoc)
    if not files or not name or any(_params_link(files, s, name) for s in ('iff', 'gq', 'mv')):
        return ''
    return 'no params file ntpkey_<scheme>par_%s: %s opens the params under that name' % (
        name, assoc.get('host_group') or 'ntpd')


# the last polls of an association that answered before: a daemon keeps it selected, and its last answer
# authenticated, for up to 8 polls without a valid answer (a wrong key after a rekey, a server gone: seen live on
# chrony 4.0, reach 377 -> 376 -> ... -> 200 while still selected, and on ntpd 4.2.8p15). Such an association is
# never ok, but pending, not final: a server that restarts (a migration step, a rollover) misses polls too. Once
# the register is empty, the patience rules of each judge make it failing.


def missed(reach):
    """Polls since the last valid answer: the trailing zeros of the 8-bit reach register (None without one)."""
    if not reach:
        return None
    count = 0
    while not reach & (1 << count):
        count += 1
    return count


def stale(named, reach, last_rx=None):
    """(state, verdict, hint) of an association that answered before but not at its last polls, or None. `reach`:
    the register as a number; `last_rx`: seconds since the last valid answer, where the daemon shows it."""
    count = missed(reach)
    if not count:
        return None
    return ('pending', 'pending: %s: no authenticated answer to its last %s (reach %o%s): the server stopped '
            'answering this host, is restarting, or drops its requests (a key changed on one side only)' % (
                named, 'poll' if count == 1 else '%d polls' % count, reach,
                ', last valid sample %d s ago' % last_rx if last_rx is not None else ''), '')


def reach_register(value):
    """The reach register as ntpq and chronyc print it (octal text) as a number, None when it is not one."""
    return int(value, 8) if isinstance(value, str) and re.match(r'^[0-7]{1,3}\Z', value) else None


def judge_symmetric(assoc, key_types=None):
    """(state, verdict, hint) of an association authenticated by a symmetric key (keyid 1 to 65535, no Autokey)."""
    key = assoc['key_id']
    kind = (key_types or {}).get(key)
    named = 'symmetric key %d%s' % (key, ' (%s)' % kind if kind else '')
    failed_mac = assoc['flash_bits'] is not None and assoc['flash_bits'] & TEST5
    if assoc['authentic'] and assoc['reach'] not in (None, '0', '000') and not failed_mac:
        return stale(named, reach_register(assoc['reach'])) or ('symmetric', '%s ok' % named, '')
    if failed_mac:
        return ('failing', 'failing: %s: the answers fail authentication (flash TEST5)' % named,
                'key %d is missing here, not trusted here (trustedkey), or holds another secret than the server\'s'
                % key)
    unreach = assoc.get('unreach')
    if assoc['reach'] in (None, '0', '000') and unreach is not None and unreach >= SYMMETRIC_PATIENCE:
        return ('failing', 'failing: %s: no authenticated answer in %d polls (auth bad)' % (named, unreach),
                'the server drops requests whose MAC it cannot verify: it lacks key %d, does not trust it, or holds '
                'another secret under it (or it is down: see its own verdict)' % key)
    return 'pending', 'pending: first authenticated answer with %s' % named, ''


def label(assoc):
    """How an association is named in words: `ns (192.0.2.11)` by ntpsec's srchost and its address, else either."""
    name, address = assoc.get('name'), assoc.get('address')
    if address in UNSET_ADDRESSES:
        return name or address or '?'
    return '%s (%s)' % (name, address) if name and name != address else address


def judge_nts(assoc, hpoll=None):
    """(state, verdict, hint) of an ntpsec NTS association (`server NAME nts`). `hpoll`: its poll exponent, which
    ntpsec raises to NTS_KE_RETRY_HPOLL after a failed NTS key establishment. ntpsec shows no cause of an NTS-KE
    failure (an untrusted CA, a name the certificate lacks, no NTS-KE service look alike in ntpq): the hint lists
    them. Its address is unset until an NTS-KE succeeded."""
    named = 'NTS with %s' % label(assoc)
    cookies, unreach = assoc['cookies'] or 0, assoc.get('unreach')
    unreached = assoc['reach'] in (None, '0', '000')
    keyed_once = assoc['address'] not in UNSET_ADDRESSES
    if assoc['authentic'] and not unreached:
        return stale(named, reach_register(assoc['reach'])) or ('nts', '%s ok (%d cookies)' % (named, cookies), '')
    if assoc['flash_bits'] is not None and assoc['flash_bits'] & TEST5:
        return ('failing', 'failing: %s: the answers fail authentication (flash TEST5)' % named,
                'ntpsec wants a key MAC in these answers, which NTS answers do not carry: a restrict line with notrust '
                'covers the server, or something else answers in its place')
    if unreached and not cookies and hpoll is not None and hpoll >= NTS_KE_RETRY_HPOLL:
        later = 'ntpsec retries after %d minutes' % ((1 << min(hpoll, 17)) // 60)
        if not keyed_once:
            return ('failing', 'failing: %s: NTS key establishment failed, no cookies (%s)' % (named, later),
                    'ntpsec gets no NTS keys from ' + NTPSEC_NTS_HINT % (label(assoc), assoc.get('name') or '?'))
        return ('failing', 'failing: %s: no answer to its cookies, and a new NTS key establishment failed (%s)'
                % (named, later),
                '%s stopped answering: it is down or unreachable from here (see its own verdict), no longer serves '
                'NTS-KE on TCP 4460, or presents a certificate this host does not accept; ntpsec logs why (NTSc: '
                'lines)' % (assoc.get('name') or assoc['address']))
    if unreached and keyed_once and unreach is not None and unreach >= SYMMETRIC_PATIENCE:
        return ('failing', 'failing: %s: NTS keys established, but no authenticated answer in %d polls' % (named, unreach),
                'the NTS-KE server %s gives cookies, but the NTP server it names, %s, does not answer them with NTS: it '
                'is down or unreachable from here (UDP 123), or does not hold the NTS keys of that NTS-KE service'
                % (assoc.get('name') or '?', assoc['address']))
    if not keyed_once:
        return 'pending', 'pending: %s: NTS key establishment not done yet' % named, ''
    if not cookies:
        return ('pending', 'pending: %s: no answer to its cookies, which are used up: a new NTS key establishment is '
                'due' % named, '')
    return 'pending', 'pending: %s: %s (%d cookies left)' % (
        named, 'first authenticated answer' if assoc.get('upstream_heard') is False else 'an authenticated answer again',
        cookies), ''


def judge_replaced(upstream):
    """(state, verdict, hint) of an Autokey association whose server no longer runs an ntpd with Autokey: `upstream`
    names it and what runs there now (e.g. 'gs (ntpsec 1.2.2)'). Final: waiting cannot change it, and flags the
    client still shows are from before the switch."""
    return ('blocked', 'blocked: its server %s has no Autokey (it replaced ntpd there)' % upstream,
            'migrate that host (playbooks/migrate.yml) or bring back the reference ntpd there: nothing it sends can '
            'be verified until then')


def association(block, events, certificates, own_host, files, params=None, stuck=(), key_types=None, replaced=None,
                host_group=None):
    """One association judged. `host_group`: {'name': 'ntpd 4.2.6p5', 'group': crypto ident or None} where the
    daemon names the group once for the host (ntpd 4.2.6), else None."""
    values, dummy = ntpq.variables(block)
    status = ntpq.peer_status(block['status'])
    address = values.get('srcadr', '')
    word = flags.decode(values['flags'], 'association') if 'flags' in values else None
    stats = cryptostats.association_facts(events, address)
    cn = values.get('host')
    chain = trail(certificates, cn, own_host) if cn else []
    root = chain[-1] if chain and chain[-1]['self_signed'] else None
    received = dict((c['subject'], c['filestamp']) for c in stats['certificates'])
    # (on ntpd 4.2.6 the host's group is the ident of its Autokey associations only: those with crypto flags, or
    # that cryptostats shows at work while they restart and show none)
    autokey_seen = word is not None or bool(stats['errors'] or stats['certificates'] or stats['proof'])
    assoc = dict(
        assid=block['associd'], address=address, cn=cn, name=values.get('srchost'), signature=values.get('signature'),
        mode=MODES.get(values.get('hmode')),
        ident=values.get('ident') or (host_group or {}).get('group') if autokey_seen else values.get('ident') or None,
        flags=word, reach=values.get('reach'), host_group=(host_group or {}).get('name'),
        selection=status['selection'], synchronised=status['selection'] in ('sys.peer', 'pps.peer'),
        upstream_leap=values.get('leap'), upstream_heard=values.get('pmode', '0') != '0',
        flash_bits=_hex(values.get('flash')),
        upstream_stratum=number(values.get('stratum')),
        # ntpd sets the authentic bit on packets that carry no MAC too: only with authenb is it authentication
        authentic=status['authentic'] and status['authenable'], flash=values.get('flash'), step=word['step'] if word else None,
        waiting_for=word['waiting_for'] if word else None, proof=stats['proof'],
        identity_filestamp=stats['identity_filestamp'], errors=stats['errors'][-3:], restarts=stats['restarts'],
        error_is_current=stats['error_is_current'],
        trail=[c['subject'] for c in chain],
        received=[dict(subject=c['subject'], issuer=c['issuer'], filestamp=c['filestamp']) for c in stats['certificates']],
        trust_root=dict(root, filestamp=received.get(root['subject'])) if root else (
            _received_root(stats['certificates']) if host_group else None))
    assoc['upstream_synchronised'] = _upstream(assoc)
    key_id = number(values.get('keyid'))
    symmetric = word is None and not assoc['ident'] and key_id is not None and 1 <= key_id <= 65535
    # ntpsec shows ntscookies for every association (-1 without NTS); NTS alone sets authenb without a key
    cookies = signed(values.get('ntscookies'))
    nts = (word is None and not assoc['ident'] and not symmetric and cookies is not None
           and (cookies >= 0 or status['authenable']))
    assoc.update(method='symmetric' if symmetric else 'nts' if nts else 'autokey' if word is not None or assoc['ident']
                 else 'none',
                 key_id=key_id if symmetric else None, key_type=(key_types or {}).get(key_id) if symmetric else None,
                 unreach=number(values.get('unreach')), cookies=max(cookies, 0) if nts else None)
    if symmetric:
        assoc['state'], assoc['verdict'], assoc['hint'] = judge_symmetric(assoc, key_types)
        return assoc
    if nts:
        assoc['state'], assoc['verdict'], assoc['hint'] = judge_nts(assoc, number(values.get('hpoll')))
        return assoc
    if assoc['method'] == 'autokey' and (replaced or {}).get(address):
        assoc['state'], assoc['verdict'], assoc['hint'] = judge_replaced(replaced[address])
        return assoc
    assoc['state'], assoc['verdict'], assoc['hint'] = judge(assoc, files, params, stuck)
    if assoc['state'] == 'verified' and not assoc['proof']:
        assoc['proof'] = 'inferred: VRFY with ident %s and %s offered (no cryptostats line for it)' % (
            assoc['ident'], word['schemes'][0].upper())
    return assoc


def assess(system_text, peers_text, cryptostats_text=None, files=None, require_identity=True, offers=None,
           now=None, params=None, stuck=(), key_types=None, forbidden_types=(), replaced=None, daemon='ntpd'):
    """Everything status_info returns about one host (see its RETURN documentation).

    `params`: {link name: read_params facts} of the params files in the keysdir; `stuck`: CNs of upstreams
    known to stay unsynchronised (their own verdicts are final), so that waiting for them is a verdict too;
    `key_types`: {key ID: type} of the symmetric key file; `forbidden_types`: key types the policy refuses;
    `replaced`: {address: 'name (daemon)'} of upstreams whose ntpd was replaced by a daemon without Autokey;
    `daemon`: what was deployed here, 'ntpd' (Autokey expected: ntpsec there replaced it) or 'ntpsec' (on purpose:
    NTS and symmetric keys, never Autokey)."""
    now = time.time() if now is None else now
    files = files or {}
    params = params or {}
    stuck = list(stuck or ())
    blocks = ntpq.read_variables(system_text)
    if not blocks or blocks[0]['associd'] != 0:
        raise ntpq.NtpqError('no system variables in ntpq output (is ntpd running and answering ntpq?)')
    values, raw_certs = ntpq.variables(blocks[0])
    events = cryptostats.read(cryptostats_text) if cryptostats_text is not None else []
    own = values.get('host')
    if own and '@' not in own and _HOST_GROUP.match(values.get('version') or ''):
        # ntpd 4.2.6 shows its crypto host (th), not its certificate's subject (th@lab): take that from its certificates
        named = [c['subject'] for c in raw_certs if '@' in c['subject'] and c['subject'].split('@', 1)[0] == own]
        own = named[0] if named else own
    certificates = [_certificate(c, own, now) for c in raw_certs]
    system_word = flags.decode(values['flags'], 'system') if 'flags' in values else None
    group = own.split('@', 1)[1] if own and '@' in own else None
    result = dict(
        host=own, group=group, version=values.get('version'), daemon_identity=daemon_identity(values.get('version')),
        flags=system_word, offers=system_word['schemes'] if system_word else [],
        stratum=number(values.get('stratum')), system_peer=number(values.get('peer')),
        signature=values.get('signature'), certificates=certificates,
        cryptostats='read' if cryptostats_text is not None else 'not available', expected_daemon=daemon,
        loaded=cryptostats.loaded(events, own.split('@')[0] if own else None, group),
        files=files, params=params)
    result['synchronised'] = bool(result['stratum'] is not None and result['stratum'] < 16 and result['system_peer'])
    host_group = None
    if _HOST_GROUP.match(values.get('version') or ''):
        host_group = dict(name=result['daemon_identity']['name'], group=values.get('group') or None)
    result['associations'] = [association(b, events, certificates, own, files, params, stuck, key_types,
                                          replaced, host_group)
                              for b in ntpq.read_variables(peers_text or '') if b['associd']]
    trusting = [a for a in result['associations'] if a['state'] in TRUSTING]
    waiting = [a for a in trusting if a['cn'] not in stuck]  # trust that can still complete and synchronise
    keyed = [a for a in result['associations'] if a['state'] in KEYED]
    result['synchronised_to_autokey'] = any(a['synchronised'] for a in trusting)
    result['synchronised_authenticated'] = result['synchronised_to_autokey'] or any(a['synchronised'] for a in keyed)
    result['converged'] = bool(result['associations']) and all(a['state'] in FINAL for a in result['associations']) and all(
        a['flags']['complete'] for a in waiting) and (result['synchronised_authenticated'] or not waiting + keyed)
    if daemon == 'ntpsec':
        result['problems'] = ntpsec_problems(result, forbidden_types)
    else:
        result['problems'] = problems(result, require_identity, offers) + symmetric_problems(result, forbidden_types)
    return result


def symmetric_problems(result, forbidden_types=()):
    """Findings about the associations authenticated by a symmetric key or NTS (the Autokey ones are
    problems()'s)."""
    found = []
    for assoc in result['associations']:
        if assoc['method'] not in KEYED:
            continue
        who = assoc['address']
        if assoc['state'] != assoc['method']:
            # an NTS verdict names the server (its address is unset until NTS-KE succeeded)
            found.append('%s%s%s' % ('' if assoc['method'] == 'nts' else who + ': ', assoc['verdict'],
                                     ' (%s)' % assoc['hint'] if assoc['hint'] else ''))
        elif assoc['key_type'] in forbidden_types:
            found.append(forbidden_type(who, assoc['key_id'], assoc['key_type']))
    return found


def ntpsec_problems(result, forbidden_types=()):
    """Findings on a host where ntpsec was deployed on purpose: no Autokey there, every association authenticated
    by NTS or a symmetric key, and the host synchronised to one of them."""
    found = []
    daemon = result.get('daemon_identity') or daemon_identity(None)
    if daemon['kind'] != 'ntpsec':
        found.append('not ntpsec: %s answers ntpq here, where ntpsec was deployed (is the old daemon still installed '
                     'and running, or is the ntpsec service stopped?)' % (
                         daemon['name'] or 'a daemon of version %s' % (result.get('version') or 'not shown')))
    if not result['associations']:
        found.append('no association: ntpsec has no server line')
    for assoc in result['associations']:
        # (a reference clock, 127.127.t.u, is this host's own time source, not one on the network)
        if assoc['method'] == 'none' and not assoc['address'].startswith('127.127.'):
            found.append('%s: unauthenticated: no key and no NTS on its server line (anyone on the path can give this '
                         'host time: add nts, or a key, to it)' % label(assoc))
    found += symmetric_problems(result, forbidden_types)
    if result['associations'] and not result['synchronised_authenticated']:
        taken = [a for a in result['associations'] if a['synchronised']]
        keyed = [a for a in result['associations'] if a['state'] in KEYED]
        found.append('not synchronised to an authenticated source%s' % (
            ' (synchronised to %s without authentication)' % label(taken[0]) if taken else
            ' (%s)' % ', '.join(_unsynchronised(a) for a in keyed) if keyed else ''))
    return found


def problems(result, require_identity=True, offers=None):
    """Plain-word findings that make this host not protected by Autokey (ntpsec_problems() judges a host where
    ntpsec was deployed on purpose)."""
    found = []
    word = result['flags']
    if word is None and not any(a.get('method') in KEYED for a in result['associations']):
        return [_autokey_off(result)]
    if word is None:  # symmetric keys or NTS only: symmetric_problems() judges them
        return []
    if offers and offers not in result['offers']:
        link = 'ntpkey_%skey_%s' % (offers, result['group'])
        found.append('offers no %s to its clients (system flags %s): %s' % (
            offers.upper(), word['word'],
            '%s is missing from the keysdir' % link if link not in result['files'] else
            'the group key is on disk but ntpd did not load it (restart ntpd, or check crypto ident)'))
    for cert in result['certificates']:
        if cert['own'] and cert['self_signed'] and cert['expired']:
            found.append('own certificate expired (%s): this host can neither sign nor be signed' % cert['until'])
    autokey = [a for a in result['associations'] if a['state'] != 'none' and a.get('method') not in KEYED]
    keyed = [a for a in result['associations'] if a.get('method') in KEYED]
    if not autokey and not keyed and not offers:
        found.append('no Autokey association: nothing this host trusts is verified')
    accepted = [a for a in autokey if a['state'] == 'verified' or (a['state'] in TRUSTING and not require_identity)]
    accepted += [a for a in keyed if a['state'] in KEYED]
    if accepted and not any(a['synchronised'] for a in accepted):
        found.append('not synchronised to its verified association%s (%s)' % (
            's' if len(accepted) > 1 else '', ', '.join(_unsynchronised(a) for a in accepted)))
    for assoc in autokey:
        state, who = assoc['state'], '%s (%s)' % (assoc['address'], assoc['cn'] or '?')
        if state == 'verified':
            continue
        if state in ('tc-only', 'tc-fallback') and not require_identity:
            continue
        found.append('%s: %s%s' % (who, assoc['verdict'], ' (%s)' % assoc['hint'] if assoc['hint'] else ''))
    return found


def _autokey_off(result):
    """Why a host without crypto flags and symmetric associations has no Autokey, and what it takes time from."""
    daemon = result.get('daemon_identity') or daemon_identity(None)
    if daemon['kind'] == 'ntpsec':
        why = ('%s replaced ntpd: Autokey is gone (ntpsec has none, and ignores the crypto and keysdir lines and '
               'everything from "autokey" on a server line; Debian 12 and later install it for the package ntp)'
               % daemon['name'])
    elif daemon['kind'] == 'ntpd-no-openssl':
        why = 'Autokey is off: %s was built without OpenSSL (its version lacks "-o")' % daemon['name']
    elif daemon['kind'] == 'ntpd':
        why = 'Autokey is off: %s shows no crypto flags (no crypto line in its configuration)' % daemon['name']
    else:
        why = ('Autokey is off: the daemon shows no crypto flags and its version (%s) is not the reference ntpd '
               'built with OpenSSL' % (result.get('version') or 'not shown'))
    peer = [a for a in result['associations'] if a['synchronised']]
    if peer and not peer[0]['authentic']:
        return '%s; synchronised without authentication to %s' % (why, peer[0]['address'])
    return '%s; %s' % (why, 'synchronised to %s' % peer[0]['address'] if peer else 'not synchronised')


def _unsynchronised(assoc):
    who = assoc['cn'] or label(assoc)
    if assoc.get('upstream_synchronised') is False:
        return '%s %s: %s is not synchronised itself' % (who, assoc['selection'], who)
    return '%s %s' % (who, assoc['selection'])


def restart_facts(started, mtimes):
    """Files changed since ntpd started (it reads keys and configuration at start only).
    `started` None (the daemon judged is not known here): nothing can be said, restart_needed is None."""
    if started is None:
        return dict(daemon_started=None, changed_since_start=[], restart_needed=None)
    newer = sorted(name for name, when in mtimes.items() if when > started)
    return dict(daemon_started=started, changed_since_start=newer, restart_needed=bool(newer))
