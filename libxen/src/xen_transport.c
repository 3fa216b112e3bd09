/* libxen: the ready transport.  http and https through libcurl, loaded
 * (dlopen) on the first such call; the local Unix socket spoken here, HTTP/1.1
 * on one kept-alive connection, so that a local client (xm) does not load
 * libcurl and the ~30 libraries it brings (TLS, SSH, LDAP, Kerberos...) on
 * every start: 85% of xm's instructions and 70% of its page faults went to
 * linking them in. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>      /* its types and codes; the library is dlopen()ed */

#include <xen/api/xen_common.h>
#include <xen/api/xen_transport.h>

#define READ_BUF (512 * 1024)       /* large replies in few reads (35 MB for 10,000 VMs) */
#define MAX_LINE (16 * 1024)        /* a status, header or chunk-size line */

struct xen_transport {
    CURL *curl;
    char *url;           /* what curl connects to */
    char *unix_path;     /* NULL for TCP */
    char *ca_file;
    bool verify;
    long timeout;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    int fd;              /* the Unix socket's connection, -1 when none */
    char *buf;           /* its reads: [start, end) not yet taken */
    size_t start, end;
    size_t got;          /* bytes read for the call under way */
    int64_t deadline_ms; /* of the call under way, 0 for none */
};

typedef struct sink {
    xen_result_func func;
    void *handle;
} sink;

/* The libcurl functions used, once loaded. */
static struct curl_api {
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *c);
    void (*easy_reset)(CURL *c);
    CURLcode (*easy_setopt)(CURL *c, CURLoption o, ...);
    CURLcode (*easy_perform)(CURL *c);
    CURLcode (*easy_getinfo)(CURL *c, CURLINFO i, ...);
    const char *(*easy_strerror)(CURLcode rc);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
} cu;
static bool curl_loaded;
static char curl_load_error[256];
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void load_curl(void)
{
#ifdef XEN_CURL_LINKED
    cu = (struct curl_api){ curl_global_init, curl_global_cleanup, curl_easy_init, curl_easy_cleanup,
                            curl_easy_reset, curl_easy_setopt, curl_easy_perform, curl_easy_getinfo,
                            curl_easy_strerror, curl_slist_append, curl_slist_free_all };
#else
    void *h = dlopen(XEN_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(curl_load_error, sizeof curl_load_error, "cannot load libcurl: %s", dlerror());
        return;
    }
    static const struct {
        const char *name;
        size_t off;
    } fns[] = {
#define FN(f, n) { n, offsetof(struct curl_api, f) }
        FN(global_init, "curl_global_init"), FN(global_cleanup, "curl_global_cleanup"),
        FN(easy_init, "curl_easy_init"), FN(easy_cleanup, "curl_easy_cleanup"),
        FN(easy_reset, "curl_easy_reset"), FN(easy_setopt, "curl_easy_setopt"),
        FN(easy_perform, "curl_easy_perform"), FN(easy_getinfo, "curl_easy_getinfo"),
        FN(easy_strerror, "curl_easy_strerror"), FN(slist_append, "curl_slist_append"),
        FN(slist_free_all, "curl_slist_free_all"),
#undef FN
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        void *f = dlsym(h, fns[i].name);
        if (!f) {
            snprintf(curl_load_error, sizeof curl_load_error, "libcurl has no %s", fns[i].name);
            dlclose(h);
            return;
        }
        /* POSIX: a function's address from dlsym() is stored through void * */
        memcpy((char *)&cu + fns[i].off, &f, sizeof f);
    }
#endif
    if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(curl_load_error, sizeof curl_load_error, "libcurl's initialisation failed");
        return;
    }
    curl_loaded = true;
}

/* libcurl is loaded and initialised by the first http or https call. */
void xen_init(void)
{
}

void xen_fini(void)
{
    if (curl_loaded)
        cu.global_cleanup();
}

xen_transport *xen_transport_new(const char *url)
{
    if (!url)
        return NULL;
    xen_transport *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->verify = true;
    t->fd = -1;
    if (strncmp(url, "unix://", 7) == 0 || strncmp(url, "unix:/", 6) == 0) {
        const char *path = url + (strncmp(url, "unix://", 7) == 0 ? 7 : 5);
        if (path[0] != '/')
            goto fail;
        t->unix_path = strdup(path);
        /* The host part is not used for the connection; xend ignores the path. */
        t->url = strdup("http://localhost/");
        if (!t->unix_path || !t->url)
            goto fail;
    } else if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
        t->url = strdup(url);
        if (!t->url)
            goto fail;
    } else {
        goto fail;
    }
    return t;
fail:
    xen_transport_free(t);
    return NULL;
}

