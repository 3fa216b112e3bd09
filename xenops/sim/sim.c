/* sim: a simulated Xen host behind the xenops interface.
 *
 * The "hypervisor" state lives in files under the sim state directory (one
 * file per domain, see simfile.c), so it outlives xend: a restarted daemon
 * finds its domains still running.  A control directory (ctl/) watched with
 * inotify on the daemon loop lets xend-simctl play the guest or another
 * toolstack.  Format and behaviour: docs/sim-backend.md.
 *
 * Locking: b->lock protects everything in struct xo_backend.  Events are
 * collected under the lock and delivered after it is released.
 */
#include "config.h"

#include <ctype.h>
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

#include "xenops/sim/simfile.h"
#include "xenops/sim/simimage.h"
#include "xenops/xenops.h"

#define SIM_MAX_HOST_NICS 16
#define SIM_DMESG_MAX (64 * 1024)
#define SIM_MAX_EVENTS 8

typedef struct sim_host {
    unsigned cpus;
    unsigned cpu_mhz;
    uint64_t memory_mib;
    uint64_t dom0_memory_mib;
    char hostname[256];
    char version[64];
    unsigned shutdown_delay_ms;
    xo_nic_info nics[SIM_MAX_HOST_NICS];
    size_t n_nics;
} sim_host;

typedef struct sim_pending {
    xo_backend *b;
    uint32_t domid;
    xloop_timer *timer;
    struct sim_pending *next;
} sim_pending;

struct xo_backend {
    pthread_mutex_t lock;
    char dir[XO_PATH_LEN];
    char dom_dir[XO_PATH_LEN];
    char ctl_dir[XO_PATH_LEN];
    sim_host host;
    xloop *loop;
    xo_event_fn on_event;
    void *opaque;
    int64_t opened_ms;

    sim_dom **doms;                 /* sorted by domid */
    size_t n_doms, cap_doms;
    uint32_t next_domid;
    char *dmesg;
    size_t dmesg_len;
    sim_pending *pending;
    int ino_fd;
    xloop_fd *ino_h;
};

typedef struct sim_evq {
    xo_event ev[SIM_MAX_EVENTS];
    size_t n;
} sim_evq;

/* ---- small helpers ---- */

static int64_t sim_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sim_evq_add(sim_evq *q, xo_event_type type, const sim_dom *d,
                        xo_shutdown_reason reason)
{
    xo_event *e;

    if (q->n >= SIM_MAX_EVENTS)
        return;
    e = &q->ev[q->n++];
    memset(e, 0, sizeof(*e));
    e->type = type;
    e->domid = d->domid;
    snprintf(e->uuid, sizeof(e->uuid), "%s", d->uuid);
    e->reason = reason;
}

static void sim_evq_flush(xo_backend *b, sim_evq *q)
{
    for (size_t i = 0; i < q->n; i++)
        if (b->on_event)
            b->on_event(b->opaque, &q->ev[i]);
    q->n = 0;
}

static void sim_dmesg_add(xo_backend *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sim_dmesg_add(xo_backend *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    size_t n;
    char *nd;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    n = strlen(line);
    if (b->dmesg_len + n + 2 > SIM_DMESG_MAX)
        return;
    nd = realloc(b->dmesg, b->dmesg_len + n + 2);
    if (!nd)
        return;
    b->dmesg = nd;
    memcpy(b->dmesg + b->dmesg_len, line, n);
    b->dmesg_len += n;
    b->dmesg[b->dmesg_len++] = '\n';
    b->dmesg[b->dmesg_len] = '\0';
}

static uint64_t sim_cpu_time(const sim_dom *d, int64_t now_ms)
{
    uint64_t t = d->cpu_time_ns;

    /* A running guest keeps a quarter of each online vCPU busy. */
    if (d->state == XO_STATE_RUNNING && d->run_since_ms > 0 && now_ms > d->run_since_ms)
        t += (uint64_t)(now_ms - d->run_since_ms) * 1000000u * d->vcpus_online / 4;
    return t;
}

/* Account CPU time so far and restart the clock (or stop it). */
static void sim_set_state(sim_dom *d, xo_domstate st)
{
    int64_t now = sim_wall_ms();

    d->cpu_time_ns = sim_cpu_time(d, now);
    d->state = st;
    d->run_since_ms = st == XO_STATE_RUNNING ? now : 0;
}

static sim_dom *sim_find(xo_backend *b, uint32_t domid)
{
    for (size_t i = 0; i < b->n_doms; i++)
        if (b->doms[i]->domid == domid)
            return b->doms[i];
    return NULL;
}

static sim_dom *sim_find_err(xo_backend *b, uint32_t domid, xo_error *err)
{
    sim_dom *d;

    if (domid == 0) {
        xo_error_set(err, XO_E_INVAL, "operation not permitted on Domain-0");
        return NULL;
    }
    d = sim_find(b, domid);
    if (!d)
        xo_error_set(err, XO_E_NODOMAIN, "no domain with domid %" PRIu32, domid);
    return d;
}

static void sim_dom_path(xo_backend *b, uint32_t domid, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%" PRIu32 ".dom", b->dom_dir, domid);
}

static int sim_persist(xo_backend *b, const sim_dom *d, xo_error *err)
{
    char path[XO_PATH_LEN + 32];
    char *text = sim_dom_format(d);
    int rc = -1;

    if (!text) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        goto out;
    }
    sim_dom_path(b, d->domid, path, sizeof(path));
    if (sim_write_atomic(path, text, strlen(text)) < 0) {
        xo_error_set(err, XO_E_FAIL, "writing %s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(text);
    return rc;
}

static int sim_insert(xo_backend *b, sim_dom *d, xo_error *err)
{
    size_t i;

    if (b->n_doms == b->cap_doms) {
        size_t cap = b->cap_doms ? b->cap_doms * 2 : 16;
        sim_dom **nd = realloc(b->doms, cap * sizeof(*nd));
        if (!nd) {
            xo_error_set(err, XO_E_FAIL, "out of memory");
            return -1;
        }
        b->doms = nd;
        b->cap_doms = cap;
    }
    for (i = b->n_doms; i > 0 && b->doms[i - 1]->domid > d->domid; i--)
        b->doms[i] = b->doms[i - 1];
    b->doms[i] = d;
    b->n_doms++;
    return 0;
}

/* Delete element i of an array of *n elements of elem_size bytes. */
static void sim_array_del(void *base, size_t *n, size_t elem_size, size_t i)
{
    char *p = base;

    memmove(p + i * elem_size, p + (i + 1) * elem_size, (*n - i - 1) * elem_size);
    (*n)--;
}

/* Remove d from the list and its file; frees d. */
static void sim_remove(xo_backend *b, sim_dom *d)
{
    char path[XO_PATH_LEN + 32];

    for (size_t i = 0; i < b->n_doms; i++) {
        if (b->doms[i] == d) {
            sim_array_del(b->doms, &b->n_doms, sizeof(*b->doms), i);
            break;
        }
    }
    sim_dom_path(b, d->domid, path, sizeof(path));
    if (unlink(path) < 0 && errno != ENOENT)
        fprintf(stderr, "sim: unlink %s: %s\n", path, strerror(errno));
    free(d);
}

/* ---- the frame of an operation ----
 *
 * Every operation takes b->lock, does its work (collecting events in a
 * queue), releases the lock and only then delivers the events.  An operation
 * on one domain also looks the domain up first and may check its state.
 */

/* An operation's own part: runs with b->lock held, may queue events in q. */
typedef int (*sim_locked_fn)(xo_backend *b, void *arg, sim_evq *q, xo_error *err);

static int sim_locked(xo_backend *b, sim_locked_fn fn, void *arg, xo_error *err)
{
    sim_evq q = { .n = 0 };
    int rc;

    pthread_mutex_lock(&b->lock);
    rc = fn(b, arg, &q, err);
    pthread_mutex_unlock(&b->lock);
    sim_evq_flush(b, &q);
    return rc;
}

#define SIM_IN(st) (1u << (st))
#define SIM_LIVE (SIM_IN(XO_STATE_RUNNING) | SIM_IN(XO_STATE_PAUSED))

/* XO_E_BUSY unless d is in one of states; what ("cannot pause") ends the message. */
static int sim_check_state(const sim_dom *d, unsigned states, const char *what, xo_error *err)
{
    if (states & SIM_IN(d->state))
        return 0;
    xo_error_set(err, XO_E_BUSY, "domain %" PRIu32 " is %s%s%s", d->domid,
                 sim_state_name(d->state), what ? ", " : "", what ? what : "");
    return -1;
}

/* An operation on one existing domain other than Domain-0. */
typedef struct sim_dom_op {
    unsigned states;        /* the states it is allowed in; 0: the body checks */
    const char *what;       /* end of the XO_E_BUSY message, or NULL */
    int (*body)(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err);
} sim_dom_op;

typedef struct sim_dom_call {
    const sim_dom_op *op;
    uint32_t domid;
    void *arg;
} sim_dom_call;

static int sim_dom_call_locked(xo_backend *b, void *arg, sim_evq *q, xo_error *err)
{
    const sim_dom_call *c = arg;
    sim_dom *d = sim_find_err(b, c->domid, err);

    if (!d || (c->op->states && sim_check_state(d, c->op->states, c->op->what, err) < 0))
        return -1;
    return c->op->body(b, d, c->arg, q, err);
}

static int sim_on_dom(xo_backend *b, uint32_t domid, const sim_dom_op *op, void *arg,
                      xo_error *err)
{
    sim_dom_call c = { .op = op, .domid = domid, .arg = arg };

    return sim_locked(b, sim_dom_call_locked, &c, err);
}

/* Persist a change to d that the daemon hears about as XO_EV_DOMAIN_CHANGED. */
static int sim_changed(xo_backend *b, sim_dom *d, sim_evq *q, xo_error *err)
{
    if (sim_persist(b, d, err) < 0)
        return -1;
    sim_evq_add(q, XO_EV_DOMAIN_CHANGED, d, XO_SHUTDOWN_NONE);
    return 0;
}

/* d is gone: XO_EV_DOMAIN_DEATH with why, a dmesg line "domain N <how>"; frees d. */
static void sim_dom_gone(xo_backend *b, sim_dom *d, xo_shutdown_reason why, const char *how,
                         sim_evq *q)
{
    sim_evq_add(q, XO_EV_DOMAIN_DEATH, d, why);
    sim_dmesg_add(b, "(XEN) sim: domain %" PRIu32 " %s", d->domid, how);
    sim_remove(b, d);
}

static uint64_t sim_used_kib(xo_backend *b)
{
    uint64_t used = 0;

    for (size_t i = 0; i < b->n_doms; i++)
        used += b->doms[i]->target_kib;
    return used;
}

static uint64_t sim_free_kib(xo_backend *b)
{
    uint64_t total = (b->host.memory_mib - b->host.dom0_memory_mib) * 1024;
    uint64_t used = sim_used_kib(b);

    return used >= total ? 0 : total - used;
}

static int sim_alloc_domid(xo_backend *b, uint32_t *domid_r, xo_error *err)
{
    char path[XO_PATH_LEN + 32], text[32];
    uint32_t id = b->next_domid;

    if (id >= 0x7FF0) {         /* DOMID_FIRST_RESERVED */
        xo_error_set(err, XO_E_FAIL, "out of domids");
        return -1;
    }
    snprintf(path, sizeof(path), "%s/%s", b->dir, SIM_NEXT_DOMID_FILE);
    snprintf(text, sizeof(text), "%" PRIu32 "\n", id + 1);
    if (sim_write_atomic(path, text, strlen(text)) < 0) {
        xo_error_set(err, XO_E_FAIL, "writing %s: %s", path, strerror(errno));
        return -1;
    }
    b->next_domid = id + 1;
    *domid_r = id;
    return 0;
}

static void sim_random_bytes(unsigned char *buf, size_t n)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    static uint64_t state;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = -1;

    if (fd >= 0) {
        got = read(fd, buf, n);
        close(fd);
    }
    if (got == (ssize_t)n)
        return;
    pthread_mutex_lock(&m);
    if (!state)
        state = (uint64_t)sim_wall_ms() ^ ((uint64_t)getpid() << 32);
    for (size_t i = 0; i < n; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        buf[i] = (unsigned char)state;
    }
    pthread_mutex_unlock(&m);
}

static void sim_gen_uuid(char out[XO_UUID_LEN])
{
    unsigned char r[16];

    sim_random_bytes(r, sizeof(r));
    r[6] = (r[6] & 0x0f) | 0x40;
    r[8] = (r[8] & 0x3f) | 0x80;
    snprintf(out, XO_UUID_LEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
             r[12], r[13], r[14], r[15]);
}

static bool sim_uuid_valid(const char *u)
{
    if (strlen(u) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (u[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)u[i])) {
            return false;
        }
    }
    return true;
}

