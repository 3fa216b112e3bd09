/* xm: the VM lifecycle and settings: start, shutdown, reboot, destroy,
 * delete, pause, unpause, suspend, resume, save, restore, mem-set, mem-max,
 * vcpu-set, vcpu-pin, rename, migrate, dump-core, sysrq. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xm/cmds.h"
#include "xm/xm.h"

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Commands of the form "xm CMD DOM" with no options. */
typedef struct plain_op {
    bool (*op)(xen_session *, xen_vm);
} plain_op;

static int run_plain_op(xen_session *s, xen_vm vm, char **args, void *ctx)
{
    (void)args;
    return ((const plain_op *)ctx)->op(s, vm) ? XM_EXIT_OK : xm_fail(s);
}

static int one_vm(int argc, char **argv, bool (*op)(xen_session *, xen_vm))
{
    if (getopt(argc, argv, "+") != -1)
        return xm_usage(argv[0], "bad option");
    plain_op p = { op };
    return xm_on_vm(argc, argv, 1, 1, "one VM", run_plain_op, &p);
}

int xm_cmd_delete(int argc, char **argv) { return one_vm(argc, argv, xen_vm_destroy); }
int xm_cmd_destroy(int argc, char **argv) { return one_vm(argc, argv, xen_vm_hard_shutdown); }
int xm_cmd_pause(int argc, char **argv) { return one_vm(argc, argv, xen_vm_pause); }
int xm_cmd_unpause(int argc, char **argv) { return one_vm(argc, argv, xen_vm_unpause); }

typedef struct start_opts {
    bool paused, console;
} start_opts;

static int start(xen_session *s, xen_vm vm, char **args, void *ctx)
{
    (void)args;
    const start_opts *o = ctx;
    if (!xen_vm_start(s, vm, o->paused))
        return xm_fail(s);
    return o->console ? xm_console_attach(s, vm, false) : XM_EXIT_OK;
}

int xm_cmd_start(int argc, char **argv)
{
    start_opts o = { false, false };
    const xm_optdef defs[] = { { 'p', "paused", &o.paused, NULL },
                               { 'c', "console", &o.console, NULL },
                               { 0, NULL, NULL, NULL } };
    if (!xm_options(argc, argv, false, defs))
        return xm_usage(argv[0], "bad option");
    return xm_on_vm(argc, argv, 1, 1, "one VM", start, &o);
}

/* Run an Async call's task to its end with a progress display. */
/* (task is a pointer: the Async call that fills it is an argument of the
 * same call, and C leaves the order of argument evaluation open) */
static int run_task(xen_session *s, bool started, xen_task *task, const char *what)
{
    if (!started)
        return xm_fail(s);
    int rc = xm_wait_task(s, *task, what, NULL);
    xen_task_free(*task);
    return rc;
}

static int suspend(xen_session *s, xen_vm vm, char **args, void *ctx)
{
    (void)args;
    (void)ctx;
    xen_task task = NULL;
    return run_task(s, xen_vm_suspend_async(s, &task, vm), &task, "suspend");
}

int xm_cmd_suspend(int argc, char **argv)
{
    if (getopt(argc, argv, "+") != -1)
        return xm_usage("suspend", "expected one VM");
    return xm_on_vm(argc, argv, 1, 1, "one VM", suspend, NULL);
}

static int resume(xen_session *s, xen_vm vm, char **args, void *paused)
{
    (void)args;
    xen_task task = NULL;
    return run_task(s, xen_vm_resume_async(s, &task, vm, *(bool *)paused), &task, "resume");
}

int xm_cmd_resume(int argc, char **argv)
{
    bool paused;
    if (!xm_flag_option(argc, argv, "p", "paused", &paused))
        return xm_usage(argv[0], "bad option");
    return xm_on_vm(argc, argv, 1, 1, "one VM", resume, &paused);
}

/* A file named on the command line: made absolute when the server is this
 * machine (xm did that); passed as given to a remote server. */
static char *server_path(const char *p)
{
    if (p[0] == '/' || strncmp(xm_server_url(), "unix://", 7) != 0)
        return xm_strdup(p);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return xm_strdup(p);
    return xm_printf("%s/%s", cwd, p);
}

