/* xendconf: see xendconf.h and docs/xend.conf.md. */
#include "config.h"

#include "config/xendconf.h"
#include "util/strutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- small helpers ---------------------------------------------------- */

static void conf_set_err(char **err_r, char *msg)
{
    if (err_r)
        *err_r = msg ? msg : strdup("out of memory");
    else
        free(msg);
}

static bool conf_is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

static char *conf_trim(char *s)
{
    while (conf_is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && (conf_is_space(s[n - 1]) || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Decimal number in [min, max]; with_suffix also takes K, M, G (x1024). */
static bool conf_parse_num(const char *s, uint64_t min, uint64_t max, bool with_suffix,
             uint64_t *out, char **msg_r)
{
    uint64_t v = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        goto bad;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            goto range;
        v = v * 10 + d;
    }
    if (*p && with_suffix && !p[1]) {
        uint64_t mul;
        switch (*p) {
        case 'k': case 'K': mul = 1024; break;
        case 'm': case 'M': mul = 1024 * 1024; break;
        case 'g': case 'G': mul = 1024 * 1024 * 1024; break;
        default: goto bad;
        }
        if (v > UINT64_MAX / mul)
            goto range;
        v *= mul;
        p++;
    }
    if (*p)
        goto bad;
    if (v < min || v > max)
        goto range;
    *out = v;
    return true;
bad:
    *msg_r = xstrfmt("'%s' is not a number", s);
    return false;
range:
    *msg_r = xstrfmt("%s is out of range (%llu..%llu)", s,
            (unsigned long long)min, (unsigned long long)max);
    return false;
}

/* ---- listeners -------------------------------------------------------- */

static void xend_listener_dispose(xend_listener *l)
{
    if (!l)
        return;
    regex_t *re = l->allow_re;
    for (size_t i = 0; i < l->n_allow; i++) {
        if (re)
            regfree(&re[i]);
        free(l->allow[i]);
    }
    free(re);
    free(l->allow);
    free(l->path);
    free(l->host);
    free(l->cert_file);
    free(l->key_file);
    free(l->client_ca_file);
    free(l->group);
    memset(l, 0, sizeof *l);
}

static bool conf_host_ok(const char *h, bool bracketed)
{
    if (!*h)
        return false;
    if (bracketed) {
        /* an IPv6 literal, optionally with a %zone */
        const char *pct = strchr(h, '%');
        size_t alen = pct ? (size_t)(pct - h) : strlen(h);
        char addr[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        if (alen == 0 || alen >= sizeof addr)
            return false;
        memcpy(addr, h, alen);
        addr[alen] = '\0';
        if (inet_pton(AF_INET6, addr, &a6) != 1)
            return false;
        if (pct) {
            if (!pct[1])
                return false;
            for (const char *p = pct + 1; *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
                    return false;
        }
        return true;
    }
    for (const char *p = h; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
            return false;
    return true;
}

/* Parses "HOST[:PORT]" (HOST may be [v6] or *) into l; PORT defaults to
 * default_port (9363 for http, 9367 for https, as xend's sample config). */
static bool conf_parse_hostport(const char *hp, int default_port, xend_listener *l, char **msg_r)
{
    const char *colon;
    char *host = NULL;
    bool ok = false;
    uint64_t port;

    if (*hp == '[') {
        const char *close = strchr(hp, ']');
        if (!close || (close[1] != ':' && close[1] != '\0')) {
            *msg_r = xstrfmt("'%s': expected [IPV6]:PORT", hp);
            goto out;
        }
        host = strndup(hp + 1, (size_t)(close - hp - 1));
        if (!host)
            goto out;
        if (!conf_host_ok(host, true)) {
            *msg_r = xstrfmt("'%s' is not an IPv6 address", host);
            goto out;
        }
        colon = close[1] ? close + 1 : NULL;
    } else {
        colon = strrchr(hp, ':');
        host = colon ? strndup(hp, (size_t)(colon - hp)) : strdup(hp);
        if (!host)
            goto out;
        if (strchr(host, ':')) {
            *msg_r = xstrfmt("'%s': an IPv6 address needs brackets, as [%s]:PORT", hp, host);
            goto out;
        }
        if (strcmp(host, "*") == 0) {
            free(host);
            host = NULL;
        } else if (!conf_host_ok(host, false)) {
            *msg_r = xstrfmt("'%s' is not a valid host name or address", host);
            goto out;
        }
    }
    if (!colon) {
        port = (uint64_t)default_port;
    } else if (!conf_parse_num(colon + 1, 1, 65535, false, &port, msg_r)) {
        char *inner = *msg_r;
        *msg_r = xstrfmt("bad port: %s", inner ? inner : colon + 1);
        free(inner);
        goto out;
    }
    l->host = host;
    host = NULL;
    l->port = (int)port;
    ok = true;
out:
    free(host);
    return ok;
}

static bool conf_set_once(char **field, const char *key, const char *val, char **msg_r)
{
    if (*field) {
        *msg_r = xstrfmt("option %s= given twice", key);
        return false;
    }
    if (!*val) {
        *msg_r = xstrfmt("option %s= needs a value", key);
        return false;
    }
    *field = strdup(val);
    return *field != NULL;
}

/* glibc's regcomp copies a subexpression for each `+` and `{n,m}` (so that
 * nested ones multiply): an allow pattern of a few hundred bytes could take
 * gigabytes.  Refused: longer than ALLOW_MAX bytes, a product of
 * repetition factors (`+` 2, `{n,m}` max(n,m)+1, over the whole pattern, an
 * upper bound of any nesting) above ALLOW_COST, or two repetitions in a row.  An address pattern needs
 * neither: "192\.168\.[0-9]{1,3}\.[0-9]{1,3}" costs 16. */
#define ALLOW_MAX 256
#define ALLOW_COST 4096

static bool conf_allow_cheap(const char *p)
{
    if (strlen(p) > ALLOW_MAX)
        return false;
    unsigned long cost = 1;
    bool after_repeat = false;          /* the previous item was *, +, ? or {n,m} */
    for (const char *c = p; *c; c++) {
        unsigned long f = 1;
        bool repeat = *c == '*' || *c == '+' || *c == '?' || *c == '{';
        /* POSIX leaves repetitions in a row undefined; glibc's regcomp
         * takes seconds on a dozen of them ("a++*+++++++++"). */
        if (repeat && after_repeat)
            return false;
        after_repeat = repeat;
        if (*c == '\\' && c[1]) {
            c++;
        } else if (*c == '[') {             /* a bracket expression: literal */
            const char *e = c + 1;
            if (*e == '^')
                e++;
            if (*e == ']')
                e++;
            while (*e && *e != ']') {
                if (*e == '[' && (e[1] == ':' || e[1] == '.' || e[1] == '=')) {
                    const char *close = strchr(e + 2, ']');
                    if (!close)
                        return false;
                    e = close;
                }
                e++;
            }
            if (!*e)
                return false;               /* regcomp refuses it anyway */
            c = e;
        } else if (*c == '+') {
            f = 2;
        } else if (*c == '{') {
            unsigned long n = 0, m = 0;
            const char *e = c + 1;
            for (; *e >= '0' && *e <= '9' && n <= ALLOW_COST; e++)
                n = n * 10 + (unsigned long)(*e - '0');
            if (*e == ',')
                for (e++; *e >= '0' && *e <= '9' && m <= ALLOW_COST; e++)
                    m = m * 10 + (unsigned long)(*e - '0');
            f = (n > m ? n : m) + 1;
            if (*e == '}')
                c = e;
        }
        if (f > ALLOW_COST || (cost *= f) > ALLOW_COST)
            return false;
    }
    return true;
}

static bool conf_compile_allow(xend_listener *l, char **msg_r)
{
    if (l->n_allow == 0)
        return true;
    regex_t *re = calloc(l->n_allow, sizeof *re);
    if (!re)
        return false;
    for (size_t i = 0; i < l->n_allow; i++) {
        /* Compile the pattern alone first so that errors refer to it, then
         * anchored so that it must match the whole address. */
        char errbuf[128];
        if (!conf_allow_cheap(l->allow[i])) {
            *msg_r = xstrfmt("allow=%.64s%s: too long or too many repetitions (at most %d bytes; "
                             "the product of the + and {n,m} counts at most %d; no two "
                             "repetitions in a row)", l->allow[i],
                             strlen(l->allow[i]) > 64 ? "..." : "", ALLOW_MAX, ALLOW_COST);
            for (size_t j = 0; j < i; j++)
                regfree(&re[j]);
            free(re);
            return false;
        }
        int rc = regcomp(&re[i], l->allow[i], REG_EXTENDED | REG_NOSUB);
        if (rc == 0) {
            regfree(&re[i]);
            char *anchored = xstrfmt("^(%s)$", l->allow[i]);
            if (!anchored) {
                rc = REG_ESPACE;
            } else {
                rc = regcomp(&re[i], anchored, REG_EXTENDED | REG_NOSUB);
                free(anchored);
            }
            if (rc == 0)
                continue;
            regerror(rc, &re[i], errbuf, sizeof errbuf);
        } else {
            regerror(rc, &re[i], errbuf, sizeof errbuf);
        }
        *msg_r = xstrfmt("allow=%s: invalid regular expression: %s", l->allow[i], errbuf);
        for (size_t j = 0; j < i; j++)
            regfree(&re[j]);
        free(re);
        return false;
    }
    l->allow_re = re;
    return true;
}

/* A user or group name as useradd/groupadd accept it (no blanks, no ':'). */
static bool conf_name_ok(const char *s)
{
    if (!*s || strlen(s) > 255 || *s == '-')
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-$", *p))
            return false;
    return true;
}

/* Parses one listener spec into *l (zeroed on entry).  *msg_r: unprefixed. */
static bool conf_parse_listener(const char *spec, xend_listener *l, char **msg_r)
{
    char *copy = strdup(spec);
    char *save = NULL;
    bool ok = false;
    bool auth_set = false;

    memset(l, 0, sizeof *l);
    if (!copy)
        goto out;

    char *addr = strtok_r(copy, " \t", &save);
    if (!addr) {
        *msg_r = xstrfmt("empty listener specification");
        goto out;
    }
    if (strncmp(addr, "unix:", 5) == 0) {
        l->kind = XEND_LISTEN_UNIX;
        l->auth_none = true;
        const char *p = addr + 5;
        if (!*p) {
            *msg_r = xstrfmt("unix: needs a socket path");
            goto out;
        }
        if (strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            *msg_r = xstrfmt("socket path '%s' is too long", p);
            goto out;
        }
        if (!(l->path = strdup(p)))
            goto out;
    } else if (strncmp(addr, "http:", 5) == 0) {
        l->kind = XEND_LISTEN_HTTP;
        if (!conf_parse_hostport(addr + 5, 9363, l, msg_r))
            goto out;
    } else if (strncmp(addr, "https:", 6) == 0) {
        l->kind = XEND_LISTEN_HTTPS;
        if (!conf_parse_hostport(addr + 6, 9367, l, msg_r))
            goto out;
    } else {
        *msg_r = xstrfmt("'%s': a listener is unix:PATH, http:HOST:PORT or https:HOST:PORT", addr);
        goto out;
    }

    for (char *opt; (opt = strtok_r(NULL, " \t", &save)); ) {
        char *eq = strchr(opt, '=');
        if (!eq) {
            *msg_r = xstrfmt("'%s': options are written as name=value", opt);
            goto out;
        }
        *eq = '\0';
        const char *val = eq + 1;
        if (strcmp(opt, "auth") == 0) {
            if (auth_set) {
                *msg_r = xstrfmt("option auth= given twice");
                goto out;
            }
            auth_set = true;
            if (strcmp(val, "none") == 0) {
                l->auth_none = true;
            } else if (strcmp(val, "pam") == 0) {
                l->auth_none = false;
            } else {
                *msg_r = xstrfmt("auth=%s: expected auth=none or auth=pam", val);
                goto out;
            }
        } else if (strcmp(opt, "cert") == 0 || strcmp(opt, "key") == 0) {
            if (l->kind != XEND_LISTEN_HTTPS) {
                *msg_r = xstrfmt("option %s= only applies to https listeners", opt);
                goto out;
            }
            if (!conf_set_once(opt[0] == 'c' ? &l->cert_file : &l->key_file, opt, val, msg_r))
                goto out;
        } else if (strcmp(opt, "client-ca") == 0) {
            if (l->kind != XEND_LISTEN_HTTPS) {
                *msg_r = xstrfmt("option client-ca= only applies to https listeners");
                goto out;
            }
            if (!conf_set_once(&l->client_ca_file, opt, val, msg_r))
                goto out;
        } else if (strcmp(opt, "group") == 0) {
            if (l->kind != XEND_LISTEN_UNIX) {
                *msg_r = xstrfmt("option group= only applies to unix listeners");
                goto out;
            }
            if (!conf_name_ok(val)) {
                *msg_r = xstrfmt("group=%s: not a valid group name", val);
                goto out;
            }
            if (!conf_set_once(&l->group, opt, val, msg_r))
                goto out;
        } else if (strcmp(opt, "allow") == 0) {
            if (l->kind == XEND_LISTEN_UNIX) {
                *msg_r = xstrfmt("option allow= only applies to http and https listeners");
                goto out;
            }
            if (!*val) {
                *msg_r = xstrfmt("option allow= needs a regular expression");
                goto out;
            }
            char **na = realloc(l->allow, (l->n_allow + 1) * sizeof *na);
            if (!na)
                goto out;
            l->allow = na;
            if (!(na[l->n_allow] = strdup(val)))
                goto out;
            l->n_allow++;
        } else {
            *msg_r = xstrfmt("unknown listener option '%s'", opt);
            goto out;
        }
    }

    if (l->kind == XEND_LISTEN_HTTPS && (!l->cert_file || !l->key_file)) {
        *msg_r = xstrfmt("an https listener needs cert=FILE and key=FILE");
        goto out;
    }
    if (l->client_ca_file && l->auth_none) {
        *msg_r = xstrfmt("option client-ca= is for a listener that authenticates (auth=pam)");
        goto out;
    }
    if (!conf_compile_allow(l, msg_r))
        goto out;
    ok = true;
out:
    if (!ok)
        xend_listener_dispose(l);
    free(copy);
    return ok;
}

static bool conf_append_listener(xend_config *c, xend_listener *l)
{
    if (c->listeners_default)
        xend_config_clear_listeners(c);
    xend_listener *n = realloc(c->listeners, (c->n_listeners + 1) * sizeof *n);
    if (!n)
        return false;
    c->listeners = n;
    n[c->n_listeners++] = *l;
    memset(l, 0, sizeof *l);
    return true;
}

void xend_config_clear_listeners(xend_config *c)
{
    for (size_t i = 0; i < c->n_listeners; i++)
        xend_listener_dispose(&c->listeners[i]);
    free(c->listeners);
    c->listeners = NULL;
    c->n_listeners = 0;
    c->listeners_default = false;
}

bool xend_config_add_listener(xend_config *c, const char *spec, char **err_r)
{
    xend_listener l;
    char *msg = NULL;
    if (!conf_parse_listener(spec, &l, &msg)) {
        conf_set_err(err_r, msg ? xstrfmt("listener '%s': %s", spec, msg) : NULL);
        free(msg);
        return false;
    }
    if (!conf_append_listener(c, &l)) {
        xend_listener_dispose(&l);
        conf_set_err(err_r, NULL);
        return false;
    }
    return true;
}

bool xend_listener_allows(const xend_listener *l, const char *client_ip)
{
    if (l->kind == XEND_LISTEN_UNIX || l->n_allow == 0)
        return true;
    if (!client_ip || !l->allow_re)
        return false;

    const char *v4 = NULL;
    struct in_addr a4;
    if (strncasecmp(client_ip, "::ffff:", 7) == 0 && inet_pton(AF_INET, client_ip + 7, &a4) == 1)
        v4 = client_ip + 7;

    const regex_t *re = l->allow_re;
    for (size_t i = 0; i < l->n_allow; i++) {
        if (regexec(&re[i], client_ip, 0, NULL, 0) == 0)
            return true;
        if (v4 && regexec(&re[i], v4, 0, NULL, 0) == 0)
            return true;
    }
    return false;
}

const char *xend_listener_warning(const xend_listener *l)
{
    if (l->kind != XEND_LISTEN_UNIX && l->auth_none)
        return "TCP listener without authentication (auth=none): any client accepted by allow= can log in";
    if (l->kind == XEND_LISTEN_HTTP)
        return "passwords are sent in clear text over http; use https";
    return NULL;
}

char *xend_listener_describe(const xend_listener *l)
{
    const char *auth = l->auth_none ? "none" : "pam";
    if (l->kind == XEND_LISTEN_UNIX)
        return xstrfmt("unix:%s auth=%s", l->path, auth);
    const char *scheme = l->kind == XEND_LISTEN_HTTPS ? "https" : "http";
    const char *host = l->host ? l->host : "*";
    bool v6 = strchr(host, ':') != NULL;
    return xstrfmt("%s:%s%s%s:%d auth=%s%s", scheme, v6 ? "[" : "", host, v6 ? "]" : "",
              l->port, auth, l->n_allow ? " (allow-list)" : "");
}

/* ---- the configuration ------------------------------------------------ */

typedef enum {
    CK_PATH,              /* string, not "none" */
    CK_PATH_OR_NONE,      /* string; "none" -> NULL */
    CK_BACKEND,
    CK_LEVEL,
    CK_LISTEN,
    CK_SERVICE,
    CK_SIZE,              /* size_t, K/M/G suffixes */
    CK_INT,
    CK_UINT,
    CK_COUNT,             /* size_t, no suffix */
    CK_TEXT,              /* string; "default" -> NULL */
    CK_LOG_FILTERS,       /* domain=level, ...; "none" -> NULL */
    CK_STOP_ACTION,       /* ignore, shutdown or suspend */
    CK_ROLE_MAP,          /* role-user / role-group: NAME ROLE, repeatable */
    CK_ROLE_DEFAULT,      /* ROLE or none */
    CK_METRICS,           /* off, loopback or any */
} conf_key_type;

typedef struct {
    const char *name;
    conf_key_type type;
    size_t off;
    uint64_t min, max;
    const char *def; /* the default, as xend.conf would say it; NULL: unset */
} conf_key;

#define CK_OFF(f) offsetof(xend_config, f)
static const conf_key conf_keys[] = {
    { "state-dir", CK_PATH, CK_OFF(state_dir), 0, 0, "/var/lib/xend" },
    { "backend", CK_BACKEND, CK_OFF(backend), 0, 0, "auto" },
    { "sim-config", CK_PATH_OR_NONE, CK_OFF(sim_config), 0, 0, NULL },
    { "pid-file", CK_PATH, CK_OFF(pid_file), 0, 0, "/var/run/xend.pid" },
    { "log-file", CK_PATH_OR_NONE, CK_OFF(log_file), 0, 0, NULL },
    { "log-level", CK_LEVEL, CK_OFF(log_level), 0, 0, "info" },
    { "log-filters", CK_LOG_FILTERS, CK_OFF(log_filters), 0, 0, NULL },
    { "audit-log", CK_PATH_OR_NONE, CK_OFF(audit_log), 0, 0, XEND_CONFIG_DEFAULT_AUDIT_LOG },
    { "listen", CK_LISTEN, 0, 0, 0, NULL },
    { "pam-service", CK_SERVICE, CK_OFF(pam_service), 0, 0, "xend" },
    { "max-request-bytes", CK_SIZE, CK_OFF(max_request_bytes), 1024, 1024 * 1024 * 1024, "4M" },
    { "max-xml-depth", CK_INT, CK_OFF(max_xml_depth), 8, 1024, "64" },
    { "workers", CK_UINT, CK_OFF(workers), 1, 1024, "8" },
    { "http-threads", CK_UINT, CK_OFF(http_threads), 1, 256, "2" },
    { "session-timeout", CK_UINT, CK_OFF(session_timeout), 0, INT32_MAX, "86400" },
    { "auth-threads", CK_UINT, CK_OFF(auth_threads), 1, 64, "4" },
    { "login-backoff-ms", CK_UINT, CK_OFF(login_backoff_ms), 0, 600000, "500" },
    { "login-backoff-max-ms", CK_UINT, CK_OFF(login_backoff_max_ms), 0, 3600000, "30000" },
    { "sessions-per-user", CK_UINT, CK_OFF(sessions_per_user), 1, 1000000, "500" },
    { "sessions-per-originator", CK_UINT, CK_OFF(sessions_per_originator), 1, 1000000, "500" },
    { "sessions-root", CK_UINT, CK_OFF(sessions_root), 1, 1000000, "400" },
    { "http-timeout", CK_UINT, CK_OFF(http_timeout), 1, 86400, "30" },
    { "connections-per-address", CK_UINT, CK_OFF(connections_per_address), 0, 1000000, "256" },
    { "body-budget", CK_SIZE, CK_OFF(body_budget), 65536, (uint64_t)64 << 30, "16M" },
    { "fd-reserve", CK_UINT, CK_OFF(fd_reserve), 16, 1000000, "128" },
    { "task-expiry", CK_UINT, CK_OFF(task_expiry), 0, INT32_MAX, "3600" },
    { "max-finished-tasks", CK_COUNT, CK_OFF(max_finished_tasks), 1, 100000000, "10000" },
    { "event-log-size", CK_COUNT, CK_OFF(event_log_size), 16, 100000000, "100000" },
    { "event-log-bytes", CK_SIZE, CK_OFF(event_log_bytes), 65536, (uint64_t)1 << 40, "64M" },
    { "web-dir", CK_PATH_OR_NONE, CK_OFF(web_dir), 0, 0, PKGDATADIR "/web" },
    { "image-dir", CK_PATH, CK_OFF(image_dir), 0, 0, NULL },
    { "sr-dir", CK_PATH, CK_OFF(sr_dir), 0, 0, NULL },
    { "kernel-dir", CK_PATH, CK_OFF(kernel_dir), 0, 0, NULL },
    { "bootloader-dir", CK_PATH_OR_NONE, CK_OFF(bootloader_dir), 0, 0, NULL },
    { "tls-priorities", CK_TEXT, CK_OFF(tls_priorities), 0, 0, NULL },
    { "on-xend-stop", CK_STOP_ACTION, CK_OFF(on_xend_stop), 0, 0, "ignore" },
    { "on-xend-stop-timeout", CK_UINT, CK_OFF(on_xend_stop_timeout), 1, 86400, "300" },
    { "role-user", CK_ROLE_MAP, 0, 0, 0, NULL },
    { "role-group", CK_ROLE_MAP, 1, 0, 0, NULL },
    { "role-default", CK_ROLE_DEFAULT, 0, 0, 0, NULL },
    { "metrics", CK_METRICS, CK_OFF(metrics), 0, 0, "loopback" },
};
#define N_CONF_KEYS (sizeof conf_keys / sizeof conf_keys[0])

/* The string a key sets, or NULL where its value is not a string. */
static char **conf_string_field(xend_config *c, const conf_key *k)
{
    switch (k->type) {
    case CK_PATH:
    case CK_PATH_OR_NONE:
    case CK_BACKEND:
    case CK_SERVICE:
    case CK_TEXT:
    case CK_LOG_FILTERS:
    case CK_STOP_ACTION:
    case CK_METRICS:
        return (char **)(void *)((char *)c + k->off);
    default:
        return NULL;
    }
}

/* Sets a string key: the value (NULL: unset) replaces the old one. */
static bool conf_set_string(xend_config *c, const conf_key *k, const char *val)
{
    char *v = NULL;
    if (val && !(v = strdup(val)))
        return false;
    char **field = conf_string_field(c, k);
    free(*field);
    *field = v;
    return true;
}

/* ---- roles: role-user, role-group, role-default ------------------------ */

static bool conf_role_ok(const char *role)
{
    static const char *const names[] = XEND_CONFIG_ROLE_NAMES;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i], role) == 0)
            return true;
    return false;
}

static void xend_role_maps_dispose(xend_config *c)
{
    for (size_t i = 0; i < c->n_role_maps; i++) {
        free(c->role_maps[i].name);
        free(c->role_maps[i].role);
    }
    free(c->role_maps);
    c->role_maps = NULL;
    c->n_role_maps = 0;
    free(c->role_default);
    c->role_default = NULL;
}

static bool conf_apply_role_map(xend_config *c, const conf_key *k, const char *name, const char *role,
                              char **msg_r);

/* role-user = NAME ROLE, role-group = NAME ROLE, role-default = ROLE|none */
static const char conf_roles_text[] =
    "pool-admin, pool-operator, vm-power-admin, vm-admin, vm-operator or read-only";

static bool conf_apply_role(xend_config *c, const conf_key *k, const char *val, char **msg_r)
{
    if (k->type == CK_ROLE_DEFAULT) {
        if (strcmp(val, "none") == 0)
            return true;
        if (!conf_role_ok(val)) {
            *msg_r = xstrfmt("role-default '%s': expected none, %s", val, conf_roles_text);
            return false;
        }
        free(c->role_default);
        return (c->role_default = strdup(val)) != NULL;
    }
    /* NAME ROLE: two words, whole (nothing is cut) */
    char *copy = strdup(val), *save = NULL;
    if (!copy)
        return false;
    char *name = strtok_r(copy, " \t", &save), *role = strtok_r(NULL, " \t", &save);
    if (!name || !role || strtok_r(NULL, " \t", &save)) {
        *msg_r = xstrfmt("%s: expected NAME ROLE", k->name);
        free(copy);
        return false;
    }
    bool ok = conf_apply_role_map(c, k, name, role, msg_r);
    free(copy);
    return ok;
}

static bool conf_apply_role_map(xend_config *c, const conf_key *k, const char *name, const char *role,
                              char **msg_r)
{
    if (!conf_name_ok(name)) {
        *msg_r = xstrfmt("%s: '%s' is not a valid %s name", k->name, name, k->off ? "group" : "user");
        return false;
    }
    if (!conf_role_ok(role)) {
        *msg_r = xstrfmt("%s: role '%s': expected %s", k->name, role, conf_roles_text);
        return false;
    }
    for (size_t i = 0; i < c->n_role_maps; i++) {
        if (c->role_maps[i].is_group == (k->off != 0) && strcmp(c->role_maps[i].name, name) == 0) {
            *msg_r = xstrfmt("%s: '%s' is mapped twice", k->name, name);
            return false;
        }
    }
    xend_role_map *nm = realloc(c->role_maps, (c->n_role_maps + 1) * sizeof *nm);
    if (!nm)
        return false;
    c->role_maps = nm;
    xend_role_map *m = &nm[c->n_role_maps];
    m->is_group = k->off != 0;
    m->name = strdup(name);
    m->role = strdup(role);
    if (!m->name || !m->role) {
        free(m->name);
        free(m->role);
        return false;
    }
    c->n_role_maps++;
    return true;
}

/* Applies one key; *msg_r: unprefixed message. */
static bool conf_apply(xend_config *c, const conf_key *k, const char *val, char **msg_r)
{
    char *base = (char *)c;
    uint64_t num;

    switch (k->type) {
    case CK_LOG_FILTERS: {
        char *why = NULL;
        if (strcmp(val, "none") == 0)
            return conf_set_string(c, k, NULL);
        if (!xlog_filters_check(val, &why)) {
            *msg_r = xstrfmt("log-filters: %s", why ? why : "bad filter");
            free(why);
            return false;
        }
        return conf_set_string(c, k, val);
    }
    case CK_TEXT:
    case CK_STOP_ACTION:
    case CK_METRICS:
        if (k->type == CK_STOP_ACTION && strcmp(val, "ignore") != 0 && strcmp(val, "shutdown") != 0 &&
            strcmp(val, "suspend") != 0) {
            *msg_r = xstrfmt("%s '%s': expected ignore, shutdown or suspend", k->name, val);
            return false;
        }
        if (k->type == CK_METRICS && strcmp(val, "off") != 0 && strcmp(val, "loopback") != 0 &&
            strcmp(val, "any") != 0) {
            *msg_r = xstrfmt("%s '%s': expected off, loopback or any", k->name, val);
            return false;
        }
        return conf_set_string(c, k,
                               k->type == CK_TEXT && strcmp(val, "default") == 0 ? NULL : val);
    case CK_ROLE_MAP:
    case CK_ROLE_DEFAULT:
        return conf_apply_role(c, k, val, msg_r);
    case CK_PATH:
    case CK_PATH_OR_NONE:
    case CK_BACKEND:
    case CK_SERVICE:
        if (k->type == CK_BACKEND && strcmp(val, "sim") != 0 &&
            strcmp(val, "xen") != 0 && strcmp(val, "auto") != 0) {
            *msg_r = xstrfmt("backend '%s': expected sim, xen or auto", val);
            return false;
        }
        if (k->type == CK_PATH && strcmp(val, "none") == 0) {
            *msg_r = xstrfmt("%s cannot be none", k->name);
            return false;
        }
        if (k->type == CK_SERVICE) {
            for (const char *p = val; *p; p++) {
                if (!isalnum((unsigned char)*p) && !strchr("._-", *p)) {
                    *msg_r = xstrfmt("pam-service '%s': only letters, digits, '.', '_' and '-' are allowed", val);
                    return false;
                }
            }
        }
        return conf_set_string(c, k,
                               k->type == CK_PATH_OR_NONE && strcmp(val, "none") == 0 ? NULL : val);
    case CK_LEVEL: {
        xlog_level lvl;
        if (!xlog_level_parse(val, &lvl)) {
            *msg_r = xstrfmt("log-level '%s': expected error, warning, info or debug", val);
            return false;
        }
        c->log_level = (int)lvl;
        return true;
    }
    case CK_LISTEN: {
        xend_listener l;
        if (!conf_parse_listener(val, &l, msg_r))
            return false;
        if (!conf_append_listener(c, &l)) {
            xend_listener_dispose(&l);
            return false;
        }
        return true;
    }
    case CK_SIZE:
    case CK_COUNT:
    case CK_INT:
    case CK_UINT: {
        char *inner = NULL;
        if (!conf_parse_num(val, k->min, k->max, k->type == CK_SIZE, &num, &inner)) {
            *msg_r = inner ? xstrfmt("%s: %s", k->name, inner) : NULL;
            free(inner);
            return false;
        }
        if (k->type == CK_INT)
            *(int *)(void *)(base + k->off) = (int)num;
        else if (k->type == CK_UINT)
            *(unsigned *)(void *)(base + k->off) = (unsigned)num;
        else
            *(size_t *)(void *)(base + k->off) = (size_t)num;
        return true;
    }
    }
    return false;
}

void xend_config_init(xend_config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < N_CONF_KEYS; i++) {
        const conf_key *k = &conf_keys[i];
        char *msg = NULL;
        if (k->def && !conf_apply(c, k, k->def, &msg) && msg) {
            /* a default of the table that its own parser refuses: a bug, not an input */
            fprintf(stderr, "xend.conf: the default %s = %s: %s\n", k->name, k->def, msg);
            abort();
        }
    }
    if (xend_config_add_listener(c, XEND_CONFIG_DEFAULT_LISTEN, NULL))
        c->listeners_default = true;
}

void xend_config_dispose(xend_config *c)
{
    if (!c)
        return;
    xend_config_clear_listeners(c);
    for (size_t i = 0; i < N_CONF_KEYS; i++) {
        char **field = conf_string_field(c, &conf_keys[i]);
        if (field)
            free(*field);
    }
    xend_role_maps_dispose(c);
    memset(c, 0, sizeof *c);
}

/* Cuts a comment: '#' at the start or after blank space. */
static void conf_strip_comment(char *s)
{
    for (char *p = s; *p; p++) {
        if (*p == '#' && (p == s || conf_is_space(p[-1]))) {
            *p = '\0';
            return;
        }
    }
}

bool xend_config_load(xend_config *c, const char *path, char **err_r)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        conf_set_err(err_r, xstrfmt("%s: %s", path, strerror(errno)));
        return false;
    }
    bool ok = xend_config_load_stream(c, f, path, err_r);
    fclose(f);
    return ok;
}

