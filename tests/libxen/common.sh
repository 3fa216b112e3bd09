# Shared by the libxen test scripts: run from the top build dir by `make check`
# (srcdir is exported by the automake test driver).
: "${srcdir:=.}"
# LIBXEN_WRAPPER="valgrind --error-exitcode=9 --leak-check=full" runs the C
# programs under valgrind (through libtool, which resolves the uninstalled
# shared library).
libxen_run() {
    if [ -n "${LIBXEN_WRAPPER:-}" ]; then
        ./libtool --mode=execute $LIBXEN_WRAPPER "$@"
    else
        "$@"
    fi
}
libxen_need_daemon() {
    if [ ! -x daemon/xend ]; then
        echo "SKIP: daemon/xend is not built"
        exit 77
    fi
    if [ ! -f "$srcdir/tests/lib/harness.sh" ]; then
        echo "SKIP: tests/lib/harness.sh is missing"
        exit 77
    fi
    . "$srcdir/tests/lib/harness.sh"
    xend_start || { echo "ERROR: xend_start failed"; exit 99; }
}
