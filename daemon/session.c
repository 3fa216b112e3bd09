/* session: opening sessions (after daemon/login.c checked the password),
 * logout, validation, idle expiry, limits per user and originator. */
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
#include "util/strutil.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"
#include "xapi_policy.h"

typedef struct session_priv {
    time_t last_active;         /* updated on use, published to the field at most once a second */
    char peer[64];
    int role;                   /* xrole, fixed at login (as XAPI: role changes need a new login) */
    char *group;                /* the limit's group (XAPI's): "o:<originator>", "u:<user>" or "root" */
} session_priv;

static void priv_free(void *v)
{
    session_priv *p = v;
    free(p->group);
    free(p);
}

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

const xclass_ops session_ops = { .read = session_read };

/* ---- roles (docs/security.md) ---- */

/* The role mapping in force: replaced whole on reload (the old one stays
 * allocated, as the configurations it borrows from do); a session keeps the
 * role it logged in with, as in XAPI. */
typedef struct roles_cfg {
    const xend_role_map *maps;
    size_t n;
    int dflt;                   /* -1: unmapped accounts may not log in */
    struct roles_cfg *prev;     /* the one it replaced (a login may still read it); freed at exit */
} roles_cfg;
static const roles_cfg *roles;  /* __atomic loads and stores */

bool session_set_roles(const xend_role_map *maps, size_t n, const char *dflt, char **err_r)
{
    for (size_t i = 0; i < n; i++) {
        if (xrole_by_name(maps[i].role) < 0) {
            *err_r = xstrfmt("role '%s' is not one of the datamodel's", maps[i].role);
            return false;
        }
    }
    int d = dflt ? xrole_by_name(dflt) : -1;
    if (dflt && d < 0) {
        *err_r = xstrfmt("role-default '%s' is not one of the datamodel's", dflt);
        return false;
    }
    roles_cfg *r = malloc(sizeof(*r));
    if (!r)
        abort();
    *r = (roles_cfg){ .maps = maps, .n = n, .dflt = d,
                      .prev = (roles_cfg *)__atomic_load_n(&roles, __ATOMIC_ACQUIRE) };
    __atomic_store_n(&roles, r, __ATOMIC_RELEASE);
    return true;
}

void session_fini(void)
{
    roles_cfg *r = (roles_cfg *)__atomic_exchange_n(&roles, NULL, __ATOMIC_ACQ_REL);
    while (r) {
        roles_cfg *prev = r->prev;
        free(r);
        r = prev;
    }
}

bool session_setup(const session_config *c, char **err_r)
{
    cfg = *c;
    if (!session_set_roles(cfg.role_maps, cfg.n_role_maps, cfg.role_default, err_r))
        return false;
    return true;
}

/* The role configured for account: its role-user line, else the most
 * privileged role of the role-group lines naming one of its groups, else
 * role-default; -1 if none (the account may not log in). */
static int role_of_account(const char *account)
{
    const roles_cfg *rc = __atomic_load_n(&roles, __ATOMIC_ACQUIRE);
    for (size_t i = 0; i < rc->n; i++)
        if (!rc->maps[i].is_group && strcmp(rc->maps[i].name, account) == 0)
            return xrole_by_name(rc->maps[i].role);
    int best = -1;
    char **groups = NULL;
    size_t n = 0;
    if (cfg.user_groups && cfg.user_groups(account, &groups, &n)) {
        for (size_t i = 0; i < rc->n; i++) {
            if (!rc->maps[i].is_group)
                continue;
            int r = xrole_by_name(rc->maps[i].role);
            for (size_t j = 0; j < n; j++)
                if (strcmp(rc->maps[i].name, groups[j]) == 0 && (best < 0 || r < best))
                    best = r;
        }
        for (size_t j = 0; j < n; j++)
            free(groups[j]);
        free(groups);
    }
    return best >= 0 ? best : rc->dflt;
}

/* Who logs in, as what.  Root over the Unix socket (the kernel's word) and
 * root through PAM are local superusers with pool-admin; a listener that
 * authenticates nobody (auth=none on TCP, explicit and warned about) grants
 * pool-admin; everyone else, a client certificate's name included, gets the
 * role mapped to the account. */
typedef struct login_id {
    char *account;              /* auth_user_name */
    bool superuser;
    int role;                   /* -1: authenticated, but no role: refused */
} login_id;

