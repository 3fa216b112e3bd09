#!/bin/bash
# run-xen-drive.sh BUILD_DIR [-- DRIVER-ARGS]: run tests/xen/xo-xen-drive on
# Xen under QEMU.  dom0's initramfs lacks the bridge module the vif test
# needs: stage llc/stp/bridge.ko from the harness's cache of dom0's kernel
# into BUILD_DIR/xq-mods and load them in dom0 first.
# Env: XO_DRIVE_ONLY=host,errors,pv,xl,off,pvh,save selects steps.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd); shift
[ "${1:-}" = "--" ] && shift
mods=$(ls -d /tmp/xen-qemu-work/pkgroot/lib/modules/*/kernel 2>/dev/null | head -1 || true)
rm -rf "$build/xq-mods"; mkdir -p "$build/xq-mods"
if [ -n "$mods" ]; then
  for m in llc/llc stp bridge/bridge; do
    f=$(ls "$mods"/net/$m.ko* "$mods"/net/802/$m.ko* 2>/dev/null | head -1 || true)
    [ -n "$f" ] && cp "$f" "$build/xq-mods/"
  done
fi
# dom0's devtmpfs lacks /dev/stdin & co.; the hotplug scripts' locking.sh
# stats /dev/stdin and spins forever without it.
cmd="for l in stdin:0 stdout:1 stderr:2; do [ -e /dev/\${l%:*} ] || ln -s /proc/self/fd/\${l#*:} /dev/\${l%:*}; done;"
cmd="$cmd [ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd;"
cmd="$cmd for m in llc stp bridge; do [ -f xq-mods/\$m.ko ] && insmod xq-mods/\$m.ko 2>/dev/null; done;"
cmd="$cmd XO_DRIVE_ONLY='${XO_DRIVE_ONLY:-}' ./tests/xen/xo-xen-drive $*"
exec "$here/../../scripts/check-xen-qemu.sh" -t "${XQ_TIMEOUT:-900}" --share "$build" -- "$cmd"
