# tests of the VM lifecycle, storage and persistence
TESTS += tests/integration/test_lifecycle.py \
	tests/integration/test_storage.py \
	tests/integration/test_reconcile.py \
	tests/integration/test_persist.py \
	tests/integration/test_paths.py
EXTRA_DIST += bench/persist/bench_persist.py bench/persist/libxen_cycles.c

# the backend gateway (daemon/backend.c) and the backends' log sink
check_PROGRAMS += tests/unit/test_backend
TESTS += tests/unit/test_backend
tests_unit_test_backend_SOURCES = tests/unit/test_backend.c
tests_unit_test_backend_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
tests_unit_test_backend_LDADD = $(XEND_CORE_LIBS)
$(tests_unit_test_backend_OBJECTS): gen/stamp
