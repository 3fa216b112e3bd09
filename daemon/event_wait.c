/* event_wait: calls waiting for events, holding no thread: per-class
 * lists, answering, the ready queue and its pump, event.from's timers,
 * wake-ups from the observer, stopping (see event_int.h). */
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

/* ---- waiter lists (ev_state.lock held) ---- */

static void list_add(waiter *w, int l)
{
    w->lprev[l] = NULL;
    w->lnext[l] = ev_state.lists[l];
    if (ev_state.lists[l])
        ev_state.lists[l]->lprev[l] = w;
    ev_state.lists[l] = w;
    ev_state.nlisted[l]++;
    w->lmask |= 1ULL << l;
}

void ev_lists_unlink(waiter *w)
{
    for (int l = 0; l < NL; l++) {
        if (!((w->lmask >> l) & 1))
            continue;
        if (w->lprev[l])
            w->lprev[l]->lnext[l] = w->lnext[l];
        else
            ev_state.lists[l] = w->lnext[l];
        if (w->lnext[l])
            w->lnext[l]->lprev[l] = w->lprev[l];
        ev_state.nlisted[l]--;
    }
    w->lmask = 0;
}

void ev_lists_link(waiter *w)
{
    uint64_t mask = w->from ? w->f.mask | w->f.omask : w->s->reg_mask;
    if (mask == ev_all_mask) {
        list_add(w, L_ALL);
        return;
    }
    for (int c = 0; c < XCL__COUNT; c++)
        if (has_cls(mask, c))
            list_add(w, c);
}

