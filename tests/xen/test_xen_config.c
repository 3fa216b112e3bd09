/* test_xen_config: xo_domain_config -> libxl_domain_config, without Xen.
 * Uses libxl's pure functions only (init/dispose, *_from_string and the JSON
 * generator, which works with a NULL ctx). */
#include "config.h"

#include "tests/lib/xtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxl.h>

#include "xenops/xen/xen_config.h"
#include "xenops/xen/xen_priv.h"

static void base_cfg(xo_domain_config *c, xo_domtype t)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "guest-%d", (int)t);
    snprintf(c->uuid, sizeof(c->uuid), "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9");
    c->type = t;
    c->memory_static_max_kib = 512 * 1024;
    c->memory_target_kib = 256 * 1024;
    c->vcpus_max = 4;
    c->vcpus_at_startup = 2;
    c->vcpu_weight = 512;
    c->vcpu_cap = 50;
    snprintf(c->kernel, sizeof(c->kernel), "/guest/vmlinux");
    snprintf(c->ramdisk, sizeof(c->ramdisk), "/guest/initrd.gz");
    snprintf(c->cmdline, sizeof(c->cmdline), "console=hvc0 rdinit=/init xq_hold");
}

static bool bit(const libxl_bitmap *m, unsigned i)
{
    return i / 8 < m->size && (m->map[i / 8] >> (i % 8)) & 1;
}

static void test_pv(void)
{
    xo_domain_config c;
    libxl_domain_config d;
    xo_error err = { 0 };
    xo_disk disks[2];
    xo_nic nics[2];
    char *json;
    libxl_uuid u;

    base_cfg(&c, XO_DOM_PV);
    memset(disks, 0, sizeof(disks));
    snprintf(disks[0].vdev, sizeof(disks[0].vdev), "xvda");
    snprintf(disks[0].target, sizeof(disks[0].target), "/var/lib/xend/disk.img");
    snprintf(disks[1].vdev, sizeof(disks[1].vdev), "xvdb");
    snprintf(disks[1].target, sizeof(disks[1].target), "/dev/vg/data");
    snprintf(disks[1].format, sizeof(disks[1].format), "raw");
    disks[1].readonly = true;
    c.disks = disks;
    c.n_disks = 2;
    memset(nics, 0, sizeof(nics));
    nics[0].devid = -1;
    snprintf(nics[0].mac, sizeof(nics[0].mac), "00:16:3e:01:02:03");
    snprintf(nics[0].bridge, sizeof(nics[0].bridge), "xenbr0");
    nics[1].devid = 5;
    nics[1].mtu = 9000;
    snprintf(nics[1].script, sizeof(nics[1].script), "vif-route");
    c.nics = nics;
    c.n_nics = 2;

    libxl_domain_config_init(&d);
    CHECK(xx_config_to_libxl(&c, &d, &err) == 0);
    CHECK(d.c_info.type == LIBXL_DOMAIN_TYPE_PV);
    CHECK(d.b_info.type == LIBXL_DOMAIN_TYPE_PV);
    CHECK(d.c_info.name && !strcmp(d.c_info.name, "guest-0"));
    CHECK(libxl_uuid_from_string(&u, c.uuid) == 0 && !libxl_uuid_compare(&u, &d.c_info.uuid));
    CHECK(d.b_info.max_vcpus == 4);
    CHECK(bit(&d.b_info.avail_vcpus, 0) && bit(&d.b_info.avail_vcpus, 1));
    CHECK(!bit(&d.b_info.avail_vcpus, 2) && !bit(&d.b_info.avail_vcpus, 3));
    CHECK(d.b_info.max_memkb == 512 * 1024 && d.b_info.target_memkb == 256 * 1024);
    CHECK(d.b_info.sched_params.weight == 512 && d.b_info.sched_params.cap == 50);
    CHECK(d.b_info.kernel && !strcmp(d.b_info.kernel, "/guest/vmlinux"));
    CHECK(d.b_info.ramdisk && !strcmp(d.b_info.ramdisk, "/guest/initrd.gz"));
    CHECK(d.b_info.cmdline && strstr(d.b_info.cmdline, "xq_hold"));
    CHECK(d.num_disks == 2);
    CHECK(!strcmp(d.disks[0].vdev, "xvda") && !strcmp(d.disks[0].pdev_path, "/var/lib/xend/disk.img"));
    CHECK(d.disks[0].format == LIBXL_DISK_FORMAT_RAW && d.disks[0].readwrite == 1);
    CHECK(d.disks[0].backend == LIBXL_DISK_BACKEND_UNKNOWN && !d.disks[0].is_cdrom);
    CHECK(d.disks[1].readwrite == 0);
    CHECK(d.num_nics == 2);
    CHECK(d.nics[0].devid == 0 && d.nics[1].devid == 5);
    CHECK(d.nics[0].mac[0] == 0x00 && d.nics[0].mac[2] == 0x3e && d.nics[0].mac[5] == 0x03);
    CHECK(d.nics[0].bridge && !strcmp(d.nics[0].bridge, "xenbr0"));
    CHECK(d.nics[1].mtu == 9000 && d.nics[1].script && !strcmp(d.nics[1].script, "vif-route"));
    CHECK(d.nics[0].nictype == LIBXL_NIC_TYPE_VIF);
    CHECK(d.on_poweroff == LIBXL_ACTION_ON_SHUTDOWN_PRESERVE);

    /* libxl's own JSON generator and parser accept the result (no ctx) */
    json = libxl_domain_config_to_json(NULL, &d);
    CHECK(json != NULL);
    if (json) {
        CHECK(strstr(json, "\"name\": \"guest-0\"") != NULL);
        CHECK(strstr(json, "\"type\": \"pv\"") != NULL);
        CHECK(strstr(json, "\"max_memkb\": 524288") != NULL);
        CHECK(strstr(json, "\"bridge\": \"xenbr0\"") != NULL);
        CHECK(strstr(json, "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9") != NULL);
        CHECK(strstr(json, "\"target_memkb\": 262144") != NULL);
        CHECK(strstr(json, "\"pdev_path\": \"/dev/vg/data\"") != NULL);
        /* (libxl_domain_config_from_json needs a real ctx: it crashes with
         * NULL, so the parse direction is not checked here) */
        free(json);
    }
    libxl_domain_config_dispose(&d);
}

