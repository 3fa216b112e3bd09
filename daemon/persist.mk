# persistence (docs/persistence.md): appends to daemon_libxend_la_SOURCES
daemon_libxend_la_SOURCES += daemon/persist.h daemon/persist_int.h daemon/persist_record.c \
	daemon/persist_journal.c daemon/persist_commit.c daemon/persist_load.c
