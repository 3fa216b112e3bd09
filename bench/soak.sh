#!/bin/bash
# bench/soak.sh: 256 clients for 60 s mixing reads, writes, event waiters and
# logins against a daemon of its own (bench/soak.py), then: zero errors,
# descriptors back at their baseline, RSS within 20% of it.  Prints errors,
# calls, RSS and descriptors before/peak/after and a BENCH line; exits 1 when
# a criterion fails.  Logins go through PAM with a throw-away user as root,
# else to a listener without authentication.  Bounded: the run, then at most
# --settle (60 s) for the daemon to come back; ~3 min on 2 loaded cores.
#   bench/soak.sh [--build DIR] [--quick] [soak.py options: --clients N --seconds S --conf LINE ...]
# --quick: 32 clients for 10 s.
set -u
. "$(dirname "$0")/lib.sh"
bench_parse_args "$@"
size=(--clients 256 --seconds 60)
[ "$QUICK" = 1 ] && size=(--clients 32 --seconds 10)
timeout 900 python3 "$BENCH_DIR/soak.py" --xend "$XEND" "${size[@]}" "${BENCH_ARGS[@]}"
