/* Live changes to a running VM: vCPUs, memory, scheduler parameters,
 * sysrq and triggers. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backend.h"
#include "daemon/api/vm.h"
#include "daemon/host.h"
#include "daemon/persist.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

/* ---- vCPUs ---- */

static bool vcpus_prepare(vm_ctx *c, xerr **errp)
{
    const int64_t *n = c->arg;
    if (*n < 1 || *n > xobj_int(c->vm, XF_VM_VCPUs_max)) {
        char v[32];
        snprintf(v, sizeof(v), "%" PRId64, *n);
        return xerr_VALUE_NOT_SUPPORTED(errp, "nvcpu", v, "must be between 1 and VCPUs_max");
    }
    return true;
}

static bool vcpus_act(vm_ctx *c, xerr **errp)
{
    (void)errp;
    const int64_t *n = c->arg;
    return backend_domain_set_vcpus((uint32_t)c->domid, (unsigned)*n, &c->err) == 0;
}

static void vcpus_commit(vm_ctx *c)
{
    const int64_t *n = c->arg;
    if (!c->vm)
        return;
    xobj_set_int(c->vm, XF_VM_VCPUs_at_startup, *n);
    xobj *m = store_find(XCL_VM_metrics, xobj_str(c->vm, XF_VM_metrics));
    if (m)
        xobj_set_int(m, XF_VM_metrics_VCPUs_number, *n);
}

static const vm_op op_set_vcpus = {
    .name = "VM.set_VCPUs_number_live", .states = VM_LIVE,
    .prepare = vcpus_prepare, .act = vcpus_act, .commit = vcpus_commit,
};

bool xh_VM_set_VCPUs_number_live(xcall *call, const char *self, int64_t nvcpu, xerr **errp)
{
    return vm_op_run(&op_set_vcpus, call, self, &nvcpu, errp);
}

/* ---- memory ---- */

typedef struct memory {
    int field;                  /* XF_VM_memory_dynamic_max or _min */
    int64_t value;
    int64_t target;             /* the balloon target: dynamic_max */
} memory;

static bool memory_prepare(vm_ctx *c, xerr **errp)
{
    memory *m = c->arg;
    const xobj *o = c->vm;
    int64_t smin = xobj_int(o, XF_VM_memory_static_min), smax = xobj_int(o, XF_VM_memory_static_max);
    int64_t dmin = xobj_int(o, XF_VM_memory_dynamic_min), dmax = xobj_int(o, XF_VM_memory_dynamic_max);
    if (m->field == XF_VM_memory_dynamic_max)
        dmax = m->value;
    else
        dmin = m->value;
    const char *bad = dmax > smax ? "dynamic_max <= static_max"
                      : dmin > dmax ? "dynamic_min <= dynamic_max"
                      : dmin < smin ? "static_min <= dynamic_min"
                      : dmax <= 0 ? "dynamic_max must be positive" : NULL;
    if (bad)
        return xerr_MEMORY_CONSTRAINT_VIOLATION(errp, bad);
    m->target = dmax;
    return true;
}

static bool memory_act(vm_ctx *c, xerr **errp)
{
    (void)errp;
    const memory *m = c->arg;
    return backend_domain_set_memory((uint32_t)c->domid, (uint64_t)m->target / 1024, &c->err) == 0;
}

static void memory_commit(vm_ctx *c)
{
    const memory *m = c->arg;
    if (c->vm)
        xobj_set_int(c->vm, m->field, m->value);
}

static const vm_op op_set_memory_max = {
    .name = "VM.set_memory_dynamic_max_live", .states = VM_LIVE,
    .prepare = memory_prepare, .act = memory_act, .commit = memory_commit,
};
static const vm_op op_set_memory_min = {
    .name = "VM.set_memory_dynamic_min_live", .states = VM_LIVE,
    .prepare = memory_prepare, .act = memory_act, .commit = memory_commit,
};

