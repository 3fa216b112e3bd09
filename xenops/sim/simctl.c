/* xend-simctl: test-only control of the sim backend (not part of XenAPI).
 * It plays the guest or another toolstack:
 *
 *   xend-simctl --state-dir DIR [--timeout SEC] poweroff|reboot|crash|watchdog DOMID
 *   xend-simctl --state-dir DIR [--timeout SEC] unresponsive DOMID on|off
 *   xend-simctl --state-dir DIR [--timeout SEC] destroy DOMID
 *   xend-simctl --state-dir DIR [--timeout SEC] create-foreign NAME MEMORY_MIB
 *   xend-simctl --state-dir DIR list
 *
 * DIR is the sim state directory (xend's state dir + "/sim" by default).
 * A request is a file renamed into DIR/ctl/; the running backend applies it,
 * answers in "<request>.res" and deletes the request.  See docs/sim-backend.md.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xenops/sim/simfile.h"

static int simctl_usage(void)
{
    fprintf(stderr,
            "usage: xend-simctl --state-dir DIR [--timeout SEC] COMMAND\n"
            "  poweroff|reboot|crash|watchdog DOMID   the guest shuts down by itself\n"
            "  unresponsive DOMID on|off              the guest ignores shutdown requests\n"
            "  destroy DOMID                          another toolstack destroys it\n"
            "  create-foreign NAME MEMORY_MIB         a domain xend did not create\n"
            "  list                                   the simulated domains\n");
    return 2;
}

static int simctl_cmp(const void *a, const void *b)
{
    const sim_dom *x = *(sim_dom *const *)a, *y = *(sim_dom *const *)b;

    return x->domid < y->domid ? -1 : x->domid > y->domid;
}

static int simctl_list(const char *dir)
{
    char path[XO_PATH_LEN + 300], why[128];
    sim_dom **doms = NULL;
    size_t n = 0;
    struct dirent *de;
    DIR *dh;
    int rc = 1;

    snprintf(path, sizeof(path), "%s/" SIM_DOMAINS_SUBDIR, dir);
    dh = opendir(path);
    if (!dh) {
        fprintf(stderr, "xend-simctl: %s: %s\n", path, strerror(errno));
        return 1;
    }
    while ((de = readdir(dh))) {
        size_t len = strlen(de->d_name);
        sim_dom *d, **nd;
        char *text;

        if (len < 5 || strcmp(de->d_name + len - 4, ".dom") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/" SIM_DOMAINS_SUBDIR "/%s", dir, de->d_name);
        text = sim_read_file(path, 1 << 20, NULL);
        d = malloc(sizeof(*d));
        nd = realloc(doms, (n + 1) * sizeof(*doms));
        if (nd)
            doms = nd;
        if (!text || !d || !nd || sim_dom_parse(text, d, why, sizeof(why)) < 0) {
            fprintf(stderr, "xend-simctl: skipping %s\n", path);
            free(d);
        } else {
            doms[n++] = d;
        }
        free(text);
    }
    closedir(dh);
    if (n > 1)
        qsort(doms, n, sizeof(*doms), simctl_cmp);
    printf("%-6s %-36s %-20s %-9s %8s %5s\n", "DOMID", "UUID", "NAME", "STATE", "MEM_MIB", "VCPUS");
    for (size_t i = 0; i < n; i++) {
        const sim_dom *d = doms[i];
        printf("%-6" PRIu32 " %-36s %-20s %-9s %8" PRIu64 " %5u%s\n", d->domid, d->uuid, d->name,
               sim_state_name(d->state), d->target_kib / 1024, d->vcpus_online,
               d->unresponsive ? " unresponsive" : "");
        free(doms[i]);
    }
    free(doms);
    rc = 0;
    return rc;
}

static void simctl_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static int simctl_request(const char *dir, const char *req, double timeout_s)
{
    char name[128], tmp[XO_PATH_LEN + 310], path[XO_PATH_LEN + 300], res[XO_PATH_LEN + 310];
    struct timespec now;
    long waited = 0, limit = (long)(timeout_s * 1000);
    char *answer = NULL;
    int rc = 1;

    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(name, sizeof(name), "req-%020lld-%ld",
             (long long)now.tv_sec * 1000000000LL + now.tv_nsec, (long)getpid());
    snprintf(path, sizeof(path), "%s/" SIM_CTL_SUBDIR "/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    snprintf(res, sizeof(res), "%s.res", path);
    if (sim_write_atomic(tmp, req, strlen(req)) < 0 || rename(tmp, path) < 0) {
        fprintf(stderr, "xend-simctl: writing %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return 1;
    }
    while (waited <= limit) {
        answer = sim_read_file(res, 4096, NULL);
        if (answer)
            break;
        simctl_sleep_ms(10);
        waited += 10;
    }
    if (!answer) {
        /* Withdraw the request unless the backend is consuming it right now. */
        if (unlink(path) == 0) {
            fprintf(stderr, "xend-simctl: no sim backend consumed the request within %.1fs "
                            "(is xend running with --state-dir %s?)\n", timeout_s, dir);
            return 1;
        }
        simctl_sleep_ms(200);
        answer = sim_read_file(res, 4096, NULL);
        if (!answer) {
            fprintf(stderr, "xend-simctl: request consumed but not answered\n");
            return 1;
        }
    }
    unlink(res);
    if (strncmp(answer, "ok", 2) == 0 && (answer[2] == '\n' || answer[2] == ' ' || !answer[2])) {
        const char *rest = answer + 2;
        while (*rest == ' ')
            rest++;
        fputs(rest, stdout);
        rc = 0;
    } else {
        fprintf(stderr, "xend-simctl: %s", strncmp(answer, "error ", 6) == 0 ? answer + 6 : answer);
    }
    free(answer);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    double timeout_s = 5;
    char req[512], path[XO_PATH_LEN + 64];
    int i = 1;

    while (i < argc && strncmp(argv[i], "--", 2) == 0) {
        if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc) {
            dir = argv[i + 1];
            i += 2;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout_s = atof(argv[i + 1]);
            i += 2;
        } else if (strcmp(argv[i], "--help") == 0) {
            simctl_usage();
            return 0;
        } else {
            return simctl_usage();
        }
    }
    if (!dir || i >= argc || strlen(dir) >= XO_PATH_LEN || timeout_s <= 0)
        return simctl_usage();
    argv += i;
    argc -= i;
    if (strcmp(argv[0], "list") == 0 && argc == 1)
        return simctl_list(dir);

    if (strcmp(argv[0], "create-foreign") == 0) {
        if (argc != 3 || strpbrk(argv[1], " \t\n") || strlen(argv[1]) >= XO_NAME_LEN)
            return simctl_usage();
        snprintf(req, sizeof(req), "create-foreign %s %s\n", argv[1], argv[2]);
    } else if (strcmp(argv[0], "poweroff") == 0 || strcmp(argv[0], "reboot") == 0 ||
               strcmp(argv[0], "crash") == 0 || strcmp(argv[0], "watchdog") == 0 ||
               strcmp(argv[0], "destroy") == 0 || strcmp(argv[0], "unresponsive") == 0) {
        char *end;
        unsigned long id;
        bool unresp = strcmp(argv[0], "unresponsive") == 0;

        if (argc != (unresp ? 3 : 2))
            return simctl_usage();
        errno = 0;
        id = strtoul(argv[1], &end, 10);
        if (errno || *end || !*argv[1] || id > UINT32_MAX)
            return simctl_usage();
        if (unresp && strcmp(argv[2], "on") != 0 && strcmp(argv[2], "off") != 0)
            return simctl_usage();
        snprintf(path, sizeof(path), "%s/" SIM_DOMAINS_SUBDIR "/%lu.dom", dir, id);
        if (access(path, F_OK) != 0) {
            fprintf(stderr, "xend-simctl: no domain with domid %lu in %s\n", id, dir);
            return 1;
        }
        snprintf(req, sizeof(req), "%s %lu%s%s\n", argv[0], id, unresp ? " " : "",
                 unresp ? argv[2] : "");
    } else {
        return simctl_usage();
    }
    return simctl_request(dir, req, timeout_s);
}
