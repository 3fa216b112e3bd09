/* xend: the Xen management daemon (XenAPI 1.0 over XML-RPC). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/xendconf.h"
#include "daemon/audit.h"
#include "daemon/backend.h"
#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/event.h"
#include "daemon/host.h"
#include "daemon/hostpolicy.h"
#include "daemon/service.h"
#include "daemon/login.h"
#include "daemon/session.h"
#include "daemon/store.h"
#include "rpc/auth_pam.h"
#include "rpc/server.h"
#include "rpc/tls.h"
#include "util/log.h"
#include "util/loop.h"
#include "xenops/xenops.h"

#define DEFAULT_CONFIG SYSCONFDIR "/xen/xend.conf"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: xend [OPTIONS]\n"
            "  -f, --foreground        stay in the foreground, log to stderr\n"
            "  -c, --config FILE       configuration file (default " DEFAULT_CONFIG ")\n"
            "  -n, --check             check the configuration and exit (non-zero if invalid)\n"
            "      --state-dir DIR     where records and the host uuid live\n"
            "      --unix PATH         listen on a Unix socket (no authentication, root-only);\n"
            "                          replaces the configured listeners, repeatable\n"
            "      --tcp ADDR:PORT     listen on HTTP with PAM authentication; replaces the\n"
            "                          configured listeners, repeatable\n"
            "      --listen SPEC       add a listener in xend.conf syntax, e.g.\n"
            "                          'https:0.0.0.0:9367 cert=C key=K'\n"
            "      --backend NAME      sim, xen or auto (xen on a Xen control domain, else sim)\n"
            "      --sim-config FILE   description of the simulated host (sim backend)\n"
            "      --log-level LEVEL   error, warning, info or debug\n"
            "  -h, --help              this help\n"
            "  -V, --version           print the version\n");
}

static void __attribute__((noreturn)) die(const char *what, const char *why)
{
    service_fail(what, why);
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static const xo_ops *pick_backend(const char *name, char **err_r)
{
    if (strcmp(name, "auto") == 0) {
#ifdef HAVE_XEN
        if (xo_xen_host_is_dom0()) {
            xlog(XLOG_INFO, "backend auto: this host is a Xen control domain, using xen");
            return &xo_xen_ops;
        }
        xlog(XLOG_INFO, "backend auto: not a Xen control domain, using the simulated host (sim)");
#else
        xlog(XLOG_INFO, "backend auto: built without Xen, using the simulated host (sim)");
#endif
        return &xo_sim_ops;
    }
    const xo_ops *ops = xo_backend_by_name(name);
    if (!ops && asprintf(err_r, "unknown or unavailable backend '%s'", name) < 0)
        *err_r = NULL;
    return ops;
}

enum { O_STATE = 256, O_UNIX, O_TCP, O_LISTEN, O_BACKEND, O_SIMCFG, O_LOGLEVEL };
static const struct option opts[] = {
    { "foreground", no_argument, NULL, 'f' },
    { "config", required_argument, NULL, 'c' },
    { "check", no_argument, NULL, 'n' },
    { "state-dir", required_argument, NULL, O_STATE },
    { "unix", required_argument, NULL, O_UNIX },
    { "tcp", required_argument, NULL, O_TCP },
    { "listen", required_argument, NULL, O_LISTEN },
    { "backend", required_argument, NULL, O_BACKEND },
    { "sim-config", required_argument, NULL, O_SIMCFG },
    { "log-level", required_argument, NULL, O_LOGLEVEL },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
};
#define SHORT_OPTS "fc:nhV"

static void set_str(char **field, const char *v)
{
    free(*field);
    if (!(*field = strdup(v)))
        abort();
}

/* The configuration: the file, then the command line's overrides, checked.
 * Used at start and again on SIGHUP (argv is parsed again, so the
 * overrides keep winning).  False with *err_r on an error. */
