/* xm: list, uptime, vcpu-list, sched-credit, domid, domname. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "xm/cmds.h"
#include "xm/xm.h"

#define MiB (1024 * 1024)

/* The frame of the listing commands, after their options: every VM with
 * its metrics for run (with the arguments after the options), freed after. */
typedef int (*vms_fn)(xen_session *s, xm_vms *v, int argc, char **argv, void *ctx);

static int on_vms(int argc, char **argv, vms_fn run, void *ctx)
{
    xm_vms v;
    xen_session *s = xm_session();
    if (!xm_vms_fetch(s, &v))
        return XM_EXIT_FAIL;
    int rc = run(s, &v, argc, argv, ctx);
    xm_vms_free(&v);
    return rc;
}

static int64_t mem_mib(const xm_vmrow *r)
{
    if (xm_vm_live(r->vm) && r->metrics && r->metrics->memory_actual > 0)
        return r->metrics->memory_actual / MiB;
    return r->vm->memory_dynamic_max / MiB;
}

static int64_t vcpus(const xm_vmrow *r)
{
    if (xm_vm_live(r->vm) && r->metrics && r->metrics->vcpus_number > 0)
        return r->metrics->vcpus_number;
    return r->vm->vcpus_at_startup;
}

/* xm 4.4 over Xen-API: the average of the VCPUs' utilisation. */
static double cpu_time(const xm_vmrow *r)
{
    const xen_int_float_map *u = r->metrics ? r->metrics->vcpus_utilisation : NULL;
    if (!u || !u->size || !xm_vm_live(r->vm))
        return 0.0;
    double sum = 0;
    for (size_t i = 0; i < u->size; i++)
        sum += u->contents[i].val;
    return sum / (double)u->size;
}

static const char *power_name(enum xen_vm_power_state p)
{
    return xen_vm_power_state_to_string(p);
}

/* --state takes a power state or one of xend's state words. */
static bool state_matches(const xm_vmrow *r, const char *want)
{
    if (strcasecmp(power_name(r->vm->power_state), want) == 0)
        return true;
    char st[7];
    xm_state_string(r, st);
    static const char *const names[6] = { "running", "blocked", "paused", "shutdown", "crashed", "dying" };
    for (int i = 0; i < 6; i++)
        if (strcasecmp(names[i], want) == 0)
            return st[0] && st[i] != '-';
    return false;
}

static const char *on_normal(enum xen_on_normal_exit a) { return xen_on_normal_exit_to_string(a); }

/* on_crash values as xend's SXP spelt them (rename-restart, coredump-destroy). */
static char *on_crash_sxp(enum xen_on_crash_behaviour a)
{
    char *s = xm_strdup(xen_on_crash_behaviour_to_string(a));
    if (strncmp(s, "coredump_and_", 13) == 0)
        memmove(s + 8, s + 12, strlen(s + 12) + 1);     /* coredump_and_x -> coredump_x */
    for (char *p = s; *p; p++)
        if (*p == '_')
            *p = '-';
    return s;
}

/* Device records for -l, fetched only then. */
typedef struct devs {
    xen_vbd_xen_vbd_record_map *vbds;
    xen_vif_xen_vif_record_map *vifs;
    xen_vdi_xen_vdi_record_map *vdis;
    xen_network_xen_network_record_map *nets;
} devs;

static const char *vdi_location(const devs *d, const char *ref)
{
    for (size_t i = 0; d->vdis && i < d->vdis->size; i++)
        if (strcmp(d->vdis->contents[i].key, ref) == 0) {
            const xen_vdi_record *v = d->vdis->contents[i].val;
            const char *loc = xm_map_get(v->other_config, "location");
            return loc ? loc : v->name_label;
        }
    return "";
}

static const char *net_name(const devs *d, const char *ref)
{
    for (size_t i = 0; d->nets && i < d->nets->size; i++)
        if (strcmp(d->nets->contents[i].key, ref) == 0) {
            const char *b = xm_map_get(d->nets->contents[i].val->other_config, "bridge");
            return b && *b ? b : d->nets->contents[i].val->name_label;
        }
    return "";
}

/* Whether a device's VM reference is the handle of this VM. */
static bool names_vm(const xen_vm_record_opt *vm, const char *handle)
{
    return vm && !vm->is_record && strcmp(vm->u.handle, handle) == 0;
}

