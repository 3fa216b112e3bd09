# util: small shared pieces (event loop, ...).  Other fragments may append to
# util_libxutil_la_SOURCES.
noinst_LTLIBRARIES += util/libxutil.la
util_libxutil_la_SOURCES = util/loop.c util/loop.h util/pool.c util/pool.h util/io.h util/strutil.h \
	util/beneath.c util/beneath.h
util_libxutil_la_LIBADD = -lpthread

check_PROGRAMS += tests/unit/test_loop
TESTS += tests/unit/test_loop
tests_unit_test_loop_SOURCES = tests/unit/test_loop.c
tests_unit_test_loop_LDADD = util/libxutil.la $(XTEST_LIBS)

check_PROGRAMS += tests/unit/test_pool
TESTS += tests/unit/test_pool
tests_unit_test_pool_SOURCES = tests/unit/test_pool.c
tests_unit_test_pool_LDADD = util/libxutil.la $(XTEST_LIBS)
