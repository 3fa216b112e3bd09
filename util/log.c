/* log: see log.h. */
#include "config.h"

#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

typedef enum { XLOG_TO_STDERR, XLOG_TO_FILE, XLOG_TO_SYSLOG } xlog_target;

static pthread_mutex_t xlog_lock = PTHREAD_MUTEX_INITIALIZER;
static xlog_target xlog_to = XLOG_TO_STDERR;   /* under xlog_lock */
static int xlog_fd = -1;                       /* under xlog_lock */
static char *xlog_path;                        /* under xlog_lock */
static bool xlog_foreground = true;            /* under xlog_lock */
static bool xlog_journal;                      /* under xlog_lock: stderr is journald's stream */
static atomic_int xlog_cur_level = XLOG_INFO;

static const char *const xlog_names[] = { "error", "warning", "info", "debug" };

const char *xlog_level_name(xlog_level lvl)
{
    if ((unsigned)lvl > XLOG_DEBUG)
        return "unknown";
    return xlog_names[lvl];
}

bool xlog_level_parse(const char *name, xlog_level *out)
{
    for (unsigned i = 0; i <= XLOG_DEBUG; i++) {
        if (name && strcmp(name, xlog_names[i]) == 0) {
            *out = (xlog_level)i;
            return true;
        }
    }
    return false;
}

/* The filters (under xlog_lock) and their generation: a domain whose
 * cached generation differs looks its level up again. */
typedef struct xfilter {
    char *name;                 /* a domain, or "*" */
    xlog_level level;
} xfilter;
static xfilter *xlog_filters;
static size_t xlog_nfilters;
static atomic_uint xlog_gen = 1;

void xlog_set_level(xlog_level level)
{
    atomic_store(&xlog_cur_level, (int)level);
    atomic_fetch_add(&xlog_gen, 1);
}

xlog_level xlog_get_level(void)
{
    return (xlog_level)atomic_load(&xlog_cur_level);
}

bool xlog_enabled(xlog_level lvl)
{
    return (int)lvl <= atomic_load(&xlog_cur_level);
}

/* ---- domains and filters ---- */

static int xlog_domain_level_locked(const char *name)
{
    int star = -1;
    for (size_t i = 0; i < xlog_nfilters; i++) {
        if (strcmp(xlog_filters[i].name, name) == 0)
            return (int)xlog_filters[i].level;
        if (strcmp(xlog_filters[i].name, "*") == 0)
            star = (int)xlog_filters[i].level;
    }
    return star >= 0 ? star : atomic_load(&xlog_cur_level);
}

bool xlog_domain_enabled(xlog_domain *d, xlog_level lvl)
{
    unsigned g = atomic_load_explicit(&xlog_gen, memory_order_acquire);
    if (atomic_load_explicit(&d->gen, memory_order_acquire) != g) {
        pthread_mutex_lock(&xlog_lock);
        g = atomic_load(&xlog_gen);     /* filters change under xlog_lock */
        atomic_store_explicit(&d->level, xlog_domain_level_locked(d->name), memory_order_relaxed);
        atomic_store_explicit(&d->gen, g, memory_order_release);
        pthread_mutex_unlock(&xlog_lock);
    }
    return (int)lvl <= atomic_load_explicit(&d->level, memory_order_relaxed);
}

/* Parses spec into filters (*out, *n_r; NULL, 0 for an empty spec). */
static bool xlog_filters_parse(const char *spec, xfilter **out, size_t *n_r, char **err_r)
{
    *out = NULL;
    *n_r = 0;
    xfilter *f = NULL;
    size_t n = 0;
    const char *p = spec ? spec : "";
    for (;;) {
        p += strspn(p, " \t,");
        if (!*p)
            break;
        size_t len = strcspn(p, " \t,");
        const char *eq = memchr(p, '=', len);
        xlog_level lvl;
        char level[16];
        size_t nl = eq ? (size_t)(eq - p) : 0, ll = eq ? len - nl - 1 : 0;
        bool name_ok = nl > 0 && nl <= 32;
        for (size_t i = 0; name_ok && i < nl; i++) {
            char c = p[i];
            name_ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                      (c == '*' && nl == 1);
        }
        if (name_ok && ll < sizeof level) {
            memcpy(level, eq + 1, ll);
            level[ll] = '\0';
        }
        if (!name_ok || ll >= sizeof level || !xlog_level_parse(level, &lvl)) {
            if (err_r && asprintf(err_r, "log filter '%.*s': expected domain=level (level: error, warning, "
                                  "info or debug)", (int)(len > 64 ? 64 : len), p) < 0)
                *err_r = NULL;
            for (size_t i = 0; i < n; i++)
                free(f[i].name);
            free(f);
            return false;
        }
        xfilter *nf = realloc(f, (n + 1) * sizeof(*f));
        char *name = strndup(p, nl);
        if (!nf || !name)
            abort();
        f = nf;
        f[n].name = name;
        f[n].level = lvl;
        n++;
        p += len;
    }
    *out = f;
    *n_r = n;
    return true;
}

