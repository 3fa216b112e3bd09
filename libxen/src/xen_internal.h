/* libxen internals: type descriptors read by the one generic marshaller.
 *
 * Every value libxen handles lives in a "slot" of a known C type.  A
 * descriptor (xeni_type) says what the slot holds and, for containers and
 * records, how the pointed-to object is laid out.  The generator emits one
 * descriptor per datamodel type (with offsetof/sizeof computed by the
 * compiler from the public structs); xen_common.c converts slots to and from
 * xv trees, allocates and frees them.  Nothing here is part of the public API
 * (the shared library exports only symbols starting with "xen_").
 */
#ifndef XENI_INTERNAL_H
#define XENI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/api/xen_common.h>
#include <xen/api/xen_xs_type.h>
#include "util/xv.h"

typedef enum xeni_kind {
    XK_STRING,    /* char *            (strings, refs)                     */
    XK_INT,       /* int64_t                                               */
    XK_FLOAT,     /* double                                                */
    XK_BOOL,      /* bool                                                  */
    XK_DATETIME,  /* time_t, UTC                                           */
    XK_ENUM,      /* an enum, read and written as int                      */
    XK_SET,       /* pointer to { size_t size; elem contents[]; }          */
    XK_MAP,       /* pointer to { size_t size; { key; val; } contents[]; } */
    XK_RECORD,    /* pointer to a record / struct                          */
    XK_OPT,       /* pointer to a record_opt { bool is_record; union }     */
} xeni_kind;

typedef struct xeni_type xeni_type;

typedef struct xeni_member {
    const char *name;          /* wire name */
    const xeni_type *type;
    size_t offset;
    bool create;               /* sent by <class>.create (RW and RO/ins) */
} xeni_member;

struct xeni_type {
    xeni_kind kind;
    const char *name;          /* for error messages */
    /* XK_ENUM: names[0..n_names-1]; the value n_names is _UNDEFINED */
    const char *const *names;
    int n_names;
    /* XK_SET: elem; XK_MAP: key and elem (the value); XK_OPT: elem = record */
    const xeni_type *key, *elem;
    size_t contents_offset;    /* XK_SET, XK_MAP */
    size_t entry_size;         /* XK_SET, XK_MAP: size of one contents[] entry */
    size_t val_offset;         /* XK_MAP: offset of val inside an entry */
    /* XK_RECORD */
    size_t struct_size;
    const xeni_member *members;
    size_t n_members;
    ptrdiff_t handle_offset;   /* offset of the handle member, -1 if none */
};

/* The layout shared by every generated xen_<class>_record_opt. */
typedef struct xeni_opt {
    bool is_record;
    union { char *handle; void *record; } u;
} xeni_opt;

/* Primitive descriptors (xen_common.c). */
extern const xeni_type xeni_t_string, xeni_t_int, xeni_t_float, xeni_t_bool,
    xeni_t_datetime;

/* One positional call argument: a pointer to a slot of the given type. */
typedef struct xeni_arg {
    const xeni_type *type;
    const void *slot;
    unsigned flags;            /* XENI_CREATE: a record for <class>.create */
} xeni_arg;
/* A record for create: RW and RO/ins members always, RO/run members only
 * when set (non-NULL pointer; scalars are always set). */
#define XENI_CREATE 1u

/* Size of one slot of type t. */
size_t xeni_slot_size(const xeni_type *t);

/* Slot <-> xv.  to_xv never fails (NULL pointers marshal as empty values).
 * from_xv fills *slot with a newly allocated value and returns true, or
 * returns false with a reason in *err_r (malloc'd) and *slot zeroed. */
xv *xeni_to_xv(const xeni_type *t, const void *slot, unsigned flags);
bool xeni_from_xv(const xeni_type *t, const xv *v, void *slot, char **err_r);

/* Free whatever the slot owns (not the slot itself); the slot is zeroed. */
void xeni_slot_free(const xeni_type *t, void *slot);
/* Free an object that a pointer-kind slot would point to (NULL is fine). */
void xeni_free_ptr(const xeni_type *t, void *p);

/* Allocation of containers and records (zero-filled; size entries). */
void *xeni_set_alloc(const xeni_type *t, size_t size);
void *xeni_record_alloc(const xeni_type *t);
void *xeni_opt_alloc(void);

/* Set the handle of a record (a copy of handle) when it has none yet. */
void xeni_record_set_handle(const xeni_type *t, void *record, const char *handle);

/* Enum <-> string */
const char *xeni_enum_to_string(const xeni_type *t, int v);
int xeni_enum_from_string(const xeni_type *t, const char *s);

/* The call: marshal args (after the session ref), send through the
 * session's call_func, parse the Status struct.  On success the result (of
 * type rt, may be NULL for void) is stored at *result and true returned.
 * On failure the session records the error, *result is zeroed, false is
 * returned.  A session already in error makes no call. */
bool xeni_call(xen_session *s, const char *method, const xeni_arg *args,
               size_t nargs, const xeni_type *rt, void *result);
/* Same, without the leading session ref (session.login_with_password). */
bool xeni_call_nosession(xen_session *s, const char *method,
                         const xeni_arg *args, size_t nargs,
                         const xeni_type *rt, void *result);

/* Record an error on the session (unless it already holds one). */
void xeni_session_error(xen_session *s, int n, const char *const *strings);

char *xeni_strdup(const char *s);

/* XENAPI_1.0's forms of the three calls whose default took Xen 4.4.0's
 * int64_t result in XENAPI_1.1 (xen_compat44.c; exported as name@XENAPI_1.0). */
bool xeni_xspolicy_get_xstype_1_0(xen_session *session, enum xen_xs_type *result);
bool xeni_vdi_set_security_label_1_0(xen_session *session, char *vdi, const char *security_label,
                                     const char *old_label);
bool xeni_vif_set_security_label_1_0(xen_session *session, char *vif, const char *security_label,
                                     const char *old_label);

#endif
