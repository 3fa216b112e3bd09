/* VM lifecycle: start, pause/unpause, clean and hard shutdown/reboot,
 * suspend, resume, migrate (docs/lifecycle.md); each a vm_op run by the
 * frame in vm.c.  Also the operations a guest's own shutdown, reboot or
 * crash leads to (vm_events.c runs them under its claim). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/api/vm.h"
#include "daemon/backend.h"
#include "daemon/host.h"
#include "daemon/paths.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

#define DEFAULT_SHUTDOWN_TIMEOUT 60     /* seconds; other_config:shutdown_timeout overrides */

/* ---- building a domain ---- */

/* A kernel or ramdisk for the backend: the file below kernel-dir, handed
 * over as the daemon's open descriptor (path rewritten in place). */
static bool boot_file(vm_build *b, char *path, size_t len, const char *field, xerr **errp)
{
    if (!path[0])
        return true;
    int fd = paths_open_file(PATHS_KERNEL, field, path, errp);
    if (fd < 0)
        return false;
    b->boot_fd[b->n_boot_fd++] = fd;
    if (!paths_fd_path(path, len, fd, NULL))
        return xerr_internal(errp, "%s: descriptor path too long", field);
    return true;
}

/* The files the backend will open for the domain, confined (lock held). */
static bool boot_files(vm_build *b, xerr **errp)
{
    xo_domain_config *cfg = &b->cfg;
    if (!backend_opens_boot_files())
        return true;            /* the backend records the names only */
    if (!boot_file(b, cfg->kernel, sizeof(cfg->kernel), "PV_kernel", errp) ||
        !boot_file(b, cfg->ramdisk, sizeof(cfg->ramdisk), "PV_ramdisk", errp))
        return false;
    /* a bare name is one of Xen's own bootloaders (pygrub) */
    return !strchr(cfg->bootloader, '/') ||
           paths_check_file(PATHS_BOOTLOADER, "PV_bootloader", cfg->bootloader, errp);
}

bool vm_build_prepare(vm_build *b, const xobj *vm, xerr **errp)
{
    xobj *h = store_find(XCL_host, host_ref());
    if (h && !xobj_bool(h, XF_host_enabled))
        return xerr_HOST_DISABLED(errp, h->ref);
    if (!vm_config_build(vm, &b->cfg, errp))
        return false;
    b->have_cfg = true;
    if (!boot_files(b, errp))
        return false;
    if (b->cfg.type == XO_DOM_HVM && h) {
        const xv *caps = h->f[XF_host_capabilities];
        bool hvm = false;
        for (size_t i = 0; i < caps->u.arr.n; i++)
            hvm |= strncmp(caps->u.arr.items[i]->u.str.s, "hvm", 3) == 0;
        if (!hvm)
            return xerr_VM_HVM_REQUIRED(errp, vm->ref);
    }
    return true;
}

/* Free memory and CPUs on the host for cfg (no lock); a shortage is a
 * backend error with its numbers, converted by the frame. */
static bool host_has_room(const xo_domain_config *cfg, xo_error *err)
{
    xo_host_info hi;
    memset(&hi, 0, sizeof(hi));
    if (backend_host_info(&hi, err) != 0)
        return false;
    uint64_t need = cfg->memory_target_kib * 1024;
    if (need > hi.free_memory) {
        xo_error_set(err, XO_E_NOMEM, "needs %" PRIu64 " bytes, %" PRIu64 " free", need, hi.free_memory);
        xo_error_need(err, need, hi.free_memory);
        return false;
    }
    if (hi.nr_cpus && cfg->vcpus_at_startup > hi.nr_cpus) {
        xo_error_set(err, XO_E_NOCPU, "needs %u CPUs, host has %u", cfg->vcpus_at_startup, hi.nr_cpus);
        xo_error_need(err, cfg->vcpus_at_startup, hi.nr_cpus);
        return false;
    }
    return true;
}

bool vm_build_act(vm_build *b, vm_ctx *c, xerr **errp)
{
    (void)errp;
    if (!host_has_room(&b->cfg, &c->err))
        return false;
    vm_progress(c->call, 30);
    int r = b->image ? backend_domain_restore(&b->cfg, b->image, b->paused, &b->domid, &c->err)
                     : backend_domain_create(&b->cfg, b->paused, &b->domid, &c->err);
    if (r != 0)
        return false;
    vm_progress(c->call, 90);
    return true;
}