bool xen_transport_set_ca_file(xen_transport *t, const char *path)
{
    if (!t || !path)
        return false;
    char *c = strdup(path);
    if (!c)
        return false;
    free(t->ca_file);
    t->ca_file = c;
    return true;
}

void xen_transport_set_verify(xen_transport *t, bool verify)
{
    if (t)
        t->verify = verify;
}

void xen_transport_set_timeout(xen_transport *t, long seconds)
{
    if (t)
        t->timeout = seconds > 0 ? seconds : 0;
}

void xen_transport_free(xen_transport *t)
{
    if (!t)
        return;
    if (t->curl)
        cu.easy_cleanup(t->curl);
    if (t->headers)
        cu.slist_free_all(t->headers);
    if (t->fd >= 0)
        close(t->fd);
    free(t->buf);
    free(t->url);
    free(t->unix_path);
    free(t->ca_file);
    free(t);
}

const char *xen_transport_last_error(const xen_transport *t)
{
    return t ? t->errbuf : "";
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    sink *k = userdata;
    size_t n = size * nmemb;
    return k->func(ptr, n, k->handle) ? n : 0;
}

static int curl_call(xen_transport *t, const void *data, size_t len, sink *k)
{
    pthread_once(&curl_once, load_curl);
    if (!curl_loaded) {
        snprintf(t->errbuf, sizeof t->errbuf, "%s", curl_load_error);
        return CURLE_FAILED_INIT;
    }
    if (!t->headers) {
        struct curl_slist *h = cu.slist_append(NULL, "Content-Type: text/xml");
        struct curl_slist *h2 = h ? cu.slist_append(h, "Expect:") : NULL;
        if (!h2) {
            if (h)
                cu.slist_free_all(h);
            snprintf(t->errbuf, sizeof t->errbuf, "out of memory");
            return CURLE_OUT_OF_MEMORY;
        }
        t->headers = h2;
    }
    if (!t->curl) {
        t->curl = cu.easy_init();
        if (!t->curl) {
            snprintf(t->errbuf, sizeof t->errbuf, "libcurl cannot make a handle");
            return CURLE_FAILED_INIT;
        }
    } else {
        cu.easy_reset(t->curl);   /* keeps the connection cache */
    }
    CURL *c = t->curl;
    cu.easy_setopt(c, CURLOPT_URL, t->url);
    cu.easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
    cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cu.easy_setopt(c, CURLOPT_NOPROGRESS, 1L);
    cu.easy_setopt(c, CURLOPT_POST, 1L);
    cu.easy_setopt(c, CURLOPT_POSTFIELDS, data);
    cu.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    cu.easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
    cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    cu.easy_setopt(c, CURLOPT_BUFFERSIZE, (long)READ_BUF);
    cu.easy_setopt(c, CURLOPT_WRITEDATA, k);
    cu.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, t->verify ? 1L : 0L);
    cu.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, t->verify ? 2L : 0L);
    if (t->ca_file)
        cu.easy_setopt(c, CURLOPT_CAINFO, t->ca_file);
    if (t->timeout)
        cu.easy_setopt(c, CURLOPT_TIMEOUT, t->timeout);
    cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    CURLcode rc = cu.easy_perform(c);
    if (rc != CURLE_OK) {
        if (!t->errbuf[0])
            snprintf(t->errbuf, sizeof t->errbuf, "%s", cu.easy_strerror(rc));
        return (int)rc;
    }
    long status = 0;
    cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return (int)status;
}

/* ---- the local socket ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void drop_conn(xen_transport *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    t->start = t->end = 0;
}

/* Fail the call with code: the connection is dropped and errbuf says why. */
static int sock_fail(xen_transport *t, int code, const char *what, int err)
{
    if (err)
        snprintf(t->errbuf, sizeof t->errbuf, "%s (%s): %s", what, t->unix_path, strerror(err));
    else
        snprintf(t->errbuf, sizeof t->errbuf, "%s (%s)", what, t->unix_path);
    drop_conn(t);
    return code;
}

/* Wait until fd is ready for events within the call's time limit: 0, or
 * CURLE_OPERATION_TIMEDOUT. */
static int sock_wait(xen_transport *t, short events)
{
    if (!t->deadline_ms)
        return 0;
    for (;;) {
        int64_t left = t->deadline_ms - now_ms();
        if (left <= 0)
            return CURLE_OPERATION_TIMEDOUT;
        struct pollfd p = { t->fd, events, 0 };
        int n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return 0;   /* the read or write that follows reports it */
    }
}

static int sock_connect(xen_transport *t)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(t->unix_path) >= sizeof a.sun_path)
        return sock_fail(t, CURLE_COULDNT_CONNECT, "socket path too long", 0);
    memcpy(a.sun_path, t->unix_path, strlen(t->unix_path) + 1);
    t->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (t->fd < 0)
        return sock_fail(t, CURLE_COULDNT_CONNECT, "cannot make a socket", errno);
    while (connect(t->fd, (struct sockaddr *)&a, sizeof a) != 0)
        if (errno != EINTR)
            return sock_fail(t, CURLE_COULDNT_CONNECT, "cannot connect to the server's socket", errno);
    t->start = t->end = 0;
    return 0;
}

