#!/bin/bash
# The historical-style example program (its own libcurl call_func) against
# the real daemon, over HTTP with PAM and over the Unix socket.
. "${srcdir:-.}/tests/libxen/common.sh"
libxen_need_daemon
passed=0 failed=0
ok() { passed=$((passed + 1)); }
ko() { failed=$((failed + 1)); echo "FAIL: $*"; }

uuid=$(libxen_run tests/libxen/integration --make-vm)
if [ -n "$uuid" ]; then ok; else ko "could not create a VM"; fi

out=$(libxen_run examples/xen_example "$XEND_URL" "$XEND_USER" "$XEND_PASS" "$uuid" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] && ok || ko "example over http exited $rc"
echo "$out" | grep -q "^VM $uuid" && ok || ko "example did not print the VM record"
echo "$out" | grep -q "name_label: libxen-example-vm" && ok || ko "name_label"
echo "$out" | grep -q "power_state now: Running" && ok || ko "VM not started"

out=$(libxen_run examples/xen_example "unix://$XEND_UNIX" any thing "$uuid" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok || { echo "$out"; ko "example over the unix socket exited $rc"; }

out=$(libxen_run examples/xen_example "$XEND_URL" "$XEND_USER" wrong-password "$uuid" 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q SESSION_AUTHENTICATION_FAILED && ok || ko "bad password"

xend_stop || ko "xend_stop"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
