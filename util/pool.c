/* pool: worker threads running queued jobs (see pool.h). */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/callq.h"
#include "util/pool.h"

struct xpool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    xcallq jobs;
    pthread_t *threads;
    unsigned n;                 /* threads started */
    bool stopping;
    char name[16];
};

/* The pool the calling thread works for (NULL for any other thread). */
static _Thread_local const xpool *current;

bool xpool_on_worker(const xpool *p)
{
    return p && current == p;
}

static void *worker_main(void *arg)
{
    xpool *p = arg;
    current = p;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->jobs.head && !p->stopping)
            pthread_cond_wait(&p->cond, &p->lock);
        xcallq_item *j = xcallq_pop(&p->jobs);
        if (!j)
            break;              /* stopping, and nothing left to run */
        pthread_mutex_unlock(&p->lock);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

xpool *xpool_new(const char *name, unsigned threads)
{
    xpool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    snprintf(p->name, sizeof(p->name), "%s", name ? name : "pool");
    unsigned want = threads ? threads : 1;
    p->threads = calloc(want, sizeof(pthread_t));
    if (!p->threads) {
        xpool_free(p);
        return NULL;
    }
    for (; p->n < want; p->n++) {
        if (pthread_create(&p->threads[p->n], NULL, worker_main, p) != 0) {
            xpool_free(p);
            return NULL;
        }
        pthread_setname_np(p->threads[p->n], p->name);
    }
    return p;
}

void xpool_free(xpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    /* with no thread started, jobs queued meanwhile never ran: drop them */
    for (xcallq_item *j; (j = xcallq_pop(&p->jobs));)
        free(j);
    free(p->threads);
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
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}
