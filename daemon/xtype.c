/* xtype: the one type checker for values arriving from the wire. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/xtype.h"
#include "util/strutil.h"
#include "xapi_errors.h"
#include "xapi_model.h"

const xclass_desc *xclass_by_name(const char *name)
{
    for (int i = 0; i < XCL__COUNT; i++)
        if (strcmp(xclasses[i].name, name) == 0)
            return &xclasses[i];
    return NULL;
}

const xclass_desc *xclass_by_name_ci(const char *name)
{
    for (int i = 0; i < XCL__COUNT; i++)
        if (strcasecmp(xclasses[i].name, name) == 0)
            return &xclasses[i];
    return NULL;
}

int xenum_index(int en, const char *value)
{
    const xenum_desc *e = &xenums[en];
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->values[i], value) == 0)
            return i;
    return -1;
}

static bool type_error(const char *what, xerr **errp)
{
    return xerr_FIELD_TYPE_ERROR(errp, what);
}

/* A well-formed "YYYYMMDDTHH:MM:SS" (an optional trailing "Z" is dropped). */
static bool datetime_ok(xv *v)
{
    const char *s = v->u.str.s;
    size_t n = v->u.str.len;
    if (n == 18 && s[17] == 'Z') {
        v->u.str.s[17] = '\0';
        v->u.str.len = n = 17;
    }
    if (n != 17 || s[8] != 'T' || s[11] != ':' || s[14] != ':')
        return false;
    for (size_t i = 0; i < n; i++)
        if (i != 8 && i != 11 && i != 14 && (s[i] < '0' || s[i] > '9'))
            return false;
    return true;
}

static void replace(xv **v, xv *nv)
{
    xv_free(*v);
    *v = nv;
}

static bool coerce_fields(const xfield *fields, int n, xv **v, const char *what, bool fill, xerr **errp)
{
    if ((*v)->kind != XV_STRUCT)
        return type_error(what, errp);
    xv *out = xv_struct();
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        char sub[160];
        snprintf(sub, sizeof(sub), "%s", fields[i].name);
        xv *m = xv_struct_get(*v, fields[i].name);
        if (!m) {
            if (fill)
                xv_struct_set(out, fields[i].name, xtype_default(fields[i].type));
            continue;
        }
        xv *c = xv_dup(m);
        ok = xtype_coerce(fields[i].type, &c, sub, errp);
        if (ok)
            xv_struct_set(out, fields[i].name, c);
        else
            xv_free(c);
    }
    if (!ok) {
        xv_free(out);
        return false;
    }
    replace(v, out);
    return true;
}

