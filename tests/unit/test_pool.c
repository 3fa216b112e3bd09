/* Unit test of util/pool: every job runs once, on a worker of its pool;
 * xpool_free runs what is still queued.  An on-demand pool holds no thread
 * without work, starts threads under load up to its maximum, lets them go
 * when idle, and loses no job while its threads come and go. */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/xtest.h"
#include "util/pool.h"

#define JOBS 10000

static xpool *pool_a, *pool_b;
static atomic_int ran, on_a, on_b;
static atomic_int slots[JOBS];

static void job(void *arg)
{
    int *slot = arg;
    atomic_fetch_add((atomic_int *)slot, 1);
    atomic_fetch_add(&ran, 1);
    if (xpool_on_worker(pool_a))
        atomic_fetch_add(&on_a, 1);
    if (xpool_on_worker(pool_b))
        atomic_fetch_add(&on_b, 1);
}

static void slow_job(void *arg)
{
    (void)arg;
    usleep(1000);
    atomic_fetch_add(&ran, 1);
}

/* Threads of this process named name, as the kernel lists them. */
static int os_threads(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], comm[32] = "";
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue; /* the thread has just exited */
        if (fgets(comm, sizeof(comm), f))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
        n += strcmp(comm, name) == 0;
    }
    closedir(d);
    return n;
}

/* Jobs that hold their thread until released. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static atomic_int held, most_held;

static void gated_job(void *arg)
{
    (void)arg;
    int now = atomic_fetch_add(&held, 1) + 1;
    for (int m = atomic_load(&most_held);
         now > m && !atomic_compare_exchange_weak(&most_held, &m, now);)
        ;
    pthread_mutex_lock(&gate_mu);
    while (!gate_open)
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    atomic_fetch_sub(&held, 1);
    atomic_fetch_add(&ran, 1);
}

static void set_gate(bool open)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = open;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

static xpool *od;
static unsigned want_threads;
static int want_ran;

static bool od_threads_are(void *arg)
{
    (void)arg;
    return xpool_threads(od) == want_threads && os_threads("test-od") == (int)want_threads;
}

static bool held_reach(void *arg) { return atomic_load(&held) >= *(int *)arg; }

static bool ran_reach(void *arg)
{
    (void)arg;
    return atomic_load(&ran) >= want_ran;
}

static void od_job(void *arg)
{
    int *slot = arg;
    atomic_fetch_add((atomic_int *)slot, 1);
    if (xpool_on_worker(od))
        atomic_fetch_add(&on_a, 1);
    atomic_fetch_add(&ran, 1);
}

/* One of several threads submitting at once: its share of the slots. */
static void *submitter(void *arg)
{
    int part = (int)(intptr_t)arg;
    for (int i = part; i < JOBS; i += 4) {
        xpool_submit(od, od_job, &slots[i]);
        if (i % 997 == 0)
            usleep(3000); /* now and then long enough for threads to go idle and leave */
    }
    return NULL;
}

/* A job that queues another on its own pool: the queue is drained by free. */
static void chain_job(void *arg)
{
    int left = (int)(intptr_t)arg;
    atomic_fetch_add(&ran, 1);
    if (left > 0)
        xpool_submit(od, chain_job, (void *)(intptr_t)(left - 1));
}

static void test_fixed(void)
{
    xtest_group("fixed pool");
    pool_a = xpool_new("test-a", 4);
    pool_b = xpool_new("test-b", 1);
    CHECK(pool_a && pool_b);
    if (!pool_a || !pool_b)
        return;
    CHECK_INT_EQ(xpool_threads(pool_a), 4);
    CHECK_INT_EQ(os_threads("test-a"), 4);
    CHECK(!xpool_on_worker(pool_a) && !xpool_on_worker(pool_b));
    CHECK(!xpool_on_worker(NULL));
    for (int i = 0; i < JOBS; i++)
        xpool_submit(pool_a, job, &slots[i]);
    xpool_free(pool_a); /* runs every queued job before it returns */
    pool_a = NULL;
    CHECK_INT_EQ(atomic_load(&ran), JOBS);
    CHECK_INT_EQ(atomic_load(&on_a), JOBS);
    CHECK_INT_EQ(atomic_load(&on_b), 0);
    CHECK_INT_EQ(os_threads("test-a"), 0);
    int once = 0;
    for (int i = 0; i < JOBS; i++)
        once += atomic_load(&slots[i]) == 1;
    CHECK_INT_EQ(once, JOBS);

    /* a job queued behind slow ones still runs before free returns */
    atomic_store(&ran, 0);
    for (int i = 0; i < 20; i++)
        xpool_submit(pool_b, slow_job, NULL);
    xpool_free(pool_b);
    pool_b = NULL;
    CHECK_INT_EQ(atomic_load(&ran), 20);
    xpool_free(NULL); /* a no-op */
}

