/* persist: the records of persistent objects on disk (see docs/persistence.md).
 *
 * Every change to a persistent object is noted by a store observer; whoever
 * must not say "done" before the changes are safe (the dispatcher, when a
 * call ends) calls persist_commit(): that appends the changed records to the
 * journal, and runs its continuation once a (shared) fdatasync made them
 * durable; the XML files are written by checkpoints.  persist_setup()
 * (daemon.h) replays the journal and loads the files.  Nothing here knows
 * about calls.
 */
#ifndef XEND_PERSIST_H
#define XEND_PERSIST_H

#include <stdbool.h>

#include "daemon/store.h"

/* Make every change noted so far durable; call with no store lock held.
 * No-op before persist_setup().  False if writing failed (logged). */
bool persist_flush(void);
/* then(arg, durable) runs once every change noted so far is durable (at
 * once with nothing to wait for), either on this thread or on the thread
 * that makes the journal durable; the caller must not wait for it.
 * may_block: the caller may write and wait for the disk (a worker), and
 * may lead the group commit itself.  Otherwise (a transport or loop thread)
 * it never writes nor waits for the journal: persistence's own thread does.
 * durable is false when there were changes and writing them failed (a
 * full disk): they are kept in memory and written by the next checkpoint
 * that succeeds, but the caller cannot be told they are safe. */
void persist_commit(bool may_block, void (*then)(void *arg, bool durable), void *arg);
/* Periodic (~2 s, main thread): when idle, write the XML files the journal
 * changed, make them durable and empty the journal (checkpoint). */
void persist_tick(void);
/* The state directory given to persist_setup() ("" before). */
const char *persist_state_dir(void);
/* VMs that are never written: dom0 and VMs marked transient (adopted
 * foreign domains, other_config:xend_transient=true).  Store lock held. */
bool persist_vm_is_transient(const xobj *vm);
#define PERSIST_TRANSIENT_KEY "xend_transient"

/* A VM and its devices as the XML document of its file (lock held; malloc'd). */
char *persist_vm_xml(const xobj *vm, size_t *len_r);
/* Parse such a document: the VM is objs[0], its devices follow; none is in
 * the store.  False with *why_r (malloc'd) if it is not one. */
bool persist_vm_parse(const char *buf, size_t len, xobj ***objs_r, size_t *n_r, char **why_r);

/* Statistics for tests and the benchmark (log at start-up). */
typedef struct persist_stats {
    size_t loaded;          /* objects loaded at start-up */
    size_t files;           /* files read */
    size_t corrupt;         /* files moved aside */
    size_t replayed;        /* journal records replayed */
} persist_stats;
void persist_get_stats(persist_stats *s);

#endif
