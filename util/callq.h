/* callq: a FIFO of calls (a function and its argument), the queue behind
 * xloop_call and xpool_submit.  Not locked: the owner's lock guards it. */
#ifndef XEND_UTIL_CALLQ_H
#define XEND_UTIL_CALLQ_H

#include <stdlib.h>

typedef struct xcallq_item {
    void (*fn)(void *arg);
    void *arg;
    struct xcallq_item *next;
} xcallq_item;

typedef struct xcallq {
    xcallq_item *head, *tail;
} xcallq;

/* A call to queue (made before taking the owner's lock); NULL when out of memory. */
static inline xcallq_item *xcallq_item_new(void (*fn)(void *arg), void *arg)
{
    xcallq_item *c = malloc(sizeof(*c));
    if (c)
        *c = (xcallq_item){ .fn = fn, .arg = arg, .next = NULL };
    return c;
}

static inline void xcallq_push(xcallq *q, xcallq_item *c)
{
    if (q->tail)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
}

/* The oldest call, taken off the queue (the caller runs and frees it); NULL if none. */
static inline xcallq_item *xcallq_pop(xcallq *q)
{
    xcallq_item *c = q->head;
    if (c) {
        q->head = c->next;
        if (!q->head)
            q->tail = NULL;
    }
    return c;
}

#endif
