/* xenmock: a fake Xen host for LD_PRELOAD (see xenmock.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libxl.h>
#include <libxl_event.h>
#include <libxl_utils.h>
#include <xenctrl.h>
#include <xenstore.h>

#include "tests/xen/mock/xenmock.h"

/* Exported for dlsym; every other symbol here overrides the real library. */
#define XM_EXPORT __attribute__((visibility("default")))

#define XM_MAX_DOMS 64
#define XM_MAX_DEVS 8
#define XM_KIB_PER_PAGE 4
#define XM_HOST_KIB (8ull << 20)        /* 8 GiB */
#define XM_NR_CPUS 4

typedef struct xm_dom {
    bool used;
    uint32_t domid;
    char name[64];
    libxl_uuid uuid;
    libxl_domain_type type;
    bool pvh;
    bool paused, shutdown, dying, no_pv;
    libxl_shutdown_reason reason;
    uint64_t max_kib, cur_kib, target_kib;
    unsigned vcpu_max, vcpu_online;
    int weight, cap;
    char sysrq;
    char disks[XM_MAX_DEVS][16];        /* vdevs, "" = free */
    int nics[XM_MAX_DEVS];              /* devids, -1 = free */
    bool con;                           /* xenconsoled's pty (xenmock_console) */
    char *con_key;                      /* console/tty rewritten (xenmock_console_key) */
    int con_master, con_slave;
    char con_tty[64];
} xm_dom;

/* The opaque types of the real libraries, completed here. */
struct libxl__ctx {
    xentoollog_logger *lg;
};
struct xc_interface_core {
    int unused;
};
struct xs_handle {
    int pipe[2];                        /* a byte per fired watch */
    char token[64];                     /* of the @introduceDomain watch, "" if none */
};
struct libxl__evgen_domain_death {
    struct libxl__evgen_domain_death *next;
    uint32_t domid;
    libxl_ev_user user;
    bool shutdown_reported;
};

typedef struct xm_event {
    struct xm_event *next;
    libxl_event_type type;
    uint32_t domid;
    libxl_uuid uuid;
    uint8_t reason;
} xm_event;

typedef struct xm_fail {
    char fn[64];
    int rc;
    char msg[160];
} xm_fail;

static pthread_mutex_t xm_lock = PTHREAD_MUTEX_INITIALIZER;
static xm_dom xm_doms[XM_MAX_DOMS];
static uint32_t xm_next_domid = 1;
static struct libxl__ctx *xm_ctx;       /* the one context (the backend makes one) */
static const libxl_osevent_hooks *xm_os_hooks;
static void *xm_os_user;
static const libxl_event_hooks *xm_ev_hooks;
static void *xm_ev_user;
static int xm_ev_pipe[2] = { -1, -1 };
static void *xm_ev_reg;                 /* the application's registration of the pipe */
static bool xm_ev_registered;
static char xm_ev_token;                /* for_libxl: its address */
static struct libxl__evgen_domain_death *xm_evgens;
static xm_event *xm_events, **xm_events_tail = &xm_events;
static struct xs_handle *xm_xs;
static xm_fail xm_fails[16];
static size_t xm_n_fails;
static struct { char fn[64]; unsigned n; } xm_counts[128];
static size_t xm_n_counts;

/* ---------------------------------------------------------------- helpers */

/* Count the call; return the failure planned for it (0: none).  Locked. */
static int xm_enter_locked(const char *fn, char *msg, size_t msg_len)
{
    size_t i;

    for (i = 0; i < xm_n_counts && strcmp(xm_counts[i].fn, fn); i++)
        ;
    if (i == xm_n_counts && xm_n_counts < sizeof(xm_counts) / sizeof(xm_counts[0]))
        snprintf(xm_counts[xm_n_counts++].fn, sizeof(xm_counts[0].fn), "%s", fn);
    if (i < xm_n_counts)
        xm_counts[i].n++;
    msg[0] = '\0';
    for (i = 0; i < xm_n_fails; i++)
        if (!strcmp(xm_fails[i].fn, fn)) {
            int rc = xm_fails[i].rc;
            snprintf(msg, msg_len, "%s", xm_fails[i].msg);
            xm_fails[i] = xm_fails[--xm_n_fails];
            return rc;
        }
    return 0;
}

/* Log through the backend's logger, as libxl does before failing. */
static void xm_log(const char *msg)
{
    if (msg[0] && xm_ctx && xm_ctx->lg)
        xtl_log(xm_ctx->lg, XTL_ERROR, -1, "libxl", "%s", msg);
}

/* The start of each libxl function: count it, fail it if planned. */
#define XM_ENTER(fn) do { \
    char xe_msg[160]; \
    int xe_rc; \
    pthread_mutex_lock(&xm_lock); \
    xe_rc = xm_enter_locked(fn, xe_msg, sizeof(xe_msg)); \
    pthread_mutex_unlock(&xm_lock); \
    if (xe_rc) { \
        xm_log(xe_msg); \
        return xe_rc; \
    } \
} while (0)

static xm_dom *xm_find_locked(uint32_t domid)
{
    for (int i = 0; i < XM_MAX_DOMS; i++)
        if (xm_doms[i].used && xm_doms[i].domid == domid)
            return &xm_doms[i];
    return NULL;
}

static xm_dom *xm_find_name_locked(const char *name)
{
    for (int i = 0; i < XM_MAX_DOMS; i++)
        if (xm_doms[i].used && !strcmp(xm_doms[i].name, name))
            return &xm_doms[i];
    return NULL;
}

/* The domain is gone: so is its console (its clients see a hang-up). */
static void xm_gone_locked(xm_dom *d)
{
    if (d->con) {
        close(d->con_master);
        close(d->con_slave);
        d->con = false;
    }
    free(d->con_key);
    d->con_key = NULL;
    d->used = false;
}

