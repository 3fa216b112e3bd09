/* vm_state: a VM record's power state and domain (vm_state.h). */
#include "config.h"

#include "daemon/vm_state.h"

int vm_power(const xobj *vm)
{
    int s = xenum_index(XE_vm_power_state, xobj_str(vm, XF_VM_power_state));
    return s < 0 ? XEV_vm_power_state_Unknown : s;
}

const char *vm_power_name(int state)
{
    const xenum_desc *e = &xenums[XE_vm_power_state];
    return state >= 0 && state < e->n ? e->values[state] : "Unknown";
}

int vm_power_of_domain(xo_domstate st)
{
    return st == XO_STATE_PAUSED ? VM_PAUSED : st == XO_STATE_RUNNING ? VM_RUNNING : VM_CRASHED;
}

bool vm_has_domain(const xobj *vm)
{
    int s = vm_power(vm);
    return (s == VM_RUNNING || s == VM_PAUSED || s == VM_CRASHED) && xobj_int(vm, XF_VM_domid) >= 0;
}

int64_t vm_domid(const xobj *vm) { return xobj_int(vm, XF_VM_domid); }
