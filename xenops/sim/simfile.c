/* simfile: sim domain records on disk (format, parse, atomic writes). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/io.h"
#include "util/uuid.h"
#include "xenops/sim/simfile.h"

static const char *const sim_state_names[] = {
    [XO_STATE_RUNNING] = "running", [XO_STATE_PAUSED] = "paused",
    [XO_STATE_SHUTDOWN] = "shutdown", [XO_STATE_CRASHED] = "crashed",
    [XO_STATE_DYING] = "dying",
};
static const char *const sim_reason_names[] = {
    [XO_SHUTDOWN_NONE] = "none", [XO_SHUTDOWN_POWEROFF] = "poweroff",
    [XO_SHUTDOWN_REBOOT] = "reboot", [XO_SHUTDOWN_SUSPEND] = "suspend",
    [XO_SHUTDOWN_CRASH] = "crash", [XO_SHUTDOWN_WATCHDOG] = "watchdog",
};
static const char *const sim_type_names[] = {
    [XO_DOM_PV] = "pv", [XO_DOM_PVH] = "pvh", [XO_DOM_HVM] = "hvm",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *sim_state_name(xo_domstate s)
{
    return (unsigned)s < NELEM(sim_state_names) ? sim_state_names[s] : "unknown";
}

const char *sim_reason_name(xo_shutdown_reason r)
{
    return (unsigned)r < NELEM(sim_reason_names) ? sim_reason_names[r] : "unknown";
}

const char *sim_type_name(xo_domtype t)
{
    return (unsigned)t < NELEM(sim_type_names) ? sim_type_names[t] : "unknown";
}

static int sim_lookup(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

/* ---- a growing string buffer ---- */
typedef struct sbuf { char *p; size_t len, cap; bool oom; } sbuf;

static void sbuf_putc(sbuf *b, char c)
{
    if (b->oom)
        return;
    if (b->len + 2 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

static void sbuf_puts(sbuf *b, const char *s)
{
    while (*s)
        sbuf_putc(b, *s++);
}

static void sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sbuf_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    sbuf_puts(b, tmp);
}

/* One token: bytes <= 0x20, 0x7f and '%' become %XX; "" becomes %00. */
static void sbuf_token(sbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    sbuf_putc(b, ' ');
    if (!*s) {
        sbuf_puts(b, "%00");
        return;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c == 0x7f || c == '%') {
            sbuf_putc(b, '%');
            sbuf_putc(b, hex[c >> 4]);
            sbuf_putc(b, hex[c & 15]);
        } else {
            sbuf_putc(b, (char)c);
        }
    }
}

/* ---- the one-value keys of a domain record ---- */

typedef enum sim_kind {
    SF_DOMID,       /* unsigned, above 0 */
    SF_UINT,        /* unsigned */
    SF_U64,         /* uint64_t */
    SF_I64,         /* int64_t */
    SF_BOOL,        /* bool: "1" or "0" */
    SF_UUID,        /* char[XO_UUID_LEN], exactly 36 characters */
    SF_TEXT,        /* char[] */
    SF_TYPE,        /* xo_domtype by name */
    SF_STATE,       /* xo_domstate by name */
    SF_REASON,      /* xo_shutdown_reason by name */
} sim_kind;

typedef struct sim_field {
    const char *key;                /* the sim_dom member of that name */
    sim_kind kind;
    size_t off, size;
    bool required;
} sim_field;

