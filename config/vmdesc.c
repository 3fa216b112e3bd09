/* vmdesc: the VM description, its containers, defaults and checks, and the
 * entry points that dispatch to the formats (config/vmdesc.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/vmd_internal.h"

/* ---- allocation and buffers --------------------------------------------- */

static void oom(void)
{
    fputs("out of memory\n", stderr);
    abort();
}

void *vmd_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *vmd_xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        oom();
    return p;
}

void *vmd_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}

char *vmd_xstrdup(const char *s)
{
    return vmd_xstrndup(s, strlen(s));
}

char *vmd_xstrndup(const char *s, size_t n)
{
    char *p = vmd_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *xvasprintf(const char *fmt, va_list ap)
{
    char *s;
    if (vasprintf(&s, fmt, ap) < 0)
        oom();
    return s;
}

char *vmd_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

void vmd_grow(void *v, size_t *cap, size_t need, size_t sz)
{
    void **pv = v;
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 4;
    while (c < need)
        c *= 2;
    *pv = vmd_xrealloc(*pv, c * sz);
    *cap = c;
}

void *vmd_push(void *v, size_t *n, size_t sz)
{
    void **pv = v;
    *pv = vmd_xrealloc(*pv, (*n + 1) * sz);
    void *e = (char *)*pv + *n * sz;
    memset(e, 0, sz);
    (*n)++;
    return e;
}

void vmd_buf_add(vmd_buf *b, const char *s, size_t n)
{
    vmd_grow(&b->s, &b->cap, b->n + n + 1, 1);
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

void vmd_buf_puts(vmd_buf *b, const char *s)
{
    vmd_buf_add(b, s, strlen(s));
}

void vmd_buf_printf(vmd_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    vmd_buf_puts(b, s);
    free(s);
}

char *vmd_buf_take(vmd_buf *b)
{
    if (!b->s)
        return vmd_xstrdup("");
    char *s = b->s;
    memset(b, 0, sizeof(*b));
    return s;
}

void vmd_buf_quote(vmd_buf *b, const char *s, char q, vmd_quoting how)
{
    static const char ctl[] = "\n\r\t", letter[] = "nrt";
    vmd_buf_add(b, &q, 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *c = strchr(ctl, *p);
        if (*p == (unsigned char)q || *p == '\\')
            vmd_buf_printf(b, "\\%c", *p);
        else if (c && (how == VMD_QUOTE_PY || *p != '\r'))
            vmd_buf_printf(b, "\\%c", letter[c - ctl]);
        else if (*p < 0x20 || *p == 0x7f)
            vmd_buf_printf(b, how == VMD_QUOTE_PY ? "\\x%02x" : "\\u%04x", *p);
        else
            vmd_buf_add(b, (const char *)p, 1);
    }
    vmd_buf_add(b, &q, 1);
}

/* ---- errors and warnings ------------------------------------------------ */

bool vmd_fail(vmd_err *e, const char *file, unsigned line, const char *fmt, ...)
{
    if (!e)
        return false;
    snprintf(e->file, sizeof(e->file), "%s", file ? file : "");   /* "": filled by the caller */
    e->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return false;
}

const char *vmd_err_str(const vmd_err *e, char *buf, size_t n)
{
    const char *f = e->file[0] ? e->file : "<string>";
    if (e->line)
        snprintf(buf, n, "%s:%u: %s", f, e->line, e->msg);
    else
        snprintf(buf, n, "%s: %s", f, e->msg);
    return buf;
}

void vmd_warn(vmd_diag *d, const char *file, unsigned line, const char *fmt, ...)
{
    if (!d)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *m = xvasprintf(fmt, ap);
    va_end(ap);
    vmd_grow(&d->v, &d->cap, d->n + 1, sizeof(*d->v));
    if (line)
        d->v[d->n++] = vmd_xasprintf("%s:%u: %s", file ? file : "<string>", line, m);
    else
        d->v[d->n++] = vmd_xasprintf("%s: %s", file ? file : "<string>", m);
    free(m);
}

void vmd_diag_free(vmd_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i]);
    free(d->v);
    memset(d, 0, sizeof(*d));
}

/* ---- maps --------------------------------------------------------------- */

const char *vmd_map_get(const vmd_map *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].key, key) == 0)
            return m->v[i].value;
    return NULL;
}

