/* vmd_legacy: the variables of xm's Python-style config files (LEGACY §3.3)
 * — also the keys of the SXP domain config and xm create's VAR=VALUE — and
 * what each one means in a VM description; and back, for the writers.
 * docs/config-formats.md lists the same table for people. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/vmd_internal.h"

#define MIB ((int64_t)1 << 20)

/* ---- values and settings ------------------------------------------------ */

void lval_free(lval *v)
{
    free(v->s);
    for (size_t i = 0; i < v->n; i++)
        lval_free(&v->items[i]);
    free(v->items);
    memset(v, 0, sizeof(*v));
}

lval lval_str(const char *s, unsigned line)
{
    return (lval){ .t = LV_STR, .s = vmd_xstrdup(s), .line = line };
}

lval lval_int(int64_t i, unsigned line)
{
    return (lval){ .t = LV_INT, .i = i, .line = line };
}

lval lval_list(unsigned line)
{
    return (lval){ .t = LV_LIST, .line = line };
}

void lval_push(lval *list, lval item)
{
    vmd_grow(&list->items, &list->cap, list->n + 1, sizeof(*list->items));
    list->items[list->n++] = item;
}

lval lval_copy(const lval *v)
{
    lval c = *v;
    c.s = v->s ? vmd_xstrdup(v->s) : NULL;
    c.items = NULL;
    c.n = c.cap = 0;
    for (size_t i = 0; i < v->n; i++)
        lval_push(&c, lval_copy(&v->items[i]));
    return c;
}

void lconf_set(lconf *c, const char *name, lval v, unsigned line, bool replace)
{
    if (replace)
        for (size_t i = 0; i < c->n; i++)
            if (strcmp(c->v[i].name, name) == 0) {
                lval_free(&c->v[i].v);
                c->v[i].v = v;
                c->v[i].line = line;
                return;
            }
    vmd_grow(&c->v, &c->cap, c->n + 1, sizeof(*c->v));
    c->v[c->n++] = (lsetting){ .name = vmd_xstrdup(name), .v = v, .line = line };
}

const lsetting *lconf_get(const lconf *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].name, name) == 0)
            return &c->v[i];
    return NULL;
}

void lconf_free(lconf *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].name);
        lval_free(&c->v[i].v);
    }
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
}

/* ---- the variable table ------------------------------------------------- */

typedef enum {
    K_FIELD,        /* handled by name in legacy_apply */
    K_PLATFORM,     /* platform[name] = the value as a string */
    K_LIST,         /* a list variable handled by name */
    K_UNSUPPORTED,  /* no XenAPI object: an error when set (not empty / 0) */
    K_IGNORED       /* accepted, no effect (a warning) */
} vkind;

typedef struct vardef {
    const char *name;
    vkind kind;
} vardef;

static const vardef vars[] = {
    /* general, memory, CPU */
    { "name", K_FIELD }, { "uuid", K_FIELD }, { "description", K_FIELD },
    { "memory", K_FIELD }, { "maxmem", K_FIELD }, { "shadow_memory", K_PLATFORM },
    { "memory_sharing", K_PLATFORM }, { "vcpus", K_FIELD }, { "maxvcpus", K_FIELD },
    { "vcpu_avail", K_FIELD }, { "cpu", K_FIELD }, { "cpus", K_FIELD },
    { "cpu_weight", K_FIELD }, { "cpu_cap", K_FIELD }, { "pool", K_FIELD },
    { "features", K_PLATFORM }, { "target", K_PLATFORM },
    { "on_poweroff", K_FIELD }, { "on_reboot", K_FIELD }, { "on_crash", K_FIELD },
    { "restart", K_FIELD }, { "on_xend_start", K_FIELD }, { "on_xend_stop", K_FIELD },
    { "blkif", K_UNSUPPORTED }, { "netif", K_UNSUPPORTED }, { "tpmif", K_UNSUPPORTED },
    { "access_control", K_LIST }, { "localtime", K_PLATFORM },
    /* kernel, boot */
    { "builder", K_FIELD }, { "kernel", K_FIELD }, { "ramdisk", K_FIELD },
    { "loader", K_PLATFORM }, { "bootloader", K_FIELD }, { "bootargs", K_FIELD },
    { "bootentry", K_FIELD }, { "root", K_FIELD }, { "extra", K_FIELD }, { "ip", K_FIELD },
    { "gateway", K_FIELD }, { "netmask", K_FIELD }, { "hostname", K_FIELD },
    { "interface", K_FIELD }, { "dhcp", K_FIELD }, { "nfs_server", K_FIELD },
    { "nfs_root", K_FIELD }, { "superpages", K_FIELD }, { "vhpt", K_PLATFORM },
    { "machine_address_size", K_PLATFORM }, { "suppress_spurious_page_faults", K_PLATFORM },
    { "tsc_mode", K_PLATFORM }, { "nomigrate", K_PLATFORM }, { "s3_integrity", K_FIELD },
    { "cpuid", K_PLATFORM }, { "cpuid_check", K_PLATFORM },
    /* devices */
    { "disk", K_LIST }, { "vif", K_LIST }, { "nics", K_FIELD }, { "pci", K_LIST },
    { "vfb", K_LIST }, { "ioports", K_UNSUPPORTED }, { "irq", K_UNSUPPORTED },
    { "usbport", K_UNSUPPORTED }, { "vtpm", K_UNSUPPORTED }, { "vscsi", K_UNSUPPORTED },
    { "vusb", K_UNSUPPORTED }, { "vif2", K_UNSUPPORTED },
    /* HVM, device model */
    { "device_model", K_PLATFORM }, { "pae", K_PLATFORM }, { "acpi", K_PLATFORM },
    { "apic", K_PLATFORM }, { "boot", K_FIELD }, { "fda", K_PLATFORM }, { "fdb", K_PLATFORM },
    { "serial", K_PLATFORM }, { "soundhw", K_PLATFORM }, { "usbdevice", K_PLATFORM },
    { "keymap", K_PLATFORM }, { "parallel", K_PLATFORM }, { "monitor_path", K_PLATFORM },
    { "usb", K_PLATFORM }, { "stdvga", K_PLATFORM }, { "isa", K_PLATFORM },
    { "nographic", K_PLATFORM }, { "monitor", K_PLATFORM }, { "vnc", K_PLATFORM },
    { "sdl", K_PLATFORM }, { "vncdisplay", K_PLATFORM }, { "vnclisten", K_PLATFORM },
    { "display", K_PLATFORM }, { "xauthority", K_PLATFORM }, { "opengl", K_PLATFORM },
    { "gfx_passthru", K_PLATFORM }, { "vncunused", K_PLATFORM }, { "vncpasswd", K_PLATFORM },
    { "vncconsole", K_PLATFORM }, { "vncviewer", K_PLATFORM }, { "videoram", K_PLATFORM },
    { "rtc_timeoffset", K_PLATFORM }, { "hpet", K_PLATFORM }, { "timer_mode", K_PLATFORM },
    { "vpt_align", K_PLATFORM }, { "viridian", K_PLATFORM }, { "hap", K_PLATFORM },
    { "nestedhvm", K_PLATFORM }, { "oos", K_PLATFORM }, { "pci_msitranslate", K_PLATFORM },
    { "pci_power_mgmt", K_PLATFORM }, { "xen_platform_pci", K_PLATFORM },
    { "guest_os_type", K_PLATFORM }, { "xen_extended_power_mgmt", K_PLATFORM },
    /* extensions of this implementation (docs/config-formats.md) */
    { "platform", K_LIST }, { "other_config", K_LIST },
};

static const vardef *var_find(const char *name)
{
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        if (strcmp(vars[i].name, name) == 0)
            return &vars[i];
    return NULL;
}

bool vmd_legacy_known(const char *name)
{
    return var_find(name) != NULL;
}

bool vmd_legacy_is_platform(const char *name)
{
    const vardef *v = var_find(name);
    return v && v->kind == K_PLATFORM;
}

bool vmd_legacy_is_list(const char *name)
{
    const vardef *v = var_find(name);
    return v && (v->kind == K_LIST || strcmp(name, "cpus") == 0 ||
                 v->kind == K_UNSUPPORTED);
}

/* ---- typed access to a setting ------------------------------------------ */

typedef struct actx {
    const lconf *c;
    vmdesc *d;
    bool fresh;
    vmd_diag *warn;
    vmd_err *err;
} actx;

/* The line of the value, else of the setting; 0 where neither is from the
 * file's variables (an XML file's name, say). */
static unsigned line_of(const lsetting *s, const lval *v)
{
    return v && v->line ? v->line : s ? s->line : 0;
}

