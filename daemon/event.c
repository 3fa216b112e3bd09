/* event: the event log and its subscriptions (see event.h, docs/events.md).
 *
 * The log is a ring of the last `cap` changes.  A store observer appends one
 * entry per change, under the store write lock: ids only grow, and the entry
 * holds the object's record (a compact encoding, "snapshot") only when some
 * session subscribes to its class.  Subscriptions are cursors into the ring:
 * a session's event.register subscription keeps its cursor here; event.from
 * carries it in the token.
 *
 * A call with nothing to return becomes a waiter: the handler defers the
 * call (its HTTP connection is suspended, no thread is held) and files the
 * waiter on per-class lists itself.  The observer that appends an entry
 * claims the waiters it matches there and then (only those: task events go
 * through their owner's subscription) and puts them on the ready queue;
 * "pump" jobs on the worker pool collect their events and answer
 * (xcall_finish), which waits for the change to be durable.  No hop through
 * the loop thread: it only runs event.from's timers (daemon_options.loop).
 *
 * Locks: ev.lock is taken inside the store lock (observers), never the other
 * way round; the worker pool's and the loop's locks are taken inside
 * ev.lock.  Waiter state changes happen under ev.lock; whoever moves a
 * waiter to W_CLAIMED queues it for its answer, exactly once.  Timers are
 * added from any thread, but removed only on the loop thread, where their
 * callbacks run: a waiter answered before its timer fired is freed there.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "daemon/classes.h"
#include "daemon/daemon.h"
#include "daemon/event.h"
#include "daemon/session.h"
#include "daemon/store.h"
#include "daemon/task.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/strutil.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

#define NL (XC__COUNT + 1)          /* waiter lists: one per class, then "all" */
#define L_ALL XC__COUNT
#define BATCH_MAX 10000             /* events per answer; the rest come next time */
#define MAX_TIMEOUT 86400.0         /* event.from timeout cap, seconds */

_Static_assert(XC__COUNT < 63, "class masks are 64-bit");

/* ---- snapshots: records in a compact, immutable, shared encoding ---- */

typedef struct snap {
    uint32_t refs;              /* atomic */
    uint32_t len;
    unsigned char d[];
} snap;

static snap *snap_ref(snap *s)
{
    if (s)
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    return s;
}

static void snap_unref(snap *s)
{
    if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(s);
}

static void put_u(xbuf *b, uint64_t v)
{
    char t[10];
    size_t n = 0;
    do {
        unsigned char c = v & 0x7f;
        v >>= 7;
        if (v)
            c |= 0x80;
        t[n++] = (char)c;
    } while (v);
    xbuf_add(b, t, n);
}

static void enc(xbuf *b, const xv *v)
{
    char k = (char)v->kind;
    xbuf_add(b, &k, 1);
    switch (v->kind) {
    case XV_STRING:
    case XV_DATETIME:
    case XV_BASE64:
        put_u(b, v->u.str.len);
        xbuf_add(b, v->u.str.s, v->u.str.len);
        break;
    case XV_INT:
        put_u(b, ((uint64_t)v->u.i << 1) ^ (uint64_t)(v->u.i >> 63));
        break;
    case XV_DOUBLE:
        xbuf_add(b, (const char *)&v->u.d, sizeof(double));
        break;
    case XV_BOOL:
        k = v->u.b ? 1 : 0;
        xbuf_add(b, &k, 1);
        break;
    case XV_ARRAY:
        put_u(b, v->u.arr.n);
        for (size_t i = 0; i < v->u.arr.n; i++)
            enc(b, v->u.arr.items[i]);
        break;
    case XV_STRUCT:
        put_u(b, v->u.st.n);
        for (size_t i = 0; i < v->u.st.n; i++) {
            size_t kl = strlen(v->u.st.keys[i]);
            put_u(b, kl);
            xbuf_add(b, v->u.st.keys[i], kl);
            enc(b, v->u.st.vals[i]);
        }
        break;
    case XV_NIL:
        break;
    }
}

typedef struct rd {
    const unsigned char *p, *end;
    bool bad;
} rd;

