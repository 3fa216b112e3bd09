/* xend: the Xen management daemon (XenAPI 1.0 over XML-RPC). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/xendconf.h"
#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/event.h"
#include "daemon/host.h"
#include "daemon/session.h"
#include "daemon/store.h"
#include "rpc/auth_pam.h"
#include "rpc/server.h"
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

static void die(const char *what, char *err)
{
    fprintf(stderr, "xend: %s: %s\n", what, err ? err : "failed");
    free(err);
    exit(1);
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

static void write_pid_file(const char *path)
{
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "w");
    if (!f) {
        xlog(XLOG_WARNING, "cannot write pid file %s: %s", path, strerror(errno));
        return;
    }
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);
}

static void daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("xend: fork");
        exit(1);
    }
    if (pid > 0)
        _exit(0);
    setsid();
    if (chdir("/") != 0)
        _exit(1);
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
}

int main(int argc, char **argv)
{
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
    bool foreground = false, check = false, listeners_cleared = false;
    const char *config_path = NULL;
    char *err = NULL;
    xend_config cfg;
    xend_config_init(&cfg);

    /* first pass: the config file, so that later options override it */
    int c;
    while ((c = getopt_long(argc, argv, "fc:nhV", opts, NULL)) != -1) {
        int rc = -1;
        if (c == 'c')
            config_path = optarg;
        else if (c == 'h') {
            usage(stdout);
            rc = 0;
        } else if (c == 'V') {
            printf("xend %s (XenAPI %d.%d)\n", PACKAGE_VERSION, 1, 0);
            rc = 0;
        } else if (c == '?') {
            usage(stderr);
            rc = 2;
        }
        if (rc >= 0) {
            xend_config_dispose(&cfg);
            return rc;
        }
    }
    if (!config_path && access(DEFAULT_CONFIG, F_OK) == 0)
        config_path = DEFAULT_CONFIG;
    if (config_path && !xend_config_load(&cfg, config_path, &err))
        die("configuration", err);
    optind = 1;
    while ((c = getopt_long(argc, argv, "fc:nhV", opts, NULL)) != -1) {
        char spec[1100];
        switch (c) {
        case 'f': foreground = true; break;
        case 'n': check = true; break;
        case O_STATE:
            free(cfg.state_dir);
            cfg.state_dir = strdup(optarg);
            break;
        case O_UNIX:
        case O_TCP:
        case O_LISTEN:
            if (!listeners_cleared) {
                xend_config_clear_listeners(&cfg);
                listeners_cleared = true;
            }
            if (c == O_UNIX)
                snprintf(spec, sizeof(spec), "unix:%s auth=none", optarg);
            else if (c == O_TCP)
                snprintf(spec, sizeof(spec), "http:%s auth=pam", optarg);
            else
                snprintf(spec, sizeof(spec), "%s", optarg);
            if (!xend_config_add_listener(&cfg, spec, &err))
                die(spec, err);
            break;
        case O_BACKEND:
            free(cfg.backend);
            cfg.backend = strdup(optarg);
            break;
        case O_SIMCFG:
            free(cfg.sim_config);
            cfg.sim_config = strdup(optarg);
            break;
        case O_LOGLEVEL: {
            xlog_level lv;
            if (!xlog_level_parse(optarg, &lv)) {
                fprintf(stderr, "xend: unknown log level '%s'\n", optarg);
                xend_config_dispose(&cfg);
                return 2;
            }
            cfg.log_level = (int)lv;
            break;
        }
        default:
            break;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "xend: unexpected argument '%s'\n", argv[optind]);
        xend_config_dispose(&cfg);
        return 2;
    }
    if (!xend_config_validate(&cfg, &err))
        die("configuration", err);
    if (check) {
        printf("xend: configuration %s is valid\n", config_path ? config_path : "(defaults)");
        xend_config_dispose(&cfg);
        return 0;
    }

    if (!foreground)
        daemonize();
    xlog_open(cfg.log_file, (xlog_level)cfg.log_level, foreground);
    host_set_log_file(cfg.log_file);
    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);
    /* every thread inherits this mask; the main thread waits for them */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (mkdir(cfg.state_dir, 0700) != 0 && errno != EEXIST)
        die(cfg.state_dir, strdup(strerror(errno)));

    xloop *loop = xloop_new();
    if (!loop)
        die("event loop", strdup(strerror(errno)));
    xd_ops = pick_backend(cfg.backend, &err);
    if (!xd_ops)
        die("backend", err);
    xo_options xo = { .state_dir = cfg.state_dir, .sim_config = cfg.sim_config, .loop = loop,
                      .on_event = vm_backend_event, .opaque = NULL };
    xo_error xe = { 0 };
    xd_be = xd_ops->open(&xo, &xe);
    if (!xd_be)
        die(xd_ops->name, strdup(xe.msg));
    xlog(XLOG_INFO, "xend %s starting: backend %s, state in %s", PACKAGE_VERSION, xd_ops->name,
         cfg.state_dir);

    store_init();
    session_config sc = { .pam_service = cfg.pam_service, .timeout = cfg.session_timeout,
                          .check_password = auth_pam_check_rhost };
    session_setup(&sc);
    api_register_hooks();
    daemon_options dopts = { .state_dir = cfg.state_dir, .task_expiry = cfg.task_expiry,
                             .event_log_size = cfg.event_log_size, .loop = loop };
    if (!persist_setup(&dopts, &err))
        die("state", err);
    if (!host_setup(cfg.state_dir, &err))
        die("host", err);
    if (!vm_setup(&dopts, &err))
        die("VMs", err);
    if (!events_setup(&dopts, &err))
        die("events", err);
    if (!dispatch_start(cfg.workers))
        die("workers", strdup("cannot start the worker pool"));
    rpc_server *srv = rpc_server_start(&cfg, &err);
    if (!srv)
        die("listen", err);
    write_pid_file(cfg.pid_file);
    xlog(XLOG_INFO, "ready");

    for (;;) {
        struct timespec ts = { .tv_sec = 2 };
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGHUP) {
            xlog_reopen();
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT) {
            xlog(XLOG_INFO, "signal %d: shutting down", sig);
            break;
        }
        host_refresh();
        session_expire_idle();
        vm_tick();
        events_tick();
    }
    events_stop();           /* answer waiting event calls: MHD must not stop with suspended connections */
    rpc_server_stop(srv);
    dispatch_stop();
    xd_ops->close(xd_be);
    xloop_free(loop);
    store_fini();
    if (cfg.pid_file)
        unlink(cfg.pid_file);
    xlog(XLOG_INFO, "stopped");
    xlog_close();
    xend_config_dispose(&cfg);
    return 0;
}
