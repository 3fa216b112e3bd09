# tasks and events: appends to daemon_libxend_la_SOURCES
