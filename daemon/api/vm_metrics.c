/* Periodic VM tick: live metrics, vCPU utilisation, vanished domains,
 * clean-shutdown timeouts. */
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

/* ---- ticks ---- */

static void sample_vcpus(const char *ref, uint32_t domid)
{
    xo_vcpu_info *v = NULL;
    size_t n = 0;
    xo_error e = { 0 };
    if (backend_domain_vcpus(domid, &v, &n, &e) != 0)
        return;
    int64_t now = xloop_now_ms();
    store_wrlock();
    xobj *vm = store_find(XCL_VM, ref);
    xobj *m = vm ? store_find(XCL_VM_metrics, xobj_str(vm, XF_VM_metrics)) : NULL;
    if (m) {
        vmrt *r = vm_rt(vm);
        xv *util = xv_struct(), *cpu = xv_struct(), *flags = xv_struct();
        for (size_t i = 0; i < n; i++) {
            char k[16];
            snprintf(k, sizeof(k), "%u", v[i].id);
            double u = 0;
            if (r->vcpu_ns && i < r->n_vcpu && now > r->sampled_ms && v[i].cpu_time_ns >= r->vcpu_ns[i])
                u = (double)(v[i].cpu_time_ns - r->vcpu_ns[i]) / ((double)(now - r->sampled_ms) * 1e6);
            xv_struct_set(util, k, xv_double(u > 1 ? 1 : u));
            xv_struct_set(cpu, k, xv_int(v[i].cpu));
            xv *fl = xv_array();
            xv_array_add(fl, xv_str(v[i].online ? "online" : "offline"));
            if (v[i].cpu >= 0)
                xv_array_add(fl, xv_str("running"));
            xv_struct_set(flags, k, fl);
        }
        free(r->vcpu_ns);
        r->vcpu_ns = calloc(n + 1, sizeof(uint64_t));
        if (!r->vcpu_ns)
            abort();
        for (size_t i = 0; i < n; i++)
            r->vcpu_ns[i] = v[i].cpu_time_ns;
        r->n_vcpu = n;
        r->sampled_ms = now;
        xobj_set(m, XF_VM_metrics_VCPUs_utilisation, util);
        xobj_set(m, XF_VM_metrics_VCPUs_CPU, cpu);
        xobj_set(m, XF_VM_metrics_VCPUs_flags, flags);
    }
    store_unlock();
    free(v);
}

void vm_tick(void)
{
    xo_dominfo *doms = NULL;
    size_t nd = 0;
    xo_error e = { 0 };
    bool listed = backend_domain_list(&doms, &nd, &e) == 0;
    typedef struct { char ref[XREF_LEN]; uint32_t domid; } live;
    live *lv = NULL;
    size_t nl = 0;
    xcall **expired = NULL;
    char (*exp_ref)[XREF_LEN] = NULL;
    int64_t *exp_to = NULL;
    size_t nexp = 0;
    time_t now = time(NULL);

    store_wrlock();
    if (listed) {
        lv = calloc(nd + 1, sizeof(live));
        if (!lv)
            abort();
        for (size_t i = 0; i < nd; i++) {
            if (doms[i].domid == 0)
                continue;
            xobj *vm = store_find(XCL_VM, doms[i].uuid);
            if (!vm || vm_domid(vm) != (int64_t)doms[i].domid || !vm_has_domain(vm))
                continue;
            xobj *m = store_find(XCL_VM_metrics, xobj_str(vm, XF_VM_metrics));
            if (m) {
                xobj_set_int(m, XF_VM_metrics_memory_actual, (int64_t)doms[i].memory_kib * 1024);
                xobj_set_int(m, XF_VM_metrics_VCPUs_number, doms[i].vcpus_online);
                if (doms[i].start_time)
                    xobj_set(m, XF_VM_metrics_start_time, xv_datetime_t(doms[i].start_time));
                xobj_set(m, XF_VM_metrics_last_updated, xv_datetime_t(now));
            }
            if (!vm->priv || !vm_rt(vm)->busy) {
                if (doms[i].state == XO_STATE_PAUSED && vm_is(vm, VM_RUNNING))
                    vm_set_power(vm, VM_PAUSED, doms[i].domid);
                else if (doms[i].state == XO_STATE_RUNNING && vm_is(vm, VM_PAUSED))
                    vm_set_power(vm, VM_RUNNING, doms[i].domid);
            }
            snprintf(lv[nl].ref, XREF_LEN, "%s", vm->ref);
            lv[nl++].domid = doms[i].domid;
        }
        /* a domain that vanished without an event */
        for (xobj *vm = store_first(XCL_VM); vm;) {
            xobj *next = store_next(vm);
            if (vm_has_domain(vm) && !xobj_bool(vm, XF_VM_is_control_domain) &&
                (!vm->priv || !vm_rt(vm)->busy)) {
                bool found = false;
                for (size_t i = 0; i < nd && !found; i++)
                    found = doms[i].domid == (uint32_t)vm_domid(vm);
                if (!found) {
                    xlog(XLOG_INFO, "VM %s: domain %" PRId64 " is gone", vm->ref, vm_domid(vm));
                    vm_set_power(vm, VM_HALTED, -1);
                    if (persist_vm_is_transient(vm))
                        store_remove(vm);
                    else
                        vm_drop_if_run_once(vm);
                }
            }
            vm = next;
        }
    }
    if (vm_n_waiters) {
        expired = calloc(vm_n_waiters, sizeof(xcall *));
        exp_ref = calloc(vm_n_waiters, XREF_LEN);
        exp_to = calloc(vm_n_waiters, sizeof(int64_t));
        if (!expired || !exp_ref || !exp_to)
            abort();
        for (xobj *vm = store_first(XCL_VM); vm && vm_n_waiters; vm = store_next(vm)) {
            vmrt *r = vm->priv;
            if (r && r->waiter && xloop_now_ms() >= r->deadline_ms) {
                exp_to[nexp] = r->timeout;
                snprintf(exp_ref[nexp], XREF_LEN, "%s", vm->ref);
                expired[nexp++] = vm_take_waiter(vm);
                r->busy = NULL;
            }
        }
    }
    store_unlock();
    free(doms);
    for (size_t i = 0; i < nexp; i++) {
        xerr *err = NULL;
        char t[32];
        snprintf(t, sizeof(t), "%" PRId64, exp_to[i]);
        xerr_VM_SHUTDOWN_TIMEOUT(&err, exp_ref[i], t);
        xlog(XLOG_WARNING, "VM %s: the guest did not shut down within %s s", exp_ref[i], t);
        xcall_finish(expired[i], NULL, err);
    }
    free(expired);
    free(exp_ref);
    free(exp_to);
    for (size_t i = 0; i < nl; i++)
        sample_vcpus(lv[i].ref, lv[i].domid);
    free(lv);
    storage_tick();
    persist_tick();
}
