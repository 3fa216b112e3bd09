/* confplan: POST /config/plan — a VM config file (Python-style, SXP or the
 * XML of create.dtd, parsed by config/vmdesc.h, the library xm uses) turned
 * into the ordered XenAPI calls that create the VM, as JSON, for the web
 * console to run with its own session (so every call is checked against
 * the user's role like any other).  Nothing is created here.
 *
 * The request names a live session in the X-Session header; the body is the
 * file (at most VMD_MAX_INPUT bytes); ?name=FILE gives its name (the
 * extension picks the format, else it is detected from the content). */
#ifndef XEND_RPC_CONFPLAN_H
#define XEND_RPC_CONFPLAN_H

#include <stddef.h>

/* The JSON answer (malloc'd, *len_r bytes) and its HTTP status:
 * 200 {"steps": [...]} or {"error": ["VALUE_NOT_SUPPORTED", "file:line: why"]};
 * 403 {"error": ["SESSION_INVALID", ...]}; 413 for an oversized file. */
char *rpc_confplan(const char *session, const char *name, const char *body, size_t len, unsigned *status_r,
                   size_t *len_r);

#endif