void vm_build_dispose(vm_build *b)
{
    if (b->have_cfg)
        vm_config_dispose(&b->cfg);
    b->have_cfg = false;
    while (b->n_boot_fd)
        close(b->boot_fd[--b->n_boot_fd]);
}

bool vm_destroy_act(int64_t domid, xo_error *err)
{
    if (domid < 0 || backend_domain_destroy((uint32_t)domid, err) == 0)
        return true;
    if (err->code != XO_E_NODOMAIN)
        return false;
    memset(err, 0, sizeof(*err));
    return true;
}

static void build_done(vm_ctx *c, bool ok)
{
    (void)ok;
    vm_build_dispose(c->arg);
}

/* ---- start ---- */

static bool start_prepare(vm_ctx *c, xerr **errp) { return vm_build_prepare(c->arg, c->vm, errp); }
static bool start_act(vm_ctx *c, xerr **errp) { return vm_build_act(c->arg, c, errp); }

static void start_commit(vm_ctx *c)
{
    vm_build *b = c->arg;
    if (c->vm)
        vm_started(c->vm, b->paused ? VM_PAUSED : VM_RUNNING, b->domid);
}

static const vm_op op_start = {
    .name = "VM.start", .states = VM_IN(VM_HALTED),
    .prepare = start_prepare, .act = start_act, .commit = start_commit, .done = build_done,
};

bool vm_start(xcall *call, const char *ref, bool paused, xerr **errp)
{
    vm_build b = { .paused = paused };
    return vm_op_run(&op_start, call, ref, &b, errp);
}

bool xh_VM_start(xcall *call, const char *vm, bool start_paused, xerr **errp)
{
    return vm_start(call, vm, start_paused, errp);
}

/* ---- pause, unpause ---- */

/* What each does: the backend's call, and the VM's power state after it. */
typedef struct pause_step {
    int (*call)(uint32_t domid, xo_error *err);
    int state;
} pause_step;

static bool pause_act(vm_ctx *c, xerr **errp)
{
    (void)errp;
    const pause_step *s = c->arg;
    return s->call((uint32_t)c->domid, &c->err) == 0;
}

static void pause_commit(vm_ctx *c)
{
    const pause_step *s = c->arg;
    if (c->vm)
        vm_set_power(c->vm, s->state, c->domid);
}

static const vm_op op_pause = {
    .name = "VM.pause", .states = VM_IN(VM_RUNNING), .act = pause_act, .commit = pause_commit,
};
static const vm_op op_unpause = {
    .name = "VM.unpause", .states = VM_IN(VM_PAUSED), .act = pause_act, .commit = pause_commit,
};

bool xh_VM_pause(xcall *call, const char *vm, xerr **errp)
{
    pause_step s = { backend_domain_pause, VM_PAUSED };
    return vm_op_run(&op_pause, call, vm, &s, errp);
}

bool xh_VM_unpause(xcall *call, const char *vm, xerr **errp)
{
    pause_step s = { backend_domain_unpause, VM_RUNNING };
    return vm_op_run(&op_unpause, call, vm, &s, errp);
}

/* ---- clean shutdown, clean reboot: the guest is asked; its event ends the call ---- */

static int64_t shutdown_timeout(const xobj *vm)
{
    const char *s = xobj_map_get(vm, XF_VM_other_config, "shutdown_timeout");
    char *end = NULL;
    long long t = s ? strtoll(s, &end, 10) : 0;
    return s && *s && end && !*end && t > 0 && t < 86400 ? t : DEFAULT_SHUTDOWN_TIMEOUT;
}

static bool clean_prepare(vm_ctx *c, xerr **errp)
{
    (void)errp;
    const int *kind = c->arg;
    vmrt *r = vm_rt(c->vm);
    r->waiter = c->call;
    r->wait_kind = *kind;
    r->timeout = shutdown_timeout(c->vm);
    r->deadline_ms = xloop_now_ms() + r->timeout * 1000;
    vm_n_waiters++;
    xcall_defer(c->call);
    return true;
}