bool xlog_filters_check(const char *spec, char **err_r)
{
    xfilter *f;
    size_t n;
    if (!xlog_filters_parse(spec, &f, &n, err_r))
        return false;
    for (size_t i = 0; i < n; i++)
        free(f[i].name);
    free(f);
    return true;
}

bool xlog_set_filters(const char *spec, char **err_r)
{
    xfilter *f, *old;
    size_t n, nold;
    if (!xlog_filters_parse(spec, &f, &n, err_r))
        return false;
    pthread_mutex_lock(&xlog_lock);
    old = xlog_filters;
    nold = xlog_nfilters;
    xlog_filters = f;
    xlog_nfilters = n;
    atomic_fetch_add(&xlog_gen, 1);
    pthread_mutex_unlock(&xlog_lock);
    for (size_t i = 0; i < nold; i++)
        free(old[i].name);
    free(old);
    return true;
}

char *xlog_get_filters(void)
{
    size_t cap = 1, len = 0;
    pthread_mutex_lock(&xlog_lock);
    for (size_t i = 0; i < xlog_nfilters; i++)
        cap += strlen(xlog_filters[i].name) + 10;
    char *s = malloc(cap);
    if (!s)
        abort();
    s[0] = '\0';
    for (size_t i = 0; i < xlog_nfilters; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%s=%s", i ? "," : "", xlog_filters[i].name,
                                xlog_level_name(xlog_filters[i].level));
    pthread_mutex_unlock(&xlog_lock);
    return s;
}

static void xlog_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

static int xlog_syslog_prio(xlog_level lvl)
{
    switch (lvl) {
    case XLOG_ERROR: return LOG_ERR;
    case XLOG_WARNING: return LOG_WARNING;
    case XLOG_INFO: return LOG_INFO;
    default: return LOG_DEBUG;
    }
}

/* True when stderr is the stream systemd connected to the journal
 * ($JOURNAL_STREAM is "device:inode" of that stream, see systemd.exec(5)):
 * then lines carry their syslog priority as a "<N>" prefix and no
 * timestamp of their own. */
static bool xlog_stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
           (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Writes one already formatted message; caller holds xlog_lock. */
static void xlog_emit_locked(xlog_level lvl, const char *msg)
{
    if (xlog_to == XLOG_TO_SYSLOG) {
        syslog(LOG_DAEMON | xlog_syslog_prio(lvl), "%s", msg);
        return;
    }
    if (xlog_to == XLOG_TO_STDERR && xlog_journal) {
        char head[16];
        int hl = snprintf(head, sizeof head, "<%d>%s: ", xlog_syslog_prio(lvl), xlog_level_name(lvl));
        struct iovec iov[3] = { { head, (size_t)hl }, { (void *)msg, strlen(msg) }, { (void *)"\n", 1 } };
        while (writev(STDERR_FILENO, iov, 3) < 0 && errno == EINTR)
            ;
        return;
    }

    struct timespec ts;
    struct tm tm;
    char stamp[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);

    char head[96];
    int hlen = snprintf(head, sizeof head, "%s xend[%ld]: %s: ", stamp,
                (long)getpid(), xlog_level_name(lvl));
    if (hlen < 0)
        return;
    if ((size_t)hlen >= sizeof head)
        hlen = (int)sizeof head - 1;

    size_t mlen = strlen(msg);
    char small[1024];
    char *line = small;
    size_t total = (size_t)hlen + mlen + 1;
    if (total > sizeof small) {
        line = malloc(total);
        if (!line) {
            line = small;       /* truncate rather than lose it */
            mlen = sizeof small - (size_t)hlen - 1;
            total = sizeof small;
        }
    }
    memcpy(line, head, (size_t)hlen);
    memcpy(line + hlen, msg, mlen);
    line[total - 1] = '\n';

    int fd = (xlog_to == XLOG_TO_FILE && xlog_fd >= 0) ? xlog_fd : STDERR_FILENO;
    xlog_write_all(fd, line, total);
    if (line != small)
        free(line);
}

/* Formats and writes one message, prefixed with "domain: " when given. */
static void xlog_format(xlog_level lvl, const char *domain, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

void xlogv(xlog_level lvl, const char *fmt, va_list ap)
{
    if (!xlog_enabled(lvl))
        return;
    xlog_format(lvl, NULL, fmt, ap);
}

void xlog_in(xlog_domain *d, xlog_level lvl, const char *fmt, ...)
{
    if (!xlog_domain_enabled(d, lvl))
        return;
    va_list ap;
    va_start(ap, fmt);
    xlog_format(lvl, d->name, fmt, ap);
    va_end(ap);
}

static void xlog_format(xlog_level lvl, const char *domain, const char *fmt, va_list ap)
{
    int saved_errno = errno;

    char small[512];
    char *msg = small;
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(small, sizeof small, fmt, aq);
    va_end(aq);
    if (n < 0) {
        snprintf(small, sizeof small, "(unformattable log message: %s)", fmt);
        n = (int)strlen(small);
    } else if ((size_t)n >= sizeof small) {
        char *big = malloc((size_t)n + 1);
        if (big) {
            vsnprintf(big, (size_t)n + 1, fmt, ap);
            msg = big;
        } else {
            n = (int)sizeof small - 1;
        }
    }

    /* One message, one line: drop trailing newlines, neutralise the rest. */
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    for (int i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)msg[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            msg[i] = '?';
    }

    char *line = msg, *prefixed = NULL;
    if (domain) {
        if (asprintf(&prefixed, "%s: %s", domain, msg) < 0)
            prefixed = NULL;
        if (prefixed)
            line = prefixed;
    }
    pthread_mutex_lock(&xlog_lock);
    xlog_emit_locked(lvl, line);
    pthread_mutex_unlock(&xlog_lock);

    free(prefixed);
    if (msg != small)
        free(msg);
    errno = saved_errno;
}

void xlog(xlog_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xlogv(lvl, fmt, ap);
    va_end(ap);
}

/* Drops the current target; caller holds xlog_lock. */
static void xlog_reset_locked(void)
{
    if (xlog_fd >= 0)
        close(xlog_fd);
    xlog_fd = -1;
    if (xlog_to == XLOG_TO_SYSLOG)
        closelog();
    xlog_to = XLOG_TO_STDERR;
    free(xlog_path);
    xlog_path = NULL;
}

/* The log may hold client addresses and user names: never world-readable,
 * also when an older file was created with a wider mode. */
static int xlog_open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0007) && st.st_uid == geteuid())
        (void)fchmod(fd, st.st_mode & 0770);
    return fd;
}

