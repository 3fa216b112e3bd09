/* sim: the control directory (ctl/), watched with inotify on the daemon
 * loop: xend-simctl's requests, applied as the guest or another toolstack
 * would act (docs/sim-backend.md). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenops/sim/sim_priv.h"

/* ---- control requests (xend-simctl) ---- */

static void sim_ctl_reply(xo_backend *b, const char *res_path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sim_ctl_reply(xo_backend *b, const char *res_path, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (sim_write_atomic(res_path, text, strlen(text)) < 0)
        xo_log(&b->log, XO_LOG_WARNING, "sim: writing %s: %s", res_path, strerror(errno));
}

typedef struct sim_ctl_req {
    char *text;
    const char *res_path;
} sim_ctl_req;

/* Apply one request (a sim_ctl_req); lock held.  Writes the reply. */
static int sim_ctl_apply(xo_backend *b, void *arg, sim_evq *q, xo_error *unused)
{
    const sim_ctl_req *r = arg;
    const char *res_path = r->res_path;
    char *save = NULL;
    char *cmd = strtok_r(r->text, " \t\n", &save);
    char *a1 = cmd ? strtok_r(NULL, " \t\n", &save) : NULL;
    char *a2 = a1 ? strtok_r(NULL, " \t\n", &save) : NULL;
    xo_error err;
    sim_dom *d;
    uint64_t v;

    if (!cmd) {
        sim_ctl_reply(b, res_path, "error empty request\n");
        return 0;
    }
    if (strcmp(cmd, "create-foreign") == 0) {
        xo_domain_config cfg;
        if (!a1 || !a2 || !sim_parse_num(a2, 1, UINT64_C(1) << 32, &v)) {
            sim_ctl_reply(b, res_path, "error usage: create-foreign NAME MEMORY_MIB\n");
            return 0;
        }
        memset(&cfg, 0, sizeof(cfg));
        snprintf(cfg.name, sizeof(cfg.name), "%s", a1);
        cfg.memory_static_max_kib = cfg.memory_target_kib = v * 1024;
        cfg.vcpus_max = 1;
        cfg.type = XO_DOM_PV;
        d = sim_dom_build(b, &cfg, &err);
        if (!d) {
            sim_ctl_reply(b, res_path, "error %s\n", err.msg);
            return 0;
        }
        d->foreign = true;
        if (sim_dom_commit(b, d, false, &err) < 0) {
            sim_ctl_reply(b, res_path, "error %s\n", err.msg);
            return 0;
        }
        sim_dmesg_add(b, "(XEN) sim: domain %" PRIu32 " created by another toolstack", d->domid);
        sim_evq_add(q, XO_EV_DOMAIN_NEW, d, XO_SHUTDOWN_NONE);
        sim_ctl_reply(b, res_path, "ok %" PRIu32 " %s\n", d->domid, d->uuid);
        return 0;
    }
    if (!a1 || !sim_parse_num(a1, 0, UINT32_MAX, &v)) {
        sim_ctl_reply(b, res_path, "error usage: %s DOMID\n", cmd);
        return 0;
    }
    d = sim_find_err(b, (uint32_t)v, &err);
    if (!d) {
        sim_ctl_reply(b, res_path, "error %s\n", err.msg);
        return 0;
    }
    if (strcmp(cmd, "poweroff") == 0 || strcmp(cmd, "reboot") == 0 ||
        strcmp(cmd, "crash") == 0 || strcmp(cmd, "watchdog") == 0) {
        xo_shutdown_reason why = cmd[0] == 'p' ? XO_SHUTDOWN_POWEROFF
                               : cmd[0] == 'r' ? XO_SHUTDOWN_REBOOT
                               : cmd[0] == 'c' ? XO_SHUTDOWN_CRASH : XO_SHUTDOWN_WATCHDOG;
        if (sim_check_state(d, SIM_IN(XO_STATE_RUNNING), "not running", &err) < 0) {
            sim_ctl_reply(b, res_path, "error %s\n", err.msg);
            return 0;
        }
        sim_apply_shutdown(b, d, why, q);
        sim_ctl_reply(b, res_path, "ok\n");
    } else if (strcmp(cmd, "unresponsive") == 0) {
        if (!a2 || (strcmp(a2, "on") != 0 && strcmp(a2, "off") != 0)) {
            sim_ctl_reply(b, res_path, "error usage: unresponsive DOMID on|off\n");
            return 0;
        }
        d->unresponsive = strcmp(a2, "on") == 0;
        if (sim_persist(b, d, &err) < 0) {
            sim_ctl_reply(b, res_path, "error %s\n", err.msg);
            return 0;
        }
        /* A guest that wakes up acts on a request it ignored. */
        sim_guest_acts(b, d, q);
        sim_ctl_reply(b, res_path, "ok\n");
    } else if (strcmp(cmd, "destroy") == 0) {
        sim_dom_gone(b, d, XO_SHUTDOWN_NONE, "destroyed by another toolstack", q);
        sim_ctl_reply(b, res_path, "ok\n");
    } else {
        sim_ctl_reply(b, res_path, "error unknown command '%s'\n", cmd);
    }
    return 0;
}

static int sim_name_cmp(const void *a, const void *c)
{
    return strcmp(*(char *const *)a, *(char *const *)c);
}

/* Scan ctl/ and process every complete request file.  Loop thread. */
static void sim_ctl_scan(xo_backend *b)
{
    DIR *dir = opendir(b->ctl_dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;

    if (!dir)
        return;
    while ((de = readdir(dir))) {
        size_t len = strlen(de->d_name);
        if (strncmp(de->d_name, "req-", 4) != 0 || strstr(de->d_name, ".tmp") ||
            (len > 4 && strcmp(de->d_name + len - 4, ".res") == 0))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(names, ncap * sizeof(*nn));
            if (!nn)
                break;
            names = nn;
            cap = ncap;
        }
        names[n] = strdup(de->d_name);
        if (names[n])
            n++;
    }
    closedir(dir);
    if (n > 1)
        qsort(names, n, sizeof(*names), sim_name_cmp);
    for (size_t i = 0; i < n; i++) {
        char path[XO_PATH_LEN + 300], res[XO_PATH_LEN + 310];
        sim_ctl_req req = { .res_path = res };
        xo_error ignored;

        snprintf(path, sizeof(path), "%s/%s", b->ctl_dir, names[i]);
        snprintf(res, sizeof(res), "%s.res", path);
        req.text = sim_read_file(path, 4096, NULL);
        if (req.text)
            sim_locked(b, sim_ctl_apply, &req, &ignored);
        else
            sim_ctl_reply(b, res, "error unreadable request: %s\n", strerror(errno));
        unlink(path);
        free(req.text);
        free(names[i]);
    }
    free(names);
}

void sim_ctl_readable(xloop_fd *h, int fd, short revents, void *arg)
{
    xo_backend *b = arg;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    sim_ctl_scan(b);
}

void sim_ctl_initial_scan(void *arg)
{
    sim_ctl_scan(arg);
}
