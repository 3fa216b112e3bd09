/* storage: file-backed SRs (a directory per SR) and their VDIs (a sparse
 * file per VDI), see docs/storage.md.
 *
 * An SR's directory is its PBD's device_config:location.  The default SR,
 * made at first start under <state>/sr/<uuid>, is named "QCoW" like the
 * default SR of the historical xend, so clients that look it up with
 * SR.get_by_name_label("QCoW") find it; it is the pool's default, suspend
 * image and crash dump SR unless a client chose others.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "daemon/classes.h"
#include "daemon/host.h"
#include "daemon/persist.h"
#include "daemon/storage.h"
#include "daemon/vm_internal.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

#define DEFAULT_SR_NAME "QCoW"

/* ---- paths ---- */

const char *storage_sr_dir(const xobj *sr)
{
    const xv *pbds = sr->f[XF_SR_PBDs];
    const char *any = NULL;
    for (size_t i = 0; i < pbds->u.arr.n; i++) {
        xobj *p = store_find(XCL_PBD, pbds->u.arr.items[i]->u.str.s);
        const char *loc = p ? xobj_map_get(p, XF_PBD_device_config, "location") : NULL;
        if (!loc || !*loc)
            continue;
        if (strcmp(xobj_str(p, XF_PBD_host), host_ref()) == 0)
            return loc;
        any = loc;
    }
    return any;
}

char *storage_vdi_path(const xobj *vdi)
{
    xobj *sr = store_find(XCL_SR, xobj_str(vdi, XF_VDI_SR));
    const char *dir = sr ? storage_sr_dir(sr) : NULL;
    char *p;
    if (!dir)
        return NULL;
    if (asprintf(&p, "%s/%s.img", dir, vdi->ref) < 0)
        abort();
    return p;
}

static int64_t file_usage(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 ? (int64_t)st.st_blocks * 512 : 0;
}

void storage_sr_refresh(xobj *sr)
{
    int64_t virt = 0, phys = 0;
    const xv *vdis = sr->f[XF_SR_VDIs];
    for (size_t i = 0; i < vdis->u.arr.n; i++) {
        xobj *v = store_find(XCL_VDI, vdis->u.arr.items[i]->u.str.s);
        if (v) {
            virt += xobj_int(v, XF_VDI_virtual_size);
            phys += xobj_int(v, XF_VDI_physical_utilisation);
        }
    }
    xobj_set_int(sr, XF_SR_virtual_allocation, virt);
    xobj_set_int(sr, XF_SR_physical_utilisation, phys);
    const char *dir = storage_sr_dir(sr);
    struct statvfs vfs;
    if (dir && xobj_int(sr, XF_SR_physical_size) <= 0 && statvfs(dir, &vfs) == 0)
        xobj_set_int(sr, XF_SR_physical_size, (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize);
}

void storage_vdi_refresh(xobj *vdi)
{
    char *p = storage_vdi_path(vdi);
    xobj_set_int(vdi, XF_VDI_physical_utilisation, file_usage(p));
    free(p);
}

/* ---- VDI records and files ---- */

static bool storage_make_file(const char *path, int64_t size, bool excl, xerr **errp)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : 0), 0600);
    if (fd < 0)
        return xerr_internal(errp, "cannot create %s: %s", path, strerror(errno));
    if (ftruncate(fd, size) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return xerr_internal(errp, "cannot size %s: %s", path, strerror(e));
    }
    close(fd);
    return true;
}

bool storage_size_ok(int64_t size, xerr **errp)
{
    if (size < 0 || size > ((int64_t)1 << 50)) {
        char v[32];
        snprintf(v, sizeof(v), "%" PRId64, size);
        return xerr_VALUE_NOT_SUPPORTED(errp, "VDI.virtual_size", v, "must be between 0 and 1 PiB");
    }
    return true;
}

/* Fill a new VDI o (not in the store yet) and make its file. */
bool storage_vdi_create_file(xobj *o, xerr **errp)
{
    const char *sr_ref = xobj_str(o, XF_VDI_SR);
    xobj *sr = *sr_ref ? store_find(XCL_SR, sr_ref) : NULL;
    if (!sr)
        return xerr_HANDLE_INVALID(errp, "SR", sr_ref);
    if (strcmp(xobj_str(sr, XF_SR_type), SR_TYPE) != 0)
        return xerr_SR_UNKNOWN_DRIVER(errp, xobj_str(sr, XF_SR_type));
    if (!storage_size_ok(xobj_int(o, XF_VDI_virtual_size), errp))
        return false;
    char *path = storage_vdi_path(o);
    if (!path)
        return xerr_internal(errp, "SR %s has no directory on this host", sr->ref);
    bool ok = storage_make_file(path, xobj_int(o, XF_VDI_virtual_size), true, errp);
    if (ok)
        xobj_set_int(sr, XF_SR_virtual_allocation,
                     xobj_int(sr, XF_SR_virtual_allocation) + xobj_int(o, XF_VDI_virtual_size));
    if (ok) {
        raw_set_int(o, XF_VDI_physical_utilisation, file_usage(path));
    }
    free(path);
    return ok;
}

