/* xm: block-list/attach/detach, network-list/attach/detach. */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xm/cmds.h"
#include "xm/xm.h"

/* Linux's device number for a virtual disk name, as xm's
 * blkdev_name_to_number: xvdX -> 202, sdX -> 8, hda..hdd -> 3/22; -1 if
 * not a known form. */
static long blkdev_number(const char *name)
{
    const char *n = strncmp(name, "/dev/", 5) == 0 ? name + 5 : name;
    long major, letters;
    const char *p;
    if (strncmp(n, "xvd", 3) == 0) {
        major = 202;
        p = n + 3;
    } else if (strncmp(n, "sd", 2) == 0) {
        major = 8;
        p = n + 2;
    } else if (strncmp(n, "hd", 2) == 0 && n[2] >= 'a' && n[2] <= 'd') {
        static const long hd[4] = { 3 << 8, (3 << 8) | 64, 22 << 8, (22 << 8) | 64 };
        long part = n[3] ? strtol(n + 3, NULL, 10) : 0;
        return hd[n[2] - 'a'] + part;
    } else {
        return -1;
    }
    if (*p < 'a' || *p > 'z')
        return -1;
    letters = *p++ - 'a';
    long part = 0;
    if (*p) {
        char *end;
        part = strtol(p, &end, 10);
        if (*end || part > 15)
            return -1;
    }
    return (major << 8) + (letters << 4) + part;
}

static long prop_int(const xen_string_string_map *m, const char *key)
{
    const char *v = xm_map_get(m, key);
    return v && *v ? strtol(v, NULL, 10) : -1;
}

static const char *prop_str(const xen_string_string_map *m, const char *key)
{
    const char *v = xm_map_get(m, key);
    return v ? v : "";
}

/* -l: [devid, [[key value]...]] as xm printed it. */
static sxp *props_sxp(long idx, const xen_string_string_map *props, const char *extra_key, const char *extra)
{
    char id[24];
    snprintf(id, sizeof(id), "%ld", idx);
    sxp *pairs = sxp_list(NULL);
    for (size_t i = 0; props && i < props->size; i++)
        sxp_kv(pairs, props->contents[i].key, props->contents[i].val);
    sxp_kv(pairs, extra_key, extra);
    return sxp_add(sxp_list(id), pairs);
}

static void print_sxp(sxp *x)
{
    sxp_pretty(x, stdout);
    sxp_free(x);
}

/* block-list's -l or table row for VBD ref (a header before the first). */
static bool vbd_show(xen_session *s, const char *ref, size_t i, bool lng)
{
    xen_vbd_record *b = NULL;
    if (!xen_vbd_get_record(s, &b, (xen_vbd)ref))
        return false;
    long idx = blkdev_number(b->device);
    const xen_string_string_map *p = b->runtime_properties;
    if (lng) {
        print_sxp(props_sxp(idx, p, "dev", b->device));
    } else {
        if (i == 0)
            printf("Vdev  BE handle state evt-ch ring-ref BE-path\n");
        printf("%-5ld  %-3ld%-3ld   %-3ld    %-3ld    %-5ld %-30s  \n", idx,
               prop_int(p, "backend-id"), prop_int(p, "handle"), prop_int(p, "state"),
               prop_int(p, "event-channel"), prop_int(p, "ring-ref"), prop_str(p, "backend"));
    }
    xen_vbd_record_free(b);
    return true;
}

/* network-list's the same for VIF ref. */
static bool vif_show(xen_session *s, const char *ref, size_t i, bool lng)
{
    xen_vif_record *v = NULL;
    if (!xen_vif_get_record(s, &v, (xen_vif)ref))
        return false;
    const xen_string_string_map *p = v->runtime_properties;
    if (lng) {
        print_sxp(props_sxp((long)i, p, "mac", v->mac));
    } else {
        if (i == 0)
            printf("Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path\n");
        printf("%-3zu %-3ld%-17s    %-3ld   %-3ld    %-3ld   %-5ld/%-5ld   %-30s  \n", i,
               prop_int(p, "backend-id"), v->mac, prop_int(p, "handle"), prop_int(p, "state"),
               prop_int(p, "event-channel"), prop_int(p, "tx-ring-ref"), prop_int(p, "rx-ring-ref"),
               prop_str(p, "backend"));
    }
    xen_vif_record_free(v);
    return true;
}

