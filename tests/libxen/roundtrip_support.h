/* Support for the generated round-trip test (libxen/gen/roundtrip.c):
 * value makers and comparators for the primitive types, the case table. */
#ifndef RT_SUPPORT_H
#define RT_SUPPORT_H

#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/lib/xtest.h"
#include "xen_internal.h"

typedef struct rt_case {
    const char *name;
    const xeni_type *type;
    size_t n_members;      /* fields of the record, RT_NA for containers */
    size_t n_create;       /* fields sent by create */
    void *(*mk)(int seed);
    bool (*eq)(const void *a, const void *b);
} rt_case;

#define RT_NA ((size_t)-1)   /* not a record */
extern const rt_case rt_cases[];
extern const size_t rt_ncases;

__attribute__((unused)) static bool rt_check(bool ok, const char *path)
{
    if (!ok)
        xtest_diag("  mismatch at %s", path);
    return ok;
}

/* Non-default values: XML metacharacters and UTF-8 in strings, 64-bit ints
 * of both signs, fractional floats, true, datetimes far from 0. */
__attribute__((unused)) static char *mk_string(int seed)
{
    char *s;
    if (asprintf(&s, "s%d <&>\"' caf\xc3\xa9 ]]>", seed) < 0)
        abort();
    return s;
}
__attribute__((unused)) static int64_t mk_int(int seed)
{
    return (seed % 2 ? -1 : 1) * (INT64_C(4294967296) * 1000 + seed);
}
__attribute__((unused)) static double mk_float(int seed) { return seed + 0.375; }
__attribute__((unused)) static bool mk_bool(int seed) { (void)seed; return true; }
__attribute__((unused)) static time_t mk_datetime(int seed) { return (time_t)1700000000 + seed * 3601; }

__attribute__((unused)) static bool eq_string(const char *a, const char *b, const char *path)
{
    return rt_check(a && b && strcmp(a, b) == 0, path);
}
__attribute__((unused)) static bool eq_int(int64_t a, int64_t b, const char *path) { return rt_check(a == b, path); }
__attribute__((unused)) static bool eq_float(double a, double b, const char *path) { return rt_check(a == b, path); }
__attribute__((unused)) static bool eq_bool(bool a, bool b, const char *path) { return rt_check(a == b, path); }
__attribute__((unused)) static bool eq_datetime(time_t a, time_t b, const char *path) { return rt_check(a == b, path); }

#endif
