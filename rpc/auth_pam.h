/* auth_pam: checks a user name and password with PAM (auth + account).
 *
 * Thread-safe: every call uses its own PAM handle.  The password is only
 * handed to PAM through the conversation; it is never logged or kept.
 * Failures are logged at info level (service and user name, PAM's reason)
 * through util/log; *err_r carries the same server-side detail and must not
 * be sent to clients (map failure to SESSION_AUTHENTICATION_FAILED).
 * Callers link rpc/libxauth.la and util/libxlog.la.  Each failed check may
 * block for the PAM modules' failure delay (pam_unix: about 2 s).
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
