/* VM lifecycle: start, pause/unpause, clean and hard shutdown/reboot,
 * suspend, resume, migrate (docs/lifecycle.md). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/api/vm.h"
#include "daemon/host.h"
#include "daemon/persist.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

#define DEFAULT_SHUTDOWN_TIMEOUT 60     /* seconds; other_config:shutdown_timeout overrides */

/* Checks before building a domain (lock held). */
static bool can_build(const xobj *vm, const xo_domain_config *cfg, xerr **errp)
{
    xobj *h = store_find(XC_host, host_ref());
    if (h && !xobj_bool(h, XF_host_enabled))
        return xerr_HOST_DISABLED(errp, h->ref);
    if (cfg->type == XO_DOM_HVM && h) {
        const xv *caps = h->f[XF_host_capabilities];
        bool hvm = false;
        for (size_t i = 0; i < caps->u.arr.n; i++)
            hvm |= strncmp(caps->u.arr.items[i]->u.str.s, "hvm", 3) == 0;
        if (!hvm)
            return xerr_VM_HVM_REQUIRED(errp, vm->ref);
    }
    return true;
}

/* Free memory and CPUs on the host (no lock). */
static bool host_has_room(const xo_domain_config *cfg, xerr **errp)
{
    xo_host_info hi;
    xo_error e = { 0 };
    memset(&hi, 0, sizeof(hi));
    if (xd_ops->host_info(xd_be, &hi, &e) != 0)
        return vm_backend_error(&e, "host_info", errp);
    uint64_t need = cfg->memory_target_kib * 1024;
    if (need > hi.free_memory) {
        char n[32], a[32];
        snprintf(n, sizeof(n), "%" PRIu64, need);
        snprintf(a, sizeof(a), "%" PRIu64, hi.free_memory);
        return xerr_HOST_NOT_ENOUGH_FREE_MEMORY(errp, n, a);
    }
    if (hi.nr_cpus && cfg->vcpus_at_startup > hi.nr_cpus) {
        char n[16], a[16];
        snprintf(n, sizeof(n), "%u", cfg->vcpus_at_startup);
        snprintf(a, sizeof(a), "%u", hi.nr_cpus);
        return xerr_INSUFFICIENT_CPUS(errp, n, a);
    }
    return true;
}

/* Build the domain of a claimed VM (no lock held); on success the VM is
 * Running/Paused.  restore_from: a suspend image, or NULL. */
bool vm_build(xcall *call, const char *ref, bool paused, const char *restore_from, xerr **errp)
{
    xo_domain_config cfg;
    store_rdlock();
    xobj *vm = store_find(XC_VM, ref);
    bool ok = vm && vm_config_build(vm, &cfg, errp);
    if (ok && !can_build(vm, &cfg, errp)) {
        vm_config_dispose(&cfg);
        ok = false;
    }
    store_unlock();
    if (!ok)
        return vm ? false : xerr_HANDLE_INVALID(errp, "VM", ref);
    if (!host_has_room(&cfg, errp)) {
        vm_config_dispose(&cfg);
        return false;
    }
    vm_progress(call, 30);
    uint32_t domid = 0;
    xo_error e = { 0 };
    int r;
    if (restore_from)
        r = xd_ops->domain_restore ? xd_ops->domain_restore(xd_be, &cfg, restore_from, paused, &domid, &e)
                                   : (xo_error_set(&e, XO_E_NOTSUP, "restore"), -1);
    else
        r = xd_ops->domain_create(xd_be, &cfg, paused, &domid, &e);
    if (r != 0 && e.code == XO_E_NOMEM) {
        char n[32];
        snprintf(n, sizeof(n), "%" PRIu64, cfg.memory_target_kib * 1024);
        vm_config_dispose(&cfg);
        return xerr_HOST_NOT_ENOUGH_FREE_MEMORY(errp, n, e.msg);
    }
    vm_config_dispose(&cfg);
    if (r != 0)
        return vm_backend_error(&e, restore_from ? "VM.resume" : "VM.start", errp);
    vm_progress(call, 90);
    store_wrlock();
    vm = store_find(XC_VM, ref);
    if (vm)
        vm_started(vm, paused ? "Paused" : "Running", domid);
    store_unlock();
    return true;
}

bool xh_VM_start(xcall *call, const char *vm, bool start_paused, xerr **errp)
{
    store_wrlock();
    bool ok = vm_claim(vm, "start", S_HALTED, false, errp) != NULL;
    store_unlock();
    if (!ok)
        return false;
    ok = vm_build(call, vm, start_paused, NULL, errp);
    store_wrlock();
    vm_release(vm);
    store_unlock();
    return ok;
}

/* ---- simple domain operations ---- */

typedef int (*domop_fn)(xo_backend *b, uint32_t domid, xo_error *err);

