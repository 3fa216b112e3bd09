/* server: libmicrohttpd listeners feeding the dispatcher. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <grp.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/dispatch.h"
#include "daemon/metrics.h"
#include "rpc/jsonrpc.h"
#include "rpc/reply.h"
#include "rpc/server.h"
#include "rpc/confplan.h"
#include "daemon/api/console.h"
#include "rpc/static.h"
#include "rpc/tls.h"
#include "util/log.h"
#include "util/xmlrpc.h"

typedef struct listener {
    const xend_listener *cfg;
    const xend_config *xcfg;
    struct MHD_Daemon *mhd;
    int fd;
    bool quiesced;              /* MHD gave the listening socket back */
    char *key_pem, *cert_pem;
    char *ca_pem;               /* client-ca=: whom client certificates are verified against */
    char name[160];
    struct listener *next;      /* in rpc_server.draining */
} listener;

struct rpc_server {
    listener **ls;              /* serving */
    size_t n;
    listener *draining;         /* no longer accepting; stopped once idle */
};

/* Per-request state. */
typedef struct req {
    pthread_mutex_t lock;
    struct MHD_Connection *conn;
    listener *l;
    char *body;
    size_t len, cap;
    bool too_large;
    bool refused;               /* over the body budget: answered 503, the rest is dropped */
    xcodec codec;               /* from the path: /jsonrpc is JSON-RPC */
    bool confplan;              /* POST /config/plan (rpc/confplan.h), answered in JSON */
    bool opaque_refs;
    jsonrpc_req json;           /* JSON-RPC: the envelope to answer */
    bool suspended;
    bool ready;
    xcall *call;
    struct timespec t0;         /* the whole request was read */
} req;

/* ---- bounded cost for strangers (docs/security.md) ---- */

/* Bytes held by request bodies being received, across every listener: a
 * body is unauthenticated until its call's session (or login) is checked,
 * and its buffer is freed once the body is decoded. */
static size_t body_bytes;               /* __atomic */
/* Open TCP connections, across every TCP listener: they may use all the
 * descriptors but fd-reserve, which stay for the Unix socket, the journal,
 * PAM and the rest. */
static unsigned tcp_open;               /* __atomic */

static bool body_charge(const xend_config *xcfg, size_t n)
{
    size_t now = __atomic_add_fetch(&body_bytes, n, __ATOMIC_RELAXED);
    if (now <= xcfg->body_budget)
        return true;
    __atomic_sub_fetch(&body_bytes, n, __ATOMIC_RELAXED);
    return false;
}

static void body_release(req *r)
{
    if (r->cap)
        __atomic_sub_fetch(&body_bytes, r->cap, __ATOMIC_RELAXED);
    free(r->body);
    r->body = NULL;
    r->len = r->cap = 0;
}

static unsigned tcp_budget(const xend_config *xcfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 1000000;
    if (rl.rlim_cur <= (rlim_t)xcfg->fd_reserve + 16)
        return 16;
    return rl.rlim_cur - xcfg->fd_reserve > 1000000 ? 1000000 : (unsigned)(rl.rlim_cur - xcfg->fd_reserve);
}

/* A large answer (get_all_records of 10,000 VMs is 35 MB): let the kernel
 * take up to 4 MiB of it per write (capped by net.core.wmem_max), so the
 * transfer needs fewer wake-ups of this thread and of the client. */
#define LARGE_ANSWER ((size_t)1 << 20)

#define BUSY_MSG "the server holds as many request bodies as it may; try again\n"

static void widen_send_buffer(struct MHD_Connection *conn, size_t len)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    int want = len < ((size_t)4 << 20) ? (int)len : 4 << 20;
    int have = 0;
    socklen_t sl = sizeof(have);
    if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &have, &sl) != 0 || have >= want)
        return;
    (void)setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
}