#define FAIL(s, v, ...) vmd_fail(a->err, a->c->file, line_of(s, v), __VA_ARGS__)
#define WARN(s, v, ...) vmd_warn(a->warn, a->c->file, line_of(s, v), __VA_ARGS__)

static const lsetting *get(const actx *a, const char *name)
{
    return lconf_get(a->c, name);
}

/* The value as a string (an int prints in decimal). */
static bool as_str(const actx *a, const lsetting *s, const lval *v, char **out)
{
    if (v->t == LV_STR) {
        *out = vmd_xstrdup(v->s);
        return true;
    }
    if (v->t == LV_INT) {
        *out = vmd_xasprintf("%" PRId64, v->i);
        return true;
    }
    return FAIL(s, v, "%s: expected a string, not a list", s->name);
}

static bool parse_int(const char *p, int64_t *out)
{
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return false;
    errno = 0;
    char *end;
    long long x = strtoll(p, &end, 0);
    while (isspace((unsigned char)*end))
        end++;
    if (errno || *end)
        return false;
    *out = x;
    return true;
}

/* An integer, or a string that holds one (xm's converters did int()). */
static bool as_int(const actx *a, const lsetting *s, const lval *v, int64_t lo, int64_t hi,
                   int64_t *out)
{
    if (v->t == LV_INT)
        *out = v->i;
    else if (v->t != LV_STR || !parse_int(v->s, out))
        return FAIL(s, v, "%s: expected an integer", s->name);
    if (*out < lo || *out > hi)
        return FAIL(s, v, "%s: %" PRId64 " is out of range (%" PRId64 "..%" PRId64 ")",
                    s->name, *out, lo, hi);
    return true;
}

/* The items of a list variable (a single string counts as one item). */
static const lval *items(const lsetting *s, size_t *n)
{
    if (s->v.t == LV_LIST) {
        *n = s->v.n;
        return s->v.items;
    }
    *n = 1;
    return &s->v;
}

static void replace(char **f, char *v)
{
    free(*f);
    *f = v;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* "k=v,k=v" (LEGACY §3.4 comma_sep_kv_to_dict) or an SXP pair list into m;
 * on failure m is emptied. */
static bool kv_parse(const actx *a, const lsetting *s, const lval *v, vmd_map *m)
{
    if (v->t == LV_LIST) {
        for (size_t i = 0; i < v->n; i++) {
            const lval *p = &v->items[i];
            if (p->t != LV_LIST || p->n != 2 || p->items[0].t != LV_STR ||
                p->items[1].t == LV_LIST)
                return FAIL(s, p, "%s: expected (key value) pairs", s->name);
            char *val;
            if (!as_str(a, s, &p->items[1], &val))
                return false;
            /* the "k=v,k=v" form of the other formats must hold it */
            const char *k = p->items[0].s;
            if (!*k || strpbrk(k, ",= ") || strchr(val, ',')) {
                bool r = FAIL(s, p, "%s: (%s %s): a key cannot be empty or hold ',', '=' or "
                              "a space, a value cannot hold ','", s->name, k, val);
                free(val);
                return r;
            }
            vmd_map_set(m, k, val);
            free(val);
        }
        return true;
    }
    char *str;
    if (!as_str(a, s, v, &str))
        return false;
    char *t = trim(str);
    bool ok = true;
    while (*t && ok) {
        char *comma = strchr(t, ',');
        if (comma)
            *comma = '\0';
        char *eq = strchr(t, '=');
        if (!eq) {
            ok = FAIL(s, v, "%s: '%s' is not of the form key=value", s->name, trim(t));
            break;
        }
        *eq = '\0';
        char *k = trim(t);
        if (!*k || strpbrk(k, " \t"))
            ok = FAIL(s, v, "%s: the key '%s' is empty or holds a space", s->name, k);
        else
            vmd_map_set(m, k, trim(eq + 1));
        if (!comma)
            break;
        t = comma + 1;
    }
    free(str);
    return ok;
}

static bool kv_items(const actx *a, const lsetting *s, const lval *v, vmd_map *m)
{
    if (kv_parse(a, s, v, m))
        return true;
    vmd_map_free(m);
    return false;
}

/* ---- cpus ---------------------------------------------------------------- */

#define MAX_CPU 4095

bool vmd_cpus_parse(const char *spec, char **out, char *why, size_t n)
{
    unsigned char set[MAX_CPU + 1];
    memset(set, 0, sizeof(set));
    const char *p = spec;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        bool neg = *p == '^';
        if (neg)
            p++;
        char *end;
        if (!isdigit((unsigned char)*p)) {
            snprintf(why, n, "'%s': expected a CPU number at '%s'", spec, p);
            return false;
        }
        unsigned long lo = strtoul(p, &end, 10), hi = lo;
        p = end;
        if (*p == '-' && !neg) {
            p++;
            if (!isdigit((unsigned char)*p)) {
                snprintf(why, n, "'%s': a range needs an end", spec);
                return false;
            }
            hi = strtoul(p, &end, 10);
            p = end;
        }
        if (lo > MAX_CPU || hi > MAX_CPU || hi < lo) {
            snprintf(why, n, "'%s': CPU range %lu-%lu is not valid (0..%d)", spec, lo, hi, MAX_CPU);
            return false;
        }
        for (unsigned long c = lo; c <= hi; c++)
            set[c] = !neg;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == ',')
            p++;
        else if (*p) {
            snprintf(why, n, "'%s': unexpected '%c'", spec, *p);
            return false;
        }
    }
    xbuf b = { 0 };
    for (int c = 0; c <= MAX_CPU; c++)
        if (set[c])
            xbuf_printf(&b, "%s%d", b.len ? "," : "", c);
    *out = xbuf_steal(&b, NULL);
    return true;
}

/* ---- devices ------------------------------------------------------------- */


/* One disk: "UNAME,VDEV,MODE[,BACKEND[,PROTOCOL]]" or SXP pairs. */
static bool disk_one(const actx *a, const lsetting *s, const lval *v, vmd_disk *k)
{
    char *f[5] = { 0 };
    int nf = 0;
    bool ok = true;
    char *str = NULL;
    if (v->t == LV_LIST) {          /* (uname U) (dev D) (mode M) ... from SXP */
        vmd_map m = { 0 };
        if (!kv_items(a, s, v, &m))
            return false;
        static const char *const keys[] = { "uname", "dev", "mode", "backend", "protocol" };
        for (int i = 0; i < 5; i++) {
            const char *x = vmd_map_get(&m, keys[i]);
            f[i] = vmd_xstrdup(x ? x : "");
            nf = x ? i + 1 : nf;
        }
        for (size_t i = 0; i < m.n; i++) {
            bool known = false;
            for (int j = 0; j < 5; j++)
                known |= strcmp(m.v[i].key, keys[j]) == 0;
            if (!known)
                WARN(s, v, "disk: key '%s' ignored", m.v[i].key);
        }
        vmd_map_free(&m);
        if (nf < 3)
            nf = 3;
    } else {
        if (!as_str(a, s, v, &str))
            return false;
        char *p = str;
        for (;;) {
            char *c = strchr(p, ',');
            if (c)
                *c = '\0';
            if (nf == 5) {
                ok = FAIL(s, v, "disk '%s': more than 5 fields (uname,dev,mode[,backend[,protocol]])",
                          v->s ? v->s : "");
                break;
            }
            f[nf++] = vmd_xstrdup(trim(p));
            if (!c)
                break;
            p = c + 1;
        }
        if (ok && nf < 3)
            ok = FAIL(s, v, "disk '%s': expected uname,dev,mode", str);
        free(str);
    }
    if (ok) {
        char *uname = f[0], *dev = f[1], *mode = f[2];
        if (*uname && !strchr(uname, ':'))
            ok = FAIL(s, v, "disk '%s': the uname has no type (phy:, file:, tap:aio:...)", uname);
        if (ok && strncmp(dev, "ioemu:", 6) == 0)
            memmove(dev, dev + 6, strlen(dev + 6) + 1);
        char *colon = ok ? strchr(dev, ':') : NULL;
        if (colon) {
            if (strcmp(colon, ":cdrom") == 0)
                k->cdrom = true;
            else if (strcmp(colon, ":disk") != 0)
                ok = FAIL(s, v, "disk device '%s': the type must be :cdrom or :disk", dev);
            *colon = '\0';
        }
        if (ok && !vmd_dev_name_ok(dev))
            ok = FAIL(s, v, "disk '%s': '%s' is not a virtual device name (xvda, hda, sda1...)",
                      uname, dev);
        if (ok && strcmp(mode, "r") != 0 && strcmp(mode, "w") != 0 && strcmp(mode, "w!") != 0)
            ok = FAIL(s, v, "disk %s: mode '%s' must be r, w or w!", dev, mode);
        if (ok && !*uname && !k->cdrom)
            ok = FAIL(s, v, "disk %s: only a CD drive (%s:cdrom) may be empty", dev, dev);
        if (ok) {
            k->uname = vmd_xstrdup(uname);
            k->dev = vmd_xstrdup(dev);
            k->writable = mode[0] == 'w';
            k->sharable = strcmp(mode, "w!") == 0;
            if (nf > 3 && *f[3]) {
                k->backend = vmd_xstrdup(f[3]);
                if (strcmp(f[3], "0") != 0 && strcmp(f[3], "Domain-0") != 0)
                    WARN(s, v, "disk %s: backend domain '%s' is ignored (XenAPI has no "
                         "driver domains)", dev, f[3]);
            }
            if (nf > 4 && *f[4])
                k->protocol = vmd_xstrdup(f[4]);
            k->size = -1;
            k->vdi_type = vmd_xstrdup("system");
            k->vdi_label = NULL;            /* NULL: the uname */
        }
    }
    for (int i = 0; i < 5; i++)
        free(f[i]);
    return ok;
}

