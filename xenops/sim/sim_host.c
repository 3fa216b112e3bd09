/* sim: the host description file (docs/sim-backend.md) and the host ops. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xenops/sim/sim_priv.h"

/* ---- host description ---- */

void sim_host_defaults(sim_host *h)
{
    *h = (sim_host){
        .cpus = 4,
        .cpu_mhz = 2400,
        .memory_mib = 8192,
        .dom0_memory_mib = 1024,
        .hostname = "xend-sim",
        .version = "4.17.0-sim",
        .shutdown_delay_ms = 20,
    };
}

char *sim_trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

bool sim_parse_num(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
    char *end;
    unsigned long long x;

    if (!isdigit((unsigned char)*s))
        return false;
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno || *end || x < min || x > max)
        return false;
    *v = x;
    return true;
}

int sim_host_load(sim_host *h, const char *path, xo_error *err)
{
    FILE *f = fopen(path, "re");
    char line[1024];
    int lineno = 0, rc = -1;
    bool nics_given = false;

    if (!f) {
        xo_error_set(err, XO_E_INVAL, "sim host description %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *key, *val, *eq;
        uint64_t v;
        bool ok = true;

        lineno++;
        key = sim_trim(line);
        if (!*key || *key == '#')
            continue;
        eq = strchr(key, '=');
        if (!eq) {
            xo_error_set(err, XO_E_INVAL, "%s:%d: expected key = value", path, lineno);
            goto out;
        }
        *eq = '\0';
        key = sim_trim(key);
        val = sim_trim(eq + 1);
        if (strcmp(key, "cpus") == 0) {
            ok = sim_parse_num(val, 1, 4096, &v);
            h->cpus = (unsigned)v;
        } else if (strcmp(key, "cpu_mhz") == 0) {
            ok = sim_parse_num(val, 1, 100000, &v);
            h->cpu_mhz = (unsigned)v;
        } else if (strcmp(key, "memory_mib") == 0) {
            ok = sim_parse_num(val, 64, UINT64_C(1) << 32, &v);
            h->memory_mib = v;
        } else if (strcmp(key, "dom0_memory_mib") == 0) {
            ok = sim_parse_num(val, 0, UINT64_C(1) << 32, &v);
            h->dom0_memory_mib = v;
        } else if (strcmp(key, "shutdown_delay_ms") == 0) {
            ok = sim_parse_num(val, 0, 3600000, &v);
            h->shutdown_delay_ms = (unsigned)v;
        } else if (strcmp(key, "boot_files") == 0) {
            ok = strcmp(val, "open") == 0 || strcmp(val, "ignore") == 0;
            h->boot_files = strcmp(val, "open") == 0;
        } else if (strcmp(key, "hostname") == 0) {
            ok = *val && strlen(val) < sizeof(h->hostname);
            snprintf(h->hostname, sizeof(h->hostname), "%s", val);
        } else if (strcmp(key, "version") == 0) {
            ok = *val && strlen(val) < sizeof(h->version);
            snprintf(h->version, sizeof(h->version), "%s", val);
        } else if (strcmp(key, "nic") == 0) {
            xo_nic_info *n;
            char dev[32], mac[18], bridge[64] = "";
            unsigned mtu;
            int got;
            if (!nics_given) {
                h->n_nics = 0;
                nics_given = true;
            }
            if (h->n_nics >= SIM_MAX_HOST_NICS) {
                xo_error_set(err, XO_E_INVAL, "%s:%d: too many nics", path, lineno);
                goto out;
            }
            got = sscanf(val, "%31s %17s %u %63s", dev, mac, &mtu, bridge);
            ok = got >= 3 && sim_mac_valid(mac) && mtu >= 68 && mtu <= 65535;
            if (ok) {
                n = &h->nics[h->n_nics++];
                snprintf(n->device, sizeof(n->device), "%s", dev);
                snprintf(n->mac, sizeof(n->mac), "%s", mac);
                n->mtu = mtu;
                snprintf(n->bridge, sizeof(n->bridge), "%s", got == 4 ? bridge : "");
            }
        } else {
            xo_error_set(err, XO_E_INVAL, "%s:%d: unknown key '%s'", path, lineno, key);
            goto out;
        }
        if (!ok) {
            xo_error_set(err, XO_E_INVAL, "%s:%d: bad value for %s", path, lineno, key);
            goto out;
        }
    }
    if (h->dom0_memory_mib >= h->memory_mib) {
        xo_error_set(err, XO_E_INVAL, "%s: dom0_memory_mib must be below memory_mib", path);
        goto out;
    }
    rc = 0;
out:
    fclose(f);
    return rc;
}

void sim_host_default_nic(sim_host *h)
{
    xo_nic_info *n = &h->nics[0];

    snprintf(n->device, sizeof(n->device), "eth0");
    snprintf(n->mac, sizeof(n->mac), "00:16:3e:00:00:01");
    n->mtu = 1500;
    snprintf(n->bridge, sizeof(n->bridge), "xenbr0");
    h->n_nics = 1;
}

void sim_boot_log(xo_backend *b)
{
    const sim_host *h = &b->host;

    sim_dmesg_add(b, "(XEN) Xen version %s (xend sim backend)", h->version);
    sim_dmesg_add(b, "(XEN) Command line: dom0_mem=%" PRIu64 "M", h->dom0_memory_mib);
    sim_dmesg_add(b, "(XEN) System RAM: %" PRIu64 "MB", h->memory_mib);
    sim_dmesg_add(b, "(XEN) Brought up %u CPUs", h->cpus);
    sim_dmesg_add(b, "(XEN) Using scheduler: SMP Credit Scheduler rev2 (credit2)");
    sim_dmesg_add(b, "(XEN) *** LOADING DOMAIN 0 ***");
    sim_dmesg_add(b, "(XEN) Dom0 has maximum %u VCPUs", h->cpus);
    sim_dmesg_add(b, "(XEN) Scrubbing Free RAM: done.");
}

/* ---- host ops ---- */

int sim_host_info(xo_backend *b, xo_host_info *info, xo_error *err)
{
    memset(info, 0, sizeof(*info));
    pthread_mutex_lock(&b->lock);
    snprintf(info->hostname, sizeof(info->hostname), "%s", b->host.hostname);
    snprintf(info->hypervisor, sizeof(info->hypervisor), "sim");
    snprintf(info->version, sizeof(info->version), "%s", b->host.version);
    snprintf(info->capabilities, sizeof(info->capabilities),
             "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64");
    snprintf(info->sched_policy, sizeof(info->sched_policy), "credit2");
    info->total_memory = b->host.memory_mib * 1024 * 1024;
    info->free_memory = sim_free_kib(b) * 1024;
    info->nr_cpus = b->host.cpus;
    info->nr_nodes = 1;
    info->cores_per_socket = b->host.cpus;
    info->threads_per_core = 1;
    info->cpu_mhz = b->host.cpu_mhz;
    pthread_mutex_unlock(&b->lock);
    return 0;
}

int sim_host_cpus(xo_backend *b, xo_cpu_info **cpus_r, size_t *n_r, xo_error *err)
{
    xo_cpu_info *c;
    unsigned n;
    unsigned *load;
    int rc = -1;

    pthread_mutex_lock(&b->lock);
    n = b->host.cpus;
    c = calloc(n, sizeof(*c));
    load = calloc(n, sizeof(*load));
    if (!c || !load) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        free(c);
        goto out;
    }
    /* vCPU v of domain d runs on pCPU (d + v) % n, each a quarter busy. */
    for (size_t i = 0; i < b->n_doms; i++) {
        const sim_dom *d = b->doms[i];
        if (d->state != XO_STATE_RUNNING)
            continue;
        for (unsigned v = 0; v < d->vcpus_online; v++)
            load[(d->domid + v) % n]++;
    }
    for (unsigned i = 0; i < n; i++) {
        c[i].number = i;
        snprintf(c[i].vendor, sizeof(c[i].vendor), "GenuineIntel");
        snprintf(c[i].modelname, sizeof(c[i].modelname), "Simulated Xeon CPU @ %u.%02uGHz",
                 b->host.cpu_mhz / 1000, (b->host.cpu_mhz % 1000) / 10);
        snprintf(c[i].flags, sizeof(c[i].flags),
                 "fpu de tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat clflush mmx fxsr "
                 "sse sse2 ht syscall nx lm constant_tsc pni vmx ssse3 sse4_1 sse4_2 popcnt "
                 "aes hypervisor");
        snprintf(c[i].features, sizeof(c[i].features), "bfebfbff-77fefbff-2c100800-00000121");
        c[i].speed_mhz = b->host.cpu_mhz;
        c[i].family = 6;
        c[i].model = 85;
        c[i].stepping = 4;
        c[i].utilisation = load[i] >= 4 ? 1.0 : load[i] * 0.25;
    }
    *cpus_r = c;
    *n_r = n;
    rc = 0;
out:
    pthread_mutex_unlock(&b->lock);
    free(load);
    return rc;
}

