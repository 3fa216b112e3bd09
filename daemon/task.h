/* task: Async.* calls run as tasks (objects of class task).  See docs/tasks.md.
 *
 * Life of a task: task_create_for_call() (pending, queued: cancellable) ->
 * task_begin() on the worker that runs it -> the handler (which may report
 * progress, poll for cancellation or register a cancel hook) ->
 * task_finish() (success, failure or cancelled).  Finished tasks expire
 * after daemon_options.task_expiry seconds, or can be destroyed earlier.
 *
 * Locking: every function here takes the store lock itself; call them with
 * no store lock held.
 */
#ifndef XEND_TASK_H
#define XEND_TASK_H

#include "daemon/daemon.h"
#include "daemon/dispatch.h"

/* Create a pending task for an Async call (name_label = the sync method
 * name, session = the caller's); its ref is copied into call->task. */
bool task_create_for_call(xcall *call, xerr **errp);
/* The worker is about to run the call behind task_ref.  False when the task
 * was cancelled while it waited in the queue (or is gone): do not run it and
 * do not call task_finish. */
bool task_begin(const char *task_ref);
/* The call behind task_ref finished: record success (result, may be NULL
 * for void) or failure (err).  Neither is consumed.  A failure after a
 * cancel request makes the task "cancelled". */
void task_finish(const char *task_ref, const xv *result, const xerr *err);
/* Set progress 0..100 of a running task (clamped; no-op for ref ""). */
void task_set_progress(const char *task_ref, int percent);

/* Cancellation of running tasks.  A running task can be cancelled only if
 * its handler said so, in one of two ways:
 *  - polling: task_set_cancellable(ref, true), then check
 *    task_cancel_requested(ref) now and then and, when it is true, stop and
 *    return an error (any error: the task becomes "cancelled");
 *  - a hook (for deferred calls that hold no thread): fn(arg) is called once,
 *    from the thread calling task.cancel, with no store lock held; it must
 *    arrange for the call to finish with an error soon.
 *    task_clear_cancel_hook() returns only once a running hook has returned,
 *    after which the hook is never called: clear it before freeing arg. */
bool task_cancel_requested(const char *task_ref);
void task_set_cancellable(const char *task_ref, bool cancellable);
typedef void (*task_cancel_fn)(void *arg);
void task_set_cancel_hook(const char *task_ref, task_cancel_fn fn, void *arg);
void task_clear_cancel_hook(const char *task_ref);

/* Called by events_setup / events_tick. */
void tasks_setup(const daemon_options *o);
void tasks_tick(void);           /* expire finished tasks */

#endif
