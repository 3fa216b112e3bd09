/* libFuzzer harness for the record parser VM.restore runs on a save image's
 * record (persist_vm_parse, daemon/persist_record.c): every input is read as
 * the record; one it accepts must be one VM first, then only device classes
 * kept in a VM's file, each with a valid uuid.  The VM accepted is written
 * back (persist_vm_xml, through the store as the daemon does) and must parse
 * back to equal fields: abort() otherwise, so the fuzzer reports it as a
 * crash.  A refusal always says why.  Seeds in fuzz/corpus/restore/. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/persist_int.h"
#include "daemon/store.h"
#include "util/xv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void free_objs(xobj **objs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xobj_free(objs[i]);
    free(objs);
}

/* The VM parsed again from what the daemon writes of it: the same fields. */
static void check_round_trip(xobj *vm)
{
    store_wrlock();
    store_insert(vm);
    size_t len = 0;
    char *xml = persist_vm_xml(vm, &len);
    xobj **again = NULL;
    size_t n = 0;
    char *why = NULL;
    if (!xml || !persist_vm_parse(xml, len, &again, &n, &why) || n != 1)
        abort();                /* the daemon cannot read what it wrote */
    for (int f = 0; f < xclasses[XCL_VM].nfields; f++)
        if (!persist_skip[XCL_VM][f] && !xv_equal(vm->f[f], again[0]->f[f]))
            abort();            /* a field changed on the way */
    store_remove(vm);           /* frees it */
    store_unlock();
    free(xml);
    free_objs(again, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        store_init();
        persist_classes_init();
        ready = true;
    }
    xobj **objs = NULL;
    size_t n = 0;
    char *why = NULL;
    if (!persist_vm_parse((const char *)data, size, &objs, &n, &why)) {
        if (!why || objs || n)
            abort();            /* a refusal says why and hands back nothing */
        free(why);
        return 0;
    }
    if (n == 0 || objs[0]->cls != XCL_VM)
        abort();
    for (size_t i = 0; i < n; i++)
        if (!xuuid_valid(objs[i]->ref) || (i > 0 && persist_mode[objs[i]->cls] != P_INVM))
            abort();
    xobj *vm = objs[0];         /* the store takes it, and frees it when removed */
    objs[0] = NULL;
    check_round_trip(vm);
    free_objs(objs, n);
    return 0;
}
