/* sim: a simulated Xen host (the spirit of libvirt's test driver).
 *
 * The simulated hypervisor's state lives in files under its state
 * directory, not in xend's memory, so a restarted xend finds its domains
 * still "running":
 *   <dir>/next-domid           the next domid to hand out (never reused)
 *   <dir>/domains/<domid>.dom  one domain, key = value lines
 *   <dir>/ctl/                 test-only requests from xend-simctl
 * See docs/sim-backend.md.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xenops/sim/sim.h"
#include "xenops/xenops.h"

#define MAX_DEVS 16
#define SIM_PATH (XO_PATH_LEN + 64)   /* the state dir plus a file name */

typedef struct sim_dom {
    uint32_t domid;
    char uuid[XO_UUID_LEN];
    char name[XO_NAME_LEN];
    xo_domtype type;
    xo_domstate state;
    xo_shutdown_reason reason;
    uint64_t memory_kib, target_kib, max_kib;
    unsigned vcpus_online, vcpus_max, weight, cap;
    int64_t start_time;
    uint64_t cpu_time_ns;       /* accumulated up to run_since */
    int64_t run_since_ms;       /* wall ms when it last started running, 0 if not */
    bool unresponsive;
    char console_log[XO_PATH_LEN];
    xo_disk disks[MAX_DEVS];
    size_t n_disks;
    xo_nic nics[MAX_DEVS];
    size_t n_nics;
    struct sim_dom *next;
} sim_dom;

struct xo_backend {
    pthread_mutex_t lock;
    sim_host host;
    char dir[XO_PATH_LEN];
    char dmesg[2048];
    sim_dom *doms;
    uint32_t next_domid;
    xloop *loop;
    xo_event_fn on_event;
    void *opaque;
    int ino_fd;
    xloop_fd *ino_h;
    xloop_timer *timers[64];    /* pending shutdown completions */
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void emit(xo_backend *b, xo_event_type type, const sim_dom *d, xo_shutdown_reason reason)
{
    xo_event ev = { .type = type, .domid = d->domid, .reason = reason };
    snprintf(ev.uuid, sizeof(ev.uuid), "%s", d->uuid);
    if (b->on_event)
        b->on_event(b->opaque, &ev);
}

/* ---- files ---- */

static int write_atomic(const char *path, const char *data, size_t len)
{
    char tmp[SIM_PATH + 300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void dom_path(const xo_backend *b, uint32_t domid, char *out, size_t n)
{
    snprintf(out, n, "%s/domains/%" PRIu32 ".dom", b->dir, domid);
}

static uint64_t cpu_time(const sim_dom *d)
{
    uint64_t t = d->cpu_time_ns;
    if (d->run_since_ms)   /* a simulated guest keeps its vCPUs 10% busy */
        t += (uint64_t)(wall_ms() - d->run_since_ms) * 100000ULL * d->vcpus_online;
    return t;
}

static const char *const state_names[] = { "running", "paused", "shutdown", "crashed", "dying" };

static char *dom_serialize(const sim_dom *d, size_t *len_r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    fprintf(f, "domid = %" PRIu32 "\nuuid = %s\nname = %s\ntype = %d\nstate = %s\nreason = %d\n",
            d->domid, d->uuid, d->name, (int)d->type, state_names[d->state], (int)d->reason);
    fprintf(f, "memory_kib = %" PRIu64 "\ntarget_kib = %" PRIu64 "\nmax_kib = %" PRIu64 "\n",
            d->memory_kib, d->target_kib, d->max_kib);
    fprintf(f, "vcpus_online = %u\nvcpus_max = %u\nweight = %u\ncap = %u\n", d->vcpus_online,
            d->vcpus_max, d->weight, d->cap);
    fprintf(f, "start_time = %" PRId64 "\ncpu_time_ns = %" PRIu64 "\nrun_since_ms = %" PRId64 "\n",
            d->start_time, d->cpu_time_ns, d->run_since_ms);
    fprintf(f, "unresponsive = %d\nconsole_log = %s\n", d->unresponsive ? 1 : 0, d->console_log);
    for (size_t i = 0; i < d->n_disks; i++)
        fprintf(f, "disk = %s|%s|%d|%d|%d\n", d->disks[i].vdev[0] ? d->disks[i].vdev : "xvd?",
                d->disks[i].format[0] ? d->disks[i].format : "raw", d->disks[i].readonly ? 1 : 0,
                d->disks[i].cdrom ? 1 : 0, d->disks[i].bootable ? 1 : 0);
    for (size_t i = 0; i < d->n_disks; i++)
        fprintf(f, "disk_target = %s\n", d->disks[i].target);
    for (size_t i = 0; i < d->n_nics; i++)
        fprintf(f, "nic = %d|%s|%s|%u\n", d->nics[i].devid, d->nics[i].mac, d->nics[i].bridge,
                d->nics[i].mtu);
    fclose(f);
    *len_r = len;
    return buf;
}

static void copy_field(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src);
}

/* Parse one "key = value" line into d; unknown keys are ignored. */
static void dom_parse_line(sim_dom *d, const char *key, const char *val, size_t *disk_targets)
{
    if (!strcmp(key, "domid")) d->domid = (uint32_t)strtoul(val, NULL, 10);
    else if (!strcmp(key, "uuid")) copy_field(d->uuid, sizeof(d->uuid), val);
    else if (!strcmp(key, "name")) copy_field(d->name, sizeof(d->name), val);
    else if (!strcmp(key, "type")) d->type = (xo_domtype)atoi(val);
    else if (!strcmp(key, "state")) {
        for (int i = 0; i < 5; i++)
            if (!strcmp(val, state_names[i]))
                d->state = (xo_domstate)i;
    } else if (!strcmp(key, "reason")) d->reason = (xo_shutdown_reason)atoi(val);
    else if (!strcmp(key, "memory_kib")) d->memory_kib = strtoull(val, NULL, 10);
    else if (!strcmp(key, "target_kib")) d->target_kib = strtoull(val, NULL, 10);
    else if (!strcmp(key, "max_kib")) d->max_kib = strtoull(val, NULL, 10);
    else if (!strcmp(key, "vcpus_online")) d->vcpus_online = (unsigned)atoi(val);
    else if (!strcmp(key, "vcpus_max")) d->vcpus_max = (unsigned)atoi(val);
    else if (!strcmp(key, "weight")) d->weight = (unsigned)atoi(val);
    else if (!strcmp(key, "cap")) d->cap = (unsigned)atoi(val);
    else if (!strcmp(key, "start_time")) d->start_time = strtoll(val, NULL, 10);
    else if (!strcmp(key, "cpu_time_ns")) d->cpu_time_ns = strtoull(val, NULL, 10);
    else if (!strcmp(key, "run_since_ms")) d->run_since_ms = strtoll(val, NULL, 10);
    else if (!strcmp(key, "unresponsive")) d->unresponsive = atoi(val) != 0;
    else if (!strcmp(key, "console_log")) copy_field(d->console_log, sizeof(d->console_log), val);
    else if (!strcmp(key, "disk") && d->n_disks < MAX_DEVS) {
        xo_disk *k = &d->disks[d->n_disks++];
        int ro = 0, cd = 0, boot = 0;
        memset(k, 0, sizeof(*k));
        sscanf(val, "%15[^|]|%15[^|]|%d|%d|%d", k->vdev, k->format, &ro, &cd, &boot);
        k->readonly = ro != 0;
        k->cdrom = cd != 0;
        k->bootable = boot != 0;
    } else if (!strcmp(key, "disk_target") && *disk_targets < d->n_disks) {
        copy_field(d->disks[(*disk_targets)++].target, XO_PATH_LEN, val);
    } else if (!strcmp(key, "nic") && d->n_nics < MAX_DEVS) {
        xo_nic *n = &d->nics[d->n_nics++];
        memset(n, 0, sizeof(*n));
        sscanf(val, "%d|%17[^|]|%63[^|]|%u", &n->devid, n->mac, n->bridge, &n->mtu);
    }
}

/* Parse serialized domain text (a .dom file or an image's config part). */
static void dom_parse(sim_dom *d, char *text)
{
    size_t targets = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strstr(line, " = ");
        if (!eq)
            continue;
        *eq = '\0';
        dom_parse_line(d, line, eq + 3, &targets);
    }
}

static int dom_save(xo_backend *b, const sim_dom *d)
{
    char path[SIM_PATH];
    size_t len;
    dom_path(b, d->domid, path, sizeof(path));
    char *text = dom_serialize(d, &len);
    int rc = write_atomic(path, text, len);
    free(text);
    return rc;
}

static void dom_unlink(xo_backend *b, uint32_t domid)
{
    char path[SIM_PATH];
    dom_path(b, domid, path, sizeof(path));
    unlink(path);
}

static char *read_all(const char *path, size_t *len_r)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[8192];
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                abort();
            buf = nb;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf && !(buf = calloc(1, 1)))
        abort();
    buf[len] = '\0';
    if (len_r)
        *len_r = len;
    return buf;
}

