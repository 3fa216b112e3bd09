/* xen_backend: the xenops backend for a real Xen host, on libxl.
 *
 * One libxl_ctx per backend, its osevent hooks on the daemon's loop
 * (xen_osevent.c), events delivered through libxl's event_occurs callback.
 * Every domain seen gets libxl_evenable_domain_death (DOMAIN_SHUTDOWN and
 * DOMAIN_DEATH); an @introduceDomain xenstore watch finds domains made
 * outside the backend (xl create) and reports them as DOMAIN_NEW.  Domains
 * being created here are recognised by their uuid.  Shut-down domains stay
 * until destroy() (the daemon applies actions_after_*).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxl_utils.h>

#include "xenops/xen/xen_priv.h"
#include "xenops/xen/xo_xen.h"

#define XX_WATCH_TOKEN "xend-introduce"
#define XX_NO_DOMID ((uint32_t)INVALID_DOMID)

/* ------------------------------------------------------------------ logging */

/* The last error libxl/libxc logged on this thread, appended to xo_error. */
static __thread char xx_last_log[160];

void xx_log_clear(void)
{
    xx_last_log[0] = '\0';
}

static void xx_log_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
                            const char *context, const char *format, va_list al)
{
    xx_logger *l = (xx_logger *)lg;
    char msg[512];
    int n;

    if (level < XTL_WARN && !(l->b && l->b->verbose))
        return;
    n = vsnprintf(msg, sizeof(msg), format, al);
    if (n >= (int)sizeof(msg))
        n = (int)sizeof(msg) - 1;
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    if (n > 0 && errnoval >= 0)
        snprintf(msg + (n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1),
                 sizeof(msg) - (size_t)(n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1),
                 ": %s", strerror(errnoval));
    if (level >= XTL_ERROR) {
        size_t len = strlen(msg);
        if (len >= sizeof(xx_last_log))
            len = sizeof(xx_last_log) - 1;
        memcpy(xx_last_log, msg, len);
        xx_last_log[len] = '\0';
    }
    if (l->b)
        xo_log(&l->b->log, level >= XTL_ERROR ? XO_LOG_ERROR : level >= XTL_WARN ? XO_LOG_WARNING
                                                                                 : XO_LOG_DEBUG,
               "xen[%s] %s: %s", xtl_level_to_string(level), context ? context : "-", msg);
}

static void xx_log_destroy(xentoollog_logger *lg)
{
    (void)lg;
}

void xx_libxl_err(xo_backend *b, xo_error *err, int rc, const char *what, uint32_t domid)
{
    (void)b;
    if (xx_last_log[0])
        xo_error_set(err, xx_errcode_from_libxl(rc), "%s (domain %u): %s", what, domid, xx_last_log);
    else
        xo_error_set(err, xx_errcode_from_libxl(rc), "%s (domain %u) failed: libxl error %d",
               what, domid, rc);
}

int xx_libxl_check(xo_backend *b, xo_error *err, int rc, const char *what, uint32_t domid)
{
    if (!rc)
        return 0;
    xx_libxl_err(b, err, rc, what, domid);
    return -1;
}

/* ------------------------------------------------------------------- events */

static void xx_emit(xo_backend *b, xo_event_type type, uint32_t domid, const libxl_uuid *uuid,
                    xo_shutdown_reason reason)
{
    xo_event ev;

    if (!b->on_event)
        return;
    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.domid = domid;
    if (uuid && !libxl_uuid_is_nil(uuid))
        snprintf(ev.uuid, sizeof(ev.uuid), LIBXL_UUID_FMT, LIBXL_UUID_BYTES(*uuid));
    ev.reason = reason;
    b->on_event(b->opaque, &ev);
}

static xx_dom *xx_dom_find_locked(xo_backend *b, uint32_t domid)
{
    for (xx_dom *d = b->doms; d; d = d->next)
        if (d->domid == domid && !d->dead)
            return d;
    return NULL;
}

static bool xx_pending_has_locked(xo_backend *b, const libxl_uuid *u)
{
    for (xx_pending *p = b->pending; p; p = p->next)
        if (!libxl_uuid_compare(&p->uuid, u))
            return true;
    return false;
}

static void xx_dom_unlink_locked(xo_backend *b, xx_dom *d)
{
    for (xx_dom **pp = &b->doms; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            return;
        }
}

/* Follow domid (death events on).  Returns 1 if newly followed, 0 if it
 * was already, -1 on failure. */
