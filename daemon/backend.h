/* backend: the daemon's one gateway to the hypervisor backend (xenops).
 *
 * It alone holds the backend's handle and ops.  Every backend op has a
 * function here; an op the backend leaves empty answers XO_E_NOTSUP from
 * that function (the one place that checks), and backend_open refuses a
 * backend that lacks an op the daemon cannot run without.  The backend logs
 * through the daemon's log (xo_options.log), never stderr.
 *
 * backend_error is the one converter from a backend error to a XenAPI
 * error: NOT_IMPLEMENTED for an empty op, numbers in the numeric parameters
 * of HOST_NOT_ENOUGH_FREE_MEMORY and INSUFFICIENT_CPUS, and a fixed text
 * otherwise.  The backend's own message (paths, errno text) goes to the
 * daemon's log only, never to a client.
 *
 * The op functions take no store lock and may block: call them without it.
 */
#ifndef XEND_BACKEND_H
#define XEND_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/xerr.h"
#include "xenops/xenops.h"

/* Open the backend whose ops are o (daemon/main.c picks them by name: the
 * daemon's core never links a backend's libraries) with opts (the log sink
 * is set here); false with *err_r (malloc'd) when it lacks a required op or
 * fails to open. */
bool backend_open_ops(const xo_ops *o, const xo_options *opts, char **err_r);
void backend_close(void);
/* "sim", "xen"; "" before backend_open. */
const char *backend_name(void);

/* A backend error as the API's error (see above); what names the operation
 * ("VM.start").  Logs the backend's message.  Returns false. */
bool backend_error(const xo_error *e, const char *what, xerr **errp);

/* Does the backend open PV_kernel / PV_ramdisk / PV_bootloader itself? */
bool backend_opens_boot_files(void);

/* ---- the ops (xenops.h describes each); 0 or -1 with *err set ---- */
int backend_host_info(xo_host_info *info_r, xo_error *err);
int backend_host_cpus(xo_cpu_info **cpus_r, size_t *n_r, xo_error *err);
int backend_host_nics(xo_nic_info **nics_r, size_t *n_r, xo_error *err);
int backend_host_dmesg(char **text_r, bool clear, xo_error *err);
int backend_host_send_debug_keys(const char *keys, xo_error *err);

int backend_domain_list(xo_dominfo **doms_r, size_t *n_r, xo_error *err);
int backend_domain_info(uint32_t domid, xo_dominfo *info_r, xo_error *err);
int backend_domain_vcpus(uint32_t domid, xo_vcpu_info **v_r, size_t *n_r, xo_error *err);
int backend_domain_io(uint32_t domid, xo_dev_io **io_r, size_t *n_r, xo_error *err);

/* On XO_E_NOMEM / XO_E_NOCPU the numbers the backend left unknown are
 * filled in from cfg and the host. */
int backend_domain_create(const xo_domain_config *cfg, bool paused, uint32_t *domid_r,
                          xo_error *err);
int backend_domain_restore(const xo_domain_config *cfg, const char *path, bool paused,
                           uint32_t *domid_r, xo_error *err);
int backend_domain_pause(uint32_t domid, xo_error *err);
int backend_domain_unpause(uint32_t domid, xo_error *err);
int backend_domain_shutdown(uint32_t domid, xo_shutdown_reason how, xo_error *err);
int backend_domain_destroy(uint32_t domid, xo_error *err);
int backend_domain_suspend(uint32_t domid, const char *path, xo_error *err);
int backend_domain_set_memory(uint32_t domid, uint64_t target_kib, xo_error *err);
int backend_domain_set_vcpus(uint32_t domid, unsigned online, xo_error *err);
int backend_domain_sched_params(uint32_t domid, unsigned weight, unsigned cap, xo_error *err);
int backend_domain_sysrq(uint32_t domid, char key, xo_error *err);
int backend_domain_trigger(uint32_t domid, const char *trigger, xo_error *err);
int backend_domain_coredump(uint32_t domid, const char *path, xo_error *err);
int backend_domain_rename(uint32_t domid, const char *name, xo_error *err);
int backend_domain_console_tty(uint32_t domid, char *path, size_t len, xo_error *err);

int backend_disk_add(uint32_t domid, const xo_disk *d, xo_error *err);
int backend_disk_remove(uint32_t domid, const char *vdev, xo_error *err);
int backend_disk_change_media(uint32_t domid, const xo_disk *d, xo_error *err);
int backend_nic_add(uint32_t domid, xo_nic *nic, xo_error *err);
int backend_nic_remove(uint32_t domid, int devid, xo_error *err);

#endif
