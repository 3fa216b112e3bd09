# libxen: C client bindings generated from datamodel/xenapi.json
# (tools/gen_libxen.py), installed as libxenapi + <xen/api/*.h> + xenapi.pc.

LIBXEN_GEN_DEPS = $(top_srcdir)/tools/gen_libxen.py $(top_srcdir)/tools/datamodel.py \
	$(top_srcdir)/datamodel/xenapi.json

# One generator run writes every generated header and C file under libxen/gen.
libxen/gen/stamp: $(LIBXEN_GEN_DEPS)
	$(AM_V_GEN)$(MKDIR_P) libxen/gen && \
	$(PYTHON3) $(top_srcdir)/tools/gen_libxen.py $(top_srcdir)/datamodel/xenapi.json libxen/gen && \
	touch $@
libxen/gen/xen_gen.c libxen/gen/roundtrip.c libxen/gen/all_records.c libxen/gen/xen_gen_internal.h: libxen/gen/stamp
BUILT_SOURCES += libxen/gen/stamp
EXTRA_DIST += $(LIBXEN_GEN_DEPS) libxen/xenapi.pc.in libxen/README.md

LIBXEN_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libxen/include -I$(top_builddir)/libxen/gen \
	-I$(top_srcdir)/libxen/src
LIBXEN_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) -fno-strict-aliasing

# Everything, as a convenience library: the shared library below wraps it
# and the tests link it directly (they reach the private descriptors).
noinst_LTLIBRARIES += libxen/libxenapi_core.la
libxen_libxenapi_core_la_SOURCES = libxen/src/xen_common.c libxen/src/xen_transport.c \
	libxen/src/xen_compat44.c libxen/src/xen_internal.h libxen/include/xen/api/xen_common.h \
	libxen/include/xen/api/xen_transport.h libxen/include/xen/api/xen_compat44.h
nodist_libxen_libxenapi_core_la_SOURCES = libxen/gen/xen_gen.c libxen/gen/xen_gen_internal.h
libxen_libxenapi_core_la_CPPFLAGS = $(LIBXEN_CPPFLAGS)
libxen_libxenapi_core_la_CFLAGS = $(LIBXEN_CFLAGS)
libxen_libxenapi_core_la_LIBADD = util/libxv.la $(CURL_LINKED_LIBS) $(XML_LIBS)

# The installed library: soname libxenapi.so.1; only xen_* symbols exported,
# each with its version node (libxen/libxenapi.map).  tests/libxen/abi.sh
# compares its ABI with libxen/abi/libxenapi.abi; `make update-abi` rewrites
# that baseline after a deliberate, compatible addition.
lib_LTLIBRARIES += libxen/libxenapi.la
libxen_libxenapi_la_SOURCES =
libxen_libxenapi_la_LIBADD = libxen/libxenapi_core.la $(CURL_LINKED_LIBS) $(XML_LIBS)
libxen_libxenapi_la_LDFLAGS = -version-info 1:0:0 -Wl,--version-script=$(srcdir)/libxen/libxenapi.map
libxen_libxenapi_la_DEPENDENCIES = libxen/libxenapi_core.la $(srcdir)/libxen/libxenapi.map
EXTRA_DIST += libxen/libxenapi.map libxen/abi/libxenapi.abi
TESTS += tests/libxen/abi.sh tests/libxen/uninstalled.sh
EXTRA_DIST += tests/libxen/abi.sh tests/libxen/uninstalled.sh libxen/xenapi-uninstalled.pc.in
LIBXEN_ABIDW = abidw --no-corpus-path --no-show-locs --headers-dir $(srcdir)/libxen/include/xen/api \
	--headers-dir libxen/gen/xen/api
update-abi: libxen/libxenapi.la
	$(LIBXEN_ABIDW) --out-file $(srcdir)/libxen/abi/libxenapi.abi libxen/.libs/libxenapi.so.1
.PHONY: update-abi

libxenapi_includedir = $(includedir)/xen/api
libxenapi_include_HEADERS = libxen/include/xen/api/xen_common.h \
	libxen/include/xen/api/xen_transport.h libxen/include/xen/api/xen_compat44.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = libxen/xenapi.pc

