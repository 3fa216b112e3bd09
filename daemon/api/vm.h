/* The VM class's shared runtime: what the files of daemon/api/vm*.c (and
 * the device classes' plug/unplug) share.  Functions marked "lock held"
 * expect the store lock (write lock when they change anything); "no lock"
 * ones take it themselves.
 *
 * Every operation on a VM that calls the backend is a vm_op run by
 * vm_op_run (the one frame, vm.c):
 *
 *   1. write lock: find the VM, check its power state is one the op allows,
 *      claim it (a second operation on it fails with
 *      OTHER_OPERATION_IN_PROGRESS), then the op's prepare(): its own
 *      checks, and a copy of what the backend call needs;
 *   2. no lock: the op's act() calls the backend;
 *   3. write lock: commit() on success or undo() on failure records the
 *      outcome; the claim is dropped;
 *   4. no lock: done() (answers a waiting call, frees what prepare made);
 *      a backend error becomes the API's error in one place
 *      (backend_error, named "VM.<op>").
 */
#ifndef XEND_API_VM_H
#define XEND_API_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/backend.h"
#include "daemon/classes.h"
#include "daemon/daemon.h"
#include "daemon/task.h"
#include "daemon/vm_internal.h"
#include "daemon/vm_state.h"
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

extern const xclass_ops vm_ops;

/* ---- the operation frame ---- */

typedef struct vm_ctx vm_ctx;

enum {
    VM_OP_TAKEOVER = 1,         /* may take over from a waiting clean_shutdown / clean_reboot */
    VM_OP_CONTROL_DOMAIN = 2,   /* allowed on the control domain (dom0) */
    VM_OP_UNCLAIMED = 4,        /* does not claim the VM (device plug/unplug claim the device) */
    VM_OP_DEFERRED = 8,         /* on success the claim stays: a backend event ends the call */
    VM_OP_HELD = 16,            /* the caller holds the claim already (guest events) */
};

typedef struct vm_op {
    const char *name;           /* "VM.start": the API's name, for errors */
    unsigned states;            /* VM_IN() of the power states it is allowed in */
    unsigned flags;             /* VM_OP_* */
    /* Find the VM the operation is about from c->ref (write lock held;
     * HANDLE_INVALID when none).  NULL: c->ref is the VM. */
    xobj *(*locate)(vm_ctx *c, xerr **errp);
    /* Write lock held; c->vm, c->domid set.  Checks and copies what act
     * needs; false: undo is not called (what prepare changed stays). */
    bool (*prepare)(vm_ctx *c, xerr **errp);
    /* No lock.  Calls the backend; on failure fills c->err (converted by
     * the frame) or sets *errp itself.  NULL: nothing to call. */
    bool (*act)(vm_ctx *c, xerr **errp);
    /* Write lock held; c->vm is the VM again (NULL if it is gone). */
    void (*commit)(vm_ctx *c);
    void (*undo)(vm_ctx *c);
    /* No lock, always last (prepare succeeded or not). */
    void (*done)(vm_ctx *c, bool ok);
} vm_op;

struct vm_ctx {
    xcall *call;
    const char *ref;            /* the VM, or the object locate() starts from */
    char vm_ref[XREF_LEN];      /* the VM */
    xobj *vm;                   /* only while the lock is held */
    int64_t domid;              /* the VM's domain when claimed (-1: none) */
    void *arg;                  /* the op's own arguments and state */
    xo_error err;               /* the backend's error, if act failed in it */
    const char *prev_busy;      /* the claim taken over (VM_OP_TAKEOVER) */
    bool keep_claim;            /* undo: the claim passed on to another call */
    bool answered;              /* undo: another call answered this one */
};

/* Run op on VM ref (see above).  arg: the op's own data (c->arg). */
bool vm_op_run(const vm_op *op, xcall *call, const char *ref, void *arg, xerr **errp);

/* What a guest's shutdown, reboot or crash leads to (vm_lifecycle.c; run
 * by vm_events.c under its own claim, arg a zeroed vm_hard): destroy the
 * domain; destroy and build again; build again (the old domain was kept
 * under another name). */
extern const vm_op vm_op_guest_halt, vm_op_guest_restart, vm_op_guest_rebuild;

