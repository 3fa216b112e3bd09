/* xen_config: xenops configuration -> libxl configuration (pure). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenops/xen/xen_config.h"

#define XX_OOM(e) do { xo_error_set((e), XO_E_FAIL, "out of memory"); goto out; } while (0)

xo_errcode xx_errcode_from_libxl(int rc)
{
    switch (rc) {
    case ERROR_DOMAIN_NOTFOUND: return XO_E_NODOMAIN;
    case ERROR_INVAL:           return XO_E_INVAL;
    case ERROR_NOMEM:           return XO_E_NOMEM;
    case ERROR_NOPARAVIRT:      return XO_E_NOTSUP;
    case ERROR_NI:              return XO_E_NOTSUP;
    default:                    return XO_E_FAIL;
    }
}

libxl_domain_type xx_domtype_to_libxl(xo_domtype t)
{
    switch (t) {
    case XO_DOM_PVH: return LIBXL_DOMAIN_TYPE_PVH;
    case XO_DOM_HVM: return LIBXL_DOMAIN_TYPE_HVM;
    case XO_DOM_PV:
    default:         return LIBXL_DOMAIN_TYPE_PV;
    }
}

xo_domtype xx_domtype_from_libxl(libxl_domain_type t)
{
    switch (t) {
    case LIBXL_DOMAIN_TYPE_PVH: return XO_DOM_PVH;
    case LIBXL_DOMAIN_TYPE_HVM: return XO_DOM_HVM;
    default:                    return XO_DOM_PV;
    }
}

xo_shutdown_reason xx_reason_from_libxl(libxl_shutdown_reason r)
{
    switch (r) {
    case LIBXL_SHUTDOWN_REASON_POWEROFF: return XO_SHUTDOWN_POWEROFF;
    case LIBXL_SHUTDOWN_REASON_REBOOT:   return XO_SHUTDOWN_REBOOT;
    case LIBXL_SHUTDOWN_REASON_SUSPEND:  return XO_SHUTDOWN_SUSPEND;
    case LIBXL_SHUTDOWN_REASON_CRASH:    return XO_SHUTDOWN_CRASH;
    case LIBXL_SHUTDOWN_REASON_WATCHDOG: return XO_SHUTDOWN_WATCHDOG;
    case LIBXL_SHUTDOWN_REASON_SOFT_RESET: return XO_SHUTDOWN_REBOOT;
    default:                             return XO_SHUTDOWN_NONE;
    }
}

int xx_mac_parse(const char *s, libxl_mac *mac_r)
{
    unsigned v[6];
    char tail;

    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &tail) != 6 || strlen(s) != 17)
        return -1;
    for (int i = 0; i < 6; i++)
        (*mac_r)[i] = (uint8_t)v[i];
    return 0;
}

void xx_mac_format(const libxl_mac *mac, char out[18])
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", (*mac)[0], (*mac)[1], (*mac)[2],
             (*mac)[3], (*mac)[4], (*mac)[5]);
}

static char *xx_strdup_or_null(const char *s)
{
    return (s && *s) ? strdup(s) : NULL;
}

/* "true"/"1"/"yes"/"on" -> 1, "false"/"0"/"no"/"off" -> 0, else -1 */
static int xx_parse_bool(const char *v)
{
    static const char *const yes[] = { "1", "true", "yes", "on" };
    static const char *const no[] = { "0", "false", "no", "off" };

    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i]))
            return 1;
        if (!strcasecmp(v, no[i]))
            return 0;
    }
    return -1;
}

/* Split on blanks into a NULL-terminated libxl_string_list. */
static int xx_split_args(const char *s, libxl_string_list *out)
{
    size_t n = 0, cap = 4;
    char **v = calloc(cap + 1, sizeof(*v));
    const char *p = s;

    if (!v)
        return -1;
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && !isspace((unsigned char)*e))
            e++;
        if (n == cap) {
            char **nv = realloc(v, (cap * 2 + 1) * sizeof(*v));
            if (!nv)
                goto fail;
            v = nv;
            cap *= 2;
        }
        v[n] = strndup(p, (size_t)(e - p));
        if (!v[n])
            goto fail;
        v[++n] = NULL;
        p = e;
    }
    *out = v;
    return 0;
