/* xload: a small HTTP/1.1 keep-alive POST load generator (epoll, non-blocking sockets).
 *
 * One thread drives every connection.  Each connection sends a request, waits for the
 * complete response (Content-Length, chunked, or read-until-close framing), records the
 * latency and sends the next one; with --pipeline N it keeps N requests in flight.  A
 * closed connection is reopened.  The run always ends: by --duration, by --requests, or
 * by a hard cap.
 *
 * --hold N opens N connections that each send one request (a long poll such as
 * event.next) and then wait; it reports how many are waiting and how many completed.
 *
 * Output: a human-readable report, then one line starting with "XLOAD " holding
 * key=value pairs for scripts.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/xv.h"

#define MAX_CONNECTIONS 20000
#define MAX_PIPELINE 64
#define RBUF_INIT 16384
#define MAX_RESPONSE (64u * 1024 * 1024)
#define MAX_HEADER 65536

/* ---- latency histogram: log-linear buckets, < 1% relative error, microseconds ---- */

#define H_SUB_BITS 7
#define H_SUB (1u << H_SUB_BITS)
#define H_EXP 40
#define H_BUCKETS (H_SUB + H_EXP * H_SUB)

typedef struct {
    uint64_t count[H_BUCKETS];
    uint64_t n;
    uint64_t max;
    double sum;
} hist;

static unsigned hist_index(uint64_t v)
{
    if (v < H_SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* e >= H_SUB_BITS */
    unsigned shift = e - H_SUB_BITS;
    if (shift >= H_EXP)
        return H_BUCKETS - 1;
    unsigned m = (unsigned)(v >> shift) & (H_SUB - 1);
    return H_SUB + shift * H_SUB + m;
}

static uint64_t hist_value(unsigned idx)
{
    if (idx < H_SUB)
        return idx;
    unsigned shift = (idx - H_SUB) / H_SUB;
    unsigned m = (idx - H_SUB) % H_SUB;
    uint64_t lo = ((uint64_t)(H_SUB + m)) << shift;
    return lo + (((uint64_t)1 << shift) >> 1); /* middle of the bucket */
}

static void hist_add(hist *h, uint64_t us)
{
    h->count[hist_index(us)]++;
    h->n++;
    h->sum += (double)us;
    if (us > h->max)
        h->max = us;
}

static uint64_t hist_pct(const hist *h, double pct)
{
    if (h->n == 0)
        return 0;
    uint64_t want = (uint64_t)((double)h->n * pct / 100.0 + 0.5);
    if (want < 1)
        want = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < H_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= want) {
            uint64_t v = hist_value(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

/* ---- configuration ---- */

typedef struct {
    char *data; /* full HTTP request: head + body */
    size_t len;
} request;

static struct {
    const char *tcp;
    const char *unix_path;
    const char *path;
    const char *host_header;
    unsigned connections;
    double duration;
    double warmup;
    uint64_t requests;
    unsigned pipeline;
    const char *expect;
    size_t expect_len;
    unsigned hold;
    bool rearm;
    double interval;
    double timeout;
    unsigned connect_burst;
    bool kernel_ports;
    bool quiet;
    request *reqs;
    size_t nreqs;
} opt = {
    .path = "/",
    .connections = 1,
    .pipeline = 1,
    .interval = 1.0,
    .timeout = 0,
    .connect_burst = 256,
};

static struct sockaddr_storage target_addr;
static socklen_t target_len;
static int target_family;

/* ---- connection state ---- */

enum conn_state { C_IDLE, C_CONNECTING, C_OPEN, C_WAIT_RETRY };
enum parse_state { P_STATUS, P_HEADERS, P_BODY_CL, P_BODY_EOF, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_CRLF, P_TRAILERS };

typedef struct conn conn;
struct conn {
    int fd;
    unsigned id;
    enum conn_state state;
    const request *req;
    /* writing */
    unsigned to_send;  /* requests still to write (the first one maybe partly written) */
    size_t woff;       /* offset into the request currently being written */
    bool want_out;     /* EPOLLOUT registered */
    /* in flight */
    unsigned inflight; /* written (at least partly) but not yet answered */
    uint64_t sent_at[MAX_PIPELINE];
    unsigned sent_head;
    /* reading */
    char *rbuf;
    size_t rcap, rlen, rpos;
    enum parse_state ps;
    int status;
    bool resp_close;
    bool chunked;
    uint64_t remaining; /* body bytes or chunk bytes left */
    char *body;         /* decoded body, kept only with --expect */
    size_t blen, bcap;
    /* bookkeeping */
    uint64_t retry_at;
    unsigned backoff_ms;
    bool ever_connected;
    bool held_done;     /* --hold without --rearm: the one request was answered */
    conn *next_retry;
};

static conn *conns;
static int epfd = -1;
static volatile sig_atomic_t stop_signal;

/* counters */
static struct {
    uint64_t sent;         /* requests fully written (or started) */
    uint64_t done;         /* responses completed (any status) */
    uint64_t ok;           /* 2xx and (if --expect) body matched */
    uint64_t err_status;   /* non-2xx */
    uint64_t err_expect;   /* body lacks --expect */
    uint64_t err_parse;    /* unparseable response */
    uint64_t err_closed;   /* connection closed with a request outstanding */
    uint64_t err_connect;  /* connect() failures */
    uint64_t err_timeout;  /* per-request timeout hit */
    uint64_t connects;     /* successful connections */
    uint64_t bytes_in;
    hist lat;
} st;

static unsigned n_open, n_connecting;
static bool sending_stopped;
static conn *retry_head, *retry_tail;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("xload: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die("out of memory");
    return q;
}

/* ---- setup helpers ---- */

static void raise_nofile(unsigned want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t need = (rlim_t)want + 64;
    if (rl.rlim_cur >= need)
        return;
    struct rlimit nrl = rl;
    nrl.rlim_cur = need;
    if (nrl.rlim_max < need)
        nrl.rlim_max = need; /* works with CAP_SYS_RESOURCE */
    if (setrlimit(RLIMIT_NOFILE, &nrl) != 0) {
        nrl.rlim_max = rl.rlim_max;
        nrl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nrl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < need)
        fprintf(stderr, "xload: warning: RLIMIT_NOFILE is %llu, %u connections may fail\n",
                (unsigned long long)rl.rlim_cur, want);
}

static void resolve_target(void)
{
    memset(&target_addr, 0, sizeof(target_addr));
    if (opt.unix_path) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&target_addr;
        if (strlen(opt.unix_path) >= sizeof(sun->sun_path))
            die("unix socket path too long: %s", opt.unix_path);
        sun->sun_family = AF_UNIX;
        strcpy(sun->sun_path, opt.unix_path);
        target_len = sizeof(*sun);
        target_family = AF_UNIX;
        return;
    }
    /* HOST:PORT, [V6]:PORT */
    char host[256];
    const char *port;
    const char *s = opt.tcp;
    if (*s == '[') {
        const char *e = strchr(s, ']');
        if (!e || e[1] != ':' || (size_t)(e - s - 1) >= sizeof(host))
            die("bad --tcp address: %s", s);
        memcpy(host, s + 1, (size_t)(e - s - 1));
        host[e - s - 1] = 0;
        port = e + 2;
    } else {
        const char *c = strrchr(s, ':');
        if (!c || (size_t)(c - s) >= sizeof(host))
            die("bad --tcp address (want HOST:PORT): %s", s);
        memcpy(host, s, (size_t)(c - s));
        host[c - s] = 0;
        port = c + 1;
    }
    if (atoi(port) <= 0 || atoi(port) > 65535)
        die("bad port in --tcp %s", s);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0 || !ai)
        die("cannot resolve %s: %s", s, gai_strerror(rc));
    memcpy(&target_addr, ai->ai_addr, ai->ai_addrlen);
    target_len = ai->ai_addrlen;
    target_family = ai->ai_family;
    freeaddrinfo(ai);
}

static char *read_file(const char *path, size_t *len_r)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap)
            buf = xrealloc(buf, cap *= 2);
    }
    if (ferror(f))
        die("cannot read %s", path);
    fclose(f);
    *len_r = len;
    return buf;
}

