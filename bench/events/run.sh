#!/bin/bash
# Events benchmark: 10,000 clients waiting in event.next, xend's threads,
# delivery latency at 100 changes/s, call throughput with and without them.
#   bench/events/run.sh [BUILDDIR] [evbench.py options]
# BUILDDIR defaults to the current directory (a configured, built tree).
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-.}
[ $# -gt 0 ] && shift
want=20000
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
    if [ "$(id -u)" = 0 ] && command -v prlimit >/dev/null; then
        prlimit --pid $$ --nofile=$want:$want
    else
        echo "run.sh: the hard fd limit is $hard (< $want): run as root or raise it" >&2
        exit 1
    fi
fi
ulimit -n "$(ulimit -Hn)"
exec "${PYTHON:-/usr/bin/python3}" "$here/evbench.py" "$build" "$@"
