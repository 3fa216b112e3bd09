#!/bin/bash
# in-qemu.sh DIR COMMAND...: run COMMAND in DIR (shared writable; dom0's /tmp
# is its own, so the source and build trees must be below DIR) inside the dom0 of
# a real Xen booted under QEMU (scripts/check-xen-qemu.sh), after preparing
# dom0 for xend and guests with disks and NICs: loopback up, /dev/stdin & co. (the hotplug scripts'
# locking needs them) and the bridge modules from the harness's cache of
# dom0's kernel (dom0's initramfs lacks them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: $0 DIR COMMAND...}" && pwd); shift
find_mods() { ls -d /tmp/xen-qemu-work/pkgroot/lib/modules/*/kernel 2>/dev/null | head -1 || true; }
mods=$(find_mods)
if [ -z "$mods" ]; then
  # a fresh machine: the harness unpacks dom0's kernel packages on its first
  # boot; boot once for that (about 20 s), so that this run has the bridge
  echo "in-qemu.sh: first boot of the harness on this machine, to unpack dom0's kernel modules"
  "$here/../../scripts/check-xen-qemu.sh" -t 600 -- true || true
  mods=$(find_mods)
  [ -n "$mods" ] || echo "in-qemu.sh: no dom0 kernel modules under /tmp/xen-qemu-work: guests get no bridge"
fi
rm -rf "$build/.xq-mods"; mkdir -p "$build/.xq-mods"
if [ -n "$mods" ]; then
  for m in llc/llc stp bridge/bridge; do
    f=$(ls "$mods"/net/$m.ko* "$mods"/net/802/$m.ko* 2>/dev/null | head -1 || true)
    [ -n "$f" ] && cp "$f" "$build/.xq-mods/"
  done
fi
prep="for l in stdin:0 stdout:1 stderr:2; do [ -e /dev/\${l%:*} ] || ln -s /proc/self/fd/\${l#*:} /dev/\${l%:*}; done;"
prep="$prep [ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd;"
prep="$prep ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up;"   # xend listens on loopback
prep="$prep for m in llc stp bridge; do [ -f .xq-mods/\$m.ko ] && insmod .xq-mods/\$m.ko 2>/dev/null; done;"
exec "$here/../../scripts/check-xen-qemu.sh" -t "${XQ_TIMEOUT:-1500}" --share "$build" -- "$prep $*"
