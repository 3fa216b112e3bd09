/* The VM lifecycle as a table: every operation x every power state, driven
 * in-process through the real dispatch (xcall_run, the daemon's own hooks,
 * worker pool and persistence) on the sim backend, against the expected
 * table tests/unit/vm_lifecycle.table (data, not code).
 *
 * For each cell a fresh VM is brought into the column's state, the row's
 * operation is called, and the answer must be Success with the VM then in the
 * cell's state (or gone), or exactly VM_BAD_POWER_STATE [vm, named, state]
 * with the VM left as it was. */
#include "config.h"

#include "tests/lib/xtest.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/backend.h"
#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/event.h"
#include "daemon/host.h"
#include "daemon/session.h"
#include "daemon/store.h"
#include "rpc/reply.h"
#include "util/xmlrpc.h"
#include "util/log.h"
#include "util/loop.h"
#include "xenops/xenops.h"

#define MIB (1024 * 1024)
#define MAX_STATES 8
#define MAX_OPS 64

/* ------------------------------------------------------ the expected table */

typedef struct row {
    char op[64];
    char cell[MAX_STATES][16];  /* state after success, "gone", or "-" */
    char named[16];             /* the state VM_BAD_POWER_STATE names */
} row;

static char states[MAX_STATES][16];
static int n_states;
static row rows[MAX_OPS];
static int n_rows;

/* Read the table; false (and a failed check saying why) if it is malformed. */
static bool load_table(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int lineno = 0;
    bool header = false;

    if (!f) {
        CHECKF(false, "cannot open %s: %s", path, strerror(errno));
        return false;
    }
    while (fgets(line, sizeof(line), f)) {
        char *save = NULL, *tok[MAX_STATES + 2];
        int n = 0;

        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            CHECKF(false, "%s:%d: line too long", path, lineno);
            fclose(f);
            return false;
        }
        if (line[0] == '#' && strncmp(line, "# operation ", 12) != 0)
            continue;
        for (char *t = strtok_r(line[0] == '#' ? line + 1 : line, " \t\n", &save); t;
             t = strtok_r(NULL, " \t\n", &save)) {
            if (n == MAX_STATES + 2 || strlen(t) >= sizeof(rows[0].op)) {
                CHECKF(false, "%s:%d: too many columns or too long a word", path, lineno);
                fclose(f);
                return false;
            }
            tok[n++] = t;
        }
        if (n == 0)
            continue;
        if (!header) {          /* "# operation STATE... named" */
            if (n < 3 || strcmp(tok[0], "operation") != 0 || strcmp(tok[n - 1], "named") != 0) {
                CHECKF(false, "%s:%d: the header row must be 'operation STATE... named'", path, lineno);
                break;
            }
            n_states = n - 2;
            for (int i = 0; i < n_states; i++)
                snprintf(states[i], sizeof(states[i]), "%s", tok[i + 1]);
            header = true;
            continue;
        }
        if (n != n_states + 2 || n_rows == MAX_OPS) {
            CHECKF(false, "%s:%d: %d columns (the header has %d) or more than %d rows", path, lineno, n,
                   n_states + 2, MAX_OPS);
            break;
        }
        row *r = &rows[n_rows++];
        snprintf(r->op, sizeof(r->op), "%s", tok[0]);
        for (int i = 0; i < n_states; i++)
            snprintf(r->cell[i], sizeof(r->cell[i]), "%s", tok[i + 1]);
        snprintf(r->named, sizeof(r->named), "%s", tok[n - 1]);
    }
    fclose(f);
    return CHECKF(header && n_rows > 0, "%s: no header or no rows", path);
}

/* ------------------------------------------------- the daemon, in-process */

static xloop *loop;
static char tmpdir[] = "/tmp/xend-lifecycle-XXXXXX";
static char session[64];

