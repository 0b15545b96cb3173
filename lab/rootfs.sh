#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build (once) a Debian root file system with Python and python3-cryptography
# (bullseye: 3.9 and 3.3.2) and one time daemon (ntp and chrony conflict):
#   ntp     the reference ntpd/ntp-keygen 4.2.8p15 (Autokey compiled in; bullseye only), and chrony's and
#           ntpsec's (1.2.0) packages downloaded for a migration to chrony or ntpsec
#   chrony  chronyd/chronyc 4.0 (bullseye) or 4.3 (bookworm)
#   ntpsec  ntpsec's ntpd/ntpq (bullseye: 1.2.0, bookworm: 1.2.2), NTS and symmetric keys, no Autokey
# Tests run the daemons from it inside network namespaces; molecule imports
# it as a podman image. Or, with upgrade, the ntp rootfs ready for its upgrade to SUITE (below).
#
# Usage: lab/rootfs.sh [DIR [ntp|chrony|ntpsec|upgrade [SUITE]]]
#   (default: $AUTOKEY_LAB_ROOTFS or /var/cache/ntp-autokey/bullseye, ntp, bullseye)
set -euo pipefail

root=${1:-${AUTOKEY_LAB_ROOTFS:-/var/cache/ntp-autokey/bullseye}}
daemon=${2:-ntp}
suite=${3:-bullseye}

# The Debian mirror of this machine's apt sources (the entry of its own release, as in deb822 .sources files
# or one-line sources.list entries), unless AUTOKEY_LAB_MIRROR names one
apt_mirror() {
    local codename files=()
    # shellcheck disable=SC1091
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    for file in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$file" ] && files+=("$file")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    awk -v want="$codename" '
        FILENAME ~ /\.sources$/ && /^URIs:/ { uri = $2 }
        FILENAME ~ /\.sources$/ && /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == want && uri != "") { print uri; exit } }
        FILENAME ~ /\.sources$/ && /^$/ { uri = "" }
        FILENAME !~ /\.sources$/ && $1 == "deb" {
            i = 2; if ($2 ~ /^\[/) while (i <= NF && $(i - 1) !~ /\]$/) i++
            if ($(i + 1) == want) { print $i; exit }
        }' "${files[@]}"
}
mirror=${AUTOKEY_LAB_MIRROR:-$(apt_mirror)}
if [ -z "$mirror" ]; then
    echo "lab/rootfs.sh: no Debian mirror found in /etc/apt/sources.list{,.d}; set AUTOKEY_LAB_MIRROR" >&2
    exit 2
fi
# upgrade: the ntp rootfs (AUTOKEY_LAB_ROOTFS) with SUITE's sources and every package of its upgrade downloaded,
# nothing installed. A test copies it, runs ntpd 4.2.8p15 there on the collection's files, then the upgrade
# itself, offline, as a host's `apt full-upgrade` does it (tests/reference/test_upgrade_to_ntpsec.py).
if [ "$daemon" = upgrade ]; then
    source_root=${AUTOKEY_LAB_ROOTFS:-/var/cache/ntp-autokey/bullseye}
    stamp="$root/.ntp-autokey-rootfs"
    stamp_text="upgrade of $source_root ($(stat -c %Y "$source_root/.ntp-autokey-rootfs")) to $suite"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_text" ]; then
        echo "rootfs ready: $root"
        exit 0
    fi
    rm -rf "$root"
    mkdir -p "$root"
    # without the lab's apt settings for migrations (ntpsec's init script, no recommends): the upgrade is Debian's own
    tar -C "$source_root" --exclude='./srv/*' --exclude='./tmp/*' --exclude=./.ntp-autokey-rootfs \
        --exclude='./etc/apt/apt.conf.d/99lab-*' -cf - . | tar -C "$root" -xf -
    echo "deb $mirror $suite main" >"$root/etc/apt/sources.list"
    chroot "$root" apt-get update -qq
    chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get full-upgrade -y -qq --download-only >/dev/null
    echo "$(find "$root/var/cache/apt/archives" -name '*.deb' | wc -l) packages of the upgrade to $suite downloaded"
    printf '%s' "$stamp_text" >"$stamp"
    echo "rootfs ready: $root"
    exit 0