/* A VDI named by uuid or name label (optionally "vdi:"-prefixed). */
static xen_vdi find_vdi(xen_session *s, const char *name, int *rc)
{
    if (strncmp(name, "vdi:", 4) == 0)
        name += 4;
    xen_vdi vdi = NULL;
    if (xen_vdi_get_by_uuid(s, &vdi, name))
        return vdi;
    xen_session_clear_error(s);
    struct xen_vdi_set *set = NULL;
    if (!xen_vdi_get_by_name_label(s, &set, name)) {
        *rc = xm_fail(s);
        return NULL;
    }
    if (set->size == 1) {
        vdi = set->contents[0];
        set->contents[0] = NULL;
        set->size = 0;
    } else if (set->size > 1) {
        *rc = xm_err(XM_EXIT_FAIL, "%zu disks are called '%s'; name one by its uuid.", set->size, name);
    } else {
        *rc = xm_err(XM_EXIT_NOTFOUND, "no disk (VDI) is named '%s' (give a VDI uuid or name).", name);
    }
    xen_vdi_set_free(set);
    return vdi;
}

/* The VBD of rec (all but its VM and VDI set) on the VM, with the disk args[0]. */
static int attach_vbd(xen_session *s, xen_vm vm, char **args, void *ctx)
{
    xen_vbd_record *rec = ctx;
    int rc = XM_EXIT_OK;
    xen_vdi vdi = find_vdi(s, args[0], &rc);
    if (!vdi)
        return rc;
    xen_vm_record_opt vmo = { .is_record = false, .u.handle = vm };
    xen_vdi_record_opt vdio = { .is_record = false, .u.handle = vdi };
    rec->vm = &vmo;
    rec->vdi = &vdio;
    xen_vbd vbd = NULL;
    if (!xen_vbd_create(s, &vbd, rec))
        rc = xm_fail(s);
    rec->vm = NULL;
    rec->vdi = NULL;
    xen_vbd_free(vbd);
    xen_vdi_free(vdi);
    return rc;
}

int xm_cmd_block_attach(int argc, char **argv)
{
    if (getopt(argc, argv, "+") != -1 || argc - optind < 4 || argc - optind > 5)
        return xm_usage("block-attach", "expected a VM, a disk, a device and a mode");
    const char *front = argv[optind + 2], *mode = argv[optind + 3];
    if (strcmp(mode, "r") != 0 && strcmp(mode, "w") != 0 && strcmp(mode, "w!") != 0)
        return xm_usage("block-attach", "the mode is r or w, not '%s'", mode);
    if (argc - optind == 5 && strcmp(argv[optind + 4], "0") != 0)
        return xm_usage("block-attach", "only the control domain (0) can be the backend");
    char *dev = xm_strdup(strncmp(front, "ioemu:", 6) == 0 ? front + 6 : front);
    bool cd = false;
    char *colon = strchr(dev, ':');
    if (colon) {
        cd = strcmp(colon + 1, "cdrom") == 0;
        if (!cd && strcmp(colon + 1, "disk") != 0) {
            free(dev);
            return xm_usage("block-attach", "'%s': the device suffix is :disk or :cdrom", front);
        }
        *colon = '\0';
    }
    xen_vbd_record rec = {
        .device = dev,
        .bootable = false,
        .mode = mode[0] == 'w' ? XEN_VBD_MODE_RW : XEN_VBD_MODE_RO,
        .type = cd ? XEN_VBD_TYPE_CD : XEN_VBD_TYPE_DISK,
        .qos_algorithm_type = "",
    };
    int rc = xm_on_vm(argc, argv, 4, 5, "a VM, a disk, a device and a mode", attach_vbd, &rec);
    free(dev);
    return rc;
}

/* The network whose bridge (other_config:bridge, else name) is bridge; the
 * first network when bridge is NULL. */
static xen_network find_network(xen_session *s, const char *bridge, int *rc)
{
    xen_network_xen_network_record_map *nets = NULL;
    if (!xen_network_get_all_records(s, &nets)) {
        *rc = xm_fail(s);
        return NULL;
    }
    xen_network found = NULL;
    for (size_t i = 0; i < nets->size && !found; i++) {
        const xen_network_record *n = nets->contents[i].val;
        const char *b = xm_map_get(n->other_config, "bridge");
        if (!bridge || strcmp(n->name_label, bridge) == 0 || (b && strcmp(b, bridge) == 0))
            found = xm_strdup(nets->contents[i].key);
    }
    xen_network_xen_network_record_map_free(nets);
    if (!found)
        *rc = bridge ? xm_err(XM_EXIT_NOTFOUND, "network %s doesn't exist.", bridge)
                     : xm_err(XM_EXIT_NOTFOUND, "the server has no network.");
    return found;
}

typedef struct attach_vif_ctx {
    xen_vif_record *rec; /* mac and mtu set */
    const char *bridge;
} attach_vif_ctx;

