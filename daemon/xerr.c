/* xerr: XenAPI errors. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/xerr.h"
#include "util/strutil.h"

static char *xstrdup_or_die(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

bool xerr_set(xerr **errp, const char *code, size_t n, ...)
{
    if (!errp || *errp)
        return false;
    xerr *e = calloc(1, sizeof(*e));
    if (!e)
        abort();
    e->code = xstrdup_or_die(code);
    e->n = n;
    e->params = calloc(n ? n : 1, sizeof(char *));
    if (!e->params)
        abort();
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        e->params[i] = xstrdup_or_die(va_arg(ap, const char *));
    va_end(ap);
    *errp = e;
    return false;
}

bool xerr_internal(xerr **errp, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return xerr_set(errp, "INTERNAL_ERROR", 1, msg);
}

bool xerr_detail(xerr **errp, const char *fmt, ...)
{
    if (!errp || !*errp || (*errp)->detail)
        return false;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&(*errp)->detail, fmt, ap);
    va_end(ap);
    if (r < 0)
        abort();
    return false;
}

xerr *xerr_dup(const xerr *e)
{
    if (!e)
        return NULL;
    xerr *d = calloc(1, sizeof(*d));
    if (!d)
        abort();
    d->code = xstrdup_or_die(e->code);
    d->n = e->n;
    d->params = calloc(e->n ? e->n : 1, sizeof(char *));
    if (!d->params)
        abort();
    for (size_t i = 0; i < e->n; i++)
        d->params[i] = xstrdup_or_die(e->params[i]);
    d->detail = e->detail ? xstrdup_or_die(e->detail) : NULL;
    return d;
}

void xerr_free(xerr *e)
{
    if (!e)
        return;
    xstrv_free(e->params, e->n);
    free(e->code);
    free(e->detail);
    free(e);
}
