/* Device hot-plug: the parts VBD and VIF plug/unplug share, run in the VM
 * operation frame (vm.h) without claiming the VM: the device itself is
 * claimed by marking it attached (plug) or detached (unplug) before the
 * backend is called, so a second plug or unplug of it fails at once. */
#include "config.h"

#include "daemon/api/vm.h"
#include "daemon/devices.h"
#include "xapi_errors.h"
#include "xapi_model.h"

xobj *vm_hotplug_locate(vm_ctx *c, xerr **errp)
{
    const vm_hotplug *h = c->arg;
    xobj *dev = store_find(h->k->cls, c->ref);
    if (!dev) {
        xerr_HANDLE_INVALID(errp, h->k->name, c->ref);
        return NULL;
    }
    return owner_vm(xobj_str(dev, h->k->f_vm), errp);
}

xobj *vm_hotplug_check(vm_ctx *c, xerr **errp)
{
    const vm_hotplug *h = c->arg;
    xobj *dev = store_find(h->k->cls, c->ref);
    if (!vm_has_domain(c->vm)) {
        xerr_VM_BAD_POWER_STATE(errp, c->vm->ref, vm_power_name(VM_RUNNING), vm_power_name(vm_power(c->vm)));
        return NULL;
    }
    bool attached = xobj_bool(dev, h->k->f_attached);
    if (h->plug && attached) {
        xerr_DEVICE_ALREADY_ATTACHED(errp, c->ref);
        return NULL;
    }
    if (!h->plug && !attached) {
        xerr_DEVICE_ALREADY_DETACHED(errp, c->ref);
        return NULL;
    }
    return dev;
}

void vm_hotplug_claim(vm_ctx *c, xobj *dev)
{
    const vm_hotplug *h = c->arg;
    xobj_set_bool(dev, h->k->f_attached, h->plug);
}

/* The device's attachment and status after the backend's answer. */
static void status(vm_ctx *c, bool attached, int64_t code, const char *detail)
{
    const vm_hotplug *h = c->arg;
    xobj *dev = store_find(h->k->cls, c->ref);
    if (!dev)
        return;
    xobj_set_bool(dev, h->k->f_attached, attached);
    xobj_set_int(dev, h->k->f_code, code);
    xobj_set_str(dev, h->k->f_detail, detail);
    if (attached && h->k->cls == XCL_VIF && h->nic.mac[0])
        xobj_set_str(dev, XF_VIF_MAC, h->nic.mac);
}

void vm_hotplug_commit(vm_ctx *c)
{
    const vm_hotplug *h = c->arg;
    status(c, h->plug, 0, "");
}

/* The backend's own message is in the daemon's log, not in the record. */
void vm_hotplug_undo(vm_ctx *c)
{
    const vm_hotplug *h = c->arg;
    status(c, !h->plug, c->err.code ? c->err.code : XO_E_FAIL,
           h->plug ? "the backend could not plug the device (the daemon's log says why)"
                   : "the backend could not unplug the device (the daemon's log says why)");
}
