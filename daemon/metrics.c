/* metrics: Prometheus text exposition of the host, the VMs, the API calls,
 * the event log and the sessions (see metrics.h, docs/metrics.md). */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backend.h"
#include "daemon/event.h"
#include "daemon/metrics.h"
#include "daemon/store.h"
#include "util/xv.h"
#include "xapi_model.h"

/* ---- API calls ---- */

static const double bucket_le[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                    5, 10, 30, 60 };
#define NB (sizeof(bucket_le) / sizeof(bucket_le[0]))

typedef struct mstat {
    uint64_t ok, fail;
    uint64_t bucket[NB];        /* not cumulative: calls of at most le[i] and more than le[i-1] */
    uint64_t sum_ns;
} mstat;

static mstat *stats;            /* xmethods_count + 1 (the last: unknown methods) */
static pthread_once_t stats_once = PTHREAD_ONCE_INIT;

static void stats_init(void)
{
    stats = calloc(xmethods_count + 1, sizeof(*stats));
    if (!stats)
        abort();
}

void metrics_note_call(const xmethod *m, bool ok, double seconds)
{
    pthread_once(&stats_once, stats_init);
    mstat *st = &stats[m ? (size_t)(m - xmethods) : xmethods_count];
    __atomic_add_fetch(ok ? &st->ok : &st->fail, 1, __ATOMIC_RELAXED);
    size_t i = 0;
    while (i < NB && seconds > bucket_le[i])
        i++;
    if (i < NB)
        __atomic_add_fetch(&st->bucket[i], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&st->sum_ns, (uint64_t)(seconds > 0 ? seconds * 1e9 : 0), __ATOMIC_RELAXED);
}

/* ---- writing ---- */

static void head(xbuf *b, const char *name, const char *type, const char *help)
{
    xbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the format asks (backslash, quote, newline). */
static void label_value(xbuf *b, const char *s)
{
    xbuf_add(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '\\')
            xbuf_puts(b, "\\\\");
        else if (*s == '"')
            xbuf_puts(b, "\\\"");
        else if (*s == '\n')
            xbuf_puts(b, "\\n");
        else
            xbuf_add(b, s, 1);
    }
    xbuf_add(b, "\"", 1);
}

static void vm_labels(xbuf *b, const xobj *vm)
{
    xbuf_puts(b, "domain=");
    label_value(b, xobj_str(vm, XF_VM_name_label));
    xbuf_puts(b, ",uuid=");
    label_value(b, xobj_str(vm, XF_VM_uuid));
}

static void host_part(xbuf *b)
{
    head(b, "xen_host_cpus", "gauge", "Physical CPUs of the host.");
    xbuf_printf(b, "xen_host_cpus %zu\n", store_count(XCL_host_cpu));
    head(b, "xen_host_cpu_utilisation_ratio", "gauge", "Busy fraction of each physical CPU (0-1), last sample.");
    for (xobj *c = store_first(XCL_host_cpu); c; c = store_next(c))
        xbuf_printf(b, "xen_host_cpu_utilisation_ratio{cpu=\"%" PRId64 "\"} %.6g\n", xobj_int(c, XF_host_cpu_number),
                    xobj_double(c, XF_host_cpu_utilisation));
    xobj *m = store_first(XCL_host_metrics);
    if (m) {
        head(b, "xen_host_memory_total_bytes", "gauge", "Memory of the host.");
        xbuf_printf(b, "xen_host_memory_total_bytes %" PRId64 "\n", xobj_int(m, XF_host_metrics_memory_total));
        head(b, "xen_host_memory_free_bytes", "gauge", "Memory of the host no domain holds.");
        xbuf_printf(b, "xen_host_memory_free_bytes %" PRId64 "\n", xobj_int(m, XF_host_metrics_memory_free));
    }
}

/* What the backend says of the running domains, read before the store lock
 * is taken (the backend is never called with it held): each domain and the
 * byte counters of its devices. */
typedef struct live {
    xo_dominfo *doms;
    size_t nd;
    xo_dev_io **io;                 /* per domain; NULL: none known */
    size_t *nio;
} live;

