/* event_int: what the pieces of the event log share; private to
 * daemon/event_*.c (see event.h, docs/events.md).  The pieces:
 *   event_codec.c    snapshots: records in a compact, immutable, shared encoding
 *   event_log.c      the ring, subscriptions, matching, collecting events and
 *                    building answers, the store observer, sessions ending,
 *                    setup and tick
 *   event_wait.c     waiters: per-class lists, answering, the ready queue,
 *                    timeouts, wake-ups, stopping
 *   event_api.c      the handlers (event.register/unregister/next/from/inject)
 *
 * The log is a ring of the last `cap` changes, holding at most `max_bytes` of
 * records: past that the oldest entries are dropped first (as entries pushed out
 * of the ring are), and a subscriber behind them gets EVENTS_LOST.  A store observer appends one
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
 * Locks: ev_state.lock is taken inside the store lock (observers), never the other
 * way round; the worker pool's and the loop's locks are taken inside
 * ev_state.lock.  Waiter state changes happen under ev_state.lock; whoever moves a
 * waiter to W_CLAIMED queues it for its answer, exactly once.  Timers are
 * added from any thread, but removed only on the loop thread, where their
 * callbacks run: a waiter answered before its timer fired is freed there.
 */
#ifndef XEND_EVENT_INT_H
#define XEND_EVENT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/classes.h"
#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/event.h"
#include "daemon/store.h"
#include "util/loop.h"
#include "util/xv.h"
#include "xapi_model.h"

#define NL (XCL__COUNT + 1)          /* waiter lists: one per class, then "all" */
#define L_ALL XCL__COUNT
#define BATCH_MAX 10000             /* events per answer; the rest come next time */
#define MAX_TIMEOUT 86400.0         /* event.from timeout cap, seconds */

_Static_assert(XCL__COUNT < 63, "class masks are 64-bit");

typedef struct snap {
    uint32_t refs;              /* atomic */
    uint32_t len;
    struct snap_block *blk;     /* where it lives (event_codec.c) */
    unsigned char d[];
} snap;


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
    uint64_t imask;             /* classes counted in ev_interest[] */
    uint64_t since[XCL__COUNT];  /* register: class c counts for ids > since[c] */
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

typedef struct ev_state_t {
    pthread_mutex_t lock;
    pthread_cond_t drained;
    entry *ring;
    size_t cap;                 /* entries (event-log-size) */
    size_t max_bytes;           /* bytes of snapshots and owners held (event-log-bytes) */
    size_t bytes;               /* held now */
    uint64_t trimmed;           /* ids below this were dropped for max_bytes */
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
} ev_state_t;
extern ev_state_t ev_state;

extern int ev_interest[XCL__COUNT];          /* subscriptions per class (atomic) */
extern uint64_t ev_all_mask;                /* classes that have events */
extern char ev_lc_names[XCL__COUNT][40];
extern const char *const ev_op_names[3];


typedef struct batch {
    evcopy *v;
    size_t n, cap;
    uint64_t upto;              /* every id up to here has been looked at */
} batch;

static inline bool has_cls(uint64_t mask, int cls) { return (mask >> cls) & 1; }

/* ---- snapshots (event_codec.c) ---- */
snap *ev_snap_ref(snap *s);
void ev_snap_unref(snap *s);
snap *ev_snap_encode(const xobj *o);
xv *ev_snap_decode(int cls, const snap *s);

/* ---- the log (event_log.c) ---- */
sub *ev_sub_find(const char *session);
sub *ev_sub_get(const char *session);
void ev_sub_unref(sub *s);
void ev_update_interest(sub *s);
bool ev_fsubs_match(const fsubs *f, int cls, const char *ref);
bool ev_w_match(const waiter *w, const entry *e);
void ev_w_advance(waiter *w, uint64_t id);
void ev_batch_free(batch *b);
bool ev_collect_next(sub *s, batch *b, xerr **errp);
bool ev_collect_from(const fsubs *f, const char *session, uint64_t cursor, batch *b, xerr **errp);
bool ev_w_ready(const waiter *w);
xv *ev_ref_counts(const xcall *call);
xv *ev_token_value(uint64_t id);
xv *ev_build_next(const batch *b);
xv *ev_build_from(batch *b, const xcall *call);
uint64_t ev_log_append(int cls, xstore_op op, const xobj *o);

/* ---- waiters (event_wait.c) ---- */
void ev_lists_unlink(waiter *w);
void ev_lists_link(waiter *w);
waiter *ev_waiter_new(xcall *call, sub *s, bool from);
void ev_ready(waiter *w, xerr *fail);
void ev_wake(const entry *e);
void ev_start_wait(waiter *w);

#endif