static int sock_send(xen_transport *t, const void *data, size_t len)
{
    char head[160];
    int hn = snprintf(head, sizeof head, "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
                      "Content-Length: %zu\r\n\r\n", len);
    struct iovec v[2] = { { head, (size_t)hn }, { (void *)data, len } };
    struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };
    while (m.msg_iovlen) {
        int w = sock_wait(t, POLLOUT);
        if (w)
            return sock_fail(t, w, "timed out sending the call", 0);
        ssize_t n = sendmsg(t->fd, &m, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sock_fail(t, CURLE_SEND_ERROR, "cannot send the call", errno);
        size_t left = (size_t)n;
        while (m.msg_iovlen && left >= m.msg_iov[0].iov_len) {
            left -= m.msg_iov[0].iov_len;
            m.msg_iov++;
            m.msg_iovlen--;
        }
        if (m.msg_iovlen) {
            m.msg_iov[0].iov_base = (char *)m.msg_iov[0].iov_base + left;
            m.msg_iov[0].iov_len -= left;
        }
    }
    return 0;
}

#define SOCK_EOF (-1)      /* sock_more: the server closed the connection */

/* More bytes into the read buffer: 0; SOCK_EOF (the connection dropped,
 * nothing said) or a code (dropped, errbuf says why). */
static int sock_more(xen_transport *t)
{
    if (!t->buf && !(t->buf = malloc(READ_BUF)))
        return sock_fail(t, CURLE_OUT_OF_MEMORY, "out of memory", 0);
    if (t->start == t->end) {
        t->start = t->end = 0;
    } else if (t->end == READ_BUF) {
        memmove(t->buf, t->buf + t->start, t->end - t->start);
        t->end -= t->start;
        t->start = 0;
    }
    for (;;) {
        int w = sock_wait(t, POLLIN);
        if (w)
            return sock_fail(t, w, "timed out waiting for the reply", 0);
        ssize_t n = read(t->fd, t->buf + t->end, READ_BUF - t->end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            drop_conn(t);
            return SOCK_EOF;
        }
        if (n < 0)
            return sock_fail(t, CURLE_RECV_ERROR, "cannot read the reply", errno);
        t->end += (size_t)n;
        t->got += (size_t)n;
        return 0;
    }
}

/* A code for the server closing the connection where the reply is not
 * complete. */
static int closed_early(xen_transport *t, int rc)
{
    return rc == SOCK_EOF ? sock_fail(t, CURLE_RECV_ERROR, "the server closed the connection", 0) : rc;
}

/* The next line (without its CR LF), NUL-terminated in the buffer. */
static int sock_line(xen_transport *t, char **line)
{
    for (;;) {
        char *p = t->buf ? memchr(t->buf + t->start, '\n', t->end - t->start) : NULL;
        if (p) {
            *line = t->buf + t->start;
            t->start = (size_t)(p - t->buf) + 1;
            if (p > *line && p[-1] == '\r')
                p--;
            *p = '\0';
            return 0;
        }
        if (t->buf && t->end - t->start >= MAX_LINE)
            return sock_fail(t, CURLE_WEIRD_SERVER_REPLY, "a line of the reply is too long", 0);
        int rc = sock_more(t);
        if (rc)
            return rc;
    }
}

/* want bytes of body (UINT64_MAX: until the server closes) to k. */
static int sock_body(xen_transport *t, uint64_t want, sink *k)
{
    bool until_close = want == UINT64_MAX;
    while (want) {
        if (t->start == t->end) {
            int rc = sock_more(t);
            if (rc)
                return until_close && rc == SOCK_EOF ? 0 : closed_early(t, rc);
        }
        size_t n = t->end - t->start;
        if (n > want)
            n = (size_t)want;
        if (!k->func(t->buf + t->start, n, k->handle))
            return sock_fail(t, CURLE_WRITE_ERROR, "the reply was refused (not XML-RPC, or out of memory)", 0);
        t->start += n;
        want -= n;
    }
    return 0;
}

static bool parse_size(const char *s, int base, uint64_t *v)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '-' || *s == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, base);
    if (end == s || errno || (*end && *end != ';' && *end != ' ' && *end != '\t'))
        return false;
    *v = x;
    return true;
}

/* The reply's status, headers and body (to k): 0 and *status, SOCK_EOF
 * when the server closed the connection before the reply, or a code. */