fi
case $daemon in
    # python2.7: the Python of RHEL 7's hosts, for the roles' tasks on such a target (molecule gq)
    ntp) packages=(ntp python3 python3-cryptography python3-pytest python3-hypothesis python2.7) ;;
    chrony) packages=(chrony python3 python3-cryptography) ;;
    ntpsec) packages=(ntpsec python3 python3-cryptography) ;;
    *) echo "unknown daemon '$daemon': ntp, chrony, ntpsec or upgrade" >&2; exit 2 ;;
esac
packages+=(libcap2-bin iproute2 procps openssl sudo python3-apt)
stamp="$root/.ntp-autokey-rootfs"

stamp_text="${packages[*]}"
# ntp: chrony's and ntpsec's packages downloaded too, so that a lab host migrates from ntpd offline
# (docs/migration.md)
[ "$daemon" = ntp ] && stamp_text+=" +chrony-debs +ntpsec-debs +lab-init +no-recommends"
[ "$daemon" = ntpsec ] && stamp_text+=" +lab-init"
[ "$suite" = bullseye ] || stamp_text+=" suite=$suite"  # bullseye's stamps stay as they were
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_text" ]; then
    echo "rootfs ready: $root"
    exit 0
fi

if ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

rm -rf "$root"
mkdir -p "$(dirname "$root")"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >/dev/null

# No service may start inside the chroot while packages are installed:
# a daemon started here would run on the build machine's own clock.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"

chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
chroot "$root" apt-get clean
if [ "$daemon" = ntp ]; then
    for package in chrony ntpsec; do
        chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends --download-only "$package" >/dev/null
    done
fi
# ntpsec started with -u (its init script always adds -u ntpsec:ntpsec) exits when it cannot keep CAP_SYS_TIME,
# which no lab container holds: the lab's init script runs it as root, with Debian's other options. The only
# change to a package's file in the lab (docs/ntpsec.md); hosts run it as Debian ships it. A host that installs
# ntpsec later (a migration) gets the same change from apt's post-invoke hook.
if [ "$daemon" = ntp ] || [ "$daemon" = ntpsec ]; then
    # shellcheck disable=SC2016  # the script's own line, $NTPD_OPTS unexpanded
    printf '%s\n' '#!/bin/sh' '# lab only (lab/rootfs.sh): ntpsec without -u, as no lab container holds CAP_SYS_TIME' \
        'script=/etc/init.d/ntpsec' '[ -f "$script" ] || exit 0' \
        'sed -i '"'"'s/^NTPD_OPTS="$NTPD_OPTS -u ntpsec:ntpsec"$/: # lab: no -u (lab\/rootfs.sh)/'"'"' "$script"' \
        'if grep -q -- "-u ntpsec:ntpsec" "$script"; then echo "lab: ntpsec'"'"'s init script changed: cannot run it without -u" >&2; exit 1; fi' \
        >"$root/usr/local/sbin/lab-ntpsec-init"
    chmod 0755 "$root/usr/local/sbin/lab-ntpsec-init"
    echo 'DPkg::Post-Invoke { "/usr/local/sbin/lab-ntpsec-init"; };' >"$root/etc/apt/apt.conf.d/99lab-ntpsec-init"
    # ntpsec recommends systemd or cron, which a real host has and a lab container does not: recommends stay out
    echo 'APT::Install-Recommends "false";' >"$root/etc/apt/apt.conf.d/99lab-no-recommends"
    chroot "$root" /usr/local/sbin/lab-ntpsec-init  # (fails, naming why, when -u is still in the script)
fi
case $daemon in
    ntp) chroot "$root" /usr/sbin/ntpd --version ;;
    chrony) chroot "$root" /usr/sbin/chronyd --version ;;
    ntpsec) chroot "$root" /usr/sbin/ntpd --version ;;
esac
printf '%s' "$stamp_text" >"$stamp"
echo "rootfs ready: $root"