static int save_counter(xo_backend *b)
{
    char path[SIM_PATH], text[32];
    snprintf(path, sizeof(path), "%s/next-domid", b->dir);
    int n = snprintf(text, sizeof(text), "%" PRIu32 "\n", b->next_domid);
    return write_atomic(path, text, (size_t)n);
}

/* ---- lookup, accounting ---- */

static sim_dom *find(xo_backend *b, uint32_t domid)
{
    for (sim_dom *d = b->doms; d; d = d->next)
        if (d->domid == domid)
            return d;
    return NULL;
}

static void unlink_dom(xo_backend *b, sim_dom *d)
{
    for (sim_dom **pp = &b->doms; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            return;
        }
}

static uint64_t used_kib(const xo_backend *b)
{
    uint64_t used = b->host.dom0_memory_mib * 1024ULL;
    for (sim_dom *d = b->doms; d; d = d->next)
        if (d->domid != 0)
            used += d->memory_kib;
    return used;
}

static uint64_t free_kib(const xo_backend *b)
{
    uint64_t total = b->host.memory_mib * 1024ULL, used = used_kib(b);
    return used >= total ? 0 : total - used;
}

static sim_dom *find_or_fail(xo_backend *b, uint32_t domid, xo_error *err)
{
    sim_dom *d = find(b, domid);
    if (!d)
        xo_error_set(err, XO_E_NODOMAIN, "no domain %" PRIu32, domid);
    return d;
}

static void console_banner(const sim_dom *d, const char *what)
{
    if (!d->console_log[0])
        return;
    FILE *f = fopen(d->console_log, "a");
    if (!f)
        return;
    fprintf(f, "[sim] domain %s (domid %" PRIu32 ") %s\nXQ-GUEST-HELLO\n", d->name, d->domid, what);
    fclose(f);
}

/* ---- shutdown completion (a cooperative guest obeys after a delay) ---- */

typedef struct pending {
    xo_backend *b;
    uint32_t domid;
    xo_shutdown_reason reason;
    int slot;
} pending;

static void guest_went_down(xo_backend *b, sim_dom *d, xo_shutdown_reason reason)
{
    if (d->run_since_ms) {
        d->cpu_time_ns = cpu_time(d);
        d->run_since_ms = 0;
    }
    d->state = reason == XO_SHUTDOWN_CRASH ? XO_STATE_CRASHED : XO_STATE_SHUTDOWN;
    d->reason = reason;
    dom_save(b, d);
}

static void shutdown_timer(xloop_timer *t, void *arg)
{
    pending *p = arg;
    xo_backend *b = p->b;
    sim_dom copy;
    bool fire = false;
    (void)t;
    pthread_mutex_lock(&b->lock);
    b->timers[p->slot] = NULL;
    sim_dom *d = find(b, p->domid);
    if (d && (d->state == XO_STATE_RUNNING) && !d->unresponsive) {
        guest_went_down(b, d, p->reason);
        copy = *d;
        fire = true;
    }
    pthread_mutex_unlock(&b->lock);
    if (fire)
        emit(b, XO_EV_DOMAIN_SHUTDOWN, &copy, p->reason);
    free(p);
}

