/* hostpolicy: see hostpolicy.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/classes.h"
#include "daemon/dispatch.h"
#include "daemon/hostpolicy.h"
#include "daemon/store.h"
#include "util/cond.h"
#include "util/io.h"
#include "util/log.h"
#include "xapi_model.h"

/* ---- internal calls: a local root client without a socket ---- */

typedef struct icall {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done, abandoned;
    xcall *call;
} icall;

static void icall_free(icall *ic)
{
    xcall_free(ic->call);
    pthread_cond_destroy(&ic->cv);
    pthread_mutex_destroy(&ic->mu);
    free(ic);
}

static void icall_done(xcall *c)
{
    icall *ic = c->transport;
    pthread_mutex_lock(&ic->mu);
    if (ic->abandoned) {                /* its waiter gave up: nobody else will free it */
        pthread_mutex_unlock(&ic->mu);
        icall_free(ic);
        return;
    }
    ic->done = true;
    pthread_cond_signal(&ic->cv);
    pthread_mutex_unlock(&ic->mu);
}

/* Starts method(params...) (params: an XV_ARRAY, taken). */
static icall *icall_start(const char *method, xv *params)
{
    icall *ic = calloc(1, sizeof(*ic));
    if (!ic)
        abort();
    pthread_mutex_init(&ic->mu, NULL);
    xcond_init_monotonic(&ic->cv);
    xcall *c = xcall_new();
    c->method_name = strdup(method);
    if (!c->method_name)
        abort();
    c->params = params;
    /* xend acting on its own: the local superuser (pool-admin), as root on
     * the Unix socket would be */
    c->peer.local = true;
    c->peer.auth_none = true;
    c->peer.cred = true;
    c->peer.uid = 0;
    c->peer.gid = 0;
    c->peer.cred = true;                /* the daemon itself: root, so pool-admin (docs/security.md) */
    c->peer.uid = 0;
    c->want_tree = true;
    snprintf(c->peer.addr, sizeof(c->peer.addr), "xend");
    c->done = icall_done;
    c->transport = ic;
    ic->call = c;
    xcall_run(c);
    return ic;
}

/* Waits until the call is answered or until deadline (CLOCK_MONOTONIC);
 * returns its Value (owned) or NULL with *why_r (malloc'd) saying why. */
static xv *icall_wait(icall *ic, const struct timespec *deadline, char **why_r)
{
    pthread_mutex_lock(&ic->mu);
    int rc = 0;
    while (!ic->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&ic->cv, &ic->mu, deadline);
    if (!ic->done) {
        ic->abandoned = true;
        pthread_mutex_unlock(&ic->mu);
        *why_r = strdup("no answer in time (xend stops without waiting longer)");
        return NULL;
    }
    pthread_mutex_unlock(&ic->mu);
    xcall *c = ic->call;
    xv *value = NULL;
    if (c->err) {
        xbuf b;
        xbuf_init(&b);
        xbuf_puts(&b, c->err->code);
        for (size_t i = 0; i < c->err->n; i++) {
            xbuf_puts(&b, " ");
            xbuf_puts(&b, c->err->params[i]);
        }
        size_t len;
        *why_r = xbuf_steal(&b, &len);
    } else {
        value = c->result ? c->result : xv_str("");
        c->result = NULL;
    }
    icall_free(ic);
    return value;
}

static void deadline_in(struct timespec *ts, unsigned seconds)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += seconds;
}

/* One call, waited for; true on Success.  *value_r (optional) gets the Value. */
static bool call_sync(const char *what, const char *method, xv *params, unsigned timeout_s, xv **value_r)
{
    struct timespec dl;
    deadline_in(&dl, timeout_s);
    char *why = NULL;
    xv *v = icall_wait(icall_start(method, params), &dl, &why);
    if (!v)
        xlog(XLOG_WARNING, "%s: %s failed: %s", what, method, why ? why : "?");
    free(why);
    if (value_r)
        *value_r = v;
    else
        xv_free(v);
    return v != NULL;
}

