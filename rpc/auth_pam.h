/* auth_pam: checks a user name and password with PAM (auth + account).
 *
 * Thread-safe: every call uses its own PAM handle.  The password is only
 * handed to PAM through the conversation; it is never logged or kept.
 * A failure's detail (service and user name, PAM's reason) goes to *err_r
 * for the caller to log once, with the client's address (daemon/login.c);
 * it is logged here at info level only when err_r is NULL.  It must not be
 * sent to clients (map failure to SESSION_AUTHENTICATION_FAILED).
 * Callers link rpc/libxauth.la and util/libxlog.la.  PAM's failure delay
 * (pam_unix: about 2 s) is switched off: the caller delays failures itself
 * without holding a thread.
 */
#ifndef XEND_AUTH_PAM_H
#define XEND_AUTH_PAM_H

#include <stdbool.h>
#include <stddef.h>

/* True if PAM service `service` accepts user/password and the account is
 * usable.  On false, *err_r is a malloc'd message for the log (caller frees). */
bool auth_pam_check(const char *service, const char *user, const char *password, char **err_r);

/* As auth_pam_check, also setting PAM_RHOST to the client's address (may be NULL). */
bool auth_pam_check_rhost(const char *service, const char *user, const char *password,
              const char *rhost, char **err_r);

/* Accounts, for mapping users to roles (through NSS, thread-safe). */
/* The account name of uid in *name_r (malloc'd); false if there is none. */
bool auth_user_name(unsigned uid, char **name_r);
/* The names of every group user belongs to (primary and supplementary) in
 * *groups_r (an array of malloc'd strings, malloc'd: the caller frees both);
 * false if the user is unknown. */
bool auth_user_groups(const char *user, char ***groups_r, size_t *n_r);

#endif
