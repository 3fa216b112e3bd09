/* task: Async calls as task objects (see task.h, docs/tasks.md). */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/classes.h"
#include "daemon/session.h"
#include "daemon/store.h"
#include "daemon/task.h"
#include "util/xmlrpc.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

/* Runtime state of a task (o->priv), guarded by the store lock. */
typedef struct task_priv {
    bool started;               /* a worker took it (task_begin) */
    bool cancellable;           /* its handler polls task_cancel_requested */
    bool hooked;                /* its handler registered a cancel hook */
    bool cancel_requested;
    int64_t finished;           /* unix time; 0 while pending/cancelling */
    uint64_t finish_seq;        /* order of finishing (for max-finished-tasks) */
    int rtype;                  /* class of a ref result, or -1 */
} task_priv;

/* Cancel hooks live outside the store: they are called without its lock. */
typedef struct hook {
    char ref[XREF_LEN];
    task_cancel_fn fn;
    void *arg;
    struct hook *next;
} hook;

static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static hook *hooks;
static unsigned expiry = 3600;          /* seconds; 0: never */
static size_t max_finished = 10000;     /* finished tasks kept at most */
static size_t nfinished;                /* finished tasks alive (atomic: freed anywhere) */
static uint64_t finish_seq;             /* under the store write lock */
static unsigned test_delay_ms;          /* XEND_TEST_TASK_DELAY_MS (tests only) */

static bool is_status(const xobj *t, const char *s) { return strcmp(xobj_str(t, XF_task_status), s) == 0; }

static bool is_finished(const xobj *t)
{
    return !is_status(t, "pending") && !is_status(t, "cancelling");
}

/* allowed_operations follows what task.cancel would do now; true if changed
 * (the caller reports the change). */
static bool refresh_ops(xobj *t)
{
    task_priv *p = t->priv;
    bool can = is_status(t, "pending") && (!p->started || p->cancellable || p->hooked);
    xv *cur = t->f[XF_task_allowed_operations];
    if ((cur->u.arr.n > 0) == can)
        return false;
    xv *ops = xv_array();
    if (can)
        xv_array_add(ops, xv_str("Cancel"));
    xv_free(cur);
    t->f[XF_task_allowed_operations] = ops;
    return true;
}

static void priv_free(void *priv)
{
    task_priv *p = priv;
    if (p->finished)
        __atomic_sub_fetch(&nfinished, 1, __ATOMIC_RELAXED);
    free(p);
}

/* Past max_finished, the task that finished first goes (store write lock held). */
static void cap_finished(void)
{
    while (__atomic_load_n(&nfinished, __ATOMIC_RELAXED) > max_finished) {
        xobj *oldest = NULL;
        for (xobj *t = store_first(XCL_task); t; t = store_next(t)) {
            task_priv *p = t->priv;
            if (p->finished && (!oldest || p->finish_seq < ((task_priv *)oldest->priv)->finish_seq))
                oldest = t;
        }
        if (!oldest)
            return;
        store_remove(oldest);
    }
}

static void put(xobj *t, int field, xv *v)
{
    xv_free(t->f[field]);
    t->f[field] = v;
}

/* Final state, fields changed in place and reported as one change. */
static void finish_fields(xobj *t, const char *status, char *result, xv *error_info)
{
    task_priv *p = t->priv;
    p->finished = time(NULL);
    p->finish_seq = ++finish_seq;
    __atomic_add_fetch(&nfinished, 1, __ATOMIC_RELAXED);
    put(t, XF_task_status, xv_str(status));
    put(t, XF_task_progress, xv_int(100));
    put(t, XF_task_finished, xv_datetime_t(p->finished));
    if (result)
        put(t, XF_task_result, xv_str_take(result));
    if (error_info)
        put(t, XF_task_error_info, error_info);
    if (strcmp(status, "success") == 0 && p->rtype >= 0)
        put(t, XF_task_type, xv_str(xclasses[p->rtype].name));
    refresh_ops(t);
    xobj_touch(t, -1);
    cap_finished();
}

static xv *cancelled_info(const xobj *t)
{
    xv *info = xv_array();
    xv_array_add(info, xv_str("TASK_CANCELLED"));
    xv_array_add(info, xv_str(t->ref));
    return info;
}

/* The result value as the task's result string: strings and refs as they
 * are, scalars in their wire spelling, anything else as its XML-RPC
 * <value> (as XAPI does). */
