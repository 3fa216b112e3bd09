# tests of the VM lifecycle, storage and persistence
TESTS += tests/integration/test_lifecycle.py \
	tests/integration/test_storage.py \
	tests/integration/test_reconcile.py \
	tests/integration/test_persist.py
EXTRA_DIST += bench/persist/bench_persist.py bench/persist/libxen_cycles.c