static void add_request(const char *body, size_t blen)
{
    char head[1024];
    const char *host = opt.host_header ? opt.host_header : (opt.tcp ? opt.tcp : "localhost");
    int hl = snprintf(head, sizeof(head),
                      "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: xload\r\n"
                      "Content-Type: text/xml\r\nContent-Length: %zu\r\n\r\n",
                      opt.path, host, blen);
    if (hl < 0 || (size_t)hl >= sizeof(head))
        die("request head too long");
    opt.reqs = xrealloc(opt.reqs, (opt.nreqs + 1) * sizeof(request));
    request *r = &opt.reqs[opt.nreqs++];
    r->len = (size_t)hl + blen;
    r->data = xmalloc(r->len);
    memcpy(r->data, head, (size_t)hl);
    memcpy(r->data + hl, body, blen);
}

/* ---- connection handling ---- */

static void conn_schedule_retry(conn *c, uint64_t now);
static void conn_send_more(conn *c, uint64_t now);

static void ep_mod(conn *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        die("epoll_ctl: %s", strerror(errno));
    c->want_out = out;
}

static void conn_reset_parse(conn *c)
{
    c->ps = P_STATUS;
    c->status = 0;
    c->resp_close = false;
    c->chunked = false;
    c->remaining = 0;
    c->blen = 0;
}

static unsigned requests_allowed(void)
{
    if (sending_stopped)
        return 0;
    if (opt.requests && st.sent >= opt.requests)
        return 0;
    return 1;
}

static void conn_close(conn *c, uint64_t now, bool count_lost)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (c->state == C_OPEN)
        n_open--;
    else if (c->state == C_CONNECTING)
        n_connecting--;
    if (count_lost && c->inflight)
        st.err_closed += c->inflight;
    /* requests that were in flight are lost; in --requests mode give the budget back */
    if (opt.requests && c->inflight) {
        uint64_t back = c->inflight;
        st.sent = st.sent >= back ? st.sent - back : 0;
    }
    c->inflight = 0;
    c->to_send = 0;
    c->woff = 0;
    c->rlen = c->rpos = 0;
    c->want_out = false;
    conn_reset_parse(c);
    c->state = C_IDLE;
    if (!sending_stopped && !c->held_done)
        conn_schedule_retry(c, now);
}

