/* Unit tests for util/loop.c: fds, timers, cross-thread calls, removal. */
#include "config.h"

#include "tests/lib/xtest.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/loop.h"

/* Wait up to ms for an atomic counter to reach want. */
static bool wait_for(atomic_int *v, int want, int ms)
{
    int64_t end = xloop_now_ms() + ms;

    while (atomic_load(v) < want) {
        if (xloop_now_ms() > end)
            return false;
        usleep(1000);
    }
    return true;
}

typedef struct gate { pthread_mutex_t m; pthread_cond_t c; bool open; atomic_int in; } gate;

static void gate_wait(void *arg)
{
    gate *g = arg;

    atomic_store(&g->in, 1);
    pthread_mutex_lock(&g->m);
    while (!g->open)
        pthread_cond_wait(&g->c, &g->m);
    pthread_mutex_unlock(&g->m);
}

static void gate_release(gate *g)
{
    pthread_mutex_lock(&g->m);
    g->open = true;
    pthread_cond_signal(&g->c);
    pthread_mutex_unlock(&g->m);
}

/* ---- fds ---- */
typedef struct fdctx {
    atomic_int hits;
    char buf[64];
    size_t len;
    bool self_remove;
    xloop_fd *h;
    pthread_t cb_thread;
} fdctx;

static void on_readable(xloop_fd *h, int fd, short revents, void *arg)
{
    fdctx *c = arg;
    ssize_t n;

    c->cb_thread = pthread_self();
    if (revents & POLLIN) {
        n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
        if (n > 0)
            c->len += (size_t)n;
        c->buf[c->len] = '\0';
    }
    if (c->self_remove)
        xloop_fd_remove(h);
    atomic_fetch_add(&c->hits, 1);
}

static void test_fd_pipe(xloop *l)
{
    int p[2];
    fdctx c = { 0 };

    CHECK(pipe(p) == 0);
    c.h = xloop_fd_add(l, p[0], POLLIN, on_readable, &c);
    CHECK(c.h != NULL);
    CHECK(write(p[1], "hello", 5) == 5);
    CHECK(wait_for(&c.hits, 1, xtest_deadline_ms()));
    CHECK(wait_for(&c.hits, 1, 0) && strncmp(c.buf, "hello", 5) == 0);
    CHECK(!pthread_equal(c.cb_thread, pthread_self()));
    CHECK(write(p[1], " world", 6) == 6);
    CHECK(wait_for(&c.hits, 2, xtest_deadline_ms()));
    CHECK(strcmp(c.buf, "hello world") == 0);

    /* Interest switched off: no callbacks although data is pending. */
    CHECK(xloop_fd_modify(c.h, 0) == 0);
    int before = atomic_load(&c.hits);
    CHECK(write(p[1], "!", 1) == 1);
    usleep(50000);
    CHECK(atomic_load(&c.hits) == before);
    CHECK(xloop_fd_modify(c.h, POLLIN) == 0);
    CHECK(wait_for(&c.hits, before + 1, xtest_deadline_ms()));
    xloop_fd_remove(c.h);
    close(p[0]);
    close(p[1]);
}

static void test_fd_self_remove(xloop *l)
{
    int p[2];
    fdctx c = { .self_remove = true };

    CHECK(pipe(p) == 0);
    c.h = xloop_fd_add(l, p[0], POLLIN, on_readable, &c);
    CHECK(c.h != NULL);
    CHECK(write(p[1], "x", 1) == 1);
    CHECK(wait_for(&c.hits, 1, xtest_deadline_ms()));
    /* More data after the handler removed itself: no further callback. */
    CHECK(write(p[1], "y", 1) == 1);
    usleep(50000);
    CHECK(atomic_load(&c.hits) == 1);
    CHECK(strcmp(c.buf, "x") == 0);
    close(p[0]);
    close(p[1]);
}

/* Two readable fds; the first callback to run removes the other one. */
typedef struct pairctx {
    xloop_fd *h[2];
    atomic_int hits[2];
    atomic_int total;
} pairctx;

static void on_pair(xloop_fd *h, int fd, short revents, void *arg)
{
    pairctx *c = arg;
    int me = (h == c->h[0]) ? 0 : 1;
    char b;

    if (read(fd, &b, 1) < 0)
        perror("read");
    atomic_fetch_add(&c->hits[me], 1);
    xloop_fd_remove(c->h[1 - me]);
    xloop_fd_remove(h);
    atomic_fetch_add(&c->total, 1);
}

