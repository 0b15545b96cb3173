#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Install what the lab and the tests need on Debian 12 (as root), idempotently:
# system packages, Python environments from the locks in tests/requirements/ (newest tools; the oldest
# supported ansible-core and cryptography; cryptography 2.8; ansible-test sanity's) and
# the bullseye rootfs with the reference ntpd 4.2.8p15, and one with chrony 4.0; bookworm ones with chrony 4.3 and ntpsec 1.2.2.
# Environment: AUTOKEY_CI_HOME (default /var/cache/ntp-autokey).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
home=${AUTOKEY_CI_HOME:-/var/cache/ntp-autokey}

need=()
for pkg in debootstrap iproute2 libcap2-bin shellcheck python3-venv git \
           podman netavark aardvark-dns runc crun uidmap fuse-overlayfs slirp4netns containernetworking-plugins; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The Python environments, each exactly as its lock in tests/requirements/ says (lab/locks.sh; refresh the
# locks with lab/lock.sh, see what a refresh would change with tests/run drift)
# shellcheck source=lab/locks.sh
. "$here/lab/locks.sh"
requirements=$here/tests/requirements
locked_venv "$home/venv" "$requirements/newest.txt"
if [ "${AUTOKEY_SETUP_OLD_CRYPTOGRAPHY:-1}" = 1 ]; then
    # the oldest of what is supported: ansible-core 2.15, cryptography 3.3.2
    locked_venv "$home/venv-oldest" "$requirements/oldest.txt"
    # an unsupported cryptography (Ubuntu 20.04's), which the modules must refuse with their message
    locked_venv "$home/venv-cryptography-2.8" "$requirements/cryptography-2.8.txt"
    # ansible-test sanity installs its own pinned tools: kept out of the newest environment
    locked_venv "$home/venv-sanity" "$requirements/sanity.txt"
fi

# promtool checks the example alert rules (docs/alerts): Debian's prometheus package unpacked, nothing of it
# installed or started
promtool=$home/promtool/usr/bin/promtool
if [ ! -x "$promtool" ]; then
    download=$(mktemp -d)
    chmod 0755 "$download"  # apt fetches as _apt
    (cd "$download" && apt-get download -qq prometheus 2>/dev/null) \
        || { apt-get update -qq && (cd "$download" && apt-get download -qq prometheus); }
    rm -rf "$home/promtool"
    dpkg-deb -x "$download"/prometheus_*.deb "$home/promtool"
    rm -rf "$download"
fi
"$promtool" --version 2>&1 | head -1

"$here/lab/rootfs.sh" "${AUTOKEY_LAB_ROOTFS:-$home/bullseye}"
"$here/lab/rootfs.sh" "${AUTOKEY_LAB_CHRONY_ROOTFS:-${AUTOKEY_LAB_ROOTFS:-$home/bullseye}-chrony}" chrony
"$here/lab/image.sh"
AUTOKEY_LAB_ROOTFS="${AUTOKEY_LAB_CHRONY_ROOTFS:-${AUTOKEY_LAB_ROOTFS:-$home/bullseye}-chrony}" \
    "$here/lab/image.sh" localhost/ntp-autokey-lab:bullseye-chrony
# chrony 4.3 (Debian 12) for the chrony role's second platform
"$here/lab/rootfs.sh" "$home/bookworm-chrony" chrony bookworm
AUTOKEY_LAB_ROOTFS="$home/bookworm-chrony" "$here/lab/image.sh" localhost/ntp-autokey-lab:bookworm-chrony
# ntpsec 1.2.2 (Debian 12's ntp): the ntpsec role's platform, NTS and symmetric keys beside chrony and ntpd
"$here/lab/rootfs.sh" "$home/bookworm-ntpsec" ntpsec bookworm
AUTOKEY_LAB_ROOTFS="$home/bookworm-ntpsec" "$here/lab/image.sh" localhost/ntp-autokey-lab:bookworm-ntpsec
# Debian 11's ntp host ready for the upgrade to Debian 12, which replaces ntpd by ntpsec (docs/ntpsec.md)
"$here/lab/rootfs.sh" "${AUTOKEY_LAB_ROOTFS:-$home/bullseye}-upgrade" upgrade bookworm
AUTOKEY_LAB_ROOTFS="${AUTOKEY_LAB_ROOTFS:-$home/bullseye}-upgrade" "$here/lab/image.sh" localhost/ntp-autokey-lab:bullseye-upgrade
