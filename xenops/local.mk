# xenops: the backend interface (xenops.c) and the backends compiled in.
noinst_LTLIBRARIES += xenops/libxenops.la
xenops_libxenops_la_SOURCES = xenops/xenops.c xenops/xenops.h
xenops_libxenops_la_LIBADD = xenops/sim/libxo_sim.la util/libxutil.la
if HAVE_XEN
xenops_libxenops_la_LIBADD += xenops/xen/libxo_xen.la $(XEN_LIBS)
endif