/* A VIF on the network of ctx's bridge, as the VM's next free ethN. */
static int attach_vif(xen_session *s, xen_vm vm, char **args, void *ctx)
{
    (void)args;
    const attach_vif_ctx *c = ctx;
    int rc = XM_EXIT_OK;
    xen_network net = find_network(s, c->bridge, &rc);
    struct xen_vif_set *vifs = NULL;
    if (net && !xen_vm_get_vifs(s, &vifs, vm))
        rc = xm_fail(s);
    if (net && vifs) {
        int next = 0;
        for (size_t i = 0; i < vifs->size; i++) {
            char *d = NULL;
            if (xen_vif_get_device(s, &d, vifs->contents[i]) && strncmp(d, "eth", 3) == 0 &&
                isdigit((unsigned char)d[3]) && atoi(d + 3) >= next)
                next = atoi(d + 3) + 1;
            xen_session_clear_error(s);
            free(d);
        }
        char dev[16];
        snprintf(dev, sizeof(dev), "eth%d", next);
        xen_vm_record_opt vmo = { .is_record = false, .u.handle = vm };
        xen_network_record_opt neto = { .is_record = false, .u.handle = net };
        c->rec->device = dev;
        c->rec->network = &neto;
        c->rec->vm = &vmo;
        xen_vif vif = NULL;
        if (!xen_vif_create(s, &vif, c->rec))
            rc = xm_fail(s);
        c->rec->device = NULL;
        c->rec->network = NULL;
        c->rec->vm = NULL;
        xen_vif_free(vif);
    }
    xen_vif_set_free(vifs);
    xen_network_free(net);
    return rc;
}

int xm_cmd_network_attach(int argc, char **argv)
{
    if (getopt(argc, argv, "+") != -1 || argc - optind < 1)
        return xm_usage("network-attach", "expected a VM");
    const char *mac = "", *bridge = NULL;
    int64_t mtu = 0;
    for (int i = optind + 1; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq)
            return xm_usage("network-attach", "'%s' is not KEY=VALUE", argv[i]);
        size_t kl = (size_t)(eq - argv[i]);
        const char *v = eq + 1;
        if (kl == 3 && strncmp(argv[i], "mac", 3) == 0)
            mac = v;
        else if (kl == 6 && strncmp(argv[i], "bridge", 6) == 0)
            bridge = v;
        else if (kl == 3 && strncmp(argv[i], "mtu", 3) == 0) {
            if (!xm_parse_int(v, &mtu) || mtu < 68 || mtu > 65535)
                return xm_usage("network-attach", "'%s' is not an MTU (68-65535)", v);
        } else if ((kl == 4 && strncmp(argv[i], "type", 4) == 0) ||
                   (kl == 5 && strncmp(argv[i], "model", 5) == 0) ||
                   (kl == 6 && strncmp(argv[i], "script", 6) == 0) ||
                   (kl == 7 && strncmp(argv[i], "backend", 7) == 0) ||
                   (kl == 7 && strncmp(argv[i], "vifname", 7) == 0) ||
                   (kl == 2 && strncmp(argv[i], "ip", 2) == 0) ||
                   (kl == 4 && strncmp(argv[i], "rate", 4) == 0) ||
                   (kl == 5 && strncmp(argv[i], "accel", 5) == 0))
            return xm_usage("network-attach", "'%.*s' has no XenAPI equivalent (VIF has MAC, MTU and a "
                            "network)", (int)kl, argv[i]);
        else
            return xm_usage("network-attach", "unknown key '%.*s' (mac, bridge, mtu)", (int)kl, argv[i]);
    }
    xen_vif_record rec = { .mac = (char *)mac, .mtu = mtu ? mtu : 1500, .qos_algorithm_type = "" };
    attach_vif_ctx c = { &rec, bridge };
    return xm_on_vm(argc, argv, 1, argc, "a VM", attach_vif, &c);
}

/* ---- detaching: the device of the VM that matches, destroyed ---- */

typedef struct devkind {
    const char *list_cmd, *detach_cmd, *what;
    /* the VM's devices (refs, a xen_<class>_set) */
    bool (*list)(xen_session *s, xen_vm vm, struct xen_string_set **refs);
    /* print device ref (the idx-th) for *-list [-l]; false on an error */
    bool (*show)(xen_session *s, const char *ref, size_t idx, bool lng);
    /* 1: device ref (the idx-th) is the one named want; 0: not; -1: error */
    int (*match)(xen_session *s, const char *ref, size_t idx, const char *want);
    bool (*destroy)(xen_session *s, const char *ref);
} devkind;

/* A devkind's list: the VM's devices of one class (getter, a set of refs
 * freed with set_free), their refs moved into a string set. */
#define DEVICE_REFS(name, set_type, getter, set_free)                           \
    static bool name(xen_session *s, xen_vm vm, struct xen_string_set **refs)   \
    {                                                                           \
        struct set_type *set = NULL;                                            \
        if (!getter(s, &set, vm))                                               \
            return false;                                                       \
        *refs = xen_string_set_alloc(set->size);                                \
        for (size_t i = 0; i < set->size; i++) {                                \
            (*refs)->contents[i] = set->contents[i];                            \
            set->contents[i] = NULL;                                            \
        }                                                                       \
        set_free(set);                                                          \
        return true;                                                            \
    }
