/* VM.save / VM.restore: the backend's image with the VM's record appended.
 *
 * Both files are in image-dir (xend.conf, daemon/paths.h): dest and src
 * are resolved below it without following links, and the backend is handed
 * the directory or file the daemon opened (/proc/self/fd/N), never the
 * client's path.  A restore reads the record with hard limits and checks it
 * as a whole before anything is made; a restore that fails leaves nothing
 * behind. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/api/vm.h"
#include "daemon/backend.h"
#include "daemon/host.h"
#include "daemon/paths.h"
#include "daemon/persist.h"
#include "util/io.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

/* A VM.save file is the backend's image, written by the backend straight
 * into dest, followed by the VM's record (persist XML) and a fixed-size
 * footer giving the record's length.  The backend reads its image from the
 * start of the file and stops at the image's end, so restore hands it the
 * file itself: no copy, no second image's worth of disk. */
#define SAVE_FOOTER_FMT "XEND-SAVE 1 %020zu\n"
#define SAVE_FOOTER_LEN 33
/* The limits a record read back from an image must keep: a VM's record is
 * a few KiB; attributes per element as the record format writes them (at
 * most two), so libxml2 never meets the many-attribute element it handles
 * in quadratic time. */
#define SAVE_MAX_RECORD (1u << 20)
#define SAVE_MAX_OBJECTS 256
#define SAVE_MAX_ATTRS 2