static void start_core(void)
{
    char *err = NULL;

    loop = xloop_new();
    if (!loop)
        xtest_skip("cannot create an event loop: %s", strerror(errno));
    const xo_ops *sim = &xo_sim_ops;
    xo_options xo = { .state_dir = tmpdir, .loop = loop, .on_event = vm_backend_event };
    if (!backend_open_ops(sim, &xo, &err))
        xtest_skip("the sim backend does not open: %s", err ? err : "?");
    store_init();
    session_config sc = { .pam_service = "xend", .timeout = 0 };
    char *role_err = NULL;
    CHECKF(session_setup(&sc, &role_err), "session_setup: %s", role_err ? role_err : "");
    free(role_err);
    daemon_options o = { .state_dir = tmpdir, .task_expiry = 3600, .event_log_size = 1000, .loop = loop };
    if (!persist_setup(&o, &err) || !host_setup(tmpdir, &err) || !vm_setup(&o, &err) ||
        !events_setup(&o, &err)) {
        CHECKF(false, "daemon set-up: %s", err ? err : "?");
        free(err);
        exit(xtest_done());
    }
    if (!dispatch_start(2)) {
        CHECKF(false, "cannot start the worker pool");
        exit(xtest_done());
    }
}

static void stop_core(void)
{
    events_stop();
    dispatch_stop();
    backend_close();
    xloop_free(loop);
    store_fini();
    session_fini();
    xmlrpc_cleanup();
}

/* ------------------------------------------------------------------ calls */

typedef struct waiter {
    pthread_mutex_t m;
    pthread_cond_t c;
    bool done;
} waiter;

static void on_done(xcall *call)
{
    waiter *w = call->transport;

    pthread_mutex_lock(&w->m);
    w->done = true;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

/* Call method with params (an XV_ARRAY, consumed) as a client on the Unix
 * socket would; the decoded result struct ({Status, Value} or {Status,
 * ErrorDescription}), or NULL after a failed check. */
static xv *call_raw(const char *method, xv *params)
{
    waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };
    xcall *c = xcall_new();
    xv *result = NULL;
    struct timespec until;

    c->method_name = strdup(method);
    c->params = params;
    c->done = on_done;
    c->transport = &w;
    snprintf(c->peer.addr, sizeof(c->peer.addr), "unix");
    c->peer.local = true;
    c->peer.auth_none = true;
    c->peer.cred = true;        /* root over the Unix socket (SO_PEERCRED): pool-admin */
    c->peer.uid = 0;
    xcall_run(c);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += xtest_deadline_ms() / 1000;
    pthread_mutex_lock(&w.m);
    while (!w.done && pthread_cond_timedwait(&w.c, &w.m, &until) == 0)
        ;
    bool done = w.done;
    pthread_mutex_unlock(&w.m);
    if (!done) {
        CHECKF(false, "%s got no answer within %d ms", method, xtest_deadline_ms());
        exit(xtest_done());        /* the call still owns the waiter: stop here */
    }
    /* the answer as the XML-RPC transport writes it, read back as a client */
    rpc_form form = { .codec = XCODEC_XMLRPC };
    size_t len = 0;
    char *body = rpc_reply_encode(&form, c, &len);
    int code = 0;
    char *fs = NULL, *err = NULL;
    bool ok = body && xmlrpc_parse_response(body, len, NULL, &result, &code, &fs, &err);
    if (!ok || !result || result->kind != XV_STRUCT)
        CHECKF(false, "%s: bad answer %.200s (%s %s)", method, body ? body : "", err ? err : "",
               fs ? fs : "");
    free(body);
    free(fs);
    free(err);
    xcall_free(c);
    return result;
}

/* The same, with the session as the first parameter. */
static xv *call(const char *method, xv *params)
{
    xv *all = xv_array();

    xv_array_add(all, xv_str(session));
    for (size_t i = 0; i < params->u.arr.n; i++)
        xv_array_add(all, xv_dup(params->u.arr.items[i]));
    xv_free(params);
    return call_raw(method, all);
}

static const char *status_of(const xv *r)
{
    const xv *s = r ? xv_struct_get(r, "Status") : NULL;
    return s && s->kind == XV_STRING ? s->u.str.s : "";
}

/* The Value of a successful call (borrowed from r), or NULL. */
static const xv *value_of(const xv *r)
{
    return !strcmp(status_of(r), "Success") ? xv_struct_get(r, "Value") : NULL;
}