static enum MHD_Result send_body(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
                                  xcodec codec)
{
    if (len >= LARGE_ANSWER)
        widen_send_buffer(conn, len);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    if (codec == XCODEC_JSONRPC) {
        /* exactly this: Xen Orchestra's client falls back to XML-RPC on
         * any other string, a charset parameter included */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
        MHD_add_response_header(resp, "Access-Control-Allow-Headers", "X-Requested-With");
    } else {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/xml");
    }
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result send_fault(struct MHD_Connection *conn, unsigned status, int code, const char *msg)
{
    size_t len;
    char *body = rpc_fault_encode(code, msg, &len);
    return send_body(conn, status, body, len, XCODEC_XMLRPC);
}

static enum MHD_Result send_json_invalid(struct MHD_Connection *conn, unsigned status, const jsonrpc_req *jr,
                                         int code, const char *msg)
{
    xbuf b;
    xbuf_init(&b);
    jsonrpc_encode_invalid(&b, jr, code, msg);
    size_t len;
    char *body = xbuf_steal(&b, &len);
    return send_body(conn, status, body, len, XCODEC_JSONRPC);
}

/* A CORS pre-flight (OPTIONS), answered as XAPI does: any origin, the
 * headers asked for, an empty body. */
static enum MHD_Result send_preflight(struct MHD_Connection *conn)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    const char *asked = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Access-Control-Request-Headers");
    char allow[512];
    if (asked && *asked && strlen(asked) < sizeof(allow) - 20 && !strpbrk(asked, "\r\n"))
        snprintf(allow, sizeof(allow), "%s, X-Requested-With", asked);
    else
        snprintf(allow, sizeof(allow), "X-Requested-With");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers", allow);
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", "POST, OPTIONS");
    enum MHD_Result r = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return r;
}

/* JSON-RPC is chosen by the path alone, as XAPI does (longest prefix:
 * /jsonrpc and below it); every other POST path is XML-RPC. */
static bool is_jsonrpc_path(const char *url)
{
    return strcmp(url, "/jsonrpc") == 0 || strncmp(url, "/jsonrpc/", 9) == 0;
}

/* Paths whose callers get XAPI's OpaqueRef refs: JSON-RPC, and /xmlrpc,
 * where Xen Orchestra's XML-RPC transport posts (docs/jsonrpc.md). */
static bool wants_opaque_refs(const char *url)
{
    return is_jsonrpc_path(url) || strcmp(url, "/xmlrpc") == 0;
}

/* Encode a finished call's answer for the connection, and free the call. */
static enum MHD_Result send_answer(struct MHD_Connection *conn, const req *r, xcall *call)
{
    rpc_form f = { .codec = r->codec, .opaque_refs = r->opaque_refs, .json = &r->json };
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    metrics_note_call(call->m, call->err == NULL,
                      (double)(t1.tv_sec - r->t0.tv_sec) + (double)(t1.tv_nsec - r->t0.tv_nsec) / 1e9);
    size_t len;
    char *body = rpc_reply_encode(&f, call, &len);
    xcall_free(call);
    return send_body(conn, MHD_HTTP_OK, body, len, r->codec);
}

/* The dispatcher finished a call: wake the connection if it sleeps. */
static void call_done(xcall *call)
{
    req *r = call->transport;
    struct MHD_Connection *conn = r->conn;
    pthread_mutex_lock(&r->lock);
    r->ready = true;
    bool resume = r->suspended;
    r->suspended = false;
    pthread_mutex_unlock(&r->lock);
    /* once resumed, MHD may answer and free r at once: touch r no more */
    if (resume)
        MHD_resume_connection(conn);
}

/* A connection's client certificate, once verified (client-ca= listeners). */
typedef struct cert_cache {
    bool checked;
    char user[sizeof(((xpeer *)0)->cert_user)];
} cert_cache;

static void peer_of(struct MHD_Connection *conn, listener *l, xpeer *p)
{
    p->auth_none = l->cfg->auth_none;
    p->cert_user[0] = '\0';
    if (l->cfg->kind == XEND_LISTEN_HTTPS && l->ca_pem) {
        /* client-ca=: a verified client certificate names the account; the
         * certificate is the TLS session's, so it is verified once per
         * connection (on_connection made the place; its requests come one
         * at a time) */
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        cert_cache *cc = ci ? ci->socket_context : NULL;
        if (cc && !cc->checked) {
            const union MHD_ConnectionInfo *ti =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
            const char *why = NULL;
            if (ti && !tls_peer_name(ti->tls_session, cc->user, sizeof(cc->user), &why) && why)
                xlog(XLOG_DEBUG, "%s: a client certificate not used: %s", l->name, why);
            cc->checked = true;
        }
        if (cc)
            snprintf(p->cert_user, sizeof(p->cert_user), "%s", cc->user);
    }
    if (l->cfg->kind == XEND_LISTEN_UNIX) {
        p->local = true;
        snprintf(p->addr, sizeof(p->addr), "unix");
        /* who is calling: the kernel's word, for the role (root is pool-admin) */
        const union MHD_ConnectionInfo *fi = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred uc;
        socklen_t ul = sizeof(uc);
        p->cred = fi && getsockopt(fi->connect_fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0 && ul == sizeof(uc);
        p->uid = p->cred ? (unsigned)uc.uid : (unsigned)-1;
        p->gid = p->cred ? (unsigned)uc.gid : (unsigned)-1;
        return;
    }
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    p->addr[0] = '\0';
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, p->addr, sizeof(p->addr));
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, p->addr, sizeof(p->addr));
}

