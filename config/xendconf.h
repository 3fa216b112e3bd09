/* xendconf: the daemon's configuration file (xend.conf), see docs/xend.conf.md.
 *
 * Usage: xend_config_init(), xend_config_load() (optional),
 * xend_config_add_listener() for command-line overrides,
 * xend_config_validate(), then read the fields; xend_config_dispose().
 * A loaded config is read-only and may then be shared between threads.
 */
#ifndef XEND_XENDCONF_H
#define XEND_XENDCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/log.h"

typedef enum { XEND_LISTEN_UNIX, XEND_LISTEN_HTTP, XEND_LISTEN_HTTPS } xend_listen_kind;

typedef struct xend_listener {
    xend_listen_kind kind;
    char *path;             /* UNIX: socket path; else NULL */
    char *host;             /* HTTP(S): address or name without [];
                             * NULL for "*" (all addresses, AI_PASSIVE) */
    int port;               /* HTTP(S): 1..65535; UNIX: 0 */
    bool auth_none;         /* true: any user/password is accepted */
    char *cert_file;        /* HTTPS: PEM certificate (chain); else NULL */
    char *key_file;         /* HTTPS: PEM private key; else NULL */
    char *client_ca_file;   /* HTTPS: PEM CA certificates a client certificate is verified
                             * against; its common name may then log in without a
                             * password (docs/security.md); else NULL */
    char **allow;           /* client IP allow-list (POSIX EREs, whole match) */
    size_t n_allow;         /* 0: every client is allowed */
    void *allow_re;         /* private: compiled allow[] */
    char *group;            /* UNIX: members of this group may connect (0660); else NULL */
} xend_listener;

/* ---- roles (docs/security.md): who gets which XAPI role at login ---- */
typedef struct xend_role_map {
    char *name;             /* user or group name */
    bool is_group;          /* role-group (true) or role-user (false) */
    char *role;             /* one of XEND_CONFIG_ROLE_NAMES */
} xend_role_map;
/* XAPI's six roles, most privileged first (the datamodel's "roles"). */
#define XEND_CONFIG_ROLE_NAMES \
    { "pool-admin", "pool-operator", "vm-power-admin", "vm-admin", "vm-operator", "read-only" }

typedef struct xend_config {
    char *state_dir;
    char *backend;          /* "sim", "xen" or "auto" */
    char *sim_config;       /* NULL: none */
    char *pid_file;
    char *log_file;         /* NULL: stderr (foreground) or syslog */
    int log_level;          /* an xlog_level */
    char *log_filters;      /* per-domain levels (util/log.h), NULL: none */
    char *audit_log;        /* the audit log (daemon/audit.h); NULL: none */
    xend_listener *listeners;
    size_t n_listeners;
    char *pam_service;
    size_t max_request_bytes;
    int max_xml_depth;
    unsigned workers, http_threads;
    unsigned session_timeout;       /* seconds; 0: sessions never expire */
    /* logins under abuse (docs/security.md) */
    unsigned auth_threads;          /* threads checking passwords of TCP logins */
    unsigned login_backoff_ms, login_backoff_max_ms;   /* delay after the first failure, its ceiling */
    unsigned sessions_per_user, sessions_per_originator, sessions_root;
    /* bounded cost for strangers (docs/security.md) */
    unsigned http_timeout;          /* seconds a connection may sit idle or trickle */
    unsigned connections_per_address;   /* per TCP listener; 0: no limit */
    size_t body_budget;             /* bytes all request bodies being received may hold */
    unsigned fd_reserve;            /* descriptors TCP connections leave to the rest */
    unsigned task_expiry;           /* seconds; 0: tasks never expire */
    size_t max_finished_tasks;      /* finished tasks kept at most (oldest destroyed first) */
    size_t event_log_size;
    size_t event_log_bytes;         /* bytes of records the event log holds at most */
    char *web_dir;          /* the web console's files; NULL: no console */
    /* Where client-named files may be (daemon/paths.h); NULL: the default
     * below state_dir (images, sr, kernels; no bootloader directory). */
    char *image_dir;        /* VM.save dest, VM.restore src */
    char *sr_dir;           /* SR.create's device_config:location */
    char *kernel_dir;       /* PV_kernel, PV_ramdisk */
    char *bootloader_dir;   /* an absolute PV_bootloader */
    char *metrics;          /* GET /metrics: "off", "loopback" (and the Unix socket) or "any" */
    char *tls_priorities;           /* GnuTLS priority string; NULL: XEND_CONFIG_TLS_DEFAULT_PRIORITIES */
    char *on_xend_stop;             /* running guests when xend stops: "ignore", "shutdown", "suspend" */
    unsigned on_xend_stop_timeout;  /* seconds xend waits for those shutdowns and suspends */
    bool listeners_default;         /* private: listeners[] is the built-in default */
    /* roles: role-user / role-group lines in file order, and role-default (NULL:
     * an authenticated account that no line maps may not log in) */
    xend_role_map *role_maps;
    size_t n_role_maps;
    char *role_default;
} xend_config;

/* TLS 1.2 and 1.3 only; only AEAD ciphers (AES-GCM, ChaCha20-Poly1305) with
 * forward-secret key exchange (ECDHE, DHE; TLS 1.3's are all such). */
#define XEND_CONFIG_TLS_DEFAULT_PRIORITIES "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:" \
    "+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-GCM:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:+DHE-RSA:" \
    "%SERVER_PRECEDENCE"

#define XEND_CONFIG_DEFAULT_AUDIT_LOG "/var/log/xend/audit.log"

#define XEND_CONFIG_DEFAULT_LISTEN "unix:/var/run/xend/xen-api.sock auth=none"

/* Fills c with the defaults (including the default listener); c owns them. */
void xend_config_init(xend_config *c);

/* Replaces c's contents with the defaults plus the settings in path.  On
 * failure c is unchanged and *err_r is "path:line: message" (caller frees). */
bool xend_config_load(xend_config *c, const char *path, char **err_r);

/* The same from an open stream; path names it in messages.  f stays open. */
bool xend_config_load_stream(xend_config *c, FILE *f, const char *path, char **err_r);

/* Appends a listener parsed from spec (the `listen` value syntax).  The first
 * listener added replaces the built-in default one.  On failure c is unchanged. */
bool xend_config_add_listener(xend_config *c, const char *spec, char **err_r);

/* Removes all listeners (none is left, not even the default). */
void xend_config_clear_listeners(xend_config *c);

/* Checks what the parser cannot: cert/key/sim-config files are readable,
 * there is at least one listener, no address is used twice, etc. */
bool xend_config_validate(const xend_config *c, char **err_r);

/* Frees everything c owns; NULL and an initialised-then-disposed c are fine. */
void xend_config_dispose(xend_config *c);

/* True when client_ip ("10.0.0.1", "::1", "::ffff:10.0.0.1") passes l's
 * allow-list (always for an empty list or a Unix listener).  IPv4-mapped
 * addresses are also tried in dotted form.  Thread-safe. */
bool xend_listener_allows(const xend_listener *l, const char *client_ip);

/* A static warning the daemon should log at startup for l, or NULL:
 * TCP listener without authentication, or passwords sent in clear text. */
const char *xend_listener_warning(const xend_listener *l);

/* "unix:/path auth=none", "https:[::1]:9367 auth=pam"; caller frees; NULL on ENOMEM. */
char *xend_listener_describe(const xend_listener *l);

#endif