static int save(xen_session *s, xen_vm vm, char **args, void *ctx)
{
    (void)ctx;
    char *path = server_path(args[0]);
    xen_task task = NULL;
    int rc = run_task(s, xen_vm_save_async(s, &task, vm, path), &task, "save");
    free(path);
    return rc;
}

int xm_cmd_save(int argc, char **argv)
{
    if (getopt(argc, argv, "+") != -1)
        return xm_usage("save", "expected a VM and a file");
    return xm_on_vm(argc, argv, 2, 2, "a VM and a file", save, NULL);
}

int xm_cmd_restore(int argc, char **argv)
{
    bool paused;
    if (!xm_flag_option(argc, argv, "p", "paused", &paused))
        return xm_usage("restore", "bad option");
    if (argc - optind != 1)
        return xm_usage("restore", "expected one file");
    xen_session *s = xm_session();
    char *path = server_path(argv[optind]);
    xen_task task = NULL;
    int rc = run_task(s, xen_vm_restore_async(s, &task, path, paused), &task, "restore");
    free(path);
    return rc;
}

/* ---- shutdown, reboot ---- */

typedef struct target {
    xen_vm vm;
    char *name;
    int64_t domid;          /* when asked: a reboot shows as a new domain */
    bool restarts;          /* actions_after_reboot is restart: Halted is only a step */
    int halted_polls;       /* polls in a row that saw it Halted */
    bool done;
} target;

/* A VM that restarts after a reboot may be seen Halted between its old and
 * its new domain; Halted that lasts this many polls (10 s) means it stays so. */
#define REBOOT_HALTED_POLLS 100

static int wait_all(xen_session *s, target *t, size_t n, bool reboot)
{
    printf("Waiting for %s to %s\n", n == 1 ? "the domain" : "domains", reboot ? "reboot" : "shut down");
    fflush(stdout);
    size_t left = n;
    int rc = XM_EXIT_OK;
    while (left) {
        for (size_t i = 0; i < n; i++) {
            if (t[i].done)
                continue;
            enum xen_vm_power_state ps;
            int64_t domid = -1;
            if (!xen_vm_get_power_state(s, &ps, t[i].vm) || !xen_vm_get_domid(s, &domid, t[i].vm)) {
                /* a transient VM is gone once it halted */
                const char *code = s->error_description_count ? s->error_description[0] : "";
                if (strcmp(code, "HANDLE_INVALID") != 0)
                    rc = xm_fail(s);
                xen_session_clear_error(s);
                ps = XEN_VM_POWER_STATE_HALTED;
            }
            t[i].halted_polls = ps == XEN_VM_POWER_STATE_HALTED ? t[i].halted_polls + 1 : 0;
            bool halted = ps == XEN_VM_POWER_STATE_HALTED &&
                          (!t[i].restarts || t[i].halted_polls >= REBOOT_HALTED_POLLS);
            bool done = reboot ? (ps == XEN_VM_POWER_STATE_RUNNING && domid != t[i].domid) || halted
                               : ps == XEN_VM_POWER_STATE_HALTED || ps == XEN_VM_POWER_STATE_SUSPENDED;
            if (done) {
                t[i].done = true;
                left--;
                printf("Domain %s %s\n", t[i].name, reboot && ps != XEN_VM_POWER_STATE_HALTED ? "rebooted" : "terminated");
                fflush(stdout);
            }
        }
        if (left)
            sleep_ms(100);
    }
    printf("All domains %s\n", reboot ? "rebooted" : "terminated");
    return rc;
}

