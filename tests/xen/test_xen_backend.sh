#!/bin/bash
# The xen backend's unit test on the fake Xen host: preload tests/xen/mock's
# library so that libxl / libxenctrl / libxenstore calls reach it.
b=${XEND_BUILDDIR:-.}
mock=$b/tests/xen/mock/.libs/libxenmock.so
if [ ! -f "$mock" ]; then
    echo "SKIP: $mock is not built"
    echo "0 passed, 0 failed (SKIPPED)"
    exit 77
fi
# an ASan build links the runtime first; a preloaded library would come
# before it, which ASan refuses unless told the order is fine
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
LD_PRELOAD="$mock${LD_PRELOAD:+:$LD_PRELOAD}" exec "$b/tests/xen/test_xen_backend"
