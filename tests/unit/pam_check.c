/* pam_check: test driver for rpc/auth_pam.
 * Usage: pam_check SERVICE USER [RHOST] < password-line
 * The password is read from stdin so that it never appears in argv.
 * Exit: 0 accepted, 1 rejected, 2 usage/IO error, 3 the error text leaked
 * the password.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/auth_pam.h"
#include "util/log.h"

int main(int argc, char **argv)
{
    char *pw = NULL;
    size_t cap = 0;
    char *err = NULL;
    int rc = 2;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s SERVICE USER [RHOST] < password\n", argv[0]);
        return 2;
    }
    ssize_t n = getline(&pw, &cap, stdin);
    if (n < 0) {
        fprintf(stderr, "pam_check: no password on stdin\n");
        goto out;
    }
    while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
        pw[--n] = '\0';

    xlog_open(NULL, XLOG_DEBUG, true);
    if (auth_pam_check_rhost(argv[1], argv[2], pw, argc == 4 ? argv[3] : NULL, &err)) {
        printf("accepted\n");
        rc = 0;
    } else {
        if (!err) {
            fprintf(stderr, "pam_check: failure without an error message\n");
            rc = 2;
            goto out;
        }
        if (*pw && strstr(err, pw)) {
            fprintf(stderr, "pam_check: error message contains the password\n");
            rc = 3;
            goto out;
        }
        printf("rejected: %s\n", err);
        rc = 1;
    }
out:
    free(err);
    free(pw);
    xlog_close();
    return rc;
}