static void test_pvh_defaults(void)
{
    xo_domain_config c;
    libxl_domain_config d;
    xo_error err = { 0 };

    base_cfg(&c, XO_DOM_PVH);
    c.uuid[0] = '\0';
    c.vcpus_at_startup = 0;             /* = max */
    c.memory_target_kib = 0;            /* = static max */
    c.vcpu_weight = c.vcpu_cap = 0;
    snprintf(c.platform[0].key, sizeof(c.platform[0].key), "acpi");
    snprintf(c.platform[0].value, sizeof(c.platform[0].value), "false");
    snprintf(c.platform[1].key, sizeof(c.platform[1].key), "pae");  /* HVM-only: ignored */
    snprintf(c.platform[1].value, sizeof(c.platform[1].value), "junk");
    c.n_platform = 2;
    libxl_domain_config_init(&d);
    CHECK(xx_config_to_libxl(&c, &d, &err) == 0);
    CHECK(d.c_info.type == LIBXL_DOMAIN_TYPE_PVH && d.b_info.type == LIBXL_DOMAIN_TYPE_PVH);
    CHECK(libxl_uuid_is_nil(&d.c_info.uuid));
    CHECK(bit(&d.b_info.avail_vcpus, 3));
    CHECK(d.b_info.target_memkb == d.b_info.max_memkb);
    CHECK(d.b_info.sched_params.weight == LIBXL_DOMAIN_SCHED_PARAM_WEIGHT_DEFAULT);
    CHECK(!libxl_defbool_is_default(d.b_info.acpi) && !libxl_defbool_val(d.b_info.acpi));
    libxl_domain_config_dispose(&d);
}

