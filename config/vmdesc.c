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

void vmd_buf_quote(xbuf *b, const char *s, char q, vmd_quoting how)
{
    static const char ctl[] = "\n\r\t", letter[] = "nrt";
    xbuf_add(b, &q, 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *c = strchr(ctl, *p);
        if (*p == (unsigned char)q || *p == '\\')
            xbuf_printf(b, "\\%c", *p);
        else if (c && (how == VMD_QUOTE_PY || *p != '\r'))
            xbuf_printf(b, "\\%c", letter[c - ctl]);
        else if (*p < 0x20 || *p == 0x7f)
            xbuf_printf(b, how == VMD_QUOTE_PY ? "\\x%02x" : "\\u%04x", *p);
        else
            xbuf_add(b, (const char *)p, 1);
    }
    xbuf_add(b, &q, 1);
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

/* ---- the fields of a description ------------------------------------------- */

#define DESC(f, xenapi, kind) { #f, xenapi, VMD_F_##kind, offsetof(vmdesc, f), false }
#define DESC_OPT(f, xenapi, kind) { #f, xenapi, VMD_F_##kind, offsetof(vmdesc, f), true }
const vmd_field vmd_desc_fields[] = {
    DESC_OPT(uuid, "uuid", STR),
    DESC(name, "name_label", STR),
    DESC(description, "name_description", STR),
    DESC(user_version, "user_version", I64),
    DESC(is_a_template, "is_a_template", BOOL),
    DESC(auto_power_on, "auto_power_on", BOOL),
    DESC(mem_static_max, "memory_static_max", I64),
    DESC(mem_dynamic_max, "memory_dynamic_max", I64),
    DESC(mem_dynamic_min, "memory_dynamic_min", I64),
    DESC(mem_static_min, "memory_static_min", I64),
    DESC(vcpu_params, "VCPUs_params", MAP),
    DESC(vcpus_max, "VCPUs_max", I64),
    DESC(vcpus_at_startup, "VCPUs_at_startup", I64),
    DESC(on_shutdown, "actions_after_shutdown", STR),
    DESC(on_reboot, "actions_after_reboot", STR),
    DESC(on_crash, "actions_after_crash", STR),
    DESC(bootloader, "PV_bootloader", STR),
    DESC(kernel, "PV_kernel", STR),
    DESC(ramdisk, "PV_ramdisk", STR),
    DESC(args, "PV_args", STR),
    DESC(bootloader_args, "PV_bootloader_args", STR),
    DESC(hvm_boot_policy, "HVM_boot_policy", STR),
    DESC(hvm_boot_params, "HVM_boot_params", MAP),
    DESC(platform, "platform", MAP),
    DESC(pci_bus, "PCI_bus", STR),
    DESC(other_config, "other_config", MAP),
    /* xend's VM.create also took these (no XenAPI 1.0 fields; a server without them ignores
     * unknown members) */
    DESC_OPT(pool_name, "pool_name", STR),
    DESC_OPT(s3_integrity, "s3_integrity", I64),
    DESC_OPT(superpages, "superpages", I64),
    DESC_OPT(security_label, "security_label", STR),
};
const size_t vmd_n_desc_fields = sizeof(vmd_desc_fields) / sizeof(*vmd_desc_fields);
#undef DESC
#undef DESC_OPT

/* The devices' fields (no XenAPI names: the plan makes their records itself). */
#define DEV(type, f, kind) { #f, NULL, VMD_F_##kind, offsetof(type, f), false }
static const vmd_field disk_fields[] = {
    DEV(vmd_disk, uname, STR), DEV(vmd_disk, dev, STR), DEV(vmd_disk, cdrom, BOOL),
    DEV(vmd_disk, writable, BOOL), DEV(vmd_disk, sharable, BOOL), DEV(vmd_disk, bootable, BOOL),
    DEV(vmd_disk, backend, STR), DEV(vmd_disk, protocol, STR), DEV(vmd_disk, size, I64),
    DEV(vmd_disk, vdi_type, STR), DEV(vmd_disk, vdi_label, STR), DEV(vmd_disk, qos_type, STR),
    DEV(vmd_disk, qos_params, MAP),
};
static const vmd_field vif_fields[] = {
    DEV(vmd_vif, mac, STR), DEV(vmd_vif, bridge, STR), DEV(vmd_vif, device, STR),
    DEV(vmd_vif, mtu, I64), DEV(vmd_vif, qos_type, STR), DEV(vmd_vif, qos_params, MAP),
    DEV(vmd_vif, security_label, STR), DEV(vmd_vif, legacy, MAP),
};
static const vmd_field pci_fields[] = {
    DEV(vmd_pci, domain, UINT), DEV(vmd_pci, bus, UINT), DEV(vmd_pci, slot, UINT),
    DEV(vmd_pci, func, UINT), DEV(vmd_pci, vslot, INT), DEV(vmd_pci, key, STR),
    DEV(vmd_pci, opts, MAP),
};
static const vmd_field console_fields[] = {
    DEV(vmd_console, protocol, STR), DEV(vmd_console, other_config, MAP),
};
static const vmd_field network_fields[] = {
    DEV(vmd_network, label, STR), DEV(vmd_network, description, STR),
    DEV(vmd_network, gateway, STR), DEV(vmd_network, netmask, STR),
    DEV(vmd_network, other_config, MAP),
};
#undef DEV

/* The arrays of devices: where each is in a vmdesc, the size of an element, its fields. */
#define N_OF(a) (sizeof(a) / sizeof(*(a)))
#define DEVICES(what, array, type, fields) \
    { what, offsetof(vmdesc, array), offsetof(vmdesc, n_##array), sizeof(type), fields, N_OF(fields) }
static const struct devices {
    const char *what; /* in vmdesc_equal's messages */
    size_t array, count, size;
    const vmd_field *fields;
    size_t n_fields;
} devices[] = {
    DEVICES("disk", disks, vmd_disk, disk_fields),
    DEVICES("vif", vifs, vmd_vif, vif_fields),
    DEVICES("pci", pcis, vmd_pci, pci_fields),
    DEVICES("console", consoles, vmd_console, console_fields),
    DEVICES("network", networks, vmd_network, network_fields),
};
#undef DEVICES

const char *vmd_field_str(const void *p, const vmd_field *f)
{
    return *(char *const *)(const void *)((const char *)p + f->off);
}

const vmd_map *vmd_field_map(const void *p, const vmd_field *f)
{
    return (const vmd_map *)(const void *)((const char *)p + f->off);
}

int64_t vmd_field_int(const void *p, const vmd_field *f)
{
    const void *at = (const char *)p + f->off;
    switch (f->kind) {
    case VMD_F_I64: return *(const int64_t *)at;
    case VMD_F_BOOL: return *(const bool *)at;
    case VMD_F_UINT: return *(const unsigned *)at;
    case VMD_F_INT: return *(const int *)at;
    default: return 0;
    }
}

/* The array of a kind of device in d and its length. */
static char *devices_of(const vmdesc *d, const struct devices *k, size_t *n)
{
    *n = *(const size_t *)(const void *)((const char *)d + k->count);
    return *(char *const *)(const void *)((const char *)d + k->array);
}

/* Frees the strings and maps of the part at p. */
static void fields_free(void *p, const vmd_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *at = (char *)p + f[i].off;
        if (f[i].kind == VMD_F_STR)
            free(*(char **)at);
        else if (f[i].kind == VMD_F_MAP)
            vmd_map_free(at);
    }
}

void vmdesc_free(vmdesc *d)
{
    fields_free(d, vmd_desc_fields, vmd_n_desc_fields);
    for (size_t k = 0; k < N_OF(devices); k++) {
        size_t n;
        char *v = devices_of(d, &devices[k], &n);
        for (size_t i = 0; i < n; i++)
            fields_free(v + i * devices[k].size, devices[k].fields, devices[k].n_fields);
        free(v);
    }
    vmdesc_init(d);
}

/* NULL and "" are the same for optional strings. */
static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

#define DIFF(cond, ...) do { if (cond) { if (what) snprintf(what, n, __VA_ARGS__); return false; } } while (0)

/* Compares the parts a and b field by field; the first difference is said in what, after at
 * ("disk 2 " or ""). */
static bool fields_equal(const void *a, const void *b, const vmd_field *f, size_t nf,
                         const char *at, char *what, size_t n)
{
    for (size_t i = 0; i < nf; i++) {
        if (f[i].kind == VMD_F_STR) {
            const char *x = vmd_field_str(a, &f[i]), *y = vmd_field_str(b, &f[i]);
            DIFF(!str_eq(x, y), "%s%s: '%s' vs '%s'", at, f[i].name, x ? x : "", y ? y : "");
        } else if (f[i].kind == VMD_F_MAP) {
            DIFF(!map_equal(vmd_field_map(a, &f[i]), vmd_field_map(b, &f[i])), "%s%s differs", at,
                 f[i].name);
        } else {
            int64_t x = vmd_field_int(a, &f[i]), y = vmd_field_int(b, &f[i]);
            DIFF(x != y, "%s%s: %" PRId64 " vs %" PRId64, at, f[i].name, x, y);
        }
    }
    return true;
}

bool vmdesc_equal(const vmdesc *a, const vmdesc *b, char *what, size_t n)
{
    if (!fields_equal(a, b, vmd_desc_fields, vmd_n_desc_fields, "", what, n))
        return false;
    for (size_t k = 0; k < N_OF(devices); k++) {
        size_t na, nb;
        devices_of(a, &devices[k], &na);
        devices_of(b, &devices[k], &nb);
        DIFF(na != nb, "%ss: %zu vs %zu", devices[k].what, na, nb);
    }
    for (size_t k = 0; k < N_OF(devices); k++) {
        const struct devices *dv = &devices[k];
        size_t count;
        const char *x = devices_of(a, dv, &count), *y = devices_of(b, dv, &count);
        for (size_t i = 0; i < count; i++) {
            char at[32];
            snprintf(at, sizeof(at), "%s %zu ", dv->what, i);
            if (!fields_equal(x + i * dv->size, y + i * dv->size, dv->fields, dv->n_fields, at,
                              what, n))
                return false;
        }
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
    if (strlen(d->name) > VMD_MAX_NAME)
        return vmd_fail(err, NULL, 0, "name: longer than %d characters", VMD_MAX_NAME);
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
    if (d->pool_name && !*d->pool_name) {   /* "(pool)", pool = '': no pool named */
        free(d->pool_name);
        d->pool_name = NULL;
    }
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
    xbuf b = { 0 };
    char chunk[8192];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            xbuf_free(&b);
            return vmd_fail(err, path, 0, "cannot read: %s", strerror(e));
        }
        if (r == 0)
            break;
        if (b.len + (size_t)r > VMD_MAX_INPUT) {
            close(fd);
            xbuf_free(&b);
            return vmd_fail(err, path, 0, "the file is larger than %u bytes", VMD_MAX_INPUT);
        }
        xbuf_add(&b, chunk, (size_t)r);
    }
    close(fd);
    bool ok = vmd_parse_buffer(b.data ? b.data : "", b.len, &po, d, err);
    xbuf_free(&b);
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
