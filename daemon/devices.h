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
/* VBD and VIF destroy hook: not while plugged into a running domain. */
bool dev_destroy(xcall *call, xobj *o, xerr **errp);

#endif
