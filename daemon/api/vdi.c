/* VDI: a disk image, a sparse file in its SR's directory: record hooks,
 * resize, snapshot and clone (docs/storage.md). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

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

static bool vdi_create_hook(xcall *call, xobj *o, const xv *rec, xerr **errp)
{
    (void)call;
    (void)rec;
    return storage_vdi_create_file(o, errp);
}

/* VDI.destroy: the generic destructor removes the record after this. */
static bool vdi_destroy_hook(xcall *call, xobj *o, xerr **errp)
{
    (void)call;
    if (storage_vdi_in_use(o))
        return xerr_VDI_IN_USE(errp, o->ref, "destroy");
    char *path = storage_vdi_path(o);
    if (path && unlink(path) != 0 && errno != ENOENT)
        xlog(XLOG_WARNING, "cannot remove %s: %s", path, strerror(errno));
    free(path);
    storage_vdi_unlink_users(o);
    xobj *sr = store_find(XCL_SR, xobj_str(o, XF_VDI_SR));
    if (sr)
        xobj_set_int(sr, XF_SR_virtual_allocation,
                     xobj_int(sr, XF_SR_virtual_allocation) - xobj_int(o, XF_VDI_virtual_size));
    return true;
}

static bool vdi_resize(xobj *vdi, int64_t size, xerr **errp)
{
    if (!storage_size_ok(size, errp))
        return false;
    if (storage_vdi_in_use(vdi))
        return xerr_VDI_IN_USE(errp, vdi->ref, "resize");
    char *path = storage_vdi_path(vdi);
    if (!path)
        return xerr_internal(errp, "VDI %s has no file", vdi->ref);
    bool ok = truncate(path, size) == 0 || xerr_internal(errp, "cannot resize %s: %s", path,
                                                         strerror(errno));
    free(path);
    if (ok)
        storage_vdi_refresh(vdi);
    return ok;
}

static bool vdi_set_hook(xcall *call, xobj *o, int field, const xv *v, xerr **errp)
{
    (void)call;
    if (field == XF_VDI_virtual_size && !vdi_resize(o, v->u.i, errp))
        return false;
    return true;
}

bool xh_VDI_resize(xcall *call, const char *vdi, int64_t size, xerr **errp)
{
    (void)call;
    store_wrlock();
    xobj *o = store_find(XCL_VDI, vdi);
    bool ok = o ? vdi_resize(o, size, errp) : xerr_HANDLE_INVALID(errp, "VDI", vdi);
    if (ok) {
        xobj_set_int(o, XF_VDI_virtual_size, size);
        xobj *sr = store_find(XCL_SR, xobj_str(o, XF_VDI_SR));
        if (sr)
            storage_sr_refresh(sr);
    }
    store_unlock();
    return ok;
}

/* Copy src to a new file dst: a reflink (FICLONE) where the file system
 * shares blocks, else a copy of the data extents that keeps holes. */
static bool copy_file(const char *src, const char *dst, xerr **errp)
{
    int s = open(src, O_RDONLY | O_CLOEXEC);
    if (s < 0)
        return xerr_internal(errp, "cannot open %s: %s", src, strerror(errno));
    int d = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (d < 0) {
        close(s);
        return xerr_internal(errp, "cannot create %s: %s", dst, strerror(errno));
    }
    bool ok = true;
    struct stat st;
    if (ioctl(d, FICLONE, s) == 0)
        goto out;
    if (fstat(s, &st) != 0 || ftruncate(d, st.st_size) != 0) {
        ok = xerr_internal(errp, "cannot size %s: %s", dst, strerror(errno));
        goto out;
    }
    off_t pos = 0;
    for (;;) {
        off_t data = lseek(s, pos, SEEK_DATA);
        if (data < 0)
            break;              /* ENXIO: no data after pos */
        off_t hole = lseek(s, data, SEEK_HOLE);
        if (hole < 0)
            hole = st.st_size;
        off_t in = data, out = data;
        while (in < hole) {
            ssize_t n = copy_file_range(s, &in, d, &out, (size_t)(hole - in), 0);
            if (n <= 0) {
                char buf[65536];
                ssize_t r = pread(s, buf, sizeof(buf) < (size_t)(hole - in) ? sizeof(buf)
                                                                             : (size_t)(hole - in),
                                  in);
                if (r <= 0 || pwrite(d, buf, (size_t)r, out) != r) {
                    ok = xerr_internal(errp, "cannot copy %s: %s", src, strerror(errno));
                    goto out;
                }
                in += r;
                out += r;
            }
        }
        pos = hole;
    }
out:
    close(s);
    close(d);
    if (!ok)
        unlink(dst);
    return ok;
}

/* VDI.snapshot / VDI.clone: a new VDI in the same SR with a copy of the data. */
static bool vdi_copy(const char *vdi, bool snapshot, xv **result_r, xerr **errp)
{
    store_rdlock();
    xobj *o = store_find(XCL_VDI, vdi);
    char *src = o ? storage_vdi_path(o) : NULL;
    xobj *n = NULL;
    if (o) {
        n = xobj_new(XCL_VDI, NULL);
        for (int f = 0; f < XF_VDI__COUNT; f++)
            if (f != XF_VDI_uuid && f != XF_VDI_VBDs && f != XF_VDI_crash_dumps) {
                xv_free(n->f[f]);
                n->f[f] = xv_dup(o->f[f]);
            }
    }
    store_unlock();
    if (!o)
        return xerr_HANDLE_INVALID(errp, "VDI", vdi);
    if (!src) {
        xobj_free(n);
        return xerr_internal(errp, "VDI %s has no file", vdi);
    }
    store_rdlock();
    char *dst = storage_vdi_path(n);
    store_unlock();
    bool ok = dst && copy_file(src, dst, errp);
    free(src);
    if (!ok) {
        free(dst);
        xobj_free(n);
        return ok || xerr_internal(errp, "VDI %s: no destination", vdi);
    }
    xv_struct_set(n->f[XF_VDI_other_config], snapshot ? "snapshot_of" : "cloned_from", xv_str(vdi));
    store_wrlock();
    xobj *sr = store_find(XCL_SR, xobj_str(n, XF_VDI_SR));
    if (!sr) {
        store_unlock();
        unlink(dst);
        free(dst);
        xobj_free(n);
        return xerr_HANDLE_INVALID(errp, "VDI", vdi);
    }
    free(dst);
    *result_r = xv_str(n->ref);
    store_insert(n);
    storage_vdi_refresh(n);
    storage_sr_refresh(sr);
    store_unlock();
    return true;
}

bool xh_VDI_snapshot(xcall *call, const char *vdi, const xv *driver_params, xv **result_r,
                     xerr **errp)
{
    (void)call;
    (void)driver_params;
    return vdi_copy(vdi, true, result_r, errp);
}

bool xh_VDI_clone(xcall *call, const char *vdi, const xv *driver_params, xv **result_r, xerr **errp)
{
    (void)call;
    (void)driver_params;
    return vdi_copy(vdi, false, result_r, errp);
}

const xclass_ops vdi_ops = { .create = vdi_create_hook, .destroy = vdi_destroy_hook,
                             .set = vdi_set_hook, .blocking = true };

/* VDI.set_security_label: a generated refusal (no policy, see xspolicy.c). */
