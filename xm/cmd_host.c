/* xm: info, dmesg, log. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xm/cmds.h"
#include "xm/xm.h"

/* The host this session is on. */
static xen_host this_host(xen_session *s)
{
    xen_host h = NULL;
    if (!xen_session_get_this_host(s, &h, s)) {
        xm_fail(s);
        return NULL;
    }
    return h;
}

typedef struct kv {
    const char *key;
    char *val;
} kv;

static int cmp_kv_desc(const void *a, const void *b)
{
    return -strcmp(((const kv *)a)->key, ((const kv *)b)->key);
}

int xm_cmd_info(int argc, char **argv)
{
    if (getopt(argc, argv, "+") != -1 || optind < argc)
        return xm_usage("info", "no arguments expected");
    xen_session *s = xm_session();
    xen_host h = this_host(s);
    if (!h)
        return XM_EXIT_FAIL;
    int rc = XM_EXIT_OK;
    xen_host_record *hr = NULL;
    xen_host_metrics_record *m = NULL;
    xen_host_cpu_record *cpu0 = NULL;
    if (!xen_host_get_record(s, &hr, h) ||
        (hr->metrics && !hr->metrics->is_record && !xen_host_metrics_get_record(s, &m, hr->metrics->u.handle)) ||
        (hr->host_cpus && hr->host_cpus->size && !hr->host_cpus->contents[0]->is_record &&
         !xen_host_cpu_get_record(s, &cpu0, hr->host_cpus->contents[0]->u.handle))) {
        rc = xm_fail(s);
        goto out;
    }
    const xen_string_string_map *sv = hr->software_version, *cc = hr->cpu_configuration,
                                *oc = hr->other_config;
#define SV(k) xm_strdup(xm_map_get(sv, k))
    size_t ncaps = 0;
    for (size_t i = 0; hr->capabilities && i < hr->capabilities->size; i++)
        ncaps += strlen(hr->capabilities->contents[i]) + 1;
    char *caps = xm_alloc(ncaps + 1);
    for (size_t i = 0; hr->capabilities && i < hr->capabilities->size; i++) {
        if (i)
            strcat(caps, " ");
        strcat(caps, hr->capabilities->contents[i]);
    }
    /* the keys xm 4.4 printed over Xen-API, in its (reverse) order */
    kv info[] = {
        { "host", xm_strdup(hr->name_label) },
        { "release", SV("release") },
        { "version", SV("version") },
        { "machine", SV("machine") },
        { "nr_cpus", xm_strdup(xm_map_get(cc, "nr_cpus") ? xm_map_get(cc, "nr_cpus")
                               : "") },
        { "nr_nodes", xm_strdup(xm_map_get(cc, "nr_nodes")) },
        { "cores_per_socket", xm_strdup(xm_map_get(cc, "cores_per_socket")) },
        { "threads_per_core", xm_strdup(xm_map_get(cc, "threads_per_core")) },
        { "cpu_mhz", cpu0 ? xm_printf("%" PRId64, cpu0->speed) : xm_strdup("") },
        { "hw_caps", xm_strdup(cpu0 ? cpu0->features : "") },
        { "total_memory", m ? xm_printf("%" PRId64, m->memory_total / (1024 * 1024)) : xm_strdup("") },
        { "free_memory", m ? xm_printf("%" PRId64, m->memory_free / (1024 * 1024)) : xm_strdup("") },
        { "xen_major", SV("xen_major") },
        { "xen_minor", SV("xen_minor") },
        { "xen_extra", SV("xen_extra") },
        { "xen_caps", caps },
        { "xen_scheduler", xm_strdup(hr->sched_policy) },
        { "xen_pagesize", xm_strdup(xm_map_get(oc, "xen_pagesize")) },
        { "platform_params", xm_strdup(xm_map_get(oc, "platform_params")) },
        { "xen_commandline", xm_strdup(xm_map_get(oc, "xen_commandline")) },
        { "xen_changeset", SV("xen_changeset") },
        { "cc_compiler", SV("cc_compiler") },
        { "cc_compile_by", SV("cc_compile_by") },
        { "cc_compile_domain", SV("cc_compile_domain") },
        { "cc_compile_date", SV("cc_compile_date") },
        { "xend_config_format", SV("xend_config_format") },
    };
#undef SV
    size_t n = sizeof(info) / sizeof(info[0]);
    qsort(info, n, sizeof(kv), cmp_kv_desc);
    for (size_t i = 0; i < n; i++) {
        printf("%-23s: %s\n", info[i].key, *info[i].val ? info[i].val : "(none)");
        free(info[i].val);
    }
out:
    xen_host_cpu_record_free(cpu0);
    xen_host_metrics_record_free(m);
    xen_host_record_free(hr);
    xen_host_free(h);
    return rc;
}

/* Print the text a host call returns (dmesg, log). */
static int print_host_text(bool (*call)(xen_session *, char **, xen_host))
{
    xen_session *s = xm_session();
    xen_host h = this_host(s);
    if (!h)
        return XM_EXIT_FAIL;
    char *text = NULL;
    int rc = XM_EXIT_OK;
    if (!call(s, &text, h))
        rc = xm_fail(s);
    else
        fputs(text, stdout);
    free(text);
    xen_host_free(h);
    return rc;
}

int xm_cmd_dmesg(int argc, char **argv)
{
    bool clear;
    if (!xm_flag_option(argc, argv, "+c", "clear", &clear))
        return xm_usage("dmesg", "bad option");
    if (optind < argc)
        return xm_usage("dmesg", "unexpected argument '%s'", argv[optind]);
    return print_host_text(clear ? xen_host_dmesg_clear : xen_host_dmesg);
}

int xm_cmd_log(int argc, char **argv)
{
    if (getopt(argc, argv, "+") != -1 || optind < argc)
        return xm_usage("log", "no arguments expected");
    return print_host_text(xen_host_get_log);
}
