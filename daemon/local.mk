# The daemon: dispatch, object store, handlers (daemon/api/local.mk adds the
# classes' files to daemon_libxend_la_SOURCES).
noinst_LTLIBRARIES += daemon/libxend.la
daemon_libxend_la_SOURCES = \
	daemon/xerr.c daemon/xerr.h daemon/xtype.c daemon/xtype.h \
	daemon/store.c daemon/store.h daemon/dispatch.c daemon/dispatch.h \
	daemon/implicit.c daemon/classes.h daemon/session.c daemon/session.h daemon/login.c daemon/login.h \
	daemon/backend.c daemon/backend.h daemon/paths.c daemon/paths.h \
	daemon/host.c daemon/host.h daemon/task.c daemon/task.h \
	daemon/metrics.c daemon/metrics.h daemon/audit.c daemon/audit.h \
	daemon/daemon.h

# What the VM class and the device and storage classes share (daemon/api/ has the classes)
daemon_libxend_la_SOURCES += daemon/vm_internal.h daemon/vm_config.c daemon/vm_state.c daemon/vm_state.h \
	daemon/storage.c daemon/storage.h daemon/devices.c daemon/devices.h

# the event log (docs/events.md)
daemon_libxend_la_SOURCES += daemon/event.h daemon/event_int.h daemon/event_codec.c \
	daemon/event_log.c daemon/event_wait.c daemon/event_api.c

# persistence (docs/persistence.md)
daemon_libxend_la_SOURCES += daemon/persist.h daemon/persist_int.h daemon/persist_record.c \
	daemon/persist_journal.c daemon/persist_commit.c daemon/persist_load.c

nodist_daemon_libxend_la_SOURCES = gen/xapi_model.c gen/xapi_errors.c gen/xapi_dispatch.c gen/xapi_policy.c
daemon_libxend_la_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS) $(GNUTLS_CFLAGS)
daemon_libxend_la_LIBADD = util/libxv.la $(GNUTLS_LIBS)
$(daemon_libxend_la_OBJECTS) $(daemon_xend_OBJECTS): | gen/stamp

sbin_PROGRAMS += daemon/xend
daemon_xend_SOURCES = daemon/main.c daemon/daemon.h \
	daemon/service.c daemon/service.h daemon/hostpolicy.c daemon/hostpolicy.h
daemon_xend_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(XML_CFLAGS) $(SYSTEMD_CFLAGS)
# everything the daemon's code needs, for the daemon and for unit tests of its parts
XEND_CORE_LIBS = daemon/libxend.la rpc/libxauth.la config/libxconf.la xenops/libxenops.la \
	util/libxutil.la util/libxlog.la util/libxv.la $(XML_LIBS) $(PAM_LIBS)
# the daemon is its core, the transports and the backends (with Xen's libraries)
daemon_xend_LDADD = rpc/libxrpc.la xenops/libxobackends.la $(XEND_CORE_LIBS) $(MHD_LIBS) $(GNUTLS_LIBS) \
	$(SYSTEMD_LIBS)

# service files
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = systemd/xend.service
initddir = $(sysconfdir)/init.d
dist_initd_SCRIPTS = systemd/init.d/xend
# /etc/logrotate.d/xend (the file's name there is the package's)
install-data-local: install-logrotate
uninstall-local: uninstall-logrotate
install-logrotate:
	$(MKDIR_P) $(DESTDIR)$(sysconfdir)/logrotate.d
	$(INSTALL_DATA) $(srcdir)/systemd/xend.logrotate $(DESTDIR)$(sysconfdir)/logrotate.d/xend
uninstall-logrotate:
	rm -f $(DESTDIR)$(sysconfdir)/logrotate.d/xend
.PHONY: install-logrotate uninstall-logrotate
EXTRA_DIST += systemd/xend.logrotate
systemd/xend.service: $(top_srcdir)/systemd/xend.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    -e 's|@docdir[@]|$(docdir)|g' $< > $@
CLEANFILES += systemd/xend.service
EXTRA_DIST += systemd/xend.service.in