/* The password, if any, was checked already (login_check). */
static bool identify(xcall *call, const char *uname, login_id *id, xerr **errp)
{
    const xpeer *p = &call->peer;
    memset(id, 0, sizeof(*id));
    id->role = -1;
    if (p->local && p->cred && p->uid == 0) {
        id->account = strdup(p->auth_none ? "root" : uname);
        id->superuser = true;
        id->role = XROLE_POOL_ADMIN;
    } else if (p->local) {
        /* another local account: it is who the kernel says (auth=none) or who PAM accepted */
        char *peer = NULL;
        if (p->auth_none && !(p->cred && cfg.user_name && cfg.user_name(p->uid, &peer))) {
            xlog(XLOG_INFO, "login over the Unix socket refused: peer uid %d has no account", p->cred ? (int)p->uid : -1);
            return xerr_SESSION_AUTHENTICATION_FAILED(errp);
        }
        id->account = p->auth_none ? peer : strdup(uname);
        id->role = role_of_account(id->account);
    } else if (p->auth_none) {
        id->account = strdup(uname);
        id->role = XROLE_POOL_ADMIN;
    } else if (p->cert_user[0]) {
        /* a client certificate's common name: the account's mapped role, never
         * the local superuser's (a CA is trusted for names, not for root) */
        id->account = strdup(p->cert_user);
        id->role = role_of_account(p->cert_user);
    } else {
        id->account = strdup(uname);
        id->superuser = strcmp(uname, "root") == 0;
        id->role = id->superuser ? XROLE_POOL_ADMIN : role_of_account(uname);
    }
    if (!id->account)
        abort();
    if (id->role < 0) {
        xlog(XLOG_INFO, "login of '%s' from %s refused: no role is mapped to the account", id->account, p->addr);
        xerr_SESSION_AUTHORIZATION_FAILED(errp, id->account, "no role is mapped to this account");
        free(id->account);
        return false;
    }
    return true;
}