static const char *const vif_keys[] = { "type", "mac", "bridge", "ip", "script", "backend",
                                        "vifname", "rate", "model", "accel", "policy",
                                        "label", "mtu", NULL };

/* "10Mb/s", "1MB/s", "500Kb/s@20ms": the rate in kbit/s. */
static bool rate_kbps(const char *r, int64_t *kbps)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(r, &end, 10);
    if (errno || end == r || x > (1ULL << 40))
        return false;
    uint64_t mult;
    char unit = end[0];
    const char *rest = end;
    if (unit == 'K' || unit == 'k')
        mult = 1000, rest++;
    else if (unit == 'M' || unit == 'm')
        mult = 1000000, rest++;
    else if (unit == 'G' || unit == 'g')
        mult = 1000000000, rest++;
    else
        mult = 1;
    uint64_t bits;
    if (strncmp(rest, "b/s", 3) == 0)
        bits = 1;
    else if (strncmp(rest, "B/s", 3) == 0)
        bits = 8;
    else
        return false;
    rest += 3;
    if (*rest && *rest != '@')
        return false;
    *kbps = (int64_t)(x * mult * bits / 1000);
    return true;
}

static bool vif_one(const actx *a, const lsetting *s, const lval *v, size_t idx, vmd_vif *f)
{
    vmd_map m = { 0 };
    if (!kv_items(a, s, v, &m))
        return false;
    bool ok = true;
    for (size_t i = 0; i < m.n && ok; i++) {
        const char *k = m.v[i].key, *val = m.v[i].value;
        bool known = false;
        for (int j = 0; vif_keys[j]; j++)
            known |= strcmp(k, vif_keys[j]) == 0;
        if (v->t == LV_LIST && strcmp(k, "uuid") == 0) {
            WARN(s, v, "vif: (uuid %s) ignored (the server names devices)", val);
        } else if (!known) {
            ok = FAIL(s, v, "vif: unknown key '%s' (type, mac, bridge, ip, script, backend, "
                      "vifname, rate, model, accel, policy, label, mtu)", k);
        } else if (strcmp(k, "mac") == 0) {
            if (!vmd_mac_ok(val))
                ok = FAIL(s, v, "vif: mac '%s' is not of the form xx:xx:xx:xx:xx:xx", val);
            else {
                replace(&f->mac, vmd_xstrdup(val));
                for (char *p = f->mac; *p; p++)
                    *p = (char)tolower((unsigned char)*p);
            }
        } else if (strcmp(k, "bridge") == 0) {
            replace(&f->bridge, *val ? vmd_xstrdup(val) : NULL);
        } else if (strcmp(k, "mtu") == 0) {
            int64_t mtu;
            if (!parse_int(val, &mtu) || mtu < 68 || mtu > 65535)
                ok = FAIL(s, v, "vif: mtu '%s' must be 68..65535", val);
            else
                f->mtu = mtu;
        } else if (strcmp(k, "rate") == 0) {
            int64_t kbps;
            if (!rate_kbps(val, &kbps))
                ok = FAIL(s, v, "vif: rate '%s' is not of the form 10Mb/s or 1MB/s[@20ms]", val);
            else {
                /* XAPI's ratelimit QoS; the legacy text is kept beside it */
                replace(&f->qos_type, vmd_xstrdup("ratelimit"));
                char b[32];
                snprintf(b, sizeof(b), "%" PRId64, kbps);
                vmd_map_set(&f->qos_params, "kbps", b);
                vmd_map_set(&f->legacy, k, val);
            }
        } else {
            if (strcmp(k, "backend") == 0 && strcmp(val, "0") != 0)
                WARN(s, v, "vif: backend domain '%s' is ignored (XenAPI has no driver domains)",
                     val);
            vmd_map_set(&f->legacy, k, val);
        }
    }
    vmd_map_free(&m);
    if (ok)
        f->device = vmd_xasprintf("%zu", idx);
    xbuf kept = { 0 };
    for (size_t i = 0; ok && i < f->legacy.n; i++)
        if (strcmp(f->legacy.v[i].key, "rate") != 0 && strcmp(f->legacy.v[i].key, "backend") != 0)
            xbuf_printf(&kept, "%s%s", kept.len ? ", " : "", f->legacy.v[i].key);
    if (kept.len)
        WARN(s, v, "vif %zu: %s: no XenAPI field, kept for the legacy formats only", idx, kept.data);
    xbuf_free(&kept);
    return ok;
}

static bool hexnum(const char *p, unsigned max, unsigned *out, const char **end)
{
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    if (!isxdigit((unsigned char)*p))
        return false;
    char *e;
    unsigned long x = strtoul(p, &e, 16);
    if (x > max)
        return false;
    *out = (unsigned)x;
    *end = e;
    return true;
}

/* "[DOMAIN:]BUS:SLOT.FUNC[@VSLOT][,key=value...]", hex. */
static bool pci_one(const actx *a, const lsetting *s, const lval *v, vmd_pci *p)
{
    char *str;
    if (!as_str(a, s, v, &str))
        return false;
    char *opts = strchr(str, ',');
    if (opts)
        *opts++ = '\0';
    const char *q = trim(str), *e;
    unsigned x[4];
    int n = 0;
    bool ok = true;
    p->vslot = -1;
    /* count the colons: two means a domain is given */
    int colons = 0;
    for (const char *c = q; *c; c++)
        colons += *c == ':';
    unsigned maxes[4] = { 0xffff, 0xff, 0x1f, 0x7 };
    int first = colons == 2 ? 0 : 1;
    x[0] = 0;
    for (n = first; n < 4 && ok; n++) {
        if (!hexnum(q, maxes[n], &x[n], &e)) {
            ok = false;
            break;
        }
        char want = n < 2 ? ':' : n == 2 ? '.' : '\0';
        if (want && *e != want) {
            ok = false;
            break;
        }
        q = want ? e + 1 : e;
    }
    if (ok && *q == '@') {
        unsigned vs;
        if (!hexnum(q + 1, 0x1f, &vs, &e) || *e)
            ok = false;
        else
            p->vslot = (int)vs, q = e;
    }
    if (ok && *q)
        ok = false;
    if (!ok) {
        ok = FAIL(s, v, "pci '%s': expected [DOMAIN:]BUS:SLOT.FUNC[@VSLOT] in hex", str);
    } else {
        p->domain = x[0], p->bus = x[1], p->slot = x[2], p->func = x[3];
        if (opts) {
            lval o = lval_str(opts, v->line);
            ok = kv_items(a, s, &o, &p->opts);
            lval_free(&o);
            const char *key = vmd_map_get(&p->opts, "key");
            if (key) {
                p->key = vmd_xstrdup(key);
                vmd_map_del(&p->opts, "key");
            }
        }
    }
    free(str);
    return ok;
}

static const char *const vfb_keys[] = { "type", "vnc", "sdl", "vncunused", "vncdisplay",
                                        "vnclisten", "display", "xauthority", "vncpasswd",
                                        "opengl", "keymap", "serial", "monitor", NULL };

