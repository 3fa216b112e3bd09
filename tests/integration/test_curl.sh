#!/bin/bash
# curl as a client: exact Content-Type, keep-alive across calls, any path,
# the Unix socket, and a login over HTTP with the PAM test user.
. "${XEND_SRCDIR:-$srcdir}/tests/lib/harness.sh"
xend_start || { echo "0 passed, 1 failed"; exit 1; }
pass=0; fail=0
ok() { if eval "$2"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }
call() { printf '<?xml version="1.0"?><methodCall><methodName>%s</methodName><params>%s</params></methodCall>' "$1" "$2"; }
p() { printf '<param><value><string>%s</string></value></param>' "$1"; }

out=$(curl -s -D "$XEND_DIR/h1" --unix-socket "$XEND_UNIX" http://localhost/RPC2 -d "$(call system.listMethods '')")
ok "listMethods over the Unix socket" '[[ "$out" == *"<string>VM.start</string>"* ]]'
ok "Content-Type is exactly text/xml" 'grep -qi "^Content-Type: text/xml.$" "$XEND_DIR/h1"'

body=$(call session.login_with_password "$(p "$XEND_USER")$(p "$XEND_PASS")")
out=$(curl -s "$XEND_URL" -H 'Content-Type: text/xml' -d "$body")
sess=$(sed -n 's:.*<name>Value</name><value><string>\([^<]*\)</string>.*:\1:p' <<<"$out")
ok "PAM login over HTTP" '[ ${#sess} = 36 ]'
bad=$(curl -s "$XEND_URL" -d "$(call session.login_with_password "$(p "$XEND_USER")$(p nope)")")
ok "wrong password" '[[ "$bad" == *SESSION_AUTHENTICATION_FAILED* ]]'

# two calls, one connection (curl reports the re-use)
curl -sv "${XEND_URL}a" -d "$(call host.get_all "$(p "$sess")")" --next "${XEND_URL}b/c" \
     -d "$(call VM.get_all "$(p "$sess")")" > "$XEND_DIR/out2" 2> "$XEND_DIR/err2"
ok "keep-alive" 'grep -q "Re-using existing connection" "$XEND_DIR/err2"'
ok "both answered" '[ "$(grep -o "<name>Status</name><value><string>Success" "$XEND_DIR/out2" | wc -l)" = 2 ]'
out=$(curl -s "$XEND_URL" -d "$(call VM.get_record "$(p "$sess")$(p nope)")")
ok "HANDLE_INVALID" '[[ "$out" == *"<string>HANDLE_INVALID</string></value><value><string>VM</string></value><value><string>nope</string>"* ]]'
ok "no whitespace between elements" '[ "$(printf %s "${out#*?>}" | tr -cd "\n" | wc -c)" = 0 ] && [[ "$out" != *"> <"* ]]'
xend_stop || { fail=$((fail+1)); echo "FAIL: xend did not stop cleanly"; }
echo "$pass passed, $fail failed"
[ $fail = 0 ]
