/* console: a VM's console (vt100: its log file). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/api/api.h"
#include "daemon/api/console.h"
#include "daemon/classes.h"
#include "daemon/devices.h"
#include "daemon/host.h"
#include "daemon/session.h"
#include "util/log.h"
#include "daemon/vm_internal.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"
#include "xapi_policy.h"

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

/* The tail of a VM's console log (console.h): the file is the daemon's own
 * (vm_config_console_log, below the state directory), never a client's path. */
bool console_log_tail(const char *session, const char *vm_ref, size_t max, char **text_r, size_t *len_r,
                      xerr **errp)
{
    xcall *c = xcall_new();
    bool ok = session_check(c, session ? session : "", errp);
    int role = c->role;
    xcall_free(c);
    if (!ok)
        return false;
    /* what a console shows is the guest's: XAPI lets vm-operator and above see it */
    if (role > XROLE_VM_OPERATOR)
        return xerr_RBAC_PERMISSION_DENIED(errp, "http/get_console",
                                           "No permission in user session. (Roles with this permission: "
                                           "pool-admin, pool-operator, vm-power-admin, vm-admin, vm-operator)");
    store_rdlock();
    const char *plain = xref_plain(vm_ref ? vm_ref : "");
    xobj *vm = *plain ? store_find(XCL_VM, plain) : NULL;
    char *path = vm ? vm_config_console_log(vm->ref) : NULL;
    store_unlock();
    if (!path)
        return xerr_HANDLE_INVALID(errp, "VM", vm_ref ? vm_ref : "");
    *len_r = 0;
    *text_r = malloc(max + 1);
    if (!*text_r)
        abort();
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        off_t from = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
        ssize_t n;
        while (*len_r < max && (n = pread(fd, *text_r + *len_r, max - *len_r, from + (off_t)*len_r)) > 0)
            *len_r += (size_t)n;
    } else if (fd < 0 && errno != ENOENT) {
        xlog(XLOG_WARNING, "console log of %s: %s: %s", plain, path, strerror(errno));
    }
    if (fd >= 0)
        close(fd);
    (*text_r)[*len_r] = '\0';
    free(path);
    return true;        /* no log yet: an empty one */
}