static void test_on_demand(void)
{
    xtest_group("on-demand pool: threads come with work and go when idle");
    od = xpool_new_on_demand("test-od", 4, 100);
    CHECK(od != NULL);
    if (!od)
        return;
    CHECK_INT_EQ(xpool_threads(od), 0);
    CHECK_INT_EQ(os_threads("test-od"), 0);

    /* one job at a time needs one thread */
    atomic_store(&ran, 0);
    want_ran = 1;
    xpool_submit(od, slow_job, NULL);
    CHECK(xtest_wait_until(ran_reach, NULL));
    CHECK_INT_EQ(xpool_threads(od), 1);
    want_threads = 0;
    CHECKF(xtest_wait_until(od_threads_are, NULL), "threads %u (os %d) after the idle period",
           xpool_threads(od), os_threads("test-od"));

    /* ten jobs that hold their threads: four threads, never more */
    atomic_store(&ran, 0);
    set_gate(false);
    for (int i = 0; i < 10; i++)
        xpool_submit(od, gated_job, NULL);
    int four = 4;
    CHECK(xtest_wait_until(held_reach, &four));
    want_threads = 4;
    CHECK(xtest_wait_until(od_threads_are, NULL));
    usleep(300 * 1000); /* three idle periods: busy threads stay, no fifth comes */
    CHECK_INT_EQ(xpool_threads(od), 4);
    CHECK_INT_EQ(atomic_load(&held), 4);
    set_gate(true);
    want_ran = 10;
    CHECK(xtest_wait_until(ran_reach, NULL));
    CHECK_INT_EQ(atomic_load(&most_held), 4);
    want_threads = 0;
    CHECKF(xtest_wait_until(od_threads_are, NULL), "threads %u (os %d) after the idle period",
           xpool_threads(od), os_threads("test-od"));

    xtest_group("on-demand pool: no job lost while threads come and go");
    /* a short idle period so that threads leave and are started again
     * while four threads submit */
    xpool_free(od);
    od = xpool_new_on_demand("test-od", 3, 1);
    CHECK(od != NULL);
    if (!od)
        return;
    memset(slots, 0, sizeof(slots));
    atomic_store(&ran, 0);
    atomic_store(&on_a, 0);
    pthread_t sub[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&sub[i], NULL, submitter, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < 4; i++)
        pthread_join(sub[i], NULL);
    want_ran = JOBS;
    CHECK(xtest_wait_until(ran_reach, NULL)); /* by the pool's threads, not by free */
    CHECK_INT_EQ(atomic_load(&ran), JOBS);
    CHECK_INT_EQ(atomic_load(&on_a), JOBS);
    int once = 0;
    for (int i = 0; i < JOBS; i++)
        once += atomic_load(&slots[i]) == 1;
    CHECK_INT_EQ(once, JOBS);
    CHECK(xpool_threads(od) <= 3);
    want_threads = 0;
    CHECK(xtest_wait_until(od_threads_are, NULL));

    xtest_group("on-demand pool: clean shutdown");
    /* free with jobs running and queued: all of them run first */
    atomic_store(&ran, 0);
    for (int i = 0; i < 50; i++)
        xpool_submit(od, slow_job, NULL);
    xpool_free(od);
    CHECK_INT_EQ(atomic_load(&ran), 50);
    CHECK_INT_EQ(os_threads("test-od"), 0);
    /* free of a pool that never started a thread, and of one whose threads have gone */
    od = xpool_new_on_demand("test-od", 2, 0);
    CHECK(od && xpool_threads(od) == 0);
    xpool_free(od);
    od = xpool_new_on_demand("test-od", 2, 20);
    atomic_store(&ran, 0);
    want_ran = 2;
    xpool_submit(od, slow_job, NULL);
    xpool_submit(od, slow_job, NULL);
    CHECK(xtest_wait_until(ran_reach, NULL));
    want_threads = 0;
    CHECK(xtest_wait_until(od_threads_are, NULL));
    /* a job that queues the next one as the pool stops: the whole chain runs */
    atomic_store(&ran, 0);
    xpool_submit(od, chain_job, (void *)(intptr_t)99);
    xpool_free(od);
    od = NULL;
    CHECK_INT_EQ(atomic_load(&ran), 100);
    CHECK_INT_EQ(os_threads("test-od"), 0);
}

int main(void)
{
    test_fixed();
    test_on_demand();
    xpool_free(pool_a);
    xpool_free(pool_b);
    return xtest_done();
}