/* Pick the source port ourselves.  With thousands of connections to one destination
 * the kernel's ephemeral port search in connect() gets slower with every connection
 * (quadratic overall); walking a cursor through the range keeps connect() O(1). */
static void bind_source_port(int fd)
{
    static unsigned cursor;
    static unsigned lo, hi;
    if (!lo) {
        lo = 32768;
        hi = 60999;
        FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
        if (f) {
            unsigned a, b;
            if (fscanf(f, "%u %u", &a, &b) == 2 && a > 0 && b > a && b < 65536) {
                lo = a;
                hi = b;
            }
            fclose(f);
        }
        cursor = lo + (unsigned)(now_us() % (hi - lo + 1));
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    for (unsigned tries = 0; tries < 64; tries++) {
        unsigned port = cursor;
        cursor = cursor >= hi ? lo : cursor + 1;
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        socklen_t sl;
        if (target_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            s6->sin6_family = AF_INET6;
            s6->sin6_addr = ((struct sockaddr_in6 *)&target_addr)->sin6_addr;
            s6->sin6_port = htons((uint16_t)port);
            sl = sizeof(*s6);
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            s4->sin_family = AF_INET;
            s4->sin_addr = ((struct sockaddr_in *)&target_addr)->sin_addr;
            s4->sin_port = htons((uint16_t)port);
            sl = sizeof(*s4);
        }
        if (bind(fd, (struct sockaddr *)&ss, sl) == 0)
            return;
        if (errno != EADDRINUSE)
            break;
    }
    /* fall back to the kernel's choice */
}

/* The connection is established (at once or after EINPROGRESS). */
static void conn_opened(conn *c)
{
    c->state = C_OPEN;
    n_open++;
    st.connects++;
    c->ever_connected = true;
    c->backoff_ms = 0;
}

static void conn_start(conn *c, uint64_t now)
{
    int fd = socket(target_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        st.err_connect++;
        if (errno == EMFILE || errno == ENFILE)
            c->backoff_ms = 1000;
        conn_schedule_retry(c, now);
        return;
    }
    if (target_family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        /* Picking source ports ourselves only pays beyond the kernel's
         * comfortable range; below it the kernel's choice also avoids the
         * ports another xload (a --hold run) has connected to the same
         * server, which a bind with SO_REUSEADDR does not see: every
         * connect then failed and a small run could not connect at all. */
        if (!opt.kernel_ports && opt.connections > 1024)
            bind_source_port(fd);
    }
    c->fd = fd;
    int rc = connect(fd, (struct sockaddr *)&target_addr, target_len);
    bool inprogress = rc != 0 && errno == EINPROGRESS;
    if (rc != 0 && !inprogress) {
        /* EAGAIN on a Unix socket means the backlog is full: retry quietly */
        if (errno != EAGAIN)
            st.err_connect++;
        close(fd);
        c->fd = -1;
        conn_schedule_retry(c, now);
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (inprogress ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        die("epoll_ctl add: %s", strerror(errno));
    c->want_out = inprogress;
    conn_reset_parse(c);
    c->rlen = c->rpos = 0;
    if (inprogress) {
        c->state = C_CONNECTING;
        n_connecting++;
        return;
    }
    conn_opened(c);
    conn_send_more(c, now);
}

static void conn_schedule_retry(conn *c, uint64_t now)
{
    if (sending_stopped || (opt.requests && st.sent >= opt.requests && !opt.hold))
        return;
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : 5;
    if (c->backoff_ms > 1000)
        c->backoff_ms = 1000;
    c->retry_at = now + (uint64_t)c->backoff_ms * 1000u;
    c->state = C_WAIT_RETRY;
    c->next_retry = NULL;
    if (retry_tail)
        retry_tail->next_retry = c;
    else
        retry_head = c;
    retry_tail = c;
}

/* Queue as many requests as the pipeline depth and --requests allow, and write them. */
static void conn_send_more(conn *c, uint64_t now)
{
    if (c->state != C_OPEN)
        return;
    unsigned depth = opt.hold ? (c->held_done ? 0 : 1) : opt.pipeline;
    while (c->inflight + c->to_send < depth && requests_allowed()) {
        c->to_send++;
        st.sent++;
    }
    while (c->to_send > 0) {
        const request *r = c->req;
        if (c->woff == 0) {
            /* starting a new request: stamp it */
            c->sent_at[(c->sent_head + c->inflight) % MAX_PIPELINE] = now;
            c->inflight++;
        }
        ssize_t n = write(c->fd, r->data + c->woff, r->len - c->woff);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (c->woff == 0)
                    c->inflight--; /* not started after all */
                if (!c->want_out)
                    ep_mod(c, true);
                return;
            }
            if (c->woff == 0)
                c->inflight--;
            conn_close(c, now, true);
            return;
        }
        c->woff += (size_t)n;
        if (c->woff == r->len) {
            c->woff = 0;
            c->to_send--;
        }
    }
    if (c->want_out)
        ep_mod(c, false);
}

/* A full response has been parsed.  Returns true if the connection must be closed now. */
static bool conn_response_done(conn *c, uint64_t now, bool measuring)
{
    bool must_close = c->resp_close;
    uint64_t t0 = c->sent_at[c->sent_head % MAX_PIPELINE];
    c->sent_head = (c->sent_head + 1) % MAX_PIPELINE;
    if (c->inflight)
        c->inflight--;
    st.done++;
    bool good = c->status >= 200 && c->status < 300;
    if (!good)
        st.err_status++;
    else if (opt.expect && !memmem(c->body ? c->body : "", c->blen, opt.expect, opt.expect_len)) {
        good = false;
        st.err_expect++;
    } else
        st.ok++;
    if (measuring)
        hist_add(&st.lat, now >= t0 ? now - t0 : 0);
    if (opt.hold && !opt.rearm)
        c->held_done = true;
    conn_reset_parse(c);
    return must_close;
}

static void body_append(conn *c, const char *p, size_t n)
{
    if (!opt.expect || n == 0)
        return;
    if (c->blen + n > c->bcap) {
        size_t nc = c->bcap ? c->bcap : 1024;
        while (nc < c->blen + n)
            nc *= 2;
        c->body = xrealloc(c->body, nc);
        c->bcap = nc;
    }
    memcpy(c->body + c->blen, p, n);
    c->blen += n;
}

/* Find a CRLF-terminated line in [p, end); returns pointer to '\n' or NULL. */
static const char *find_eol(const char *p, const char *end)
{
    return memchr(p, '\n', (size_t)(end - p));
}

static bool header_is(const char *line, size_t len, const char *name, const char **val_r, size_t *vlen_r)
{
    size_t nl = strlen(name);
    if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return false;
    const char *v = line + nl + 1;
    const char *e = line + len;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    *val_r = v;
    *vlen_r = (size_t)(e - v);
    return true;
}

static bool token_in(const char *v, size_t vl, const char *tok)
{
    size_t tl = strlen(tok);
    for (size_t i = 0; i + tl <= vl; i++)
        if (strncasecmp(v + i, tok, tl) == 0)
            return true;
    return false;
}

/* The longest line each line-framed state waits for; 0 for the body states. */
static size_t line_limit(enum parse_state ps)
{
    switch (ps) {
    case P_STATUS:
    case P_HEADERS:
    case P_TRAILERS:
        return MAX_HEADER;
    case P_CHUNK_SIZE:
        return 1024;
    case P_CHUNK_CRLF:
        return 2;
    default:
        return 0;
    }
}

/* Takes what is there of a counted body or chunk; true once all of it came. */
static bool take_counted(conn *c, const char *p, const char *end)
{
    size_t avail = (size_t)(end - p);
    size_t take = avail < c->remaining ? avail : (size_t)c->remaining;
    body_append(c, p, take);
    c->rpos += take;
    c->remaining -= take;
    return c->remaining == 0;
}

/* Parse as much of rbuf as possible.  Returns false if the connection must be closed
 * (protocol error or Connection: close after a response). */
static bool conn_parse(conn *c, uint64_t now, bool measuring, bool eof)
{
    for (;;) {
        const char *p = c->rbuf + c->rpos;
        const char *end = c->rbuf + c->rlen;
        const char *nl = NULL;
        size_t limit = line_limit(c->ps);
        if (limit) {
            /* a line-framed state: wait for the whole line, then consume it */
            nl = find_eol(p, end);
            if (!nl) {
                if ((size_t)(end - p) > limit)
                    goto bad;
                return true;
            }
            c->rpos = (size_t)(nl + 1 - c->rbuf);
        }
        switch (c->ps) {
        case P_STATUS: {
            if (c->inflight == 0)
                goto bad; /* unsolicited data */
            if ((size_t)(nl - p) < 12 || strncmp(p, "HTTP/1.", 7) != 0)
                goto bad;
            int code = 0;
            for (int i = 9; i < 12; i++) {
                if (p[i] < '0' || p[i] > '9')
                    goto bad;
                code = code * 10 + (p[i] - '0');
            }
            c->status = code;
            c->resp_close = p[7] == '0'; /* HTTP/1.0 closes unless keep-alive */
            c->chunked = false;
            c->remaining = UINT64_MAX; /* no Content-Length yet */
            c->ps = P_HEADERS;
            break;
        }
        case P_HEADERS: {
            size_t len = (size_t)(nl - p);
            if (len > 0 && p[len - 1] == '\r')
                len--;
            if (len == 0) {
                /* end of headers */
                if (c->status >= 100 && c->status < 200) {
                    conn_reset_parse(c); /* interim response: wait for the real one */
                    break;
                }
                if (c->status == 204 || c->status == 304) {
                    if (conn_response_done(c, now, measuring))
                        return false;
                    break;
                }
                if (c->chunked)
                    c->ps = P_CHUNK_SIZE;
                else if (c->remaining != UINT64_MAX)
                    c->ps = P_BODY_CL;
                else {
                    c->ps = P_BODY_EOF;
                    c->resp_close = true;
                }
                break;
            }
            const char *v;
            size_t vl;
            if (header_is(p, len, "Content-Length", &v, &vl)) {
                uint64_t n;
                if (!xv_parse_uint(v, vl, &n) || n > MAX_RESPONSE)
                    goto bad;
                if (!c->chunked)
                    c->remaining = n;
            } else if (header_is(p, len, "Transfer-Encoding", &v, &vl)) {
                if (token_in(v, vl, "chunked")) {
                    c->chunked = true;
                    c->remaining = 0;
                }
            } else if (header_is(p, len, "Connection", &v, &vl)) {
                if (token_in(v, vl, "close"))
                    c->resp_close = true;
                else if (token_in(v, vl, "keep-alive"))
                    c->resp_close = false;
            }
            break;
        }
        case P_BODY_CL: {
            if (!take_counted(c, p, end))
                return true;
            if (conn_response_done(c, now, measuring))
                return false;
            break;
        }
        case P_BODY_EOF: {
            size_t avail = (size_t)(end - p);
            body_append(c, p, avail);
            c->rpos += avail;
            if (c->blen > MAX_RESPONSE)
                goto bad;
            if (eof) {
                (void)conn_response_done(c, now, measuring);
                return false;
            }
            return true;
        }
        case P_CHUNK_SIZE: {
            uint64_t n = 0;
            const char *q = p;
            int digits = 0;
            for (; q < nl; q++) {
                int d;
                if (*q >= '0' && *q <= '9')
                    d = *q - '0';
                else if (*q >= 'a' && *q <= 'f')
                    d = *q - 'a' + 10;
                else if (*q >= 'A' && *q <= 'F')
                    d = *q - 'A' + 10;
                else
                    break; /* ';' extension, '\r' or spaces */
                n = n * 16 + (uint64_t)d;
                digits++;
                if (n > MAX_RESPONSE)
                    goto bad;
            }
            if (digits == 0)
                goto bad;
            if (n == 0)
                c->ps = P_TRAILERS;
            else {
                c->remaining = n;
                c->ps = P_CHUNK_DATA;
            }
            break;
        }
        case P_CHUNK_DATA: {
            if (!take_counted(c, p, end))
                return true;
            c->ps = P_CHUNK_CRLF;
            break;
        }
        case P_CHUNK_CRLF: {
            if (nl - p > 1 || (nl - p == 1 && *p != '\r'))
                goto bad;
            c->ps = P_CHUNK_SIZE;
            break;
        }
        case P_TRAILERS: {
            size_t len = (size_t)(nl - p);
            if (len == 0 || (len == 1 && *p == '\r')) {
                if (conn_response_done(c, now, measuring))
                    return false;
            }
            break;
        }
        }
    }
bad:
    st.err_parse++;
    if (c->inflight)
        c->inflight--; /* this one is counted as a parse error, not as lost */
    return false;
}

static void conn_on_readable(conn *c, uint64_t now, bool measuring)
{
    bool eof = false;
    for (;;) {
        if (c->rpos > 0 && c->rpos == c->rlen)
            c->rpos = c->rlen = 0;
        if (c->rlen == c->rcap) {
            if (c->rpos > 0) {
                memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
                c->rlen -= c->rpos;
                c->rpos = 0;
            } else {
                c->rcap = c->rcap ? c->rcap * 2 : RBUF_INIT;
                c->rbuf = xrealloc(c->rbuf, c->rcap);
            }
        }
        size_t space = c->rcap - c->rlen;
        ssize_t n = read(c->fd, c->rbuf + c->rlen, space);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            eof = true;
            break;
        }
        if (n == 0) {
            eof = true;
            break;
        }
        c->rlen += (size_t)n;
        st.bytes_in += (uint64_t)n;
        if ((size_t)n < space)
            break;
    }
    bool keep = conn_parse(c, now, measuring, eof);
    if (!keep || eof) {
        /* A close right after a complete response loses nothing; otherwise the
         * outstanding requests count as errors. */
        conn_close(c, now, true);
        return;
    }
    conn_send_more(c, now);
}

