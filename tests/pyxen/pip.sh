#!/bin/bash
# The Python bindings install with pip from python/pyproject.toml (offline:
# the system's setuptools, no package index), and `make install` puts them
# on Debian's python3 path.
s=${XEND_SRCDIR:-${srcdir:-.}}
b=${XEND_BUILDDIR:-.}
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "PASS $1"; }
ko() { failed=$((failed + 1)); echo "FAIL $1"; shift; printf '  %s\n' "$@"; }
py=/usr/bin/python3
if ! $py -m pip --version >/dev/null 2>&1; then
    echo "SKIP: $py has no pip (scripts/install-deps.sh installs python3-pip)"; exit 77
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp -r "$s/python" "$tmp/src"           # setuptools writes beside the sources
chmod -R u+w "$tmp/src"
if out=$($py -m pip install --no-build-isolation --no-index --target "$tmp/site" "$tmp/src" 2>&1); then
    ok "pip install python/ (pyproject.toml)"
else
    ko "pip install python/" "$(echo "$out" | tail -15)"
fi
for f in XenAPI.py xen/__init__.py xen/xenapi.py; do
    [ -f "$tmp/site/$f" ] || ko "pip installed $f" "missing in $(ls "$tmp/site" 2>&1)"
done
if out=$(cd / && PYTHONPATH="$tmp/site" $py -c 'import XenAPI, xen.xenapi as x; print(x.__file__, x.API_VERSION_1_0)' 2>&1) \
   && echo "$out" | grep -q "^$tmp/site/xen/xenapi.py 1.0$"; then
    ok "the pip-installed module imports: $out"
else
    ko "the pip-installed module imports" "$out"
fi
# make install: into a directory the system python3 searches
pydir=$(printf 'print:\n\t@echo $(pyxendir)\n' | MAKEFLAGS= MAKELEVEL= make -s --no-print-directory -C "$b" -f Makefile -f - print)
dest="$tmp/dest"
if out=$(make -s -C "$b" install-dist_pyxenDATA install-dist_pyxenpkgDATA DESTDIR="$dest" 2>&1) && \
   [ -f "$dest$pydir/xen/xenapi.py" ] && [ -f "$dest$pydir/XenAPI.py" ]; then
    ok "make install puts them in $pydir"
else
    ko "make install to $pydir" "$out" "$(cd "$dest" 2>/dev/null && find . | head)"
fi
case "$pydir" in
/usr/*)     # a system prefix (/usr, /usr/local): python3 must find it unaided
    if $py -c 'import sys; sys.exit(0 if sys.argv[1] in sys.path else 1)' "$pydir"; then
        ok "$pydir is on $py's path"
    else
        ko "$pydir on $py's path" "$($py -c 'import sys; print(sys.path)')"
    fi;;
*)          # another prefix (make distcheck's): the installed copy imports from there
    if out=$(cd / && PYTHONPATH="$dest$pydir" $py -c 'import XenAPI, xen.xenapi as x; print(x.__file__)' 2>&1) &&
       [ "$out" = "$dest$pydir/xen/xenapi.py" ]; then
        ok "prefix outside /usr: the installed copy imports with PYTHONPATH=$pydir"
    else
        ko "the installed copy imports" "$out"
    fi;;
esac
echo "$passed passed, $failed failed"
[ $failed = 0 ]
