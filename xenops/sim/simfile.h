/* simfile: the sim backend's on-disk records, shared by the backend and
 * xend-simctl.  A domain file is text, one "key value" per line, values
 * %-escaped (see docs/sim-backend.md).  Private to xenops/sim.
 */
#ifndef XEND_SIMFILE_H
#define XEND_SIMFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenops/xenops.h"

#define SIM_MAX_DISKS 64
#define SIM_MAX_NICS 64

typedef struct sim_dom {
    uint32_t domid;
    char uuid[XO_UUID_LEN];
    char name[XO_NAME_LEN];
    xo_domtype type;
    xo_domstate state;
    xo_shutdown_reason reason;
    xo_shutdown_reason pending;     /* shutdown requested, not yet done */
    uint64_t target_kib, max_kib;
    unsigned vcpus_online, vcpus_max;
    unsigned weight, cap;
    uint64_t cpu_time_ns;           /* accumulated up to run_since_ms */
    int64_t run_since_ms;           /* CLOCK_REALTIME ms when last set running, 0 if not */
    int64_t start_time;             /* unix seconds */
    bool unresponsive;
    bool foreign;                   /* appeared outside xend */
    char kernel[XO_PATH_LEN];
    char cmdline[XO_PATH_LEN];
    char console_log[XO_PATH_LEN];
    size_t n_disks, n_nics;
    xo_disk disks[SIM_MAX_DISKS];
    xo_nic nics[SIM_MAX_NICS];
} sim_dom;

const char *sim_state_name(xo_domstate s);
const char *sim_reason_name(xo_shutdown_reason r);
const char *sim_type_name(xo_domtype t);

/* Serialise to a malloc'd string; NULL on OOM. */
char *sim_dom_format(const sim_dom *d);
/* Parse text into *d; -1 with msg filled (msg_len bytes) on error. */
int sim_dom_parse(const char *text, sim_dom *d, char *msg, size_t msg_len);

/* Whole-file helpers. */
/* Read at most max bytes; malloc'd NUL-terminated; NULL with errno. */
char *sim_read_file(const char *path, size_t max, size_t *len_r);
/* temp file + fsync + rename + fsync(dir); -1 with errno. */
int sim_write_atomic(const char *path, const void *data, size_t len);
/* mkdir -p; -1 with errno. */
int sim_mkdirs(const char *path);

/* Sub-paths below a sim state dir. */
#define SIM_DOMAINS_SUBDIR "domains"
#define SIM_CTL_SUBDIR "ctl"
#define SIM_NEXT_DOMID_FILE "next-domid"

#endif
