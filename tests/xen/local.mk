# tests/xen: the xen backend's tests that need no hypervisor.
if HAVE_XEN
# The fake Xen host (LD_PRELOAD): a shared object even though only tests use
# it (-rpath makes libtool build one; it is never installed).
check_LTLIBRARIES += tests/xen/mock/libxenmock.la
tests_xen_mock_libxenmock_la_SOURCES = tests/xen/mock/xenmock.c tests/xen/mock/xenmock.h
tests_xen_mock_libxenmock_la_CFLAGS = $(AM_CFLAGS) $(XEN_CFLAGS)
tests_xen_mock_libxenmock_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_xen_mock_libxenmock_la_LIBADD = -lxentoollog

# The backend's own logic on the mock (tests/xen/test_xen_backend.sh preloads it).
check_PROGRAMS += tests/xen/test_xen_backend
tests_xen_test_xen_backend_SOURCES = tests/xen/test_xen_backend.c
tests_xen_test_xen_backend_CFLAGS = $(AM_CFLAGS) $(XEN_CFLAGS)
tests_xen_test_xen_backend_LDADD = xenops/xen/libxo_xen.la xenops/libxenops.la $(XEN_LIBS) $(XTEST_LIBS) -ldl
TESTS += tests/xen/test_xen_backend.sh
endif
EXTRA_DIST += tests/xen/test_xen_backend.sh
