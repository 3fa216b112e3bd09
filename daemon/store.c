/* store: the in-memory object store (see store.h). */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "daemon/store.h"
#include "util/xmlrpc.h"
#include "util/strutil.h"
#include "xapi_model.h"

/* Per-class table: chained hash on ref, plus an insertion-ordered list. */
typedef struct store_node {
    xobj *o;
    struct store_node *hnext;       /* hash chain */
    struct store_node *prev, *next; /* insertion order */
} node;

typedef struct ctable {
    node **buckets;
    size_t nbuckets, count;
    node *head, *tail;
} ctable;

typedef struct observer {
    xstore_observer_fn fn;
    void *arg;
} observer;

static pthread_rwlock_t store_lock = PTHREAD_RWLOCK_INITIALIZER;
static ctable tables[XCL__COUNT];
/* Per class, per field: the encoded start of its record member
 * (xmlrpc_encode_member_begin of the field name), made once. */
typedef struct member_head { char *s; size_t len; } member_head;
static member_head *member_heads[XCL__COUNT];
static observer observers[8];
static size_t n_observers;

void store_add_observer(xstore_observer_fn fn, void *arg)
{
    if (n_observers < sizeof(observers) / sizeof(observers[0]))
        observers[n_observers++] = (observer){ fn, arg };
}

static void notify(xstore_op op, const xobj *o, int field)
{
    for (size_t i = 0; i < n_observers; i++)
        observers[i].fn(observers[i].arg, op, o, field);
}

void store_init(void)
{
    for (int c = 0; c < XCL__COUNT; c++) {
        tables[c].nbuckets = 64;
        tables[c].buckets = calloc(tables[c].nbuckets, sizeof(node *));
        if (!tables[c].buckets)
            abort();
        int nf = xclasses[c].nfields;
        member_heads[c] = calloc(nf ? (size_t)nf : 1, sizeof(member_head));
        if (!member_heads[c])
            abort();
        for (int i = 0; i < nf; i++) {
            xbuf b;
            xbuf_init(&b);
            xmlrpc_encode_member_begin(&b, xclasses[c].fields[i].name);
            member_heads[c][i].s = xbuf_steal(&b, &member_heads[c][i].len);
        }
    }
}

void store_fini(void)
{
    for (int c = 0; c < XCL__COUNT; c++) {
        node *n = tables[c].head;
        while (n) {
            node *next = n->next;
            xobj_free(n->o);
            free(n);
            n = next;
        }
        free(tables[c].buckets);
        memset(&tables[c], 0, sizeof(tables[c]));
        for (int i = 0; member_heads[c] && i < xclasses[c].nfields; i++)
            free(member_heads[c][i].s);
        free(member_heads[c]);
        member_heads[c] = NULL;
    }
    n_observers = 0;
}

void store_rdlock(void) { pthread_rwlock_rdlock(&store_lock); }
void store_wrlock(void) { pthread_rwlock_wrlock(&store_lock); }
void store_unlock(void) { pthread_rwlock_unlock(&store_lock); }

static node *find_node(int cls, const char *ref)
{
    ctable *t = &tables[cls];
    if (!t->buckets)
        return NULL;
    for (node *n = t->buckets[xhash_str(ref) % t->nbuckets]; n; n = n->hnext)
        if (strcmp(n->o->ref, ref) == 0)
            return n;
    return NULL;
}

xobj *store_find(int cls, const char *ref)
{
    if (cls < 0 || cls >= XCL__COUNT || !ref)
        return NULL;
    node *n = find_node(cls, ref);
    return n ? n->o : NULL;
}

xobj *store_find_any(const char *ref, int *cls_r)
{
    for (int c = 0; c < XCL__COUNT; c++) {
        xobj *o = store_find(c, ref);
        if (o) {
            if (cls_r)
                *cls_r = c;
            return o;
        }
    }
    return NULL;
}

size_t store_count(int cls) { return tables[cls].count; }

xobj *store_first(int cls)
{
    return tables[cls].head ? tables[cls].head->o : NULL;
}

xobj *store_next(const xobj *o)
{
    node *n = o->node;
    return n && n->next ? n->next->o : NULL;
}