static char *result_string(const xv *r)
{
    char *s = NULL;
    if (!r)
        return strdup("");
    switch (r->kind) {
    case XV_STRING:
    case XV_DATETIME:
        return strdup(r->u.str.s);
    case XV_INT:
        if (asprintf(&s, "%" PRId64, r->u.i) < 0)
            abort();
        return s;
    case XV_BOOL:
        return strdup(r->u.b ? "true" : "false");
    case XV_DOUBLE:
        if (asprintf(&s, "%.17g", r->u.d) < 0)
            abort();
        return s;
    default: {
        xbuf b;
        xbuf_init(&b);
        xmlrpc_encode_value(&b, r);
        return xbuf_steal(&b, NULL);
    }
    }
}

static bool session_alive(const char *ref)
{
    return store_find(XCL_session, ref) != NULL;
}

bool task_create_for_call(xcall *call, xerr **errp)
{
    (void)errp;
    xobj *t = xobj_new(XCL_task, NULL);
    task_priv *p = calloc(1, sizeof(*p));
    if (!p)
        abort();
    p->rtype = call->m->ret && call->m->ret->kind == XT_REF ? call->m->ret->cls : -1;
    t->priv = p;
    t->priv_free = priv_free;
    put(t, XF_task_name_label, xv_str(call->m->name));
    put(t, XF_task_session, xv_str(call->session));
    put(t, XF_task_status, xv_str("pending"));
    put(t, XF_task_created, xv_datetime_t(time(NULL)));
    refresh_ops(t);
    snprintf(call->task, sizeof(call->task), "%s", t->ref);
    store_wrlock();
    store_insert(t);
    store_unlock();
    return true;
}

