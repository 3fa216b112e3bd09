/* auth_pam: see auth_pam.h. */
#include "config.h"

#include "rpc/auth_pam.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/strutil.h"

#define AUTH_PAM_MAX_USER 256
#define AUTH_PAM_MAX_PASSWORD 511   /* PAM_MAX_RESP_SIZE - 1 */

typedef struct {
    const char *password;
} auth_pam_conv_data;

static void auth_pam_free_responses(struct pam_response *resp, int n)
{
    if (!resp)
        return;
    for (int i = 0; i < n; i++) {
        if (resp[i].resp) {
            explicit_bzero(resp[i].resp, strlen(resp[i].resp));
            free(resp[i].resp);
        }
    }
    free(resp);
}

/* Answers password prompts with the password; refuses other questions.
 * PAM takes ownership of *resp_r (and frees the copies of the password). */
static int auth_pam_conv(int num_msg, const struct pam_message **msg,
             struct pam_response **resp_r, void *appdata)
{
    const auth_pam_conv_data *d = appdata;
    struct pam_response *resp;

    *resp_r = NULL;
    if (num_msg <= 0 || num_msg > PAM_MAX_NUM_MSG)
        return PAM_CONV_ERR;
    resp = calloc((size_t)num_msg, sizeof *resp);
    if (!resp)
        return PAM_BUF_ERR;
    for (int i = 0; i < num_msg; i++) {
        switch (msg[i]->msg_style) {
        case PAM_PROMPT_ECHO_OFF:
            resp[i].resp = strdup(d->password);
            if (!resp[i].resp) {
                auth_pam_free_responses(resp, num_msg);
                return PAM_BUF_ERR;
            }
            break;
        case PAM_ERROR_MSG:
        case PAM_TEXT_INFO:
            break;
        default:
            /* Echoed questions (user name, OTP, ...) cannot be answered. */
            auth_pam_free_responses(resp, num_msg);
            return PAM_CONV_ERR;
        }
    }
    *resp_r = resp;
    return PAM_SUCCESS;
}

/* PAM modules ask for a delay after a failure (pam_unix: 2 s) that libpam
 * would sleep on the calling thread; xend delays failures itself, without a
 * thread (daemon/session.c), so this delay function does nothing. */
static void auth_pam_no_delay(int retval, unsigned usec, void *appdata)
{
    (void)retval;
    (void)usec;
    (void)appdata;
}

static bool auth_pam_user_ok(const char *user)
{
    size_t n = strlen(user);
    if (n == 0 || n > AUTH_PAM_MAX_USER)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)user[i];
        if (ch < 0x20 || ch == 0x7f)
            return false;
    }
    return true;
}