void vmd_map_set(vmd_map *m, const char *key, const char *value)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].key, key) == 0) {
            char *v = vmd_xstrdup(value);
            free(m->v[i].value);
            m->v[i].value = v;
            return;
        }
    vmd_grow(&m->v, &m->cap, m->n + 1, sizeof(*m->v));
    m->v[m->n].key = vmd_xstrdup(key);
    m->v[m->n].value = vmd_xstrdup(value);
    m->n++;
}

bool vmd_map_del(vmd_map *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].key, key) == 0) {
            free(m->v[i].key);
            free(m->v[i].value);
            memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
            m->n--;
            return true;
        }
    return false;
}

/* Frees n pairs and the array (maps and VAR=VALUE lists are both). */
static void kv_array_free(vmd_kv *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].value);
    }
    free(v);
}

void vmd_map_free(vmd_map *m)
{
    kv_array_free(m->v, m->n);
    memset(m, 0, sizeof(*m));
}

/* Order-insensitive equality (maps are sets of pairs). */
static bool map_equal(const vmd_map *a, const vmd_map *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const char *v = vmd_map_get(b, a->v[i].key);
        if (!v || strcmp(v, a->v[i].value) != 0)
            return false;
    }
    return true;
}

/* ---- description -------------------------------------------------------- */

void vmdesc_init(vmdesc *d)
{
    memset(d, 0, sizeof(*d));
    d->user_version = 1;
    d->s3_integrity = -1;
    d->superpages = -1;
}

static void disk_free(vmd_disk *k)
{
    free(k->uname);
    free(k->dev);
    free(k->backend);
    free(k->protocol);
    free(k->vdi_type);
    free(k->vdi_label);
    free(k->qos_type);
    vmd_map_free(&k->qos_params);
}

static void vif_free(vmd_vif *v)
{
    free(v->mac);
    free(v->bridge);
    free(v->device);
    free(v->qos_type);
    vmd_map_free(&v->qos_params);
    free(v->security_label);
    vmd_map_free(&v->legacy);
}

void vmdesc_free(vmdesc *d)
{
    free(d->name);
    free(d->uuid);
    free(d->description);
    vmd_map_free(&d->vcpu_params);
    free(d->on_shutdown);
    free(d->on_reboot);
    free(d->on_crash);
    free(d->kernel);
    free(d->ramdisk);
    free(d->args);
    free(d->bootloader);
    free(d->bootloader_args);
    free(d->hvm_boot_policy);
    vmd_map_free(&d->hvm_boot_params);
    vmd_map_free(&d->platform);
    vmd_map_free(&d->other_config);
    free(d->pci_bus);
    free(d->pool_name);
    free(d->security_label);
    for (size_t i = 0; i < d->n_disks; i++)
        disk_free(&d->disks[i]);
    free(d->disks);
    for (size_t i = 0; i < d->n_vifs; i++)
        vif_free(&d->vifs[i]);
    free(d->vifs);
    for (size_t i = 0; i < d->n_pcis; i++) {
        free(d->pcis[i].key);
        vmd_map_free(&d->pcis[i].opts);
    }
    free(d->pcis);
    for (size_t i = 0; i < d->n_consoles; i++) {
        free(d->consoles[i].protocol);
        vmd_map_free(&d->consoles[i].other_config);
    }
    free(d->consoles);
    for (size_t i = 0; i < d->n_networks; i++) {
        vmd_network *w = &d->networks[i];
        free(w->label);
        free(w->description);
        free(w->gateway);
        free(w->netmask);
        vmd_map_free(&w->other_config);
    }
    free(d->networks);
    vmdesc_init(d);
}

/* NULL and "" are the same for optional strings. */
static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

#define DIFF(cond, ...) do { if (cond) { if (what) snprintf(what, n, __VA_ARGS__); return false; } } while (0)

