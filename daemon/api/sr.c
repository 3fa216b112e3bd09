/* SR: a storage repository, a directory of VDI files (docs/storage.md). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/api/api.h"
#include "daemon/classes.h"
#include "daemon/host.h"
#include "daemon/paths.h"
#include "daemon/persist.h"
#include "daemon/storage.h"
#include "daemon/vm_internal.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

/* Make the SR's directory dir below sr-dir, confined like every client-named
 * path (an existing directory is taken as it is). */
static bool make_sr_dir(const char *dir, xerr **errp)
{
    const char *name = NULL;
    int dfd = paths_open_parent(PATHS_SR, "device_config:location", dir, true, &name, errp);
    if (dfd < 0)
        return false;
    struct stat st;
    bool ok = (mkdirat(dfd, name, 0700) == 0 || errno == EEXIST) &&
              fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    if (!ok) {
        xlog(XLOG_WARNING, "SR.create: %s: %s", dir, strerror(errno));
        xerr_VALUE_NOT_SUPPORTED(errp, "device_config:location", dir, "cannot be made a directory");
    }
    close(dfd);
    return ok;
}

bool xh_SR_create(xcall *call, const char *host, const xv *device_config, int64_t physical_size,
                  const char *name_label, const char *name_description, const char *type,
                  const char *content_type, bool shared, xv **result_r, xerr **errp)
{
    (void)call;
    (void)shared;
    if (*type && strcmp(type, SR_TYPE) != 0)
        return xerr_SR_UNKNOWN_DRIVER(errp, type);
    if (strcmp(host, host_ref()) != 0)
        return xerr_HANDLE_INVALID(errp, "host", host);
    char uuid[XREF_LEN], *dir;
    xuuid_generate(uuid);
    const xv *loc = xv_struct_get(device_config, "location");
    if (loc && loc->kind == XV_STRING && loc->u.str.len)
        dir = strdup(loc->u.str.s);
    else if (asprintf(&dir, "%s/%s", paths_dir(PATHS_SR), uuid) < 0)
        dir = NULL;
    if (!dir)
        abort();
    if (!make_sr_dir(dir, errp)) {
        free(dir);
        return false;
    }
    store_wrlock();
    xobj *sr = storage_sr_new(uuid, dir, name_label, name_description, content_type,
                      physical_size > 0 ? physical_size : 0);
    *result_r = xv_str(sr->ref);
    store_unlock();
    free(dir);
    return true;
}

/* SR.destroy (files too) and SR.forget (records only). */
static bool sr_drop(const char *sr_ref, bool files, xerr **errp)
{
    store_wrlock();
    xobj *sr = store_find(XCL_SR, sr_ref);
    if (!sr) {
        store_unlock();
        return xerr_HANDLE_INVALID(errp, "SR", sr_ref);
    }
    const xv *vdis = sr->f[XF_SR_VDIs];
    for (size_t i = 0; i < vdis->u.arr.n; i++) {
        xobj *v = store_find(XCL_VDI, vdis->u.arr.items[i]->u.str.s);
        if (v && storage_vdi_in_use(v)) {
            store_unlock();
            return xerr_VDI_IN_USE(errp, v->ref, files ? "destroy" : "forget");
        }
    }
    char *dir = storage_sr_dir(sr) ? strdup(storage_sr_dir(sr)) : NULL;
    while (sr->f[XF_SR_VDIs]->u.arr.n) {
        xobj *v = store_find(XCL_VDI, sr->f[XF_SR_VDIs]->u.arr.items[0]->u.str.s);
        if (!v) {
            xobj_set_remove(sr, XF_SR_VDIs, sr->f[XF_SR_VDIs]->u.arr.items[0]->u.str.s);
            continue;
        }
        storage_vdi_drop(v, !files);
    }
    while (sr->f[XF_SR_PBDs]->u.arr.n) {
        xobj *p = store_find(XCL_PBD, sr->f[XF_SR_PBDs]->u.arr.items[0]->u.str.s);
        if (!p) {
            xobj_set_remove(sr, XF_SR_PBDs, sr->f[XF_SR_PBDs]->u.arr.items[0]->u.str.s);
            continue;
        }
        store_remove(p);
    }
    for (xobj *pool = store_first(XCL_pool); pool; pool = store_next(pool)) {
        const int fs[] = { XF_pool_default_SR, XF_pool_suspend_image_SR, XF_pool_crash_dump_SR };
        for (size_t i = 0; i < 3; i++)
            if (strcmp(xobj_str(pool, fs[i]), sr->ref) == 0)
                xobj_set_str(pool, fs[i], "");
    }
    xobj *h = store_find(XCL_host, host_ref());
    if (h && strcmp(xobj_str(h, XF_host_suspend_image_sr), sr->ref) == 0)
        xobj_set_str(h, XF_host_suspend_image_sr, "");
    if (h && strcmp(xobj_str(h, XF_host_crash_dump_sr), sr->ref) == 0)
        xobj_set_str(h, XF_host_crash_dump_sr, "");
    store_remove(sr);
    store_unlock();
    if (files && dir && rmdir(dir) != 0 && errno != ENOENT)
        xlog(XLOG_INFO, "SR directory %s kept: %s", dir, strerror(errno));
    free(dir);
    return true;
}

bool xh_SR_destroy(xcall *call, const char *sr, xerr **errp)
{
    (void)call;
    return sr_drop(sr, true, errp);
}

bool xh_SR_forget(xcall *call, const char *sr, xerr **errp)
{
    (void)call;
    return sr_drop(sr, false, errp);
}

bool xh_SR_get_supported_types(xcall *call, xv **result_r, xerr **errp)
{
    (void)call;
    (void)errp;
    *result_r = xv_array();
    xv_array_add(*result_r, xv_str(SR_TYPE));
    return true;
}
