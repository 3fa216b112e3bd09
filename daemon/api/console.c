/* console: a VM's console (vt100: its log file). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/classes.h"
#include "daemon/devices.h"
#include "daemon/host.h"
#include "daemon/vm_internal.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

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

const xclass_ops console_ops = { .create = console_create };
