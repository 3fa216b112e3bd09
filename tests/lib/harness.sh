# Shell test harness: source it, then `xend_start` / `xend_stop`.
# xend_start exports XEND_URL (http://127.0.0.1:PORT/, PAM), XEND_UNIX (socket,
# no authentication), XEND_USER / XEND_PASS (a PAM test user), XEND_DIR, XEND_PID.
# The logic lives in xendtest.py (one harness for every kind of test).
: "${srcdir:=.}"
XEND_HARNESS_PY="${XEND_SRCDIR:-$srcdir}/tests/lib/xendtest.py"
# A test that cannot run here (not root) is skipped: exit 77, reason printed.
xend_start() {
    local env rc
    env=$(/usr/bin/python3 "$XEND_HARNESS_PY" start); rc=$?
    if [ "$rc" = 77 ]; then
        echo "0 passed, 0 failed (SKIPPED: see the reason above)"
        exit 77
    fi
    if [ "$rc" != 0 ] || [ -z "$env" ]; then
        echo "xend_start: the harness could not start xend (exit $rc)" >&2
        return 1
    fi
    eval "$env"
    trap 'xend_stop' EXIT
}
xend_stop() {
    [ -n "${XEND_DIR:-}" ] || return 0
    /usr/bin/python3 "$XEND_HARNESS_PY" stop "$XEND_DIR" "$XEND_PID"
    local rc=$?
    XEND_DIR=
    trap - EXIT
    return $rc
}
