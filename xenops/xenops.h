/* xenops: the one interface between the daemon and a hypervisor backend.
 *
 * Shaped after how xl and libvirt's libxl driver drive libxl: a domain is
 * created from a complete configuration; shutdown/reboot requests are
 * asynchronous and their outcome (the guest shut down with a reason, the
 * domain died) arrives later as an event; devices are added/removed on a
 * running domain; memory and vCPUs change live; suspend writes an image file
 * and restore creates a domain from one.
 *
 * Calls are made from daemon worker threads and may block; a backend must be
 * thread-safe.  Events are delivered by calling the event function given to
 * open(), from any thread (normally the loop thread).  The daemon applies the
 * actions_after_* policy itself: a backend only reports what happened and
 * leaves a shut-down domain in place until destroy() is called.
 *
 * Errors: every op returns 0 on success, -1 on failure with *err filled.
 * err->msg is detail for the daemon's log (it may name paths or errno
 * text) and is never sent to a client.  An op a backend does not implement
 * is NULL: the daemon's gateway (daemon/backend.c) answers NOT_IMPLEMENTED
 * for it, and refuses at open a backend that lacks an op it requires.
 *
 * Logging: a backend never writes to stderr (it is /dev/null once the
 * daemon detaches); it logs through the sink given to open().
 * Ownership: config and device structs passed in are borrowed; lists
 * returned through *_r out-parameters are malloc'd and freed by the caller
 * with free() (flat arrays, no interior pointers).
 */
#ifndef XEND_XENOPS_H
#define XEND_XENOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/loop.h"

typedef enum xo_errcode {
    XO_E_FAIL = 1,      /* backend failure; msg says why */
    XO_E_NOTSUP,        /* not supported by this backend */
    XO_E_NODOMAIN,      /* no such domain */
    XO_E_NOMEM,         /* not enough free host memory */
    XO_E_NOCPU,         /* not enough physical CPUs */
    XO_E_INVAL,         /* configuration or argument rejected */
    XO_E_BUSY,          /* domain in a state that forbids the op */
} xo_errcode;

typedef struct xo_error {
    xo_errcode code;
    char msg[256];          /* detail for the log, never for a client */
    /* XO_E_NOMEM: bytes; XO_E_NOCPU: CPUs.  0: not known (the daemon fills
     * them in from the request and the host). */
    uint64_t needed, available;
} xo_error;