static int status_code(enum xen_vm_power_state p)
{
    switch (p) {
    case XEN_VM_POWER_STATE_HALTED: return 0;
    case XEN_VM_POWER_STATE_PAUSED: return 1;
    case XEN_VM_POWER_STATE_RUNNING: return 2;
    case XEN_VM_POWER_STATE_SUSPENDED: return 3;
    default: return 6;
    }
}

static sxp *vbd_sxp(const xen_vbd_record *b, const devs *d)
{
    sxp *vbd = sxp_list("vbd");
    sxp_kv(vbd, "uuid", b->uuid);
    sxp_kv(vbd, "uname",
           b->vdi && !b->vdi->is_record && b->vdi->u.handle ? vdi_location(d, b->vdi->u.handle)
                                                            : "");
    sxp_kvf(vbd, "dev", "%s:%s", b->device, b->type == XEN_VBD_TYPE_CD ? "cdrom" : "disk");
    sxp_kv(vbd, "mode", b->mode == XEN_VBD_MODE_RW ? "w" : "r");
    sxp_kv(vbd, "bootable", b->bootable ? "1" : "0");
    return vbd;
}

static sxp *vif_sxp(const xen_vif_record *v, const devs *d)
{
    sxp *vif = sxp_list("vif");
    sxp_kv(vif, "uuid", v->uuid);
    sxp_kv(vif, "mac", v->mac);
    sxp_kv(vif, "bridge",
           v->network && !v->network->is_record && v->network->u.handle
               ? net_name(d, v->network->u.handle)
               : "");
    sxp_kvf(vif, "mtu", "%" PRId64, v->mtu);
    sxp_kv(vif, "vifname", v->device);
    return vif;
}

/* The domain's SXP as xend 4.4's to_sxp(legacy_only) produced it (§2.4). */
static sxp *vm_sxp(const xm_vmrow *row, const devs *d)
{
    const xen_vm_record *r = row->vm;
    sxp *x = sxp_list("domain");
    if (xm_vm_live(r))
        sxp_kvf(x, "domid", "%" PRId64, r->domid);
    const char *w = xm_map_get(r->vcpus_params, "weight"), *cap = xm_map_get(r->vcpus_params, "cap");
    sxp_kv(x, "cpu_weight", w ? w : "256");
    sxp_kv(x, "cpu_cap", cap ? cap : "0");
    sxp_kv(x, "uuid", r->uuid);
    sxp_kvf(x, "vcpus", "%" PRId64, r->vcpus_max);
    sxp_kv(x, "name", r->name_label);
    sxp_kv(x, "on_poweroff", on_normal(r->actions_after_shutdown));
    sxp_kv(x, "on_reboot", on_normal(r->actions_after_reboot));
    char *oc = on_crash_sxp(r->actions_after_crash);
    sxp_kv(x, "on_crash", oc);
    free(oc);
    sxp_kv_set(x, "bootloader", r->pv_bootloader);
    sxp_kv_set(x, "bootloader_args", r->pv_bootloader_args);
    sxp_kv_set(x, "description", r->name_description);
    sxp_kvf(x, "maxmem", "%" PRId64, r->memory_static_max / MiB);
    sxp_kvf(x, "memory", "%" PRId64, r->memory_dynamic_max / MiB);
    if (row->metrics && xm_vm_live(r)) {
        sxp_kvf(x, "online_vcpus", "%" PRId64, row->metrics->vcpus_number);
        sxp_kvf(x, "start_time", "%lld", (long long)row->metrics->start_time);
        sxp_kvf(x, "cpu_time", "%.1f", cpu_time(row));
    }
    sxp *image;
    if (*r->hvm_boot_policy) {
        image = sxp_list("hvm");
        const char *order = xm_map_get(r->hvm_boot_params, "order");
        sxp_kv(image, "boot", order ? order : "c");
    } else {
        image = sxp_list("linux");
        sxp_kv_set(image, "kernel", r->pv_kernel);
        sxp_kv_set(image, "ramdisk", r->pv_ramdisk);
        sxp_kv_set(image, "args", r->pv_args);
    }
    for (size_t i = 0; r->platform && i < r->platform->size; i++)
        sxp_kv(image, r->platform->contents[i].key, r->platform->contents[i].val);
    sxp_add(x, sxp_add(sxp_list("image"), image));
    sxp_kvf(x, "status", "%d", status_code(r->power_state));
    char st[7];
    xm_state_string(row, st);
    sxp_kv_set(x, "state", st);
    for (size_t i = 0; d && d->vbds && i < d->vbds->size; i++)
        if (names_vm(d->vbds->contents[i].val->vm, r->handle))
            sxp_add(x, sxp_add(sxp_list("device"), vbd_sxp(d->vbds->contents[i].val, d)));
    for (size_t i = 0; d && d->vifs && i < d->vifs->size; i++)
        if (names_vm(d->vifs->contents[i].val->vm, r->handle))
            sxp_add(x, sxp_add(sxp_list("device"), vif_sxp(d->vifs->contents[i].val, d)));
    return x;
}

