/* xm: running a VM creation plan of config/vmdesc.h through libxen. */
#ifndef XM_PLAN_H
#define XM_PLAN_H

#include "config/vmdesc.h"
#include "xm/xm.h"

/* Run p; the new VM's handle (yours to free with xen_vm_free), or NULL
 * after printing why (what the plan made is destroyed again). */
xen_vm xm_plan_run(xen_session *s, const vmd_plan *p);

#endif