static void test_hvm(void)
{
    xo_domain_config c;
    libxl_domain_config d;
    xo_error err = { 0 };
    xo_disk cd;
    static const char *const kv[][2] = {
        { "pae", "1" }, { "nx", "true" }, { "viridian", "0" }, { "vga", "stdvga" },
        { "apic", "yes" }, { "hpet", "off" }, { "rtc_timeoffset", "-3600" },
        { "tsc_mode", "native" }, { "serial", "pty" }, { "unknown_key", "whatever" },
    };

    base_cfg(&c, XO_DOM_HVM);
    c.kernel[0] = c.ramdisk[0] = c.cmdline[0] = '\0';
    snprintf(c.boot_order, sizeof(c.boot_order), "dc");
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
        snprintf(c.platform[i].key, sizeof(c.platform[i].key), "%s", kv[i][0]);
        snprintf(c.platform[i].value, sizeof(c.platform[i].value), "%s", kv[i][1]);
    }
    c.n_platform = sizeof(kv) / sizeof(kv[0]);
    memset(&cd, 0, sizeof(cd));
    snprintf(cd.vdev, sizeof(cd.vdev), "hdc");
    cd.cdrom = true;
    c.disks = &cd;
    c.n_disks = 1;

    libxl_domain_config_init(&d);
    CHECK(xx_config_to_libxl(&c, &d, &err) == 0);
    CHECK(d.b_info.type == LIBXL_DOMAIN_TYPE_HVM);
    CHECK(d.b_info.u.hvm.boot && !strcmp(d.b_info.u.hvm.boot, "dc"));
    CHECK(libxl_defbool_val(d.b_info.u.hvm.pae) && libxl_defbool_val(d.b_info.u.hvm.nx));
    CHECK(!libxl_defbool_val(d.b_info.u.hvm.viridian) && !libxl_defbool_val(d.b_info.u.hvm.hpet));
    CHECK(libxl_defbool_val(d.b_info.apic));
    CHECK(d.b_info.u.hvm.vga.kind == LIBXL_VGA_INTERFACE_TYPE_STD);
    CHECK((int32_t)d.b_info.rtc_timeoffset == -3600);
    CHECK(d.b_info.tsc_mode == LIBXL_TSC_MODE_NATIVE);
    CHECK(d.b_info.u.hvm.serial && !strcmp(d.b_info.u.hvm.serial, "pty"));
    CHECK(d.num_disks == 1 && d.disks[0].is_cdrom && d.disks[0].removable);
    CHECK(d.disks[0].format == LIBXL_DISK_FORMAT_EMPTY && d.disks[0].pdev_path == NULL);
    CHECK(d.disks[0].readwrite == 0);
    libxl_domain_config_dispose(&d);
}

/* Each rejected config: right code, message names the problem, no leak. */
static void expect_inval(const xo_domain_config *c, const char *msg_part)
{
    libxl_domain_config d;
    xo_error err = { 0 };

    libxl_domain_config_init(&d);
    CHECK(xx_config_to_libxl(c, &d, &err) == -1);
    CHECK(err.code == XO_E_INVAL);
    CHECKF(strstr(err.msg, msg_part) != NULL, "message '%s' lacks '%s'", err.msg, msg_part);
    libxl_domain_config_dispose(&d);
}

/* c gets one disk, dk: xvda on target in format ("" leaves either unset). */
static void one_disk(xo_domain_config *c, xo_disk *dk, const char *target, const char *format)
{
    memset(dk, 0, sizeof(*dk));
    snprintf(dk->vdev, sizeof(dk->vdev), "xvda");
    snprintf(dk->target, sizeof(dk->target), "%s", target);
    snprintf(dk->format, sizeof(dk->format), "%s", format);
    c->disks = dk;
    c->n_disks = 1;
}

/* c gets one NIC, n, with this MAC. */
static void one_nic(xo_domain_config *c, xo_nic *n, const char *mac)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->mac, sizeof(n->mac), "%s", mac);
    c->nics = n;
    c->n_nics = 1;
}

