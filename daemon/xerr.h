/* xerr: a XenAPI error, set once where it happens and carried up to rpc/,
 * the only place that turns it into ErrorDescription.  It has two faces:
 * the code and parameters the client sees, and an optional detail (paths,
 * errno text, backend prose) that is logged with the call and never sent.
 * Typed constructors per code are generated (gen/xapi_errors.h).
 */
#ifndef XEND_XERR_H
#define XEND_XERR_H

#include <stdbool.h>
#include <stddef.h>

typedef struct xerr {
    char *code;
    char **params;
    size_t n;
    char *detail;               /* for the log only (NULL if none) */
} xerr;

/* Set *errp (if errp is non-NULL and *errp is NULL) to code with n string
 * parameters (NULL taken as ""). Always returns false, so handlers can
 * `return xerr_set(...)`. */
bool xerr_set(xerr **errp, const char *code, size_t n, ...);
/* INTERNAL_ERROR with a printf-formatted message. Returns false. */
bool xerr_internal(xerr **errp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Attach a printf-formatted detail for the log to the error in *errp (a
 * no-op without one, or when it has a detail already).  Returns false. */
bool xerr_detail(xerr **errp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
xerr *xerr_dup(const xerr *e);
void xerr_free(xerr *e);

#endif
