/* simfile: sim domain records on disk (format, parse, atomic writes). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

char *sim_dom_format(const sim_dom *d)
{
    sbuf b = { 0 };

    sbuf_puts(&b, "# xend sim domain\n");
    sbuf_printf(&b, "domid %u\n", d->domid);
    sbuf_puts(&b, "uuid"); sbuf_token(&b, d->uuid); sbuf_putc(&b, '\n');
    sbuf_puts(&b, "name"); sbuf_token(&b, d->name); sbuf_putc(&b, '\n');
    sbuf_printf(&b, "type %s\n", sim_type_name(d->type));
    sbuf_printf(&b, "state %s\n", sim_state_name(d->state));
    sbuf_printf(&b, "reason %s\n", sim_reason_name(d->reason));
    sbuf_printf(&b, "pending %s\n", sim_reason_name(d->pending));
    sbuf_printf(&b, "target_kib %llu\n", (unsigned long long)d->target_kib);
    sbuf_printf(&b, "max_kib %llu\n", (unsigned long long)d->max_kib);
    sbuf_printf(&b, "vcpus_online %u\n", d->vcpus_online);
    sbuf_printf(&b, "vcpus_max %u\n", d->vcpus_max);
    sbuf_printf(&b, "weight %u\n", d->weight);
    sbuf_printf(&b, "cap %u\n", d->cap);
    sbuf_printf(&b, "cpu_time_ns %llu\n", (unsigned long long)d->cpu_time_ns);
    sbuf_printf(&b, "run_since_ms %lld\n", (long long)d->run_since_ms);
    sbuf_printf(&b, "start_time %lld\n", (long long)d->start_time);
    sbuf_printf(&b, "unresponsive %d\n", d->unresponsive ? 1 : 0);
    sbuf_printf(&b, "foreign %d\n", d->foreign ? 1 : 0);
    sbuf_puts(&b, "kernel"); sbuf_token(&b, d->kernel); sbuf_putc(&b, '\n');
    sbuf_puts(&b, "cmdline"); sbuf_token(&b, d->cmdline); sbuf_putc(&b, '\n');
    sbuf_puts(&b, "console_log"); sbuf_token(&b, d->console_log); sbuf_putc(&b, '\n');
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

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
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
            int h = hexval(s[1]), l = h < 0 ? -1 : hexval(s[2]);
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

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    unsigned long long x;

    if (!*s || *s == '-')
        return false;
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *v = x;
    return true;
}

static bool parse_i64(const char *s, int64_t *v)
{
    char *end;
    long long x;

    if (!*s)
        return false;
    errno = 0;
    x = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *v = x;
    return true;
}

static bool parse_uint(const char *s, unsigned *v)
{
    uint64_t x;

    if (!parse_u64(s, &x) || x > 0xffffffffu)
        return false;
    *v = (unsigned)x;
    return true;
}

int sim_dom_parse(const char *text, sim_dom *d, char *msg, size_t msg_len)
{
    const char *line = text;
    int lineno = 0;
    bool have_domid = false, have_uuid = false, have_state = false;
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
            int v;
            if (!next_token(&p, val, sizeof(val))) {
                snprintf(msg, msg_len, "line %d: %s: missing value", lineno, key);
                return -1;
            }
            if (strcmp(key, "domid") == 0) {
                ok = parse_uint(val, &d->domid) && d->domid > 0;
                have_domid = true;
            } else if (strcmp(key, "uuid") == 0) {
                ok = strlen(val) == XO_UUID_LEN - 1;
                if (ok)
                    memcpy(d->uuid, val, XO_UUID_LEN);
                have_uuid = true;
            } else if (strcmp(key, "name") == 0) {
                ok = strlen(val) < sizeof(d->name);
                if (ok)
                    memcpy(d->name, val, strlen(val) + 1);
            } else if (strcmp(key, "type") == 0) {
                v = sim_lookup(sim_type_names, NELEM(sim_type_names), val);
                ok = v >= 0;
                d->type = (xo_domtype)v;
            } else if (strcmp(key, "state") == 0) {
                v = sim_lookup(sim_state_names, NELEM(sim_state_names), val);
                ok = v >= 0;
                d->state = (xo_domstate)v;
                have_state = true;
            } else if (strcmp(key, "reason") == 0 || strcmp(key, "pending") == 0) {
                v = sim_lookup(sim_reason_names, NELEM(sim_reason_names), val);
                ok = v >= 0;
                if (key[0] == 'r')
                    d->reason = (xo_shutdown_reason)v;
                else
                    d->pending = (xo_shutdown_reason)v;
            } else if (strcmp(key, "target_kib") == 0) {
                ok = parse_u64(val, &d->target_kib);
            } else if (strcmp(key, "max_kib") == 0) {
                ok = parse_u64(val, &d->max_kib);
            } else if (strcmp(key, "vcpus_online") == 0) {
                ok = parse_uint(val, &d->vcpus_online);
            } else if (strcmp(key, "vcpus_max") == 0) {
                ok = parse_uint(val, &d->vcpus_max);
            } else if (strcmp(key, "weight") == 0) {
                ok = parse_uint(val, &d->weight);
            } else if (strcmp(key, "cap") == 0) {
                ok = parse_uint(val, &d->cap);
            } else if (strcmp(key, "cpu_time_ns") == 0) {
                ok = parse_u64(val, &d->cpu_time_ns);
            } else if (strcmp(key, "run_since_ms") == 0) {
                ok = parse_i64(val, &d->run_since_ms);
            } else if (strcmp(key, "start_time") == 0) {
                ok = parse_i64(val, &d->start_time);
            } else if (strcmp(key, "unresponsive") == 0) {
                d->unresponsive = val[0] == '1';
            } else if (strcmp(key, "foreign") == 0) {
                d->foreign = val[0] == '1';
            } else if (strcmp(key, "kernel") == 0) {
                snprintf(d->kernel, sizeof(d->kernel), "%s", val);
            } else if (strcmp(key, "cmdline") == 0) {
                snprintf(d->cmdline, sizeof(d->cmdline), "%s", val);
            } else if (strcmp(key, "console_log") == 0) {
                snprintf(d->console_log, sizeof(d->console_log), "%s", val);
            }
            /* Unknown keys are ignored (newer writers). */
        }
        if (!ok) {
            snprintf(msg, msg_len, "line %d: bad %s", lineno, key);
            return -1;
        }
    }
    if (!have_domid || !have_uuid || !have_state) {
        snprintf(msg, msg_len, "missing domid, uuid or state");
        return -1;
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
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        p += n;
        len -= (size_t)n;
    }
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