static bool load_settings(int argc, char **argv, const char *config_path, xend_config *cfg, char **err_r)
{
    bool listeners_cleared = false;
    xend_config_init(cfg);
    if (config_path && !xend_config_load(cfg, config_path, err_r))
        return false;
    optind = 0;                 /* a full rescan (glibc) */
    opterr = 0;                 /* main() reported bad options already */
    int c;
    while ((c = getopt_long(argc, argv, SHORT_OPTS, opts, NULL)) != -1) {
        char spec[1100];
        switch (c) {
        case O_STATE: set_str(&cfg->state_dir, optarg); break;
        case O_BACKEND: set_str(&cfg->backend, optarg); break;
        case O_SIMCFG: set_str(&cfg->sim_config, optarg); break;
        case O_UNIX:
        case O_TCP:
        case O_LISTEN:
            if (!listeners_cleared) {
                xend_config_clear_listeners(cfg);
                listeners_cleared = true;
            }
            if (c == O_UNIX)
                snprintf(spec, sizeof(spec), "unix:%s auth=none", optarg);
            else if (c == O_TCP)
                snprintf(spec, sizeof(spec), "http:%s auth=pam", optarg);
            else
                snprintf(spec, sizeof(spec), "%s", optarg);
            if (!xend_config_add_listener(cfg, spec, err_r)) {
                char *inner = *err_r;
                if (asprintf(err_r, "%s: %s", spec, inner ? inner : "invalid") < 0)
                    *err_r = NULL;
                free(inner);
                return false;
            }
            break;
        case O_LOGLEVEL: {
            xlog_level lv;
            if (!xlog_level_parse(optarg, &lv)) {
                if (asprintf(err_r, "unknown log level '%s'", optarg) < 0)
                    *err_r = NULL;
                return false;
            }
            cfg->log_level = (int)lv;
            break;
        }
        default:
            break;
        }
    }
    return xend_config_validate(cfg, err_r) && tls_check_config(cfg, err_r);
}

/* ---- SIGHUP ---- */

/* Every configuration the daemon ran with: their strings and listeners are
 * borrowed by modules and by listeners still serving, so they live until
 * exit (one per reload). */
static xend_config **configs;
static size_t n_configs;

static void keep_config(xend_config *c)
{
    xend_config **nc = realloc(configs, (n_configs + 1) * sizeof(*nc));
    if (!nc)
        abort();
    configs = nc;
    configs[n_configs++] = c;
}

/* Settings read once at start: a change is refused (logged) and the
 * running value kept in next. */
static void keep_fixed(const xend_config *cur, xend_config *next)
{
#define FIXED_STR(f, key)                                                                          \
    if (!((!cur->f && !next->f) || (cur->f && next->f && strcmp(cur->f, next->f) == 0))) {       \
        xlog(XLOG_WARNING, "reload: %s cannot change while xend runs (restart it); keeping %s",   \
             key, cur->f ? cur->f : "none");                                                       \
        free(next->f);                                                                             \
        next->f = cur->f ? strdup(cur->f) : NULL;                                                  \
    }
#define FIXED_NUM(f, key)                                                                          \
    if (cur->f != next->f) {                                                                       \
        xlog(XLOG_WARNING, "reload: %s cannot change while xend runs (restart it); keeping %llu", \
             key, (unsigned long long)cur->f);                                                     \
        next->f = cur->f;                                                                          \
    }
    FIXED_STR(state_dir, "state-dir")
    FIXED_STR(backend, "backend")
    FIXED_STR(sim_config, "sim-config")
    FIXED_STR(pid_file, "pid-file")
    FIXED_STR(pam_service, "pam-service")
    FIXED_STR(tls_priorities, "tls-priorities")
    FIXED_STR(web_dir, "web-dir")
    FIXED_STR(image_dir, "image-dir")
    FIXED_STR(sr_dir, "sr-dir")
    FIXED_STR(kernel_dir, "kernel-dir")
    FIXED_STR(bootloader_dir, "bootloader-dir")
    FIXED_NUM(workers, "workers")
    FIXED_NUM(http_threads, "http-threads")
    FIXED_NUM(max_request_bytes, "max-request-bytes")
    FIXED_NUM(max_xml_depth, "max-xml-depth")
    FIXED_NUM(session_timeout, "session-timeout")
    FIXED_NUM(auth_threads, "auth-threads")
    FIXED_NUM(login_backoff_ms, "login-backoff-ms")
    FIXED_NUM(login_backoff_max_ms, "login-backoff-max-ms")
    FIXED_NUM(sessions_per_user, "sessions-per-user")
    FIXED_NUM(sessions_per_originator, "sessions-per-originator")
    FIXED_NUM(sessions_root, "sessions-root")
    FIXED_NUM(http_timeout, "http-timeout")
    FIXED_NUM(connections_per_address, "connections-per-address")
    FIXED_NUM(body_budget, "body-budget")
    FIXED_NUM(fd_reserve, "fd-reserve")
    FIXED_NUM(task_expiry, "task-expiry")
    FIXED_NUM(event_log_size, "event-log-size")
    FIXED_NUM(event_log_bytes, "event-log-bytes")
    FIXED_NUM(max_finished_tasks, "max-finished-tasks")
#undef FIXED_STR
#undef FIXED_NUM
}

