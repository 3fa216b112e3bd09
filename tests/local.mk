# The C test harness every C test program links (TAP, 'N passed, M failed',
# exit 77 = skip): tests/lib/xtest.h.  Not a check_ library: tests/xen's
# xo-xen-drive, a noinst program, links it too.
noinst_LTLIBRARIES += tests/lib/libxtest.la
tests_lib_libxtest_la_SOURCES = tests/lib/xtest.c tests/lib/xtest.h
XTEST_LIBS = tests/lib/libxtest.la

# Integration tests: the real daemon over real sockets (tests/lib/xendtest.py).
TESTS += tests/check-manifest.sh \
	tests/check-layers.py \
	tests/check-names.py \
	tests/check-symbols.sh \
	tests/integration/test_core.py \
	tests/integration/test_observability.py \
	tests/integration/test_getters.py \
	tests/integration/test_hostile.py \
	tests/integration/test_logins.py \
	tests/integration/test_strangers.py \
	tests/integration/test_soak.py \
	tests/integration/test_cli.sh \
	tests/integration/test_tls.py \
	tests/integration/test_client_cert.py \
	tests/integration/test_curl.sh \
	tests/integration/test_service.py \
	tests/integration/test_web_static.py \
	tests/golden/test_golden.py
EXTRA_DIST += tests/lib/xendtest.py tests/lib/harness.sh $(filter %.py %.sh,$(TESTS)) \
	$(wildcard $(srcdir)/tests/golden/*.xml)

# Rewrite tests/golden/*.response.xml from what the daemon answers now (then
# review the diff: every change there is a change on the wire).
regenerate-golden: daemon/xend
	XEND_BUILDDIR='$(abs_top_builddir)' XEND_SRCDIR='$(abs_top_srcdir)' XEND_REGENERATE=1 \
		$(PY_LOG_COMPILER) $(srcdir)/tests/golden/test_golden.py
.PHONY: regenerate-golden

check_PROGRAMS += tests/unit/test_dispatch
TESTS += tests/unit/test_dispatch
tests_unit_test_dispatch_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
tests_unit_test_dispatch_LDADD = $(XEND_CORE_LIBS) $(XTEST_LIBS)
$(tests_unit_test_dispatch_OBJECTS): | gen/stamp

# The VM lifecycle as a table (tests/unit/vm_lifecycle.table), in-process.
check_PROGRAMS += tests/unit/test_vm_lifecycle
TESTS += tests/unit/test_vm_lifecycle
tests_unit_test_vm_lifecycle_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
tests_unit_test_vm_lifecycle_LDADD = rpc/libxrpc.la rpc/libxjson.la xenops/libxobackends.la $(XEND_CORE_LIBS) $(XTEST_LIBS)
$(tests_unit_test_vm_lifecycle_OBJECTS): | gen/stamp
EXTRA_DIST += tests/unit/vm_lifecycle.table

# The xen backend on a real hypervisor: `make check-xen` in a Xen dom0, or
# from a machine without Xen through scripts/check-xen-qemu.sh (see README).
check-xen:
	@$(AM_TESTS_ENVIRONMENT) $(SHELL) $(srcdir)/tests/xen-daemon/check-xen.sh
.PHONY: check-xen
EXTRA_DIST += tests/xen-daemon/check-xen.sh tests/xen-daemon/test_xend_xen.py tests/xen-daemon/xenguest.py

# The datamodel and its generator (negative cases, rewrite-only-changed, reference).
TESTS += tests/gen/test_datamodel.py tests/integration/test_roles.py tests/integration/test_constraints.py \
	tests/integration/test_audit.py tests/integration/test_limits.py

# tests of the VM lifecycle, storage and persistence
TESTS += tests/integration/test_lifecycle.py \
	tests/integration/test_storage.py \
	tests/integration/test_reconcile.py \
	tests/integration/test_persist.py \
	tests/integration/test_paths.py \
	tests/integration/test_vm_pool.py
EXTRA_DIST += bench/persist/bench_persist.py bench/persist/libxen_cycles.c

# the backend gateway (daemon/backend.c) and the backends' log sink
check_PROGRAMS += tests/unit/test_backend
TESTS += tests/unit/test_backend
tests_unit_test_backend_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
tests_unit_test_backend_LDADD = $(XEND_CORE_LIBS)
$(tests_unit_test_backend_OBJECTS): gen/stamp

# tests of Async tasks and events
TESTS += tests/integration/test_events.py tests/integration/test_tasks.py
EXTRA_DIST += bench/events/run.sh bench/events/evbench.py docs/events.md docs/tasks.md

# pyxen: Python bindings for xend (python/xen/xenapi.py, standard library only)
# and their test against the real daemon.  Installed as plain files into a
# dist-packages directory of the system python3 (pyxendir, chosen by
# configure; no byte-compiling: python3 compiles on first import).
pyxenpkgdir = $(pyxendir)/xen
dist_pyxen_DATA = python/XenAPI.py
dist_pyxenpkg_DATA = python/xen/__init__.py python/xen/xenapi.py
TESTS += tests/pyxen/test_pyxen.py tests/pyxen/pip.sh
EXTRA_DIST += tests/pyxen/test_pyxen.py tests/pyxen/pip.sh python/examples/list-vms.py docs/pyxen.md \
	python/pyproject.toml python/README.md