/* Is the client of conn on this machine (the Unix socket, 127.0.0.0/8, ::1)? */
static bool client_is_local(struct MHD_Connection *conn, const listener *l)
{
    if (l->cfg->kind == XEND_LISTEN_UNIX)
        return true;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa && sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
                                 const char *type)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result send_message(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    char *body = strdup(msg);
    if (!body)
        return MHD_NO;
    return send_text(conn, status, body, strlen(body), "text/plain; charset=utf-8");
}

/* GET /metrics, as xend.conf's "metrics" allows: off -> 404, loopback ->
 * 403 for other clients. */
static enum MHD_Result serve_metrics(struct MHD_Connection *conn, const listener *l)
{
    const char *access = l->xcfg->metrics ? l->xcfg->metrics : "loopback";
    if (strcmp(access, "off") == 0)
        return send_message(conn, MHD_HTTP_NOT_FOUND, "metrics are off (xend.conf: metrics)\n");
    if (strcmp(access, "any") != 0 && !client_is_local(conn, l))
        return send_message(conn, MHD_HTTP_FORBIDDEN,
                            "metrics are served to local clients only (xend.conf: metrics = any)\n");
    size_t len;
    char *body = metrics_render(&len);
    return send_text(conn, MHD_HTTP_OK, body, len, METRICS_CONTENT_TYPE);
}

/* Before the body is read: take its Content-Length's worth of the body
 * budget (every body in flight together holds at most body-budget bytes),
 * or refuse it with 503 (and close) while nothing of it is held. */
static enum MHD_Result reserve_body(struct MHD_Connection *conn, const listener *l, req *r)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end;
    errno = 0;
    unsigned long long n = cl ? strtoull(cl, &end, 10) : 0;
    if (!cl || errno || end == cl || *end || n == 0 || n > l->xcfg->max_request_bytes)
        return MHD_YES;         /* grown as it comes; too large: drained and refused with 413 */
    if (body_charge(l->xcfg, (size_t)n + 1)) {
        if (!(r->body = malloc((size_t)n + 1)))
            abort();
        r->cap = (size_t)n + 1;
        return MHD_YES;
    }
    r->refused = true;
    xlog(XLOG_DEBUG, "%s: request body of %llu bytes refused: the bodies in flight hold the budget of %zu bytes",
         l->name, n, l->xcfg->body_budget);
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(BUSY_MSG), (void *)BUSY_MSG,
                                                                MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    enum MHD_Result res = MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE, resp);
    MHD_destroy_response(resp);
    return res;
}

/* GET /console/log?vm=REF: the tail of a VM's console log, as text, for a
 * session given as ?session_id= (as XAPI's HTTP handlers take it) or in an
 * X-Session header; a XenAPI error comes as JSON {"error": [code, params...]}. */
#define CONSOLE_LOG_TAIL ((size_t)64 << 10)

