/* cond: condition variables whose timed waits count on CLOCK_MONOTONIC
 * (deadlines that a change of the wall clock does not move). */
#ifndef XEND_UTIL_COND_H
#define XEND_UTIL_COND_H

#include <pthread.h>
#include <time.h>

/* pthread_cond_init with CLOCK_MONOTONIC for pthread_cond_timedwait. */
static inline int xcond_init_monotonic(pthread_cond_t *c)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(c, &ca);
    pthread_condattr_destroy(&ca);
    return rc;
}

#endif