static int sock_reply(xen_transport *t, sink *k, long *status)
{
    char *line;
    int rc;
    bool keep, chunked;
    uint64_t length;
    do {
        if ((rc = sock_line(t, &line)))
            return rc;
        int minor = 0, code = 0;
        if (sscanf(line, "HTTP/1.%d %3d", &minor, &code) != 2 || code < 100)
            return sock_fail(t, CURLE_WEIRD_SERVER_REPLY, "the server's reply is not HTTP", 0);
        *status = code;
        keep = minor >= 1;
        length = UINT64_MAX;
        chunked = false;
        for (;;) {
            if ((rc = sock_line(t, &line)))
                return closed_early(t, rc);
            if (!*line)
                break;
            char *colon = strchr(line, ':');
            if (!colon)
                continue;
            *colon = '\0';
            char *v = colon + 1;
            if (strcasecmp(line, "Content-Length") == 0 && !parse_size(v, 10, &length))
                return sock_fail(t, CURLE_WEIRD_SERVER_REPLY, "a bad Content-Length in the reply", 0);
            if (strcasecmp(line, "Transfer-Encoding") == 0 && strcasestr(v, "chunked"))
                chunked = true;
            if (strcasecmp(line, "Connection") == 0 && strcasestr(v, "close"))
                keep = false;
        }
    } while (*status < 200);     /* 1xx: an interim reply, the real one follows */
    if (*status == 204 || *status == 304) {
        length = 0;
        chunked = false;
    }
    if (!chunked) {
        if (length == UINT64_MAX)
            keep = false;        /* the body ends with the connection */
        rc = sock_body(t, length, k);
    } else {
        for (;;) {
            uint64_t n;
            if ((rc = closed_early(t, sock_line(t, &line))))
                break;
            if (!parse_size(line, 16, &n)) {
                rc = sock_fail(t, CURLE_WEIRD_SERVER_REPLY, "a bad chunk size in the reply", 0);
                break;
            }
            if (n == 0) {        /* the trailer, to its empty line */
                while (!(rc = closed_early(t, sock_line(t, &line))) && *line)
                    ;
                break;
            }
            if ((rc = sock_body(t, n, k)) || (rc = closed_early(t, sock_line(t, &line))))
                break;
            if (*line) {
                rc = sock_fail(t, CURLE_WEIRD_SERVER_REPLY, "a chunk of the reply is longer than it said", 0);
                break;
            }
        }
    }
    if (!rc && !keep)
        drop_conn(t);
    return rc;
}

static int sock_call(xen_transport *t, const void *data, size_t len, sink *k)
{
    t->deadline_ms = t->timeout ? now_ms() + (int64_t)t->timeout * 1000 : 0;
    if (t->fd >= 0 && t->start != t->end)
        drop_conn(t);            /* bytes nobody asked for: start afresh */
    for (int attempt = 0;; attempt++) {
        bool reused = t->fd >= 0;
        t->got = 0;
        int rc = reused ? 0 : sock_connect(t);
        if (!rc)
            rc = sock_send(t, data, len);
        long status = 0;
        if (!rc)
            rc = sock_reply(t, k, &status);
        if (!rc)
            return (int)status;
        /* a kept-alive connection the server closed before this call came:
         * once more on a new one, as libcurl does */
        if (reused && !attempt && !t->got && (rc == SOCK_EOF || rc == CURLE_SEND_ERROR)) {
            t->errbuf[0] = '\0';
            continue;
        }
        return closed_early(t, rc);
    }
}

int xen_transport_call(const void *data, size_t len, void *user_handle,
                       void *result_handle, xen_result_func result_func)
{
    xen_transport *t = user_handle;
    sink k = { result_func, result_handle };
    if (!t)
        return CURLE_FAILED_INIT;
    t->errbuf[0] = '\0';
    int status = t->unix_path ? sock_call(t, data, len, &k) : curl_call(t, data, len, &k);
    if (t->errbuf[0])
        return status;
    if (status < 200 || status > 299) {
        snprintf(t->errbuf, sizeof t->errbuf, "HTTP status %d", status);
        return status > 0 ? status : -1;
    }
    return 0;
}

xen_session *xen_session_login_url_ca(const char *url, const char *ca_file,
                                      const char *uname, const char *pwd)
{
    xen_transport *t = xen_transport_new(url);
    if (!t)
        return NULL;
    if (ca_file && !xen_transport_set_ca_file(t, ca_file)) {
        xen_transport_free(t);
        return NULL;
    }
    xen_session *s = xen_session_login_with_password(xen_transport_call, t, uname, pwd);
    if (!s) {
        xen_transport_free(t);
        return NULL;
    }
    s->owned_transport_ = t;
    return s;
}

xen_session *xen_session_login_url(const char *url, const char *uname, const char *pwd)
{
    return xen_session_login_url_ca(url, NULL, uname, pwd);
}
