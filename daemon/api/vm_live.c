/* Live changes to a running VM: vCPUs, memory, scheduler parameters,
 * sysrq and triggers. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/vm.h"
#include "daemon/host.h"
#include "daemon/persist.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

/* ---- live changes ---- */

bool xh_VM_set_VCPUs_number_live(xcall *call, const char *self, int64_t nvcpu, xerr **errp)
{
    (void)call;
    store_wrlock();
    xobj *o = vm_claim(self, "set_VCPUs_number_live", S_LIVE, false, errp);
    if (o && (nvcpu < 1 || nvcpu > xobj_int(o, XF_VM_VCPUs_max))) {
        char v[32];
        snprintf(v, sizeof(v), "%" PRId64, nvcpu);
        xerr_VALUE_NOT_SUPPORTED(errp, "nvcpu", v, "must be between 1 and VCPUs_max");
        vm_release(self);
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
    vm_release(self);
    store_unlock();
    return r == 0 || vm_backend_error(&e, "VM.set_VCPUs_number_live", errp);
}

static bool set_memory_live(const char *self, int field, int64_t v, xerr **errp)
{
    store_wrlock();
    xobj *o = vm_claim(self, "set_memory_live", S_LIVE, false, errp);
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
            vm_release(self);
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
    vm_release(self);
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
    xobj *o = vm_claim(self, "add_to_VCPUs_params_live", S_LIVE, false, errp);
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
    vm_release(self);
    store_unlock();
    return r == 0 || vm_backend_error(&e, "VM.add_to_VCPUs_params_live", errp);
}

bool xh_VM_send_sysrq(xcall *call, const char *vm, const char *key, xerr **errp)
{
    (void)call;
    if (strlen(key) != 1)
        return xerr_VALUE_NOT_SUPPORTED(errp, "key", key, "one character");
    store_wrlock();
    xobj *o = vm_claim(vm, "send_sysrq", S_RUNNING, false, errp);
    uint32_t domid = o ? (uint32_t)vm_domid(o) : 0;
    store_unlock();
    if (!o)
        return false;
    xo_error e = { 0 };
    int r = xd_ops->domain_sysrq ? xd_ops->domain_sysrq(xd_be, domid, key[0], &e)
                                 : (xo_error_set(&e, XO_E_NOTSUP, "sysrq"), -1);
    store_wrlock();
    vm_release(vm);
    store_unlock();
    return r == 0 || vm_backend_error(&e, "VM.send_sysrq", errp);
}

bool xh_VM_send_trigger(xcall *call, const char *vm, const char *trigger, xerr **errp)
{
    (void)call;
    store_wrlock();
    xobj *o = vm_claim(vm, "send_trigger", S_RUNNING, false, errp);
    uint32_t domid = o ? (uint32_t)vm_domid(o) : 0;
    store_unlock();
    if (!o)
        return false;
    xo_error e = { 0 };
    int r = xd_ops->domain_trigger ? xd_ops->domain_trigger(xd_be, domid, trigger, &e)
                                   : (xo_error_set(&e, XO_E_NOTSUP, "trigger"), -1);
    store_wrlock();
    vm_release(vm);
    store_unlock();
    return r == 0 || vm_backend_error(&e, "VM.send_trigger", errp);
}
