#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build (once) a Debian bullseye root file system holding the reference
# ntpd/ntp-keygen 4.2.8p15 (Autokey compiled in), Python 3.9 and
# python3-cryptography 3.3.2. Tests run ntpd from it inside network
# namespaces; molecule imports it as a podman image.
#
# Usage: lab/rootfs.sh [DIR]     (default: $AUTOKEY_LAB_ROOTFS or
#                                 /var/cache/ntp-autokey/bullseye)
set -euo pipefail

root=${1:-${AUTOKEY_LAB_ROOTFS:-/var/cache/ntp-autokey/bullseye}}
mirror=${AUTOKEY_LAB_MIRROR:-http://deb.debian.org/debian}
packages=(ntp python3 python3-cryptography python3-pytest python3-hypothesis libcap2-bin iproute2 procps openssl sudo python3-apt)
stamp="$root/.ntp-autokey-rootfs"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${packages[*]}" ]; then
    echo "rootfs ready: $root"
    exit 0
fi

if ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

rm -rf "$root"
mkdir -p "$(dirname "$root")"
debootstrap --variant=minbase bullseye "$root" "$mirror" >/dev/null

# No service may start inside the chroot while packages are installed:
# an ntpd started here would run on the build machine's own clock.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"

chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
chroot "$root" apt-get clean
chroot "$root" /usr/sbin/ntpd --version
printf '%s' "${packages[*]}" >"$stamp"
echo "rootfs ready: $root"
