/* xen_priv: state shared by the files of the xen backend. */
#ifndef XEND_XEN_PRIV_H
#define XEND_XEN_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include <libxl.h>
#include <libxl_event.h>
#include <xenctrl.h>
#include <xenstore.h>

#include "xenops/xenops.h"
#include "xenops/xen/xen_config.h"

/* One libxl osevent registration (fd or timeout).  See xen_osevent.c for
 * the threading rules; a registration is recycled (on the loop thread, after
 * every queued call that may still refer to it), freed at close. */
typedef struct xx_oreg {
    struct xx_oreg *next_all;
    struct xx_oreg *next_free;
    xo_backend *b;
    void *for_libxl;
    int fd;
    short events;
    short pending_revents;      /* fd: collected, not yet given to libxl */
    bool queued;                /* fd: a delivery call is queued */
    bool dead;                  /* deregistered / fired */
    bool in_use;
    xloop_fd *h;
    xloop_timer *timer;         /* armed timer, NULL once fired/removed */
    /* fds epoll refuses (regular files: save/restore images) are always
     * ready, as poll(2) would say: "fake" registrations poll on a timer */
    bool fake;
    xloop_timer *ftimer;        /* armed readiness tick */
    xloop_timer *stale_ftimer;  /* tick left armed by a deregistration */
} xx_oreg;

typedef struct xx_console xx_console;

/* A domain the backend follows (death events enabled). */
typedef struct xx_dom {
    struct xx_dom *next;
    uint32_t domid;
    libxl_uuid uuid;
    libxl_evgen_domain_death *evgen;
    bool ours;          /* created/restored through this backend */
    bool dead;
    xx_console *console;
} xx_dom;

typedef struct xx_pending {
    struct xx_pending *next;
    libxl_uuid uuid;
} xx_pending;

typedef struct xx_logger {
    xentoollog_logger vtable;
    xo_backend *b;
} xx_logger;

struct xo_backend {
    libxl_ctx *ctx;
    xx_logger logger;
    xc_interface *xch;
    xloop *loop;
    xo_event_fn on_event;
    void *opaque;
    xo_log_sink log;                /* the daemon's log (never stderr) */
    int verbose;                    /* XEND_XEN_DEBUG: log libxl below XTL_ERROR */

    pthread_mutex_t ev_lock;        /* osevent registrations (never held across libxl calls) */
    xx_oreg *oreg_all;              /* every allocated registration, freed at close */
    xx_oreg *oreg_free;

    pthread_mutex_t lock;           /* doms, pending, console list */
    xx_dom *doms;
    xx_pending *pending;

    struct xs_handle *xs;           /* @introduceDomain watch */
    xloop_fd *xs_h;

    pthread_mutex_t cpu_lock;       /* host_cpus utilisation sampling */
    uint64_t *cpu_idle_prev;
    int cpu_prev_n;
    int64_t cpu_prev_ns;
};

/* xen_osevent.c */
extern const libxl_osevent_hooks xx_osevent_hooks;
void xx_osevent_free_all(xo_backend *b);

/* xen_console.c: copy a domain's PV console to a file; its terminal. */
int xx_console_start(xo_backend *b, uint32_t domid, const char *path, xo_error *err);
void xx_console_stop(xx_console *c);
char *xx_xenconsoled_tty(xo_backend *b, uint32_t domid);
int xx_domain_console_tty(xo_backend *b, uint32_t domid, char *path, size_t len, xo_error *err);

/* xen_io.c: the byte counters of a domain's nics and disks (dom0's sysfs). */
int xx_domain_io(xo_backend *b, uint32_t domid, xo_dev_io **io_r, size_t *n_r, xo_error *err);
/* "xvda", "hdc1", "sdb", "xvdaa" from a Xen virtual device number; false
 * for an encoding it does not know or a name longer than len. */
bool xx_vdev_name(unsigned long devid, char *buf, size_t len);

/* xen_backend.c */
void xx_libxl_err(xo_backend *b, xo_error *err, int rc, const char *what, uint32_t domid);
void xx_log_clear(void);
int xx_libxl_check(xo_backend *b, xo_error *err, int rc, const char *what, uint32_t domid);
/* Make a libxl call (an expression giving its rc) with what libxl logs
 * cleared first: 0, or -1 with err set from rc and that log. */
#define XX_LIBXL(b, err, what, domid, call)                                                        \
    (xx_log_clear(), xx_libxl_check((b), (err), (call), (what), (domid)))

/* xen_host.c */
int xx_host_info(xo_backend *b, xo_host_info *info_r, xo_error *err);
int xx_host_cpus(xo_backend *b, xo_cpu_info **cpus_r, size_t *n_r, xo_error *err);
int xx_host_nics(xo_backend *b, xo_nic_info **nics_r, size_t *n_r, xo_error *err);
int xx_host_dmesg(xo_backend *b, char **text_r, bool clear, xo_error *err);
int xx_host_send_debug_keys(xo_backend *b, const char *keys, xo_error *err);

#endif
