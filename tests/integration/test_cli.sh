#!/bin/bash
# xend's command line: -n checks the configuration; bad input exits non-zero
# with the reason; --help/--version.
xend="${XEND_BUILDDIR:-.}/daemon/xend"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
expect() {  # expect RC PATTERN -- command...
    local rc=$1 pat=$2; shift 3
    local out; out=$("$@" 2>&1); local got=$?
    if [ "$got" = "$rc" ] && grep -q -- "$pat" <<<"$out"; then pass=$((pass+1))
    else fail=$((fail+1)); echo "FAIL: $* -> rc $got (want $rc), output: $out"; fi
}
printf 'state-dir = %s\nlisten = http:127.0.0.1:9363 auth=pam\n' "$tmp/state" > "$tmp/good.conf"
printf 'state-dir = %s\nfrobnicate = 1\n' "$tmp/state" > "$tmp/bad.conf"
printf 'listen = https:0.0.0.0:9367 cert=%s/none.pem key=%s/none.key\n' "$tmp" "$tmp" > "$tmp/nocert.conf"
printf 'listen = http:127.0.0.1:99999\n' > "$tmp/badport.conf"
expect 0 "valid" -- "$xend" -n --config "$tmp/good.conf"
expect 1 "bad.conf:2" -- "$xend" -n --config "$tmp/bad.conf"
expect 1 "none.pem" -- "$xend" -n --config "$tmp/nocert.conf"
expect 1 "badport.conf:1" -- "$xend" -n --config "$tmp/badport.conf"
expect 1 "backend" -- "$xend" -n --config "$tmp/good.conf" --backend nonsense
expect 1 "no-such-file" -- "$xend" -n --config "$tmp/no-such-file"
expect 0 "--foreground" -- "$xend" --help
expect 0 "xend" -- "$xend" --version
expect 2 "" -- "$xend" --no-such-option
expect 0 "valid" -- "$xend" -n --config "$tmp/good.conf" --unix "$tmp/s.sock" --tcp 127.0.0.1:9999 --backend sim
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