/* Run the statements under xm_lock with d, the domain that find (an
 * xm_find_*_locked() call) gives; none when it gives no domain. */
#define XM_WITH(find, ...) do { \
    pthread_mutex_lock(&xm_lock); \
    xm_dom *d = (find); \
    if (d) { __VA_ARGS__ } \
    pthread_mutex_unlock(&xm_lock); \
} while (0)

static xm_dom *xm_new_locked(const char *name)
{
    for (int i = 1; i < XM_MAX_DOMS; i++)
        if (!xm_doms[i].used) {
            xm_dom *d = &xm_doms[i];
            memset(d, 0, sizeof(*d));
            d->used = true;
            d->domid = xm_next_domid++;
            snprintf(d->name, sizeof(d->name), "%s", name ? name : "");
            libxl_uuid_generate(&d->uuid);
            d->type = LIBXL_DOMAIN_TYPE_PV;
            d->weight = 256;
            for (int j = 0; j < XM_MAX_DEVS; j++)
                d->nics[j] = -1;
            return d;
        }
    return NULL;
}

static void xm_dom0_locked(void)
{
    xm_dom *d = &xm_doms[0];

    if (d->used)
        return;
    memset(d, 0, sizeof(*d));
    d->used = true;
    snprintf(d->name, sizeof(d->name), "Domain-0");
    d->type = LIBXL_DOMAIN_TYPE_PV;
    d->max_kib = d->cur_kib = d->target_kib = 1 << 20;
    d->vcpu_max = d->vcpu_online = XM_NR_CPUS;
    d->weight = 256;
    for (int j = 0; j < XM_MAX_DEVS; j++)
        d->nics[j] = -1;
}

/* Queue an event for domid (delivered if someone follows it) and wake the
 * backend's loop through the registered pipe. */
static void xm_queue_locked(libxl_event_type type, const xm_dom *d)
{
    xm_event *e = calloc(1, sizeof(*e));

    if (!e)
        abort();
    e->type = type;
    e->domid = d->domid;
    e->uuid = d->uuid;
    e->reason = (uint8_t)d->reason;
    *xm_events_tail = e;
    xm_events_tail = &e->next;
    if (xm_ev_pipe[1] >= 0 && write(xm_ev_pipe[1], "e", 1) < 0 && errno != EAGAIN)
        abort();
}

/* Fire the @introduceDomain watch. */
static void xm_introduce_locked(void)
{
    if (xm_xs && xm_xs->token[0] && write(xm_xs->pipe[1], "w", 1) < 0 && errno != EAGAIN)
        abort();
}

static void xm_fill_dominfo(const xm_dom *d, libxl_dominfo *o)
{
    libxl_dominfo_init(o);
    o->uuid = d->uuid;
    o->domid = d->domid;
    o->running = !d->paused && !d->shutdown && !d->dying;
    o->paused = d->paused;
    o->shutdown = d->shutdown;
    o->dying = d->dying;
    o->shutdown_reason = d->shutdown ? d->reason : LIBXL_SHUTDOWN_REASON_UNKNOWN;
    o->current_memkb = d->cur_kib;
    o->max_memkb = d->max_kib;
    o->cpu_time = 1000000000ull * (d->domid + 1);
    o->vcpu_max_id = d->vcpu_max ? d->vcpu_max - 1 : 0;
    o->vcpu_online = d->vcpu_online;
    o->domain_type = d->type;
}

static int xm_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------- the test's side */

XM_EXPORT void xenmock_fail(const char *fn, int rc, const char *msg)
{
    pthread_mutex_lock(&xm_lock);
    if (xm_n_fails < sizeof(xm_fails) / sizeof(xm_fails[0])) {
        xm_fail *f = &xm_fails[xm_n_fails++];
        snprintf(f->fn, sizeof(f->fn), "%s", fn);
        f->rc = rc;
        snprintf(f->msg, sizeof(f->msg), "%s", msg ? msg : "");
    }
    pthread_mutex_unlock(&xm_lock);
}

XM_EXPORT unsigned xenmock_calls(const char *fn)
{
    unsigned n = 0;

    pthread_mutex_lock(&xm_lock);
    for (size_t i = 0; i < xm_n_counts; i++)
        if (!strcmp(xm_counts[i].fn, fn))
            n = xm_counts[i].n;
    pthread_mutex_unlock(&xm_lock);
    return n;
}

XM_EXPORT void xenmock_reset(void)
{
    pthread_mutex_lock(&xm_lock);
    for (int i = 1; i < XM_MAX_DOMS; i++)
        if (xm_doms[i].used)
            xm_gone_locked(&xm_doms[i]);
    xm_n_fails = 0;
    xm_n_counts = 0;
    pthread_mutex_unlock(&xm_lock);
}

XM_EXPORT uint32_t xenmock_add_domain(const char *name, uint64_t mem_kib, unsigned vcpus)
{
    uint32_t domid = INVALID_DOMID;

    pthread_mutex_lock(&xm_lock);
    xm_dom0_locked();
    xm_dom *d = xm_new_locked(name);
    if (d) {
        d->max_kib = d->cur_kib = d->target_kib = mem_kib;
        d->vcpu_max = d->vcpu_online = vcpus;
        domid = d->domid;
        xm_introduce_locked();
    }
    pthread_mutex_unlock(&xm_lock);
    return domid;
}

XM_EXPORT bool xenmock_guest_shutdown(uint32_t domid, int libxl_reason)
{
    pthread_mutex_lock(&xm_lock);
    xm_dom *d = xm_find_locked(domid);
    if (d && !d->shutdown) {
        d->shutdown = true;
        d->reason = (libxl_shutdown_reason)libxl_reason;
        xm_queue_locked(LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN, d);
    }
    pthread_mutex_unlock(&xm_lock);
    return d != NULL;
}

