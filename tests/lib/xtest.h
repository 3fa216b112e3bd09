/* The C test harness shared by every C test program (tests/lib/xtest.c).
 *
 * Output is TAP on stdout: one "ok N - file:line: expression" or
 * "not ok N - ..." per check, diagnostics as "# " lines, the plan "1..N" at
 * the end, then the closing line "P passed, F failed" that scripts/test.sh
 * adds up.  A failing check is named (file, line, expression) and shows why
 * (the values it compared, or the message given to CHECKF); the failures are
 * listed again just before the closing line, so the end of a log names them.
 *
 *   int main(void)
 *   {
 *       xtest_require_root("it binds a root-only socket");   // or exits 77
 *       xtest_group("codec");
 *       CHECK(x == 1);
 *       CHECK_STR_EQ(got, "Running");
 *       return xtest_done();
 *   }
 *
 * Skipping: xtest_skip() prints "1..0 # SKIP reason" and "SKIP: reason" and exits
 * 77, which automake counts as SKIP (never as a pass).  Checks may be made
 * from several threads at once. */
#ifndef XEND_TESTS_XTEST_H
#define XEND_TESTS_XTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Generous deadline for anything a test waits for: a loaded 2-core machine
 * must never make a test fail.  XEND_TEST_DEADLINE_MS overrides it. */
#define XTEST_DEADLINE_MS 60000

#define CHECK(cond) xtest_check_(!!(cond), __FILE__, __LINE__, #cond, NULL)
#define CHECKF(cond, ...) xtest_check_(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
/* Comparisons that show both values when they differ (NULL-safe). */
#define CHECK_STR_EQ(got, want) \
    xtest_check_str_eq_((got), (want), __FILE__, __LINE__, #got, #want)
#define CHECK_INT_EQ(got, want) \
    xtest_check_int_eq_((int64_t)(got), (int64_t)(want), __FILE__, __LINE__, #got, #want)

/* Each returns whether the check passed. */
bool xtest_check_(bool ok, const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
bool xtest_check_str_eq_(const char *got, const char *want, const char *file, int line,
                      const char *got_expr, const char *want_expr);
bool xtest_check_int_eq_(int64_t got, int64_t want, const char *file, int line,
                      const char *got_expr, const char *want_expr);

/* A "# msg" diagnostic line (for context: what is being tested). */
void xtest_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start a named group of checks: "# -- name"; failures are reported with it. */
void xtest_group(const char *name);

/* Skip the whole program (exit 77) with the reason printed loudly. */
_Noreturn void xtest_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* mkdtemp(tmpl), or skip the program (the machine cannot give a temporary directory). */
void xtest_mkdtemp(char *tmpl);
/* Skip unless running as root; why says what needs root. */
void xtest_require_root(const char *why);

/* The deadline for waits, in ms (XTEST_DEADLINE_MS or XEND_TEST_DEADLINE_MS). */
int xtest_deadline_ms(void);
/* Poll pred(arg) every ms until it holds or the deadline passes. */
bool xtest_wait_until(bool (*pred)(void *arg), void *arg);

/* printf into a new string (aborts when out of memory: this is a test). */
char *xtest_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int xtest_passed(void);
int xtest_failed(void);
/* Print the plan, the failures again and the closing line; the exit status
 * for main: 0 when nothing failed (and something was checked), else 1. */
int xtest_done(void);

#endif
