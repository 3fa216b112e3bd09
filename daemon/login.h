/* login: password checks apart from the workers, back-off for failures
 * (daemon/login.c, docs/security.md). */
#ifndef XEND_LOGIN_H
#define XEND_LOGIN_H

#include <stdbool.h>

#include "daemon/session.h"

/* Start the password checkers and the back-off timer (after session_setup);
 * c is copied. */
bool login_start(const session_config *c, char **err_r);
/* At shutdown, before the transports stop: answers the logins still waiting
 * out a back-off (refused), runs the checks queued, stops the threads. */
void login_stop(void);

#endif