static void devs_free(devs *d)
{
    xen_vbd_xen_vbd_record_map_free(d->vbds);
    xen_vif_xen_vif_record_map_free(d->vifs);
    xen_vdi_xen_vdi_record_map_free(d->vdis);
    xen_network_xen_network_record_map_free(d->nets);
}

static int cmp_label(const void *a, const void *b)
{
    const xm_vmrow *const *x = a, *const *y = b;
    int c = strcmp((*x)->vm->security_label, (*y)->vm->security_label);
    return c ? c : strcmp((*x)->vm->name_label, (*y)->vm->name_label);
}

typedef struct list_opts {
    bool lng, label, names;
    const char *state;
} list_opts;

static int list_vms(xen_session *s, xm_vms *v, int argc, char **argv, void *ctx)
{
    const list_opts *o = ctx;
    bool lng = o->lng, label = o->label, names = o->names;
    const char *state = o->state;
    int rc = XM_EXIT_OK;
    /* the rows to print, in order */
    xm_vmrow **sel = xm_alloc((v->n + (size_t)argc) * sizeof(xm_vmrow *));
    size_t n = 0;
    if (optind < argc) {
        for (int i = optind; i < argc; i++) {
            xm_vmrow *r = xm_vms_find(v, argv[i]);
            if (!r) {
                rc = xm_err(XM_EXIT_NOTFOUND, "no VM is named '%s'.", argv[i]);
                continue;
            }
            sel[n++] = r;
        }
    } else {
        for (size_t i = 0; i < v->n; i++)
            sel[n++] = &v->rows[i];
    }
    if (state) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (state_matches(sel[i], state))
                sel[k++] = sel[i];
        n = k;
    }
    if (label)
        qsort(sel, n, sizeof(*sel), cmp_label);

    if (names) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", sel[i]->vm->name_label);
    } else if (lng) {
        devs d = { 0 };
        if (!xen_vbd_get_all_records(s, &d.vbds) || !xen_vif_get_all_records(s, &d.vifs) ||
            !xen_vdi_get_all_records(s, &d.vdis) || !xen_network_get_all_records(s, &d.nets)) {
            rc = xm_fail(s);
        } else {
            for (size_t i = 0; i < n; i++) {
                sxp *x = vm_sxp(sel[i], &d);
                sxp_pretty(x, stdout);
                sxp_free(x);
            }
        }
        devs_free(&d);
    } else {
        /* xend 4.4: "%-40s %5s %5s %5s %10s %9s", the name column widened
         * for longer names */
        int nw = 40;
        for (size_t i = 0; i < n; i++) {
            int l = (int)strlen(sel[i]->vm->name_label);
            if (l > nw)
                nw = l;
        }
        printf("%-*s %5s %5s %5s %10s %9s%s\n", nw, "Name", "ID", "Mem", "VCPUs", "State", "Time(s)",
               label ? " Label" : "");
        for (size_t i = 0; i < n; i++) {
            const xm_vmrow *r = sel[i];
            char id[24] = "", st[7];
            if (xm_vm_live(r->vm))
                snprintf(id, sizeof(id), "%" PRId64, r->vm->domid);
            xm_state_string(r, st);
            printf("%-*s %5s %5" PRId64 " %5" PRId64 " %10s %8.1f", nw, r->vm->name_label, id, mem_mib(r),
                   vcpus(r), st, cpu_time(r));
            if (label)
                printf("  %s", *r->vm->security_label ? r->vm->security_label : "INACTIVE");
            putchar('\n');
        }
    }
    free(sel);
    return rc;
}

