/* session: login (PAM), logout, validation, idle expiry. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/classes.h"
#include "daemon/host.h"
#include "daemon/session.h"
#include "daemon/store.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

typedef struct session_priv {
    time_t last_active;         /* updated on use, published to the field at most once a second */
    char peer[64];
} session_priv;

static session_config cfg;
#define MAX_END_FNS 4
static session_end_fn end_fns[MAX_END_FNS];
static size_t n_end_fns;

void session_on_end(session_end_fn fn)
{
    if (n_end_fns < MAX_END_FNS)
        end_fns[n_end_fns++] = fn;
}

static void ended(const char *ref)
{
    for (size_t i = 0; i < n_end_fns; i++)
        end_fns[i](ref);
}

/* A session is visible only to itself (xend: PERMISSION_DENIED otherwise). */
static bool session_read(xcall *call, const xobj *o, xerr **errp)
{
    if (strcmp(call->session, o->ref) == 0)
        return true;
    return xerr_PERMISSION_DENIED(errp);
}

static const xclass_ops session_ops = { .read = session_read };

void session_setup(const session_config *c)
{
    cfg = *c;
    xclass_register(XC_session, &session_ops);
}

bool session_check(xcall *call, const char *sent, xerr **errp)
{
    (void)call;
    const char *ref = xref_plain(sent);     /* an OpaqueRef names the same session */
    time_t now = time(NULL);
    bool publish = false;
    store_rdlock();
    xobj *o = store_find(XC_session, ref);
    if (o) {
        session_priv *p = o->priv;
        if (cfg.timeout && now - __atomic_load_n(&p->last_active, __ATOMIC_RELAXED) > (time_t)cfg.timeout) {
            store_unlock();
            session_expire_idle();
            return xerr_SESSION_INVALID(errp, sent);
        }
        publish = now != __atomic_exchange_n(&p->last_active, now, __ATOMIC_RELAXED);
    }
    store_unlock();
    if (!o)
        return xerr_SESSION_INVALID(errp, sent);
    if (publish) {
        store_wrlock();
        o = store_find(XC_session, ref);
        if (o)
            xobj_set(o, XF_session_last_active, xv_datetime_t(now));
        store_unlock();
    }
    return true;
}

void session_expire_idle(void)
{
    if (!cfg.timeout)
        return;
    time_t now = time(NULL);
    char gone[64][XREF_LEN];
    size_t n = 0;
    store_wrlock();
    xobj *o = store_first(XC_session);
    while (o && n < 64) {
        xobj *next = store_next(o);
        session_priv *p = o->priv;
        if (now - p->last_active > (time_t)cfg.timeout) {
            snprintf(gone[n++], XREF_LEN, "%s", o->ref);
            store_remove(o);
        }
        o = next;
    }
    store_unlock();
    for (size_t i = 0; i < n; i++) {
        xlog(XLOG_INFO, "session %.8s… expired", gone[i]);
        ended(gone[i]);
    }
}

bool xh_session_login_with_password(xcall *call, const char *uname, const char *pwd, xv **result_r,
                                    xerr **errp)
{
    if (!call->peer.auth_none) {
        char *why = NULL;
        if (!cfg.check_password ||
            !cfg.check_password(cfg.pam_service, uname, pwd, call->peer.local ? NULL : call->peer.addr, &why)) {
            free(why);      /* the checker logs the reason */
            return xerr_SESSION_AUTHENTICATION_FAILED(errp);
        }
    }
    xobj *o = xobj_new(XC_session, NULL);
    session_priv *p = calloc(1, sizeof(*p));
    if (!p)
        abort();
    p->last_active = time(NULL);
    snprintf(p->peer, sizeof(p->peer), "%s", call->peer.addr);
    o->priv = p;
    o->priv_free = free;
    xv_free(o->f[XF_session_this_user]);
    o->f[XF_session_this_user] = xv_str(uname);
    xv_free(o->f[XF_session_last_active]);
    o->f[XF_session_last_active] = xv_datetime_t(p->last_active);
    store_wrlock();
    xv_free(o->f[XF_session_this_host]);
    o->f[XF_session_this_host] = xv_str(host_ref());
    *result_r = xv_str(o->ref);
    store_insert(o);
    store_unlock();
    xlog(XLOG_INFO, "session %.8s… opened for '%s' from %s%s", (*result_r)->u.str.s, uname,
         call->peer.addr, call->peer.auth_none ? " (listener without authentication)" : "");
    return true;
}

bool xh_session_logout(xcall *call, xerr **errp)
{
    (void)errp;
    char ref[XREF_LEN];
    snprintf(ref, sizeof(ref), "%s", call->session);
    store_wrlock();
    xobj *o = store_find(XC_session, ref);
    if (o)
        store_remove(o);
    store_unlock();
    ended(ref);
    return true;
}
