/* sim_priv: what the files of the sim backend share (see sim.c).
 * Locking: b->lock protects everything in struct xo_backend; functions
 * that touch it expect the lock held unless they take it themselves
 * (sim_locked, sim_on_dom, the ops). */
#ifndef XEND_SIM_PRIV_H
#define XEND_SIM_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/uuid.h"
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
    bool boot_files;                /* host file boot_files = open: act as if the kernel is read */
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
    xo_log_sink log;
    int64_t opened_ms;

    sim_dom **doms;                 /* sorted by domid */
    size_t n_doms, cap_doms;
    uint32_t next_domid;
    char *dmesg;
    size_t dmesg_len;
    sim_pending *pending;
    int ino_fd;
    xloop_fd *ino_h;
    struct simcons_set *cons;       /* simconsole.c: the domains' ptys */
};

typedef struct sim_evq {
    xo_event ev[SIM_MAX_EVENTS];
    size_t n;
} sim_evq;

/* An operation's own part: runs with b->lock held, may queue events in q. */
typedef int (*sim_locked_fn)(xo_backend *b, void *arg, sim_evq *q, xo_error *err);

#define SIM_IN(st) (1u << (st))
#define SIM_LIVE (SIM_IN(XO_STATE_RUNNING) | SIM_IN(XO_STATE_PAUSED))

/* An operation on one existing domain other than Domain-0. */
typedef struct sim_dom_op {
    unsigned states;        /* the states it is allowed in; 0: the body checks */
    const char *what;       /* end of the XO_E_BUSY message, or NULL */
    int (*body)(xo_backend *b, sim_dom *d, void *arg, sim_evq *q, xo_error *err);
} sim_dom_op;

/* sim.c: helpers, the frame of an operation, loading, open/close */
int sim_alloc_domid(xo_backend *b, uint32_t *domid_r, xo_error *err);
void sim_array_del(void *base, size_t *n, size_t elem_size, size_t i);
int sim_changed(xo_backend *b, sim_dom *d, sim_evq *q, xo_error *err);
int sim_check_state(const sim_dom *d, unsigned states, const char *what, xo_error *err);
void sim_close(xo_backend *b);
void sim_console(xo_backend *b, const sim_dom *d, const char *event);
uint64_t sim_cpu_time(const sim_dom *d, int64_t now_ms);
void sim_dmesg_add(xo_backend *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_dom_gone(xo_backend *b, sim_dom *d, xo_shutdown_reason why, const char *how, sim_evq *q);
void sim_dom_path(xo_backend *b, uint32_t domid, char *buf, size_t len);
void sim_evq_add(sim_evq *q, xo_event_type type, const sim_dom *d, xo_shutdown_reason reason);
sim_dom *sim_find(xo_backend *b, uint32_t domid);
sim_dom *sim_find_err(xo_backend *b, uint32_t domid, xo_error *err);
uint64_t sim_free_kib(xo_backend *b);
void sim_gen_mac(const sim_dom *d, int devid, char out[18]);
void sim_gen_uuid(char out[XO_UUID_LEN]);
int sim_insert(xo_backend *b, sim_dom *d, xo_error *err);
int sim_locked(xo_backend *b, sim_locked_fn fn, void *arg, xo_error *err);
bool sim_mac_valid(const char *m);
int sim_on_dom(xo_backend *b, uint32_t domid, const sim_dom_op *op, void *arg, xo_error *err);
xo_backend *sim_open(const xo_options *opts, xo_error *err);
int sim_persist(xo_backend *b, const sim_dom *d, xo_error *err);
void sim_set_state(sim_dom *d, xo_domstate st);
int64_t sim_wall_ms(void);

/* sim_host.c: the host description file and the host ops */
void sim_boot_log(xo_backend *b);
int sim_host_cpus(xo_backend *b, xo_cpu_info **cpus_r, size_t *n_r, xo_error *err);
void sim_host_default_nic(sim_host *h);
void sim_host_defaults(sim_host *h);
int sim_host_dmesg(xo_backend *b, char **text_r, bool clear, xo_error *err);
int sim_host_info(xo_backend *b, xo_host_info *info, xo_error *err);
int sim_host_load(sim_host *h, const char *path, xo_error *err);
int sim_host_nics(xo_backend *b, xo_nic_info **nics_r, size_t *n_r, xo_error *err);
int sim_host_send_debug_keys(xo_backend *b, const char *keys, xo_error *err);
bool sim_parse_num(const char *s, uint64_t min, uint64_t max, uint64_t *v);
char *sim_trim(char *s);

/* sim_ctl.c: the control directory (xend-simctl requests) */
void sim_ctl_initial_scan(void *arg);
void sim_ctl_readable(xloop_fd *h, int fd, short revents, void *arg);

/* sim_dom.c: building domains, shutdown timers, the domain ops */
void sim_apply_shutdown(xo_backend *b, sim_dom *d, xo_shutdown_reason why, sim_evq *q);
sim_dom *sim_dom_build(xo_backend *b, const xo_domain_config *cfg, xo_error *err);
int sim_dom_commit(xo_backend *b, sim_dom *d, bool paused, xo_error *err);
void sim_guest_acts(xo_backend *b, sim_dom *d, sim_evq *q);

/* simconsole.c: a pty per live domain (with a loop only; own locking) */
void simcons_init(xo_backend *b);
void simcons_fini(xo_backend *b);
void simcons_open(xo_backend *b, const sim_dom *d);
void simcons_close(xo_backend *b, uint32_t domid);
void simcons_write(xo_backend *b, uint32_t domid, const char *text);
int sim_domain_console_tty(xo_backend *b, uint32_t domid, char *path, size_t len, xo_error *err);

#endif
