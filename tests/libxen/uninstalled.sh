#!/bin/bash
# Trying the bindings before installing: the build tree's
# xenapi-uninstalled.pc gives pkg-config what builds the example against the
# library in the build tree, and the program runs from there.
b=${XEND_BUILDDIR:-.}
s=${XEND_SRCDIR:-${srcdir:-.}}
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "PASS $1"; }
ko() { failed=$((failed + 1)); echo "FAIL $1"; shift; printf '  %s\n' "$@"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
flags=$(PKG_CONFIG_PATH="$b/libxen" PKG_CONFIG_LIBDIR=/nonexistent pkg-config --cflags --libs xenapi 2>&1)
if [ $? = 0 ] && echo "$flags" | grep -q -- "-L$b/libxen/.libs\|-L.*/libxen/.libs"; then
    ok "pkg-config xenapi from the build tree: $flags"
else
    ko "pkg-config xenapi from the build tree" "$flags"
fi
san=; ldd "$b/libxen/.libs/libxenapi.so.1" | grep -q libasan && san="-fsanitize=address,undefined"
if out=$(${CC:-cc} -std=gnu11 -Wall -Wextra -Werror $san -o "$tmp/xen_example" "$s/examples/xen_example.c" \
        $flags $(pkg-config --cflags --libs libcurl) 2>&1); then
    ok "the example builds against the build tree"
else
    ko "the example builds against the build tree" "$out"
fi
out=$(LD_LIBRARY_PATH="$b/libxen/.libs" "$tmp/xen_example" 2>&1); rc=$?
if [ $rc = 2 ] && echo "$out" | grep -q usage && \
   LD_LIBRARY_PATH="$b/libxen/.libs" ldd "$tmp/xen_example" | grep -q "$b/libxen/.libs/libxenapi.so.1\|libxen/.libs/libxenapi.so.1"; then
    ok "it runs with the build tree's libxenapi.so.1"
else
    ko "it runs with the build tree's library" "status $rc: $out"
fi
# the Python module straight from the source tree
if out=$(PYTHONPATH="$s/python" python3 -c 'import XenAPI, xen.xenapi; print(xen.xenapi.__file__)' 2>&1) && \
   [ "$(cd "$(dirname "$out")/.." && pwd)" = "$(cd "$s/python" && pwd)" ]; then
    ok "python: PYTHONPATH=python imports xen.xenapi from the source tree"
else
    ko "python from the source tree" "$out"
fi
echo "$passed passed, $failed failed"
[ $failed = 0 ]
