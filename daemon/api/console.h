/* console: what the daemon offers about a VM's console besides the
 * console class's messages. */
#ifndef XEND_API_CONSOLE_H
#define XEND_API_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/xerr.h"

/* The last max bytes of the VM's console log (its text console's output, as
 * the backend records it below the state directory) for a live session of
 * role vm-operator or above: *text_r (malloc'd, NUL-terminated, *len_r
 * bytes; empty when nothing was logged yet).  Errors: SESSION_INVALID,
 * RBAC_PERMISSION_DENIED(permission, message), HANDLE_INVALID(VM, ref).
 * Either ref form is taken.  Used by the web console (GET /console/log). */
bool console_log_tail(const char *session, const char *vm_ref, size_t max, char **text_r, size_t *len_r,
                      xerr **errp);

#endif