/* ---- test-only control requests (xend-simctl) ---- */

static void ctl_reply(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctl_reply(const char *path, const char *fmt, ...)
{
    char done[SIM_PATH + 300], msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(done, sizeof(done), "%s.done", path);
    write_atomic(done, msg, (size_t)(n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1));
}

static void ctl_apply(xo_backend *b, const char *path)
{
    size_t len;
    char *text = read_all(path, &len);
    unlink(path);
    if (!text)
        return;
    char cmd[32] = "", arg1[XO_NAME_LEN] = "", arg2[64] = "";
    int n = sscanf(text, "%31s %127s %63s", cmd, arg1, arg2);
    free(text);
    if (n < 1) {
        ctl_reply(path, "error: empty request\n");
        return;
    }
    if (!strcmp(cmd, "create-foreign")) {
        sim_dom *d = calloc(1, sizeof(*d));
        if (!d)
            abort();
        uint64_t mib = n >= 3 ? strtoull(arg2, NULL, 10) : 128;
        pthread_mutex_lock(&b->lock);
        if (mib * 1024 > free_kib(b)) {
            pthread_mutex_unlock(&b->lock);
            free(d);
            ctl_reply(path, "error: not enough free memory\n");
            return;
        }
        d->domid = b->next_domid++;
        save_counter(b);
        unsigned char r[16];
        for (int i = 0; i < 16; i++)
            r[i] = (unsigned char)(rand() & 0xff);
        snprintf(d->uuid, sizeof(d->uuid), "%02x%02x%02x%02x-%02x%02x-4%x%02x-8%x%02x-%02x%02x%02x%02x%02x%02x",
                 r[0], r[1], r[2], r[3], r[4], r[5], r[6] & 0xf, r[7], r[8] & 0xf, r[9], r[10], r[11], r[12],
                 r[13], r[14], r[15]);
        copy_field(d->name, sizeof(d->name), arg1);
        d->memory_kib = d->target_kib = d->max_kib = mib * 1024;
        d->vcpus_online = d->vcpus_max = 1;
        d->start_time = time(NULL);
        d->run_since_ms = wall_ms();
        d->next = b->doms;
        b->doms = d;
        dom_save(b, d);
        sim_dom copy = *d;
        pthread_mutex_unlock(&b->lock);
        ctl_reply(path, "ok %" PRIu32 " %s\n", copy.domid, copy.uuid);
        emit(b, XO_EV_DOMAIN_NEW, &copy, XO_SHUTDOWN_NONE);
        return;
    }
    uint32_t domid = (uint32_t)strtoul(arg1, NULL, 10);
    pthread_mutex_lock(&b->lock);
    sim_dom *d = n >= 2 ? find(b, domid) : NULL;
    if (!d || domid == 0) {
        pthread_mutex_unlock(&b->lock);
        ctl_reply(path, "error: no domain %s\n", arg1);
        return;
    }
    xo_shutdown_reason reason = XO_SHUTDOWN_NONE;
    if (!strcmp(cmd, "poweroff")) reason = XO_SHUTDOWN_POWEROFF;
    else if (!strcmp(cmd, "reboot")) reason = XO_SHUTDOWN_REBOOT;
    else if (!strcmp(cmd, "crash")) reason = XO_SHUTDOWN_CRASH;
    else if (!strcmp(cmd, "watchdog")) reason = XO_SHUTDOWN_WATCHDOG;
    else if (!strcmp(cmd, "unresponsive")) {
        d->unresponsive = strcmp(arg2, "off") != 0;
        dom_save(b, d);
        pthread_mutex_unlock(&b->lock);
        ctl_reply(path, "ok\n");
        return;
    } else {
        pthread_mutex_unlock(&b->lock);
        ctl_reply(path, "error: unknown request '%s'\n", cmd);
        return;
    }
    if (d->state != XO_STATE_RUNNING && d->state != XO_STATE_PAUSED) {
        pthread_mutex_unlock(&b->lock);
        ctl_reply(path, "error: domain %s is not running\n", arg1);
        return;
    }
    guest_went_down(b, d, reason);
    sim_dom copy = *d;
    pthread_mutex_unlock(&b->lock);
    ctl_reply(path, "ok\n");
    emit(b, XO_EV_DOMAIN_SHUTDOWN, &copy, reason);
}

static void ctl_scan(xo_backend *b)
{
    char dir[SIM_PATH];
    snprintf(dir, sizeof(dir), "%s/ctl", b->dir);
    DIR *dh = opendir(dir);
    if (!dh)
        return;
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || (n > 5 && !strcmp(e->d_name + n - 5, ".done")) ||
            (n > 4 && !strcmp(e->d_name + n - 4, ".tmp")))
            continue;
        char path[SIM_PATH + 260];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ctl_apply(b, path);
    }
    closedir(dh);
}

static void ctl_ready(xloop_fd *h, int fd, short revents, void *arg)
{
    char buf[4096];
    (void)h;
    (void)revents;
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    ctl_scan(arg);
}

/* ---- open/close ---- */

