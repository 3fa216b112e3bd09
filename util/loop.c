/* loop: one epoll thread serving fd watches, one-shot timers and calls.
 *
 * Locking: every field of struct xloop below "lock" is protected by it.
 * Callbacks run on the loop thread with the lock released.
 *
 * Lifetimes:
 *  - an fd handle lives until xloop_fd_remove(); the struct is freed by the
 *    loop thread after the current dispatch batch (deferred free), so removing
 *    a handle that is in the batch being dispatched is safe;
 *  - a timer fires once and is freed by the loop right after its callback
 *    returns; xloop_timer_remove() is for timers that have not fired yet (or
 *    from inside the timer's own callback, where it is a no-op);
 *  - a remove called from another thread while the handle's callback runs
 *    waits for the callback to return, so after remove() returns the callback
 *    neither runs nor will run.  Do not call it holding a lock the callback
 *    takes.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util/callq.h"
#include "util/loop.h"

struct xloop_fd {
    xloop *loop;
    int fd;
    short events;
    xloop_fd_fn fn;
    void *arg;
    bool removed;
    xloop_fd *next_dead;
};

enum { XLOOP_T_ARMED, XLOOP_T_FIRING };

struct xloop_timer {
    xloop *loop;
    int64_t abs_ms;
    uint64_t seq;           /* FIFO among equal deadlines */
    size_t heap_idx;
    int state;
    xloop_timer_fn fn;
    void *arg;
};

struct xloop {
    pthread_t thread;
    int epfd;
    int evfd;

    pthread_mutex_t lock;
    pthread_cond_t cb_done;         /* broadcast after each callback */
    bool stop;
    uint64_t timer_seq;
    xloop_timer **heap;             /* min-heap on (abs_ms, seq) */
    size_t n_heap, cap_heap;
    xcallq calls;
    xloop_fd *dead_fds;             /* removed, freed after the batch */
    const void *running;            /* handle whose callback is running */
    uint64_t cb_seq;                /* bumped after each callback */
};

static void xloop_oom(void)
{
    fputs("xloop: out of memory\n", stderr);
    abort();
}

int64_t xloop_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool xloop_on_loop_thread(xloop *l)
{
    return pthread_equal(pthread_self(), l->thread);
}

static void xloop_wake(xloop *l)
{
    uint64_t one = 1;
    ssize_t n;

    do {
        n = write(l->evfd, &one, sizeof(one));
    } while (n < 0 && errno == EINTR);
    /* EAGAIN: the counter is saturated, the loop will wake anyway. */
}

/* ---- timer heap (lock held) ---- */

static bool xloop_timer_less(const xloop_timer *a, const xloop_timer *b)
{
    if (a->abs_ms != b->abs_ms)
        return a->abs_ms < b->abs_ms;
    return a->seq < b->seq;
}

static void xloop_heap_set(xloop *l, size_t i, xloop_timer *t)
{
    l->heap[i] = t;
    t->heap_idx = i;
}

static void xloop_heap_up(xloop *l, size_t i)
{
    xloop_timer *t = l->heap[i];

    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!xloop_timer_less(t, l->heap[p]))
            break;
        xloop_heap_set(l, i, l->heap[p]);
        i = p;
    }
    xloop_heap_set(l, i, t);
}

static void xloop_heap_down(xloop *l, size_t i)
{
    xloop_timer *t = l->heap[i];

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->n_heap)
            break;
        if (c + 1 < l->n_heap && xloop_timer_less(l->heap[c + 1], l->heap[c]))
            c++;
        if (!xloop_timer_less(l->heap[c], t))
            break;
        xloop_heap_set(l, i, l->heap[c]);
        i = c;
    }
    xloop_heap_set(l, i, t);
}

static void xloop_heap_remove(xloop *l, xloop_timer *t)
{
    size_t i = t->heap_idx;
    xloop_timer *last = l->heap[--l->n_heap];

    if (i == l->n_heap)
        return;
    xloop_heap_set(l, i, last);
    xloop_heap_up(l, i);
    xloop_heap_down(l, last->heap_idx);
}

/* Wait (not on the loop thread) until the callback of handle h is over. */
static void xloop_wait_callback(xloop *l, const void *h)
{
    uint64_t seq = l->cb_seq;

    while (l->running == h && l->cb_seq == seq)
        pthread_cond_wait(&l->cb_done, &l->lock);
}

static void xloop_callback_over(xloop *l)
{
    l->running = NULL;
    l->cb_seq++;
    pthread_cond_broadcast(&l->cb_done);
}

/* ---- the thread ---- */

/* poll(2)'s events and epoll's, one for one. */
static const struct {
    short poll;
    uint32_t epoll;
} xloop_events[] = {
    { POLLIN, EPOLLIN }, { POLLOUT, EPOLLOUT }, { POLLPRI, EPOLLPRI },
    { POLLERR, EPOLLERR }, { POLLHUP, EPOLLHUP },
};

/* epoll's events as poll(2)'s (from_epoll) or the other way round.
 * POLLERR and POLLHUP are asked of epoll too: both report them whether
 * asked or not. */
