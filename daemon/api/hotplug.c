/* Device hot-plug: the parts VBD and VIF plug/unplug share, run in the VM
 * operation frame (vm.h) without claiming the VM: the device itself is
 * claimed by marking it attached (plug) or detached (unplug) before the
 * backend is called, so a second plug or unplug of it fails at once. */
#include "config.h"

#include <stdio.h>

#include "daemon/api/vm.h"
#include "daemon/backend.h"
#include "daemon/devices.h"
#include "xapi_errors.h"
#include "xapi_model.h"

typedef struct hotplug {
    const devkind *k;
    bool plug;
    xo_disk disk;               /* VBD */
    xo_nic nic;                 /* VIF; plug: the MAC the backend gave */
} hotplug;

static xobj *locate(vm_ctx *c, xerr **errp)
{
    const hotplug *h = c->arg;
    const devkind *k = h->k;
    xobj *dev = store_find(k->cls, c->ref);
    if (!dev) {
        xerr_HANDLE_INVALID(errp, k->name, c->ref);
        return NULL;
    }
    return owner_vm(xobj_str(dev, k->f_vm), errp);
}

/* Checks that the device may be plugged / unplugged now, has the kind
 * describe it, then claims it. */
static bool prepare(vm_ctx *c, xerr **errp)
{
    hotplug *h = c->arg;
    const devkind *k = h->k;
    xobj *dev = store_find(k->cls, c->ref);
    if (!vm_has_domain(c->vm))
        return xerr_VM_BAD_POWER_STATE(errp, c->vm->ref, vm_power_name(VM_RUNNING),
                                       vm_power_name(vm_power(c->vm)));
    bool attached = xobj_bool(dev, k->f_attached);
    if (h->plug && attached)
        return xerr_DEVICE_ALREADY_ATTACHED(errp, c->ref);
    if (!h->plug && !attached)
        return xerr_DEVICE_ALREADY_DETACHED(errp, c->ref);
    if (k->cls == XCL_VIF)
        vm_config_nic(dev, &h->nic);
    else if (h->plug && !vm_config_disk(dev, &h->disk, errp))
        return false;
    else if (!h->plug)
        snprintf(h->disk.vdev, sizeof(h->disk.vdev), "%s", xobj_str(dev, XF_VBD_device));
    xobj_set_bool(dev, k->f_attached, h->plug);
    return true;
}

static bool act(vm_ctx *c, xerr **errp)
{
    (void)errp;
    hotplug *h = c->arg;
    uint32_t domid = (uint32_t)c->domid;
    if (h->k->cls == XCL_VIF)
        return (h->plug ? backend_nic_add(domid, &h->nic, &c->err)
                        : backend_nic_remove(domid, h->nic.devid, &c->err)) == 0;
    return (h->plug ? backend_disk_add(domid, &h->disk, &c->err)
                    : backend_disk_remove(domid, h->disk.vdev, &c->err)) == 0;
}

/* The device's attachment and status after the backend's answer. */
static void status(vm_ctx *c, bool attached, int64_t code, const char *detail)
{
    const hotplug *h = c->arg;
    const devkind *k = h->k;
    xobj *dev = store_find(k->cls, c->ref);
    if (!dev)
        return;
    xobj_set_bool(dev, k->f_attached, attached);
    xobj_set_int(dev, k->f_code, code);
    xobj_set_str(dev, k->f_detail, detail);
    if (attached && k->cls == XCL_VIF && h->nic.mac[0])
        xobj_set_str(dev, XF_VIF_MAC, h->nic.mac);
}

static void commit(vm_ctx *c)
{
    const hotplug *h = c->arg;
    status(c, h->plug, 0, "");
}

/* The backend's own message is in the daemon's log, not in the record. */
static void undo(vm_ctx *c)
{
    const hotplug *h = c->arg;
    status(c, !h->plug, c->err.code ? c->err.code : XO_E_FAIL,
           h->plug ? "the backend could not plug the device (the daemon's log says why)"
                   : "the backend could not unplug the device (the daemon's log says why)");
}

bool vm_hotplug_run(const devkind *k, bool plug, xcall *call, const char *ref, xerr **errp)
{
    char name[16]; /* "VBD.unplug" */
    snprintf(name, sizeof(name), "%s.%s", k->name, plug ? "plug" : "unplug");
    const vm_op op = {
        .name = name, .states = VM_LIVE, .flags = VM_OP_UNCLAIMED,
        .locate = locate, .prepare = prepare, .act = act, .commit = commit, .undo = undo,
    };
    hotplug h = { .k = k, .plug = plug };
    return vm_op_run(&op, call, ref, &h, errp);
}