static bool clean_act(vm_ctx *c, xerr **errp)
{
    (void)errp;
    const int *kind = c->arg;
    vm_progress(c->call, 10);
    return backend_domain_shutdown((uint32_t)c->domid,
                                   *kind == W_SHUTDOWN ? XO_SHUTDOWN_POWEROFF : XO_SHUTDOWN_REBOOT,
                                   &c->err) == 0;
}

/* The request failed: the call is still ours unless another operation
 * (hard_shutdown taking over, the timeout) answered it meanwhile. */
static void clean_undo(vm_ctx *c)
{
    if (c->vm && c->vm->priv && vm_rt(c->vm)->waiter == c->call) {
        vm_take_waiter(c->vm);
        return;
    }
    c->keep_claim = true;
    c->answered = true;
}

static const vm_op op_clean_shutdown = {
    .name = "VM.clean_shutdown", .states = VM_IN(VM_RUNNING), .flags = VM_OP_DEFERRED,
    .prepare = clean_prepare, .act = clean_act, .undo = clean_undo,
};
static const vm_op op_clean_reboot = {
    .name = "VM.clean_reboot", .states = VM_IN(VM_RUNNING), .flags = VM_OP_DEFERRED,
    .prepare = clean_prepare, .act = clean_act, .undo = clean_undo,
};

bool xh_VM_clean_shutdown(xcall *call, const char *vm, xerr **errp)
{
    int kind = W_SHUTDOWN;
    return vm_op_run(&op_clean_shutdown, call, vm, &kind, errp);
}

bool xh_VM_clean_reboot(xcall *call, const char *vm, xerr **errp)
{
    int kind = W_REBOOT;
    return vm_op_run(&op_clean_reboot, call, vm, &kind, errp);
}

const char *vm_reboot_policy(const xobj *vm) { return xobj_str(vm, XF_VM_actions_after_reboot); }

/* ---- hard shutdown ---- */

/* Discard a Suspended VM's image: it is Halted now (write lock held). */
static void discard_image(xobj *vm)
{
    xobj *svdi = store_find(XCL_VDI, xobj_str(vm, XF_VM_suspend_VDI));
    xobj_set_str(vm, XF_VM_suspend_VDI, "");
    if (svdi)
        storage_vdi_remove(svdi);
    vm_set_power(vm, VM_HALTED, -1);
}

static bool hard_shutdown_prepare(vm_ctx *c, xerr **errp)
{
    (void)errp;
    vm_hard *h = c->arg;
    h->waiter = vm_take_waiter(c->vm);
    if (vm_is(c->vm, VM_SUSPENDED)) {
        discard_image(c->vm);
        c->domid = -1;
    }
    return true;
}

static bool hard_shutdown_act(vm_ctx *c, xerr **errp)
{
    (void)errp;
    return vm_destroy_act(c->domid, &c->err);
}

static void halted_commit(vm_ctx *c)
{
    if (c->vm)
        vm_set_power(c->vm, VM_HALTED, -1);
}

/* A waiting clean_shutdown / clean_reboot ends with the hard one. */
static void hard_done(vm_ctx *c, bool ok)
{
    (void)ok;
    vm_hard *h = c->arg;
    vm_build_dispose(&h->build);
    vm_finish_call(h->waiter, NULL);
}

static const vm_op op_hard_shutdown = {
    .name = "VM.hard_shutdown", .flags = VM_OP_TAKEOVER,
    .states = VM_IN(VM_RUNNING) | VM_IN(VM_PAUSED) | VM_IN(VM_CRASHED) | VM_IN(VM_SUSPENDED),
    .prepare = hard_shutdown_prepare, .act = hard_shutdown_act, .commit = halted_commit,
    .done = hard_done,
};

bool xh_VM_hard_shutdown(xcall *call, const char *vm, xerr **errp)
{
    vm_hard h = { 0 };
    return vm_op_run(&op_hard_shutdown, call, vm, &h, errp);
}

/* ---- hard reboot: destroy and build again ---- */

static bool hard_reboot_prepare(vm_ctx *c, xerr **errp)
{
    vm_hard *h = c->arg;
    if (!vm_build_prepare(&h->build, c->vm, errp))
        return false;
    h->waiter = vm_take_waiter(c->vm);
    return true;
}

