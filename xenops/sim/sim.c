/* sim: a simulated Xen host behind the xenops interface.
 *
 * The "hypervisor" state lives in files under the sim state directory (one
 * file per domain, see simfile.c), so it outlives xend: a restarted daemon
 * finds its domains still running.  A control directory (ctl/) watched with
 * inotify on the daemon loop lets xend-simctl play the guest or another
 * toolstack.  Format and behaviour: docs/sim-backend.md.
 *
 * Files: sim.c (helpers, the frame of an operation, loading, open/close),
 * sim_host.c (host description and host ops), sim_ctl.c (control
 * directory), sim_dom.c (domain operations and the ops table).
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

#include "xenops/sim/sim_priv.h"

/* ---- small helpers ---- */

int64_t sim_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sim_evq_add(sim_evq *q, xo_event_type type, const sim_dom *d,
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

void sim_dmesg_add(xo_backend *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_dmesg_add(xo_backend *b, const char *fmt, ...)
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

uint64_t sim_cpu_time(const sim_dom *d, int64_t now_ms)
{
    uint64_t t = d->cpu_time_ns;

    /* A running guest keeps a quarter of each online vCPU busy. */
    if (d->state == XO_STATE_RUNNING && d->run_since_ms > 0 && now_ms > d->run_since_ms)
        t += (uint64_t)(now_ms - d->run_since_ms) * 1000000u * d->vcpus_online / 4;
    return t;
}

/* Account CPU time so far and restart the clock (or stop it). */
void sim_set_state(sim_dom *d, xo_domstate st)
{
    int64_t now = sim_wall_ms();

    d->cpu_time_ns = sim_cpu_time(d, now);
    d->state = st;
    d->run_since_ms = st == XO_STATE_RUNNING ? now : 0;
}

sim_dom *sim_find(xo_backend *b, uint32_t domid)
{
    for (size_t i = 0; i < b->n_doms; i++)
        if (b->doms[i]->domid == domid)
            return b->doms[i];
    return NULL;
}

sim_dom *sim_find_err(xo_backend *b, uint32_t domid, xo_error *err)
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

void sim_dom_path(xo_backend *b, uint32_t domid, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%" PRIu32 ".dom", b->dom_dir, domid);
}

int sim_persist(xo_backend *b, const sim_dom *d, xo_error *err)
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

int sim_insert(xo_backend *b, sim_dom *d, xo_error *err)
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
void sim_array_del(void *base, size_t *n, size_t elem_size, size_t i)
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
    simcons_close(b, d->domid);
    sim_dom_path(b, d->domid, path, sizeof(path));
    if (unlink(path) < 0 && errno != ENOENT)
        xo_log(&b->log, XO_LOG_WARNING, "sim: unlink %s: %s", path, strerror(errno));
    free(d);
}

/* ---- the frame of an operation ----
 *
 * Every operation takes b->lock, does its work (collecting events in a
 * queue), releases the lock and only then delivers the events.  An operation
 * on one domain also looks the domain up first and may check its state.
 */


int sim_locked(xo_backend *b, sim_locked_fn fn, void *arg, xo_error *err)
{
    sim_evq q = { .n = 0 };
    int rc;

    pthread_mutex_lock(&b->lock);
    rc = fn(b, arg, &q, err);
    pthread_mutex_unlock(&b->lock);
    sim_evq_flush(b, &q);
    return rc;
}


/* XO_E_BUSY unless d is in one of states; what ("cannot pause") ends the message. */
int sim_check_state(const sim_dom *d, unsigned states, const char *what, xo_error *err)
{
    if (states & SIM_IN(d->state))
        return 0;
    xo_error_set(err, XO_E_BUSY, "domain %" PRIu32 " is %s%s%s", d->domid,
                 sim_state_name(d->state), what ? ", " : "", what ? what : "");
    return -1;
}


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

int sim_on_dom(xo_backend *b, uint32_t domid, const sim_dom_op *op, void *arg,
                      xo_error *err)
{
    sim_dom_call c = { .op = op, .domid = domid, .arg = arg };

    return sim_locked(b, sim_dom_call_locked, &c, err);
}

/* Persist a change to d that the daemon hears about as XO_EV_DOMAIN_CHANGED. */
int sim_changed(xo_backend *b, sim_dom *d, sim_evq *q, xo_error *err)
{
    if (sim_persist(b, d, err) < 0)
        return -1;
    sim_evq_add(q, XO_EV_DOMAIN_CHANGED, d, XO_SHUTDOWN_NONE);
    return 0;
}

/* d is gone: XO_EV_DOMAIN_DEATH with why, a dmesg line "domain N <how>"; frees d. */
void sim_dom_gone(xo_backend *b, sim_dom *d, xo_shutdown_reason why, const char *how,
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

uint64_t sim_free_kib(xo_backend *b)
{
    uint64_t total = (b->host.memory_mib - b->host.dom0_memory_mib) * 1024;
    uint64_t used = sim_used_kib(b);

    return used >= total ? 0 : total - used;
}

int sim_alloc_domid(xo_backend *b, uint32_t *domid_r, xo_error *err)
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

void sim_gen_uuid(char out[XO_UUID_LEN])
{
    unsigned char r[16];

    sim_random_bytes(r, sizeof(r));
    xuuid_mark_v4(r);
    xuuid_format(r, out);
}

/* MAC 00:16:3e:xx:xx:xx derived from the domain uuid and devid. */
void sim_gen_mac(const sim_dom *d, int devid, char out[18])
{
    uint32_t h = 2166136261u;

    for (const char *p = d->uuid; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ (uint32_t)devid) * 16777619u;
    h ^= d->domid * 2654435761u;
    snprintf(out, 18, "00:16:3e:%02x:%02x:%02x", (h >> 16) & 0x7f, (h >> 8) & 0xff, h & 0xff);
}

bool sim_mac_valid(const char *m)
{
    unsigned v[6];
    char tail;

    return strlen(m) == 17 &&
           sscanf(m, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                  &tail) == 6;
}

void sim_console(xo_backend *b, const sim_dom *d, const char *event)
{
    char banner[XO_PATH_LEN + XO_NAME_LEN + 256];
    FILE *f;

    snprintf(banner, sizeof(banner),
             "[    0.000000] Linux version 6.1.0-xend-sim (simulated guest)\n"
             "[    0.000000] Command line: %s\n"
             "[    0.010000] sim: domain %" PRIu32 " (%s) %s, %u vCPU(s), %" PRIu64 " MiB\n"
             "XQ-GUEST-HELLO\n",
             d->cmdline, d->domid, d->name, event, d->vcpus_online, d->target_kib / 1024);
    simcons_write(b, d->domid, banner);
    if (!d->console_log[0])
        return;
    f = fopen(d->console_log, "ae");
    if (!f)
        return;     /* best effort, like xenconsoled */
    fputs(banner, f);
    fclose(f);
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
            xo_log(&b->log, XO_LOG_WARNING, "sim: %s: %s; moved aside", path,
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
    simcons_fini(b);
    for (size_t i = 0; i < b->n_doms; i++)
        free(b->doms[i]);
    free(b->doms);
    free(b->dmesg);
    if (b->ino_fd >= 0)
        close(b->ino_fd);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

xo_backend *sim_open(const xo_options *opts, xo_error *err)
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
    b->log = opts->log;
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
        /* The live domains' consoles (new ptys: a client attaches afresh). */
        simcons_init(b);
        for (size_t i = 0; i < b->n_doms; i++)
            if (b->doms[i]->state == XO_STATE_RUNNING || b->doms[i]->state == XO_STATE_PAUSED)
                simcons_open(b, b->doms[i]);
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
    simcons_fini(b);
}

void sim_close(xo_backend *b)
{
    if (!b)
        return;
    if (b->loop)
        xloop_call_sync(b->loop, sim_close_on_loop, b);
    sim_free(b);
}
