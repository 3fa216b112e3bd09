/* sim_host: the description of the simulated host. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenops/sim/sim.h"

static void defaults(sim_host *h)
{
    memset(h, 0, sizeof(*h));
    if (gethostname(h->hostname, sizeof(h->hostname) - 1) != 0 || !h->hostname[0])
        snprintf(h->hostname, sizeof(h->hostname), "sim-host");
    snprintf(h->version, sizeof(h->version), "4.17.0-sim");
    snprintf(h->sched, sizeof(h->sched), "credit2");
    h->cpus = 4;
    h->cpu_mhz = 2400;
    h->memory_mib = 8192;
    h->dom0_memory_mib = 1024;
    h->shutdown_delay_ms = 20;
}

static bool num(const char *v, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return false;
    *out = (unsigned)x;
    return true;
}

bool sim_host_load(sim_host *h, const char *path, char *why, size_t why_len)
{
    defaults(h);
    bool nic_given = false;
    if (path) {
        FILE *f = fopen(path, "r");
        if (!f) {
            snprintf(why, why_len, "%s: %s", path, strerror(errno));
            return false;
        }
        char line[512];
        int ln = 0;
        while (fgets(line, sizeof(line), f)) {
            ln++;
            char *p = line + strspn(line, " \t");
            p[strcspn(p, "#\r\n")] = '\0';
            if (!*p)
                continue;
            char *eq = strchr(p, '=');
            if (!eq) {
                snprintf(why, why_len, "%s:%d: expected key = value", path, ln);
                fclose(f);
                return false;
            }
            *eq = '\0';
            char *k = p, *v = eq + 1;
            for (char *e = k + strlen(k); e > k && (e[-1] == ' ' || e[-1] == '\t'); *--e = '\0')
                ;
            v += strspn(v, " \t");
            for (char *e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); *--e = '\0')
                ;
            bool ok = true;
            if (!strcmp(k, "cpus")) ok = num(v, 1, 4096, &h->cpus);
            else if (!strcmp(k, "cpu_mhz")) ok = num(v, 1, 100000, &h->cpu_mhz);
            else if (!strcmp(k, "memory_mib")) ok = num(v, 64, 1u << 30, &h->memory_mib);
            else if (!strcmp(k, "dom0_memory_mib")) ok = num(v, 16, 1u << 30, &h->dom0_memory_mib);
            else if (!strcmp(k, "shutdown_delay_ms")) ok = num(v, 0, 600000, &h->shutdown_delay_ms);
            else if (!strcmp(k, "hostname")) snprintf(h->hostname, sizeof(h->hostname), "%s", v);
            else if (!strcmp(k, "version")) snprintf(h->version, sizeof(h->version), "%s", v);
            else if (!strcmp(k, "sched")) snprintf(h->sched, sizeof(h->sched), "%s", v);
            else if (!strcmp(k, "nic")) {
                if (!nic_given) {
                    h->n_nics = 0;
                    nic_given = true;
                }
                xo_nic_info *n = &h->nics[h->n_nics];
                memset(n, 0, sizeof(*n));
                int got = h->n_nics < SIM_MAX_NICS
                              ? sscanf(v, "%31s %17s %u %63s", n->device, n->mac, &n->mtu, n->bridge) : 0;
                ok = got >= 2;
                if (ok) {
                    if (got < 3)
                        n->mtu = 1500;
                    h->n_nics++;
                }
            } else {
                snprintf(why, why_len, "%s:%d: unknown key '%s'", path, ln, k);
                fclose(f);
                return false;
            }
            if (!ok) {
                snprintf(why, why_len, "%s:%d: bad value '%s' for %s", path, ln, v, k);
                fclose(f);
                return false;
            }
        }
        fclose(f);
    }
    if (h->dom0_memory_mib >= h->memory_mib) {
        snprintf(why, why_len, "dom0_memory_mib must be below memory_mib");
        return false;
    }
    if (!nic_given) {
        xo_nic_info *n = &h->nics[0];
        snprintf(n->device, sizeof(n->device), "eth0");
        snprintf(n->mac, sizeof(n->mac), "00:16:3e:5e:00:01");
        snprintf(n->bridge, sizeof(n->bridge), "xenbr0");
        n->mtu = 1500;
        h->n_nics = 1;
    }
    return true;
}
