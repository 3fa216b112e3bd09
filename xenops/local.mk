# xenops: the backend interface (xenops.c) and the backends compiled in.
noinst_LTLIBRARIES += xenops/libxenops.la
xenops_libxenops_la_SOURCES = xenops/xenops.c xenops/xenops.h
xenops_libxenops_la_LIBADD = xenops/sim/libxo_sim.la util/libxutil.la

# The backends compiled in, by name, with the xen backend and its libraries:
# only the daemon and the backends' own tests link it, so the daemon's core
# (and the unit tests of its parts) never links the Xen libraries
# (tests/check-layers.py checks it).
noinst_LTLIBRARIES += xenops/libxobackends.la
xenops_libxobackends_la_SOURCES = xenops/backends.c
xenops_libxobackends_la_LIBADD =
if HAVE_XEN
xenops_libxobackends_la_LIBADD += xenops/xen/libxo_xen.la $(XEN_LIBS)
endif
