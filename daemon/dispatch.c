/* dispatch: validate a call, run it inline or on the worker pool, encode
 * the XenAPI result struct. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/classes.h"
#include "daemon/dispatch.h"
#include "daemon/persist.h"
#include "daemon/session.h"
#include "daemon/task.h"
#include "rpc/jsonrpc.h"
#include "rpc/xmlrpc.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_model.h"

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

typedef struct job {
    void (*fn)(void *arg);
    void *arg;
    struct job *next;
} job;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    job *head, *tail;
    pthread_t *threads;
    unsigned n;
    bool stopping;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static _Thread_local bool on_worker;

bool dispatch_on_worker(void)
{
    return on_worker;
}

static void *worker_main(void *arg)
{
    (void)arg;
    on_worker = true;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (!pool.head && !pool.stopping)
            pthread_cond_wait(&pool.cond, &pool.lock);
        if (!pool.head)
            break;
        job *j = pool.head;
        pool.head = j->next;
        if (!pool.head)
            pool.tail = NULL;
        pthread_mutex_unlock(&pool.lock);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&pool.lock);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

bool dispatch_start(unsigned workers)
{
    pool.n = workers ? workers : 1;
    pool.stopping = false;
    pool.threads = calloc(pool.n, sizeof(pthread_t));
    if (!pool.threads)
        return false;
    for (unsigned i = 0; i < pool.n; i++)
        if (pthread_create(&pool.threads[i], NULL, worker_main, NULL) != 0)
            return false;
    return true;
}

void dispatch_stop(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.stopping = true;
    pthread_cond_broadcast(&pool.cond);
    pthread_mutex_unlock(&pool.lock);
    for (unsigned i = 0; i < pool.n; i++)
        pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    pool.threads = NULL;
    pool.n = 0;
}

void dispatch_queue_job(void (*fn)(void *arg), void *arg)
{
    job *j = malloc(sizeof(*j));
    if (!j)
        abort();
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&pool.lock);
    if (pool.tail)
        pool.tail->next = j;
    else
        pool.head = j;
    pool.tail = j;
    pthread_cond_signal(&pool.cond);
    pthread_mutex_unlock(&pool.lock);
}

/* ---- calls ---- */