/* One vfb entry: one rfb console per kind (vnc, sdl) it asks for. */
static bool vfb_one(const actx *a, const lsetting *s, const lval *v, vmdesc *d)
{
    vmd_map m = { 0 };
    if (!kv_items(a, s, v, &m))
        return false;
    bool ok = true;
    const char *types[2] = { NULL, NULL };
    int nt = 0;
    for (size_t i = 0; i < m.n && ok; i++) {
        bool known = false;
        for (int j = 0; vfb_keys[j]; j++)
            known |= strcmp(m.v[i].key, vfb_keys[j]) == 0;
        if (!known)
            ok = FAIL(s, v, "vfb: unknown key '%s'", m.v[i].key);
    }
    const char *t = vmd_map_get(&m, "type");
    if (ok && t) {
        if (strcmp(t, "vnc") != 0 && strcmp(t, "sdl") != 0)
            ok = FAIL(s, v, "vfb: type '%s' must be vnc or sdl", t);
        else
            types[nt++] = t;
    }
    const char *vnc = vmd_map_get(&m, "vnc"), *sdl = vmd_map_get(&m, "sdl");
    if (ok && vnc && strcmp(vnc, "0") != 0 && !(t && strcmp(t, "vnc") == 0))
        types[nt++] = "vnc";
    if (ok && sdl && strcmp(sdl, "0") != 0 && !(t && strcmp(t, "sdl") == 0) && nt < 2)
        types[nt++] = "sdl";
    if (ok && nt == 0)
        ok = FAIL(s, v, "vfb: say vnc=1 or sdl=1 (or type=vnc|sdl)");
    for (int i = 0; ok && i < nt; i++) {
        if (d->n_consoles >= VMD_MAX_DEVICES)
            return FAIL(s, v, "too many consoles (at most %d)", VMD_MAX_DEVICES);
        vmd_console *c = vmd_push(&d->consoles, &d->n_consoles, sizeof(*d->consoles));
        c->protocol = vmd_xstrdup("rfb");
        vmd_map_set(&c->other_config, "type", types[i]);
        for (size_t j = 0; j < m.n; j++) {
            const char *k = m.v[j].key;
            if (strcmp(k, "type") != 0 && strcmp(k, "vnc") != 0 && strcmp(k, "sdl") != 0)
                vmd_map_set(&c->other_config, k, m.v[j].value);
        }
    }
    vmd_map_free(&m);
    return ok;
}

/* ---- applying the settings ----------------------------------------------- */

static bool set_action(actx *a, const char *var, char **field, bool crash)
{
    const lsetting *s = get(a, var);
    if (!s)
        return true;
    char *v;
    if (!as_str(a, s, &s->v, &v))
        return false;
    static const char *const map[][2] = {
        { "rename-restart", "rename_restart" }, { "coredump-destroy", "coredump_and_destroy" },
        { "coredump-restart", "coredump_and_restart" },
    };
    for (size_t i = 0; i < 3; i++)
        if (strcmp(v, map[i][0]) == 0)
            replace(&v, vmd_xstrdup(map[i][1]));
    static const char *const normal[] = { "destroy", "restart", NULL };
    static const char *const all[] = { "destroy", "restart", "preserve", "rename_restart",
                                       "coredump_and_destroy", "coredump_and_restart", NULL };
    const char *const *ok = crash ? all : normal;
    bool found = false;
    for (int i = 0; ok[i]; i++)
        found |= strcmp(v, ok[i]) == 0;
    if (!found) {
        bool legacy = false;
        for (int i = 0; all[i]; i++)
            legacy |= strcmp(v, all[i]) == 0;
        bool r = legacy ? FAIL(s, &s->v, "%s '%s': XenAPI allows only destroy or restart here",
                               var, v)
                        : FAIL(s, &s->v, "%s '%s' is not an action (destroy, restart%s)", var, v,
                               crash ? ", preserve, rename-restart, coredump-destroy, "
                                       "coredump-restart" : "");
        free(v);
        return r;
    }
    replace(field, v);
    return true;
}

/* An amount in use and its maximum: memory and maxmem (MiB), vcpus and maxvcpus.  The amount
 * raises the maximum to itself; the maximum may not be below the amount. */
typedef struct {
    const char *cur, *max; /* the variables */
    int64_t hi, unit;      /* each is 1..hi units of unit */
    const char *unit_name; /* in messages */
} amount;

static bool apply_amount(actx *a, const amount *am, int64_t *cur, int64_t *max)
{
    const lsetting *s;
    int64_t x;
    if ((s = get(a, am->cur))) {
        if (!as_int(a, s, &s->v, 1, am->hi, &x))
            return false;
        *cur = x * am->unit;
        if (*max < *cur)
            *max = *cur;
    }
    if ((s = get(a, am->max))) {
        if (!as_int(a, s, &s->v, 1, am->hi, &x))
            return false;
        if (*cur > x * am->unit)
            return FAIL(s, &s->v, "%s (%" PRId64 "%s) is below %s (%" PRId64 "%s)", am->max, x,
                        am->unit_name, am->cur, *cur / am->unit, am->unit_name);
        *max = x * am->unit;
    }
    return true;
}

static bool apply_memory(actx *a)
{
    static const amount memory = { "memory", "maxmem", (int64_t)1 << 30, MIB, " MiB" };
    vmdesc *d = a->d;
    if (!apply_amount(a, &memory, &d->mem_dynamic_max, &d->mem_static_max))
        return false;
    if (get(a, "memory")) /* the balloon's target, at both ends */
        d->mem_dynamic_min = d->mem_dynamic_max;
    return true;
}

static bool apply_vcpus(actx *a)
{
    static const amount vcpus = { "vcpus", "maxvcpus", 512, 1, "" };
    vmdesc *d = a->d;
    const lsetting *s;
    int64_t n;
    if (!apply_amount(a, &vcpus, &d->vcpus_at_startup, &d->vcpus_max))
        return false;
    if (get(a, "maxvcpus") && !d->vcpus_at_startup)
        d->vcpus_at_startup = d->vcpus_max;
    if ((s = get(a, "vcpu_avail"))) {
        if (!as_int(a, s, &s->v, 1, INT64_MAX, &n))
            return false;
        int bits = __builtin_popcountll((unsigned long long)n);
        if (n & (n + 1))
            return FAIL(s, &s->v, "vcpu_avail %" PRId64 ": only the low VCPUs can be online "
                        "at start (a mask like 0x3); use vcpus", n);
        if (!d->vcpus_max)
            d->vcpus_max = bits;
        if (bits > d->vcpus_max)
            return FAIL(s, &s->v, "vcpu_avail names %d VCPUs, more than maxvcpus", bits);
        d->vcpus_at_startup = bits;
    }
    int64_t nv = d->vcpus_max ? d->vcpus_max : 1;
    if ((s = get(a, "cpus"))) {
        /* drop the previous affinities: cpus= says all of them */
        for (size_t i = 0; i < d->vcpu_params.n;)
            if (strncmp(d->vcpu_params.v[i].key, "cpumap", 6) == 0)
                vmd_map_del(&d->vcpu_params, d->vcpu_params.v[i].key);
            else
                i++;
        char why[160];
        if (s->v.t == LV_LIST) {
            if ((int64_t)s->v.n != nv)
                return FAIL(s, &s->v, "cpus: the list has %zu entries but the VM has %" PRId64
                            " VCPUs", s->v.n, nv);
            for (size_t i = 0; i < s->v.n; i++) {
                char *spec, *set;
                const lval *e = &s->v.items[i];
                if (e->t == LV_LIST) {      /* xend 4.4's (cpus ((0 1) (2))) */
                    xbuf jb = { 0 };
                    for (size_t j = 0; j < e->n; j++) {
                        char *t;
                        if (!as_str(a, s, &e->items[j], &t)) {
                            xbuf_free(&jb);
                            return false;
                        }
                        xbuf_printf(&jb, "%s%s", j ? "," : "", t);
                        free(t);
                    }
                    spec = xbuf_steal(&jb, NULL);
                } else if (!as_str(a, s, e, &spec)) {
                    return false;
                }
                bool ok = vmd_cpus_parse(spec, &set, why, sizeof(why));
                free(spec);
                if (!ok)
                    return FAIL(s, &s->v.items[i], "cpus: %s", why);
                if (*set) {
                    char k[32];
                    snprintf(k, sizeof(k), "cpumap%zu", i);
                    vmd_map_set(&d->vcpu_params, k, set);
                }
                free(set);
            }
        } else {
            char *spec, *set;
            if (!as_str(a, s, &s->v, &spec))
                return false;
            bool ok = vmd_cpus_parse(spec, &set, why, sizeof(why));
            free(spec);
            if (!ok)
                return FAIL(s, &s->v, "cpus: %s", why);
            for (int64_t i = 0; *set && i < nv; i++) {
                char k[32];
                snprintf(k, sizeof(k), "cpumap%" PRId64, i);
                vmd_map_set(&d->vcpu_params, k, set);
            }
            free(set);
        }
    }
    if ((s = get(a, "cpu"))) {
        if (!as_int(a, s, &s->v, 0, MAX_CPU, &n))
            return false;
        char b[16];
        snprintf(b, sizeof(b), "%" PRId64, n);
        vmd_map_set(&d->vcpu_params, "cpumap0", b);
        WARN(s, &s->v, "cpu is deprecated: VCPU 0 is pinned to CPU %" PRId64 " (use cpus)", n);
    }
    static const char *const sched[][2] = { { "cpu_weight", "weight" }, { "cpu_cap", "cap" } };
    for (int i = 0; i < 2; i++)
        if ((s = get(a, sched[i][0]))) {
            if (!as_int(a, s, &s->v, 0, 65535, &n))
                return false;
            char b[16];
            snprintf(b, sizeof(b), "%" PRId64, n);
            vmd_map_set(&d->vcpu_params, sched[i][1], b);
        }
    return true;
}