/* MAC 00:16:3e:xx:xx:xx derived from the domain uuid and devid. */
static void sim_gen_mac(const sim_dom *d, int devid, char out[18])
{
    uint32_t h = 2166136261u;

    for (const char *p = d->uuid; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ (uint32_t)devid) * 16777619u;
    h ^= d->domid * 2654435761u;
    snprintf(out, 18, "00:16:3e:%02x:%02x:%02x", (h >> 16) & 0x7f, (h >> 8) & 0xff, h & 0xff);
}

static bool sim_mac_valid(const char *m)
{
    unsigned v[6];
    char tail;

    return strlen(m) == 17 &&
           sscanf(m, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                  &tail) == 6;
}

static void sim_console(const sim_dom *d, const char *event)
{
    FILE *f;

    if (!d->console_log[0])
        return;
    f = fopen(d->console_log, "ae");
    if (!f)
        return;     /* best effort, like xenconsoled */
    fprintf(f, "[    0.000000] Linux version 6.1.0-xend-sim (simulated guest)\n");
    fprintf(f, "[    0.000000] Command line: %s\n", d->cmdline);
    fprintf(f, "[    0.010000] sim: domain %" PRIu32 " (%s) %s, %u vCPU(s), %" PRIu64 " MiB\n",
            d->domid, d->name, event, d->vcpus_online, d->target_kib / 1024);
    fprintf(f, "XQ-GUEST-HELLO\n");
    fclose(f);
}

/* ---- nics ---- */

/* Index of d's nic devid, -1 if none. */
static int sim_nic_index(const sim_dom *d, int devid)
{
    for (size_t i = 0; i < d->n_nics; i++)
        if (d->nics[i].devid == devid)
            return (int)i;
    return -1;
}

static int sim_nic_fill(xo_backend *b, const sim_dom *d, xo_nic *n, xo_error *err)
{
    if (n->devid < 0) {
        int next = 0;
        for (size_t i = 0; i < d->n_nics; i++)
            if (d->nics[i].devid >= next)
                next = d->nics[i].devid + 1;
        n->devid = next;
    } else if (sim_nic_index(d, n->devid) >= 0) {
        xo_error_set(err, XO_E_INVAL, "nic devid %d already in use", n->devid);
        return -1;
    }
    if (n->devid > 65535) {
        xo_error_set(err, XO_E_INVAL, "nic devid %d out of range", n->devid);
        return -1;
    }
    if (!n->mac[0])
        sim_gen_mac(d, n->devid, n->mac);
    else if (!sim_mac_valid(n->mac)) {
        xo_error_set(err, XO_E_INVAL, "bad MAC address '%s'", n->mac);
        return -1;
    }
    if (!n->bridge[0])
        snprintf(n->bridge, sizeof(n->bridge), "%s",
                 b->host.n_nics && b->host.nics[0].bridge[0] ? b->host.nics[0].bridge : "xenbr0");
    if (!n->mtu)
        n->mtu = 1500;
    return 0;
}

/* Index of d's disk vdev, -1 if none. */
static int sim_disk_index(const sim_dom *d, const char *vdev)
{
    for (size_t i = 0; i < d->n_disks; i++)
        if (strcmp(d->disks[i].vdev, vdev) == 0)
            return (int)i;
    return -1;
}

