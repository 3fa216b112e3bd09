/* loop: the daemon's event loop (one epoll thread), offered to backends the
 * way libxl's osevent hooks expect: register fds and absolute timeouts,
 * callbacks run on the loop thread.  Thread-safe registration.
 */
#ifndef XEND_LOOP_H
#define XEND_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <poll.h>

typedef struct xloop xloop;
typedef struct xloop_fd xloop_fd;
typedef struct xloop_timer xloop_timer;

/* revents: POLLIN/POLLOUT/POLLERR/POLLHUP bits as poll(2) defines them. */
typedef void (*xloop_fd_fn)(xloop_fd *h, int fd, short revents, void *arg);
typedef void (*xloop_timer_fn)(xloop_timer *t, void *arg);

xloop *xloop_new(void);                 /* starts the loop thread */
void xloop_free(xloop *l);              /* stops the thread; handlers must be gone */

/* events: POLLIN and/or POLLOUT.  Returns NULL on failure (errno set). */
xloop_fd *xloop_fd_add(xloop *l, int fd, short events, xloop_fd_fn fn, void *arg);
int xloop_fd_modify(xloop_fd *h, short events);
void xloop_fd_remove(xloop_fd *h);      /* safe from inside its own callback */

/* Fires once at monotonic time abs_ms (CLOCK_MONOTONIC, milliseconds). */
xloop_timer *xloop_timer_add(xloop *l, int64_t abs_ms, xloop_timer_fn fn, void *arg);
void xloop_timer_remove(xloop_timer *t); /* safe from inside its own callback */
int64_t xloop_now_ms(void);

/* Run fn(arg) on the loop thread soon (thread-safe). */
void xloop_call(xloop *l, void (*fn)(void *arg), void *arg);

/* Additions (loop.c):
 * A timer is freed by the loop right after its callback returns: call
 * xloop_timer_remove() only on a timer that has not fired yet (or from inside
 * its own callback, where it is a no-op).  A remove from another thread while
 * the handler's callback runs waits for it to return; do not call it holding
 * a lock that callback takes.  Never call xloop_free() on the loop thread. */

/* Run fn(arg) on the loop thread and wait until it has returned (runs it
 * directly when called on the loop thread).  Callbacks queued earlier with
 * xloop_call() run first. */
void xloop_call_sync(xloop *l, void (*fn)(void *arg), void *arg);
/* True when the caller is the loop thread. */
bool xloop_on_loop_thread(xloop *l);

#endif
