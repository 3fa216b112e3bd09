/* dispatch: validate a call, run it inline or on the worker pool, hand
 * the transport its value or error once the call's changes are durable. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/audit.h"
#include "daemon/classes.h"
#include "daemon/dispatch.h"
#include "daemon/persist.h"
#include "daemon/session.h"
#include "daemon/task.h"
#include "util/log.h"
#include "util/pool.h"
#include "xapi_errors.h"
#include "xapi_model.h"

/* One debug line per call, under the domain "call" (never its arguments). */
XLOG_DOMAIN("call");
#include "xapi_policy.h"

/* ---- method table ---- */

static int cmp_method(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const xmethod *)elem)->name);
}

const xmethod *xmethod_lookup(const char *name)
{
    return bsearch(name, xmethods, xmethods_count, sizeof(xmethod), cmp_method);
}

/* ---- worker pool ---- */

static xpool *workers;

/* On demand, not a fixed set: a thread's malloc cache (glibc's tcache, up
 * to 7 freed blocks of each small size) goes back to the heap only when
 * the thread exits; kept forever, the caches of a fixed pool pinned pages
 * all over the heap that malloc_trim cannot return after a burst
 * (bench/soak.sh, docs/security.md). */
bool dispatch_start(unsigned n)
{
    workers = xpool_new_on_demand("xend-worker", n, 0);
    return workers != NULL;
}

unsigned dispatch_threads(void) { return workers ? xpool_threads(workers) : 0; }

void dispatch_stop(void)
{
    xpool_free(workers);
    workers = NULL;
}

void dispatch_queue_job(void (*fn)(void *arg), void *arg)
{
    if (!workers) {             /* before dispatch_start or after dispatch_stop */
        fn(arg);
        return;
    }
    xpool_submit(workers, fn, arg);
}

/* ---- calls ---- */

xcall *xcall_new(void)
{
    xcall *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    pthread_mutex_init(&c->lock, NULL);
    c->role = -1;
    return c;
}

