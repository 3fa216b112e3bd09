#!/bin/bash
# run-xen-drive.sh BUILD_DIR [-- DRIVER-ARGS]: run tests/xen/xo-xen-drive on
# Xen under QEMU, in a dom0 prepared by tests/xen-daemon/in-qemu.sh.
# Env: XO_DRIVE_ONLY=host,errors,pv,xl,off,pvh,save selects steps.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd); shift
[ "${1:-}" = "--" ] && shift
exec "$here/../xen-daemon/in-qemu.sh" "$build" "XO_DRIVE_ONLY='${XO_DRIVE_ONLY:-}' ./tests/xen/xo-xen-drive $*"