fail:
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return -1;
}

static int xx_set_defbool(libxl_defbool *db, const char *key, const char *val, xo_error *err)
{
    int b = xx_parse_bool(val);

    if (b < 0) {
        xo_error_set(err, XO_E_INVAL, "platform:%s: '%s' is not a boolean", key, val);
        return -1;
    }
    libxl_defbool_set(db, b);
    return 0;
}

static int xx_set_string(char **dst, const char *val, xo_error *err)
{
    free(*dst);
    *dst = strdup(val);
    if (!*dst) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        return -1;
    }
    return 0;
}

/* The VM.platform keys that are plain libxl booleans or strings: where each
 * goes in libxl's config and for which guest types it means something (it is
 * ignored for the others, as a key without a libxl counterpart is). */
enum { XX_PV = 1u << 0, XX_PVH = 1u << 1, XX_HVM = 1u << 2 };

typedef struct xx_platform_field {
    const char *key;
    unsigned types;             /* XX_PV | XX_PVH | XX_HVM */
    bool is_string;             /* a char *, else a libxl_defbool */
    size_t offset;              /* in libxl_domain_config */
} xx_platform_field;

#define XX_PF(key, types, is_string, member) \
    { key, types, is_string, offsetof(libxl_domain_config, member) }

static const xx_platform_field xx_platform_fields[] = {
    XX_PF("acpi", XX_PVH | XX_HVM, false, b_info.acpi),
    XX_PF("apic", XX_HVM, false, b_info.apic),
    XX_PF("localtime", XX_PV | XX_PVH | XX_HVM, false, b_info.localtime),
    XX_PF("nestedhvm", XX_HVM, false, b_info.nested_hvm),
    XX_PF("hap", XX_PVH | XX_HVM, false, c_info.hap),
    XX_PF("device_model", XX_HVM, true, b_info.device_model),
    XX_PF("e820_host", XX_PV, false, b_info.u.pv.e820_host),
    XX_PF("pvshim", XX_PVH, false, b_info.u.pvh.pvshim),
    XX_PF("pae", XX_HVM, false, b_info.u.hvm.pae),
    XX_PF("nx", XX_HVM, false, b_info.u.hvm.nx),
    XX_PF("viridian", XX_HVM, false, b_info.u.hvm.viridian),
    XX_PF("hpet", XX_HVM, false, b_info.u.hvm.hpet),
    XX_PF("usb", XX_HVM, false, b_info.u.hvm.usb),
    XX_PF("nographic", XX_HVM, false, b_info.u.hvm.nographic),
    XX_PF("vnc", XX_HVM, false, b_info.u.hvm.vnc.enable),
    XX_PF("vnclisten", XX_HVM, true, b_info.u.hvm.vnc.listen),
    XX_PF("serial", XX_HVM, true, b_info.u.hvm.serial),
};

static unsigned xx_type_bit(libxl_domain_type t)
{
    switch (t) {
    case LIBXL_DOMAIN_TYPE_PV: return XX_PV;
    case LIBXL_DOMAIN_TYPE_PVH: return XX_PVH;
    case LIBXL_DOMAIN_TYPE_HVM: return XX_HVM;
    default: return 0;
    }
}

