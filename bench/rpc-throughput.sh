#!/bin/bash
# bench/rpc-throughput.sh: keep-alive XML-RPC throughput of xend against a bare
# libmicrohttpd server (bench/bare_server) with the same MHD threading.
#
# xend runs on the sim backend with a temporary config whose TCP listener is
# 127.0.0.1:<free port> with an explicit auth=none (no PAM user needed); the script logs
# in with session.login_with_password (any user/password) and calls
# VM.get_power_state(session, dom0) with 1, 16 and 256 keep-alive connections, each
# after a warm-up, then does the same against bare_server.  Every xend response must
# contain "Success" (xload --expect); others count as errors.
# Target: xend >= 70% of bare at 16 connections.
#
# --callgrind N: instead, xend's instructions per request, which a loaded machine
# does not move: xend under valgrind --tool=callgrind, one keep-alive connection,
# N/10 requests of warm-up, counters zeroed, N requests, counters dumped.
set -u
. "$(dirname "$0")/lib.sh"

CONNS="1 16 256"
WARMUP=2
DURATION=10
TARGET_CONNS=16
TARGET_RATIO=0.70
CALLGRIND=0
WITH_XEND=1
REPEAT=${BENCH_REPEAT:-1}

usage() {
    echo "usage: bench/rpc-throughput.sh [--build DIR] [--quick] [--connections \"1 16 256\"]"
    echo "                               [--duration SEC] [--warmup SEC] [--repeat N] [--bare-only]"
    echo "                               [--callgrind N]"
    echo "  --repeat N    N interleaved xend/bare runs per connection count; the median is reported"
    echo "  --callgrind N only xend's instructions per request over N requests (valgrind --tool=callgrind)"
    bench_usage_common
}

bench_parse_args "$@"
set -- "${BENCH_ARGS[@]+"${BENCH_ARGS[@]}"}"
[ "$QUICK" = 1 ] && { WARMUP=1; DURATION=3; }
while [ $# -gt 0 ]; do
    case "$1" in
    --connections) CONNS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --bare-only) WITH_XEND=0; shift ;;
    --callgrind) CALLGRIND=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

DOM0_UUID=00000000-0000-0000-0000-000000000000

if [ "$CALLGRIND" != 0 ]; then
    bench_callgrind_wrap || exit 1
    bench_start_xend || exit 1
    SESSION=$(bench_rpc "$XEND_URL" session.login_with_password bench bench | bench_value)
    VM_REF=$(bench_rpc "$XEND_URL" VM.get_by_uuid "$SESSION" "$DOM0_UUID" | bench_value)
    [ -n "$SESSION" ] && [ -n "$VM_REF" ] || { echo "bench: login or dom0 lookup failed"; exit 1; }
    bench_call_xml VM.get_power_state "$SESSION" "$VM_REF" >"$BENCH_TMP/body.xml"
    bench_callgrind_per_request / "$BENCH_TMP/body.xml" Success "$CALLGRIND"
    done=$CG_N errors=$CG_ERR per=$CG_PER
    echo "xend under callgrind: $done requests (errors $errors), $per instructions per request"
    echo "BENCH name=rpc-callgrind requests=$done errors=$errors ir_per_request=$per status=INFO"
    exit 0
fi
XEND_NOTE=
VM_REF=

# ---- xend: start, log in, find a VM ----
if [ "$WITH_XEND" = 1 ]; then
    if [ ! -x "$XEND" ]; then
        XEND_NOTE="daemon/xend not built in $BUILD_DIR"
        WITH_XEND=0
    elif ! bench_start_xend; then
        XEND_NOTE="xend did not start"
        WITH_XEND=0
    fi
fi
if [ "$WITH_XEND" = 1 ]; then
    SESSION=$(bench_rpc "$XEND_URL" session.login_with_password bench bench | bench_value)
    if [ -z "$SESSION" ]; then
        XEND_NOTE="session.login_with_password failed"
        WITH_XEND=0
    fi
fi
if [ "$WITH_XEND" = 1 ]; then
    VM_REF=$(bench_rpc "$XEND_URL" VM.get_by_uuid "$SESSION" "$DOM0_UUID" | bench_value)
    VM_WHAT="dom0 ($DOM0_UUID)"
    if [ -z "$VM_REF" ]; then
        # no dom0 record: create a minimal halted VM instead
        rec='<struct>'
        m() { rec+="<member><name>$1</name><value>$2</value></member>"; }
        m name_label '<string>bench-vm</string>'; m name_description '<string></string>'
        m user_version '<string>1</string>'; m is_a_template '<boolean>0</boolean>'
        m auto_power_on '<boolean>0</boolean>'
        for f in memory_static_max memory_dynamic_max memory_dynamic_min memory_static_min; do
            m $f '<string>268435456</string>'
        done
        m VCPUs_params '<struct></struct>'; m VCPUs_max '<string>1</string>'
        m VCPUs_at_startup '<string>1</string>'
        m actions_after_shutdown '<string>destroy</string>'; m actions_after_reboot '<string>restart</string>'
        m actions_after_crash '<string>restart</string>'
        for f in PV_bootloader PV_kernel PV_ramdisk PV_args PV_bootloader_args HVM_boot_policy PCI_bus; do
            m $f '<string></string>'
        done
        m HVM_boot_params '<struct></struct>'; m platform '<struct></struct>'; m other_config '<struct></struct>'
        rec+='</struct>'
        VM_REF=$(printf '<?xml version="1.0"?><methodCall><methodName>VM.create</methodName><params><param><value><string>%s</string></value></param><param><value>%s</value></param></params></methodCall>' "$SESSION" "$rec" |
            curl -s --max-time 10 -X POST -H 'Content-Type: text/xml' --data-binary @- "$XEND_URL" | bench_value)
        VM_WHAT="a VM made with VM.create"
    fi
    STATE=$(bench_rpc "$XEND_URL" VM.get_power_state "$SESSION" "${VM_REF:-none}" | bench_value)
    if [ -z "$VM_REF" ] || [ -z "$STATE" ]; then
        XEND_NOTE="no VM to query (dom0 lookup and VM.create failed)"
        WITH_XEND=0
    else
        echo "xend: pid $XEND_PID, $XEND_URL (auth=none), session $SESSION"
        echo "xend: VM.get_power_state on $VM_WHAT = $STATE"
    fi
