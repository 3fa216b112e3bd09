/* xo_xen: xen-backend extras beyond xo_ops (callers must know the backend
 * is "xen"; include only under HAVE_XEN). */
#ifndef XEND_XO_XEN_H
#define XEND_XO_XEN_H

#include "xenops/xenops.h"

/* Append domid's PV console output to the file at path (created if needed)
 * until the domain dies.  Also done at create/restore for a non-empty
 * xo_domain_config.console_log.  Replaces an earlier log of that domain. */
int xo_xen_console_log(xo_backend *b, uint32_t domid, const char *path, xo_error *err);

#endif
