/* devices: VBD, VIF, console and VTPM records (create/destroy hooks) and
 * hot-plug on running VMs through the backend (see docs/lifecycle.md).
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
#include <sys/random.h>

#include "daemon/classes.h"
#include "daemon/host.h"
#include "daemon/vm_internal.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

/* ---- helpers ---- */

static xobj *metrics_make(int cls, const char *ref)
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

/* What VBD and VIF share: their fields for the owner, attachment, status
 * and metrics, and the VM's set that lists them. */
typedef struct devkind {
    int cls;
    const char *name;
    int f_vm, f_attached, f_code, f_detail, f_metrics, c_metrics, vm_set;
} devkind;

static const devkind vbd_kind = { XC_VBD, "VBD", XF_VBD_VM, XF_VBD_currently_attached,
                                  XF_VBD_status_code, XF_VBD_status_detail, XF_VBD_metrics,
                                  XC_VBD_metrics, XF_VM_VBDs };
static const devkind vif_kind = { XC_VIF, "VIF", XF_VIF_VM, XF_VIF_currently_attached,
                                  XF_VIF_status_code, XF_VIF_status_detail, XF_VIF_metrics,
                                  XC_VIF_metrics, XF_VM_VIFs };
static const devkind *const kinds[] = { &vbd_kind, &vif_kind };

