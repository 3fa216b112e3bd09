/* login: session.login_with_password under abuse (docs/security.md).
 *
 * Passwords are checked on pools of their own (one thread for the Unix
 * socket, auth-threads for TCP), never on the workers that serve the other
 * calls, and PAM's own failure delay is switched off (rpc/auth_pam.c).  A
 * failure makes its source (address, or the Unix peer's uid) and, over TCP,
 * its user name wait a back-off that doubles with each failure; the failure
 * is answered once that back-off has passed.  Waiting holds no thread: the
 * call is deferred, kept on a timer list, and answered (or checked) by the
 * one timer thread when due. */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/login.h"
#include "daemon/session.h"
#include "util/cond.h"
#include "util/log.h"
#include "util/pool.h"
#include "util/strutil.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"

static session_config cfg;

#define MAX_STRIKES 4096            /* sources and user names remembered */
#define STRIKE_FORGET_MS (15 * 60 * 1000)   /* failures older than this are forgotten */
#define MAX_WAITING_PER_SOURCE 16   /* logins held per source; more are refused unchecked */
#define MAX_WAITING_PER_USER 64

typedef struct strike {
    char *key;                  /* "addr:<ip>", "unix:<uid>", "user:<name>" */
    unsigned fails;
    int64_t until_ms;           /* no check for this key before */
    int64_t last_ms;            /* last failure */
    unsigned waiting;           /* logins held until until_ms */
} strike;

typedef struct login_job {
    xcall *call;
    char *user, *pwd;
    char *src, *ukey;           /* ukey NULL over the Unix socket (its source is the peer's uid) */
    bool answer;                /* on the timer list: answer err when due (else: check when due) */
    xerr *err;
    int64_t due_ms;
    struct login_job *next;
} login_job;

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t guard_cond;
static strike strikes[MAX_STRIKES];
static login_job *timers;           /* sorted by due_ms */
static bool timer_running, stopping;   /* timer_job is queued or runs */
static xpool *auth_pool, *auth_local_pool, *timer_pool;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* With guard_lock held: key's entry (created if create), NULL if none. */
static strike *find_strike(const char *key, bool create, int64_t now)
{
    strike *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < MAX_STRIKES; i++) {
        strike *s = &strikes[i];
        if (!s->key) {
            if (!free_slot)
                free_slot = s;
            continue;
        }
        if (strcmp(s->key, key) == 0) {
            if (now - s->last_ms > STRIKE_FORGET_MS && s->waiting == 0)
                s->fails = 0;
            return s;
        }
        if (s->waiting == 0 && (!oldest || s->last_ms < oldest->last_ms))
            oldest = s;
    }
    if (!create)
        return NULL;
    strike *s = free_slot ? free_slot : oldest;
    if (!s)
        return NULL;            /* every entry holds waiting logins: nothing to remember with */
    free(s->key);
    *s = (strike){ .key = strdup(key), .last_ms = now };
    if (!s->key)
        abort();
    return s;
}

static int64_t backoff_ms(unsigned fails)
{
    if (!fails)
        return 0;
    int64_t d = cfg.backoff_ms;
    for (unsigned i = 1; i < fails && d < cfg.backoff_max_ms; i++)
        d *= 2;
    return d < cfg.backoff_max_ms ? d : cfg.backoff_max_ms;
}

static void free_job(login_job *j)
{
    if (j->pwd) {
        explicit_bzero(j->pwd, strlen(j->pwd));
        free(j->pwd);
    }
    free(j->user);
    free(j->src);
    free(j->ukey);
    xerr_free(j->err);
    free(j);
}

static void refuse(login_job *j)
{
    xerr *err = NULL;
    xerr_SESSION_AUTHENTICATION_FAILED(&err);
    xcall_finish(j->call, NULL, err);
    free_job(j);
}

static void timer_job(void *arg);

/* With guard_lock held: put j on the timer list (and start its thread). */
static void add_timer(login_job *j)
{
    login_job **pp = &timers;
    while (*pp && (*pp)->due_ms <= j->due_ms)
        pp = &(*pp)->next;
    j->next = *pp;
    *pp = j;
    pthread_cond_signal(&guard_cond);
    if (!timer_running && timer_pool) {
        timer_running = true;
        xpool_submit(timer_pool, timer_job, NULL);
    }
}

