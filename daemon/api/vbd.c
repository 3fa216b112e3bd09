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

/* hda..hdz for an HVM guest, xvda..xvdz for a PV one. */
static void vbd_nth(const xobj *vm, int i, char *buf, size_t size)
{
    bool hvm = *xobj_str(vm, XF_VM_HVM_boot_policy) != '\0';
    snprintf(buf, size, "%s%c", hvm ? "hd" : "xvd", 'a' + i);
}

static bool vbd_check(const xobj *vm, xobj *o, xerr **errp)
{
    (void)vm;
    if (strcmp(xobj_str(o, XF_VBD_type), "CD") != 0 && !*xobj_str(o, XF_VBD_VDI))
        return xerr_VALUE_NOT_SUPPORTED(errp, "VBD.VDI", "", "a disk VBD needs a VDI");
    return true;
}

static const devcreate vbd_devcreate = { &vbd_kind, XF_VBD_device, vbd_check, 26, vbd_nth };

static bool vbd_create(xcall *call, xobj *o, const xv *rec, xerr **errp)
{
    return dev_create(&vbd_devcreate, call, o, rec, errp);
}

static bool vbd_set(xcall *call, xobj *o, int field, const xv *v, xerr **errp)
{
    (void)call;
    return field != XF_VBD_device || dev_set_name(&vbd_kind, o, XF_VBD_device, v->u.str.s, errp);
}

/* ---- plug, unplug: hotplug.c ---- */

bool xh_VBD_plug(xcall *call, const char *self, xerr **errp)
{
    return vm_hotplug_run(&vbd_kind, true, call, self, errp);
}

bool xh_VBD_unplug(xcall *call, const char *self, xerr **errp)
{
    return vm_hotplug_run(&vbd_kind, false, call, self, errp);
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
