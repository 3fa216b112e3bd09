# config: xend.conf parser (VM config formats live here too).
noinst_LTLIBRARIES += config/libxconf.la
config_libxconf_la_SOURCES = config/xendconf.c config/xendconf.h

xendconfdir = $(sysconfdir)/xen
dist_xendconf_DATA = xend.conf

pamdir = $(sysconfdir)/pam.d
dist_pam_DATA = pam/xend

check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_LDADD = config/libxconf.la util/libxlog.la $(XTEST_LIBS)

# The VM config formats (XML of create.dtd, SXP, Python-style): a library
# that knows nothing of the daemon (config/vmdesc.h, docs/config-formats.md).
noinst_LTLIBRARIES += config/libvmdesc.la
config_libvmdesc_la_SOURCES = config/vmdesc.h config/vmd_internal.h config/vmdesc.c \
	config/vmd_legacy.c config/vmd_cfg.c config/vmd_sxp.c config/vmd_xml.c config/vmd_plan.c
config_libvmdesc_la_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS)
config_libvmdesc_la_CPPFLAGS = $(AM_CPPFLAGS) -DVMD_SCHEMA_DIR='"$(pkgdatadir)"'
config_libvmdesc_la_LIBADD = util/libxv.la $(XML_LIBS) -lpthread
dist_pkgdata_DATA = config/create.rng

check_PROGRAMS += tests/config/test_vmdesc
TESTS += tests/config/test_vmdesc
tests_config_test_vmdesc_LDADD = config/libvmdesc.la $(XTEST_LIBS)
# The golden corpus (NAME.cfg/.sxp/.xml -> NAME.calls, bad/NAME.* -> .err).
EXTRA_DIST += $(patsubst $(srcdir)/%,%,$(wildcard $(srcdir)/tests/config/*.cfg \
	$(srcdir)/tests/config/*.sxp $(srcdir)/tests/config/*.xml $(srcdir)/tests/config/*.calls \
	$(srcdir)/tests/config/*.vars $(srcdir)/tests/config/bad/*))
