/* xen_io: the byte counters of a domain's devices, as dom0's kernel keeps
 * them in sysfs: a nic's backend interface vif<domid>.<devid> (its rx is
 * what the guest sent), a disk's blkback device vbd-<domid>-<devid>
 * (sectors of 512 bytes).  No libxl call: nothing to hold, nothing to fake. */
#include "config.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenops/xen/xen_priv.h"

static bool read_u64(const char *dir, const char *name, const char *attr, uint64_t *v)
{
    char path[512];
    if (snprintf(path, sizeof(path), "%s/%s/statistics/%s", dir, name, attr) >= (int)sizeof(path))
        return false;
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fscanf(f, "%" SCNu64, v) == 1;
    fclose(f);
    return ok;
}

/* "xvda", "hdc", "sdb", "xvdaa" and partitions from a Xen virtual device
 * number (the encodings of Xen's docs/misc/vbd-interface.txt). */
bool xx_vdev_name(unsigned long devid, char *buf, size_t len)
{
    const char *pfx;
    unsigned long disk, part;
    if (devid & (1UL << 28)) {
        pfx = "xvd", disk = (devid >> 8) & 0xfffff, part = devid & 0xff;
    } else {
        unsigned long major = devid >> 8, minor = devid & 0xff;
        if (major == 202)
            pfx = "xvd", disk = minor >> 4, part = minor & 15;
        else if (major == 8)
            pfx = "sd", disk = minor >> 4, part = minor & 15;
        else if (major == 3 || major == 22)
            pfx = "hd", disk = (major == 22 ? 2 : 0) + (minor >> 6), part = minor & 63;
        else
            return false;
    }
    char letters[8];
    size_t n = 0;
    for (unsigned long d = disk + 1; d > 0 && n < sizeof(letters); d = (d - 1) / 26)
        letters[n++] = (char)('a' + (d - 1) % 26);
    int w = snprintf(buf, len, "%s", pfx);
    while (n > 0 && w > 0 && (size_t)w + 1 < len)
        buf[w++] = letters[--n], buf[w] = '\0';
    if (part && w > 0 && (size_t)w < len)
        w += snprintf(buf + w, len - (size_t)w, "%lu", part);
    return n == 0 && w > 0 && (size_t)w < len;
}

static bool add(xo_dev_io **io, size_t *n, size_t *cap, const xo_dev_io *d)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        xo_dev_io *p = realloc(*io, nc * sizeof(*p));
        if (!p)
            return false;
        *io = p, *cap = nc;
    }
    (*io)[(*n)++] = *d;
    return true;
}

int xx_domain_io(xo_backend *b, uint32_t domid, xo_dev_io **io_r, size_t *n_r, xo_error *err)
{
    (void)b;
    static const char *const nets = "/sys/class/net", *const vbds = "/sys/bus/xen-backend/devices";
    xo_dev_io *io = NULL;
    size_t n = 0, cap = 0;
    bool oom = false;
    DIR *dir = opendir(nets);
    for (struct dirent *de; dir && !oom && (de = readdir(dir));) {
        unsigned dom;
        int devid, end = 0;
        /* vif<domid>.<devid> exactly: an HVM guest's emulated twin vif<d>.<n>-emu is not it */
        if (sscanf(de->d_name, "vif%u.%d%n", &dom, &devid, &end) != 2 || de->d_name[end] || dom != domid)
            continue;
        xo_dev_io d = { .nic = true, .devid = devid };
        if (read_u64(nets, de->d_name, "tx_bytes", &d.rd_bytes) &&
            read_u64(nets, de->d_name, "rx_bytes", &d.wr_bytes))
            oom = !add(&io, &n, &cap, &d);
    }
    if (dir)
        closedir(dir);
    dir = opendir(vbds);
    for (struct dirent *de; dir && !oom && (de = readdir(dir));) {
        unsigned dom;
        unsigned long devid;
        int end = 0;
        if (sscanf(de->d_name, "vbd-%u-%lu%n", &dom, &devid, &end) != 2 || de->d_name[end] || dom != domid)
            continue;
        xo_dev_io d = { .nic = false };
        uint64_t rd, wr;
        if (xx_vdev_name(devid, d.vdev, sizeof(d.vdev)) && read_u64(vbds, de->d_name, "rd_sect", &rd) &&
            read_u64(vbds, de->d_name, "wr_sect", &wr)) {
            d.rd_bytes = rd * 512, d.wr_bytes = wr * 512;
            oom = !add(&io, &n, &cap, &d);
        }
    }
    if (dir)
        closedir(dir);
    if (oom) {
        free(io);
        xo_error_set(err, XO_E_FAIL, "out of memory");
        return -1;
    }
    *io_r = io;
    *n_r = n;
    return 0;
}