#define SIM_FIELD(member, kind, required) \
    { #member, kind, offsetof(sim_dom, member), sizeof(((sim_dom *)0)->member), required }

/* In the order they are written. */
static const sim_field sim_fields[] = {
    SIM_FIELD(domid, SF_DOMID, true),
    SIM_FIELD(uuid, SF_UUID, true),
    SIM_FIELD(name, SF_TEXT, false),
    SIM_FIELD(type, SF_TYPE, false),
    SIM_FIELD(state, SF_STATE, true),
    SIM_FIELD(reason, SF_REASON, false),
    SIM_FIELD(pending, SF_REASON, false),
    SIM_FIELD(target_kib, SF_U64, false),
    SIM_FIELD(max_kib, SF_U64, false),
    SIM_FIELD(vcpus_online, SF_UINT, false),
    SIM_FIELD(vcpus_max, SF_UINT, false),
    SIM_FIELD(weight, SF_UINT, false),
    SIM_FIELD(cap, SF_UINT, false),
    SIM_FIELD(cpu_time_ns, SF_U64, false),
    SIM_FIELD(run_since_ms, SF_I64, false),
    SIM_FIELD(start_time, SF_I64, false),
    SIM_FIELD(unresponsive, SF_BOOL, false),
    SIM_FIELD(foreign, SF_BOOL, false),
    SIM_FIELD(kernel, SF_TEXT, false),
    SIM_FIELD(cmdline, SF_TEXT, false),
    SIM_FIELD(console_log, SF_TEXT, false),
};

/* f's value in d as text: in d itself, a constant or buf. */
static const char *sim_field_get(const sim_dom *d, const sim_field *f, char *buf, size_t len)
{
    const void *p = (const char *)d + f->off;

    switch (f->kind) {
    case SF_DOMID:
    case SF_UINT:
        snprintf(buf, len, "%u", *(const unsigned *)p);
        return buf;
    case SF_U64:
        snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)p);
        return buf;
    case SF_I64:
        snprintf(buf, len, "%lld", (long long)*(const int64_t *)p);
        return buf;
    case SF_BOOL:
        return *(const bool *)p ? "1" : "0";
    case SF_UUID:
    case SF_TEXT:
        return p;
    case SF_TYPE:
        return sim_type_name(*(const xo_domtype *)p);
    case SF_STATE:
        return sim_state_name(*(const xo_domstate *)p);
    case SF_REASON:
        return sim_reason_name(*(const xo_shutdown_reason *)p);
    }
    return "";
}

