/* host: this host, its CPUs, metrics, NICs, the pool and dom0, built from
 * the backend at start-up and kept live. */
#ifndef XEND_HOST_H
#define XEND_HOST_H

#include <stdbool.h>
#include "xenops/xenops.h"

/* Build host, host_cpu, host_metrics, PIF(+metrics), network, pool and the
 * dom0 VM from the backend.  state_dir holds the stable host uuid. */
bool host_setup(const char *state_dir, char **err_r);
/* Refresh live values (host_metrics, host_cpu utilisation). */
void host_refresh(void);
/* Where host.get_log reads the daemon's log (NULL: nowhere). */
void host_set_log_file(const char *path);
/* The host's ref (constant after host_setup). */
const char *host_ref(void);

#endif
