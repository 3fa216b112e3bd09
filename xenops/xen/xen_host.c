/* xen_host: host-level ops of the xen backend (physinfo, CPUs, dom0 NICs,
 * the hypervisor console ring, debug keys) and the dom0 probe. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xenops/xen/xen_priv.h"

bool xo_xen_host_is_dom0(void)
{
    char buf[256];
    size_t n;
    FILE *f = fopen("/proc/xen/capabilities", "r");
    xc_interface *xch;
    xc_physinfo_t pi;
    bool ok;

    if (f) {
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        if (strstr(buf, "control_d"))
            return true;
    }
    /* No xenfs mounted: ask the hypervisor; physinfo is a privileged call. */
    if (access("/dev/xen/privcmd", R_OK | W_OK) != 0)
        return false;
    xch = xc_interface_open(NULL, NULL, 0);
    if (!xch)
        return false;
    memset(&pi, 0, sizeof(pi));
    ok = xc_physinfo(xch, &pi) == 0 && pi.nr_cpus > 0;
    xc_interface_close(xch);
    return ok;
}

int xx_host_info(xo_backend *b, xo_host_info *info_r, xo_error *err)
{
    libxl_physinfo pi;
    const libxl_version_info *vi;
    int sched, rc = -1;

    libxl_physinfo_init(&pi);
    memset(info_r, 0, sizeof(*info_r));
    if (XX_LIBXL(b, err, "physinfo", 0, libxl_get_physinfo(b->ctx, &pi)))
        goto out;
    vi = libxl_get_version_info(b->ctx);
    if (!vi) {
        xx_libxl_err(b, err, ERROR_FAIL, "version info", 0);
        goto out;
    }
    if (gethostname(info_r->hostname, sizeof(info_r->hostname) - 1) < 0)
        snprintf(info_r->hostname, sizeof(info_r->hostname), "localhost");
    snprintf(info_r->hypervisor, sizeof(info_r->hypervisor), "Xen");
    snprintf(info_r->version, sizeof(info_r->version), "%d.%d%s", vi->xen_version_major,
             vi->xen_version_minor, vi->xen_version_extra ? vi->xen_version_extra : "");
    snprintf(info_r->capabilities, sizeof(info_r->capabilities), "%s",
             vi->capabilities ? vi->capabilities : "");
    sched = libxl_get_scheduler(b->ctx);
    snprintf(info_r->sched_policy, sizeof(info_r->sched_policy), "%s",
             sched >= 0 ? libxl_scheduler_to_string((libxl_scheduler)sched) : "unknown");
    info_r->total_memory = pi.total_pages * (uint64_t)XC_PAGE_SIZE;
    info_r->free_memory = pi.free_pages * (uint64_t)XC_PAGE_SIZE;
    info_r->nr_cpus = pi.nr_cpus;
    info_r->nr_nodes = pi.nr_nodes;
    info_r->cores_per_socket = pi.cores_per_socket;
    info_r->threads_per_core = pi.threads_per_core;
    info_r->cpu_mhz = pi.cpu_khz / 1000;
    rc = 0;
out:
    libxl_physinfo_dispose(&pi);
    return rc;
}

/* The first processor block of /proc/cpuinfo (dom0 sees the host's CPU
 * model; the hypervisor owns the real count). */
static void xx_cpuinfo_template(xo_cpu_info *t)
{
    char line[4096];
    FILE *f = fopen("/proc/cpuinfo", "r");

    memset(t, 0, sizeof(*t));
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':'), *key = line, *val, *e;
        if (line[0] == '\n')
            break;
        if (!colon)
            continue;
        *colon = '\0';
        val = colon + 1;
        while (*val == ' ')
            val++;
        val[strcspn(val, "\n")] = '\0';
        for (e = colon; e > key && (e[-1] == ' ' || e[-1] == '\t'); e--)
            e[-1] = '\0';
        if (!strcmp(key, "vendor_id"))
            snprintf(t->vendor, sizeof(t->vendor), "%s", val);
        else if (!strcmp(key, "model name"))
            snprintf(t->modelname, sizeof(t->modelname), "%s", val);
        else if (!strcmp(key, "flags"))
            snprintf(t->flags, sizeof(t->flags), "%s", val);
        else if (!strcmp(key, "cpu family"))
            t->family = strtoll(val, NULL, 10);
        else if (!strcmp(key, "model"))
            t->model = strtoll(val, NULL, 10);
        else if (!strcmp(key, "stepping"))
            t->stepping = strtoll(val, NULL, 10);
        else if (!strcmp(key, "cpu MHz"))
            t->speed_mhz = (unsigned)strtod(val, NULL);
    }
    fclose(f);
}

