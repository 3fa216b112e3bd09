# rpc: the transports (HTTP/HTTPS/Unix through libmicrohttpd), the JSON-RPC
# codec, and the XenAPI result convention on the wire; linked into
# daemon/xend (daemon/local.mk).  The XML-RPC codec is in util/local.mk.
noinst_LTLIBRARIES += rpc/libxrpc.la
rpc_libxrpc_la_SOURCES = rpc/server.c rpc/server.h rpc/reply.c rpc/reply.h rpc/static.c rpc/static.h \
	rpc/confplan.c rpc/confplan.h rpc/tls.c rpc/tls.h
rpc_libxrpc_la_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(XML_CFLAGS) $(GNUTLS_CFLAGS)
rpc_libxrpc_la_LIBADD = rpc/libxjson.la config/libvmdesc.la $(GNUTLS_LIBS)
$(rpc_libxrpc_la_OBJECTS): gen/stamp

# The JSON-RPC codec (same xv trees and limits as the XML-RPC one).
noinst_LTLIBRARIES += rpc/libxjson.la
rpc_libxjson_la_SOURCES = rpc/jsonrpc.c rpc/jsonrpc.h
rpc_libxjson_la_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
rpc_libxjson_la_LIBADD = util/libxv.la

# Its unit test (golden value cases in tests/unit/jsonrpc/).
check_PROGRAMS += tests/unit/test_jsonrpc
TESTS += tests/unit/test_jsonrpc
tests_unit_test_jsonrpc_LDADD = rpc/libxjson.la util/libxv.la $(XML_LIBS) $(XTEST_LIBS)
EXTRA_DIST += tests/unit/jsonrpc/values.txt

# rpc/auth: PAM password checks for session.login_with_password.
# Users also need util/libxlog.la.
noinst_LTLIBRARIES += rpc/libxauth.la
rpc_libxauth_la_SOURCES = rpc/auth_pam.c rpc/auth_pam.h
# -lcrypt: ASan intercepts crypt_r but resolves the real one only at start-up,
# so pam_unix (dlopen'ed later) would call NULL unless libcrypt is already
# loaded.  gcc links with --as-needed except under -fsanitize, so normal
# builds do not gain the dependency.  (libcrypt-dev comes with libc6-dev.)
rpc_libxauth_la_LIBADD = $(PAM_LIBS) -lcrypt

check_PROGRAMS += tests/unit/pam_check
tests_unit_pam_check_LDADD = rpc/libxauth.la util/libxlog.la
TESTS += tests/unit/test_pam.sh
