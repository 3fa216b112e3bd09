#!/bin/bash
# bench/strangers.sh: RSS with 60 clients holding 4 MiB unauthenticated bodies;
# RSS and call latency with 10,000 idle TCP connections (issue 12).  Needs root
# (it raises the descriptor limit).  Bounded: about half a minute.
#   bench/strangers.sh [--build DIR] [-- strangers.py options]
set -eu
. "$(dirname "$0")/lib.sh"
bench_parse_args "$@"
if [ "$(id -u)" != 0 ]; then
    echo "BENCH name=strangers status=SKIP reason=needs-root"
    exit 0
fi
exec timeout 300 python3 "$BENCH_DIR/strangers.py" --xend "$BUILD_DIR/daemon/xend" "${BENCH_ARGS[@]}"
