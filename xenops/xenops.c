/* xenops: error helper and backend lookup. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

const xo_ops *xo_backend_by_name(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, "sim") == 0)
        return &xo_sim_ops;
#ifdef HAVE_XEN
    if (strcmp(name, "xen") == 0)
        return &xo_xen_ops;
#endif
    return NULL;
}
