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

/* ---- log domains ----
 * A module logs under a domain, named once per source file:
 *
 *     XLOG_DOMAIN("persist");
 *     xlogd(XLOG_INFO, "checkpoint done");    // "info: persist: checkpoint done"
 *
 * A domain's threshold is the global level (xlog_set_level) unless a filter
 * names it.  Filters come from xend.conf's log-filters and are set again on
 * SIGHUP (docs/xend.conf.md): a list of "domain=level" separated by commas
 * or blanks, "*" meaning every domain without a filter of its own, e.g.
 * "persist=debug, rpc=warning".  Checking a domain's threshold costs two
 * atomic loads while the filters stay as they are. */
typedef struct xlog_domain {
    const char *name;
    _Atomic unsigned gen;       /* the filters' generation level was computed for */
    _Atomic int level;
} xlog_domain;

/* Declares the file's domain (static, named xlog_dom_). */
#define XLOG_DOMAIN(name) static xlog_domain xlog_dom_ = { name, 0, 0 }

/* True when d writes messages at lvl. */
bool xlog_domain_enabled(xlog_domain *d, xlog_level lvl);
void xlog_in(xlog_domain *d, xlog_level lvl, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define xlogd(lvl, ...) xlog_in(&xlog_dom_, (lvl), __VA_ARGS__)
#define xlogd_enabled(lvl) xlog_domain_enabled(&xlog_dom_, (lvl))

/* Checks filters (syntax as above, level names as xlog_level_parse); false
 * with *err_r (malloc'd) naming the first bad item. */
bool xlog_filters_check(const char *spec, char **err_r);
/* Replaces every filter with spec's (NULL or "" clears them); false, with
 * the filters unchanged, when spec is bad.  Takes effect at once in every
 * thread.  The daemon calls it at start and on SIGHUP. */
bool xlog_set_filters(const char *spec, char **err_r);
/* The filters in force, normalized ("persist=debug,rpc=warning"; "" for
 * none); malloc'd. */
char *xlog_get_filters(void);

#define xlog_err(...)   xlog(XLOG_ERROR, __VA_ARGS__)
#define xlog_warn(...)  xlog(XLOG_WARNING, __VA_ARGS__)
#define xlog_info(...)  xlog(XLOG_INFO, __VA_ARGS__)
#define xlog_debug(...) do { if (xlog_enabled(XLOG_DEBUG)) xlog(XLOG_DEBUG, __VA_ARGS__); } while (0)

#endif