xobj *storage_vdi_create(const char *sr, const char *name, const char *type, int64_t size,
                         xerr **errp)
{
    xobj *o = xobj_new(XCL_VDI, NULL);
    raw_set_str(o, XF_VDI_SR, sr);
    raw_set_str(o, XF_VDI_name_label, name);
    raw_set_str(o, XF_VDI_type, type);
    raw_set_int(o, XF_VDI_virtual_size, size);
    if (!storage_vdi_create_file(o, errp)) {
        xobj_free(o);
        return NULL;
    }
    store_insert(o);
    xobj *s = store_find(XCL_SR, sr);
    if (s)
        storage_sr_refresh(s);
    return o;
}

/* Is vdi used by a domain (attached VBD of a live VM, suspend image)? */
bool storage_vdi_in_use(const xobj *vdi)
{
    const xv *vbds = vdi->f[XF_VDI_VBDs];
    for (size_t i = 0; i < vbds->u.arr.n; i++) {
        xobj *vbd = store_find(XCL_VBD, vbds->u.arr.items[i]->u.str.s);
        xobj *vm = vbd ? store_find(XCL_VM, xobj_str(vbd, XF_VBD_VM)) : NULL;
        if (vm && vm_has_domain(vm) && xobj_bool(vbd, XF_VBD_currently_attached))
            return true;
    }
    for (xobj *vm = store_first(XCL_VM); vm; vm = store_next(vm))
        if (strcmp(xobj_str(vm, XF_VM_suspend_VDI), vdi->ref) == 0)
            return true;
    return false;
}

/* Drop what refers to vdi: CDs become empty, other (detached) VBDs and crash
 * dumps go. */
void storage_vdi_unlink_users(xobj *vdi)
{
    xv *vbds = xv_dup(vdi->f[XF_VDI_VBDs]);
    for (size_t i = 0; i < vbds->u.arr.n; i++) {
        xobj *vbd = store_find(XCL_VBD, vbds->u.arr.items[i]->u.str.s);
        if (!vbd)
            continue;
        if (strcmp(xobj_str(vbd, XF_VBD_type), "CD") == 0) {
            xobj_set_str(vbd, XF_VBD_VDI, "");
        } else {
            xobj *m = store_find(XCL_VBD_metrics, xobj_str(vbd, XF_VBD_metrics));
            if (m)
                store_remove(m);
            store_remove(vbd);
        }
    }
    xv_free(vbds);
    xv *cds = xv_dup(vdi->f[XF_VDI_crash_dumps]);
    for (size_t i = 0; i < cds->u.arr.n; i++) {
        xobj *cd = store_find(XCL_crashdump, cds->u.arr.items[i]->u.str.s);
        if (cd)
            store_remove(cd);
    }
    xv_free(cds);
}

void storage_vdi_drop(xobj *vdi, bool keep_file)
{
    char *path = keep_file ? NULL : storage_vdi_path(vdi);
    if (path && unlink(path) != 0 && errno != ENOENT)
        xlog(XLOG_WARNING, "cannot remove %s: %s", path, strerror(errno));
    free(path);
    xobj *sr = store_find(XCL_SR, xobj_str(vdi, XF_VDI_SR));
    storage_vdi_unlink_users(vdi);
    store_remove(vdi);
    if (sr)
        storage_sr_refresh(sr);
}

void storage_vdi_remove(xobj *vdi) { storage_vdi_drop(vdi, false); }

/* ---- SRs ---- */

xobj *storage_sr_new(const char *uuid, const char *dir, const char *name, const char *descr,
                     const char *content_type, int64_t physical_size)
{
    xobj *sr = xobj_new(XCL_SR, uuid);
    raw_set_str(sr, XF_SR_name_label, name);
    raw_set_str(sr, XF_SR_name_description, descr);
    raw_set_str(sr, XF_SR_type, SR_TYPE);
    raw_set_str(sr, XF_SR_content_type, content_type);
    raw_set_int(sr, XF_SR_physical_size, physical_size);
    store_insert(sr);
    xobj *pbd = xobj_new(XCL_PBD, NULL);
    raw_set_str(pbd, XF_PBD_host, host_ref());
    raw_set_str(pbd, XF_PBD_SR, sr->ref);
    xv_struct_set(pbd->f[XF_PBD_device_config], "location", xv_str(dir));
    raw_set_bool(pbd, XF_PBD_currently_attached, true);
    store_insert(pbd);
    storage_sr_refresh(sr);
    return sr;
}