static void test_fd_remove_other(xloop *l)
{
    int a[2], b[2];
    pairctx c;
    gate g = { .open = false };

    memset(&c, 0, sizeof(c));
    pthread_mutex_init(&g.m, NULL);
    pthread_cond_init(&g.c, NULL);
    CHECK(pipe(a) == 0 && pipe(b) == 0);
    /* Hold the loop thread so that both fds are ready in one batch. */
    xloop_call(l, gate_wait, &g);
    CHECK(wait_for(&g.in, 1, xtest_deadline_ms()));
    c.h[0] = xloop_fd_add(l, a[0], POLLIN, on_pair, &c);
    c.h[1] = xloop_fd_add(l, b[0], POLLIN, on_pair, &c);
    CHECK(c.h[0] && c.h[1]);
    CHECK(write(a[1], "1", 1) == 1 && write(b[1], "2", 1) == 1);
    pthread_mutex_lock(&g.m);
    g.open = true;
    pthread_cond_signal(&g.c);
    pthread_mutex_unlock(&g.m);
    CHECK(wait_for(&c.total, 1, xtest_deadline_ms()));
    usleep(50000);
    CHECK(atomic_load(&c.total) == 1);
    CHECK(atomic_load(&c.hits[0]) + atomic_load(&c.hits[1]) == 1);
    close(a[0]); close(a[1]); close(b[0]); close(b[1]);
    pthread_cond_destroy(&g.c);
    pthread_mutex_destroy(&g.m);
}

static void test_fd_bad(xloop *l)
{
    errno = 0;
    CHECK(xloop_fd_add(l, -1, POLLIN, on_readable, NULL) == NULL);
    CHECK(errno == EINVAL);
}

/* ---- timers ---- */
#define ORDER_MAX 1100
typedef struct orderctx {
    pthread_mutex_t m;
    int order[ORDER_MAX];
    int64_t fired_at[ORDER_MAX];
    atomic_int n;
} orderctx;

typedef struct targ { orderctx *c; int id; } targ;

static void on_timer(xloop_timer *t, void *arg)
{
    targ *a = arg;
    orderctx *c = a->c;

    pthread_mutex_lock(&c->m);
    int i = atomic_load(&c->n);
    if (i < ORDER_MAX) {
        c->order[i] = a->id;
        c->fired_at[i] = xloop_now_ms();
    }
    pthread_mutex_unlock(&c->m);
    xloop_timer_remove(t);      /* no-op from inside its own callback */
    atomic_fetch_add(&c->n, 1);
}

static void test_timer_order(xloop *l)
{
    static orderctx c;
    static targ args[4];
    int64_t now = xloop_now_ms();
    int64_t delays[4] = { 80, 20, 50, 20 };   /* ids 1 and 3: same deadline, FIFO */
    int64_t deadline[4];

    memset(&c, 0, sizeof(c));
    pthread_mutex_init(&c.m, NULL);
    for (int i = 0; i < 4; i++) {
        args[i].c = &c;
        args[i].id = i;
        deadline[i] = now + delays[i];
        CHECK(xloop_timer_add(l, deadline[i], on_timer, &args[i]) != NULL);
    }
    CHECK(wait_for(&c.n, 4, xtest_deadline_ms()));
    CHECK(c.order[0] == 1 && c.order[1] == 3 && c.order[2] == 2 && c.order[3] == 0);
    for (int i = 0; i < 4; i++)
        CHECK(c.fired_at[i] >= deadline[c.order[i]]);
    pthread_mutex_destroy(&c.m);
}

static void test_timer_remove(xloop *l)
{
    static orderctx c;
    static targ args[3];
    xloop_timer *t[3];
    int64_t now = xloop_now_ms();

    memset(&c, 0, sizeof(c));
    pthread_mutex_init(&c.m, NULL);
    for (int i = 0; i < 3; i++) {
        args[i].c = &c;
        args[i].id = i;
        t[i] = xloop_timer_add(l, now + 30 + 10 * i, on_timer, &args[i]);
        CHECK(t[i] != NULL);
    }
    xloop_timer_remove(t[1]);
    CHECK(wait_for(&c.n, 2, xtest_deadline_ms()));
    usleep(50000);
    CHECK(atomic_load(&c.n) == 2);
    CHECK(c.order[0] == 0 && c.order[1] == 2);
    pthread_mutex_destroy(&c.m);
}

/* A timer callback that cancels a later timer. */
typedef struct cancelctx { xloop_timer *victim; atomic_int fired; atomic_int victim_fired; } cancelctx;

static void on_victim(xloop_timer *t, void *arg)
{
    cancelctx *c = arg;
    atomic_fetch_add(&c->victim_fired, 1);
}

static void on_killer(xloop_timer *t, void *arg)
{
    cancelctx *c = arg;
    xloop_timer_remove(c->victim);
    atomic_fetch_add(&c->fired, 1);
}

static void test_timer_remove_other_in_callback(xloop *l)
{
    cancelctx c;
    int64_t now = xloop_now_ms();

    memset(&c, 0, sizeof(c));
    c.victim = xloop_timer_add(l, now + 60, on_victim, &c);
    CHECK(xloop_timer_add(l, now + 10, on_killer, &c) != NULL);
    CHECK(wait_for(&c.fired, 1, xtest_deadline_ms()));
    usleep(100000);
    CHECK(atomic_load(&c.victim_fired) == 0);
}

