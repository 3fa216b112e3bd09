# bench/xm: `xm list` with 1,000 and 10,000 VMs beside virsh's test driver
# and the bare libxen fetch (bench/xm/bench_xm.py; docs/benchmarks.md).
noinst_PROGRAMS += bench/xm/fetch_records
bench_xm_fetch_records_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libxen/include -I$(top_builddir)/libxen/gen
bench_xm_fetch_records_LDADD = libxen/libxenapi.la
$(bench_xm_fetch_records_OBJECTS): libxen/gen/stamp
dist_noinst_SCRIPTS += bench/xm/bench_xm.py
noinst_PROGRAMS += bench/xm/decode_records
bench_xm_decode_records_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libxen/include -I$(top_builddir)/libxen/gen
bench_xm_decode_records_LDADD = libxen/libxenapi.la
$(bench_xm_decode_records_OBJECTS): libxen/gen/stamp
