/* vm: the VM lifecycle, guest-initiated events, live metrics and the
 * reconciliation of records with the backend's domains (docs/lifecycle.md).
 *
 * Locking: records are read and changed under the store lock; backend calls
 * are made without it.  An operation that calls the backend first claims
 * the VM (runtime "busy" mark, under the lock); a second operation on a
 * claimed VM fails with OTHER_OPERATION_IN_PROGRESS, except hard_shutdown /
 * hard_reboot, which may take over from a clean_shutdown / clean_reboot
 * waiting for its guest.  Those two calls do not hold a worker thread while
 * they wait: the call is deferred and finished by the backend's event (or by
 * the timeout in vm_tick).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/classes.h"
#include "daemon/daemon.h"
#include "daemon/host.h"
#include "daemon/persist.h"
#include "daemon/task.h"
#include "daemon/vm_internal.h"
#include "util/io.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

#define DOM0_UUID "00000000-0000-0000-0000-000000000000"
#define DEFAULT_SHUTDOWN_TIMEOUT 60     /* seconds; other_config:shutdown_timeout overrides */

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

/* A guest that makes xend restart it more than RESTART_BURST times within
 * RESTART_WINDOW_MS is looping (a kernel that panics at boot): xend stops
 * restarting it, as the old xend refused restarts that came too fast. */
#define RESTART_BURST 5
#define RESTART_WINDOW_MS 60000

static size_t n_waiters;        /* VMs with a waiter (store lock) */

static void rt_free(void *p)
{
    vmrt *r = p;
    free(r->vcpu_ns);
    free(r);
}

static vmrt *rt(xobj *vm)
{
    if (!vm->priv) {
        vm->priv = calloc(1, sizeof(vmrt));
        if (!vm->priv)
            abort();
        vm->priv_free = rt_free;
    }
    return vm->priv;
}

/* ---- small helpers ---- */

static const char *pstate(const xobj *vm) { return xobj_str(vm, XF_VM_power_state); }
static bool is(const xobj *vm, const char *s) { return strcmp(pstate(vm), s) == 0; }

bool vm_has_domain(const xobj *vm)
{
    return (is(vm, "Running") || is(vm, "Paused") || is(vm, "Crashed")) &&
           xobj_int(vm, XF_VM_domid) >= 0;
}

int64_t vm_domid(const xobj *vm) { return xobj_int(vm, XF_VM_domid); }

bool vm_backend_error(const xo_error *e, const char *what, xerr **errp)
{
    switch (e->code) {
    case XO_E_NOTSUP:
        return xerr_NOT_IMPLEMENTED(errp, what);
    case XO_E_NOMEM:
        return xerr_HOST_NOT_ENOUGH_FREE_MEMORY(errp, "", e->msg);
    case XO_E_NOCPU:
        return xerr_INSUFFICIENT_CPUS(errp, "", e->msg);
    case XO_E_INVAL:
        return xerr_VALUE_NOT_SUPPORTED(errp, what, "", e->msg);
    default:
        return xerr_internal(errp, "%s: %s", what, e->msg[0] ? e->msg : "backend failure");
    }
}

static void progress(xcall *call, int pct)
{
    if (call && call->task[0])
        task_set_progress(call->task, pct);
}

/* Find vm, check its power state is one of allowed (NULL-terminated) and
 * claim it for op.  Returns the VM (write lock held by the caller). */
static xobj *claim(const char *ref, const char *op, const char *const *allowed, bool takeover,
                   xerr **errp)
{
    xobj *vm = store_find(XC_VM, ref);
    if (!vm) {
        xerr_HANDLE_INVALID(errp, "VM", ref);
        return NULL;
    }
    bool ok = false;
    for (size_t i = 0; allowed[i]; i++)
        ok |= is(vm, allowed[i]);
    if (!ok || (xobj_bool(vm, XF_VM_is_control_domain) && strcmp(op, "send_sysrq") != 0)) {
        if (!ok)
            xerr_VM_BAD_POWER_STATE(errp, ref, allowed[0], pstate(vm));
        else
            xerr_OPERATION_NOT_ALLOWED(errp);
        return NULL;
    }
    vmrt *r = rt(vm);
    if (r->busy && !(takeover && r->waiter)) {
        xerr_OTHER_OPERATION_IN_PROGRESS(errp, "VM", ref);
        return NULL;
    }
    r->busy = op;
    return vm;
}

/* Take a pending waiter off vm (lock held); the caller finishes it unlocked. */
static xcall *take_waiter(xobj *vm)
{
    vmrt *r = rt(vm);
    xcall *c = r->waiter;
    if (c) {
        r->waiter = NULL;
        r->wait_kind = W_NONE;
        n_waiters--;
    }
    return c;
}

static void release(const char *ref)
{
    xobj *vm = store_find(XC_VM, ref);
    if (vm && vm->priv)
        rt(vm)->busy = NULL;
}

