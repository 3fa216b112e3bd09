/* The C test harness: TAP output, counters, skip, waits (see xtest.h). */
#include "config.h"

#include "tests/lib/xtest.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Failures listed again at the end: enough to name them all in any sane run. */
#define XTEST_MAX_LISTED 64

static pthread_mutex_t xtest_lock = PTHREAD_MUTEX_INITIALIZER;
static int xtest_n, xtest_pass, xtest_fail;
static const char *xtest_cur_group = "";
static char *xtest_listed[XTEST_MAX_LISTED];
static int xtest_n_listed;

/* Print s as a TAP description: '#' would start a directive, so escape it. */
static void put_desc(const char *s)
{
    for (; *s; s++) {
        if (*s == '#' || *s == '\\')
            putchar('\\');
        putchar(*s == '\n' ? ' ' : *s);
    }
}

/* Each line of msg, after prefix. */
static void put_lines(const char *prefix, const char *msg)
{
    const char *p = msg;

    while (*p) {
        size_t n = strcspn(p, "\n");
        printf("%s%.*s\n", prefix, (int)n, p);
        p += n;
        if (*p == '\n')
            p++;
    }
}

static char *vformat(const char *fmt, va_list ap)
{
    char *s = NULL;

    if (vasprintf(&s, fmt, ap) < 0) {
        fputs("xtest: out of memory\n", stderr);
        abort();
    }
    return s;
}

char *xtest_strdupf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = vformat(fmt, ap);
    va_end(ap);
    return s;
}

/* Called with xtest_lock held. */
static bool record(bool ok, const char *file, int line, const char *expr, const char *why)
{
    const char *base = strrchr(file, '/');

    base = base ? base + 1 : file;
    xtest_n++;
    if (ok)
        xtest_pass++;
    else
        xtest_fail++;
    printf("%s %d - %s:%d: ", ok ? "ok" : "not ok", xtest_n, base, line);
    put_desc(expr);
    putchar('\n');
    if (!ok) {
        if (*xtest_cur_group)
            printf("#   in group '%s'\n", xtest_cur_group);
        if (why && *why)
            put_lines("#   ", why);
        if (xtest_n_listed < XTEST_MAX_LISTED) {
            xtest_listed[xtest_n_listed++] = xtest_strdupf("%s:%d: %s%s%s%s", base, line, expr,
                                                  *xtest_cur_group ? " (group '" : "", xtest_cur_group,
                                                  *xtest_cur_group ? "')" : "");
        }
    }
    fflush(stdout);
    return ok;
}

bool xtest_check_(bool ok, const char *file, int line, const char *expr, const char *fmt, ...)
{
    char *why = NULL;

    if (!ok && fmt) {
        va_list ap;
        va_start(ap, fmt);
        why = vformat(fmt, ap);
        va_end(ap);
    }
    pthread_mutex_lock(&xtest_lock);
    record(ok, file, line, expr, why);
    pthread_mutex_unlock(&xtest_lock);
    free(why);
    return ok;
}

/* A comparison: named "got_expr == want_expr", why (owned) says the values. */
static bool record_eq(bool ok, const char *file, int line, const char *got_expr,
                      const char *want_expr, char *why)
{
    char *expr = xtest_strdupf("%s == %s", got_expr, want_expr);

    pthread_mutex_lock(&xtest_lock);
    record(ok, file, line, expr, why);
    pthread_mutex_unlock(&xtest_lock);
    free(expr);
    free(why);
    return ok;
}

bool xtest_check_str_eq_(const char *got, const char *want, const char *file, int line,
                      const char *got_expr, const char *want_expr)
{
    bool ok = got && want ? strcmp(got, want) == 0 : got == want;

    return record_eq(ok, file, line, got_expr, want_expr,
                     ok ? NULL
                        : xtest_strdupf("got:  %s%s%s\nwant: %s%s%s", got ? "\"" : "",
                                     got ? got : "NULL", got ? "\"" : "", want ? "\"" : "",
                                     want ? want : "NULL", want ? "\"" : ""));
}

