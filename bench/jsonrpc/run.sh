#!/bin/bash
# bench/jsonrpc/run.sh: JSON-RPC (/jsonrpc) against XML-RPC (/) throughput on
# VM.get_power_state(session, dom0) at 16 keep-alive connections, in one xend,
# in interleaved rounds (XML, JSON, XML, JSON, ...); the median of each is
# reported with their ratio (target: JSON >= 1.0 x XML).  Then the event.from
# delivery benchmark (evfrom.py): a writer changes a VM 100 times a second, a
# reader follows it with event.from over JSON-RPC; p50/p99 per round and the
# medians (target: delivery, write acknowledged -> event at the reader, p99 <= 10 ms).  Also xend's CPU per call in each
# codec (from /proc, steadier than rps on a shared machine) and the codecs'
# own CPU cost in process (bench/jsonrpc/codec).
#
# --callgrind N: instead, xend's instructions per request for each (which a
# loaded machine does not move): xend under valgrind --tool=callgrind, one
# keep-alive connection, N/10 requests of warm-up, counters zeroed, N
# requests, counters dumped; XML-RPC first, then JSON-RPC, in one xend.
# CALLGRIND_KEEP=DIR keeps the dumps there (callgrind_annotate them).
#
# usage: bench/jsonrpc/run.sh [--build DIR] [--quick] [--rounds N] [--duration SEC] [--callgrind N]
set -u
. "$(dirname "$0")/../lib.sh"

ROUNDS=5
DURATION=5
CALLGRIND=0
WARMUP=1
bench_parse_args "$@"
[ "$QUICK" = 1 ] && { ROUNDS=3; DURATION=2; }
set -- "${BENCH_ARGS[@]+"${BENCH_ARGS[@]}"}"
# --rounds N and --duration SEC set ROUNDS and DURATION: the option upper-cased
while [ $# -ge 2 ] && { [ "$1" = --rounds ] || [ "$1" = --duration ] || [ "$1" = --callgrind ]; }; do
    opt=${1#--}
    printf -v "${opt^^}" '%s' "$2"
    shift 2
done
case "${1-}" in
"") ;;
-h|--help) echo "usage: bench/jsonrpc/run.sh [--build DIR] [--quick] [--rounds N] [--duration SEC] [--callgrind N]"; bench_usage_common; exit 0 ;;
*) echo "unknown option $1" >&2; exit 2 ;;
esac

if [ "$CALLGRIND" != 0 ]; then
    bench_callgrind_wrap || exit 1
fi
bench_start_xend || exit 1
SESSION=$(bench_rpc "$XEND_URL" session.login_with_password bench bench | bench_value)
[ -n "$SESSION" ] || { echo "bench: login failed" >&2; exit 1; }
DOM0=00000000-0000-0000-0000-000000000000
XML_BODY=$BENCH_TMP/xml.body
JSON_BODY=$BENCH_TMP/json.body
bench_call_xml VM.get_power_state "$SESSION" "$DOM0" >"$XML_BODY"
printf '{"jsonrpc":"2.0","method":"VM.get_power_state","params":["OpaqueRef:%s","OpaqueRef:%s"],"id":0}' \
    "$SESSION" "$DOM0" >"$JSON_BODY"

if [ "$CALLGRIND" != 0 ]; then
    bench_callgrind_per_request / "$XML_BODY" Running "$CALLGRIND"
    XML_IR=$CG_PER
    echo "xml:  $CG_N requests (errors $CG_ERR), $XML_IR instructions per request"
    bench_callgrind_per_request /jsonrpc "$JSON_BODY" '"result":"Running"' "$CALLGRIND"
    JSON_IR=$CG_PER
    echo "json: $CG_N requests (errors $CG_ERR), $JSON_IR instructions per request"
    [ -n "${CALLGRIND_KEEP:-}" ] && cp "$BENCH_TMP"/callgrind.out.* "$CALLGRIND_KEEP"/
    echo "JSONBENCH callgrind=$CALLGRIND xml_ir=$XML_IR json_ir=$JSON_IR ratio=$(bench_ratio "$JSON_IR" "$XML_IR")"
    exit 0
fi

# xend's CPU time (user + system) in clock ticks
xend_ticks() { awk '{ print $14 + $15 }' "/proc/$XEND_PID/stat"; }
TICK=$(getconf CLK_TCK)

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "== throughput: VM.get_power_state, 16 connections, $ROUNDS interleaved rounds of ${DURATION}s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
XML_R=() JSON_R=() XML_C=() JSON_C=()
# one run: rps, and xend's CPU microseconds per request (warm-up included in both)
run_one() { # PATH BODY EXPECT
    local c0 c1
    c0=$(xend_ticks)
    bench_xload --tcp "127.0.0.1:$XEND_PORT" --path "$1" --body "$2" --connections 16 \
        --duration "$DURATION" --warmup "$WARMUP" --expect "$3" --quiet
    c1=$(xend_ticks)
    RUN_CPU=$(awk -v t=$((c1 - c0)) -v hz="$TICK" -v rps="$XL_rps" -v d="$DURATION" -v w="$WARMUP" \
        'BEGIN { n = rps * (d + w); if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "NA" }')
}
for r in $(seq "$ROUNDS"); do
    run_one / "$XML_BODY" Running
    XML_R+=("$XL_rps") XML_C+=("$RUN_CPU")
    x_err=$XL_errors
    run_one /jsonrpc "$JSON_BODY" '"result":"Running"'
    JSON_R+=("$XL_rps") JSON_C+=("$RUN_CPU")
    printf 'round %d: xml %s rps, %s us CPU/call (errors %s); json %s rps, %s us CPU/call (errors %s)\n' "$r" \
        "${XML_R[-1]}" "${XML_C[-1]}" "$x_err" "$XL_rps" "$RUN_CPU" "$XL_errors"
done
XML_MED=$(printf '%s\n' "${XML_R[@]}" | median)
JSON_MED=$(printf '%s\n' "${JSON_R[@]}" | median)
RATIO=$(bench_ratio "$JSON_MED" "$XML_MED")
printf 'median: xml %.0f rps, json %.0f rps, json/xml %s (target >= 1.0: %s)\n' "$XML_MED" "$JSON_MED" "$RATIO" \
    "$(bench_ge "$RATIO" 1.0 && echo met || echo NOT met)"
XML_CM=$(printf '%s\n' "${XML_C[@]}" | median)
JSON_CM=$(printf '%s\n' "${JSON_C[@]}" | median)
printf 'median xend CPU per call: xml %s us, json %s us\n' "$XML_CM" "$JSON_CM"
echo "JSONBENCH xml_rps=$XML_MED json_rps=$JSON_MED ratio=$RATIO xml_cpu_us=$XML_CM json_cpu_us=$JSON_CM"
echo "== codec alone (bench/jsonrpc/codec, in process)"
"$BUILD_DIR/bench/jsonrpc/codec" 200000

echo "== event.from delivery: writer at 100 Hz, reader in event.from over JSON-RPC"
python3 "$(dirname "$0")/evfrom.py" --port "$XEND_PORT" --session "$SESSION" --rounds "$ROUNDS" \
    --seconds $(( DURATION * 2 ))