XM_EXPORT bool xenmock_no_pv_drivers(uint32_t domid)
{
    bool found = false;

    XM_WITH(xm_find_locked(domid), found = d->no_pv = true;);
    return found;
}

XM_EXPORT bool xenmock_console_key(uint32_t domid, const char *value)
{
    bool found = false;

    XM_WITH(xm_find_locked(domid), {
        free(d->con_key);
        d->con_key = value ? strdup(value) : NULL;
        found = true;
    });
    return found;
}

XM_EXPORT int xenmock_console(uint32_t domid)
{
    int fd = -1;

    pthread_mutex_lock(&xm_lock);
    xm_dom *d = xm_find_locked(domid);
    if (d && !d->con) {
        int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        const char *name = m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0 ? ptsname(m) : NULL;
        int sl = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
        struct termios t;
        if (sl >= 0 && tcgetattr(sl, &t) == 0) {
            cfmakeraw(&t);
            tcsetattr(sl, TCSANOW, &t);
            snprintf(d->con_tty, sizeof(d->con_tty), "%s", name);
            d->con_master = m;
            d->con_slave = sl;
            d->con = true;
        } else {
            if (m >= 0)
                close(m);
            if (sl >= 0)
                close(sl);
        }
    }
    if (d && d->con)
        fd = d->con_master;
    pthread_mutex_unlock(&xm_lock);
    return fd;
}

XM_EXPORT char xenmock_last_sysrq(uint32_t domid)
{
    char k = 0;

    XM_WITH(xm_find_locked(domid), k = d->sysrq;);
    return k;
}

/* ------------------------------------------------------------ libxenctrl */

xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
                                unsigned open_flags)
{
    static struct xc_interface_core xch;
    char msg[160];
    int rc;

    (void)logger; (void)dombuild_logger; (void)open_flags;
    pthread_mutex_lock(&xm_lock);
    rc = xm_enter_locked("xc_interface_open", msg, sizeof(msg));
    pthread_mutex_unlock(&xm_lock);
    if (rc) {
        errno = rc < 0 ? -rc : rc;
        return NULL;
    }
    return &xch;
}

int xc_interface_close(xc_interface *xch)
{
    (void)xch;
    return 0;
}

int xc_physinfo(xc_interface *xch, xc_physinfo_t *info)
{
    (void)xch;
    memset(info, 0, sizeof(*info));
    info->threads_per_core = 1;
    info->cores_per_socket = XM_NR_CPUS;
    info->nr_cpus = XM_NR_CPUS;
    info->max_cpu_id = XM_NR_CPUS - 1;
    info->nr_nodes = 1;
    info->cpu_khz = 2400000;
    info->total_pages = XM_HOST_KIB / XM_KIB_PER_PAGE;
    info->free_pages = info->total_pages / 2;
    return 0;
}

int xc_getcpuinfo(xc_interface *xch, int max_cpus, xc_cpuinfo_t *info, int *nr_cpus)
{
    static uint64_t tick;

    (void)xch;
    tick += 500000000ull;       /* each look: half a second more idle per CPU */
    *nr_cpus = max_cpus < XM_NR_CPUS ? max_cpus : XM_NR_CPUS;
    for (int i = 0; i < *nr_cpus; i++)
        info[i].idletime = tick;
    return 0;
}

int xc_readconsolering(xc_interface *xch, char *buffer, unsigned int *pnr_chars, int clear,
                       int incremental, uint32_t *pindex)
{
    static const char ring[] = "(XEN) xenmock: the hypervisor console ring\n";
    size_t n = strlen(ring) < *pnr_chars ? strlen(ring) : *pnr_chars;

    (void)xch; (void)clear; (void)incremental; (void)pindex;
    memcpy(buffer, ring, n);
    *pnr_chars = (unsigned)n;
    return 0;
}

/* ----------------------------------------------------------- libxenstore */

struct xs_handle *xs_open(unsigned long flags)
{
    char msg[160];
    int rc;

    (void)flags;
    pthread_mutex_lock(&xm_lock);
    rc = xm_enter_locked("xs_open", msg, sizeof(msg));
    pthread_mutex_unlock(&xm_lock);
    if (rc) {
        errno = rc < 0 ? -rc : rc;
        return NULL;
    }
    struct xs_handle *h = calloc(1, sizeof(*h));
    if (!h || xm_pipe(h->pipe) != 0) {
        free(h);
        return NULL;
    }
    pthread_mutex_lock(&xm_lock);
    xm_xs = h;
    pthread_mutex_unlock(&xm_lock);
    return h;
}

void xs_close(struct xs_handle *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&xm_lock);
    if (xm_xs == h)
        xm_xs = NULL;
    pthread_mutex_unlock(&xm_lock);
    close(h->pipe[0]);
    close(h->pipe[1]);
    free(h);
}

int xs_fileno(struct xs_handle *h)
{
    return h->pipe[0];
}

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
    if (strcmp(path, "@introduceDomain") != 0) {
        errno = EINVAL;
        return false;
    }
    pthread_mutex_lock(&xm_lock);
    snprintf(h->token, sizeof(h->token), "%s", token);
    pthread_mutex_unlock(&xm_lock);
    return true;
}

/* One fired watch as libxenstore returns it: one allocation holding the
 * vector and its strings. */
