/* dispatch: from a decoded call to a value or an error.
 *
 * The transport (rpc/) creates an xcall for each request, fills method,
 * params and the peer description, and calls xcall_run().  The call
 * completes either before xcall_run() returns or later (it was queued on
 * the worker pool, or a handler deferred it, as event.next does); either
 * way the transport's done() callback fires exactly once, from some thread,
 * once the call's changes are durable, with either call->result (NULL for
 * a void result) or call->err set.  Encoding them is rpc/'s business.
 */
#ifndef XEND_DISPATCH_H
#define XEND_DISPATCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/xerr.h"
#include "daemon/xtype.h"
#include "util/xv.h"

typedef enum xmsg_kind {
    XM_GETTER, XM_SETTER, XM_MAP_ADD, XM_MAP_REMOVE, XM_SET_ADD, XM_SET_REMOVE,
    XM_GET_RECORD, XM_GET_ALL, XM_GET_ALL_RECORDS, XM_GET_BY_UUID, XM_GET_BY_NAME_LABEL,
    XM_CONSTRUCTOR, XM_DESTRUCTOR, XM_EXPLICIT,
} xmsg_kind;

typedef struct xparam {
    const char *name;
    const xtype *type;
} xparam;

typedef struct xcall xcall;
typedef bool (*xexplicit_fn)(xcall *call, xv *const *args, xv **result_r, xerr **errp);

typedef struct xmethod {
    const char *name;           /* wire name without "Async.": "VM.start" */
    int cls;
    const char *msg;            /* "start" */
    xmsg_kind kind;
    int field;                  /* implicit field messages: the field index, else -1 */
    bool session;               /* first wire parameter is the session ref */
    bool async_ok;              /* an Async.<name> form exists */
    int nparams;                /* excluding the session */
    const xparam *params;
    const xtype *ret;
    xexplicit_fn fn;            /* XM_EXPLICIT only */
    /* policy, from the datamodel */
    unsigned char role;         /* least privileged xrole allowed (xapi_policy.h) */
    const char *perm;           /* XAPI permission name: the wire name in lower case */
    bool read_only;             /* changes nothing */
    bool blocking;              /* may wait on something outside the daemon (events) */
    unsigned secret;            /* bit i: wire parameter i is never logged */
} xmethod;

extern const xmethod xmethods[];        /* sorted by name (generated) */
extern const size_t xmethods_count;
const xmethod *xmethod_lookup(const char *name);

/* Who is calling, from where. */
typedef struct xpeer {
    char addr[64];              /* "127.0.0.1", "::1", "unix" */
    bool local;                 /* Unix socket */
    bool auth_none;             /* listener authenticates nobody: any login succeeds */
    bool cred;                  /* Unix socket: uid/gid are the peer's (SO_PEERCRED) */
    unsigned uid, gid;
    char cert_user[64];         /* HTTPS with client-ca=: the common name of the client's
                                   verified certificate (the account it logs in as); else "" */
} xpeer;

struct xcall {
    /* filled by the transport */
    char *method_name;          /* as sent (may start with "Async.") */
    xv *params;                 /* XV_ARRAY, owned by the call */
    xpeer peer;
    bool want_tree;             /* answer with trees, no pre-encoded XML values
                                   (JSON-RPC, or refs the transport rewrites) */
    void (*done)(xcall *call);  /* fires once; result or err is set */
    void *transport;            /* transport's own pointer */

    /* filled by dispatch */
    const xmethod *m;
    bool is_async;
    char session[40];           /* validated session ref ("" if none) */
    int role;                   /* the session's xrole (set by session_check), -1 if none */
    char *originator;           /* session.login_with_password's 4th parameter (malloc'd), or NULL */
    char user[64];              /* the session's user, for the log (set by session_check) */
    int64_t t0_ns;              /* when it arrived (CLOCK_MONOTONIC), 0: not timed */
    xv *result;                 /* the answer when done() fires (owned) */
    xerr *err;                  /* or the error (owned); result is then NULL */

    /* completion state, private to dispatch */
    pthread_mutex_t lock;
    bool deferred;
    bool in_handler;
    bool completed;
    char task[40];              /* Async: the task running this call */
    struct xcall *next_queued;
    void *wait_priv;            /* for deferring handlers (event.next) */
};

xcall *xcall_new(void);
void xcall_free(xcall *call);       /* after done() fired */

/* Run the call: validate, then answer inline or queue it. */
void xcall_run(xcall *call);

/* For handlers that answer later (event.next, task waits): call
 * xcall_defer(call) and return true; later call xcall_finish() exactly once
 * from any thread with either a result (owned) or an error (owned). */
void xcall_defer(xcall *call);
void xcall_finish(xcall *call, xv *result, xerr *err);

/* The calling session's user name ("-" without a session; c may be NULL),
 * for the log. */
void xcall_user(const xcall *c, char *buf, size_t n);

/* The daemon's worker pool (util/pool.h), for calls that may block: up
 * to `workers` threads, started as calls come and gone after XPOOL_IDLE_MS
 * without one.  dispatch_threads: how many it holds now. */
bool dispatch_start(unsigned workers);
void dispatch_stop(void);
unsigned dispatch_threads(void);

/* Run fn(arg) on the worker pool (used by Async tasks, backends' events and
 * persistence's group commit); with no pool running, here and now. */
void dispatch_queue_job(void (*fn)(void *arg), void *arg);

#endif
