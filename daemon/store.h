/* store: the in-memory object store.  Every XenAPI object is an xobj: its
 * class and one canonical xv per field (never NULL).  One reader/writer lock
 * guards the whole store: handlers take it shared to read and exclusive to
 * change anything, and every change is reported to the observers (event
 * log, persistence) while the lock is held.
 */
#ifndef XEND_STORE_H
#define XEND_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/xerr.h"
#include "daemon/xtype.h"
#include "util/uuid.h"
#include "util/xv.h"

#define XREF_LEN 40

typedef struct xobj {
    int cls;
    char ref[XREF_LEN];         /* the wire ref: the object's uuid, as xend did */
    xv **f;                     /* nfields canonical values */
    void *priv;                 /* runtime data owned by the class's code */
    void (*priv_free)(void *priv);
    struct store_node *node;    /* the store's own (NULL until inserted) */
} xobj;

typedef enum xstore_op { XSTORE_ADD, XSTORE_DEL, XSTORE_MOD } xstore_op;

/* An observer sees every change, under the write lock.  field is the changed
 * field's index for MOD (-1: several/unknown).  For DEL the object is still
 * readable during the callback. */
typedef void (*xstore_observer_fn)(void *arg, xstore_op op, const xobj *o, int field);
void store_add_observer(xstore_observer_fn fn, void *arg);

void store_init(void);
void store_fini(void);

void store_rdlock(void);
void store_wrlock(void);
void store_unlock(void);

/* All below: call with the lock held (shared is enough for lookups). */
xobj *store_find(int cls, const char *ref);            /* borrowed or NULL */
xobj *store_find_any(const char *ref, int *cls_r);     /* any class */
size_t store_count(int cls);
/* Iterate a class: for (xobj *o = store_first(c); o; o = store_next(o)) */
xobj *store_first(int cls);
xobj *store_next(const xobj *o);

/* New object with every field defaulted and uuid set (generated when uuid
 * is NULL); not yet in the store.  Free with xobj_free unless inserted. */
xobj *xobj_new(int cls, const char *uuid);
void xobj_free(xobj *o);
/* Insert (write lock): maintains relationships (the parent's ref Set gets
 * the child), notifies ADD.  The store owns o afterwards. */
void store_insert(xobj *o);
/* Remove and free (write lock): relationships updated, DEL notified. */
void store_remove(xobj *o);

/* Field access.  Setters take ownership of v, keep relationships in step
 * (a child's ref field change moves it between parents' sets; so does a
 * change of a many-to-many child's ref Set, by set or add/remove), notify MOD. */
const xv *xobj_get(const xobj *o, int field);
void xobj_set(xobj *o, int field, xv *v);
void xobj_set_str(xobj *o, int field, const char *s);
void xobj_set_int(xobj *o, int field, int64_t i);
void xobj_set_bool(xobj *o, int field, bool b);
void xobj_set_double(xobj *o, int field, double d);
const char *xobj_str(const xobj *o, int field);        /* STRING/DATETIME/ref/enum */
int64_t xobj_int(const xobj *o, int field);
bool xobj_bool(const xobj *o, int field);
double xobj_double(const xobj *o, int field);
/* Set fields: add (no duplicate) / remove a string element. */
void xobj_set_add(xobj *o, int field, const char *s);
void xobj_set_remove(xobj *o, int field, const char *s);
/* Map fields (string -> string). */
const char *xobj_map_get(const xobj *o, int field, const char *key);
void xobj_map_put(xobj *o, int field, const char *key, const char *value);
/* Report a change made directly to o->f[field] (notifies MOD). */
void xobj_touch(xobj *o, int field);

/* The object's record: a struct of every field, copied. */
xv *xobj_record(const xobj *o);
/* The same record written straight to b as one XML-RPC <value> (what
 * xmlrpc_encode_value writes for xobj_record's struct), without a copy. */
void xobj_encode_record(xbuf *b, const xobj *o);

/* A fresh random uuid (RFC 4122 v4) into buf (XREF_LEN). */
void xuuid_generate(char *buf);

#endif