bool vmdesc_equal(const vmdesc *a, const vmdesc *b, char *what, size_t n)
{
#define S(f) DIFF(!str_eq(a->f, b->f), "%s: '%s' vs '%s'", #f, a->f ? a->f : "", b->f ? b->f : "")
#define I(f) DIFF(a->f != b->f, "%s: %" PRId64 " vs %" PRId64, #f, (int64_t)a->f, (int64_t)b->f)
#define M(f) DIFF(!map_equal(&a->f, &b->f), "%s differs", #f)
    S(name); S(uuid); S(description);
    I(user_version); I(is_a_template); I(auto_power_on);
    I(mem_static_min); I(mem_static_max); I(mem_dynamic_min); I(mem_dynamic_max);
    I(vcpus_max); I(vcpus_at_startup);
    M(vcpu_params);
    S(on_shutdown); S(on_reboot); S(on_crash);
    S(kernel); S(ramdisk); S(args); S(bootloader); S(bootloader_args);
    S(hvm_boot_policy); M(hvm_boot_params); M(platform); M(other_config);
    S(pci_bus); S(pool_name); S(security_label);
    I(s3_integrity); I(superpages);
    I(n_disks); I(n_vifs); I(n_pcis); I(n_consoles); I(n_networks);
#undef S
#undef I
#undef M
    for (size_t i = 0; i < a->n_disks; i++) {
        const vmd_disk *x = &a->disks[i], *y = &b->disks[i];
#define S(f) DIFF(!str_eq(x->f, y->f), "disk %zu %s: '%s' vs '%s'", i, #f, x->f ? x->f : "", y->f ? y->f : "")
#define I(f) DIFF(x->f != y->f, "disk %zu %s: %" PRId64 " vs %" PRId64, i, #f, (int64_t)x->f, (int64_t)y->f)
        S(uname); S(dev); I(cdrom); I(writable); I(sharable); I(bootable);
        S(backend); S(protocol); I(size); S(vdi_type); S(vdi_label); S(qos_type);
        DIFF(!map_equal(&x->qos_params, &y->qos_params), "disk %zu qos_params differ", i);
#undef S
#undef I
    }
    for (size_t i = 0; i < a->n_vifs; i++) {
        const vmd_vif *x = &a->vifs[i], *y = &b->vifs[i];
#define S(f) DIFF(!str_eq(x->f, y->f), "vif %zu %s: '%s' vs '%s'", i, #f, x->f ? x->f : "", y->f ? y->f : "")
        S(mac); S(bridge); S(device); S(qos_type); S(security_label);
        DIFF(x->mtu != y->mtu, "vif %zu mtu differs", i);
        DIFF(!map_equal(&x->qos_params, &y->qos_params), "vif %zu qos_params differ", i);
        DIFF(!map_equal(&x->legacy, &y->legacy), "vif %zu legacy keys differ", i);
#undef S
    }
    for (size_t i = 0; i < a->n_pcis; i++) {
        const vmd_pci *x = &a->pcis[i], *y = &b->pcis[i];
        DIFF(x->domain != y->domain || x->bus != y->bus || x->slot != y->slot ||
             x->func != y->func || x->vslot != y->vslot || !str_eq(x->key, y->key) ||
             !map_equal(&x->opts, &y->opts), "pci %zu differs", i);
    }
    for (size_t i = 0; i < a->n_networks; i++) {
        const vmd_network *x = &a->networks[i], *y = &b->networks[i];
        DIFF(!str_eq(x->label, y->label) || !str_eq(x->description, y->description) ||
             !str_eq(x->gateway, y->gateway) || !str_eq(x->netmask, y->netmask) ||
             !map_equal(&x->other_config, &y->other_config), "network %zu differs", i);
    }
    for (size_t i = 0; i < a->n_consoles; i++) {
        const vmd_console *x = &a->consoles[i], *y = &b->consoles[i];
        DIFF(!str_eq(x->protocol, y->protocol) || !map_equal(&x->other_config, &y->other_config),
             "console %zu differs", i);
    }
    return true;
}
#undef DIFF

static void set_default(char **f, const char *v)
{
    if (!*f)
        *f = vmd_xstrdup(v);
}

static bool in_list(const char *v, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(v, *list) == 0)
            return true;
    return false;
}

static const char *const normal_exit[] = { "destroy", "restart", NULL };
static const char *const crash_behaviour[] = { "destroy", "coredump_and_destroy", "restart",
                                               "coredump_and_restart", "preserve",
                                               "rename_restart", NULL };
static const char *const console_protocols[] = { "vt100", "rfb", "rdp", NULL };