char **xs_check_watch(struct xs_handle *h)
{
    char c, **v;
    size_t plen = strlen("@introduceDomain") + 1, tlen;

    if (read(h->pipe[0], &c, 1) != 1) {
        errno = EAGAIN;
        return NULL;
    }
    tlen = strlen(h->token) + 1;
    v = malloc(2 * sizeof(char *) + plen + tlen);
    if (!v)
        return NULL;
    v[XS_WATCH_PATH] = (char *)(v + 2);
    v[XS_WATCH_TOKEN] = v[XS_WATCH_PATH] + plen;
    memcpy(v[XS_WATCH_PATH], "@introduceDomain", plen);
    memcpy(v[XS_WATCH_TOKEN], h->token, tlen);
    return v;
}

/* /libxl/<domid>/type is "pvh" for PVH guests, /local/domain/<domid>/console/tty
 * the pty of xenmock_console(); nothing else is kept. */
void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len)
{
    unsigned domid;
    char *s = NULL, tail[16] = "";

    (void)h; (void)t;
    if (sscanf(path, "/libxl/%u/type", &domid) == 1) {
        XM_WITH(xm_find_locked(domid),
                s = strdup(d->pvh ? "pvh" : d->type == LIBXL_DOMAIN_TYPE_HVM ? "hvm" : "pv"););
    } else if (sscanf(path, "/local/domain/%u/console/%15s", &domid, tail) == 2 &&
               !strcmp(tail, "tty")) {
        XM_WITH(xm_find_locked(domid),
                s = d->con_key ? strdup(d->con_key) : d->con ? strdup(d->con_tty) : NULL;);
    }
    if (!s) {
        errno = ENOENT;
        return NULL;
    }
    if (len)
        *len = (unsigned)strlen(s);
    return s;
}

/* --------------------------------------------------- libxl: the context */

int libxl_ctx_alloc(libxl_ctx **pctx, int version, unsigned flags, xentoollog_logger *lg)
{
    (void)version; (void)flags;
    pthread_mutex_lock(&xm_lock);
    xm_ctx = NULL;
    pthread_mutex_unlock(&xm_lock);
    XM_ENTER("libxl_ctx_alloc");
    /* (a planned failure logs through no logger: there is no ctx yet) */
    struct libxl__ctx *c = calloc(1, sizeof(*c));
    if (!c || xm_pipe(xm_ev_pipe) != 0) {
        free(c);
        return ERROR_NOMEM;
    }
    c->lg = lg;
    pthread_mutex_lock(&xm_lock);
    xm_ctx = c;
    xm_dom0_locked();
    pthread_mutex_unlock(&xm_lock);
    *pctx = c;
    return 0;
}

int libxl_ctx_free(libxl_ctx *ctx)
{
    struct libxl__evgen_domain_death *g, *gn;
    xm_event *e, *en;

    if (!ctx)
        return 0;
    if (xm_ev_registered && xm_os_hooks)
        xm_os_hooks->fd_deregister(xm_os_user, xm_ev_pipe[0], xm_ev_reg);
    pthread_mutex_lock(&xm_lock);
    xm_ev_registered = false;
    for (g = xm_evgens; g; g = gn) {
        gn = g->next;
        free(g);
    }
    xm_evgens = NULL;
    for (e = xm_events; e; e = en) {
        en = e->next;
        free(e);
    }
    xm_events = NULL;
    xm_events_tail = &xm_events;
    close(xm_ev_pipe[0]);
    close(xm_ev_pipe[1]);
    xm_ev_pipe[0] = xm_ev_pipe[1] = -1;
    xm_os_hooks = NULL;
    xm_ev_hooks = NULL;
    if (xm_ctx == ctx)
        xm_ctx = NULL;
    pthread_mutex_unlock(&xm_lock);
    free(ctx);
    return 0;
}

void libxl_osevent_register_hooks(libxl_ctx *ctx, const libxl_osevent_hooks *hooks, void *user)
{
    (void)ctx;
    xm_os_hooks = hooks;
    xm_os_user = user;
}

void libxl_event_register_callbacks(libxl_ctx *ctx, const libxl_event_hooks *hooks, void *user)
{
    (void)ctx;
    xm_ev_hooks = hooks;
    xm_ev_user = user;
}

void libxl_childproc_setmode(libxl_ctx *ctx, const libxl_childproc_hooks *hooks, void *user)
{
    (void)ctx; (void)hooks; (void)user;
}

/* --------------------------------------------------- libxl: events */

int libxl_evenable_domain_death(libxl_ctx *ctx, uint32_t domid, libxl_ev_user user,
                                libxl_evgen_domain_death **evgen_out)
{
    bool reg;

    (void)ctx;
    XM_ENTER("libxl_evenable_domain_death");
    /* like libxl, register the fd it watches on first use, in the call */
    pthread_mutex_lock(&xm_lock);
    reg = !xm_ev_registered && xm_os_hooks;
    xm_ev_registered = true;
    pthread_mutex_unlock(&xm_lock);
    if (reg && xm_os_hooks->fd_register(xm_os_user, xm_ev_pipe[0], &xm_ev_reg, POLLIN, &xm_ev_token)) {
        pthread_mutex_lock(&xm_lock);
        xm_ev_registered = false;
        pthread_mutex_unlock(&xm_lock);
        return ERROR_FAIL;
    }
    struct libxl__evgen_domain_death *g = calloc(1, sizeof(*g));
    if (!g)
        return ERROR_NOMEM;
    g->domid = domid;
    g->user = user;
    pthread_mutex_lock(&xm_lock);
    g->next = xm_evgens;
    xm_evgens = g;
    xm_dom *d = xm_find_locked(domid);
    if (!d)                             /* gone already: its death is news */
        xm_queue_locked(LIBXL_EVENT_TYPE_DOMAIN_DEATH, &(xm_dom){ .domid = domid });
    else if (d->shutdown)
        xm_queue_locked(LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN, d);
    pthread_mutex_unlock(&xm_lock);
    *evgen_out = g;
    return 0;
}