static enum MHD_Result send_console_log(struct MHD_Connection *conn)
{
    const char *session = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "session_id");
    if (!session)
        session = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Session");
    char *text = NULL;
    size_t len = 0;
    xerr *err = NULL;
    if (console_log_tail(session, MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "vm"),
                         CONSOLE_LOG_TAIL, &text, &len, &err)) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(text);
            return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        enum MHD_Result r = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return r;
    }
    xv *e = xv_array();
    xv_array_add(e, xv_str(err->code));
    for (size_t i = 0; i < err->n; i++)
        xv_array_add(e, xv_str(err->params[i]));
    unsigned status = strcmp(err->code, "HANDLE_INVALID") == 0 ? MHD_HTTP_NOT_FOUND : MHD_HTTP_FORBIDDEN;
    xerr_free(err);
    xv *top = xv_struct();
    xv_struct_append(top, "error", e);
    xbuf b;
    xbuf_init(&b);
    jsonrpc_encode_value(&b, top);
    xv_free(top);
    char *body = xbuf_steal(&b, &len);
    return send_body(conn, status, body, len, XCODEC_JSONRPC);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    listener *l = cls;
    req *r = *con_cls;
    (void)version;
    if (!r) {
        if (strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0)
            return send_preflight(conn);
        if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 && strcmp(url, "/metrics") == 0)
            return serve_metrics(conn, l);
        if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 && strcmp(url, "/console/log") == 0)
            return send_console_log(conn);
        if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
            return rpc_static_serve(conn, l->xcfg->web_dir, url);
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
            size_t len;
            char *body = rpc_fault_encode(-32300, "XML-RPC requests are POSTed", &len);
            struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/xml");
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST");
            enum MHD_Result res = MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
            MHD_destroy_response(resp);
            return res;
        }
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        pthread_mutex_init(&r->lock, NULL);
        r->conn = conn;
        r->l = l;
        r->confplan = strcmp(url, "/config/plan") == 0;
        r->codec = is_jsonrpc_path(url) || r->confplan ? XCODEC_JSONRPC : XCODEC_XMLRPC;
        r->opaque_refs = wants_opaque_refs(url);
        *con_cls = r;
        return reserve_body(conn, l, r);
    }
    if (r->call) {          /* resumed: the answer is ready */
        xcall *call = r->call;
        r->call = NULL;
        return send_answer(conn, r, call);
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->refused)
            return MHD_YES;
        if (r->too_large || r->len + n > l->xcfg->max_request_bytes) {
            body_release(r);
            r->too_large = true;
            return MHD_YES;  /* drain, answer once the body is complete */
        }
        if (r->len + n + 1 > r->cap) {
            size_t cap = r->cap ? r->cap : 1024;
            while (cap < r->len + n + 1)
                cap *= 2;
            if (cap > l->xcfg->max_request_bytes + 1)
                cap = l->xcfg->max_request_bytes + 1;
            if (!body_charge(l->xcfg, cap - r->cap)) {
                /* a body without Content-Length outgrew the budget: close */
                xlog(XLOG_DEBUG, "%s: request body refused: the bodies in flight hold the budget of %zu bytes",
                     l->name, l->xcfg->body_budget);
                body_release(r);
                return MHD_NO;
            }
            char *nb = realloc(r->body, cap);
            if (!nb)
                abort();
            r->body = nb;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        r->body[r->len] = '\0';
        return MHD_YES;
    }
    /* the whole body is here */
    if (r->refused)
        return MHD_YES;     /* answered already */
    if (r->too_large) {
        char msg[96];
        snprintf(msg, sizeof(msg), "request body exceeds %zu bytes", l->xcfg->max_request_bytes);
        if (r->codec == XCODEC_JSONRPC)
            return send_json_invalid(conn, 413, NULL, JSONRPC_INVALID_REQUEST, msg);
        return send_fault(conn, 413, -32600, msg);
    }
    if (r->confplan) {
        unsigned status;
        size_t len;
        char *body = rpc_confplan(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Session"),
                                  MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "name"),
                                  r->body ? r->body : "", r->len, &status, &len);
        return send_body(conn, status, body, len, XCODEC_JSONRPC);
    }
    /* no real request has more than a few thousand elements: bound the tree */
    xmlrpc_limits lim = { .max_bytes = l->xcfg->max_request_bytes, .max_depth = l->xcfg->max_xml_depth,
                          .max_nodes = 200000 };
    char *name = NULL, *why = NULL;
    xv *params = NULL;
    jsonrpc_req jreq = { 0 };
    if (r->codec == XCODEC_JSONRPC) {
        if (!jsonrpc_parse_call(r->body ? r->body : "", r->len, &lim, &jreq, &name, &params, &why)) {
            enum MHD_Result res = send_json_invalid(conn, MHD_HTTP_OK, &jreq,
                                                    jreq.version ? JSONRPC_INVALID_REQUEST : JSONRPC_PARSE_ERROR,
                                                    why ? why : "malformed request");
            jsonrpc_req_clear(&jreq);
            free(why);
            return res;
        }
    } else if (!xmlrpc_parse_call(r->body ? r->body : "", r->len, &lim, &name, &params, &why)) {
        enum MHD_Result res = send_fault(conn, MHD_HTTP_OK, -32700, why ? why : "malformed request");
        free(why);
        return res;
    }
    body_release(r);
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    xcall *call = xcall_new();
    call->method_name = name;
    call->params = params;
    r->json = jreq;
    call->want_tree = r->codec != XCODEC_XMLRPC || r->opaque_refs;
    call->done = call_done;
    call->transport = r;
    peer_of(conn, l, &call->peer);
    r->call = call;
    xcall_run(call);
    pthread_mutex_lock(&r->lock);
    if (r->ready) {          /* answered inline */
        pthread_mutex_unlock(&r->lock);
        r->call = NULL;
        return send_answer(conn, r, call);
    }
    r->suspended = true;
    MHD_suspend_connection(conn);
    pthread_mutex_unlock(&r->lock);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    req *r = *con_cls;
    if (!r)
        return;
    /* a call still in flight keeps its own copy of nothing from r: it is
     * only ever completed through r while the connection is suspended, and
     * MHD does not terminate suspended connections */
    body_release(r);
    jsonrpc_req_clear(&r->json);
    pthread_mutex_destroy(&r->lock);
    free(r);
    *con_cls = NULL;
}