static int sim_disk_check(const sim_dom *d, const xo_disk *k, xo_error *err)
{
    if (!k->vdev[0] || memchr(k->vdev, '\0', sizeof(k->vdev)) == NULL) {
        xo_error_set(err, XO_E_INVAL, "disk without a virtual device name");
        return -1;
    }
    if (sim_disk_index(d, k->vdev) >= 0) {
        xo_error_set(err, XO_E_INVAL, "virtual device %s already in use", k->vdev);
        return -1;
    }
    if (d->n_disks >= SIM_MAX_DISKS) {
        xo_error_set(err, XO_E_INVAL, "too many disks (max %d)", SIM_MAX_DISKS);
        return -1;
    }
    return 0;
}

/* ---- building a domain from a config ---- */

static bool sim_name_taken(xo_backend *b, const char *name, uint32_t except)
{
    if (strcmp(name, "Domain-0") == 0)
        return true;
    for (size_t i = 0; i < b->n_doms; i++)
        if (b->doms[i]->domid != except && strcmp(b->doms[i]->name, name) == 0)
            return true;
    return false;
}

/* Validate cfg, check resources, allocate a domid: a new sim_dom (not yet inserted). */
static sim_dom *sim_dom_build(xo_backend *b, const xo_domain_config *cfg, xo_error *err)
{
    sim_dom *d = NULL;
    uint64_t target, max, free_kib;
    unsigned vmax, vstart;

    if (!cfg->name[0]) {
        xo_error_set(err, XO_E_INVAL, "domain name is empty");
        goto fail;
    }
    if (sim_name_taken(b, cfg->name, 0)) {
        xo_error_set(err, XO_E_INVAL, "domain name '%s' already in use", cfg->name);
        goto fail;
    }
    if (cfg->uuid[0]) {
        if (!sim_uuid_valid(cfg->uuid)) {
            xo_error_set(err, XO_E_INVAL, "bad uuid '%s'", cfg->uuid);
            goto fail;
        }
        /* Like Xen, a uuid may be shared (rename-restart keeps the crashed
         * domain and starts a new one with the same uuid). */
    }
    if ((unsigned)cfg->type > XO_DOM_HVM) {
        xo_error_set(err, XO_E_INVAL, "bad domain type %d", (int)cfg->type);
        goto fail;
    }
    target = cfg->memory_target_kib ? cfg->memory_target_kib : cfg->memory_static_max_kib;
    max = cfg->memory_static_max_kib ? cfg->memory_static_max_kib : target;
    if (target == 0) {
        xo_error_set(err, XO_E_INVAL, "domain memory is zero");
        goto fail;
    }
    if (target > max) {
        xo_error_set(err, XO_E_INVAL, "memory target %" PRIu64 " KiB above maximum %" PRIu64 " KiB",
                     target, max);
        goto fail;
    }
    vmax = cfg->vcpus_max ? cfg->vcpus_max : 1;
    vstart = cfg->vcpus_at_startup ? cfg->vcpus_at_startup : vmax;
    if (vstart > vmax) {
        xo_error_set(err, XO_E_INVAL, "vcpus_at_startup %u above vcpus_max %u", vstart, vmax);
        goto fail;
    }
    if (vmax > b->host.cpus) {
        xo_error_set(err, XO_E_NOCPU, "needs %u vCPUs, host has %u CPUs", vmax, b->host.cpus);
        goto fail;
    }
    free_kib = sim_free_kib(b);
    if (target > free_kib) {
        xo_error_set(err, XO_E_NOMEM, "needs %" PRIu64 " MiB, %" PRIu64 " MiB free",
                     (target + 1023) / 1024, free_kib / 1024);
        goto fail;
    }
    if (cfg->n_disks > SIM_MAX_DISKS || cfg->n_nics > SIM_MAX_NICS) {
        xo_error_set(err, XO_E_INVAL, "too many devices");
        goto fail;
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        goto fail;
    }
    if (cfg->uuid[0])
        snprintf(d->uuid, sizeof(d->uuid), "%s", cfg->uuid);
    else
        sim_gen_uuid(d->uuid);
    snprintf(d->name, sizeof(d->name), "%s", cfg->name);
    d->type = cfg->type;
    d->target_kib = target;
    d->max_kib = max;
    d->vcpus_max = vmax;
    d->vcpus_online = vstart;
    d->weight = cfg->vcpu_weight ? cfg->vcpu_weight : 256;
    d->cap = cfg->vcpu_cap;
    snprintf(d->kernel, sizeof(d->kernel), "%s", cfg->kernel);
    snprintf(d->cmdline, sizeof(d->cmdline), "%s", cfg->cmdline);
    snprintf(d->console_log, sizeof(d->console_log), "%s", cfg->console_log);
    for (size_t i = 0; i < cfg->n_disks; i++) {
        if (sim_disk_check(d, &cfg->disks[i], err) < 0)
            goto fail;
        d->disks[d->n_disks++] = cfg->disks[i];
    }
    for (size_t i = 0; i < cfg->n_nics; i++) {
        xo_nic n = cfg->nics[i];
        if (sim_nic_fill(b, d, &n, err) < 0)
            goto fail;
        d->nics[d->n_nics++] = n;
    }
    d->start_time = time(NULL);
    if (sim_alloc_domid(b, &d->domid, err) < 0)
        goto fail;
    return d;

fail:
    free(d);
    return NULL;
}

/* Insert and persist a freshly built domain in the given state; frees d on failure. */
static int sim_dom_commit(xo_backend *b, sim_dom *d, bool paused, xo_error *err)
{
    d->state = XO_STATE_PAUSED;
    if (!paused)
        sim_set_state(d, XO_STATE_RUNNING);
    if (sim_persist(b, d, err) < 0)
        goto fail;
    if (sim_insert(b, d, err) < 0) {
        char path[XO_PATH_LEN + 32];
        sim_dom_path(b, d->domid, path, sizeof(path));
        unlink(path);
        goto fail;
    }
    return 0;
fail:
    free(d);
    return -1;
}

/* ---- shutdown timers ---- */

static void sim_apply_shutdown(xo_backend *b, sim_dom *d, xo_shutdown_reason why, sim_evq *q)
{
    xo_error ignored;

    sim_set_state(d, why == XO_SHUTDOWN_CRASH ? XO_STATE_CRASHED : XO_STATE_SHUTDOWN);
    d->reason = why;
    d->pending = XO_SHUTDOWN_NONE;
    if (sim_persist(b, d, &ignored) < 0)
        fprintf(stderr, "sim: %s\n", ignored.msg);
    sim_dmesg_add(b, "(XEN) sim: domain %" PRIu32 " shut down (%s)", d->domid,
                  sim_reason_name(why));
    sim_evq_add(q, XO_EV_DOMAIN_SHUTDOWN, d, why);
}

/* A guest acts on a pending shutdown request while it runs and responds. */
static bool sim_guest_will_act(const sim_dom *d)
{
    return d->pending != XO_SHUTDOWN_NONE && !d->unresponsive && d->state == XO_STATE_RUNNING;
}

