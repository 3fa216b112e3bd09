/* event: the one event log (a bounded ring of every object change) and the
 * subscriptions reading it: API 1.0 event.register/next/unregister and XAPI
 * event.from/inject/get_current_id.  See docs/events.md.
 *
 * events_setup() and events_tick() are declared in daemon.h.
 */
#ifndef XEND_EVENT_H
#define XEND_EVENT_H

#include <stdint.h>

/* Answer every waiting event call (EVENTS_LOST) and refuse new waits; returns
 * once every waiting connection has been handed its answer.  Call before
 * the transport stops (MHD must not be stopped with suspended connections). */
void events_stop(void);

/* The log's size for /metrics: entries held now, the ring's capacity, and
 * event calls waiting for an answer. */
void events_stats(uint64_t *entries_r, uint64_t *capacity_r, uint64_t *waiters_r);

/* Id of the newest event (ids only grow, also across restarts). */
uint64_t events_current_id(void);

#endif
