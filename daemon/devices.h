/* devices: what the device classes' files share (daemon/devices.c); their
 * plug/unplug run in the VM operation frame (daemon/api/hotplug.c).
 * All with the store lock held unless said otherwise. */
#ifndef XEND_DEVICES_H
#define XEND_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/dispatch.h"
#include "daemon/store.h"
#include "xenops/xenops.h"

/* What VBD and VIF share: their fields for the owner, attachment, status
 * and metrics, and the VM's set that lists them. */
typedef struct devkind {
    int cls;
    const char *name;
    int f_vm, f_attached, f_code, f_detail, f_metrics, c_metrics, vm_set;
} devkind;
extern const devkind vbd_kind, vif_kind;

/* The metrics object ref names, made if missing (write lock held). */
xobj *metrics_make(int cls, const char *ref);
/* Does vm have a device of class cls (set field vset) named dev (other than self)? */
bool device_taken(const xobj *vm, int cls, int vset, int devfield, const char *dev,
                  const char *self);
/* The VM a device names (HANDLE_INVALID when none). */
xobj *owner_vm(const char *ref, xerr **errp);
/* How a VBD or VIF (k) is made: its name's field, the class's own checks of
 * the new record o of VM vm, and the names it may be given, nth(vm, i) for
 * i < n_names (at most 15 characters). */
typedef struct devcreate {
    const devkind *k;
    int f_device;
    bool (*check)(const xobj *vm, xobj *o, xerr **errp);
    int n_names;
    void (*nth)(const xobj *vm, int i, char *buf, size_t size);
} devcreate;
/* VBD and VIF create hook, of dc's class: the VM must exist and the class's
 * checks pass; a device without a name gets the first name no other device
 * of the VM has (or the last), DEVICE_ALREADY_EXISTS when another has it.
 * Then it is detached, with new metrics (o is not in the store: raw set). */
bool dev_create(const devcreate *dc, xcall *call, xobj *o, const xv *rec, xerr **errp);
/* VBD and VIF set hook, of the name (field f_device): not while plugged
 * into a running domain, not another device's name on the same VM. */
bool dev_set_name(const devkind *k, const xobj *o, int f_device, const char *name, xerr **errp);
/* VBD and VIF destroy hook: not while plugged into a running domain. */
bool dev_destroy(xcall *call, xobj *o, xerr **errp);

#endif
