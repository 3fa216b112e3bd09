#!/bin/bash
# libxenapi's client ABI, guarded: every exported symbol is a xen_* symbol
# of a version node of libxen/libxenapi.map, and the library's ABI (abidiff
# from abigail-tools) is compatible with the committed baseline
# libxen/abi/libxenapi.abi.  An incompatible change (a symbol removed, a
# type or signature changed) fails; an addition passes and is shown, to be
# recorded with `make update-abi`.  The last check shows that the guard
# works: the same library with one function hidden must be refused.
b=${XEND_BUILDDIR:-.}
s=${XEND_SRCDIR:-${srcdir:-.}}
lib=$b/libxen/.libs/libxenapi.so.1
base=$s/libxen/abi/libxenapi.abi
pass=0; fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; shift; printf '  %s\n' "$@"; fail=$((fail + 1)); }
done_() { echo "$pass passed, $fail failed"; [ $fail = 0 ]; exit $?; }
for tool in abidiff readelf; do
    if ! command -v $tool >/dev/null; then
        echo "SKIP: $tool is missing (scripts/install-deps.sh installs abigail-tools and binutils)"
        exit 77
    fi
done
[ -f "$lib" ] || { bad "built library" "$lib does not exist"; done_; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# 1. exported symbols: xen_* only, each with a XENAPI_ version (the version
#    nodes themselves are ABS symbols named after the node)
readelf --dyn-syms -W "$lib" | awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $7 != "ABS" && $5 != "LOCAL" {print $8}' \
    > "$tmp/syms"
n=$(wc -l < "$tmp/syms")
stray=$(grep -v '^xen_' "$tmp/syms" | head -5)
unversioned=$(grep -v '@@*XENAPI_[0-9.]*$' "$tmp/syms" | head -5)
if [ "$n" -gt 100 ] && [ -z "$stray" ] && [ -z "$unversioned" ]; then
    ok "$n exported symbols, all xen_* with a XENAPI_ version"
else
    bad "exported symbols" "count $n; not xen_*: ${stray:-none}; without a version: ${unversioned:-none}"
fi

# 2. the ABI against the baseline
hd=(--headers-dir2 "$s/libxen/include/xen/api" --headers-dir2 "$b/libxen/gen/xen/api")
abidiff --no-show-locs "${hd[@]}" "$base" "$lib" > "$tmp/diff" 2>&1; rc=$?
if [ $((rc & 3)) -ne 0 ]; then
    bad "abidiff against the baseline" "abidiff could not compare (status $rc):" "$(head -20 "$tmp/diff")"
elif [ $((rc & 8)) -ne 0 ]; then
    bad "ABI compatible with libxen/abi/libxenapi.abi" "INCOMPATIBLE change (abidiff status $rc):" \
        "$(head -60 "$tmp/diff")"
else
    ok "ABI compatible with libxen/abi/libxenapi.abi (abidiff status $rc)"
    if [ $((rc & 4)) -ne 0 ]; then
        echo "  compatible changes (record additions with 'make update-abi'):"
        head -30 "$tmp/diff"
    fi
fi

# 3. the guard itself: the same objects linked with one function of the
#    baseline hidden must be reported incompatible by this abidiff
victim=xen_session_login_with_password
core=$b/libxen/.libs/libxenapi_core.a
if [ -f "$core" ] && command -v "${CC:-cc}" >/dev/null; then
    sed "s/^\( *local:\)/\1\n    $victim;/" "$s/libxen/libxenapi.map" > "$tmp/hide.map"
    "${CC:-cc}" -shared -Wl,-soname,libxenapi.so.1 -Wl,--version-script="$tmp/hide.map" \
        -o "$tmp/libxenapi.so.1" -Wl,--whole-archive "$core" -Wl,--no-whole-archive 2> "$tmp/cc.err"
    if [ ! -f "$tmp/libxenapi.so.1" ] || readelf --dyn-syms -W "$tmp/libxenapi.so.1" | grep -q " $victim@"; then
        bad "a variant without $victim" "it could not be built or still exports it:" "$(head -5 "$tmp/cc.err")"
    else
        abidiff --no-show-locs "$base" "$tmp/libxenapi.so.1" > "$tmp/diff2" 2>&1; rc=$?
        if [ $((rc & 8)) -ne 0 ] && grep -q "$victim" "$tmp/diff2"; then
            ok "a library without $victim is reported incompatible (abidiff status $rc)"
        else
            bad "a library without $victim is reported incompatible" "abidiff status $rc:" \
                "$(head -20 "$tmp/diff2")"
        fi
    fi
else
    bad "the guard's own check" "no $core or no C compiler to build the variant"
fi
done_
