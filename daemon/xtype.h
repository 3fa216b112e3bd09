/* xtype: descriptors of XenAPI types, classes and fields (instances are
 * generated into gen/xapi_model.c), and the one type checker that turns
 * wire values into their canonical in-memory form.
 */
#ifndef XEND_XTYPE_H
#define XEND_XTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include "util/xv.h"

typedef enum xt_kind {
    XT_STRING, XT_INT, XT_FLOAT, XT_BOOL, XT_DATETIME, XT_VOID,
    XT_REF, XT_RECORD, XT_ENUM, XT_STRUCT, XT_SET, XT_MAP,
} xt_kind;

typedef struct xtype {
    xt_kind kind;
    const char *str;            /* the datamodel spelling, e.g. "(VM ref) Set" */
    int cls;                    /* XT_REF, XT_RECORD: class id, else -1 */
    int en;                     /* XT_ENUM: enum id, else -1 */
    int st;                     /* XT_STRUCT: struct id, else -1 */
    const struct xtype *elem;   /* XT_SET element, XT_MAP value */
    const struct xtype *key;    /* XT_MAP key */
} xtype;

typedef enum xqual { XQ_RO_RUN, XQ_RO_INS, XQ_RW } xqual;

typedef struct xfield {
    const char *name;
    const xtype *type;
    xqual qual;
} xfield;

typedef struct xenum_desc {
    const char *name;
    const char *const *values;
    int n;
} xenum_desc;

typedef struct xstruct_desc {
    const char *name;
    const xfield *members;
    int n;
} xstruct_desc;

typedef struct xclass_desc {
    const char *name;
    int id;
    const xfield *fields;
    int nfields;
    int uuid_field;             /* -1 if none */
    int name_label_field;       /* -1 if none */
    bool pseudo;                /* no objects (system) */
    bool has_create;
    bool has_destroy;
} xclass_desc;

typedef struct xrelationship {   /* child.field (a ref or ref Set) <-> parent.field (a ref Set) */
    int child_cls, child_field;
    int parent_cls, parent_field;
} xrelationship;

struct xerr;

/* The class named name (case-sensitive), or NULL. */
const xclass_desc *xclass_by_name(const char *name);
/* Same, ignoring case ("vm" -> VM), for event subscriptions. */
const xclass_desc *xclass_by_name_ci(const char *name);
/* Index of value in enum en, or -1. */
int xenum_index(int en, const char *value);

/* Check *v against t and rewrite it in place to the canonical form: ints
 * become XV_INT (from decimal strings too), bools XV_BOOL, enums, refs,
 * strings and datetimes XV_STRING/XV_DATETIME, sets XV_ARRAY, maps and
 * records XV_STRUCT (records: unknown members dropped, missing ones added
 * with defaults when fill_defaults).  what names the value in errors
 * (FIELD_TYPE_ERROR(what) / VALUE_NOT_SUPPORTED(what, value, reason)). */
bool xtype_coerce(const xtype *t, xv **v, const char *what, struct xerr **errp);
/* XAPI writes refs as "OpaqueRef:<uuid>" (null: "OpaqueRef:NULL"); xend's
 * refs are the bare uuids.  Both forms are accepted everywhere a ref is
 * read: xref_plain returns s without the prefix ("" for OpaqueRef:NULL),
 * pointing into s or to a static "".  xtype_coerce does this to every ref
 * it checks. */
#define XREF_OPAQUE_PREFIX "OpaqueRef:"
const char *xref_plain(const char *s);
/* Rewrite, in place, every ref inside v (a value of type t) to the
 * OpaqueRef form, for callers that use XAPI's refs (docs/jsonrpc.md):
 * refs, ref sets, ref-keyed maps, records and structs by their fields, and
 * event records by their class (ref and snapshot).  Pre-encoded values are
 * left alone (callers that rewrite refs get trees: xcall.want_tree). */
void xtype_export_refs(const xtype *t, xv *v);
/* The same, for what is typed by the datamodel's errors or by a task rather
 * than by a type: an error's parameters that are refs (the datamodel's
 * "<name> ref"; one in OpaqueRef form already is left alone), in an xerr or
 * in an ErrorDescription array ([code, params...], task.error_info); and a
 * task's result, a ref when the task's type names a class. */
void xerr_export_refs(struct xerr *e);
void xtype_export_error(xv *desc);
void xtype_export_task_result(xv *result, const char *type);

/* A new value of type t's default: "", 0, 0.0, false, epoch, first enum
 * value, empty set/map, a record with every field defaulted. */
xv *xtype_default(const xtype *t);

#endif