static bool restart_act(vm_ctx *c, xerr **errp)
{
    vm_hard *h = c->arg;
    if (!vm_destroy_act(c->domid, &c->err))
        return false;
    h->destroyed = true;
    return vm_build_act(&h->build, c, errp);
}

static void restart_commit(vm_ctx *c)
{
    vm_hard *h = c->arg;
    if (c->vm)
        vm_started(c->vm, VM_RUNNING, h->build.domid);
}

/* The old domain is gone but no new one came: Halted. */
static void hard_reboot_undo(vm_ctx *c)
{
    vm_hard *h = c->arg;
    if (c->vm && h->destroyed)
        vm_set_power(c->vm, VM_HALTED, -1);
}

static const vm_op op_hard_reboot = {
    .name = "VM.hard_reboot", .flags = VM_OP_TAKEOVER,
    .states = VM_IN(VM_RUNNING) | VM_IN(VM_PAUSED) | VM_IN(VM_CRASHED),
    .prepare = hard_reboot_prepare, .act = restart_act, .commit = restart_commit,
    .undo = hard_reboot_undo, .done = hard_done,
};

bool xh_VM_hard_reboot(xcall *call, const char *vm, xerr **errp)
{
    vm_hard h = { 0 };
    return vm_op_run(&op_hard_reboot, call, vm, &h, errp);
}

/* ---- what a guest's shutdown leads to (vm_events.c holds the claim) ---- */

#define VM_ANY (VM_IN(VM_HALTED) | VM_IN(VM_PAUSED) | VM_IN(VM_RUNNING) | VM_IN(VM_SUSPENDED) | \
                VM_IN(VM_CRASHED))

static bool guest_restart_prepare(vm_ctx *c, xerr **errp)
{
    vm_hard *h = c->arg;
    return vm_build_prepare(&h->build, c->vm, errp);
}

/* However the restart failed, the VM has no usable domain left. */
static void guest_restart_undo(vm_ctx *c)
{
    if (c->vm && vm_has_domain(c->vm))
        vm_set_power(c->vm, VM_HALTED, -1);
}

static bool guest_rebuild_prepare(vm_ctx *c, xerr **errp)
{
    vm_set_power(c->vm, VM_HALTED, -1);         /* its old domain was kept under another name */
    c->domid = -1;
    return guest_restart_prepare(c, errp);
}

const vm_op vm_op_guest_halt = {
    .name = "VM.guest_halt", .states = VM_ANY, .flags = VM_OP_HELD,
    .act = hard_shutdown_act, .commit = halted_commit,
};
const vm_op vm_op_guest_restart = {
    .name = "VM.guest_restart", .states = VM_ANY, .flags = VM_OP_HELD,
    .prepare = guest_restart_prepare, .act = restart_act, .commit = restart_commit,
    .undo = guest_restart_undo, .done = hard_done,
};
const vm_op vm_op_guest_rebuild = {
    .name = "VM.guest_rebuild", .states = VM_ANY, .flags = VM_OP_HELD,
    .prepare = guest_rebuild_prepare, .act = restart_act, .commit = restart_commit,
    .done = hard_done,
};

/* ---- suspend, resume ---- */

typedef struct suspend {
    char vdi[XREF_LEN];         /* the image's VDI */
    char *path;                 /* its file */
    vm_build build;             /* resume */
} suspend;

static bool suspend_prepare(vm_ctx *c, xerr **errp)
{
    suspend *s = c->arg;
    const char *sr = storage_sr_for(STORAGE_SUSPEND);
    if (!sr)
        return xerr_internal(errp, "no SR for suspend images");
    char name[160];
    snprintf(name, sizeof(name), "suspend image of %s", xobj_str(c->vm, XF_VM_name_label));
    xobj *vdi = storage_vdi_create(sr, name, "suspend", 0, errp);
    if (!vdi)
        return false;
    s->path = storage_vdi_path(vdi);
    snprintf(s->vdi, sizeof(s->vdi), "%s", vdi->ref);
    if (!s->path) {
        storage_vdi_remove(vdi);
        return xerr_internal(errp, "the suspend image SR has no directory");
    }
    return true;
}

