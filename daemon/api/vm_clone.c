/* VM.clone: a Halted VM's record and devices copied. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/api/vm.h"
#include "daemon/host.h"
#include "daemon/persist.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

/* ---- clone ---- */

static xobj *clone_obj(const xobj *src)
{
    xobj *n = xobj_new(src->cls, NULL);
    int uf = xclasses[src->cls].uuid_field;
    for (int f = 0; f < xclasses[src->cls].nfields; f++)
        if (f != uf)
            raw_set(n, f, xv_dup(src->f[f]));
    return n;
}

typedef struct clone_arg {
    const char *name;
    xv *result;
} clone_arg;

/* All under the write lock: no backend call. */
static bool clone_prepare(vm_ctx *c, xerr **errp)
{
    (void)errp;
    clone_arg *a = c->arg;
    xobj *o = c->vm;
    xobj *n = clone_obj(o);
    raw_set_str(n, XF_VM_name_label, a->name);
    vm_reset_copy(n);
    store_insert(n);
    /* devices: the same disks (VDIs are shared, like xend's clone), new
     * MACs for the VIFs, new metrics */
    const struct { int set, cls, vmf; } devs[] = {
        { XF_VM_VBDs, XCL_VBD, XF_VBD_VM }, { XF_VM_VIFs, XCL_VIF, XF_VIF_VM },
        { XF_VM_consoles, XCL_console, XF_console_VM }, { XF_VM_VTPMs, XCL_VTPM, XF_VTPM_VM },
    };
    for (size_t d = 0; d < sizeof(devs) / sizeof(devs[0]); d++) {
        xv *refs = xv_dup(o->f[devs[d].set]);
        for (size_t i = 0; i < refs->u.arr.n; i++) {
            xobj *s = store_find(devs[d].cls, refs->u.arr.items[i]->u.str.s);
            if (!s)
                continue;
            xobj *dev = clone_obj(s);
            raw_set_str(dev, devs[d].vmf, n->ref);
            if (devs[d].cls == XCL_VBD) {
                raw_set_bool(dev, XF_VBD_currently_attached, false);
                raw_set(dev, XF_VBD_metrics, xv_str(""));
            } else if (devs[d].cls == XCL_VIF) {
                unsigned char r[3];
                char mac[18];
                if (getentropy(r, sizeof(r)) != 0)
                    memset(r, 0x5a, sizeof(r));
                snprintf(mac, sizeof(mac), "00:16:3e:%02x:%02x:%02x", r[0] & 0x7f, r[1], r[2]);
                raw_set_str(dev, XF_VIF_MAC, mac);
                raw_set_bool(dev, XF_VIF_currently_attached, false);
                raw_set(dev, XF_VIF_metrics, xv_str(""));
            }
            store_insert(dev);
        }
        xv_free(refs);
    }
    devices_fix_metrics(n);
    a->result = xv_str(n->ref);
    return true;
}

static const vm_op op_clone = { .name = "VM.clone", .states = VM_IN(VM_HALTED), .prepare = clone_prepare };

bool xh_VM_clone(xcall *call, const char *vm, const char *new_name, xv **result_r, xerr **errp)
{
    clone_arg a = { .name = new_name };
    if (!vm_op_run(&op_clone, call, vm, &a, errp))
        return false;
    *result_r = a.result;
    return true;
}
