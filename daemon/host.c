/* host: the host-side objects, built from the backend. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "daemon/backend.h"
#include "daemon/host.h"
#include "daemon/store.h"
#include "util/log.h"
#include "xapi_model.h"


static char the_host_ref[XREF_LEN];
static char the_metrics_ref[XREF_LEN];

const char *host_ref(void) { return the_host_ref; }

/* A stable uuid derived from base and tag (FNV-1a based, v4/variant bits set),
 * so objects discovered from the host keep their refs across restarts. */
static void derive_uuid(const char *base, const char *tag, char *out)
{
    uint64_t h1 = 1469598103934665603ULL, h2 = 0x9e3779b97f4a7c15ULL;
    const char *parts[] = { base, tag };
    for (size_t p = 0; p < 2; p++) {
        for (const char *s = parts[p]; *s; s++) {
            h1 = (h1 ^ (unsigned char)*s) * 1099511628211ULL;
            h2 = (h2 ^ (unsigned char)*s) * 0x100000001b3ULL + 7;
        }
    }
    unsigned char b[16];
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(h1 >> (i * 8));
        b[8 + i] = (unsigned char)(h2 >> (i * 8));
    }
    xuuid_mark_v4(b);
    xuuid_format(b, out);
}

/* The host uuid is kept in <state_dir>/host-uuid. */
static bool load_host_uuid(const char *state_dir, char *out, char **err_r)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/host-uuid", state_dir);
    FILE *f = fopen(path, "r");
    if (f) {
        char buf[64] = "";
        if (fgets(buf, sizeof(buf), f))
            buf[strcspn(buf, "\r\n")] = '\0';
        fclose(f);
        if (xuuid_valid(buf)) {
            snprintf(out, XREF_LEN, "%s", buf);
            return true;
        }
        xlog(XLOG_WARNING, "%s is corrupt; making a new host uuid", path);
    }
    xuuid_generate(out);
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dprintf(fd, "%s\n", out) < 0 || fsync(fd) != 0 || close(fd) != 0 ||
        rename(tmp, path) != 0) {
        if (asprintf(err_r, "cannot write %s: %s", path, strerror(errno)) < 0)
            *err_r = NULL;
        return false;
    }
    return true;
}

/* Find the object with uuid, or make and insert a new one. */
/* A field's first value, for an object made by find_or_make. */
typedef struct field_init {
    int field;
    xv *v;
} field_init;

/* The object of cls with uuid; made when missing, its fields in init (up
 * to one whose v is NULL; NULL: none) set first.  init's values are used
 * or freed. */
static xobj *find_or_make_with(int cls, const char *uuid, field_init *init)
{
    xobj *o = store_find(cls, uuid);
    bool make = !o;
    if (make)
        o = xobj_new(cls, uuid);
    for (; init && init->v; init++) {
        if (make) {
            xv_free(o->f[init->field]);
            o->f[init->field] = init->v;
        } else {
            xv_free(init->v);
        }
    }
    if (make)
        store_insert(o);
    return o;
}

static xobj *find_or_make(int cls, const char *uuid)
{
    return find_or_make_with(cls, uuid, NULL);
}