static bool simple_op(const char *vm, const char *op, const char *const *allowed, domop_fn fn,
                      const char *new_state, xerr **errp)
{
    store_wrlock();
    xobj *o = vm_claim(vm, op, allowed, false, errp);
    uint32_t domid = o ? (uint32_t)vm_domid(o) : 0;
    store_unlock();
    if (!o)
        return false;
    xo_error e = { 0 };
    int r = fn ? fn(xd_be, domid, &e) : (xo_error_set(&e, XO_E_NOTSUP, "%s", op), -1);
    store_wrlock();
    o = store_find(XC_VM, vm);
    if (o && r == 0 && new_state)
        vm_set_power(o, new_state, domid);
    vm_release(vm);
    store_unlock();
    if (r != 0) {
        char what[64];
        snprintf(what, sizeof(what), "VM.%s", op);
        return vm_backend_error(&e, what, errp);
    }
    return true;
}

bool xh_VM_pause(xcall *call, const char *vm, xerr **errp)
{
    (void)call;
    return simple_op(vm, "pause", S_RUNNING, xd_ops->domain_pause, "Paused", errp);
}

bool xh_VM_unpause(xcall *call, const char *vm, xerr **errp)
{
    (void)call;
    return simple_op(vm, "unpause", S_PAUSED, xd_ops->domain_unpause, "Running", errp);
}

/* ---- shutdown, reboot ---- */

void vm_finish_call(xcall *c, xerr *err)
{
    if (c)
        xcall_finish(c, NULL, err);
    else
        xerr_free(err);
}

/* Tear the domain down (no lock held; VM claimed).  After: Halted. */
bool vm_destroy_domain(const char *ref, int64_t domid, xerr **errp)
{
    xo_error e = { 0 };
    int r = domid >= 0 ? xd_ops->domain_destroy(xd_be, (uint32_t)domid, &e) : 0;
    if (r != 0 && e.code != XO_E_NODOMAIN)
        return vm_backend_error(&e, "domain_destroy", errp);
    store_wrlock();
    xobj *vm = store_find(XC_VM, ref);
    if (vm)
        vm_set_power(vm, "Halted", -1);
    store_unlock();
    return true;
}

static int64_t shutdown_timeout(const xobj *vm)
{
    const char *s = xobj_map_get(vm, XF_VM_other_config, "shutdown_timeout");
    char *end = NULL;
    long long t = s ? strtoll(s, &end, 10) : 0;
    return s && *s && end && !*end && t > 0 && t < 86400 ? t : DEFAULT_SHUTDOWN_TIMEOUT;
}

static bool clean_op(xcall *call, const char *vm, int kind, xerr **errp)
{
    const char *op = kind == W_SHUTDOWN ? "clean_shutdown" : "clean_reboot";
    store_wrlock();
    xobj *o = vm_claim(vm, op, S_RUNNING, false, errp);
    if (!o) {
        store_unlock();
        return false;
    }
    vmrt *r = vm_rt(o);
    uint32_t domid = (uint32_t)vm_domid(o);
    r->waiter = call;
    r->wait_kind = kind;
    r->timeout = shutdown_timeout(o);
    r->deadline_ms = xloop_now_ms() + r->timeout * 1000;
    vm_n_waiters++;
    xcall_defer(call);
    store_unlock();
    vm_progress(call, 10);
    xo_error e = { 0 };
    int rc = xd_ops->domain_shutdown(xd_be, domid,
                                     kind == W_SHUTDOWN ? XO_SHUTDOWN_POWEROFF : XO_SHUTDOWN_REBOOT, &e);
    if (rc == 0)
        return true;            /* the guest's shutdown event finishes the call */
    store_wrlock();
    o = store_find(XC_VM, vm);
    bool mine = o && o->priv && vm_rt(o)->waiter == call;
    if (mine) {
        vm_take_waiter(o);
        vm_release(vm);
    }
    store_unlock();
    if (!mine)
        return true;            /* someone else already finished it */
    char what[64];
    snprintf(what, sizeof(what), "VM.%s", op);
    return vm_backend_error(&e, what, errp);
}

bool xh_VM_clean_shutdown(xcall *call, const char *vm, xerr **errp)
{
    return clean_op(call, vm, W_SHUTDOWN, errp);
}

bool xh_VM_clean_reboot(xcall *call, const char *vm, xerr **errp)
{
    return clean_op(call, vm, W_REBOOT, errp);
}

/* Destroy and rebuild the domain of a claimed VM (no lock held). */
bool vm_restart(xcall *call, const char *ref, int64_t domid, xerr **errp)
{
    if (!vm_destroy_domain(ref, domid, errp))
        return false;
    return vm_build(call, ref, false, NULL, errp);
}

const char *vm_reboot_policy(const xobj *vm) { return xobj_str(vm, XF_VM_actions_after_reboot); }

bool xh_VM_hard_shutdown(xcall *call, const char *vm, xerr **errp)
{
    (void)call;
    store_wrlock();
    xobj *o = vm_claim(vm, "hard_shutdown", S_HARD_SHUTDOWN, true, errp);
    xcall *w = o ? vm_take_waiter(o) : NULL;
    int64_t domid = o ? vm_domid(o) : -1;
    if (o && vm_is(o, "Suspended")) {          /* discard the suspend image */
        xobj *svdi = store_find(XC_VDI, xobj_str(o, XF_VM_suspend_VDI));
        xobj_set_str(o, XF_VM_suspend_VDI, "");
        if (svdi)
            storage_vdi_remove(svdi);
        vm_set_power(o, "Halted", -1);
        domid = -1;
    }
    store_unlock();
    if (!o)
        return false;
    bool ok = vm_destroy_domain(vm, domid, errp);
    store_wrlock();
    vm_release(vm);
    store_unlock();
    vm_finish_call(w, NULL);       /* a waiting clean_shutdown reached Halted too */
    return ok;
}