static int sim_pending_fire_locked(xo_backend *b, void *arg, sim_evq *q, xo_error *err)
{
    sim_pending *p = arg;
    sim_dom *d;

    for (sim_pending **pp = &b->pending; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    d = sim_find(b, p->domid);
    /* A paused guest acts on the request once unpaused (re-armed there). */
    if (d && sim_guest_will_act(d))
        sim_apply_shutdown(b, d, d->pending, q);
    return 0;
}

static void sim_pending_fire(xloop_timer *t, void *arg)
{
    sim_pending *p = arg;
    xo_error ignored;

    sim_locked(p->b, sim_pending_fire_locked, p, &ignored);
    free(p);
}

/* Arrange for d's pending shutdown to complete after the delay. Lock held. */
static void sim_arm_shutdown(xo_backend *b, sim_dom *d, sim_evq *q)
{
    sim_pending *p;

    if (!b->loop) {
        sim_apply_shutdown(b, d, d->pending, q);
        return;
    }
    p = calloc(1, sizeof(*p));
    if (!p)
        goto now;
    p->b = b;
    p->domid = d->domid;
    p->next = b->pending;
    b->pending = p;
    p->timer = xloop_timer_add(b->loop, xloop_now_ms() + b->host.shutdown_delay_ms,
                               sim_pending_fire, p);
    if (!p->timer) {
        b->pending = p->next;
        free(p);
        goto now;
    }
    return;
now:
    sim_apply_shutdown(b, d, d->pending, q);
}

/* If d now acts on its pending request, arrange for it to.  Lock held. */
static void sim_guest_acts(xo_backend *b, sim_dom *d, sim_evq *q)
{
    if (sim_guest_will_act(d))
        sim_arm_shutdown(b, d, q);
}

/* ---- host description ---- */

static void sim_host_defaults(sim_host *h)
{
    memset(h, 0, sizeof(*h));
    h->cpus = 4;
    h->cpu_mhz = 2400;
    h->memory_mib = 8192;
    h->dom0_memory_mib = 1024;
    snprintf(h->hostname, sizeof(h->hostname), "xend-sim");
    snprintf(h->version, sizeof(h->version), "4.17.0-sim");
    h->shutdown_delay_ms = 20;
}

static char *sim_trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static bool sim_parse_num(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
    char *end;
    unsigned long long x;

    if (!isdigit((unsigned char)*s))
        return false;
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno || *end || x < min || x > max)
        return false;
    *v = x;
    return true;
}

