#!/bin/bash
# make check: no global symbol the daemon defines is also exported by a
# shared library it runs with (every library daemon/xend links, among them
# libpam, libaudit, libgnutls and libxml2, and the PAM modules PAM loads).
# A daemon function named like a library's is taken by the library's own
# callers too: an audit_open of the daemon's once answered libpam's call to
# libaudit's, and every PAM login failed.
#
# The daemon's globals are those of daemon/xend less what the toolchain puts
# in any program (startup code, a static sanitizer runtime): the globals of
# an empty program built with the same compiler and flags.  The check is
# checked too: a program defining audit_open must be caught.
set -u
b=${XEND_BUILDDIR:-.}
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
finish() { rm -rf "$tmp"; echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit; }
tmp=$(mktemp -d)

for tool in nm ldd; do
    if ! command -v $tool >/dev/null; then
        echo "SKIP: $tool is not installed"; echo "0 passed, 0 failed"; exit 77
    fi
done
xend=$b/daemon/xend
[ -x "$xend" ] || { bad "$xend is not built"; finish; }

# The compiler and flags of the build, from its Makefile.
mkvar() { sed -n "s/^$1 = //p" "$b/Makefile" | head -1; }
cc=$(mkvar CC) cflags=$(mkvar CFLAGS) ldflags=$(mkvar LDFLAGS)

# defined globals of a program, copy-relocated library variables (name@VERSION) left out
globals() { nm -g --defined-only "$1" | awk '{ print $NF }' | grep -v '@' | sort -u; }
# NAME LIBRARY lines: what each library exports
exports() {
    local l
    for l in "$@"; do
        nm -D --defined-only "$l" 2>/dev/null | awk -v l="$l" '{ sub(/@.*/, "", $NF); print $NF, l }'
    done | sort -u
}
# the libraries a program runs with; a sanitizer's runtime (an ASan or UBSan build) is left out:
# the instrumented code and it share names such as __asan_option_detect_stack_use_after_return
# by design
libs_of() { ldd "$1" | awk '/=>/ && $3 ~ /^\// && $3 !~ /\/lib(a|ub|l|t|hwa)san\.so/ { print $3 }'; }
# NAME LIBRARY for each of the program's own globals that a library exports
collisions() {
    local prog=$1; shift
    comm -23 <(globals "$prog") "$tmp/toolchain" > "$tmp/own"
    exports "$@" | awk 'NR == FNR { own[$1] = 1; next } ($1 in own)' "$tmp/own" -
}

printf 'int main(void) { return 0; }\n' > "$tmp/empty.c"
# shellcheck disable=SC2086  # the flags are words
if ! $cc $cflags $ldflags -o "$tmp/empty" "$tmp/empty.c" 2>"$tmp/cc.err"; then
    cat "$tmp/cc.err"; bad "building an empty program with '$cc $cflags $ldflags'"; finish
fi
globals "$tmp/empty" > "$tmp/toolchain"

mapfile -t libs < <(libs_of "$xend")
pamdir=$(dirname "$(ldd "$xend" | awk '/libpam\.so/ { print $3 }')")/security
mapfile -t modules < <(ls "$pamdir"/pam_*.so 2>/dev/null)
for want in libpam.so libaudit.so libgnutls.so libxml2.so; do
    found=
    for l in "${libs[@]}"; do
        case $(basename "$l") in "$want"*) [ -n "$(exports "$l")" ] && found=$l ;; esac
    done
    if [ -n "$found" ]; then ok "$want: $found exports $(exports "$found" | wc -l) symbols, checked"
    else bad "$want: daemon/xend does not run with it, or it exports nothing (ldd: ${libs[*]})"
    fi
done
[ "${#modules[@]}" -gt 0 ] || bad "no PAM modules in $pamdir"

n=$(comm -23 <(globals "$xend") "$tmp/toolchain" | wc -l)
c=$(collisions "$xend" "${libs[@]}" "${modules[@]}")
if [ -z "$c" ]; then
    ok "none of daemon/xend's $n globals is exported by its ${#libs[@]} libraries or ${#modules[@]} PAM modules"
else
    echo "$c" | sed 's/^/#   /'; bad "daemon/xend defines globals that a library it runs with exports (rename them)"
fi

# The check catches a collision: audit_open defined next to libaudit.
audit=
for l in "${libs[@]}"; do case $(basename "$l") in libaudit.so*) audit=$l ;; esac; done
printf 'int audit_open(void);\nint audit_open(void) { return -1; }\nint main(void) { return audit_open(); }\n' \
    > "$tmp/planted.c"
# shellcheck disable=SC2086
if [ -z "$audit" ] || ! $cc $cflags $ldflags -o "$tmp/planted" "$tmp/planted.c" "$audit" 2>"$tmp/cc.err"; then
    cat "$tmp/cc.err" 2>/dev/null; bad "building the planted collision (audit_open next to ${audit:-libaudit})"
elif collisions "$tmp/planted" "$audit" | grep -q '^audit_open '; then
    ok "a program defining audit_open next to libaudit is caught"
else
    bad "the check missed audit_open defined next to libaudit"
fi
finish
