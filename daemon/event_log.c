/* event_log: the ring of changes, the sessions' subscriptions, matching,
 * collecting events and building answers, the store observer, sessions
 * ending; setup and tick (see event_int.h for the whole picture). */
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
#include "daemon/event_int.h"
#include "daemon/session.h"
#include "daemon/store.h"
#include "daemon/task.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/strutil.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

XLOG_DOMAIN("event");

ev_state_t ev_state = { .lock = PTHREAD_MUTEX_INITIALIZER, .drained = PTHREAD_COND_INITIALIZER };
int ev_interest[XCL__COUNT];
uint64_t ev_all_mask;
char ev_lc_names[XCL__COUNT][40];
const char *const ev_op_names[3] = { "add", "del", "mod" };

static uint64_t oldest(void)
{
    uint64_t o = ev_state.head + 1 > ev_state.cap ? ev_state.head + 1 - ev_state.cap : 0;
    if (o < ev_state.trimmed)
        o = ev_state.trimmed;
    return o > ev_state.first ? o : ev_state.first;
}

static entry *at(uint64_t id) { return &ev_state.ring[id % ev_state.cap]; }

/* The bytes an entry holds beyond its slot in the ring. */
static size_t entry_bytes(const entry *e)
{
    return (e->sn ? sizeof(snap) + e->sn->len : 0) + (e->owner ? strlen(e->owner) + 1 : 0);
}

/* Drop the oldest entries (never the newest) until the log holds at most
 * max_bytes (ev_state.lock held). */
static void trim_bytes(void)
{
    if (ev_state.bytes <= ev_state.max_bytes)
        return;
    ev_state.trimmed = oldest();        /* what the ring pushed out is gone already */
    while (ev_state.bytes > ev_state.max_bytes && ev_state.trimmed < ev_state.head) {
        entry *t = at(ev_state.trimmed++);
        ev_state.bytes -= entry_bytes(t);
        ev_snap_unref(t->sn);
        free(t->owner);
        t->sn = NULL;
        t->owner = NULL;
    }
}

void events_stats(uint64_t *entries_r, uint64_t *capacity_r, uint64_t *waiters_r)
{
    pthread_mutex_lock(&ev_state.lock);
    *entries_r = ev_state.head + 1 > oldest() ? ev_state.head + 1 - oldest() : 0;
    *capacity_r = ev_state.cap;
    *waiters_r = ev_state.nwaiters;
    pthread_mutex_unlock(&ev_state.lock);
}

/* ---- sessions' subscriptions (ev_state.lock held) ---- */

sub *ev_sub_find(const char *session)
{
    for (sub *s = ev_state.tab[xhash_str(session) % ev_state.tab_n]; s; s = s->hnext)
        if (strcmp(s->session, session) == 0)
            return s;
    return NULL;
}