/* Take w out of every list: the caller now owns answering it. */
static void claim(waiter *w, xerr *fail)
{
    if (w->state == W_WAITING) {
        ev_lists_unlink(w);
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

waiter *ev_waiter_new(xcall *call, sub *s, bool from)
{
    waiter *w = calloc(1, sizeof(*w));
    if (!w)
        abort();
    w->call = call;
    w->s = s;
    w->from = from;
    w->state = W_NEW;
    s->refs++;
    ev_state.nwaiters++;
    return w;
}

/* ---- answering a waiter ---- */

static void arm(waiter *w);
static void deliver_job(waiter *w);

/* Loop thread: a from-waiter's timer had not fired when its call was
 * answered; timers are removed on the loop thread only. */
static void drop_timer(void *arg)
{
    waiter *w = arg;
    pthread_mutex_lock(&ev_state.lock);
    xloop_timer *t = w->timer;
    w->timer = NULL;
    pthread_mutex_unlock(&ev_state.lock);
    xloop_timer_remove(t);          /* armed: on_timeout cleared it otherwise */
    pthread_mutex_lock(&ev_state.lock);
    ev_sub_unref(w->s);
    if (--ev_state.nwaiters == 0)
        pthread_cond_broadcast(&ev_state.drained);
    pthread_mutex_unlock(&ev_state.lock);
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
    pthread_mutex_lock(&ev_state.lock);
    bool timer = w->timer != NULL;
    if (!timer) {
        ev_sub_unref(w->s);
        if (--ev_state.nwaiters == 0)
            pthread_cond_broadcast(&ev_state.drained);
    }
    pthread_mutex_unlock(&ev_state.lock);
    if (timer) {
        xloop_call(ev_state.loop, drop_timer, w);
    } else {
        free(w->f.o);
        free(w);
    }
}

/* ---- the ready queue (ev_state.lock held unless said otherwise) ----
 *
 * Claimed waiters are answered by "pump" jobs on the worker pool: one is
 * queued while the queue is not empty, and each takes one waiter and, if
 * more are left, queues its successor before answering its own, so that a
 * wake-up of many waiters spreads over the workers without filling the
 * pool's queue ahead of ordinary calls. */

static void pump_job(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&ev_state.lock);
    waiter *w = ev_state.rq_head;
    if (w) {
        ev_state.rq_head = w->ready_next;
        if (!ev_state.rq_head)
            ev_state.rq_tail = NULL;
    }
    ev_state.pump_queued = ev_state.rq_head != NULL;
    if (ev_state.pump_queued)
        dispatch_queue_job(pump_job, NULL);
    pthread_mutex_unlock(&ev_state.lock);
    if (w)
        deliver_job(w);
}

/* Claim w and queue it for an answer. */
void ev_ready(waiter *w, xerr *fail)
{
    claim(w, fail);
    w->ready_next = NULL;
    if (ev_state.rq_tail)
        ev_state.rq_tail->ready_next = w;
    else
        ev_state.rq_head = w;
    ev_state.rq_tail = w;
    if (!ev_state.pump_queued) {
        ev_state.pump_queued = true;
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
        pthread_mutex_lock(&ev_state.lock);
        bool ok = w->from ? ev_collect_from(&w->f, w->s->session, w->cursor, &b, &err)
                          : ev_collect_next(w->s, &b, &err);
        if (ok && b.n == 0 && !w->timed_out) {
            /* someone else took the events (a concurrent call): wait again */
            w->state = W_NEW;
            pthread_mutex_unlock(&ev_state.lock);
            ev_batch_free(&b);
            arm(w);
            return;
        }
        pthread_mutex_unlock(&ev_state.lock);
        if (ok)
            res = w->from ? ev_build_from(&b, w->call) : ev_build_next(&b);
        ev_batch_free(&b);
    }
    waiter_done(w, res, err);
}

/* Loop thread: a from-waiter's timeout. */
static void on_timeout(xloop_timer *t, void *arg)
{
    (void)t;
    waiter *w = arg;
    pthread_mutex_lock(&ev_state.lock);
    w->timer = NULL;                /* freed by the loop after we return */
    if (w->state == W_WAITING) {
        ev_w_advance(w, ev_state.head);      /* every event went by w unmatched */
        w->timed_out = true;
        ev_ready(w, NULL);
    }
    pthread_mutex_unlock(&ev_state.lock);
}

/* Start waiting, unless there is something to say already (any thread, no
 * lock held). */
static void arm(waiter *w)
{
    xerr *fail = NULL;
    pthread_mutex_lock(&ev_state.lock);
    sub *s = w->s;
    if (ev_state.stopping)
        xerr_EVENTS_LOST(&fail);
    else if (s->dead)
        xerr_SESSION_INVALID(&fail, s->session);
    else if (w->cancelled)
        xerr_TASK_CANCELLED(&fail, w->task);
    else if (!w->from && !s->reg_mask)
        xerr_SESSION_NOT_REGISTERED(&fail, s->session);
    if (fail || ev_w_ready(w)) {
        ev_ready(w, fail);
    } else {
        /* nothing after the cursor matches: move it up to the head, so that
         * a quiet subscription never falls behind the ring */
        if (w->from) {
            w->cursor = ev_state.head;
        } else {
            s->cursor = ev_state.head;
            if (s->nextw) {         /* one event.next per session: the newest */
                waiter *old = s->nextw;
                old->evicted = true;
                ev_ready(old, NULL);
            }
            s->nextw = w;
        }
        w->state = W_WAITING;
        ev_lists_link(w);
        w->sprev = NULL;
        w->snext = s->waiters;
        if (s->waiters)
            s->waiters->sprev = w;
        s->waiters = w;
        /* a from-waiter armed again keeps its timer (same deadline) */
        if (w->from && !w->timer) {
            w->timer = xloop_timer_add(ev_state.loop, w->deadline_ms, on_timeout, w);
            if (!w->timer) {
                w->timed_out = true;
                ev_ready(w, NULL);
            }
        }
    }
    pthread_mutex_unlock(&ev_state.lock);
}

/* The new entry e: claim the waiters it matches (ev_state.lock held).  Every
 * waiter visited matches but for task events, which only their owner's
 * waiters can see: those are found through the owner's subscription. */
void ev_wake(const entry *e)
{
    if (e->owner) {
        sub *s = ev_sub_find(e->owner);
        for (waiter *w = s ? s->waiters : NULL, *nx; w; w = nx) {
            nx = w->snext;
            if (ev_w_match(w, e)) {
                ev_w_advance(w, e->id - 1);
                ev_ready(w, NULL);
            }
        }
        return;
    }
    int ls[2] = { e->cls, L_ALL };
    for (int k = 0; k < 2; k++)
        for (waiter *w = ev_state.lists[ls[k]], *nx; w; w = nx) {
            nx = w->lnext[ls[k]];
            if (ev_w_match(w, e)) {
                /* w was listed while every event since its cursor went
                 * by and none matched: skip them, so that a quiet
                 * subscription never falls behind the ring */
                ev_w_advance(w, e->id - 1);
                ev_ready(w, NULL);
            }
        }
}

/* Task.cancel of an Async.event.next (any thread, hook lock held). */
static void cancel_hook(void *arg)
{
    waiter *w = arg;
    pthread_mutex_lock(&ev_state.lock);
    if (w->state == W_NEW) {
        w->cancelled = true;        /* arm() answers it */
    } else if (w->state == W_WAITING) {
        xerr *e = NULL;
        xerr_TASK_CANCELLED(&e, w->task);
        ev_ready(w, e);                /* event.next waiters have no timer */
    }
    pthread_mutex_unlock(&ev_state.lock);
}

void ev_start_wait(waiter *w)
{
    if (w->call->is_async && !w->from) {
        snprintf(w->task, sizeof(w->task), "%s", w->call->task);
        task_set_cancel_hook(w->task, cancel_hook, w);
    }
    xcall_defer(w->call);
    arm(w);
}

/* ---- stopping ---- */

static void stop_pass(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&ev_state.lock);
    ev_state.stopping = true;
    for (int l = 0; l < NL; l++)
        while (ev_state.lists[l]) {
            xerr *e = NULL;
            xerr_EVENTS_LOST(&e);
            ev_ready(ev_state.lists[l], e);
        }
    pthread_mutex_unlock(&ev_state.lock);
}

void events_stop(void)
{
    if (!ev_state.loop)
        return;
    xloop_call_sync(ev_state.loop, stop_pass, NULL);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&ev_state.lock);
    while (ev_state.nwaiters > 0)
        if (pthread_cond_timedwait(&ev_state.drained, &ev_state.lock, &dl) == ETIMEDOUT)
            break;
    if (ev_state.nwaiters)
        xlogd(XLOG_WARNING, "%zu waiting call(s) not answered at shutdown", ev_state.nwaiters);
    pthread_mutex_unlock(&ev_state.lock);
}