static uint64_t get_u(rd *r)
{
    uint64_t v = 0;
    for (unsigned sh = 0; r->p < r->end && sh < 64; sh += 7) {
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << sh;
        if (!(c & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static xv *dec(rd *r, int depth)
{
    if (r->bad || r->p >= r->end || depth > 64) {
        r->bad = true;
        return xv_str("");
    }
    int kind = *r->p++;
    switch (kind) {
    case XV_STRING:
    case XV_DATETIME:
    case XV_BASE64: {
        uint64_t n = get_u(r);
        if (r->bad || n > (uint64_t)(r->end - r->p)) {
            r->bad = true;
            return xv_str("");
        }
        xv *v = xv_strn((const char *)r->p, (size_t)n);
        v->kind = (xv_kind)kind;
        r->p += n;
        return v;
    }
    case XV_INT: {
        uint64_t u = get_u(r);
        return xv_int((int64_t)(u >> 1) ^ -(int64_t)(u & 1));
    }
    case XV_DOUBLE: {
        double d = 0;
        if ((size_t)(r->end - r->p) < sizeof(d)) {
            r->bad = true;
            return xv_double(0);
        }
        memcpy(&d, r->p, sizeof(d));
        r->p += sizeof(d);
        return xv_double(d);
    }
    case XV_BOOL:
        if (r->p >= r->end) {
            r->bad = true;
            return xv_bool(false);
        }
        return xv_bool(*r->p++ != 0);
    case XV_ARRAY: {
        uint64_t n = get_u(r);
        xv *a = xv_array();
        for (uint64_t i = 0; i < n && !r->bad; i++)
            xv_array_add(a, dec(r, depth + 1));
        return a;
    }
    case XV_STRUCT: {
        uint64_t n = get_u(r);
        xv *st = xv_struct();
        char key[256];
        for (uint64_t i = 0; i < n && !r->bad; i++) {
            uint64_t kl = get_u(r);
            if (r->bad || kl >= sizeof(key) || kl > (uint64_t)(r->end - r->p)) {
                r->bad = true;
                break;
            }
            memcpy(key, r->p, (size_t)kl);
            key[kl] = '\0';
            r->p += kl;
            xv_struct_set(st, key, dec(r, depth + 1));
        }
        return st;
    }
    case XV_NIL:
        return xv_nil();
    default:
        r->bad = true;
        return xv_str("");
    }
}

/* Scratch buffer of the encoder: observers run under the store write lock,
 * one at a time. */
static xbuf scratch;

static snap *snap_encode(const xobj *o)
{
    scratch.len = 0;
    for (int i = 0; i < xclasses[o->cls].nfields; i++)
        enc(&scratch, o->f[i]);
    snap *s = malloc(sizeof(*s) + scratch.len);
    if (!s)
        abort();
    s->refs = 1;
    s->len = (uint32_t)scratch.len;
    memcpy(s->d, scratch.data, scratch.len);
    return s;
}

static xv *snap_decode(int cls, const snap *s)
{
    rd r = { s->d, s->d + s->len, false };
    xv *st = xv_struct();
    for (int i = 0; i < xclasses[cls].nfields && !r.bad; i++)
        xv_struct_append(st, xclasses[cls].fields[i].name, dec(&r, 0));
    if (r.bad)
        xlog(XLOG_WARNING, "event snapshot of a %s did not decode", xclasses[cls].name);
    return st;
}

/* ---- the log, subscriptions, waiters ---- */

typedef struct entry {
    uint64_t id;
    int64_t ts;
    int16_t cls;
    uint8_t op;                 /* xstore_op */
    char ref[XREF_LEN];
    char *owner;                /* task events: the session that may see them */
    snap *sn;                   /* NULL: nobody subscribed to the class then */
} entry;

/* An entry copied out of the ring for an answer. */
typedef struct evcopy {
    uint64_t id;
    int64_t ts;
    int cls, op;
    char ref[XREF_LEN];
    snap *sn;
} evcopy;

typedef struct waiter waiter;

typedef struct sub {
    char session[XREF_LEN];
    uint64_t reg_mask;          /* event.register classes */
    uint64_t from_mask;         /* classes asked for by event.from so far */
    uint64_t imask;             /* classes counted in interest[] */
    uint64_t since[XC__COUNT];  /* register: class c counts for ids > since[c] */
    uint64_t cursor;            /* register/next: newest id consumed */
    bool lost;                  /* next: EVENTS_LOST until registered again */
    bool dead;                  /* the session ended */
    unsigned refs;              /* the table (while alive), waiters, queued calls */
    waiter *waiters;            /* armed waiters (next and from) */
    waiter *nextw;              /* the armed event.next waiter, if any */
    struct sub *hnext;
} sub;

enum { W_NEW, W_WAITING, W_CLAIMED };

/* An event.from call's subscriptions: whole classes ("vm", "*") and single
 * objects ("vm/<ref>"). */
typedef struct fsubs {
    uint64_t mask;              /* whole classes */
    uint64_t omask;             /* classes of the single objects */
    size_t n;
    struct fobj { int cls; char ref[XREF_LEN]; } *o;
} fsubs;

struct waiter {
    xcall *call;
    sub *s;
    bool from;                  /* event.from (else event.next) */
    fsubs f;                    /* from: the call's subscriptions (owned) */
    uint64_t cursor;            /* from: answer events after this id */
    int64_t deadline_ms;        /* from */
    int state;
    bool cancelled;             /* task.cancel before it was armed */
    bool evicted;               /* a newer event.next replaced it: answer [] */
    bool timed_out;
    xerr *fail;                 /* claimed with this error */
    xloop_timer *timer;
    char task[XREF_LEN];        /* Async.event.next: its task */
    uint64_t lmask;             /* the lists it is on (bit L_ALL for "all") */
    waiter *lprev[NL], *lnext[NL];
    waiter *sprev, *snext;      /* sub->waiters */
    waiter *ready_next;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t drained;
    entry *ring;
    size_t cap;
    uint64_t first;             /* id of the first event of this run */
    uint64_t head;              /* newest id (first - 1 when none yet) */
    waiter *rq_head, *rq_tail;  /* claimed, to be answered (ready_next) */
    bool pump_queued;           /* a pump_job is queued */
    bool stopping;
    xloop *loop;
    sub **tab;
    size_t tab_n, tab_count;
    waiter *lists[NL];
    size_t nlisted[NL];
    size_t nwaiters;            /* waiters not yet answered */
    unsigned ticks;
} ev = { .lock = PTHREAD_MUTEX_INITIALIZER, .drained = PTHREAD_COND_INITIALIZER };

static int interest[XC__COUNT];     /* subscriptions per class (atomic) */
static uint64_t all_mask;           /* classes that have events */
static char lc_names[XC__COUNT][40];
static const char *const op_names[] = { "add", "del", "mod" };

static uint64_t oldest(void)
{
    uint64_t o = ev.head + 1 > ev.cap ? ev.head + 1 - ev.cap : 0;
    return o > ev.first ? o : ev.first;
}

static entry *at(uint64_t id) { return &ev.ring[id % ev.cap]; }

static bool has_cls(uint64_t mask, int cls) { return (mask >> cls) & 1; }

/* ---- sessions' subscriptions (ev.lock held) ---- */

static sub *sub_find(const char *session)
{
    for (sub *s = ev.tab[xhash_str(session) % ev.tab_n]; s; s = s->hnext)
        if (strcmp(s->session, session) == 0)
            return s;
    return NULL;
}

static sub *sub_get(const char *session)
{
    sub *s = sub_find(session);
    if (s)
        return s;
    if (ev.tab_count >= ev.tab_n) {
        size_t n = ev.tab_n * 4;
        sub **t = calloc(n, sizeof(*t));
        if (!t)
            abort();
        for (size_t i = 0; i < ev.tab_n; i++)
            for (sub *x = ev.tab[i], *nx; x; x = nx) {
                nx = x->hnext;
                size_t h = xhash_str(x->session) % n;
                x->hnext = t[h];
                t[h] = x;
            }
        free(ev.tab);
        ev.tab = t;
        ev.tab_n = n;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    snprintf(s->session, sizeof(s->session), "%s", session);
    s->cursor = ev.head;
    s->refs = 1;
    size_t h = xhash_str(session) % ev.tab_n;
    s->hnext = ev.tab[h];
    ev.tab[h] = s;
    ev.tab_count++;
    return s;
}

static void sub_unlink(sub *s)
{
    for (sub **pp = &ev.tab[xhash_str(s->session) % ev.tab_n]; *pp; pp = &(*pp)->hnext)
        if (*pp == s) {
            *pp = s->hnext;
            ev.tab_count--;
            return;
        }
}

static void sub_unref(sub *s)
{
    if (--s->refs == 0)
        free(s);
}

/* Keep interest[] in step with what s subscribes to.  Increments happen
 * with the store lock held (shared), so an observer (exclusive) sees them
 * before the cursor taken in the same critical section. */
static void update_interest(sub *s)
{
    uint64_t nm = s->dead ? 0 : (s->reg_mask | s->from_mask);
    for (int c = 0; c < XC__COUNT; c++) {
        bool was = has_cls(s->imask, c), now = has_cls(nm, c);
        if (now && !was)
            __atomic_add_fetch(&interest[c], 1, __ATOMIC_RELAXED);
        else if (was && !now)
            __atomic_sub_fetch(&interest[c], 1, __ATOMIC_RELAXED);
    }
    s->imask = nm;
}

/* ---- matching ---- */

static bool visible(const entry *e, const char *session)
{
    return !e->owner || strcmp(e->owner, session) == 0;
}

static bool match_next(const sub *s, const entry *e)
{
    return has_cls(s->reg_mask, e->cls) && e->id > s->since[e->cls] && visible(e, s->session);
}

static bool fsubs_match(const fsubs *f, int cls, const char *ref)
{
    if (has_cls(f->mask, cls))
        return true;
    if (!has_cls(f->omask, cls))
        return false;
    for (size_t i = 0; i < f->n; i++)
        if (f->o[i].cls == cls && strcmp(f->o[i].ref, ref) == 0)
            return true;
    return false;
}

static bool match_from(const fsubs *f, const char *session, const entry *e)
{
    return fsubs_match(f, e->cls, e->ref) && visible(e, session);
}

static bool w_match(const waiter *w, const entry *e)
{
    if (w->from)
        return e->id > w->cursor && match_from(&w->f, w->s->session, e);
    return e->id > w->s->cursor && match_next(w->s, e);
}

/* Move the cursor of a listed waiter up to id (events it did not match). */
static void w_advance(waiter *w, uint64_t id)
{
    uint64_t *c = w->from ? &w->cursor : &w->s->cursor;
    if (id > *c && !(!w->from && w->s->lost))
        *c = id;
}

/* ---- waiter lists (ev.lock held) ---- */

static void list_add(waiter *w, int l)
{
    w->lprev[l] = NULL;
    w->lnext[l] = ev.lists[l];
    if (ev.lists[l])
        ev.lists[l]->lprev[l] = w;
    ev.lists[l] = w;
    ev.nlisted[l]++;
    w->lmask |= 1ULL << l;
}

static void lists_unlink(waiter *w)
{
    for (int l = 0; l < NL; l++) {
        if (!((w->lmask >> l) & 1))
            continue;
        if (w->lprev[l])
            w->lprev[l]->lnext[l] = w->lnext[l];
        else
            ev.lists[l] = w->lnext[l];
        if (w->lnext[l])
            w->lnext[l]->lprev[l] = w->lprev[l];
        ev.nlisted[l]--;
    }
    w->lmask = 0;
}

static void lists_link(waiter *w)
{
    uint64_t mask = w->from ? w->f.mask | w->f.omask : w->s->reg_mask;
    if (mask == all_mask) {
        list_add(w, L_ALL);
        return;
    }
    for (int c = 0; c < XC__COUNT; c++)
        if (has_cls(mask, c))
            list_add(w, c);
}

/* Take w out of every list: the caller now owns answering it. */
static void claim(waiter *w, xerr *fail)
{
    if (w->state == W_WAITING) {
        lists_unlink(w);
        if (w->sprev)
            w->sprev->snext = w->snext;
        else
            w->s->waiters = w->snext;
        if (w->snext)
            w->snext->sprev = w->sprev;
        w->sprev = w->snext = NULL;
        if (w->s->nextw == w)
            w->s->nextw = NULL;
    }
    w->state = W_CLAIMED;
    w->fail = fail;
}

static waiter *waiter_new(xcall *call, sub *s, bool from)
{
    waiter *w = calloc(1, sizeof(*w));
    if (!w)
        abort();
    w->call = call;
    w->s = s;
    w->from = from;
    w->state = W_NEW;
    s->refs++;
    ev.nwaiters++;
    return w;
}

/* ---- collecting events (ev.lock held) ---- */

typedef struct batch {
    evcopy *v;
    size_t n, cap;
    uint64_t upto;              /* every id up to here has been looked at */
} batch;

static void batch_push(batch *b, const entry *e)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        evcopy *nv = realloc(b->v, b->cap * sizeof(*nv));
        if (!nv)
            abort();
        b->v = nv;
    }
    evcopy *c = &b->v[b->n++];
    c->id = e->id;
    c->ts = e->ts;
    c->cls = e->cls;
    c->op = e->op;
    memcpy(c->ref, e->ref, sizeof(c->ref));
    c->sn = snap_ref(e->sn);
}

static void batch_free(batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        snap_unref(b->v[i].sn);
    free(b->v);
    memset(b, 0, sizeof(*b));
}

/* Events for s's register subscription; advances its cursor.  False with
 * EVENTS_LOST when events after the cursor are gone. */
static bool collect_next(sub *s, batch *b, xerr **errp)
{
    if (s->lost || s->cursor + 1 < oldest()) {
        s->lost = true;
        return xerr_EVENTS_LOST(errp);
    }
    uint64_t id;
    for (id = s->cursor + 1; id <= ev.head; id++) {
        const entry *e = at(id);
        if (match_next(s, e)) {
            batch_push(b, e);
            if (b->n == BATCH_MAX)
                break;
        }
    }
    s->cursor = id > ev.head ? ev.head : id;
    b->upto = s->cursor;
    return true;
}

/* Events after cursor for an event.from call (EVENTS_LOST when some are
 * gone from the ring).  An entry recorded before anyone subscribed to its
 * class has no snapshot: the answer takes the record from the store then
 * (build_from), as XAPI takes every snapshot at reply time. */
static bool collect_from(const fsubs *f, const char *session, uint64_t cursor, batch *b, xerr **errp)
{
    if (cursor + 1 < oldest() || cursor > ev.head)
        return xerr_EVENTS_LOST(errp);
    uint64_t id;
    for (id = cursor + 1; id <= ev.head; id++) {
        const entry *e = at(id);
        if (match_from(f, session, e)) {
            batch_push(b, e);
            if (b->n == BATCH_MAX)
                break;
        }
    }
    b->upto = id > ev.head ? ev.head : id;
    return true;
}

/* Would w be answered now (events or an error)? */
static bool w_ready(const waiter *w)
{
    uint64_t c = w->from ? w->cursor : w->s->cursor;
    if ((!w->from && w->s->lost) || c + 1 < oldest() || c > ev.head)
        return true;
    for (uint64_t id = c + 1; id <= ev.head; id++)
        if (w_match(w, at(id)))
            return true;
    return false;
}

/* ---- answers (no lock held) ---- */

static xv *event_record(const evcopy *c, bool xapi)
{
    xv *r = xv_struct();
    xv_struct_append(r, "id", xv_int((int64_t)c->id));
    xv_struct_append(r, "timestamp", xv_datetime_t(c->ts));
    xv_struct_append(r, "class", xv_str(xapi ? lc_names[c->cls] : xclasses[c->cls].name));
    xv_struct_append(r, "operation", xv_str(op_names[c->op]));
    xv_struct_append(r, "ref", xv_str(c->ref));
    xv_struct_append(r, "obj_uuid", xv_str(c->ref));
    if (c->sn)
        xv_struct_append(r, "snapshot", snap_decode(c->cls, c->sn));
    return r;
}

/* Objects per class (lower-case names, as XAPI): tasks count the caller's.
 * XAPI sends them as int32s (<i4> in XML-RPC: rpc/reply.c). */
static xv *ref_counts(const xcall *call)
{
    xv *m = xv_struct();
    for (int c = 0; c < XC__COUNT; c++) {
        if (!has_cls(all_mask, c))
            continue;
        int64_t n = 0;
        if (c == XC_task) {
            for (xobj *o = store_first(c); o; o = store_next(o))
                n += strcmp(xobj_str(o, XF_task_session), call->session) == 0;
        } else {
            n = (int64_t)store_count(c);
        }
        xv_struct_append(m, lc_names[c], xv_int(n));
    }
    return m;
}

/* XAPI's token: two zero-padded 20-digit numbers, "<event id>,<message
 * generation>" (xend has no messages: always 0), comparable as strings. */
static xv *token_value(uint64_t id)
{
    return xv_strf("%020" PRIu64 ",%020d", id, 0);
}

static xv *build_next(const batch *b)
{
    xv *a = xv_array();
    for (size_t i = 0; i < b->n; i++)
        xv_array_add(a, event_record(&b->v[i], false));
    return a;
}

static int cmp_obj(const void *x, const void *y)
{
    const evcopy *a = *(evcopy *const *)x, *b = *(evcopy *const *)y;
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    int r = strcmp(a->ref, b->ref);
    if (r)
        return r;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int cmp_id(const void *x, const void *y)
{
    const evcopy *a = *(evcopy *const *)x, *b = *(evcopy *const *)y;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* XAPI's coalescing: one event per object per answer, of the object's
 * latest state: created in the window -> add (even if changed since),
 * changed only -> mod, deleted -> del; created and deleted in the window ->
 * nothing.  Returns the surviving events (pointers into b, whose op is
 * rewritten to the coalesced one), in the order of their last change; *n_r
 * their number. */
static evcopy **coalesce(batch *b, size_t *n_r)
{
    evcopy **v = malloc((b->n ? b->n : 1) * sizeof(*v));
    evcopy **out = malloc((b->n ? b->n : 1) * sizeof(*out));
    if (!v || !out)
        abort();
    for (size_t i = 0; i < b->n; i++)
        v[i] = &b->v[i];
    qsort(v, b->n, sizeof(*v), cmp_obj);
    size_t n = 0;
    for (size_t i = 0; i < b->n;) {
        size_t j = i;
        while (j + 1 < b->n && v[j + 1]->cls == v[i]->cls && strcmp(v[j + 1]->ref, v[i]->ref) == 0)
            j++;
        evcopy *last = v[j];            /* it carries the latest record */
        bool born = v[i]->op == XSTORE_ADD, dead = last->op == XSTORE_DEL;
        if (!(born && dead)) {
            if (born)
                last->op = XSTORE_ADD;
            else if (!dead)
                last->op = XSTORE_MOD;
            out[n++] = last;
        }
        i = j + 1;
    }
    qsort(out, n, sizeof(*out), cmp_id);
    free(v);
    *n_r = n;
    return out;
}

static xv *build_from(batch *b, const xcall *call)
{
    xv *r = xv_struct();
    xv *a = xv_array();
    size_t n;
    evcopy **evs = coalesce(b, &n);
    store_rdlock();
    for (size_t i = 0; i < n; i++) {
        const evcopy *c = evs[i];
        if (c->sn || c->op == XSTORE_DEL) {
            xv_array_add(a, event_record(c, true));
            continue;
        }
        const xobj *o = store_find(c->cls, c->ref);
        if (!o)
            continue;       /* deleted since: its "del" comes next time */
        xv *e = event_record(c, true);
        xv_struct_append(e, "snapshot", xobj_record(o));
        xv_array_add(a, e);
    }
    free(evs);
    xv_struct_append(r, "events", a);
    xv_struct_append(r, "valid_ref_counts", ref_counts(call));
    store_unlock();
    xv_struct_append(r, "token", token_value(b->upto));
    return r;
}

static void arm(waiter *w);
static void deliver_job(waiter *w);

/* Loop thread: a from-waiter's timer had not fired when its call was
 * answered; timers are removed on the loop thread only. */
static void drop_timer(void *arg)
{
    waiter *w = arg;
    pthread_mutex_lock(&ev.lock);
    xloop_timer *t = w->timer;
    w->timer = NULL;
    pthread_mutex_unlock(&ev.lock);
    xloop_timer_remove(t);          /* armed: on_timeout cleared it otherwise */
    pthread_mutex_lock(&ev.lock);
    sub_unref(w->s);
    if (--ev.nwaiters == 0)
        pthread_cond_broadcast(&ev.drained);
    pthread_mutex_unlock(&ev.lock);
    free(w->f.o);
    free(w);
}

static void waiter_done(waiter *w, xv *res, xerr *err)
{
    if (w->task[0])
        task_clear_cancel_hook(w->task);    /* after this, no hook can touch w */
    xcall_finish(w->call, res, err);
    xerr_free(w->fail);
    w->fail = NULL;
    pthread_mutex_lock(&ev.lock);
    bool timer = w->timer != NULL;
    if (!timer) {
        sub_unref(w->s);
        if (--ev.nwaiters == 0)
            pthread_cond_broadcast(&ev.drained);
    }
    pthread_mutex_unlock(&ev.lock);
    if (timer) {
        xloop_call(ev.loop, drop_timer, w);
    } else {
        free(w->f.o);
        free(w);
    }
}

/* ---- the ready queue (ev.lock held unless said otherwise) ----
 *
 * Claimed waiters are answered by "pump" jobs on the worker pool: one is
 * queued while the queue is not empty, and each takes one waiter and, if
 * more are left, queues its successor before answering its own, so that a
 * wake-up of many waiters spreads over the workers without filling the
 * pool's queue ahead of ordinary calls. */

static void pump_job(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&ev.lock);
    waiter *w = ev.rq_head;
    if (w) {
        ev.rq_head = w->ready_next;
        if (!ev.rq_head)
            ev.rq_tail = NULL;
    }
    ev.pump_queued = ev.rq_head != NULL;
    if (ev.pump_queued)
        dispatch_queue_job(pump_job, NULL);
    pthread_mutex_unlock(&ev.lock);
    if (w)
        deliver_job(w);
}

/* Claim w and queue it for an answer. */
static void ready(waiter *w, xerr *fail)
{
    claim(w, fail);
    w->ready_next = NULL;
    if (ev.rq_tail)
        ev.rq_tail->ready_next = w;
    else
        ev.rq_head = w;
    ev.rq_tail = w;
    if (!ev.pump_queued) {
        ev.pump_queued = true;
        dispatch_queue_job(pump_job, NULL);
    }
}

/* Worker (no lock held): answer a claimed waiter. */
static void deliver_job(waiter *w)
{
    xerr *err = w->fail;
    w->fail = NULL;
    xv *res = NULL;
    if (!err && w->evicted) {
        res = xv_array();
    } else if (!err) {
        batch b = { 0 };
        pthread_mutex_lock(&ev.lock);
        bool ok = w->from ? collect_from(&w->f, w->s->session, w->cursor, &b, &err)
                          : collect_next(w->s, &b, &err);
        if (ok && b.n == 0 && !w->timed_out) {
            /* someone else took the events (a concurrent call): wait again */
            w->state = W_NEW;
            pthread_mutex_unlock(&ev.lock);
            batch_free(&b);
            arm(w);
            return;
        }
        pthread_mutex_unlock(&ev.lock);
        if (ok)
            res = w->from ? build_from(&b, w->call) : build_next(&b);
        batch_free(&b);
    }
    waiter_done(w, res, err);
}

/* Loop thread: a from-waiter's timeout. */
static void on_timeout(xloop_timer *t, void *arg)
{
    (void)t;
    waiter *w = arg;
    pthread_mutex_lock(&ev.lock);
    w->timer = NULL;                /* freed by the loop after we return */
    if (w->state == W_WAITING) {
        w_advance(w, ev.head);      /* every event went by w unmatched */
        w->timed_out = true;
        ready(w, NULL);
    }
    pthread_mutex_unlock(&ev.lock);
}

/* Start waiting, unless there is something to say already (any thread, no
 * lock held). */
static void arm(waiter *w)
{
    xerr *fail = NULL;
    pthread_mutex_lock(&ev.lock);
    sub *s = w->s;
    if (ev.stopping)
        xerr_EVENTS_LOST(&fail);
    else if (s->dead)
        xerr_SESSION_INVALID(&fail, s->session);
    else if (w->cancelled)
        xerr_TASK_CANCELLED(&fail, w->task);
    else if (!w->from && !s->reg_mask)
        xerr_SESSION_NOT_REGISTERED(&fail, s->session);
    if (fail || w_ready(w)) {
        ready(w, fail);
    } else {
        /* nothing after the cursor matches: move it up to the head, so that
         * a quiet subscription never falls behind the ring */
        if (w->from) {
            w->cursor = ev.head;
        } else {
            s->cursor = ev.head;
            if (s->nextw) {         /* one event.next per session: the newest */
                waiter *old = s->nextw;
                old->evicted = true;
                ready(old, NULL);
            }
            s->nextw = w;
        }
        w->state = W_WAITING;
        lists_link(w);
        w->sprev = NULL;
        w->snext = s->waiters;
        if (s->waiters)
            s->waiters->sprev = w;
        s->waiters = w;
        /* a from-waiter armed again keeps its timer (same deadline) */
        if (w->from && !w->timer) {
            w->timer = xloop_timer_add(ev.loop, w->deadline_ms, on_timeout, w);
            if (!w->timer) {
                w->timed_out = true;
                ready(w, NULL);
            }
        }
    }
    pthread_mutex_unlock(&ev.lock);
}

/* The new entry e: claim the waiters it matches (ev.lock held).  Every
 * waiter visited matches but for task events, which only their owner's
 * waiters can see: those are found through the owner's subscription. */
static void wake(const entry *e)
{
    if (e->owner) {
        sub *s = sub_find(e->owner);
        for (waiter *w = s ? s->waiters : NULL, *nx; w; w = nx) {
            nx = w->snext;
            if (w_match(w, e)) {
                w_advance(w, e->id - 1);
                ready(w, NULL);
            }
        }
        return;
    }
    int ls[2] = { e->cls, L_ALL };
    for (int k = 0; k < 2; k++)
        for (waiter *w = ev.lists[ls[k]], *nx; w; w = nx) {
            nx = w->lnext[ls[k]];
            if (w_match(w, e)) {
                /* w was listed while every event since its cursor went
                 * by and none matched: skip them, so that a quiet
                 * subscription never falls behind the ring */
                w_advance(w, e->id - 1);
                ready(w, NULL);
            }
        }
}

/* Task.cancel of an Async.event.next (any thread, hook lock held). */
static void cancel_hook(void *arg)
{
    waiter *w = arg;
    pthread_mutex_lock(&ev.lock);
    if (w->state == W_NEW) {
        w->cancelled = true;        /* arm() answers it */
    } else if (w->state == W_WAITING) {
        xerr *e = NULL;
        xerr_TASK_CANCELLED(&e, w->task);
        ready(w, e);                /* event.next waiters have no timer */
    }
    pthread_mutex_unlock(&ev.lock);
}

static void start_wait(waiter *w)
{
    if (w->call->is_async && !w->from) {
        snprintf(w->task, sizeof(w->task), "%s", w->call->task);
        task_set_cancel_hook(w->task, cancel_hook, w);
    }
    xcall_defer(w->call);
    arm(w);
}

/* ---- the store observer ---- */

static uint64_t log_append(int cls, xstore_op op, const xobj *o)
{
    snap *sn = __atomic_load_n(&interest[cls], __ATOMIC_RELAXED) > 0 ? snap_encode(o) : NULL;
    char *owner = cls == XC_task ? strdup(xobj_str(o, XF_task_session)) : NULL;
    int64_t ts = time(NULL);
    pthread_mutex_lock(&ev.lock);
    uint64_t id = ++ev.head;
    entry *e = at(id);
    snap *old_sn = e->sn;
    char *old_owner = e->owner;
    e->id = id;
    e->ts = ts;
    e->cls = (int16_t)cls;
    e->op = (uint8_t)op;
    memcpy(e->ref, o->ref, sizeof(e->ref));
    e->owner = owner;
    e->sn = sn;
    if (ev.nlisted[cls] || ev.nlisted[L_ALL])
        wake(e);
    pthread_mutex_unlock(&ev.lock);
    snap_unref(old_sn);
    free(old_owner);
    return id;
}

static void on_change(void *arg, xstore_op op, const xobj *o, int field)
{
    (void)arg;
    (void)field;
    if (has_cls(all_mask, o->cls))
        log_append(o->cls, op, o);
}

/* ---- sessions ending ---- */

/* Loop thread: answer the waiters of an ended session. */
static void end_pass(void *arg)
{
    sub *s = arg;
    pthread_mutex_lock(&ev.lock);
    while (s->waiters) {
        xerr *e = NULL;
        xerr_SESSION_INVALID(&e, s->session);
        ready(s->waiters, e);
    }
    sub_unref(s);                   /* the table's reference */
    pthread_mutex_unlock(&ev.lock);
}

static void on_session_end(const char *ref)
{
    pthread_mutex_lock(&ev.lock);
    sub *s = sub_find(ref);
    if (s) {
        sub_unlink(s);
        s->dead = true;
        update_interest(s);
    }
    pthread_mutex_unlock(&ev.lock);
    if (s)
        xloop_call(ev.loop, end_pass, s);
}

/* Subscriptions of sessions that ended while their handler ran. */
static void gc_subs(void)
{
    size_t n = 0;
    char (*refs)[XREF_LEN] = NULL;
    pthread_mutex_lock(&ev.lock);
    if (ev.tab_count) {
        refs = malloc(ev.tab_count * sizeof(*refs));
        if (!refs)
            abort();
        for (size_t i = 0; i < ev.tab_n; i++)
            for (sub *s = ev.tab[i]; s; s = s->hnext)
                memcpy(refs[n++], s->session, XREF_LEN);
    }
    pthread_mutex_unlock(&ev.lock);
    if (!n)
        return;
    bool *gone = calloc(n, sizeof(bool));
    if (!gone)
        abort();
    store_rdlock();
    for (size_t i = 0; i < n; i++)
        gone[i] = store_find(XC_session, refs[i]) == NULL;
    store_unlock();
    for (size_t i = 0; i < n; i++)
        if (gone[i])
            on_session_end(refs[i]);
    free(gone);
    free(refs);
}

/* ---- handlers ---- */

/* Class names to a mask: case-insensitive, "*" is every class, unknown
 * names are ignored; an empty list is every class when empty_all. */
static uint64_t parse_classes(const xv *classes, bool empty_all)
{
    if (classes->u.arr.n == 0)
        return empty_all ? all_mask : 0;
    uint64_t m = 0;
    for (size_t i = 0; i < classes->u.arr.n; i++) {
        const xv *v = classes->u.arr.items[i];
        if (v->kind != XV_STRING)
            continue;
        if (strcmp(v->u.str.s, "*") == 0) {
            m |= all_mask;
            continue;
        }
        const xclass_desc *c = xclass_by_name_ci(v->u.str.s);
        if (c && has_cls(all_mask, c->id))
            m |= 1ULL << c->id;
    }
    return m;
}

/* The register mask of s changed: re-file its waiting event.next. */
static void relist(sub *s)
{
    waiter *w = s->nextw;
    if (!w || w->state != W_WAITING)
        return;
    if (!s->reg_mask) {
        xerr *e = NULL;
        xerr_SESSION_NOT_REGISTERED(&e, s->session);
        ready(w, e);
        return;
    }
    lists_unlink(w);
    lists_link(w);
}

bool xh_event_register(xcall *call, const xv *classes, xerr **errp)
{
    (void)errp;
    uint64_t mask = parse_classes(classes, true);
    store_rdlock();
    pthread_mutex_lock(&ev.lock);
    sub *s = sub_get(call->session);
    if (!s->reg_mask || s->lost) {      /* a new start, or the re-sync after EVENTS_LOST */
        s->cursor = ev.head;
        s->lost = false;
    }
    for (int c = 0; c < XC__COUNT; c++)
        if (has_cls(mask, c) && !has_cls(s->reg_mask, c))
            s->since[c] = ev.head;
    s->reg_mask |= mask;
    update_interest(s);
    relist(s);
    pthread_mutex_unlock(&ev.lock);
    store_unlock();
    return true;
}

bool xh_event_unregister(xcall *call, const xv *classes, xerr **errp)
{
    (void)errp;
    uint64_t mask = parse_classes(classes, true);
    pthread_mutex_lock(&ev.lock);
    sub *s = sub_find(call->session);
    if (s) {
        s->reg_mask &= ~mask;
        update_interest(s);
        relist(s);
    }
    pthread_mutex_unlock(&ev.lock);
    return true;
}

bool xh_event_next(xcall *call, xv **result_r, xerr **errp)
{
    batch b = { 0 };
    pthread_mutex_lock(&ev.lock);
    sub *s = sub_find(call->session);
    if (!s || !s->reg_mask) {
        pthread_mutex_unlock(&ev.lock);
        return xerr_SESSION_NOT_REGISTERED(errp, call->session);
    }
    if (!collect_next(s, &b, errp)) {
        pthread_mutex_unlock(&ev.lock);
        return false;
    }
    if (b.n == 0 && !ev.stopping) {
        waiter *w = waiter_new(call, s, false);
        pthread_mutex_unlock(&ev.lock);
        start_wait(w);
        return true;
    }
    pthread_mutex_unlock(&ev.lock);
    if (b.n == 0) {
        batch_free(&b);
        return xerr_EVENTS_LOST(errp);
    }
    *result_r = build_next(&b);
    batch_free(&b);
    return true;
}

/* A decimal number of 1 to 20 digits, exactly len bytes, into *out. */
static bool parse_u64(const char *p, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* XAPI's "<id>,<message generation>" (token_value), or a bare id as earlier
 * xend versions gave. */
static bool parse_token(const char *token, uint64_t *out)
{
    const char *comma = strchr(token, ',');
    uint64_t msg;
    if (!comma)
        return parse_u64(token, strlen(token), out);
    return parse_u64(token, (size_t)(comma - token), out) && parse_u64(comma + 1, strlen(comma + 1), &msg);
}

/* event.from's classes: "*" (every class), a class name in any case, or
 * "class/ref" for one object (either ref form).  Unknown classes match
 * nothing, as in XAPI; an empty class or ref is a parse failure. */
static bool parse_fsubs(const xv *classes, fsubs *f, xerr **errp)
{
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < classes->u.arr.n; i++) {
        const char *spec = classes->u.arr.items[i]->u.str.s;   /* a string Set: coerced */
        const char *slash = strchr(spec, '/');
        if (!slash) {
            if (strcmp(spec, "*") == 0) {
                f->mask |= all_mask;
            } else if (!*spec) {
                free(f->o);
                return xerr_EVENT_SUBSCRIPTION_PARSE_FAILURE(errp, spec);
            } else {
                const xclass_desc *c = xclass_by_name_ci(spec);
                if (c && has_cls(all_mask, c->id))
                    f->mask |= 1ULL << c->id;
            }
            continue;
        }
        char cname[64];
        size_t clen = (size_t)(slash - spec);
        const char *ref = xref_plain(slash + 1);
        if (clen == 0 || clen >= sizeof(cname) || !slash[1] || strlen(ref) >= XREF_LEN) {
            free(f->o);
            return xerr_EVENT_SUBSCRIPTION_PARSE_FAILURE(errp, spec);
        }
        memcpy(cname, spec, clen);
        cname[clen] = '\0';
        const xclass_desc *c = xclass_by_name_ci(cname);
        if (!c || !has_cls(all_mask, c->id))
            continue;
        struct fobj *no = realloc(f->o, (f->n + 1) * sizeof(*no));
        if (!no)
            abort();
        f->o = no;
        f->o[f->n].cls = c->id;
        snprintf(f->o[f->n].ref, XREF_LEN, "%s", ref);
        f->n++;
        f->omask |= 1ULL << c->id;
    }
    return true;
}

/* One object's "add" for event.from with token "". */
static xv *initial_event(const xobj *o, int c, uint64_t token, int64_t now)
{
    xv *r = xv_struct();
    xv_struct_append(r, "id", xv_int((int64_t)token));
    xv_struct_append(r, "timestamp", xv_datetime_t(now));
    xv_struct_append(r, "class", xv_str(lc_names[c]));
    xv_struct_append(r, "operation", xv_str("add"));
    xv_struct_append(r, "ref", xv_str(o->ref));
    xv_struct_append(r, "obj_uuid", xv_str(o->ref));
    xv_struct_append(r, "snapshot", xobj_record(o));
    return r;
}

/* event.from with token "": every object subscribed to as an "add". */
static bool from_initial(xcall *call, const fsubs *f, xv **result_r)
{
    xv *events = xv_array();
    store_rdlock();
    pthread_mutex_lock(&ev.lock);
    sub *s = sub_get(call->session);
    s->from_mask |= f->mask | f->omask;
    update_interest(s);
    uint64_t token = ev.head;
    pthread_mutex_unlock(&ev.lock);
    int64_t now = time(NULL);
    for (int c = 0; c < XC__COUNT; c++) {
        if (!has_cls(f->mask | f->omask, c))
            continue;
        for (xobj *o = store_first(c); o; o = store_next(o)) {
            if (c == XC_task && strcmp(xobj_str(o, XF_task_session), call->session) != 0)
                continue;
            if (fsubs_match(f, c, o->ref))
                xv_array_add(events, initial_event(o, c, token, now));
        }
    }
    xv *res = xv_struct();
    xv_struct_append(res, "events", events);
    xv_struct_append(res, "valid_ref_counts", ref_counts(call));
    xv_struct_append(res, "token", token_value(token));
    store_unlock();
    *result_r = res;
    return true;
}

bool xh_event_from(xcall *call, const xv *classes, const char *token, double timeout, xv **result_r,
                   xerr **errp)
{
    fsubs f;
    if (!parse_fsubs(classes, &f, errp))
        return false;
    if (!*token) {
        from_initial(call, &f, result_r);
        free(f.o);
        return true;
    }
    uint64_t cursor;
    if (!parse_token(token, &cursor)) {
        free(f.o);
        return xerr_EVENT_FROM_TOKEN_PARSE_FAILURE(errp, token);
    }
    if (!(timeout <= MAX_TIMEOUT))      /* also NaN */
        timeout = MAX_TIMEOUT;
    store_rdlock();
    pthread_mutex_lock(&ev.lock);
    sub *s = sub_get(call->session);
    s->from_mask |= f.mask | f.omask;
    update_interest(s);
    pthread_mutex_unlock(&ev.lock);
    store_unlock();

    batch b = { 0 };
    pthread_mutex_lock(&ev.lock);
    if (!collect_from(&f, call->session, cursor, &b, errp)) {
        pthread_mutex_unlock(&ev.lock);
        batch_free(&b);
        free(f.o);
        return false;
    }
    if (b.n == 0 && timeout > 0 && !ev.stopping) {
        waiter *w = waiter_new(call, s, true);
        w->f = f;
        w->cursor = b.upto;
        w->deadline_ms = xloop_now_ms() + (int64_t)(timeout * 1000.0 + 0.5);
        pthread_mutex_unlock(&ev.lock);
        batch_free(&b);
        start_wait(w);
        return true;
    }
    pthread_mutex_unlock(&ev.lock);
    free(f.o);
    *result_r = build_from(&b, call);
    batch_free(&b);
    return true;
}

/* A "mod" event for the object; the token returned is just before it, so
 * the next event.from with it returns at least that event (XAPI). */
bool xh_event_inject(xcall *call, const char *class, const char *sent_ref, xv **result_r, xerr **errp)
{
    const char *ref = xref_plain(sent_ref);
    const xclass_desc *c = xclass_by_name_ci(class);
    if (!c || !has_cls(all_mask, c->id))
        return xerr_HANDLE_INVALID(errp, class, sent_ref);
    store_wrlock();
    xobj *o = store_find(c->id, ref);
    if (!o) {
        store_unlock();
        return xerr_HANDLE_INVALID(errp, c->name, sent_ref);
    }
    const xclass_ops *ops = xclass_get_ops(c->id);
    if (ops && ops->read && !ops->read(call, o, errp)) {
        store_unlock();
        return false;
    }
    uint64_t id = log_append(c->id, XSTORE_MOD, o);
    store_unlock();
    *result_r = token_value(id - 1);
    return true;
}

uint64_t events_current_id(void)
{
    pthread_mutex_lock(&ev.lock);
    uint64_t id = ev.head;
    pthread_mutex_unlock(&ev.lock);
    return id;
}

bool xh_event_get_current_id(xcall *call, xv **result_r, xerr **errp)
{
    (void)call;
    (void)errp;
    *result_r = xv_int((int64_t)events_current_id());
    return true;
}

/* ---- start, tick, stop ---- */

bool events_setup(const daemon_options *o, char **err_r)
{
    if (!o->loop) {
        *err_r = strdup("events: no event loop");
        return false;
    }
    ev.loop = o->loop;
    ev.cap = o->event_log_size ? o->event_log_size : 100000;
    ev.ring = calloc(ev.cap, sizeof(entry));
    ev.tab_n = 256;
    ev.tab = calloc(ev.tab_n, sizeof(sub *));
    if (!ev.ring || !ev.tab) {
        *err_r = strdup("events: out of memory");
        return false;
    }
    /* ids keep growing across restarts (a token of an earlier run is older
     * than every event of this one): start at the time in microseconds */
    ev.first = (uint64_t)time(NULL) * 1000000ULL + 1;
    ev.head = ev.first - 1;
    all_mask = 0;
    for (int c = 0; c < XC__COUNT; c++) {
        if (c == XC_session || c == XC_event || xclasses[c].pseudo)
            continue;
        all_mask |= 1ULL << c;
        size_t i;
        for (i = 0; xclasses[c].name[i] && i + 1 < sizeof(lc_names[c]); i++)
            lc_names[c][i] = (char)(xclasses[c].name[i] >= 'A' && xclasses[c].name[i] <= 'Z'
                                        ? xclasses[c].name[i] - 'A' + 'a' : xclasses[c].name[i]);
        lc_names[c][i] = '\0';
    }
    store_add_observer(on_change, NULL);
    session_on_end(on_session_end);
    tasks_setup(o);
    xlog(XLOG_INFO, "event log: %zu events, first id %" PRIu64, ev.cap, ev.first);
    return true;
}

void events_tick(void)
{
    tasks_tick();
    if (++ev.ticks % 15 == 0)       /* ~30 s */
        gc_subs();
}

/* Loop thread: answer every waiting call. */
static void stop_pass(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&ev.lock);
    ev.stopping = true;
    for (int l = 0; l < NL; l++)
        while (ev.lists[l]) {
            xerr *e = NULL;
            xerr_EVENTS_LOST(&e);
            ready(ev.lists[l], e);
        }
    pthread_mutex_unlock(&ev.lock);
}

void events_stop(void)
{
    if (!ev.loop)
        return;
    xloop_call_sync(ev.loop, stop_pass, NULL);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&ev.lock);
    while (ev.nwaiters > 0)
        if (pthread_cond_timedwait(&ev.drained, &ev.lock, &dl) == ETIMEDOUT)
            break;
    if (ev.nwaiters)
        xlog(XLOG_WARNING, "events: %zu waiting call(s) not answered at shutdown", ev.nwaiters);
    pthread_mutex_unlock(&ev.lock);
}