/* The ErrorDescription as "A B C" (static buffer), for messages. */
static const char *describe(const xv *r)
{
    static char buf[512];
    const xv *ed = r ? xv_struct_get(r, "ErrorDescription") : NULL;
    size_t o = 0;

    snprintf(buf, sizeof(buf), "%s", status_of(r));
    o = strlen(buf);
    for (size_t i = 0; ed && ed->kind == XV_ARRAY && i < ed->u.arr.n && o < sizeof(buf) - 1; i++) {
        const xv *e = ed->u.arr.items[i];
        int n = snprintf(buf + o, sizeof(buf) - o, " %s", e->kind == XV_STRING ? e->u.str.s : "?");
        if (n < 0)
            break;
        o += (size_t)n < sizeof(buf) - o ? (size_t)n : sizeof(buf) - o - 1;
    }
    return buf;
}

static xv *args(int n, ...)
{
    xv *a = xv_array();
    va_list ap;

    va_start(ap, n);
    for (int i = 0; i < n; i++)
        xv_array_add(a, va_arg(ap, xv *));
    va_end(ap);
    return a;
}

/* Call and expect Success; the value as a string ("" if not a string). */
static char *must(const char *method, xv *params, const char *what)
{
    xv *r = call(method, params);
    const xv *v = value_of(r);
    char *s = strdup(v && v->kind == XV_STRING ? v->u.str.s : "");

    if (!v)
        CHECKF(false, "%s (%s): %s", what, method, describe(r));
    xv_free(r);
    return s;
}

static char *power_of(const char *vm)
{
    return must("VM.get_power_state", args(1, xv_str(vm)), "read the power state");
}

static bool vm_exists(const char *vm)
{
    xv *r = call("VM.get_uuid", args(1, xv_str(vm)));
    bool ok = value_of(r) != NULL;
    xv_free(r);
    return ok;
}

/* ------------------------------------------------------- bringing VMs up */

static char *new_vm(bool preserve_crash)
{
    static int serial;
    xv *rec = xv_struct();
    char num[32];

    snprintf(num, sizeof(num), "table-vm-%d", ++serial);   /* domain names are unique */
    xv_struct_set(rec, "name_label", xv_str(num));
    snprintf(num, sizeof(num), "%d", 256 * MIB);
    xv_struct_set(rec, "memory_static_max", xv_str(num));
    xv_struct_set(rec, "memory_dynamic_max", xv_str(num));
    snprintf(num, sizeof(num), "%d", 128 * MIB);
    xv_struct_set(rec, "memory_dynamic_min", xv_str(num));
    snprintf(num, sizeof(num), "%d", 16 * MIB);
    xv_struct_set(rec, "memory_static_min", xv_str(num));
    xv_struct_set(rec, "VCPUs_max", xv_str("2"));
    xv_struct_set(rec, "VCPUs_at_startup", xv_str("1"));
    xv_struct_set(rec, "PV_kernel", xv_str("/boot/vmlinuz"));
    xv_struct_set(rec, "actions_after_shutdown", xv_str("destroy"));
    xv_struct_set(rec, "actions_after_reboot", xv_str("restart"));
    xv_struct_set(rec, "actions_after_crash", xv_str(preserve_crash ? "preserve" : "destroy"));
    return must("VM.create", args(1, rec), "create a VM");
}

typedef struct power_wait {
    const char *vm;
    const char *want;
} power_wait;

static bool power_is(void *arg)
{
    power_wait *pw = arg;
    char *p = power_of(pw->vm);
    bool ok = !strcmp(p, pw->want);
    free(p);
    return ok;
}

/* Crash the running domain through the sim's control program. */
static bool crash(const char *vm)
{
    char *domid = must("VM.get_domid", args(1, xv_str(vm)), "read the domid");
    const char *b = getenv("XEND_BUILDDIR");
    char cmd[1024];
    int n = snprintf(cmd, sizeof(cmd), "'%s/xenops/sim/xend-simctl' --state-dir '%s/sim' --timeout %d crash '%s'",
                     b && *b ? b : ".", tmpdir, xtest_deadline_ms() / 1000, domid);
    bool ok = n > 0 && (size_t)n < sizeof(cmd) && system(cmd) == 0;

    CHECKF(ok, "%s failed", cmd);
    free(domid);
    if (!ok)
        return false;
    power_wait pw = { vm, "Crashed" };
    return CHECKF(xtest_wait_until(power_is, &pw), "the VM did not become Crashed");
}