bool xtype_coerce(const xtype *t, xv **v, const char *what, xerr **errp)
{
    xv *x = *v;
    switch (t->kind) {
    case XT_STRING:
    case XT_REF:
        if (t->kind == XT_REF && x->kind == XV_STRING && !xv_is_encoded(x) &&
            strncmp(x->u.str.s, XREF_OPAQUE_PREFIX, sizeof(XREF_OPAQUE_PREFIX) - 1) == 0) {
            /* the plain ref is the text's tail: moved in place, not copied */
            const char *plain = xref_plain(x->u.str.s);
            x->u.str.len = strlen(plain);
            memmove(x->u.str.s, plain, x->u.str.len + 1);
            return true;
        }
        if (x->kind == XV_NIL) {
            replace(v, xv_str(""));
            return true;
        }
        if (x->kind == XV_INT && t->kind == XT_STRING) {
            replace(v, xv_strf("%lld", (long long)x->u.i));
            return true;
        }
        if (x->kind != XV_STRING)
            return type_error(what, errp);
        return true;
    case XT_ENUM: {
        if (x->kind != XV_STRING)
            return type_error(what, errp);
        if (xenum_index(t->en, x->u.str.s) < 0) {
            char reason[96];
            snprintf(reason, sizeof(reason), "not a value of enum %s", xenums[t->en].name);
            return xerr_VALUE_NOT_SUPPORTED(errp, what, x->u.str.s, reason);
        }
        return true;
    }
    case XT_INT:
    case XT_FLOAT:
    case XT_BOOL: {
        /* a scalar given as another kind (a string, or an int for a float
         * or bool) is read leniently; a float is no int */
        xv_kind want = t->kind == XT_INT ? XV_INT : t->kind == XT_FLOAT ? XV_DOUBLE : XV_BOOL;
        if (x->kind == want)
            return true;
        xv *s = want == XV_INT && x->kind == XV_DOUBLE ? NULL : xv_convert(x, want);
        if (!s)
            return type_error(what, errp);
        replace(v, s);
        return true;
    }
    case XT_DATETIME:
        if (x->kind == XV_STRING) {
            xv *d = xv_datetime(x->u.str.s);
            replace(v, d);
            x = d;
        }
        if (x->kind != XV_DATETIME || !datetime_ok(x))
            return type_error(what, errp);
        return true;
    case XT_VOID:
        return true;
    case XT_SET:
        if (x->kind == XV_STRING && x->u.str.len == 0) {   /* some clients send "" for [] */
            replace(v, xv_array());
            return true;
        }
        if (x->kind != XV_ARRAY)
            return type_error(what, errp);
        for (size_t i = 0; i < x->u.arr.n; i++)
            if (!xtype_coerce(t->elem, &x->u.arr.items[i], what, errp))
                return false;
        /* a Set holds each element once */
        for (size_t i = 0; i < x->u.arr.n; i++)
            for (size_t j = i + 1; j < x->u.arr.n;) {
                if (xv_equal(x->u.arr.items[i], x->u.arr.items[j])) {
                    xv_free(x->u.arr.items[j]);
                    memmove(&x->u.arr.items[j], &x->u.arr.items[j + 1],
                            (x->u.arr.n - j - 1) * sizeof(xv *));
                    x->u.arr.n--;
                } else {
                    j++;
                }
            }
        return true;
    case XT_MAP:
        if (x->kind == XV_STRING && x->u.str.len == 0) {
            replace(v, xv_struct());
            return true;
        }
        if (x->kind != XV_STRUCT)
            return type_error(what, errp);
        for (size_t i = 0; i < x->u.st.n; i++) {
            if (t->key->kind == XT_INT) {
                xv *k = xv_str(x->u.st.keys[i]);
                bool ok = xtype_coerce(t->key, &k, what, errp);
                xv_free(k);
                if (!ok)
                    return false;
            } else if (t->key->kind == XT_ENUM && xenum_index(t->key->en, x->u.st.keys[i]) < 0) {
                return xerr_VALUE_NOT_SUPPORTED(errp, what, x->u.st.keys[i], "not a valid key");
            }
            if (!xtype_coerce(t->elem, &x->u.st.vals[i], what, errp))
                return false;
        }
        return true;
    case XT_RECORD:
        return coerce_fields(xclasses[t->cls].fields, xclasses[t->cls].nfields, v, what, true, errp);
    case XT_STRUCT:
        return coerce_fields(xstructs[t->st].members, xstructs[t->st].n, v, what, true, errp);
    }
    return type_error(what, errp);
}

xv *xtype_default(const xtype *t)
{
    switch (t->kind) {
    case XT_STRING:
    case XT_REF:
    case XT_VOID:
        return xv_str("");
    case XT_ENUM:
        return xv_str(xenums[t->en].values[0]);
    case XT_INT:
        return xv_int(0);
    case XT_FLOAT:
        return xv_double(0.0);
    case XT_BOOL:
        return xv_bool(false);
    case XT_DATETIME:
        return xv_datetime("19700101T00:00:00");
    case XT_SET:
        return xv_array();
    case XT_MAP:
        return xv_struct();
    case XT_RECORD:
    case XT_STRUCT: {
        bool rec = t->kind == XT_RECORD;
        const xfield *f = rec ? xclasses[t->cls].fields : xstructs[t->st].members;
        int n = rec ? xclasses[t->cls].nfields : xstructs[t->st].n;
        xv *r = xv_struct();
        for (int i = 0; i < n; i++)
            xv_struct_set(r, f[i].name, xtype_default(f[i].type));
        return r;
    }
    }
    return xv_str("");
}

const char *xref_plain(const char *s)
{
    size_t n = sizeof(XREF_OPAQUE_PREFIX) - 1;
    if (strncmp(s, XREF_OPAQUE_PREFIX, n) != 0)
        return s;
    return strcmp(s + n, "NULL") == 0 ? "" : s + n;
}

/* s in OpaqueRef form ("" is OpaqueRef:NULL), or NULL when it is in that
 * form already (an error parameter echoes the ref as the caller sent it). */
static char *opaque_of(const char *s)
{
    if (strncmp(s, XREF_OPAQUE_PREFIX, sizeof(XREF_OPAQUE_PREFIX) - 1) == 0)
        return NULL;
    char *n = *s ? xstrfmt(XREF_OPAQUE_PREFIX "%s", s) : strdup(XREF_OPAQUE_PREFIX "NULL");
    if (!n)
        abort();
    return n;
}

static void export_ref(xv *v)
{
    if (v->kind != XV_STRING || xv_is_encoded(v))
        return;
    char *n = opaque_of(v->u.str.s);
    if (!n)
        return;
    free(v->u.str.s);
    v->u.str.s = n;
    v->u.str.len = strlen(n);
}

