/* vm_internal: what the VM class (daemon/api/vm*.c), devices (devices.c),
 * storage (storage.c) and the configuration builder (vm_config.c) share.  Functions
 * marked "lock held" expect the store lock (write lock when they change
 * anything). */
#ifndef XEND_VM_INTERNAL_H
#define XEND_VM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/dispatch.h"
#include "daemon/store.h"
#include "daemon/storage.h"
#include "daemon/vm_state.h"
#include "xenops/xenops.h"

/* Set a field of an object that is not in the store yet (nobody is
 * notified, no relationship is touched). */
static inline void raw_set(xobj *o, int field, xv *v)
{
    xv_free(o->f[field]);
    o->f[field] = v;
}
static inline void raw_set_str(xobj *o, int field, const char *s) { raw_set(o, field, xv_str(s)); }
static inline void raw_set_int(xobj *o, int field, int64_t i) { raw_set(o, field, xv_int(i)); }
static inline void raw_set_bool(xobj *o, int field, bool b) { raw_set(o, field, xv_bool(b)); }

/* ---- vm_config.c: VM record -> backend configuration ---- */
/* Build cfg for vm (lock held, shared is enough); free with vm_config_dispose. */
bool vm_config_build(const xobj *vm, xo_domain_config *cfg, xerr **errp);
void vm_config_dispose(xo_domain_config *cfg);
/* One device's backend description (lock held). */
bool vm_config_disk(const xobj *vbd, xo_disk *d, xerr **errp);
void vm_config_nic(const xobj *vif, xo_nic *n);
/* The bridge a network's VIFs join (lock held). */
const char *vm_config_bridge(const xobj *net);
/* Where a VM's console output goes: <state>/console-log/<uuid>.log (malloc'd). */
char *vm_config_console_log(const char *vm_uuid);

/* ---- devices.c ---- */
/* After a domain was created / destroyed: mark its devices (write lock held). */
void devices_set_attached(xobj *vm, bool attached);
/* Make the metrics objects of vm's devices exist (write lock held). */
void devices_fix_metrics(xobj *vm);

#endif