void xo_error_set(xo_error *err, xo_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The numbers of an XO_E_NOMEM (bytes) or XO_E_NOCPU (CPUs) error. */
void xo_error_need(xo_error *err, uint64_t needed, uint64_t available);
/* calloc(n, size), at least one element, or NULL with err set to "out of
 * memory": a backend's allocations report their failure in one way. */
void *xo_calloc(size_t n, size_t size, xo_error *err);

/* ---- logging: the sink the daemon hands a backend at open ---- */
typedef enum xo_log_level { XO_LOG_ERROR, XO_LOG_WARNING, XO_LOG_INFO, XO_LOG_DEBUG } xo_log_level;
typedef void (*xo_log_fn)(void *opaque, xo_log_level level, const char *msg);
typedef struct xo_log_sink {
    xo_log_fn fn;           /* NULL: messages are dropped */
    void *opaque;
} xo_log_sink;

/* One line to the sink (a trailing newline in fmt is dropped). */
void xo_log(const xo_log_sink *sink, xo_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define XO_UUID_LEN 37          /* 36 chars + NUL */
#define XO_NAME_LEN 128
#define XO_PATH_LEN 1024

/* ---- host ---- */
typedef struct xo_host_info {
    char hostname[256];
    char hypervisor[32];            /* "Xen" or "sim" */
    char version[64];               /* e.g. "4.17.3" */
    char capabilities[512];         /* space-separated, e.g. "xen-3.0-x86_64 hvm-3.0-x86_32" */
    char sched_policy[32];          /* "credit2", ... */
    uint64_t total_memory;          /* bytes */
    uint64_t free_memory;           /* bytes */
    unsigned nr_cpus;
    unsigned nr_nodes;
    unsigned cores_per_socket, threads_per_core;
    unsigned cpu_mhz;
} xo_host_info;

typedef struct xo_cpu_info {
    unsigned number;
    char vendor[64];
    char modelname[128];
    char flags[1024];
    char features[256];
    unsigned speed_mhz;
    int64_t family, model, stepping;
    double utilisation;             /* 0..1 */
} xo_cpu_info;

typedef struct xo_nic_info {        /* a physical interface: a PIF */
    char device[32];                /* "eth0" */
    char mac[18];
    unsigned mtu;
    char bridge[64];                /* bridge it is enslaved to, "" if none */
} xo_nic_info;

/* ---- domains ---- */
typedef enum xo_domtype { XO_DOM_PV = 0, XO_DOM_PVH, XO_DOM_HVM } xo_domtype;

typedef enum xo_domstate {
    XO_STATE_RUNNING = 0,   /* running or blocked */
    XO_STATE_PAUSED,
    XO_STATE_SHUTDOWN,      /* shut down, reason in xo_dominfo.reason; still exists */
    XO_STATE_CRASHED,       /* shut down with reason crash */
    XO_STATE_DYING,
} xo_domstate;

typedef enum xo_shutdown_reason {
    XO_SHUTDOWN_NONE = 0,
    XO_SHUTDOWN_POWEROFF,
    XO_SHUTDOWN_REBOOT,
    XO_SHUTDOWN_SUSPEND,
    XO_SHUTDOWN_CRASH,
    XO_SHUTDOWN_WATCHDOG,
} xo_shutdown_reason;

typedef struct xo_dominfo {
    uint32_t domid;
    char uuid[XO_UUID_LEN];
    char name[XO_NAME_LEN];
    xo_domtype type;
    xo_domstate state;
    xo_shutdown_reason reason;      /* valid in SHUTDOWN/CRASHED */
    uint64_t memory_kib;            /* current allocation */
    uint64_t target_kib;            /* balloon target */
    uint64_t max_memory_kib;
    unsigned vcpus_online;
    unsigned vcpus_max;
    uint64_t cpu_time_ns;
    int64_t start_time;             /* unix time, 0 if unknown */
} xo_dominfo;

typedef struct xo_vcpu_info {
    unsigned id;
    int cpu;                        /* physical CPU, -1 if not running */
    bool online;
    uint64_t cpu_time_ns;
} xo_vcpu_info;

typedef struct xo_disk {
    char vdev[16];                  /* "xvda", "hda", "sda" */
    char target[XO_PATH_LEN];       /* file or block device path; "" = empty CD */
    char format[16];                /* "raw", "qcow2", ... */
    bool readonly;
    bool cdrom;
    bool bootable;
} xo_disk;

typedef struct xo_nic {
    int devid;                      /* -1 = next free */
    char mac[18];                   /* "" = backend chooses */
    char bridge[64];
    unsigned mtu;                   /* 0 = default */
    char script[XO_PATH_LEN];       /* "" = default vif script */
} xo_nic;

typedef struct xo_kv { char key[64]; char value[256]; } xo_kv;

/* Bytes a domain's device moved, from the guest's side, counted while the
 * device exists (monotonic; a device plugged again may start again at 0). */
typedef struct xo_dev_io {
    bool nic;                       /* false: a disk, named by vdev; true: a nic, by devid */
    char vdev[16];
    int devid;
    uint64_t rd_bytes;              /* disk: read; nic: received */
    uint64_t wr_bytes;              /* disk: written; nic: sent */
} xo_dev_io;

typedef struct xo_domain_config {
    char uuid[XO_UUID_LEN];
    char name[XO_NAME_LEN];
    xo_domtype type;
    uint64_t memory_static_max_kib;   /* maxmem */
    uint64_t memory_target_kib;       /* initial target (dynamic max) */
    unsigned vcpus_max;
    unsigned vcpus_at_startup;
    unsigned vcpu_weight, vcpu_cap;   /* 0 = default */
    char kernel[XO_PATH_LEN];
    char ramdisk[XO_PATH_LEN];
    char cmdline[XO_PATH_LEN];
    char bootloader[XO_PATH_LEN];
    char bootloader_args[XO_PATH_LEN];
    char boot_order[16];              /* HVM: "cd", ... */
    xo_kv platform[32];               /* VM.platform, passed through */
    size_t n_platform;
    xo_disk *disks;
    size_t n_disks;
    xo_nic *nics;
    size_t n_nics;
    char console_log[XO_PATH_LEN];    /* sim: where console output goes; "" = none */
} xo_domain_config;

/* ---- events ---- */
typedef enum xo_event_type {
    XO_EV_DOMAIN_SHUTDOWN = 1,  /* a domain shut down (guest- or tool-initiated): reason set */
    XO_EV_DOMAIN_DEATH,         /* a domain is gone */
    XO_EV_DOMAIN_NEW,           /* a domain appeared that the daemon did not create */
    XO_EV_DOMAIN_CHANGED,       /* memory/vcpu/pause state changed */
} xo_event_type;

typedef struct xo_event {
    xo_event_type type;
    uint32_t domid;
    char uuid[XO_UUID_LEN];
    xo_shutdown_reason reason;
} xo_event;

typedef void (*xo_event_fn)(void *opaque, const xo_event *ev);

/* Options a backend receives at open (from xend.conf and the command line). */
typedef struct xo_options {
    const char *state_dir;      /* xend's state directory (backends may keep files below it) */
    const char *sim_config;     /* sim: host description file, NULL = built-in default */
    const char *sim_state_dir;  /* sim: where simulated domains live, NULL = <state_dir>/sim */
    xloop *loop;                /* the daemon's event loop */
    xo_event_fn on_event;
    void *opaque;
    xo_log_sink log;            /* where the backend's messages go */
} xo_options;

typedef struct xo_backend xo_backend;   /* backend-private */

typedef struct xo_ops {
    const char *name;   /* "sim", "xen" */

    xo_backend *(*open)(const xo_options *opts, xo_error *err);
    void (*close)(xo_backend *b);

    int (*host_info)(xo_backend *b, xo_host_info *info_r, xo_error *err);
    int (*host_cpus)(xo_backend *b, xo_cpu_info **cpus_r, size_t *n_r, xo_error *err);
    int (*host_nics)(xo_backend *b, xo_nic_info **nics_r, size_t *n_r, xo_error *err);
    int (*host_dmesg)(xo_backend *b, char **text_r, bool clear, xo_error *err);
    int (*host_send_debug_keys)(xo_backend *b, const char *keys, xo_error *err);

    int (*domain_list)(xo_backend *b, xo_dominfo **doms_r, size_t *n_r, xo_error *err);
    int (*domain_info)(xo_backend *b, uint32_t domid, xo_dominfo *info_r, xo_error *err);
    int (*domain_vcpus)(xo_backend *b, uint32_t domid, xo_vcpu_info **v_r, size_t *n_r,
                        xo_error *err);

    /* Build and start a domain; returns once it exists (paused if asked). */
    int (*domain_create)(xo_backend *b, const xo_domain_config *cfg, bool paused,
                         uint32_t *domid_r, xo_error *err);
    int (*domain_pause)(xo_backend *b, uint32_t domid, xo_error *err);
    int (*domain_unpause)(xo_backend *b, uint32_t domid, xo_error *err);
    /* Ask the guest to power off / reboot; completion arrives as DOMAIN_SHUTDOWN. */
    int (*domain_shutdown)(xo_backend *b, uint32_t domid, xo_shutdown_reason how, xo_error *err);
    /* Destroy at once; DOMAIN_DEATH follows (or has happened on return). */
    int (*domain_destroy)(xo_backend *b, uint32_t domid, xo_error *err);
    /* Save the domain's memory image to path; the domain is gone on success. */
    int (*domain_suspend)(xo_backend *b, uint32_t domid, const char *path, xo_error *err);
    /* Create a domain from cfg and the image at path. */
    int (*domain_restore)(xo_backend *b, const xo_domain_config *cfg, const char *path,
                          bool paused, uint32_t *domid_r, xo_error *err);
    int (*domain_set_memory)(xo_backend *b, uint32_t domid, uint64_t target_kib, xo_error *err);
    int (*domain_set_vcpus)(xo_backend *b, uint32_t domid, unsigned online, xo_error *err);
    int (*domain_sched_params)(xo_backend *b, uint32_t domid, unsigned weight, unsigned cap,
                               xo_error *err);
    int (*domain_sysrq)(xo_backend *b, uint32_t domid, char key, xo_error *err);
    int (*domain_trigger)(xo_backend *b, uint32_t domid, const char *trigger, xo_error *err);
    /* Write a core dump of a shut-down/crashed domain to path. */
    int (*domain_coredump)(xo_backend *b, uint32_t domid, const char *path, xo_error *err);
    int (*domain_rename)(xo_backend *b, uint32_t domid, const char *name, xo_error *err);

    int (*disk_add)(xo_backend *b, uint32_t domid, const xo_disk *d, xo_error *err);
    int (*disk_remove)(xo_backend *b, uint32_t domid, const char *vdev, xo_error *err);
    int (*disk_change_media)(xo_backend *b, uint32_t domid, const xo_disk *d, xo_error *err);
    int (*nic_add)(xo_backend *b, uint32_t domid, xo_nic *nic /* devid/mac filled */,
                   xo_error *err);
    int (*nic_remove)(xo_backend *b, uint32_t domid, int devid, xo_error *err);

    /* True when the backend itself opens the config's kernel, ramdisk and
     * bootloader: the daemon then gives it only files confined to the
     * directories xend.conf names (NULL: false). */
    bool (*opens_boot_files)(xo_backend *b);
    /* The pty of the domain's text console, the path a terminal client
     * opens (xm console); fails when it has none (yet).  Optional. */
    int (*domain_console_tty)(xo_backend *b, uint32_t domid, char *path, size_t len, xo_error *err);
    /* The byte counters of the domain's disks and nics that the backend
     * can read (a device it cannot read is left out); *io_r malloc'd.
     * Optional (NULL: XO_E_NOTSUP from the gateway). */
    int (*domain_io)(xo_backend *b, uint32_t domid, xo_dev_io **io_r, size_t *n_r, xo_error *err);
} xo_ops;

/* Every slot of xo_ops, in order.  A backend that implements them all, each
 * named PREFIX_slot, fills its table with XO_OPS_ALL(PREFIX): the list of
 * operations is then written once, and a slot the backend forgot is a
 * compile error rather than a refusal at open (a backend that leaves an
 * optional slot empty on purpose writes its table out). */
#define XO_OPS_LIST(X, p) \
    X(p, open) X(p, close) X(p, host_info) X(p, host_cpus) X(p, host_nics) X(p, host_dmesg) \
    X(p, host_send_debug_keys) X(p, domain_list) X(p, domain_info) X(p, domain_vcpus) \
    X(p, domain_create) X(p, domain_pause) X(p, domain_unpause) X(p, domain_shutdown) \
    X(p, domain_destroy) X(p, domain_suspend) X(p, domain_restore) X(p, domain_set_memory) \
    X(p, domain_set_vcpus) X(p, domain_sched_params) X(p, domain_sysrq) X(p, domain_trigger) \
    X(p, domain_coredump) X(p, domain_rename) X(p, disk_add) X(p, disk_remove) \
    X(p, disk_change_media) X(p, nic_add) X(p, nic_remove) X(p, opens_boot_files) \
    X(p, domain_console_tty) X(p, domain_io)
#define XO_OP_SLOT_(p, slot) .slot = p##_##slot,
#define XO_OPS_ALL(p) XO_OPS_LIST(XO_OP_SLOT_, p)
#define XO_OP_COUNT_(p, slot) +1
_Static_assert(sizeof(xo_ops) == sizeof(const char *)
                                     + (0 XO_OPS_LIST(XO_OP_COUNT_, _)) * sizeof(void (*)(void)),
               "XO_OPS_LIST names every slot of xo_ops");

/* The backends compiled in. */
extern const xo_ops xo_sim_ops;
#ifdef HAVE_XEN
extern const xo_ops xo_xen_ops;
/* True when this host is a Xen control domain (xen backend usable). */
bool xo_xen_host_is_dom0(void);
#endif

/* "sim", "xen" -> ops; NULL if unknown or not built. */
const xo_ops *xo_backend_by_name(const char *name);

#endif
