/* pool: worker threads running queued jobs (see pool.h). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/callq.h"
#include "util/cond.h"
#include "util/pool.h"

/* A place for one thread.  An on-demand pool's thread that exits leaves
 * its slot DONE; whoever takes the slot next (or xpool_free) joins it. */
typedef struct slot {
    struct xpool *p;
    pthread_t tid;
    enum { SLOT_FREE, SLOT_LIVE, SLOT_DONE } state;
} slot;

struct xpool {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a job was queued, or the pool stops */
    xcallq jobs;
    unsigned queued; /* jobs in the queue */
    slot *slots;
    unsigned max;     /* slots */
    unsigned live;    /* threads started and not exited */
    unsigned waiting; /* of those, waiting for a job */
    unsigned idle_ms; /* on demand: a thread exits after this without a job; 0: fixed */
    bool stopping;
    char name[16];
};

/* The pool the calling thread works for (NULL for any other thread). */
static _Thread_local const xpool *current;

bool xpool_on_worker(const xpool *p) { return p && current == p; }

static void *worker_main(void *arg)
{
    slot *s = arg;
    xpool *p = s->p;
    current = p;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (!p->jobs.head && !p->stopping) {
            struct timespec until = xcond_deadline_ms(p->idle_ms);
            bool timed_out = false;
            p->waiting++;
            while (!p->jobs.head && !p->stopping && !timed_out) {
                if (p->idle_ms)
                    timed_out = pthread_cond_timedwait(&p->cond, &p->lock, &until) == ETIMEDOUT;
                else
                    pthread_cond_wait(&p->cond, &p->lock);
            }
            p->waiting--;
            if (!p->jobs.head && !p->stopping)
                break; /* idle for idle_ms: exit */
        }
        xcallq_item *j = xcallq_pop(&p->jobs);
        if (!j)
            break; /* stopping, and nothing left to run */
        p->queued--;
        pthread_mutex_unlock(&p->lock);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&p->lock);
    }
    s->state = SLOT_DONE;
    p->live--;
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* With p->lock held: start one more thread if a slot is left. */
static bool start_thread(xpool *p)
{
    slot *s = NULL;
    for (unsigned i = 0; i < p->max && !s; i++)
        if (p->slots[i].state != SLOT_LIVE)
            s = &p->slots[i];
    if (!s)
        return false;
    if (s->state == SLOT_DONE)
        pthread_join(s->tid, NULL); /* it has left the lock: only its return is left */
    s->state = SLOT_FREE;
    if (pthread_create(&s->tid, NULL, worker_main, s) != 0)
        return false;
    pthread_setname_np(s->tid, p->name);
    s->state = SLOT_LIVE;
    p->live++;
    return true;
}

static xpool *pool_new(const char *name, unsigned max, unsigned idle_ms)
{
    xpool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->max = max ? max : 1;
    p->idle_ms = idle_ms;
    p->slots = calloc(p->max, sizeof(*p->slots));
    if (!p->slots) {
        free(p);
        return NULL;
    }
    for (unsigned i = 0; i < p->max; i++)
        p->slots[i].p = p;
    pthread_mutex_init(&p->lock, NULL);
    xcond_init_monotonic(&p->cond);
    snprintf(p->name, sizeof(p->name), "%s", name ? name : "pool");
    return p;
}

xpool *xpool_new(const char *name, unsigned threads)
{
    xpool *p = pool_new(name, threads, 0);
    if (!p)
        return NULL;
    pthread_mutex_lock(&p->lock);
    bool ok = true;
    while (ok && p->live < p->max)
        ok = start_thread(p);
    pthread_mutex_unlock(&p->lock);
    if (!ok) {
        xpool_free(p);
        return NULL;
    }
    return p;
}

xpool *xpool_new_on_demand(const char *name, unsigned max_threads, unsigned idle_ms)
{
    return pool_new(name, max_threads, idle_ms ? idle_ms : XPOOL_IDLE_MS);
}

void xpool_free(xpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true; /* from now on no thread is started */
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->max; i++) {
        pthread_mutex_lock(&p->lock);
        bool started = p->slots[i].state != SLOT_FREE;
        pthread_mutex_unlock(&p->lock);
        if (started)
            pthread_join(p->slots[i].tid, NULL);
    }
    /* jobs no thread was left to run (none could be started, or a last job
     * queued more as its thread left): run them here, as the pool's */
    const xpool *was = current;
    current = p;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        xcallq_item *j = xcallq_pop(&p->jobs);
        pthread_mutex_unlock(&p->lock);
        if (!j)
            break;
        j->fn(j->arg);
        free(j);
    }
    current = was;
    free(p->slots);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void xpool_submit(xpool *p, void (*fn)(void *arg), void *arg)
{
    xcallq_item *j = xcallq_item_new(fn, arg);
    if (!j)
        abort();
    pthread_mutex_lock(&p->lock);
    xcallq_push(&p->jobs, j);
    p->queued++;
    if (p->waiting)
        pthread_cond_signal(&p->cond);
    /* more jobs than threads waiting for one: another thread, if allowed */
    if (p->idle_ms && !p->stopping && p->queued > p->waiting && p->live < p->max)
        (void)start_thread(p);
    pthread_mutex_unlock(&p->lock);
}

unsigned xpool_threads(xpool *p)
{
    pthread_mutex_lock(&p->lock);
    unsigned n = p->live;
    pthread_mutex_unlock(&p->lock);
    return n;
}