static void live_read(live *l)
{
    xo_error e = { 0 };
    memset(l, 0, sizeof(*l));
    if (backend_domain_list(&l->doms, &l->nd, &e) != 0)
        l->nd = 0;
    l->io = calloc(l->nd + 1, sizeof(*l->io));
    l->nio = calloc(l->nd + 1, sizeof(*l->nio));
    if (!l->io || !l->nio)
        abort();
    for (size_t i = 0; i < l->nd; i++)
        if (backend_domain_io(l->doms[i].domid, &l->io[i], &l->nio[i], &e) != 0)
            l->io[i] = NULL, l->nio[i] = 0;
}

static void live_free(live *l)
{
    for (size_t i = 0; i < l->nd; i++)
        free(l->io[i]);
    free(l->io);
    free(l->nio);
    free(l->doms);
}

/* The live figures of running domains. */
static void vm_part(xbuf *b, const live *l)
{
    head(b, "xen_domain_info", "gauge", "One per VM (1), with its power state.");
    for (xobj *vm = store_first(XCL_VM); vm; vm = store_next(vm)) {
        if (xobj_bool(vm, XF_VM_is_a_template))
            continue;
        xbuf_puts(b, "xen_domain_info{");
        vm_labels(b, vm);
        xbuf_puts(b, ",power_state=");
        label_value(b, xobj_str(vm, XF_VM_power_state));
        xbuf_puts(b, "} 1\n");
    }
    static const struct { const char *name, *type, *help; } live_m[] = {
        { "xen_domain_cpu_seconds_total", "counter", "CPU time used by the domain's vCPUs." },
        { "xen_domain_memory_bytes", "gauge", "Memory the domain holds." },
        { "xen_domain_memory_target_bytes", "gauge", "The domain's balloon target." },
        { "xen_domain_vcpus", "gauge", "vCPUs online." },
    };
    for (size_t k = 0; k < sizeof(live_m) / sizeof(live_m[0]); k++) {
        head(b, live_m[k].name, live_m[k].type, live_m[k].help);
        for (size_t i = 0; i < l->nd; i++) {
            const xo_dominfo *d = &l->doms[i];
            xobj *vm = store_find(XCL_VM, d->uuid);
            if (!vm)
                continue;
            xbuf_printf(b, "%s{", live_m[k].name);
            vm_labels(b, vm);
            if (k == 0)
                xbuf_printf(b, "} %.9f\n", (double)d->cpu_time_ns / 1e9);
            else if (k == 1)
                xbuf_printf(b, "} %" PRIu64 "\n", d->memory_kib * 1024);
            else if (k == 2)
                xbuf_printf(b, "} %" PRIu64 "\n", d->target_kib * 1024);
            else
                xbuf_printf(b, "} %u\n", d->vcpus_online);
        }
    }
}

/* VBD and VIF byte counters, from the backend's (xo_dev_io), labelled with
 * the device as the VBD or VIF names it. */
typedef struct devm {
    bool nic;
    int f_vm_set, cls, f_device;
    const char *name[2], *help[2];
} devm;

/* The device of vm that io counts, or NULL. */
static const xobj *io_device(const devm *dm, const xobj *vm, const xo_dev_io *io)
{
    const xv *set = xobj_get(vm, dm->f_vm_set);
    for (size_t i = 0; i < set->u.arr.n; i++) {
        const xobj *o = store_find(dm->cls, set->u.arr.items[i]->u.str.s);
        const char *dev = o ? xobj_str(o, dm->f_device) : "";
        char *end = NULL;
        long id = strtol(dev, &end, 10);
        if (o && (dm->nic ? *dev && !*end && id == io->devid
                          : strncmp(dev, io->vdev, sizeof(io->vdev) - 1) == 0))   /* vdev: the first 15 */
            return o;
    }
    return NULL;
}

static void dev_part(xbuf *b, const devm *dm, const live *l)
{
    for (int k = 0; k < 2; k++) {
        head(b, dm->name[k], "counter", dm->help[k]);
        for (size_t i = 0; i < l->nd; i++) {
            xobj *vm = store_find(XCL_VM, l->doms[i].uuid);
            for (size_t j = 0; vm && j < l->nio[i]; j++) {
                const xo_dev_io *io = &l->io[i][j];
                const xobj *o = io->nic == dm->nic ? io_device(dm, vm, io) : NULL;
                if (!o)
                    continue;
                xbuf_printf(b, "%s{", dm->name[k]);
                vm_labels(b, vm);
                xbuf_puts(b, ",device=");
                label_value(b, xobj_str(o, dm->f_device));
                xbuf_printf(b, "} %" PRIu64 "\n", k == 0 ? io->rd_bytes : io->wr_bytes);
            }
        }
    }
}

