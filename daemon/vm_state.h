/* vm_state: a VM record's power state and domain, read by every module that
 * looks at VMs (the VM class in daemon/api/vm*.c, devices.c, storage.c, the
 * device classes).  Pure functions of the record, below all of them: they
 * call nothing of the daemon but the store's accessors.  Lock held (shared is
 * enough) for every function taking an xobj. */
#ifndef XEND_VM_STATE_H
#define XEND_VM_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/store.h"
#include "xapi_model.h"
#include "xenops/xenops.h"

/* ---- power states: the generated enum (XEV_vm_power_state_*) ---- */
#define VM_HALTED XEV_vm_power_state_Halted
#define VM_PAUSED XEV_vm_power_state_Paused
#define VM_RUNNING XEV_vm_power_state_Running
#define VM_SUSPENDED XEV_vm_power_state_Suspended
#define VM_CRASHED XEV_vm_power_state_Crashed

/* A set of power states (bit per state). */
#define VM_IN(s) (1u << (s))
#define VM_LIVE (VM_IN(VM_RUNNING) | VM_IN(VM_PAUSED))

/* vm's power state; the name of a state. */
int vm_power(const xobj *vm);
const char *vm_power_name(int state);
static inline bool vm_is(const xobj *vm, int state) { return vm_power(vm) == state; }
/* The power state of a domain the backend reports as st. */
int vm_power_of_domain(xo_domstate st);
/* Running, Paused or Crashed with a domain id: a domain exists. */
bool vm_has_domain(const xobj *vm);
int64_t vm_domid(const xobj *vm);

#endif
