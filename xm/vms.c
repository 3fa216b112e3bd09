/* xm: every VM with its metrics, for the listing commands. */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "xm/xm.h"

const char *xm_map_get(const xen_string_string_map *map, const char *key)
{
    for (size_t i = 0; map && i < map->size; i++)
        if (strcmp(map->contents[i].key, key) == 0)
            return map->contents[i].val;
    return NULL;
}

bool xm_vm_live(const xen_vm_record *r)
{
    return r->domid >= 0 && (r->power_state == XEN_VM_POWER_STATE_RUNNING ||
                             r->power_state == XEN_VM_POWER_STATE_PAUSED);
}

static int cmp_metrics(const void *a, const void *b)
{
    const xen_vm_metrics_xen_vm_metrics_record_map_contents *x = a, *y = b;
    return strcmp(x->key, y->key);
}

static int cmp_rows(const void *a, const void *b)
{
    const xm_vmrow *x = a, *y = b;
    bool lx = xm_vm_live(x->vm), ly = xm_vm_live(y->vm);
    if (lx != ly)
        return lx ? -1 : 1;
    if (lx && x->vm->domid != y->vm->domid)
        return x->vm->domid < y->vm->domid ? -1 : 1;
    int c = strcmp(x->vm->name_label, y->vm->name_label);
    return c ? c : strcmp(x->vm->uuid, y->vm->uuid);
}

#define XM_RECORDS_PER_CALL 32

bool xm_vms_fetch(xen_session *s, xm_vms *v)
{
    memset(v, 0, sizeof(*v));
    if (!xen_vm_get_all_records(s, &v->vms)) {
        xm_fail(s);
        xm_vms_free(v);
        return false;
    }
    /* Only VMs with a domain have live metrics.  One call each, or every
     * VM's metrics record in one reply: a round trip costs about as much as
     * decoding XM_RECORDS_PER_CALL metrics records (bench/xm: 50 of 10,000
     * VMs running, one call each was 0.3 s faster than the one reply). */
    size_t live = 0;
    for (size_t i = 0; i < v->vms->size; i++)
        live += xm_vm_live(v->vms->contents[i].val);
    bool ok;
    if (live * XM_RECORDS_PER_CALL < v->vms->size) {
        v->metrics = xen_vm_metrics_xen_vm_metrics_record_map_alloc(live);
        v->metrics->size = 0;
        ok = true;
        for (size_t i = 0; i < v->vms->size && ok; i++) {
            const xen_vm_record *r = v->vms->contents[i].val;
            if (!xm_vm_live(r) || !r->metrics || r->metrics->is_record || !*r->metrics->u.handle)
                continue;
            xen_vm_metrics_record *m = NULL;
            if (xen_vm_metrics_get_record(s, &m, r->metrics->u.handle)) {
                v->metrics->contents[v->metrics->size].key = xm_strdup(r->metrics->u.handle);
                v->metrics->contents[v->metrics->size++].val = m;
            } else if (s->error_description_count && strcmp(s->error_description[0], "HANDLE_INVALID") == 0) {
                xen_session_clear_error(s);     /* the VM halted meanwhile: no live metrics */
            } else {
                ok = false;
            }
        }
    } else {
        ok = xen_vm_metrics_get_all_records(s, &v->metrics);
    }
    if (!ok) {
        xm_fail(s);
        xm_vms_free(v);
        return false;
    }
    /* the map is ours: sort it in place to look metrics up by ref */
    qsort(v->metrics->contents, v->metrics->size, sizeof(v->metrics->contents[0]), cmp_metrics);
    v->rows = xm_alloc((v->vms->size + 1) * sizeof(xm_vmrow));
    for (size_t i = 0; i < v->vms->size; i++) {
        xen_vm_record *r = v->vms->contents[i].val;
        xm_vmrow *row = &v->rows[v->n++];
        row->vm = r;
        if (r->metrics && !r->metrics->is_record && r->metrics->u.handle) {
            xen_vm_metrics_xen_vm_metrics_record_map_contents key = { .key = r->metrics->u.handle };
            xen_vm_metrics_xen_vm_metrics_record_map_contents *m =
                bsearch(&key, v->metrics->contents, v->metrics->size, sizeof(key), cmp_metrics);
            row->metrics = m ? m->val : NULL;
        }
    }
    qsort(v->rows, v->n, sizeof(xm_vmrow), cmp_rows);
    return true;
}

void xm_vms_free(xm_vms *v)
{
    xen_vm_xen_vm_record_map_free(v->vms);
    xen_vm_metrics_xen_vm_metrics_record_map_free(v->metrics);
    free(v->rows);
    memset(v, 0, sizeof(*v));
}

xm_vmrow *xm_vms_find(xm_vms *v, const char *dom)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->rows[i].vm->name_label, dom) == 0)
            return &v->rows[i];
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->rows[i].vm->uuid, dom) == 0)
            return &v->rows[i];
    int64_t domid;
    if (xm_parse_int(dom, &domid))
        for (size_t i = 0; i < v->n; i++)
            if (xm_vm_live(v->rows[i].vm) && v->rows[i].vm->domid == domid)
                return &v->rows[i];
    return NULL;
}

static bool has_flag(const xen_string_set *set, const char *flag)
{
    for (size_t i = 0; set && i < set->size; i++)
        if (strcmp(set->contents[i], flag) == 0)
            return true;
    return false;
}

void xm_state_string(const xm_vmrow *r, char out[7])
{
    out[0] = '\0';
    if (!xm_vm_live(r->vm))
        return;
    static const char *const names[6] = { "running", "blocked", "paused", "shutdown", "crashed", "dying" };
    const xen_string_set *st = r->metrics ? r->metrics->state : NULL;
    for (int i = 0; i < 6; i++) {
        bool set = has_flag(st, names[i]);
        /* without metrics the power state says as much */
        if (!st || !st->size)
            set = (i == 0 && r->vm->power_state == XEN_VM_POWER_STATE_RUNNING) ||
                  (i == 2 && r->vm->power_state == XEN_VM_POWER_STATE_PAUSED);
        out[i] = set ? names[i][0] : '-';
    }
    out[6] = '\0';
}
