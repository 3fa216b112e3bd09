/* vm_config: translate a VM record (and its VBDs, VIFs, VDIs, networks)
 * into the backend's xo_domain_config.  Shared by every backend: the
 * daemon, not the backend, decides what a record means.
 *
 *   domain type   HVM when HVM_boot_policy is non-empty; PVH when
 *                 platform:pvh is "true" (or platform:type is "pvh");
 *                 else PV.
 *   memory        static_max -> maxmem, dynamic_max (or static_max when 0)
 *                 -> initial target; bytes -> KiB.  Checked:
 *                 static_min <= dynamic_min <= dynamic_max <= static_max.
 *   vCPUs         VCPUs_max, VCPUs_at_startup (<= max; 0 = max);
 *                 VCPUs_params:weight / :cap -> scheduler.
 *   boot          PV_kernel/ramdisk/args, PV_bootloader(_args);
 *                 HVM_boot_params:order -> boot order.
 *   platform      passed through (the first 32 entries).
 *   disks         one per VBD: device name, the VDI's file in its SR
 *                 ("" = empty CD), RO/RW, CD/Disk, bootable.
 *   nics          one per VIF: device number, MAC, MTU, the bridge of its
 *                 network (other_config:bridge, else its name_label).
 *   console       <state>/console-log/<uuid>.log.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/persist.h"
#include "daemon/vm_internal.h"
#include "xapi_policy.h"
#include "xapi_errors.h"
#include "xapi_model.h"

char *vm_config_console_log(const char *vm_uuid)
{
    char *p;
    if (asprintf(&p, "%s/console-log/%s.log", persist_state_dir(), vm_uuid) < 0)
        abort();
    return p;
}

const char *vm_config_bridge(const xobj *net)
{
    const char *b = xobj_map_get(net, XF_network_other_config, "bridge");
    return b && *b ? b : xobj_str(net, XF_network_name_label);
}

static void copy(char *dst, size_t n, const char *src)
{
    size_t l = 0;
    for (; src && src[l] && l + 1 < n; l++)
        dst[l] = src[l];
    dst[l] = '\0';
}

bool vm_config_disk(const xobj *vbd, xo_disk *d, xerr **errp)
{
    memset(d, 0, sizeof(*d));
    copy(d->vdev, sizeof(d->vdev), xobj_str(vbd, XF_VBD_device));
    copy(d->format, sizeof(d->format), "raw");
    d->readonly = strcmp(xobj_str(vbd, XF_VBD_mode), "RO") == 0;
    d->cdrom = strcmp(xobj_str(vbd, XF_VBD_type), "CD") == 0;
    d->bootable = xobj_bool(vbd, XF_VBD_bootable);
    const char *vdi_ref = xobj_str(vbd, XF_VBD_VDI);
    xobj *vdi = *vdi_ref ? store_find(XCL_VDI, vdi_ref) : NULL;
    if (vdi) {
        char *path = storage_vdi_path(vdi);
        if (!path)
            return xerr_internal(errp, "VDI %s has no file (its SR has no directory)", vdi->ref);
        if (strlen(path) >= sizeof(d->target)) {
            free(path);
            return xerr_internal(errp, "VDI %s: path too long", vdi->ref);
        }
        copy(d->target, sizeof(d->target), path);
        free(path);
        if (xobj_bool(vdi, XF_VDI_read_only))
            d->readonly = true;
    } else if (!d->cdrom) {
        return xerr_VALUE_NOT_SUPPORTED(errp, "VBD.VDI", vdi_ref,
                                        "a disk VBD needs a VDI (only a CD may be empty)");
    }
    if (!d->vdev[0])
        return xerr_VALUE_NOT_SUPPORTED(errp, "VBD.device", "", "the VBD has no device name");
    return true;
}

void vm_config_nic(const xobj *vif, xo_nic *n)
{
    memset(n, 0, sizeof(*n));
    char *end = NULL;
    const char *dev = xobj_str(vif, XF_VIF_device);
    long id = strtol(dev, &end, 10);
    n->devid = *dev && end && !*end && id >= 0 && id < 1000 ? (int)id : -1;
    copy(n->mac, sizeof(n->mac), xobj_str(vif, XF_VIF_MAC));
    int64_t mtu = xobj_int(vif, XF_VIF_MTU);
    n->mtu = mtu > 0 && mtu < 65536 ? (unsigned)mtu : 0;
    xobj *net = store_find(XCL_network, xobj_str(vif, XF_VIF_network));
    copy(n->bridge, sizeof(n->bridge), net ? vm_config_bridge(net) : "");
}

static unsigned param_uint(const xobj *vm, const char *key)
{
    const char *s = xobj_map_get(vm, XF_VM_VCPUs_params, key);
    char *end = NULL;
    unsigned long v = s ? strtoul(s, &end, 10) : 0;
    return s && *s && end && !*end && v < 1000000 ? (unsigned)v : 0;
}

bool vm_config_build(const xobj *vm, xo_domain_config *cfg, xerr **errp)
{
    memset(cfg, 0, sizeof(*cfg));
    copy(cfg->uuid, sizeof(cfg->uuid), vm->ref);
    copy(cfg->name, sizeof(cfg->name), xobj_str(vm, XF_VM_name_label));
    if (!cfg->name[0])
        copy(cfg->name, sizeof(cfg->name), vm->ref);

    const char *pvh = xobj_map_get(vm, XF_VM_platform, "pvh");
    const char *ptype = xobj_map_get(vm, XF_VM_platform, "type");
    if (*xobj_str(vm, XF_VM_HVM_boot_policy))
        cfg->type = XO_DOM_HVM;
    else if ((pvh && (strcmp(pvh, "true") == 0 || strcmp(pvh, "1") == 0)) ||
             (ptype && strcmp(ptype, "pvh") == 0))
        cfg->type = XO_DOM_PVH;
    else
        cfg->type = XO_DOM_PV;

    /* the orderings the datamodel declares for start (memory, vCPUs; a 0 is unset) */
    if (!xconstraint_orderings(XCL_VM, vm->f, "start", errp))
        return false;
    int64_t smax = xobj_int(vm, XF_VM_memory_static_max), dmax = xobj_int(vm, XF_VM_memory_dynamic_max);
    if (smax <= 0)
        return xerr_MEMORY_CONSTRAINT_VIOLATION(errp, "memory_static_max must be positive");
    cfg->memory_static_max_kib = (uint64_t)smax / 1024;
    cfg->memory_target_kib = (uint64_t)(dmax ? dmax : smax) / 1024;

    int64_t vmax = xobj_int(vm, XF_VM_VCPUs_max), vstart = xobj_int(vm, XF_VM_VCPUs_at_startup);
    if (vmax <= 0)
        vmax = vstart > 0 ? vstart : 1;
    if (vstart <= 0)
        vstart = vmax;
    if (vmax > 4096) {      /* a record from before the constraints */
        char v[32];
        snprintf(v, sizeof(v), "%" PRId64, vmax);
        return xerr_VALUE_NOT_SUPPORTED(errp, "VM.VCPUs_max", v, "must be between 1 and 4096");
    }
    cfg->vcpus_max = (unsigned)vmax;
    cfg->vcpus_at_startup = (unsigned)vstart;
    cfg->vcpu_weight = param_uint(vm, "weight");
    cfg->vcpu_cap = param_uint(vm, "cap");

    if (cfg->type == XO_DOM_HVM) {
        const char *order = xobj_map_get(vm, XF_VM_HVM_boot_params, "order");
        copy(cfg->boot_order, sizeof(cfg->boot_order), order ? order : "cd");
    }
    copy(cfg->kernel, sizeof(cfg->kernel), xobj_str(vm, XF_VM_PV_kernel));
    copy(cfg->ramdisk, sizeof(cfg->ramdisk), xobj_str(vm, XF_VM_PV_ramdisk));
    copy(cfg->cmdline, sizeof(cfg->cmdline), xobj_str(vm, XF_VM_PV_args));
    copy(cfg->bootloader, sizeof(cfg->bootloader), xobj_str(vm, XF_VM_PV_bootloader));
    copy(cfg->bootloader_args, sizeof(cfg->bootloader_args), xobj_str(vm, XF_VM_PV_bootloader_args));

    const xv *plat = vm->f[XF_VM_platform];
    for (size_t i = 0; i < plat->u.st.n && cfg->n_platform < 32; i++) {
        const xv *v = plat->u.st.vals[i];
        if (strlen(plat->u.st.keys[i]) >= sizeof(cfg->platform[0].key) || v->kind != XV_STRING ||
            v->u.str.len >= sizeof(cfg->platform[0].value))
            continue;
        copy(cfg->platform[cfg->n_platform].key, sizeof(cfg->platform[0].key), plat->u.st.keys[i]);
        copy(cfg->platform[cfg->n_platform].value, sizeof(cfg->platform[0].value), v->u.str.s);
        cfg->n_platform++;
    }

    const xv *vbds = vm->f[XF_VM_VBDs], *vifs = vm->f[XF_VM_VIFs];
    cfg->disks = calloc(vbds->u.arr.n + 1, sizeof(xo_disk));
    cfg->nics = calloc(vifs->u.arr.n + 1, sizeof(xo_nic));
    if (!cfg->disks || !cfg->nics)
        abort();
    for (size_t i = 0; i < vbds->u.arr.n; i++) {
        xobj *vbd = store_find(XCL_VBD, vbds->u.arr.items[i]->u.str.s);
        if (!vbd)
            continue;
        if (!vm_config_disk(vbd, &cfg->disks[cfg->n_disks], errp)) {
            vm_config_dispose(cfg);
            return false;
        }
        cfg->n_disks++;
    }
    for (size_t i = 0; i < vifs->u.arr.n; i++) {
        xobj *vif = store_find(XCL_VIF, vifs->u.arr.items[i]->u.str.s);
        if (vif)
            vm_config_nic(vif, &cfg->nics[cfg->n_nics++]);
    }
    char *log = vm_config_console_log(vm->ref);
    copy(cfg->console_log, sizeof(cfg->console_log), log);
    free(log);
    return true;
}

void vm_config_dispose(xo_domain_config *cfg)
{
    free(cfg->disks);
    free(cfg->nics);
    cfg->disks = NULL;
    cfg->nics = NULL;
    cfg->n_disks = cfg->n_nics = 0;
}