static int xx_track(xo_backend *b, uint32_t domid, const libxl_uuid *uuid, bool ours)
{
    libxl_evgen_domain_death *evgen = NULL;
    xx_dom *d;
    int rc;

    pthread_mutex_lock(&b->lock);
    d = xx_dom_find_locked(b, domid);
    if (d) {
        if (ours)
            d->ours = true;
        pthread_mutex_unlock(&b->lock);
        return 0;
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        pthread_mutex_unlock(&b->lock);
        return -1;
    }
    d->domid = domid;
    libxl_uuid_copy(b->ctx, &d->uuid, uuid);
    d->ours = ours;
    d->next = b->doms;
    b->doms = d;
    pthread_mutex_unlock(&b->lock);

    rc = libxl_evenable_domain_death(b->ctx, domid, (libxl_ev_user)domid, &evgen);
    pthread_mutex_lock(&b->lock);
    if (rc) {
        xx_dom_unlink_locked(b, d);
        free(d);
    } else if (d->dead) {
        /* died (and was reaped) meanwhile: nothing more to follow */
        xx_dom_unlink_locked(b, d);
    } else {
        d->evgen = evgen;
        evgen = NULL;
        d = NULL;
    }
    pthread_mutex_unlock(&b->lock);
    if (evgen)
        libxl_evdisable_domain_death(b->ctx, evgen);
    if (d && !rc) {
        xx_console_stop(d->console);
        free(d);
    }
    return rc ? -1 : 1;
}

static void xx_event_occurs(void *user, libxl_event *ev)
{
    xo_backend *b = user;
    libxl_evgen_domain_death *evgen = NULL;
    xx_console *console = NULL;
    libxl_uuid uuid;
    xx_dom *d;

    libxl_uuid_copy(b->ctx, &uuid, &ev->domuuid);
    if (libxl_uuid_is_nil(&uuid)) {     /* libxl leaves it nil for these events */
        pthread_mutex_lock(&b->lock);
        d = xx_dom_find_locked(b, ev->domid);
        if (d)
            libxl_uuid_copy(b->ctx, &uuid, &d->uuid);
        pthread_mutex_unlock(&b->lock);
    }
    switch (ev->type) {
    case LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN:
        xx_emit(b, XO_EV_DOMAIN_SHUTDOWN, ev->domid, &uuid,
                xx_reason_from_libxl(ev->u.domain_shutdown.shutdown_reason));
        break;
    case LIBXL_EVENT_TYPE_DOMAIN_DEATH:
        pthread_mutex_lock(&b->lock);
        d = xx_dom_find_locked(b, ev->domid);
        if (d) {
            d->dead = true;
            if (d->evgen) {
                xx_dom_unlink_locked(b, d);
                evgen = d->evgen;
                console = d->console;
                free(d);
            }
            /* else xx_track is still enabling: it unlinks and frees */
        }
        pthread_mutex_unlock(&b->lock);
        if (evgen)
            libxl_evdisable_domain_death(b->ctx, evgen);
        xx_console_stop(console);
        xx_emit(b, XO_EV_DOMAIN_DEATH, ev->domid, &uuid, XO_SHUTDOWN_NONE);
        break;
    default:
        break;
    }
    libxl_event_free(b->ctx, ev);
}

static void xx_disaster(void *user, libxl_event_type type, const char *msg, int errnoval)
{
    xo_backend *b = user;
    xo_log(&b->log, XO_LOG_ERROR, "xen: libxl event disaster (type %d): %s: %s", (int)type, msg,
           errnoval >= 0 ? strerror(errnoval) : "-");
}

static const libxl_event_hooks xx_event_hooks = {
    .event_occurs_mask = LIBXL_EVENTMASK_ALL,
    .event_occurs = xx_event_occurs,
    .disaster = xx_disaster,
};

static const libxl_childproc_hooks xx_childproc_hooks = {
    /* libxl handles SIGCHLD but reaps only its own children (hotplug
     * scripts, save helper, bootloader): the daemon may have others. */
    .chldowner = libxl_sigchld_owner_libxl_always_selective_reap,
};

/* Follow every domain not yet followed; report the ones nobody here made. */
static void xx_scan_domains(xo_backend *b, bool report_new)
{
    libxl_dominfo *info;
    int n = 0;

    info = libxl_list_domain(b->ctx, &n);
    if (!info)
        return;
    for (int i = 0; i < n; i++) {
        bool ours;
        if (info[i].domid == 0 || info[i].dying)
            continue;
        pthread_mutex_lock(&b->lock);
        ours = xx_pending_has_locked(b, &info[i].uuid);
        pthread_mutex_unlock(&b->lock);
        if (xx_track(b, info[i].domid, &info[i].uuid, ours) == 1 && report_new && !ours)
            xx_emit(b, XO_EV_DOMAIN_NEW, info[i].domid, &info[i].uuid, XO_SHUTDOWN_NONE);
    }
    libxl_dominfo_list_free(info, n);
}

