/* sim: domain operations: building a domain from its configuration,
 * shutdown timers, queries, lifecycle and devices; the ops table. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xenops/sim/sim_priv.h"

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
/* boot_files = open: read the kernel / ramdisk as a hypervisor's domain
 * builder would (a regular file, opened without waiting); true with err
 * set when it cannot be. */
static bool sim_boot_file_unreadable(const char *path, xo_error *err)
{
    struct stat st;
    if (!path[0])
        return false;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    bool ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (!ok)
        xo_error_set(err, XO_E_INVAL, "boot file %s: %s", path, fd < 0 ? strerror(errno) : "not a regular file");
    if (fd >= 0)
        close(fd);
    return !ok;
}

sim_dom *sim_dom_build(xo_backend *b, const xo_domain_config *cfg, xo_error *err)
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
        if (!xuuid_valid(cfg->uuid)) {
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
    if (b->host.boot_files && (sim_boot_file_unreadable(cfg->kernel, err) ||
                               sim_boot_file_unreadable(cfg->ramdisk, err)))
        goto fail;
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
        xo_error_need(err, vmax, b->host.cpus);
        goto fail;
    }
    free_kib = sim_free_kib(b);
    if (target > free_kib) {
        xo_error_set(err, XO_E_NOMEM, "needs %" PRIu64 " MiB, %" PRIu64 " MiB free",
                     (target + 1023) / 1024, free_kib / 1024);
        xo_error_need(err, target * 1024, free_kib * 1024);
        goto fail;
    }
    if (cfg->n_disks > SIM_MAX_DISKS || cfg->n_nics > SIM_MAX_NICS) {
        xo_error_set(err, XO_E_INVAL, "too many devices");
        goto fail;
    }
    d = xo_calloc(1, sizeof(*d), err);
    if (!d)
        goto fail;
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
int sim_dom_commit(xo_backend *b, sim_dom *d, bool paused, xo_error *err)
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

void sim_apply_shutdown(xo_backend *b, sim_dom *d, xo_shutdown_reason why, sim_evq *q)
{
    xo_error ignored;

    sim_set_state(d, why == XO_SHUTDOWN_CRASH ? XO_STATE_CRASHED : XO_STATE_SHUTDOWN);
    d->reason = why;
    d->pending = XO_SHUTDOWN_NONE;
    if (sim_persist(b, d, &ignored) < 0)
        xo_log(&b->log, XO_LOG_WARNING, "sim: %s", ignored.msg);
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
void sim_guest_acts(xo_backend *b, sim_dom *d, sim_evq *q)
{
    if (sim_guest_will_act(d))
        sim_arm_shutdown(b, d, q);
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
    v = xo_calloc(di.vcpus_max, sizeof(*v), err);
    if (!v)
        goto out;
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
    simcons_open(b, d);
    if (n->image) {
        sim_dmesg_add(b, "(XEN) sim: domain %" PRIu32 " (%s) restored from %s", d->domid,
                      d->name, n->path);
    } else {
        sim_dmesg_add(b, "(XEN) sim: domain %" PRIu32 " (%s) created", d->domid, d->name);
        if (!n->paused)
            sim_console(b, d, "booting");
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
    sim_console(b, d, "running");
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
        xo_error_need(err, (target_kib - d->target_kib) * 1024, sim_free_kib(b) * 1024);
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

/* Simulated I/O follows the simulated CPU time (monotonic, kept through
 * save and restore): per CPU microsecond a disk reads 4 bytes and writes 1
 * (an empty CD drive moves none), a nic receives 2 and sends 1. */
static int sim_domain_io(xo_backend *b, uint32_t domid, xo_dev_io **io_r, size_t *n_r, xo_error *err)
{
    int rc = -1;
    pthread_mutex_lock(&b->lock);
    sim_dom *d = sim_find_err(b, domid, err);
    if (!d)
        goto out;
    uint64_t us = sim_cpu_time(d, sim_wall_ms()) / 1000;
    xo_dev_io *io = calloc(d->n_disks + d->n_nics + 1, sizeof(*io));
    if (!io) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < d->n_disks; i++) {
        snprintf(io[i].vdev, sizeof(io[i].vdev), "%s", d->disks[i].vdev);
        bool media = d->disks[i].target[0] != '\0';
        io[i].rd_bytes = media ? us * 4 : 0;
        io[i].wr_bytes = media && !d->disks[i].readonly ? us : 0;
    }
    for (size_t i = 0; i < d->n_nics; i++) {
        xo_dev_io *n = &io[d->n_disks + i];
        n->nic = true;
        n->devid = d->nics[i].devid;
        n->rd_bytes = us * 2;
        n->wr_bytes = us;
    }
    *io_r = io;
    *n_r = d->n_disks + d->n_nics;
    rc = 0;
out:
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static bool sim_opens_boot_files(xo_backend *b) { return b->host.boot_files; }

const xo_ops xo_sim_ops = {
    .name = "sim",
    XO_OPS_ALL(sim)
};
