# util: small shared pieces (event loop, worker pool, ...), the log and the
# XML-RPC codec: three libraries, so that a component links only what it uses.
noinst_LTLIBRARIES += util/libxutil.la
util_libxutil_la_SOURCES = util/loop.c util/loop.h util/pool.c util/pool.h util/callq.h util/cond.h util/io.h util/strutil.h util/uuid.h util/asan.h \
	util/beneath.c util/beneath.h
util_libxutil_la_LIBADD = -lpthread

check_PROGRAMS += tests/unit/test_loop
TESTS += tests/unit/test_loop
tests_unit_test_loop_LDADD = util/libxutil.la $(XTEST_LIBS)

check_PROGRAMS += tests/unit/test_pool
TESTS += tests/unit/test_pool
tests_unit_test_pool_LDADD = util/libxutil.la $(XTEST_LIBS)

# util/log: the daemon's log (a library of its own so that every component
# can link it without the event loop).
noinst_LTLIBRARIES += util/libxlog.la
util_libxlog_la_SOURCES = util/log.c util/log.h

check_PROGRAMS += tests/unit/test_log
TESTS += tests/unit/test_log
tests_unit_test_log_LDADD = util/libxlog.la $(XTEST_LIBS)

# The XML-RPC codec (shared with libxen).
noinst_LTLIBRARIES += util/libxv.la
util_libxv_la_SOURCES = util/xv.c util/xv.h util/xmlrpc.c util/xmlrpc.h util/utf8.h
util_libxv_la_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
util_libxv_la_LIBADD = $(XML_LIBS)

# Its unit test (data files, if any, live in tests/unit/codec/).
check_PROGRAMS += tests/unit/test_codec
TESTS += tests/unit/test_codec
tests_unit_test_codec_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
tests_unit_test_codec_LDADD = util/libxv.la $(XML_LIBS) $(XTEST_LIBS)