/* Falls back when there is no usable file; caller holds xlog_lock. */
static void xlog_fallback_locked(void)
{
    if (xlog_foreground) {
        xlog_to = XLOG_TO_STDERR;
    } else {
        openlog("xend", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        xlog_to = XLOG_TO_SYSLOG;
    }
}

/* After the lock is dropped (the report goes through the log): what
 * xlog_open or xlog_reopen could not open, if anything; frees path. */
static void report_open_failure(const char *verb, char *path, int open_errno)
{
    if (open_errno)
        xlog(XLOG_ERROR, "cannot %s log file %s: %s", verb, path ? path : "(path)",
             strerror(open_errno));
    free(path);
}

void xlog_open(const char *file, xlog_level level, bool foreground)
{
    int open_errno = 0;
    char *failed = NULL;

    xlog_set_level(level);
    pthread_mutex_lock(&xlog_lock);
    xlog_reset_locked();
    xlog_foreground = foreground;
    xlog_journal = foreground && xlog_stderr_is_journal();
    if (file) {
        int fd = xlog_open_file(file);
        char *copy = strdup(file);
        if (fd >= 0 && copy) {
            xlog_fd = fd;
            xlog_path = copy;
            xlog_to = XLOG_TO_FILE;
        } else {
            open_errno = fd < 0 ? errno : ENOMEM;
            if (fd >= 0)
                close(fd);
            free(copy);
            failed = strdup(file);
            xlog_fallback_locked();
        }
    } else {
        xlog_fallback_locked();
    }
    pthread_mutex_unlock(&xlog_lock);
    report_open_failure("open", failed, open_errno);
}

void xlog_reopen(void)
{
    int open_errno = 0;
    char *path = NULL;

    pthread_mutex_lock(&xlog_lock);
    if (xlog_to == XLOG_TO_FILE && xlog_path) {
        int fd = xlog_open_file(xlog_path);
        if (fd >= 0) {
            close(xlog_fd);
            xlog_fd = fd;
        } else {
            open_errno = errno;     /* keep writing to the old file */
            path = strdup(xlog_path);
        }
    }
    pthread_mutex_unlock(&xlog_lock);
    report_open_failure("reopen", path, open_errno);
}

bool xlog_to_stderr(void)
{
    pthread_mutex_lock(&xlog_lock);
    bool r = xlog_to == XLOG_TO_STDERR;
    pthread_mutex_unlock(&xlog_lock);
    return r;
}

void xlog_close(void)
{
    pthread_mutex_lock(&xlog_lock);
    xlog_reset_locked();
    xlog_foreground = true;
    pthread_mutex_unlock(&xlog_lock);
    xlog_set_filters(NULL, NULL);
}
