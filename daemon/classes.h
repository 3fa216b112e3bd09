/* classes: per-class behaviour plugged into the generic (implicit) messages.
 * Every slot is optional.  All run with the store write lock held, except
 * read(), which runs with at least the shared lock. */
#ifndef XEND_CLASSES_H
#define XEND_CLASSES_H

#include "daemon/dispatch.h"
#include "daemon/store.h"

typedef struct xclass_ops {
    /* o was built from the create() record rec (every field present, typed)
     * and is not in the store yet: validate and complete it (RO/run fields
     * such as console.VM may be taken from rec); on false nothing is kept. */
    bool (*create)(xcall *call, xobj *o, const xv *rec, xerr **errp);
    /* o is about to be removed by destroy(): veto or clean up. */
    bool (*destroy)(xcall *call, xobj *o, xerr **errp);
    /* field of o is about to become v (setter, add_to, remove_from): veto or act. */
    bool (*set)(xcall *call, xobj *o, int field, const xv *v, xerr **errp);
    /* may the caller see o? (sessions are private to their owner) */
    bool (*read)(xcall *call, const xobj *o, xerr **errp);
    /* the hooks may block (they touch files): the class's implicit writes
     * run on a worker, not on the transport's thread */
    bool blocking;
} xclass_ops;

/* The hooks of class cls, or NULL: the generated table (gen/xapi_dispatch.c,
 * from the datamodel's "hooks"), which names <class>_ops of daemon/api/<class>.c
 * (session.c and task.c for theirs). */
extern const xclass_ops *const xclass_hooks[];
static inline const xclass_ops *xclass_get_ops(int cls) { return xclass_hooks[cls]; }

/* The generic implementation of every implicit message kind. */
bool implicit_call(xcall *call, xv *const *args, xv **result_r, xerr **errp);
/* True for the kinds that only read (answered inline, never queued). */
bool implicit_is_read(xmsg_kind kind);

#endif
