/* Explicit messages of the smaller classes: PIF VLANs, security labels
 * (XSM/ACM is not available: Xen dropped ACM, so no policy is ever loaded),
 * cpu_pool, VTPM, debug. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "daemon/classes.h"
#include "daemon/daemon.h"
#include "daemon/host.h"
#include "daemon/store.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

/* ---- PIF ---- */

static bool pif_destroy(xcall *call, xobj *o, xerr **errp)
{
    (void)call;
    if (xobj_int(o, XF_PIF_VLAN) < 0)
        return xerr_PIF_IS_PHYSICAL(errp, o->ref);
    return true;
}

static const xclass_ops pif_ops = { .destroy = pif_destroy };

void misc_setup(void)
{
    xclass_register(XC_PIF, &pif_ops);
}

bool xh_PIF_create_VLAN(xcall *call, const char *device, const char *network, const char *host,
                        int64_t VLAN, xv **result_r, xerr **errp)
{
    (void)call;
    char tag[32];
    snprintf(tag, sizeof(tag), "%lld", (long long)VLAN);
    if (VLAN < 0 || VLAN > 4094)
        return xerr_VLAN_TAG_INVALID(errp, tag);
    store_wrlock();
    xobj *net = store_find(XC_network, network);
    if (!net) {
        store_unlock();
        return xerr_HANDLE_INVALID(errp, "network", network);
    }
    const xv *pifs = xobj_get(net, XF_network_PIFs);
    for (size_t i = 0; i < pifs->u.arr.n; i++) {
        xobj *p = store_find(XC_PIF, pifs->u.arr.items[i]->u.str.s);
        if (p && strcmp(xobj_str(p, XF_PIF_host), host) == 0) {
            store_unlock();
            return xerr_NETWORK_ALREADY_CONNECTED(errp, network, p->ref);
        }
    }
    /* the VLAN rides on the physical PIF of that device, if there is one */
    xobj *phys = NULL;
    for (xobj *p = store_first(XC_PIF); p; p = store_next(p))
        if (strcmp(xobj_str(p, XF_PIF_device), device) == 0 && xobj_int(p, XF_PIF_VLAN) < 0)
            phys = p;
    xobj *o = xobj_new(XC_PIF, NULL);
    xv_free(o->f[XF_PIF_device]);
    o->f[XF_PIF_device] = xv_str(device);
    xv_free(o->f[XF_PIF_network]);
    o->f[XF_PIF_network] = xv_str(network);
    xv_free(o->f[XF_PIF_host]);
    o->f[XF_PIF_host] = xv_str(host);
    xv_free(o->f[XF_PIF_VLAN]);
    o->f[XF_PIF_VLAN] = xv_int(VLAN);
    xv_free(o->f[XF_PIF_MTU]);
    o->f[XF_PIF_MTU] = xv_int(phys ? xobj_int(phys, XF_PIF_MTU) : 1500);
    xv_free(o->f[XF_PIF_MAC]);
    o->f[XF_PIF_MAC] = xv_str(phys ? xobj_str(phys, XF_PIF_MAC) : "");
    xobj *pm = xobj_new(XC_PIF_metrics, NULL);
    xv_free(o->f[XF_PIF_metrics]);
    o->f[XF_PIF_metrics] = xv_str(pm->ref);
    store_insert(pm);
    *result_r = xv_str(o->ref);
    store_insert(o);
    store_unlock();
    return true;
}

/* ---- security labels: no XSM/ACM policy can be loaded on this host ---- */

static bool no_policy(xerr **errp)
{
    return xerr_SECURITY_ERROR(errp, "-3", "no security policy is loaded or supported on this host");
}

bool xh_VM_set_security_label(xcall *call, const char *self, const char *security_label,
                              const char *old_label, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)security_label; (void)old_label; (void)result_r;
    return no_policy(errp);
}

bool xh_VIF_set_security_label(xcall *call, const char *self, const char *security_label,
                               const char *old_label, xerr **errp)
{
    (void)call; (void)self; (void)security_label; (void)old_label;
    return no_policy(errp);
}

bool xh_VIF_get_security_label(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)errp;
    *result_r = xv_str("");
    return true;
}

bool xh_VDI_set_security_label(xcall *call, const char *self, const char *security_label,
                               const char *old_label, xerr **errp)
{
    (void)call; (void)self; (void)security_label; (void)old_label;
    return no_policy(errp);
}

bool xh_XSPolicy_get_xstype(xcall *call, xv **result_r, xerr **errp)
{
    (void)call; (void)errp;
    *result_r = xv_int(0);          /* the bit set of supported policy types: none */
    return true;
}

bool xh_XSPolicy_set_xspolicy(xcall *call, const char *type, const char *repr, const char *flags,
                              bool overwrite, xv **result_r, xerr **errp)
{
    (void)call; (void)type; (void)repr; (void)flags; (void)overwrite; (void)result_r;
    return no_policy(errp);
}

