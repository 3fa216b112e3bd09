/* backends: the backends compiled in, by name.  Apart from xenops.c so that
 * only what links this file (the daemon, the backends' own tests) links the
 * Xen libraries; the daemon's core never does (tests/check-layers.py). */
#include "config.h"

#include <string.h>

#include "xenops/xenops.h"

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
