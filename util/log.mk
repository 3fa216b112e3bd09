# util/log: the daemon's log (kept apart from util/local.mk so that every
# component can link it without the event loop).
noinst_LTLIBRARIES += util/libxlog.la
util_libxlog_la_SOURCES = util/log.c util/log.h

check_PROGRAMS += tests/unit/test_log
TESTS += tests/unit/test_log
tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_LDADD = util/libxlog.la $(XTEST_LIBS)