bool xh_VM_hard_reboot(xcall *call, const char *vm, xerr **errp)
{
    store_wrlock();
    xobj *o = vm_claim(vm, "hard_reboot", S_HARD_REBOOT, true, errp);
    xcall *w = o ? vm_take_waiter(o) : NULL;
    int64_t domid = o ? vm_domid(o) : -1;
    store_unlock();
    if (!o)
        return false;
    bool ok = vm_restart(call, vm, domid, errp);   /* asked to reboot: it comes back */
    store_wrlock();
    vm_release(vm);
    store_unlock();
    vm_finish_call(w, NULL);
    return ok;
}

/* ---- suspend, resume, save, restore ---- */

bool xh_VM_suspend(xcall *call, const char *vm, xerr **errp)
{
    store_wrlock();
    xobj *o = vm_claim(vm, "suspend", S_RUNNING, false, errp);
    if (!o) {
        store_unlock();
        return false;
    }
    uint32_t domid = (uint32_t)vm_domid(o);
    const char *sr = storage_sr_for(STORAGE_SUSPEND);
    char name[160];
    snprintf(name, sizeof(name), "suspend image of %s", xobj_str(o, XF_VM_name_label));
    xobj *vdi = sr ? storage_vdi_create(sr, name, "suspend", 0, errp) : NULL;
    char *path = vdi ? storage_vdi_path(vdi) : NULL;
    char vdi_ref[XREF_LEN] = "";
    if (vdi)
        snprintf(vdi_ref, sizeof(vdi_ref), "%s", vdi->ref);
    if (!path) {
        if (!sr)
            xerr_internal(errp, "no SR for suspend images");
        vm_release(vm);
        store_unlock();
        return false;
    }
    store_unlock();
    vm_progress(call, 10);
    xo_error e = { 0 };
    int r = xd_ops->domain_suspend ? xd_ops->domain_suspend(xd_be, domid, path, &e)
                                   : (xo_error_set(&e, XO_E_NOTSUP, "suspend"), -1);
    free(path);
    store_wrlock();
    o = store_find(XC_VM, vm);
    vdi = store_find(XC_VDI, vdi_ref);
    if (r == 0 && o) {
        if (vdi) {
            struct stat st;
            char *p = storage_vdi_path(vdi);
            if (p && stat(p, &st) == 0)
                xobj_set_int(vdi, XF_VDI_virtual_size, st.st_size);
            free(p);
            storage_vdi_refresh(vdi);
        }
        xobj_set_str(o, XF_VM_suspend_VDI, vdi_ref);
        vm_set_power(o, "Suspended", -1);
    } else if (vdi) {
        storage_vdi_remove(vdi);
    }
    vm_release(vm);
    store_unlock();
    return r == 0 || vm_backend_error(&e, "VM.suspend", errp);
}

bool xh_VM_resume(xcall *call, const char *vm, bool start_paused, xerr **errp)
{
    store_wrlock();
    xobj *o = vm_claim(vm, "resume", S_SUSPENDED, false, errp);
    xobj *vdi = o ? store_find(XC_VDI, xobj_str(o, XF_VM_suspend_VDI)) : NULL;
    char *path = vdi ? storage_vdi_path(vdi) : NULL;
    if (o && !path) {
        /* the image is gone: the VM can only start afresh */
        vm_set_power(o, "Halted", -1);
        xobj_set_str(o, XF_VM_suspend_VDI, "");
        vm_release(vm);
        store_unlock();
        return xerr_internal(errp, "the suspend image of VM %s is missing; the VM is now Halted", vm);
    }
    store_unlock();
    if (!o)
        return false;
    bool ok = vm_build(call, vm, start_paused, path, errp);
    free(path);
    store_wrlock();
    o = store_find(XC_VM, vm);
    if (ok && o) {
        vdi = store_find(XC_VDI, xobj_str(o, XF_VM_suspend_VDI));
        xobj_set_str(o, XF_VM_suspend_VDI, "");
        if (vdi)
            storage_vdi_remove(vdi);
    }
    vm_release(vm);
    store_unlock();
    return ok;
}

bool xh_VM_migrate(xcall *call, const char *vm, const char *dest, bool live, const xv *options,
                   xerr **errp)
{
    (void)call;
    (void)dest;
    (void)live;
    (void)options;
    store_rdlock();
    xobj *o = store_find(XC_VM, vm);
    bool running = o && vm_is(o, "Running");
    if (o && !running)
        xerr_VM_BAD_POWER_STATE(errp, vm, "Running", vm_pstate(o));
    store_unlock();
    if (!running)
        return o ? false : xerr_HANDLE_INVALID(errp, "VM", vm);
    return xerr_NOT_IMPLEMENTED(errp, "VM.migrate");
}