/* The uuid (out: XREF_LEN) of the host's object named by the tag fmt. */
static void host_uuid(const xobj *host, char *out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void host_uuid(const xobj *host, char *out, const char *fmt, ...)
{
    char tag[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tag, sizeof(tag), fmt, ap);
    va_end(ap);
    derive_uuid(host->ref, tag, out);
}

static void set_map(xobj *o, int field, const char *const *kv)
{
    xv *m = xv_struct();
    for (; kv[0]; kv += 2)
        xv_struct_set(m, kv[0], xv_str(kv[1]));
    if (!xv_equal(m, o->f[field]))
        xobj_set(o, field, m);
    else
        xv_free(m);
}

static void set_strings(xobj *o, int field, const char *spaced)
{
    xv *a = xv_array();
    char *copy = strdup(spaced), *save = NULL;
    if (!copy)
        abort();
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
        xv_array_add(a, xv_str(t));
    free(copy);
    if (!xv_equal(a, o->f[field]))
        xobj_set(o, field, a);
    else
        xv_free(a);
}

static void setup_nics(xobj *host)
{
    xo_nic_info *nics = NULL;
    size_t n = 0;
    xo_error e = { 0 };
    if (backend_host_nics(&nics, &n, &e) != 0) {
        xlog(XLOG_WARNING, "backend lists no host NICs: %s", e.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char net_uuid[XREF_LEN], pif_uuid[XREF_LEN], pm_uuid[XREF_LEN];
        const char *bridge = nics[i].bridge[0] ? nics[i].bridge : nics[i].device;
        host_uuid(host, net_uuid, "network/%s", bridge);
        host_uuid(host, pif_uuid, "pif/%s", nics[i].device);
        host_uuid(host, pm_uuid, "pif_metrics/%s", nics[i].device);

        xv *net_other = xv_struct();
        xv_struct_set(net_other, "bridge", xv_str(bridge));
        xobj *net = find_or_make_with(XCL_network, net_uuid, (field_init[]){
            { XF_network_name_label, xv_str(bridge) },
            { XF_network_name_description, xv_strf("bridge %s", bridge) },
            { XF_network_other_config, net_other },
            { 0, NULL } });
        xobj *pm = find_or_make(XCL_PIF_metrics, pm_uuid);
        xobj_set(pm, XF_PIF_metrics_last_updated, xv_datetime_t(time(NULL)));
        xobj *pif = find_or_make_with(XCL_PIF, pif_uuid, (field_init[]){
            { XF_PIF_network, xv_str(net->ref) },
            { XF_PIF_host, xv_str(host->ref) },
            { XF_PIF_VLAN, xv_int(-1) },
            { 0, NULL } });
        xobj_set_str(pif, XF_PIF_device, nics[i].device);
        xobj_set_str(pif, XF_PIF_MAC, nics[i].mac);
        xobj_set_int(pif, XF_PIF_MTU, nics[i].mtu ? nics[i].mtu : 1500);
        xobj_set_str(pif, XF_PIF_metrics, pm->ref);
    }
    free(nics);
}

static void setup_cpus(xobj *host)
{
    xo_cpu_info *cpus = NULL;
    size_t n = 0;
    xo_error e = { 0 };
    if (backend_host_cpus(&cpus, &n, &e) != 0) {
        xlog(XLOG_WARNING, "backend lists no host CPUs: %s", e.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char uuid[XREF_LEN];
        host_uuid(host, uuid, "cpu/%u", cpus[i].number);
        xobj *c = find_or_make_with(XCL_host_cpu, uuid, (field_init[]){
            { XF_host_cpu_host, xv_str(host->ref) }, { 0, NULL } });
        xobj_set_int(c, XF_host_cpu_number, cpus[i].number);
        xobj_set_str(c, XF_host_cpu_vendor, cpus[i].vendor);
        xobj_set_int(c, XF_host_cpu_speed, cpus[i].speed_mhz);
        xobj_set_str(c, XF_host_cpu_modelname, cpus[i].modelname);
        char step[32];
        snprintf(step, sizeof(step), "%lld", (long long)cpus[i].stepping);
        xobj_set_str(c, XF_host_cpu_stepping, step);
        xobj_set_str(c, XF_host_cpu_flags, cpus[i].flags);
        xobj_set_str(c, XF_host_cpu_features, cpus[i].features);
        xobj_set_double(c, XF_host_cpu_utilisation, cpus[i].utilisation);
    }
    free(cpus);
}

static void setup_dom0(xobj *host)
{
    const char *uuid = "00000000-0000-0000-0000-000000000000";
    char mref[XREF_LEN];
    derive_uuid(host->ref, "vm_metrics/dom0", mref);
    xobj *m = find_or_make(XCL_VM_metrics, mref);
    xobj *vm = store_find(XCL_VM, uuid);
    if (!vm) {
        vm = xobj_new(XCL_VM, uuid);
        store_insert(vm);
    }
    xo_dominfo di = { 0 };
    xo_error e = { 0 };
    bool have = backend_domain_info(0, &di, &e) == 0;
    xobj_set_str(vm, XF_VM_name_label, "Domain-0");
    xobj_set_str(vm, XF_VM_name_description, "the control domain");
    xobj_set_str(vm, XF_VM_power_state, xenums[XE_vm_power_state].values[XEV_vm_power_state_Running]);
    xobj_set_int(vm, XF_VM_domid, 0);
    xobj_set_bool(vm, XF_VM_is_control_domain, true);
    xobj_set_str(vm, XF_VM_resident_on, host->ref);
    xobj_set_str(vm, XF_VM_metrics, m->ref);
    if (!*xobj_str(vm, XF_VM_pool_name))
        xobj_set_str(vm, XF_VM_pool_name, "Pool-0");   /* VM_DEFAULT_POOL (daemon/api/vm.h) */
    if (have) {
        xobj_set_int(vm, XF_VM_memory_static_max, (int64_t)di.max_memory_kib * 1024);
        xobj_set_int(vm, XF_VM_memory_dynamic_max, (int64_t)di.target_kib * 1024);
        xobj_set_int(vm, XF_VM_memory_dynamic_min, (int64_t)di.target_kib * 1024);
        xobj_set_int(vm, XF_VM_memory_static_min, (int64_t)di.target_kib * 1024);
        xobj_set_int(vm, XF_VM_VCPUs_max, di.vcpus_max);
        xobj_set_int(vm, XF_VM_VCPUs_at_startup, di.vcpus_online);
        xobj_set_int(m, XF_VM_metrics_memory_actual, (int64_t)di.memory_kib * 1024);
        xobj_set_int(m, XF_VM_metrics_VCPUs_number, di.vcpus_online);
        if (di.start_time)
            xobj_set(m, XF_VM_metrics_start_time, xv_datetime_t(di.start_time));
    }
    xobj_set(m, XF_VM_metrics_last_updated, xv_datetime_t(time(NULL)));
}

static void refresh_locked(void)
{
    xobj *host = store_find(XCL_host, the_host_ref);
    xobj *hm = store_find(XCL_host_metrics, the_metrics_ref);
    if (!host || !hm)
        return;
    xo_host_info hi = { 0 };
    xo_error e = { 0 };
    if (backend_host_info(&hi, &e) != 0) {
        xlog(XLOG_WARNING, "host_info: %s", e.msg);
        return;
    }
    xobj_set_int(hm, XF_host_metrics_memory_total, (int64_t)hi.total_memory);
    xobj_set_int(hm, XF_host_metrics_memory_free, (int64_t)hi.free_memory);
    xobj_set(hm, XF_host_metrics_last_updated, xv_datetime_t(time(NULL)));
}

void host_refresh(void)
{
    store_wrlock();
    refresh_locked();
    store_unlock();
}

bool host_setup(const char *state_dir, char **err_r)
{
    char uuid[XREF_LEN], tag[XREF_LEN];
    if (!load_host_uuid(state_dir, uuid, err_r))
        return false;
    xo_host_info hi = { 0 };
    xo_error e = { 0 };
    if (backend_host_info(&hi, &e) != 0) {
        if (asprintf(err_r, "backend %s: host_info: %s", backend_name(), e.msg) < 0)
            *err_r = NULL;
        return false;
    }
    struct utsname un;
    uname(&un);
    store_wrlock();
    xobj *host = store_find(XCL_host, uuid);
    if (!host) {
        host = xobj_new(XCL_host, uuid);
        xv_free(host->f[XF_host_name_label]);
        host->f[XF_host_name_label] = xv_str(hi.hostname);
        store_insert(host);
    }
    snprintf(the_host_ref, sizeof(the_host_ref), "%s", host->ref);
    derive_uuid(uuid, "host_metrics", tag);
    xobj *hm = find_or_make(XCL_host_metrics, tag);
    snprintf(the_metrics_ref, sizeof(the_metrics_ref), "%s", hm->ref);

    xobj_set_int(host, XF_host_API_version_major, 1);
    xobj_set_int(host, XF_host_API_version_minor, 0);
    xobj_set_str(host, XF_host_API_version_vendor, "xenbits");
    xobj_set_bool(host, XF_host_enabled, true);
    char cpus[16], nodes[16], cores[16], threads[16];
    snprintf(cpus, sizeof(cpus), "%u", hi.nr_cpus);
    snprintf(nodes, sizeof(nodes), "%u", hi.nr_nodes);
    snprintf(cores, sizeof(cores), "%u", hi.cores_per_socket);
    snprintf(threads, sizeof(threads), "%u", hi.threads_per_core);
    const char *sv[] = { "Xen", hi.version, "xend", PACKAGE_VERSION, "system", un.sysname,
                         "release", un.release, "machine", un.machine, "host_name", hi.hostname,
                         "hypervisor", hi.hypervisor, NULL };
    set_map(host, XF_host_software_version, sv);
    const char *cc[] = { "nr_cpus", cpus, "nr_nodes", nodes, "cores_per_socket", cores,
                         "threads_per_core", threads, NULL };
    set_map(host, XF_host_cpu_configuration, cc);
    set_strings(host, XF_host_capabilities, hi.capabilities);
    xobj_set_str(host, XF_host_sched_policy, hi.sched_policy);
    set_strings(host, XF_host_supported_bootloaders, "pygrub");
    xobj_set_str(host, XF_host_metrics, hm->ref);
    refresh_locked();
    setup_cpus(host);
    setup_nics(host);
    setup_dom0(host);

    /* the one pool, whose master is this host */
    derive_uuid(uuid, "pool", tag);
    xobj *pool = store_find(XCL_pool, tag);
    if (!pool) {
        pool = xobj_new(XCL_pool, tag);
        store_insert(pool);
    }
    xobj_set_str(pool, XF_pool_master, host->ref);
    store_unlock();
    xlog(XLOG_INFO, "host %s (%s %s): %u CPUs, %llu MiB", hi.hostname, hi.hypervisor, hi.version,
         hi.nr_cpus, (unsigned long long)(hi.total_memory >> 20));
    return true;
}
