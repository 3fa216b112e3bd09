# VM lifecycle, devices, storage, persistence: appends to daemon_libxend_la_SOURCES
