# Shell test harness: source it, then `xend_start` / `xend_stop`.
# xend_start exports XEND_URL (http://127.0.0.1:PORT/, PAM), XEND_UNIX (socket,
# no authentication), XEND_USER / XEND_PASS (a PAM test user), XEND_DIR, XEND_PID.
# The logic lives in xendtest.py (one harness for every kind of test).
: "${srcdir:=.}"
XEND_HARNESS_PY="${XEND_SRCDIR:-$srcdir}/tests/lib/xendtest.py"
xend_start() {
    eval "$(/usr/bin/python3 "$XEND_HARNESS_PY" start)" || return 1
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
