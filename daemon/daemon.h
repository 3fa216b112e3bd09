/* daemon: start-up hooks of the daemon's modules, called by main() in order:
 * store, persistence (records from disk), host (from the backend), VMs
 * (reconcile with the backend's domains), tasks and events. */
#ifndef XEND_DAEMON_H
#define XEND_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "xenops/xenops.h"

typedef struct daemon_options {
    const char *state_dir;
    unsigned task_expiry;           /* seconds */
    size_t event_log_size;
    xloop *loop;
} daemon_options;

/* h_misc.c: classes with small rules (PIF). */
void misc_setup(void);
/* vm.c: the VM lifecycle; the backend's events arrive here. */
bool vm_setup(const daemon_options *o, char **err_r);
void vm_backend_event(void *opaque, const xo_event *ev);
/* Periodic work (every ~2 s, on the main thread): metrics, expiry. */
void daemon_tick(void);

#endif
