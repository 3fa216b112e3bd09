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

static bool vif_create(xcall *call, xobj *o, const xv *rec, xerr **errp)
{
    (void)call;
    (void)rec;
    xobj *vm = owner_vm(xobj_str(o, XF_VIF_VM), errp);
    if (!vm)
        return false;
    if (!*xobj_str(o, XF_VIF_network))
        return xerr_HANDLE_INVALID(errp, "network", "");
    if (!*xobj_str(o, XF_VIF_device)) {
        char name[16];
        for (int i = 0; i < 1000; i++) {
            snprintf(name, sizeof(name), "%d", i);
            if (!device_taken(vm, XCL_VIF, XF_VM_VIFs, XF_VIF_device, name, o->ref))
                break;
        }
        raw_set_str(o, XF_VIF_device, name);
    }
    if (device_taken(vm, XCL_VIF, XF_VM_VIFs, XF_VIF_device, xobj_str(o, XF_VIF_device), o->ref))
        return xerr_DEVICE_ALREADY_EXISTS(errp, xobj_str(o, XF_VIF_device));
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
    raw_set_bool(o, XF_VIF_currently_attached, false);
    raw_set_str(o, XF_VIF_metrics, metrics_make(XCL_VIF_metrics, "")->ref);
    return true;
}

static bool vif_set(xcall *call, xobj *o, int field, const xv *v, xerr **errp)
{
    (void)call;
    xobj *vm = store_find(XCL_VM, xobj_str(o, XF_VIF_VM));
    bool live = vm && vm_has_domain(vm) && xobj_bool(o, XF_VIF_currently_attached);
    if ((field == XF_VIF_device || field == XF_VIF_MAC) && live)
        return xerr_DEVICE_ALREADY_ATTACHED(errp, o->ref);
    if (field == XF_VIF_MAC && !mac_ok(v->u.str.s))
        return xerr_VALUE_NOT_SUPPORTED(errp, "VIF.MAC", v->u.str.s, "not a MAC address aa:bb:cc:dd:ee:ff");
    if (field == XF_VIF_device && vm &&
        device_taken(vm, XCL_VIF, XF_VM_VIFs, XF_VIF_device, v->u.str.s, o->ref))
        return xerr_DEVICE_ALREADY_EXISTS(errp, v->u.str.s);
    return true;
}

/* ---- plug, unplug: in the VM operation frame (hotplug.c) ---- */

static bool hotplug_prepare(vm_ctx *c, xerr **errp)
{
    vm_hotplug *h = c->arg;
    xobj *vif = vm_hotplug_check(c, errp);
    if (!vif)
        return false;
    vm_config_nic(vif, &h->nic);
    vm_hotplug_claim(c, vif);
    return true;
}

static bool plug_act(vm_ctx *c, xerr **errp)
{
    (void)errp;
    vm_hotplug *h = c->arg;
    return backend_nic_add((uint32_t)c->domid, &h->nic, &c->err) == 0;
}

static bool unplug_act(vm_ctx *c, xerr **errp)
{
    (void)errp;
    vm_hotplug *h = c->arg;
    return backend_nic_remove((uint32_t)c->domid, h->nic.devid, &c->err) == 0;
}

static const vm_op op_plug = {
    .name = "VIF.plug", .states = VM_LIVE, .flags = VM_OP_UNCLAIMED,
    .locate = vm_hotplug_locate, .prepare = hotplug_prepare, .act = plug_act,
    .commit = vm_hotplug_commit, .undo = vm_hotplug_undo,
};
static const vm_op op_unplug = {
    .name = "VIF.unplug", .states = VM_LIVE, .flags = VM_OP_UNCLAIMED,
    .locate = vm_hotplug_locate, .prepare = hotplug_prepare, .act = unplug_act,
    .commit = vm_hotplug_commit, .undo = vm_hotplug_undo,
};

bool xh_VIF_plug(xcall *call, const char *self, xerr **errp)
{
    vm_hotplug h = { .k = &vif_kind, .plug = true };
    return vm_op_run(&op_plug, call, self, &h, errp);
}

bool xh_VIF_unplug(xcall *call, const char *self, xerr **errp)
{
    vm_hotplug h = { .k = &vif_kind, .plug = false };
    return vm_op_run(&op_unplug, call, self, &h, errp);
}

const xclass_ops vif_ops = { .create = vif_create, .destroy = dev_destroy, .set = vif_set };

/* ---- security label (no policy, see xspolicy.c; the setter is a generated refusal) ---- */

bool xh_VIF_get_security_label(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)errp;
    *result_r = xv_str("");
    return true;
}
