/* The C test harness: TAP output, counters, skip, waits (see xtest.h). */
#include "config.h"

#include "tests/lib/xtest.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Failures listed again at the end: enough to name them all in any sane run. */
#define XT_MAX_LISTED 64

static pthread_mutex_t xt_lock = PTHREAD_MUTEX_INITIALIZER;
static int xt_n, xt_pass, xt_fail;
static const char *xt_cur_group = "";
static char *xt_listed[XT_MAX_LISTED];
static int xt_n_listed;

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

char *xt_strdupf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = vformat(fmt, ap);
    va_end(ap);
    return s;
}

/* Called with xt_lock held. */
static bool record(bool ok, const char *file, int line, const char *expr, const char *why)
{
    const char *base = strrchr(file, '/');

    base = base ? base + 1 : file;
    xt_n++;
    if (ok)
        xt_pass++;
    else
        xt_fail++;
    printf("%s %d - %s:%d: ", ok ? "ok" : "not ok", xt_n, base, line);
    put_desc(expr);
    putchar('\n');
    if (!ok) {
        if (*xt_cur_group)
            printf("#   in group '%s'\n", xt_cur_group);
        if (why && *why)
            put_lines("#   ", why);
        if (xt_n_listed < XT_MAX_LISTED) {
            xt_listed[xt_n_listed++] = xt_strdupf("%s:%d: %s%s%s%s", base, line, expr,
                                                  *xt_cur_group ? " (group '" : "", xt_cur_group,
                                                  *xt_cur_group ? "')" : "");
        }
    }
    fflush(stdout);
    return ok;
}

bool xt_check_(bool ok, const char *file, int line, const char *expr, const char *fmt, ...)
{
    char *why = NULL;

    if (!ok && fmt) {
        va_list ap;
        va_start(ap, fmt);
        why = vformat(fmt, ap);
        va_end(ap);
    }
    pthread_mutex_lock(&xt_lock);
    record(ok, file, line, expr, why);
    pthread_mutex_unlock(&xt_lock);
    free(why);
    return ok;
}

/* A comparison: named "got_expr == want_expr", why (owned) says the values. */
static bool record_eq(bool ok, const char *file, int line, const char *got_expr,
                      const char *want_expr, char *why)
{
    char *expr = xt_strdupf("%s == %s", got_expr, want_expr);

    pthread_mutex_lock(&xt_lock);
    record(ok, file, line, expr, why);
    pthread_mutex_unlock(&xt_lock);
    free(expr);
    free(why);
    return ok;
}

bool xt_check_str_eq_(const char *got, const char *want, const char *file, int line,
                      const char *got_expr, const char *want_expr)
{
    bool ok = got && want ? strcmp(got, want) == 0 : got == want;

    return record_eq(ok, file, line, got_expr, want_expr,
                     ok ? NULL
                        : xt_strdupf("got:  %s%s%s\nwant: %s%s%s", got ? "\"" : "",
                                     got ? got : "NULL", got ? "\"" : "", want ? "\"" : "",
                                     want ? want : "NULL", want ? "\"" : ""));
}

bool xt_check_int_eq_(int64_t got, int64_t want, const char *file, int line,
                      const char *got_expr, const char *want_expr)
{
    bool ok = got == want;

    return record_eq(ok, file, line, got_expr, want_expr,
                     ok ? NULL : xt_strdupf("got:  %" PRId64 "\nwant: %" PRId64, got, want));
}

void xt_diag(const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = vformat(fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&xt_lock);
    put_lines("# ", msg);
    fflush(stdout);
    pthread_mutex_unlock(&xt_lock);
    free(msg);
}

void xt_group(const char *name)
{
    pthread_mutex_lock(&xt_lock);
    xt_cur_group = name ? name : "";
    printf("# -- %s\n", xt_cur_group);
    fflush(stdout);
    pthread_mutex_unlock(&xt_lock);
}

_Noreturn void xt_skip(const char *fmt, ...)
{
    char *why;
    va_list ap;

    va_start(ap, fmt);
    why = vformat(fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&xt_lock);
    printf("1..0 # SKIP %s\n", why);
    printf("0 passed, 0 failed (SKIPPED)\n");
    fflush(stdout);
    fprintf(stderr, "SKIP: %s\n", why);
    pthread_mutex_unlock(&xt_lock);
    free(why);
    exit(77);
}

void xt_require_root(const char *why)
{
    if (geteuid() != 0)
        xt_skip("needs root (%s); running as uid %u", why, (unsigned)geteuid());
}

int xt_deadline_ms(void)
{
    const char *s = getenv("XEND_TEST_DEADLINE_MS");
    char *end;
    long v;

    if (!s || !*s)
        return XT_DEADLINE_MS;
    v = strtol(s, &end, 10);
    return *end == '\0' && v > 0 && v <= 3600000 ? (int)v : XT_DEADLINE_MS;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool xt_wait_until(bool (*pred)(void *arg), void *arg)
{
    int64_t end = now_ms() + xt_deadline_ms();

    for (;;) {
        if (pred(arg))
            return true;
        if (now_ms() > end)
            return pred(arg);
        usleep(1000);
    }
}

int xt_passed(void)
{
    pthread_mutex_lock(&xt_lock);
    int n = xt_pass;
    pthread_mutex_unlock(&xt_lock);
    return n;
}

int xt_failed(void)
{
    pthread_mutex_lock(&xt_lock);
    int n = xt_fail;
    pthread_mutex_unlock(&xt_lock);
    return n;
}

int xt_done(void)
{
    int rc;

    pthread_mutex_lock(&xt_lock);
    if (xt_n == 0) {
        printf("not ok 1 - the program made no check at all\n");
        xt_n = 1;
        xt_fail++;
    }
    printf("1..%d\n", xt_n);
    if (xt_fail) {
        printf("# FAILED checks (%d):\n", xt_fail);
        for (int i = 0; i < xt_n_listed; i++)
            printf("#   %s\n", xt_listed[i]);
        if (xt_fail > xt_n_listed)
            printf("#   ... and %d more (see above)\n", xt_fail - xt_n_listed);
    }
    for (int i = 0; i < xt_n_listed; i++)
        free(xt_listed[i]);
    xt_n_listed = 0;
    printf("%d passed, %d failed\n", xt_pass, xt_fail);
    fflush(stdout);
    rc = xt_fail ? 1 : 0;
    pthread_mutex_unlock(&xt_lock);
    return rc;
}