/* Parameter i of error code is a ref (the datamodel's "<name> ref"). */
static bool error_param_is_ref(const char *code, size_t i)
{
    for (size_t k = 0; k < xerr_table_count; k++)
        if (strcmp(xerr_table[k].code, code) == 0)
            return i < 32 && (xerr_table[k].refs >> i) & 1u;
    return false;
}

void xtype_export_error(xv *desc)
{
    if (desc->kind != XV_ARRAY || desc->u.arr.n == 0 || desc->u.arr.items[0]->kind != XV_STRING)
        return;
    for (size_t i = 1; i < desc->u.arr.n; i++)
        if (error_param_is_ref(desc->u.arr.items[0]->u.str.s, i - 1))
            export_ref(desc->u.arr.items[i]);
}

void xerr_export_refs(struct xerr *e)
{
    for (size_t i = 0; e && i < e->n; i++) {
        char *n = error_param_is_ref(e->code, i) ? opaque_of(e->params[i] ? e->params[i] : "") : NULL;
        if (n) {
            free(e->params[i]);
            e->params[i] = n;
        }
    }
}

void xtype_export_task_result(xv *result, const char *type)
{
    if (type && *type && result && result->kind == XV_STRING && result->u.str.len)
        export_ref(result);
}

/* The type of member key of a record or struct whose members are fields
 * (in field order when it was built from them: try index i first). */
static const xtype *field_type(const xfield *f, int nf, size_t i, const char *key)
{
    if (i < (size_t)nf && strcmp(f[i].name, key) == 0)
        return f[i].type;
    for (int k = 0; k < nf; k++)
        if (strcmp(f[k].name, key) == 0)
            return f[k].type;
    return NULL;
}

static void export_fields(const xfield *f, int nf, xv *v)
{
    if (v->kind != XV_STRUCT)
        return;
    for (size_t i = 0; i < v->u.st.n; i++) {
        const xtype *t = field_type(f, nf, i, v->u.st.keys[i]);
        if (t)
            xtype_export_refs(t, v->u.st.vals[i]);
    }
}

static void export_record(int cls, xv *v);

/* An event record: its ref and snapshot are of the class it names. */
static void export_event(xv *v)
{
    const xv *cl = xv_struct_get(v, "class");
    const xclass_desc *c = cl && cl->kind == XV_STRING ? xclass_by_name_ci(cl->u.str.s) : NULL;
    if (!c)
        return;
    xv *ref = xv_struct_get(v, "ref");
    if (ref)
        export_ref(ref);
    xv *snap = xv_struct_get(v, "snapshot");
    if (snap)
        export_record((int)(c - xclasses), snap);
}

/* A record of class cls: its fields by their types; an event's by the class
 * it names; a task's result is a ref when its type names the ref's class
 * (XAPI's meaning of task.type), its error_info an ErrorDescription. */
static void export_record(int cls, xv *v)
{
    if (cls == XCL_event && v->kind == XV_STRUCT) {
        export_event(v);
        return;
    }
    export_fields(xclasses[cls].fields, xclasses[cls].nfields, v);
    if (cls != XCL_task || v->kind != XV_STRUCT)
        return;
    const xv *type = xv_struct_get(v, "type");
    xtype_export_task_result(xv_struct_get(v, "result"), type && type->kind == XV_STRING ? type->u.str.s : NULL);
    xv *info = xv_struct_get(v, "error_info");
    if (info)
        xtype_export_error(info);
}

void xtype_export_refs(const xtype *t, xv *v)
{
    if (!t || !v)
        return;
    switch (t->kind) {
    case XT_REF:
        export_ref(v);
        return;
    case XT_SET:
        if (v->kind == XV_ARRAY)
            for (size_t i = 0; i < v->u.arr.n; i++)
                xtype_export_refs(t->elem, v->u.arr.items[i]);
        return;
    case XT_MAP:
        if (v->kind != XV_STRUCT)
            return;
        for (size_t i = 0; i < v->u.st.n; i++) {
            if (t->key->kind == XT_REF) {
                char *k = xstrfmt(XREF_OPAQUE_PREFIX "%s", v->u.st.keys[i]);
                if (!k)
                    abort();
                free(v->u.st.keys[i]);
                v->u.st.keys[i] = k;
            }
            xtype_export_refs(t->elem, v->u.st.vals[i]);
        }
        return;
    case XT_RECORD:
        export_record(t->cls, v);
        return;
    case XT_STRUCT:
        export_fields(xstructs[t->st].members, xstructs[t->st].n, v);
        return;
    default:
        return;
    }
}
