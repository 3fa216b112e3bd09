/* Unit test of util/pool: every job runs once, on a worker of its pool;
 * xpool_free runs what is still queued. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
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

int main(void)
{
    pool_a = xpool_new("test-a", 4);
    xtest_group("pool");
    pool_b = xpool_new("test-b", 1);
    CHECK(pool_a && pool_b);
    if (!pool_a || !pool_b)
        goto out;
    CHECK(!xpool_on_worker(pool_a) && !xpool_on_worker(pool_b));
    CHECK(!xpool_on_worker(NULL));
    for (int i = 0; i < JOBS; i++)
        xpool_submit(pool_a, job, &slots[i]);
    xpool_free(pool_a);         /* runs every queued job before it returns */
    pool_a = NULL;
    CHECK_INT_EQ(atomic_load(&ran), JOBS);
    CHECK_INT_EQ(atomic_load(&on_a), JOBS);
    CHECK_INT_EQ(atomic_load(&on_b), 0);
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
    xpool_free(NULL);           /* a no-op */
out:
    xpool_free(pool_a);
    xpool_free(pool_b);
    return xtest_done();
}