static void dispose(const char *vm);

/* A new VM in state, or NULL (after a failed check). */
/* The device a VBD./VIF. row acts on: made before the VM starts (then it is
 * attached when the VM runs: for unplug) or after (not attached: for plug). */
typedef struct device {
    const char *cls;            /* "VBD", "VIF", NULL: none */
    bool before_start;
    char *ref;                  /* made by vm_in */
} device;

static char network[64];        /* for VIFs, made once */
static char *make_device(const char *cls, const char *vm)
{
    if (!strcmp(cls, "VIF")) {
        xv *rec = xv_struct();
        xv_struct_set(rec, "VM", xv_str(vm));
        xv_struct_set(rec, "network", xv_str(network));
        xv_struct_set(rec, "device", xv_str("1"));
        xv_struct_set(rec, "MAC", xv_str("00:16:3e:00:00:42"));
        return must("VIF.create", args(1, rec), "create a VIF");
    }
    char *srs = NULL, *vdi;
    xv *r = call("SR.get_by_name_label", args(1, xv_str("QCoW")));     /* the default SR */
    const xv *v = value_of(r);
    if (v && v->kind == XV_ARRAY && v->u.arr.n == 1)
        srs = strdup(v->u.arr.items[0]->u.str.s);
    xv_free(r);
    if (!srs) {
        CHECKF(false, "the sim has no default SR 'QCoW'");
        return strdup("");
    }
    xv *rec = xv_struct();
    xv_struct_set(rec, "name_label", xv_str("table-disk"));
    xv_struct_set(rec, "SR", xv_str(srs));
    xv_struct_set(rec, "virtual_size", xv_str("1048576"));
    xv_struct_set(rec, "type", xv_str("user"));
    xv_struct_set(rec, "sharable", xv_bool(false));
    xv_struct_set(rec, "read_only", xv_bool(false));
    xv_struct_set(rec, "other_config", xv_struct());
    vdi = must("VDI.create", args(1, rec), "create a VDI");
    free(srs);
    rec = xv_struct();
    xv_struct_set(rec, "VM", xv_str(vm));
    xv_struct_set(rec, "VDI", xv_str(vdi));
    xv_struct_set(rec, "device", xv_str("xvdb"));
    xv_struct_set(rec, "bootable", xv_bool(false));
    xv_struct_set(rec, "mode", xv_str("RW"));
    xv_struct_set(rec, "type", xv_str("Disk"));
    xv_struct_set(rec, "qos_algorithm_type", xv_str(""));
    xv_struct_set(rec, "qos_algorithm_params", xv_struct());
    free(vdi);
    return must("VBD.create", args(1, rec), "create a VBD");
}

static char *vm_in(const char *state, device *dev)
{
    char *vm = new_vm(!strcmp(state, "Crashed"));
    char *r = NULL;

    if (dev->cls && dev->before_start)
        dev->ref = make_device(dev->cls, vm);

    if (!strcmp(state, "Running") || !strcmp(state, "Suspended") || !strcmp(state, "Crashed"))
        r = must("VM.start", args(2, xv_str(vm), xv_bool(false)), "start");
    else if (!strcmp(state, "Paused"))
        r = must("VM.start", args(2, xv_str(vm), xv_bool(true)), "start paused");
    free(r);
    if (!strcmp(state, "Suspended"))
        free(must("VM.suspend", args(1, xv_str(vm)), "suspend"));
    char *p = !strcmp(state, "Crashed") && !crash(vm) ? NULL : power_of(vm);
    bool ok = p && CHECKF(!strcmp(p, state), "bring a VM to %s: it is %s", state, p);
    free(p);
    if (ok && dev->cls && !dev->before_start)
        dev->ref = make_device(dev->cls, vm);
    if (!ok) {
        dispose(vm);
        free(vm);
        return NULL;
    }
    return vm;
}

