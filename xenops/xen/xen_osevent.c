/* xen_osevent: libxl's osevent hooks on the daemon's event loop (util/loop.h).
 *
 * libxl tells us which fds and (absolute, gettimeofday) timeouts it cares
 * about; the loop thread calls libxl_osevent_occurred_* when they fire.
 *
 * Threading.  libxl calls the hooks with its ctx lock held, from any thread.
 * xloop_*_remove() from a non-loop thread waits for a running callback of
 * that handle, so a callback that took libxl's lock would deadlock against a
 * deregistration.  Hence:
 *  - an fd callback only records revents and queues a delivery
 *    (xloop_call); the delivery calls libxl_osevent_occurred_fd;
 *  - timers are only ever removed on the loop thread (timeout_modify queues
 *    the "fire now" to the loop), so a timer callback may call libxl itself;
 *  - a registration is recycled through xloop_call, i.e. after every call
 *    already queued that may refer to it.
 * b->ev_lock guards the registration fields; no libxl or xloop removal call
 * is made with it held (rule (a) of libxl_event.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/time.h>

#include "xenops/xen/xen_priv.h"

/* A registration for for_libxl, all else reset; returned with ev_lock held
 * (NULL, unlocked, when out of memory). */
static xx_oreg *xx_oreg_take(xo_backend *b, void *for_libxl)
{
    xx_oreg *r;

    pthread_mutex_lock(&b->ev_lock);
    r = b->oreg_free;
    if (r) {
        b->oreg_free = r->next_free;
    } else if ((r = calloc(1, sizeof(*r)))) {
        r->next_all = b->oreg_all;
        b->oreg_all = r;
    }
    if (!r) {
        pthread_mutex_unlock(&b->ev_lock);
        return NULL;
    }
    *r = (xx_oreg){
        .next_all = r->next_all, .b = b, .for_libxl = for_libxl, .fd = -1, .in_use = true
    };
    return r;
}

/* with ev_lock held: back to the free list */
static void xx_oreg_put_locked(xo_backend *b, xx_oreg *r)
{
    r->in_use = false;
    r->for_libxl = NULL;
    r->next_free = b->oreg_free;
    b->oreg_free = r;
}

/* Loop thread (queued): back to the free list. */
static void xx_oreg_recycle_cb(void *arg)
{
    xx_oreg *r = arg;
    xo_backend *b = r->b;
    xloop_timer *stale;

    pthread_mutex_lock(&b->ev_lock);
    stale = r->stale_ftimer;    /* still armed: its callback clears this */
    r->stale_ftimer = NULL;
    pthread_mutex_unlock(&b->ev_lock);
    if (stale)
        xloop_timer_remove(stale);  /* loop thread: armed, not running */
    pthread_mutex_lock(&b->ev_lock);
    xx_oreg_put_locked(b, r);
    pthread_mutex_unlock(&b->ev_lock);
}

/* Loop thread, at close, after libxl_ctx_free: drop what libxl left. */
static void xx_osevent_free_all_cb(void *arg)
{
    xo_backend *b = arg;
    xx_oreg *r, *n;

    pthread_mutex_lock(&b->ev_lock);
    r = b->oreg_all;
    b->oreg_all = NULL;
    b->oreg_free = NULL;
    pthread_mutex_unlock(&b->ev_lock);
    for (; r; r = n) {
        n = r->next_all;
        if (r->h)
            xloop_fd_remove(r->h);
        if (r->timer)
            xloop_timer_remove(r->timer);   /* armed: we are the loop thread */
        if (r->ftimer)
            xloop_timer_remove(r->ftimer);
        if (r->stale_ftimer)
            xloop_timer_remove(r->stale_ftimer);
        free(r);
    }
}

void xx_osevent_free_all(xo_backend *b)
{
    /* calls queued earlier (recycles, deliveries) run first */
    xloop_call_sync(b->loop, xx_osevent_free_all_cb, b);
}

/* ---- fds ---- */