/* Re-reads the configuration and applies what may change at run time: the
 * log (file, level), the listeners and their certificates, on-xend-stop,
 * the role mapping (for later logins).
 * An invalid file changes nothing. */
/* The per-domain log filters of c (util/log.h); checked when c was read. */
static void set_log_filters(const xend_config *c, const char *what)
{
    char *err = NULL;
    if (!xlog_set_filters(c->log_filters, &err))
        xlog(XLOG_ERROR, "%slog-filters: %s", what, err ? err : "bad filter");
    else if (c->log_filters)
        xlog(XLOG_INFO, "%slog filters: %s", what, c->log_filters);
    free(err);
}

/* Opens (or, path unchanged, reopens) the audit log of c; a failure is
 * logged and leaves the previous file in use (none at start). */
static void set_audit_log(const xend_config *cur, const xend_config *c, const char *what)
{
    char *err = NULL;
    bool same = cur && cur->audit_log && c->audit_log && strcmp(cur->audit_log, c->audit_log) == 0;
    bool ok = same ? audit_reopen(&err) : audit_file_open(c->audit_log, &err);
    if (!ok)
        xlog(XLOG_ERROR, "%s%s; %s", what, err ? err : "audit log: cannot open",
             audit_enabled() ? "auditing continues in the previous file" : "calls are NOT audited");
    else if (!same)
        xlog(XLOG_INFO, "%saudit log: %s", what, c->audit_log ? c->audit_log : "none (calls are not audited)");
    free(err);
}

static const xend_config *reload(int argc, char **argv, const char *config_path, const xend_config *cur,
                                 rpc_server *srv, bool foreground)
{
    service_reloading();
    xlog(XLOG_INFO, "SIGHUP: reloading %s", config_path ? config_path : "(no configuration file)");
    xend_config *next = malloc(sizeof(*next));
    char *err = NULL;
    if (!next)
        abort();
    if (!load_settings(argc, argv, config_path, next, &err)) {
        xlog(XLOG_ERROR, "reload: %s; the running configuration is kept", err ? err : "invalid configuration");
        free(err);
        xend_config_dispose(next);
        free(next);
        xlog_reopen();
        set_audit_log(cur, cur, "reload: ");
        service_reloaded();
        return cur;
    }
    keep_fixed(cur, next);
    if ((!cur->log_file && !next->log_file) || (cur->log_file && next->log_file &&
                                                strcmp(cur->log_file, next->log_file) == 0)) {
        xlog_reopen();
        xlog_set_level((xlog_level)next->log_level);
    } else {
        xlog(XLOG_INFO, "reload: log now goes to %s", next->log_file ? next->log_file : "the system log");
        xlog_open(next->log_file, (xlog_level)next->log_level, foreground);
    }
    host_set_log_file(next->log_file);
    if (next->log_level != cur->log_level)
        xlog(XLOG_INFO, "reload: log level %s", xlog_level_name((xlog_level)next->log_level));
    set_log_filters(next, "reload: ");
    set_audit_log(cur, next, "reload: ");
    if (!rpc_server_reload(srv, next))
        xlog(XLOG_WARNING, "reload: not every listener could be started (see above)");
    char *role_err = NULL;
    if (!session_set_roles(next->role_maps, next->n_role_maps, next->role_default, &role_err))
        xlog(XLOG_ERROR, "reload: %s; the roles in force are kept", role_err ? role_err : "bad roles");
    free(role_err);
    keep_config(next);
    xlog(XLOG_INFO, "reload: done, %zu listener(s) serving", rpc_server_listeners(srv));
    service_reloaded();
    return next;
}

