/* xenmock: a fake Xen host behind libxl / libxenctrl / libxenstore, loaded
 * with LD_PRELOAD (tests/xen/mock/xenmock.c) so that the xen backend's own
 * logic (xenops/xen/) runs in `make check` without a hypervisor.
 *
 * The preloaded library defines the libxl, xc_ and xs_ functions the backend
 * calls with a context or a handle; the context-free helpers (init/dispose,
 * uuid, bitmap, *_from_string) stay the real libxenlight's.  It keeps a table
 * of domains (dom0 plus those made through it), delivers domain death events
 * through the osevent and event hooks the backend registered (a pipe the
 * backend's loop watches, as libxl's own fds are), and fires the
 * @introduceDomain watch when a domain appears.
 *
 * A test drives it through these functions, found with dlsym (their absence
 * means the library was not preloaded: the test then skips). */
#ifndef XEND_TESTS_XENMOCK_H
#define XEND_TESTS_XENMOCK_H

#include <stdbool.h>
#include <stdint.h>

/* The next call of the named function ("libxl_domain_pause", "xs_open"...)
 * fails: it returns rc (libxl: an ERROR_* code; xc_/xs_ open: NULL with
 * errno = -rc) after logging msg (if any) through the libxl logger. */
typedef void xenmock_fail_fn(const char *fn, int rc, const char *msg);
/* How many times the named function was called since the last reset. */
typedef unsigned xenmock_calls_fn(const char *fn);
/* Forget domains (but dom0), failures and counters. */
typedef void xenmock_reset_fn(void);
/* A domain made outside the backend (as by `xl create`): its domid. */
typedef uint32_t xenmock_add_domain_fn(const char *name, uint64_t mem_kib, unsigned vcpus);
/* The guest shuts down by itself with this libxl reason (a DOMAIN_SHUTDOWN
 * event follows); false if there is no such domain. */
typedef bool xenmock_guest_shutdown_fn(uint32_t domid, int libxl_reason);
/* The guest has no PV drivers: shutdown/reboot answer ERROR_NOPARAVIRT. */
typedef bool xenmock_no_pv_drivers_fn(uint32_t domid);
/* xenconsoled's pty of domid (made on the first call, published at
 * /local/domain/<domid>/console/tty, closed when the domain goes): the master
 * side, where the test writes what the guest prints and reads what clients
 * typed; -1 if there is no such domain. */
typedef int xenmock_console_fn(uint32_t domid);
/* What /local/domain/<domid>/console/tty says from now on, as a guest that
 * could write it would set it (NULL: xenconsoled's pty again); false if there
 * is no such domain. */
typedef bool xenmock_console_key_fn(uint32_t domid, const char *value);
/* The last sysrq key sent to domid (0 if none). */
typedef char xenmock_last_sysrq_fn(uint32_t domid);

/* The functions themselves (declared for the library; a test uses dlsym). */
xenmock_fail_fn xenmock_fail;
xenmock_calls_fn xenmock_calls;
xenmock_reset_fn xenmock_reset;
xenmock_add_domain_fn xenmock_add_domain;
xenmock_guest_shutdown_fn xenmock_guest_shutdown;
xenmock_no_pv_drivers_fn xenmock_no_pv_drivers;
xenmock_last_sysrq_fn xenmock_last_sysrq;
xenmock_console_fn xenmock_console;
xenmock_console_key_fn xenmock_console_key;

#endif