static void xx_fd_deliver_cb(void *arg)
{
    xx_oreg *r = arg;
    xo_backend *b = r->b;
    void *for_libxl = NULL;
    short revents, events;
    int fd;

    pthread_mutex_lock(&b->ev_lock);
    r->queued = false;
    revents = r->pending_revents;
    r->pending_revents = 0;
    events = r->events;
    fd = r->fd;
    if (!r->dead && r->in_use)
        for_libxl = r->for_libxl;
    pthread_mutex_unlock(&b->ev_lock);
    /* libxl's for_libxl is a "hook nexus" valid for the ctx's lifetime and
     * checked by libxl, so even a delivery racing a deregistration is safe. */
    if (for_libxl && revents)
        libxl_osevent_occurred_fd(b->ctx, for_libxl, fd, events, revents);
}

static void xx_fd_cb(xloop_fd *h, int fd, short revents, void *arg)
{
    xx_oreg *r = arg;
    xo_backend *b = r->b;
    bool queue = false;

    pthread_mutex_lock(&b->ev_lock);
    if (r->h == h && r->fd == fd && !r->dead) {
        r->pending_revents |= revents;
        if (!r->queued)
            queue = r->queued = true;
    }
    pthread_mutex_unlock(&b->ev_lock);
    if (queue)
        xloop_call(b->loop, xx_fd_deliver_cb, r);
}

static void xx_fake_tick_cb(xloop_timer *t, void *arg);

/* with ev_lock held */
static void xx_fake_arm_locked(xo_backend *b, xx_oreg *r)
{
    if (!r->ftimer && (r->events & (POLLIN | POLLOUT)))
        r->ftimer = xloop_timer_add(b->loop, xloop_now_ms(), xx_fake_tick_cb, r);
}

/* Loop thread: a "fake" (always ready) fd's tick. */
static void xx_fake_tick_cb(xloop_timer *t, void *arg)
{
    xx_oreg *r = arg;
    xo_backend *b = r->b;
    void *for_libxl = NULL;
    short events = 0;
    int fd = -1;

    pthread_mutex_lock(&b->ev_lock);
    if (r->stale_ftimer == t) {
        r->stale_ftimer = NULL;
    } else if (r->ftimer == t) {
        r->ftimer = NULL;
        if (!r->dead && r->in_use && (r->events & (POLLIN | POLLOUT))) {
            for_libxl = r->for_libxl;
            events = r->events;
            fd = r->fd;
        }
    }
    pthread_mutex_unlock(&b->ev_lock);
    if (!for_libxl)
        return;
    libxl_osevent_occurred_fd(b->ctx, for_libxl, fd, events, events & (POLLIN | POLLOUT));
    /* still interested: tick again (the loop runs other work in between) */
    pthread_mutex_lock(&b->ev_lock);
    if (!r->dead && r->in_use && r->fake)
        xx_fake_arm_locked(b, r);
    pthread_mutex_unlock(&b->ev_lock);
}

static int xx_fd_register(void *user, int fd, void **for_app_registration_out, short events,
                          void *for_libxl)
{
    xo_backend *b = user;
    /* ev_lock across add + store: a callback firing at once waits for it */
    xx_oreg *r = xx_oreg_take(b, for_libxl);
    xloop_fd *h;

    if (!r)
        return ERROR_OSEVENT_REG_FAIL;
    r->fd = fd;
    r->events = events;
    h = xloop_fd_add(b->loop, fd, events, xx_fd_cb, r);
    r->h = h;
    if (!h && errno == EPERM) {
        /* epoll refuses regular files; poll(2) says they are always ready */
        r->fake = true;
        xx_fake_arm_locked(b, r);
    } else if (!h) {
        xx_oreg_put_locked(b, r);
    }
    pthread_mutex_unlock(&b->ev_lock);
    if (!h && !r->fake)
        return ERROR_OSEVENT_REG_FAIL;
    *for_app_registration_out = r;
    return 0;
}

static int xx_fd_modify(void *user, int fd, void **for_app_registration_update, short events)
{
    xo_backend *b = user;
    xx_oreg *r = *for_app_registration_update;
    int rc = 0;

    pthread_mutex_lock(&b->ev_lock);
    if (r->fake) {
        r->events = events;
        xx_fake_arm_locked(b, r);
    } else if (!r->h || xloop_fd_modify(r->h, events)) {
        rc = ERROR_OSEVENT_REG_FAIL;
    } else {
        r->events = events;
    }
    pthread_mutex_unlock(&b->ev_lock);
    return rc;
}

