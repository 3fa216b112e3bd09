/* VM: the class's hooks (create, destroy, set), the operation frame every
 * VM operation runs in (vm_op_run, see vm.h), and the runtime state the
 * operations share: the claim, the power-state record, metrics.
 *
 * Locking: records are read and changed under the store lock; backend calls
 * are made without it.  An operation that calls the backend first claims
 * the VM (runtime "busy" mark, under the lock); a second operation on a
 * claimed VM fails with OTHER_OPERATION_IN_PROGRESS, except hard_shutdown /
 * hard_reboot, which may take over from a clean_shutdown / clean_reboot
 * waiting for its guest.  Those two calls do not hold a worker thread while
 * they wait: the call is deferred and finished by the backend's event (or by
 * the timeout in vm_tick). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "daemon/api/api.h"
#include "daemon/api/vm.h"
#include "daemon/host.h"
#include "daemon/persist.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

XLOG_DOMAIN("vm");

size_t vm_n_waiters;

static void rt_free(void *p)
{
    vmrt *r = p;
    free(r->vcpu_ns);
    free(r);
}

vmrt *vm_rt(xobj *vm)
{
    if (!vm->priv) {
        vm->priv = calloc(1, sizeof(vmrt));
        if (!vm->priv)
            abort();
        vm->priv_free = rt_free;
    }
    return vm->priv;
}

void vm_progress(xcall *call, int pct)
{
    if (call && call->task[0])
        task_set_progress(call->task, pct);
}

void vm_finish_call(xcall *c, xerr *err)
{
    if (c)
        xcall_finish(c, NULL, err);
    else
        xerr_free(err);
}

/* Record that vm is now in state (lock held). */
void vm_set_power(xobj *vm, int state, int64_t domid)
{
    bool dom = domid >= 0;
    const char *name = vm_power_name(state);
    xobj_set_str(vm, XF_VM_power_state, name);
    xobj_set_int(vm, XF_VM_domid, dom ? domid : -1);
    xobj_set_str(vm, XF_VM_resident_on, dom ? host_ref() : "");
    if (!dom && xobj_get(vm, XF_VM_cpu_pool)->u.arr.n)
        xobj_set(vm, XF_VM_cpu_pool, xv_array());   /* no pool runs a VM without a domain */
    devices_set_attached(vm, dom);
    xobj *m = store_find(XCL_VM_metrics, xobj_str(vm, XF_VM_metrics));
    if (m) {
        xv *st = xv_array();
        char low[16];
        snprintf(low, sizeof(low), "%s", name);
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

void vm_started(xobj *vm, int state, uint32_t domid)
{
    vm_set_power(vm, state, domid);
    xobj *m = store_find(XCL_VM_metrics, xobj_str(vm, XF_VM_metrics));
    if (m) {
        xobj_set(m, XF_VM_metrics_start_time, xv_datetime_t(time(NULL)));
        xobj_set_int(m, XF_VM_metrics_VCPUs_number, xobj_int(vm, XF_VM_VCPUs_at_startup));
        xobj_set_int(m, XF_VM_metrics_memory_actual, xobj_int(vm, XF_VM_memory_dynamic_max));
        xobj_set(m, XF_VM_metrics_VCPUs_params, xv_dup(vm->f[XF_VM_VCPUs_params]));
    }
}

/* ---- the claim and the frame ---- */

/* The state VM_BAD_POWER_STATE names as expected: the first of states in
 * this order. */
static int expected_state(unsigned states)
{
    static const int order[] = { VM_RUNNING, VM_HALTED, VM_PAUSED, VM_SUSPENDED, VM_CRASHED };
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (states & VM_IN(order[i]))
            return order[i];
    return VM_HALTED;
}

/* Find the VM, check op may run on it and claim it (write lock held). */
static xobj *claim(const vm_op *op, vm_ctx *c, xerr **errp)
{
    xobj *vm = op->locate ? op->locate(c, errp) : store_find(XCL_VM, c->ref);
    if (!vm) {
        if (!op->locate)
            xerr_HANDLE_INVALID(errp, "VM", c->ref);
        return NULL;
    }
    snprintf(c->vm_ref, sizeof(c->vm_ref), "%s", vm->ref);
    int s = vm_power(vm);
    if (!(op->states & VM_IN(s))) {
        xerr_VM_BAD_POWER_STATE(errp, vm->ref, vm_power_name(expected_state(op->states)), vm_power_name(s));
        return NULL;
    }
    if (xobj_bool(vm, XF_VM_is_control_domain) && !(op->flags & VM_OP_CONTROL_DOMAIN)) {
        xerr_OPERATION_NOT_ALLOWED(errp);
        return NULL;
    }
    if (op->flags & (VM_OP_UNCLAIMED | VM_OP_HELD))
        return vm;
    vmrt *r = vm_rt(vm);
    if (r->busy && !((op->flags & VM_OP_TAKEOVER) && r->waiter)) {
        xerr_OTHER_OPERATION_IN_PROGRESS(errp, "VM", vm->ref);
        return NULL;
    }
    c->prev_busy = r->busy;
    r->busy = op->name;
    return vm;
}

void vm_release(xobj *vm)
{
    if (vm && vm->priv)
        vm_rt(vm)->busy = NULL;
    if (vm)
        vm_drop_if_run_once(vm);
}

/* Every operation that reached the backend, at info (domain "vm"):
 * "vm: VM.start of VM <uuid> (web1) by alice: done" / ": failed: CODE". */
static void log_op(const vm_op *op, const vm_ctx *c, const char *label, bool ok, xerr *const *errp)
{
    if (!xlogd_enabled(XLOG_INFO))
        return;
    char user[64];
    if (c->call)
        xcall_user(c->call, user, sizeof(user));
    else
        snprintf(user, sizeof(user), "xend");  /* a guest's own shutdown, reboot or crash */
    xlogd(XLOG_INFO, "%s of VM %s (%s) by %s: %s%s", op->name, c->vm_ref, label, user,
          ok ? "done" : "failed: ", ok ? "" : errp && *errp ? (*errp)->code : "?");
}

bool vm_op_run(const vm_op *op, xcall *call, const char *ref, void *arg, xerr **errp)
{
    vm_ctx c = { .call = call, .ref = ref, .arg = arg, .domid = -1 };
    bool claims = !(op->flags & (VM_OP_UNCLAIMED | VM_OP_HELD));

    store_wrlock();
    c.vm = claim(op, &c, errp);
    bool ok = c.vm != NULL;
    if (ok) {
        c.domid = vm_domid(c.vm);
        ok = !op->prepare || op->prepare(&c, errp);
        if (!ok && claims && c.vm)
            vm_rt(c.vm)->busy = c.prev_busy;    /* as it was: NULL, or the waiting call's */
    }
    c.vm = NULL;
    store_unlock();
    if (!ok) {
        if (op->done)
            op->done(&c, false);
        return false;
    }

    ok = !op->act || op->act(&c, errp);

    char label[64] = "";
    store_wrlock();
    c.vm = store_find(XCL_VM, c.vm_ref);
    if (c.vm)
        snprintf(label, sizeof(label), "%s", xobj_str(c.vm, XF_VM_name_label));
    if (ok && op->commit)
        op->commit(&c);
    else if (!ok && op->undo)
        op->undo(&c);
    if (claims && !c.keep_claim && !(ok && (op->flags & VM_OP_DEFERRED)))
        vm_release(c.vm);
    c.vm = NULL;
    store_unlock();

    if (c.answered) {
        ok = true;              /* the call was answered meanwhile; nothing to add */
    } else if (!ok && c.err.code) {
        backend_error(&c.err, op->name, errp);
    }
    if (op->act)
        log_op(op, &c, label, ok, errp);
    if (op->done)
        op->done(&c, ok);
    return ok;
}

/* Take a pending waiter off vm (lock held); the caller finishes it unlocked. */
xcall *vm_take_waiter(xobj *vm)
{
    vmrt *r = vm_rt(vm);
    xcall *c = r->waiter;
    if (c) {
        r->waiter = NULL;
        r->wait_kind = W_NONE;
        vm_n_waiters--;
    }
    return c;
}

/* Make the VM's metrics objects exist (lock held; keeps their refs). */
void vm_fix_metrics(xobj *vm, bool raw)
{
    const char *mr = xobj_str(vm, XF_VM_metrics), *gr = xobj_str(vm, XF_VM_guest_metrics);
    xobj *m = *mr ? store_find(XCL_VM_metrics, mr) : NULL;
    xobj *g = *gr ? store_find(XCL_VM_guest_metrics, gr) : NULL;
    if (!m) {
        m = xobj_new(XCL_VM_metrics, *mr ? mr : NULL);
        store_insert(m);
    }
    if (!g) {
        g = xobj_new(XCL_VM_guest_metrics, *gr ? gr : NULL);
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

void vm_fix_pool(xobj *vm, bool raw)
{
    if (!*xobj_str(vm, XF_VM_pool_name)) {
        if (raw)
            raw_set_str(vm, XF_VM_pool_name, VM_DEFAULT_POOL);
        else
            xobj_set_str(vm, XF_VM_pool_name, VM_DEFAULT_POOL);
    }
    if (!vm_has_domain(vm) && xobj_get(vm, XF_VM_cpu_pool)->u.arr.n) {
        if (raw)
            raw_set(vm, XF_VM_cpu_pool, xv_array());
        else
            xobj_set(vm, XF_VM_cpu_pool, xv_array());
    }
}

void vm_reset_copy(xobj *vm)
{
    for (size_t i = 0; i < xrelationships_count; i++)
        if (xrelationships[i].parent_cls == XCL_VM)
            raw_set(vm, xrelationships[i].parent_field, xv_array());
    raw_set_str(vm, XF_VM_power_state, vm_power_name(VM_HALTED));
    raw_set_int(vm, XF_VM_domid, -1);
    raw_set_str(vm, XF_VM_resident_on, "");
    raw_set_str(vm, XF_VM_suspend_VDI, "");
    raw_set_str(vm, XF_VM_metrics, "");
    raw_set_str(vm, XF_VM_guest_metrics, "");
    xv_struct_del(vm->f[XF_VM_other_config], PERSIST_TRANSIENT_KEY);
    raw_set(vm, XF_VM_cpu_pool, xv_array());
    vm_fix_pool(vm, true);
    vm_fix_metrics(vm, true);
}

/* ---- VM class hooks ---- */

static bool vm_create_hook(xcall *call, xobj *o, const xv *rec, xerr **errp)
{
    (void)call;
    (void)rec;
    (void)errp;
    raw_set_str(o, XF_VM_power_state, vm_power_name(VM_HALTED));
    raw_set_int(o, XF_VM_domid, -1);
    raw_set_bool(o, XF_VM_is_control_domain, false);
    raw_set_str(o, XF_VM_metrics, "");
    raw_set_str(o, XF_VM_guest_metrics, "");
    raw_set(o, XF_VM_cpu_pool, xv_array());
    vm_fix_pool(o, true);
    vm_fix_metrics(o, true);
    return true;
}

static void remove_refs(const xobj *vm, int set_field, int cls)
{
    xv *refs = xv_dup(vm->f[set_field]);
    for (size_t i = 0; i < refs->u.arr.n; i++) {
        xobj *d = store_find(cls, refs->u.arr.items[i]->u.str.s);
        if (!d)
            continue;
        if (cls == XCL_VBD || cls == XCL_VIF) {
            xobj *m = store_find(cls == XCL_VBD ? XCL_VBD_metrics : XCL_VIF_metrics,
                                 xobj_str(d, cls == XCL_VBD ? XF_VBD_metrics : XF_VIF_metrics));
            if (m)
                store_remove(m);
        }
        if (cls == XCL_crashdump) {
            xobj *vdi = store_find(XCL_VDI, xobj_str(d, XF_crashdump_VDI));
            store_remove(d);
            if (vdi)
                storage_vdi_remove(vdi);
            continue;
        }
        store_remove(d);
    }
    xv_free(refs);
}

/* Everything a VM owns besides its record: suspend image, devices,
 * crashdumps, metrics (write lock held). */
static void remove_owned(xobj *o)
{
    xobj *svdi = store_find(XCL_VDI, xobj_str(o, XF_VM_suspend_VDI));
    if (svdi) {
        xobj_set_str(o, XF_VM_suspend_VDI, "");
        storage_vdi_remove(svdi);
    }
    remove_refs(o, XF_VM_VBDs, XCL_VBD);
    remove_refs(o, XF_VM_VIFs, XCL_VIF);
    remove_refs(o, XF_VM_consoles, XCL_console);
    remove_refs(o, XF_VM_VTPMs, XCL_VTPM);
    remove_refs(o, XF_VM_DPCIs, XCL_DPCI);
    remove_refs(o, XF_VM_DSCSIs, XCL_DSCSI);
    remove_refs(o, XF_VM_DSCSI_HBAs, XCL_DSCSI_HBA);
    remove_refs(o, XF_VM_crash_dumps, XCL_crashdump);
    xobj *m = store_find(XCL_VM_metrics, xobj_str(o, XF_VM_metrics));
    xobj *g = store_find(XCL_VM_guest_metrics, xobj_str(o, XF_VM_guest_metrics));
    if (m)
        store_remove(m);
    if (g)
        store_remove(g);
}

static bool vm_destroy_hook(xcall *call, xobj *o, xerr **errp)
{
    (void)call;
    if (!vm_is(o, VM_HALTED) && !vm_is(o, VM_SUSPENDED))
        return xerr_VM_BAD_POWER_STATE(errp, o->ref, vm_power_name(VM_HALTED),
                                       vm_power_name(vm_power(o)));
    if (xobj_bool(o, XF_VM_is_control_domain))
        return xerr_OPERATION_NOT_ALLOWED(errp);
    if (o->priv && vm_rt(o)->busy)
        return xerr_OTHER_OPERATION_IN_PROGRESS(errp, "VM", o->ref);
    remove_owned(o);
    return true;
}

void vm_forget(xobj *vm)
{
    remove_owned(vm);
    store_remove(vm);
}

bool vm_drop_if_run_once(xobj *vm)
{
    const char *t = xobj_map_get(vm, XF_VM_other_config, VM_RUN_ONCE_KEY);
    if (!t || (strcasecmp(t, "true") != 0 && strcmp(t, "1") != 0) || !vm_is(vm, VM_HALTED) ||
        xobj_bool(vm, XF_VM_is_control_domain) || (vm->priv && vm_rt(vm)->busy))
        return false;
    xlog(XLOG_INFO, "VM %s (%s) halted and is transient (other_config:%s): removed", vm->ref,
         xobj_str(vm, XF_VM_name_label), VM_RUN_ONCE_KEY);
    vm_forget(vm);
    return true;
}

static bool vm_set_hook(xcall *call, xobj *o, int field, const xv *v, xerr **errp)
{
    (void)call;
    (void)v;
    /* what a domain was built with cannot change under it */
    if ((field == XF_VM_memory_static_max || field == XF_VM_VCPUs_max ||
         field == XF_VM_HVM_boot_policy) && vm_has_domain(o))
        return xerr_VM_BAD_POWER_STATE(errp, o->ref, vm_power_name(VM_HALTED),
                                       vm_power_name(vm_power(o)));
    return true;
}

const xclass_ops vm_ops = { .create = vm_create_hook, .destroy = vm_destroy_hook,
                            .set = vm_set_hook };