int xm_cmd_list(int argc, char **argv)
{
    bool lng = false, label = false, names = false, verbose = false;
    const char *state = NULL;
    const xm_optdef defs[] = { { 'l', "long", &lng, NULL },
                               { 0, "label", &label, NULL },
                               { 0, "state", NULL, &state },
                               { 0, "names", &names, NULL },
                               { 'v', "verbose", &verbose, NULL }, /* accepted; changes nothing */
                               { 0, NULL, NULL, NULL } };
    if (!xm_options(argc, argv, true, defs))
        return xm_usage("list", "bad option");
    list_opts o = { lng, label, names, state };
    return on_vms(argc, argv, list_vms, &o);
}

/* Whether the command line names row r (after the options), or no VM. */
static bool named(xm_vms *v, const xm_vmrow *r, int argc, char **argv)
{
    bool want = optind >= argc;
    for (int k = optind; k < argc && !want; k++)
        want = xm_vms_find(v, argv[k]) == r;
    return want;
}

/* "[N day[s], ]HH:MM:SS" */
static void fmt_uptime(int64_t secs, char *buf, size_t n)
{
    if (secs < 0)
        secs = 0;
    int64_t days = secs / 86400, h = secs % 86400 / 3600, m = secs % 3600 / 60, s = secs % 60;
    if (days)
        snprintf(buf, n, "%" PRId64 " day%s, %2" PRId64 ":%02" PRId64 ":%02" PRId64, days,
                 days == 1 ? "" : "s", h, m, s);
    else
        snprintf(buf, n, "%2" PRId64 ":%02" PRId64 ":%02" PRId64, h, m, s);
}

typedef struct bool_opt {
    bool set;
} bool_opt;

static int uptime_vms(xen_session *s, xm_vms *v, int argc, char **argv, void *ctx)
{
    bool shrt = ((const bool_opt *)ctx)->set;
    int rc = XM_EXIT_OK;
    time_t now = time(NULL);
    if (!shrt)
        printf("%-33s %4s %s\n", "Name", "ID", "Uptime");
    for (size_t i = 0; i < v->n; i++) {
        const xm_vmrow *r = &v->rows[i];
        if (!xm_vm_live(r->vm) || !named(v, r, argc, argv))
            continue;
        char up[64];
        fmt_uptime(r->metrics && r->metrics->start_time ? (int64_t)(now - r->metrics->start_time) : 0,
                   up, sizeof(up));
        if (shrt) {
            struct tm tm;
            localtime_r(&now, &tm);
            printf(" %02d:%02d:%02d up %s, %s (%" PRId64 ")\n", tm.tm_hour, tm.tm_min, tm.tm_sec, up,
                   r->vm->name_label, r->vm->domid);
        } else {
            printf("%-33s %4" PRId64 " %s\n", r->vm->name_label, r->vm->domid, up);
        }
    }
    for (int k = optind; k < argc; k++) {
        const xm_vmrow *r = xm_vms_find(v, argv[k]);
        if (!r)
            rc = xm_err(XM_EXIT_NOTFOUND, "no VM is named '%s'.", argv[k]);
        else if (!xm_vm_live(r->vm))
            rc = xm_err(XM_EXIT_FAIL, "VM '%s' is not running.", argv[k]);
    }
    return rc;
}

int xm_cmd_uptime(int argc, char **argv)
{
    bool shrt;
    if (!xm_flag_option(argc, argv, "+s", "short", &shrt))
        return xm_usage("uptime", "bad option");
    bool_opt o = { shrt };
    return on_vms(argc, argv, uptime_vms, &o);
}

/* "0,1,2,3,5" -> "0-3,5"; all of the host's n CPUs -> "any cpu". */
static void fmt_affinity(const char *map, int64_t ncpus, char *out, size_t n)
{
    bool seen[1024] = { false };
    int64_t count = 0;
    const char *p = map;
    while (p && *p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (v >= 0 && v < 1024 && !seen[v]) {
            seen[v] = true;
            count++;
        }
        p = *end == ',' ? end + 1 : end;
    }
    if (!map || !*map || (count == ncpus && count > 0)) {
        snprintf(out, n, "any cpu");
        return;
    }
    if (!count) {
        snprintf(out, n, "no cpus");
        return;
    }
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < 1024; i++) {
        if (!seen[i])
            continue;
        int j = i;
        while (j + 1 < 1024 && seen[j + 1])
            j++;
        len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%d", len ? "," : "", i);
        if (j > i)
            len += (size_t)snprintf(out + len, len < n ? n - len : 0, "-%d", j);
        i = j;
    }
}