static int64_t xx_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int xx_host_cpus(xo_backend *b, xo_cpu_info **cpus_r, size_t *n_r, xo_error *err)
{
    libxl_physinfo pi;
    xc_cpuinfo_t *ci = NULL;
    xo_cpu_info tmpl, *out = NULL;
    int nr = 0, rc = -1;
    int64_t now;

    libxl_physinfo_init(&pi);
    if (XX_LIBXL(b, err, "physinfo", 0, libxl_get_physinfo(b->ctx, &pi)))
        goto out;
    ci = calloc(pi.max_cpu_id + 1, sizeof(*ci));
    out = calloc(pi.nr_cpus ? pi.nr_cpus : 1, sizeof(*out));
    if (!ci || !out) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        goto out;
    }
    if (xc_getcpuinfo(b->xch, (int)pi.max_cpu_id + 1, ci, &nr) < 0)
        nr = 0;
    now = xx_mono_ns();
    xx_cpuinfo_template(&tmpl);
    if (!tmpl.speed_mhz)
        tmpl.speed_mhz = pi.cpu_khz / 1000;
    pthread_mutex_lock(&b->cpu_lock);
    for (unsigned i = 0; i < pi.nr_cpus; i++) {
        out[i] = tmpl;
        out[i].number = i;
        if ((int)i < nr && b->cpu_idle_prev && (int)i < b->cpu_prev_n
            && now > b->cpu_prev_ns) {
            double wall = (double)(now - b->cpu_prev_ns);
            double idle = (double)(ci[i].idletime - b->cpu_idle_prev[i]);
            double u = 1.0 - idle / wall;
            out[i].utilisation = u < 0 ? 0 : u > 1 ? 1 : u;
        }
    }
    /* remember this sample for the next call's utilisation */
    if (nr > 0) {
        uint64_t *prev = realloc(b->cpu_idle_prev, (size_t)nr * sizeof(*prev));
        if (prev) {
            for (int i = 0; i < nr; i++)
                prev[i] = ci[i].idletime;
            b->cpu_idle_prev = prev;
            b->cpu_prev_n = nr;
            b->cpu_prev_ns = now;
        }
    }
    pthread_mutex_unlock(&b->cpu_lock);
    *cpus_r = out;
    *n_r = pi.nr_cpus;
    out = NULL;
    rc = 0;
out:
    free(out);
    free(ci);
    libxl_physinfo_dispose(&pi);
    return rc;
}

/* bounded copy, truncating */
static void xx_copy(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);

    if (len >= size)
        len = size - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static int xx_read_sysfs(const char *dev, const char *attr, char *buf, size_t len)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "/sys/class/net/%s/%s", dev, attr);
    f = fopen(path, "r");
    if (!f)
        return -1;
    if (!fgets(buf, (int)len, f)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

int xx_host_nics(xo_backend *b, xo_nic_info **nics_r, size_t *n_r, xo_error *err)
{
    DIR *dir = opendir("/sys/class/net");
    struct dirent *de;
    xo_nic_info *out = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;

    (void)b;
    if (!dir) {
        xo_error_set(err, XO_E_FAIL, "/sys/class/net: %s", strerror(errno));
        goto out;
    }
    while ((de = readdir(dir))) {
        char buf[256], link[512], target[512];
        ssize_t l;
        xo_nic_info *ni;

        if (de->d_name[0] == '.' || !strcmp(de->d_name, "lo"))
            continue;
        /* guests' backend interfaces are not host NICs */
        if (!strncmp(de->d_name, "vif", 3) || !strncmp(de->d_name, "tap", 3))
            continue;
        if (n == cap) {
            xo_nic_info *nv = realloc(out, (cap ? cap * 2 : 8) * sizeof(*out));
            if (!nv) {
                xo_error_set(err, XO_E_FAIL, "out of memory");
                goto out;
            }
            out = nv;
            cap = cap ? cap * 2 : 8;
        }
        ni = &out[n++];
        memset(ni, 0, sizeof(*ni));
        xx_copy(ni->device, sizeof(ni->device), de->d_name);
        if (xx_read_sysfs(de->d_name, "address", buf, sizeof(buf)) == 0)
            xx_copy(ni->mac, sizeof(ni->mac), buf);
        if (xx_read_sysfs(de->d_name, "mtu", buf, sizeof(buf)) == 0)
            ni->mtu = (unsigned)strtoul(buf, NULL, 10);
        snprintf(link, sizeof(link), "/sys/class/net/%s/brport/bridge", de->d_name);
        l = readlink(link, target, sizeof(target) - 1);
        if (l > 0) {
            target[l] = '\0';
            const char *base = strrchr(target, '/');
            xx_copy(ni->bridge, sizeof(ni->bridge), base ? base + 1 : target);
        }
    }
    *nics_r = out ? out : calloc(1, sizeof(*out));
    if (!*nics_r) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        goto out;
    }
    *n_r = n;
    out = NULL;
    rc = 0;
out:
    free(out);
    if (dir)
        closedir(dir);
    return rc;
}

int xx_host_dmesg(xo_backend *b, char **text_r, bool clear, xo_error *err)
{
    unsigned size = 1u << 20;
    char *buf = malloc(size + 1);
    int rc = -1;

    if (!buf) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        goto out;
    }
    xx_log_clear();
    if (xc_readconsolering(b->xch, buf, &size, clear ? 1 : 0, 0, NULL) < 0) {
        xx_libxl_err(b, err, ERROR_FAIL, "read the hypervisor console ring", 0);
        goto out;
    }
    buf[size] = '\0';
    *text_r = buf;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    return rc;
}

int xx_host_send_debug_keys(xo_backend *b, const char *keys, xo_error *err)
{
    char *k = strdup(keys ? keys : "");
    int rc = -1;

    if (!k) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        goto out;
    }
    if (!*k) {
        xo_error_set(err, XO_E_INVAL, "no debug keys given");
        goto out;
    }
    rc = XX_LIBXL(b, err, "send debug keys", 0, libxl_send_debug_keys(b->ctx, k));
out:
    free(k);
    return rc;
}