static int shutdown_or_reboot(int argc, char **argv, bool reboot)
{
    bool all = false, wait = false, halt = false, restart = false;
    /* xm shutdown -R reboots; xm reboot has no -H or -R */
    xm_optdef defs[] = { { 'a', "all", &all, NULL },
                         { 'w', "wait", &wait, NULL },
                         { 'H', "halt", &halt, NULL },
                         { 'R', "reboot", &restart, NULL },
                         { 0, NULL, NULL, NULL } };
    if (reboot)
        defs[2].name = NULL;
    if (!xm_options(argc, argv, false, defs))
        return xm_usage(argv[0], "bad option");
    reboot = (reboot || restart) && !halt;
    if (all == (optind < argc))
        return xm_usage(argv[0], "name the VMs or give -a, not both");
    xen_session *s = xm_session();
    int rc = XM_EXIT_OK;
    target *t = NULL;
    size_t n = 0;
    if (all) {
        xm_vms v;
        if (!xm_vms_fetch(s, &v))
            return XM_EXIT_FAIL;
        t = xm_alloc((v.n + 1) * sizeof(*t));
        for (size_t i = 0; i < v.n; i++)
            if (xm_vm_live(v.rows[i].vm) && !v.rows[i].vm->is_control_domain) {
                t[n].vm = xm_strdup(v.rows[i].vm->handle);
                t[n].name = xm_strdup(v.rows[i].vm->name_label);
                t[n].restarts = v.rows[i].vm->actions_after_reboot == XEN_ON_NORMAL_EXIT_RESTART;
                t[n++].domid = v.rows[i].vm->domid;
            }
        xm_vms_free(&v);
    } else {
        t = xm_alloc((size_t)(argc - optind) * sizeof(*t));
        for (int i = optind; i < argc; i++) {
            int r;
            xen_vm vm = xm_find_vm(s, argv[i], &r);
            if (!vm) {
                rc = r;
                continue;
            }
            t[n].vm = vm;
            t[n].name = xm_strdup(argv[i]);
            enum xen_on_normal_exit after = XEN_ON_NORMAL_EXIT_UNDEFINED;
            if (!xen_vm_get_domid(s, &t[n].domid, vm) || !xen_vm_get_actions_after_reboot(s, &after, vm))
                xen_session_clear_error(s);
            t[n].restarts = after == XEN_ON_NORMAL_EXIT_RESTART;
            n++;
        }
    }
    /* the Async forms: the request goes out at once, -w decides whether
     * xm stays to see it done */
    size_t asked = 0;
    for (size_t i = 0; i < n; i++) {
        xen_task task = NULL;
        bool ok = reboot ? xen_vm_clean_reboot_async(s, &task, t[i].vm)
                         : xen_vm_clean_shutdown_async(s, &task, t[i].vm);
        if (!ok) {
            fprintf(stderr, "%s: ", t[i].name);
            rc = xm_fail(s);
            t[i].done = true;
        } else {
            asked++;
        }
        xen_task_free(task);
    }
    if (wait && asked) {
        int r = wait_all(s, t, n, reboot);
        if (r)
            rc = r;
    }
    for (size_t i = 0; i < n; i++) {
        xen_vm_free(t[i].vm);
        free(t[i].name);
    }
    free(t);
    return rc;
}

int xm_cmd_shutdown(int argc, char **argv) { return shutdown_or_reboot(argc, argv, false); }
int xm_cmd_reboot(int argc, char **argv) { return shutdown_or_reboot(argc, argv, true); }

/* ---- settings ---- */

/* "xm CMD DOM VALUE": parse the value (when parse is given), find the VM,
 * apply. */
typedef int (*vm_value_fn)(xen_session *s, xen_vm vm, const char *text, int64_t num);

typedef struct vm_value_ctx {
    vm_value_fn apply;
    int64_t num;
} vm_value_ctx;

static int apply_value(xen_session *s, xen_vm vm, char **args, void *ctx)
{
    const vm_value_ctx *c = ctx;
    return c->apply(s, vm, args[0], c->num);
}

static int vm_value(int argc, char **argv, bool (*parse)(const char *, int64_t *), const char *what,
                    vm_value_fn apply)
{
    if (getopt(argc, argv, "+") != -1 || argc - optind != 2)
        return xm_usage(argv[0], "expected a VM and a value");
    const char *text = argv[optind + 1];
    vm_value_ctx c = { apply, 0 };
    if (parse && !parse(text, &c.num))
        return xm_usage(argv[0], "'%s' is not %s", text, what);
    return xm_on_vm(argc, argv, 2, 2, "a VM and a value", apply_value, &c);
}

static int set_memory(xen_session *s, xen_vm vm, const char *text, int64_t bytes)
{
    (void)text;
    int64_t dmin = 0;
    bool ok = xen_vm_get_memory_dynamic_min(s, &dmin, vm);
    /* keep dynamic_min <= dynamic_max at every step */
    if (ok && bytes < dmin)
        ok = xen_vm_set_memory_dynamic_min_live(s, vm, bytes) &&
             xen_vm_set_memory_dynamic_max_live(s, vm, bytes);
    else if (ok)
        ok = xen_vm_set_memory_dynamic_max_live(s, vm, bytes) &&
             xen_vm_set_memory_dynamic_min_live(s, vm, bytes);
    return ok ? XM_EXIT_OK : xm_fail(s);
}