static const devm vbd_m = {
    false, XF_VM_VBDs, XCL_VBD, XF_VBD_device,
    { "xen_domain_block_read_bytes_total", "xen_domain_block_write_bytes_total" },
    { "Bytes the guest read from the disk.", "Bytes the guest wrote to the disk." },
};
static const devm vif_m = {
    true, XF_VM_VIFs, XCL_VIF, XF_VIF_device,
    { "xen_domain_interface_receive_bytes_total", "xen_domain_interface_transmit_bytes_total" },
    { "Bytes the guest received on the interface.", "Bytes the guest sent on the interface." },
};

static void api_part(xbuf *b)
{
    pthread_once(&stats_once, stats_init);
    head(b, "xen_api_calls_total", "counter", "API calls answered, by method and result (success or failure).");
    for (size_t i = 0; i <= xmethods_count; i++) {
        const char *name = i < xmethods_count ? xmethods[i].name : "unknown";
        uint64_t ok = __atomic_load_n(&stats[i].ok, __ATOMIC_RELAXED);
        uint64_t fail = __atomic_load_n(&stats[i].fail, __ATOMIC_RELAXED);
        if (ok)
            xbuf_printf(b, "xen_api_calls_total{method=\"%s\",result=\"success\"} %" PRIu64 "\n", name, ok);
        if (fail)
            xbuf_printf(b, "xen_api_calls_total{method=\"%s\",result=\"failure\"} %" PRIu64 "\n", name, fail);
    }
    head(b, "xen_api_call_duration_seconds", "histogram", "Time from a call's request to its answer.");
    for (size_t i = 0; i <= xmethods_count; i++) {
        const char *name = i < xmethods_count ? xmethods[i].name : "unknown";
        uint64_t n = __atomic_load_n(&stats[i].ok, __ATOMIC_RELAXED) +
                     __atomic_load_n(&stats[i].fail, __ATOMIC_RELAXED);
        if (!n)
            continue;
        uint64_t cum = 0;
        for (size_t k = 0; k < NB; k++) {
            cum += __atomic_load_n(&stats[i].bucket[k], __ATOMIC_RELAXED);
            xbuf_printf(b, "xen_api_call_duration_seconds_bucket{method=\"%s\",le=\"%g\"} %" PRIu64 "\n", name,
                        bucket_le[k], cum);
        }
        xbuf_printf(b, "xen_api_call_duration_seconds_bucket{method=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", name, n);
        xbuf_printf(b, "xen_api_call_duration_seconds_sum{method=\"%s\"} %.9f\n", name,
                    (double)__atomic_load_n(&stats[i].sum_ns, __ATOMIC_RELAXED) / 1e9);
        xbuf_printf(b, "xen_api_call_duration_seconds_count{method=\"%s\"} %" PRIu64 "\n", name, n);
    }
}

char *metrics_render(size_t *len_r)
{
    xbuf b;
    xbuf_init(&b);
    head(&b, "xen_up", "gauge", "1: xend answered this scrape.");
    xbuf_puts(&b, "xen_up 1\n");
    live l;
    live_read(&l);
    store_rdlock();
    host_part(&b);
    vm_part(&b, &l);
    dev_part(&b, &vbd_m, &l);
    dev_part(&b, &vif_m, &l);
    head(&b, "xen_sessions", "gauge", "Open API sessions.");
    xbuf_printf(&b, "xen_sessions %zu\n", store_count(XCL_session));
    store_unlock();
    live_free(&l);
    uint64_t entries, cap, waiters;
    events_stats(&entries, &cap, &waiters);
    head(&b, "xen_event_log_entries", "gauge", "Changes held in the event log.");
    xbuf_printf(&b, "xen_event_log_entries %" PRIu64 "\n", entries);
    head(&b, "xen_event_log_capacity", "gauge", "The event log's size (event-log-size).");
    xbuf_printf(&b, "xen_event_log_capacity %" PRIu64 "\n", cap);
    head(&b, "xen_event_waiters", "gauge", "event.next/event.from calls waiting for events.");
    xbuf_printf(&b, "xen_event_waiters %" PRIu64 "\n", waiters);
    api_part(&b);
    return xbuf_steal(&b, len_r);
}