static int64_t host_cpu_count(xen_session *s)
{
    struct xen_host_cpu_set *cpus = NULL;
    if (!xen_host_cpu_get_all(s, &cpus)) {
        xen_session_clear_error(s);
        return 0;
    }
    int64_t n = (int64_t)cpus->size;
    xen_host_cpu_set_free(cpus);
    return n;
}

static int vcpu_list_vms(xen_session *s, xm_vms *v, int argc, char **argv, void *ctx)
{
    (void)ctx;
    int64_t ncpus = host_cpu_count(s);
    int rc = XM_EXIT_OK;
    printf("%-32s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)", "CPU Affinity");
    for (size_t i = 0; i < v->n; i++) {
        const xm_vmrow *r = &v->rows[i];
        if (!named(v, r, argc, argv))
            continue;
        if (!xm_vm_live(r->vm) || !r->metrics)
            continue;
        for (int64_t vc = 0; vc < r->vm->vcpus_max; vc++) {
            int64_t cpu = -1;
            double util = 0;
            bool online = vc < r->metrics->vcpus_number, running = false;
            for (size_t k = 0; r->metrics->vcpus_cpu && k < r->metrics->vcpus_cpu->size; k++)
                if (r->metrics->vcpus_cpu->contents[k].key == vc)
                    cpu = r->metrics->vcpus_cpu->contents[k].val;
            for (size_t k = 0; r->metrics->vcpus_utilisation && k < r->metrics->vcpus_utilisation->size; k++)
                if (r->metrics->vcpus_utilisation->contents[k].key == vc)
                    util = r->metrics->vcpus_utilisation->contents[k].val;
            for (size_t k = 0; r->metrics->vcpus_flags && k < r->metrics->vcpus_flags->size; k++)
                if (r->metrics->vcpus_flags->contents[k].key == vc) {
                    const xen_string_set *f = r->metrics->vcpus_flags->contents[k].val;
                    for (size_t j = 0; f && j < f->size; j++) {
                        if (strcmp(f->contents[j], "offline") == 0)
                            online = false;
                        if (strcmp(f->contents[j], "online") == 0)
                            online = true;
                        if (strcmp(f->contents[j], "running") == 0)
                            running = true;
                    }
                }
            char key[32], aff[256], cpus[24], state[4];
            snprintf(key, sizeof(key), "cpumap%" PRId64, vc);
            const char *map = xm_map_get(r->vm->vcpus_params, key);
            fmt_affinity(map, ncpus, aff, sizeof(aff));
            if (online && cpu >= 0)
                snprintf(cpus, sizeof(cpus), "%" PRId64, cpu);
            else
                snprintf(cpus, sizeof(cpus), "-");
            if (!online)
                snprintf(state, sizeof(state), "--p");
            else
                snprintf(state, sizeof(state), "%c%c-", running ? 'r' : '-',
                         running || r->vm->power_state == XEN_VM_POWER_STATE_PAUSED ? '-' : 'b');
            printf("%-32s %5" PRId64 " %5" PRId64 " %5s %5s %9.1f %s\n", r->vm->name_label, r->vm->domid, vc,
                   cpus, state, util, aff);
        }
    }
    for (int k = optind; k < argc; k++)
        if (!xm_vms_find(v, argv[k]))
            rc = xm_err(XM_EXIT_NOTFOUND, "no VM is named '%s'.", argv[k]);
    return rc;
}

int xm_cmd_vcpu_list(int argc, char **argv)
{
    if (getopt(argc, argv, "+") != -1)
        return xm_usage("vcpu-list", "bad option");
    return on_vms(argc, argv, vcpu_list_vms, NULL);
}

typedef struct sched_opts {
    const char *dom, *weight, *cap;
    int64_t wv, cv;
} sched_opts;

