#!/bin/sh
# Install every Debian 12 package xend needs to build, test, package and
# benchmark.  It only ever adds packages: apt-get runs with --no-remove, so a
# request that would remove an installed package fails instead.
# Usage: scripts/install-deps.sh [--bench]   (run as root; idempotent)
set -eu
PKGS="build-essential autoconf automake libtool pkg-config python3 \
 libmicrohttpd-dev libxml2-dev libpam0g-dev libgnutls28-dev libsystemd-dev \
 libxen-dev uuid-dev libpam-modules passwd curl openssl gnutls-bin valgrind xenstore-utils iproute2 \
 chromium python3-os-xenapi prometheus \
 debhelper dh-python python3-setuptools pybuild-plugin-pyproject python3-pip \
 lintian debootstrap abigail-tools"
if [ "${1:-}" = "--bench" ]; then
  PKGS="$PKGS wrk libvirt-daemon libvirt-daemon-driver-qemu python3-libvirt libvirt-clients"
fi
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
missing=""
# node and npm: the machine's own (any source) when present, else Debian's
command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
for p in $PKGS; do
  installed "$p" || missing="$missing $p"
done
# configure takes any libcurl flavour (pkg-config libcurl); keep the one that
# is there and add the GnuTLS one only when there is none
curl_dev=""
for p in libcurl4-gnutls-dev libcurl4-openssl-dev libcurl4-nss-dev; do
  if installed "$p"; then curl_dev=$p; break; fi
done
[ -n "$curl_dev" ] || missing="$missing libcurl4-gnutls-dev"
if [ -n "$missing" ]; then
  echo "install-deps: installing:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-remove --no-install-recommends $missing >/dev/null
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
