#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Import a lab rootfs (Debian bullseye with ntp 4.2.8p15 or chrony 4.0, python3) as a podman image
# for molecule: no registry needed. Rebuilt only when the rootfs changed.
# Usage: lab/image.sh [IMAGE]   (default: $AUTOKEY_LAB_IMAGE or localhost/ntp-autokey-lab:bullseye)
set -euo pipefail

home=${AUTOKEY_CI_HOME:-/var/cache/ntp-autokey}
root=${AUTOKEY_LAB_ROOTFS:-$home/bullseye}
image=${1:-${AUTOKEY_LAB_IMAGE:-localhost/ntp-autokey-lab:bullseye}}
stamp=$(stat -c %Y "$root/.ntp-autokey-rootfs")

if [ "$(podman image inspect --format '{{ index .Labels "ntp-autokey.rootfs" }}' "$image" 2>/dev/null)" = "$stamp" ]; then
    echo "image ready: $image"
    exit 0
fi
tar -C "$root" --exclude='./srv/*' --exclude='./tmp/*' -c . \
    | podman import --change 'CMD ["/bin/bash"]' --change "LABEL ntp-autokey.rootfs=$stamp" - "$image" >/dev/null
echo "image ready: $image"
