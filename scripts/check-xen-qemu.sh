#!/bin/bash
# check-xen-qemu.sh: run a command in the dom0 of a real Xen 4.17 booted under
# QEMU (../shared/xen-qemu/boot.sh relative to the repository root), with
# this machine's / visible read-only (--host-root), so binaries built here run
# there unchanged.  Builds nothing.  Exit status: the command's (124 time-out,
# 125 dom0/Xen crash).  Prints "SKIP: ..." and exits 0 only when boot.sh is
# absent.
#
# Usage: scripts/check-xen-qemu.sh [-t SECS] [--share DIR] [--] COMMAND...
#   --share DIR  writable in dom0 at the same path and the working directory
#                (default: the repository root).  dom0's /tmp is a fresh
#                tmpfs, so a build dir under /tmp must be shared to be seen.
#   -t SECS      time limit for the whole boot (default 900)
# Environment: XEN_QEMU_BOOT=path/to/boot.sh overrides the location.
# Example:
#   scripts/check-xen-qemu.sh --share /tmp/build-xen -- ./tests/xen/xo-xen-drive
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
boot=${XEN_QEMU_BOOT:-$repo/../shared/xen-qemu/boot.sh}
timeout=900
share=$repo
while [ $# -gt 0 ]; do
  case "$1" in
    -t) timeout=$2; shift 2;;
    --share) share=$(cd "$2" && pwd); shift 2;;
    --) shift; break;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0;;
    *) break;;
  esac
done
if [ $# -eq 0 ]; then
  echo "usage: $0 [-t SECS] [--share DIR] [--] COMMAND..." >&2
  exit 2
fi
if [ ! -f "$boot" ]; then
  echo "SKIP: no Xen-under-QEMU harness at $boot"
  exit 0
fi
exec bash "$boot" -q -t "$timeout" --host-root --share "$share" -- "$*"