static int sim_host_load(sim_host *h, const char *path, xo_error *err)
{
    FILE *f = fopen(path, "re");
    char line[1024];
    int lineno = 0, rc = -1;
    bool nics_given = false;

    if (!f) {
        xo_error_set(err, XO_E_INVAL, "sim host description %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *key, *val, *eq;
        uint64_t v;
        bool ok = true;

        lineno++;
        key = sim_trim(line);
        if (!*key || *key == '#')
            continue;
        eq = strchr(key, '=');
        if (!eq) {
            xo_error_set(err, XO_E_INVAL, "%s:%d: expected key = value", path, lineno);
            goto out;
        }
        *eq = '\0';
        key = sim_trim(key);
        val = sim_trim(eq + 1);
        if (strcmp(key, "cpus") == 0) {
            ok = sim_parse_num(val, 1, 4096, &v);
            h->cpus = (unsigned)v;
        } else if (strcmp(key, "cpu_mhz") == 0) {
            ok = sim_parse_num(val, 1, 100000, &v);
            h->cpu_mhz = (unsigned)v;
        } else if (strcmp(key, "memory_mib") == 0) {
            ok = sim_parse_num(val, 64, UINT64_C(1) << 32, &v);
            h->memory_mib = v;
        } else if (strcmp(key, "dom0_memory_mib") == 0) {
            ok = sim_parse_num(val, 0, UINT64_C(1) << 32, &v);
            h->dom0_memory_mib = v;
        } else if (strcmp(key, "shutdown_delay_ms") == 0) {
            ok = sim_parse_num(val, 0, 3600000, &v);
            h->shutdown_delay_ms = (unsigned)v;
        } else if (strcmp(key, "hostname") == 0) {
            ok = *val && strlen(val) < sizeof(h->hostname);
            snprintf(h->hostname, sizeof(h->hostname), "%s", val);
        } else if (strcmp(key, "version") == 0) {
            ok = *val && strlen(val) < sizeof(h->version);
            snprintf(h->version, sizeof(h->version), "%s", val);
        } else if (strcmp(key, "nic") == 0) {
            xo_nic_info *n;
            char dev[32], mac[18], bridge[64] = "";
            unsigned mtu;
            int got;
            if (!nics_given) {
                h->n_nics = 0;
                nics_given = true;
            }
            if (h->n_nics >= SIM_MAX_HOST_NICS) {
                xo_error_set(err, XO_E_INVAL, "%s:%d: too many nics", path, lineno);
                goto out;
            }
            got = sscanf(val, "%31s %17s %u %63s", dev, mac, &mtu, bridge);
            ok = got >= 3 && sim_mac_valid(mac) && mtu >= 68 && mtu <= 65535;
            if (ok) {
                n = &h->nics[h->n_nics++];
                snprintf(n->device, sizeof(n->device), "%s", dev);
                snprintf(n->mac, sizeof(n->mac), "%s", mac);
                n->mtu = mtu;
                snprintf(n->bridge, sizeof(n->bridge), "%s", got == 4 ? bridge : "");
            }
        } else {
            xo_error_set(err, XO_E_INVAL, "%s:%d: unknown key '%s'", path, lineno, key);
            goto out;
        }
        if (!ok) {
            xo_error_set(err, XO_E_INVAL, "%s:%d: bad value for %s", path, lineno, key);
            goto out;
        }
    }
    if (h->dom0_memory_mib >= h->memory_mib) {
        xo_error_set(err, XO_E_INVAL, "%s: dom0_memory_mib must be below memory_mib", path);
        goto out;
    }
    rc = 0;
out:
    fclose(f);
    return rc;
}

static void sim_host_default_nic(sim_host *h)
{
    xo_nic_info *n = &h->nics[0];

    snprintf(n->device, sizeof(n->device), "eth0");
    snprintf(n->mac, sizeof(n->mac), "00:16:3e:00:00:01");
    n->mtu = 1500;
    snprintf(n->bridge, sizeof(n->bridge), "xenbr0");
    h->n_nics = 1;
}

static void sim_boot_log(xo_backend *b)
{
    const sim_host *h = &b->host;

    sim_dmesg_add(b, "(XEN) Xen version %s (xend sim backend)", h->version);
    sim_dmesg_add(b, "(XEN) Command line: dom0_mem=%" PRIu64 "M", h->dom0_memory_mib);
    sim_dmesg_add(b, "(XEN) System RAM: %" PRIu64 "MB", h->memory_mib);
    sim_dmesg_add(b, "(XEN) Brought up %u CPUs", h->cpus);
    sim_dmesg_add(b, "(XEN) Using scheduler: SMP Credit Scheduler rev2 (credit2)");
    sim_dmesg_add(b, "(XEN) *** LOADING DOMAIN 0 ***");
    sim_dmesg_add(b, "(XEN) Dom0 has maximum %u VCPUs", h->cpus);
    sim_dmesg_add(b, "(XEN) Scrubbing Free RAM: done.");
}

/* ---- loading state ---- */

static int sim_load_domains(xo_backend *b, xo_error *err)
{
    DIR *dir = opendir(b->dom_dir);
    struct dirent *de;
    char path[XO_PATH_LEN + 300], text_err[128];
    int rc = -1;

    if (!dir) {
        xo_error_set(err, XO_E_FAIL, "opening %s: %s", b->dom_dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(dir))) {
        size_t len = strlen(de->d_name);
        char *text;
        sim_dom *d;

        if (len < 5 || strcmp(de->d_name + len - 4, ".dom") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", b->dom_dir, de->d_name);
        text = sim_read_file(path, 1 << 20, NULL);
        d = calloc(1, sizeof(*d));
        if (!text || !d || sim_dom_parse(text, d, text_err, sizeof(text_err)) < 0 ||
            sim_find(b, d->domid)) {
            char bad[XO_PATH_LEN + 310];
            fprintf(stderr, "sim: %s: %s; moved aside\n", path,
                    !text ? strerror(errno) : !d ? "out of memory" : text_err);
            snprintf(bad, sizeof(bad), "%s.bad", path);
            rename(path, bad);
            free(text);
            free(d);
            continue;
        }
        free(text);
        if (sim_insert(b, d, err) < 0) {
            free(d);
            goto out;
        }
        if (d->domid >= b->next_domid)
            b->next_domid = d->domid + 1;
    }
    rc = 0;
out:
    closedir(dir);
    return rc;
}

/* ---- control requests (xend-simctl) ---- */

static void sim_ctl_reply(const char *res_path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sim_ctl_reply(const char *res_path, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (sim_write_atomic(res_path, text, strlen(text)) < 0)
        fprintf(stderr, "sim: writing %s: %s\n", res_path, strerror(errno));
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
        sim_ctl_reply(res_path, "error empty request\n");
        return 0;
    }
    if (strcmp(cmd, "create-foreign") == 0) {
        xo_domain_config cfg;
        if (!a1 || !a2 || !sim_parse_num(a2, 1, UINT64_C(1) << 32, &v)) {
            sim_ctl_reply(res_path, "error usage: create-foreign NAME MEMORY_MIB\n");
            return 0;
        }
        memset(&cfg, 0, sizeof(cfg));
        snprintf(cfg.name, sizeof(cfg.name), "%s", a1);
        cfg.memory_static_max_kib = cfg.memory_target_kib = v * 1024;
        cfg.vcpus_max = 1;
        cfg.type = XO_DOM_PV;
        d = sim_dom_build(b, &cfg, &err);
        if (!d) {
            sim_ctl_reply(res_path, "error %s\n", err.msg);
            return 0;
        }
        d->foreign = true;
        if (sim_dom_commit(b, d, false, &err) < 0) {
            sim_ctl_reply(res_path, "error %s\n", err.msg);
            return 0;
        }
        sim_dmesg_add(b, "(XEN) sim: domain %" PRIu32 " created by another toolstack", d->domid);
        sim_evq_add(q, XO_EV_DOMAIN_NEW, d, XO_SHUTDOWN_NONE);
        sim_ctl_reply(res_path, "ok %" PRIu32 " %s\n", d->domid, d->uuid);
        return 0;
    }
    if (!a1 || !sim_parse_num(a1, 0, UINT32_MAX, &v)) {
        sim_ctl_reply(res_path, "error usage: %s DOMID\n", cmd);
        return 0;
    }
    d = sim_find_err(b, (uint32_t)v, &err);
    if (!d) {
        sim_ctl_reply(res_path, "error %s\n", err.msg);
        return 0;
    }
    if (strcmp(cmd, "poweroff") == 0 || strcmp(cmd, "reboot") == 0 ||
        strcmp(cmd, "crash") == 0 || strcmp(cmd, "watchdog") == 0) {
        xo_shutdown_reason why = cmd[0] == 'p' ? XO_SHUTDOWN_POWEROFF
                               : cmd[0] == 'r' ? XO_SHUTDOWN_REBOOT
                               : cmd[0] == 'c' ? XO_SHUTDOWN_CRASH : XO_SHUTDOWN_WATCHDOG;
        if (sim_check_state(d, SIM_IN(XO_STATE_RUNNING), "not running", &err) < 0) {
            sim_ctl_reply(res_path, "error %s\n", err.msg);
            return 0;
        }
        sim_apply_shutdown(b, d, why, q);
        sim_ctl_reply(res_path, "ok\n");
    } else if (strcmp(cmd, "unresponsive") == 0) {
        if (!a2 || (strcmp(a2, "on") != 0 && strcmp(a2, "off") != 0)) {
            sim_ctl_reply(res_path, "error usage: unresponsive DOMID on|off\n");
            return 0;
        }
        d->unresponsive = strcmp(a2, "on") == 0;
        if (sim_persist(b, d, &err) < 0) {
            sim_ctl_reply(res_path, "error %s\n", err.msg);
            return 0;
        }
        /* A guest that wakes up acts on a request it ignored. */
        sim_guest_acts(b, d, q);
        sim_ctl_reply(res_path, "ok\n");
    } else if (strcmp(cmd, "destroy") == 0) {
        sim_dom_gone(b, d, XO_SHUTDOWN_NONE, "destroyed by another toolstack", q);
        sim_ctl_reply(res_path, "ok\n");
    } else {
        sim_ctl_reply(res_path, "error unknown command '%s'\n", cmd);
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
            sim_ctl_reply(res, "error unreadable request: %s\n", strerror(errno));
        unlink(path);
        free(req.text);
        free(names[i]);
    }
    free(names);
}

static void sim_ctl_readable(xloop_fd *h, int fd, short revents, void *arg)
{
    xo_backend *b = arg;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    sim_ctl_scan(b);
}

static void sim_ctl_initial_scan(void *arg)
{
    sim_ctl_scan(arg);
}

/* ---- open / close ---- */

/* Re-arm the pending shutdowns found on disk (loop present: none is immediate). */
static int sim_rearm_locked(xo_backend *b, void *arg, sim_evq *q, xo_error *err)
{
    for (size_t i = 0; i < b->n_doms; i++)
        sim_guest_acts(b, b->doms[i], q);
    return 0;
}

static void sim_free(xo_backend *b)
{
    for (size_t i = 0; i < b->n_doms; i++)
        free(b->doms[i]);
    free(b->doms);
    free(b->dmesg);
    if (b->ino_fd >= 0)
        close(b->ino_fd);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static xo_backend *sim_open(const xo_options *opts, xo_error *err)
{
    xo_backend *b = calloc(1, sizeof(*b));
    char path[XO_PATH_LEN + 32];
    char *text;

    if (!b) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&b->lock, NULL);
    b->ino_fd = -1;
    b->next_domid = 1;
    b->loop = opts->loop;
    b->on_event = opts->on_event;
    b->opaque = opts->opaque;
    b->opened_ms = xloop_now_ms();

    sim_host_defaults(&b->host);
    if (opts->sim_config && opts->sim_config[0]) {
        if (sim_host_load(&b->host, opts->sim_config, err) < 0)
            goto fail;
    }
    if (b->host.n_nics == 0)
        sim_host_default_nic(&b->host);

    if (opts->sim_state_dir && opts->sim_state_dir[0]) {
        if (snprintf(b->dir, sizeof(b->dir), "%s", opts->sim_state_dir) >= (int)sizeof(b->dir))
            goto toolong;
    } else if (opts->state_dir && opts->state_dir[0]) {
        if (snprintf(b->dir, sizeof(b->dir), "%s/sim", opts->state_dir) >= (int)sizeof(b->dir))
            goto toolong;
    } else {
        xo_error_set(err, XO_E_INVAL, "sim: no state directory given");
        goto fail;
    }
    if (snprintf(b->dom_dir, sizeof(b->dom_dir), "%s/" SIM_DOMAINS_SUBDIR, b->dir) >=
            (int)sizeof(b->dom_dir) ||
        snprintf(b->ctl_dir, sizeof(b->ctl_dir), "%s/" SIM_CTL_SUBDIR, b->dir) >=
            (int)sizeof(b->ctl_dir))
        goto toolong;
    if (sim_mkdirs(b->dom_dir) < 0 || sim_mkdirs(b->ctl_dir) < 0) {
        xo_error_set(err, XO_E_FAIL, "creating %s: %s", b->dir, strerror(errno));
        goto fail;
    }
    snprintf(path, sizeof(path), "%s/%s", b->dir, SIM_NEXT_DOMID_FILE);
    text = sim_read_file(path, 64, NULL);
    if (text) {
        uint64_t v;
        if (sim_parse_num(sim_trim(text), 1, 0x7FF0, &v))
            b->next_domid = (uint32_t)v;
        free(text);
    }
    if (sim_load_domains(b, err) < 0)
        goto fail;
    sim_boot_log(b);

    if (b->loop) {
        b->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (b->ino_fd < 0 ||
            inotify_add_watch(b->ino_fd, b->ctl_dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
            xo_error_set(err, XO_E_FAIL, "inotify on %s: %s", b->ctl_dir, strerror(errno));
            goto fail;
        }
        b->ino_h = xloop_fd_add(b->loop, b->ino_fd, POLLIN, sim_ctl_readable, b);
        if (!b->ino_h) {
            xo_error_set(err, XO_E_FAIL, "watching %s: %s", b->ctl_dir, strerror(errno));
            goto fail;
        }
        /* Shutdowns requested before a restart complete now. */
        sim_locked(b, sim_rearm_locked, NULL, err);
        xloop_call(b->loop, sim_ctl_initial_scan, b);
    }
    return b;

toolong:
    xo_error_set(err, XO_E_INVAL, "sim: state directory path too long");
fail:
    sim_free(b);
    return NULL;
}

static void sim_close_on_loop(void *arg)
{
    xo_backend *b = arg;
    sim_pending *p;

    pthread_mutex_lock(&b->lock);
    p = b->pending;
    b->pending = NULL;
    pthread_mutex_unlock(&b->lock);
    while (p) {
        sim_pending *next = p->next;
        xloop_timer_remove(p->timer);   /* armed: we are the loop thread */
        free(p);
        p = next;
    }
    xloop_fd_remove(b->ino_h);
    b->ino_h = NULL;
}

static void sim_close(xo_backend *b)
{
    if (!b)
        return;
    if (b->loop)
        xloop_call_sync(b->loop, sim_close_on_loop, b);
    sim_free(b);
}

/* ---- host ops ---- */

static int sim_host_info(xo_backend *b, xo_host_info *info, xo_error *err)
{
    memset(info, 0, sizeof(*info));
    pthread_mutex_lock(&b->lock);
    snprintf(info->hostname, sizeof(info->hostname), "%s", b->host.hostname);
    snprintf(info->hypervisor, sizeof(info->hypervisor), "sim");
    snprintf(info->version, sizeof(info->version), "%s", b->host.version);
    snprintf(info->capabilities, sizeof(info->capabilities),
             "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64");
    snprintf(info->sched_policy, sizeof(info->sched_policy), "credit2");
    info->total_memory = b->host.memory_mib * 1024 * 1024;
    info->free_memory = sim_free_kib(b) * 1024;
    info->nr_cpus = b->host.cpus;
    info->nr_nodes = 1;
    info->cores_per_socket = b->host.cpus;
    info->threads_per_core = 1;
    info->cpu_mhz = b->host.cpu_mhz;
    pthread_mutex_unlock(&b->lock);
    return 0;
}

static int sim_host_cpus(xo_backend *b, xo_cpu_info **cpus_r, size_t *n_r, xo_error *err)
{
    xo_cpu_info *c;
    unsigned n;
    unsigned *load;
    int rc = -1;

    pthread_mutex_lock(&b->lock);
    n = b->host.cpus;
    c = calloc(n, sizeof(*c));
    load = calloc(n, sizeof(*load));
    if (!c || !load) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        free(c);
        goto out;
    }
    /* vCPU v of domain d runs on pCPU (d + v) % n, each a quarter busy. */
    for (size_t i = 0; i < b->n_doms; i++) {
        const sim_dom *d = b->doms[i];
        if (d->state != XO_STATE_RUNNING)
            continue;
        for (unsigned v = 0; v < d->vcpus_online; v++)
            load[(d->domid + v) % n]++;
    }
    for (unsigned i = 0; i < n; i++) {
        c[i].number = i;
        snprintf(c[i].vendor, sizeof(c[i].vendor), "GenuineIntel");
        snprintf(c[i].modelname, sizeof(c[i].modelname), "Simulated Xeon CPU @ %u.%02uGHz",
                 b->host.cpu_mhz / 1000, (b->host.cpu_mhz % 1000) / 10);
        snprintf(c[i].flags, sizeof(c[i].flags),
                 "fpu de tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat clflush mmx fxsr "
                 "sse sse2 ht syscall nx lm constant_tsc pni vmx ssse3 sse4_1 sse4_2 popcnt "
                 "aes hypervisor");
        snprintf(c[i].features, sizeof(c[i].features), "bfebfbff-77fefbff-2c100800-00000121");
        c[i].speed_mhz = b->host.cpu_mhz;
        c[i].family = 6;
        c[i].model = 85;
        c[i].stepping = 4;
        c[i].utilisation = load[i] >= 4 ? 1.0 : load[i] * 0.25;
    }
    *cpus_r = c;
    *n_r = n;
    rc = 0;
out:
    pthread_mutex_unlock(&b->lock);
    free(load);
    return rc;
}

static int sim_host_nics(xo_backend *b, xo_nic_info **nics_r, size_t *n_r, xo_error *err)
{
    xo_nic_info *n;

    pthread_mutex_lock(&b->lock);
    n = calloc(b->host.n_nics ? b->host.n_nics : 1, sizeof(*n));
    if (!n) {
        pthread_mutex_unlock(&b->lock);
        xo_error_set(err, XO_E_FAIL, "out of memory");
        return -1;
    }
    memcpy(n, b->host.nics, b->host.n_nics * sizeof(*n));
    *n_r = b->host.n_nics;
    *nics_r = n;
    pthread_mutex_unlock(&b->lock);
    return 0;
}

static int sim_host_dmesg(xo_backend *b, char **text_r, bool clear, xo_error *err)
{
    char *t;

    pthread_mutex_lock(&b->lock);
    t = strdup(b->dmesg ? b->dmesg : "");
    if (t && clear) {
        free(b->dmesg);
        b->dmesg = NULL;
        b->dmesg_len = 0;
    }
    pthread_mutex_unlock(&b->lock);
    if (!t) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        return -1;
    }
    *text_r = t;
    return 0;
}

static int sim_host_send_debug_keys(xo_backend *b, const char *keys, xo_error *err)
{
    if (!keys || !*keys) {
        xo_error_set(err, XO_E_INVAL, "no debug keys given");
        return -1;
    }
    pthread_mutex_lock(&b->lock);
    for (const char *k = keys; *k; k++) {
        if (isprint((unsigned char)*k))
            sim_dmesg_add(b, "(XEN) '%c' pressed -> simulated debug key handler", *k);
    }
    pthread_mutex_unlock(&b->lock);
    return 0;
}

/* ---- domain queries ---- */

static void sim_fill_info(const sim_dom *d, xo_dominfo *i, int64_t now)
{
    memset(i, 0, sizeof(*i));
    i->domid = d->domid;
    snprintf(i->uuid, sizeof(i->uuid), "%s", d->uuid);
    snprintf(i->name, sizeof(i->name), "%s", d->name);
    i->type = d->type;
    i->state = d->state;
    i->reason = d->reason;
    i->memory_kib = d->target_kib;
    i->target_kib = d->target_kib;
    i->max_memory_kib = d->max_kib;
    i->vcpus_online = d->vcpus_online;
    i->vcpus_max = d->vcpus_max;
    i->cpu_time_ns = sim_cpu_time(d, now);
    i->start_time = d->start_time;
}

static void sim_fill_dom0(xo_backend *b, xo_dominfo *i)
{
    memset(i, 0, sizeof(*i));
    i->domid = 0;
    snprintf(i->uuid, sizeof(i->uuid), "00000000-0000-0000-0000-000000000000");
    snprintf(i->name, sizeof(i->name), "Domain-0");
    i->type = XO_DOM_PV;
    i->state = XO_STATE_RUNNING;
    i->memory_kib = i->target_kib = i->max_memory_kib = b->host.dom0_memory_mib * 1024;
    i->vcpus_online = i->vcpus_max = b->host.cpus;
    i->cpu_time_ns = (uint64_t)(xloop_now_ms() - b->opened_ms) * 1000000u / 10 + 1000000000u;
    i->start_time = time(NULL) - (xloop_now_ms() - b->opened_ms) / 1000;
}

static int sim_domain_list(xo_backend *b, xo_dominfo **doms_r, size_t *n_r, xo_error *err)
{
    xo_dominfo *l;
    int64_t now = sim_wall_ms();

    pthread_mutex_lock(&b->lock);
    l = calloc(b->n_doms + 1, sizeof(*l));
    if (!l) {
        pthread_mutex_unlock(&b->lock);
        xo_error_set(err, XO_E_FAIL, "out of memory");
        return -1;
    }
    sim_fill_dom0(b, &l[0]);
    for (size_t i = 0; i < b->n_doms; i++)
        sim_fill_info(b->doms[i], &l[i + 1], now);
    *n_r = b->n_doms + 1;
    pthread_mutex_unlock(&b->lock);
    *doms_r = l;
    return 0;
}

static int sim_domain_info(xo_backend *b, uint32_t domid, xo_dominfo *info, xo_error *err)
{
    sim_dom *d;
    int rc = -1;

    pthread_mutex_lock(&b->lock);
    if (domid == 0) {
        sim_fill_dom0(b, info);
        rc = 0;
    } else if ((d = sim_find_err(b, domid, err))) {
        sim_fill_info(d, info, sim_wall_ms());
        rc = 0;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int sim_domain_vcpus(xo_backend *b, uint32_t domid, xo_vcpu_info **v_r, size_t *n_r,
                            xo_error *err)
{
    xo_vcpu_info *v = NULL;
    xo_dominfo di;
    bool running;
    int rc = -1;

    pthread_mutex_lock(&b->lock);
    if (domid == 0) {
        sim_fill_dom0(b, &di);
        running = true;
    } else {
        sim_dom *d = sim_find_err(b, domid, err);
        if (!d)
            goto out;
        sim_fill_info(d, &di, sim_wall_ms());
        running = d->state == XO_STATE_RUNNING;
    }
    v = calloc(di.vcpus_max, sizeof(*v));
    if (!v) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < di.vcpus_max; i++) {
        v[i].id = i;
        v[i].online = i < di.vcpus_online;
        v[i].cpu = v[i].online && running ? (int)((domid + i) % b->host.cpus) : -1;
        v[i].cpu_time_ns = v[i].online ? di.cpu_time_ns / di.vcpus_online : 0;
    }
    *v_r = v;
    *n_r = di.vcpus_max;
    rc = 0;
out:
    pthread_mutex_unlock(&b->lock);
    return rc;
}

/* ---- lifecycle ---- */

/* A domain to create: from scratch, or (restore) from a saved image. */
typedef struct sim_new {
    const xo_domain_config *cfg;
    bool paused;
    const sim_dom *image;           /* restore: the saved record; NULL: create */
    const char *path;               /* restore: where the image came from */
    uint32_t *domid_r;
} sim_new;

static int sim_new_locked(xo_backend *b, void *arg, sim_evq *q, xo_error *err)
{
    const sim_new *n = arg;
    sim_dom *d = sim_dom_build(b, n->cfg, err);

    if (!d)
        return -1;
    if (n->image) {
        /* The guest resumes where it was: its CPU time and online vCPUs. */
        d->cpu_time_ns = n->image->cpu_time_ns;
        if (n->image->vcpus_online >= 1 && n->image->vcpus_online <= d->vcpus_max)
            d->vcpus_online = n->image->vcpus_online;
    }
    if (sim_dom_commit(b, d, n->paused, err) < 0)
        return -1;
    if (n->image) {
        sim_dmesg_add(b, "(XEN) sim: domain %" PRIu32 " (%s) restored from %s", d->domid,
                      d->name, n->path);
    } else {
        sim_dmesg_add(b, "(XEN) sim: domain %" PRIu32 " (%s) created", d->domid, d->name);
        if (!n->paused)
            sim_console(d, "booting");
    }
    *n->domid_r = d->domid;
    return 0;
}

static int sim_domain_create(xo_backend *b, const xo_domain_config *cfg, bool paused,
                             uint32_t *domid_r, xo_error *err)
{
    sim_new n = { .cfg = cfg, .paused = paused, .domid_r = domid_r };

    return sim_locked(b, sim_new_locked, &n, err);
}

static int sim_domain_restore(xo_backend *b, const xo_domain_config *cfg, const char *path,
                              bool paused, uint32_t *domid_r, xo_error *err)
{
    sim_dom *img = calloc(1, sizeof(*img));
    sim_new n = { .cfg = cfg, .paused = paused, .image = img, .path = path, .domid_r = domid_r };
    int rc = -1;

    if (!img) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        return -1;
    }
    if (sim_image_read(path, SIM_IMAGE_MAGIC, img, err) == 0)
        rc = sim_locked(b, sim_new_locked, &n, err);
    free(img);
    return rc;
}

static int sim_pause_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    sim_set_state(d, XO_STATE_PAUSED);
    return sim_changed(b, d, q, err);
}