static int mkdirs(const char *dir)
{
    char tmp[XO_PATH_LEN];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0700);
            *p = '/';
        }
    return mkdir(tmp, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

static xo_backend *sim_open(const xo_options *opts, xo_error *err)
{
    xo_backend *b = calloc(1, sizeof(*b));
    if (!b)
        abort();
    pthread_mutex_init(&b->lock, NULL);
    b->ino_fd = -1;
    char why[256] = "";
    if (!sim_host_load(&b->host, opts->sim_config, why, sizeof(why))) {
        xo_error_set(err, XO_E_INVAL, "%s", why);
        goto fail;
    }
    if (opts->sim_state_dir)
        copy_field(b->dir, sizeof(b->dir), opts->sim_state_dir);
    else
        snprintf(b->dir, sizeof(b->dir), "%s/sim", opts->state_dir ? opts->state_dir : "/var/lib/xend");
    char sub[SIM_PATH];
    snprintf(sub, sizeof(sub), "%s/domains", b->dir);
    if (mkdirs(sub) != 0) {
        xo_error_set(err, XO_E_FAIL, "cannot create %s: %s", sub, strerror(errno));
        goto fail;
    }
    snprintf(sub, sizeof(sub), "%s/ctl", b->dir);
    mkdirs(sub);
    b->loop = opts->loop;
    b->on_event = opts->on_event;
    b->opaque = opts->opaque;
    snprintf(b->dmesg, sizeof(b->dmesg),
             "(XEN) Xen version %s (simulated host)\n(XEN) Command line: console=com1 dom0_mem=%uM\n"
             "(XEN) %u CPUs, %u MiB of memory\n(XEN) Scheduler: %s\n",
             b->host.version, b->host.dom0_memory_mib, b->host.cpus, b->host.memory_mib, b->host.sched);

    /* the counter, then the domains left by an earlier run */
    char path[SIM_PATH + 260];
    snprintf(path, sizeof(path), "%s/next-domid", b->dir);
    char *text = read_all(path, NULL);
    b->next_domid = text ? (uint32_t)strtoul(text, NULL, 10) : 1;
    if (b->next_domid == 0)
        b->next_domid = 1;
    free(text);
    snprintf(sub, sizeof(sub), "%s/domains", b->dir);
    DIR *dh = opendir(sub);
    struct dirent *e;
    while (dh && (e = readdir(dh))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".dom") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", sub, e->d_name);
        char *t = read_all(path, NULL);
        if (!t)
            continue;
        sim_dom *d = calloc(1, sizeof(*d));
        if (!d)
            abort();
        d->domid = UINT32_MAX;
        dom_parse(d, t);
        free(t);
        if (d->domid == UINT32_MAX || d->domid == 0 || find(b, d->domid)) {
            free(d);
            continue;
        }
        if (d->domid >= b->next_domid)
            b->next_domid = d->domid + 1;
        d->next = b->doms;
        b->doms = d;
    }
    if (dh)
        closedir(dh);
    /* dom0 is always there */
    sim_dom *d0 = calloc(1, sizeof(*d0));
    if (!d0)
        abort();
    copy_field(d0->uuid, sizeof(d0->uuid), "00000000-0000-0000-0000-000000000000");
    copy_field(d0->name, sizeof(d0->name), "Domain-0");
    d0->memory_kib = d0->target_kib = d0->max_kib = b->host.dom0_memory_mib * 1024ULL;
    d0->vcpus_online = d0->vcpus_max = b->host.cpus;
    d0->start_time = time(NULL);
    d0->run_since_ms = wall_ms();
    d0->next = b->doms;
    b->doms = d0;

    if (b->loop) {
        b->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        snprintf(sub, sizeof(sub), "%s/ctl", b->dir);
        if (b->ino_fd >= 0 && inotify_add_watch(b->ino_fd, sub, IN_CLOSE_WRITE | IN_MOVED_TO) >= 0)
            b->ino_h = xloop_fd_add(b->loop, b->ino_fd, POLLIN, ctl_ready, b);
        ctl_scan(b);   /* requests dropped while nobody listened */
    }
    return b;
fail:
    pthread_mutex_destroy(&b->lock);
    free(b);
    return NULL;
}

static void sim_close(xo_backend *b)
{
    if (!b)
        return;
    if (b->ino_h)
        xloop_fd_remove(b->ino_h);
    if (b->ino_fd >= 0)
        close(b->ino_fd);
    pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < sizeof(b->timers) / sizeof(b->timers[0]); i++)
        if (b->timers[i]) {
            xloop_timer_remove(b->timers[i]);
            b->timers[i] = NULL;
        }
    pthread_mutex_unlock(&b->lock);
    while (b->doms) {
        sim_dom *d = b->doms;
        b->doms = d->next;
        free(d);
    }
    pthread_mutex_destroy(&b->lock);
    free(b);
}

/* ---- host ---- */

static int sim_host_info(xo_backend *b, xo_host_info *info, xo_error *err)
{
    (void)err;
    memset(info, 0, sizeof(*info));
    copy_field(info->hostname, sizeof(info->hostname), b->host.hostname);
    copy_field(info->hypervisor, sizeof(info->hypervisor), "sim");
    copy_field(info->version, sizeof(info->version), b->host.version);
    copy_field(info->capabilities, sizeof(info->capabilities), "xen-3.0-x86_64 xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64");
    copy_field(info->sched_policy, sizeof(info->sched_policy), b->host.sched);
    pthread_mutex_lock(&b->lock);
    info->total_memory = b->host.memory_mib * 1024ULL * 1024ULL;
    info->free_memory = free_kib(b) * 1024ULL;
    pthread_mutex_unlock(&b->lock);
    info->nr_cpus = b->host.cpus;
    info->nr_nodes = 1;
    info->cores_per_socket = b->host.cpus;
    info->threads_per_core = 1;
    info->cpu_mhz = b->host.cpu_mhz;
    return 0;
}

static int sim_host_cpus(xo_backend *b, xo_cpu_info **cpus_r, size_t *n_r, xo_error *err)
{
    (void)err;
    xo_cpu_info *c = calloc(b->host.cpus ? b->host.cpus : 1, sizeof(*c));
    if (!c)
        abort();
    for (unsigned i = 0; i < b->host.cpus; i++) {
        c[i].number = i;
        copy_field(c[i].vendor, sizeof(c[i].vendor), "GenuineIntel");
        copy_field(c[i].modelname, sizeof(c[i].modelname), "Simulated CPU @ 2.40GHz");
        copy_field(c[i].flags, sizeof(c[i].flags), "fpu de tsc msr pae cx8 apic sep pge cmov pat clflush mmx fxsr sse sse2 ht syscall nx lm");
        copy_field(c[i].features, sizeof(c[i].features), "bfebfbff-00000000-00000000-00000000");
        c[i].speed_mhz = b->host.cpu_mhz;
        c[i].family = 6;
        c[i].model = 85;
        c[i].stepping = 4;
        c[i].utilisation = 0.0;
    }
    *cpus_r = c;
    *n_r = b->host.cpus;
    return 0;
}

