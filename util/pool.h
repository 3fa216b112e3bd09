/* pool: a fixed set of worker threads running queued jobs in FIFO order.
 *
 * The daemon runs its calls that may block on one (daemon/dispatch.c);
 * anything else that needs threads of its own may create another.  A job
 * never learns which pool it is on unless it asks xpool_on_worker().
 */
#ifndef XEND_POOL_H
#define XEND_POOL_H

#include <stdbool.h>

typedef struct xpool xpool;

/* Start threads workers (at least 1) named name (for logs and debuggers,
 * 15 bytes at most are kept).  NULL if a thread could not be started. */
xpool *xpool_new(const char *name, unsigned threads);
/* Run every job still queued, then stop the threads and free the pool.
 * Never call it from one of p's own workers.  xpool_free(NULL) is a no-op. */
void xpool_free(xpool *p);
/* Queue fn(arg) to run on one of p's workers (thread-safe; never blocks
 * beyond a short lock).  Aborts on out-of-memory, like the rest of xend. */
void xpool_submit(xpool *p, void (*fn)(void *arg), void *arg);
/* Is the calling thread one of p's workers? */
bool xpool_on_worker(const xpool *p);

#endif