/* Counts the open TCP connections (the Unix socket's are not counted:
 * they may use the reserve). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    const listener *l = cls;
    (void)conn;
    if (code == MHD_CONNECTION_NOTIFY_STARTED && l->ca_pem && !(*socket_ctx = calloc(1, sizeof(cert_cache))))
        abort();
    else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        free(*socket_ctx);
        *socket_ctx = NULL;
    }
    if (l->cfg->kind == XEND_LISTEN_UNIX)
        return;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        __atomic_add_fetch(&tcp_open, 1, __ATOMIC_RELAXED);
    else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
        __atomic_sub_fetch(&tcp_open, 1, __ATOMIC_RELAXED);
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    listener *l = cls;
    (void)addrlen;
    if (l->cfg->kind == XEND_LISTEN_UNIX)
        return MHD_YES;
    if (__atomic_load_n(&tcp_open, __ATOMIC_RELAXED) >= tcp_budget(l->xcfg)) {
        xlog(XLOG_DEBUG, "%s: connection refused: TCP connections may not use the last %u descriptors",
             l->name, l->xcfg->fd_reserve);
        return MHD_NO;
    }
    if (l->cfg->n_allow == 0)
        return MHD_YES;
    char ip[64] = "";
    if (addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, ip, sizeof(ip));
    else if (addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, ip, sizeof(ip));
    if (xend_listener_allows(l->cfg, ip))
        return MHD_YES;
    xlog(XLOG_INFO, "%s: connection from %s refused by the allow-list", l->name, ip);
    return MHD_NO;   /* closed without an HTTP reply, as xend did */
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    xlog(XLOG_DEBUG, "http: %s", msg);
}

static char *read_file(const char *path, char **err_r)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (asprintf(err_r, "cannot read %s: %s", path, strerror(errno)) < 0)
            *err_r = NULL;
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                abort();
            buf = nb;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf) {
        if (asprintf(err_r, "%s is empty", path) < 0)
            *err_r = NULL;
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* The gid of group name, or -1 with *err_r set. */
static long group_gid(const char *name, char **err_r)
{
    char buf[16384];
    struct group gr, *res = NULL;
    int rc = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
    if (rc == 0 && res)
        return (long)res->gr_gid;
    if (asprintf(err_r, "group=%s: %s", name, rc ? strerror(rc) : "no such group") < 0)
        *err_r = NULL;
    return -1;
}

/* Root-only (0600) unless group is set: then 0660 for that group, and a
 * directory xend creates is 0710 for it. */
static int bind_unix(const char *path, const char *group, char **err_r)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path)) {
        if (asprintf(err_r, "socket path too long: %s", path) < 0)
            *err_r = NULL;
        return -1;
    }
    long gid = -1;
    if (group && (gid = group_gid(group, err_r)) < 0)
        return -1;
    strcpy(sa.sun_path, path);
    /* the directory is made root-only (or the group's) if we create it */
    char dir[sizeof(sa.sun_path)];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, gid >= 0 ? 0710 : 0700) == 0) {
            if (gid >= 0 && (chown(dir, (uid_t)-1, (gid_t)gid) != 0 || chmod(dir, 0710) != 0)) {
                if (asprintf(err_r, "cannot give %s to group %s: %s", dir, group, strerror(errno)) < 0)
                    *err_r = NULL;
                return -1;
            }
        } else if (errno != EEXIST) {
            if (asprintf(err_r, "cannot create %s: %s", dir, strerror(errno)) < 0)
                *err_r = NULL;
            return -1;
        }
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    unlink(path);
    mode_t old = umask(0177);           /* the socket is born 0600 */
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc != 0 || (gid >= 0 && chown(path, (uid_t)-1, (gid_t)gid) != 0) ||
        chmod(path, gid >= 0 ? 0660 : 0600) != 0 || listen(fd, 512) != 0)
        goto fail;
    return fd;
