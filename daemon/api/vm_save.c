/* VM.save / VM.restore: the backend's image with the VM's record appended. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "daemon/backend.h"
#include "daemon/api/vm.h"
#include "daemon/host.h"
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
#define SAVE_MAX_RECORD (16u << 20)

static bool append_record(const char *dest, const char *xml, size_t xlen, xerr **errp)
{
    char foot[SAVE_FOOTER_LEN + 1];
    snprintf(foot, sizeof(foot), SAVE_FOOTER_FMT, xlen);
    int fd = open(dest, O_WRONLY | O_APPEND | O_CLOEXEC);
    bool ok = fd >= 0 && xwrite_all(fd, xml, xlen) && xwrite_all(fd, foot, SAVE_FOOTER_LEN) &&
              fsync(fd) == 0;
    if (!ok)
        xerr_internal(errp, "the domain's image is in %s, but the VM's record could not be added to it: %s",
                      dest, strerror(errno));
    if (fd >= 0)
        close(fd);
    return ok;
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
        sscanf(foot + 12, "%20zu", &xlen) != 1 || xlen > SAVE_MAX_RECORD ||
        (off_t)xlen > st.st_size - SAVE_FOOTER_LEN) {
        xerr_VALUE_NOT_SUPPORTED(errp, "src", src, "not an image written by VM.save");
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
    *xlen_r = xlen;
    return xml;
}

/* ---- VM.save: the backend's image then the VM's record in dest; the
 * domain is gone afterwards and the VM Halted ---- */

typedef struct save_arg {
    const char *dest;
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
    vm_progress(c->call, 10);
    if (backend_domain_suspend((uint32_t)c->domid, s->dest, &c->err) != 0)
        return false;
    s->gone = true;
    return append_record(s->dest, s->xml, s->xlen, errp);
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
    if (dest[0] != '/')
        return xerr_VALUE_NOT_SUPPORTED(errp, "dest", dest, "must be an absolute path");
    save_arg s = { .dest = dest };
    return vm_op_run(&op_save, call, vm, &s, errp);
}

/* ---- VM.restore: into the VM's record, or a record made from the image ---- */

typedef struct restore_arg {
    xobj **objs;                /* the image's VM and devices, not in the store */
    size_t nobj;
    bool created;               /* the records were made from the image */
    vm_build build;
} restore_arg;

/* The VM of the image: the existing record, else the image's, inserted
 * (write lock held). */
static xobj *restore_locate(vm_ctx *c, xerr **errp)
{
    (void)errp;
    restore_arg *r = c->arg;
    xobj *o = store_find(XC_VM, c->ref);
    if (o)
        return o;               /* restore into the existing record; the image's devices are not used */
    for (size_t i = 0; i < r->nobj; i++) {
        if (store_find(r->objs[i]->cls, r->objs[i]->ref)) {
            xobj_free(r->objs[i]);
            r->objs[i] = NULL;
            continue;
        }
        if (i == 0) {
            raw_set_str(r->objs[0], XF_VM_power_state, vm_power_name(VM_HALTED));
            raw_set_int(r->objs[0], XF_VM_domid, -1);
            raw_set_str(r->objs[0], XF_VM_resident_on, "");
            raw_set_str(r->objs[0], XF_VM_suspend_VDI, "");
            vm_fix_metrics(r->objs[0], true);
        }
        store_insert(r->objs[i]);
        r->objs[i] = NULL;
    }
    r->created = true;
    o = store_find(XC_VM, c->ref);
    devices_fix_metrics(o);
    return o;
}

static bool restore_prepare(vm_ctx *c, xerr **errp)
{
    restore_arg *r = c->arg;
    return vm_build_prepare(&r->build, c->vm, errp);
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
    for (size_t i = 0; i < r->nobj; i++)
        xobj_free(r->objs[i]);
    free(r->objs);
}

static const vm_op op_restore = {
    .name = "VM.restore", .states = VM_IN(VM_HALTED), .locate = restore_locate,
    .prepare = restore_prepare, .act = restore_act, .commit = restore_commit, .done = restore_done,
};

bool xh_VM_restore(xcall *call, const char *src, bool start_paused, xv **result_r, xerr **errp)
{
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xerr_VALUE_NOT_SUPPORTED(errp, "src", src, strerror(errno));
    size_t xlen = 0;
    char *xml = read_record(fd, src, &xlen, errp);
    close(fd);
    if (!xml)
        return false;
    restore_arg r = { .build = { .paused = start_paused, .image = src } };
    char *why = NULL;
    if (!persist_vm_parse(xml, xlen, &r.objs, &r.nobj, &why)) {
        free(xml);
        bool ok = xerr_VALUE_NOT_SUPPORTED(errp, "src", src, why ? why : "bad record");
        free(why);
        return ok;
    }
    free(xml);
    char ref[XREF_LEN];
    snprintf(ref, sizeof(ref), "%s", r.objs[0]->ref);
    if (!vm_op_run(&op_restore, call, ref, &r, errp))
        return false;
    *result_r = xv_str(ref);
    return true;
}