/* A UUID in the hyphenated 8-4-4-4-12 form (what XenAPI refs look like). */
static bool uuid_ok(const char *u)
{
    static const int groups[] = { 8, 4, 4, 4, 12 };
    for (int g = 0; g < 5; g++) {
        for (int i = 0; i < groups[g]; i++, u++)
            if (!isxdigit((unsigned char)*u))
                return false;
        if (g < 4 && *u++ != '-')
            return false;
    }
    return *u == '\0';
}

bool vmd_dev_name_ok(const char *d)
{
    if (!*d)
        return false;
    for (; *d; d++)
        if (!isalnum((unsigned char)*d) && *d != '_' && *d != '-')
            return false;
    return true;
}

bool vmd_mac_ok(const char *m)
{
    for (int i = 0; i < 6; i++) {
        if (!isxdigit((unsigned char)m[0]) || !isxdigit((unsigned char)m[1]))
            return false;
        m += 2;
        if (i < 5 && *m++ != ':')
            return false;
    }
    return *m == '\0';
}

/* Keys without ",= " and values without ",": what "k=v,k=v" can carry. */
static bool kv_clean(const vmd_map *m)
{
    for (size_t i = 0; i < m->n; i++)
        if (!*m->v[i].key || strpbrk(m->v[i].key, ",= \t") || strchr(m->v[i].value, ','))
            return false;
    return true;
}

