/* session: XenAPI sessions (objects of class session, never persisted). */
#ifndef XEND_SESSION_H
#define XEND_SESSION_H

#include "daemon/dispatch.h"

/* Checks a password for the login (rpc/auth_pam.h's auth_pam_check_rhost,
 * handed down by main.c: the daemon does not reach up to rpc/).  rhost is
 * the client's address, NULL for the Unix socket.  On false, *err_r may
 * hold a malloc'd reason for the log. */
typedef bool (*session_password_fn)(const char *service, const char *user, const char *password,
                                    const char *rhost, char **err_r);

typedef struct session_config {
    const char *pam_service;        /* borrowed, lives as long as the daemon */
    unsigned timeout;               /* seconds idle before expiry, 0 = never */
    session_password_fn check_password;     /* NULL: every password is refused */
} session_config;

void session_setup(const session_config *cfg);
/* Validate a session ref as sent (either ref form) for a call:
 * SESSION_INVALID(ref as sent) if unknown or expired. */
bool session_check(xcall *call, const char *ref, xerr **errp);
/* Observers told when a session ends (logout, expiry): event waiters wake. */
typedef void (*session_end_fn)(const char *ref);
void session_on_end(session_end_fn fn);
/* Expire idle sessions now (called periodically). */
void session_expire_idle(void);

#endif
