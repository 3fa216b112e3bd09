/* strutil: small string helpers shared by the daemon's components. */
#ifndef XEND_UTIL_STRUTIL_H
#define XEND_UTIL_STRUTIL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* 64-bit FNV-1a of a NUL-terminated string (hash tables keyed by refs,
 * session ids, persistence keys). */
static inline uint64_t xhash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* A newly allocated formatted string (free() it), or NULL when out of memory. */
static inline char *xstrfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *xstrfmt(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* Free n malloc'd strings and the array that holds them (NULL: nothing). */
static inline void xstrv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

#endif
