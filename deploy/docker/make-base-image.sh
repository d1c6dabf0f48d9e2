#!/usr/bin/env bash
# Builds a minimal Debian bookworm base image without any registry:
# debootstrap (minbase) from the apt mirror, then `docker import`. CI uses it as
# BASE_IMAGE for both images. Needs root, debootstrap and a running dockerd.
#   deploy/docker/make-base-image.sh [tag]          (default local/debian:bookworm)
# MIRROR overrides the mirror (default: the first URIs/deb line of apt's sources).
set -euo pipefail
TAG=${1:-local/debian:bookworm}
SUITE=bookworm
DOCKER=${DOCKER:-docker}

mirror_from_apt() {
  cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    sed -nE 's/^URIs:[[:space:]]*([^[:space:]]+).*/\1/p; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+.*/\2/p' |
    grep -v security | head -n1 || true
}
MIRROR=${MIRROR:-$(mirror_from_apt)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
start=$(date +%s)
echo "debootstrap $SUITE from $MIRROR" >&2
debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$rootfs" "$MIRROR" >&2
# apt inside the image (the exporter installs torch) uses the same mirror.
echo "deb $MIRROR $SUITE main" > "$rootfs/etc/apt/sources.list"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
tar -C "$rootfs" -c . | "$DOCKER" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' - "$TAG"
echo "imported $TAG in $(($(date +%s) - start)) s" >&2