static int sim_domain_pause(xo_backend *b, uint32_t domid, xo_error *err)
{
    static const sim_dom_op op = { SIM_IN(XO_STATE_RUNNING), "cannot pause", sim_pause_body };

    return sim_on_dom(b, domid, &op, NULL, err);
}

static int sim_unpause_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    sim_set_state(d, XO_STATE_RUNNING);
    if (sim_changed(b, d, q, err) < 0)
        return -1;
    sim_console(d, "running");
    sim_guest_acts(b, d, q);        /* a request made while paused */
    return 0;
}

static int sim_domain_unpause(xo_backend *b, uint32_t domid, xo_error *err)
{
    static const sim_dom_op op = { SIM_IN(XO_STATE_PAUSED), "cannot unpause", sim_unpause_body };

    return sim_on_dom(b, domid, &op, NULL, err);
}

static int sim_shutdown_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    xo_shutdown_reason how = *(const xo_shutdown_reason *)arg;

    if (how != XO_SHUTDOWN_POWEROFF && how != XO_SHUTDOWN_REBOOT) {
        xo_error_set(err, XO_E_INVAL, "shutdown reason must be poweroff or reboot");
        return -1;
    }
    if (sim_check_state(d, SIM_LIVE, NULL, err) < 0)
        return -1;
    d->pending = how;
    if (sim_persist(b, d, err) < 0)
        return -1;
    sim_dmesg_add(b, "(XEN) sim: domain %" PRIu32 " asked to %s", d->domid, sim_reason_name(how));
    /* Ignored by an unresponsive guest; a paused one acts once unpaused. */
    sim_guest_acts(b, d, q);
    return 0;
}

