/* service: xend as a system service.
 *
 * - Daemon mode: service_daemonize() forks; the parent stays until the child
 *   reports service_ready() or service_fail(), then exits with the child's
 *   status, printing the child's reason on stderr.
 * - systemd (Type=notify): READY, RELOADING, STOPPING, STATUS and the
 *   watchdog, through sd_notify(); without $NOTIFY_SOCKET these do nothing.
 * - One xend per state directory: an exclusive lock on the directory.
 * - A pid file locked by its owner, and removed only by it.
 *
 * Everything here is called from the main thread only.
 */
#ifndef XEND_SERVICE_H
#define XEND_SERVICE_H

#include <stdbool.h>

/* Fork into the background.  Returns in the child only; the parent exits
 * once the child is ready (0) or has failed (1, with its reason). */
void service_daemonize(void);

/* Start-up is done: tell the waiting parent and systemd (READY=1). */
void service_ready(const char *status);

/* Start-up failed: log "what: why" as an error, tell the waiting parent
 * (or stderr in the foreground), remove our pid file, exit(1). */
void service_fail(const char *what, const char *why) __attribute__((noreturn));

/* systemd notifications (no-ops outside systemd). */
void service_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void service_reloading(void);
void service_reloaded(void);
void service_stopping(void);
/* Call regularly from the main loop: pets the watchdog when it is on. */
void service_watchdog(void);

/* Takes an exclusive lock on the directory dir (kept until exit).  False
 * with *err_r naming the holder's pid when another process has it. */
bool service_lock_state_dir(const char *dir, char **err_r);

/* Creates and locks the pid file and writes our pid.  False with *err_r
 * when another live process holds it. */
bool service_pid_file(const char *path, char **err_r);
/* Removes the pid file if we own it (idempotent). */
void service_pid_file_remove(void);

#endif
