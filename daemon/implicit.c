/* implicit: the generated-surface messages (getters, setters, add_to/
 * remove_from, get_record, get_all, get_all_records, get_by_uuid,
 * get_by_name_label, create, destroy) served generically from the datamodel. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "daemon/classes.h"
#include "util/xmlrpc.h"
#include "xapi_errors.h"
#include "xapi_model.h"
#include "xapi_policy.h"



bool implicit_is_read(xmsg_kind kind)
{
    switch (kind) {
    case XM_GETTER:
    case XM_GET_RECORD:
    case XM_GET_ALL:
    case XM_GET_ALL_RECORDS:
    case XM_GET_BY_UUID:
    case XM_GET_BY_NAME_LABEL:
        return true;
    default:
        return false;
    }
}

static bool can_read(xcall *call, const xobj *o, xerr **errp)
{
    const xclass_ops *ops = xclass_get_ops(o->cls);
    return !ops || !ops->read || ops->read(call, o, errp);
}

static xobj *lookup(int cls, const char *ref, xerr **errp)
{
    xobj *o = store_find(cls, ref);
    if (!o)
        xerr_HANDLE_INVALID(errp, xclasses[cls].name, ref);
    return o;
}

/* Every non-empty ref inside v (of type t) must name an existing object. */
static bool refs_exist(const xtype *t, const xv *v, xerr **errp)
{
    switch (t->kind) {
    case XT_REF:
        if (v->u.str.len && !store_find(t->cls, v->u.str.s))
            return xerr_HANDLE_INVALID(errp, xclasses[t->cls].name, v->u.str.s);
        return true;
    case XT_SET:
        for (size_t i = 0; i < v->u.arr.n; i++)
            if (!refs_exist(t->elem, v->u.arr.items[i], errp))
                return false;
        return true;
    case XT_MAP:
        for (size_t i = 0; i < v->u.st.n; i++)
            if (!refs_exist(t->elem, v->u.st.vals[i], errp))
                return false;
        return true;
    default:
        return true;
    }
}

static bool do_read(xcall *call, const xmethod *m, xv *const *args, xv **result_r, xerr **errp)
{
    const xclass_desc *c = &xclasses[m->cls];
    xobj *o;
    switch (m->kind) {
    case XM_GETTER:
        if (!(o = lookup(m->cls, args[0]->u.str.s, errp)) || !can_read(call, o, errp))
            return false;
        *result_r = xv_dup(o->f[m->field]);
        return true;
    case XM_GET_RECORD: {
        if (!(o = lookup(m->cls, args[0]->u.str.s, errp)) || !can_read(call, o, errp))
            return false;
        if (call->want_tree) {
            *result_r = xobj_record(o);
            return true;
        }
        xbuf b;
        xbuf_init(&b);
        xobj_encode_record(&b, o);
        *result_r = xv_encoded_take(&b);
        return true;
    }
    case XM_GET_ALL:
        *result_r = xv_array();
        for (o = store_first(m->cls); o; o = store_next(o))
            if (can_read(call, o, NULL))
                xv_array_add(*result_r, xv_str(o->ref));
        return true;
    case XM_GET_ALL_RECORDS: {
        if (call->want_tree) {
            *result_r = xv_struct();
            for (o = store_first(m->cls); o; o = store_next(o))
                if (can_read(call, o, NULL))
                    xv_struct_append(*result_r, o->ref, xobj_record(o));    /* refs are unique */
            return true;
        }
        /* encoded under the read lock straight from the store: no copy of
         * the records (10,000 VMs make a 35 MB answer) */
        xbuf b;
        xbuf_init(&b);
        xmlrpc_encode_struct_begin(&b);
        size_t after = store_count(m->cls);     /* objects after o */
        bool sized = false;
        for (o = store_first(m->cls); o; o = store_next(o)) {
            after--;
            if (!can_read(call, o, NULL))
                continue;
            xmlrpc_encode_member_begin(&b, o->ref);         /* refs are unique */
            xobj_encode_record(&b, o);
            xmlrpc_encode_member_end(&b);
            if (!sized) {
                /* size the buffer once, from the first record and a 25%
                 * margin, rather than growing a large answer by copies */
                sized = true;
                size_t est = (b.len + b.len / 4) * after;
                xbuf_reserve(&b, est < ((size_t)1 << 30) ? est : ((size_t)1 << 30));
            }
        }
        xmlrpc_encode_struct_end(&b);
        *result_r = xv_encoded_take(&b);
        return true;
    }
    case XM_GET_BY_UUID:
        if (!(o = lookup(m->cls, args[0]->u.str.s, errp)) || !can_read(call, o, errp))
            return false;
        *result_r = xv_str(o->ref);
        return true;
    case XM_GET_BY_NAME_LABEL:
        *result_r = xv_array();
        for (o = store_first(m->cls); o; o = store_next(o))
            if (strcmp(xobj_str(o, c->name_label_field), args[0]->u.str.s) == 0 &&
                can_read(call, o, NULL))
                xv_array_add(*result_r, xv_str(o->ref));
        return true;
    default:
        return xerr_internal(errp, "not a read message");
    }
}