int main(int argc, char **argv)
{
    bool foreground = false, check = false;
    const char *config_path = NULL;
    char *err = NULL;
#ifdef __GLIBC__
    /* glibc raises its trim threshold to twice the size of any mmapped block
     * freed (up to 64 MiB), and a thread's arena gives back the free top of
     * its heap only past that threshold (malloc_trim never does): after a
     * burst with big bodies, arenas kept megabytes of freed top resident
     * (bench/soak.sh).  Setting both thresholds, to glibc's starting values,
     * turns that adjustment off. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024);
#endif

    /* first pass: what is not a setting, and the configuration file */
    int c;
    while ((c = getopt_long(argc, argv, SHORT_OPTS, opts, NULL)) != -1) {
        if (c == 'c')
            config_path = optarg;
        else if (c == 'f')
            foreground = true;
        else if (c == 'n')
            check = true;
        else if (c == 'h') {
            usage(stdout);
            return 0;
        } else if (c == 'V') {
            printf("xend %s (XenAPI %d.%d)\n", PACKAGE_VERSION, 1, 0);
            return 0;
        } else if (c == '?') {
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "xend: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!config_path && access(DEFAULT_CONFIG, F_OK) == 0)
        config_path = DEFAULT_CONFIG;
    xend_config *cfgp = malloc(sizeof(*cfgp));
    if (!cfgp)
        abort();
    if (!load_settings(argc, argv, config_path, cfgp, &err)) {
        fprintf(stderr, "xend: configuration: %s\n", err ? err : "invalid");
        return 1;
    }
    if (check) {
        printf("xend: configuration %s is valid\n", config_path ? config_path : "(defaults)");
        xend_config_dispose(cfgp);
        free(cfgp);
        return 0;
    }
    keep_config(cfgp);
    const xend_config *cfg = cfgp;
    /* SIGHUP reads it again after the daemon's chdir("/") */
    char *config_abs = config_path ? realpath(config_path, NULL) : NULL;
    if (config_abs)
        config_path = config_abs;

    if (!foreground)
        service_daemonize();
    xlog_open(cfg->log_file, (xlog_level)cfg->log_level, foreground);
    set_log_filters(cfg, "");
    set_audit_log(NULL, cfg, "");
    host_set_log_file(cfg->log_file);
    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);
    /* every thread inherits this mask; the main thread waits for them */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST)
        die(cfg->state_dir, strerror(errno));
    if (!service_lock_state_dir(cfg->state_dir, &err))
        die("state", err);
    if (!service_pid_file(cfg->pid_file, &err))
        die("pid file", err);

    xloop *loop = xloop_new();
    if (!loop)
        die("event loop", strerror(errno));
    xo_options xo = { .state_dir = cfg->state_dir, .sim_config = cfg->sim_config, .loop = loop,
                      .on_event = vm_backend_event, .opaque = NULL };
    const xo_ops *ops = pick_backend(cfg->backend, &err);
    if (!ops || !backend_open_ops(ops, &xo, &err))
        die("backend", err);
    xlog(XLOG_INFO, "xend %s starting: backend %s, state in %s", PACKAGE_VERSION, backend_name(),
         cfg->state_dir);
    service_status("starting: loading the state in %s", cfg->state_dir);

    store_init();
    session_config sc = { .pam_service = cfg->pam_service, .timeout = cfg->session_timeout,
                          .auth_threads = cfg->auth_threads, .backoff_ms = cfg->login_backoff_ms,
                          .backoff_max_ms = cfg->login_backoff_max_ms,
                          .per_user = cfg->sessions_per_user, .per_originator = cfg->sessions_per_originator,
                          .root = cfg->sessions_root,
                          .check_password = auth_pam_check_rhost,
                          .user_groups = auth_user_groups, .user_name = auth_user_name,
                          .role_maps = cfg->role_maps, .n_role_maps = cfg->n_role_maps,
                          .role_default = cfg->role_default };
    if (!session_setup(&sc, &err))
        die("roles", err);
    if (!login_start(&sc, &err))
        die("logins", err);
    daemon_options dopts = { .state_dir = cfg->state_dir, .task_expiry = cfg->task_expiry,
                             .max_finished_tasks = cfg->max_finished_tasks,
                             .queue_blocking = dispatch_queue_job,
                             .event_log_size = cfg->event_log_size,
                             .event_log_bytes = cfg->event_log_bytes, .loop = loop,
                             .dirs = { [PATHS_IMAGE] = cfg->image_dir, [PATHS_SR] = cfg->sr_dir,
                                       [PATHS_KERNEL] = cfg->kernel_dir,
                                       [PATHS_BOOTLOADER] = cfg->bootloader_dir } };
    if (!persist_setup(&dopts, &err))
        die("state", err);
    if (!host_setup(cfg->state_dir, &err))
        die("host", err);
    if (!vm_setup(&dopts, &err))
        die("VMs", err);
    if (!events_setup(&dopts, &err))
        die("events", err);
    if (!dispatch_start(cfg->workers))
        die("workers", "cannot start the worker pool");
    rpc_server *srv = rpc_server_start(cfg, &err);
    if (!srv)
        die("listen", err);
    xlog(XLOG_INFO, "ready");
    char status[128];
    snprintf(status, sizeof(status), "ready: %zu listener(s), backend %s", rpc_server_listeners(srv),
             backend_name());
    service_ready(status);
    hostpolicy_start(cfg->state_dir);

#ifdef __GLIBC__
    bool served = false;        /* connections were open since the last malloc_trim */
    unsigned workers_were = 0;  /* worker threads at the last tick */
#endif
    for (unsigned tick = 1;; tick++) {
        struct timespec ts = { .tv_sec = 2 };
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGHUP) {
            cfg = reload(argc, argv, config_path, cfg, srv, foreground);
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT) {
            xlog(XLOG_INFO, "signal %d: shutting down", sig);
            break;
        }
        service_watchdog();
        host_refresh();
        session_expire_idle();
        vm_tick();
        events_tick();
        rpc_server_tick(srv);
#ifdef __GLIBC__
        /* glibc keeps the heap a burst of clients freed (every thread's
         * arena, below its top): hand it back at the first tick with no
         * connection open after some were, after worker threads exited
         * (their malloc caches went back to the heap), and every ~30 s
         * while busy (bench/soak.sh) */
        size_t conns = rpc_server_connections(srv);
        unsigned threads = dispatch_threads();
        if (tick % 15 == 0 || (conns == 0 && served) || threads < workers_were) {
            malloc_trim(0);
            served = false;
        }
        workers_were = threads;
        if (conns > 0)
            served = true;
#endif
    }
    service_stopping();
    hostpolicy_stop(cfg->on_xend_stop, cfg->on_xend_stop_timeout);
    events_stop();           /* answer waiting event calls: MHD must not stop with suspended connections */
    login_stop();            /* and logins waiting out a back-off */
    rpc_server_stop(srv);
    dispatch_stop();
    backend_close();
    xloop_free(loop);
    store_fini();
    session_fini();
    service_pid_file_remove();
    xlog(XLOG_INFO, "stopped");
    xlog_close();
    for (size_t i = 0; i < n_configs; i++) {
        xend_config_dispose(configs[i]);
        free(configs[i]);
    }
    free(configs);
    free(config_abs);
    return 0;
}