static int sched_credit_vms(xen_session *s, xm_vms *v, int argc, char **argv, void *ctx)
{
    const sched_opts *o = ctx;
    const char *dom = o->dom, *weight = o->weight, *cap = o->cap;
    int64_t wv = o->wv, cv = o->cv;
    int rc = XM_EXIT_OK;
    const xm_vmrow *target = NULL;
    if (dom && !(target = xm_vms_find(v, dom))) {
        return xm_err(XM_EXIT_NOTFOUND, "no VM is named '%s'.", dom);
    }
    if (weight || cap) {
        bool live = xm_vm_live(target->vm);
        const char *keys[2] = { weight ? "weight" : NULL, cap ? "cap" : NULL };
        const char *vals[2] = { weight, cap };
        for (int i = 0; i < 2 && rc == XM_EXIT_OK; i++) {
            if (!keys[i])
                continue;
            char num[24];
            snprintf(num, sizeof(num), "%" PRId64, i ? cv : wv);
            (void)vals;
            bool ok = live ? xen_vm_add_to_vcpus_params_live(s, target->vm->handle, keys[i], num)
                           : xen_vm_add_to_vcpus_params(s, target->vm->handle, keys[i], num);
            if (!ok)
                rc = xm_fail(s);
        }
        return rc;
    }
    printf("%-33s %4s %6s %4s\n", "Name", "ID", "Weight", "Cap");
    for (size_t i = 0; i < v->n; i++) {
        const xm_vmrow *r = &v->rows[i];
        if ((target && r != target) || (!target && !xm_vm_live(r->vm)))
            continue;
        const xen_string_string_map *p = r->vm->vcpus_params;
        const char *w = xm_map_get(p, "weight"), *cp = xm_map_get(p, "cap");
        char id[24] = "";
        if (xm_vm_live(r->vm))
            snprintf(id, sizeof(id), "%" PRId64, r->vm->domid);
        printf("%-33s %4s %6s %4s\n", r->vm->name_label, id, w ? w : "256", cp ? cp : "0");
    }
    return rc;
}

int xm_cmd_sched_credit(int argc, char **argv)
{
    const char *dom = NULL, *weight = NULL, *cap = NULL;
    const xm_optdef defs[] = { { 'd', "domain", NULL, &dom },
                               { 'w', "weight", NULL, &weight },
                               { 'c', "cap", NULL, &cap },
                               { 0, NULL, NULL, NULL } };
    if (!xm_options(argc, argv, true, defs))
        return xm_usage("sched-credit", "bad option");
    if (optind < argc)
        return xm_usage("sched-credit", "unexpected argument '%s'", argv[optind]);
    int64_t wv = 0, cv = 0;
    if (weight && (!xm_parse_int(weight, &wv) || wv < 1 || wv > 65535))
        return xm_usage("sched-credit", "the weight must be 1 to 65535, not '%s'", weight);
    if (cap && (!xm_parse_int(cap, &cv) || cv > 6400))
        return xm_usage("sched-credit", "the cap must be 0 to 6400, not '%s'", cap);
    if ((weight || cap) && !dom)
        return xm_usage("sched-credit", "-w and -c need -d DOM");
    sched_opts o = { dom, weight, cap, wv, cv };
    return on_vms(argc, argv, sched_credit_vms, &o);
}

static int print_domid(xen_session *s, xen_vm vm, char **args, void *ctx)
{
    (void)args;
    (void)ctx;
    int64_t id;
    enum xen_vm_power_state ps;
    if (!xen_vm_get_domid(s, &id, vm) || !xen_vm_get_power_state(s, &ps, vm))
        return xm_fail(s);
    if (id < 0 || ps == XEN_VM_POWER_STATE_HALTED || ps == XEN_VM_POWER_STATE_SUSPENDED)
        printf("None\n");
    else
        printf("%" PRId64 "\n", id);
    return XM_EXIT_OK;
}

static int print_name(xen_session *s, xen_vm vm, char **args, void *ctx)
{
    (void)args;
    (void)ctx;
    char *name = NULL;
    int rc = XM_EXIT_OK;
    if (!xen_vm_get_name_label(s, &name, vm))
        rc = xm_fail(s);
    else
        printf("%s\n", name);
    free(name);
    return rc;
}

static int domid_or_name(int argc, char **argv, xm_vm_fn print)
{
    if (getopt(argc, argv, "+") != -1)
        return xm_usage(argv[0], "expected one VM");
    return xm_on_vm(argc, argv, 1, 1, "one VM", print, NULL);
}

int xm_cmd_domid(int argc, char **argv) { return domid_or_name(argc, argv, print_domid); }
int xm_cmd_domname(int argc, char **argv) { return domid_or_name(argc, argv, print_name); }