bool auth_pam_check_rhost(const char *service, const char *user, const char *password,
              const char *rhost, char **err_r)
{
    pam_handle_t *h = NULL;
    auth_pam_conv_data data = { .password = password };
    struct pam_conv conv = { .conv = auth_pam_conv, .appdata_ptr = &data };
    const char *stage = "start";
    const char *reason = NULL;
    int rc = PAM_SYSTEM_ERR;
    bool ok = false;

    if (!service || !*service || !user || !password) {
        reason = "missing service, user or password";
        goto out;
    }
    if (!auth_pam_user_ok(user)) {
        reason = "invalid user name";
        user = "(invalid)";
        goto out;
    }
    if (!*password || strlen(password) > AUTH_PAM_MAX_PASSWORD) {
        reason = "empty or overlong password";
        goto out;
    }

    rc = pam_start(service, user, &conv, &h);
    if (rc != PAM_SUCCESS) {
        h = NULL;
        goto out;
    }
    stage = "set_item";
    rc = pam_set_item(h, PAM_FAIL_DELAY, (const void *)auth_pam_no_delay);
    if (rc != PAM_SUCCESS)
        goto out;
    if (rhost && *rhost) {
        rc = pam_set_item(h, PAM_RHOST, rhost);
        if (rc != PAM_SUCCESS)
            goto out;
    }
    stage = "authenticate";
    rc = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    if (rc != PAM_SUCCESS)
        goto out;
    stage = "acct_mgmt";
    rc = pam_acct_mgmt(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    if (rc != PAM_SUCCESS)
        goto out;
    ok = true;
out:
    if (!ok) {
        if (!reason)
            reason = h ? pam_strerror(h, rc) : "pam_start failed";
        char *msg = xstrfmt("PAM %s for user '%s' (service %s%s%s) failed: %s",
                     stage, user ? user : "(null)",
                     service ? service : "(null)",
                     rhost ? ", client " : "", rhost ? rhost : "", reason);
        if (!err_r)             /* else the caller logs it, once, with its source */
            xlog_info("%s", msg ? msg : "PAM authentication failed");
        if (err_r)
            *err_r = msg ? msg : strdup("PAM authentication failed");
        else
            free(msg);
    } else {
        xlog_debug("PAM: user '%s' authenticated (service %s)", user, service);
    }
    if (h)
        pam_end(h, rc);
    return ok;
}

bool auth_pam_check(const char *service, const char *user, const char *password, char **err_r)
{
    return auth_pam_check_rhost(service, user, password, NULL, err_r);
}

/* ---- accounts and groups, for mapping users to roles ---- */

/* getpw*_r / getgr*_r with a buffer that grows on ERANGE (no size is truncated). */
#define AUTH_NSS_BUF_MAX (1024 * 1024)

enum { NSS_UID, NSS_GID, NSS_USER };

/* The account of uid or user name (into *pw), or the group of gid (into
 * *gr), its strings in *buf_r (free it); false if there is none. */
static bool nss_lookup(int what, unsigned id, const char *user, struct passwd *pw,
                       struct group *gr, char **buf_r)
{
    *buf_r = NULL;
    for (size_t len = 1024;; len *= 2) {
        char *buf = malloc(len);
        if (!buf)
            return false;
        struct passwd *pw_res = NULL;
        struct group *gr_res = NULL;
        int rc = what == NSS_GID   ? getgrgid_r((gid_t)id, gr, buf, len, &gr_res)
                 : what == NSS_UID ? getpwuid_r((uid_t)id, pw, buf, len, &pw_res)
                                   : getpwnam_r(user, pw, buf, len, &pw_res);
        if (rc == ERANGE && len < AUTH_NSS_BUF_MAX) {
            free(buf);
            continue;
        }
        if (rc != 0 || (!pw_res && !gr_res)) {
            free(buf);
            return false;
        }
        *buf_r = buf;
        return true;
    }
}

bool auth_user_name(unsigned uid, char **name_r)
{
    struct passwd pw;
    char *buf;
    *name_r = NULL;
    if (nss_lookup(NSS_UID, uid, NULL, &pw, NULL, &buf))
        *name_r = strdup(pw.pw_name);
    free(buf);
    return *name_r != NULL;
}

static char *group_name(gid_t gid)
{
    struct group gr;
    char *buf;
    char *name = nss_lookup(NSS_GID, gid, NULL, NULL, &gr, &buf) ? strdup(gr.gr_name) : NULL;
    free(buf);
    return name;
}

bool auth_user_groups(const char *user, char ***groups_r, size_t *n_r)
{
    *groups_r = NULL;
    *n_r = 0;
    struct passwd pw;
    char *buf;
    if (!nss_lookup(NSS_USER, 0, user, &pw, NULL, &buf))
        return false;
    int ng = 32;
    gid_t *gids = NULL;
    for (;;) {
        gid_t *ngids = realloc(gids, (size_t)ng * sizeof *gids);
        if (!ngids)
            goto fail;
        gids = ngids;
        int want = ng;
        if (getgrouplist(user, pw.pw_gid, gids, &want) >= 0) {
            ng = want;
            break;
        }
        if (want <= ng || want > 65536)   /* no growth asked for, or absurd: give up */
            goto fail;
        ng = want;
    }
    char **names = calloc((size_t)ng ? (size_t)ng : 1, sizeof *names);
    if (!names)
        goto fail;
    size_t n = 0;
    for (int i = 0; i < ng; i++) {
        char *g = group_name(gids[i]);
        if (g)
            names[n++] = g;
    }
    free(gids);
    free(buf);
    *groups_r = names;
    *n_r = n;
    return true;
fail:
    free(gids);
    free(buf);
    return false;
}