static bool append_record(int dirfd, const char *name, const char *xml, size_t xlen, xerr **errp)
{
    char foot[SAVE_FOOTER_LEN + 1];
    snprintf(foot, sizeof(foot), SAVE_FOOTER_FMT, xlen);
    int fd = openat(dirfd, name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    bool ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && xwrite_all(fd, xml, xlen) &&
              xwrite_all(fd, foot, SAVE_FOOTER_LEN) && fsync(fd) == 0;
    if (!ok) {
        xlog(XLOG_ERROR, "VM.save: the image %s is written but its record is not: %s", name, strerror(errno));
        xerr_internal(errp, "the domain's image is saved, but the VM's record could not be added to it");
    }
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Does every tag of the record carry at most SAVE_MAX_ATTRS attributes? */
static bool record_shape_ok(const char *xml, size_t len)
{
    bool in_tag = false;
    char quote = 0;
    int attrs = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = xml[i];
        if (quote) {
            quote = ch == quote ? 0 : quote;
        } else if (!in_tag) {
            in_tag = ch == '<';
            attrs = 0;
        } else if (ch == '"' || ch == '\'') {
            quote = ch;
        } else if (ch == '=' && ++attrs > SAVE_MAX_ATTRS) {
            return false;
        } else if (ch == '>') {
            in_tag = false;
        }
    }
    return true;
}

/* The record stored at the end of a VM.save file, or NULL (errp set). */
static char *read_record(int fd, const char *src, size_t *xlen_r, xerr **errp)
{
    struct stat st;
    char foot[SAVE_FOOTER_LEN + 1] = "";
    size_t xlen = 0;
    if (fstat(fd, &st) != 0 || st.st_size < SAVE_FOOTER_LEN ||
        pread(fd, foot, SAVE_FOOTER_LEN, st.st_size - SAVE_FOOTER_LEN) != SAVE_FOOTER_LEN ||
        strncmp(foot, "XEND-SAVE 1 ", 12) != 0 || foot[SAVE_FOOTER_LEN - 1] != '\n' ||
        sscanf(foot + 12, "%20zu", &xlen) != 1 || (off_t)xlen > st.st_size - SAVE_FOOTER_LEN) {
        xerr_VALUE_NOT_SUPPORTED(errp, "src", src, "not an image written by VM.save");
        return NULL;
    }
    if (xlen > SAVE_MAX_RECORD) {
        xerr_VALUE_NOT_SUPPORTED(errp, "src", src, "the VM's record in the image is too large");
        return NULL;
    }
    char *xml = malloc(xlen + 1);
    if (!xml)
        abort();
    if (pread(fd, xml, xlen, st.st_size - SAVE_FOOTER_LEN - (off_t)xlen) != (ssize_t)xlen) {
        free(xml);
        xerr_VALUE_NOT_SUPPORTED(errp, "src", src, "truncated image");
        return NULL;
    }
    xml[xlen] = '\0';
    if (!record_shape_ok(xml, xlen)) {
        free(xml);
        xerr_VALUE_NOT_SUPPORTED(errp, "src", src, "the VM's record in the image is malformed");
        return NULL;
    }
    *xlen_r = xlen;
    return xml;
}

/* ---- VM.save: the backend's image then the VM's record in dest; the
 * domain is gone afterwards and the VM Halted ---- */

typedef struct save_arg {
    int dirfd;                  /* dest's directory, below image-dir */
    const char *name;           /* dest's name in it */
    char *xml;                  /* the VM's record */
    size_t xlen;
    bool gone;                  /* the backend saved the domain (it no longer runs) */
} save_arg;

static bool save_prepare(vm_ctx *c, xerr **errp)
{
    (void)errp;
    save_arg *s = c->arg;
    s->xml = persist_vm_xml(c->vm, &s->xlen);
    return true;
}

static bool save_act(vm_ctx *c, xerr **errp)
{
    save_arg *s = c->arg;
    char path[64 + 256];
    if (!paths_fd_path(path, sizeof(path), s->dirfd, s->name))
        return xerr_VALUE_NOT_SUPPORTED(errp, "dest", s->name, "name too long");
    vm_progress(c->call, 10);
    if (backend_domain_suspend((uint32_t)c->domid, path, &c->err) != 0)
        return false;
    s->gone = true;
    return append_record(s->dirfd, s->name, s->xml, s->xlen, errp);
}

/* The domain is gone once the backend saved it, even if the record could
 * not be appended. */
static void save_record(vm_ctx *c)
{
    save_arg *s = c->arg;
    if (c->vm && s->gone)
        vm_set_power(c->vm, VM_HALTED, -1);
}

static void save_done(vm_ctx *c, bool ok)
{
    (void)ok;
    save_arg *s = c->arg;
    free(s->xml);
}

static const vm_op op_save = {
    .name = "VM.save", .states = VM_LIVE,
    .prepare = save_prepare, .act = save_act, .commit = save_record, .undo = save_record,
    .done = save_done,
};

bool xh_VM_save(xcall *call, const char *vm, const char *dest, xerr **errp)
{
    save_arg s = { .dirfd = -1 };
    s.dirfd = paths_open_parent(PATHS_IMAGE, "dest", dest, false, &s.name, errp);
    if (s.dirfd < 0)
        return false;
    bool ok = vm_op_run(&op_save, call, vm, &s, errp);
    close(s.dirfd);
    return ok;
}

/* ---- VM.restore: into the VM's record, or a record made from the image ---- */

typedef struct restore_arg {
    const char *src;
    xobj **objs;                /* the image's VM and devices, not in the store */
    size_t nobj;
    bool created;               /* the records were made from the image */
    vm_build build;
} restore_arg;

/* The VM field of a device class the image may carry, or -1: VBD, VIF,
 * console and VTPM come back with the VM; crash dumps do not (their VDIs
 * would be deleted with the VM), nor passed-through host devices. */
static int restored_device_vm_field(int cls)
{
    switch (cls) {
    case XCL_VBD: return XF_VBD_VM;
    case XCL_VIF: return XF_VIF_VM;
    case XCL_console: return XF_console_VM;
    case XCL_VTPM: return XF_VTPM_VM;
    default: return -1;
    }
}

/* Is vdi used by a VBD of a VM other than vm? */
static bool vdi_of_another_vm(const xobj *vdi, const char *vm)
{
    const xv *vbds = vdi->f[XF_VDI_VBDs];
    for (size_t i = 0; i < vbds->u.arr.n; i++) {
        xobj *vbd = store_find(XCL_VBD, vbds->u.arr.items[i]->u.str.s);
        if (vbd && strcmp(xobj_str(vbd, XF_VBD_VM), vm) != 0)
            return true;
    }
    return false;
}

/* The image's records, checked as a whole before anything is made (write
 * lock held): a new VM that is not a control domain, and only new devices
 * of that VM, each named once, whose VDIs and networks exist and are no
 * other VM's disks.  Nothing is changed. */
static bool restore_check(const restore_arg *r, xerr **errp)
{
    const xobj *vm = r->objs[0];
    if (r->nobj > SAVE_MAX_OBJECTS)
        return xerr_VALUE_NOT_SUPPORTED(errp, "src", r->src, "too many devices in the image");
    if (xobj_bool(vm, XF_VM_is_control_domain))
        return xerr_VALUE_NOT_SUPPORTED(errp, "src", r->src, "the image is of a control domain");
    for (size_t i = 1; i < r->nobj; i++) {
        const xobj *d = r->objs[i];
        const char *cls = xclasses[d->cls].name;
        int vmf = restored_device_vm_field(d->cls);
        char why[160];
        const char *bad = NULL;
        if (vmf < 0) {
            snprintf(why, sizeof(why), "a %s cannot be restored from an image", cls);
            bad = why;
        } else if (strcmp(xobj_str(d, vmf), vm->ref) != 0) {
            snprintf(why, sizeof(why), "%s %s belongs to another VM", cls, d->ref);
            bad = why;
        } else if (store_find(d->cls, d->ref)) {
            snprintf(why, sizeof(why), "%s %s exists already", cls, d->ref);
            bad = why;
        }
        for (size_t j = 1; !bad && j < i; j++)
            if (strcmp(r->objs[j]->ref, d->ref) == 0) {
                snprintf(why, sizeof(why), "%s %s is in the image twice", cls, d->ref);
                bad = why;
            }
        if (!bad && d->cls == XCL_VBD) {
            const char *vdi_ref = xobj_str(d, XF_VBD_VDI);
            const xobj *vdi = *vdi_ref ? store_find(XCL_VDI, vdi_ref) : NULL;
            if (*vdi_ref && !vdi) {
                snprintf(why, sizeof(why), "VDI %s of VBD %s does not exist", vdi_ref, d->ref);
                bad = why;
            } else if (!*vdi_ref && strcmp(xobj_str(d, XF_VBD_type), "CD") != 0) {
                snprintf(why, sizeof(why), "VBD %s has no VDI", d->ref);
                bad = why;
            } else if (vdi && vdi_of_another_vm(vdi, vm->ref)) {
                snprintf(why, sizeof(why), "VDI %s is another VM's disk", vdi_ref);
                bad = why;
            }
        }
        if (!bad && d->cls == XCL_VIF && !store_find(XCL_network, xobj_str(d, XF_VIF_network))) {
            snprintf(why, sizeof(why), "the network of VIF %s does not exist", d->ref);
            bad = why;
        }
        if (bad)
            return xerr_VALUE_NOT_SUPPORTED(errp, "src", r->src, bad);
    }
    return true;
}

/* What a record from an image may not bring back: runtime state, refs to
 * others' objects (metrics, suspend image, sets the store rebuilds). */
static void restore_reset(restore_arg *r)
{
    vm_reset_copy(r->objs[0]);
    for (size_t i = 1; i < r->nobj; i++) {
        xobj *d = r->objs[i];
        if (d->cls == XCL_VBD) {
            raw_set_str(d, XF_VBD_metrics, "");
            raw_set_bool(d, XF_VBD_currently_attached, false);
        } else if (d->cls == XCL_VIF) {
            raw_set_str(d, XF_VIF_metrics, "");
            raw_set_bool(d, XF_VIF_currently_attached, false);
        }
    }
}

/* The VM of the image: the existing record (the image's devices are not
 * used), else the image's, checked and inserted (write lock held). */
static xobj *restore_locate(vm_ctx *c, xerr **errp)
{
    restore_arg *r = c->arg;
    xobj *o = store_find(XCL_VM, c->ref);
    if (o)
        return o;
    if (!restore_check(r, errp))
        return NULL;
    restore_reset(r);
    for (size_t i = 0; i < r->nobj; i++) {
        store_insert(r->objs[i]);
        r->objs[i] = NULL;
    }
    r->created = true;
    o = store_find(XCL_VM, c->ref);
    devices_fix_metrics(o);
    return o;
}

/* A restore that fails leaves no record it made. */
static void restore_forget(vm_ctx *c)
{
    restore_arg *r = c->arg;
    if (r->created && c->vm) {
        vm_forget(c->vm);
        c->vm = NULL;
    }
}

static bool restore_prepare(vm_ctx *c, xerr **errp)
{
    restore_arg *r = c->arg;
    if (vm_build_prepare(&r->build, c->vm, errp))
        return true;
    restore_forget(c);
    return false;
}

static bool restore_act(vm_ctx *c, xerr **errp)
{
    restore_arg *r = c->arg;
    return vm_build_act(&r->build, c, errp);
}

static void restore_commit(vm_ctx *c)
{
    restore_arg *r = c->arg;
    if (c->vm)
        vm_started(c->vm, r->build.paused ? VM_PAUSED : VM_RUNNING, r->build.domid);
}

static void restore_done(vm_ctx *c, bool ok)
{
    (void)ok;
    restore_arg *r = c->arg;
    vm_build_dispose(&r->build);
}

static const vm_op op_restore = {
    .name = "VM.restore", .states = VM_IN(VM_HALTED), .locate = restore_locate,
    .prepare = restore_prepare, .act = restore_act, .commit = restore_commit,
    .undo = restore_forget, .done = restore_done,
};

bool xh_VM_restore(xcall *call, const char *src, bool start_paused, xv **result_r, xerr **errp)
{
    int fd = paths_open_file(PATHS_IMAGE, "src", src, errp);
    if (fd < 0)
        return false;
    char image[64];
    size_t xlen = 0;
    char *xml = read_record(fd, src, &xlen, errp);
    restore_arg r = { .src = src, .build = { .paused = start_paused, .image = image } };
    char *why = NULL;
    bool ok = xml && paths_fd_path(image, sizeof(image), fd, NULL);
    if (ok && !persist_vm_parse(xml, xlen, &r.objs, &r.nobj, &why)) {
        xerr_VALUE_NOT_SUPPORTED(errp, "src", src, why ? why : "bad record");
        ok = false;
    }
    free(why);
    free(xml);
    char ref[XREF_LEN] = "";
    if (ok) {
        snprintf(ref, sizeof(ref), "%s", r.objs[0]->ref);
        ok = vm_op_run(&op_restore, call, ref, &r, errp);
    }
    for (size_t i = 0; i < r.nobj; i++)
        xobj_free(r.objs[i]);
    free(r.objs);
    close(fd);
    if (ok)
        *result_r = xv_str(ref);
    return ok;
}