fail:
    if (asprintf(err_r, "unix socket %s: %s", path, strerror(errno)) < 0)
        *err_r = NULL;
    if (fd >= 0)
        close(fd);
    return -1;
}

static int bind_tcp(const char *host, int port, char **err_r)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    char ports[16];
    snprintf(ports, sizeof(ports), "%d", port);
    int gai = getaddrinfo(host && *host ? host : NULL, ports, &hints, &res);
    if (!host)
        host = "*";
    if (gai != 0) {
        if (asprintf(err_r, "cannot resolve %s: %s", host, gai_strerror(gai)) < 0)
            *err_r = NULL;
        return -1;
    }
    int fd = -1, saved = 0;
    bool any = strcmp(host, "*") == 0;
    /* "*": one IPv6 socket that takes IPv4 too (IPv4-mapped addresses),
     * whatever net.ipv6.bindv6only says; 0.0.0.0 where IPv6 is off */
    for (int pass = any ? 0 : 1; pass < 2 && fd < 0; pass++) {
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            if (pass == 0 && ai->ai_family != AF_INET6)
                continue;
            fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                saved = errno;
                continue;
            }
            int one = 1, zero = 0;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (ai->ai_family == AF_INET6)
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &zero : &one, sizeof(int));
            if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
                break;
            saved = errno;
            close(fd);
            fd = -1;
            if (saved == EADDRINUSE)
                break;          /* the other family would only hide who holds the port */
        }
        if (saved == EADDRINUSE)
            break;
    }
    freeaddrinfo(res);
    if (fd < 0 && asprintf(err_r, "cannot listen on %s:%d: %s", host, port, strerror(saved)) < 0)
        *err_r = NULL;
    return fd;
}

/* As many connections as file descriptors allow, less a reserve. */
/* The limit handed to libmicrohttpd.  It splits the limit evenly between
 * its pool threads, and a thread at its share stops serving new
 * connections even when the others have room: with 10,000 long-polls
 * landing mostly on one thread, about half of all new clients got no
 * answer (bench/events "short probes").  So every thread may hold up to the
 * process's descriptor budget; the kernel's RLIMIT_NOFILE still bounds the
 * total, and an accept that fails with EMFILE is retried by the library. */
static unsigned connection_limit(unsigned threads)
{
    struct rlimit rl;
    unsigned per;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur < 256)
        per = 200;
    else
        per = (unsigned)(rl.rlim_cur - 64);
    return per > UINT_MAX / threads ? UINT_MAX : per * threads;
}

/* Starts serving lc.  l->fd >= 0: serve that socket (already listening),
 * else bind one.  On failure l holds what must be freed (free_listener). */