xcall *xcall_new(void)
{
    xcall *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void xcall_free(xcall *c)
{
    if (!c)
        return;
    free(c->method_name);
    xv_free(c->params);
    free(c->response);
    jsonrpc_req_clear(&c->json);
    xv_free(c->result);
    xerr_free(c->err);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

bool xcall_wants_tree(const xcall *c)
{
    return c->codec != XCODEC_XMLRPC || c->opaque_refs;
}

/* xend and XAPI answer system.listMethods over XML-RPC with the bare array
 * (Python's introspection did; XAPI skips its Status struct for it). */
static bool bare_answer(const xcall *c)
{
    return c->codec == XCODEC_XMLRPC && c->m && !c->is_async && strcmp(c->m->name, "system.listMethods") == 0;
}

static void encode_xmlrpc(xbuf *b, const xcall *c, const xv *result, const xerr *err)
{
    if (!err && bare_answer(c)) {
        xmlrpc_encode_response(b, result);
        return;
    }
    xv *st = xv_struct();
    if (err) {
        xv_struct_set(st, "Status", xv_str("Failure"));
        xv *ed = xv_array();
        xv_array_add(ed, xv_str(err->code));
        for (size_t i = 0; i < err->n; i++)
            xv_array_add(ed, xv_str(err->params[i]));
        xv_struct_set(st, "ErrorDescription", ed);
    } else {
        xv_struct_set(st, "Status", xv_str("Success"));
        xv_struct_set(st, "Value", result ? xv_dup(result) : xv_str(""));
    }
    xmlrpc_encode_response(b, st);
    xv_free(st);
}

/* Encode the answer; result (owned by the caller) may be rewritten in place. */
static void encode(xcall *c, xv *result, const xerr *err)
{
    if (!err && result && c->opaque_refs && c->m)
        xtype_export_refs(c->is_async ? &xt_ref_task : c->m->ret, result);
    xbuf b;
    xbuf_init(&b);
    if (c->codec == XCODEC_JSONRPC) {
        if (err) {
            jsonrpc_encode_error(&b, &c->json, err->code, (const char *const *)err->params, err->n);
        } else if (!jsonrpc_encode_result(&b, &c->json, result)) {
            /* a pre-encoded XML value reached the JSON codec: a bug, said so */
            xlog(XLOG_ERROR, "%s: the result has no JSON form", c->method_name);
            xbuf_free(&b);
            xbuf_init(&b);
            const char *msg = "the result has no JSON form";
            jsonrpc_encode_error(&b, &c->json, "INTERNAL_ERROR", &msg, 1);
        }
    } else {
        encode_xmlrpc(&b, c, result, err);
    }
    c->response = xbuf_steal(&b, &c->response_len);
}

char *xcall_encode_fault(int code, const char *msg, size_t *len_r)
{
    xbuf b;
    xbuf_init(&b);
    xmlrpc_encode_fault(&b, code, msg);
    return xbuf_steal(&b, len_r);
}

#define NOT_DURABLE "the call's changes could not be written to disk (see xend's log); they are kept " \
    "in memory and written once the disk allows, but are not safe until then"

static void deliver(void *arg, bool durable)
{
    xcall *c = arg;
    if (!durable) {             /* never answer Success for what a crash could lose */
        xerr *err = NULL;
        xerr_internal(&err, NOT_DURABLE);
        free(c->response);
        encode(c, NULL, err);
        xerr_free(err);
    }
    c->done(c);
}

/* Deliver the answer to the transport (exactly once), once the call's
 * changes are durable: the answer is encoded here, and sent by whichever
 * thread makes the journal durable (this one, or the group commit's leader
 * while this worker goes on to the next call). */
static void respond(xcall *c, xv *result, xerr *err)
{
    encode(c, result, err);
    if (err && strcmp(err->code, "INTERNAL_ERROR") == 0)
        xlog(XLOG_WARNING, "%s: %s", c->method_name, err->n ? err->params[0] : "");
    xv_free(result);
    xerr_free(err);
    persist_call_done(c, deliver, c);
}

void xcall_defer(xcall *c)
{
    pthread_mutex_lock(&c->lock);
    c->deferred = true;
    pthread_mutex_unlock(&c->lock);
}

/* Execute a validated call's handler. */
static void execute(xcall *c, xv **result_r, xerr **err_r)
{
    xv *const *args = c->params->u.arr.items + (c->m->session ? 1 : 0);
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
    task_finish(c->task, c->result, c->err);
    xcall_free(c);           /* the client got its task ref long ago */
}

static void async_durable(void *arg, bool durable)
{
    xcall *c = arg;
    if (!durable) {
        xv_free(c->result);
        c->result = NULL;
        xerr_free(c->err);
        c->err = NULL;
        xerr_internal(&c->err, NOT_DURABLE);
    }
    dispatch_queue_job(async_finish_job, c);     /* off the commit leader */
}

/* The call's answer is known (from its handler or a deferred finish).
 * Nobody hears of it before the call's changes are on disk. */
static void complete(xcall *c, xv *result, xerr *err)
{
    if (c->is_async) {
        c->result = result;
        c->err = err;
        persist_call_done(c, async_durable, c);
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
    xv **args = c->params->u.arr.items + (m->session ? 1 : 0);
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
 * sends 3 parameters, XAPI's own examples 4), and a session handed to
 * system.listMethods (XenAPI.py sends one to every method). */
static const struct { const char *method; size_t extra; bool strings; } surplus_table[] = {
    { "session.login_with_password", 2, true },
    { "system.listMethods", 1, false },
};

static bool surplus_ok(const xmethod *m, const xv *params, size_t expected)
{
    for (size_t i = 0; i < sizeof(surplus_table) / sizeof(surplus_table[0]); i++) {
        if (strcmp(m->name, surplus_table[i].method) != 0)
            continue;
        if (params->u.arr.n > expected + surplus_table[i].extra)
            return false;
        for (size_t k = expected; surplus_table[i].strings && k < params->u.arr.n; k++)
            if (params->u.arr.items[k]->kind != XV_STRING)
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
    if (c->params->u.arr.n > expected && surplus_ok(c->m, c->params, expected))
        drop_surplus(c->params, expected);
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
        memcpy(job_call->session, c->session, sizeof(c->session));
        memcpy(job_call->task, c->task, sizeof(c->task));
        respond(c, xv_str(c->task), NULL);
        dispatch_queue_job(worker_job, job_call);
        return;
    }
    /* quick, in-memory: answer on this thread (reads, and the writes of
     * classes whose hooks touch no files); task.cancel too, so that it
     * never waits in the queue behind the work it is meant to stop */
    if ((c->m->kind != XM_EXPLICIT && (implicit_is_read(c->m->kind) || !slow_writes(c->m->cls))) ||
        (c->m->cls == XC_task && c->m->kind == XM_EXPLICIT))
        run_handler(c);
    else
        dispatch_queue_job(worker_job, c);
    return;
fail:
    respond(c, NULL, err);
}
