/* log: the daemon's log.  Timestamped lines to a file, stderr or syslog.
 *
 *   2026-11-24T17:30:01Z xend[1234]: warning: message
 *
 * Under systemd (stderr is the journal's stream) a line is "<N>level: message"
 * with N its syslog priority, which journald takes as the entry's priority.
 *
 * All functions are thread-safe.  Until xlog_open() is called, messages at
 * XLOG_INFO and above go to stderr.  Control characters in messages are
 * replaced by '?' so that client-supplied text cannot forge log lines.
 */
#ifndef XEND_LOG_H
#define XEND_LOG_H

#include <stdarg.h>
#include <stdbool.h>

typedef enum { XLOG_ERROR, XLOG_WARNING, XLOG_INFO, XLOG_DEBUG } xlog_level;

/* file: append to this file; NULL: stderr when foreground, else syslog
 * (LOG_DAEMON).  If the file cannot be opened, logs to stderr (foreground)
 * or syslog and reports that as an error line.  May be called again. */
void xlog_open(const char *file, xlog_level level, bool foreground);
/* Reopens the log file (after rotation); no-op for stderr/syslog. */
void xlog_reopen(void);
/* True when messages go to stderr (foreground without a log file, or
 * before xlog_open()). */
bool xlog_to_stderr(void);
/* Flushes and closes the log; later messages go to stderr again. */
void xlog_close(void);

void xlog_set_level(xlog_level level);
xlog_level xlog_get_level(void);
/* True when messages at lvl are written (skip costly formatting otherwise). */
bool xlog_enabled(xlog_level lvl);

/* Writes one line (a trailing newline in fmt is dropped). */
void xlog(xlog_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xlogv(xlog_level lvl, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* "error", "warning", "info", "debug"; static string. */
const char *xlog_level_name(xlog_level lvl);
/* Parses a level name as above; false if unknown. */
bool xlog_level_parse(const char *name, xlog_level *out);

#define xlog_err(...)   xlog(XLOG_ERROR, __VA_ARGS__)
#define xlog_warn(...)  xlog(XLOG_WARNING, __VA_ARGS__)
#define xlog_info(...)  xlog(XLOG_INFO, __VA_ARGS__)
#define xlog_debug(...) do { if (xlog_enabled(XLOG_DEBUG)) xlog(XLOG_DEBUG, __VA_ARGS__); } while (0)

#endif