/* One VM.platform key.  Keys without a libxl counterpart are ignored. */
static int xx_platform_key(libxl_domain_config *d, const char *key, const char *val,
                           xo_error *err)
{
    libxl_domain_build_info *b = &d->b_info;

    for (size_t i = 0; i < sizeof(xx_platform_fields) / sizeof(xx_platform_fields[0]); i++) {
        const xx_platform_field *f = &xx_platform_fields[i];
        if (strcmp(key, f->key))
            continue;
        if (!(f->types & xx_type_bit(b->type)))
            return 0;
        void *field = (char *)d + f->offset;
        return f->is_string ? xx_set_string(field, val, err)
                            : xx_set_defbool(field, key, val, err);
    }
    if (!strcmp(key, "rtc_timeoffset")) {
        char *end;
        errno = 0;
        long v = strtol(val, &end, 10);
        if (errno || *end || end == val || v < INT32_MIN || v > INT32_MAX) {
            xo_error_set(err, XO_E_INVAL, "platform:rtc_timeoffset: '%s' is not an integer", val);
            return -1;
        }
        b->rtc_timeoffset = (uint32_t)(int32_t)v;
        return 0;
    }
    if (!strcmp(key, "tsc_mode")) {
        if (libxl_tsc_mode_from_string(val, &b->tsc_mode)) {
            xo_error_set(err, XO_E_INVAL, "platform:tsc_mode: unknown mode '%s'", val);
            return -1;
        }
        return 0;
    }
    if (b->type == LIBXL_DOMAIN_TYPE_HVM && (!strcmp(key, "vga") || !strcmp(key, "stdvga"))) {
        libxl_vga_interface_type k;
        if (!strcmp(key, "stdvga")) {
            int on = xx_parse_bool(val);
            if (on < 0) {
                xo_error_set(err, XO_E_INVAL, "platform:stdvga: '%s' is not a boolean", val);
                return -1;
            }
            k = on ? LIBXL_VGA_INTERFACE_TYPE_STD : LIBXL_VGA_INTERFACE_TYPE_CIRRUS;
        } else if (!strcmp(val, "stdvga") || !strcmp(val, "std")) {
            k = LIBXL_VGA_INTERFACE_TYPE_STD;
        } else if (libxl_vga_interface_type_from_string(val, &k)) {
            xo_error_set(err, XO_E_INVAL, "platform:vga: unknown kind '%s'", val);
            return -1;
        }
        b->u.hvm.vga.kind = k;
        return 0;
    }
    return 0;
}

int xx_disk_to_libxl(const xo_disk *d, xo_domtype type, libxl_device_disk *disk_r,
                     xo_error *err)
{
    int rc = -1;

    if (!d->vdev[0]) {
        xo_error_set(err, XO_E_INVAL, "disk: empty vdev");
        goto out;
    }
    if (!d->target[0] && !d->cdrom) {
        xo_error_set(err, XO_E_INVAL, "disk %s: no target (only a CD drive may be empty)", d->vdev);
        goto out;
    }
    disk_r->vdev = strdup(d->vdev);
    disk_r->pdev_path = xx_strdup_or_null(d->target);
    if (!disk_r->vdev || (d->target[0] && !disk_r->pdev_path)) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        goto out;
    }
    if (!d->target[0]) {
        disk_r->format = LIBXL_DISK_FORMAT_EMPTY;
    } else if (!d->format[0]) {
        disk_r->format = LIBXL_DISK_FORMAT_RAW;
    } else if (!strcmp(d->format, "aio")) {
        disk_r->format = LIBXL_DISK_FORMAT_RAW;
    } else if (libxl_disk_format_from_string(d->format, &disk_r->format)
               || disk_r->format == LIBXL_DISK_FORMAT_UNKNOWN
               || disk_r->format == LIBXL_DISK_FORMAT_EMPTY) {
        xo_error_set(err, XO_E_INVAL, "disk %s: unknown format '%s'", d->vdev, d->format);
        goto out;
    }
    /* Let libxl choose phy (blkback, files through the block script's loop
     * device) or qdisk; a non-raw image always ends up on qdisk. */
    disk_r->backend = LIBXL_DISK_BACKEND_UNKNOWN;
    disk_r->readwrite = d->readonly || d->cdrom ? 0 : 1;
    disk_r->is_cdrom = d->cdrom ? 1 : 0;
    disk_r->removable = d->cdrom ? 1 : 0;
    if (d->cdrom && type != XO_DOM_HVM && !d->target[0]) {
        xo_error_set(err, XO_E_INVAL, "disk %s: an empty CD drive needs an HVM guest", d->vdev);
        goto out;
    }
    rc = 0;
