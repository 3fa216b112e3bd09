#!/bin/bash
# bench/xen-create-console.sh: `xm create` -> the guest's console marker beside
# `xl create` of the equivalent xl.cfg, on a real Xen 4.17 booted under QEMU
# (../shared/xen-qemu, through tests/xen-daemon/in-qemu.sh; minutes, and it
# takes both cores).  The rounds run in dom0 (bench/xen-create-console.py, which
# a real Xen dom0 runs directly).  Target (issue 13): xm within 1.1x of xl.
#
# usage: bench/xen-create-console.sh [--build DIR] [--quick] [--rounds N]
#   --quick: one round (default 3).  The build directory must be below the
#   repository (dom0 sees only the shared tree).
. "$(dirname "$0")/lib.sh"
bench_parse_args "$@"
rounds=3
[ "$QUICK" = 1 ] && rounds=1
set -- "${BENCH_ARGS[@]+"${BENCH_ARGS[@]}"}"
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--quick] [--rounds N]"; bench_usage_common; exit 1 ;;
    esac
done
boot=${XEN_QEMU_BOOT:-$REPO_DIR/../shared/xen-qemu/boot.sh}
if [ ! -f "$boot" ]; then
    echo "BENCH name=xen-create-console status=SKIP reason=no-xen-qemu-harness"
    exit 0
fi
case "$BUILD_DIR/" in
"$REPO_DIR"/*) ;;
*) echo "bench: the build directory $BUILD_DIR is not below $REPO_DIR (dom0 sees only that tree)" >&2; exit 1 ;;
esac
for b in daemon/xend xm/xm; do
    [ -x "$BUILD_DIR/$b" ] || { echo "bench: $BUILD_DIR/$b not built" >&2; exit 1; }
done
echo "host: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); Xen under QEMU (TCG)"
XQ_TIMEOUT=${XQ_TIMEOUT:-$((600 + rounds * 900))} "$REPO_DIR/tests/xen-daemon/in-qemu.sh" "$REPO_DIR" \
    "cd $BUILD_DIR && XEND_BUILDDIR=$BUILD_DIR XEND_SRCDIR=$REPO_DIR /usr/bin/python3 $BENCH_DIR/xen-create-console.py --rounds $rounds"
rc=$?
[ $rc = 0 ] || { echo "BENCH name=xen-create-console status=ERROR exit=$rc"; exit 1; }
exit 0