static bool apply_str(actx *a, const char *var, char **field)
{
    const lsetting *s = get(a, var);
    char *v;
    if (!s)
        return true;
    if (!as_str(a, s, &s->v, &v))
        return false;
    if (strlen(v) > VMD_MAX_STRING) {
        free(v);
        return FAIL(s, &s->v, "%s: too long", var);
    }
    replace(field, v);
    return true;
}

/* The kernel command line from root, ip..., nfs_root and extra ([440]:
 * "root=R ip=I EXTRA", prefixes only when extra does not have them). */
static bool apply_args(actx *a)
{
    static const char *const parts[] = { "root", "ip", "gateway", "netmask", "hostname",
                                         "interface", "dhcp", "nfs_server", "nfs_root",
                                         "extra", NULL };
    bool any = false;
    for (int i = 0; parts[i]; i++)
        any |= get(a, parts[i]) != NULL;
    if (!any)
        return true;
    char *v[10] = { 0 };
    bool ok = true;
    for (int i = 0; parts[i] && ok; i++) {
        const lsetting *s = get(a, parts[i]);
        if (s)
            ok = as_str(a, s, &s->v, &v[i]);
    }
    char *root = v[0], *ip = v[1], *gw = v[2], *mask = v[3], *host = v[4], *ifc = v[5],
         *dhcp = v[6], *nfs = v[7], *nfsroot = v[8], *extra = v[9];
    xbuf b = { 0 };
    if (ok && nfsroot && *nfsroot && !(nfs && *nfs))
        ok = FAIL(get(a, "nfs_root"), NULL, "nfs_root needs nfs_server");
    if (ok) {
        const char *ex = extra ? extra : "";
        if (root && *root) {
            const char *r = strncmp(root, "root=", 5) == 0 ? root + 5 : root;
            if (!strstr(ex, "root="))
                xbuf_printf(&b, "root=%s", r);
        }
        bool use_ip = (ip && *ip) || (dhcp && *dhcp && strcmp(dhcp, "off") != 0);
        if (use_ip && !strstr(ex, "ip=")) {
            if (ip && strchr(ip, ':'))      /* SXP (ip "IP:NFS:GW:...") */
                xbuf_printf(&b, "%sip=%s", b.len ? " " : "", ip);
            else
                xbuf_printf(&b, "%sip=%s:%s:%s:%s:%s:%s:%s", b.len ? " " : "", ip ? ip : "",
                               nfs ? nfs : "", gw ? gw : "", mask ? mask : "", host ? host : "",
                               ifc && *ifc ? ifc : "eth0", dhcp && *dhcp ? dhcp : "off");
        }
        if (nfsroot && *nfsroot)
            xbuf_printf(&b, "%snfsroot=%s:%s", b.len ? " " : "", nfs, nfsroot);
        if (*ex)
            xbuf_printf(&b, "%s%s", b.len ? " " : "", ex);
        replace(&a->d->args, xbuf_steal(&b, NULL));
    }
    for (int i = 0; i < 10; i++)
        free(v[i]);
    return ok;
}

static bool apply_boot(actx *a)
{
    vmdesc *d = a->d;
    const lsetting *s;
    char *builder = NULL;
    if ((s = get(a, "builder")) && !as_str(a, s, &s->v, &builder))
        return false;
    bool hvm = d->hvm_boot_policy != NULL;
    if (builder) {
        if (strcmp(builder, "hvm") == 0)
            hvm = true;
        else if (strcmp(builder, "linux") == 0)
            hvm = false;
        else {
            bool r = FAIL(s, &s->v, "builder '%s' must be linux or hvm", builder);
            free(builder);
            return r;
        }
        free(builder);
        if (hvm && !d->hvm_boot_policy)
            d->hvm_boot_policy = vmd_xstrdup("BIOS order");
        if (!hvm) {
            replace(&d->hvm_boot_policy, NULL);
            vmd_map_free(&d->hvm_boot_params);
        }
    }
    if ((s = get(a, "boot"))) {
        char *b;
        if (!as_str(a, s, &s->v, &b))
            return false;
        if (!*b || strspn(b, "abcdn") != strlen(b)) {
            bool r = FAIL(s, &s->v, "boot '%s': letters a, b, c, d, n (floppy, disk, CD, net)", b);
            free(b);
            return r;
        }
        if (hvm)
            vmd_map_set(&d->hvm_boot_params, "order", b);
        else
            WARN(s, &s->v, "boot applies to HVM guests only (builder='hvm'); ignored");
        free(b);
    } else if (hvm && !vmd_map_get(&d->hvm_boot_params, "order")) {
        vmd_map_set(&d->hvm_boot_params, "order", "c");
    }
    if ((s = get(a, "kernel"))) {
        char *k;
        if (!as_str(a, s, &s->v, &k))
            return false;
        if (hvm) {          /* the HVM firmware: platform:loader */
            if (!get(a, "loader"))
                vmd_map_set(&d->platform, "loader", k);
            free(k);
        } else {
            replace(&d->kernel, k);
        }
    }
    if (!apply_str(a, "ramdisk", &d->ramdisk) || !apply_str(a, "bootloader", &d->bootloader) ||
        !apply_str(a, "bootargs", &d->bootloader_args))
        return false;
    if ((s = get(a, "bootentry"))) {
        char *e;
        if (!as_str(a, s, &s->v, &e))
            return false;
        WARN(s, &s->v, "bootentry is deprecated: it becomes bootargs='--entry=%s'", e);
        if (!get(a, "bootargs"))
            replace(&d->bootloader_args, vmd_xasprintf("--entry=%s", e));
        free(e);
    }
    if (!apply_args(a))
        return false;
    if (a->fresh && !hvm && !(d->kernel && *d->kernel) && !(d->bootloader && *d->bootloader))
        return vmd_fail(a->err, a->c->file, 0, "no kernel and no bootloader: set kernel= "
                        "(a PV guest) or bootloader= (e.g. pygrub), or builder='hvm'");
    return true;
}

/* t holds new device arrays (disks, vifs or pcis, the others empty): on
 * success they replace d's, and t frees d's old ones; else t frees its own. */
static void swap_devices(vmdesc *d, vmdesc *t, bool ok)
{
    if (ok) {
        if (t->disks) {
            vmd_disk *x = d->disks; size_t n = d->n_disks;
            d->disks = t->disks, d->n_disks = t->n_disks, t->disks = x, t->n_disks = n;
        }
        if (t->vifs) {
            vmd_vif *x = d->vifs; size_t n = d->n_vifs;
            d->vifs = t->vifs, d->n_vifs = t->n_vifs, t->vifs = x, t->n_vifs = n;
        }
        if (t->pcis) {
            vmd_pci *x = d->pcis; size_t n = d->n_pcis;
            d->pcis = t->pcis, d->n_pcis = t->n_pcis, t->pcis = x, t->n_pcis = n;
        }
    }
    vmdesc_free(t);
}

/* One "key=value" (split at the first '=') of the platform / other_config
 * lists; the value may hold commas. */