# The generated headers (their names come from the datamodel).
install-data-local: install-libxen-gen-headers
install-libxen-gen-headers: libxen/gen/stamp
	$(MKDIR_P) "$(DESTDIR)$(libxenapi_includedir)"
	for h in `cat libxen/gen/headers.list`; do \
	  $(INSTALL_DATA) libxen/gen/xen/api/$$h "$(DESTDIR)$(libxenapi_includedir)/$$h" || exit 1; \
	done
uninstall-local: uninstall-libxen-gen-headers
uninstall-libxen-gen-headers:
	if test -f libxen/gen/headers.list; then \
	  for h in `cat libxen/gen/headers.list`; do rm -f "$(DESTDIR)$(libxenapi_includedir)/$$h"; done; \
	fi
clean-local: clean-libxen-gen
clean-libxen-gen:
	rm -rf libxen/gen tests/libxen/install-tmp
.PHONY: install-libxen-gen-headers uninstall-libxen-gen-headers clean-libxen-gen

# ------------------------------------------------------------------ example
check_PROGRAMS += examples/xen_example
examples_xen_example_CPPFLAGS = $(LIBXEN_CPPFLAGS)
examples_xen_example_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
examples_xen_example_LDADD = libxen/libxenapi.la $(CURL_LIBS)
EXTRA_DIST += examples/README

# -------------------------------------------------------------------- tests
LIBXEN_TEST_LDADD = libxen/libxenapi_core.la $(CURL_LIBS) $(XML_LIBS) $(XTEST_LIBS)

check_PROGRAMS += tests/libxen/roundtrip
tests_libxen_roundtrip_SOURCES = tests/libxen/roundtrip_main.c tests/libxen/roundtrip_support.h
nodist_tests_libxen_roundtrip_SOURCES = libxen/gen/roundtrip.c
tests_libxen_roundtrip_CPPFLAGS = $(LIBXEN_CPPFLAGS) -I$(top_srcdir)/tests/libxen
tests_libxen_roundtrip_CFLAGS = $(LIBXEN_CFLAGS)
tests_libxen_roundtrip_LDADD = $(LIBXEN_TEST_LDADD)

check_PROGRAMS += tests/libxen/wire
tests_libxen_wire_CPPFLAGS = $(LIBXEN_CPPFLAGS)
tests_libxen_wire_CFLAGS = $(LIBXEN_CFLAGS)
tests_libxen_wire_LDADD = $(LIBXEN_TEST_LDADD)

check_PROGRAMS += tests/libxen/compat
tests_libxen_compat_CPPFLAGS = $(LIBXEN_CPPFLAGS)
tests_libxen_compat_CFLAGS = $(AM_CFLAGS)
tests_libxen_compat_LDADD = libxen/libxenapi.la $(XTEST_LIBS)

check_PROGRAMS += tests/libxen/integration
tests_libxen_integration_SOURCES = tests/libxen/integration.c tests/libxen/all_records.h
nodist_tests_libxen_integration_SOURCES = libxen/gen/all_records.c
tests_libxen_integration_CPPFLAGS = $(LIBXEN_CPPFLAGS) -I$(top_srcdir)/tests/libxen
tests_libxen_integration_CFLAGS = $(LIBXEN_CFLAGS)
tests_libxen_integration_LDADD = libxen/libxenapi.la $(XTEST_LIBS)

TESTS += tests/libxen/roundtrip tests/libxen/wire tests/libxen/compat tests/libxen/integration.sh \
	tests/libxen/example.sh tests/libxen/install.sh tests/libxen/https.sh tests/libxen/compat44/check.py
EXTRA_DIST += tests/libxen/integration.sh tests/libxen/example.sh tests/libxen/install.sh tests/libxen/https.sh \
	tests/libxen/common.sh tests/libxen/compat44/api-4.4.0.txt tests/libxen/compat44/extract.py

# Generated headers must exist before anything including <xen/api/...> compiles
# (BUILT_SOURCES only covers all/check/install).
$(libxen_libxenapi_core_la_OBJECTS) $(examples_xen_example_OBJECTS) \
$(tests_libxen_roundtrip_OBJECTS) $(tests_libxen_wire_OBJECTS) $(tests_libxen_compat_OBJECTS) \
$(tests_libxen_integration_OBJECTS): libxen/gen/stamp
