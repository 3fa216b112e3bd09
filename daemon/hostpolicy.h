/* hostpolicy: what xend does to guests when it starts and when it stops
 * (xend's on_xend_start / on_xend_stop, LEGACY.md §5.4).
 *
 * - Start: once per host boot, every Halted VM with auto_power_on (XenAPI's
 *   name for on_xend_start = start) is started, on a thread of its own, so
 *   that readiness does not wait for guests to boot.  A restart of xend
 *   within the same boot starts nothing (the administrator may have shut
 *   those guests down on purpose).
 * - Stop: each running or paused VM is left, shut down cleanly or suspended,
 *   by other_config:on_xend_stop of the VM or else xend.conf's on-xend-stop
 *   (ignore, shutdown, suspend); xend waits for those operations.
 *
 * The operations are made as the XenAPI calls a local root client would
 * make (VM.start, VM.clean_shutdown, VM.suspend), through the dispatcher.
 */
#ifndef XEND_HOSTPOLICY_H
#define XEND_HOSTPOLICY_H

#include <stdbool.h>

/* After the daemon is ready: starts the auto_power_on VMs in the background
 * if this is the first start of xend since the host booted (recorded in
 * state_dir/autostart-boot-id). */
void hostpolicy_start(const char *state_dir);

/* Before the listeners stop: waits for the start-up thread, then applies
 * on_xend_stop (default_action: "ignore", "shutdown" or "suspend") and waits
 * up to timeout_s seconds for the operations to finish. */
void hostpolicy_stop(const char *default_action, unsigned timeout_s);

#endif