out:
    return rc;
}

int xx_nic_to_libxl(const xo_nic *n, xo_domtype type, libxl_device_nic *nic_r, xo_error *err)
{
    int rc = -1;

    nic_r->devid = n->devid >= 0 ? n->devid : -1;
    if (n->mac[0] && xx_mac_parse(n->mac, &nic_r->mac)) {
        xo_error_set(err, XO_E_INVAL, "nic: malformed MAC '%s'", n->mac);
        goto out;
    }
    if (n->mac[0] && (nic_r->mac[0] & 1)) {
        xo_error_set(err, XO_E_INVAL, "nic: MAC '%s' is a multicast address", n->mac);
        goto out;
    }
    if ((n->bridge[0] && !(nic_r->bridge = strdup(n->bridge)))
        || (n->script[0] && !(nic_r->script = strdup(n->script)))) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        goto out;
    }
    if (n->mtu)
        nic_r->mtu = (int)n->mtu;
    nic_r->nictype = type == XO_DOM_HVM ? LIBXL_NIC_TYPE_VIF_IOEMU : LIBXL_NIC_TYPE_VIF;
    rc = 0;
out:
    return rc;
}

/* libxl keeps each kind of device as an array and its count (d->disks and
 * d->num_disks, d->nics and d->num_nics); filling one from the backend's is the
 * same for every kind, so one macro defines xx_KINDs_to_libxl.  The count
 * covers every element initialised, so disposing of the config frees what a
 * failed conversion left. */