bool storage_mkdir_sr(const char *dir, xerr **errp)
{
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return xerr_internal(errp, "cannot create %s: %s", dir, strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return xerr_internal(errp, "%s is not a directory", dir);
    return true;
}

const char *storage_sr_for(int purpose)
{
    xobj *h = store_find(XCL_host, host_ref());
    xobj *pool = store_first(XCL_pool);
    const char *cands[3] = {
        h ? xobj_str(h, purpose == STORAGE_SUSPEND ? XF_host_suspend_image_sr : XF_host_crash_dump_sr) : "",
        pool ? xobj_str(pool, purpose == STORAGE_SUSPEND ? XF_pool_suspend_image_SR : XF_pool_crash_dump_SR) : "",
        pool ? xobj_str(pool, XF_pool_default_SR) : "",
    };
    for (size_t i = 0; i < 3; i++)
        if (*cands[i] && store_find(XCL_SR, cands[i]))
            return cands[i];
    for (xobj *sr = store_first(XCL_SR); sr; sr = store_next(sr))
        if (strcmp(xobj_str(sr, XF_SR_type), SR_TYPE) == 0 && storage_sr_dir(sr))
            return sr->ref;
    return NULL;
}

/* ---- start-up, ticks ---- */

void storage_setup(void)
{
    store_wrlock();
    xobj *pool = store_first(XCL_pool);
    const char *def = pool ? xobj_str(pool, XF_pool_default_SR) : "";
    xobj *sr = *def ? store_find(XCL_SR, def) : NULL;
    if (!sr)
        for (xobj *s = store_first(XCL_SR); s && !sr; s = store_next(s))
            if (strcmp(xobj_str(s, XF_SR_name_label), DEFAULT_SR_NAME) == 0)
                sr = s;
    if (!sr) {
        char uuid[XREF_LEN], *dir, *descr;
        xuuid_generate(uuid);
        if (asprintf(&dir, "%s/sr/%s", persist_state_dir(), uuid) < 0 ||
            asprintf(&descr, "xend's default storage: sparse files in %s", dir) < 0)
            abort();
        xerr *e = NULL;
        if (storage_mkdir_sr(dir, &e)) {
            sr = storage_sr_new(uuid, dir, DEFAULT_SR_NAME, descr, "", 0);
            xlog(XLOG_INFO, "default SR %s (\"%s\") in %s", sr->ref, DEFAULT_SR_NAME, dir);
        } else {
            xlog(XLOG_ERROR, "cannot make the default SR: %s", e->n ? e->params[0] : e->code);
            xerr_free(e);
        }
        free(dir);
        free(descr);
    }
    if (sr && pool) {
        if (!*xobj_str(pool, XF_pool_default_SR))
            xobj_set_str(pool, XF_pool_default_SR, sr->ref);
        if (!*xobj_str(pool, XF_pool_suspend_image_SR))
            xobj_set_str(pool, XF_pool_suspend_image_SR, sr->ref);
        if (!*xobj_str(pool, XF_pool_crash_dump_SR))
            xobj_set_str(pool, XF_pool_crash_dump_SR, sr->ref);
    }
    /* every SR's directory and every VDI's file must exist */
    for (xobj *s = store_first(XCL_SR); s; s = store_next(s)) {
        const char *dir = storage_sr_dir(s);
        xerr *e = NULL;
        bool ok = dir && storage_mkdir_sr(dir, &e);
        xerr_free(e);
        const xv *pbds = s->f[XF_SR_PBDs];
        for (size_t i = 0; i < pbds->u.arr.n; i++) {
            xobj *p = store_find(XCL_PBD, pbds->u.arr.items[i]->u.str.s);
            if (p)
                xobj_set_bool(p, XF_PBD_currently_attached, ok);
        }
    }
    for (xobj *v = store_first(XCL_VDI); v; v = store_next(v)) {
        char *path = storage_vdi_path(v);
        struct stat st;
        if (path && stat(path, &st) != 0) {
            xerr *e = NULL;
            xlog(XLOG_WARNING, "VDI %s: %s is missing; made an empty one", v->ref, path);
            if (!storage_make_file(path, xobj_int(v, XF_VDI_virtual_size), false, &e))
                xerr_free(e);
        }
        free(path);
    }
    store_unlock();
    storage_tick();
}

void storage_tick(void)
{
    store_wrlock();
    for (xobj *v = store_first(XCL_VDI); v; v = store_next(v))
        storage_vdi_refresh(v);
    for (xobj *s = store_first(XCL_SR); s; s = store_next(s))
        storage_sr_refresh(s);
    store_unlock();
}
