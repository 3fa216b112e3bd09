# bench: benchmarks (not tests; never add these to TESTS).
# xload: HTTP/1.1 keep-alive POST load generator.  bare_server: bare libmicrohttpd baseline.
noinst_PROGRAMS += bench/xload bench/bare_server

bench_xload_CFLAGS = $(AM_CFLAGS)
bench_xload_LDADD = util/libxv.la

bench_bare_server_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS)
bench_bare_server_LDADD = $(MHD_LIBS)

dist_noinst_SCRIPTS += bench/run-all.sh bench/rpc-throughput.sh bench/web-console.sh
EXTRA_DIST += bench/web/bench_console.mjs
EXTRA_DIST += bench/lib.sh
# JSON-RPC against XML-RPC throughput, and event.from delivery (bench/jsonrpc/run.sh)
dist_noinst_SCRIPTS += bench/jsonrpc/run.sh
EXTRA_DIST += bench/jsonrpc/evfrom.py
noinst_PROGRAMS += bench/jsonrpc/codec
bench_jsonrpc_codec_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
bench_jsonrpc_codec_LDADD = rpc/libxjson.la util/libxv.la $(XML_LIBS)
# Logins under abuse and what strangers cost (issue 12; need root)
dist_noinst_SCRIPTS += bench/login-abuse.sh bench/strangers.sh
EXTRA_DIST += bench/login-abuse.py bench/strangers.py
# 256 clients for 60 s, then the daemon back at its baseline (issue 12; bench/soak.py)
dist_noinst_SCRIPTS += bench/soak.sh
EXTRA_DIST += bench/soak.py
# xm create -> console marker beside xl create, on real Xen under QEMU (issue 13)
dist_noinst_SCRIPTS += bench/xen-create-console.sh bench/xen-create-console.py
