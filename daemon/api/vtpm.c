/* VTPM: records only (no backend support). */
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

static bool vtpm_create(xcall *call, xobj *o, const xv *rec, xerr **errp)
{
    (void)call;
    (void)rec;
    if (!owner_vm(xobj_str(o, XF_VTPM_VM), errp))
        return false;
    if (!*xobj_str(o, XF_VTPM_backend))
        raw_set_str(o, XF_VTPM_backend, "00000000-0000-0000-0000-000000000000");
    return true;
}

const xclass_ops vtpm_ops = { .create = vtpm_create };

bool xh_VTPM_get_runtime_properties(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)errp;
    *result_r = xv_struct();
    return true;
}
