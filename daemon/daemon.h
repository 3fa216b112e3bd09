/* daemon: start-up hooks of the daemon's modules, called by main() in order:
 * store, persistence (records from disk), host (from the backend), VMs
 * (reconcile with the backend's domains), tasks and events. */
#ifndef XEND_DAEMON_H
#define XEND_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/paths.h"
#include "xenops/xenops.h"

typedef struct daemon_options {
    const char *state_dir;
    const char *dirs[PATHS__COUNT]; /* where client-named files may be; NULL: default */
    unsigned task_expiry;           /* seconds */
    size_t max_finished_tasks;      /* finished tasks kept at most; 0: 10,000 */
    size_t event_log_size;
    size_t event_log_bytes;     /* records the event log holds at most; 0: 64 MiB */
    xloop *loop;
    /* Runs fn(arg) on a thread that may block (the daemon's worker pool):
     * persistence leads its group commit there for callers that must not
     * block.  NULL: persistence starts a thread of its own for that. */
    void (*queue_blocking)(void (*fn)(void *arg), void *arg);
} daemon_options;

/* persist.c: load the records kept on disk (before the host is set up) and
 * write every later change of a persistent object before its call returns. */
bool persist_setup(const daemon_options *o, char **err_r);
/* daemon/api/vm*.c (vm_setup also confines client-named paths, paths.h):
 * the VM lifecycle; reconcile records with the backend's domains;
 * the backend's events arrive in vm_backend_event. */
bool vm_setup(const daemon_options *o, char **err_r);
void vm_backend_event(void *opaque, const xo_event *ev);
void vm_tick(void);             /* periodic (~2 s): live metrics */
/* event_*.c / task.c: the event log, Async tasks. */
bool events_setup(const daemon_options *o, char **err_r);
void events_tick(void);         /* periodic (~2 s): task expiry, idle waiters */

#endif