static void xx_xs_cb(xloop_fd *h, int fd, short revents, void *arg)
{
    xo_backend *b = arg;
    char **w;
    bool fired = false;

    (void)h; (void)fd; (void)revents;
    while ((w = xs_check_watch(b->xs))) {
        fired = true;
        free(w);
    }
    if (fired)
        xx_scan_domains(b, true);
}

/* --------------------------------------------------------------- open/close */

static void xx_close(xo_backend *b);

static xo_backend *xx_open(const xo_options *opts, xo_error *err)
{
    xo_backend *b = NULL;
    const char *dbg = getenv("XEND_XEN_DEBUG");
    int rc;

    if (!opts || !opts->loop) {
        xo_error_set(err, XO_E_INVAL, "xen backend: an event loop is required");
        goto fail;
    }
    b = xo_calloc(1, sizeof(*b), err);
    if (!b)
        goto fail;
    pthread_mutex_init(&b->lock, NULL);
    pthread_mutex_init(&b->ev_lock, NULL);
    pthread_mutex_init(&b->cpu_lock, NULL);
    b->loop = opts->loop;
    b->on_event = opts->on_event;
    b->opaque = opts->opaque;
    b->log = opts->log;
    b->verbose = dbg && *dbg && strcmp(dbg, "0");
    b->logger.vtable.vmessage = xx_log_vmessage;
    b->logger.vtable.progress = NULL;
    b->logger.vtable.destroy = xx_log_destroy;
    b->logger.b = b;

    b->xch = xc_interface_open((xentoollog_logger *)&b->logger, (xentoollog_logger *)&b->logger, 0);
    if (!b->xch) {
        xo_error_set(err, XO_E_FAIL, "cannot open the hypervisor interface (xenctrl): %s",
               strerror(errno));
        goto fail;
    }
    xx_log_clear();
    rc = libxl_ctx_alloc(&b->ctx, LIBXL_VERSION, 0, (xentoollog_logger *)&b->logger);
    if (rc) {
        b->ctx = NULL;
        xo_error_set(err, XO_E_FAIL, "libxl_ctx_alloc failed: %s", xx_last_log[0] ? xx_last_log : "?");
        goto fail;
    }
    libxl_osevent_register_hooks(b->ctx, &xx_osevent_hooks, b);
    libxl_event_register_callbacks(b->ctx, &xx_event_hooks, b);
    libxl_childproc_setmode(b->ctx, &xx_childproc_hooks, b);

    b->xs = xs_open(0);
    if (!b->xs) {
        xo_error_set(err, XO_E_FAIL, "cannot connect to xenstore: %s", strerror(errno));
        goto fail;
    }
    /* Follow what already runs (not "new": the daemon lists those). */
    xx_scan_domains(b, false);
    if (!xs_watch(b->xs, "@introduceDomain", XX_WATCH_TOKEN)) {
        xo_error_set(err, XO_E_FAIL, "xenstore watch @introduceDomain: %s", strerror(errno));
        goto fail;
    }
    b->xs_h = xloop_fd_add(b->loop, xs_fileno(b->xs), POLLIN, xx_xs_cb, b);
    if (!b->xs_h) {
        xo_error_set(err, XO_E_FAIL, "event loop: %s", strerror(errno));
        goto fail;
    }
    return b;
fail:
    if (b)
        xx_close(b);
    return NULL;
}

static void xx_close(xo_backend *b)
{
    xx_dom *d, *n;
    xx_pending *p, *pn;

    if (!b)
        return;
    if (b->xs_h)
        xloop_fd_remove(b->xs_h);
    b->xs_h = NULL;
    pthread_mutex_lock(&b->lock);
    d = b->doms;
    b->doms = NULL;
    pthread_mutex_unlock(&b->lock);
    for (; d; d = n) {
        n = d->next;
        if (d->evgen && b->ctx)
            libxl_evdisable_domain_death(b->ctx, d->evgen);
        xx_console_stop(d->console);
        free(d);
    }
    if (b->ctx)
        libxl_ctx_free(b->ctx);
    b->ctx = NULL;
    /* after everything queued so far (console stops, recycles) */
    xx_osevent_free_all(b);
    if (b->xs)
        xs_close(b->xs);
    if (b->xch)
        xc_interface_close(b->xch);
    for (p = b->pending; p; p = pn) {
        pn = p->next;
        free(p);
    }
    free(b->cpu_idle_prev);
    pthread_mutex_destroy(&b->lock);
    pthread_mutex_destroy(&b->ev_lock);
    pthread_mutex_destroy(&b->cpu_lock);
    free(b);
}

/* ------------------------------------------------------------------ domains */

