/* xm: the Xen command line, on the public libxen API only.
 *
 * Every command is a function of the table in main.c; it receives its own
 * arguments (argv[0] = the command's name) and returns an exit status
 * (XM_EXIT_*, documented in man/xm.1).
 */
#ifndef XM_XM_H
#define XM_XM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <xen/api/xen_all.h>

enum {
    XM_EXIT_OK = 0,
    XM_EXIT_FAIL = 1,       /* the server refused or failed the operation */
    XM_EXIT_USAGE = 2,      /* bad command, option or argument */
    XM_EXIT_CONNECT = 3,    /* could not reach the server or log in */
    XM_EXIT_NOTFOUND = 4,   /* no such VM or device */
};

typedef struct xm_cmd xm_cmd;

/* One option of a command, for its --help text and bash completion. */
typedef struct xm_opt {
    const char *spelling;   /* "-p, --paused" */
    const char *help;
} xm_opt;

struct xm_cmd {
    const char *name;
    const char *args;       /* synopsis after the name */
    const char *summary;    /* one line */
    int (*run)(int argc, char **argv);
    bool no_server;         /* runs without a connection (help) */
};

/* ---- the connection (conn.c) ---- */
/* The session, connecting and logging in on first use; on failure the
 * reason has been printed and the program exits with XM_EXIT_CONNECT. */
xen_session *xm_session(void);
/* The server URL in use (after -s, XM_SERVER, xm-config.xml, default). */
const char *xm_server_url(void);
/* Global options from the command line (main.c sets them before any call). */
extern const char *xm_opt_server;
extern const char *xm_opt_ca_file;
void xm_disconnect(void);

/* ---- errors and output (util.c) ---- */
/* Print the session's error as "Error: CODE: sentence (params)", clear it,
 * and return XM_EXIT_FAIL. */
int xm_fail(xen_session *s);
/* The same for an error description held elsewhere (a task's error_info). */
int xm_fail_desc(const char *const *desc, int n);
/* Print "Error: " + the formatted message; return code. */
int xm_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Usage error for cmd: message, then the command's synopsis. */
int xm_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xm_print_help(const xm_cmd *c);
const xm_cmd *xm_lookup(const char *name, bool *ambiguous);
extern const xm_cmd xm_commands[];
extern const size_t xm_n_commands;

/* Parse "512", "512m", "2g", "1048576k" into bytes (no suffix: MiB).
 * false on a malformed or overflowing value. */
bool xm_parse_mem(const char *s, int64_t *bytes_r);
/* A command's option: -letter (0: none) and --name; a flag sets *flag,
 * an option with a value sets *value to it.  A table ends with a NULL name. */
typedef struct xm_optdef {
    int letter;
    const char *name;
    bool *flag;
    const char **value;
} xm_optdef;
#define XM_LONG_ONLY 256
/* Parse argv's options by defs, from optind; in_order: options only before
 * the arguments.  Flags and values not given are left as they were.  False
 * on an option defs does not have (getopt printed it). */
bool xm_options(int argc, char **argv, bool in_order, const xm_optdef *defs);
/* Parses the only option a command takes, the flag -X / --name, where shortopts is
 * "X" (options anywhere) or "+X" (options before the arguments); *set_r tells
 * whether it was given.  False on any other option. */
bool xm_flag_option(int argc, char **argv, const char *shortopts, const char *name, bool *set_r);
/* The frame of "xm CMD [options] DOM [ARG...]", after the caller parsed
 * the options: between min and max arguments (else a usage error "expected
 * <expected>"), the first naming the VM; run gets the session, the VM and
 * the arguments after it, and its exit status is returned; the VM is freed
 * after.  A VM that is not found: the exit status of xm_find_vm. */
typedef int (*xm_vm_fn)(xen_session *s, xen_vm vm, char **args, void *ctx);
int xm_on_vm(int argc, char **argv, int min, int max, const char *expected, xm_vm_fn run,
             void *ctx);
/* Parse a non-negative decimal integer that fits in int64_t. */
bool xm_parse_int(const char *s, int64_t *v_r);

/* A VM named by name, uuid or domid: its handle (yours to free with
 * xen_vm_free), or NULL after printing why (then *rc is the exit status). */
xen_vm xm_find_vm(xen_session *s, const char *dom, int *rc);

/* Text tables: add rows of cells, then print with each column as wide as
 * its widest cell; right-aligned columns are marked in the spec. */
typedef struct xm_table xm_table;
xm_table *xm_table_new(size_t ncols, const char *align /* "lrr..." */);
void xm_table_add(xm_table *t, ...);   /* ncols strings */
void xm_table_addv(xm_table *t, char **cells); /* takes ownership of the strings */
void xm_table_print(xm_table *t);
void xm_table_free(xm_table *t);

/* strdup / asprintf that abort on out of memory. */
char *xm_strdup(const char *s);
char *xm_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xm_alloc(size_t n);

/* The value of key in map, or NULL. */
const char *xm_map_get(const xen_string_string_map *map, const char *key);

/* All VMs with their metrics, fetched in two calls (list, top, uptime...). */
typedef struct xm_vmrow {
    xen_vm_record *vm;                  /* borrowed from the maps below */
    xen_vm_metrics_record *metrics;     /* NULL if unknown */
} xm_vmrow;
typedef struct xm_vms {
    xen_vm_xen_vm_record_map *vms;
    xen_vm_metrics_xen_vm_metrics_record_map *metrics;
    xm_vmrow *rows;
    size_t n;
} xm_vms;
/* Fetch; rows sorted: VMs with a domain by domid, then the others by name.
 * false after printing the error. */
bool xm_vms_fetch(xen_session *s, xm_vms *v);
void xm_vms_free(xm_vms *v);
/* The row for DOM (name, uuid or domid), or NULL. */
xm_vmrow *xm_vms_find(xm_vms *v, const char *dom);
/* A VM with a domain (running, paused). */
bool xm_vm_live(const xen_vm_record *r);
/* xend's "rbpscd" state string ("" for a VM without a domain). */
void xm_state_string(const xm_vmrow *r, char out[7]);

/* ---- console (console.c) ---- */
/* Attach the terminal to vm's console until Ctrl-] or the console closes. */
int xm_console_attach(xen_session *s, xen_vm vm, bool quiet);

/* ---- tasks (progress.c) ---- */
/* Wait for task to finish, drawing a progress bar labelled what on a
 * terminal (plain lines otherwise); destroys the task.  On success
 * *result_r (if given) receives the task's result (yours to free).
 * Returns XM_EXIT_OK or the exit status after printing the error. */
int xm_wait_task(xen_session *s, xen_task task, const char *what, char **result_r);

/* ---- SXP (sxp.c) ---- */
typedef struct sxp sxp;
sxp *sxp_list(const char *head);
sxp *sxp_add(sxp *list, sxp *child);                 /* returns list */
sxp *sxp_kv(sxp *list, const char *key, const char *value); /* (key value) */
sxp *sxp_kv_set(sxp *list, const char *key, const char *value); /* (key value) unless value is empty */
sxp *sxp_kvf(sxp *list, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Pretty-print as xend's PrettyPrint did (width 80), then a newline. */
void sxp_pretty(const sxp *x, FILE *out);
void sxp_free(sxp *x);

#endif
