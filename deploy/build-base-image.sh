#!/usr/bin/env bash
# Builds the Debian bookworm + Python 3.11 base image from Debian packages (no image registry needed).
# Usage: deploy/build-base-image.sh [TAG]   (default answerdesk-base:bookworm)
# The root file system is cached as a tarball keyed by this script's content, so a warm machine only imports it.
set -euo pipefail
tag=${1:-answerdesk-base:bookworm}
cache=${ANSWERDESK_DEPLOY_CACHE:-/var/cache/answerdesk-deploy}
packages=python3,python3-venv,ca-certificates,libgomp1,tini
# Same mirror as the host's apt, so debootstrap reaches Debian exactly as apt-get does here.
mirror=${DEBIAN_MIRROR:-$(grep -hoE '^(URIs:|deb) *https?://[^ ]+/debian\b' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null | head -1 | grep -oE 'https?://[^ ]+' || true)}
mirror=${mirror:-http://deb.debian.org/debian}
key=$( (cat "$0"; echo "$mirror") | sha256sum | cut -c1-16)
tarball=$cache/base-bookworm-$key.tar

if [ "$(docker image inspect -f '{{index .Config.Labels "answerdesk.base-key"}}' "$tag" 2>/dev/null || true)" = "$key" ]; then
  echo "base image $tag is up to date ($key)"; exit 0
fi
mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
  root=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  echo "debootstrap bookworm from $mirror into $root"
  debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -30 "$cache/debootstrap.log" >&2; exit 1; }
  # Debian's security updates too, so the image is as patched as the host.
  echo "deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main" >"$root/etc/apt/sources.list"
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/tmp/*
  tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi
docker import \
  --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "LABEL answerdesk.base-key=$key" \
  --change 'CMD ["python3"]' \
  "$tarball" "$tag" >/dev/null
echo "imported $tag ($(du -h "$tarball" | cut -f1) root file system) in ${SECONDS}s"