static void test_rejects(void)
{
    xo_domain_config c;
    xo_disk dk;
    xo_nic n;

    base_cfg(&c, XO_DOM_PV);
    snprintf(c.uuid, sizeof(c.uuid), "not-a-uuid");
    expect_inval(&c, "uuid");

    base_cfg(&c, XO_DOM_PV);
    c.memory_target_kib = c.memory_static_max_kib + 1;
    expect_inval(&c, "memory");

    base_cfg(&c, XO_DOM_PV);
    c.vcpus_at_startup = 5;
    expect_inval(&c, "vcpus");

    base_cfg(&c, XO_DOM_PVH);
    c.kernel[0] = '\0';
    expect_inval(&c, "kernel");

    base_cfg(&c, XO_DOM_PV);
    c.name[0] = '\0';
    expect_inval(&c, "name");

    base_cfg(&c, XO_DOM_PV);
    c.type = (xo_domtype)7;
    expect_inval(&c, "type");

    base_cfg(&c, XO_DOM_HVM);
    snprintf(c.platform[0].key, sizeof(c.platform[0].key), "nx");
    snprintf(c.platform[0].value, sizeof(c.platform[0].value), "maybe");
    c.n_platform = 1;
    expect_inval(&c, "nx");

    base_cfg(&c, XO_DOM_PVH);
    snprintf(c.bootloader, sizeof(c.bootloader), "pygrub");
    expect_inval(&c, "bootloader");

    base_cfg(&c, XO_DOM_PV);
    one_disk(&c, &dk, "/x.img", "floppy");
    expect_inval(&c, "format");

    base_cfg(&c, XO_DOM_PV);
    one_disk(&c, &dk, "", "");
    expect_inval(&c, "target");

    base_cfg(&c, XO_DOM_PV);
    one_nic(&c, &n, "00:16:3e:zz:00:01");
    expect_inval(&c, "MAC");

    base_cfg(&c, XO_DOM_PV);
    one_nic(&c, &n, "01:00:5e:00:00:01");
    expect_inval(&c, "multicast");
}

/* The platform key table: each key lands where libxl reads it, and only for
 * the guest types it means something to (the others ignore it, even junk). */
static void test_platform_per_type(void)
{
    xo_domain_config c;
    libxl_domain_config d;
    xo_error err = { 0 };
    static const char *const kv[][2] = {
        { "localtime", "1" }, { "e820_host", "true" }, { "hap", "junk" }, { "device_model", "qemu" },
        { "vga", "junk" }, { "pvshim", "junk" }, { "serial", "pty" },
    };

    base_cfg(&c, XO_DOM_PV);
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
        snprintf(c.platform[i].key, sizeof(c.platform[i].key), "%s", kv[i][0]);
        snprintf(c.platform[i].value, sizeof(c.platform[i].value), "%s", kv[i][1]);
    }
    c.n_platform = sizeof(kv) / sizeof(kv[0]);
    libxl_domain_config_init(&d);
    CHECK(xx_config_to_libxl(&c, &d, &err) == 0);
    CHECK(libxl_defbool_val(d.b_info.localtime));
    CHECK(libxl_defbool_val(d.b_info.u.pv.e820_host));
    CHECK(libxl_defbool_is_default(d.c_info.hap));
    CHECK(d.b_info.device_model == NULL);
    libxl_domain_config_dispose(&d);

    /* the same keys on an HVM guest: hap is read, and "junk" is refused */
    base_cfg(&c, XO_DOM_HVM);
    c.kernel[0] = c.ramdisk[0] = c.cmdline[0] = '\0';
    snprintf(c.platform[0].key, sizeof(c.platform[0].key), "hap");
    snprintf(c.platform[0].value, sizeof(c.platform[0].value), "junk");
    c.n_platform = 1;
    expect_inval(&c, "hap");
    snprintf(c.platform[0].key, sizeof(c.platform[0].key), "device_model");
    snprintf(c.platform[0].value, sizeof(c.platform[0].value), "qemu-xen");
    libxl_domain_config_init(&d);
    CHECK(xx_config_to_libxl(&c, &d, &err) == 0);
    CHECK(d.b_info.device_model && !strcmp(d.b_info.device_model, "qemu-xen"));
    libxl_domain_config_dispose(&d);
}