DEVICE_REFS(vbd_list, xen_vbd_set, xen_vm_get_vbds, xen_vbd_set_free)
DEVICE_REFS(vif_list, xen_vif_set, xen_vm_get_vifs, xen_vif_set_free)

static int vbd_match(xen_session *s, const char *ref, size_t idx, const char *want)
{
    (void)idx;
    xen_vbd_record *b = NULL;
    if (!xen_vbd_get_record(s, &b, (xen_vbd)ref))
        return -1;
    char num[24];
    snprintf(num, sizeof(num), "%ld", blkdev_number(b->device));
    int m = strcmp(b->device, want) == 0 || strcmp(b->uuid, want) == 0 || strcmp(num, want) == 0;
    xen_vbd_record_free(b);
    return m;
}

static int vif_match(xen_session *s, const char *ref, size_t idx, const char *want)
{
    xen_vif_record *v = NULL;
    if (!xen_vif_get_record(s, &v, (xen_vif)ref))
        return -1;
    char num[24], eth[32];
    snprintf(num, sizeof(num), "%zu", idx);
    snprintf(eth, sizeof(eth), "eth%s", want);
    int m = strcmp(num, want) == 0 || strcasecmp(v->mac, want) == 0 || strcmp(v->device, want) == 0 ||
            strcmp(v->device, eth) == 0 || strcmp(v->uuid, want) == 0;
    xen_vif_record_free(v);
    return m;
}

static bool vbd_destroy(xen_session *s, const char *ref) { return xen_vbd_destroy(s, (xen_vbd)ref); }
static bool vif_destroy(xen_session *s, const char *ref) { return xen_vif_destroy(s, (xen_vif)ref); }

static const devkind vbd_kind = { "block-list", "block-detach", "block device", vbd_list,
                                  vbd_show,     vbd_match,      vbd_destroy };
static const devkind vif_kind = { "network-list", "network-detach", "network interface", vif_list,
                                  vif_show,       vif_match,        vif_destroy };

typedef struct dev_ctx {
    const devkind *k;
    bool lng;
} dev_ctx;

static int show_devices(xen_session *s, xen_vm vm, char **args, void *ctx)
{
    (void)args;
    const dev_ctx *c = ctx;
    struct xen_string_set *refs = NULL;
    if (!c->k->list(s, vm, &refs))
        return xm_fail(s);
    int rc = XM_EXIT_OK;
    for (size_t i = 0; i < refs->size && !rc; i++)
        if (!c->k->show(s, refs->contents[i], i, c->lng))
            rc = xm_fail(s);
    xen_string_set_free(refs);
    return rc;
}

static int list_devices(int argc, char **argv, const devkind *k)
{
    dev_ctx c = { k, false };
    if (!xm_flag_option(argc, argv, "l", "long", &c.lng))
        return xm_usage(k->list_cmd, "expected one VM");
    return xm_on_vm(argc, argv, 1, 1, "one VM", show_devices, &c);
}

int xm_cmd_block_list(int argc, char **argv) { return list_devices(argc, argv, &vbd_kind); }
int xm_cmd_network_list(int argc, char **argv) { return list_devices(argc, argv, &vif_kind); }

static int detach_device(xen_session *s, xen_vm vm, char **args, void *ctx)
{
    const devkind *k = ctx;
    const char *want = args[0];
    struct xen_string_set *refs = NULL;
    if (!k->list(s, vm, &refs))
        return xm_fail(s);
    const char *found = NULL;
    int rc = XM_EXIT_OK;
    for (size_t i = 0; i < refs->size && !found && !rc; i++) {
        int m = k->match(s, refs->contents[i], i, want);
        if (m < 0)
            rc = xm_fail(s);
        else if (m)
            found = refs->contents[i];
    }
    if (!rc && !found)
        rc = xm_err(XM_EXIT_NOTFOUND, "the VM has no %s '%s'.", k->what, want);
    else if (found && !k->destroy(s, found))
        rc = xm_fail(s);
    xen_string_set_free(refs);
    return rc;
}

static int detach(int argc, char **argv, const devkind *k)
{
    bool force; /* accepted as xm accepted it; it changes nothing here */
    if (!xm_flag_option(argc, argv, "f", "force", &force))
        return xm_usage(k->detach_cmd, "bad option");
    char expected[64];
    snprintf(expected, sizeof(expected), "a VM and a %s", k->what);
    return xm_on_vm(argc, argv, 2, 2, expected, detach_device, (void *)k);
}

int xm_cmd_block_detach(int argc, char **argv) { return detach(argc, argv, &vbd_kind); }
int xm_cmd_network_detach(int argc, char **argv) { return detach(argc, argv, &vif_kind); }
