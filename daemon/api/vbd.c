/* VBD: a VM's disk or CD drive: record hooks, hot-plug, media change. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/api.h"
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
            if (!device_taken(vm, XC_VBD, XF_VM_VBDs, XF_VBD_device, name, o->ref))
                break;
        }
        raw_set_str(o, XF_VBD_device, name);
    }
    if (device_taken(vm, XC_VBD, XF_VM_VBDs, XF_VBD_device, xobj_str(o, XF_VBD_device), o->ref))
        return xerr_DEVICE_ALREADY_EXISTS(errp, xobj_str(o, XF_VBD_device));
    raw_set_bool(o, XF_VBD_currently_attached, false);
    raw_set_str(o, XF_VBD_metrics, metrics_make(XC_VBD_metrics, "")->ref);
    return true;
}

static bool vbd_set(xcall *call, xobj *o, int field, const xv *v, xerr **errp)
{
    (void)call;
    xobj *vm = store_find(XC_VM, xobj_str(o, XF_VBD_VM));
    if (field == XF_VBD_device && vm) {
        if (xobj_bool(o, XF_VBD_currently_attached) && vm_has_domain(vm))
            return xerr_DEVICE_ALREADY_ATTACHED(errp, o->ref);
        if (device_taken(vm, XC_VBD, XF_VM_VBDs, XF_VBD_device, v->u.str.s, o->ref))
            return xerr_DEVICE_ALREADY_EXISTS(errp, v->u.str.s);
    }
    return true;
}

bool xh_VBD_plug(xcall *call, const char *self, xerr **errp)
{
    (void)call;
    xobj *vm, *vbd = hp_begin(&vbd_kind, self, true, &vm, errp);
    xo_disk d;
    if (!vbd)
        return false;
    if (!vm_config_disk(vbd, &d, errp)) {
        store_unlock();
        return false;
    }
    uint32_t domid = hp_claim(&vbd_kind, vbd, vm, true);
    xo_error e = { 0 };
    int r = xd_ops->disk_add ? xd_ops->disk_add(xd_be, domid, &d, &e) : hp_notsup(&e, "disk hot-plug");
    return hp_end(&vbd_kind, self, true, r, &e, NULL, errp);
}

bool xh_VBD_unplug(xcall *call, const char *self, xerr **errp)
{
    (void)call;
    xobj *vm, *vbd = hp_begin(&vbd_kind, self, false, &vm, errp);
    if (!vbd)
        return false;
    char vdev[sizeof(((xo_disk *)0)->vdev)];
    snprintf(vdev, sizeof(vdev), "%s", xobj_str(vbd, XF_VBD_device));
    uint32_t domid = hp_claim(&vbd_kind, vbd, vm, false);
    xo_error e = { 0 };
    int r = xd_ops->disk_remove ? xd_ops->disk_remove(xd_be, domid, vdev, &e)
                                : hp_notsup(&e, "disk hot-unplug");
    return hp_end(&vbd_kind, self, false, r, &e, NULL, errp);
}

bool xh_VBD_media_change(xcall *call, const char *vbd_ref, const char *vdi, xerr **errp)
{
    (void)call;
    store_wrlock();
    xobj *vbd = store_find(XC_VBD, vbd_ref);
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
    xobj *vm = store_find(XC_VM, xobj_str(vbd, XF_VBD_VM));
    bool live = vm && vm_has_domain(vm) && xobj_bool(vbd, XF_VBD_currently_attached);
    xo_disk d;
    uint32_t domid = vm ? (uint32_t)vm_domid(vm) : 0;
    bool ok = !live || vm_config_disk(vbd, &d, errp);
    if (!ok)
        xobj_set_str(vbd, XF_VBD_VDI, old);
    store_unlock();
    if (ok && live) {
        xo_error e = { 0 };
        int r = xd_ops->disk_change_media ? xd_ops->disk_change_media(xd_be, domid, &d, &e)
                                          : (xo_error_set(&e, XO_E_NOTSUP, "media change"), -1);
        if (r != 0) {
            store_wrlock();
            vbd = store_find(XC_VBD, vbd_ref);
            if (vbd)
                xobj_set_str(vbd, XF_VBD_VDI, old);
            store_unlock();
            ok = vm_backend_error(&e, "VBD.media_change", errp);
        }
    }
    free(old);
    return ok;
}

const xclass_ops vbd_ops = { .create = vbd_create, .destroy = dev_destroy, .set = vbd_set };