static int set_max_memory(xen_session *s, xen_vm vm, const char *text, int64_t bytes)
{
    (void)text;
    return xen_vm_set_memory_static_max(s, vm, bytes) ? XM_EXIT_OK : xm_fail(s);
}

static bool parse_count(const char *text, int64_t *n)
{
    return xm_parse_int(text, n) && *n >= 1;
}

static int set_vcpus(xen_session *s, xen_vm vm, const char *text, int64_t n)
{
    (void)text;
    return xen_vm_set_vcpus_number_live(s, vm, n) ? XM_EXIT_OK : xm_fail(s);
}

static bool parse_name(const char *text, int64_t *unused)
{
    (void)unused;
    return *text != '\0';
}

static int set_name(xen_session *s, xen_vm vm, const char *text, int64_t unused)
{
    (void)unused;
    return xen_vm_set_name_label(s, vm, text) ? XM_EXIT_OK : xm_fail(s);
}

static int send_sysrq(xen_session *s, xen_vm vm, const char *text, int64_t unused)
{
    (void)unused;
    return xen_vm_send_sysrq(s, vm, text) ? XM_EXIT_OK : xm_fail(s);
}

#define MEM_WHAT "a memory size (MiB, or a number with k, m or g)"
int xm_cmd_mem_set(int argc, char **argv) { return vm_value(argc, argv, xm_parse_mem, MEM_WHAT, set_memory); }
int xm_cmd_mem_max(int argc, char **argv) { return vm_value(argc, argv, xm_parse_mem, MEM_WHAT, set_max_memory); }
int xm_cmd_vcpu_set(int argc, char **argv) { return vm_value(argc, argv, parse_count, "a VCPU count", set_vcpus); }
int xm_cmd_rename(int argc, char **argv) { return vm_value(argc, argv, parse_name, "a name", set_name); }
int xm_cmd_sysrq(int argc, char **argv) { return vm_value(argc, argv, NULL, NULL, send_sysrq); }

/* "0-3,5,^2" or "all" -> "0,1,3,5"; NULL if malformed. */
static char *cpu_list(const char *spec, int64_t ncpus)
{
    enum { MAXCPU = 1024 };
    bool set[MAXCPU] = { false };
    if (strcmp(spec, "all") == 0) {
        if (ncpus <= 0 || ncpus > MAXCPU)
            return NULL;
        for (int64_t i = 0; i < ncpus; i++)
            set[i] = true;
    } else {
        const char *p = spec;
        while (*p) {
            bool neg = *p == '^';
            if (neg)
                p++;
            char *end;
            long a = strtol(p, &end, 10), b;
            if (end == p || a < 0 || a >= MAXCPU)
                return NULL;
            b = a;
            if (*end == '-') {
                p = end + 1;
                b = strtol(p, &end, 10);
                if (end == p || b < a || b >= MAXCPU)
                    return NULL;
            }
            for (long i = a; i <= b; i++)
                set[i] = !neg;
            if (*end == ',')
                end++;
            else if (*end)
                return NULL;
            p = end;
        }
    }
    size_t cap = MAXCPU * 6, len = 0;
    char *out = xm_alloc(cap);
    for (int i = 0; i < MAXCPU; i++)
        if (set[i])
            len += (size_t)snprintf(out + len, cap - len, "%s%d", len ? "," : "", i);
    if (!len) {
        free(out);
        return NULL;
    }
    return out;
}

static int vcpu_pin(xen_session *s, xen_vm vm, char **args, void *ctx)
{
    int64_t vcpu = *(int64_t *)ctx;
    struct xen_host_cpu_set *hc = NULL;
    int64_t vmax = 0;
    int rc = XM_EXIT_OK;
    if (!xen_host_cpu_get_all(s, &hc) || !xen_vm_get_vcpus_max(s, &vmax, vm)) {
        rc = xm_fail(s);
        goto out;
    }
    char *cpus = cpu_list(args[1], (int64_t)hc->size);
    if (!cpus) {
        rc = xm_usage("vcpu-pin", "'%s' is not a CPU list (e.g. 0-3,5,^2 or all)", args[1]);
        goto out;
    }
    if (vcpu >= vmax) {
        rc = xm_err(XM_EXIT_FAIL, "the VM has VCPUs 0 to %" PRId64 " only.", vmax - 1);
    } else {
        for (int64_t v = vcpu < 0 ? 0 : vcpu; v < (vcpu < 0 ? vmax : vcpu + 1) && !rc; v++) {
            char key[32];
            snprintf(key, sizeof(key), "cpumap%" PRId64, v);
            if (!xen_vm_add_to_vcpus_params_live(s, vm, key, cpus))
                rc = xm_fail(s);
        }
    }
    free(cpus);
out:
    xen_host_cpu_set_free(hc);
    return rc;
}

