/* Unit tests of the generated tables, the type checker, the object store,
 * the event log's snapshots and error constructors (no daemon, no sockets). */
#include "config.h"

#include "tests/lib/xtest.h"

#include <stdio.h>
#include <string.h>

#include "daemon/dispatch.h"
#include "daemon/event_int.h"
#include "daemon/store.h"
#include "util/asan.h"
#include "xapi_errors.h"
#include "xapi_model.h"

static void test_table(void)
{
    for (size_t i = 1; i < xmethods_count; i++)
        CHECK(strcmp(xmethods[i - 1].name, xmethods[i].name) < 0);
    const xmethod *m = xmethod_lookup("VM.start");
    CHECK(m && m->kind == XM_EXPLICIT && m->nparams == 2 && m->async_ok && m->session);
    CHECK(m && m->params[1].type->kind == XT_BOOL);
    m = xmethod_lookup("session.login_with_password");
    CHECK(m && !m->session && !m->async_ok);
    m = xmethod_lookup("VM.get_power_state");
    CHECK(m && m->kind == XM_GETTER && m->field == XF_VM_power_state && !m->async_ok);
    CHECK(xmethod_lookup("VM.nonsense") == NULL);
    CHECK(xmethod_lookup("Async.VM.start") == NULL);  /* Async is stripped by dispatch */
    CHECK(xclass_by_name("VM") && !xclass_by_name("vm"));
    CHECK(xclass_by_name_ci("vm") == &xclasses[XCL_VM]);
    CHECK(xenum_index(XE_vm_power_state, "Suspended") == XEV_vm_power_state_Suspended);
    CHECK(xenum_index(XE_vm_power_state, "suspended") == -1);
}

static void test_coerce(void)
{
    xerr *e = NULL;
    xv *v = xv_str("42");
    CHECK(xtype_coerce(&xt_int, &v, "f", &e) && v->kind == XV_INT && v->u.i == 42);
    xv_free(v);
    v = xv_str("4x2");
    CHECK(!xtype_coerce(&xt_int, &v, "f", &e) && e && strcmp(e->code, "FIELD_TYPE_ERROR") == 0 &&
          e->n == 1 && strcmp(e->params[0], "f") == 0);
    xv_free(v);
    xerr_free(e);
    e = NULL;
    v = xv_str("Paused");
    CHECK(xtype_coerce(&xt_enum_vm_power_state, &v, "state", &e));
    xv_free(v);
    v = xv_str("Sleeping");
    CHECK(!xtype_coerce(&xt_enum_vm_power_state, &v, "state", &e) && e &&
          strcmp(e->code, "VALUE_NOT_SUPPORTED") == 0 && e->n == 3 && strcmp(e->params[1], "Sleeping") == 0);
    xv_free(v);
    xerr_free(e);
    e = NULL;
    /* a set drops duplicates; a map's int values become XV_INT */
    v = xv_array();
    xv_array_add(v, xv_str("a"));
    xv_array_add(v, xv_str("a"));
    CHECK(xtype_coerce(&xt_set_string, &v, "s", &e) && v->u.arr.n == 1);
    xv_free(v);
    /* a record gets every field; unknown members go */
    v = xv_struct();
    xv_struct_set(v, "name_label", xv_str("x"));
    xv_struct_set(v, "bogus", xv_str("y"));
    xv_struct_set(v, "VCPUs_max", xv_str("3"));
    CHECK(xtype_coerce(&xt_record_VM, &v, "args", &e));
    CHECK(v->u.st.n == XF_VM__COUNT && !xv_struct_get(v, "bogus"));
    CHECK(xv_struct_get(v, "VCPUs_max")->kind == XV_INT);
    CHECK(strcmp(xv_struct_get(v, "power_state")->u.str.s, "Halted") == 0);
    xv_free(v);
    v = xv_str("20240102T10:11:12Z");
    CHECK(xtype_coerce(&xt_datetime, &v, "d", &e) && v->kind == XV_DATETIME &&
          strcmp(v->u.str.s, "20240102T10:11:12") == 0);
    xv_free(v);
    v = xv_str("yesterday");
    CHECK(!xtype_coerce(&xt_datetime, &v, "d", &e));
    xv_free(v);
    xerr_free(e);
}

static void test_errors(void)
{
    xerr *e = NULL;
    CHECK(!xerr_VM_BAD_POWER_STATE(&e, "vm", "Halted", "Running"));
    CHECK(e && strcmp(e->code, "VM_BAD_POWER_STATE") == 0 && e->n == 3);
    xerr *first = e;
    xerr_HANDLE_INVALID(&e, "VM", "x");     /* set once: the first error stays */
    CHECK(e == first);
    xerr_free(e);
    for (size_t i = 0; i < xerr_table_count; i++)
        if (strcmp(xerr_table[i].code, "MESSAGE_PARAMETER_COUNT_MISMATCH") == 0)
            CHECK(xerr_table[i].nparams == 3);
}

static int adds, dels, mods;
static void observe(void *arg, xstore_op op, const xobj *o, int field)
{
    (void)arg; (void)o; (void)field;
    if (op == XSTORE_ADD) adds++;
    else if (op == XSTORE_DEL) dels++;
    else mods++;
}