bool xh_XSPolicy_reset_xspolicy(xcall *call, const char *type, xv **result_r, xerr **errp)
{
    (void)call; (void)type; (void)result_r;
    return no_policy(errp);
}

bool xh_XSPolicy_get_xspolicy(xcall *call, xv **result_r, xerr **errp)
{
    (void)call; (void)result_r;
    return no_policy(errp);
}

bool xh_XSPolicy_rm_xsbootpolicy(xcall *call, xerr **errp)
{
    (void)call;
    return no_policy(errp);
}

bool xh_XSPolicy_get_labeled_resources(xcall *call, xv **result_r, xerr **errp)
{
    (void)call; (void)errp;
    *result_r = xv_struct();        /* nothing is labelled without a policy */
    return true;
}

bool xh_XSPolicy_set_resource_label(xcall *call, const char *resource, const char *label,
                                    const char *old_label, xerr **errp)
{
    (void)call; (void)resource; (void)label; (void)old_label;
    return no_policy(errp);
}

bool xh_XSPolicy_get_resource_label(xcall *call, const char *resource, xv **result_r, xerr **errp)
{
    (void)call; (void)resource; (void)errp;
    *result_r = xv_str("");
    return true;
}

bool xh_XSPolicy_can_run(xcall *call, const char *security_label, xv **result_r, xerr **errp)
{
    (void)call; (void)security_label; (void)result_r;
    return no_policy(errp);
}

bool xh_ACMPolicy_get_header(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)result_r;
    return no_policy(errp);
}

bool xh_ACMPolicy_get_xml(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)result_r;
    return no_policy(errp);
}

bool xh_ACMPolicy_get_map(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)result_r;
    return no_policy(errp);
}

bool xh_ACMPolicy_get_binary(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)result_r;
    return no_policy(errp);
}

bool xh_ACMPolicy_get_enforced_binary(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)result_r;
    return no_policy(errp);
}

bool xh_ACMPolicy_get_VM_ssidref(xcall *call, const char *vm, xv **result_r, xerr **errp)
{
    (void)call; (void)vm; (void)result_r;
    return no_policy(errp);
}

/* ---- cpu pools: records only; the backends have no cpupool operations ---- */

static bool no_cpupools(const char *what, xerr **errp)
{
    return xerr_NOT_IMPLEMENTED(errp, what);
}

bool xh_cpu_pool_activate(xcall *call, const char *self, xerr **errp)
{
    (void)call; (void)self;
    return no_cpupools("cpu_pool.activate", errp);
}

bool xh_cpu_pool_deactivate(xcall *call, const char *self, xerr **errp)
{
    (void)call; (void)self;
    return no_cpupools("cpu_pool.deactivate", errp);
}

bool xh_cpu_pool_add_host_CPU_live(xcall *call, const char *self, const char *host_cpu, xerr **errp)
{
    (void)call; (void)self; (void)host_cpu;
    return no_cpupools("cpu_pool.add_host_CPU_live", errp);
}

bool xh_cpu_pool_remove_host_CPU_live(xcall *call, const char *self, const char *host_cpu, xerr **errp)
{
    (void)call; (void)self; (void)host_cpu;
    return no_cpupools("cpu_pool.remove_host_CPU_live", errp);
}

bool xh_VM_get_cpu_pool(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)errp;
    *result_r = xv_array();
    store_rdlock();
    for (xobj *p = store_first(XC_cpu_pool); p; p = store_next(p)) {
        const xv *vms = xobj_get(p, XF_cpu_pool_started_VMs);
        for (size_t i = 0; i < vms->u.arr.n; i++)
            if (strcmp(vms->u.arr.items[i]->u.str.s, self) == 0)
                xv_array_add(*result_r, xv_str(p->ref));
    }
    store_unlock();
    return true;
}

bool xh_VM_get_pool_name(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)errp;
    store_rdlock();
    xobj *vm = store_find(XC_VM, self);
    const char *name = vm ? xobj_map_get(vm, XF_VM_other_config, "cpu_pool") : NULL;
    *result_r = xv_str(name ? name : "Pool-0");
    store_unlock();
    return true;
}

bool xh_VM_set_pool_name(xcall *call, const char *self, const char *pool_name, xerr **errp)
{
    (void)call; (void)errp;
    store_wrlock();
    xobj *vm = store_find(XC_VM, self);
    if (vm)
        xobj_map_put(vm, XF_VM_other_config, "cpu_pool", pool_name);
    store_unlock();
    return true;
}

bool xh_VM_cpu_pool_migrate(xcall *call, const char *self, const char *pool, xerr **errp)
{
    (void)call; (void)self; (void)pool;
    return no_cpupools("VM.cpu_pool_migrate", errp);
}

/* ---- VTPM, debug ---- */

bool xh_VTPM_get_runtime_properties(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)errp;
    *result_r = xv_struct();
    return true;
}

bool xh_debug_return_failure(xcall *call, xerr **errp)
{
    (void)call;
    return xerr_internal(errp, "debug.return_failure was called");
}