sub *ev_sub_get(const char *session)
{
    sub *s = ev_sub_find(session);
    if (s)
        return s;
    if (ev_state.tab_count >= ev_state.tab_n) {
        size_t n = ev_state.tab_n * 4;
        sub **t = calloc(n, sizeof(*t));
        if (!t)
            abort();
        for (size_t i = 0; i < ev_state.tab_n; i++)
            for (sub *x = ev_state.tab[i], *nx; x; x = nx) {
                nx = x->hnext;
                size_t h = xhash_str(x->session) % n;
                x->hnext = t[h];
                t[h] = x;
            }
        free(ev_state.tab);
        ev_state.tab = t;
        ev_state.tab_n = n;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    snprintf(s->session, sizeof(s->session), "%s", session);
    s->cursor = ev_state.head;
    s->refs = 1;
    size_t h = xhash_str(session) % ev_state.tab_n;
    s->hnext = ev_state.tab[h];
    ev_state.tab[h] = s;
    ev_state.tab_count++;
    return s;
}

static void sub_unlink(sub *s)
{
    for (sub **pp = &ev_state.tab[xhash_str(s->session) % ev_state.tab_n]; *pp; pp = &(*pp)->hnext)
        if (*pp == s) {
            *pp = s->hnext;
            ev_state.tab_count--;
            return;
        }
}

void ev_sub_unref(sub *s)
{
    if (--s->refs == 0)
        free(s);
}

/* Keep ev_interest[] in step with what s subscribes to.  Increments happen
 * with the store lock held (shared), so an observer (exclusive) sees them
 * before the cursor taken in the same critical section. */
void ev_update_interest(sub *s)
{
    uint64_t nm = s->dead ? 0 : (s->reg_mask | s->from_mask);
    for (int c = 0; c < XCL__COUNT; c++) {
        bool was = has_cls(s->imask, c), now = has_cls(nm, c);
        if (now && !was)
            __atomic_add_fetch(&ev_interest[c], 1, __ATOMIC_RELAXED);
        else if (was && !now)
            __atomic_sub_fetch(&ev_interest[c], 1, __ATOMIC_RELAXED);
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

bool ev_fsubs_match(const fsubs *f, int cls, const char *ref)
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
    return ev_fsubs_match(f, e->cls, e->ref) && visible(e, session);
}

bool ev_w_match(const waiter *w, const entry *e)
{
    if (w->from)
        return e->id > w->cursor && match_from(&w->f, w->s->session, e);
    return e->id > w->s->cursor && match_next(w->s, e);
}

/* Move the cursor of a listed waiter up to id (events it did not match). */
void ev_w_advance(waiter *w, uint64_t id)
{
    uint64_t *c = w->from ? &w->cursor : &w->s->cursor;
    if (id > *c && !(!w->from && w->s->lost))
        *c = id;
}

/* ---- collecting events (ev_state.lock held) ---- */

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
    c->sn = ev_snap_ref(e->sn);
}

void ev_batch_free(batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        ev_snap_unref(b->v[i].sn);
    free(b->v);
    memset(b, 0, sizeof(*b));
}

/* Events for s's register subscription; advances its cursor.  False with
 * EVENTS_LOST when events after the cursor are gone. */
bool ev_collect_next(sub *s, batch *b, xerr **errp)
{
    if (s->lost || s->cursor + 1 < oldest()) {
        s->lost = true;
        return xerr_EVENTS_LOST(errp);
    }
    uint64_t id;
    for (id = s->cursor + 1; id <= ev_state.head; id++) {
        const entry *e = at(id);
        if (match_next(s, e)) {
            batch_push(b, e);
            if (b->n == BATCH_MAX)
                break;
        }
    }
    s->cursor = id > ev_state.head ? ev_state.head : id;
    b->upto = s->cursor;
    return true;
}

/* Events after cursor for an event.from call (EVENTS_LOST when some are
 * gone from the ring).  An entry recorded before anyone subscribed to its
 * class has no snapshot: the answer takes the record from the store then
 * (ev_build_from), as XAPI takes every snapshot at reply time. */
bool ev_collect_from(const fsubs *f, const char *session, uint64_t cursor, batch *b, xerr **errp)
{
    if (cursor + 1 < oldest() || cursor > ev_state.head)
        return xerr_EVENTS_LOST(errp);
    uint64_t id;
    for (id = cursor + 1; id <= ev_state.head; id++) {
        const entry *e = at(id);
        if (match_from(f, session, e)) {
            batch_push(b, e);
            if (b->n == BATCH_MAX)
                break;
        }
    }
    b->upto = id > ev_state.head ? ev_state.head : id;
    return true;
}

/* Would w be answered now (events or an error)? */
bool ev_w_ready(const waiter *w)
{
    uint64_t c = w->from ? w->cursor : w->s->cursor;
    if ((!w->from && w->s->lost) || c + 1 < oldest() || c > ev_state.head)
        return true;
    for (uint64_t id = c + 1; id <= ev_state.head; id++)
        if (ev_w_match(w, at(id)))
            return true;
    return false;
}

/* ---- answers (no lock held) ---- */

static xv *event_record(const evcopy *c, bool xapi)
{
    xv *r = xv_struct();
    xv_struct_append(r, "id", xv_int((int64_t)c->id));
    xv_struct_append(r, "timestamp", xv_datetime_t(c->ts));
    xv_struct_append(r, "class", xv_str(xapi ? ev_lc_names[c->cls] : xclasses[c->cls].name));
    xv_struct_append(r, "operation", xv_str(ev_op_names[c->op]));
    xv_struct_append(r, "ref", xv_str(c->ref));
    xv_struct_append(r, "obj_uuid", xv_str(c->ref));
    if (c->sn)
        xv_struct_append(r, "snapshot", ev_snap_decode(c->cls, c->sn));
    return r;
}

/* Objects per class (lower-case names, as XAPI): tasks count the caller's.
 * XAPI sends them as int32s (<i4> in XML-RPC: rpc/reply.c). */
xv *ev_ref_counts(const xcall *call)
{
    xv *m = xv_struct();
    for (int c = 0; c < XCL__COUNT; c++) {
        if (!has_cls(ev_all_mask, c))
            continue;
        int64_t n = 0;
        if (c == XCL_task) {
            for (xobj *o = store_first(c); o; o = store_next(o))
                n += strcmp(xobj_str(o, XF_task_session), call->session) == 0;
        } else {
            n = (int64_t)store_count(c);
        }
        xv_struct_append(m, ev_lc_names[c], xv_int(n));
    }
    return m;
}

/* XAPI's token: two zero-padded 20-digit numbers, "<event id>,<message
 * generation>" (xend has no messages: always 0), comparable as strings. */
xv *ev_token_value(uint64_t id)
{
    return xv_strf("%020" PRIu64 ",%020d", id, 0);
}

xv *ev_build_next(const batch *b)
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

xv *ev_build_from(batch *b, const xcall *call)
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
    xv_struct_append(r, "valid_ref_counts", ev_ref_counts(call));
    store_unlock();
    xv_struct_append(r, "token", ev_token_value(b->upto));
    return r;
}

