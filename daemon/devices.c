/* devices: what the device classes (daemon/api/vbd.c, vif.c, console.c,
 * vtpm.c) share: metrics objects, owner checks, the hot-plug frame of VBD
 * and VIF plug/unplug, and the attachment marks a VM's start and stop set
 * (see docs/lifecycle.md).
 *
 * Creating a device never plugs it: devices present when a VM starts are
 * part of its domain; on a running VM, plug/unplug attach and detach one
 * (XAPI's rule).  currently_attached, status_code and status_detail are
 * live: set when a domain is built, torn down, or a plug/unplug ends.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backend.h"
#include "daemon/classes.h"
#include "daemon/devices.h"
#include "daemon/host.h"
#include "daemon/vm_internal.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

/* ---- helpers ---- */

xobj *metrics_make(int cls, const char *ref)
{
    xobj *m = *ref ? store_find(cls, ref) : NULL;
    if (!m) {
        m = xobj_new(cls, *ref ? ref : NULL);
        store_insert(m);
    }
    return m;
}

static void metrics_drop(int cls, const char *ref)
{
    xobj *m = *ref ? store_find(cls, ref) : NULL;
    if (m)
        store_remove(m);
}

const devkind vbd_kind = { XCL_VBD, "VBD", XF_VBD_VM, XF_VBD_currently_attached,
                           XF_VBD_status_code, XF_VBD_status_detail, XF_VBD_metrics,
                           XCL_VBD_metrics, XF_VM_VBDs };
const devkind vif_kind = { XCL_VIF, "VIF", XF_VIF_VM, XF_VIF_currently_attached,
                           XF_VIF_status_code, XF_VIF_status_detail, XF_VIF_metrics,
                           XCL_VIF_metrics, XF_VM_VIFs };
static const devkind *const kinds[] = { &vbd_kind, &vif_kind };

/* Does vm have a device of class cls (set field vset) named dev (other than self)? */
bool device_taken(const xobj *vm, int cls, int vset, int devfield, const char *dev,
                  const char *self)
{
    const xv *set = vm->f[vset];
    for (size_t i = 0; i < set->u.arr.n; i++) {
        xobj *d = store_find(cls, set->u.arr.items[i]->u.str.s);
        if (d && strcmp(d->ref, self) != 0 && strcmp(xobj_str(d, devfield), dev) == 0)
            return true;
    }
    return false;
}

xobj *owner_vm(const char *ref, xerr **errp)
{
    xobj *vm = *ref ? store_find(XCL_VM, ref) : NULL;
    if (!vm)
        xerr_HANDLE_INVALID(errp, "VM", ref);
    return vm;
}

bool dev_create(const devcreate *dc, xcall *call, xobj *o, const xv *rec, xerr **errp)
{
    (void)call;
    (void)rec;
    const devkind *k = dc->k;
    int f_device = dc->f_device;
    xobj *vm = owner_vm(xobj_str(o, k->f_vm), errp);
    if (!vm || !dc->check(vm, o, errp))
        return false;
    if (!*xobj_str(o, f_device)) {
        char name[16];
        for (int i = 0; i < dc->n_names; i++) {
            dc->nth(vm, i, name, sizeof(name));
            if (!device_taken(vm, k->cls, k->vm_set, f_device, name, o->ref))
                break;
        }
        raw_set_str(o, f_device, name);
    }
    if (device_taken(vm, k->cls, k->vm_set, f_device, xobj_str(o, f_device), o->ref))
        return xerr_DEVICE_ALREADY_EXISTS(errp, xobj_str(o, f_device));
    raw_set_bool(o, k->f_attached, false);
    raw_set_str(o, k->f_metrics, metrics_make(k->c_metrics, "")->ref);
    return true;
}

bool dev_set_name(const devkind *k, const xobj *o, int f_device, const char *name, xerr **errp)
{
    xobj *vm = store_find(XCL_VM, xobj_str(o, k->f_vm));
    if (!vm)
        return true;
    if (xobj_bool(o, k->f_attached) && vm_has_domain(vm))
        return xerr_DEVICE_ALREADY_ATTACHED(errp, o->ref);
    if (device_taken(vm, k->cls, k->vm_set, f_device, name, o->ref))
        return xerr_DEVICE_ALREADY_EXISTS(errp, name);
    return true;
}

/* VBD and VIF destroy: not while plugged into a running domain. */
bool dev_destroy(xcall *call, xobj *o, xerr **errp)
{
    (void)call;
    const devkind *k = o->cls == XCL_VBD ? &vbd_kind : &vif_kind;
    xobj *vm = store_find(XCL_VM, xobj_str(o, k->f_vm));
    if (vm && vm_has_domain(vm) && xobj_bool(o, k->f_attached))
        return xerr_DEVICE_ALREADY_ATTACHED(errp, o->ref);
    metrics_drop(k->c_metrics, xobj_str(o, k->f_metrics));
    return true;
}

/* ---- attachment ---- */

static void dev_status(const devkind *k, xobj *dev, bool attached, int64_t code, const char *detail)
{
    xobj_set_bool(dev, k->f_attached, attached);
    xobj_set_int(dev, k->f_code, code);
    xobj_set_str(dev, k->f_detail, detail);
}

/* ---- shared with the VM class ---- */

/* A vt100 console's location: while the VM has a domain, the pty of its
 * console when the backend offers one (what a terminal client opens);
 * otherwise the console log. */
static void console_locate(xobj *c, const xobj *vm, bool attached)
{
    if (strcmp(xobj_str(c, XF_console_protocol), "vt100") != 0)
        return;
    char tty[XO_PATH_LEN];
    xo_error e = { 0 };
    int64_t domid = xobj_int(vm, XF_VM_domid);
    if (attached && domid >= 0 &&
        backend_domain_console_tty((uint32_t)domid, tty, sizeof(tty), &e) == 0) {
        xobj_set_str(c, XF_console_location, tty);
        return;
    }
    char *log = vm_config_console_log(vm->ref);
    xobj_set_str(c, XF_console_location, log);
    free(log);
}

void devices_set_attached(xobj *vm, bool attached)
{
    const xv *cons = vm->f[XF_VM_consoles];
    for (size_t n = 0; n < sizeof(kinds) / sizeof(kinds[0]); n++) {
        const xv *set = vm->f[kinds[n]->vm_set];
        for (size_t i = 0; i < set->u.arr.n; i++) {
            xobj *d = store_find(kinds[n]->cls, set->u.arr.items[i]->u.str.s);
            if (d)
                dev_status(kinds[n], d, attached, 0, "");
        }
    }
    for (size_t i = 0; i < cons->u.arr.n; i++) {
        xobj *c = store_find(XCL_console, cons->u.arr.items[i]->u.str.s);
        if (c)
            console_locate(c, vm, attached);
    }
}

void devices_fix_metrics(xobj *vm)
{
    for (size_t n = 0; n < sizeof(kinds) / sizeof(kinds[0]); n++) {
        const devkind *k = kinds[n];
        const xv *set = vm->f[k->vm_set];
        for (size_t i = 0; i < set->u.arr.n; i++) {
            xobj *d = store_find(k->cls, set->u.arr.items[i]->u.str.s);
            if (d)
                xobj_set_str(d, k->f_metrics, metrics_make(k->c_metrics, xobj_str(d, k->f_metrics))->ref);
        }
    }
}
