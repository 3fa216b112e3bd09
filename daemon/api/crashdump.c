/* crashdump: a core dump kept as a VDI. */
#include "config.h"

#include <stdio.h>

#include "daemon/api/api.h"
#include "daemon/classes.h"
#include "daemon/host.h"
#include "daemon/persist.h"
#include "daemon/storage.h"
#include "daemon/vm_internal.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

/* crashdump.destroy: its VDI goes with it. */
static bool crashdump_destroy_hook(xcall *call, xobj *o, xerr **errp)
{
    (void)call;
    (void)errp;
    xobj *vdi = store_find(XCL_VDI, xobj_str(o, XF_crashdump_VDI));
    if (vdi) {
        xobj_set_str(o, XF_crashdump_VDI, "");
        storage_vdi_remove(vdi);
    }
    return true;
}

const xclass_ops crashdump_ops = { .destroy = crashdump_destroy_hook, .blocking = true };
