#!/bin/bash
# Configure and build out of tree: scripts/build.sh BUILD_DIR [configure options]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
b=${1:-$top/build}; shift || true
if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ] || \
   [ -n "$(find "$top" -name '*.mk' -newer "$top/configure" -print -quit)" ] || [ "$top/Makefile.am" -nt "$top/configure" ]; then
    (cd "$top" && autoreconf -fi >/dev/null 2>&1) || (cd "$top" && autoreconf -fi)
fi
mkdir -p "$b"
cd "$b"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
    "$top/configure" -q --enable-werror --sysconfdir=/etc --localstatedir=/var "$@"
fi
make -j"$(nproc)" -s