/* A session of the local root; "" when the login failed. */
static void login(const char *what, char session[40])
{
    session[0] = '\0';
    xv *p = xv_array();
    xv_array_add(p, xv_str("root"));
    xv_array_add(p, xv_str(""));
    xv *v = NULL;
    if (call_sync(what, "session.login_with_password", p, 60, &v) && v->kind == XV_STRING)
        snprintf(session, 40, "%s", v->u.str.s);
    xv_free(v);
}

static void logout(const char *what, const char *session)
{
    if (!*session)
        return;
    xv *p = xv_array();
    xv_array_add(p, xv_str(session));
    call_sync(what, "session.logout", p, 60, NULL);
}

/* ---- on_xend_start ---- */

typedef struct refs {
    char (*ref)[40];
    char **action;              /* on_xend_stop: "shutdown" or "suspend" */
    size_t n;
} refs;

static void refs_add(refs *r, const char *ref, const char *action)
{
    r->ref = realloc(r->ref, (r->n + 1) * sizeof(*r->ref));
    r->action = realloc(r->action, (r->n + 1) * sizeof(*r->action));
    if (!r->ref || !r->action)
        abort();
    snprintf(r->ref[r->n], sizeof(r->ref[r->n]), "%s", ref);
    r->action[r->n] = action ? strdup(action) : NULL;
    r->n++;
}

static void refs_free(refs *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->action[i]);
    free(r->ref);
    free(r->action);
    memset(r, 0, sizeof(*r));
}

static pthread_t start_th;
static bool start_running;

static void *autostart_main(void *arg)
{
    (void)arg;
    refs todo = { 0 };
    store_rdlock();
    for (xobj *vm = store_first(XCL_VM); vm; vm = store_next(vm)) {
        if (!xobj_bool(vm, XF_VM_is_control_domain) && xobj_bool(vm, XF_VM_auto_power_on) &&
            strcmp(xobj_str(vm, XF_VM_power_state), "Halted") == 0)
            refs_add(&todo, vm->ref, NULL);
    }
    store_unlock();
    if (todo.n == 0) {
        xlog(XLOG_INFO, "autostart: no halted VM is marked auto_power_on");
        refs_free(&todo);
        return NULL;
    }
    xlog(XLOG_INFO, "autostart: starting %zu VM(s) marked auto_power_on", todo.n);
    char session[40];
    login("autostart", session);
    size_t started = 0;
    for (size_t i = 0; *session && i < todo.n; i++) {
        xv *p = xv_array();
        xv_array_add(p, xv_str(session));
        xv_array_add(p, xv_str(todo.ref[i]));
        xv_array_add(p, xv_bool(false));
        char what[80];
        snprintf(what, sizeof(what), "autostart of VM %s", todo.ref[i]);
        started += call_sync(what, "VM.start", p, 600, NULL);
    }
    logout("autostart", session);
    xlog(XLOG_INFO, "autostart: %zu of %zu VM(s) started", started, todo.n);
    refs_free(&todo);
    return NULL;
}

/* True when the host booted since the last autostart (and records this
 * boot); the first start of xend on a state directory counts as such. */