static void test_store(void)
{
    store_init();
    store_add_observer(observe, NULL);
    store_wrlock();
    xobj *vm = xobj_new(XCL_VM, NULL);
    CHECK(xuuid_valid(vm->ref) && strcmp(xobj_str(vm, XF_VM_uuid), vm->ref) == 0);
    store_insert(vm);
    xobj *vbd = xobj_new(XCL_VBD, NULL);
    xobj_set_str(vbd, XF_VBD_VM, vm->ref);
    store_insert(vbd);
    CHECK(xobj_get(vm, XF_VM_VBDs)->u.arr.n == 1);      /* relationship kept */
    xobj *vm2 = xobj_new(XCL_VM, NULL);
    store_insert(vm2);
    xobj_set_str(vbd, XF_VBD_VM, vm2->ref);              /* moves between parents */
    CHECK(xobj_get(vm, XF_VM_VBDs)->u.arr.n == 0 && xobj_get(vm2, XF_VM_VBDs)->u.arr.n == 1);
    store_remove(vbd);
    CHECK(xobj_get(vm2, XF_VM_VBDs)->u.arr.n == 0);
    CHECK(store_count(XCL_VM) == 2 && store_find(XCL_VM, vm->ref) == vm);
    /* many-to-many (VM.cpu_pool -> cpu_pool.started_VMs): set, add, remove, removal */
    xobj *pa = xobj_new(XCL_cpu_pool, NULL), *pb = xobj_new(XCL_cpu_pool, NULL);
    store_insert(pa);
    store_insert(pb);
    xv *both = xv_array();
    xv_array_add(both, xv_str(pa->ref));
    xv_array_add(both, xv_str(pb->ref));
    xobj_set(vm, XF_VM_cpu_pool, both);
    CHECK(xobj_get(pa, XF_cpu_pool_started_VMs)->u.arr.n == 1 &&
          xobj_get(pb, XF_cpu_pool_started_VMs)->u.arr.n == 1);
    xobj_set_remove(vm, XF_VM_cpu_pool, pa->ref);
    CHECK(xobj_get(pa, XF_cpu_pool_started_VMs)->u.arr.n == 0);
    xobj_set_add(vm2, XF_VM_cpu_pool, pb->ref);
    CHECK(xobj_get(pb, XF_cpu_pool_started_VMs)->u.arr.n == 2);
    xobj_set(vm2, XF_VM_cpu_pool, xv_array());
    CHECK(xobj_get(pb, XF_cpu_pool_started_VMs)->u.arr.n == 1);
    store_remove(vm);
    CHECK(xobj_get(pb, XF_cpu_pool_started_VMs)->u.arr.n == 0);
    CHECK(store_count(XCL_VM) == 1);
    /* many objects: the table grows, iteration sees each once */
    for (int i = 0; i < 5000; i++)
        store_insert(xobj_new(XCL_network, NULL));
    size_t n = 0;
    for (xobj *o = store_first(XCL_network); o; o = store_next(o))
        n++;
    CHECK(n == 5000 && store_count(XCL_network) == 5000);
    store_unlock();
    CHECK(adds == 5005 && dels == 2 && mods > 0);
    store_fini();
}

/* Snapshots: a record's round trip; under ASan a freed snapshot's bytes are
 * poisoned while its block lives on (for its neighbour). */
static void test_snapshots(void)
{
    xtest_group("event snapshots");
    store_init();
    store_wrlock();
    xobj *vm = xobj_new(XCL_VM, NULL);
    xobj_set_str(vm, XF_VM_name_label, "snap\xc3\xa9 one");
    store_insert(vm);
    snap *a = ev_snap_encode(vm), *b = ev_snap_encode(vm);
    xv *r = ev_snap_decode(XCL_VM, a);
    const xv *nl = r ? xv_struct_get(r, "name_label") : NULL;
    CHECK(nl && nl->kind == XV_STRING && !strcmp(nl->u.str.s, "snap\xc3\xa9 one"));
    const xv *uu = r ? xv_struct_get(r, "uuid") : NULL;
    CHECK(uu && uu->kind == XV_STRING && !strcmp(uu->u.str.s, vm->ref));
    xv_free(r);
    CHECK(a->blk == b->blk);                      /* small ones share a block */
    CHECK(ev_snap_ref(a) == a);
    ev_snap_unref(a);                             /* still referenced once */
#ifdef XEND_ASAN
    CHECK(!__asan_address_is_poisoned(a->d) && !__asan_address_is_poisoned(b->d));
    ev_snap_unref(a);
    CHECK(__asan_address_is_poisoned(a->d));      /* freed, its block kept by b */
    CHECK(!__asan_address_is_poisoned(b->d));
#else
    ev_snap_unref(a);
    xtest_diag("poisoning of freed snapshots not checked: not an AddressSanitizer build "
               "(the ASan make check checks it)");
#endif
    ev_snap_unref(b);
    store_unlock();
    store_fini();
}

int main(void)
{
    test_table();
    test_coerce();
    test_errors();
    test_store();
    test_snapshots();
    return xtest_done();
}
