/* pool: worker threads running queued jobs in FIFO order.
 *
 * The daemon runs its calls that may block on one (daemon/dispatch.c);
 * anything else that needs threads of its own may create another.  A job
 * never learns which pool it is on unless it asks xpool_on_worker().
 *
 * A pool is either fixed (xpool_new: its threads start with it and stay)
 * or on demand (xpool_new_on_demand: it holds no thread while it has no
 * work; a job queued while every thread is busy starts one more, up to the
 * maximum, and a thread that found no job for the idle period exits).
 */
#ifndef XEND_POOL_H
#define XEND_POOL_H

#include <stdbool.h>

typedef struct xpool xpool;

/* How long an on-demand pool's thread waits for work before it exits. */
#define XPOOL_IDLE_MS 5000

/* Start threads workers (at least 1) named name (for logs and debuggers,
 * 15 bytes at most are kept).  NULL if a thread could not be started. */
xpool *xpool_new(const char *name, unsigned threads);
/* A pool that starts its threads (at most max_threads, at least 1) when
 * jobs need them and lets each go after idle_ms without a job (0:
 * XPOOL_IDLE_MS).  It starts with none.  When no thread can be started
 * (the process is out of threads) and none runs, a queued job waits for
 * the next xpool_submit (or xpool_free) to run it. */
xpool *xpool_new_on_demand(const char *name, unsigned max_threads, unsigned idle_ms);
/* Run every job still queued, then stop the threads and free the pool.
 * Never call it from one of p's own workers.  xpool_free(NULL) is a no-op. */
void xpool_free(xpool *p);
/* Queue fn(arg) to run on one of p's workers (thread-safe; never blocks
 * beyond a short lock, and starting a thread in an on-demand pool).
 * Aborts on out-of-memory, like the rest of xend. */
void xpool_submit(xpool *p, void (*fn)(void *arg), void *arg);
/* Is the calling thread one of p's workers? */
bool xpool_on_worker(const xpool *p);
/* How many threads p holds now (started and not yet exited). */
unsigned xpool_threads(xpool *p);

#endif