static int sim_host_nics(xo_backend *b, xo_nic_info **nics_r, size_t *n_r, xo_error *err)
{
    (void)err;
    xo_nic_info *n = calloc(b->host.n_nics ? b->host.n_nics : 1, sizeof(*n));
    if (!n)
        abort();
    memcpy(n, b->host.nics, b->host.n_nics * sizeof(*n));
    *nics_r = n;
    *n_r = b->host.n_nics;
    return 0;
}

static int sim_host_dmesg(xo_backend *b, char **text_r, bool clear, xo_error *err)
{
    (void)err;
    pthread_mutex_lock(&b->lock);
    *text_r = strdup(b->dmesg);
    if (clear)
        b->dmesg[0] = '\0';
    pthread_mutex_unlock(&b->lock);
    if (!*text_r)
        abort();
    return 0;
}

static int sim_host_send_debug_keys(xo_backend *b, const char *keys, xo_error *err)
{
    (void)err;
    pthread_mutex_lock(&b->lock);
    size_t len = strlen(b->dmesg);
    snprintf(b->dmesg + len, sizeof(b->dmesg) - len, "(XEN) debug keys '%s' pressed\n", keys);
    pthread_mutex_unlock(&b->lock);
    return 0;
}

/* ---- domains ---- */

static void fill_info(const sim_dom *d, xo_dominfo *i)
{
    memset(i, 0, sizeof(*i));
    i->domid = d->domid;
    copy_field(i->uuid, sizeof(i->uuid), d->uuid);
    copy_field(i->name, sizeof(i->name), d->name);
    i->type = d->type;
    i->state = d->state;
    i->reason = d->reason;
    i->memory_kib = d->memory_kib;
    i->target_kib = d->target_kib;
    i->max_memory_kib = d->max_kib;
    i->vcpus_online = d->vcpus_online;
    i->vcpus_max = d->vcpus_max;
    i->cpu_time_ns = cpu_time(d);
    i->start_time = d->start_time;
}

static int sim_domain_list(xo_backend *b, xo_dominfo **doms_r, size_t *n_r, xo_error *err)
{
    (void)err;
    pthread_mutex_lock(&b->lock);
    size_t n = 0;
    for (sim_dom *d = b->doms; d; d = d->next)
        n++;
    xo_dominfo *l = calloc(n ? n : 1, sizeof(*l));
    if (!l)
        abort();
    size_t i = n;
    for (sim_dom *d = b->doms; d; d = d->next)   /* list order: ascending domid */
        fill_info(d, &l[--i]);
    pthread_mutex_unlock(&b->lock);
    *doms_r = l;
    *n_r = n;
    return 0;
}

static int sim_domain_info(xo_backend *b, uint32_t domid, xo_dominfo *info, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    if (d)
        fill_info(d, info);
    pthread_mutex_unlock(&b->lock);
    return d ? 0 : -1;
}

static int sim_domain_vcpus(xo_backend *b, uint32_t domid, xo_vcpu_info **v_r, size_t *n_r, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    if (!d) {
        pthread_mutex_unlock(&b->lock);
        return -1;
    }
    xo_vcpu_info *v = calloc(d->vcpus_max ? d->vcpus_max : 1, sizeof(*v));
    if (!v)
        abort();
    uint64_t t = cpu_time(d);
    for (unsigned i = 0; i < d->vcpus_max; i++) {
        v[i].id = i;
        v[i].online = i < d->vcpus_online;
        v[i].cpu = v[i].online && d->state == XO_STATE_RUNNING ? (int)((d->domid + i) % b->host.cpus) : -1;
        v[i].cpu_time_ns = v[i].online && d->vcpus_online ? t / d->vcpus_online : 0;
    }
    *v_r = v;
    *n_r = d->vcpus_max;
    pthread_mutex_unlock(&b->lock);
    return 0;
}

static int check_resources(xo_backend *b, const xo_domain_config *cfg, xo_error *err)
{
    uint64_t need = cfg->memory_target_kib ? cfg->memory_target_kib : cfg->memory_static_max_kib;
    uint64_t avail = free_kib(b);
    if (need > avail) {
        xo_error_set(err, XO_E_NOMEM, "needs %" PRIu64 " MiB, %" PRIu64 " MiB free", need >> 10, avail >> 10);
        return -1;
    }
    if (cfg->vcpus_max > b->host.cpus) {
        xo_error_set(err, XO_E_NOCPU, "needs %u vCPUs, the host has %u CPUs", cfg->vcpus_max, b->host.cpus);
        return -1;
    }
    if (need == 0 || cfg->vcpus_max == 0) {
        xo_error_set(err, XO_E_INVAL, "a domain needs memory and at least one vCPU");
        return -1;
    }
    return 0;
}

static sim_dom *new_dom(xo_backend *b, const xo_domain_config *cfg, bool paused)
{
    sim_dom *d = calloc(1, sizeof(*d));
    if (!d)
        abort();
    d->domid = b->next_domid++;
    save_counter(b);
    copy_field(d->uuid, sizeof(d->uuid), cfg->uuid);
    copy_field(d->name, sizeof(d->name), cfg->name);
    d->type = cfg->type;
    d->state = paused ? XO_STATE_PAUSED : XO_STATE_RUNNING;
    d->target_kib = cfg->memory_target_kib ? cfg->memory_target_kib : cfg->memory_static_max_kib;
    d->memory_kib = d->target_kib;
    d->max_kib = cfg->memory_static_max_kib ? cfg->memory_static_max_kib : d->target_kib;
    d->vcpus_max = cfg->vcpus_max;
    d->vcpus_online = cfg->vcpus_at_startup ? cfg->vcpus_at_startup : cfg->vcpus_max;
    d->weight = cfg->vcpu_weight;
    d->cap = cfg->vcpu_cap;
    d->start_time = time(NULL);
    d->run_since_ms = paused ? 0 : wall_ms();
    copy_field(d->console_log, sizeof(d->console_log), cfg->console_log);
    for (size_t i = 0; i < cfg->n_disks && d->n_disks < MAX_DEVS; i++)
        d->disks[d->n_disks++] = cfg->disks[i];
    for (size_t i = 0; i < cfg->n_nics && d->n_nics < MAX_DEVS; i++) {
        xo_nic *n = &d->nics[d->n_nics++];
        *n = cfg->nics[i];
        if (n->devid < 0)
            n->devid = (int)i;
        if (!n->mac[0])
            snprintf(n->mac, sizeof(n->mac), "00:16:3e:%02x:%02x:%02x", (d->domid >> 8) & 0xff,
                     d->domid & 0xff, (unsigned)i & 0xff);
    }
    d->next = b->doms;
    b->doms = d;
    dom_save(b, d);
    return d;
}