bool task_begin(const char *task_ref)
{
    store_wrlock();
    xobj *t = store_find(XCL_task, task_ref);
    bool run = t && is_status(t, "pending");
    if (run) {
        task_priv *p = t->priv;
        p->started = true;
        if (refresh_ops(t))
            xobj_touch(t, XF_task_allowed_operations);
    }
    store_unlock();
    if (run && test_delay_ms) {
        /* tests only: a long, uncancellable piece of work before the call */
        struct timespec ts = { .tv_sec = test_delay_ms / 1000, .tv_nsec = (long)(test_delay_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
    return run;
}

void task_finish(const char *task_ref, const xv *result, const xerr *err)
{
    store_wrlock();
    xobj *t = store_find(XCL_task, task_ref);
    if (t && !is_finished(t)) {
        task_priv *p = t->priv;
        if (err && p->cancel_requested) {
            finish_fields(t, "cancelled", NULL, cancelled_info(t));
        } else if (err) {
            xv *info = xv_array();
            xv_array_add(info, xv_str(err->code));
            for (size_t i = 0; i < err->n; i++)
                xv_array_add(info, xv_str(err->params[i]));
            finish_fields(t, "failure", NULL, info);
        } else {
            finish_fields(t, "success", result_string(result), NULL);
        }
        /* nobody can read the task of a session that has ended */
        if (!session_alive(xobj_str(t, XF_task_session)))
            store_remove(t);
    }
    store_unlock();
}

void task_set_progress(const char *task_ref, int percent)
{
    if (!task_ref || !*task_ref)
        return;
    if (percent < 0)
        percent = 0;
    if (percent > 100)
        percent = 100;
    store_wrlock();
    xobj *t = store_find(XCL_task, task_ref);
    if (t && !is_finished(t))
        xobj_set_int(t, XF_task_progress, percent);
    store_unlock();
}

bool task_cancel_requested(const char *task_ref)
{
    if (!task_ref || !*task_ref)
        return false;
    store_rdlock();
    xobj *t = store_find(XCL_task, task_ref);
    bool r = t && ((task_priv *)t->priv)->cancel_requested;
    store_unlock();
    return r;
}

static void set_flag(const char *task_ref, bool hooked, bool on)
{
    store_wrlock();
    xobj *t = store_find(XCL_task, task_ref);
    if (t) {
        task_priv *p = t->priv;
        if (hooked)
            p->hooked = on;
        else
            p->cancellable = on;
        if (refresh_ops(t))
            xobj_touch(t, XF_task_allowed_operations);
    }
    store_unlock();
}

void task_set_cancellable(const char *task_ref, bool cancellable)
{
    if (task_ref && *task_ref)
        set_flag(task_ref, false, cancellable);
}

void task_set_cancel_hook(const char *task_ref, task_cancel_fn fn, void *arg)
{
    if (!task_ref || !*task_ref)
        return;
    hook *h = calloc(1, sizeof(*h));
    if (!h)
        abort();
    snprintf(h->ref, sizeof(h->ref), "%s", task_ref);
    h->fn = fn;
    h->arg = arg;
    pthread_mutex_lock(&hook_lock);
    h->next = hooks;
    hooks = h;
    pthread_mutex_unlock(&hook_lock);
    set_flag(task_ref, true, true);
}

/* Unlink the hook of task_ref (hook_lock held). */
static hook *take_hook(const char *task_ref)
{
    for (hook **pp = &hooks; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->ref, task_ref) == 0) {
            hook *h = *pp;
            *pp = h->next;
            return h;
        }
    return NULL;
}

void task_clear_cancel_hook(const char *task_ref)
{
    if (!task_ref || !*task_ref)
        return;
    pthread_mutex_lock(&hook_lock);     /* waits for a hook running in task.cancel */
    hook *h = take_hook(task_ref);
    pthread_mutex_unlock(&hook_lock);
    if (!h)
        return;
    free(h);
    set_flag(task_ref, true, false);
}

/* ---- class behaviour ---- */

/* A task is visible to the session that made it only. */
static bool task_read(xcall *call, const xobj *o, xerr **errp)
{
    if (strcmp(call->session, xobj_str(o, XF_task_session)) == 0)
        return true;
    return xerr_PERMISSION_DENIED(errp);
}

/* task.destroy: only finished tasks. */
static bool task_destroy(xcall *call, xobj *o, xerr **errp)
{
    (void)call;
    if (!is_finished(o))
        return xerr_OPERATION_NOT_ALLOWED(errp);
    return true;
}

const xclass_ops task_ops = { .read = task_read, .destroy = task_destroy };

bool xh_task_cancel(xcall *call, const char *task, xerr **errp)
{
    bool run_hook = false;
    store_wrlock();
    xobj *t = store_find(XCL_task, task);
    if (!t) {
        store_unlock();
        return xerr_HANDLE_INVALID(errp, "task", task);
    }
    if (!task_read(call, t, errp)) {
        store_unlock();
        return false;
    }
    task_priv *p = t->priv;
    if (is_status(t, "pending") && !p->started) {
        /* still queued: it will never run (task_begin says so) */
        p->cancel_requested = true;
        finish_fields(t, "cancelled", NULL, cancelled_info(t));
    } else if (is_status(t, "pending") && (p->cancellable || p->hooked)) {
        p->cancel_requested = true;
        put(t, XF_task_status, xv_str("cancelling"));
        refresh_ops(t);
        xobj_touch(t, -1);
        run_hook = p->hooked;
    } else if (!is_status(t, "cancelling")) {
        store_unlock();
        return xerr_OPERATION_NOT_ALLOWED(errp);
    }
    store_unlock();
    if (run_hook) {
        pthread_mutex_lock(&hook_lock);
        hook *h = take_hook(task);
        if (h)
            h->fn(h->arg);          /* under hook_lock: see task_clear_cancel_hook */
        pthread_mutex_unlock(&hook_lock);
        free(h);
    }
    return true;
}

/* ---- expiry, sessions ---- */

/* Finished tasks of an ended session go now; running ones when they finish. */
static void tasks_session_ended(const char *ref)
{
    store_wrlock();
    xobj *t = store_first(XCL_task);
    while (t) {
        xobj *next = store_next(t);
        if (is_finished(t) && strcmp(xobj_str(t, XF_task_session), ref) == 0)
            store_remove(t);
        t = next;
    }
    store_unlock();
}

void tasks_tick(void)
{
    if (!expiry)
        return;
    int64_t now = time(NULL);
    size_t n = 0;
    store_wrlock();
    xobj *t = store_first(XCL_task);
    while (t) {
        xobj *next = store_next(t);
        task_priv *p = t->priv;
        if (p->finished && now - p->finished >= (int64_t)expiry) {
            store_remove(t);
            n++;
        }
        t = next;
    }
    store_unlock();
    if (n)
        xlog(XLOG_DEBUG, "%zu finished task(s) expired", n);
}

void tasks_setup(const daemon_options *o)
{
    expiry = o->task_expiry;
    if (o->max_finished_tasks)
        max_finished = o->max_finished_tasks;
    const char *d = getenv("XEND_TEST_TASK_DELAY_MS");
    if (d && *d) {
        test_delay_ms = (unsigned)strtoul(d, NULL, 10);
        xlog(XLOG_WARNING, "XEND_TEST_TASK_DELAY_MS=%u: every Async call waits that long first (tests only)",
             test_delay_ms);
    }
    session_on_end(tasks_session_ended);
}
