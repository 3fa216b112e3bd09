# The XML-RPC codec (shared with libxen).
noinst_LTLIBRARIES += rpc/libxv.la
rpc_libxv_la_SOURCES = rpc/xv.c rpc/xv.h rpc/xmlrpc.c rpc/xmlrpc.h rpc/jsonrpc.c rpc/jsonrpc.h
rpc_libxv_la_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
rpc_libxv_la_LIBADD = $(XML_LIBS)

# Its unit test (data files, if any, live in tests/unit/codec/).
check_PROGRAMS += tests/unit/test_codec
TESTS += tests/unit/test_codec
tests_unit_test_codec_SOURCES = tests/unit/test_codec.c
tests_unit_test_codec_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
tests_unit_test_codec_LDADD = rpc/libxv.la $(XML_LIBS) $(XTEST_LIBS)

# The JSON-RPC codec's unit test (golden value cases in tests/unit/jsonrpc/).
check_PROGRAMS += tests/unit/test_jsonrpc
TESTS += tests/unit/test_jsonrpc
tests_unit_test_jsonrpc_SOURCES = tests/unit/test_jsonrpc.c
tests_unit_test_jsonrpc_LDADD = rpc/libxv.la $(XML_LIBS) $(XTEST_LIBS)
EXTRA_DIST += tests/unit/jsonrpc/values.txt
