# config: xend.conf parser (VM config formats live here too).
noinst_LTLIBRARIES += config/libxconf.la
config_libxconf_la_SOURCES = config/xendconf.c config/xendconf.h

xendconfdir = $(sysconfdir)/xen
dist_xendconf_DATA = xend.conf

pamdir = $(sysconfdir)/pam.d
dist_pam_DATA = pam/xend

check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_LDADD = config/libxconf.la util/libxlog.la $(XTEST_LIBS)
