#!/usr/bin/env bash
# Makes sure Docker from Debian's packages (docker.io, docker-compose) and debootstrap are installed and
# that dockerd runs; needs root. No image registry is needed: deploy/build-base-image.sh makes the base.
set -euo pipefail
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
  echo "installing ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  echo "starting dockerd (storage driver ${DOCKER_STORAGE_DRIVER:-overlay2})"
  # No default bridge and no iptables rules: the test stack uses host networking only. overlay2 works on
  # this machine's ext4; DOCKER_STORAGE_DRIVER=vfs is the slow fallback where it does not.
  nohup dockerd --bridge=none --iptables=false --ip6tables=false \
    --storage-driver="${DOCKER_STORAGE_DRIVER:-overlay2}" >>/var/log/answerdesk-dockerd.log 2>&1 &
  for _ in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -20 /var/log/answerdesk-dockerd.log >&2; exit 1; }
fi
echo "docker $(docker version -f '{{.Server.Version}}'), storage driver $(docker info -f '{{.Driver}}')"