int xm_cmd_vcpu_pin(int argc, char **argv)
{
    if (getopt(argc, argv, "+") != -1 || argc - optind != 3)
        return xm_usage("vcpu-pin", "expected a VM, a VCPU (or all) and CPUs (or all)");
    int64_t vcpu = -1;
    if (strcmp(argv[optind + 1], "all") != 0 && !xm_parse_int(argv[optind + 1], &vcpu))
        return xm_usage("vcpu-pin", "'%s' is not a VCPU number", argv[optind + 1]);
    return xm_on_vm(argc, argv, 3, 3, "a VM, a VCPU (or all) and CPUs (or all)", vcpu_pin, &vcpu);
}

typedef struct migrate_opts {
    bool live, ssl, chs;
    const char *port, *node;
} migrate_opts;

static void map_add(xen_string_string_map *m, const char *key, const char *val)
{
    m->contents[m->size].key = xm_strdup(key);
    m->contents[m->size++].val = xm_strdup(val);
}

static int migrate(xen_session *s, xen_vm vm, char **args, void *ctx)
{
    const migrate_opts *o = ctx;
    xen_string_string_map *opts = xen_string_string_map_alloc(4);
    opts->size = 0;
    if (o->port)
        map_add(opts, "port", o->port);
    if (o->node)
        map_add(opts, "node", o->node);
    map_add(opts, "ssl", o->ssl ? "true" : "false");
    map_add(opts, "change_home_server", o->chs ? "true" : "false");
    xen_task task = NULL;
    int rc = run_task(s, xen_vm_migrate_async(s, &task, vm, args[0], o->live, opts), &task,
                      "migrate");
    xen_string_string_map_free(opts);
    return rc;
}

int xm_cmd_migrate(int argc, char **argv)
{
    migrate_opts o = { false, false, false, NULL, NULL };
    const xm_optdef defs[] = { { 'l', "live", &o.live, NULL },
                               { 'p', "port", NULL, &o.port },
                               { 'n', "node", NULL, &o.node },
                               { 's', "ssl", &o.ssl, NULL },
                               { 'c', "change_home_server", &o.chs, NULL },
                               { 0, NULL, NULL, NULL } };
    if (!xm_options(argc, argv, false, defs))
        return xm_usage("migrate", "bad option");
    int64_t num;
    if (argc - optind == 2 &&
        ((o.port && !xm_parse_int(o.port, &num)) || (o.node && !xm_parse_int(o.node, &num))))
        return xm_usage("migrate", "the port and node are numbers");
    return xm_on_vm(argc, argv, 2, 2, "a VM and a host", migrate, &o);
}

static int dump_core(xen_session *s, xen_vm vm, char **args, void *ctx)
{
    (void)s;
    (void)vm;
    (void)args;
    (void)ctx;
    /* xm 4.4 used the legacy protocol for this: XenAPI 1.0 has no call that
     * dumps a running domain's memory on demand */
    return xm_err(XM_EXIT_FAIL, "NOT_IMPLEMENTED: XenAPI has no call to dump a running VM's core; "
                  "set actions_after_crash to coredump_and_destroy or coredump_and_restart "
                  "to get a crashdump when it crashes.");
}

int xm_cmd_dump_core(int argc, char **argv)
{
    bool ignored = false; /* accepted as xm accepted them */
    const xm_optdef defs[] = { { 'L', "live", &ignored, NULL },
                               { 'C', "crash", &ignored, NULL },
                               { 'R', "reset", &ignored, NULL },
                               { 0, NULL, NULL, NULL } };
    if (!xm_options(argc, argv, false, defs))
        return xm_usage("dump-core", "bad option");
    return xm_on_vm(argc, argv, 1, 2, "a VM and an optional file", dump_core, NULL);
}