static void xx_fd_deregister(void *user, int fd, void *for_app_registration)
{
    xo_backend *b = user;
    xx_oreg *r = for_app_registration;
    xloop_fd *h;

    pthread_mutex_lock(&b->ev_lock);
    r->dead = true;
    h = r->h;
    r->h = NULL;
    /* an armed tick cannot be removed here (it may be running, and it
     * calls libxl): the recycle, on the loop thread, removes it */
    r->stale_ftimer = r->ftimer;
    r->ftimer = NULL;
    pthread_mutex_unlock(&b->ev_lock);
    /* synchronous (libxl closes the fd next); waits at most for xx_fd_cb,
     * which takes only ev_lock */
    xloop_fd_remove(h);
    xloop_call(b->loop, xx_oreg_recycle_cb, r);
}

/* ---- timeouts ---- */

static void xx_timeout_fire(xx_oreg *r, xloop_timer *t)
{
    xo_backend *b = r->b;
    void *for_libxl = NULL;

    pthread_mutex_lock(&b->ev_lock);
    if (!r->dead && (t == NULL || r->timer == t)) {
        r->dead = true;
        r->timer = NULL;
        for_libxl = r->for_libxl;
    }
    pthread_mutex_unlock(&b->ev_lock);
    if (!for_libxl)
        return;
    /* The timeout counts as deregistered on entry to libxl; modify calls
     * racing with this were queued before the recycle below. */
    libxl_osevent_occurred_timeout(b->ctx, for_libxl);
    xloop_call(b->loop, xx_oreg_recycle_cb, r);
}

static void xx_timer_cb(xloop_timer *t, void *arg)
{
    xx_timeout_fire(arg, t);
}

/* Loop thread: libxl asked for the timeout to happen now. */
static void xx_timeout_now_cb(void *arg)
{
    xx_oreg *r = arg;
    xo_backend *b = r->b;
    xloop_timer *t;

    pthread_mutex_lock(&b->ev_lock);
    t = r->dead ? NULL : r->timer;
    pthread_mutex_unlock(&b->ev_lock);
    if (!t)
        return;                     /* fired meanwhile */
    xloop_timer_remove(t);          /* armed, and we are the loop thread */
    xx_timeout_fire(r, t);
}

static int64_t xx_abs_to_loop_ms(struct timeval abs)
{
    struct timeval now;
    int64_t delta_ms;

    gettimeofday(&now, NULL);
    delta_ms = ((int64_t)abs.tv_sec - now.tv_sec) * 1000
               + ((int64_t)abs.tv_usec - now.tv_usec) / 1000;
    if (delta_ms < 0)
        delta_ms = 0;
    return xloop_now_ms() + delta_ms;
}

static int xx_timeout_register(void *user, void **for_app_registration_out, struct timeval abs,
                               void *for_libxl)
{
    xo_backend *b = user;
    xx_oreg *r = xx_oreg_take(b, for_libxl);
    xloop_timer *t;

    if (!r)
        return ERROR_OSEVENT_REG_FAIL;
    t = xloop_timer_add(b->loop, xx_abs_to_loop_ms(abs), xx_timer_cb, r);
    r->timer = t;
    if (!t)
        xx_oreg_put_locked(b, r);
    pthread_mutex_unlock(&b->ev_lock);
    if (!t)
        return ERROR_OSEVENT_REG_FAIL;
    *for_app_registration_out = r;
    return 0;
}

/* Only ever called with abs = {0,0}: make the timeout happen now.  It may
 * already be firing on the loop thread; then the queued call does nothing. */
static int xx_timeout_modify(void *user, void **for_app_registration_update, struct timeval abs)
{
    xo_backend *b = user;

    (void)abs;
    xloop_call(b->loop, xx_timeout_now_cb, *for_app_registration_update);
    return 0;
}

static void xx_timeout_deregister(void *user, void *for_app_registration)
{
    /* never called by libxl >= 4.5 (deprecated mode of use) */
    (void)user;
    (void)for_app_registration;
}

const libxl_osevent_hooks xx_osevent_hooks = {
    .fd_register = xx_fd_register,
    .fd_modify = xx_fd_modify,
    .fd_deregister = xx_fd_deregister,
    .timeout_register = xx_timeout_register,
    .timeout_modify = xx_timeout_modify,
    .timeout_deregister = xx_timeout_deregister,
};