static uint32_t xloop_map_events(uint32_t in, bool from_epoll)
{
    uint32_t out = 0;

    for (size_t i = 0; i < sizeof(xloop_events) / sizeof(xloop_events[0]); i++) {
        uint32_t p = (uint16_t)xloop_events[i].poll, e = xloop_events[i].epoll;
        if (in & (from_epoll ? e : p))
            out |= from_epoll ? p : e;
    }
    return out;
}

/* Run the queued calls; returns with the lock held.  Lock held on entry. */
static void xloop_run_calls(xloop *l)
{
    xcallq_item *c;

    while ((c = xcallq_pop(&l->calls))) {
        l->running = c;
        pthread_mutex_unlock(&l->lock);
        c->fn(c->arg);
        free(c);
        pthread_mutex_lock(&l->lock);
        xloop_callback_over(l);
    }
}

static void xloop_run_timers(xloop *l)
{
    int64_t now = xloop_now_ms();

    while (l->n_heap > 0 && l->heap[0]->abs_ms <= now && !l->stop) {
        xloop_timer *t = l->heap[0];

        xloop_heap_remove(l, t);
        t->state = XLOOP_T_FIRING;
        l->running = t;
        pthread_mutex_unlock(&l->lock);
        t->fn(t, t->arg);
        pthread_mutex_lock(&l->lock);
        xloop_callback_over(l);
        free(t);
    }
}

static void xloop_free_dead(xloop *l)
{
    while (l->dead_fds) {
        xloop_fd *h = l->dead_fds;
        l->dead_fds = h->next_dead;
        free(h);
    }
}

#define XLOOP_BATCH 64

static void *xloop_thread(void *arg)
{
    xloop *l = arg;
    struct epoll_event evs[XLOOP_BATCH];

    pthread_mutex_lock(&l->lock);
    while (!l->stop) {
        int timeout = -1;
        int n;

        if (l->calls.head) {
            timeout = 0;
        } else if (l->n_heap > 0) {
            int64_t d = l->heap[0]->abs_ms - xloop_now_ms();
            timeout = d <= 0 ? 0 : d > 60000 ? 60000 : (int)d;
        }
        pthread_mutex_unlock(&l->lock);
        n = epoll_wait(l->epfd, evs, XLOOP_BATCH, timeout);
        pthread_mutex_lock(&l->lock);
        if (n < 0 && errno != EINTR) {
            perror("xloop: epoll_wait");
            break;
        }
        for (int i = 0; i < n && !l->stop; i++) {
            xloop_fd *h = evs[i].data.ptr;
            short rev;

            if (!h) {                       /* the wake-up eventfd */
                uint64_t v;
                if (read(l->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                    perror("xloop: read eventfd");
                continue;
            }
            if (h->removed)
                continue;
            rev = (short)xloop_map_events(evs[i].events, true) &
                  (h->events | POLLERR | POLLHUP | POLLPRI);
            if (!rev)
                continue;
            l->running = h;
            pthread_mutex_unlock(&l->lock);
            h->fn(h, h->fd, rev, h->arg);
            pthread_mutex_lock(&l->lock);
            xloop_callback_over(l);
        }
        xloop_run_timers(l);
        xloop_run_calls(l);
        xloop_free_dead(l);
    }
    /* Calls queued before xloop_free still run, so their args are released. */
    xloop_run_calls(l);
    xloop_free_dead(l);
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

/* ---- public ---- */

xloop *xloop_new(void)
{
    xloop *l = calloc(1, sizeof(*l));
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    int saved;

    if (!l)
        return NULL;
    l->epfd = l->evfd = -1;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cb_done, NULL);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0)
        goto out;
    l->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->evfd < 0)
        goto out;
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) < 0)
        goto out;
    errno = pthread_create(&l->thread, NULL, xloop_thread, l);
    if (errno)
        goto out;
    return l;

out:
    saved = errno;
    if (l->evfd >= 0)
        close(l->evfd);
    if (l->epfd >= 0)
        close(l->epfd);
    pthread_cond_destroy(&l->cb_done);
    pthread_mutex_destroy(&l->lock);
    free(l);
    errno = saved;
    return NULL;
}

void xloop_free(xloop *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    l->stop = true;
    pthread_mutex_unlock(&l->lock);
    xloop_wake(l);
    pthread_join(l->thread, NULL);
    /* Handlers should be gone; free leftovers so nothing leaks. */
    for (size_t i = 0; i < l->n_heap; i++)
        free(l->heap[i]);
    free(l->heap);
    close(l->evfd);
    close(l->epfd);
    pthread_cond_destroy(&l->cb_done);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* Room for a new handle (size bytes), or NULL with errno set: EINVAL when
 * the arguments it is made from are not valid, or ENOMEM. */
static void *xloop_handle_alloc(bool valid, size_t size)
{
    if (!valid) {
        errno = EINVAL;
        return NULL;
    }
    return malloc(size);
}

xloop_fd *xloop_fd_add(xloop *l, int fd, short events, xloop_fd_fn fn, void *arg)
{
    xloop_fd *h = xloop_handle_alloc(l && fd >= 0 && fn, sizeof(*h));
    struct epoll_event ev;

    if (!h)
        return NULL;
    *h = (xloop_fd){ .loop = l, .fd = fd, .events = events, .fn = fn, .arg = arg };
    ev.events = xloop_map_events((uint16_t)events, false);
    ev.data.ptr = h;
    pthread_mutex_lock(&l->lock);
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int saved = errno;
        pthread_mutex_unlock(&l->lock);
        free(h);
        errno = saved;
        return NULL;
    }
    pthread_mutex_unlock(&l->lock);
    return h;
}

