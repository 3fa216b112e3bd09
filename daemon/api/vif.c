/* VIF: a VM's network interface: record hooks, hot-plug. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "daemon/backend.h"
#include "daemon/api/api.h"
#include "daemon/api/vm.h"
#include "daemon/classes.h"
#include "daemon/devices.h"
#include "daemon/host.h"
#include "daemon/vm_internal.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

static bool mac_ok(const char *m)
{
    if (strlen(m) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        char c = m[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (i % 3 == 2 ? c != ':' : !hex)
            return false;
    }
    return true;
}

static void vif_nth(const xobj *vm, int i, char *buf, size_t size)
{
    (void)vm;
    snprintf(buf, size, "%d", i);
}

/* The network, a MAC (a random one of Xen's range when none), an MTU. */
static bool vif_check(const xobj *vm, xobj *o, xerr **errp)
{
    (void)vm;
    if (!*xobj_str(o, XF_VIF_network))
        return xerr_HANDLE_INVALID(errp, "network", "");
    const char *mac = xobj_str(o, XF_VIF_MAC);
    if (!*mac) {
        unsigned char r[3];
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
            return xerr_internal(errp, "getrandom failed");
        char m[18];
        snprintf(m, sizeof(m), "00:16:3e:%02x:%02x:%02x", r[0] & 0x7f, r[1], r[2]);
        raw_set_str(o, XF_VIF_MAC, m);
    } else if (!mac_ok(mac)) {
        return xerr_VALUE_NOT_SUPPORTED(errp, "VIF.MAC", mac, "not a MAC address aa:bb:cc:dd:ee:ff");
    }
    if (xobj_int(o, XF_VIF_MTU) <= 0)
        raw_set_int(o, XF_VIF_MTU, 1500);
    return true;
}

static const devcreate vif_devcreate = { &vif_kind, XF_VIF_device, vif_check, 1000, vif_nth };

static bool vif_create(xcall *call, xobj *o, const xv *rec, xerr **errp)
{
    return dev_create(&vif_devcreate, call, o, rec, errp);
}

static bool vif_set(xcall *call, xobj *o, int field, const xv *v, xerr **errp)
{
    (void)call;
    if (field == XF_VIF_device)
        return dev_set_name(&vif_kind, o, XF_VIF_device, v->u.str.s, errp);
    if (field != XF_VIF_MAC)
        return true;
    xobj *vm = store_find(XCL_VM, xobj_str(o, XF_VIF_VM));
    if (vm && vm_has_domain(vm) && xobj_bool(o, XF_VIF_currently_attached))
        return xerr_DEVICE_ALREADY_ATTACHED(errp, o->ref);
    if (!mac_ok(v->u.str.s))
        return xerr_VALUE_NOT_SUPPORTED(errp, "VIF.MAC", v->u.str.s,
                                        "not a MAC address aa:bb:cc:dd:ee:ff");
    return true;
}

/* ---- plug, unplug: hotplug.c ---- */

bool xh_VIF_plug(xcall *call, const char *self, xerr **errp)
{
    return vm_hotplug_run(&vif_kind, true, call, self, errp);
}

bool xh_VIF_unplug(xcall *call, const char *self, xerr **errp)
{
    return vm_hotplug_run(&vif_kind, false, call, self, errp);
}

const xclass_ops vif_ops = { .create = vif_create, .destroy = dev_destroy, .set = vif_set };

/* ---- security label (no policy, see xspolicy.c; the setter is a generated refusal) ---- */

bool xh_VIF_get_security_label(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)errp;
    *result_r = xv_str("");
    return true;
}