/* The row's operation on vm, with the arguments each one takes. */
static xv *do_op(const char *op, const char *vm, const device *dev)
{
    char method[sizeof(rows[0].op) + 4], num[32], path[300];

    if (dev->cls)                       /* "VBD.plug": the device is the argument */
        return call(op, args(1, xv_str(dev->ref ? dev->ref : "")));
    if (!strcmp(op, "migrate"))
        return call("VM.migrate", args(4, xv_str(vm), xv_str("otherhost"), xv_bool(true), xv_struct()));

    if (!strcmp(op, "start") || !strcmp(op, "start_paused"))
        return call("VM.start", args(2, xv_str(vm), xv_bool(!strcmp(op, "start_paused"))));
    if (!strcmp(op, "resume") || !strcmp(op, "resume_paused"))
        return call("VM.resume", args(2, xv_str(vm), xv_bool(!strcmp(op, "resume_paused"))));
    if (!strcmp(op, "clone"))
        return call("VM.clone", args(2, xv_str(vm), xv_str("copy")));
    if (!strcmp(op, "send_sysrq"))
        return call("VM.send_sysrq", args(2, xv_str(vm), xv_str("s")));
    if (!strcmp(op, "send_trigger"))
        return call("VM.send_trigger", args(2, xv_str(vm), xv_str("nmi")));
    if (!strcmp(op, "save")) {
        snprintf(path, sizeof(path), "%s/images/save-%s", tmpdir, vm);     /* image-dir's default */
        return call("VM.save", args(2, xv_str(vm), xv_str(path)));
    }
    if (!strcmp(op, "set_VCPUs_number_live"))
        return call("VM.set_VCPUs_number_live", args(2, xv_str(vm), xv_str("2")));
    if (!strcmp(op, "set_memory_dynamic_max_live")) {
        snprintf(num, sizeof(num), "%d", 200 * MIB);
        return call("VM.set_memory_dynamic_max_live", args(2, xv_str(vm), xv_str(num)));
    }
    if (!strcmp(op, "set_memory_dynamic_min_live")) {
        snprintf(num, sizeof(num), "%d", 64 * MIB);
        return call("VM.set_memory_dynamic_min_live", args(2, xv_str(vm), xv_str(num)));
    }
    if (!strcmp(op, "add_to_VCPUs_params_live"))
        return call("VM.add_to_VCPUs_params_live", args(3, xv_str(vm), xv_str("weight"), xv_str("512")));
    snprintf(method, sizeof(method), "VM.%.*s", (int)sizeof(rows[0].op) - 1, op);  /* op fits: see load_table */
    return call(method, args(1, xv_str(vm)));
}

/* Leave nothing running: halt the VM if it is up, then destroy it. */
static void dispose(const char *vm)
{
    if (!vm_exists(vm))
        return;
    char *p = power_of(vm);
    if (strcmp(p, "Halted") != 0)
        free(must("VM.hard_shutdown", args(1, xv_str(vm)), "clean up: hard_shutdown"));
    free(p);
    free(must("VM.destroy", args(1, xv_str(vm)), "clean up: destroy"));
}

/* Is s an error code (a cell saying the call fails with it)? */
static bool is_code(const char *s)
{
    if (!*s || !strcmp(s, "-"))
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || *s == '_'))
            return false;
    return true;
}

/* The device's currently_attached, or -1 if it cannot be read. */
static int attached(const device *dev)
{
    char method[32];
    snprintf(method, sizeof(method), "%s.get_currently_attached", dev->cls);
    xv *r = call(method, args(1, xv_str(dev->ref)));
    const xv *v = value_of(r);
    int a = v && v->kind == XV_BOOL ? v->u.b : -1;
    xv_free(r);
    return a;
}

