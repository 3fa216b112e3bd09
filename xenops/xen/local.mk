# xenops/xen: the xen backend (libxl + libxenctrl + libxenstore).
if HAVE_XEN
noinst_LTLIBRARIES += xenops/xen/libxo_xen.la
xenops_xen_libxo_xen_la_SOURCES = \
	xenops/xen/xen_backend.c \
	xenops/xen/xen_config.c xenops/xen/xen_config.h \
	xenops/xen/xen_console.c \
	xenops/xen/xen_host.c \
	xenops/xen/xen_io.c \
	xenops/xen/xen_osevent.c \
	xenops/xen/xen_priv.h \
	xenops/xen/xo_xen.h
xenops_xen_libxo_xen_la_CFLAGS = $(AM_CFLAGS) $(XEN_CFLAGS)
xenops_xen_libxo_xen_la_LIBADD = $(XEN_LIBS)

# Unit test of the pure config translation: runs without a hypervisor.
check_PROGRAMS += tests/xen/test_xen_config
TESTS += tests/xen/test_xen_config
tests_xen_test_xen_config_SOURCES = tests/xen/test_xen_config.c
tests_xen_test_xen_config_CFLAGS = $(AM_CFLAGS) $(XEN_CFLAGS)
tests_xen_test_xen_config_LDADD = xenops/xen/libxo_xen.la xenops/libxenops.la $(XEN_LIBS) $(XTEST_LIBS)


# Drives the backend directly on a real Xen dom0 (not part of `make check`):
#   scripts/check-xen-qemu.sh tests/xen/xo-xen-drive
noinst_PROGRAMS += tests/xen/xo-xen-drive
tests_xen_xo_xen_drive_SOURCES = tests/xen/xo-xen-drive.c
tests_xen_xo_xen_drive_CFLAGS = $(AM_CFLAGS) $(XEN_CFLAGS)
tests_xen_xo_xen_drive_LDADD = xenops/xen/libxo_xen.la xenops/libxenops.la $(XEN_LIBS) $(XTEST_LIBS)
endif