static bool do_create(xcall *call, const xmethod *m, const xv *rec, xv **result_r, xerr **errp)
{
    const xclass_desc *c = &xclasses[m->cls];
    const xclass_ops *ops = xclass_get_ops(m->cls);
    xobj *o = xobj_new(m->cls, NULL);
    /* the record was coerced to the class record type: every field present */
    for (int i = 0; i < c->nfields; i++) {
        if (c->fields[i].qual == XQ_RO_RUN)
            continue;
        const xv *v = xv_struct_get(rec, c->fields[i].name);
        if (!v)
            continue;
        if (!refs_exist(c->fields[i].type, v, errp) || !xconstraint_field(m->cls, i, v, true, errp)) {
            xobj_free(o);
            return false;
        }
        xv_free(o->f[i]);
        o->f[i] = xv_dup(v);
    }
    if (ops && ops->create && !ops->create(call, o, rec, errp)) {
        xobj_free(o);
        return false;
    }
    *result_r = xv_str(o->ref);
    store_insert(o);
    return true;
}

static bool do_write(xcall *call, const xmethod *m, xv *const *args, xv **result_r, xerr **errp)
{
    const xclass_desc *c = &xclasses[m->cls];
    const xclass_ops *ops = xclass_get_ops(m->cls);
    if (m->kind == XM_CONSTRUCTOR)
        return do_create(call, m, args[0], result_r, errp);

    xobj *o = lookup(m->cls, args[0]->u.str.s, errp);
    if (!o || !can_read(call, o, errp))
        return false;
    if (m->kind == XM_DESTRUCTOR) {
        if (ops && ops->destroy && !ops->destroy(call, o, errp))
            return false;
        store_remove(o);
        return true;
    }

    const xfield *f = &c->fields[m->field];
    xv *nv = NULL;
    switch (m->kind) {
    case XM_SETTER:
        if (!refs_exist(f->type, args[1], errp) || !xconstraint_field(m->cls, m->field, args[1], false, errp))
            return false;
        nv = xv_dup(args[1]);
        break;
    case XM_MAP_ADD: {
        const xv *cur = xv_struct_get(o->f[m->field], args[1]->u.str.s);
        if (cur && !xv_equal(cur, args[2])) {
            char curs[64], news[64];
            const char *cs = cur->kind == XV_STRING ? cur->u.str.s : curs;
            const char *ns = args[2]->kind == XV_STRING ? args[2]->u.str.s : news;
            if (cur->kind == XV_INT)
                snprintf(curs, sizeof(curs), "%lld", (long long)cur->u.i);
            if (args[2]->kind == XV_INT)
                snprintf(news, sizeof(news), "%lld", (long long)args[2]->u.i);
            return xerr_MAP_DUPLICATE_KEY(errp, args[1]->u.str.s, cs, ns);
        }
        if (cur)
            return true;
        nv = xv_dup(o->f[m->field]);
        xv_struct_set(nv, args[1]->u.str.s, xv_dup(args[2]));
        break;
    }
    case XM_MAP_REMOVE:
        if (!xv_struct_get(o->f[m->field], args[1]->u.str.s))
            return true;
        nv = xv_dup(o->f[m->field]);
        xv_struct_del(nv, args[1]->u.str.s);
        break;
    case XM_SET_ADD:
    case XM_SET_REMOVE: {
        xv *elem = xv_dup(args[1]);
        /* the element parameter may be typed differently from the set (cpu_pool) */
        if (!xtype_coerce(f->type->elem, &elem, m->params[0].name, errp)) {
            xv_free(elem);
            return false;
        }
        nv = xv_dup(o->f[m->field]);
        size_t i;
        for (i = 0; i < nv->u.arr.n && !xv_equal(nv->u.arr.items[i], elem); i++)
            ;
        bool present = i < nv->u.arr.n;
        if (m->kind == XM_SET_ADD && !present) {
            xv_array_add(nv, elem);
            elem = NULL;
        } else if (m->kind == XM_SET_REMOVE && present) {
            xv_free(nv->u.arr.items[i]);
            memmove(&nv->u.arr.items[i], &nv->u.arr.items[i + 1], (nv->u.arr.n - i - 1) * sizeof(xv *));
            nv->u.arr.n--;
        }
        xv_free(elem);
        break;
    }
    default:
        return xerr_internal(errp, "not a write message");
    }
    if (xv_equal(nv, o->f[m->field])) {
        xv_free(nv);
        return true;
    }
    if (ops && ops->set && !ops->set(call, o, m->field, nv, errp)) {
        xv_free(nv);
        return false;
    }
    xobj_set(o, m->field, nv);
    return true;
}

bool implicit_call(xcall *call, xv *const *args, xv **result_r, xerr **errp)
{
    const xmethod *m = call->m;
    bool ok;
    if (implicit_is_read(m->kind)) {
        store_rdlock();
        ok = do_read(call, m, args, result_r, errp);
    } else {
        store_wrlock();
        ok = do_write(call, m, args, result_r, errp);
    }
    store_unlock();
    return ok;
}