bool session_check(xcall *call, const char *sent, xerr **errp)
{
    const char *ref = xref_plain(sent);     /* an OpaqueRef names the same session */
    time_t now = time(NULL);
    bool publish = false;
    store_rdlock();
    xobj *o = store_find(XCL_session, ref);
    if (o) {
        session_priv *p = o->priv;
        if (cfg.timeout && now - __atomic_load_n(&p->last_active, __ATOMIC_RELAXED) > (time_t)cfg.timeout) {
            store_unlock();
            session_expire_idle();
            return xerr_SESSION_INVALID(errp, sent);
        }
        publish = now != __atomic_exchange_n(&p->last_active, now, __ATOMIC_RELAXED);
        if (call) {
            call->role = p->role;
            snprintf(call->user, sizeof(call->user), "%s", xobj_str(o, XF_session_auth_user_name));
        }
    }
    store_unlock();
    if (!o)
        return xerr_SESSION_INVALID(errp, sent);
    if (publish) {
        store_wrlock();
        o = store_find(XCL_session, ref);
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
    xobj *o = store_first(XCL_session);
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

/* ---- session limits (XAPI's groups, MODERN.md §4) ---- */

/* The group a new session counts in, and the group's limit: root (and a
 * listener without authentication) per originator when one is given, else
 * all together; any other account per user name. */
static char *limit_group(const xcall *call, const login_id *id, unsigned *limit_r)
{
    if (id->superuser || call->peer.auth_none) {
        if (call->originator && *call->originator) {
            *limit_r = cfg.per_originator ? cfg.per_originator : 500;
            return xstrfmt("o:%s", call->originator);
        }
        *limit_r = cfg.root ? cfg.root : 400;
        return strdup("root");
    }
    *limit_r = cfg.per_user ? cfg.per_user : 500;
    return xstrfmt("u:%s", id->account);
}

/* With the store write-locked: the refs of the sessions that own a task
 * still pending (queued or running), sorted; borrowed from the tasks. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char **busy_sessions(size_t *n_r)
{
    const char **v = NULL;
    size_t n = 0, cap = 0;
    for (xobj *t = store_first(XCL_task); t; t = store_next(t)) {
        if (strcmp(xobj_str(t, XF_task_status), "pending") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            if (!(v = realloc(v, cap * sizeof(*v))))
                abort();
        }
        v[n++] = xobj_str(t, XF_task_session);
    }
    if (n)
        qsort(v, n, sizeof(*v), cmp_str);
    *n_r = n;
    return v;
}

/* With the store write-locked: if group already holds limit sessions, remove
 * the least recently active of those that own no pending task (its ref into
 * gone, ROOM_EVICTED); ROOM_FULL if every one of them owns one: a session
 * whose task runs is never ended under it (its caller would lose the
 * result), and the group stays within its limit. */
enum { ROOM_FREE, ROOM_EVICTED, ROOM_FULL };
static int make_room(const char *group, unsigned limit, char gone[XREF_LEN])
{
    size_t n = 0, nbusy = 0;
    const char **busy = NULL;
    for (xobj *o = store_first(XCL_session); o; o = store_next(o)) {
        session_priv *p = o->priv;
        if (p->group && strcmp(p->group, group) == 0)
            n++;
    }
    if (n < limit)
        return ROOM_FREE;
    busy = busy_sessions(&nbusy);
    xobj *oldest = NULL;
    for (xobj *o = store_first(XCL_session); o; o = store_next(o)) {
        session_priv *p = o->priv;
        if (!p->group || strcmp(p->group, group) != 0)
            continue;
        const char *ref = o->ref;
        if (nbusy && bsearch(&ref, busy, nbusy, sizeof(*busy), cmp_str))
            continue;
        if (!oldest || p->last_active < ((session_priv *)oldest->priv)->last_active)
            oldest = o;
    }
    free(busy);
    if (!oldest)
        return ROOM_FULL;
    snprintf(gone, XREF_LEN, "%s", oldest->ref);
    store_remove(oldest);
    return ROOM_EVICTED;
}

/* The account is authenticated (or the listener authenticates nobody):
 * open its session. */
bool session_open(xcall *call, const char *uname, xv **result_r, xerr **errp)
{
    login_id id;
    if (!identify(call, uname, &id, errp))
        return false;
    xobj *o = xobj_new(XCL_session, NULL);
    session_priv *p = calloc(1, sizeof(*p));
    if (!p)
        abort();
    p->last_active = time(NULL);
    snprintf(p->peer, sizeof(p->peer), "%s", call->peer.addr);
    p->role = id.role;
    unsigned limit;
    if (!(p->group = limit_group(call, &id, &limit)))
        abort();
    o->priv = p;
    o->priv_free = priv_free;
    xv_free(o->f[XF_session_this_user]);
    o->f[XF_session_this_user] = xv_str(uname);
    xv_free(o->f[XF_session_auth_user_name]);
    o->f[XF_session_auth_user_name] = xv_str(id.account);
    xv_free(o->f[XF_session_is_local_superuser]);
    o->f[XF_session_is_local_superuser] = xv_bool(id.superuser);
    xv_free(o->f[XF_session_rbac_permissions]);
    o->f[XF_session_rbac_permissions] = xrbac_permissions(id.role);
    xv_free(o->f[XF_session_last_active]);
    o->f[XF_session_last_active] = xv_datetime_t(p->last_active);
    char gone[XREF_LEN];
    store_wrlock();
    int room = make_room(p->group, limit, gone);
    if (room == ROOM_FULL) {
        store_unlock();
        xlog(XLOG_INFO, "login of '%s' from %s refused: its group (%s) is at its limit of %u sessions, "
             "each owning a pending task", id.account, call->peer.addr, p->group, limit);
        xerr_SESSION_AUTHORIZATION_FAILED(errp, id.account, "the account's sessions are at their limit and "
                                          "each owns a task that has not finished");
        xobj_free(o);
        free(id.account);
        return false;
    }
    bool evicted = room == ROOM_EVICTED;
    xv_free(o->f[XF_session_this_host]);
    o->f[XF_session_this_host] = xv_str(host_ref());
    *result_r = xv_str(o->ref);
    store_insert(o);
    store_unlock();
    if (evicted) {
        xlog(XLOG_INFO, "session %.8s… destroyed: its group (%s) is at its limit of %u sessions", gone,
             p->group, limit);
        ended(gone);
    }
    xlog(XLOG_INFO, "session %.8s… opened for '%s' (%s%s) from %s%s", (*result_r)->u.str.s, id.account,
         xrole_names[id.role], id.superuser ? ", local superuser" : "", call->peer.addr,
         call->peer.auth_none ? " (listener without authentication)" : "");
    free(id.account);
    return true;
}

bool xh_session_logout(xcall *call, xerr **errp)
{
    (void)errp;
    char ref[XREF_LEN];
    snprintf(ref, sizeof(ref), "%s", call->session);
    store_wrlock();
    xobj *o = store_find(XCL_session, ref);
    if (o)
        store_remove(o);
    store_unlock();
    ended(ref);
    return true;
}
