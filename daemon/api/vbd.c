/* VBD: a VM's disk or CD drive: record hooks, hot-plug, media change. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static bool vbd_create(xcall *call, xobj *o, const xv *rec, xerr **errp)
{
    (void)call;
    (void)rec;
    xobj *vm = owner_vm(xobj_str(o, XF_VBD_VM), errp);
    if (!vm)
        return false;
    if (strcmp(xobj_str(o, XF_VBD_type), "CD") != 0 && !*xobj_str(o, XF_VBD_VDI))
        return xerr_VALUE_NOT_SUPPORTED(errp, "VBD.VDI", "", "a disk VBD needs a VDI");
    if (!*xobj_str(o, XF_VBD_device)) {
        bool hvm = *xobj_str(vm, XF_VM_HVM_boot_policy) != '\0';
        char name[8];
        for (char c = 'a'; c <= 'z'; c++) {
            snprintf(name, sizeof(name), "%s%c", hvm ? "hd" : "xvd", c);
            if (!device_taken(vm, XCL_VBD, XF_VM_VBDs, XF_VBD_device, name, o->ref))
                break;
        }
        raw_set_str(o, XF_VBD_device, name);
    }
    if (device_taken(vm, XCL_VBD, XF_VM_VBDs, XF_VBD_device, xobj_str(o, XF_VBD_device), o->ref))
        return xerr_DEVICE_ALREADY_EXISTS(errp, xobj_str(o, XF_VBD_device));
    raw_set_bool(o, XF_VBD_currently_attached, false);
    raw_set_str(o, XF_VBD_metrics, metrics_make(XCL_VBD_metrics, "")->ref);
    return true;
}

static bool vbd_set(xcall *call, xobj *o, int field, const xv *v, xerr **errp)
{
    (void)call;
    xobj *vm = store_find(XCL_VM, xobj_str(o, XF_VBD_VM));
    if (field == XF_VBD_device && vm) {
        if (xobj_bool(o, XF_VBD_currently_attached) && vm_has_domain(vm))
            return xerr_DEVICE_ALREADY_ATTACHED(errp, o->ref);
        if (device_taken(vm, XCL_VBD, XF_VM_VBDs, XF_VBD_device, v->u.str.s, o->ref))
            return xerr_DEVICE_ALREADY_EXISTS(errp, v->u.str.s);
    }
    return true;
}

/* ---- plug, unplug: in the VM operation frame (hotplug.c) ---- */

static bool plug_prepare(vm_ctx *c, xerr **errp)
{
    vm_hotplug *h = c->arg;
    xobj *vbd = vm_hotplug_check(c, errp);
    if (!vbd || !vm_config_disk(vbd, &h->disk, errp))
        return false;
    vm_hotplug_claim(c, vbd);
    return true;
}

static bool plug_act(vm_ctx *c, xerr **errp)
{
    (void)errp;
    vm_hotplug *h = c->arg;
    return backend_disk_add((uint32_t)c->domid, &h->disk, &c->err) == 0;
}

static bool unplug_prepare(vm_ctx *c, xerr **errp)
{
    vm_hotplug *h = c->arg;
    xobj *vbd = vm_hotplug_check(c, errp);
    if (!vbd)
        return false;
    snprintf(h->disk.vdev, sizeof(h->disk.vdev), "%s", xobj_str(vbd, XF_VBD_device));
    vm_hotplug_claim(c, vbd);
    return true;
}

static bool unplug_act(vm_ctx *c, xerr **errp)
{
    (void)errp;
    vm_hotplug *h = c->arg;
    return backend_disk_remove((uint32_t)c->domid, h->disk.vdev, &c->err) == 0;
}

static const vm_op op_plug = {
    .name = "VBD.plug", .states = VM_LIVE, .flags = VM_OP_UNCLAIMED,
    .locate = vm_hotplug_locate, .prepare = plug_prepare, .act = plug_act,
    .commit = vm_hotplug_commit, .undo = vm_hotplug_undo,
};
static const vm_op op_unplug = {
    .name = "VBD.unplug", .states = VM_LIVE, .flags = VM_OP_UNCLAIMED,
    .locate = vm_hotplug_locate, .prepare = unplug_prepare, .act = unplug_act,
    .commit = vm_hotplug_commit, .undo = vm_hotplug_undo,
};

bool xh_VBD_plug(xcall *call, const char *self, xerr **errp)
{
    vm_hotplug h = { .k = &vbd_kind, .plug = true };
    return vm_op_run(&op_plug, call, self, &h, errp);
}

bool xh_VBD_unplug(xcall *call, const char *self, xerr **errp)
{
    vm_hotplug h = { .k = &vbd_kind, .plug = false };
    return vm_op_run(&op_unplug, call, self, &h, errp);
}

bool xh_VBD_media_change(xcall *call, const char *vbd_ref, const char *vdi, xerr **errp)
{
    (void)call;
    store_wrlock();
    xobj *vbd = store_find(XCL_VBD, vbd_ref);
    if (!vbd) {
        store_unlock();
        return xerr_HANDLE_INVALID(errp, "VBD", vbd_ref);
    }
    if (strcmp(xobj_str(vbd, XF_VBD_type), "CD") != 0) {
        store_unlock();
        return xerr_VBD_NOT_REMOVABLE_MEDIA(errp, vbd_ref);
    }
    char *old = strdup(xobj_str(vbd, XF_VBD_VDI));
    xobj_set_str(vbd, XF_VBD_VDI, vdi);
    xobj *vm = store_find(XCL_VM, xobj_str(vbd, XF_VBD_VM));
    bool live = vm && vm_has_domain(vm) && xobj_bool(vbd, XF_VBD_currently_attached);
    xo_disk d;
    uint32_t domid = vm ? (uint32_t)vm_domid(vm) : 0;
    bool ok = !live || vm_config_disk(vbd, &d, errp);
    if (!ok)
        xobj_set_str(vbd, XF_VBD_VDI, old);
    store_unlock();
    if (ok && live) {
        xo_error e = { 0 };
        int r = backend_disk_change_media(domid, &d, &e);
        if (r != 0) {
            store_wrlock();
            vbd = store_find(XCL_VBD, vbd_ref);
            if (vbd)
                xobj_set_str(vbd, XF_VBD_VDI, old);
            store_unlock();
            ok = backend_error(&e, "VBD.media_change", errp);
        }
    }
    free(old);
    return ok;
}

const xclass_ops vbd_ops = { .create = vbd_create, .destroy = dev_destroy, .set = vbd_set };