bool vmdesc_finish(vmdesc *d, vmd_err *err)
{
    if (!d->name || !*d->name)
        return vmd_fail(err, NULL, 0, "the VM has no name");
    if (d->uuid && !uuid_ok(d->uuid))
        return vmd_fail(err, NULL, 0, "uuid '%s' is not of the form "
                        "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", d->uuid);
    const int64_t mib = 1 << 20;
    if (!d->mem_dynamic_max)
        d->mem_dynamic_max = d->mem_static_max ? d->mem_static_max : 128 * mib;
    if (!d->mem_dynamic_min)
        d->mem_dynamic_min = d->mem_dynamic_max;
    if (!d->mem_static_max)
        d->mem_static_max = d->mem_dynamic_max;
    if (d->mem_static_min < 0 || d->mem_dynamic_min <= 0)
        return vmd_fail(err, NULL, 0, "memory must be positive");
    if (!(d->mem_static_min <= d->mem_dynamic_min && d->mem_dynamic_min <= d->mem_dynamic_max &&
          d->mem_dynamic_max <= d->mem_static_max))
        return vmd_fail(err, NULL, 0, "memory: need static_min (%" PRId64 ") <= dynamic_min (%"
                        PRId64 ") <= dynamic_max (%" PRId64 ") <= static_max (%" PRId64
                        ") (maxmem below memory?)", d->mem_static_min, d->mem_dynamic_min,
                        d->mem_dynamic_max, d->mem_static_max);
    if (!d->vcpus_at_startup)
        d->vcpus_at_startup = d->vcpus_max ? d->vcpus_max : 1;
    if (!d->vcpus_max)
        d->vcpus_max = d->vcpus_at_startup;
    if (d->vcpus_at_startup < 1 || d->vcpus_max > 512 || d->vcpus_at_startup > d->vcpus_max)
        return vmd_fail(err, NULL, 0, "vcpus: need 1 <= vcpus (%" PRId64 ") <= maxvcpus (%"
                        PRId64 ") <= 512", d->vcpus_at_startup, d->vcpus_max);
    for (size_t i = 0; i < d->vcpu_params.n; i++) {
        const char *k = d->vcpu_params.v[i].key;
        unsigned long long c;
        char tail;
        if (sscanf(k, "cpumap%llu%c", &c, &tail) == 1 && c >= (unsigned long long)d->vcpus_max)
            return vmd_fail(err, NULL, 0, "cpus: an affinity for VCPU %llu but the VM has %"
                            PRId64 " VCPUs", c, d->vcpus_max);
    }
    if (d->s3_integrity < 0)
        d->s3_integrity = 1;        /* xm's default */
    if (d->superpages < 0)
        d->superpages = 0;
    set_default(&d->pool_name, "Pool-0");
    set_default(&d->on_shutdown, "destroy");
    set_default(&d->on_reboot, "restart");
    set_default(&d->on_crash, "restart");
    if (!in_list(d->on_shutdown, normal_exit))
        return vmd_fail(err, NULL, 0, "on_poweroff '%s': XenAPI allows destroy or restart",
                        d->on_shutdown);
    if (!in_list(d->on_reboot, normal_exit))
        return vmd_fail(err, NULL, 0, "on_reboot '%s': XenAPI allows destroy or restart",
                        d->on_reboot);
    if (!in_list(d->on_crash, crash_behaviour))
        return vmd_fail(err, NULL, 0, "on_crash '%s': XenAPI allows destroy, "
                        "coredump_and_destroy, restart, coredump_and_restart, preserve or "
                        "rename_restart", d->on_crash);
    for (size_t i = 0; i < d->n_disks; i++) {
        const vmd_disk *k = &d->disks[i];
        if (!k->dev || !vmd_dev_name_ok(k->dev))
            return vmd_fail(err, NULL, 0, "disk %zu: '%s' is not a virtual device name "
                            "(xvda, hda, sda1...)", i, k->dev ? k->dev : "");
        if (!*k->uname && !k->cdrom)
            return vmd_fail(err, NULL, 0, "disk %s: only a CD drive may be empty", k->dev);
        if ((*k->uname && !strchr(k->uname, ':')) || strchr(k->uname, ',') ||
            (k->backend && strchr(k->backend, ',')) || (k->protocol && strchr(k->protocol, ',')))
            return vmd_fail(err, NULL, 0, "disk %s: '%s' is not TYPE:PATH (phy:, file:, "
                            "tap:aio:...) without ','", k->dev, k->uname);
        for (size_t j = 0; j < i; j++)
            if (strcmp(d->disks[j].dev, k->dev) == 0)
                return vmd_fail(err, NULL, 0, "disk %s is given twice", k->dev);
    }
    for (size_t i = 0; i < d->n_vifs; i++) {
        const vmd_vif *f = &d->vifs[i];
        if (f->mac && !vmd_mac_ok(f->mac))
            return vmd_fail(err, NULL, 0, "vif %zu: mac '%s' is not xx:xx:xx:xx:xx:xx", i, f->mac);
        if ((f->bridge && (!*f->bridge || strpbrk(f->bridge, ",="))) || !kv_clean(&f->legacy))
            return vmd_fail(err, NULL, 0, "vif %zu: a network name or setting holds ',' or '='",
                            i);
    }
    for (size_t i = 0; i < d->n_pcis; i++)
        if ((d->pcis[i].key && strpbrk(d->pcis[i].key, ",=")) || !kv_clean(&d->pcis[i].opts))
            return vmd_fail(err, NULL, 0, "pci %zu: a key or option holds ',' or '='", i);
    for (size_t i = 0; i < d->n_consoles; i++)
        if (!kv_clean(&d->consoles[i].other_config))
            return vmd_fail(err, NULL, 0, "console %zu: a setting holds ',' or '='", i);
    const vmd_map *maps[] = { &d->platform, &d->other_config, &d->vcpu_params,
                              &d->hvm_boot_params };
    for (size_t m = 0; m < sizeof(maps) / sizeof(*maps); m++)
        for (size_t i = 0; i < maps[m]->n; i++)
            if (!*maps[m]->v[i].key || strpbrk(maps[m]->v[i].key, ",= \t"))
                return vmd_fail(err, NULL, 0, "the key '%s' is empty or holds ',', '=' or a "
                                "space", maps[m]->v[i].key);
    /* affinities in their canonical form ("3,1" is "1,3") */
    for (size_t i = 0; i < d->vcpu_params.n; i++) {
        vmd_kv *kv = &d->vcpu_params.v[i];
        if (strncmp(kv->key, "cpumap", 6) != 0)
            continue;
        char *set, why[160];
        if (!vmd_cpus_parse(kv->value, &set, why, sizeof(why)))
            return vmd_fail(err, NULL, 0, "VCPUs_params %s: %s", kv->key, why);
        free(kv->value);
        kv->value = set;
    }
    const char *order = vmd_map_get(&d->hvm_boot_params, "order");
    if (order && (!*order || strspn(order, "abcdn") != strlen(order)))
        return vmd_fail(err, NULL, 0, "boot order '%s': letters a, b, c, d, n", order);
    for (size_t i = 0; i < d->n_vifs; i++)
        for (size_t j = 0; j < i; j++)
            if (d->vifs[i].device && d->vifs[j].device &&
                strcmp(d->vifs[i].device, d->vifs[j].device) == 0)
                return vmd_fail(err, NULL, 0, "vif device %s is given twice", d->vifs[i].device);
    for (size_t i = 0; i < d->n_networks; i++) {
        if (!d->networks[i].label || !*d->networks[i].label)
            return vmd_fail(err, NULL, 0, "network %zu has no name", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(d->networks[i].label, d->networks[j].label) == 0)
                return vmd_fail(err, NULL, 0, "network '%s' is defined twice",
                                d->networks[i].label);
    }
    for (size_t i = 0; i < d->n_consoles; i++)
        if (!d->consoles[i].protocol || !in_list(d->consoles[i].protocol, console_protocols))
            return vmd_fail(err, NULL, 0, "console %zu: protocol must be vt100, rfb or rdp", i);
    return true;
}