/* Record that vm is now in state (lock held). */
static void set_power(xobj *vm, const char *state, int64_t domid)
{
    bool dom = domid >= 0;
    xobj_set_str(vm, XF_VM_power_state, state);
    xobj_set_int(vm, XF_VM_domid, dom ? domid : -1);
    xobj_set_str(vm, XF_VM_resident_on, dom ? host_ref() : "");
    devices_set_attached(vm, dom);
    xobj *m = store_find(XC_VM_metrics, xobj_str(vm, XF_VM_metrics));
    if (m) {
        xv *st = xv_array();
        char low[16];
        snprintf(low, sizeof(low), "%s", state);
        for (char *p = low; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        xv_array_add(st, xv_str(low));
        xobj_set(m, XF_VM_metrics_state, st);
        if (!dom) {
            xobj_set_int(m, XF_VM_metrics_memory_actual, 0);
            xobj_set_int(m, XF_VM_metrics_VCPUs_number, 0);
        }
        xobj_set(m, XF_VM_metrics_last_updated, xv_datetime_t(time(NULL)));
    }
}

static void started(xobj *vm, const char *state, uint32_t domid)
{
    set_power(vm, state, domid);
    xobj *m = store_find(XC_VM_metrics, xobj_str(vm, XF_VM_metrics));
    if (m) {
        xobj_set(m, XF_VM_metrics_start_time, xv_datetime_t(time(NULL)));
        xobj_set_int(m, XF_VM_metrics_VCPUs_number, xobj_int(vm, XF_VM_VCPUs_at_startup));
        xobj_set_int(m, XF_VM_metrics_memory_actual, xobj_int(vm, XF_VM_memory_dynamic_max));
        xobj_set(m, XF_VM_metrics_VCPUs_params, xv_dup(vm->f[XF_VM_VCPUs_params]));
    }
}

/* Make the VM's metrics objects exist (lock held; keeps their refs). */
static void fix_metrics(xobj *vm, bool raw)
{
    const char *mr = xobj_str(vm, XF_VM_metrics), *gr = xobj_str(vm, XF_VM_guest_metrics);
    xobj *m = *mr ? store_find(XC_VM_metrics, mr) : NULL;
    xobj *g = *gr ? store_find(XC_VM_guest_metrics, gr) : NULL;
    if (!m) {
        m = xobj_new(XC_VM_metrics, *mr ? mr : NULL);
        store_insert(m);
    }
    if (!g) {
        g = xobj_new(XC_VM_guest_metrics, *gr ? gr : NULL);
        store_insert(g);
    }
    if (raw) {
        raw_set_str(vm, XF_VM_metrics, m->ref);
        raw_set_str(vm, XF_VM_guest_metrics, g->ref);
    } else {
        xobj_set_str(vm, XF_VM_metrics, m->ref);
        xobj_set_str(vm, XF_VM_guest_metrics, g->ref);
    }
}

/* ---- VM class hooks ---- */

static bool vm_create_hook(xcall *call, xobj *o, const xv *rec, xerr **errp)
{
    (void)call;
    (void)rec;
    (void)errp;
    raw_set_str(o, XF_VM_power_state, "Halted");
    raw_set_int(o, XF_VM_domid, -1);
    raw_set_bool(o, XF_VM_is_control_domain, false);
    raw_set_str(o, XF_VM_metrics, "");
    raw_set_str(o, XF_VM_guest_metrics, "");
    fix_metrics(o, true);
    return true;
}

static void remove_refs(const xobj *vm, int set_field, int cls)
{
    xv *refs = xv_dup(vm->f[set_field]);
    for (size_t i = 0; i < refs->u.arr.n; i++) {
        xobj *d = store_find(cls, refs->u.arr.items[i]->u.str.s);
        if (!d)
            continue;
        if (cls == XC_VBD || cls == XC_VIF) {
            xobj *m = store_find(cls == XC_VBD ? XC_VBD_metrics : XC_VIF_metrics,
                                 xobj_str(d, cls == XC_VBD ? XF_VBD_metrics : XF_VIF_metrics));
            if (m)
                store_remove(m);
        }
        if (cls == XC_crashdump) {
            xobj *vdi = store_find(XC_VDI, xobj_str(d, XF_crashdump_VDI));
            store_remove(d);
            if (vdi)
                storage_vdi_remove(vdi);
            continue;
        }
        store_remove(d);
    }
    xv_free(refs);
}

static bool vm_destroy_hook(xcall *call, xobj *o, xerr **errp)
{
    (void)call;
    if (!is(o, "Halted") && !is(o, "Suspended"))
        return xerr_VM_BAD_POWER_STATE(errp, o->ref, "Halted", pstate(o));
    if (xobj_bool(o, XF_VM_is_control_domain))
        return xerr_OPERATION_NOT_ALLOWED(errp);
    if (o->priv && rt(o)->busy)
        return xerr_OTHER_OPERATION_IN_PROGRESS(errp, "VM", o->ref);
    xobj *svdi = store_find(XC_VDI, xobj_str(o, XF_VM_suspend_VDI));
    if (svdi) {
        xobj_set_str(o, XF_VM_suspend_VDI, "");
        storage_vdi_remove(svdi);
    }
    remove_refs(o, XF_VM_VBDs, XC_VBD);
    remove_refs(o, XF_VM_VIFs, XC_VIF);
    remove_refs(o, XF_VM_consoles, XC_console);
    remove_refs(o, XF_VM_VTPMs, XC_VTPM);
    remove_refs(o, XF_VM_DPCIs, XC_DPCI);
    remove_refs(o, XF_VM_DSCSIs, XC_DSCSI);
    remove_refs(o, XF_VM_DSCSI_HBAs, XC_DSCSI_HBA);
    remove_refs(o, XF_VM_crash_dumps, XC_crashdump);
    xobj *m = store_find(XC_VM_metrics, xobj_str(o, XF_VM_metrics));
    xobj *g = store_find(XC_VM_guest_metrics, xobj_str(o, XF_VM_guest_metrics));
    if (m)
        store_remove(m);
    if (g)
        store_remove(g);
    return true;
}

static bool vm_set_hook(xcall *call, xobj *o, int field, const xv *v, xerr **errp)
{
    (void)call;
    (void)v;
    /* what a domain was built with cannot change under it */
    if ((field == XF_VM_memory_static_max || field == XF_VM_VCPUs_max ||
         field == XF_VM_HVM_boot_policy) && vm_has_domain(o))
        return xerr_VM_BAD_POWER_STATE(errp, o->ref, "Halted", pstate(o));
    return true;
}

static const xclass_ops vm_ops = { .create = vm_create_hook, .destroy = vm_destroy_hook,
                                   .set = vm_set_hook };

/* ---- start ---- */

static const char *const S_HALTED[] = { "Halted", NULL };
static const char *const S_RUNNING[] = { "Running", NULL };
static const char *const S_PAUSED[] = { "Paused", NULL };
static const char *const S_SUSPENDED[] = { "Suspended", NULL };
static const char *const S_LIVE[] = { "Running", "Paused", NULL };
static const char *const S_HARD_SHUTDOWN[] = { "Running", "Paused", "Crashed", "Suspended", NULL };
static const char *const S_HARD_REBOOT[] = { "Running", "Paused", "Crashed", NULL };

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
static bool build(xcall *call, const char *ref, bool paused, const char *restore_from, xerr **errp)
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
    progress(call, 30);
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
    progress(call, 90);
    store_wrlock();
    vm = store_find(XC_VM, ref);
    if (vm)
        started(vm, paused ? "Paused" : "Running", domid);
    store_unlock();
    return true;
}

bool xh_VM_start(xcall *call, const char *vm, bool start_paused, xerr **errp)
{
    store_wrlock();
    bool ok = claim(vm, "start", S_HALTED, false, errp) != NULL;
    store_unlock();
    if (!ok)
        return false;
    ok = build(call, vm, start_paused, NULL, errp);
    store_wrlock();
    release(vm);
    store_unlock();
    return ok;
}

/* ---- simple domain operations ---- */

typedef int (*domop_fn)(xo_backend *b, uint32_t domid, xo_error *err);