void libxl_evdisable_domain_death(libxl_ctx *ctx, libxl_evgen_domain_death *evgen)
{
    (void)ctx;
    pthread_mutex_lock(&xm_lock);
    for (struct libxl__evgen_domain_death **pp = &xm_evgens; *pp; pp = &(*pp)->next)
        if (*pp == evgen) {
            *pp = evgen->next;
            break;
        }
    pthread_mutex_unlock(&xm_lock);
    free(evgen);
}

void libxl_event_free(libxl_ctx *ctx, libxl_event *event)
{
    (void)ctx;
    free(event);
}

/* The backend's loop saw the pipe readable: deliver what is queued to the
 * followers, outside the lock (the callback calls back into libxl). */
void libxl_osevent_occurred_fd(libxl_ctx *ctx, void *for_libxl, int fd, short events, short revents)
{
    char buf[64];
    xm_event *list, *e, *en;

    (void)ctx; (void)events; (void)revents;
    if (for_libxl != &xm_ev_token)
        return;
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&xm_lock);
    list = xm_events;
    xm_events = NULL;
    xm_events_tail = &xm_events;
    pthread_mutex_unlock(&xm_lock);
    for (e = list; e; e = en) {
        en = e->next;
        libxl_ev_user user = 0;
        bool followed = false;
        pthread_mutex_lock(&xm_lock);
        for (struct libxl__evgen_domain_death *g = xm_evgens; g; g = g->next)
            if (g->domid == e->domid) {
                followed = true;
                user = g->user;
            }
        pthread_mutex_unlock(&xm_lock);
        if (followed && xm_ev_hooks && xm_ev_hooks->event_occurs) {
            libxl_event *ev = calloc(1, sizeof(*ev));
            if (!ev)
                abort();
            ev->domid = e->domid;
            ev->domuuid = e->uuid;
            ev->for_user = user;
            ev->type = e->type;
            ev->u.domain_shutdown.shutdown_reason = e->reason;
            xm_ev_hooks->event_occurs(xm_ev_user, ev);
        }
        free(e);
    }
}

void libxl_osevent_occurred_timeout(libxl_ctx *ctx, void *for_libxl)
{
    (void)ctx; (void)for_libxl;
}

/* --------------------------------------------------- libxl: domains */

libxl_dominfo *libxl_list_domain(libxl_ctx *ctx, int *nb_domain_out)
{
    libxl_dominfo *out;
    int n = 0;
    char msg[160];

    (void)ctx;
    pthread_mutex_lock(&xm_lock);
    if (xm_enter_locked("libxl_list_domain", msg, sizeof(msg))) {
        pthread_mutex_unlock(&xm_lock);
        xm_log(msg);
        return NULL;
    }
    out = calloc(XM_MAX_DOMS, sizeof(*out));
    for (int i = 0; out && i < XM_MAX_DOMS; i++)
        if (xm_doms[i].used)
            xm_fill_dominfo(&xm_doms[i], &out[n++]);
    pthread_mutex_unlock(&xm_lock);
    *nb_domain_out = n;
    return out;
}

int libxl_domain_info(libxl_ctx *ctx, libxl_dominfo *info_r, uint32_t domid)
{
    int rc = 0;

    (void)ctx;
    XM_ENTER("libxl_domain_info");
    pthread_mutex_lock(&xm_lock);
    xm_dom *d = xm_find_locked(domid);
    if (!d)
        rc = ERROR_DOMAIN_NOTFOUND;
    else if (info_r) {
        libxl_dominfo_dispose(info_r);
        xm_fill_dominfo(d, info_r);
    }
    pthread_mutex_unlock(&xm_lock);
    return rc;
}

char *libxl_domid_to_name(libxl_ctx *ctx, uint32_t domid)
{
    char *s = NULL;

    (void)ctx;
    XM_WITH(xm_find_locked(domid), s = strdup(d->name););
    return s;
}

int libxl_name_to_domid(libxl_ctx *ctx, const char *name, uint32_t *domid)
{
    int rc = ERROR_INVAL;

    (void)ctx;
    XM_WITH(xm_find_name_locked(name), *domid = d->domid; rc = 0;);
    return rc;
}

int libxl_get_memory_target(libxl_ctx *ctx, uint32_t domid, uint64_t *out_target)
{
    int rc = ERROR_FAIL;

    (void)ctx;
    XM_WITH(xm_find_locked(domid), *out_target = d->target_kib; rc = 0;);
    return rc;
}

uint32_t libxl_vm_get_start_time(libxl_ctx *ctx, uint32_t domid)
{
    (void)ctx;
    return 1700000000u + domid;
}

libxl_vcpuinfo *libxl_list_vcpu(libxl_ctx *ctx, uint32_t domid, int *nb_vcpu, int *nr_cpus_out)
{
    libxl_vcpuinfo *v = NULL;

    (void)ctx;
    pthread_mutex_lock(&xm_lock);
    xm_dom *d = xm_find_locked(domid);
    if (d && d->vcpu_max) {
        v = calloc(d->vcpu_max, sizeof(*v));
        for (unsigned i = 0; v && i < d->vcpu_max; i++) {
            libxl_vcpuinfo_init(&v[i]);
            v[i].vcpuid = i;
            v[i].cpu = i % XM_NR_CPUS;
            v[i].online = i < d->vcpu_online;
            v[i].running = v[i].online && !d->paused;
            v[i].blocked = v[i].online && d->paused;
            v[i].vcpu_time = 1000000ull * (i + 1);
        }
        *nb_vcpu = (int)d->vcpu_max;
        *nr_cpus_out = XM_NR_CPUS;
    }
    pthread_mutex_unlock(&xm_lock);
    return v;
}

