/* Start-up: reconcile VM records with the backend's domains. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backend.h"
#include "daemon/api/vm.h"
#include "daemon/paths.h"
#include "daemon/host.h"
#include "daemon/persist.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

/* ---- start-up: reconcile records with the backend's domains ---- */

/* Every relationship's parent Set from its children (lock held). */
static void relink_all(void)
{
    for (size_t i = 0; i < xrelationships_count; i++) {
        const xrelationship *r = &xrelationships[i];
        for (xobj *c = store_first(r->child_cls); c; c = store_next(c)) {
            const xv *v = xobj_get(c, r->child_field);
            size_t n = v->kind == XV_ARRAY ? v->u.arr.n : 1;   /* a ref, or many-to-many's Set */
            for (size_t k = 0; k < n; k++) {
                const xv *e = v->kind == XV_ARRAY ? v->u.arr.items[k] : v;
                xobj *po = e->kind == XV_STRING && *e->u.str.s
                               ? store_find(r->parent_cls, e->u.str.s) : NULL;
                if (po)
                    xobj_set_add(po, r->parent_field, c->ref);
            }
        }
    }
}

bool vm_setup(const daemon_options *o, char **err_r)
{
    if (!paths_setup(o->state_dir, o->dirs, err_r))
        return false;
    store_wrlock();
    relink_all();
    for (xobj *vm = store_first(XCL_VM); vm; vm = store_next(vm)) {
        /* state of the daemon before pool_name was a field: set_pool_name kept it here */
        const char *old = xobj_map_get(vm, XF_VM_other_config, "cpu_pool");
        if (old && !*xobj_str(vm, XF_VM_pool_name)) {
            xobj_set_str(vm, XF_VM_pool_name, old);
            xv_struct_del(vm->f[XF_VM_other_config], "cpu_pool");
            xobj_touch(vm, XF_VM_other_config);
        }
        vm_fix_pool(vm, false);
        if (xobj_bool(vm, XF_VM_is_control_domain))
            continue;
        vm_fix_metrics(vm, false);
        devices_fix_metrics(vm);
        xobj_set_str(vm, XF_VM_resident_on, "");
    }
    store_unlock();
    storage_setup();

    xo_dominfo *doms = NULL;
    size_t nd = 0;
    xo_error e = { 0 };
    if (backend_domain_list(&doms, &nd, &e) != 0) {
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
        xobj *vm = store_find(XCL_VM, d->uuid);
        if (vm && !xobj_bool(vm, XF_VM_is_control_domain)) {
            if (vm_is(vm, VM_SUSPENDED)) {      /* a domain restored behind our back */
                xobj *svdi = store_find(XCL_VDI, xobj_str(vm, XF_VM_suspend_VDI));
                xobj_set_str(vm, XF_VM_suspend_VDI, "");
                if (svdi)
                    storage_vdi_remove(svdi);
            }
            vm_set_power(vm, vm_power_of_domain(d->state), d->domid);
            attached++;
            if (d->state == XO_STATE_SHUTDOWN || d->state == XO_STATE_CRASHED) {
                /* it shut down while xend was away: apply its policy now */
                pending[np].type = XO_EV_DOMAIN_SHUTDOWN;
                pending[np].domid = d->domid;
                snprintf(pending[np].uuid, sizeof(pending[np].uuid), "%s", d->uuid);
                pending[np++].reason = d->state == XO_STATE_CRASHED ? XO_SHUTDOWN_CRASH : d->reason;
            }
        } else if (!vm) {
            vm_adopt(d);
            adopted++;
        }
    }
    for (xobj *vm = store_first(XCL_VM), *next; vm; vm = next) {
        next = store_next(vm);
        if (xobj_bool(vm, XF_VM_is_control_domain))
            continue;
        int64_t domid = vm_domid(vm);
        bool alive = false;
        for (size_t i = 0; i < nd && !alive && domid >= 0; i++)
            alive = doms[i].domid == (uint32_t)domid && strcmp(doms[i].uuid, vm->ref) == 0;
        if (vm_has_domain(vm) && !alive) {
            vm_set_power(vm, VM_HALTED, -1);
            halted++;
        } else if (vm_is(vm, VM_SUSPENDED) && !store_find(XCL_VDI, xobj_str(vm, XF_VM_suspend_VDI))) {
            vm_set_power(vm, VM_HALTED, -1);
            halted++;
        } else if (!vm_has_domain(vm) && !vm_is(vm, VM_SUSPENDED)) {
            vm_set_power(vm, VM_HALTED, -1);
        }
        vm_drop_if_run_once(vm);    /* its domain ended while xend was down */
    }
    store_unlock();
    free(doms);
    for (size_t i = 0; i < np; i++)
        vm_backend_event(NULL, &pending[i]);
    free(pending);
    persist_flush();
    xlog(XLOG_INFO, "VMs: %zu records, %zu domains re-attached, %zu adopted, %zu set Halted",
         store_count(XCL_VM), attached, adopted, halted);
    return true;
}