int xloop_fd_modify(xloop_fd *h, short events)
{
    xloop *l = h->loop;
    struct epoll_event ev;
    int rc;

    ev.events = xloop_map_events((uint16_t)events, false);
    ev.data.ptr = h;
    pthread_mutex_lock(&l->lock);
    rc = epoll_ctl(l->epfd, EPOLL_CTL_MOD, h->fd, &ev);
    if (rc == 0)
        h->events = events;
    pthread_mutex_unlock(&l->lock);
    return rc;
}

void xloop_fd_remove(xloop_fd *h)
{
    xloop *l;

    if (!h)
        return;
    l = h->loop;
    pthread_mutex_lock(&l->lock);
    if (!h->removed) {
        /* The fd may already be closed: EBADF/ENOENT are fine. */
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, NULL);
        h->removed = true;
        h->next_dead = l->dead_fds;
        l->dead_fds = h;
        if (!xloop_on_loop_thread(l))
            xloop_wait_callback(l, h);
    }
    pthread_mutex_unlock(&l->lock);
}

xloop_timer *xloop_timer_add(xloop *l, int64_t abs_ms, xloop_timer_fn fn, void *arg)
{
    xloop_timer *t = xloop_handle_alloc(l && fn, sizeof(*t));

    if (!t)
        return NULL;
    *t = (xloop_timer){ .loop = l, .abs_ms = abs_ms, .fn = fn, .arg = arg, .state = XLOOP_T_ARMED };
    pthread_mutex_lock(&l->lock);
    if (l->n_heap == l->cap_heap) {
        size_t cap = l->cap_heap ? l->cap_heap * 2 : 64;
        xloop_timer **nh = realloc(l->heap, cap * sizeof(*nh));
        if (!nh) {
            pthread_mutex_unlock(&l->lock);
            free(t);
            errno = ENOMEM;
            return NULL;
        }
        l->heap = nh;
        l->cap_heap = cap;
    }
    t->seq = l->timer_seq++;
    l->heap[l->n_heap] = t;
    t->heap_idx = l->n_heap++;
    xloop_heap_up(l, t->heap_idx);
    pthread_mutex_unlock(&l->lock);
    if (!xloop_on_loop_thread(l))
        xloop_wake(l);
    return t;
}

void xloop_timer_remove(xloop_timer *t)
{
    xloop *l;

    if (!t)
        return;
    l = t->loop;
    pthread_mutex_lock(&l->lock);
    if (t->state == XLOOP_T_ARMED) {
        xloop_heap_remove(l, t);
        free(t);
    } else if (!xloop_on_loop_thread(l)) {
        /* Firing now: the loop frees it once the callback returns. */
        xloop_wait_callback(l, t);
    }
    pthread_mutex_unlock(&l->lock);
}

void xloop_call(xloop *l, void (*fn)(void *arg), void *arg)
{
    xcallq_item *c = xcallq_item_new(fn, arg);

    if (!c)
        xloop_oom();
    pthread_mutex_lock(&l->lock);
    xcallq_push(&l->calls, c);
    pthread_mutex_unlock(&l->lock);
    xloop_wake(l);
}

typedef struct xloop_sync {
    void (*fn)(void *arg);
    void *arg;
    pthread_mutex_t m;
    pthread_cond_t c;
    bool done;
} xloop_sync;

static void xloop_sync_tramp(void *arg)
{
    xloop_sync *s = arg;

    s->fn(s->arg);
    pthread_mutex_lock(&s->m);
    s->done = true;
    pthread_cond_signal(&s->c);
    pthread_mutex_unlock(&s->m);
}

void xloop_call_sync(xloop *l, void (*fn)(void *arg), void *arg)
{
    xloop_sync s = { .fn = fn, .arg = arg, .done = false };

    if (xloop_on_loop_thread(l)) {
        fn(arg);
        return;
    }
    pthread_mutex_init(&s.m, NULL);
    pthread_cond_init(&s.c, NULL);
    xloop_call(l, xloop_sync_tramp, &s);
    pthread_mutex_lock(&s.m);
    while (!s.done)
        pthread_cond_wait(&s.c, &s.m);
    pthread_mutex_unlock(&s.m);
    pthread_cond_destroy(&s.c);
    pthread_mutex_destroy(&s.m);
}