static int sim_domain_shutdown(xo_backend *b, uint32_t domid, xo_shutdown_reason how,
                               xo_error *err)
{
    static const sim_dom_op op = { .body = sim_shutdown_body };

    return sim_on_dom(b, domid, &op, &how, err);
}

static int sim_destroy_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    sim_dom_gone(b, d, d->reason, "destroyed", q);
    return 0;
}

static int sim_domain_destroy(xo_backend *b, uint32_t domid, xo_error *err)
{
    static const sim_dom_op op = { .body = sim_destroy_body };

    return sim_on_dom(b, domid, &op, NULL, err);
}

static int sim_suspend_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    const char *path = arg;
    char how[XO_PATH_LEN + 32];

    sim_set_state(d, d->state);     /* fold the running time into cpu_time_ns */
    if (sim_image_write(path, SIM_IMAGE_MAGIC, d, err) < 0)
        return -1;
    snprintf(how, sizeof(how), "suspended to %s", path);
    sim_dom_gone(b, d, XO_SHUTDOWN_SUSPEND, how, q);
    return 0;
}

static int sim_domain_suspend(xo_backend *b, uint32_t domid, const char *path, xo_error *err)
{
    static const sim_dom_op op = { SIM_LIVE, "cannot suspend", sim_suspend_body };

    return sim_on_dom(b, domid, &op, (void *)path, err);
}

static int sim_set_memory_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    uint64_t target_kib = *(const uint64_t *)arg;

    if (target_kib == 0 || target_kib > d->max_kib) {
        xo_error_set(err, XO_E_INVAL, "memory target %" PRIu64 " KiB outside 1..%" PRIu64 " KiB",
                     target_kib, d->max_kib);
        return -1;
    }
    if (target_kib > d->target_kib && target_kib - d->target_kib > sim_free_kib(b)) {
        xo_error_set(err, XO_E_NOMEM, "needs %" PRIu64 " MiB more, %" PRIu64 " MiB free",
                     (target_kib - d->target_kib + 1023) / 1024, sim_free_kib(b) / 1024);
        return -1;
    }
    d->target_kib = target_kib;
    return sim_changed(b, d, q, err);
}

static int sim_domain_set_memory(xo_backend *b, uint32_t domid, uint64_t target_kib,
                                 xo_error *err)
{
    static const sim_dom_op op = { .body = sim_set_memory_body };

    return sim_on_dom(b, domid, &op, &target_kib, err);
}

static int sim_set_vcpus_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    unsigned online = *(const unsigned *)arg;

    if (online == 0 || online > d->vcpus_max) {
        xo_error_set(err, XO_E_INVAL, "vCPUs online must be 1..%u", d->vcpus_max);
        return -1;
    }
    sim_set_state(d, d->state);     /* account time at the old count */
    d->vcpus_online = online;
    return sim_changed(b, d, q, err);
}

static int sim_domain_set_vcpus(xo_backend *b, uint32_t domid, unsigned online, xo_error *err)
{
    static const sim_dom_op op = { .body = sim_set_vcpus_body };

    return sim_on_dom(b, domid, &op, &online, err);
}

