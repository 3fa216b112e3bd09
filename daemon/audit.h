/* audit: one line per call that may change state, in a file apart from the
 * daemon's log (xend.conf `audit-log`, docs/security.md "Audit log").
 *
 * A line says who (user, role, the session's short id), from where (the
 * peer's address, or "unix" and its uid), what (the method and the object
 * refs it names) and the result code.  Never a password (the datamodel's
 * secret parameters are never written) and never a session ref: a session
 * is shown as the first 8 hex digits of the SHA-256 of its ref.
 * Read-only calls and the event waits (event.from, event.next) are not
 * audited.  Thread-safe: each line is one write(2) to an O_APPEND file.
 */
#ifndef XEND_AUDIT_H
#define XEND_AUDIT_H

#include <stdbool.h>

#include "daemon/dispatch.h"

/* (Not audit_open/audit_close: libaudit, which libpam loads, has those, and
 * the executable's would be called in their place: PAM logins then failed.) */
/* Starts writing to path (mode 0600; its directory is made 0700 if missing),
 * or stops auditing (path NULL).  On failure the previous file (if any) is
 * kept and *err_r says why (caller frees). */
bool audit_file_open(const char *path, char **err_r);

/* Reopens the file by its name (after log rotation, on SIGHUP); on failure
 * the old descriptor is kept and *err_r says why (caller frees). */
bool audit_reopen(char **err_r);

/* Closes the file; audit_call() then writes nothing. */
void audit_file_close(void);

/* Is the file open? */
bool audit_enabled(void);

/* Does a call of m get an audit line? */
bool audit_wants(const xmethod *m);

/* Writes c's line if audit_wants(c->m), once c->result / c->err are final
 * (for an Async call: its task's outcome, with the task's ref). */
void audit_call(const xcall *c);

/* The short, non-reversible id of a session ref ("1a2b3c4d"): buf >= 9. */
void audit_session_id(const char *ref, char *buf);

#endif