/* One cell: one check named "op in State -> expected". */
static void run_cell(const row *r, int col)
{
    const char *state = states[col], *want = r->cell[col];
    char why[700] = "";
    char *name = xtest_strdupf("%s%s in %s -> %s", strchr(r->op, '.') ? "" : "VM.", r->op, state,
                               !strcmp(want, "-") ? "VM_BAD_POWER_STATE" : want);
    device dev = { NULL, false, NULL };
    char *vm, *p = NULL;
    bool ok;

    if (!strncmp(r->op, "VBD.", 4) || !strncmp(r->op, "VIF.", 4)) {
        dev.cls = !strncmp(r->op, "VBD.", 4) ? "VBD" : "VIF";
        dev.before_start = strstr(r->op, ".unplug") != NULL;
    }
    vm = vm_in(state, &dev);
    if (!vm) {
        xtest_check_(false, __FILE__, __LINE__, name, "could not bring a VM to %s (see above)", state);
        free(dev.ref);
        free(name);
        return;
    }
    xv *res = do_op(r->op, vm, &dev);
    if (!strcmp(want, "-") || is_code(want)) {
        const xv *ed = res ? xv_struct_get(res, "ErrorDescription") : NULL;
        const xv *code = ed && ed->kind == XV_ARRAY && ed->u.arr.n ? ed->u.arr.items[0] : NULL;
        if (!strcmp(want, "-")) {
            const char *expect[4] = { "VM_BAD_POWER_STATE", vm, r->named, state };
            ok = !strcmp(status_of(res), "Failure") && ed && ed->kind == XV_ARRAY && ed->u.arr.n == 4;
            for (int i = 0; ok && i < 4; i++)
                ok = ed->u.arr.items[i]->kind == XV_STRING &&
                     !strcmp(ed->u.arr.items[i]->u.str.s, expect[i]);
            if (!ok)
                snprintf(why, sizeof(why), "want VM_BAD_POWER_STATE %s %s %s, got %s", vm, r->named,
                         state, describe(res));
        } else {
            ok = code && code->kind == XV_STRING && !strcmp(code->u.str.s, want);
            if (!ok)
                snprintf(why, sizeof(why), "want %s, got %s", want, describe(res));
        }
        p = power_of(vm);
        if (ok && strcmp(p, state) != 0) {
            ok = false;
            snprintf(why, sizeof(why), "refused, but the VM changed to %s", p);
        }
    } else if (!value_of(res)) {
        ok = false;
        snprintf(why, sizeof(why), "want Success, got %s", describe(res));
    } else if (!strcmp(want, "gone")) {
        ok = !vm_exists(vm);
        if (!ok)
            snprintf(why, sizeof(why), "the VM still exists");
    } else {
        power_wait pw = { vm, want };
        xtest_wait_until(power_is, &pw);        /* a reboot passes through other states */
        p = power_of(vm);
        ok = !strcmp(p, want);
        if (!ok)
            snprintf(why, sizeof(why), "the VM is %s", p);
        if (ok && dev.cls && attached(&dev) != !dev.before_start) {
            ok = false;
            snprintf(why, sizeof(why), "the %s's currently_attached is not %s", dev.cls,
                     dev.before_start ? "false" : "true");
        }
    }
    xtest_check_(ok, __FILE__, __LINE__, name, "%s", why);
    if (!strcmp(r->op, "clone") && value_of(res) && value_of(res)->kind == XV_STRING)
        dispose(value_of(res)->u.str.s);        /* the copy goes too */
    free(p);
    free(name);
    free(dev.ref);
    xv_free(res);
    dispose(vm);
    free(vm);
}

int main(void)
{
    const char *src = getenv("XEND_SRCDIR");
    char path[1024];

    snprintf(path, sizeof(path), "%s/tests/unit/vm_lifecycle.table", src && *src ? src : ".");
    if (!load_table(path))
        return xtest_done();
    xtest_mkdtemp(tmpdir);
    xlog_set_level(XLOG_WARNING);
    start_core();
    xv *r = call_raw("session.login_with_password", args(2, xv_str("root"), xv_str("")));
    const xv *v = value_of(r);
    if (CHECKF(v && v->kind == XV_STRING && strlen(v->u.str.s) < sizeof(session), "log in: %s",
               describe(r))) {
        snprintf(session, sizeof(session), "%s", v->u.str.s);
        xv *net = xv_struct();
        xv_struct_set(net, "name_label", xv_str("table-net"));
        char *n = must("network.create", args(1, net), "create a network");
        snprintf(network, sizeof(network), "%s", n);
        free(n);
        for (int i = 0; i < n_rows; i++) {
            xtest_group(rows[i].op);
            for (int col = 0; col < n_states; col++)
                run_cell(&rows[i], col);
        }
        xtest_diag("%d operations x %d power states", n_rows, n_states);
    }
    xv_free(r);
    stop_core();
    return xtest_done();
}