static int xm_build(libxl_domain_config *c, uint32_t *domid)
{
    pthread_mutex_lock(&xm_lock);
    if (c->c_info.name && xm_find_name_locked(c->c_info.name)) {
        pthread_mutex_unlock(&xm_lock);
        xm_log("domain name already in use");
        return ERROR_INVAL;
    }
    xm_dom *d = xm_new_locked(c->c_info.name);
    if (!d) {
        pthread_mutex_unlock(&xm_lock);
        xm_log("xenmock: no room for another domain");
        return ERROR_FAIL;
    }
    if (!libxl_uuid_is_nil(&c->c_info.uuid))
        d->uuid = c->c_info.uuid;
    d->type = c->c_info.type;
    d->pvh = c->c_info.type == LIBXL_DOMAIN_TYPE_PVH;
    if (d->pvh)
        d->type = LIBXL_DOMAIN_TYPE_HVM;        /* as the hypervisor reports it */
    d->max_kib = c->b_info.max_memkb;
    d->target_kib = d->cur_kib = c->b_info.target_memkb;
    d->vcpu_max = (unsigned)c->b_info.max_vcpus;
    d->vcpu_online = d->vcpu_max;
    d->paused = true;                           /* libxl leaves a new domain paused */
    *domid = d->domid;
    xm_introduce_locked();
    pthread_mutex_unlock(&xm_lock);
    return 0;
}

int libxl_domain_create_new(libxl_ctx *ctx, libxl_domain_config *d_config, uint32_t *domid,
                            const libxl_asyncop_how *ao_how,
                            const libxl_asyncprogress_how *aop_console_how)
{
    (void)ctx; (void)ao_how; (void)aop_console_how;
    XM_ENTER("libxl_domain_create_new");
    return xm_build(d_config, domid);
}

#define XM_IMAGE_MAGIC "XENMOCK-IMAGE\n"

int libxl_domain_create_restore(libxl_ctx *ctx, libxl_domain_config *d_config, uint32_t *domid,
                                int restore_fd, int send_back_fd,
                                const libxl_domain_restore_params *params,
                                const libxl_asyncop_how *ao_how,
                                const libxl_asyncprogress_how *aop_console_how)
{
    char buf[sizeof(XM_IMAGE_MAGIC)] = "";

    (void)ctx; (void)send_back_fd; (void)params; (void)ao_how; (void)aop_console_how;
    XM_ENTER("libxl_domain_create_restore");
    if (read(restore_fd, buf, sizeof(buf) - 1) != (ssize_t)sizeof(buf) - 1 ||
        memcmp(buf, XM_IMAGE_MAGIC, sizeof(buf) - 1) != 0) {
        xm_log("restore: not a saved domain image");
        return ERROR_BADFAIL;
    }
    return xm_build(d_config, domid);
}

/* The common body of the simple per-domain operations. */
#define XM_DOM_OP(fn, ...) do { \
    int rc_ = ERROR_DOMAIN_NOTFOUND; \
    XM_ENTER(fn); \
    XM_WITH(xm_find_locked(domid), rc_ = 0; __VA_ARGS__); \
    return rc_; \
} while (0)