/* ---- input checks --------------------------------------------------------- */

/* The well-formed UTF-8 sequences of RFC 3629 (its table 3-7), by their first byte: how long
 * the sequence is and the range of its second byte (the others are 80..BF). */
static const struct {
    unsigned char first_lo, first_hi, len, second_lo, second_hi;
} utf8_seqs[] = {
    { 0xc2, 0xdf, 2, 0x80, 0xbf }, { 0xe0, 0xe0, 3, 0xa0, 0xbf }, { 0xe1, 0xec, 3, 0x80, 0xbf },
    { 0xed, 0xed, 3, 0x80, 0x9f }, { 0xee, 0xef, 3, 0x80, 0xbf }, { 0xf0, 0xf0, 4, 0x90, 0xbf },
    { 0xf1, 0xf3, 4, 0x80, 0xbf }, { 0xf4, 0xf4, 4, 0x80, 0x8f },
};

/* The length of the valid UTF-8 prefix of s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF). */
size_t vmd_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t r = 0, nr = sizeof(utf8_seqs) / sizeof(*utf8_seqs);
        while (r < nr && !(c >= utf8_seqs[r].first_lo && c <= utf8_seqs[r].first_hi))
            r++;
        if (r == nr)
            return i;
        size_t len = utf8_seqs[r].len;
        if (i + len > n || s[i + 1] < utf8_seqs[r].second_lo || s[i + 1] > utf8_seqs[r].second_hi)
            return i;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return i;
        i += len;
    }
    return n;
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

int vmd_unescape(const char **p, const char *end, char *out, const char **why)
{
    const char *q = *p;
    static const char from[] = "abtnvfr\\'\"", to[] = "\a\b\t\n\v\f\r\\'\"";
    const char *f = q < end && *q ? strchr(from, *q) : NULL;
    int v;
    if (f) {
        *out = to[f - from];
        *p = q + 1;
        return 1;
    }
    if (q < end && *q == 'x') {
        if (end - q < 3 || !isxdigit((unsigned char)q[1]) || !isxdigit((unsigned char)q[2])) {
            *why = "\\x needs two hex digits";
            return -1;
        }
        v = hexval((unsigned char)q[1]) * 16 + hexval((unsigned char)q[2]);
        q += 3;
    } else if (q < end && *q >= '0' && *q <= '7') {
        v = 0;
        for (int i = 0; i < 3 && q < end && *q >= '0' && *q <= '7'; i++)
            v = v * 8 + (*q++ - '0');
        if (v > 255) {
            *why = "an octal escape above \\377";
            return -1;
        }
    } else {
        return 0;
    }
    if (v == 0) {
        *why = "a NUL character in a string";
        return -1;
    }
    *out = (char)v;
    *p = q;
    return 1;
}

bool vmd_text_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* ---- formats and VAR=VALUE ---------------------------------------------- */

vmd_format vmd_format_from_name(const char *name)
{
    if (!name)
        return VMD_FMT_AUTO;
    if (strcmp(name, "xml") == 0)
        return VMD_FMT_XML;
    if (strcmp(name, "sxp") == 0)
        return VMD_FMT_SXP;
    if (strcmp(name, "cfg") == 0 || strcmp(name, "python") == 0 || strcmp(name, "py") == 0)
        return VMD_FMT_CFG;
    return VMD_FMT_AUTO;
}

const char *vmd_format_name(vmd_format f)
{
    switch (f) {
    case VMD_FMT_XML: return "xml";
    case VMD_FMT_SXP: return "sxp";
    case VMD_FMT_CFG: return "cfg";
    default: return "auto";
    }
}