bool xend_config_load_stream(xend_config *c, FILE *f, const char *path, char **err_r)
{
    xend_config tmp;
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    unsigned seen[N_CONF_KEYS] = { 0 };
    char *msg = NULL;
    bool ok = false;

    xend_config_init(&tmp);
    for (;;) {
        errno = 0;
        ssize_t n = getline(&line, &cap, f);
        if (n < 0) {
            if (ferror(f)) {
                conf_set_err(err_r, xstrfmt("%s: read error: %s", path, strerror(errno)));
                goto out;
            }
            break;
        }
        lineno++;
        if (memchr(line, '\0', (size_t)n)) {
            conf_set_err(err_r, xstrfmt("%s:%u: NUL byte in line", path, lineno));
            goto out;
        }
        conf_strip_comment(line);
        char *s = conf_trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            conf_set_err(err_r, xstrfmt("%s:%u: expected 'key = value'", path, lineno));
            goto out;
        }
        *eq = '\0';
        char *key = conf_trim(s);
        char *val = conf_trim(eq + 1);
        size_t ki;
        for (ki = 0; ki < N_CONF_KEYS; ki++)
            if (strcmp(conf_keys[ki].name, key) == 0)
                break;
        if (ki == N_CONF_KEYS) {
            conf_set_err(err_r, xstrfmt("%s:%u: unknown key '%s'", path, lineno, key));
            goto out;
        }
        if (!*val) {
            conf_set_err(err_r, xstrfmt("%s:%u: %s needs a value", path, lineno, key));
            goto out;
        }
        if (seen[ki] && conf_keys[ki].type != CK_LISTEN && conf_keys[ki].type != CK_ROLE_MAP) {
            conf_set_err(err_r, xstrfmt("%s:%u: %s is already set at line %u",
                         path, lineno, key, seen[ki]));
            goto out;
        }
        seen[ki] = lineno;
        if (!conf_apply(&tmp, &conf_keys[ki], val, &msg)) {
            conf_set_err(err_r, xstrfmt("%s:%u: %s", path, lineno, msg ? msg : "out of memory"));
            goto out;
        }
    }
    xend_config_dispose(c);
    *c = tmp;
    memset(&tmp, 0, sizeof tmp);
    ok = true;
