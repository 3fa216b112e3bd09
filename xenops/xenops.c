/* xenops: error and log helpers (the lookup by name is backends.c). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenops/xenops.h"

void xo_error_set(xo_error *err, xo_errcode code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    err->code = code;
    err->needed = err->available = 0;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

void xo_error_need(xo_error *err, uint64_t needed, uint64_t available)
{
    if (!err)
        return;
    err->needed = needed;
    err->available = available;
}

void xo_log(const xo_log_sink *sink, xo_log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    size_t n;

    if (!sink || !sink->fn)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    n = strlen(line);
    while (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    sink->fn(sink->opaque, level, line);
}

void *xo_calloc(size_t n, size_t size, xo_error *err)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p)
        xo_error_set(err, XO_E_FAIL, "out of memory");
    return p;
}