/* ---- the store observer ---- */

uint64_t ev_log_append(int cls, xstore_op op, const xobj *o)
{
    snap *sn = __atomic_load_n(&ev_interest[cls], __ATOMIC_RELAXED) > 0 ? ev_snap_encode(o) : NULL;
    char *owner = cls == XCL_task ? strdup(xobj_str(o, XF_task_session)) : NULL;
    int64_t ts = time(NULL);
    pthread_mutex_lock(&ev_state.lock);
    uint64_t id = ++ev_state.head;
    entry *e = at(id);
    snap *old_sn = e->sn;
    char *old_owner = e->owner;
    ev_state.bytes -= entry_bytes(e);
    e->id = id;
    e->ts = ts;
    e->cls = (int16_t)cls;
    e->op = (uint8_t)op;
    memcpy(e->ref, o->ref, sizeof(e->ref));
    e->owner = owner;
    e->sn = sn;
    ev_state.bytes += entry_bytes(e);
    trim_bytes();
    if (ev_state.nlisted[cls] || ev_state.nlisted[L_ALL])
        ev_wake(e);
    pthread_mutex_unlock(&ev_state.lock);
    ev_snap_unref(old_sn);
    free(old_owner);
    return id;
}

static void on_change(void *arg, xstore_op op, const xobj *o, int field)
{
    (void)arg;
    (void)field;
    if (has_cls(ev_all_mask, o->cls))
        ev_log_append(o->cls, op, o);
}

/* ---- sessions ending ---- */

/* Loop thread: answer the waiters of an ended session. */
static void end_pass(void *arg)
{
    sub *s = arg;
    pthread_mutex_lock(&ev_state.lock);
    while (s->waiters) {
        xerr *e = NULL;
        xerr_SESSION_INVALID(&e, s->session);
        ev_ready(s->waiters, e);
    }
    ev_sub_unref(s);                   /* the table's reference */
    pthread_mutex_unlock(&ev_state.lock);
}

