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

const devkind vbd_kind = { XC_VBD, "VBD", XF_VBD_VM, XF_VBD_currently_attached,
                           XF_VBD_status_code, XF_VBD_status_detail, XF_VBD_metrics,
                           XC_VBD_metrics, XF_VM_VBDs };
const devkind vif_kind = { XC_VIF, "VIF", XF_VIF_VM, XF_VIF_currently_attached,
                           XF_VIF_status_code, XF_VIF_status_detail, XF_VIF_metrics,
                           XC_VIF_metrics, XF_VM_VIFs };
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
    xobj *vm = *ref ? store_find(XC_VM, ref) : NULL;
    if (!vm)
        xerr_HANDLE_INVALID(errp, "VM", ref);
    return vm;
}

bool need_domain(const xobj *vm, xerr **errp)
{
    if (vm_has_domain(vm))
        return true;
    return xerr_VM_BAD_POWER_STATE(errp, vm->ref, "Running", xobj_str(vm, XF_VM_power_state));
}

/* VBD and VIF destroy: not while plugged into a running domain. */
bool dev_destroy(xcall *call, xobj *o, xerr **errp)
{
    (void)call;
    const devkind *k = o->cls == XC_VBD ? &vbd_kind : &vif_kind;
    xobj *vm = store_find(XC_VM, xobj_str(o, k->f_vm));
    if (vm && vm_has_domain(vm) && xobj_bool(o, k->f_attached))
        return xerr_DEVICE_ALREADY_ATTACHED(errp, o->ref);
    metrics_drop(k->c_metrics, xobj_str(o, k->f_metrics));
    return true;
}

/* ---- hot-plug: the frame shared by VBD and VIF plug/unplug ---- */

static void dev_status(const devkind *k, xobj *dev, bool attached, int64_t code, const char *detail)
{
    xobj_set_bool(dev, k->f_attached, attached);
    xobj_set_int(dev, k->f_code, code);
    xobj_set_str(dev, k->f_detail, detail);
}

/* Takes the store's write lock and finds device self and its VM, which must
 * have a domain, with the device detached (plug) or attached (unplug).  On
 * success the lock is still held; on failure it is released. */
xobj *hp_begin(const devkind *k, const char *self, bool plug, xobj **vmp, xerr **errp)
{
    store_wrlock();
    xobj *dev = store_find(k->cls, self);
    xobj *vm = dev ? owner_vm(xobj_str(dev, k->f_vm), errp) : NULL;
    if (!dev)
        xerr_HANDLE_INVALID(errp, k->name, self);
    if (!dev || !vm || !need_domain(vm, errp) ||
        (plug && xobj_bool(dev, k->f_attached) && !xerr_DEVICE_ALREADY_ATTACHED(errp, self)) ||
        (!plug && !xobj_bool(dev, k->f_attached) && !xerr_DEVICE_ALREADY_DETACHED(errp, self))) {
        store_unlock();
        return NULL;
    }
    *vmp = vm;
    return dev;
}

/* Claims the device (a second plug or unplug now fails), releases the lock
 * and returns the domid to call the backend with. */
uint32_t hp_claim(const devkind *k, xobj *dev, const xobj *vm, bool plug)
{
    uint32_t domid = (uint32_t)vm_domid(vm);
    xobj_set_bool(dev, k->f_attached, plug);
    store_unlock();
    return domid;
}

/* Records the backend's outcome r/e on the device (when it still exists);
 * mac, when set, is the MAC the backend gave a plugged VIF. */
bool hp_end(const devkind *k, const char *self, bool plug, int r, const xo_error *e,
            const char *mac, xerr **errp)
{
    store_wrlock();
    xobj *dev = store_find(k->cls, self);
    if (dev) {
        dev_status(k, dev, (r == 0) == plug, r == 0 ? 0 : e->code, r == 0 ? "" : e->msg);
        if (r == 0 && mac && *mac)
            xobj_set_str(dev, XF_VIF_MAC, mac);
    }
    store_unlock();
    if (r == 0)
        return true;
    char what[32];
    snprintf(what, sizeof(what), "%s.%s", k->name, plug ? "plug" : "unplug");
    return vm_backend_error(e, what, errp);
}

/* The backend's answer when it has no hot-plug operation. */
int hp_notsup(xo_error *e, const char *what)
{
    xo_error_set(e, XO_E_NOTSUP, "%s", what);
    return -1;
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
    if (attached && domid >= 0 && xd_ops->domain_console_tty &&
        xd_ops->domain_console_tty(xd_be, (uint32_t)domid, tty, sizeof(tty), &e) == 0) {
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
        xobj *c = store_find(XC_console, cons->u.arr.items[i]->u.str.s);
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
