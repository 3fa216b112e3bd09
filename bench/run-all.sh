#!/bin/bash
# bench/run-all.sh: run every benchmark in bench/ and collect their summary lines.
#
# A benchmark is any executable bench/*.sh other than run-all.sh and lib.sh.  Each is run
# as `bench/NAME.sh --build DIR [--quick]`, prints its own table, and prints lines
# starting with "BENCH ".  At the end the BENCH lines of all benchmarks are repeated, and
# one line "BENCH-ALL ..." counts them by status.
#
# usage: bench/run-all.sh [--build DIR] [--quick] [--only NAME[,NAME...]]
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ARGS=()
ONLY=
while [ $# -gt 0 ]; do
    case "$1" in
    --build) ARGS+=(--build "$2"); shift 2 ;;
    --build=*) ARGS+=("$1"); shift ;;
    --quick) ARGS+=(--quick); shift ;;
    --only) ONLY=$2; shift 2 ;;
    -h|--help)
        echo "usage: bench/run-all.sh [--build DIR] [--quick] [--only NAME[,NAME...]]"
        echo "  benchmarks: $(cd "$BENCH_DIR" && ls *.sh | grep -vxE 'run-all.sh|lib.sh' | sed 's/\.sh$//' | tr '\n' ' ')"
        exit 0 ;;
    *) echo "run-all: unknown option $1" >&2; exit 2 ;;
    esac
done

ALL_LINES=()
FAILED_TO_RUN=()
echo "xend benchmarks: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "git: $(git -C "$BENCH_DIR/.." describe --always --dirty 2>/dev/null || echo unknown)"
for script in "$BENCH_DIR"/*.sh; do
    name=$(basename "$script" .sh)
    case "$name" in run-all|lib) continue ;; esac
    [ -x "$script" ] || continue
    if [ -n "$ONLY" ] && ! printf ',%s,' "$ONLY" | grep -q ",$name,"; then continue; fi
    echo
    echo "=== $name ==="
    out=$(mktemp /tmp/xend-bench-run.XXXXXX)
    # A benchmark bounds its own runs; the timeout is a last resort.
    timeout -k 10 1800 "$script" "${ARGS[@]+"${ARGS[@]}"}" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    mapfile -t lines < <(grep '^BENCH ' "$out")
    rm -f "$out"
    if [ "$rc" != 0 ]; then
        FAILED_TO_RUN+=("$name")
        ALL_LINES+=("BENCH name=$name status=ERROR exit=$rc")
    fi
    ALL_LINES+=("${lines[@]+"${lines[@]}"}")
done

echo
echo "=== summary ==="
printf '%s\n' "${ALL_LINES[@]+"${ALL_LINES[@]}"}"
count() { printf '%s\n' "${ALL_LINES[@]+"${ALL_LINES[@]}"}" | grep -c "status=$1\b"; }
echo "BENCH-ALL pass=$(count PASS) fail=$(count FAIL) skip=$(count SKIP) error=$(count ERROR) info=$(count INFO)"
[ ${#FAILED_TO_RUN[@]} -eq 0 ] || { echo "run-all: benchmarks that failed to run: ${FAILED_TO_RUN[*]}" >&2; exit 1; }
exit 0