static void on_session_end(const char *ref)
{
    pthread_mutex_lock(&ev_state.lock);
    sub *s = ev_sub_find(ref);
    if (s) {
        sub_unlink(s);
        s->dead = true;
        ev_update_interest(s);
    }
    pthread_mutex_unlock(&ev_state.lock);
    if (s)
        xloop_call(ev_state.loop, end_pass, s);
}

/* Subscriptions of sessions that ended while their handler ran. */
static void gc_subs(void)
{
    size_t n = 0;
    char (*refs)[XREF_LEN] = NULL;
    pthread_mutex_lock(&ev_state.lock);
    if (ev_state.tab_count) {
        refs = malloc(ev_state.tab_count * sizeof(*refs));
        if (!refs)
            abort();
        for (size_t i = 0; i < ev_state.tab_n; i++)
            for (sub *s = ev_state.tab[i]; s; s = s->hnext)
                memcpy(refs[n++], s->session, XREF_LEN);
    }
    pthread_mutex_unlock(&ev_state.lock);
    if (!n)
        return;
    bool *gone = calloc(n, sizeof(bool));
    if (!gone)
        abort();
    store_rdlock();
    for (size_t i = 0; i < n; i++)
        gone[i] = store_find(XCL_session, refs[i]) == NULL;
    store_unlock();
    for (size_t i = 0; i < n; i++)
        if (gone[i])
            on_session_end(refs[i]);
    free(gone);
    free(refs);
}

/* ---- start, tick, stop ---- */

bool events_setup(const daemon_options *o, char **err_r)
{
    if (!o->loop) {
        *err_r = strdup("events: no event loop");
        return false;
    }
    ev_state.loop = o->loop;
    ev_state.cap = o->event_log_size ? o->event_log_size : 100000;
    ev_state.max_bytes = o->event_log_bytes ? o->event_log_bytes : (size_t)64 << 20;
    ev_state.ring = calloc(ev_state.cap, sizeof(entry));
    ev_state.tab_n = 256;
    ev_state.tab = calloc(ev_state.tab_n, sizeof(sub *));
    if (!ev_state.ring || !ev_state.tab) {
        *err_r = strdup("events: out of memory");
        return false;
    }
    /* ids keep growing across restarts (a token of an earlier run is older
     * than every event of this one): start at the time in microseconds */
    ev_state.first = (uint64_t)time(NULL) * 1000000ULL + 1;
    ev_state.head = ev_state.first - 1;
    ev_state.trimmed = ev_state.first;
    ev_state.bytes = 0;
    ev_all_mask = 0;
    for (int c = 0; c < XCL__COUNT; c++) {
        if (c == XCL_session || c == XCL_event || xclasses[c].pseudo)
            continue;
        ev_all_mask |= 1ULL << c;
        size_t i;
        for (i = 0; xclasses[c].name[i] && i + 1 < sizeof(ev_lc_names[c]); i++)
            ev_lc_names[c][i] = (char)(xclasses[c].name[i] >= 'A' && xclasses[c].name[i] <= 'Z'
                                        ? xclasses[c].name[i] - 'A' + 'a' : xclasses[c].name[i]);
        ev_lc_names[c][i] = '\0';
    }
    store_add_observer(on_change, NULL);
    session_on_end(on_session_end);
    tasks_setup(o);
    xlogd(XLOG_INFO, "log of %zu events and %zu bytes, first id %" PRIu64, ev_state.cap, ev_state.max_bytes,
          ev_state.first);
    return true;
}

void events_tick(void)
{
    tasks_tick();
    if (++ev_state.ticks % 15 == 0)       /* ~30 s */
        gc_subs();
}

/* Loop thread: answer every waiting call. */
