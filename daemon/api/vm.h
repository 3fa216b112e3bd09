/* The VM class's shared runtime: what the files of daemon/api/vm*.c share.
 * Functions marked "lock held" expect the store lock (write lock when they
 * change anything); "no lock" ones take it themselves. */
#ifndef XEND_API_VM_H
#define XEND_API_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/classes.h"
#include "daemon/task.h"
#include "daemon/vm_internal.h"
#include "xapi_model.h"

enum { W_NONE, W_SHUTDOWN, W_REBOOT };

/* Runtime state of a VM (xobj priv; only touched under the store lock). */
typedef struct vmrt {
    const char *busy;           /* operation in progress, NULL if none */
    xcall *waiter;              /* deferred clean_shutdown / clean_reboot */
    int wait_kind;
    int64_t deadline_ms;        /* monotonic (xloop_now_ms) */
    int64_t timeout;
    uint64_t *vcpu_ns;          /* last vCPU times, for utilisation */
    size_t n_vcpu;
    int64_t sampled_ms;
    int64_t burst_ms;           /* start of the current guest-restart burst */
    int burst_n;                /* guest-initiated restarts in it */
} vmrt;

/* VMs with a deferred clean_shutdown / clean_reboot waiter (store lock). */
extern size_t vm_n_waiters;

/* Power states an operation accepts (NULL-terminated). */
extern const char *const S_HALTED[], *const S_RUNNING[], *const S_PAUSED[], *const S_SUSPENDED[],
    *const S_LIVE[], *const S_HARD_SHUTDOWN[], *const S_HARD_REBOOT[];

extern const xclass_ops vm_ops;

static inline const char *vm_pstate(const xobj *vm) { return xobj_str(vm, XF_VM_power_state); }
static inline bool vm_is(const xobj *vm, const char *s) { return strcmp(vm_pstate(vm), s) == 0; }

/* The VM's runtime state, made on first use (lock held). */
vmrt *vm_rt(xobj *vm);
/* A task's progress, if the call has a task. */
void vm_progress(xcall *call, int pct);
/* Find vm, check its power state is one of allowed and claim it for op
 * (write lock held); NULL with errp set if it cannot be claimed.
 * takeover: may take over from a waiting clean_shutdown / clean_reboot. */
xobj *vm_claim(const char *ref, const char *op, const char *const *allowed, bool takeover,
               xerr **errp);
/* Take a pending waiter off vm (lock held); the caller finishes it unlocked. */
xcall *vm_take_waiter(xobj *vm);
/* Drop the claim on ref (write lock held). */
void vm_release(const char *ref);
/* xm create's run-once VMs (LEGACY.md §4.4): a VM whose other_config:transient
 * is "True" (any case) or "1" is removed, with what it owns, once it is
 * Halted and no operation holds it.  Called where VMs halt: on release of an
 * operation and when a domain dies (write lock held); true if vm is gone. */
#define VM_RUN_ONCE_KEY "transient"
bool vm_drop_if_run_once(xobj *vm);
/* Record that vm is now in state (write lock held). */
void vm_set_power(xobj *vm, const char *state, int64_t domid);
/* vm_set_power and the start-time metrics (write lock held). */
void vm_started(xobj *vm, const char *state, uint32_t domid);
/* Make the VM's metrics objects exist (lock held); raw: vm not in the store. */
void vm_fix_metrics(xobj *vm, bool raw);

/* vm_lifecycle.c: build the domain of a claimed VM (no lock); restore_from:
 * a suspend image, or NULL. */
bool vm_build(xcall *call, const char *ref, bool paused, const char *restore_from, xerr **errp);
/* Tear the domain of a claimed VM down (no lock); after: Halted. */
bool vm_destroy_domain(const char *ref, int64_t domid, xerr **errp);
/* Destroy and rebuild the domain of a claimed VM (no lock). */
bool vm_restart(xcall *call, const char *ref, int64_t domid, xerr **errp);
/* Answer a deferred call (c may be NULL: err is freed). */
void vm_finish_call(xcall *c, xerr *err);
const char *vm_reboot_policy(const xobj *vm);

/* vm_events.c: a domain nobody asked for, adopted as a transient VM
 * (write lock held). */
void vm_adopt(const xo_dominfo *d);

#endif