static bool first_start_this_boot(const char *state_dir)
{
    char boot[64] = "", last[64] = "", path[4096];
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
    if (f) {
        if (!fgets(boot, sizeof(boot), f))
            boot[0] = '\0';
        fclose(f);
    }
    boot[strcspn(boot, "\n")] = '\0';
    if (!*boot)
        return true;            /* no boot id: start them, as xend did on every start */
    snprintf(path, sizeof(path), "%s/autostart-boot-id", state_dir);
    if ((f = fopen(path, "re"))) {
        if (!fgets(last, sizeof(last), f))
            last[0] = '\0';
        fclose(f);
    }
    last[strcspn(last, "\n")] = '\0';
    if (strcmp(boot, last) == 0)
        return false;
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && xwrite_all(fd, boot, strlen(boot)) && xwrite_all(fd, "\n", 1) && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok || rename(tmp, path) != 0) {
        xlog(XLOG_WARNING, "autostart: cannot record this boot in %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    return true;
}

void hostpolicy_start(const char *state_dir)
{
    if (!first_start_this_boot(state_dir)) {
        xlog(XLOG_INFO, "autostart: xend already started once since the host booted; "
                        "VMs marked auto_power_on are not started again");
        return;
    }
    start_running = pthread_create(&start_th, NULL, autostart_main, NULL) == 0;
    if (!start_running)
        xlog(XLOG_ERROR, "autostart: cannot start its thread: %s", strerror(errno));
}

/* ---- on_xend_stop ---- */

static const char *stop_action(const xobj *vm, const char *dflt)
{
    const char *a = xobj_map_get(vm, XF_VM_other_config, "on_xend_stop");
    if (a && (strcmp(a, "ignore") == 0 || strcmp(a, "shutdown") == 0 || strcmp(a, "suspend") == 0))
        return a;
    if (a)
        xlog(XLOG_WARNING, "VM %s: other_config:on_xend_stop '%s' is not ignore, shutdown or suspend; "
                           "using xend.conf's '%s'", vm->ref, a, dflt);
    return dflt;
}

void hostpolicy_stop(const char *default_action, unsigned timeout_s)
{
    if (start_running) {
        pthread_join(start_th, NULL);
        start_running = false;
    }
    const char *dflt = default_action ? default_action : "ignore";
    refs todo = { 0 };
    size_t left = 0;
    store_rdlock();
    for (xobj *vm = store_first(XCL_VM); vm; vm = store_next(vm)) {
        if (xobj_bool(vm, XF_VM_is_control_domain))
            continue;
        const char *ps = xobj_str(vm, XF_VM_power_state);
        bool running = strcmp(ps, "Running") == 0;
        if (!running && strcmp(ps, "Paused") != 0)
            continue;
        const char *a = stop_action(vm, dflt);
        if (strcmp(a, "ignore") == 0)
            left++;
        else if (!running)
            xlog(XLOG_WARNING, "VM %s is paused: on_xend_stop %s is not applied to it", vm->ref, a);
        else
            refs_add(&todo, vm->ref, a);
    }
    store_unlock();
    if (left)
        xlog(XLOG_INFO, "on_xend_stop: %zu guest(s) left running", left);
    if (todo.n == 0) {
        refs_free(&todo);
        return;
    }
    xlog(XLOG_INFO, "on_xend_stop: %zu guest(s) to shut down or suspend (waiting up to %u s)", todo.n,
         timeout_s);
    char session[40];
    login("on_xend_stop", session);
    if (!*session) {
        refs_free(&todo);
        return;
    }
    icall **calls = calloc(todo.n, sizeof(*calls));
    if (!calls)
        abort();
    for (size_t i = 0; i < todo.n; i++) {
        xv *p = xv_array();
        xv_array_add(p, xv_str(session));
        xv_array_add(p, xv_str(todo.ref[i]));
        calls[i] = icall_start(strcmp(todo.action[i], "suspend") == 0 ? "VM.suspend" : "VM.clean_shutdown", p);
    }
    struct timespec dl;
    deadline_in(&dl, timeout_s);
    size_t done = 0;
    for (size_t i = 0; i < todo.n; i++) {
        char *why = NULL;
        xv *v = icall_wait(calls[i], &dl, &why);
        if (v) {
            done++;
            xlog(XLOG_INFO, "on_xend_stop: VM %s: %s done", todo.ref[i], todo.action[i]);
        } else {
            xlog(XLOG_WARNING, "on_xend_stop: VM %s: %s failed: %s", todo.ref[i], todo.action[i],
                 why ? why : "?");
        }
        xv_free(v);
        free(why);
    }
    free(calls);
    logout("on_xend_stop", session);
    xlog(XLOG_INFO, "on_xend_stop: %zu of %zu done", done, todo.n);
    refs_free(&todo);
}
