#!/bin/bash
# Build everything and pass every test: the plain build's `make check`, then
# the same suite against an ASan+UBSan build, a subset under clang's ASan+UBSan, then the Debian packages in a
# fresh Debian 12 root, then the xen backend on a real Xen hypervisor booted
# under QEMU (when ../shared/xen-qemu is present).
# Usage (as root on Debian 12): scripts/test.sh [--quick]   (--quick: plain build only)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh" || exit 1
quick=0; [ "${1:-}" = "--quick" ] && quick=1
total_pass=0; total_fail=0; status=0
summarise() {  # add up the 'N passed, M failed' lines of a make check run
    local dir=$1
    local p f
    p=$(cat "$dir"/tests/*.log "$dir"/tests/*/*.log 2>/dev/null | grep -E '^[0-9]+ passed, [0-9]+ failed' | awk '{s+=$1} END {print s+0}')
    f=$(cat "$dir"/tests/*.log "$dir"/tests/*/*.log 2>/dev/null | grep -E '^[0-9]+ passed, [0-9]+ failed' | awk '{s+=$3} END {print s+0}')
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
}
# show_failures FILE: name every failing check in a test's output and show
# why: each 'not ok' (C, TAP), 'FAIL' (Python, shell) or traceback line with
# the lines around it.  A log with no such line (a crash, a timeout) is shown
# from its end.
show_failures() {
    local f=$1
    if grep -q -E '^(not ok |FAIL[: ]|ERROR[: ]|Traceback )' "$f"; then
        echo "    failing checks:"
        grep -E '^(not ok |FAIL[: ]|ERROR[: ])' "$f" | sed 's/^/      /'
        echo "    their output:"
        grep -n -E -B3 -A25 '^(not ok |FAIL[: ]|ERROR[: ]|Traceback )' "$f" | sed 's/^/      /'
    else
        echo "    no failing check is named in it (a crash or a timeout?): its last 80 lines:"
        tail -80 "$f" | sed 's/^/      /'
    fi
}
run_suite() {  # run_suite NAME BUILD_DIR [configure options]
    local name=$1 dir=$2; shift 2
    echo "=== $name: build in $dir"
    if ! "$top/scripts/build.sh" "$dir" "$@"; then
        echo "=== $name: BUILD FAILED"; status=1; total_fail=$((total_fail + 1)); return
    fi
    echo "=== $name: make check${SUITE_TESTS:+ (a subset: $SUITE_TESTS)}"
    if ! make -C "$dir" -s -j2 check ${SUITE_TESTS:+TESTS="$SUITE_TESTS"}; then
        status=1
        local trs
        for trs in $(find "$dir" -name '*.trs' -newer "$dir/Makefile" 2>/dev/null | sort); do
            grep -q -E '^:test-result: (FAIL|ERROR|XPASS)' "$trs" || continue
            echo "--- $name: FAILED ${trs#$dir/} ($(sed -n 's/^:test-result: //p' "$trs" | head -1)), log ${trs%.trs}.log"
            show_failures "${trs%.trs}.log"
        done
    fi
    summarise "$dir"
}
count_step() {  # count_step OUTPUT STATUS: add a step's closing 'N passed, M failed' line
    local line
    line=$(echo "$1" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
    if [ -n "$line" ]; then
        total_pass=$((total_pass + $(echo "$line" | awk '{print $1}')))
        total_fail=$((total_fail + $(echo "$line" | awk '{print $3}')))
    fi
    [ "$2" = 0 ] || { status=1; [ -n "$line" ] || total_fail=$((total_fail + 1)); }
}
run_suite "plain" "$top/build"
if [ $quick = 0 ]; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_suite "asan+ubsan" "$top/build-asan" --enable-sanitizers
    # clang's UBSan catches what gcc's misses (pointer arithmetic on NULL, ...).
    # The whole suite a third time costs too much CI time: under clang, the C
    # unit tests, the fuzz corpora and a representative set of daemon tests.
    # (clang-only warnings off: vprintf-style wrappers, a test table of joined literals.)
    SUITE_TESTS="$(cd "$top" && ls tests/unit/test_*.c | sed 's/\.c$//' | tr '\n' ' ')fuzz/check-fuzz.sh \
tests/integration/test_core.py tests/integration/test_events.py tests/integration/test_tasks.py \
tests/integration/test_audit.py tests/integration/test_limits.py tests/integration/test_hostile.py" \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_suite "clang asan+ubsan" "$top/build-clang" --enable-sanitizers CC=clang \
        "CFLAGS=-g -O1 -Wno-format-nonliteral -Wno-string-concatenation"
    # the Debian packages: dpkg-buildpackage, lintian, a fresh Debian 12 root
    # (debootstrap, cached in build/pkg-cache), the packaged daemon answering
    # there.  Its own step: it takes minutes (see docs/packaging.md).
    echo "=== Debian packages in a fresh Debian 12 root (tests/pkg/debian-root.sh)"
    out=$("$top/tests/pkg/debian-root.sh" "$top/build" 2>&1); rc=$?
    echo "$out" | tail -40
    count_step "$out" $rc
    boot=${XEN_QEMU_BOOT:-$top/../shared/xen-qemu/boot.sh}
    if [ ! -x "$boot" ]; then
        echo "=== xen backend on real Xen under QEMU: NOT RUN, there is no $boot"
        echo "    (it needs ../shared/xen-qemu beside the checkout; in a Xen dom0 run 'make check-xen')"
    else
        echo "=== xen backend on real Xen under QEMU (check-xen in dom0)"
        xlog=$top/build/check-xen-qemu.log
        "$top/tests/xen-daemon/in-qemu.sh" "$top" \
            "cd $top/build && XEND_BUILDDIR=$top/build XEND_SRCDIR=$top bash $top/tests/xen-daemon/check-xen.sh" \
            > "$xlog" 2>&1; rc=$?
        out=$(cat "$xlog")
        if [ $rc != 0 ]; then
            echo "--- xen under QEMU: FAILED (exit $rc), whole output in $xlog"
            show_failures "$xlog"
        else
            echo "$out" | grep -E '^(=== |[0-9]+ passed)' || true
        fi
        count_step "$out" $rc
    fi
fi
echo "$total_pass passed, $total_fail failed"
exit $status
