#!/bin/sh
# PAM authentication test: needs root (creates a user and a PAM service).
# Run from the build directory (as `make check` does) or set PAM_CHECK to
# the pam_check helper.
set -u

PAM_CHECK=${PAM_CHECK:-${XEND_BUILDDIR:-.}/tests/unit/pam_check}
passed=0
failed=0

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: test_pam needs root (it creates a test user and a /etc/pam.d service); uid $(id -u)" >&2
	echo "0 passed, 0 failed (SKIPPED)"
	exit 77
fi
if [ ! -x "$PAM_CHECK" ]; then
	echo "test_pam: FAIL: helper $PAM_CHECK not found (run from the build dir or set PAM_CHECK)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

user="xendtest-$$"
service="xend-test-$$"
pamfile="/etc/pam.d/$service"
tmp=$(mktemp -d) || exit 1

cleanup() {
	rm -f "$pamfile"
	userdel "$user" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# A random password with characters that need care in shells and PAM.
password="Pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')-'\"\$x"
wrong="${password}x"

if ! useradd -M -s /usr/sbin/nologin "$user"; then
	echo "test_pam: FAIL: useradd $user failed" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
if ! printf '%s:%s\n' "$user" "$password" | chpasswd; then
	echo "test_pam: FAIL: chpasswd failed" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
printf 'auth required pam_unix.so\naccount required pam_unix.so\n' >"$pamfile"

# check NAME EXPECTED-EXIT USER PASSWORD [RHOST]
check() {
	name=$1 want=$2 u=$3 pw=$4
	shift 4
	printf '%s\n' "$pw" | "$PAM_CHECK" "$service" "$u" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL: $name: exit $got, expected $want" >&2
		cat "$tmp/out" "$tmp/err" >&2
		failed=$((failed + 1))
		return
	fi
	# The password must not appear in anything the driver printed or logged.
	if grep -qF -e "$password" "$tmp/out" "$tmp/err"; then
		echo "FAIL: $name: password appears in output" >&2
		failed=$((failed + 1))
		return
	fi
	echo "ok: $name"
	passed=$((passed + 1))
}

# check_reason NAME PATTERN: the last run's failure reason (which the caller
# logs once, with the client's address: daemon/login.c) holds PATTERN
check_reason() {
	if grep -q "rejected: .*$2" "$tmp/out"; then
		echo "ok: $1"
		passed=$((passed + 1))
	else
		echo "FAIL: $1: the reason lacks '$2'" >&2
		cat "$tmp/out" >&2
		failed=$((failed + 1))
	fi
}

check "right password accepted" 0 "$user" "$password"
check "right password with rhost accepted" 0 "$user" "$password" 192.0.2.1
check "wrong password rejected" 1 "$user" "$wrong"
check_reason "the failure's reason names the user" "user '$user'"
check "unknown user rejected" 1 "nosuch-$user" "$password"
check "empty password rejected" 1 "$user" ""
check "user with control character rejected" 1 "$(printf '%s\001' "$user")" "$password"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