bool xtest_check_int_eq_(int64_t got, int64_t want, const char *file, int line,
                      const char *got_expr, const char *want_expr)
{
    bool ok = got == want;

    return record_eq(ok, file, line, got_expr, want_expr,
                     ok ? NULL : xtest_strdupf("got:  %" PRId64 "\nwant: %" PRId64, got, want));
}

void xtest_diag(const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = vformat(fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&xtest_lock);
    put_lines("# ", msg);
    fflush(stdout);
    pthread_mutex_unlock(&xtest_lock);
    free(msg);
}

void xtest_group(const char *name)
{
    pthread_mutex_lock(&xtest_lock);
    xtest_cur_group = name ? name : "";
    printf("# -- %s\n", xtest_cur_group);
    fflush(stdout);
    pthread_mutex_unlock(&xtest_lock);
}

_Noreturn void xtest_skip(const char *fmt, ...)
{
    char *why;
    va_list ap;

    va_start(ap, fmt);
    why = vformat(fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&xtest_lock);
    printf("1..0 # SKIP %s\n", why);
    printf("0 passed, 0 failed (SKIPPED)\n");
    fflush(stdout);
    fprintf(stderr, "SKIP: %s\n", why);
    pthread_mutex_unlock(&xtest_lock);
    free(why);
    exit(77);
}

void xtest_mkdtemp(char *tmpl)
{
    if (!mkdtemp(tmpl))
        xtest_skip("cannot make a temporary directory %s: %s", tmpl, strerror(errno));
}

void xtest_require_root(const char *why)
{
    if (geteuid() != 0)
        xtest_skip("needs root (%s); running as uid %u", why, (unsigned)geteuid());
}

int xtest_deadline_ms(void)
{
    const char *s = getenv("XEND_TEST_DEADLINE_MS");
    char *end;
    long v;

    if (!s || !*s)
        return XTEST_DEADLINE_MS;
    v = strtol(s, &end, 10);
    return *end == '\0' && v > 0 && v <= 3600000 ? (int)v : XTEST_DEADLINE_MS;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool xtest_wait_until(bool (*pred)(void *arg), void *arg)
{
    int64_t end = now_ms() + xtest_deadline_ms();

    for (;;) {
        if (pred(arg))
            return true;
        if (now_ms() > end)
            return pred(arg);
        usleep(1000);
    }
}

int xtest_passed(void)
{
    pthread_mutex_lock(&xtest_lock);
    int n = xtest_pass;
    pthread_mutex_unlock(&xtest_lock);
    return n;
}

int xtest_failed(void)
{
    pthread_mutex_lock(&xtest_lock);
    int n = xtest_fail;
    pthread_mutex_unlock(&xtest_lock);
    return n;
}

int xtest_done(void)
{
    int rc;

    pthread_mutex_lock(&xtest_lock);
    if (xtest_n == 0) {
        printf("not ok 1 - the program made no check at all\n");
        xtest_n = 1;
        xtest_fail++;
    }
    printf("1..%d\n", xtest_n);
    if (xtest_fail) {
        printf("# FAILED checks (%d):\n", xtest_fail);
        for (int i = 0; i < xtest_n_listed; i++)
            printf("#   %s\n", xtest_listed[i]);
        if (xtest_fail > xtest_n_listed)
            printf("#   ... and %d more (see above)\n", xtest_fail - xtest_n_listed);
    }
    for (int i = 0; i < xtest_n_listed; i++)
        free(xtest_listed[i]);
    xtest_n_listed = 0;
    printf("%d passed, %d failed\n", xtest_pass, xtest_fail);
    fflush(stdout);
    rc = xtest_fail ? 1 : 0;
    pthread_mutex_unlock(&xtest_lock);
    return rc;
}