static bool start_listener(listener *l, const xend_config *xcfg, const xend_listener *lc, char **err_r)
{
    l->cfg = lc;
    l->xcfg = xcfg;
    /* MHD_ALLOW_SUSPEND_RESUME brings the ITC that MHD_quiesce_daemon needs */
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    char *desc = xend_listener_describe(lc);
    snprintf(l->name, sizeof(l->name), "%s", desc ? desc : "?");
    free(desc);
    if (l->fd < 0 && lc->kind == XEND_LISTEN_UNIX)
        l->fd = bind_unix(lc->path, lc->group, err_r);
    else if (l->fd < 0)
        l->fd = bind_tcp(lc->host, lc->port, err_r);
    if (l->fd < 0)
        return false;
    if (lc->kind == XEND_LISTEN_HTTPS) {
        flags |= MHD_USE_TLS;
        if (!l->key_pem && (!(l->key_pem = read_file(lc->key_file, err_r)) ||
                            !(l->cert_pem = read_file(lc->cert_file, err_r)) ||
                            !tls_check_pair(l->name, l->cert_pem, l->key_pem, err_r)))
            return false;
        if (lc->client_ca_file && !l->ca_pem &&
            (!(l->ca_pem = read_file(lc->client_ca_file, err_r)) || !tls_check_ca(l->name, l->ca_pem, err_r)))
            return false;
    }
    unsigned threads = xcfg->http_threads ? xcfg->http_threads : 2;
    struct MHD_OptionItem tls[] = {
        { MHD_OPTION_HTTPS_MEM_KEY, 0, l->key_pem },
        { MHD_OPTION_HTTPS_MEM_CERT, 0, l->cert_pem },
        { MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)tls_priorities(xcfg) },
        /* a client certificate is asked for, not required: without one, a password login */
        { l->ca_pem ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, l->ca_pem },
        { MHD_OPTION_END, 0, NULL },
    };
    struct MHD_OptionItem none[] = { { MHD_OPTION_END, 0, NULL } };
    l->mhd = MHD_start_daemon(flags, 0, on_accept, l, on_request, l,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                              MHD_OPTION_LISTEN_SOCKET, l->fd,
                              MHD_OPTION_THREAD_POOL_SIZE, threads,
                              MHD_OPTION_CONNECTION_LIMIT, connection_limit(threads),
                              MHD_OPTION_CONNECTION_TIMEOUT, xcfg->http_timeout,
                              MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                              lc->kind == XEND_LISTEN_UNIX ? 0u : xcfg->connections_per_address,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                              MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
                              MHD_OPTION_ARRAY, lc->kind == XEND_LISTEN_HTTPS ? tls : none,
                              MHD_OPTION_END);
    if (!l->mhd) {
        if (asprintf(err_r, "%s: the HTTP server did not start (see the debug log)", l->name) < 0)
            *err_r = NULL;
        return false;
    }
    xlog(XLOG_INFO, "listening on %s", l->name);
    const char *warn = xend_listener_warning(lc);
    if (warn)
        xlog(XLOG_WARNING, "%s: %s", l->name, warn);
    return true;
}

static listener *new_listener(void)
{
    listener *l = calloc(1, sizeof(*l));
    if (!l)
        abort();
    l->fd = -1;
    return l;
}

/* Stops l's daemon (waiting for its threads), closes its socket unless
 * another daemon took it over, and frees l. */
static void free_listener(listener *l, bool keep_fd)
{
    if (l->mhd)
        MHD_stop_daemon(l->mhd);        /* closes the socket unless quiesced */
    if ((!l->mhd || l->quiesced) && l->fd >= 0 && !keep_fd)
        close(l->fd);
    free(l->key_pem);
    free(l->cert_pem);
    free(l->ca_pem);
    free(l);
}

rpc_server *rpc_server_start(const xend_config *cfg, char **err_r)
{
    rpc_server *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->ls = calloc(cfg->n_listeners ? cfg->n_listeners : 1, sizeof(listener *));
    if (!s->ls)
        abort();
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        listener *l = new_listener();
        if (!start_listener(l, cfg, &cfg->listeners[i], err_r)) {
            if (cfg->listeners[i].kind == XEND_LISTEN_UNIX && l->fd >= 0)
                unlink(cfg->listeners[i].path);
            free_listener(l, false);
            rpc_server_stop(s);
            return NULL;
        }
        s->ls[s->n++] = l;
    }
    return s;
}

/* ---- reload ---- */

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Same socket, same rules: the running listener can go on serving b. */
static bool same_listener(const xend_listener *a, const xend_listener *b)
{
    if (a->kind != b->kind || a->port != b->port || a->auth_none != b->auth_none || a->n_allow != b->n_allow ||
        !same_str(a->path, b->path) || !same_str(a->host, b->host) || !same_str(a->cert_file, b->cert_file) ||
        !same_str(a->key_file, b->key_file) || !same_str(a->client_ca_file, b->client_ca_file))
        return false;
    for (size_t i = 0; i < a->n_allow; i++)
        if (strcmp(a->allow[i], b->allow[i]) != 0)
            return false;
    return true;
}

/* Stops l accepting; it is stopped once its connections are gone. */
static void retire(rpc_server *s, listener *l, bool keep_fd)
{
    int fd = l->mhd ? (int)MHD_quiesce_daemon(l->mhd) : -1;
    l->quiesced = fd >= 0;
    if (!keep_fd && l->quiesced) {
        /* the socket may be closed only after MHD_stop_daemon, but it must
         * refuse connections now: on Linux a shut-down listening socket
         * stops listening and frees its address */
        shutdown(fd, SHUT_RDWR);
    }
    if (!keep_fd && l->cfg->kind == XEND_LISTEN_UNIX)
        unlink(l->cfg->path);           /* the path is free for a new listener now */
    if (!l->quiesced || keep_fd)
        l->fd = -1;     /* not quiesced: MHD still owns and will close it; kept: the successor's */
    l->next = s->draining;
    s->draining = l;
}

