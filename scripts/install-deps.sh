#!/bin/sh
# Install every Debian 12 package xend needs to build, test and benchmark.
# Usage: scripts/install-deps.sh [--bench]   (run as root; idempotent)
set -eu
PKGS="build-essential autoconf automake libtool pkg-config python3 \
 libmicrohttpd-dev libxml2-dev libpam0g-dev libgnutls28-dev libcurl4-gnutls-dev \
 libxen-dev uuid-dev libpam-modules passwd curl openssl valgrind xenstore-utils iproute2 \
 chromium python3-os-xenapi prometheus"
if [ "${1:-}" = "--bench" ]; then
  PKGS="$PKGS wrk libvirt-daemon libvirt-daemon-driver-qemu python3-libvirt libvirt-clients"
fi
missing=""
# node and npm: the machine's own (any source) when present, else Debian's
command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "install-deps: installing:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing >/dev/null
fi
# npm packages the tests use: every tests/*/package-lock.json, installed as locked
top=$(cd "$(dirname "$0")/.." && pwd)
for lock in "$top"/tests/*/package-lock.json; do
  [ -f "$lock" ] || continue
  d=$(dirname "$lock")
  if [ ! -f "$d/node_modules/.package-lock.json" ] || [ "$lock" -nt "$d/node_modules/.package-lock.json" ]; then
    echo "install-deps: npm ci in ${d#"$top"/}" >&2
    (cd "$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
done
