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

/* "# " + each line of msg. */
static void put_diag_lines(const char *msg)
{
    const char *p = msg;

    while (*p) {
        size_t n = strcspn(p, "\n");
        printf("#   %.*s\n", (int)n, p);
        p += n;
        if (*p == '\n')
            p++;
    }
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
            put_diag_lines(why);
        if (xt_n_listed < XT_MAX_LISTED) {
            char *s = NULL;
            if (asprintf(&s, "%s:%d: %s%s%s%s", base, line, expr, *xt_cur_group ? " (group '" : "",
                         xt_cur_group, *xt_cur_group ? "')" : "") >= 0)
                xt_listed[xt_n_listed++] = s;
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
        if (vasprintf(&why, fmt, ap) < 0)
            why = NULL;
        va_end(ap);
    }
    pthread_mutex_lock(&xt_lock);
    record(ok, file, line, expr, why);
    pthread_mutex_unlock(&xt_lock);
    free(why);
    return ok;
}

bool xt_check_str_eq_(const char *got, const char *want, const char *file, int line,
                      const char *got_expr, const char *want_expr)
{
    bool ok = got && want ? strcmp(got, want) == 0 : got == want;
    char *expr = NULL, *why = NULL;

    if (asprintf(&expr, "%s == %s", got_expr, want_expr) < 0)
        expr = NULL;
    if (!ok && asprintf(&why, "got:  %s%s%s\nwant: %s%s%s", got ? "\"" : "", got ? got : "NULL",
                        got ? "\"" : "", want ? "\"" : "", want ? want : "NULL", want ? "\"" : "") < 0)
        why = NULL;
    pthread_mutex_lock(&xt_lock);
    record(ok, file, line, expr ? expr : got_expr, why);
    pthread_mutex_unlock(&xt_lock);
    free(expr);
    free(why);
    return ok;
}

bool xt_check_int_eq_(int64_t got, int64_t want, const char *file, int line,
                      const char *got_expr, const char *want_expr)
{
    bool ok = got == want;
    char *expr = NULL, *why = NULL;

    if (asprintf(&expr, "%s == %s", got_expr, want_expr) < 0)
        expr = NULL;
    if (!ok && asprintf(&why, "got:  %" PRId64 "\nwant: %" PRId64, got, want) < 0)
        why = NULL;
    pthread_mutex_lock(&xt_lock);
    record(ok, file, line, expr ? expr : got_expr, why);
    pthread_mutex_unlock(&xt_lock);
    free(expr);
    free(why);
    return ok;
}

void xt_diag(const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    pthread_mutex_lock(&xt_lock);
    if (msg) {
        const char *p = msg;
        while (*p) {
            size_t n = strcspn(p, "\n");
            printf("# %.*s\n", (int)n, p);
            p += n;
            if (*p == '\n')
                p++;
        }
    }
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
    char *why = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&why, fmt, ap) < 0)
        why = NULL;
    va_end(ap);
    pthread_mutex_lock(&xt_lock);
    printf("1..0 # SKIP %s\n", why ? why : "(no reason)");
    printf("0 passed, 0 failed (SKIPPED)\n");
    fflush(stdout);
    fprintf(stderr, "SKIP: %s\n", why ? why : "(no reason)");
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
