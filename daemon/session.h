/* session: XenAPI sessions (objects of class session, never persisted). */
#ifndef XEND_SESSION_H
#define XEND_SESSION_H

#include "config/xendconf.h"
#include "daemon/dispatch.h"

/* Checks a password for the login (rpc/auth_pam.h's auth_pam_check_rhost,
 * handed down by main.c: the daemon does not reach up to rpc/).  rhost is
 * the client's address, NULL for the Unix socket.  On false, *err_r may
 * hold a malloc'd reason for the log. */
typedef bool (*session_password_fn)(const char *service, const char *user, const char *password,
                                    const char *rhost, char **err_r);
/* Account lookups for the roles (rpc/auth_pam.h's, handed down by main.c):
 * the names of the groups user belongs to (an array of malloc'd strings,
 * malloc'd; the caller frees both), and the account name of a uid (malloc'd). */
typedef bool (*session_groups_fn)(const char *user, char ***groups_r, size_t *n_r);
typedef bool (*session_uname_fn)(unsigned uid, char **name_r);

typedef struct session_config {
    const char *pam_service;        /* borrowed, lives as long as the daemon */
    unsigned timeout;               /* seconds idle before expiry, 0 = never */
    unsigned auth_threads;          /* password checks of TCP logins at once (0: 4) */
    unsigned backoff_ms, backoff_max_ms;    /* delay after a first failure, doubling up to the max */
    unsigned per_user, per_originator, root;    /* session limits (XAPI's groups); 0: 500, 500, 400 */
    session_password_fn check_password;     /* NULL: every password is refused */
    /* roles (docs/security.md), borrowed: role-user / role-group lines and
     * role-default (NULL: an account no line maps may not log in) */
    const xend_role_map *role_maps;
    size_t n_role_maps;
    const char *role_default;
    session_groups_fn user_groups;          /* NULL: group lines match nobody */
    session_uname_fn user_name;             /* NULL: only root comes in over the socket */
} session_config;

/* False (with a message) if the configuration names a role the datamodel lacks. */
bool session_setup(const session_config *cfg, char **err_r);
/* Replace the role mapping (SIGHUP): later logins use it, open sessions keep
 * their role.  maps and dflt are borrowed for the daemon's lifetime. */
bool session_set_roles(const xend_role_map *maps, size_t n, const char *dflt, char **err_r);
/* At exit, after the last call: frees the role mappings. */
void session_fini(void);
/* Validate a session ref as sent (either ref form) for a call:
 * SESSION_INVALID(ref as sent) if unknown or expired.  Sets call->role to
 * the session's role (the role check is dispatch's); call may be NULL for a
 * check outside a call (rpc/confplan.c). */
bool session_check(xcall *call, const char *ref, xerr **errp);
/* The account (its password checked, or on a listener that authenticates
 * nobody) gets a session: its role is mapped, the session counted in its
 * limit group (the least recently active one over the limit that owns no
 * pending task ends; if each owns one, the login fails with
 * SESSION_AUTHORIZATION_FAILED). */
bool session_open(xcall *call, const char *uname, xv **result_r, xerr **errp);
/* Observers told when a session ends (logout, expiry): event waiters wake. */
typedef void (*session_end_fn)(const char *ref);
void session_on_end(session_end_fn fn);
/* Expire idle sessions now (called periodically). */
void session_expire_idle(void);

#endif
