# The XML-RPC codec (shared with libxen).
noinst_LTLIBRARIES += rpc/libxv.la
rpc_libxv_la_SOURCES = rpc/xv.c rpc/xv.h rpc/xmlrpc.c rpc/xmlrpc.h
rpc_libxv_la_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
rpc_libxv_la_LIBADD = $(XML_LIBS)
