/* task: Async.* calls run as tasks (objects of class task). */
#ifndef XEND_TASK_H
#define XEND_TASK_H

#include "daemon/dispatch.h"

/* Create a pending task for an Async call (name_label = the sync method
 * name, session = the caller's); its ref is copied into call->task. */
bool task_create_for_call(xcall *call, xerr **errp);
/* The call behind task_ref finished: record success (result, may be NULL
 * for void) or failure (err).  Neither is consumed. */
void task_finish(const char *task_ref, const xv *result, const xerr *err);
/* Set progress 0..100 of a running task (no-op for ref ""). */
void task_set_progress(const char *task_ref, int percent);
/* True when the task behind a call was asked to cancel. */
bool task_cancel_requested(const char *task_ref);

#endif
