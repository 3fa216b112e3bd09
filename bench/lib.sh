# bench/lib.sh: shared helpers for the benchmark scripts (sourced, not run).
#
# Conventions every bench/<name>.sh follows (run-all.sh relies on them):
#   --build DIR   build directory holding bench/xload, bench/bare_server, daemon/xend
#                 (default: $BUILD, else the current directory if it holds daemon/xend
#                 or bench/xload, else ./build, else <repo>/build)
#   --quick       short runs (for smoke checks; figures are noisier)
#   Output: a human-readable table, and one line per figure starting with "BENCH "
#   made of key=value pairs (name=, metric names, status=PASS|FAIL|SKIP|INFO).
#   Exit status: 0 when it ran (even if a target was missed), 1 on a setup failure.
#   Every process it starts is stopped by PID on exit; every load run is bounded.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
QUICK=0
BUILD_DIR=${BUILD:-}
BENCH_PIDS=()
BENCH_TMP=

bench_usage_common() {
    echo "  --build DIR   build directory (default: \$BUILD, ., ./build or <repo>/build)"
    echo "  --quick       short runs"
}

# bench_parse_args "$@": handles --build/--quick; leaves the rest in BENCH_ARGS.
bench_parse_args() {
    BENCH_ARGS=()
    while [ $# -gt 0 ]; do
        case "$1" in
        --build) BUILD_DIR=$2; shift 2 ;;
        --build=*) BUILD_DIR=${1#--build=}; shift ;;
        --quick) QUICK=1; shift ;;
        *) BENCH_ARGS+=("$1"); shift ;;
        esac
    done
    if [ -z "$BUILD_DIR" ]; then
        if [ -x ./daemon/xend ] || [ -x ./bench/xload ]; then BUILD_DIR=.
        elif [ -d ./build ]; then BUILD_DIR=./build
        else BUILD_DIR=$REPO_DIR/build
        fi
    fi
    BUILD_DIR=$(cd "$BUILD_DIR" 2>/dev/null && pwd) || { echo "bench: no build directory ($BUILD_DIR)" >&2; exit 1; }
    XLOAD=$BUILD_DIR/bench/xload
    BARE=$BUILD_DIR/bench/bare_server
    XEND=$BUILD_DIR/daemon/xend
    for b in "$XLOAD" "$BARE"; do
        [ -x "$b" ] || { echo "bench: $b not built (make -C $BUILD_DIR bench/xload bench/bare_server)" >&2; exit 1; }
    done
    BENCH_TMP=$(mktemp -d /tmp/xend-bench.XXXXXX)
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    local p
    for p in "${BENCH_PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${BENCH_PIDS[@]}"; do
        # give it 3 s to stop, then force
        for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    BENCH_PIDS=()
    [ -n "$BENCH_TMP" ] && rm -rf "$BENCH_TMP"
}

# A free TCP port on 127.0.0.1 (tiny race between closing and the server binding it).
bench_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Wait until FILE contains a line matching REGEX (max $3 seconds); prints the line.
bench_wait_line() {
    local file=$1 re=$2 max=${3:-10} i
    for i in $(seq $((max * 10))); do
        if grep -qE "$re" "$file" 2>/dev/null; then grep -E "$re" "$file" | head -1; return 0; fi
        sleep 0.1
    done
    return 1
}