static int sim_domain_create(xo_backend *b, const xo_domain_config *cfg, bool paused, uint32_t *domid_r,
                             xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    if (check_resources(b, cfg, err) != 0) {
        pthread_mutex_unlock(&b->lock);
        return -1;
    }
    sim_dom *d = new_dom(b, cfg, paused);
    *domid_r = d->domid;
    sim_dom copy = *d;
    pthread_mutex_unlock(&b->lock);
    console_banner(&copy, paused ? "created paused" : "booted");
    return 0;
}

static int set_state(xo_backend *b, uint32_t domid, xo_domstate from, xo_domstate to, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    int rc = -1;
    if (d && domid == 0)
        xo_error_set(err, XO_E_BUSY, "domain 0 cannot be paused");
    else if (d && d->state != from)
        xo_error_set(err, XO_E_BUSY, "domain %" PRIu32 " is %s", domid, state_names[d->state]);
    else if (d) {
        if (to == XO_STATE_RUNNING)
            d->run_since_ms = wall_ms();
        else if (d->run_since_ms) {
            d->cpu_time_ns = cpu_time(d);
            d->run_since_ms = 0;
        }
        d->state = to;
        dom_save(b, d);
        rc = 0;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int sim_domain_pause(xo_backend *b, uint32_t domid, xo_error *err)
{
    return set_state(b, domid, XO_STATE_RUNNING, XO_STATE_PAUSED, err);
}

static int sim_domain_unpause(xo_backend *b, uint32_t domid, xo_error *err)
{
    return set_state(b, domid, XO_STATE_PAUSED, XO_STATE_RUNNING, err);
}

static int sim_domain_shutdown(xo_backend *b, uint32_t domid, xo_shutdown_reason how, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    int rc = -1;
    if (d && domid == 0) {
        xo_error_set(err, XO_E_BUSY, "domain 0 is not shut down through the backend");
    } else if (d && d->state != XO_STATE_RUNNING) {
        xo_error_set(err, XO_E_BUSY, "domain %" PRIu32 " is %s", domid, state_names[d->state]);
    } else if (d) {
        rc = 0;
        if (!d->unresponsive) {   /* an unresponsive guest ignores the request */
            int slot = -1;
            for (int i = 0; i < (int)(sizeof(b->timers) / sizeof(b->timers[0])); i++)
                if (!b->timers[i]) {
                    slot = i;
                    break;
                }
            if (slot < 0 || !b->loop) {
                guest_went_down(b, d, how);   /* no loop or too many pending: at once */
                sim_dom copy = *d;
                pthread_mutex_unlock(&b->lock);
                emit(b, XO_EV_DOMAIN_SHUTDOWN, &copy, how);
                return 0;
            }
            pending *p = calloc(1, sizeof(*p));
            if (!p)
                abort();
            *p = (pending){ b, domid, how, slot };
            b->timers[slot] = xloop_timer_add(b->loop, xloop_now_ms() + b->host.shutdown_delay_ms,
                                              shutdown_timer, p);
        }
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int sim_domain_destroy(xo_backend *b, uint32_t domid, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    if (!d || domid == 0) {
        if (d)
            xo_error_set(err, XO_E_BUSY, "domain 0 cannot be destroyed");
        pthread_mutex_unlock(&b->lock);
        return -1;
    }
    unlink_dom(b, d);
    dom_unlink(b, domid);
    pthread_mutex_unlock(&b->lock);
    emit(b, XO_EV_DOMAIN_DEATH, d, XO_SHUTDOWN_NONE);
    free(d);
    return 0;
}

/* Image: "XENDSIM-IMAGE 1\n", the domain's serialized state, "payload = N\n",
 * N bytes standing for guest memory, "sum = HEX\n" (FNV-1a of all before). */
static uint32_t fnv(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

#define IMAGE_MAGIC "XENDSIM-IMAGE 1\n"

static int sim_domain_suspend(xo_backend *b, uint32_t domid, const char *path, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    if (!d || domid == 0 || (d->state != XO_STATE_RUNNING && d->state != XO_STATE_PAUSED)) {
        if (d)
            xo_error_set(err, XO_E_BUSY, "domain %" PRIu32 " cannot be suspended now", domid);
        pthread_mutex_unlock(&b->lock);
        return -1;
    }
    d->cpu_time_ns = cpu_time(d);
    d->run_since_ms = 0;
    size_t slen;
    char *state = dom_serialize(d, &slen);
    char *img = NULL;
    size_t ilen = 0;
    FILE *f = open_memstream(&img, &ilen);
    if (!f)
        abort();
    fputs(IMAGE_MAGIC, f);
    fwrite(state, 1, slen, f);
    free(state);
    enum { PAYLOAD = 16384 };
    fprintf(f, "payload = %d\n", PAYLOAD);
    uint32_t x = fnv(d->uuid, strlen(d->uuid));
    for (int i = 0; i < PAYLOAD; i++) {
        x = x * 1103515245u + 12345u;
        fputc((int)((x >> 16) & 0xff), f);
    }
    fclose(f);
    char tail[32];
    int tl = snprintf(tail, sizeof(tail), "sum = %08x\n", fnv(img, ilen));
    char *all = realloc(img, ilen + (size_t)tl);
    if (!all)
        abort();
    memcpy(all + ilen, tail, (size_t)tl);
    int rc = write_atomic(path, all, ilen + (size_t)tl);
    free(all);
    if (rc != 0) {
        xo_error_set(err, XO_E_FAIL, "cannot write %s: %s", path, strerror(errno));
        d->run_since_ms = d->state == XO_STATE_RUNNING ? wall_ms() : 0;
        pthread_mutex_unlock(&b->lock);
        return -1;
    }
    unlink_dom(b, d);
    dom_unlink(b, domid);
    pthread_mutex_unlock(&b->lock);
    emit(b, XO_EV_DOMAIN_DEATH, d, XO_SHUTDOWN_SUSPEND);
    free(d);
    return 0;
}

static int sim_domain_restore(xo_backend *b, const xo_domain_config *cfg, const char *path, bool paused,
                              uint32_t *domid_r, xo_error *err)
{
    size_t len;
    char *img = read_all(path, &len);
    if (!img) {
        xo_error_set(err, XO_E_INVAL, "cannot read image %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = -1;
    const char *tailp = NULL;       /* the last line: "sum = xxxxxxxx\n" */
    if (len >= 16 && !strncmp(img + len - 16, "\nsum = ", 7))
        tailp = img + len - 15;
    unsigned stored = 0;
    if (len < sizeof(IMAGE_MAGIC) + 16 || memcmp(img, IMAGE_MAGIC, strlen(IMAGE_MAGIC)) != 0 || !tailp ||
        sscanf(tailp, "sum = %x", &stored) != 1 || stored != fnv(img, (size_t)(tailp - img))) {
        xo_error_set(err, XO_E_INVAL, "%s is not an intact suspend image", path);
        goto out;
    }
    char *pl = strstr(img, "payload = ");
    if (!pl) {
        xo_error_set(err, XO_E_INVAL, "%s has no payload", path);
        goto out;
    }
    *pl = '\0';
    sim_dom saved = { 0 };
    dom_parse(&saved, img + strlen(IMAGE_MAGIC));
    if (strcmp(saved.uuid, cfg->uuid) != 0) {
        xo_error_set(err, XO_E_INVAL, "%s holds domain %s, not %s", path, saved.uuid, cfg->uuid);
        goto out;
    }
    pthread_mutex_lock(&b->lock);
    xo_domain_config c2 = *cfg;
    c2.memory_target_kib = saved.target_kib ? saved.target_kib : cfg->memory_target_kib;
    if (check_resources(b, &c2, err) != 0) {
        pthread_mutex_unlock(&b->lock);
        goto out;
    }
    sim_dom *d = new_dom(b, &c2, paused);
    d->cpu_time_ns = saved.cpu_time_ns;
    d->vcpus_online = saved.vcpus_online ? saved.vcpus_online : d->vcpus_online;
    dom_save(b, d);
    *domid_r = d->domid;
    sim_dom copy = *d;
    pthread_mutex_unlock(&b->lock);
    console_banner(&copy, "restored");
    rc = 0;
out:
    free(img);
    return rc;
}

static int sim_domain_set_memory(xo_backend *b, uint32_t domid, uint64_t target_kib, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    int rc = -1;
    if (d && target_kib > d->max_kib)
        xo_error_set(err, XO_E_INVAL, "target %" PRIu64 " KiB is above the maximum %" PRIu64 " KiB",
                     target_kib, d->max_kib);
    else if (d && target_kib > d->memory_kib && target_kib - d->memory_kib > free_kib(b))
        xo_error_set(err, XO_E_NOMEM, "needs %" PRIu64 " MiB more, %" PRIu64 " MiB free",
                     (target_kib - d->memory_kib) >> 10, free_kib(b) >> 10);
    else if (d) {
        d->target_kib = d->memory_kib = target_kib;   /* the simulated balloon is instant */
        dom_save(b, d);
        rc = 0;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int sim_domain_set_vcpus(xo_backend *b, uint32_t domid, unsigned online, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    int rc = -1;
    if (d && (online == 0 || online > d->vcpus_max))
        xo_error_set(err, XO_E_INVAL, "%u vCPUs: must be 1..%u", online, d->vcpus_max);
    else if (d) {
        d->cpu_time_ns = cpu_time(d);
        if (d->run_since_ms)
            d->run_since_ms = wall_ms();
        d->vcpus_online = online;
        dom_save(b, d);
        rc = 0;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int sim_domain_sched_params(xo_backend *b, uint32_t domid, unsigned weight, unsigned cap, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    if (d) {
        d->weight = weight;
        d->cap = cap;
        dom_save(b, d);
    }
    pthread_mutex_unlock(&b->lock);
    return d ? 0 : -1;
}

static int sim_domain_sysrq(xo_backend *b, uint32_t domid, char key, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    sim_dom copy;
    if (d)
        copy = *d;
    pthread_mutex_unlock(&b->lock);
    if (!d)
        return -1;
    char what[32];
    snprintf(what, sizeof(what), "got sysrq '%c'", key);
    console_banner(&copy, what);
    return 0;
}

static int sim_domain_trigger(xo_backend *b, uint32_t domid, const char *trigger, xo_error *err)
{
    static const char *const known[] = { "power", "sleep", "nmi", "init", "reset", "s3resume", NULL };
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    pthread_mutex_unlock(&b->lock);
    if (!d)
        return -1;
    for (int i = 0; known[i]; i++)
        if (!strcmp(trigger, known[i]))
            return 0;
    xo_error_set(err, XO_E_INVAL, "unknown trigger '%s'", trigger);
    return -1;
}

static int sim_domain_coredump(xo_backend *b, uint32_t domid, const char *path, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    if (!d) {
        pthread_mutex_unlock(&b->lock);
        return -1;
    }
    size_t len;
    char *state = dom_serialize(d, &len);
    pthread_mutex_unlock(&b->lock);
    char *core = NULL;
    size_t clen = 0;
    FILE *f = open_memstream(&core, &clen);
    if (!f)
        abort();
    fputs("XENDSIM-CORE 1\n", f);
    fwrite(state, 1, len, f);
    fclose(f);
    free(state);
    int rc = write_atomic(path, core, clen);
    free(core);
    if (rc != 0)
        xo_error_set(err, XO_E_FAIL, "cannot write %s: %s", path, strerror(errno));
    return rc;
}

static int sim_domain_rename(xo_backend *b, uint32_t domid, const char *name, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    if (d) {
        copy_field(d->name, sizeof(d->name), name);
        dom_save(b, d);
    }
    pthread_mutex_unlock(&b->lock);
    return d ? 0 : -1;
}

/* ---- devices ---- */

static int sim_disk_add(xo_backend *b, uint32_t domid, const xo_disk *disk, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    int rc = -1;
    if (d) {
        for (size_t i = 0; i < d->n_disks; i++)
            if (!strcmp(d->disks[i].vdev, disk->vdev)) {
                xo_error_set(err, XO_E_INVAL, "domain %" PRIu32 " already has disk %s", domid, disk->vdev);
                goto out;
            }
        if (d->n_disks == MAX_DEVS) {
            xo_error_set(err, XO_E_INVAL, "too many disks");
            goto out;
        }
        d->disks[d->n_disks++] = *disk;
        dom_save(b, d);
        rc = 0;
    }
out:
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int sim_disk_remove(xo_backend *b, uint32_t domid, const char *vdev, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    int rc = -1;
    for (size_t i = 0; d && i < d->n_disks; i++)
        if (!strcmp(d->disks[i].vdev, vdev)) {
            memmove(&d->disks[i], &d->disks[i + 1], (d->n_disks - i - 1) * sizeof(xo_disk));
            d->n_disks--;
            dom_save(b, d);
            rc = 0;
            break;
        }
    if (d && rc != 0)
        xo_error_set(err, XO_E_INVAL, "domain %" PRIu32 " has no disk %s", domid, vdev);
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int sim_disk_change_media(xo_backend *b, uint32_t domid, const xo_disk *disk, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    int rc = -1;
    for (size_t i = 0; d && i < d->n_disks; i++)
        if (!strcmp(d->disks[i].vdev, disk->vdev)) {
            if (!d->disks[i].cdrom) {
                xo_error_set(err, XO_E_INVAL, "%s is not a CD drive", disk->vdev);
                break;
            }
            copy_field(d->disks[i].target, XO_PATH_LEN, disk->target);
            dom_save(b, d);
            rc = 0;
            break;
        }
    if (d && rc != 0 && !err->msg[0])
        xo_error_set(err, XO_E_INVAL, "domain %" PRIu32 " has no disk %s", domid, disk->vdev);
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int sim_nic_add(xo_backend *b, uint32_t domid, xo_nic *nic, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    int rc = -1;
    if (d && d->n_nics == MAX_DEVS) {
        xo_error_set(err, XO_E_INVAL, "too many network interfaces");
    } else if (d) {
        if (nic->devid < 0) {
            int id = 0;
            for (bool clash = true; clash; ) {
                clash = false;
                for (size_t i = 0; i < d->n_nics; i++)
                    if (d->nics[i].devid == id) {
                        clash = true;
                        id++;
                    }
            }
            nic->devid = id;
        }
        for (size_t i = 0; i < d->n_nics; i++)
            if (d->nics[i].devid == nic->devid) {
                xo_error_set(err, XO_E_INVAL, "domain %" PRIu32 " already has vif %d", domid, nic->devid);
                goto out;
            }
        if (!nic->mac[0])
            snprintf(nic->mac, sizeof(nic->mac), "00:16:3e:%02x:%02x:%02x", (domid >> 8) & 0xff, domid & 0xff,
                     (unsigned)nic->devid & 0xff);
        d->nics[d->n_nics++] = *nic;
        dom_save(b, d);
        rc = 0;
    }
out:
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int sim_nic_remove(xo_backend *b, uint32_t domid, int devid, xo_error *err)
{
    pthread_mutex_lock(&b->lock);
    sim_dom *d = find_or_fail(b, domid, err);
    int rc = -1;
    for (size_t i = 0; d && i < d->n_nics; i++)
        if (d->nics[i].devid == devid) {
            memmove(&d->nics[i], &d->nics[i + 1], (d->n_nics - i - 1) * sizeof(xo_nic));
            d->n_nics--;
            dom_save(b, d);
            rc = 0;
            break;
        }
    if (d && rc != 0)
        xo_error_set(err, XO_E_INVAL, "domain %" PRIu32 " has no vif %d", domid, devid);
    pthread_mutex_unlock(&b->lock);
    return rc;
}

const xo_ops xo_sim_ops = {
    .name = "sim",
    .open = sim_open,
    .close = sim_close,
    .host_info = sim_host_info,
    .host_cpus = sim_host_cpus,
    .host_nics = sim_host_nics,
    .host_dmesg = sim_host_dmesg,
    .host_send_debug_keys = sim_host_send_debug_keys,
    .domain_list = sim_domain_list,
    .domain_info = sim_domain_info,
    .domain_vcpus = sim_domain_vcpus,
    .domain_create = sim_domain_create,
    .domain_pause = sim_domain_pause,
    .domain_unpause = sim_domain_unpause,
    .domain_shutdown = sim_domain_shutdown,
    .domain_destroy = sim_domain_destroy,
    .domain_suspend = sim_domain_suspend,
    .domain_restore = sim_domain_restore,
    .domain_set_memory = sim_domain_set_memory,
    .domain_set_vcpus = sim_domain_set_vcpus,
    .domain_sched_params = sim_domain_sched_params,
    .domain_sysrq = sim_domain_sysrq,
    .domain_trigger = sim_domain_trigger,
    .domain_coredump = sim_domain_coredump,
    .domain_rename = sim_domain_rename,
    .disk_add = sim_disk_add,
    .disk_remove = sim_disk_remove,
    .disk_change_media = sim_disk_change_media,
    .nic_add = sim_nic_add,
    .nic_remove = sim_nic_remove,
};
