#!/bin/bash
# check-xen.sh: the xen backend's tests, run from the build directory on a
# Xen control domain (`make check-xen`): the backend driven directly
# (tests/xen/xo-xen-drive), then xend --backend xen driven over XenAPI
# (test_xend_xen.py).  Prints the total as 'N passed, M failed'.
src=${XEND_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
pass=0; fail=0
add() {  # add the last 'N passed, M failed' line of $1's output
    local line; line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
    if [ -z "$line" ]; then fail=$((fail + 1)); return; fi
    pass=$((pass + $(echo "$line" | awk '{print $1}'))); fail=$((fail + $(echo "$line" | awk '{print $3}')))
}
out=$(mktemp)
if [ -x ./tests/xen/xo-xen-drive ]; then
    echo "=== the xen backend, driven directly"
    ./tests/xen/xo-xen-drive 2>&1 | tee "$out"; add "$out"
fi
echo "=== xend --backend xen over XenAPI"
XEND_BUILDDIR=${XEND_BUILDDIR:-$PWD} XEND_SRCDIR=$src /usr/bin/python3 "$src/tests/xen-daemon/test_xend_xen.py" 2>&1 | tee "$out"
add "$out"
rm -f "$out"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