void xcall_free(xcall *c)
{
    if (!c)
        return;
    free(c->method_name);
    free(c->originator);
    xv_free(c->params);
    xv_free(c->result);
    xerr_free(c->err);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

#define NOT_DURABLE "the call's changes could not be written to disk (see xend's log); they are kept " \
    "in memory and written once the disk allows, but are not safe until then"

/* Never answer Success for what a crash could lose. */
static void not_durable(xv **result, xerr **err)
{
    xv_free(*result);
    *result = NULL;
    xerr_free(*err);
    *err = NULL;
    xerr_internal(err, NOT_DURABLE);
}

void xcall_user(const xcall *c, char *buf, size_t n)
{
    snprintf(buf, n, "%s", c && c->user[0] ? c->user : "-");
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* "call: VM.start user=alice from=10.0.0.1 12.345 ms Failure VM_BAD_POWER_STATE";
 * what: "" for the answer, "task " for an Async call's outcome. */
static void log_call(const xcall *c, const char *what)
{
    if (!c->t0_ns || !xlogd_enabled(XLOG_DEBUG))
        return;
    char user[64];
    xcall_user(c, user, sizeof(user));
    double ms = (double)(now_ns() - c->t0_ns) / 1e6;
    xlogd(XLOG_DEBUG, "%s%s user=%s from=%s %.3f ms %s%s", what, c->method_name ? c->method_name : "?", user,
          c->peer.addr, ms, c->err ? "Failure " : "Success", c->err ? c->err->code : "");
}

static void deliver(void *arg, bool durable)
{
    xcall *c = arg;
    if (!durable)
        not_durable(&c->result, &c->err);
    log_call(c, "");
    if (!c->is_async || c->err)     /* an accepted Async call is audited when its task ends */
        audit_call(c);
    c->done(c);
}

/* Does the call's kind guarantee it changed nothing? */
static bool is_read(const xcall *c)
{
    return c->m && c->m->kind != XM_EXPLICIT && implicit_is_read(c->m->kind);
}

/* Once the call's changes (if any) are durable, run then(c, durable): on
 * this thread, or on whichever thread makes the journal durable.  Only a
 * worker may wait for the disk; the transport's threads hand the writing
 * to persistence's own thread. */
static void when_durable(xcall *c, void (*then)(void *arg, bool durable))
{
    if (is_read(c))
        then(c, true);
    else
        persist_commit(xpool_on_worker(workers), then, c);
}

/* Deliver the answer to the transport (exactly once), once the call's
 * changes are durable.  The detail of an error is for the log only. */
static void respond(xcall *c, xv *result, xerr *err)
{
    if (err && (err->detail || strcmp(err->code, "INTERNAL_ERROR") == 0))
        xlogd(XLOG_WARNING, "%s: %s: %s", c->method_name, err->code,
             err->detail ? err->detail : err->n ? err->params[0] : "");
    if (err) {
        xv_free(result);
        result = NULL;
    }
    c->result = result;
    c->err = err;
    when_durable(c, deliver);
}

void xcall_defer(xcall *c)
{
    pthread_mutex_lock(&c->lock);
    c->deferred = true;
    pthread_mutex_unlock(&c->lock);
}

/* The handler's arguments: the wire's after the session (NULL when there
 * are none: no pointer arithmetic on a NULL array, which UBSan refuses). */
static xv **handler_args(const xcall *c)
{
    xv **items = c->params->u.arr.items;
    return items ? items + (c->m->session ? 1 : 0) : NULL;
}

/* Execute a validated call's handler. */
static void execute(xcall *c, xv **result_r, xerr **err_r)
{
    xv *const *args = handler_args(c);
    xv *result = NULL;
    xerr *err = NULL;
    bool ok;
    if (c->m->kind == XM_EXPLICIT)
        ok = c->m->fn(c, args, &result, &err);
    else
        ok = implicit_call(c, args, &result, &err);
    if (!ok && !err)
        xerr_internal(&err, "%s failed without an error", c->m->name);
    if (!ok) {
        xv_free(result);
        result = NULL;
    }
    *result_r = result;
    *err_r = ok ? NULL : err;
    if (ok)
        xerr_free(err);
}

static void async_finish_job(void *arg)
{
    xcall *c = arg;
    log_call(c, "task ");
    audit_call(c);
    task_finish(c->task, c->result, c->err);
    xcall_free(c);           /* the client got its task ref long ago */
}

static void async_durable(void *arg, bool durable)
{
    xcall *c = arg;
    if (!durable)
        not_durable(&c->result, &c->err);
    dispatch_queue_job(async_finish_job, c);     /* off the commit leader */
}

/* The call's answer is known (from its handler or a deferred finish).
 * Nobody hears of it before the call's changes are on disk. */
static void complete(xcall *c, xv *result, xerr *err)
{
    if (c->is_async) {
        c->result = result;
        c->err = err;
        when_durable(c, async_durable);
        return;
    }
    respond(c, result, err);
}

void xcall_finish(xcall *c, xv *result, xerr *err)
{
    pthread_mutex_lock(&c->lock);
    if (c->in_handler) {     /* finished before its handler returned: it completes */
        c->completed = true;
        c->result = result;
        c->err = err;
        pthread_mutex_unlock(&c->lock);
        return;
    }
    pthread_mutex_unlock(&c->lock);
    complete(c, result, err);
}

static void run_handler(xcall *c)
{
    xv *result;
    xerr *err;
    c->in_handler = true;
    execute(c, &result, &err);
    pthread_mutex_lock(&c->lock);
    c->in_handler = false;
    if (c->deferred && !err) {
        xv_free(result);
        if (!c->completed) { /* xcall_finish answers later, from elsewhere */
            pthread_mutex_unlock(&c->lock);
            return;
        }
        result = c->result;
        err = c->err;
        c->result = NULL;
        c->err = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    complete(c, result, err);
}

static void worker_job(void *arg)
{
    xcall *c = arg;
    if (c->is_async && !task_begin(c->task)) {
        xcall_free(c);       /* cancelled while it waited in the queue */
        return;
    }
    run_handler(c);
}

/* Check the parameters' types and that refs name existing objects. */
static bool check_params(xcall *c, xerr **errp)
{
    const xmethod *m = c->m;
    xv **args = handler_args(c);
    for (int i = 0; i < m->nparams; i++) {
        const xtype *t = m->params[i].type;
        if (!xtype_coerce(t, &args[i], m->params[i].name, errp))
            return false;
        if (t->kind == XT_REF && t->cls >= 0) {
            /* setters may clear a ref field with "" */
            if (args[i]->u.str.len == 0 && m->kind == XM_SETTER)
                continue;
            store_rdlock();
            bool found = store_find(t->cls, args[i]->u.str.s) != NULL;
            store_unlock();
            if (!found)
                return xerr_HANDLE_INVALID(errp, xclasses[t->cls].name, args[i]->u.str.s);
        }
    }
    return true;
}

/* May the class's implicit writes block (run them on a worker)? */
static bool slow_writes(int cls)
{
    const xclass_ops *ops = xclass_get_ops(cls);
    return ops && ops->blocking;
}

/* Trailing parameters XAPI lets a caller add and that xend ignores:
 * login's version and originator (XAPI's datamodel defaults them; os-xenapi
 * sends 3 parameters, XAPI's own examples 4), a session handed to
 * system.listMethods (XenAPI.py sends one to every method), and the `force`
 * flag XAPI added to VM.start and VM.resume (xo-server sends it; xend has no
 * allowed-operations check for it to override).  kind: the type each
 * surplus parameter must have; XV_NIL: any. */
static const struct { const char *method; size_t extra; xv_kind kind; } surplus_table[] = {
    { "session.login_with_password", 2, XV_STRING },
    { "system.listMethods", 1, XV_NIL },
    { "VM.resume", 1, XV_BOOL },
    { "VM.start", 1, XV_BOOL },
};

static bool surplus_ok(const xmethod *m, const xv *params, size_t expected)
{
    for (size_t i = 0; i < sizeof(surplus_table) / sizeof(surplus_table[0]); i++) {
        if (strcmp(m->name, surplus_table[i].method) != 0)
            continue;
        if (params->u.arr.n > expected + surplus_table[i].extra)
            return false;
        for (size_t k = expected; surplus_table[i].kind != XV_NIL && k < params->u.arr.n; k++)
            if (params->u.arr.items[k]->kind != surplus_table[i].kind)
                return false;
        return true;
    }
    return false;
}

static void drop_surplus(xv *params, size_t keep)
{
    while (params->u.arr.n > keep)
        xv_free(params->u.arr.items[--params->u.arr.n]);
}

void xcall_run(xcall *c)
{
    xerr *err = NULL;
    const char *name = c->method_name;
    if (xlogd_enabled(XLOG_DEBUG))
        c->t0_ns = now_ns();
    if (strncmp(name, "Async.", 6) == 0) {
        c->is_async = true;
        name += 6;
    }
    c->m = xmethod_lookup(name);
    if (!c->m || (c->is_async && !c->m->async_ok)) {
        xerr_MESSAGE_METHOD_UNKNOWN(&err, c->method_name);
        goto fail;
    }
    size_t expected = (size_t)c->m->nparams + (c->m->session ? 1 : 0);
    if (c->params->u.arr.n > expected && surplus_ok(c->m, c->params, expected)) {
        /* login's originator groups sessions for their limits (daemon/session.c) */
        if (c->m->cls == XCL_session && c->params->u.arr.n == expected + 2 &&
            !(c->originator = strdup(c->params->u.arr.items[expected + 1]->u.str.s)))
            abort();
        drop_surplus(c->params, expected);
    }
    if (c->params->u.arr.n != expected) {
        char e[16], r[16];
        snprintf(e, sizeof(e), "%zu", expected);
        snprintf(r, sizeof(r), "%zu", c->params->u.arr.n);
        xerr_MESSAGE_PARAMETER_COUNT_MISMATCH(&err, c->method_name, e, r);
        goto fail;
    }
    if (c->m->session) {
        xv *s = c->params->u.arr.items[0];
        const char *ref = s->kind == XV_STRING ? s->u.str.s : "";
        if (!session_check(c, ref, &err))
            goto fail;
        snprintf(c->session, sizeof(c->session), "%s", xref_plain(ref));
        /* the one role check (RBAC): the session's role against the datamodel's */
        if (!xrbac_check(c->m, c->role, &err))
            goto fail;
    }
    if (!check_params(c, &err))
        goto fail;

    if (c->is_async) {
        if (!task_create_for_call(c, &err))
            goto fail;
        /* answer the task ref now; the transport is done with this call */
        xcall *job_call = xcall_new();
        job_call->method_name = c->method_name;
        c->method_name = NULL;
        job_call->params = c->params;
        c->params = NULL;
        job_call->peer = c->peer;
        job_call->m = c->m;
        job_call->is_async = true;
        job_call->t0_ns = c->t0_ns;
        memcpy(job_call->session, c->session, sizeof(c->session));
        memcpy(job_call->user, c->user, sizeof(c->user));
        job_call->role = c->role;
        memcpy(job_call->task, c->task, sizeof(c->task));
        respond(c, xv_str(c->task), NULL);
        dispatch_queue_job(worker_job, job_call);
        return;
    }
    /* quick, in-memory: answer on this thread (reads, and the writes of
     * classes whose hooks touch no files); task.cancel too, so that it
     * never waits in the queue behind the work it is meant to stop */
    if ((c->m->kind != XM_EXPLICIT && (implicit_is_read(c->m->kind) || !slow_writes(c->m->cls))) ||
        (c->m->cls == XCL_task && c->m->kind == XM_EXPLICIT))
        run_handler(c);
    else
        dispatch_queue_job(worker_job, c);
    return;
fail:
    respond(c, NULL, err);
}