/* Does vm have a device of class cls (set field vset) named dev (other than self)? */
static bool device_taken(const xobj *vm, int cls, int vset, int devfield, const char *dev,
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

static xobj *owner_vm(const char *ref, xerr **errp)
{
    xobj *vm = *ref ? store_find(XC_VM, ref) : NULL;
    if (!vm)
        xerr_HANDLE_INVALID(errp, "VM", ref);
    return vm;
}

static bool need_domain(const xobj *vm, xerr **errp)
{
    if (vm_has_domain(vm))
        return true;
    return xerr_VM_BAD_POWER_STATE(errp, vm->ref, "Running", xobj_str(vm, XF_VM_power_state));
}

/* ---- VBD ---- */

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

/* VBD and VIF destroy: not while plugged into a running domain. */
static bool dev_destroy(xcall *call, xobj *o, xerr **errp)
{
    (void)call;
    const devkind *k = o->cls == XC_VBD ? &vbd_kind : &vif_kind;
    xobj *vm = store_find(XC_VM, xobj_str(o, k->f_vm));
    if (vm && vm_has_domain(vm) && xobj_bool(o, k->f_attached))
        return xerr_DEVICE_ALREADY_ATTACHED(errp, o->ref);
    metrics_drop(k->c_metrics, xobj_str(o, k->f_metrics));
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
static xobj *hp_begin(const devkind *k, const char *self, bool plug, xobj **vmp, xerr **errp)
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
static uint32_t hp_claim(const devkind *k, xobj *dev, const xobj *vm, bool plug)
{
    uint32_t domid = (uint32_t)vm_domid(vm);
    xobj_set_bool(dev, k->f_attached, plug);
    store_unlock();
    return domid;
}

/* Records the backend's outcome r/e on the device (when it still exists);
 * mac, when set, is the MAC the backend gave a plugged VIF. */
static bool hp_end(const devkind *k, const char *self, bool plug, int r, const xo_error *e,
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
static int hp_notsup(xo_error *e, const char *what)
{
    xo_error_set(e, XO_E_NOTSUP, "%s", what);
    return -1;
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

/* ---- VIF ---- */

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
            if (!device_taken(vm, XC_VIF, XF_VM_VIFs, XF_VIF_device, name, o->ref))
                break;
        }
        raw_set_str(o, XF_VIF_device, name);
    }
    if (device_taken(vm, XC_VIF, XF_VM_VIFs, XF_VIF_device, xobj_str(o, XF_VIF_device), o->ref))
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
    raw_set_str(o, XF_VIF_metrics, metrics_make(XC_VIF_metrics, "")->ref);
    return true;
}

static bool vif_set(xcall *call, xobj *o, int field, const xv *v, xerr **errp)
{
    (void)call;
    xobj *vm = store_find(XC_VM, xobj_str(o, XF_VIF_VM));
    bool live = vm && vm_has_domain(vm) && xobj_bool(o, XF_VIF_currently_attached);
    if ((field == XF_VIF_device || field == XF_VIF_MAC) && live)
        return xerr_DEVICE_ALREADY_ATTACHED(errp, o->ref);
    if (field == XF_VIF_MAC && !mac_ok(v->u.str.s))
        return xerr_VALUE_NOT_SUPPORTED(errp, "VIF.MAC", v->u.str.s, "not a MAC address aa:bb:cc:dd:ee:ff");
    if (field == XF_VIF_device && vm &&
        device_taken(vm, XC_VIF, XF_VM_VIFs, XF_VIF_device, v->u.str.s, o->ref))
        return xerr_DEVICE_ALREADY_EXISTS(errp, v->u.str.s);
    return true;
}

bool xh_VIF_plug(xcall *call, const char *self, xerr **errp)
{
    (void)call;
    xobj *vm, *vif = hp_begin(&vif_kind, self, true, &vm, errp);
    if (!vif)
        return false;
    xo_nic n;
    vm_config_nic(vif, &n);
    uint32_t domid = hp_claim(&vif_kind, vif, vm, true);
    xo_error e = { 0 };
    int r = xd_ops->nic_add ? xd_ops->nic_add(xd_be, domid, &n, &e) : hp_notsup(&e, "network hot-plug");
    return hp_end(&vif_kind, self, true, r, &e, n.mac, errp);
}

bool xh_VIF_unplug(xcall *call, const char *self, xerr **errp)
{
    (void)call;
    xobj *vm, *vif = hp_begin(&vif_kind, self, false, &vm, errp);
    if (!vif)
        return false;
    xo_nic n;
    vm_config_nic(vif, &n);
    uint32_t domid = hp_claim(&vif_kind, vif, vm, false);
    xo_error e = { 0 };
    int r = xd_ops->nic_remove ? xd_ops->nic_remove(xd_be, domid, n.devid, &e)
                               : hp_notsup(&e, "network hot-unplug");
    return hp_end(&vif_kind, self, false, r, &e, NULL, errp);
}

/* ---- console, VTPM ---- */

static void console_locate(xobj *c, const xobj *vm)
{
    if (strcmp(xobj_str(c, XF_console_protocol), "vt100") == 0) {
        char *log = vm_config_console_log(vm->ref);
        xobj_set_str(c, XF_console_location, log);
        free(log);
    }
}

static bool console_create(xcall *call, xobj *o, const xv *rec, xerr **errp)
{
    (void)call;
    const xv *vmv = xv_struct_get(rec, "VM");
    const xv *proto = xv_struct_get(rec, "protocol");
    xobj *vm = owner_vm(vmv && vmv->kind == XV_STRING ? vmv->u.str.s : "", errp);
    if (!vm)
        return false;
    raw_set_str(o, XF_console_VM, vm->ref);
    if (proto && proto->kind == XV_STRING)
        raw_set_str(o, XF_console_protocol, proto->u.str.s);
    if (strcmp(xobj_str(o, XF_console_protocol), "vt100") == 0)
        raw_set(o, XF_console_location, xv_str_take(vm_config_console_log(vm->ref)));
    return true;
}

static bool vtpm_create(xcall *call, xobj *o, const xv *rec, xerr **errp)
{
    (void)call;
    (void)rec;
    if (!owner_vm(xobj_str(o, XF_VTPM_VM), errp))
        return false;
    if (!*xobj_str(o, XF_VTPM_backend))
        raw_set_str(o, XF_VTPM_backend, "00000000-0000-0000-0000-000000000000");
    return true;
}

/* ---- shared with vm.c ---- */

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
    for (size_t i = 0; attached && i < cons->u.arr.n; i++) {
        xobj *c = store_find(XC_console, cons->u.arr.items[i]->u.str.s);
        if (c)
            console_locate(c, vm);
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

static const xclass_ops vbd_ops = { .create = vbd_create, .destroy = dev_destroy, .set = vbd_set };
static const xclass_ops vif_ops = { .create = vif_create, .destroy = dev_destroy, .set = vif_set };
static const xclass_ops console_ops = { .create = console_create };
static const xclass_ops vtpm_ops = { .create = vtpm_create };

void devices_register(void)
{
    xclass_register(XC_VBD, &vbd_ops);
    xclass_register(XC_VIF, &vif_ops);
    xclass_register(XC_console, &console_ops);
    xclass_register(XC_VTPM, &vtpm_ops);
}