out:
    free(msg);
    free(line);
    xend_config_dispose(&tmp);
    return ok;
}

static bool conf_readable(const char *what, const char *file, char **err_r)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        conf_set_err(err_r, xstrfmt("%s %s: %s", what, file, strerror(errno)));
        return false;
    }
    struct stat st;
    bool reg = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    close(fd);
    if (!reg) {
        conf_set_err(err_r, xstrfmt("%s %s: not a regular file", what, file));
        return false;
    }
    return true;
}

static bool conf_same_host(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcasecmp(a, b) == 0;
}

bool xend_config_validate(const xend_config *c, char **err_r)
{
    if (!c->state_dir || !*c->state_dir || !c->pid_file || !*c->pid_file) {
        conf_set_err(err_r, xstrfmt("state-dir and pid-file must be set"));
        return false;
    }
    if (!c->backend || (strcmp(c->backend, "sim") && strcmp(c->backend, "xen") &&
                strcmp(c->backend, "auto"))) {
        conf_set_err(err_r, xstrfmt("backend must be sim, xen or auto"));
        return false;
    }
    if (c->log_level < XLOG_ERROR || c->log_level > XLOG_DEBUG) {
        conf_set_err(err_r, xstrfmt("log-level out of range"));
        return false;
    }
    if (!c->pam_service || !*c->pam_service) {
        conf_set_err(err_r, xstrfmt("pam-service must be set"));
        return false;
    }
    if (c->workers == 0 || c->http_threads == 0 || c->max_xml_depth <= 0 ||
        c->max_request_bytes == 0 || c->event_log_size == 0) {
        conf_set_err(err_r, xstrfmt("workers, http-threads, max-xml-depth, max-request-bytes "
                     "and event-log-size must be positive"));
        return false;
    }
    if (c->sim_config && !conf_readable("sim-config", c->sim_config, err_r))
        return false;
    const struct { const char *key, *dir; } dirs[] = {
        { "image-dir", c->image_dir }, { "sr-dir", c->sr_dir }, { "kernel-dir", c->kernel_dir },
        { "bootloader-dir", c->bootloader_dir },
    };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (dirs[i].dir && (dirs[i].dir[0] != '/' || strcmp(dirs[i].dir, "/") == 0)) {
            conf_set_err(err_r, xstrfmt("%s must be an absolute directory other than /", dirs[i].key));
            return false;
        }
    if (c->n_listeners == 0) {
        conf_set_err(err_r, xstrfmt("no listener configured"));
        return false;
    }
    for (size_t i = 0; i < c->n_listeners; i++) {
        const xend_listener *l = &c->listeners[i];
        if (l->kind == XEND_LISTEN_UNIX) {
            if (!l->path || !*l->path) {
                conf_set_err(err_r, xstrfmt("unix listener without a path"));
                return false;
            }
        } else {
            if (l->port < 1 || l->port > 65535) {
                conf_set_err(err_r, xstrfmt("listener port %d out of range", l->port));
                return false;
            }
            if (l->n_allow && !l->allow_re) {
                conf_set_err(err_r, xstrfmt("listener allow-list not compiled"));
                return false;
            }
        }
        if (l->kind == XEND_LISTEN_HTTPS) {
            if (!l->cert_file || !l->key_file) {
                conf_set_err(err_r, xstrfmt("an https listener needs cert=FILE and key=FILE"));
                return false;
            }
            if (!conf_readable("certificate", l->cert_file, err_r) ||
                !conf_readable("private key", l->key_file, err_r) ||
                (l->client_ca_file && !conf_readable("client CA", l->client_ca_file, err_r)))
                return false;
        }
        for (size_t j = 0; j < i; j++) {
            const xend_listener *o = &c->listeners[j];
            bool dup;
            if (l->kind == XEND_LISTEN_UNIX || o->kind == XEND_LISTEN_UNIX)
                dup = l->kind == o->kind && strcmp(l->path, o->path) == 0;
            else
                dup = l->port == o->port && conf_same_host(l->host, o->host);
            if (dup) {
                char *d = xend_listener_describe(l);
                conf_set_err(err_r, xstrfmt("listener %s: address used twice", d ? d : ""));
                free(d);
                return false;
            }
        }
    }
    return true;
}
