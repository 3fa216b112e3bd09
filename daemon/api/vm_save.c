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

/* VM.save: the backend's image then the VM's record in dest; the domain is
 * gone afterwards and the VM Halted. */
bool xh_VM_save(xcall *call, const char *vm, const char *dest, xerr **errp)
{
    if (dest[0] != '/')
        return xerr_VALUE_NOT_SUPPORTED(errp, "dest", dest, "must be an absolute path");
    store_wrlock();
    xobj *o = vm_claim(vm, "save", S_LIVE, false, errp);
    size_t xlen = 0;
    char *xml = o ? persist_vm_xml(o, &xlen) : NULL;
    uint32_t domid = o ? (uint32_t)vm_domid(o) : 0;
    store_unlock();
    if (!o)
        return false;
    vm_progress(call, 10);
    xo_error e = { 0 };
    int r = xd_ops->domain_suspend ? xd_ops->domain_suspend(xd_be, domid, dest, &e)
                                   : (xo_error_set(&e, XO_E_NOTSUP, "save"), -1);
    bool ok = r == 0 ? append_record(dest, xml, xlen, errp) : vm_backend_error(&e, "VM.save", errp);
    free(xml);
    store_wrlock();
    o = store_find(XC_VM, vm);
    if (o && r == 0)
        vm_set_power(o, "Halted", -1);       /* the domain is gone; its image is in dest */
    vm_release(vm);
    store_unlock();
    return ok;
}

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
    xobj **objs = NULL;
    size_t nobj = 0;
    char *why = NULL;
    if (!persist_vm_parse(xml, xlen, &objs, &nobj, &why)) {
        free(xml);
        bool r = xerr_VALUE_NOT_SUPPORTED(errp, "src", src, why ? why : "bad record");
        free(why);
        return r;
    }
    free(xml);
    char ref[XREF_LEN];
    snprintf(ref, sizeof(ref), "%s", objs[0]->ref);
    store_wrlock();
    xobj *o = store_find(XC_VM, ref);
    if (o) {                    /* restore into the existing record */
        for (size_t i = 0; i < nobj; i++)
            xobj_free(objs[i]);
    } else {                    /* the record comes back from the image */
        for (size_t i = 0; i < nobj; i++) {
            if (store_find(objs[i]->cls, objs[i]->ref)) {
                xobj_free(objs[i]);
                continue;
            }
            if (i == 0) {
                raw_set_str(objs[0], XF_VM_power_state, "Halted");
                raw_set_int(objs[0], XF_VM_domid, -1);
                raw_set_str(objs[0], XF_VM_resident_on, "");
                raw_set_str(objs[0], XF_VM_suspend_VDI, "");
                vm_fix_metrics(objs[0], true);
            }
            store_insert(objs[i]);
        }
        o = store_find(XC_VM, ref);
        devices_fix_metrics(o);
    }
    free(objs);
    o = vm_claim(ref, "restore", S_HALTED, false, errp);
    store_unlock();
    if (!o)
        return false;
    bool ok = vm_build(call, ref, start_paused, src, errp);
    store_wrlock();
    vm_release(ref);
    store_unlock();
    if (ok)
        *result_r = xv_str(ref);
    return ok;
}