static void check_job(void *arg);

/* A login arrives (or its wait is over): check it now, or hold it until
 * its source and user name have waited out their back-off. */
static void admit(login_job *j, bool arriving)
{
    int64_t now = mono_ms();
    pthread_mutex_lock(&guard_lock);
    if (stopping || !auth_pool) {   /* shutting down, or never started */
        pthread_mutex_unlock(&guard_lock);
        refuse(j);
        return;
    }
    strike *s = find_strike(j->src, false, now), *u = j->ukey ? find_strike(j->ukey, false, now) : NULL;
    if (!arriving) {
        if (s && s->waiting)
            s->waiting--;
        if (u && u->waiting)
            u->waiting--;
    }
    int64_t due = s ? s->until_ms : 0;
    if (u && u->until_ms > due)
        due = u->until_ms;
    if (due > now) {
        if ((s && s->waiting >= MAX_WAITING_PER_SOURCE) || (u && u->waiting >= MAX_WAITING_PER_USER)) {
            pthread_mutex_unlock(&guard_lock);
            xlog(XLOG_INFO, "login from %s refused unchecked: %u logins from there already wait out its back-off",
                 j->src, s ? s->waiting : 0);
            refuse(j);
            return;
        }
        if (s)
            s->waiting++;
        if (u)
            u->waiting++;
        j->answer = false;
        j->due_ms = due;
        add_timer(j);
        pthread_mutex_unlock(&guard_lock);
        return;
    }
    /* under the lock: login_stop frees the pools only after taking them away */
    xpool_submit(j->ukey ? auth_pool : auth_local_pool, check_job, j);
    pthread_mutex_unlock(&guard_lock);
}

/* On an auth pool: the password check itself (PAM, without its own delay). */
static void check_job(void *arg)
{
    login_job *j = arg;
    xcall *call = j->call;
    char *why = NULL;
    bool ok = cfg.check_password &&
              cfg.check_password(cfg.pam_service, j->user, j->pwd, call->peer.local ? NULL : call->peer.addr, &why);
    explicit_bzero(j->pwd, strlen(j->pwd));
    int64_t now = mono_ms();
    pthread_mutex_lock(&guard_lock);
    strike *s = find_strike(j->src, !ok, now), *u = j->ukey ? find_strike(j->ukey, !ok, now) : NULL;
    if (ok) {
        /* a success clears its source's and its user's failures */
        if (s)
            s->fails = 0, s->until_ms = 0;
        if (u)
            u->fails = 0, u->until_ms = 0;
        pthread_mutex_unlock(&guard_lock);
        xv *result = NULL;
        xerr *err = NULL;
        if (!session_open(call, j->user, &result, &err))
            xv_free(result), result = NULL;
        xcall_finish(call, result, err);
        free_job(j);
        return;
    }
    int64_t delay = 0;
    if (s) {
        s->fails++;
        s->last_ms = now;
        s->until_ms = now + backoff_ms(s->fails);
        delay = s->until_ms - now;
    }
    if (u) {
        u->fails++;
        u->last_ms = now;
        u->until_ms = now + backoff_ms(u->fails);
        if (u->until_ms - now > delay)
            delay = u->until_ms - now;
    }
    char ufails[48] = "";
    if (u)
        snprintf(ufails, sizeof(ufails), ", %u for that user name", u->fails);
    xlog(XLOG_INFO, "login from %s failed: %s (failure %u from there%s); answered in %lld ms", j->src,
         why ? why : "password refused", s ? s->fails : 0, ufails, (long long)delay);
    free(why);
    xerr_SESSION_AUTHENTICATION_FAILED(&j->err);
    if (stopping || delay <= 0) {
        pthread_mutex_unlock(&guard_lock);
        xcall_finish(call, NULL, j->err);
        j->err = NULL;
        free_job(j);
        return;
    }
    j->answer = true;
    j->due_ms = now + delay;
    add_timer(j);
    pthread_mutex_unlock(&guard_lock);
}