static void test_helpers(void)
{
    libxl_mac m;
    char s[18];
    libxl_device_disk disk;
    xo_disk d;
    xo_error err = { 0 };

    CHECK(xx_mac_parse("00:16:3E:aa:bb:0c", &m) == 0);
    xx_mac_format(&m, s);
    CHECK(!strcmp(s, "00:16:3e:aa:bb:0c"));
    CHECK(xx_mac_parse("00:16:3e:aa:bb", &m) == -1);
    CHECK(xx_mac_parse("00:16:3e:aa:bb:0c:11", &m) == -1);
    CHECK(xx_reason_from_libxl(LIBXL_SHUTDOWN_REASON_POWEROFF) == XO_SHUTDOWN_POWEROFF);
    CHECK(xx_reason_from_libxl(LIBXL_SHUTDOWN_REASON_REBOOT) == XO_SHUTDOWN_REBOOT);
    CHECK(xx_reason_from_libxl(LIBXL_SHUTDOWN_REASON_SUSPEND) == XO_SHUTDOWN_SUSPEND);
    CHECK(xx_reason_from_libxl(LIBXL_SHUTDOWN_REASON_CRASH) == XO_SHUTDOWN_CRASH);
    CHECK(xx_reason_from_libxl(LIBXL_SHUTDOWN_REASON_WATCHDOG) == XO_SHUTDOWN_WATCHDOG);
    CHECK(xx_domtype_from_libxl(xx_domtype_to_libxl(XO_DOM_PVH)) == XO_DOM_PVH);
    CHECK(xx_domtype_from_libxl(xx_domtype_to_libxl(XO_DOM_HVM)) == XO_DOM_HVM);
    CHECK(xx_errcode_from_libxl(ERROR_DOMAIN_NOTFOUND) == XO_E_NODOMAIN);
    CHECK(xx_errcode_from_libxl(ERROR_INVAL) == XO_E_INVAL);
    CHECK(xx_errcode_from_libxl(ERROR_FAIL) == XO_E_FAIL);

    memset(&d, 0, sizeof(d));
    snprintf(d.vdev, sizeof(d.vdev), "xvdc");
    snprintf(d.target, sizeof(d.target), "/img.qcow2");
    snprintf(d.format, sizeof(d.format), "qcow2");
    libxl_device_disk_init(&disk);
    CHECK(xx_disk_to_libxl(&d, XO_DOM_PV, &disk, &err) == 0);
    CHECK(disk.format == LIBXL_DISK_FORMAT_QCOW2);
    libxl_device_disk_dispose(&disk);

    /* an empty CD drive needs HVM */
    memset(&d, 0, sizeof(d));
    snprintf(d.vdev, sizeof(d.vdev), "xvdd");
    d.cdrom = true;
    libxl_device_disk_init(&disk);
    CHECK(xx_disk_to_libxl(&d, XO_DOM_PV, &disk, &err) == -1 && err.code == XO_E_INVAL);
    libxl_device_disk_dispose(&disk);
}

/* xen_io.c names a blkback device (vbd-<domid>-<devid>) as the VBD does. */
static void test_vdev_names(void)
{
    static const struct { unsigned long devid; const char *name; } cases[] = {
        { 202UL << 8, "xvda" }, { (202UL << 8) | 1, "xvda1" }, { (202UL << 8) | 16, "xvdb" },
        { (202UL << 8) | 255, "xvdp15" }, { (1UL << 28) | (26UL << 8), "xvdaa" },
        { (1UL << 28) | (27UL << 8) | 2, "xvdab2" }, { 3UL << 8, "hda" }, { (3UL << 8) | 64, "hdb" },
        { 22UL << 8, "hdc" }, { (22UL << 8) | 65, "hdd1" }, { 8UL << 8, "sda" }, { (8UL << 8) | 17, "sdb1" },
    };
    char buf[16];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf[0] = '\0';
        CHECKF(xx_vdev_name(cases[i].devid, buf, sizeof(buf)) && strcmp(buf, cases[i].name) == 0,
               "devid %lu: got %s, want %s", cases[i].devid, buf, cases[i].name);
    }
    CHECK(!xx_vdev_name(9UL << 8, buf, sizeof(buf)));         /* not a disk encoding */
    CHECK(!xx_vdev_name(202UL << 8, buf, 4));                 /* "xvda" does not fit in 4 */
}

int main(void)
{
    test_vdev_names();
    test_pv();
    test_pvh_defaults();
    test_hvm();
    test_rejects();
    test_platform_per_type();
    test_helpers();
    return xtest_done();
}
