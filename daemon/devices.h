/* devices: what the device classes' files share (daemon/devices.c).
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
/* VM_BAD_POWER_STATE unless vm has a domain. */
bool need_domain(const xobj *vm, xerr **errp);
/* VBD and VIF destroy hook: not while plugged into a running domain. */
bool dev_destroy(xcall *call, xobj *o, xerr **errp);

/* The hot-plug frame of VBD and VIF plug/unplug.  hp_begin takes the
 * write lock and finds device self and its VM, which must have a domain,
 * with the device detached (plug) or attached (unplug); on success the lock
 * is still held, on failure released.  hp_claim marks the device (a second
 * plug or unplug now fails), releases the lock and returns the domid.
 * hp_end records the backend's outcome r/e (mac: the MAC the backend gave
 * a plugged VIF) and takes the lock itself. */
xobj *hp_begin(const devkind *k, const char *self, bool plug, xobj **vmp, xerr **errp);
uint32_t hp_claim(const devkind *k, xobj *dev, const xobj *vm, bool plug);
bool hp_end(const devkind *k, const char *self, bool plug, int r, const xo_error *e,
            const char *mac, xerr **errp);
/* The backend's answer when it has no hot-plug operation. */
int hp_notsup(xo_error *e, const char *what);

#endif
