# tasks and events: appends to daemon_libxend_la_SOURCES
# (task.c, task.h and event.c are listed in daemon/local.mk)
daemon_libxend_la_SOURCES += daemon/event.h