int sim_host_nics(xo_backend *b, xo_nic_info **nics_r, size_t *n_r, xo_error *err)
{
    xo_nic_info *n;

    pthread_mutex_lock(&b->lock);
    n = calloc(b->host.n_nics ? b->host.n_nics : 1, sizeof(*n));
    if (!n) {
        pthread_mutex_unlock(&b->lock);
        xo_error_set(err, XO_E_FAIL, "out of memory");
        return -1;
    }
    memcpy(n, b->host.nics, b->host.n_nics * sizeof(*n));
    *n_r = b->host.n_nics;
    *nics_r = n;
    pthread_mutex_unlock(&b->lock);
    return 0;
}

int sim_host_dmesg(xo_backend *b, char **text_r, bool clear, xo_error *err)
{
    char *t;

    pthread_mutex_lock(&b->lock);
    t = strdup(b->dmesg ? b->dmesg : "");
    if (t && clear) {
        free(b->dmesg);
        b->dmesg = NULL;
        b->dmesg_len = 0;
    }
    pthread_mutex_unlock(&b->lock);
    if (!t) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        return -1;
    }
    *text_r = t;
    return 0;
}

int sim_host_send_debug_keys(xo_backend *b, const char *keys, xo_error *err)
{
    if (!keys || !*keys) {
        xo_error_set(err, XO_E_INVAL, "no debug keys given");
        return -1;
    }
    pthread_mutex_lock(&b->lock);
    for (const char *k = keys; *k; k++) {
        if (isprint((unsigned char)*k))
            sim_dmesg_add(b, "(XEN) '%c' pressed -> simulated debug key handler", *k);
    }
    pthread_mutex_unlock(&b->lock);
    return 0;
}