# bench_start_bare [extra args]: starts bare_server on a free port; sets BARE_PORT, BARE_PID.
bench_start_bare() {
    local out=$BENCH_TMP/bare.$RANDOM.out
    "$BARE" --port 0 --threads 2 --timeout 3600 "$@" >"$out" 2>&1 &
    BARE_PID=$!
    BENCH_PIDS+=("$BARE_PID")
    local line
    line=$(bench_wait_line "$out" '^LISTENING port=' 10) || { echo "bench: bare_server did not start:" >&2; cat "$out" >&2; return 1; }
    BARE_PORT=${line#LISTENING port=}
}

bench_stop() { # PID
    kill "$1" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$1" 2>/dev/null
}

# bench_start_xend: starts daemon/xend (sim backend) with a temporary config holding an
# explicit auth=none TCP listener on 127.0.0.1 and a Unix socket; sets XEND_PORT,
# XEND_SOCK, XEND_PID, XEND_URL.  Extra config lines may be given as arguments.
bench_start_xend() {
    [ -x "$XEND" ] || { echo "bench: $XEND not built" >&2; return 1; }
    local dir=$BENCH_TMP/xend.$RANDOM
    mkdir -p "$dir/state"
    XEND_PORT=$(bench_free_port)
    XEND_SOCK=$dir/xen-api.sock
    {
        echo "state-dir = $dir/state"
        echo "backend = sim"
        echo "pid-file = $dir/xend.pid"
        echo "log-level = warning"
        echo "listen = http:127.0.0.1:$XEND_PORT auth=none"
        echo "listen = unix:$XEND_SOCK auth=none"
        local l
        for l in "$@"; do echo "$l"; done
    } >"$dir/xend.conf"
    XEND_LOG=$dir/xend.log
    "$XEND" --foreground --config "$dir/xend.conf" >"$XEND_LOG" 2>&1 &
    XEND_PID=$!
    BENCH_PIDS+=("$XEND_PID")
    XEND_URL=http://127.0.0.1:$XEND_PORT/
    local i
    for i in $(seq 100); do
        if curl -s -o /dev/null --max-time 1 -X POST -H 'Content-Type: text/xml' \
            --data '<?xml version="1.0"?><methodCall><methodName>system.listMethods</methodName><params/></methodCall>' "$XEND_URL"; then
            return 0
        fi
        kill -0 "$XEND_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "bench: xend did not start; log:" >&2
    cat "$XEND_LOG" >&2
    return 1
}

# XML-RPC helpers.  bench_call_xml METHOD ARG... prints a methodCall with string params.
bench_call_xml() {
    local m=$1 a
    shift
    printf '<?xml version="1.0"?><methodCall><methodName>%s</methodName><params>' "$m"
    for a in "$@"; do printf '<param><value><string>%s</string></value></param>' "$a"; done
    printf '</params></methodCall>'
}

# bench_rpc URL METHOD ARG...: posts the call, prints the response body.
bench_rpc() {
    local url=$1
    shift
    bench_call_xml "$@" | curl -s --max-time 10 -X POST -H 'Content-Type: text/xml' --data-binary @- "$url"
}

# The Value of a Success response when it is a string ("" on failure).
bench_value() {
    sed -n 's|.*<name>Status</name><value>\(<string>\)\{0,1\}Success\(</string>\)\{0,1\}</value></member><member><name>Value</name><value>\(<string>\)\{0,1\}\([^<]*\).*|\4|p'
}

# bench_xload ARGS...: runs xload (bounded by its own --duration and by timeout(1));
# prints its output and sets XL_<key> for every key=value of the XLOAD line.
bench_xload() {
    local out=$BENCH_TMP/xload.$RANDOM.out
    timeout -k 5 900 "$XLOAD" "$@" >"$out" 2>&1
    XL_RC=$?
    local line kv
    line=$(grep '^XLOAD ' "$out" | tail -1)
    for kv in $line; do
        case "$kv" in
        *=*) local k=${kv%%=*} v=${kv#*=}; printf -v "XL_$k" '%s' "$v" ;;
        esac
    done
    [ -n "$line" ] || { XL_rps=0; XL_p50_us=0; XL_p99_us=0; XL_errors=NA; }
    XL_OUT=$out
}

# bench_callgrind_wrap: XEND becomes a wrapper that runs the real xend under
# valgrind --tool=callgrind, its dumps in $BENCH_TMP (call before bench_start_xend).
bench_callgrind_wrap() {
    command -v valgrind >/dev/null && command -v callgrind_control >/dev/null ||
        { echo "bench: --callgrind needs valgrind (callgrind_control)" >&2; return 1; }
    local real=$XEND
    XEND=$BENCH_TMP/xend-callgrind
    printf '#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s/callgrind.out.%%p %s "$@"\n' \
        "$BENCH_TMP" "$real" >"$XEND"
    chmod +x "$XEND"
}

# bench_callgrind_per_request PATH BODY EXPECT N: xend's instructions per request
# over N requests of BODY to PATH on one keep-alive connection (after N/10 to
# warm up), from the callgrind dumps; sets CG_PER, CG_N and CG_ERR.
bench_callgrind_per_request() {
    local before after
    bench_cg_total() { cat "$BENCH_TMP"/callgrind.out."$XEND_PID".* 2>/dev/null | awk '/^summary:/ { s += $2 } END { print s + 0 }'; }
    bench_xload --tcp "127.0.0.1:$XEND_PORT" --path "$1" --body "$2" --connections 1 \
        --requests $(($4 / 10)) --duration 600 --expect "$3" --quiet
    callgrind_control -z "$XEND_PID" >/dev/null 2>&1
    before=$(bench_cg_total)
    bench_xload --tcp "127.0.0.1:$XEND_PORT" --path "$1" --body "$2" --connections 1 \
        --requests "$4" --duration 600 --expect "$3" --quiet
    CG_N=$XL_requests CG_ERR=$XL_errors
    callgrind_control -d "$XEND_PID" >/dev/null 2>&1
    after=$(bench_cg_total)
    CG_PER=$(awk -v i=$((after - before)) -v n="$CG_N" 'BEGIN { if (n > 0) printf "%.0f", i / n; else print "NA" }')
}

# Float helpers (awk).
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "NA" }'; }
bench_ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
bench_ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "NA" && a + 0 >= b + 0) }'; }