bool xh_VM_set_memory_dynamic_max_live(xcall *call, const char *self, int64_t max, xerr **errp)
{
    memory m = { .field = XF_VM_memory_dynamic_max, .value = max };
    return vm_op_run(&op_set_memory_max, call, self, &m, errp);
}

bool xh_VM_set_memory_dynamic_min_live(xcall *call, const char *self, int64_t min, xerr **errp)
{
    memory m = { .field = XF_VM_memory_dynamic_min, .value = min };
    return vm_op_run(&op_set_memory_min, call, self, &m, errp);
}

/* ---- scheduler parameters: the record changes first, the backend follows ---- */

typedef struct sched {
    const char *key, *value;
    unsigned weight, cap;
} sched;

static bool sched_prepare(vm_ctx *c, xerr **errp)
{
    (void)errp;
    sched *s = c->arg;
    xobj_map_put(c->vm, XF_VM_VCPUs_params, s->key, s->value);
    const char *w = xobj_map_get(c->vm, XF_VM_VCPUs_params, "weight");
    const char *cp = xobj_map_get(c->vm, XF_VM_VCPUs_params, "cap");
    s->weight = w ? (unsigned)strtoul(w, NULL, 10) : 0;
    s->cap = cp ? (unsigned)strtoul(cp, NULL, 10) : 0;
    return true;
}

static bool sched_act(vm_ctx *c, xerr **errp)
{
    (void)errp;
    const sched *s = c->arg;
    if (strcmp(s->key, "weight") != 0 && strcmp(s->key, "cap") != 0)
        return true;            /* nothing the scheduler knows */
    return backend_domain_sched_params((uint32_t)c->domid, s->weight, s->cap, &c->err) == 0;
}

/* Either way the metrics show the record's parameters. */
static void sched_record(vm_ctx *c)
{
    xobj *m = c->vm ? store_find(XCL_VM_metrics, xobj_str(c->vm, XF_VM_metrics)) : NULL;
    if (m)
        xobj_set(m, XF_VM_metrics_VCPUs_params, xv_dup(c->vm->f[XF_VM_VCPUs_params]));
}

static const vm_op op_sched = {
    .name = "VM.add_to_VCPUs_params_live", .states = VM_LIVE,
    .prepare = sched_prepare, .act = sched_act, .commit = sched_record, .undo = sched_record,
};

bool xh_VM_add_to_VCPUs_params_live(xcall *call, const char *self, const char *key,
                                    const char *value, xerr **errp)
{
    sched s = { .key = key, .value = value };
    return vm_op_run(&op_sched, call, self, &s, errp);
}

/* ---- sysrq, triggers ---- */

static bool sysrq_act(vm_ctx *c, xerr **errp)
{
    (void)errp;
    const char *key = c->arg;
    return backend_domain_sysrq((uint32_t)c->domid, key[0], &c->err) == 0;
}

static bool trigger_act(vm_ctx *c, xerr **errp)
{
    (void)errp;
    return backend_domain_trigger((uint32_t)c->domid, c->arg, &c->err) == 0;
}

static const vm_op op_sysrq = {
    .name = "VM.send_sysrq", .states = VM_IN(VM_RUNNING), .flags = VM_OP_CONTROL_DOMAIN, .act = sysrq_act,
};
static const vm_op op_trigger = { .name = "VM.send_trigger", .states = VM_IN(VM_RUNNING), .act = trigger_act };

bool xh_VM_send_sysrq(xcall *call, const char *vm, const char *key, xerr **errp)
{
    if (strlen(key) != 1)
        return xerr_VALUE_NOT_SUPPORTED(errp, "key", key, "one character");
    return vm_op_run(&op_sysrq, call, vm, (void *)key, errp);
}

bool xh_VM_send_trigger(xcall *call, const char *vm, const char *trigger, xerr **errp)
{
    return vm_op_run(&op_trigger, call, vm, (void *)trigger, errp);
}