static xo_domstate xx_state(const libxl_dominfo *di)
{
    if (di->dying)
        return XO_STATE_DYING;
    if (di->shutdown)
        return di->shutdown_reason == LIBXL_SHUTDOWN_REASON_CRASH ? XO_STATE_CRASHED
                                                                  : XO_STATE_SHUTDOWN;
    if (di->paused)
        return XO_STATE_PAUSED;
    return XO_STATE_RUNNING;
}

/* The hypervisor sees PVH as HVM; libxl records the type it built. */
static xo_domtype xx_dom_type(xo_backend *b, const libxl_dominfo *di)
{
    xo_domtype t = xx_domtype_from_libxl(di->domain_type);
    char path[64], *s;
    unsigned len = 0;

    if (di->domain_type != LIBXL_DOMAIN_TYPE_HVM || !di->domid || !b->xs)
        return t;
    snprintf(path, sizeof(path), "/libxl/%u/type", di->domid);
    s = xs_read(b->xs, XBT_NULL, path, &len);
    if (s && !strcmp(s, "pvh"))
        t = XO_DOM_PVH;
    free(s);
    return t;
}

static void xx_fill_dominfo(xo_backend *b, const libxl_dominfo *di, xo_dominfo *o)
{
    char *name;
    uint64_t target = 0;
    uint32_t start;

    memset(o, 0, sizeof(*o));
    o->domid = di->domid;
    snprintf(o->uuid, sizeof(o->uuid), LIBXL_UUID_FMT, LIBXL_UUID_BYTES(di->uuid));
    name = libxl_domid_to_name(b->ctx, di->domid);
    snprintf(o->name, sizeof(o->name), "%s", name ? name : "");
    free(name);
    o->type = xx_dom_type(b, di);
    o->state = xx_state(di);
    o->reason = di->shutdown ? xx_reason_from_libxl(di->shutdown_reason) : XO_SHUTDOWN_NONE;
    o->memory_kib = di->current_memkb;
    o->max_memory_kib = di->max_memkb;
    if (!di->dying && libxl_get_memory_target(b->ctx, di->domid, &target) == 0)
        o->target_kib = target;
    else
        o->target_kib = di->current_memkb;
    o->vcpus_online = di->vcpu_online;
    o->vcpus_max = di->vcpu_max_id + 1;
    o->cpu_time_ns = di->cpu_time;
    start = di->domid ? libxl_vm_get_start_time(b->ctx, di->domid) : 0;
    o->start_time = start == (uint32_t)-1 ? 0 : (int64_t)start;
}

static int xx_domain_list(xo_backend *b, xo_dominfo **doms_r, size_t *n_r, xo_error *err)
{
    int n = 0;

    xx_log_clear();
    libxl_dominfo *info = libxl_list_domain(b->ctx, &n);
    if (!info) {
        xx_libxl_err(b, err, ERROR_FAIL, "libxl_list_domain", 0);
        return -1;
    }
    xo_dominfo *out = xo_calloc((size_t)n, sizeof(*out), err);
    for (int i = 0; out && i < n; i++)
        xx_fill_dominfo(b, &info[i], &out[i]);
    libxl_dominfo_list_free(info, n);
    if (!out)
        return -1;
    *doms_r = out;
    *n_r = (size_t)n;
    return 0;
}

static int xx_domain_info(xo_backend *b, uint32_t domid, xo_dominfo *info_r, xo_error *err)
{
    libxl_dominfo di;
    int rc;

    libxl_dominfo_init(&di);
    xx_log_clear();
    rc = libxl_domain_info(b->ctx, &di, domid);
    if (rc == ERROR_DOMAIN_NOTFOUND) {
        xo_error_set(err, XO_E_NODOMAIN, "no domain %u", domid);
        rc = -1;
        goto out;
    }
    if (rc) {
        xx_libxl_err(b, err, rc, "libxl_domain_info", domid);
        rc = -1;
        goto out;
    }
    xx_fill_dominfo(b, &di, info_r);
out:
    libxl_dominfo_dispose(&di);
    return rc;
}

static int xx_domain_vcpus(xo_backend *b, uint32_t domid, xo_vcpu_info **v_r, size_t *n_r,
                           xo_error *err)
{
    int nb = 0, nr_cpus = 0;

    xx_log_clear();
    libxl_vcpuinfo *vi = libxl_list_vcpu(b->ctx, domid, &nb, &nr_cpus);
    if (!vi) {
        xx_libxl_err(b, err, ERROR_DOMAIN_NOTFOUND, "libxl_list_vcpu", domid);
        return -1;
    }
    xo_vcpu_info *out = xo_calloc((size_t)nb, sizeof(*out), err);
    for (int i = 0; out && i < nb; i++) {
        out[i].id = vi[i].vcpuid;
        out[i].online = vi[i].online;
        out[i].cpu = vi[i].online && (vi[i].running || vi[i].blocked) ? (int)vi[i].cpu : -1;
        out[i].cpu_time_ns = vi[i].vcpu_time;
    }
    libxl_vcpuinfo_list_free(vi, nb);
    if (!out)
        return -1;
    *v_r = out;
    *n_r = (size_t)nb;
    return 0;
}