typedef struct sim_sched { unsigned weight, cap; } sim_sched;

static int sim_sched_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    const sim_sched *s = arg;

    if (s->weight > 65535 || s->cap > 100 * d->vcpus_max) {
        xo_error_set(err, XO_E_INVAL, "weight must be 1..65535 and cap 0..%u", 100 * d->vcpus_max);
        return -1;
    }
    if (s->weight)
        d->weight = s->weight;
    d->cap = s->cap;
    return sim_persist(b, d, err);
}

static int sim_domain_sched_params(xo_backend *b, uint32_t domid, unsigned weight, unsigned cap,
                                   xo_error *err)
{
    static const sim_dom_op op = { .body = sim_sched_body };
    sim_sched s = { .weight = weight, .cap = cap };

    return sim_on_dom(b, domid, &op, &s, err);
}

static int sim_sysrq_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    char key = *(const char *)arg;

    if (!isalnum((unsigned char)key)) {
        xo_error_set(err, XO_E_INVAL, "bad sysrq key");
        return -1;
    }
    if (sim_check_state(d, SIM_IN(XO_STATE_RUNNING), NULL, err) < 0)
        return -1;
    if (d->console_log[0]) {
        FILE *f = fopen(d->console_log, "ae");
        if (f) {
            fprintf(f, "[  100.000000] sysrq: SysRq : %c\n", key);
            fclose(f);
        }
    }
    return 0;
}

static int sim_domain_sysrq(xo_backend *b, uint32_t domid, char key, xo_error *err)
{
    static const sim_dom_op op = { .body = sim_sysrq_body };

    return sim_on_dom(b, domid, &op, &key, err);
}

static int sim_trigger_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    static const char *const known[] = { "power", "sleep", "nmi", "init", "reset", "s3resume" };
    const char *trigger = arg;
    bool ok = false;

    for (size_t i = 0; trigger && i < sizeof(known) / sizeof(known[0]); i++)
        ok = ok || strcmp(trigger, known[i]) == 0;
    if (!ok) {
        xo_error_set(err, XO_E_INVAL, "unknown trigger '%s'", trigger ? trigger : "");
        return -1;
    }
    if (sim_check_state(d, SIM_IN(XO_STATE_RUNNING), NULL, err) < 0)
        return -1;
    /* The ACPI power button asks a cooperative guest to power off. */
    if (strcmp(trigger, "power") == 0 && d->pending == XO_SHUTDOWN_NONE) {
        d->pending = XO_SHUTDOWN_POWEROFF;
        if (sim_persist(b, d, err) < 0)
            return -1;
        sim_guest_acts(b, d, q);
    }
    return 0;
}

static int sim_domain_trigger(xo_backend *b, uint32_t domid, const char *trigger, xo_error *err)
{
    static const sim_dom_op op = { .body = sim_trigger_body };

    return sim_on_dom(b, domid, &op, (void *)trigger, err);
}

static int sim_coredump_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    return sim_image_write(arg, SIM_CORE_MAGIC, d, err);
}

static int sim_domain_coredump(xo_backend *b, uint32_t domid, const char *path, xo_error *err)
{
    static const sim_dom_op op = { .body = sim_coredump_body };

    return sim_on_dom(b, domid, &op, (void *)path, err);
}

static int sim_rename_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    const char *name = arg;
    char old[XO_NAME_LEN];

    if (!name || !*name || strlen(name) >= sizeof(d->name)) {
        xo_error_set(err, XO_E_INVAL, "bad domain name");
        return -1;
    }
    if (sim_name_taken(b, name, d->domid)) {
        xo_error_set(err, XO_E_INVAL, "domain name '%s' already in use", name);
        return -1;
    }
    memcpy(old, d->name, sizeof(old));
    snprintf(d->name, sizeof(d->name), "%s", name);
    if (sim_persist(b, d, err) < 0) {
        memcpy(d->name, old, sizeof(old));
        return -1;
    }
    return 0;
}

static int sim_domain_rename(xo_backend *b, uint32_t domid, const char *name, xo_error *err)
{
    static const sim_dom_op op = { .body = sim_rename_body };

    return sim_on_dom(b, domid, &op, (void *)name, err);
}

/* ---- devices: only on a running or paused domain ---- */

static int sim_disk_add_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    const xo_disk *k = arg;

    if (sim_disk_check(d, k, err) < 0)
        return -1;
    d->disks[d->n_disks++] = *k;
    if (sim_persist(b, d, err) < 0) {
        d->n_disks--;
        return -1;
    }
    return 0;
}

static int sim_disk_add(xo_backend *b, uint32_t domid, const xo_disk *k, xo_error *err)
{
    static const sim_dom_op op = { .states = SIM_LIVE, .body = sim_disk_add_body };

    return sim_on_dom(b, domid, &op, (void *)k, err);
}

/* Index of d's disk vdev, or -1 with XO_E_INVAL. */
static int sim_disk_find(const sim_dom *d, const char *vdev, xo_error *err)
{
    int i = sim_disk_index(d, vdev);

    if (i < 0)
        xo_error_set(err, XO_E_INVAL, "domain %" PRIu32 " has no disk %s", d->domid, vdev);
    return i;
}

static int sim_disk_remove_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    int i = sim_disk_find(d, arg, err);

    if (i < 0)
        return -1;
    sim_array_del(d->disks, &d->n_disks, sizeof(d->disks[0]), (size_t)i);
    return sim_persist(b, d, err);
}

static int sim_disk_remove(xo_backend *b, uint32_t domid, const char *vdev, xo_error *err)
{
    static const sim_dom_op op = { .states = SIM_LIVE, .body = sim_disk_remove_body };

    return sim_on_dom(b, domid, &op, (void *)vdev, err);
}

static int sim_change_media_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    const xo_disk *k = arg;
    int i = sim_disk_find(d, k->vdev, err);
    xo_disk *cur;

    if (i < 0)
        return -1;
    cur = &d->disks[i];
    if (!cur->cdrom) {
        xo_error_set(err, XO_E_INVAL, "disk %s is not a CD-ROM", k->vdev);
        return -1;
    }
    snprintf(cur->target, sizeof(cur->target), "%s", k->target);
    if (k->format[0])
        snprintf(cur->format, sizeof(cur->format), "%s", k->format);
    return sim_persist(b, d, err);
}

static int sim_disk_change_media(xo_backend *b, uint32_t domid, const xo_disk *k, xo_error *err)
{
    static const sim_dom_op op = { .states = SIM_LIVE, .body = sim_change_media_body };

    return sim_on_dom(b, domid, &op, (void *)k, err);
}

static int sim_nic_add_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    xo_nic *nic = arg;
    xo_nic n = *nic;

    if (d->n_nics >= SIM_MAX_NICS) {
        xo_error_set(err, XO_E_INVAL, "too many nics (max %d)", SIM_MAX_NICS);
        return -1;
    }
    if (sim_nic_fill(b, d, &n, err) < 0)
        return -1;
    d->nics[d->n_nics++] = n;
    if (sim_persist(b, d, err) < 0) {
        d->n_nics--;
        return -1;
    }
    *nic = n;
    return 0;
}

static int sim_nic_add(xo_backend *b, uint32_t domid, xo_nic *nic, xo_error *err)
{
    static const sim_dom_op op = { .states = SIM_LIVE, .body = sim_nic_add_body };

    return sim_on_dom(b, domid, &op, nic, err);
}

static int sim_nic_remove_body(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err)
{
    int devid = *(const int *)arg;
    int i = sim_nic_index(d, devid);

    if (i < 0) {
        xo_error_set(err, XO_E_INVAL, "domain %" PRIu32 " has no nic %d", d->domid, devid);
        return -1;
    }
    sim_array_del(d->nics, &d->n_nics, sizeof(d->nics[0]), (size_t)i);
    return sim_persist(b, d, err);
}

static int sim_nic_remove(xo_backend *b, uint32_t domid, int devid, xo_error *err)
{
    static const sim_dom_op op = { .states = SIM_LIVE, .body = sim_nic_remove_body };

    return sim_on_dom(b, domid, &op, &devid, err);
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
