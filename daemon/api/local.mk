# daemon/api: one file per class, holding the class's hand-written handlers
# (xh_C_m) and hooks; appends to daemon_libxend_la_SOURCES.  A class whose
# messages are all generic or refused by generated code (the datamodel's
# "unsupported": ACMPolicy, cpu_pool) has no file.
daemon_libxend_la_SOURCES += daemon/api/api.h \
	daemon/api/vm.h daemon/api/vm.c daemon/api/vm_lifecycle.c daemon/api/vm_save.c \
	daemon/api/vm_clone.c daemon/api/vm_live.c daemon/api/vm_events.c daemon/api/vm_metrics.c \
	daemon/api/vm_reconcile.c daemon/api/hotplug.c \
	daemon/api/vbd.c daemon/api/vif.c daemon/api/console.c daemon/api/console.h daemon/api/vtpm.c \
	daemon/api/vdi.c daemon/api/sr.c daemon/api/crashdump.c \
	daemon/api/host.c daemon/api/host_cpu.c daemon/api/system.c daemon/api/pif.c \
	daemon/api/xspolicy.c daemon/api/debug.c