static void xx_pending_add(xo_backend *b, xx_pending *p)
{
    pthread_mutex_lock(&b->lock);
    p->next = b->pending;
    b->pending = p;
    pthread_mutex_unlock(&b->lock);
}

static void xx_pending_del(xo_backend *b, xx_pending *p)
{
    pthread_mutex_lock(&b->lock);
    for (xx_pending **pp = &b->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    pthread_mutex_unlock(&b->lock);
}

/* Shared by create and restore: restore_fd < 0 means a fresh boot. */
static int xx_build(xo_backend *b, const xo_domain_config *cfg, int restore_fd, bool paused,
                    uint32_t *domid_r, xo_error *err)
{
    libxl_domain_config d;
    libxl_domain_restore_params params;
    xx_pending pend;
    uint32_t domid = XX_NO_DOMID;
    bool pending = false;
    int rc = -1, lrc;

    libxl_domain_config_init(&d);
    libxl_domain_restore_params_init(&params);
    if (xx_config_to_libxl(cfg, &d, err))
        goto out;
    if (libxl_uuid_is_nil(&d.c_info.uuid))
        libxl_uuid_generate(&d.c_info.uuid);
    if (libxl_name_to_domid(b->ctx, cfg->name, &domid) == 0) {
        xo_error_set(err, XO_E_INVAL, "a domain named '%s' already exists (domain %u)", cfg->name,
               domid);
        domid = XX_NO_DOMID;
        goto out;
    }
    memset(&pend, 0, sizeof(pend));
    libxl_uuid_copy(b->ctx, &pend.uuid, &d.c_info.uuid);
    xx_pending_add(b, &pend);
    pending = true;

    xx_log_clear();
    if (restore_fd < 0) {
        lrc = libxl_domain_create_new(b->ctx, &d, &domid, NULL, NULL);
    } else {
        params.checkpointed_stream = LIBXL_CHECKPOINTED_STREAM_NONE;
        /* libxl_domain_suspend writes a v2 stream (v1, the default here,
         * would go through convert-legacy-stream) */
        params.stream_version = 2;
        lrc = libxl_domain_create_restore(b->ctx, &d, &domid, restore_fd, -1, &params, NULL,
                                          NULL);
    }
    if (lrc) {
        xx_libxl_err(b, err, lrc, restore_fd < 0 ? "domain create" : "domain restore",
                     domid == XX_NO_DOMID ? 0 : domid);
        /* libxl destroys a half-built domain itself */
        goto out;
    }
    if (xx_track(b, domid, &d.c_info.uuid, true) < 0) {
        xo_error_set(err, XO_E_FAIL, "cannot follow domain %u's events", domid);
        goto fail_destroy;
    }
    if (cfg->console_log[0] && xx_console_start(b, domid, cfg->console_log, err))
        goto fail_destroy;
    if (!paused) {
        if (XX_LIBXL(b, err, "unpause after create", domid,
                     libxl_domain_unpause(b->ctx, domid, NULL)))
            goto fail_destroy;
    }
    *domid_r = domid;
    rc = 0;
    goto out;
fail_destroy:
    libxl_domain_destroy(b->ctx, domid, NULL);
out:
    if (pending)
        xx_pending_del(b, &pend);
    libxl_domain_restore_params_dispose(&params);
    libxl_domain_config_dispose(&d);
    return rc;
}

static int xx_domain_create(xo_backend *b, const xo_domain_config *cfg, bool paused,
                            uint32_t *domid_r, xo_error *err)
{
    return xx_build(b, cfg, -1, paused, domid_r, err);
}

static int xx_domain_restore(xo_backend *b, const xo_domain_config *cfg, const char *path,
                             bool paused, uint32_t *domid_r, xo_error *err)
{
    int fd, rc;

    /* never wait on a FIFO; only a regular file is an image */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
        xo_error_set(err, fd < 0 && errno != ENOENT ? XO_E_FAIL : XO_E_INVAL, "restore image %s: %s", path,
                     fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    rc = xx_build(b, cfg, fd, paused, domid_r, err);
    close(fd);
    return rc;
}

static void xx_changed(xo_backend *b, uint32_t domid)
{
    libxl_dominfo di;

    libxl_dominfo_init(&di);
    if (libxl_domain_info(b->ctx, &di, domid) == 0)
        xx_emit(b, XO_EV_DOMAIN_CHANGED, domid, &di.uuid, XO_SHUTDOWN_NONE);
    libxl_dominfo_dispose(&di);
}

/* A domain must exist (and not be dom0) for destructive ops. */
static int xx_check_domu(xo_backend *b, uint32_t domid, xo_error *err)
{
    libxl_dominfo di;
    int rc;

    if (domid == 0) {
        xo_error_set(err, XO_E_INVAL, "refusing to act on the control domain");
        return -1;
    }
    libxl_dominfo_init(&di);
    rc = libxl_domain_info(b->ctx, &di, domid);
    libxl_dominfo_dispose(&di);
    if (rc) {
        xo_error_set(err, XO_E_NODOMAIN, "no domain %u", domid);
        return -1;
    }
    return 0;
}

static int xx_set_paused(xo_backend *b, uint32_t domid, bool pause, xo_error *err)
{
    if (xx_check_domu(b, domid, err) || XX_LIBXL(b, err, pause ? "pause" : "unpause", domid,
                                                 pause ? libxl_domain_pause(b->ctx, domid, NULL)
                                                       : libxl_domain_unpause(b->ctx, domid, NULL)))
        return -1;
    xx_changed(b, domid);
    return 0;
}

static int xx_domain_pause(xo_backend *b, uint32_t domid, xo_error *err)
{
    return xx_set_paused(b, domid, true, err);
}

static int xx_domain_unpause(xo_backend *b, uint32_t domid, xo_error *err)
{
    return xx_set_paused(b, domid, false, err);
}

static int xx_domain_shutdown(xo_backend *b, uint32_t domid, xo_shutdown_reason how,
                              xo_error *err)
{
    int lrc;

    if (how != XO_SHUTDOWN_POWEROFF && how != XO_SHUTDOWN_REBOOT) {
        xo_error_set(err, XO_E_INVAL, "shutdown: only poweroff and reboot can be requested");
        return -1;
    }
    if (xx_check_domu(b, domid, err))
        return -1;
    xx_log_clear();
    lrc = how == XO_SHUTDOWN_POWEROFF ? libxl_domain_shutdown(b->ctx, domid, NULL)
                                      : libxl_domain_reboot(b->ctx, domid, NULL);
    if (lrc == ERROR_NOPARAVIRT) {
        /* an HVM guest without PV drivers: press the ACPI button / reset */
        xx_log_clear();
        lrc = libxl_send_trigger(b->ctx, domid,
                                 how == XO_SHUTDOWN_POWEROFF ? LIBXL_TRIGGER_POWER
                                                             : LIBXL_TRIGGER_RESET, 0, NULL);
    }
    if (lrc) {
        xx_libxl_err(b, err, lrc, how == XO_SHUTDOWN_POWEROFF ? "shutdown" : "reboot", domid);
        return -1;
    }
    return 0;
}

static int xx_domain_destroy(xo_backend *b, uint32_t domid, xo_error *err)
{
    if (xx_check_domu(b, domid, err))
        return -1;
    return XX_LIBXL(b, err, "destroy", domid, libxl_domain_destroy(b->ctx, domid, NULL));
}

static int xx_domain_suspend(xo_backend *b, uint32_t domid, const char *path, xo_error *err)
{
    int fd = -1, lrc, rc = -1;

    if (xx_check_domu(b, domid, err))
        goto out;
    /* a link or FIFO in the image's place is refused, never followed or waited on */
    fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || ftruncate(fd, 0) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
        xo_error_set(err, XO_E_FAIL, "suspend image %s: %s", path,
                     fd < 0 ? strerror(errno) : "not a regular file that can be written");
        goto out;
    }
    xx_log_clear();
    lrc = libxl_domain_suspend(b->ctx, domid, fd, 0, NULL);
    if (lrc) {
        xx_libxl_err(b, err, lrc, "suspend", domid);
        unlink(path);
        goto out;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        xo_error_set(err, XO_E_FAIL, "suspend image %s: %s", path, strerror(errno));
        unlink(path);
        libxl_domain_resume(b->ctx, domid, 1, NULL);
        goto out;
    }
    fd = -1;
    /* the image is safe: the suspended domain goes (like xl save) */
    rc = XX_LIBXL(b, err, "destroy after suspend", domid,
                  libxl_domain_destroy(b->ctx, domid, NULL));
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

static int xx_domain_set_memory(xo_backend *b, uint32_t domid, uint64_t target_kib,
                                xo_error *err)
{
    if (xx_check_domu(b, domid, err))
        return -1;
    if (target_kib > INT64_MAX || target_kib < 1024) {
        xo_error_set(err, XO_E_INVAL, "memory target %" PRIu64 " KiB out of range", target_kib);
        return -1;
    }
    if (XX_LIBXL(b, err, "set memory target", domid,
                 libxl_set_memory_target(b->ctx, domid, (int64_t)target_kib, 0, 1)))
        return -1;
    xx_changed(b, domid);
    return 0;
}

static int xx_domain_set_vcpus(xo_backend *b, uint32_t domid, unsigned online, xo_error *err)
{
    libxl_dominfo di;
    libxl_bitmap map;
    unsigned max;
    int rc = -1;

    libxl_dominfo_init(&di);
    libxl_bitmap_init(&map);
    if (xx_check_domu(b, domid, err))
        goto out;
    if (libxl_domain_info(b->ctx, &di, domid)) {
        xo_error_set(err, XO_E_NODOMAIN, "no domain %u", domid);
        goto out;
    }
    max = di.vcpu_max_id + 1;
    if (online < 1 || online > max) {
        xo_error_set(err, XO_E_INVAL, "vcpus: %u online requested, domain %u has %u", online, domid,
               max);
        goto out;
    }
    if (libxl_cpu_bitmap_alloc(b->ctx, &map, (int)max)) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < online; i++)
        libxl_bitmap_set(&map, (int)i);
    if (XX_LIBXL(b, err, "set vcpus online", domid,
                 libxl_set_vcpuonline(b->ctx, domid, &map, NULL)))
        goto out;
    xx_changed(b, domid);
    rc = 0;
out:
    libxl_bitmap_dispose(&map);
    libxl_dominfo_dispose(&di);
    return rc;
}

static int xx_domain_sched_params(xo_backend *b, uint32_t domid, unsigned weight, unsigned cap,
                                  xo_error *err)
{
    libxl_domain_sched_params p;
    int rc = -1;

    libxl_domain_sched_params_init(&p);
    if (xx_check_domu(b, domid, err) || XX_LIBXL(b, err, "get scheduler parameters", domid,
                                                 libxl_domain_sched_params_get(b->ctx, domid, &p)))
        goto out;
    if (weight)
        p.weight = (int)weight;
    p.cap = (int)cap;
    rc = XX_LIBXL(b, err, "set scheduler parameters", domid,
                  libxl_domain_sched_params_set(b->ctx, domid, &p));
out:
    libxl_domain_sched_params_dispose(&p);
    return rc;
}

static int xx_domain_sysrq(xo_backend *b, uint32_t domid, char key, xo_error *err)
{
    if (xx_check_domu(b, domid, err))
        return -1;
    return XX_LIBXL(b, err, "sysrq", domid, libxl_send_sysrq(b->ctx, domid, key));
}

static int xx_domain_trigger(xo_backend *b, uint32_t domid, const char *trigger, xo_error *err)
{
    libxl_trigger t;

    if (libxl_trigger_from_string(trigger, &t) || t == LIBXL_TRIGGER_UNKNOWN) {
        xo_error_set(err, XO_E_INVAL, "unknown trigger '%s' (power, sleep, nmi, init, reset, s3resume)",
               trigger);
        return -1;
    }
    if (xx_check_domu(b, domid, err))
        return -1;
    return XX_LIBXL(b, err, "trigger", domid, libxl_send_trigger(b->ctx, domid, t, 0, NULL));
}

static int xx_domain_coredump(xo_backend *b, uint32_t domid, const char *path, xo_error *err)
{
    if (xx_check_domu(b, domid, err))
        return -1;
    return XX_LIBXL(b, err, "core dump", domid, libxl_domain_core_dump(b->ctx, domid, path, NULL));
}

static int xx_domain_rename(xo_backend *b, uint32_t domid, const char *name, xo_error *err)
{
    if (!name || !*name) {
        xo_error_set(err, XO_E_INVAL, "rename: empty name");
        return -1;
    }
    if (xx_check_domu(b, domid, err))
        return -1;
    return XX_LIBXL(b, err, "rename", domid, libxl_domain_rename(b->ctx, domid, NULL, name));
}

/* ------------------------------------------------------------------ devices */

static int xx_domtype_of(xo_backend *b, uint32_t domid, xo_domtype *t_r, xo_error *err)
{
    libxl_dominfo di;
    int rc;

    libxl_dominfo_init(&di);
    rc = libxl_domain_info(b->ctx, &di, domid);
    if (rc == 0)
        *t_r = xx_dom_type(b, &di);
    else
        xo_error_set(err, XO_E_NODOMAIN, "no domain %u", domid);
    libxl_dominfo_dispose(&di);
    return rc ? -1 : 0;
}

static int xx_disk_add(xo_backend *b, uint32_t domid, const xo_disk *d, xo_error *err)
{
    libxl_device_disk disk;
    xo_domtype t;
    int rc = -1;

    libxl_device_disk_init(&disk);
    if (xx_check_domu(b, domid, err) || xx_domtype_of(b, domid, &t, err))
        goto out;
    if (xx_disk_to_libxl(d, t, &disk, err))
        goto out;
    rc = XX_LIBXL(b, err, "disk add", domid, libxl_device_disk_add(b->ctx, domid, &disk, NULL));
out:
    libxl_device_disk_dispose(&disk);
    return rc;
}

/* Removing a device is the same for every kind: find it by the key the
 * backend interface names it with, then ask libxl to remove it.  One macro
 * defines xx_KIND_remove for each kind, as libxl defines its own. */
#define XX_DEVICE_REMOVE(kind, key_t, lookup, key_fmt)                                             \
    static int xx_##kind##_remove(xo_backend *b, uint32_t domid, key_t key, xo_error *err)        \
    {                                                                                              \
        libxl_device_##kind dev;                                                                   \
        int rc = -1;                                                                               \
                                                                                                   \
        libxl_device_##kind##_init(&dev);                                                          \
        if (xx_check_domu(b, domid, err))                                                          \
            goto out;                                                                              \
        if (lookup(b->ctx, domid, key, &dev)) {                                                    \
            xo_error_set(err, XO_E_INVAL, "domain %u has no " #kind " " key_fmt, domid, key);      \
            goto out;                                                                              \
        }                                                                                          \
        rc = XX_LIBXL(b, err, #kind " remove", domid,                                              \
                      libxl_device_##kind##_remove(b->ctx, domid, &dev, NULL));                    \
    out:                                                                                           \
        libxl_device_##kind##_dispose(&dev);                                                       \
        return rc;                                                                                 \
    }
XX_DEVICE_REMOVE(disk, const char *, libxl_vdev_to_device_disk, "%s")
XX_DEVICE_REMOVE(nic, int, libxl_devid_to_device_nic, "%d")

static int xx_disk_change_media(xo_backend *b, uint32_t domid, const xo_disk *d, xo_error *err)
{
    libxl_device_disk disk;
    xo_disk cd = *d;
    xo_domtype t;
    int rc = -1;

    libxl_device_disk_init(&disk);
    cd.cdrom = true;
    if (xx_check_domu(b, domid, err) || xx_domtype_of(b, domid, &t, err))
        goto out;
    if (t != XO_DOM_HVM) {
        xo_error_set(err, XO_E_NOTSUP, "changing media needs an HVM guest (domain %u)", domid);
        goto out;
    }
    if (xx_disk_to_libxl(&cd, t, &disk, err))
        goto out;
    rc = XX_LIBXL(b, err, "change media", domid, libxl_cdrom_insert(b->ctx, domid, &disk, NULL));
out:
    libxl_device_disk_dispose(&disk);
    return rc;
}

static int xx_nic_add(xo_backend *b, uint32_t domid, xo_nic *n, xo_error *err)
{
    libxl_device_nic nic, got;
    xo_domtype t;
    int rc = -1;

    libxl_device_nic_init(&nic);
    libxl_device_nic_init(&got);
    if (xx_check_domu(b, domid, err) || xx_domtype_of(b, domid, &t, err))
        goto out;
    if (xx_nic_to_libxl(n, t, &nic, err))
        goto out;
    if (XX_LIBXL(b, err, "nic add", domid, libxl_device_nic_add(b->ctx, domid, &nic, NULL)))
        goto out;
    /* libxl chose devid/mac in place; read back what the backend has */
    n->devid = nic.devid;
    if (libxl_devid_to_device_nic(b->ctx, domid, nic.devid, &got) == 0)
        xx_mac_format(&got.mac, n->mac);
    else
        xx_mac_format(&nic.mac, n->mac);
    rc = 0;
out:
    libxl_device_nic_dispose(&got);
    libxl_device_nic_dispose(&nic);
    return rc;
}

/* ------------------------------------------------------------------ extras */

int xo_xen_console_log(xo_backend *b, uint32_t domid, const char *path, xo_error *err)
{
    libxl_dominfo di;
    int rc;

    libxl_dominfo_init(&di);
    rc = libxl_domain_info(b->ctx, &di, domid);
    if (rc == 0 && xx_track(b, domid, &di.uuid, false) < 0)
        rc = -1;
    libxl_dominfo_dispose(&di);
    if (rc) {
        xo_error_set(err, XO_E_NODOMAIN, "no domain %u", domid);
        return -1;
    }
    return xx_console_start(b, domid, path, err);
}

/* libxl reads the kernel, ramdisk and runs the bootloader itself. */
static bool xx_opens_boot_files(xo_backend *b)
{
    (void)b;
    return true;
}

const xo_ops xo_xen_ops = {
    .name = "xen",
    XO_OPS_ALL(xx)
};
