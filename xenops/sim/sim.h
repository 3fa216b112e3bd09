/* sim: the simulated host's description (see docs/sim-backend.md). */
#ifndef XEND_SIM_H
#define XEND_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include "xenops/xenops.h"

#define SIM_MAX_NICS 8

typedef struct sim_host {
    char hostname[128];
    char version[64];
    char sched[32];
    unsigned cpus;
    unsigned cpu_mhz;
    unsigned memory_mib;
    unsigned dom0_memory_mib;
    unsigned shutdown_delay_ms;     /* how long a cooperative guest takes to shut down */
    xo_nic_info nics[SIM_MAX_NICS];
    size_t n_nics;
} sim_host;

/* Fill h from the key = value file at path (NULL: the built-in defaults).
 * false with a "file:line: reason" message in why on a bad file. */
bool sim_host_load(sim_host *h, const char *path, char *why, size_t why_len);

#endif
