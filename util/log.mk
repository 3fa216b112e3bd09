# util/log: the daemon's log (kept apart from util/local.mk so that every
# component can link it without the event loop).
noinst_LTLIBRARIES += util/libxlog.la
util_libxlog_la_SOURCES = util/log.c util/log.h