#define XX_DEVICES_TO_LIBXL(kind)                                                                  \
    static int xx_##kind##s_to_libxl(libxl_domain_config *d, const xo_domain_config *cfg,         \
                                     xo_error *err)                                               \
    {                                                                                              \
        if (!cfg->n_##kind##s)                                                                     \
            return 0;                                                                              \
        if (!(d->kind##s = calloc(cfg->n_##kind##s, sizeof(*d->kind##s)))) {                       \
            xo_error_set(err, XO_E_FAIL, "out of memory");                                         \
            return -1;                                                                             \
        }                                                                                          \
        for (size_t i = 0; i < cfg->n_##kind##s; i++) {                                            \
            libxl_device_##kind##_init(&d->kind##s[i]);                                            \
            d->num_##kind##s = (int)i + 1;                                                         \
            if (xx_##kind##_to_libxl(&cfg->kind##s[i], cfg->type, &d->kind##s[i], err))            \
                return -1;                                                                         \
        }                                                                                          \
        return 0;                                                                                  \
    }
XX_DEVICES_TO_LIBXL(disk)
XX_DEVICES_TO_LIBXL(nic)

int xx_config_to_libxl(const xo_domain_config *cfg, libxl_domain_config *d, xo_error *err)
{
    libxl_domain_build_info *b = &d->b_info;
    libxl_domain_type t = xx_domtype_to_libxl(cfg->type);
    unsigned vmax = cfg->vcpus_max ? cfg->vcpus_max : 1;
    unsigned vstart = cfg->vcpus_at_startup ? cfg->vcpus_at_startup : vmax;
    uint64_t maxkb = cfg->memory_static_max_kib;
    uint64_t tgtkb = cfg->memory_target_kib ? cfg->memory_target_kib : maxkb;
    int rc = -1;

    if (cfg->type != XO_DOM_PV && cfg->type != XO_DOM_PVH && cfg->type != XO_DOM_HVM) {
        xo_error_set(err, XO_E_INVAL, "unknown domain type %d", (int)cfg->type);
        goto out;
    }
    if (!cfg->name[0]) {
        xo_error_set(err, XO_E_INVAL, "domain name is empty");
        goto out;
    }
    if (maxkb < 1024 || tgtkb > maxkb) {
        xo_error_set(err, XO_E_INVAL, "memory: static max %" PRIu64 " KiB, target %" PRIu64
               " KiB (need 1 MiB <= target <= static max)", maxkb, tgtkb);
        goto out;
    }
    if (vstart > vmax || vmax > 4096) {
        xo_error_set(err, XO_E_INVAL, "vcpus: %u at startup of %u max", vstart, vmax);
        goto out;
    }
    if (cfg->type == XO_DOM_PVH && !cfg->kernel[0]) {
        xo_error_set(err, XO_E_INVAL, "a PVH guest needs a kernel");
        goto out;
    }
    if (cfg->type == XO_DOM_PV && !cfg->kernel[0] && !cfg->bootloader[0]) {
        xo_error_set(err, XO_E_INVAL, "a PV guest needs a kernel or a bootloader");
        goto out;
    }

    /* create info */
    d->c_info.type = t;
    if (!(d->c_info.name = strdup(cfg->name)))
        XX_OOM(err);
    if (cfg->uuid[0] && libxl_uuid_from_string(&d->c_info.uuid, cfg->uuid)) {
        xo_error_set(err, XO_E_INVAL, "malformed uuid '%s'", cfg->uuid);
        goto out;
    }

    /* build info */
    libxl_domain_build_info_init_type(b, t);
    b->max_vcpus = (int)vmax;
    b->avail_vcpus.size = (vmax + 7) / 8;
    if (!(b->avail_vcpus.map = calloc(b->avail_vcpus.size, 1)))
        XX_OOM(err);
    for (unsigned i = 0; i < vstart; i++)
        b->avail_vcpus.map[i / 8] |= (uint8_t)(1u << (i % 8));
    b->max_memkb = maxkb;
    b->target_memkb = tgtkb;
    if (cfg->vcpu_weight)
        b->sched_params.weight = (int)cfg->vcpu_weight;
    if (cfg->vcpu_cap)
        b->sched_params.cap = (int)cfg->vcpu_cap;
    if ((cfg->kernel[0] && !(b->kernel = strdup(cfg->kernel)))
        || (cfg->ramdisk[0] && !(b->ramdisk = strdup(cfg->ramdisk)))
        || (cfg->cmdline[0] && !(b->cmdline = strdup(cfg->cmdline))))
        XX_OOM(err);
    if (cfg->bootloader[0]) {
        if (cfg->type != XO_DOM_PV) {
            xo_error_set(err, XO_E_INVAL, "a bootloader is only supported for PV guests");
            goto out;
        }
        if (!(b->bootloader = strdup(cfg->bootloader)))
            XX_OOM(err);
        if (cfg->bootloader_args[0] && xx_split_args(cfg->bootloader_args, &b->bootloader_args))
            XX_OOM(err);
    }
    if (cfg->type == XO_DOM_HVM && cfg->boot_order[0]
        && !(b->u.hvm.boot = strdup(cfg->boot_order)))
        XX_OOM(err);
    for (size_t i = 0; i < cfg->n_platform && i < sizeof(cfg->platform) / sizeof(cfg->platform[0]);
         i++) {
        if (xx_platform_key(d, cfg->platform[i].key, cfg->platform[i].value, err))
            goto out;
    }

    /* devices; a nic without a number gets its place, as the VIF's device number says */
    if (xx_disks_to_libxl(d, cfg, err) || xx_nics_to_libxl(d, cfg, err))
        goto out;
    for (int i = 0; i < d->num_nics; i++)
        if (d->nics[i].devid < 0)
            d->nics[i].devid = i;

    /* The daemon applies actions_after_*: libxl only records these. */
    d->on_poweroff = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
    d->on_reboot = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
    d->on_crash = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
    d->on_watchdog = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
    rc = 0;
out:
    return rc;
}