static bool simple_op(const char *vm, const char *op, const char *const *allowed, domop_fn fn,
                      const char *new_state, xerr **errp)
{
    store_wrlock();
    xobj *o = claim(vm, op, allowed, false, errp);
    uint32_t domid = o ? (uint32_t)vm_domid(o) : 0;
    store_unlock();
    if (!o)
        return false;
    xo_error e = { 0 };
    int r = fn ? fn(xd_be, domid, &e) : (xo_error_set(&e, XO_E_NOTSUP, "%s", op), -1);
    store_wrlock();
    o = store_find(XC_VM, vm);
    if (o && r == 0 && new_state)
        set_power(o, new_state, domid);
    release(vm);
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

static void finish_call(xcall *c, xerr *err)
{
    if (c)
        xcall_finish(c, NULL, err);
    else
        xerr_free(err);
}

/* Tear the domain down (no lock held; VM claimed).  After: Halted. */
static bool destroy_domain(const char *ref, int64_t domid, xerr **errp)
{
    xo_error e = { 0 };
    int r = domid >= 0 ? xd_ops->domain_destroy(xd_be, (uint32_t)domid, &e) : 0;
    if (r != 0 && e.code != XO_E_NODOMAIN)
        return vm_backend_error(&e, "domain_destroy", errp);
    store_wrlock();
    xobj *vm = store_find(XC_VM, ref);
    if (vm)
        set_power(vm, "Halted", -1);
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
    xobj *o = claim(vm, op, S_RUNNING, false, errp);
    if (!o) {
        store_unlock();
        return false;
    }
    vmrt *r = rt(o);
    uint32_t domid = (uint32_t)vm_domid(o);
    r->waiter = call;
    r->wait_kind = kind;
    r->timeout = shutdown_timeout(o);
    r->deadline_ms = xloop_now_ms() + r->timeout * 1000;
    n_waiters++;
    xcall_defer(call);
    store_unlock();
    progress(call, 10);
    xo_error e = { 0 };
    int rc = xd_ops->domain_shutdown(xd_be, domid,
                                     kind == W_SHUTDOWN ? XO_SHUTDOWN_POWEROFF : XO_SHUTDOWN_REBOOT, &e);
    if (rc == 0)
        return true;            /* the guest's shutdown event finishes the call */
    store_wrlock();
    o = store_find(XC_VM, vm);
    bool mine = o && o->priv && rt(o)->waiter == call;
    if (mine) {
        take_waiter(o);
        release(vm);
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
static bool restart(xcall *call, const char *ref, int64_t domid, xerr **errp)
{
    if (!destroy_domain(ref, domid, errp))
        return false;
    return build(call, ref, false, NULL, errp);
}

static const char *reboot_policy(const xobj *vm) { return xobj_str(vm, XF_VM_actions_after_reboot); }

bool xh_VM_hard_shutdown(xcall *call, const char *vm, xerr **errp)
{
    (void)call;
    store_wrlock();
    xobj *o = claim(vm, "hard_shutdown", S_HARD_SHUTDOWN, true, errp);
    xcall *w = o ? take_waiter(o) : NULL;
    int64_t domid = o ? vm_domid(o) : -1;
    if (o && is(o, "Suspended")) {          /* discard the suspend image */
        xobj *svdi = store_find(XC_VDI, xobj_str(o, XF_VM_suspend_VDI));
        xobj_set_str(o, XF_VM_suspend_VDI, "");
        if (svdi)
            storage_vdi_remove(svdi);
        set_power(o, "Halted", -1);
        domid = -1;
    }
    store_unlock();
    if (!o)
        return false;
    bool ok = destroy_domain(vm, domid, errp);
    store_wrlock();
    release(vm);
    store_unlock();
    finish_call(w, NULL);       /* a waiting clean_shutdown reached Halted too */
    return ok;
}

bool xh_VM_hard_reboot(xcall *call, const char *vm, xerr **errp)
{
    store_wrlock();
    xobj *o = claim(vm, "hard_reboot", S_HARD_REBOOT, true, errp);
    xcall *w = o ? take_waiter(o) : NULL;
    int64_t domid = o ? vm_domid(o) : -1;
    store_unlock();
    if (!o)
        return false;
    bool ok = restart(call, vm, domid, errp);   /* asked to reboot: it comes back */
    store_wrlock();
    release(vm);
    store_unlock();
    finish_call(w, NULL);
    return ok;
}

/* ---- suspend, resume, save, restore ---- */

bool xh_VM_suspend(xcall *call, const char *vm, xerr **errp)
{
    store_wrlock();
    xobj *o = claim(vm, "suspend", S_RUNNING, false, errp);
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
        release(vm);
        store_unlock();
        return false;
    }
    store_unlock();
    progress(call, 10);
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
        set_power(o, "Suspended", -1);
    } else if (vdi) {
        storage_vdi_remove(vdi);
    }
    release(vm);
    store_unlock();
    return r == 0 || vm_backend_error(&e, "VM.suspend", errp);
}

bool xh_VM_resume(xcall *call, const char *vm, bool start_paused, xerr **errp)
{
    store_wrlock();
    xobj *o = claim(vm, "resume", S_SUSPENDED, false, errp);
    xobj *vdi = o ? store_find(XC_VDI, xobj_str(o, XF_VM_suspend_VDI)) : NULL;
    char *path = vdi ? storage_vdi_path(vdi) : NULL;
    if (o && !path) {
        /* the image is gone: the VM can only start afresh */
        set_power(o, "Halted", -1);
        xobj_set_str(o, XF_VM_suspend_VDI, "");
        release(vm);
        store_unlock();
        return xerr_internal(errp, "the suspend image of VM %s is missing; the VM is now Halted", vm);
    }
    store_unlock();
    if (!o)
        return false;
    bool ok = build(call, vm, start_paused, path, errp);
    free(path);
    store_wrlock();
    o = store_find(XC_VM, vm);
    if (ok && o) {
        vdi = store_find(XC_VDI, xobj_str(o, XF_VM_suspend_VDI));
        xobj_set_str(o, XF_VM_suspend_VDI, "");
        if (vdi)
            storage_vdi_remove(vdi);
    }
    release(vm);
    store_unlock();
    return ok;
}

/* A VM.save file is the backend's image, written by the backend straight
 * into dest, followed by the VM's record (persist XML) and a fixed-size
 * footer giving the record's length.  The backend reads its image from the
 * start of the file and stops at the image's end, so restore hands it the
 * file itself: no copy, no second image's worth of disk. */
#define SAVE_FOOTER_FMT "XEND-SAVE 1 %020zu\n"
#define SAVE_FOOTER_LEN 33
#define SAVE_MAX_RECORD (16u << 20)

static bool append_record(const char *dest, const char *xml, size_t xlen, xerr **errp)
{
    char foot[SAVE_FOOTER_LEN + 1];
    snprintf(foot, sizeof(foot), SAVE_FOOTER_FMT, xlen);
    int fd = open(dest, O_WRONLY | O_APPEND | O_CLOEXEC);
    bool ok = fd >= 0 && xwrite_all(fd, xml, xlen) && xwrite_all(fd, foot, SAVE_FOOTER_LEN) &&
              fsync(fd) == 0;
    if (!ok)
        xerr_internal(errp, "the domain's image is in %s, but the VM's record could not be added to it: %s",
                      dest, strerror(errno));
    if (fd >= 0)
        close(fd);
    return ok;
}

/* The record stored at the end of a VM.save file, or NULL (errp set). */
static char *read_record(int fd, const char *src, size_t *xlen_r, xerr **errp)
{
    struct stat st;
    char foot[SAVE_FOOTER_LEN + 1] = "";
    size_t xlen = 0;
    if (fstat(fd, &st) != 0 || st.st_size < SAVE_FOOTER_LEN ||
        pread(fd, foot, SAVE_FOOTER_LEN, st.st_size - SAVE_FOOTER_LEN) != SAVE_FOOTER_LEN ||
        strncmp(foot, "XEND-SAVE 1 ", 12) != 0 || foot[SAVE_FOOTER_LEN - 1] != '\n' ||
        sscanf(foot + 12, "%20zu", &xlen) != 1 || xlen > SAVE_MAX_RECORD ||
        (off_t)xlen > st.st_size - SAVE_FOOTER_LEN) {
        xerr_VALUE_NOT_SUPPORTED(errp, "src", src, "not an image written by VM.save");
        return NULL;
    }
    char *xml = malloc(xlen + 1);
    if (!xml)
        abort();
    if (pread(fd, xml, xlen, st.st_size - SAVE_FOOTER_LEN - (off_t)xlen) != (ssize_t)xlen) {
        free(xml);
        xerr_VALUE_NOT_SUPPORTED(errp, "src", src, "truncated image");
        return NULL;
    }
    *xlen_r = xlen;
    return xml;
}

/* VM.save: the backend's image then the VM's record in dest; the domain is
 * gone afterwards and the VM Halted. */
bool xh_VM_save(xcall *call, const char *vm, const char *dest, xerr **errp)
{
    if (dest[0] != '/')
        return xerr_VALUE_NOT_SUPPORTED(errp, "dest", dest, "must be an absolute path");
    store_wrlock();
    xobj *o = claim(vm, "save", S_LIVE, false, errp);
    size_t xlen = 0;
    char *xml = o ? persist_vm_xml(o, &xlen) : NULL;
    uint32_t domid = o ? (uint32_t)vm_domid(o) : 0;
    store_unlock();
    if (!o)
        return false;
    progress(call, 10);
    xo_error e = { 0 };
    int r = xd_ops->domain_suspend ? xd_ops->domain_suspend(xd_be, domid, dest, &e)
                                   : (xo_error_set(&e, XO_E_NOTSUP, "save"), -1);
    bool ok = r == 0 ? append_record(dest, xml, xlen, errp) : vm_backend_error(&e, "VM.save", errp);
    free(xml);
    store_wrlock();
    o = store_find(XC_VM, vm);
    if (o && r == 0)
        set_power(o, "Halted", -1);       /* the domain is gone; its image is in dest */
    release(vm);
    store_unlock();
    return ok;
}

bool xh_VM_restore(xcall *call, const char *src, bool start_paused, xv **result_r, xerr **errp)
{
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xerr_VALUE_NOT_SUPPORTED(errp, "src", src, strerror(errno));
    size_t xlen = 0;
    char *xml = read_record(fd, src, &xlen, errp);
    close(fd);
    if (!xml)
        return false;
    xobj **objs = NULL;
    size_t nobj = 0;
    char *why = NULL;
    if (!persist_vm_parse(xml, xlen, &objs, &nobj, &why)) {
        free(xml);
        bool r = xerr_VALUE_NOT_SUPPORTED(errp, "src", src, why ? why : "bad record");
        free(why);
        return r;
    }
    free(xml);
    char ref[XREF_LEN];
    snprintf(ref, sizeof(ref), "%s", objs[0]->ref);
    store_wrlock();
    xobj *o = store_find(XC_VM, ref);
    if (o) {                    /* restore into the existing record */
        for (size_t i = 0; i < nobj; i++)
            xobj_free(objs[i]);
    } else {                    /* the record comes back from the image */
        for (size_t i = 0; i < nobj; i++) {
            if (store_find(objs[i]->cls, objs[i]->ref)) {
                xobj_free(objs[i]);
                continue;
            }
            if (i == 0) {
                raw_set_str(objs[0], XF_VM_power_state, "Halted");
                raw_set_int(objs[0], XF_VM_domid, -1);
                raw_set_str(objs[0], XF_VM_resident_on, "");
                raw_set_str(objs[0], XF_VM_suspend_VDI, "");
                fix_metrics(objs[0], true);
            }
            store_insert(objs[i]);
        }
        o = store_find(XC_VM, ref);
        devices_fix_metrics(o);
    }
    free(objs);
    o = claim(ref, "restore", S_HALTED, false, errp);
    store_unlock();
    if (!o)
        return false;
    bool ok = build(call, ref, start_paused, src, errp);
    store_wrlock();
    release(ref);
    store_unlock();
    if (ok)
        *result_r = xv_str(ref);
    return ok;
}

/* ---- clone ---- */

static xobj *clone_obj(const xobj *src)
{
    xobj *n = xobj_new(src->cls, NULL);
    int uf = xclasses[src->cls].uuid_field;
    for (int f = 0; f < xclasses[src->cls].nfields; f++)
        if (f != uf)
            raw_set(n, f, xv_dup(src->f[f]));
    return n;
}

bool xh_VM_clone(xcall *call, const char *vm, const char *new_name, xv **result_r, xerr **errp)
{
    (void)call;
    store_wrlock();
    xobj *o = claim(vm, "clone", S_HALTED, false, errp);
    if (!o) {
        store_unlock();
        return false;
    }
    xobj *n = clone_obj(o);
    for (size_t i = 0; i < xrelationships_count; i++)
        if (xrelationships[i].parent_cls == XC_VM)
            raw_set(n, xrelationships[i].parent_field, xv_array());
    raw_set_str(n, XF_VM_name_label, new_name);
    raw_set_str(n, XF_VM_power_state, "Halted");
    raw_set_int(n, XF_VM_domid, -1);
    raw_set_str(n, XF_VM_resident_on, "");
    raw_set_str(n, XF_VM_suspend_VDI, "");
    raw_set_str(n, XF_VM_metrics, "");
    raw_set_str(n, XF_VM_guest_metrics, "");
    raw_set(n, XF_VM_other_config, xv_dup(o->f[XF_VM_other_config]));
    xv_struct_del(n->f[XF_VM_other_config], PERSIST_TRANSIENT_KEY);
    fix_metrics(n, true);
    store_insert(n);
    /* devices: the same disks (VDIs are shared, like xend's clone), new
     * MACs for the VIFs, new metrics */
    const struct { int set, cls, vmf; } devs[] = {
        { XF_VM_VBDs, XC_VBD, XF_VBD_VM }, { XF_VM_VIFs, XC_VIF, XF_VIF_VM },
        { XF_VM_consoles, XC_console, XF_console_VM }, { XF_VM_VTPMs, XC_VTPM, XF_VTPM_VM },
    };
    for (size_t d = 0; d < sizeof(devs) / sizeof(devs[0]); d++) {
        xv *refs = xv_dup(o->f[devs[d].set]);
        for (size_t i = 0; i < refs->u.arr.n; i++) {
            xobj *s = store_find(devs[d].cls, refs->u.arr.items[i]->u.str.s);
            if (!s)
                continue;
            xobj *c = clone_obj(s);
            raw_set_str(c, devs[d].vmf, n->ref);
            if (devs[d].cls == XC_VBD) {
                raw_set_bool(c, XF_VBD_currently_attached, false);
                raw_set(c, XF_VBD_metrics, xv_str(""));
            } else if (devs[d].cls == XC_VIF) {
                unsigned char r[3];
                char mac[18];
                if (getentropy(r, sizeof(r)) != 0)
                    memset(r, 0x5a, sizeof(r));
                snprintf(mac, sizeof(mac), "00:16:3e:%02x:%02x:%02x", r[0] & 0x7f, r[1], r[2]);
                raw_set_str(c, XF_VIF_MAC, mac);
                raw_set_bool(c, XF_VIF_currently_attached, false);
                raw_set(c, XF_VIF_metrics, xv_str(""));
            }
            store_insert(c);
        }
        xv_free(refs);
    }
    devices_fix_metrics(n);
    *result_r = xv_str(n->ref);
    release(vm);
    store_unlock();
    return true;
}

/* ---- live changes ---- */

bool xh_VM_set_VCPUs_number_live(xcall *call, const char *self, int64_t nvcpu, xerr **errp)
{
    (void)call;
    store_wrlock();
    xobj *o = claim(self, "set_VCPUs_number_live", S_LIVE, false, errp);
    if (o && (nvcpu < 1 || nvcpu > xobj_int(o, XF_VM_VCPUs_max))) {
        char v[32];
        snprintf(v, sizeof(v), "%" PRId64, nvcpu);
        xerr_VALUE_NOT_SUPPORTED(errp, "nvcpu", v, "must be between 1 and VCPUs_max");
        release(self);
        o = NULL;
    }
    uint32_t domid = o ? (uint32_t)vm_domid(o) : 0;
    store_unlock();
    if (!o)
        return false;
    xo_error e = { 0 };
    int r = xd_ops->domain_set_vcpus ? xd_ops->domain_set_vcpus(xd_be, domid, (unsigned)nvcpu, &e)
                                     : (xo_error_set(&e, XO_E_NOTSUP, "vcpus"), -1);
    store_wrlock();
    o = store_find(XC_VM, self);
    if (o && r == 0) {
        xobj_set_int(o, XF_VM_VCPUs_at_startup, nvcpu);
        xobj *m = store_find(XC_VM_metrics, xobj_str(o, XF_VM_metrics));
        if (m)
            xobj_set_int(m, XF_VM_metrics_VCPUs_number, nvcpu);
    }
    release(self);
    store_unlock();
    return r == 0 || vm_backend_error(&e, "VM.set_VCPUs_number_live", errp);
}

static bool set_memory_live(const char *self, int field, int64_t v, xerr **errp)
{
    store_wrlock();
    xobj *o = claim(self, "set_memory_live", S_LIVE, false, errp);
    if (o) {
        int64_t smin = xobj_int(o, XF_VM_memory_static_min), smax = xobj_int(o, XF_VM_memory_static_max);
        int64_t dmin = xobj_int(o, XF_VM_memory_dynamic_min), dmax = xobj_int(o, XF_VM_memory_dynamic_max);
        if (field == XF_VM_memory_dynamic_max)
            dmax = v;
        else
            dmin = v;
        const char *bad = dmax > smax ? "dynamic_max <= static_max"
                          : dmin > dmax ? "dynamic_min <= dynamic_max"
                          : dmin < smin ? "static_min <= dynamic_min"
                          : dmax <= 0 ? "dynamic_max must be positive" : NULL;
        if (bad) {
            xerr_MEMORY_CONSTRAINT_VIOLATION(errp, bad);
            release(self);
            o = NULL;
        }
    }
    uint32_t domid = o ? (uint32_t)vm_domid(o) : 0;
    int64_t target = o ? (field == XF_VM_memory_dynamic_max ? v : xobj_int(o, XF_VM_memory_dynamic_max)) : 0;
    store_unlock();
    if (!o)
        return false;
    xo_error e = { 0 };
    int r = xd_ops->domain_set_memory ? xd_ops->domain_set_memory(xd_be, domid, (uint64_t)target / 1024, &e)
                                      : (xo_error_set(&e, XO_E_NOTSUP, "memory"), -1);
    store_wrlock();
    o = store_find(XC_VM, self);
    if (o && r == 0)
        xobj_set_int(o, field, v);
    release(self);
    store_unlock();
    return r == 0 || vm_backend_error(&e, "VM.set_memory_dynamic_live", errp);
}

bool xh_VM_set_memory_dynamic_max_live(xcall *call, const char *self, int64_t max, xerr **errp)
{
    (void)call;
    return set_memory_live(self, XF_VM_memory_dynamic_max, max, errp);
}

bool xh_VM_set_memory_dynamic_min_live(xcall *call, const char *self, int64_t min, xerr **errp)
{
    (void)call;
    return set_memory_live(self, XF_VM_memory_dynamic_min, min, errp);
}

bool xh_VM_add_to_VCPUs_params_live(xcall *call, const char *self, const char *key,
                                    const char *value, xerr **errp)
{
    (void)call;
    store_wrlock();
    xobj *o = claim(self, "add_to_VCPUs_params_live", S_LIVE, false, errp);
    unsigned weight = 0, cap = 0;
    uint32_t domid = 0;
    if (o) {
        xobj_map_put(o, XF_VM_VCPUs_params, key, value);
        const char *w = xobj_map_get(o, XF_VM_VCPUs_params, "weight");
        const char *c = xobj_map_get(o, XF_VM_VCPUs_params, "cap");
        weight = w ? (unsigned)strtoul(w, NULL, 10) : 0;
        cap = c ? (unsigned)strtoul(c, NULL, 10) : 0;
        domid = (uint32_t)vm_domid(o);
    }
    store_unlock();
    if (!o)
        return false;
    xo_error e = { 0 };
    int r = 0;
    if (strcmp(key, "weight") == 0 || strcmp(key, "cap") == 0)
        r = xd_ops->domain_sched_params ? xd_ops->domain_sched_params(xd_be, domid, weight, cap, &e)
                                        : (xo_error_set(&e, XO_E_NOTSUP, "scheduler"), -1);
    store_wrlock();
    o = store_find(XC_VM, self);
    xobj *m = o ? store_find(XC_VM_metrics, xobj_str(o, XF_VM_metrics)) : NULL;
    if (m)
        xobj_set(m, XF_VM_metrics_VCPUs_params, xv_dup(o->f[XF_VM_VCPUs_params]));
    release(self);
    store_unlock();
    return r == 0 || vm_backend_error(&e, "VM.add_to_VCPUs_params_live", errp);
}

bool xh_VM_send_sysrq(xcall *call, const char *vm, const char *key, xerr **errp)
{
    (void)call;
    if (strlen(key) != 1)
        return xerr_VALUE_NOT_SUPPORTED(errp, "key", key, "one character");
    store_wrlock();
    xobj *o = claim(vm, "send_sysrq", S_RUNNING, false, errp);
    uint32_t domid = o ? (uint32_t)vm_domid(o) : 0;
    store_unlock();
    if (!o)
        return false;
    xo_error e = { 0 };
    int r = xd_ops->domain_sysrq ? xd_ops->domain_sysrq(xd_be, domid, key[0], &e)
                                 : (xo_error_set(&e, XO_E_NOTSUP, "sysrq"), -1);
    store_wrlock();
    release(vm);
    store_unlock();
    return r == 0 || vm_backend_error(&e, "VM.send_sysrq", errp);
}

bool xh_VM_send_trigger(xcall *call, const char *vm, const char *trigger, xerr **errp)
{
    (void)call;
    store_wrlock();
    xobj *o = claim(vm, "send_trigger", S_RUNNING, false, errp);
    uint32_t domid = o ? (uint32_t)vm_domid(o) : 0;
    store_unlock();
    if (!o)
        return false;
    xo_error e = { 0 };
    int r = xd_ops->domain_trigger ? xd_ops->domain_trigger(xd_be, domid, trigger, &e)
                                   : (xo_error_set(&e, XO_E_NOTSUP, "trigger"), -1);
    store_wrlock();
    release(vm);
    store_unlock();
    return r == 0 || vm_backend_error(&e, "VM.send_trigger", errp);
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
    bool running = o && is(o, "Running");
    if (o && !running)
        xerr_VM_BAD_POWER_STATE(errp, vm, "Running", pstate(o));
    store_unlock();
    if (!running)
        return o ? false : xerr_HANDLE_INVALID(errp, "VM", vm);
    return xerr_NOT_IMPLEMENTED(errp, "VM.migrate");
}

/* ---- backend events ---- */

enum { A_NONE, A_HALT, A_RESTART, A_PRESERVE, A_DUMP_HALT, A_DUMP_RESTART, A_RENAME_RESTART };

static int crash_action(const char *p)
{
    if (strcmp(p, "restart") == 0) return A_RESTART;
    if (strcmp(p, "preserve") == 0) return A_PRESERVE;
    if (strcmp(p, "coredump_and_destroy") == 0) return A_DUMP_HALT;
    if (strcmp(p, "coredump_and_restart") == 0) return A_DUMP_RESTART;
    if (strcmp(p, "rename_restart") == 0) return A_RENAME_RESTART;
    return A_HALT;
}

/* A core dump of a shut-down domain as a crashdump object (no lock held). */
static void coredump(const char *ref, uint32_t domid)
{
    store_wrlock();
    const char *sr = storage_sr_for(STORAGE_CRASHDUMP);
    xerr *err = NULL;
    xobj *vm = store_find(XC_VM, ref);
    char name[160];
    snprintf(name, sizeof(name), "crash dump of %s", vm ? xobj_str(vm, XF_VM_name_label) : ref);
    xobj *vdi = sr && vm ? storage_vdi_create(sr, name, "crashdump", 0, &err) : NULL;
    char *path = vdi ? storage_vdi_path(vdi) : NULL;
    char vdi_ref[XREF_LEN] = "";
    if (vdi)
        snprintf(vdi_ref, sizeof(vdi_ref), "%s", vdi->ref);
    store_unlock();
    if (!path) {
        xlog(XLOG_ERROR, "VM %s: no crash dump (no SR for it%s%s)", ref, err ? ": " : "",
             err && err->n ? err->params[0] : "");
        xerr_free(err);
        return;
    }
    xo_error e = { 0 };
    int r = xd_ops->domain_coredump ? xd_ops->domain_coredump(xd_be, domid, path, &e)
                                    : (xo_error_set(&e, XO_E_NOTSUP, "coredump"), -1);
    store_wrlock();
    vdi = store_find(XC_VDI, vdi_ref);
    vm = store_find(XC_VM, ref);
    if (r == 0 && vdi && vm) {
        struct stat st;
        if (stat(path, &st) == 0)
            xobj_set_int(vdi, XF_VDI_virtual_size, st.st_size);
        storage_vdi_refresh(vdi);
        xobj *cd = xobj_new(XC_crashdump, NULL);
        raw_set_str(cd, XF_crashdump_VM, ref);
        raw_set_str(cd, XF_crashdump_VDI, vdi_ref);
        store_insert(cd);
        xlog(XLOG_INFO, "VM %s: crash dump %s in %s", ref, cd->ref, path);
    } else {
        xlog(XLOG_ERROR, "VM %s: core dump failed: %s", ref, e.msg);
        if (vdi)
            storage_vdi_remove(vdi);
    }
    store_unlock();
    free(path);
}

/* rename_restart: keep the crashed domain under a new name, as a transient
 * record, and start the VM afresh. */
static void keep_renamed(const char *ref, uint32_t domid)
{
    char newname[XO_NAME_LEN];
    store_rdlock();
    xobj *vm = store_find(XC_VM, ref);
    snprintf(newname, sizeof(newname), "%.80s-crashed-%ld", vm ? xobj_str(vm, XF_VM_name_label) : ref,
             (long)time(NULL));
    store_unlock();
    xo_error e = { 0 };
    if (!xd_ops->domain_rename || xd_ops->domain_rename(xd_be, domid, newname, &e) != 0) {
        xlog(XLOG_WARNING, "VM %s: cannot rename the crashed domain %u (%s); destroying it", ref,
             domid, e.msg);
        xd_ops->domain_destroy(xd_be, domid, &e);
        return;
    }
    store_wrlock();
    xobj *t = xobj_new(XC_VM, NULL);
    raw_set_str(t, XF_VM_name_label, newname);
    raw_set_str(t, XF_VM_name_description, "a crashed domain kept by actions_after_crash=rename_restart");
    xv_struct_set(t->f[XF_VM_other_config], PERSIST_TRANSIENT_KEY, xv_str("true"));
    xv_struct_set(t->f[XF_VM_other_config], "renamed_from", xv_str(ref));
    raw_set_str(t, XF_VM_power_state, "Crashed");
    raw_set_int(t, XF_VM_domid, domid);
    raw_set_str(t, XF_VM_actions_after_crash, "preserve");
    fix_metrics(t, true);
    store_insert(t);
    xobj_set_str(t, XF_VM_resident_on, host_ref());
    store_unlock();
}

static void on_shutdown(const xo_event *ev)
{
    store_wrlock();
    xobj *vm = store_find(XC_VM, ev->uuid);
    if (!vm || vm_domid(vm) != (int64_t)ev->domid || xobj_bool(vm, XF_VM_is_control_domain)) {
        store_unlock();
        return;
    }
    vmrt *r = rt(vm);
    if (r->busy && !r->waiter) {        /* an operation in progress owns the domain */
        store_unlock();
        return;
    }
    int act = A_NONE;
    switch (ev->reason) {
    case XO_SHUTDOWN_POWEROFF:
        act = r->waiter && r->wait_kind == W_SHUTDOWN ? A_HALT
              : strcmp(xobj_str(vm, XF_VM_actions_after_shutdown), "restart") == 0 ? A_RESTART : A_HALT;
        break;
    case XO_SHUTDOWN_REBOOT:
        act = r->waiter && r->wait_kind == W_SHUTDOWN ? A_HALT
              : r->waiter && r->wait_kind == W_REBOOT ? A_RESTART
              : strcmp(reboot_policy(vm), "restart") == 0 ? A_RESTART : A_HALT;
        break;
    case XO_SHUTDOWN_CRASH:
    case XO_SHUTDOWN_WATCHDOG:
        act = crash_action(xobj_str(vm, XF_VM_actions_after_crash));
        break;
    default:
        break;
    }
    if (act == A_NONE) {
        store_unlock();
        return;
    }
    if ((act == A_RESTART || act == A_DUMP_RESTART || act == A_RENAME_RESTART) && !r->waiter) {
        int64_t now = xloop_now_ms();
        if (r->burst_n == 0 || now - r->burst_ms > RESTART_WINDOW_MS) {
            r->burst_ms = now;
            r->burst_n = 0;
        }
        if (++r->burst_n > RESTART_BURST) {
            xlog(XLOG_ERROR, "VM %s restarted %d times within %d s: not restarting it again",
                 vm->ref, RESTART_BURST, RESTART_WINDOW_MS / 1000);
            act = act == A_DUMP_RESTART ? A_DUMP_HALT : act == A_RENAME_RESTART ? A_PRESERVE : A_HALT;
            r->burst_n = 0;
        }
    }
    if (!r->busy)
        r->busy = "guest_event";
    char ref[XREF_LEN];
    snprintf(ref, sizeof(ref), "%s", vm->ref);
    xlog(XLOG_INFO, "VM %s (domain %u): shut down (reason %d), action %d", ref, ev->domid, ev->reason, act);
    if (act == A_PRESERVE)
        set_power(vm, "Crashed", ev->domid);
    store_unlock();

    xerr *err = NULL;
    if (act == A_DUMP_HALT || act == A_DUMP_RESTART)
        coredump(ref, ev->domid);
    if (act == A_RENAME_RESTART) {
        keep_renamed(ref, ev->domid);
        store_wrlock();
        vm = store_find(XC_VM, ref);
        if (vm)
            set_power(vm, "Halted", -1);
        store_unlock();
        build(NULL, ref, false, NULL, &err);
    } else if (act == A_HALT || act == A_DUMP_HALT) {
        destroy_domain(ref, ev->domid, &err);
    } else if (act == A_RESTART || act == A_DUMP_RESTART) {
        if (!restart(NULL, ref, ev->domid, &err)) {
            store_wrlock();
            vm = store_find(XC_VM, ref);
            if (vm && vm_has_domain(vm))
                set_power(vm, "Halted", -1);
            store_unlock();
        }
    }
    if (err) {
        xlog(XLOG_ERROR, "VM %s: after shutdown: %s %s", ref, err->code, err->n ? err->params[0] : "");
        xerr_free(err);
    }
    store_wrlock();
    vm = store_find(XC_VM, ref);
    xcall *w = vm ? take_waiter(vm) : NULL;
    release(ref);
    store_unlock();
    finish_call(w, NULL);
}

static void on_death(const xo_event *ev)
{
    store_wrlock();
    xobj *vm = store_find(XC_VM, ev->uuid);
    xcall *w = NULL;
    if (vm && !xobj_bool(vm, XF_VM_is_control_domain) && vm_domid(vm) == (int64_t)ev->domid &&
        vm_has_domain(vm) && (!vm->priv || !rt(vm)->busy || rt(vm)->waiter)) {
        w = take_waiter(vm);
        release(vm->ref);
        set_power(vm, "Halted", -1);
        if (persist_vm_is_transient(vm))
            store_remove(vm);   /* an adopted domain that is gone leaves nothing */
    }
    store_unlock();
    finish_call(w, NULL);
}

/* A domain nobody asked for: adopt it as a transient VM (lock held). */
static void adopt(const xo_dominfo *d)
{
    if (d->domid == 0)
        return;
    for (xobj *v = store_first(XC_VM); v; v = store_next(v))
        if (vm_domid(v) == (int64_t)d->domid && vm_has_domain(v))
            return;
    xobj *vm = xuuid_valid(d->uuid) && !store_find(XC_VM, d->uuid) ? xobj_new(XC_VM, d->uuid)
                                                                   : xobj_new(XC_VM, NULL);
    raw_set_str(vm, XF_VM_name_label, d->name);
    raw_set_str(vm, XF_VM_name_description, "a domain xend did not create (adopted)");
    raw_set_int(vm, XF_VM_memory_static_max, (int64_t)d->max_memory_kib * 1024);
    raw_set_int(vm, XF_VM_memory_dynamic_max, (int64_t)d->target_kib * 1024);
    raw_set_int(vm, XF_VM_memory_dynamic_min, (int64_t)d->target_kib * 1024);
    raw_set_int(vm, XF_VM_memory_static_min, 0);
    raw_set_int(vm, XF_VM_VCPUs_max, d->vcpus_max);
    raw_set_int(vm, XF_VM_VCPUs_at_startup, d->vcpus_online);
    if (d->type == XO_DOM_HVM)
        raw_set_str(vm, XF_VM_HVM_boot_policy, "BIOS order");
    xv_struct_set(vm->f[XF_VM_other_config], PERSIST_TRANSIENT_KEY, xv_str("true"));
    raw_set_str(vm, XF_VM_power_state, "Halted");
    raw_set_int(vm, XF_VM_domid, -1);
    fix_metrics(vm, true);
    store_insert(vm);
    started(vm, d->state == XO_STATE_PAUSED ? "Paused" : d->state == XO_STATE_RUNNING ? "Running" : "Crashed",
            d->domid);
    xlog(XLOG_INFO, "adopted domain %u (%s) as transient VM %s", d->domid, d->name, vm->ref);
}

/* The backend's view of the domain an event is about (false: gone). */
static bool event_dominfo(const xo_event *ev, xo_dominfo *d)
{
    xo_error e = { 0 };
    memset(d, 0, sizeof(*d));
    return xd_ops->domain_info && xd_ops->domain_info(xd_be, ev->domid, d, &e) == 0;
}

static void on_new(const xo_event *ev)
{
    xo_dominfo d;
    if (!event_dominfo(ev, &d))
        return;
    store_wrlock();
    xobj *vm = store_find(XC_VM, d.uuid);
    if (!vm)
        adopt(&d);
    else if (!vm_has_domain(vm) && (!vm->priv || !rt(vm)->busy) && is(vm, "Halted"))
        started(vm, d.state == XO_STATE_PAUSED ? "Paused" : "Running", d.domid);
    store_unlock();
}

static void on_changed(const xo_event *ev)
{
    xo_dominfo d;
    if (!event_dominfo(ev, &d))
        return;
    store_wrlock();
    xobj *vm = store_find(XC_VM, ev->uuid[0] ? ev->uuid : d.uuid);
    if (vm && vm_domid(vm) == (int64_t)ev->domid && (!vm->priv || !rt(vm)->busy)) {
        if (d.state == XO_STATE_PAUSED && is(vm, "Running"))
            set_power(vm, "Paused", d.domid);
        else if (d.state == XO_STATE_RUNNING && is(vm, "Paused"))
            set_power(vm, "Running", d.domid);
        xobj *m = store_find(XC_VM_metrics, xobj_str(vm, XF_VM_metrics));
        if (m) {
            xobj_set_int(m, XF_VM_metrics_memory_actual, (int64_t)d.memory_kib * 1024);
            xobj_set_int(m, XF_VM_metrics_VCPUs_number, d.vcpus_online);
        }
    }
    store_unlock();
}

static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;

static void event_job(void *arg)
{
    xo_event *ev = arg;
    pthread_mutex_lock(&ev_mu);         /* one event at a time, in order */
    switch (ev->type) {
    case XO_EV_DOMAIN_SHUTDOWN: on_shutdown(ev); break;
    case XO_EV_DOMAIN_DEATH: on_death(ev); break;
    case XO_EV_DOMAIN_NEW: on_new(ev); break;
    case XO_EV_DOMAIN_CHANGED: on_changed(ev); break;
    }
    pthread_mutex_unlock(&ev_mu);
    persist_flush();
    free(ev);
}

void vm_backend_event(void *opaque, const xo_event *ev)
{
    (void)opaque;
    xo_event *copy = malloc(sizeof(*copy));
    if (!copy)
        abort();
    *copy = *ev;
    dispatch_queue_job(event_job, copy);
}

/* ---- ticks ---- */

static void sample_vcpus(const char *ref, uint32_t domid)
{
    xo_vcpu_info *v = NULL;
    size_t n = 0;
    xo_error e = { 0 };
    if (!xd_ops->domain_vcpus || xd_ops->domain_vcpus(xd_be, domid, &v, &n, &e) != 0)
        return;
    int64_t now = xloop_now_ms();
    store_wrlock();
    xobj *vm = store_find(XC_VM, ref);
    xobj *m = vm ? store_find(XC_VM_metrics, xobj_str(vm, XF_VM_metrics)) : NULL;
    if (m) {
        vmrt *r = rt(vm);
        xv *util = xv_struct(), *cpu = xv_struct(), *flags = xv_struct();
        for (size_t i = 0; i < n; i++) {
            char k[16];
            snprintf(k, sizeof(k), "%u", v[i].id);
            double u = 0;
            if (r->vcpu_ns && i < r->n_vcpu && now > r->sampled_ms && v[i].cpu_time_ns >= r->vcpu_ns[i])
                u = (double)(v[i].cpu_time_ns - r->vcpu_ns[i]) / ((double)(now - r->sampled_ms) * 1e6);
            xv_struct_set(util, k, xv_double(u > 1 ? 1 : u));
            xv_struct_set(cpu, k, xv_int(v[i].cpu));
            xv *fl = xv_array();
            xv_array_add(fl, xv_str(v[i].online ? "online" : "offline"));
            if (v[i].cpu >= 0)
                xv_array_add(fl, xv_str("running"));
            xv_struct_set(flags, k, fl);
        }
        free(r->vcpu_ns);
        r->vcpu_ns = calloc(n + 1, sizeof(uint64_t));
        if (!r->vcpu_ns)
            abort();
        for (size_t i = 0; i < n; i++)
            r->vcpu_ns[i] = v[i].cpu_time_ns;
        r->n_vcpu = n;
        r->sampled_ms = now;
        xobj_set(m, XF_VM_metrics_VCPUs_utilisation, util);
        xobj_set(m, XF_VM_metrics_VCPUs_CPU, cpu);
        xobj_set(m, XF_VM_metrics_VCPUs_flags, flags);
    }
    store_unlock();
    free(v);
}

void vm_tick(void)
{
    xo_dominfo *doms = NULL;
    size_t nd = 0;
    xo_error e = { 0 };
    bool listed = xd_ops && xd_ops->domain_list && xd_ops->domain_list(xd_be, &doms, &nd, &e) == 0;
    typedef struct { char ref[XREF_LEN]; uint32_t domid; } live;
    live *lv = NULL;
    size_t nl = 0;
    xcall **expired = NULL;
    char (*exp_ref)[XREF_LEN] = NULL;
    int64_t *exp_to = NULL;
    size_t nexp = 0;
    time_t now = time(NULL);

    store_wrlock();
    if (listed) {
        lv = calloc(nd + 1, sizeof(live));
        if (!lv)
            abort();
        for (size_t i = 0; i < nd; i++) {
            if (doms[i].domid == 0)
                continue;
            xobj *vm = store_find(XC_VM, doms[i].uuid);
            if (!vm || vm_domid(vm) != (int64_t)doms[i].domid || !vm_has_domain(vm))
                continue;
            xobj *m = store_find(XC_VM_metrics, xobj_str(vm, XF_VM_metrics));
            if (m) {
                xobj_set_int(m, XF_VM_metrics_memory_actual, (int64_t)doms[i].memory_kib * 1024);
                xobj_set_int(m, XF_VM_metrics_VCPUs_number, doms[i].vcpus_online);
                if (doms[i].start_time)
                    xobj_set(m, XF_VM_metrics_start_time, xv_datetime_t(doms[i].start_time));
                xobj_set(m, XF_VM_metrics_last_updated, xv_datetime_t(now));
            }
            if (!vm->priv || !rt(vm)->busy) {
                if (doms[i].state == XO_STATE_PAUSED && is(vm, "Running"))
                    set_power(vm, "Paused", doms[i].domid);
                else if (doms[i].state == XO_STATE_RUNNING && is(vm, "Paused"))
                    set_power(vm, "Running", doms[i].domid);
            }
            snprintf(lv[nl].ref, XREF_LEN, "%s", vm->ref);
            lv[nl++].domid = doms[i].domid;
        }
        /* a domain that vanished without an event */
        for (xobj *vm = store_first(XC_VM); vm;) {
            xobj *next = store_next(vm);
            if (vm_has_domain(vm) && !xobj_bool(vm, XF_VM_is_control_domain) &&
                (!vm->priv || !rt(vm)->busy)) {
                bool found = false;
                for (size_t i = 0; i < nd && !found; i++)
                    found = doms[i].domid == (uint32_t)vm_domid(vm);
                if (!found) {
                    xlog(XLOG_INFO, "VM %s: domain %" PRId64 " is gone", vm->ref, vm_domid(vm));
                    set_power(vm, "Halted", -1);
                    if (persist_vm_is_transient(vm))
                        store_remove(vm);
                }
            }
            vm = next;
        }
    }
    if (n_waiters) {
        expired = calloc(n_waiters, sizeof(xcall *));
        exp_ref = calloc(n_waiters, XREF_LEN);
        exp_to = calloc(n_waiters, sizeof(int64_t));
        if (!expired || !exp_ref || !exp_to)
            abort();
        for (xobj *vm = store_first(XC_VM); vm && n_waiters; vm = store_next(vm)) {
            vmrt *r = vm->priv;
            if (r && r->waiter && xloop_now_ms() >= r->deadline_ms) {
                exp_to[nexp] = r->timeout;
                snprintf(exp_ref[nexp], XREF_LEN, "%s", vm->ref);
                expired[nexp++] = take_waiter(vm);
                r->busy = NULL;
            }
        }
    }
    store_unlock();
    free(doms);
    for (size_t i = 0; i < nexp; i++) {
        xerr *err = NULL;
        char t[32];
        snprintf(t, sizeof(t), "%" PRId64, exp_to[i]);
        xerr_VM_SHUTDOWN_TIMEOUT(&err, exp_ref[i], t);
        xlog(XLOG_WARNING, "VM %s: the guest did not shut down within %s s", exp_ref[i], t);
        xcall_finish(expired[i], NULL, err);
    }
    free(expired);
    free(exp_ref);
    free(exp_to);
    for (size_t i = 0; i < nl; i++)
        sample_vcpus(lv[i].ref, lv[i].domid);
    free(lv);
    storage_tick();
    persist_tick();
}

/* ---- start-up: reconcile records with the backend's domains ---- */

/* Every relationship's parent Set from its children (lock held). */
static void relink_all(void)
{
    for (size_t i = 0; i < xrelationships_count; i++) {
        const xrelationship *r = &xrelationships[i];
        for (xobj *c = store_first(r->child_cls); c; c = store_next(c)) {
            const char *p = xobj_str(c, r->child_field);
            xobj *po = *p ? store_find(r->parent_cls, p) : NULL;
            if (po)
                xobj_set_add(po, r->parent_field, c->ref);
        }
    }
}

bool vm_setup(const daemon_options *o, char **err_r)
{
    (void)o;
    (void)err_r;
    xclass_register(XC_VM, &vm_ops);
    devices_register();
    storage_register();

    store_wrlock();
    relink_all();
    for (xobj *vm = store_first(XC_VM); vm; vm = store_next(vm)) {
        if (xobj_bool(vm, XF_VM_is_control_domain))
            continue;
        fix_metrics(vm, false);
        devices_fix_metrics(vm);
        xobj_set_str(vm, XF_VM_resident_on, "");
    }
    store_unlock();
    storage_setup();

    xo_dominfo *doms = NULL;
    size_t nd = 0;
    xo_error e = { 0 };
    if (xd_ops->domain_list && xd_ops->domain_list(xd_be, &doms, &nd, &e) != 0) {
        xlog(XLOG_WARNING, "backend lists no domains: %s", e.msg);
        nd = 0;
    }
    xo_event *pending = calloc(nd + 1, sizeof(xo_event));
    size_t np = 0, attached = 0, adopted = 0, halted = 0;
    if (!pending)
        abort();
    store_wrlock();
    for (size_t i = 0; i < nd; i++) {
        const xo_dominfo *d = &doms[i];
        if (d->domid == 0)
            continue;
        xobj *vm = store_find(XC_VM, d->uuid);
        if (vm && !xobj_bool(vm, XF_VM_is_control_domain)) {
            const char *st = d->state == XO_STATE_PAUSED ? "Paused"
                             : d->state == XO_STATE_RUNNING ? "Running" : "Crashed";
            if (is(vm, "Suspended")) {      /* a domain restored behind our back */
                xobj *svdi = store_find(XC_VDI, xobj_str(vm, XF_VM_suspend_VDI));
                xobj_set_str(vm, XF_VM_suspend_VDI, "");
                if (svdi)
                    storage_vdi_remove(svdi);
            }
            set_power(vm, st, d->domid);
            attached++;
            if (d->state == XO_STATE_SHUTDOWN || d->state == XO_STATE_CRASHED) {
                /* it shut down while xend was away: apply its policy now */
                pending[np].type = XO_EV_DOMAIN_SHUTDOWN;
                pending[np].domid = d->domid;
                snprintf(pending[np].uuid, sizeof(pending[np].uuid), "%s", d->uuid);
                pending[np++].reason = d->state == XO_STATE_CRASHED ? XO_SHUTDOWN_CRASH : d->reason;
            }
        } else if (!vm) {
            adopt(d);
            adopted++;
        }
    }
    for (xobj *vm = store_first(XC_VM); vm; vm = store_next(vm)) {
        if (xobj_bool(vm, XF_VM_is_control_domain))
            continue;
        int64_t domid = vm_domid(vm);
        bool alive = false;
        for (size_t i = 0; i < nd && !alive && domid >= 0; i++)
            alive = doms[i].domid == (uint32_t)domid && strcmp(doms[i].uuid, vm->ref) == 0;
        if (vm_has_domain(vm) && !alive) {
            set_power(vm, "Halted", -1);
            halted++;
        } else if (is(vm, "Suspended") && !store_find(XC_VDI, xobj_str(vm, XF_VM_suspend_VDI))) {
            set_power(vm, "Halted", -1);
            halted++;
        } else if (!vm_has_domain(vm) && !is(vm, "Suspended")) {
            set_power(vm, "Halted", -1);
        }
    }
    store_unlock();
    free(doms);
    for (size_t i = 0; i < np; i++)
        vm_backend_event(NULL, &pending[i]);
    free(pending);
    persist_flush();
    xlog(XLOG_INFO, "VMs: %zu records, %zu domains re-attached, %zu adopted, %zu set Halted",
         store_count(XC_VM), attached, adopted, halted);
    return true;
}
