/* PIF: VLANs on the host's interfaces; a physical PIF cannot be destroyed. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/classes.h"
#include "daemon/host.h"
#include "daemon/store.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

static bool pif_destroy(xcall *call, xobj *o, xerr **errp)
{
    (void)call;
    if (xobj_int(o, XF_PIF_VLAN) < 0)
        return xerr_PIF_IS_PHYSICAL(errp, o->ref);
    return true;
}

const xclass_ops pif_ops = { .destroy = pif_destroy };

bool xh_PIF_create_VLAN(xcall *call, const char *device, const char *network, const char *host,
                        int64_t VLAN, xv **result_r, xerr **errp)
{
    (void)call;
    char tag[32];
    snprintf(tag, sizeof(tag), "%lld", (long long)VLAN);
    if (VLAN < 0 || VLAN > 4094)
        return xerr_VLAN_TAG_INVALID(errp, tag);
    store_wrlock();
    xobj *net = store_find(XCL_network, network);
    if (!net) {
        store_unlock();
        return xerr_HANDLE_INVALID(errp, "network", network);
    }
    const xv *pifs = xobj_get(net, XF_network_PIFs);
    for (size_t i = 0; i < pifs->u.arr.n; i++) {
        xobj *p = store_find(XCL_PIF, pifs->u.arr.items[i]->u.str.s);
        if (p && strcmp(xobj_str(p, XF_PIF_host), host) == 0) {
            store_unlock();
            return xerr_NETWORK_ALREADY_CONNECTED(errp, network, p->ref);
        }
    }
    /* the VLAN rides on the physical PIF of that device, if there is one */
    xobj *phys = NULL;
    for (xobj *p = store_first(XCL_PIF); p; p = store_next(p))
        if (strcmp(xobj_str(p, XF_PIF_device), device) == 0 && xobj_int(p, XF_PIF_VLAN) < 0)
            phys = p;
    xobj *o = xobj_new(XCL_PIF, NULL);
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
    xobj *pm = xobj_new(XCL_PIF_metrics, NULL);
    xv_free(o->f[XF_PIF_metrics]);
    o->f[XF_PIF_metrics] = xv_str(pm->ref);
    store_insert(pm);
    *result_r = xv_str(o->ref);
    store_insert(o);
    store_unlock();
    return true;
}