/* The certificate or key of a kept HTTPS listener changed on disk: serve
 * its socket with a new daemon holding them; the old one drains. */
static listener *renew_tls(rpc_server *s, listener *old, const xend_config *cfg, const xend_listener *lc)
{
    char *err = NULL, *cert = NULL, *key = NULL;
    if (!(key = read_file(lc->key_file, &err)) || !(cert = read_file(lc->cert_file, &err)) ||
        !tls_check_pair(old->name, cert, key, &err)) {
        xlog(XLOG_ERROR, "reload: %s; the listener keeps its current certificate", err ? err : "?");
        free(err);
        free(cert);
        free(key);
        return old;
    }
    if (strcmp(cert, old->cert_pem) == 0 && strcmp(key, old->key_pem) == 0) {
        free(cert);
        free(key);
        return old;
    }
    listener *l = new_listener();
    l->fd = old->fd;
    l->cert_pem = cert;
    l->key_pem = key;
    if (!start_listener(l, cfg, lc, &err)) {
        xlog(XLOG_ERROR, "reload: %s; the listener keeps its current certificate", err ? err : "?");
        free(err);
        free_listener(l, true);
        return old;
    }
    retire(s, old, true);
    xlog(XLOG_INFO, "reload: %s: new certificate in use", l->name);
    return l;
}

bool rpc_server_reload(rpc_server *s, const xend_config *cfg)
{
    bool ok = true;
    listener **next = calloc(cfg->n_listeners ? cfg->n_listeners : 1, sizeof(listener *));
    if (!next)
        abort();
    /* those not configured any more stop first, so that their addresses are free */
    for (size_t i = 0; i < s->n; i++) {
        listener *l = s->ls[i];
        size_t j = 0;
        while (j < cfg->n_listeners && (next[j] || !same_listener(l->cfg, &cfg->listeners[j])))
            j++;
        if (j < cfg->n_listeners) {
            next[j] = l;
        } else {
            xlog(XLOG_INFO, "reload: listener %s removed (its open connections finish)", l->name);
            retire(s, l, false);
        }
    }
    size_t n = 0;
    for (size_t j = 0; j < cfg->n_listeners; j++) {
        const xend_listener *lc = &cfg->listeners[j];
        listener *l = next[j];
        if (l) {
            next[n++] = lc->kind == XEND_LISTEN_HTTPS ? renew_tls(s, l, cfg, lc) : l;
            continue;
        }
        char *err = NULL;
        l = new_listener();
        if (start_listener(l, cfg, lc, &err)) {
            next[n++] = l;
            continue;
        }
        xlog(XLOG_ERROR, "reload: cannot add listener: %s", err ? err : "?");
        free(err);
        if (lc->kind == XEND_LISTEN_UNIX && l->fd >= 0)
            unlink(lc->path);
        free_listener(l, false);
        ok = false;
    }
    free(s->ls);
    s->ls = next;
    s->n = n;
    return ok;
}

static size_t listener_connections(const listener *l)
{
    const union MHD_DaemonInfo *di = l->mhd ? MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS)
                                            : NULL;
    return di ? di->num_connections : 0;
}

void rpc_server_tick(rpc_server *s)
{
    for (listener **p = &s->draining; *p;) {
        listener *l = *p;
        if (listener_connections(l) > 0) {
            p = &l->next;
            continue;
        }
        *p = l->next;
        xlog(XLOG_DEBUG, "%s: retired listener stopped", l->name);
        free_listener(l, false);
    }
}

size_t rpc_server_connections(const rpc_server *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += listener_connections(s->ls[i]);
    for (const listener *l = s->draining; l; l = l->next)
        n += listener_connections(l);
    return n;
}

size_t rpc_server_listeners(const rpc_server *s)
{
    return s->n;
}

void rpc_server_stop(rpc_server *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        listener *l = s->ls[i];
        if (l->cfg->kind == XEND_LISTEN_UNIX)
            unlink(l->cfg->path);
        free_listener(l, false);
    }
    while (s->draining) {
        listener *l = s->draining;
        s->draining = l->next;
        free_listener(l, false);
    }
    free(s->ls);
    free(s);
}
