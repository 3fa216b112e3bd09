#!/bin/bash
# bench/login-abuse.sh: a correct login's and VM.start's latency while 48
# connections send 50 wrong passwords per second (issue 12).  Needs root
# (a throw-away PAM user).  Bounded: ~60 s (--quick: ~25 s).
#   bench/login-abuse.sh [--build DIR] [--quick] [-- login-abuse.py options]
set -eu
. "$(dirname "$0")/lib.sh"
bench_parse_args "$@"
if [ "$(id -u)" != 0 ]; then
    echo "BENCH name=login-abuse status=SKIP reason=needs-root"
    exit 0
fi
exec timeout 300 python3 "$BENCH_DIR/login-abuse.py" \
    --xend "$BUILD_DIR/daemon/xend" $([ "$QUICK" = 1 ] && echo --quick) "${BENCH_ARGS[@]}"