static void grow(ctable *t)
{
    size_t nb = t->nbuckets * 4;
    node **b = calloc(nb, sizeof(node *));
    if (!b)
        abort();
    for (node *n = t->head; n; n = n->next) {
        size_t h = xhash_str(n->o->ref) % nb;
        n->hnext = b[h];
        b[h] = n;
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
}

xobj *xobj_new(int cls, const char *uuid)
{
    const xclass_desc *c = &xclasses[cls];
    xobj *o = calloc(1, sizeof(*o));
    if (!o)
        abort();
    o->cls = cls;
    o->f = calloc(c->nfields ? (size_t)c->nfields : 1, sizeof(xv *));
    if (!o->f)
        abort();
    for (int i = 0; i < c->nfields; i++)
        o->f[i] = xtype_default(c->fields[i].type);
    if (uuid)
        snprintf(o->ref, sizeof(o->ref), "%s", uuid);
    else
        xuuid_generate(o->ref);
    if (c->uuid_field >= 0) {
        xv_free(o->f[c->uuid_field]);
        o->f[c->uuid_field] = xv_str(o->ref);
    }
    return o;
}

void xobj_free(xobj *o)
{
    if (!o)
        return;
    for (int i = 0; i < xclasses[o->cls].nfields; i++)
        xv_free(o->f[i]);
    free(o->f);
    if (o->priv && o->priv_free)
        o->priv_free(o->priv);
    free(o);
}

/* ---- relationships ---- */

static void set_add_raw(xv *set, const char *s)
{
    for (size_t i = 0; i < set->u.arr.n; i++)
        if (strcmp(set->u.arr.items[i]->u.str.s, s) == 0)
            return;
    xv_array_add(set, xv_str(s));
}

static bool set_remove_raw(xv *set, const char *s)
{
    for (size_t i = 0; i < set->u.arr.n; i++)
        if (set->u.arr.items[i]->kind == XV_STRING && strcmp(set->u.arr.items[i]->u.str.s, s) == 0) {
            xv_free(set->u.arr.items[i]);
            memmove(&set->u.arr.items[i], &set->u.arr.items[i + 1],
                    (set->u.arr.n - i - 1) * sizeof(xv *));
            set->u.arr.n--;
            return true;
        }
    return false;
}

/* child o's field now points at parent_ref (or stopped pointing at it). */
static void rel_link(const xobj *o, int field, const char *parent_ref, bool add)
{
    if (!parent_ref || !*parent_ref)
        return;
    for (size_t i = 0; i < xrelationships_count; i++) {
        const xrelationship *r = &xrelationships[i];
        if (r->child_cls != o->cls || r->child_field != field)
            continue;
        xobj *p = store_find(r->parent_cls, parent_ref);
        if (!p)
            continue;
        if (add)
            set_add_raw(p->f[r->parent_field], o->ref);
        else
            set_remove_raw(p->f[r->parent_field], o->ref);
        notify(XSTORE_MOD, p, r->parent_field);
    }
}

/* The same for every ref a child's field holds: one, or a Set's (many-to-many). */
static void rel_link_value(const xobj *o, int field, const xv *v, bool add)
{
    if (v->kind == XV_STRING)
        rel_link(o, field, v->u.str.s, add);
    else if (v->kind == XV_ARRAY)
        for (size_t i = 0; i < v->u.arr.n; i++)
            if (v->u.arr.items[i]->kind == XV_STRING)
                rel_link(o, field, v->u.arr.items[i]->u.str.s, add);
}

static void rel_all(const xobj *o, bool add)
{
    for (size_t i = 0; i < xrelationships_count; i++) {
        const xrelationship *r = &xrelationships[i];
        if (r->child_cls == o->cls)
            rel_link_value(o, r->child_field, o->f[r->child_field], add);
    }
}

void store_insert(xobj *o)
{
    ctable *t = &tables[o->cls];
    if (t->count >= t->nbuckets)
        grow(t);
    node *n = calloc(1, sizeof(*n));
    if (!n)
        abort();
    n->o = o;
    o->node = n;
    size_t h = xhash_str(o->ref) % t->nbuckets;
    n->hnext = t->buckets[h];
    t->buckets[h] = n;
    n->prev = t->tail;
    if (t->tail)
        t->tail->next = n;
    else
        t->head = n;
    t->tail = n;
    t->count++;
    notify(XSTORE_ADD, o, -1);
    rel_all(o, true);
}

void store_remove(xobj *o)
{
    ctable *t = &tables[o->cls];
    size_t h = xhash_str(o->ref) % t->nbuckets;
    node **pp = &t->buckets[h];
    while (*pp && (*pp)->o != o)
        pp = &(*pp)->hnext;
    if (!*pp)
        return;
    node *n = *pp;
    notify(XSTORE_DEL, o, -1);
    rel_all(o, false);
    *pp = n->hnext;
    if (n->prev)
        n->prev->next = n->next;
    else
        t->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        t->tail = n->prev;
    t->count--;
    free(n);
    o->node = NULL;
    xobj_free(o);
}

/* ---- fields ---- */

const xv *xobj_get(const xobj *o, int field) { return o->f[field]; }

static bool is_rel_child_field(const xobj *o, int field)
{
    for (size_t i = 0; i < xrelationships_count; i++)
        if (xrelationships[i].child_cls == o->cls && xrelationships[i].child_field == field)
            return true;
    return false;
}

void xobj_set(xobj *o, int field, xv *v)
{
    bool rel = is_rel_child_field(o, field);
    if (rel)
        rel_link_value(o, field, o->f[field], false);
    xv_free(o->f[field]);
    o->f[field] = v;
    if (rel)
        rel_link_value(o, field, v, true);
    notify(XSTORE_MOD, o, field);
}

void xobj_set_str(xobj *o, int field, const char *s)
{
    if (o->f[field]->kind == XV_STRING && strcmp(o->f[field]->u.str.s, s ? s : "") == 0)
        return;
    xobj_set(o, field, xv_str(s));
}

void xobj_set_int(xobj *o, int field, int64_t i)
{
    if (o->f[field]->kind == XV_INT && o->f[field]->u.i == i)
        return;
    xobj_set(o, field, xv_int(i));
}

void xobj_set_bool(xobj *o, int field, bool b)
{
    if (o->f[field]->kind == XV_BOOL && o->f[field]->u.b == b)
        return;
    xobj_set(o, field, xv_bool(b));
}

void xobj_set_double(xobj *o, int field, double d)
{
    if (o->f[field]->kind == XV_DOUBLE && o->f[field]->u.d == d)
        return;
    xobj_set(o, field, xv_double(d));
}

const char *xobj_str(const xobj *o, int field)
{
    const xv *v = o->f[field];
    return (v->kind == XV_STRING || v->kind == XV_DATETIME) ? v->u.str.s : "";
}

int64_t xobj_int(const xobj *o, int field)
{
    return o->f[field]->kind == XV_INT ? o->f[field]->u.i : 0;
}

bool xobj_bool(const xobj *o, int field)
{
    return o->f[field]->kind == XV_BOOL && o->f[field]->u.b;
}

double xobj_double(const xobj *o, int field)
{
    return o->f[field]->kind == XV_DOUBLE ? o->f[field]->u.d : 0.0;
}

void xobj_set_add(xobj *o, int field, const char *s)
{
    size_t before = o->f[field]->u.arr.n;
    set_add_raw(o->f[field], s);
    if (o->f[field]->u.arr.n == before)
        return;
    notify(XSTORE_MOD, o, field);
    if (is_rel_child_field(o, field))
        rel_link(o, field, s, true);
}

void xobj_set_remove(xobj *o, int field, const char *s)
{
    if (!set_remove_raw(o->f[field], s))
        return;
    notify(XSTORE_MOD, o, field);
    if (is_rel_child_field(o, field))
        rel_link(o, field, s, false);
}

const char *xobj_map_get(const xobj *o, int field, const char *key)
{
    const xv *v = xv_struct_get(o->f[field], key);
    return v && v->kind == XV_STRING ? v->u.str.s : NULL;
}

void xobj_map_put(xobj *o, int field, const char *key, const char *value)
{
    const char *cur = xobj_map_get(o, field, key);
    if (cur && strcmp(cur, value) == 0)
        return;
    xv_struct_set(o->f[field], key, xv_str(value));
    notify(XSTORE_MOD, o, field);
}

void xobj_touch(xobj *o, int field) { notify(XSTORE_MOD, o, field); }

xv *xobj_record(const xobj *o)
{
    const xclass_desc *c = &xclasses[o->cls];
    xv *r = xv_struct();
    for (int i = 0; i < c->nfields; i++)
        xv_struct_append(r, c->fields[i].name, xv_dup(o->f[i]));   /* names are unique */
    return r;
}

void xobj_encode_record(xbuf *b, const xobj *o)
{
    const xclass_desc *c = &xclasses[o->cls];
    const member_head *h = member_heads[o->cls];
    xmlrpc_encode_struct_begin(b);
    for (int i = 0; i < c->nfields; i++) {
        xbuf_add(b, h[i].s, h[i].len);
        xmlrpc_encode_value(b, o->f[i]);
        xmlrpc_encode_member_end(b);
    }
    xmlrpc_encode_struct_end(b);
}

/* ---- uuids ---- */

void xuuid_generate(char *buf)
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
        if (r <= 0)
            abort();
        got += (size_t)r;
    }
    xuuid_mark_v4(b);
    xuuid_format(b, buf);
}