vmd_format vmd_format_detect(const char *buf, size_t len)
{
    size_t i = 0;
    /* skip blanks and, for SXP, leading comment lines */
    for (;;) {
        while (i < len && isspace((unsigned char)buf[i]))
            i++;
        if (i < len && buf[i] == '#') {
            size_t j = i;
            while (j < len && buf[j] != '\n')
                j++;
            /* a comment: keep looking for the first real character */
            i = j;
            continue;
        }
        break;
    }
    if (i < len && buf[i] == '<')
        return VMD_FMT_XML;
    if (i < len && buf[i] == '(')
        return VMD_FMT_SXP;
    return VMD_FMT_CFG;
}

bool vmd_vars_add(vmd_vars *vars, const char *a, vmd_err *err)
{
    const char *eq = strchr(a, '=');
    if (!eq || eq == a)
        return vmd_fail(err, "command line", 0, "'%s' is not of the form NAME=VALUE", a);
    for (const char *p = a; p < eq; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_') || (p == a && isdigit((unsigned char)*p)))
            return vmd_fail(err, "command line", 0, "'%.*s' is not a variable name",
                            (int)(eq - a), a);
    if (strlen(eq + 1) > VMD_MAX_STRING)
        return vmd_fail(err, "command line", 0, "the value of %.*s is too long",
                        (int)(eq - a), a);
    if (vmd_utf8_valid((const unsigned char *)a, strlen(a)) != strlen(a) || !vmd_text_ok(a))
        return vmd_fail(err, "command line", 0, "the value of %.*s is not UTF-8 text",
                        (int)(eq - a), a);
    vmd_grow(&vars->v, &vars->cap, vars->n + 1, sizeof(*vars->v));
    vars->v[vars->n].key = vmd_xstrndup(a, (size_t)(eq - a));
    vars->v[vars->n].value = vmd_xstrdup(eq + 1);
    vars->n++;
    return true;
}

void vmd_vars_free(vmd_vars *vars)
{
    kv_array_free(vars->v, vars->n);
    memset(vars, 0, sizeof(*vars));
}

/* The overrides as legacy settings: list variables collect their repeats. */
static void vars_to_lconf(const vmd_vars *vars, lconf *c)
{
    for (size_t i = 0; vars && i < vars->n; i++) {
        const char *k = vars->v[i].key;
        if (vmd_legacy_is_list(k)) {
            lsetting *s = NULL;
            for (size_t j = 0; j < c->n; j++)
                if (strcmp(c->v[j].name, k) == 0)
                    s = &c->v[j];
            if (s) {
                lval_push(&s->v, lval_str(vars->v[i].value, 0));
                continue;
            }
            lval l = lval_list(0);
            lval_push(&l, lval_str(vars->v[i].value, 0));
            lconf_set(c, k, l, 0, true);
        } else {
            lconf_set(c, k, lval_str(vars->v[i].value, 0), 0, true);
        }
    }
}

bool vmd_apply_vars(vmdesc *d, const vmd_vars *vars, vmd_diag *warnings, vmd_err *err)
{
    if (!vars || !vars->n)
        return true;
    lconf c = { .file = "command line" };
    vars_to_lconf(vars, &c);
    bool ok = vmd_legacy_apply(&c, d, false, NULL, warnings, err) && vmdesc_finish(d, err);
    lconf_free(&c);
    return ok;
}

const char *vmd_schema_path(void)
{
    const char *e = getenv("XEND_CREATE_SCHEMA");
    return e && *e ? e : VMD_SCHEMA_DIR "/create.rng";
}

static const char *base_name(const char *path, char *buf, size_t n)
{
    const char *b = strrchr(path, '/');
    snprintf(buf, n, "%s", b ? b + 1 : path);
    return buf;
}

bool vmd_parse_buffer(const char *buf, size_t len, const vmd_parse_opts *o, vmdesc *d,
                      vmd_err *err)
{
    vmd_parse_opts def = { 0 };
    if (!o)
        o = &def;
    vmd_lib_init();
    vmdesc_init(d);
    const char *file = o->filename ? o->filename : "<string>";
    if (len > VMD_MAX_INPUT)
        return vmd_fail(err, file, 0, "the file is larger than %u bytes", VMD_MAX_INPUT);
    const char *nul = memchr(buf, '\0', len);
    size_t good = vmd_utf8_valid((const unsigned char *)buf, len);
    if (nul || good != len) {
        size_t at = nul && (size_t)(nul - buf) < good ? (size_t)(nul - buf) : good;
        unsigned line = 1;
        for (size_t i = 0; i < at; i++)
            line += buf[i] == '\n';
        if (nul && (size_t)(nul - buf) == at)
            return vmd_fail(err, file, line, "a NUL byte (not a text file)");
        return vmd_fail(err, file, line, "not UTF-8 (byte 0x%02x): config files are UTF-8 text",
                        (unsigned char)buf[at]);
    }
    vmd_format f = o->format == VMD_FMT_AUTO ? vmd_format_detect(buf, len) : o->format;
    bool ok;
    if (f == VMD_FMT_XML) {
        ok = vmd_xml_parse(buf, len, o, d, err) && vmdesc_finish(d, err) &&
             vmd_apply_vars(d, o->vars, o->warnings, err);
    } else {
        lconf c = { .file = file };
        char bn[256];
        /* xm's default name: the config file's base name */
        const char *defname = o->filename ? base_name(o->filename, bn, sizeof(bn)) : NULL;
        if (f == VMD_FMT_SXP) {
            ok = vmd_sxp_parse(buf, len, o, &c, err) &&
                 vmd_legacy_apply(&c, d, true, defname, o->warnings, err) &&
                 vmdesc_finish(d, err) && vmd_apply_vars(d, o->vars, o->warnings, err);
        } else {
            /* the overrides are variables the file sees, and win over it */
            ok = vmd_cfg_parse(buf, len, o, &c, err) &&
                 vmd_legacy_apply(&c, d, true, defname, o->warnings, err) &&
                 vmdesc_finish(d, err);
        }
        lconf_free(&c);
    }
    if (ok)
        return true;
    if (err && !err->file[0])
        snprintf(err->file, sizeof(err->file), "%s", file);
    vmdesc_free(d);
    return false;
}

bool vmd_parse_file(const char *path, const vmd_parse_opts *o, vmdesc *d, vmd_err *err)
{
    vmd_parse_opts po = o ? *o : (vmd_parse_opts){ 0 };
    if (!po.filename)
        po.filename = path;
    vmdesc_init(d);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return vmd_fail(err, path, 0, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return vmd_fail(err, path, 0, "not a regular file");
    }
    vmd_buf b = { 0 };
    char chunk[8192];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            free(b.s);
            return vmd_fail(err, path, 0, "cannot read: %s", strerror(e));
        }
        if (r == 0)
            break;
        if (b.n + (size_t)r > VMD_MAX_INPUT) {
            close(fd);
            free(b.s);
            return vmd_fail(err, path, 0, "the file is larger than %u bytes", VMD_MAX_INPUT);
        }
        vmd_buf_add(&b, chunk, (size_t)r);
    }
    close(fd);
    bool ok = vmd_parse_buffer(b.s ? b.s : "", b.n, &po, d, err);
    free(b.s);
    return ok;
}

bool vmd_write(const vmdesc *d, vmd_format f, char **out, vmd_diag *warnings, vmd_err *err)
{
    vmd_lib_init();
    *out = NULL;
    if (f == VMD_FMT_XML) {
        *out = vmd_xml_write(d, warnings);
        return true;
    }
    if (f != VMD_FMT_SXP && f != VMD_FMT_CFG)
        return vmd_fail(err, NULL, 0, "no output format given (xml, sxp or cfg)");
    lconf c = { .file = "output" };
    vmd_legacy_from_desc(d, &c, warnings);
    *out = f == VMD_FMT_SXP ? vmd_sxp_write(&c) : vmd_cfg_write(&c);
    lconf_free(&c);
    return true;
}

bool vmd_convert(const char *buf, size_t len, const vmd_parse_opts *in, vmd_format out_fmt,
                 char **out, vmd_diag *warnings, vmd_err *err)
{
    vmdesc d;
    *out = NULL;
    if (!vmd_parse_buffer(buf, len, in, &d, err))
        return false;
    bool ok = vmd_write(&d, out_fmt, out, warnings, err);
    vmdesc_free(&d);
    return ok;
}