static void conn_on_connected(conn *c, uint64_t now)
{
    int err = 0;
    socklen_t el = sizeof(err);
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    n_connecting--;
    if (err != 0) {
        st.err_connect++;
        close(c->fd);
        c->fd = -1;
        c->state = C_IDLE;
        conn_schedule_retry(c, now);
        return;
    }
    conn_opened(c);
    ep_mod(c, false);
    conn_send_more(c, now);
}

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void usage(FILE *f)
{
    fputs("usage: xload (--tcp HOST:PORT | --unix PATH) --body FILE [options]\n"
          "  --connections N     concurrent keep-alive connections (default 1, max 20000)\n"
          "  --duration SEC      measure for SEC seconds (default 10 unless --requests)\n"
          "  --warmup SEC        run SEC seconds before measuring (not counted)\n"
          "  --requests N        stop after N responses (capped by --duration, default cap 600 s)\n"
          "  --body FILE         request body (Content-Type: text/xml); may be repeated,\n"
          "                      connection i uses body i mod count\n"
          "  --bodies FILE       one request body per line (same round-robin)\n"
          "  --expect STRING     count 2xx responses whose body lacks STRING as errors\n"
          "  --pipeline N        requests in flight per connection (default 1, max 64)\n"
          "  --path PATH         request path (default /)\n"
          "  --hold N            open N connections, send one request each, keep them waiting;\n"
          "                      report waiting/completed every --interval seconds\n"
          "  --rearm             with --hold: send the request again after each response\n"
          "  --interval SEC      progress report interval in --hold mode (default 1)\n"
          "  --timeout SEC       count a request as failed after SEC s and reconnect (default off)\n"
          "  --connect-burst N   at most N connects in progress at once (default 256)\n"
          "  --kernel-ports      let connect() pick source ports even above 1024 connections\n"
          "                      (slow beyond ~10k connections)\n"
          "  --quiet             only print the XLOAD summary line\n",
          f);
}

