/* metrics: the daemon's state and its API calls in Prometheus' text format
 * (GET /metrics, docs/metrics.md).  Names follow Prometheus' rules: the
 * xen_ prefix, base units, _total on counters. */
#ifndef XEND_METRICS_H
#define XEND_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/dispatch.h"

/* Count one answered call: m NULL for a method xend does not have (counted
 * as "unknown", so that no client can grow the label set), ok whether it
 * succeeded, seconds from its request to its answer.  Any thread. */
void metrics_note_call(const xmethod *m, bool ok, double seconds);

/* The exposition (malloc'd, *len_r bytes). */
char *metrics_render(size_t *len_r);

/* The Content-Type of that text. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