int libxl_domain_pause(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
{
    (void)ctx; (void)ao_how;
    XM_DOM_OP("libxl_domain_pause", d->paused = true;);
}

int libxl_domain_unpause(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
{
    (void)ctx; (void)ao_how;
    XM_DOM_OP("libxl_domain_unpause", d->paused = false;);
}

/* A PV guest asked to shut down does so at once here. */
static int xm_request_shutdown_locked(xm_dom *d, libxl_shutdown_reason why)
{
    if (d->no_pv)
        return ERROR_NOPARAVIRT;
    if (!d->shutdown) {
        d->shutdown = true;
        d->reason = why;
        xm_queue_locked(LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN, d);
    }
    return 0;
}

int libxl_domain_shutdown(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
{
    (void)ctx; (void)ao_how;
    XM_DOM_OP("libxl_domain_shutdown", rc_ = xm_request_shutdown_locked(d, LIBXL_SHUTDOWN_REASON_POWEROFF););
}

int libxl_domain_reboot(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
{
    (void)ctx; (void)ao_how;
    XM_DOM_OP("libxl_domain_reboot", rc_ = xm_request_shutdown_locked(d, LIBXL_SHUTDOWN_REASON_REBOOT););
}

/* The ACPI buttons work without PV drivers. */
int libxl_send_trigger(libxl_ctx *ctx, uint32_t domid, libxl_trigger trigger, uint32_t vcpuid,
                       const libxl_asyncop_how *ao_how)
{
    (void)ctx; (void)vcpuid; (void)ao_how;
    XM_DOM_OP("libxl_send_trigger", {
        if (trigger == LIBXL_TRIGGER_POWER || trigger == LIBXL_TRIGGER_RESET) {
            bool no_pv = d->no_pv;
            d->no_pv = false;
            rc_ = xm_request_shutdown_locked(d, trigger == LIBXL_TRIGGER_POWER
                                                    ? LIBXL_SHUTDOWN_REASON_POWEROFF
                                                    : LIBXL_SHUTDOWN_REASON_REBOOT);
            d->no_pv = no_pv;
        }
    });
}

int libxl_domain_destroy(libxl_ctx *ctx, uint32_t domid, const libxl_asyncop_how *ao_how)
{
    (void)ctx; (void)ao_how;
    XM_DOM_OP("libxl_domain_destroy", {
        if (d->domid == 0) {
            rc_ = ERROR_INVAL;
        } else {
            xm_queue_locked(LIBXL_EVENT_TYPE_DOMAIN_DEATH, d);
            xm_gone_locked(d);
        }
    });
}

int libxl_domain_suspend(libxl_ctx *ctx, uint32_t domid, int fd, int flags,
                         const libxl_asyncop_how *ao_how)
{
    (void)ctx; (void)flags; (void)ao_how;
    XM_DOM_OP("libxl_domain_suspend", {
        if (write(fd, XM_IMAGE_MAGIC, strlen(XM_IMAGE_MAGIC)) != (ssize_t)strlen(XM_IMAGE_MAGIC) ||
            write(fd, d->name, strlen(d->name)) != (ssize_t)strlen(d->name)) {
            rc_ = ERROR_FAIL;
        } else {
            d->shutdown = true;
            d->reason = LIBXL_SHUTDOWN_REASON_SUSPEND;
        }
    });
}

int libxl_domain_resume(libxl_ctx *ctx, uint32_t domid, int suspend_cancel,
                        const libxl_asyncop_how *ao_how)
{
    (void)ctx; (void)suspend_cancel; (void)ao_how;
    XM_DOM_OP("libxl_domain_resume", d->shutdown = false;);
}

int libxl_set_memory_target(libxl_ctx *ctx, uint32_t domid, int64_t target_memkb, int relative,
                            int enforce)
{
    (void)ctx; (void)enforce;
    XM_DOM_OP("libxl_set_memory_target", {
        int64_t t = relative ? (int64_t)d->target_kib + target_memkb : target_memkb;
        if (t < 0 || (uint64_t)t > d->max_kib) {
            rc_ = ERROR_INVAL;
        } else {
            d->target_kib = (uint64_t)t;
            d->cur_kib = (uint64_t)t;           /* the balloon follows at once */
        }
    });
}

int libxl_cpu_bitmap_alloc(libxl_ctx *ctx, libxl_bitmap *cpumap, int max_cpus)
{
    int n = max_cpus > 0 ? max_cpus : XM_NR_CPUS;

    (void)ctx;
    cpumap->size = (uint32_t)((n + 7) / 8);
    cpumap->map = calloc(cpumap->size, 1);
    return cpumap->map ? 0 : ERROR_NOMEM;
}

int libxl_set_vcpuonline(libxl_ctx *ctx, uint32_t domid, libxl_bitmap *cpumap,
                         const libxl_asyncop_how *ao_how)
{
    (void)ctx; (void)ao_how;
    XM_DOM_OP("libxl_set_vcpuonline", {
        unsigned n = 0;
        for (unsigned i = 0; i < cpumap->size * 8; i++)
            if (libxl_bitmap_test(cpumap, (int)i))
                n++;
        if (n < 1 || n > d->vcpu_max)
            rc_ = ERROR_INVAL;
        else
            d->vcpu_online = n;
    });
}

int libxl_domain_sched_params_get(libxl_ctx *ctx, uint32_t domid, libxl_domain_sched_params *params)
{
    (void)ctx;
    XM_DOM_OP("libxl_domain_sched_params_get", {
        params->sched = LIBXL_SCHEDULER_CREDIT;
        params->weight = d->weight;
        params->cap = d->cap;
    });
}

int libxl_domain_sched_params_set(libxl_ctx *ctx, uint32_t domid,
                                  const libxl_domain_sched_params *params)
{
    (void)ctx;
    XM_DOM_OP("libxl_domain_sched_params_set", {
        if (params->weight < 1 || params->weight > 65535 || params->cap < 0) {
            rc_ = ERROR_INVAL;
        } else {
            d->weight = params->weight;
            d->cap = params->cap;
        }
    });
}

int libxl_send_sysrq(libxl_ctx *ctx, uint32_t domid, char sysrq)
{
    (void)ctx;
    XM_DOM_OP("libxl_send_sysrq", d->sysrq = sysrq;);
}

int libxl_domain_core_dump(libxl_ctx *ctx, uint32_t domid, const char *filename,
                           const libxl_asyncop_how *ao_how)
{
    (void)ctx; (void)ao_how;
    XM_DOM_OP("libxl_domain_core_dump", {
        FILE *f = fopen(filename, "we");
        if (!f || fprintf(f, "XENMOCK-CORE %s\n", d->name) < 0)
            rc_ = ERROR_FAIL;
        if (f && fclose(f) != 0)
            rc_ = ERROR_FAIL;
    });
}

int libxl_domain_rename(libxl_ctx *ctx, uint32_t domid, const char *old_name, const char *new_name)
{
    (void)ctx;
    XM_DOM_OP("libxl_domain_rename", {
        xm_dom *other = xm_find_name_locked(new_name);
        if ((old_name && strcmp(old_name, d->name) != 0) || (other && other != d))
            rc_ = ERROR_INVAL;
        else
            snprintf(d->name, sizeof(d->name), "%s", new_name);
    });
}

int libxl_send_debug_keys(libxl_ctx *ctx, char *keys)
{
    (void)ctx; (void)keys;
    XM_ENTER("libxl_send_debug_keys");
    return 0;
}

/* --------------------------------------------------- libxl: devices */

int libxl_device_disk_add(libxl_ctx *ctx, uint32_t domid, libxl_device_disk *disk,
                          const libxl_asyncop_how *ao_how)
{
    (void)ctx; (void)ao_how;
    XM_DOM_OP("libxl_device_disk_add", {
        int free_slot = -1;
        rc_ = disk->vdev ? 0 : ERROR_INVAL;
        for (int i = 0; !rc_ && i < XM_MAX_DEVS; i++) {
            if (!strcmp(d->disks[i], disk->vdev))
                rc_ = ERROR_DEVICE_EXISTS;
            else if (!d->disks[i][0] && free_slot < 0)
                free_slot = i;
        }
        if (!rc_ && free_slot < 0)
            rc_ = ERROR_FAIL;
        if (!rc_)
            snprintf(d->disks[free_slot], sizeof(d->disks[0]), "%s", disk->vdev);
    });
}

int libxl_device_disk_remove(libxl_ctx *ctx, uint32_t domid, libxl_device_disk *disk,
                             const libxl_asyncop_how *ao_how)
{
    (void)ctx; (void)ao_how;
    XM_DOM_OP("libxl_device_disk_remove", {
        rc_ = ERROR_NOTFOUND;
        for (int i = 0; disk->vdev && i < XM_MAX_DEVS; i++)
            if (!strcmp(d->disks[i], disk->vdev)) {
                d->disks[i][0] = '\0';
                rc_ = 0;
            }
    });
}

int libxl_vdev_to_device_disk(libxl_ctx *ctx, uint32_t domid, const char *vdev,
                              libxl_device_disk *disk)
{
    (void)ctx;
    XM_DOM_OP("libxl_vdev_to_device_disk", {
        rc_ = ERROR_NOTFOUND;
        for (int i = 0; i < XM_MAX_DEVS; i++)
            if (!strcmp(d->disks[i], vdev)) {
                free(disk->vdev);
                disk->vdev = strdup(vdev);
                rc_ = 0;
            }
    });
}

int libxl_cdrom_insert(libxl_ctx *ctx, uint32_t domid, libxl_device_disk *disk,
                       const libxl_asyncop_how *ao_how)
{
    (void)ctx; (void)ao_how;
    XM_DOM_OP("libxl_cdrom_insert", {
        rc_ = ERROR_NOTFOUND;
        for (int i = 0; disk->vdev && i < XM_MAX_DEVS; i++)
            if (!strcmp(d->disks[i], disk->vdev))
                rc_ = 0;
    });
}

int libxl_device_nic_add(libxl_ctx *ctx, uint32_t domid, libxl_device_nic *nic,
                         const libxl_asyncop_how *ao_how)
{
    (void)ctx; (void)ao_how;
    XM_DOM_OP("libxl_device_nic_add", {
        int slot = -1, next = 0;
        for (int i = 0; i < XM_MAX_DEVS; i++) {
            if (d->nics[i] < 0 && slot < 0)
                slot = i;
            if (d->nics[i] >= next)
                next = d->nics[i] + 1;
            if (nic->devid >= 0 && d->nics[i] == nic->devid)
                rc_ = ERROR_DEVICE_EXISTS;
        }
        if (!rc_ && slot < 0)
            rc_ = ERROR_FAIL;
        if (!rc_) {
            if (nic->devid < 0)
                nic->devid = next;              /* libxl picks the next free devid */
            d->nics[slot] = nic->devid;
        }
    });
}

int libxl_device_nic_remove(libxl_ctx *ctx, uint32_t domid, libxl_device_nic *nic,
                            const libxl_asyncop_how *ao_how)
{
    (void)ctx; (void)ao_how;
    XM_DOM_OP("libxl_device_nic_remove", {
        rc_ = ERROR_NOTFOUND;
        for (int i = 0; i < XM_MAX_DEVS; i++)
            if (d->nics[i] == nic->devid) {
                d->nics[i] = -1;
                rc_ = 0;
            }
    });
}

int libxl_devid_to_device_nic(libxl_ctx *ctx, uint32_t domid, int devid, libxl_device_nic *nic)
{
    (void)ctx;
    XM_DOM_OP("libxl_devid_to_device_nic", {
        rc_ = ERROR_NOTFOUND;
        for (int i = 0; i < XM_MAX_DEVS; i++)
            if (devid >= 0 && d->nics[i] == devid) {
                nic->devid = devid;
                rc_ = 0;
            }
    });
}

/* --------------------------------------------------- libxl: the host */

int libxl_get_physinfo(libxl_ctx *ctx, libxl_physinfo *physinfo)
{
    (void)ctx;
    XM_ENTER("libxl_get_physinfo");
    physinfo->threads_per_core = 1;
    physinfo->cores_per_socket = XM_NR_CPUS;
    physinfo->max_cpu_id = XM_NR_CPUS - 1;
    physinfo->nr_cpus = XM_NR_CPUS;
    physinfo->cpu_khz = 2400000;
    physinfo->total_pages = XM_HOST_KIB / XM_KIB_PER_PAGE;
    physinfo->free_pages = physinfo->total_pages / 2;
    physinfo->nr_nodes = 1;
    physinfo->cap_pv = true;
    physinfo->cap_hvm = true;
    return 0;
}

const libxl_version_info *libxl_get_version_info(libxl_ctx *ctx)
{
    static libxl_version_info vi = {
        .xen_version_major = 4, .xen_version_minor = 17, .xen_version_extra = (char *)".0-xenmock",
        .compiler = (char *)"cc", .compile_by = (char *)"xenmock", .compile_domain = (char *)"test",
        .compile_date = (char *)"today", .capabilities = (char *)"xen-3.0-x86_64 hvm-3.0-x86_64",
        .changeset = (char *)"", .pagesize = 4096, .commandline = (char *)"", .build_id = (char *)"",
    };
    char msg[160];
    int rc;

    (void)ctx;
    pthread_mutex_lock(&xm_lock);
    rc = xm_enter_locked("libxl_get_version_info", msg, sizeof(msg));
    pthread_mutex_unlock(&xm_lock);
    if (rc) {
        xm_log(msg);
        return NULL;
    }
    return &vi;
}

int libxl_get_scheduler(libxl_ctx *ctx)
{
    (void)ctx;
    return LIBXL_SCHEDULER_CREDIT;
}
