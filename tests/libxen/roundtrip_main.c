/* Round trip of every record and struct type of the datamodel:
 * record (every field non-default) -> xv -> XML-RPC text -> xv -> record,
 * compared field by field, then re-encoded and compared byte for byte.
 * The per-type makers/comparators are generated (libxen/gen/roundtrip.c). */
#include "config.h"

#include "tests/lib/xtest.h"

#include "roundtrip_support.h"
#include "xen_gen_internal.h"
#include "util/xmlrpc.h"

/* One check named "TYPE: what" (the TAP line names the type). */
#define check(ok, what, name) check_((ok), (what), (name), __LINE__)
static void check_(bool ok, const char *what, const char *name, int line)
{
    char *expr = xtest_strdupf("%s: %s", name, what);
    xtest_check_(ok, __FILE__, line, expr, NULL);
    free(expr);
}

static char *encode(const xv *v, size_t *len)
{
    xbuf b;
    xbuf_init(&b);
    xmlrpc_encode_response(&b, v);
    return xbuf_steal(&b, len);
}

static xv *decode(const char *text, size_t len)
{
    xv *v = NULL;
    int code = 0;
    char *fs = NULL, *err = NULL;
    if (!xmlrpc_parse_response(text, len, NULL, &v, &code, &fs, &err)) {
        xtest_diag("parse error: %s", err ? err : "?");
        v = NULL;
    }
    free(fs);
    free(err);
    return v;
}

static void one_case(const rt_case *c, int seed)
{
    void *r = c->mk(seed);
    xv *v = xeni_to_xv(c->type, &r, 0);
    bool rec = c->n_members != RT_NA;
    if (rec)
        check(v->kind == XV_STRUCT && v->u.st.n == c->n_members, "every field marshalled", c->name);
    else
        check((v->kind == XV_ARRAY && v->u.arr.n == 2) || (v->kind == XV_STRUCT && v->u.st.n == 2) ||
              v->kind == XV_STRING, "container marshalled", c->name);

    size_t len1 = 0, len2 = 0;
    char *xml1 = encode(v, &len1);
    xv *v2 = decode(xml1, len1);
    check(v2 != NULL, "XML-RPC text parses", c->name);
    void *r2 = NULL;
    char *err = NULL;
    bool ok = v2 && xeni_from_xv(c->type, v2, &r2, &err);
    check(ok, err ? err : "demarshals", c->name);
    free(err);
    if (ok) {
        check(c->eq(r, r2), "fields equal after the round trip", c->name);
        xv *v3 = xeni_to_xv(c->type, &r2, 0);
        char *xml2 = encode(v3, &len2);
        check(len1 == len2 && memcmp(xml1, xml2, len1) == 0, "re-encoding is identical", c->name);
        free(xml2);
        xv_free(v3);
    }
    if (!rec)
        goto done;
    /* create: every field of a filled record; of an empty one, the RW and
     * RO/ins fields plus the RO/run scalars */
    xv *vc = xeni_to_xv(c->type, &r, XENI_CREATE);
    check(vc->kind == XV_STRUCT && vc->u.st.n == c->n_members, "create sends set fields", c->name);
    xv_free(vc);
    void *blank = xeni_record_alloc(c->type);
    size_t want = 0;
    for (size_t i = 0; i < c->type->n_members; i++) {
        xeni_kind k = c->type->members[i].type->kind;
        want += c->type->members[i].create || (k != XK_STRING && k < XK_SET);
    }
    check(want >= c->n_create, "create count", c->name);
    vc = xeni_to_xv(c->type, &blank, XENI_CREATE);
    check(vc->kind == XV_STRUCT && vc->u.st.n == want, "create skips unset RO/run fields", c->name);
    xv_free(vc);
    xeni_free_ptr(c->type, blank);

    /* An empty struct gives a complete record: no NULL strings or sets. */
    xv *empty = xv_struct();
    void *r3 = NULL;
    err = NULL;
    ok = xeni_from_xv(c->type, empty, &r3, &err);
    check(ok, "empty struct demarshals", c->name);
    for (size_t i = 0; ok && i < c->type->n_members; i++) {
        const xeni_member *m = &c->type->members[i];
        if (m->type->kind == XK_STRING || m->type->kind == XK_SET ||
            m->type->kind == XK_MAP || m->type->kind == XK_OPT) {
            void *p;
            memcpy(&p, (char *)r3 + m->offset, sizeof p);
            check(p != NULL, m->name, c->name);
        }
    }
    free(err);
    xeni_free_ptr(c->type, r3);
    xv_free(empty);

done:
    xeni_free_ptr(c->type, r);
    xeni_free_ptr(c->type, r2);
    xv_free(v);
    xv_free(v2);
    free(xml1);
}

/* get_all_records: the map key becomes each record's handle. */
static void all_records_handles(void)
{
    xen_vm_xen_vm_record_map *m = xen_vm_xen_vm_record_map_alloc(2);
    for (size_t i = 0; i < 2; i++) {
        m->contents[i].key = xeni_strdup(i ? "ref-b" : "ref-a");
        m->contents[i].val = xen_vm_record_alloc();
        m->contents[i].val->name_label = xeni_strdup(i ? "b" : "a");
    }
    xv *v = xeni_to_xv(&xeni_t_vm_xen_vm_record_map, &m, 0);
    xen_vm_xen_vm_record_map *m2 = NULL;
    char *err = NULL;
    bool ok = xeni_from_xv(&xeni_t_vm_xen_vm_record_map, v, &m2, &err);
    check(ok && m2->size == 2, "record map demarshals", "VM map");
    for (size_t i = 0; ok && i < 2; i++) {
        check(strcmp(m2->contents[i].key, m2->contents[i].val->handle) == 0, "handle = key", "VM map");
        check(strcmp(m2->contents[i].val->name_label, i ? "b" : "a") == 0, "name_label", "VM map");
    }
    free(err);
    xv_free(v);
    xen_vm_xen_vm_record_map_free(m);
    xen_vm_xen_vm_record_map_free(m2);
}

int main(void)
{
    for (size_t i = 0; i < rt_ncases; i++)
        one_case(&rt_cases[i], (int)i * 100 + 1);
    all_records_handles();
    xtest_diag("%zu record, struct and container types", rt_ncases);
    return xtest_done();
}