/* The one thread that answers delayed failures and lets held logins in,
 * while any is held (on timer_pool: no thread when none is). */
static void timer_job(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&guard_lock);
    while (!stopping && timers) {
        int64_t now = mono_ms();
        if (timers->due_ms > now) {
            struct timespec ts = xcond_deadline_ms(timers->due_ms - now);
            pthread_cond_timedwait(&guard_cond, &guard_lock, &ts);
            continue;
        }
        login_job *j = timers;
        timers = j->next;
        pthread_mutex_unlock(&guard_lock);
        if (j->answer) {
            xcall_finish(j->call, NULL, j->err);
            j->err = NULL;
            free_job(j);
        } else {
            admit(j, false);
        }
        pthread_mutex_lock(&guard_lock);
    }
    timer_running = false;
    pthread_mutex_unlock(&guard_lock);
}

bool login_start(const session_config *c, char **err_r)
{
    cfg = *c;
    xcond_init_monotonic(&guard_cond);
    stopping = false;
    /* threads only while passwords are being checked */
    auth_pool = xpool_new_on_demand("xend-auth", cfg.auth_threads ? cfg.auth_threads : 4, 0);
    auth_local_pool = xpool_new_on_demand("xend-auth-unix", 1, 0);
    timer_pool = xpool_new_on_demand("xend-login", 1, 0);
    if (!auth_pool || !auth_local_pool || !timer_pool) {
        *err_r = xstrfmt("cannot start the login threads");
        return false;
    }
    return true;
}

static void guard_forget(void)
{
    for (size_t i = 0; i < MAX_STRIKES; i++) {
        free(strikes[i].key);
        strikes[i].key = NULL;
    }
}

void login_stop(void)
{
    pthread_mutex_lock(&guard_lock);
    stopping = true;
    pthread_cond_broadcast(&guard_cond);
    xpool *tp = timer_pool;
    timer_pool = NULL;
    pthread_mutex_unlock(&guard_lock);
    xpool_free(tp);             /* timer_job has returned */
    pthread_mutex_lock(&guard_lock);
    timer_running = false;
    login_job *list = timers;
    timers = NULL;
    pthread_mutex_unlock(&guard_lock);
    while (list) {
        login_job *j = list;
        list = j->next;
        if (j->answer) {
            xcall_finish(j->call, NULL, j->err);
            j->err = NULL;
            free_job(j);
        } else {
            refuse(j);
        }
    }
    pthread_mutex_lock(&guard_lock);
    xpool *tcp = auth_pool, *local = auth_local_pool;
    auth_pool = auth_local_pool = NULL;     /* admit() refuses from now on */
    pthread_mutex_unlock(&guard_lock);
    xpool_free(tcp);            /* checks still queued run, and answer at once */
    xpool_free(local);
    guard_forget();
}

bool xh_session_login_with_password(xcall *call, const char *uname, const char *pwd, xv **result_r,
                                    xerr **errp)
{
    if (call->peer.auth_none)
        return session_open(call, uname, result_r, errp);
    if (call->peer.cert_user[0]) {
        /* the TLS handshake proved the account (a certificate the listener's
         * client-ca= signed): the password is not asked, the name must match */
        if (*uname && strcmp(uname, call->peer.cert_user) != 0) {
            xlog(XLOG_INFO, "login from %s refused: user name '%s' is not its certificate's '%s'", call->peer.addr,
                 uname, call->peer.cert_user);
            return xerr_SESSION_AUTHENTICATION_FAILED(errp);
        }
        return session_open(call, call->peer.cert_user, result_r, errp);
    }
    login_job *j = calloc(1, sizeof(*j));
    if (!j || !(j->user = strdup(uname)) || !(j->pwd = strdup(pwd)))
        abort();
    j->call = call;
    if (call->peer.local)
        j->src = call->peer.cred ? xstrfmt("unix:uid %u", call->peer.uid) : strdup("unix");
    else {
        j->src = xstrfmt("%s", call->peer.addr);
        j->ukey = xstrfmt("user:%s", uname);
        if (!j->ukey)
            abort();
    }
    if (!j->src)
        abort();
    xcall_defer(call);
    admit(j, true);
    return true;
}
