# the event log (docs/events.md): appends to daemon_libxend_la_SOURCES
daemon_libxend_la_SOURCES += daemon/event.h daemon/event_int.h daemon/event_codec.c \
	daemon/event_log.c daemon/event_wait.c daemon/event_api.c