/* ---- helpers (lock held unless said) ---- */

/* The VM's runtime state, made on first use. */
vmrt *vm_rt(xobj *vm);
/* A task's progress, if the call has a task (no lock). */
void vm_progress(xcall *call, int pct);
/* Take a pending waiter off vm; the caller finishes it unlocked. */
xcall *vm_take_waiter(xobj *vm);
/* Drop the claim on vm; a run-once VM that is Halted then goes. */
void vm_release(xobj *vm);
/* xm create's run-once VMs (LEGACY.md §4.4): a VM whose other_config:transient
 * is "True" (any case) or "1" is removed, with what it owns, once it is
 * Halted and no operation holds it.  Called where VMs halt: on release of an
 * operation and when a domain dies (write lock held); true if vm is gone. */
#define VM_RUN_ONCE_KEY "transient"
bool vm_drop_if_run_once(xobj *vm);
/* Remove vm's record with its devices, metrics and suspend image (not its
 * disks' VDIs; write lock held). */
void vm_forget(xobj *vm);
/* Record that vm is now in state (write lock held). */
void vm_set_power(xobj *vm, int state, int64_t domid);
/* vm_set_power and the start-time metrics (write lock held). */
void vm_started(xobj *vm, int state, uint32_t domid);
/* A VM record copied from another (clone) or read from an image (restore),
 * not in the store yet: Halted, no domain, empty device sets (the store
 * links its devices as they are inserted), no suspend image, its own new
 * metrics, not transient. */
void vm_reset_copy(xobj *vm);
/* Make the VM's metrics objects exist; raw: vm not in the store. */
void vm_fix_metrics(xobj *vm, bool raw);
/* The CPU pool fields every VM has, however it was made or loaded: pool_name
 * VM_DEFAULT_POOL unless set (as xend), cpu_pool empty without a domain (no
 * pool runs it); raw: vm not in the store. */
#define VM_DEFAULT_POOL "Pool-0"
void vm_fix_pool(xobj *vm, bool raw);
/* Answer a deferred call (c may be NULL: err is freed; no lock). */
void vm_finish_call(xcall *c, xerr *err);

/* vm_lifecycle.c: building a domain, in three steps for the frame's:
 * vm_build_prepare (lock held: the configuration, the host's checks and,
 * for a backend that opens them, the boot files confined to kernel-dir and
 * bootloader-dir),
 * vm_build_act (no lock: room on the host, the backend's create or restore
 * from image), vm_build_dispose (no lock). */
typedef struct vm_build {
    xo_domain_config cfg;
    bool have_cfg;
    int boot_fd[2];             /* kernel, ramdisk opened below kernel-dir (n_boot_fd of them) */
    size_t n_boot_fd;
    bool paused;
    const char *image;          /* restore from this image, NULL: create */
    uint32_t domid;             /* the new domain */
} vm_build;
bool vm_build_prepare(vm_build *b, const xobj *vm, xerr **errp);
bool vm_build_act(vm_build *b, vm_ctx *c, xerr **errp);
void vm_build_dispose(vm_build *b);
/* hard_shutdown, hard_reboot and the guest ops' own data. */
typedef struct vm_hard {
    xcall *waiter;              /* a clean_shutdown / clean_reboot taken over */
    vm_build build;             /* the new domain (reboot, restart) */
    bool destroyed;             /* the old domain is gone */
} vm_hard;
/* Destroy domid, tolerating one already gone (no lock). */
bool vm_destroy_act(int64_t domid, xo_error *err);
/* VM.start's frame (also used when a guest's policy restarts it). */
bool vm_start(xcall *call, const char *ref, bool paused, xerr **errp);
const char *vm_reboot_policy(const xobj *vm);

/* hotplug.c: VBD or VIF (k) plug / unplug of device ref, in the frame
 * (VM_OP_UNCLAIMED: the device is claimed, not the VM), on a Running or
 * Paused VM. */
struct devkind;
bool vm_hotplug_run(const struct devkind *k, bool plug, xcall *call, const char *ref, xerr **errp);

/* vm_events.c: a domain nobody asked for, adopted as a transient VM
 * (write lock held). */
void vm_adopt(const xo_dominfo *d);

#endif