static void test_many_timers(xloop *l)
{
    static orderctx c;
    static targ args[1000];
    int64_t now = xloop_now_ms();
    bool sorted = true;

    gate g = { .open = false };

    memset(&c, 0, sizeof(c));
    pthread_mutex_init(&c.m, NULL);
    pthread_mutex_init(&g.m, NULL);
    pthread_cond_init(&g.c, NULL);
    /* Hold the loop while adding so that no timer fires before all exist. */
    xloop_call(l, gate_wait, &g);
    CHECK(wait_for(&g.in, 1, xtest_deadline_ms()));
    srand(42);
    for (int i = 0; i < 1000; i++) {
        args[i].c = &c;
        args[i].id = rand() % 200;      /* id doubles as the delay */
        CHECK(xloop_timer_add(l, now + 20 + args[i].id, on_timer, &args[i]) != NULL);
    }
    gate_release(&g);
    CHECK(wait_for(&c.n, 1000, xtest_deadline_ms()));
    for (int i = 1; i < 1000; i++)
        if (c.order[i] < c.order[i - 1])
            sorted = false;
    CHECK(sorted);
    CHECK(atomic_load(&c.n) == 1000);
    pthread_mutex_destroy(&c.m);
    pthread_cond_destroy(&g.c);
    pthread_mutex_destroy(&g.m);
}

/* ---- calls ---- */
typedef struct callctx {
    xloop *l;
    atomic_int n;
    atomic_int on_loop;
    int seen[400];
    pthread_mutex_t m;
    int n_seen;
} callctx;

typedef struct callarg { callctx *c; int v; } callarg;

static void on_call(void *arg)
{
    callarg *a = arg;

    if (xloop_on_loop_thread(a->c->l))
        atomic_fetch_add(&a->c->on_loop, 1);
    pthread_mutex_lock(&a->c->m);
    a->c->seen[a->c->n_seen++] = a->v;
    pthread_mutex_unlock(&a->c->m);
    atomic_fetch_add(&a->c->n, 1);
    free(a);
}

typedef struct thrarg { callctx *c; int base; } thrarg;

static void *call_thread(void *arg)
{
    thrarg *t = arg;

    for (int i = 0; i < 100; i++) {
        callarg *a = malloc(sizeof(*a));
        a->c = t->c;
        a->v = t->base + i;
        xloop_call(t->c->l, on_call, a);
    }
    return NULL;
}

static void test_calls(xloop *l)
{
    static callctx c;
    pthread_t th[4];
    thrarg ta[4];
    bool fifo = true;

    memset(&c, 0, sizeof(c));
    c.l = l;
    pthread_mutex_init(&c.m, NULL);
    CHECK(!xloop_on_loop_thread(l));
    for (int i = 0; i < 4; i++) {
        ta[i].c = &c;
        ta[i].base = i * 1000;
        pthread_create(&th[i], NULL, call_thread, &ta[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK(wait_for(&c.n, 400, xtest_deadline_ms()));
    CHECK(atomic_load(&c.on_loop) == 400);
    /* Per producer thread, calls run in the order they were queued. */
    for (int t = 0; t < 4; t++) {
        int last = -1;
        for (int i = 0; i < c.n_seen; i++) {
            if (c.seen[i] / 1000 != t)
                continue;
            if (c.seen[i] <= last)
                fifo = false;
            last = c.seen[i];
        }
    }
    CHECK(fifo);
    pthread_mutex_destroy(&c.m);
}

static void set_flag(void *arg)
{
    *(int *)arg = 42;
}

static void test_call_sync(xloop *l)
{
    int v = 0;

    xloop_call_sync(l, set_flag, &v);
    CHECK(v == 42);
}

/* Removing from another thread while the callback runs waits for it. */
typedef struct slowctx { atomic_int entered; atomic_int left; } slowctx;

static void on_slow_timer(xloop_timer *t, void *arg)
{
    slowctx *c = arg;
    atomic_fetch_add(&c->entered, 1);
    usleep(100000);
    atomic_fetch_add(&c->left, 1);
}

static void test_remove_waits(xloop *l)
{
    slowctx c;
    xloop_timer *t;

    memset(&c, 0, sizeof(c));
    t = xloop_timer_add(l, xloop_now_ms(), on_slow_timer, &c);
    CHECK(t != NULL);
    CHECK(wait_for(&c.entered, 1, xtest_deadline_ms()));
    xloop_timer_remove(t);
    CHECK(atomic_load(&c.left) == 1);
}

int main(void)
{
    xloop *l = xloop_new();

    CHECK(l != NULL);
    if (!l)
        return 1;
    test_fd_pipe(l);
    test_fd_self_remove(l);
    test_fd_remove_other(l);
    test_fd_bad(l);
    test_timer_order(l);
    test_timer_remove(l);
    test_timer_remove_other_in_callback(l);
    test_many_timers(l);
    test_calls(l);
    test_call_sync(l);
    test_remove_waits(l);
    xloop_free(l);

    /* A loop with pending calls at free runs them (no leak). */
    l = xloop_new();
    callctx c2;
    memset(&c2, 0, sizeof(c2));
    c2.l = l;
    pthread_mutex_init(&c2.m, NULL);
    for (int i = 0; i < 10; i++) {
        callarg *a = malloc(sizeof(*a));
        a->c = &c2;
        a->v = i;
        xloop_call(l, on_call, a);
    }
    xloop_free(l);
    CHECK(atomic_load(&c2.n) == 10);
    pthread_mutex_destroy(&c2.m);

    return xtest_done();
}
