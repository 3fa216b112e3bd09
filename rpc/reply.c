/* reply: the answer of a call on the wire (see reply.h). */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "daemon/store.h"
#include "rpc/reply.h"
#include "util/log.h"
#include "util/xmlrpc.h"
#include "xapi_model.h"

static void put_string(xbuf *b, const char *s)
{
    xbuf_puts(b, "<value><string>");
    xbuf_add_escaped(b, s, strlen(s));
    xbuf_puts(b, "</string></value>");
}

/* xend and XAPI answer system.listMethods over XML-RPC with the bare array
 * (Python's introspection did; XAPI skips its Status struct for it). */
static bool bare_answer(const rpc_form *f, const xcall *c)
{
    return f->codec == XCODEC_XMLRPC && c->m && !c->is_async && strcmp(c->m->name, "system.listMethods") == 0;
}

/* event.from's valid_ref_counts are XAPI's int32s, sent as <i4> (Xen
 * Orchestra compares them with numbers), where xend sends every other int
 * as a string. */
static void type_ref_counts(const xcall *c, xv *result)
{
    if (!c->m || c->is_async || strcmp(c->m->name, "event.from") != 0 || !result || result->kind != XV_STRUCT)
        return;
    xv *counts = xv_struct_get(result, "valid_ref_counts");
    for (size_t i = 0; counts && counts->kind == XV_STRUCT && i < counts->u.st.n; i++) {
        xv *v = counts->u.st.vals[i];
        if (v->kind != XV_INT)
            continue;
        xbuf e;
        xbuf_init(&e);
        xbuf_printf(&e, "<value><i4>%d</i4></value>", v->u.i > INT32_MAX ? INT32_MAX : (int)v->u.i);
        xv_free(v);
        counts->u.st.vals[i] = xv_encoded_take(&e);
    }
}

/* XAPI's XML-RPC writes an empty string as an empty untyped <value></value>
 * where xend (Python's xmlrpclib) wrote <value><string></string></value>.
 * Xen Orchestra's parser reads the latter as undefined (and then fails on a
 * task's empty result), so XAPI-style callers (opaque_refs) get XAPI's
 * spelling.  The sequence cannot occur inside text ('<' is escaped there). */
static void untype_empty_strings(xbuf *b)
{
    static const char typed[] = "<value><string></string></value>";
    static const char bare[] = "<value></value>";
    const size_t tl = sizeof(typed) - 1, bl = sizeof(bare) - 1;
    char *w = b->data, *r = b->data, *end = b->data + b->len, *hit;
    while ((hit = memmem(r, (size_t)(end - r), typed, tl)) != NULL) {
        size_t keep = (size_t)(hit - r);
        memmove(w, r, keep);
        w += keep;
        memcpy(w, bare, bl);
        w += bl;
        r = hit + tl;
    }
    memmove(w, r, (size_t)(end - r));
    w += end - r;
    b->len = (size_t)(w - b->data);
    if (b->data)
        b->data[b->len] = '\0';
}

static void encode_xmlrpc(xbuf *b, const xv *value, const xerr *err)
{
    xbuf_puts(b, "<?xml version=\"1.0\"?><methodResponse><params><param>");
    xmlrpc_encode_struct_begin(b);
    xmlrpc_encode_member_begin(b, "Status");
    put_string(b, err ? "Failure" : "Success");
    xmlrpc_encode_member_end(b);
    if (err) {
        xmlrpc_encode_member_begin(b, "ErrorDescription");
        xbuf_puts(b, "<value><array><data>");
        put_string(b, err->code);
        for (size_t i = 0; i < err->n; i++)
            put_string(b, err->params[i]);
        xbuf_puts(b, "</data></array></value>");
    } else {
        xmlrpc_encode_member_begin(b, "Value");
        xmlrpc_encode_value(b, value);      /* NULL: the empty string */
    }
    xmlrpc_encode_member_end(b);
    xmlrpc_encode_struct_end(b);
    xbuf_puts(b, "</param></params></methodResponse>");
}

/* Every ref of an answer in XAPI's OpaqueRef form, for callers that use it
 * (docs/jsonrpc.md): the result by its type, an error's ref parameters, and
 * what a task's getters return (its result is a ref when its type names a
 * class, its error_info an ErrorDescription). */
static void export_refs(xcall *c)
{
    if (c->err) {
        xerr_export_refs(c->err);
        return;
    }
    if (!c->result || !c->m)
        return;
    xtype_export_refs(c->is_async ? &xt_ref_task : c->m->ret, c->result);
    if (c->is_async || c->m->cls != XCL_task)
        return;
    if (c->m->field == XF_task_error_info) {
        xtype_export_error(c->result);
    } else if (c->m->field == XF_task_result && c->params && c->params->u.arr.n == 2 &&
               c->params->u.arr.items[1]->kind == XV_STRING) {
        store_rdlock();
        const xobj *t = store_find(XCL_task, xref_plain(c->params->u.arr.items[1]->u.str.s));
        xtype_export_task_result(c->result, t ? xobj_str(t, XF_task_type) : NULL);
        store_unlock();
    }
}

char *rpc_reply_encode(const rpc_form *f, xcall *c, size_t *len_r)
{
    if (f->opaque_refs)
        export_refs(c);
    const xerr *err = c->err;
    xbuf b;
    xbuf_init(&b);
    if (f->codec == XCODEC_JSONRPC) {
        if (err) {
            jsonrpc_encode_error(&b, f->json, err->code, (const char *const *)err->params, err->n);
        } else if (!jsonrpc_encode_result(&b, f->json, c->result)) {
            /* a pre-encoded XML value reached the JSON codec: a bug, said so */
            xlog(XLOG_ERROR, "%s: the result has no JSON form", c->method_name);
            xbuf_free(&b);
            xbuf_init(&b);
            const char *msg = "the result has no JSON form";
            jsonrpc_encode_error(&b, f->json, "INTERNAL_ERROR", &msg, 1);
        }
    } else {
        if (!err)
            type_ref_counts(c, c->result);
        if (!err && bare_answer(f, c))
            xmlrpc_encode_response(&b, c->result);
        else
            encode_xmlrpc(&b, c->result, err);
        if (f->opaque_refs)
            untype_empty_strings(&b);
    }
    return xbuf_steal(&b, len_r);
}

char *rpc_fault_encode(int code, const char *msg, size_t *len_r)
{
    xbuf b;
    xbuf_init(&b);
    xmlrpc_encode_fault(&b, code, msg);
    return xbuf_steal(&b, len_r);
}