static bool suspend_act(vm_ctx *c, xerr **errp)
{
    (void)errp;
    suspend *s = c->arg;
    vm_progress(c->call, 10);
    return backend_domain_suspend((uint32_t)c->domid, s->path, &c->err) == 0;
}

static void suspend_commit(vm_ctx *c)
{
    suspend *s = c->arg;
    xobj *vdi = store_find(XCL_VDI, s->vdi);
    if (vdi) {
        struct stat st;
        if (stat(s->path, &st) == 0)
            xobj_set_int(vdi, XF_VDI_virtual_size, st.st_size);
        storage_vdi_refresh(vdi);
    }
    if (c->vm) {
        xobj_set_str(c->vm, XF_VM_suspend_VDI, s->vdi);
        vm_set_power(c->vm, VM_SUSPENDED, -1);
    }
}

static void suspend_undo(vm_ctx *c)
{
    suspend *s = c->arg;
    xobj *vdi = store_find(XCL_VDI, s->vdi);
    if (vdi)
        storage_vdi_remove(vdi);
}

static void suspend_done(vm_ctx *c, bool ok)
{
    (void)ok;
    suspend *s = c->arg;
    vm_build_dispose(&s->build);
    free(s->path);
}

static const vm_op op_suspend = {
    .name = "VM.suspend", .states = VM_IN(VM_RUNNING),
    .prepare = suspend_prepare, .act = suspend_act, .commit = suspend_commit, .undo = suspend_undo,
    .done = suspend_done,
};

bool xh_VM_suspend(xcall *call, const char *vm, xerr **errp)
{
    suspend s = { .path = NULL };
    return vm_op_run(&op_suspend, call, vm, &s, errp);
}

static bool resume_prepare(vm_ctx *c, xerr **errp)
{
    suspend *s = c->arg;
    xobj *vdi = store_find(XCL_VDI, xobj_str(c->vm, XF_VM_suspend_VDI));
    s->path = vdi ? storage_vdi_path(vdi) : NULL;
    if (!s->path) {
        /* the image is gone: the VM can only start afresh */
        vm_set_power(c->vm, VM_HALTED, -1);
        xobj_set_str(c->vm, XF_VM_suspend_VDI, "");
        return xerr_internal(errp, "the suspend image of VM %s is missing; the VM is now Halted", c->ref);
    }
    s->build.image = s->path;
    return vm_build_prepare(&s->build, c->vm, errp);
}

static bool resume_act(vm_ctx *c, xerr **errp)
{
    suspend *s = c->arg;
    return vm_build_act(&s->build, c, errp);
}

static void resume_commit(vm_ctx *c)
{
    suspend *s = c->arg;
    if (!c->vm)
        return;
    vm_started(c->vm, s->build.paused ? VM_PAUSED : VM_RUNNING, s->build.domid);
    xobj *vdi = store_find(XCL_VDI, xobj_str(c->vm, XF_VM_suspend_VDI));
    xobj_set_str(c->vm, XF_VM_suspend_VDI, "");
    if (vdi)
        storage_vdi_remove(vdi);
}

static const vm_op op_resume = {
    .name = "VM.resume", .states = VM_IN(VM_SUSPENDED),
    .prepare = resume_prepare, .act = resume_act, .commit = resume_commit, .done = suspend_done,
};

bool xh_VM_resume(xcall *call, const char *vm, bool start_paused, xerr **errp)
{
    suspend s = { .build = { .paused = start_paused } };
    return vm_op_run(&op_resume, call, vm, &s, errp);
}

/* ---- migrate: not yet; the frame's checks come first ---- */

static bool migrate_prepare(vm_ctx *c, xerr **errp)
{
    (void)c;
    return xerr_NOT_IMPLEMENTED(errp, "VM.migrate");
}

static const vm_op op_migrate = {
    .name = "VM.migrate", .states = VM_IN(VM_RUNNING), .prepare = migrate_prepare,
};

bool xh_VM_migrate(xcall *call, const char *vm, const char *dest, bool live, const xv *options,
                   xerr **errp)
{
    (void)dest;
    (void)live;
    (void)options;
    return vm_op_run(&op_migrate, call, vm, NULL, errp);
}