char *sim_dom_format(const sim_dom *d)
{
    sbuf b = { 0 };
    char num[32];

    sbuf_puts(&b, "# xend sim domain\n");
    for (size_t i = 0; i < NELEM(sim_fields); i++) {
        sbuf_puts(&b, sim_fields[i].key);
        sbuf_token(&b, sim_field_get(d, &sim_fields[i], num, sizeof(num)));
        sbuf_putc(&b, '\n');
    }
    for (size_t i = 0; i < d->n_disks; i++) {
        const xo_disk *k = &d->disks[i];
        sbuf_puts(&b, "disk");
        sbuf_token(&b, k->vdev);
        sbuf_token(&b, k->target);
        sbuf_token(&b, k->format);
        sbuf_printf(&b, " %d %d %d\n", k->readonly, k->cdrom, k->bootable);
    }
    for (size_t i = 0; i < d->n_nics; i++) {
        const xo_nic *n = &d->nics[i];
        sbuf_printf(&b, "nic %d", n->devid);
        sbuf_token(&b, n->mac);
        sbuf_token(&b, n->bridge);
        sbuf_printf(&b, " %u", n->mtu);
        sbuf_token(&b, n->script);
        sbuf_putc(&b, '\n');
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* Next space-separated token of *p, decoded into out; false if none/too long. */
static bool next_token(const char **p, char *out, size_t out_len)
{
    const char *s = *p;
    size_t n = 0;

    while (*s == ' ')
        s++;
    if (!*s)
        return false;
    while (*s && *s != ' ') {
        char c = *s;
        if (c == '%') {
            int h = xhexval((unsigned char)s[1]), l = h < 0 ? -1 : xhexval((unsigned char)s[2]);
            if (h < 0 || l < 0)
                return false;
            c = (char)(h * 16 + l);
            s += 3;
        } else {
            s++;
        }
        if (n + 1 >= out_len)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';                  /* "%00" decodes to the empty string */
    *p = s;
    return true;
}

/* All of s as a decimal number: unsigned (no sign) into *u when u is
 * given, else signed into *i; false if it is not one or out of range. */
static bool parse_dec(const char *s, uint64_t *u, int64_t *i)
{
    char *end;

    if (!*s || (u && *s == '-'))
        return false;
    errno = 0;
    unsigned long long x = u ? strtoull(s, &end, 10) : 0;
    long long y = u ? 0 : strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    if (u)
        *u = x;
    else
        *i = y;
    return true;
}

static bool parse_u64(const char *s, uint64_t *v)
{
    return parse_dec(s, v, NULL);
}

static bool parse_i64(const char *s, int64_t *v)
{
    return parse_dec(s, NULL, v);
}

static bool parse_uint(const char *s, unsigned *v)
{
    uint64_t x;

    if (!parse_u64(s, &x) || x > 0xffffffffu)
        return false;
    *v = (unsigned)x;
    return true;
}

/* Set f in d from val; false if val is bad. */
static bool sim_field_set(sim_dom *d, const sim_field *f, const char *val)
{
    void *p = (char *)d + f->off;
    int v;

    switch (f->kind) {
    case SF_DOMID:
        return parse_uint(val, p) && *(unsigned *)p > 0;
    case SF_UINT:
        return parse_uint(val, p);
    case SF_U64:
        return parse_u64(val, p);
    case SF_I64:
        return parse_i64(val, p);
    case SF_BOOL:
        *(bool *)p = val[0] == '1';
        return true;
    case SF_UUID:
        if (strlen(val) != f->size - 1)
            return false;
        /* fall through */
    case SF_TEXT:
        if (strlen(val) >= f->size)
            return false;
        memcpy(p, val, strlen(val) + 1);
        return true;
    case SF_TYPE:
        v = sim_lookup(sim_type_names, NELEM(sim_type_names), val);
        if (v >= 0)
            *(xo_domtype *)p = (xo_domtype)v;
        return v >= 0;
    case SF_STATE:
        v = sim_lookup(sim_state_names, NELEM(sim_state_names), val);
        if (v >= 0)
            *(xo_domstate *)p = (xo_domstate)v;
        return v >= 0;
    case SF_REASON:
        v = sim_lookup(sim_reason_names, NELEM(sim_reason_names), val);
        if (v >= 0)
            *(xo_shutdown_reason *)p = (xo_shutdown_reason)v;
        return v >= 0;
    }
    return false;
}

int sim_dom_parse(const char *text, sim_dom *d, char *msg, size_t msg_len)
{
    const char *line = text;
    int lineno = 0;
    uint32_t seen = 0;          /* bit i: sim_fields[i] was given */
    char key[32], val[XO_PATH_LEN];

    memset(d, 0, sizeof(*d));
    while (*line) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        char buf[4 * XO_PATH_LEN + 256];
        const char *p = buf;
        bool ok = true;

        lineno++;
        if (len >= sizeof(buf)) {
            snprintf(msg, msg_len, "line %d too long", lineno);
            return -1;
        }
        memcpy(buf, line, len);
        buf[len] = '\0';
        line = eol ? eol + 1 : line + len;
        if (buf[0] == '#' || buf[0] == '\0')
            continue;
        if (!next_token(&p, key, sizeof(key))) {
            snprintf(msg, msg_len, "line %d: bad key", lineno);
            return -1;
        }
        if (strcmp(key, "disk") == 0) {
            xo_disk *k;
            char ro[8], cd[8], bo[8];
            if (d->n_disks >= SIM_MAX_DISKS) {
                snprintf(msg, msg_len, "line %d: too many disks", lineno);
                return -1;
            }
            k = &d->disks[d->n_disks];
            ok = next_token(&p, k->vdev, sizeof(k->vdev)) &&
                 next_token(&p, k->target, sizeof(k->target)) &&
                 next_token(&p, k->format, sizeof(k->format)) &&
                 next_token(&p, ro, sizeof(ro)) && next_token(&p, cd, sizeof(cd)) &&
                 next_token(&p, bo, sizeof(bo));
            if (ok) {
                k->readonly = ro[0] == '1';
                k->cdrom = cd[0] == '1';
                k->bootable = bo[0] == '1';
                d->n_disks++;
            }
        } else if (strcmp(key, "nic") == 0) {
            xo_nic *n;
            char devid[16], mtu[16];
            int64_t dv;
            if (d->n_nics >= SIM_MAX_NICS) {
                snprintf(msg, msg_len, "line %d: too many nics", lineno);
                return -1;
            }
            n = &d->nics[d->n_nics];
            ok = next_token(&p, devid, sizeof(devid)) && parse_i64(devid, &dv) &&
                 dv >= 0 && dv < 65536 &&
                 next_token(&p, n->mac, sizeof(n->mac)) &&
                 next_token(&p, n->bridge, sizeof(n->bridge)) &&
                 next_token(&p, mtu, sizeof(mtu)) && parse_uint(mtu, &n->mtu) &&
                 next_token(&p, n->script, sizeof(n->script));
            if (ok) {
                n->devid = (int)dv;
                d->n_nics++;
            }
        } else {
            if (!next_token(&p, val, sizeof(val))) {
                snprintf(msg, msg_len, "line %d: %s: missing value", lineno, key);
                return -1;
            }
            /* Unknown keys are ignored (newer writers). */
            for (size_t i = 0; i < NELEM(sim_fields); i++) {
                if (strcmp(key, sim_fields[i].key) == 0) {
                    ok = sim_field_set(d, &sim_fields[i], val);
                    seen |= UINT32_C(1) << i;
                    break;
                }
            }
        }
        if (!ok) {
            snprintf(msg, msg_len, "line %d: bad %s", lineno, key);
            return -1;
        }
    }
    for (size_t i = 0; i < NELEM(sim_fields); i++) {
        if (sim_fields[i].required && !(seen & (UINT32_C(1) << i))) {
            snprintf(msg, msg_len, "missing domid, uuid or state");
            return -1;
        }
    }
    if (d->vcpus_max == 0 || d->vcpus_online > d->vcpus_max) {
        snprintf(msg, msg_len, "bad vcpu counts");
        return -1;
    }
    return 0;
}

char *sim_read_file(const char *path, size_t max, size_t *len_r)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (fd < 0)
        return NULL;
    for (;;) {
        ssize_t n;
        if (len + 4097 > cap) {
            size_t ncap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                errno = ENOMEM;
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            errno = EFBIG;
            goto fail;
        }
    }
    close(fd);
    buf[len] = '\0';
    if (len_r)
        *len_r = len;
    return buf;

fail:
    {
        int saved = errno;
        close(fd);
        free(buf);
        errno = saved;
    }
    return NULL;
}

int sim_write_atomic(const char *path, const void *data, size_t len)
{
    static atomic_uint counter;
    char tmp[XO_PATH_LEN + 32], dir[XO_PATH_LEN];
    const char *p = data;
    int fd, dfd, saved;
    char *slash;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%u", path, (long)getpid(),
                 atomic_fetch_add(&counter, 1)) >= (int)sizeof(tmp) ||
        snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (!xwrite_all(fd, p, len))
        goto fail;
    if (fsync(fd) < 0)
        goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
        goto fail;
    slash = strrchr(dir, '/');
    if (slash) {
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
    } else {
        strcpy(dir, ".");
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;

fail:
    saved = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = saved;
    return -1;
}

int sim_mkdirs(const char *path)
{
    char buf[XO_PATH_LEN];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf)) {
        errno = len ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return -1;
    return 0;
}