static bool kv_one(const actx *a, const lsetting *s, const lval *v, vmd_map *m)
{
    if (v->t == LV_LIST && v->n == 2 && v->items[0].t == LV_STR && v->items[1].t != LV_LIST) {
        char *val;                  /* (key value) from SXP */
        if (!as_str(a, s, &v->items[1], &val))
            return false;
        if (!*v->items[0].s || strpbrk(v->items[0].s, "=, \t")) {
            free(val);
            return FAIL(s, v, "%s: the key '%s' is empty or holds '=', ',' or a space", s->name,
                        v->items[0].s);
        }
        vmd_map_set(m, v->items[0].s, val);
        free(val);
        return true;
    }
    if (v->t == LV_LIST)
        return kv_items(a, s, v, m);
    char *str;
    if (!as_str(a, s, v, &str))
        return false;
    char *eq = strchr(str, '=');
    bool ok = eq && eq != str;
    if (ok) {
        *eq = '\0';
        char *k = trim(str);
        if (!*k || strpbrk(k, ", \t")) {
            FAIL(s, v, "%s: the key '%s' is empty or holds ',' or a space", s->name, k);
            free(str);
            return false;
        }
        vmd_map_set(m, k, eq + 1);
    } else {
        FAIL(s, v, "%s: '%s' is not of the form key=value", s->name, str);
    }
    free(str);
    return ok;
}

static bool apply_lists(actx *a)
{
    vmdesc *d = a->d;
    const lsetting *s;
    size_t n;
    const lval *it;
    if ((s = get(a, "disk"))) {
        it = items(s, &n);
        if (n > VMD_MAX_DEVICES)
            return FAIL(s, &s->v, "too many disks (at most %d)", VMD_MAX_DEVICES);
        vmdesc t;                   /* the new disks, swapped in on success */
        vmdesc_init(&t);
        t.disks = vmd_xcalloc(n, sizeof(*t.disks));
        bool ok = true;
        for (size_t i = 0; i < n && ok; i++) {
            if (it[i].t == LV_STR && !*trim(it[i].s))
                continue;           /* [ '' ]: no disk */
            ok = disk_one(a, s, &it[i], &t.disks[t.n_disks]);
            t.disks[t.n_disks].bootable = t.n_disks == 0;
            t.n_disks++;
        }
        swap_devices(d, &t, ok);
        if (!ok)
            return false;
    }
    if ((s = get(a, "vif")) || get(a, "nics")) {
        size_t nics = 0;
        const lsetting *ns = get(a, "nics");
        if (ns) {
            int64_t x;
            if (!as_int(a, ns, &ns->v, 0, VMD_MAX_DEVICES, &x))
                return false;
            nics = (size_t)x;
            WARN(ns, &ns->v, "nics is deprecated (give vif entries)");
        }
        n = 0;
        it = s ? items(s, &n) : NULL;
        size_t total = n > nics ? n : nics;
        if (total > VMD_MAX_DEVICES)
            return FAIL(s ? s : ns, NULL, "too many vifs (at most %d)", VMD_MAX_DEVICES);
        vmdesc t;
        vmdesc_init(&t);
        t.vifs = vmd_xcalloc(total, sizeof(*t.vifs));
        bool ok = true;
        lval empty = lval_str("", 0);
        for (size_t i = 0; i < total && ok; i++, t.n_vifs++)
            ok = vif_one(a, s ? s : ns, i < n ? &it[i] : &empty, i, &t.vifs[i]);
        lval_free(&empty);
        swap_devices(d, &t, ok);
        if (!ok)
            return false;
    }
    if ((s = get(a, "pci"))) {
        it = items(s, &n);
        if (n > VMD_MAX_DEVICES)
            return FAIL(s, &s->v, "too many pci devices (at most %d)", VMD_MAX_DEVICES);
        vmdesc t;
        vmdesc_init(&t);
        t.pcis = vmd_xcalloc(n, sizeof(*t.pcis));
        bool ok = true;
        for (size_t i = 0; i < n && ok; i++) {
            if (it[i].t == LV_STR && !*trim(it[i].s))
                continue;
            ok = pci_one(a, s, &it[i], &t.pcis[t.n_pcis++]);
        }
        swap_devices(d, &t, ok);
        if (!ok)
            return false;
    }
    if ((s = get(a, "vfb"))) {
        /* vfb= replaces the rfb consoles */
        size_t keep = 0;
        for (size_t i = 0; i < d->n_consoles; i++) {
            if (strcmp(d->consoles[i].protocol, "rfb") == 0) {
                free(d->consoles[i].protocol);
                vmd_map_free(&d->consoles[i].other_config);
            } else {
                d->consoles[keep++] = d->consoles[i];
            }
        }
        d->n_consoles = keep;
        it = items(s, &n);
        for (size_t i = 0; i < n; i++) {
            if (it[i].t == LV_STR && !*trim(it[i].s))
                continue;
            if (!vfb_one(a, s, &it[i], d))
                return false;
        }
    }
    if ((s = get(a, "access_control"))) {
        it = items(s, &n);
        size_t real = 0;
        for (size_t i = 0; i < n; i++) {
            if (it[i].t == LV_STR && !*trim(it[i].s))
                continue;
            if (++real > 1)
                return FAIL(s, &it[i], "access_control: at most one policy=P,label=L entry");
            vmd_map m = { 0 };
            if (!kv_items(a, s, &it[i], &m))
                return false;
            const char *p = vmd_map_get(&m, "policy"), *l = vmd_map_get(&m, "label");
            if (!p || !l || m.n != 2) {
                vmd_map_free(&m);
                return FAIL(s, &it[i], "access_control: expected 'policy=P,label=L'");
            }
            replace(&a->d->security_label, vmd_xasprintf("ACM:%s:%s", p, l));
            vmd_map_free(&m);
        }
    }
    static const char *const maps[] = { "platform", "other_config" };
    for (int mi = 0; mi < 2; mi++)
        if ((s = get(a, maps[mi]))) {
            it = items(s, &n);
            vmd_map *m = mi == 0 ? &d->platform : &d->other_config;
            for (size_t i = 0; i < n; i++) {
                vmd_map one = { 0 };
                if (!kv_one(a, s, &it[i], &one)) {
                    vmd_map_free(&one);
                    return false;
                }
                for (size_t j = 0; j < one.n; j++)
                    vmd_map_set(m, one.v[j].key, one.v[j].value);
                vmd_map_free(&one);
            }
        }
    return true;
}

