# The XML-RPC codec (shared with libxen).
noinst_LTLIBRARIES += util/libxv.la
util_libxv_la_SOURCES = util/xv.c util/xv.h util/xmlrpc.c util/xmlrpc.h
util_libxv_la_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
util_libxv_la_LIBADD = $(XML_LIBS)

# Its unit test (data files, if any, live in tests/unit/codec/).
check_PROGRAMS += tests/unit/test_codec
TESTS += tests/unit/test_codec
tests_unit_test_codec_SOURCES = tests/unit/test_codec.c
tests_unit_test_codec_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
tests_unit_test_codec_LDADD = util/libxv.la $(XML_LIBS) $(XTEST_LIBS)
