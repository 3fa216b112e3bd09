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

/* The live figures of running domains, from the backend. */
static void vm_part(xbuf *b)
{
    xo_dominfo *doms = NULL;
    size_t nd = 0;
    xo_error e = { 0 };
    if (backend_domain_list(&doms, &nd, &e) != 0)
        nd = 0;
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
        for (size_t i = 0; i < nd; i++) {
            xobj *vm = store_find(XCL_VM, doms[i].uuid);
            if (!vm)
                continue;
            xbuf_printf(b, "%s{", live_m[k].name);
            vm_labels(b, vm);
            if (k == 0)
                xbuf_printf(b, "} %.9f\n", (double)doms[i].cpu_time_ns / 1e9);
            else if (k == 1)
                xbuf_printf(b, "} %" PRIu64 "\n", doms[i].memory_kib * 1024);
            else if (k == 2)
                xbuf_printf(b, "} %" PRIu64 "\n", doms[i].target_kib * 1024);
            else
                xbuf_printf(b, "} %u\n", doms[i].vcpus_online);
        }
    }
    free(doms);
}

/* VBD and VIF throughput: the device metrics' last rates (the backends keep
 * no byte counters; KiB/s in the datamodel, bytes/s here). */
typedef struct devm {
    int cls, f_vm, f_device, f_metrics, mcls, f_rate[2];
    const char *name[2], *help[2];
} devm;

static void dev_part(xbuf *b, const devm *d)
{
    for (int k = 0; k < 2; k++) {
        head(b, d->name[k], "gauge", d->help[k]);
        for (xobj *o = store_first(d->cls); o; o = store_next(o)) {
            xobj *vm = store_find(XCL_VM, xobj_str(o, d->f_vm));
            xobj *m = store_find(d->mcls, xobj_str(o, d->f_metrics));
            if (!vm || !m)
                continue;
            xbuf_printf(b, "%s{", d->name[k]);
            vm_labels(b, vm);
            xbuf_puts(b, ",device=");
            label_value(b, xobj_str(o, d->f_device));
            xbuf_printf(b, "} %.6g\n", xobj_double(m, d->f_rate[k]) * 1024);
        }
    }
}

static const devm vbd_m = {
    XCL_VBD, XF_VBD_VM, XF_VBD_device, XF_VBD_metrics, XCL_VBD_metrics,
    { XF_VBD_metrics_io_read_kbs, XF_VBD_metrics_io_write_kbs },
    { "xen_domain_block_read_bytes_per_second", "xen_domain_block_write_bytes_per_second" },
    { "Read from the disk, bytes per second (last sample).", "Written to the disk, bytes per second (last sample)." },
};
static const devm vif_m = {
    XCL_VIF, XF_VIF_VM, XF_VIF_device, XF_VIF_metrics, XCL_VIF_metrics,
    { XF_VIF_metrics_io_read_kbs, XF_VIF_metrics_io_write_kbs },
    { "xen_domain_interface_receive_bytes_per_second", "xen_domain_interface_transmit_bytes_per_second" },
    { "Received by the interface, bytes per second (last sample).",
      "Sent by the interface, bytes per second (last sample)." },
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
    store_rdlock();
    host_part(&b);
    vm_part(&b);
    dev_part(&b, &vbd_m);
    dev_part(&b, &vif_m);
    head(&b, "xen_sessions", "gauge", "Open API sessions.");
    xbuf_printf(&b, "xen_sessions %zu\n", store_count(XCL_session));
    store_unlock();
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
