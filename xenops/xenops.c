/* xenops: error helper (the lookup by name is backends.c). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "xenops/xenops.h"

void xo_error_set(xo_error *err, xo_errcode code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}
