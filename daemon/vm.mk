# VM lifecycle, devices, storage: appends to daemon_libxend_la_SOURCES
daemon_libxend_la_SOURCES += daemon/vm_internal.h daemon/vm_config.c daemon/vm_state.c daemon/vm_state.h \
	daemon/storage.c daemon/storage.h daemon/devices.c daemon/devices.h