static double parse_double(const char *s, const char *what)
{
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (errno || *e || v < 0)
        die("bad %s: %s", what, s);
    return v;
}

static uint64_t parse_u64(const char *s, const char *what)
{
    char *e;
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10);
    if (errno || *e || *s == '-' || !*s)
        die("bad %s: %s", what, s);
    return v;
}

static void print_report(double elapsed_s)
{
    uint64_t measured = st.lat.n;
    double rps = elapsed_s > 0 ? (double)measured / elapsed_s : 0;
    uint64_t errors = st.err_status + st.err_expect + st.err_parse + st.err_closed + st.err_timeout;
    const char *target = opt.unix_path ? opt.unix_path : opt.tcp;
    unsigned nconn = opt.hold ? opt.hold : opt.connections;
    if (!opt.quiet) {
        printf("target        %s%s\n", opt.unix_path ? "unix:" : "tcp:", target);
        printf("connections   %u%s (pipeline %u)\n", nconn, opt.hold ? " held" : "", opt.hold ? 1 : opt.pipeline);
        printf("duration      %.2f s measured%s\n", elapsed_s, opt.warmup > 0 ? " (after warm-up)" : "");
        printf("requests      %" PRIu64 " measured, %" PRIu64 " completed in total\n", measured, st.done);
        printf("throughput    %.0f req/s\n", rps);
        printf("latency       p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms  mean %.3f ms\n",
               (double)hist_pct(&st.lat, 50) / 1000.0, (double)hist_pct(&st.lat, 90) / 1000.0,
               (double)hist_pct(&st.lat, 99) / 1000.0, (double)st.lat.max / 1000.0,
               measured ? st.lat.sum / (double)measured / 1000.0 : 0.0);
        printf("errors        %" PRIu64 " (status %" PRIu64 ", expect %" PRIu64 ", parse %" PRIu64
               ", closed %" PRIu64 ", timeout %" PRIu64 "), connect failures %" PRIu64 "\n",
               errors, st.err_status, st.err_expect, st.err_parse, st.err_closed, st.err_timeout,
               st.err_connect);
        printf("connections   %" PRIu64 " opened, %u open at end\n", st.connects, n_open);
    }
    printf("XLOAD target=%s%s connections=%u pipeline=%u duration_s=%.3f requests=%" PRIu64
           " rps=%.1f p50_us=%" PRIu64 " p90_us=%" PRIu64 " p99_us=%" PRIu64 " max_us=%" PRIu64
           " errors=%" PRIu64 " connect_errors=%" PRIu64 " connects=%" PRIu64 "\n",
           opt.unix_path ? "unix:" : "tcp:", target, nconn, opt.hold ? 1 : opt.pipeline, elapsed_s,
           measured, rps, hist_pct(&st.lat, 50), hist_pct(&st.lat, 90), hist_pct(&st.lat, 99),
           st.lat.max, errors, st.err_connect, st.connects);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    enum { OPT_TCP = 256, OPT_UNIX, OPT_CONN, OPT_DUR, OPT_WARM, OPT_REQ, OPT_BODY, OPT_BODIES, OPT_EXPECT, OPT_PIPE,
           OPT_PATH, OPT_HOLD, OPT_REARM, OPT_INTERVAL, OPT_TIMEOUT, OPT_BURST, OPT_KPORTS, OPT_QUIET, OPT_HELP };
    static const struct option lo[] = {
        {"tcp", required_argument, 0, OPT_TCP},
        {"unix", required_argument, 0, OPT_UNIX},
        {"connections", required_argument, 0, OPT_CONN},
        {"duration", required_argument, 0, OPT_DUR},
        {"warmup", required_argument, 0, OPT_WARM},
        {"requests", required_argument, 0, OPT_REQ},
        {"body", required_argument, 0, OPT_BODY},
        {"bodies", required_argument, 0, OPT_BODIES},
        {"expect", required_argument, 0, OPT_EXPECT},
        {"pipeline", required_argument, 0, OPT_PIPE},
        {"path", required_argument, 0, OPT_PATH},
        {"hold", required_argument, 0, OPT_HOLD},
        {"rearm", no_argument, 0, OPT_REARM},
        {"interval", required_argument, 0, OPT_INTERVAL},
        {"timeout", required_argument, 0, OPT_TIMEOUT},
        {"connect-burst", required_argument, 0, OPT_BURST},
        {"kernel-ports", no_argument, 0, OPT_KPORTS},
        {"quiet", no_argument, 0, OPT_QUIET},
        {"help", no_argument, 0, OPT_HELP},
        {0, 0, 0, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (o) {
        case OPT_TCP: opt.tcp = optarg; break;
        case OPT_UNIX: opt.unix_path = optarg; break;
        case OPT_CONN: opt.connections = (unsigned)parse_u64(optarg, "--connections"); break;
        case OPT_DUR: opt.duration = parse_double(optarg, "--duration"); break;
        case OPT_WARM: opt.warmup = parse_double(optarg, "--warmup"); break;
        case OPT_REQ: opt.requests = parse_u64(optarg, "--requests"); break;
        case OPT_BODY: {
            size_t n;
            char *b = read_file(optarg, &n);
            /* add_request needs the target for the Host header; defer by storing raw */
            opt.reqs = xrealloc(opt.reqs, (opt.nreqs + 1) * sizeof(request));
            opt.reqs[opt.nreqs].data = b;
            opt.reqs[opt.nreqs].len = n;
            opt.nreqs++;
            break;
        }
        case OPT_BODIES: {
            size_t n;
            char *b = read_file(optarg, &n);
            size_t i = 0;
            while (i < n) {
                char *nl = memchr(b + i, '\n', n - i);
                size_t e = nl ? (size_t)(nl - b) : n;
                if (e > i) {
                    opt.reqs = xrealloc(opt.reqs, (opt.nreqs + 1) * sizeof(request));
                    opt.reqs[opt.nreqs].data = xmalloc(e - i);
                    memcpy(opt.reqs[opt.nreqs].data, b + i, e - i);
                    opt.reqs[opt.nreqs].len = e - i;
                    opt.nreqs++;
                }
                i = e + 1;
            }
            free(b);
            break;
        }
        case OPT_EXPECT: opt.expect = optarg; opt.expect_len = strlen(optarg); break;
        case OPT_PIPE: opt.pipeline = (unsigned)parse_u64(optarg, "--pipeline"); break;
        case OPT_PATH: opt.path = optarg; break;
        case OPT_HOLD: opt.hold = (unsigned)parse_u64(optarg, "--hold"); break;
        case OPT_REARM: opt.rearm = true; break;
        case OPT_INTERVAL: opt.interval = parse_double(optarg, "--interval"); break;
        case OPT_TIMEOUT: opt.timeout = parse_double(optarg, "--timeout"); break;
        case OPT_BURST: opt.connect_burst = (unsigned)parse_u64(optarg, "--connect-burst"); break;
        case OPT_KPORTS: opt.kernel_ports = true; break;
        case OPT_QUIET: opt.quiet = true; break;
        case OPT_HELP: usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || (!opt.tcp == !opt.unix_path)) {
        usage(stderr);
        die("give exactly one of --tcp or --unix");
    }
    if (opt.nreqs == 0)
        die("--body FILE is required");
    if (opt.hold)
        opt.connections = opt.hold;
    if (opt.connections < 1 || opt.connections > MAX_CONNECTIONS)
        die("--connections must be 1..%d", MAX_CONNECTIONS);
    if (opt.pipeline < 1 || opt.pipeline > MAX_PIPELINE)
        die("--pipeline must be 1..%d", MAX_PIPELINE);
    if (opt.connect_burst < 1)
        opt.connect_burst = 1;
    if (opt.interval <= 0)
        opt.interval = 1;
    if (opt.duration == 0)
        opt.duration = opt.requests ? 600 : 10; /* always bounded */

    /* turn the raw bodies into full requests */
    {
        size_t nb = opt.nreqs;
        request *bodies = opt.reqs;
        opt.reqs = NULL;
        opt.nreqs = 0;
        for (size_t i = 0; i < nb; i++) {
            add_request(bodies[i].data, bodies[i].len);
            free(bodies[i].data);
        }
        free(bodies);
    }

    resolve_target();
    raise_nofile(opt.connections);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1: %s", strerror(errno));

    conns = calloc(opt.connections, sizeof(conn));
    if (!conns)
        die("out of memory");
    for (unsigned i = 0; i < opt.connections; i++) {
        conns[i].fd = -1;
        conns[i].id = i;
        conns[i].req = &opt.reqs[i % opt.nreqs];
        conns[i].state = C_IDLE;
    }

    uint64_t start = now_us();
    uint64_t warm_end = start + (uint64_t)(opt.warmup * 1e6);
    uint64_t end = warm_end + (uint64_t)(opt.duration * 1e6);
    uint64_t next_report = start + (uint64_t)(opt.interval * 1e6);
    uint64_t timeout_us = (uint64_t)(opt.timeout * 1e6);
    uint64_t last_timeout_scan = start;
    bool measuring = opt.warmup <= 0;
    uint64_t measure_start = start;
    uint64_t last_done_at = start;
    unsigned next_to_connect = 0;
    bool gave_up = false;
    struct epoll_event evs[512];

    for (;;) {
        uint64_t now = now_us();
        if (stop_signal)
            break;
        if (now >= end)
            break;
        if (st.connects == 0 && now - start > 5000000u) {
            fprintf(stderr, "xload: no connection to %s succeeded within 5 s, giving up\n",
                    opt.unix_path ? opt.unix_path : opt.tcp);
            gave_up = true;
            break;
        }
        if (!measuring && now >= warm_end) {
            measuring = true;
            measure_start = now;
            memset(&st.lat, 0, sizeof(st.lat));
        }
        if (opt.requests && !opt.hold && st.sent >= opt.requests) {
            /* every request sent: stop when all are answered or lost */
            unsigned outstanding = 0;
            for (unsigned i = 0; i < opt.connections && !outstanding; i++)
                outstanding += conns[i].inflight + conns[i].to_send;
            if (!outstanding)
                break;
        }
        /* open new connections, a burst at a time */
        for (unsigned k = 0; next_to_connect < opt.connections && n_connecting < opt.connect_burst; k++) {
            if ((k & 63) == 63 && (now = now_us()) >= end)
                break;
            conn_start(&conns[next_to_connect++], now);
        }
        /* due reconnects (FIFO; delays only grow, so stop at the first not yet due) */
        while (retry_head && retry_head->retry_at <= now && n_connecting < opt.connect_burst) {
            conn *c = retry_head;
            retry_head = c->next_retry;
            if (!retry_head)
                retry_tail = NULL;
            c->next_retry = NULL;
            c->state = C_IDLE;
            if (!sending_stopped)
                conn_start(c, now);
        }
        /* per-request timeout, checked every 100 ms */
        if (timeout_us && now - last_timeout_scan > 100000) {
            last_timeout_scan = now;
            for (unsigned i = 0; i < opt.connections; i++) {
                conn *c = &conns[i];
                if (c->state == C_OPEN && c->inflight &&
                    now - c->sent_at[c->sent_head % MAX_PIPELINE] > timeout_us) {
                    st.err_timeout += c->inflight;
                    if (opt.requests)
                        st.sent -= c->inflight;
                    c->inflight = 0;
                    conn_close(c, now, false);
                }
            }
        }
        if (opt.hold && now >= next_report) {
            next_report = now + (uint64_t)(opt.interval * 1e6);
            unsigned waiting = 0;
            for (unsigned i = 0; i < opt.connections; i++)
                if (conns[i].state == C_OPEN && conns[i].inflight && conns[i].to_send == 0)
                    waiting++;
            printf("HOLD t=%.1f waiting=%u open=%u completed=%" PRIu64 " errors=%" PRIu64
                   " connect_errors=%" PRIu64 "\n",
                   (double)(now - start) / 1e6, waiting, n_open, st.done,
                   st.err_status + st.err_expect + st.err_parse + st.err_closed + st.err_timeout,
                   st.err_connect);
            fflush(stdout);
        }

        int wait_ms = 50;
        if (retry_head || next_to_connect < opt.connections)
            wait_ms = 5;
        uint64_t left = end - now;
        if (left / 1000 < (uint64_t)wait_ms)
            wait_ms = (int)(left / 1000) + 1;
        int n = epoll_wait(epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), wait_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait: %s", strerror(errno));
        }
        now = now_us();
        uint64_t done_before = st.done;
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            uint32_t e = evs[i].events;
            if (c->state == C_CONNECTING) {
                if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                    conn_on_connected(c, now);
                continue;
            }
            if (c->state != C_OPEN)
                continue;
            if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                conn_on_readable(c, now, measuring);
                if (c->state != C_OPEN)
                    continue;
            }
            if ((e & EPOLLOUT) && c->want_out)
                conn_send_more(c, now);
        }
        if (st.done != done_before)
            last_done_at = now;
    }

    uint64_t stop = now_us();
    sending_stopped = true;
    double elapsed;
    if (opt.requests && !opt.hold && st.sent >= opt.requests && !stop_signal && stop < end)
        elapsed = (double)(last_done_at - measure_start) / 1e6;
    else
        elapsed = (double)(stop - measure_start) / 1e6;
    if (!measuring)
        elapsed = 0;

    if (opt.hold) {
        unsigned waiting = 0;
        for (unsigned i = 0; i < opt.connections; i++)
            if (conns[i].state == C_OPEN && conns[i].inflight && conns[i].to_send == 0)
                waiting++;
        printf("HOLD-END waiting=%u open=%u completed=%" PRIu64 "\n", waiting, n_open, st.done);
    }
    print_report(elapsed);

    for (unsigned i = 0; i < opt.connections; i++) {
        if (conns[i].fd >= 0)
            close(conns[i].fd);
        free(conns[i].rbuf);
        free(conns[i].body);
    }
    free(conns);
    for (size_t i = 0; i < opt.nreqs; i++)
        free(opt.reqs[i].data);
    free(opt.reqs);
    close(epfd);
    return gave_up ? 1 : 0;
}