static bool apply_misc(actx *a)
{
    vmdesc *d = a->d;
    const lsetting *s;
    if (!apply_str(a, "name", &d->name) || !apply_str(a, "description", &d->description) ||
        !apply_str(a, "pool", &d->pool_name))
        return false;
    /* here with the setting's line; vmdesc_finish checks every format's */
    if ((s = get(a, "name")) && d->name && strlen(d->name) > VMD_MAX_NAME)
        return FAIL(s, NULL, "name: longer than %d characters", VMD_MAX_NAME);
    if ((s = get(a, "uuid"))) {
        char *u;
        if (!as_str(a, s, &s->v, &u))
            return false;
        for (char *p = u; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        replace(&d->uuid, u);
        vmd_err e;
        vmdesc probe;
        vmdesc_init(&probe);
        probe.name = u;
        probe.uuid = u;
        bool ok = vmdesc_finish(&probe, &e);
        probe.name = probe.uuid = NULL;
        vmdesc_free(&probe);
        if (!ok)
            return FAIL(s, &s->v, "%s", e.msg);
    }
    if ((s = get(a, "restart"))) {
        char *r;
        if (!as_str(a, s, &s->v, &r))
            return false;
        const char *p, *rb, *c;
        if (strcmp(r, "onreboot") == 0)
            p = "destroy", rb = "restart", c = "destroy";
        else if (strcmp(r, "always") == 0)
            p = rb = c = "restart";
        else if (strcmp(r, "never") == 0)
            p = rb = c = "destroy";
        else {
            bool x = FAIL(s, &s->v, "restart '%s' must be onreboot, always or never", r);
            free(r);
            return x;
        }
        free(r);
        WARN(s, &s->v, "restart is deprecated (use on_poweroff, on_reboot, on_crash)");
        if (!get(a, "on_poweroff"))
            replace(&d->on_shutdown, vmd_xstrdup(p));
        if (!get(a, "on_reboot"))
            replace(&d->on_reboot, vmd_xstrdup(rb));
        if (!get(a, "on_crash"))
            replace(&d->on_crash, vmd_xstrdup(c));
    }
    if (!set_action(a, "on_poweroff", &d->on_shutdown, false) ||
        !set_action(a, "on_reboot", &d->on_reboot, false) ||
        !set_action(a, "on_crash", &d->on_crash, true))
        return false;
    if ((s = get(a, "on_xend_start"))) {
        char *v;
        if (!as_str(a, s, &s->v, &v))
            return false;
        bool ok = strcmp(v, "start") == 0 || strcmp(v, "ignore") == 0;
        if (ok)
            d->auto_power_on = strcmp(v, "start") == 0;
        else
            FAIL(s, &s->v, "on_xend_start '%s' must be ignore or start", v);
        free(v);
        if (!ok)
            return false;
    }
    if ((s = get(a, "on_xend_stop"))) {
        char *v;
        if (!as_str(a, s, &s->v, &v))
            return false;
        bool ok = strcmp(v, "ignore") == 0 || strcmp(v, "shutdown") == 0 ||
                  strcmp(v, "suspend") == 0;
        if (!ok)
            FAIL(s, &s->v, "on_xend_stop '%s' must be ignore, shutdown or suspend", v);
        else if (strcmp(v, "ignore") == 0)
            vmd_map_del(&d->other_config, "on_xend_stop");
        else
            vmd_map_set(&d->other_config, "on_xend_stop", v);
        free(v);
        if (!ok)
            return false;
    }
    static const char *const ints[] = { "s3_integrity", "superpages" };
    for (int i = 0; i < 2; i++)
        if ((s = get(a, ints[i]))) {
            int64_t x;
            if (!as_int(a, s, &s->v, 0, 1, &x))
                return false;
            *(i == 0 ? &d->s3_integrity : &d->superpages) = x;
        }
    return true;
}

/* platform[name] = value for the image and device-model variables. */
static bool apply_platform(actx *a)
{
    for (size_t i = 0; i < a->c->n; i++) {
        const lsetting *s = &a->c->v[i];
        const vardef *v = var_find(s->name);
        if (!v) {
            WARN(s, NULL, "unknown variable '%s' ignored", s->name);
            continue;
        }
        if (v->kind == K_PLATFORM) {
            char *x;
            if (!as_str(a, s, &s->v, &x))
                return false;
            if (strlen(x) > VMD_MAX_STRING) {
                free(x);
                return FAIL(s, &s->v, "%s: too long", s->name);
            }
            vmd_map_set(&a->d->platform, s->name, x);
            free(x);
        } else if (v->kind == K_UNSUPPORTED) {
            bool empty = (s->v.t == LV_INT && s->v.i == 0) ||
                         (s->v.t == LV_STR && !*s->v.s) || (s->v.t == LV_LIST && s->v.n == 0);
            if (s->v.t == LV_LIST && s->v.n == 1 && s->v.items[0].t == LV_STR &&
                !*s->v.items[0].s)
                empty = true;
            if (!empty)
                return FAIL(s, &s->v, "%s: not supported through XenAPI (%s)", s->name,
                            strcmp(s->name, "blkif") == 0 || strcmp(s->name, "netif") == 0 ||
                            strcmp(s->name, "tpmif") == 0 ? "no driver domains"
                                                          : "no such device class");
        }
    }
    return true;
}

bool vmd_legacy_apply(const lconf *c, vmdesc *d, bool fresh, const char *default_name,
                      vmd_diag *warn, vmd_err *err)
{
    actx a = { .c = c, .d = d, .fresh = fresh, .warn = warn, .err = err };
    if (!apply_misc(&a) || !apply_memory(&a) || !apply_vcpus(&a) || !apply_platform(&a) ||
        !apply_boot(&a) || !apply_lists(&a))
        return false;
    if (fresh && !d->name && default_name)
        d->name = vmd_xstrdup(default_name);
    return true;
}

/* ---- back: description -> settings --------------------------------------- */

static void put_str(lconf *c, const char *name, const char *v)
{
    if (v && *v)
        lconf_set(c, name, lval_str(v, 0), 0, false);
}

static void put_int(lconf *c, const char *name, int64_t v)
{
    lconf_set(c, name, lval_int(v, 0), 0, false);
}

/* name = the list l, unless it is empty (l is taken either way). */
static void put_list(lconf *c, const char *name, lval l)
{
    if (l.n)
        lconf_set(c, name, l, 0, false);
    else
        lval_free(&l);
}

/* Appends 'key=value' to the list l. */
static void push_kv(lval *l, const vmd_kv *kv)
{
    char *e = vmd_xasprintf("%s=%s", kv->key, kv->value);
    lval_push(l, lval_str(e, 0));
    free(e);
}

/* An integer-looking platform value is written as an int. */
static lval platform_value(const char *v)
{
    int64_t x;
    if (*v && (isdigit((unsigned char)*v) || *v == '-') && parse_int(v, &x)) {
        char b[32];
        snprintf(b, sizeof(b), "%" PRId64, x);
        if (strcmp(b, v) == 0)
            return lval_int(x, 0);
    }
    return lval_str(v, 0);
}

static void from_cpus(const vmdesc *d, lconf *c)
{
    const char *m0 = vmd_map_get(&d->vcpu_params, "cpumap0");
    bool any = false, same = m0 != NULL;
    for (int64_t i = 0; i < d->vcpus_max; i++) {
        char k[32];
        snprintf(k, sizeof(k), "cpumap%" PRId64, i);
        const char *m = vmd_map_get(&d->vcpu_params, k);
        any |= m != NULL;
        if (!m || !m0 || strcmp(m, m0) != 0)
            same = false;
    }
    if (!any)
        return;
    if (same) {
        put_str(c, "cpus", m0);
        return;
    }
    lval l = lval_list(0);
    for (int64_t i = 0; i < d->vcpus_max; i++) {
        char k[32];
        snprintf(k, sizeof(k), "cpumap%" PRId64, i);
        const char *m = vmd_map_get(&d->vcpu_params, k);
        lval_push(&l, lval_str(m ? m : "", 0));
    }
    lconf_set(c, "cpus", l, 0, false);
}

static void kv_join(xbuf *b, const vmd_map *m, const char *skip)
{
    for (size_t i = 0; i < m->n; i++) {
        if (skip && strcmp(m->v[i].key, skip) == 0)
            continue;
        xbuf_printf(b, "%s%s=%s", b->len ? "," : "", m->v[i].key, m->v[i].value);
    }
}

/* Where the writer's warnings say they are. */
static const char from_file[] = "output";

/* The legacy string of disk, vif or pci number i (a device_writer). */
typedef void device_writer(xbuf *b, const void *dev, size_t i, vmd_diag *warn);

static void disk_legacy(xbuf *b, const void *dev, size_t i, vmd_diag *warn)
{
    const vmd_disk *k = dev;
    xbuf_printf(b, "%s,%s%s,%s", k->uname, k->dev, k->cdrom ? ":cdrom" : "",
                   !k->writable ? "r" : k->sharable ? "w!" : "w");
    if (k->sharable && !k->writable)
        vmd_warn(warn, from_file, 0, "disk %s: a sharable read-only VDI has no legacy form "
                 "(written as r)", k->dev);
    if (k->backend || k->protocol)
        xbuf_printf(b, ",%s", k->backend ? k->backend : "");
    if (k->protocol)
        xbuf_printf(b, ",%s", k->protocol);
    if (k->bootable != (i == 0))
        vmd_warn(warn, from_file, 0, "disk %s: bootable=%d has no legacy form (the first disk "
                 "boots)", k->dev, k->bootable);
    if (k->size >= 0)
        vmd_warn(warn, from_file, 0, "disk %s: the VDI size has no legacy form", k->dev);
    if (k->vdi_type && strcmp(k->vdi_type, "system") != 0)
        vmd_warn(warn, from_file, 0, "disk %s: VDI type '%s' has no legacy form", k->dev,
                 k->vdi_type);
    if (k->vdi_label && strcmp(k->vdi_label, k->uname) != 0)
        vmd_warn(warn, from_file, 0, "disk %s: VDI name '%s' has no legacy form", k->dev,
                 k->vdi_label);
    if ((k->qos_type && *k->qos_type) || k->qos_params.n)
        vmd_warn(warn, from_file, 0, "disk %s: QoS settings have no legacy form", k->dev);
}

static void vif_legacy(xbuf *b, const void *dev, size_t i, vmd_diag *warn)
{
    const vmd_vif *f = dev;
    if (f->mac)
        xbuf_printf(b, "mac=%s", f->mac);
    if (f->bridge)
        xbuf_printf(b, "%sbridge=%s", b->len ? "," : "", f->bridge);
    if (f->mtu)
        xbuf_printf(b, "%smtu=%" PRId64, b->len ? "," : "", f->mtu);
    kv_join(b, &f->legacy, NULL);
    char idx[32];
    snprintf(idx, sizeof(idx), "%zu", i);
    if (f->device && strcmp(f->device, idx) != 0)
        vmd_warn(warn, from_file, 0, "vif %zu: device '%s' has no legacy form (vifs are "
                 "numbered in order)", i, f->device);
    bool rate = vmd_map_get(&f->legacy, "rate") != NULL;
    if (!rate && ((f->qos_type && *f->qos_type) || f->qos_params.n))
        vmd_warn(warn, from_file, 0, "vif %zu: QoS settings have no legacy form", i);
    if (f->security_label && *f->security_label)
        vmd_warn(warn, from_file, 0, "vif %zu: security_label has no legacy form", i);
}

static void pci_legacy(xbuf *b, const void *dev, size_t i, vmd_diag *warn)
{
    const vmd_pci *p = dev;
    xbuf_printf(b, "%04x:%02x:%02x.%x", p->domain, p->bus, p->slot, p->func);
    if (p->vslot >= 0)
        xbuf_printf(b, "@%02x", (unsigned)p->vslot);
    xbuf tail = { 0 };
    if (p->key)
        xbuf_printf(&tail, "key=%s", p->key);
    kv_join(&tail, &p->opts, NULL);
    if (tail.len)
        xbuf_printf(b, ",%s", tail.data);
    xbuf_free(&tail);
}

/* name = [ the legacy string of each of the n devices at v (of size sz) ], unless n is 0. */
static void put_devices(lconf *c, const char *name, const void *v, size_t n, size_t sz,
                        device_writer *write, vmd_diag *warn)
{
    if (!n)
        return;
    lval l = lval_list(0);
    for (size_t i = 0; i < n; i++) {
        xbuf b = { 0 };
        write(&b, (const char *)v + i * sz, i, warn);
        lval_push(&l, lval_str(b.data ? b.data : "", 0));
        xbuf_free(&b);
    }
    lconf_set(c, name, l, 0, false);
}

void vmd_legacy_from_desc(const vmdesc *d, lconf *c, vmd_diag *warn)
{
    const char *F = from_file;
    bool hvm = d->hvm_boot_policy && *d->hvm_boot_policy;
    put_str(c, "name", d->name);
    put_str(c, "uuid", d->uuid);
    put_str(c, "description", d->description);
    if (hvm) {
        put_str(c, "builder", "hvm");
        if (strcmp(d->hvm_boot_policy, "BIOS order") != 0)
            vmd_warn(warn, F, 0, "HVM_boot_policy '%s' has no legacy form", d->hvm_boot_policy);
    }
    put_str(c, "kernel", d->kernel);
    put_str(c, "ramdisk", d->ramdisk);
    put_str(c, "bootloader", d->bootloader);
    put_str(c, "bootargs", d->bootloader_args);
    put_str(c, "extra", d->args);
    if (d->mem_dynamic_max % MIB || d->mem_static_max % MIB)
        vmd_warn(warn, F, 0, "memory is not a whole number of MiB; rounded down");
    if (d->mem_dynamic_min != d->mem_dynamic_max)
        vmd_warn(warn, F, 0, "memory_dynamic_min differs from dynamic_max: the legacy "
                 "formats have one memory size");
    if (d->mem_static_min)
        vmd_warn(warn, F, 0, "memory_static_min has no legacy form");
    put_int(c, "memory", d->mem_dynamic_max / MIB);
    if (d->mem_static_max != d->mem_dynamic_max)
        put_int(c, "maxmem", d->mem_static_max / MIB);
    put_int(c, "vcpus", d->vcpus_at_startup);
    if (d->vcpus_max != d->vcpus_at_startup)
        put_int(c, "maxvcpus", d->vcpus_max);
    from_cpus(d, c);
    for (size_t i = 0; i < d->vcpu_params.n; i++) {
        const char *k = d->vcpu_params.v[i].key, *v = d->vcpu_params.v[i].value;
        int64_t x;
        if (strncmp(k, "cpumap", 6) == 0)
            continue;
        if ((strcmp(k, "weight") == 0 || strcmp(k, "cap") == 0) && parse_int(v, &x))
            put_int(c, strcmp(k, "weight") == 0 ? "cpu_weight" : "cpu_cap", x);
        else
            vmd_warn(warn, F, 0, "VCPUs_params '%s' has no legacy form", k);
    }
    if (d->pool_name && strcmp(d->pool_name, "Pool-0") != 0)
        put_str(c, "pool", d->pool_name);
    if (d->on_shutdown)
        put_str(c, "on_poweroff", d->on_shutdown);
    if (d->on_reboot)
        put_str(c, "on_reboot", d->on_reboot);
    if (d->on_crash) {
        const char *v = d->on_crash;
        if (strcmp(v, "rename_restart") == 0)
            v = "rename-restart";
        else if (strcmp(v, "coredump_and_destroy") == 0)
            v = "coredump-destroy";
        else if (strcmp(v, "coredump_and_restart") == 0)
            v = "coredump-restart";
        put_str(c, "on_crash", v);
    }
    if (d->auto_power_on)
        put_str(c, "on_xend_start", "start");
    const char *oxs = vmd_map_get(&d->other_config, "on_xend_stop");
    if (oxs && (strcmp(oxs, "shutdown") == 0 || strcmp(oxs, "suspend") == 0))
        put_str(c, "on_xend_stop", oxs);
    else
        oxs = NULL;
    if (d->s3_integrity >= 0 && d->s3_integrity != 1)
        put_int(c, "s3_integrity", d->s3_integrity);
    if (d->superpages > 0)
        put_int(c, "superpages", d->superpages);
    if (d->security_label && *d->security_label) {
        char pol[256], lab[256];
        if (sscanf(d->security_label, "ACM:%255[^:]:%255[^\n]", pol, lab) == 2) {
            lval l = lval_list(0);
            char *e = vmd_xasprintf("policy=%s,label=%s", pol, lab);
            lval_push(&l, lval_str(e, 0));
            free(e);
            lconf_set(c, "access_control", l, 0, false);
        } else {
            vmd_warn(warn, F, 0, "security_label '%s' has no legacy form", d->security_label);
        }
    }
    if (d->is_a_template)
        vmd_warn(warn, F, 0, "is_a_template has no legacy form");
    for (size_t i = 0; i < d->n_networks; i++)
        vmd_warn(warn, F, 0, "network '%s': network definitions have no legacy form (a vif "
                 "names it as bridge=)", d->networks[i].label);
    if (d->user_version != 1)
        vmd_warn(warn, F, 0, "user_version has no legacy form");
    if (d->pci_bus && *d->pci_bus)
        vmd_warn(warn, F, 0, "PCI_bus has no legacy form");
    for (size_t i = 0; i < d->hvm_boot_params.n; i++) {
        const vmd_kv *kv = &d->hvm_boot_params.v[i];
        if (strcmp(kv->key, "order") == 0 && hvm)
            put_str(c, "boot", kv->value);
        else
            vmd_warn(warn, F, 0, "HVM_boot_params '%s' has no legacy form", kv->key);
    }
    /* platform: known variables by name, the rest in the platform list */
    lval extra = lval_list(0);
    for (size_t i = 0; i < d->platform.n; i++) {
        const vmd_kv *kv = &d->platform.v[i];
        const vardef *v = var_find(kv->key);
        if (v && v->kind == K_PLATFORM)
            lconf_set(c, kv->key, platform_value(kv->value), 0, false);
        else
            push_kv(&extra, kv);
    }
    put_list(c, "platform", extra);
    /* devices */
    put_devices(c, "disk", d->disks, d->n_disks, sizeof(*d->disks), disk_legacy, warn);
    put_devices(c, "vif", d->vifs, d->n_vifs, sizeof(*d->vifs), vif_legacy, warn);
    put_devices(c, "pci", d->pcis, d->n_pcis, sizeof(*d->pcis), pci_legacy, warn);
    lval vfb = lval_list(0);
    for (size_t i = 0; i < d->n_consoles; i++) {
        const vmd_console *k = &d->consoles[i];
        const char *t = vmd_map_get(&k->other_config, "type");
        if (strcmp(k->protocol, "rfb") != 0 || !t || (strcmp(t, "vnc") && strcmp(t, "sdl"))) {
            vmd_warn(warn, F, 0, "console %zu (%s%s%s) has no legacy form", i, k->protocol,
                     t ? " " : "", t ? t : "");
            continue;
        }
        xbuf b = { 0 };
        xbuf_printf(&b, "type=%s", t);
        kv_join(&b, &k->other_config, "type");
        lval_push(&vfb, lval_str(b.data, 0));
        xbuf_free(&b);
    }
    put_list(c, "vfb", vfb);
    lval oc = lval_list(0);
    for (size_t i = 0; i < d->other_config.n; i++)
        if (!oxs || strcmp(d->other_config.v[i].key, "on_xend_stop") != 0)
            push_kv(&oc, &d->other_config.v[i]);
    put_list(c, "other_config", oc);
}