fi

bench_call_xml VM.get_power_state "${SESSION:-s}" "${VM_REF:-$DOM0_UUID}" >"$BENCH_TMP/body.xml"

# ---- bare server ----
bench_start_bare || exit 1
echo "bare: pid $BARE_PID, http://127.0.0.1:$BARE_PORT/ (2 MHD threads)"
echo "load: $WARMUP s warm-up + $DURATION s per run, median of $REPEAT, keep-alive, pipeline 1; $(nproc) CPUs shared by client and server"
echo "host: load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "$XEND_NOTE" ] && echo "xend: SKIPPED: $XEND_NOTE (bare server only)"
echo

printf '%-6s | %12s %9s %9s %7s | %12s %9s %9s %7s | %6s\n' conns "xend req/s" "p50 ms" "p99 ms" errors "bare req/s" "p50 ms" "p99 ms" errors ratio
printf '%s\n' "-------+-----------------------------------------+-----------------------------------------+-------"
SUMMARY=()
OVERALL=PASS
for c in $CONNS; do
    xr=() br=()
    for rep in $(seq "$REPEAT"); do
        # xend and bare alternate, so a burst of load from elsewhere hits both alike
        if [ "$WITH_XEND" = 1 ]; then
            bench_xload --tcp "127.0.0.1:$XEND_PORT" --connections "$c" --warmup "$WARMUP" --duration "$DURATION" \
                --body "$BENCH_TMP/body.xml" --expect Success --quiet
            xr+=("$XL_rps $XL_p50_us $XL_p99_us $XL_errors")
            kill -0 "$XEND_PID" 2>/dev/null || { XEND_NOTE="xend died during the run"; WITH_XEND=0; }
        fi
        bench_xload --tcp "127.0.0.1:$BARE_PORT" --connections "$c" --warmup "$WARMUP" --duration "$DURATION" \
            --body "$BENCH_TMP/body.xml" --expect Success --quiet
        br+=("$XL_rps $XL_p50_us $XL_p99_us $XL_errors")
    done
    # the run with the median req/s (errors: summed over all runs)
    median() { printf '%s\n' "$@" | sort -n -k1,1 | awk '{ a[NR] = $0; e += $4 } END { split(a[int((NR + 1) / 2)], m, " "); print m[1], m[2], m[3], e }'; }
    if [ ${#xr[@]} -gt 0 ]; then
        read -r x_rps x_p50 x_p99 x_err < <(median "${xr[@]}")
    else
        x_rps=NA x_p50=NA x_p99=NA x_err=NA
    fi
    read -r b_rps b_p50 b_p99 b_err < <(median "${br[@]}")
    if [ "$x_rps" = NA ]; then
        ratio=NA
        xs=(NA NA NA)
    else
        ratio=$(bench_ratio "$x_rps" "$b_rps")
        xs=("$(printf '%.0f' "$x_rps")" "$(bench_ms "$x_p50")" "$(bench_ms "$x_p99")")
    fi
    printf '%-6s | %12s %9s %9s %7s | %12.0f %9s %9s %7s | %6s\n' "$c" "${xs[0]}" "${xs[1]}" "${xs[2]}" "$x_err" \
        "$b_rps" "$(bench_ms "$b_p50")" "$(bench_ms "$b_p99")" "$b_err" "$ratio"
    # per-row lines are INFO (FAIL when xend answered with errors); the verdict is the last line
    status=INFO
    [ "$x_err" != 0 ] && [ "$x_err" != NA ] && status=FAIL
    if [ "$c" = "$TARGET_CONNS" ]; then
        if [ "$ratio" = NA ]; then OVERALL=SKIP
        elif bench_ge "$ratio" "$TARGET_RATIO" && [ "$x_err" = 0 ]; then OVERALL=PASS
        else OVERALL=FAIL
        fi
    fi
    SUMMARY+=("BENCH name=rpc-throughput conns=$c xend_rps=$x_rps bare_rps=$b_rps ratio=$ratio xend_p50_us=$x_p50 xend_p99_us=$x_p99 bare_p50_us=$b_p50 bare_p99_us=$b_p99 xend_errors=$x_err bare_errors=$b_err status=$status")
done
echo
echo "target: xend >= $(awk -v r=$TARGET_RATIO 'BEGIN{printf "%d", r*100}')% of bare at $TARGET_CONNS connections: $OVERALL${XEND_NOTE:+ ($XEND_NOTE)}"
printf '%s\n' "${SUMMARY[@]}"
echo "BENCH name=rpc-throughput target=ratio@${TARGET_CONNS}>=${TARGET_RATIO} status=$OVERALL quick=$QUICK duration_s=$DURATION repeat=$REPEAT"
exit 0
