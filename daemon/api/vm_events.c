/* Guest-initiated events from the backend: shutdown/reboot/crash policy,
 * core dumps, domains xend did not create (adopted as transient VMs). */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/backend.h"
#include "daemon/api/vm.h"
#include "daemon/host.h"
#include "daemon/persist.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

/* A guest that makes xend restart it more than RESTART_BURST times within
 * RESTART_WINDOW_MS is looping (a kernel that panics at boot): xend stops
 * restarting it, as the old xend refused restarts that came too fast. */
#define RESTART_BURST 5
#define RESTART_WINDOW_MS 60000

/* ---- backend events ---- */

enum { A_NONE, A_HALT, A_RESTART, A_PRESERVE, A_DUMP_HALT, A_DUMP_RESTART, A_RENAME_RESTART };

static int crash_action(const char *p)
{
    if (strcmp(p, "restart") == 0) return A_RESTART;
    if (strcmp(p, "preserve") == 0) return A_PRESERVE;
    if (strcmp(p, "coredump_and_destroy") == 0) return A_DUMP_HALT;
    if (strcmp(p, "coredump_and_restart") == 0) return A_DUMP_RESTART;
    if (strcmp(p, "rename_restart") == 0) return A_RENAME_RESTART;
    return A_HALT;
}

/* A core dump of a shut-down domain as a crashdump object (no lock held). */
static void coredump(const char *ref, uint32_t domid)
{
    store_wrlock();
    const char *sr = storage_sr_for(STORAGE_CRASHDUMP);
    xerr *err = NULL;
    xobj *vm = store_find(XCL_VM, ref);
    char name[160];
    snprintf(name, sizeof(name), "crash dump of %s", vm ? xobj_str(vm, XF_VM_name_label) : ref);
    xobj *vdi = sr && vm ? storage_vdi_create(sr, name, "crashdump", 0, &err) : NULL;
    char *path = vdi ? storage_vdi_path(vdi) : NULL;
    char vdi_ref[XREF_LEN] = "";
    if (vdi)
        snprintf(vdi_ref, sizeof(vdi_ref), "%s", vdi->ref);
    store_unlock();
    if (!path) {
        xlog(XLOG_ERROR, "VM %s: no crash dump (no SR for it%s%s)", ref, err ? ": " : "",
             err && err->n ? err->params[0] : "");
        xerr_free(err);
        return;
    }
    xo_error e = { 0 };
    int r = backend_domain_coredump(domid, path, &e);
    store_wrlock();
    vdi = store_find(XCL_VDI, vdi_ref);
    vm = store_find(XCL_VM, ref);
    if (r == 0 && vdi && vm) {
        struct stat st;
        if (stat(path, &st) == 0)
            xobj_set_int(vdi, XF_VDI_virtual_size, st.st_size);
        storage_vdi_refresh(vdi);
        xobj *cd = xobj_new(XCL_crashdump, NULL);
        raw_set_str(cd, XF_crashdump_VM, ref);
        raw_set_str(cd, XF_crashdump_VDI, vdi_ref);
        store_insert(cd);
        xlog(XLOG_INFO, "VM %s: crash dump %s in %s", ref, cd->ref, path);
    } else {
        xlog(XLOG_ERROR, "VM %s: core dump failed: %s", ref, e.msg);
        if (vdi)
            storage_vdi_remove(vdi);
    }
    store_unlock();
    free(path);
}

/* rename_restart: keep the crashed domain under a new name, as a transient
 * record, and start the VM afresh. */
static void keep_renamed(const char *ref, uint32_t domid)
{
    char newname[XO_NAME_LEN];
    store_rdlock();
    xobj *vm = store_find(XCL_VM, ref);
    snprintf(newname, sizeof(newname), "%.80s-crashed-%ld", vm ? xobj_str(vm, XF_VM_name_label) : ref,
             (long)time(NULL));
    store_unlock();
    xo_error e = { 0 };
    if (backend_domain_rename(domid, newname, &e) != 0) {
        xlog(XLOG_WARNING, "VM %s: cannot rename the crashed domain %u (%s); destroying it", ref,
             domid, e.msg);
        backend_domain_destroy(domid, &e);
        return;
    }
    store_wrlock();
    xobj *t = xobj_new(XCL_VM, NULL);
    raw_set_str(t, XF_VM_name_label, newname);
    raw_set_str(t, XF_VM_name_description, "a crashed domain kept by actions_after_crash=rename_restart");
    xv_struct_set(t->f[XF_VM_other_config], PERSIST_TRANSIENT_KEY, xv_str("true"));
    xv_struct_set(t->f[XF_VM_other_config], "renamed_from", xv_str(ref));
    raw_set_str(t, XF_VM_power_state, vm_power_name(VM_CRASHED));
    raw_set_int(t, XF_VM_domid, domid);
    raw_set_str(t, XF_VM_actions_after_crash, "preserve");
    vm_fix_pool(t, true);
    vm_fix_metrics(t, true);
    store_insert(t);
    xobj_set_str(t, XF_VM_resident_on, host_ref());
    store_unlock();
}

static void on_shutdown(const xo_event *ev)
{
    store_wrlock();
    xobj *vm = store_find(XCL_VM, ev->uuid);
    if (!vm || vm_domid(vm) != (int64_t)ev->domid || xobj_bool(vm, XF_VM_is_control_domain)) {
        store_unlock();
        return;
    }
    vmrt *r = vm_rt(vm);
    if (r->busy && !r->waiter) {        /* an operation in progress owns the domain */
        store_unlock();
        return;
    }
    int act = A_NONE;
    switch (ev->reason) {
    case XO_SHUTDOWN_POWEROFF:
        act = r->waiter && r->wait_kind == W_SHUTDOWN ? A_HALT
              : strcmp(xobj_str(vm, XF_VM_actions_after_shutdown), "restart") == 0 ? A_RESTART : A_HALT;
        break;
    case XO_SHUTDOWN_REBOOT:
        act = r->waiter && r->wait_kind == W_SHUTDOWN ? A_HALT
              : r->waiter && r->wait_kind == W_REBOOT ? A_RESTART
              : strcmp(vm_reboot_policy(vm), "restart") == 0 ? A_RESTART : A_HALT;
        break;
    case XO_SHUTDOWN_CRASH:
    case XO_SHUTDOWN_WATCHDOG:
        act = crash_action(xobj_str(vm, XF_VM_actions_after_crash));
        break;
    default:
        break;
    }
    if (act == A_NONE) {
        store_unlock();
        return;
    }
    if ((act == A_RESTART || act == A_DUMP_RESTART || act == A_RENAME_RESTART) && !r->waiter) {
        int64_t now = xloop_now_ms();
        if (r->burst_n == 0 || now - r->burst_ms > RESTART_WINDOW_MS) {
            r->burst_ms = now;
            r->burst_n = 0;
        }
        if (++r->burst_n > RESTART_BURST) {
            xlog(XLOG_ERROR, "VM %s restarted %d times within %d s: not restarting it again",
                 vm->ref, RESTART_BURST, RESTART_WINDOW_MS / 1000);
            act = act == A_DUMP_RESTART ? A_DUMP_HALT : act == A_RENAME_RESTART ? A_PRESERVE : A_HALT;
            r->burst_n = 0;
        }
    }
    if (!r->busy)
        r->busy = "guest_event";
    char ref[XREF_LEN];
    snprintf(ref, sizeof(ref), "%s", vm->ref);
    xlog(XLOG_INFO, "VM %s (domain %u): shut down (reason %d), action %d", ref, ev->domid, ev->reason, act);
    if (act == A_PRESERVE)
        vm_set_power(vm, VM_CRASHED, ev->domid);
    store_unlock();

    xerr *err = NULL;
    vm_hard h = { 0 };
    if (act == A_DUMP_HALT || act == A_DUMP_RESTART)
        coredump(ref, ev->domid);
    if (act == A_RENAME_RESTART) {
        keep_renamed(ref, ev->domid);
        vm_op_run(&vm_op_guest_rebuild, NULL, ref, &h, &err);
    } else if (act == A_HALT || act == A_DUMP_HALT) {
        vm_op_run(&vm_op_guest_halt, NULL, ref, &h, &err);
    } else if (act == A_RESTART || act == A_DUMP_RESTART) {
        vm_op_run(&vm_op_guest_restart, NULL, ref, &h, &err);
    }
    if (err) {
        xlog(XLOG_ERROR, "VM %s: after shutdown: %s %s", ref, err->code, err->n ? err->params[0] : "");
        xerr_free(err);
    }
    store_wrlock();
    vm = store_find(XCL_VM, ref);
    xcall *w = vm ? vm_take_waiter(vm) : NULL;
    vm_release(vm);
    store_unlock();
    vm_finish_call(w, NULL);
}

static void on_death(const xo_event *ev)
{
    store_wrlock();
    xobj *vm = store_find(XCL_VM, ev->uuid);
    xcall *w = NULL;
    if (vm && !xobj_bool(vm, XF_VM_is_control_domain) && vm_domid(vm) == (int64_t)ev->domid &&
        vm_has_domain(vm) && (!vm->priv || !vm_rt(vm)->busy || vm_rt(vm)->waiter)) {
        w = vm_take_waiter(vm);
        if (vm->priv)
            vm_rt(vm)->busy = NULL;
        vm_set_power(vm, VM_HALTED, -1);
        if (persist_vm_is_transient(vm))
            store_remove(vm);   /* an adopted domain that is gone leaves nothing */
        else
            vm_drop_if_run_once(vm);
    }
    store_unlock();
    vm_finish_call(w, NULL);
}

/* A domain nobody asked for: adopt it as a transient VM (lock held). */
void vm_adopt(const xo_dominfo *d)
{
    if (d->domid == 0)
        return;
    for (xobj *v = store_first(XCL_VM); v; v = store_next(v))
        if (vm_domid(v) == (int64_t)d->domid && vm_has_domain(v))
            return;
    xobj *vm = xuuid_valid(d->uuid) && !store_find(XCL_VM, d->uuid) ? xobj_new(XCL_VM, d->uuid)
                                                                   : xobj_new(XCL_VM, NULL);
    raw_set_str(vm, XF_VM_name_label, d->name);
    raw_set_str(vm, XF_VM_name_description, "a domain xend did not create (adopted)");
    raw_set_int(vm, XF_VM_memory_static_max, (int64_t)d->max_memory_kib * 1024);
    raw_set_int(vm, XF_VM_memory_dynamic_max, (int64_t)d->target_kib * 1024);
    raw_set_int(vm, XF_VM_memory_dynamic_min, (int64_t)d->target_kib * 1024);
    raw_set_int(vm, XF_VM_memory_static_min, 0);
    raw_set_int(vm, XF_VM_VCPUs_max, d->vcpus_max);
    raw_set_int(vm, XF_VM_VCPUs_at_startup, d->vcpus_online);
    if (d->type == XO_DOM_HVM)
        raw_set_str(vm, XF_VM_HVM_boot_policy, "BIOS order");
    xv_struct_set(vm->f[XF_VM_other_config], PERSIST_TRANSIENT_KEY, xv_str("true"));
    raw_set_str(vm, XF_VM_power_state, vm_power_name(VM_HALTED));
    raw_set_int(vm, XF_VM_domid, -1);
    vm_fix_pool(vm, true);
    vm_fix_metrics(vm, true);
    store_insert(vm);
    vm_started(vm, vm_power_of_domain(d->state),
            d->domid);
    xlog(XLOG_INFO, "adopted domain %u (%s) as transient VM %s", d->domid, d->name, vm->ref);
}

/* The backend's view of the domain an event is about (false: gone). */
static bool event_dominfo(const xo_event *ev, xo_dominfo *d)
{
    xo_error e = { 0 };
    memset(d, 0, sizeof(*d));
    return backend_domain_info(ev->domid, d, &e) == 0;
}

static void on_new(const xo_event *ev)
{
    xo_dominfo d;
    if (!event_dominfo(ev, &d))
        return;
    store_wrlock();
    xobj *vm = store_find(XCL_VM, d.uuid);
    if (!vm)
        vm_adopt(&d);
    else if (!vm_has_domain(vm) && (!vm->priv || !vm_rt(vm)->busy) && vm_is(vm, VM_HALTED))
        vm_started(vm, d.state == XO_STATE_PAUSED ? VM_PAUSED : VM_RUNNING, d.domid);
    store_unlock();
}

static void on_changed(const xo_event *ev)
{
    xo_dominfo d;
    if (!event_dominfo(ev, &d))
        return;
    store_wrlock();
    xobj *vm = store_find(XCL_VM, ev->uuid[0] ? ev->uuid : d.uuid);
    if (vm && vm_domid(vm) == (int64_t)ev->domid && (!vm->priv || !vm_rt(vm)->busy)) {
        if (d.state == XO_STATE_PAUSED && vm_is(vm, VM_RUNNING))
            vm_set_power(vm, VM_PAUSED, d.domid);
        else if (d.state == XO_STATE_RUNNING && vm_is(vm, VM_PAUSED))
            vm_set_power(vm, VM_RUNNING, d.domid);
        xobj *m = store_find(XCL_VM_metrics, xobj_str(vm, XF_VM_metrics));
        if (m) {
            xobj_set_int(m, XF_VM_metrics_memory_actual, (int64_t)d.memory_kib * 1024);
            xobj_set_int(m, XF_VM_metrics_VCPUs_number, d.vcpus_online);
        }
    }
    store_unlock();
}

static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;

static void event_job(void *arg)
{
    xo_event *ev = arg;
    pthread_mutex_lock(&ev_mu);         /* one event at a time, in order */
    switch (ev->type) {
    case XO_EV_DOMAIN_SHUTDOWN: on_shutdown(ev); break;
    case XO_EV_DOMAIN_DEATH: on_death(ev); break;
    case XO_EV_DOMAIN_NEW: on_new(ev); break;
    case XO_EV_DOMAIN_CHANGED: on_changed(ev); break;
    }
    pthread_mutex_unlock(&ev_mu);
    persist_flush();
    free(ev);
}

void vm_backend_event(void *opaque, const xo_event *ev)
{
    (void)opaque;
    xo_event *copy = malloc(sizeof(*copy));
    if (!copy)
        abort();
    *copy = *ev;
    dispatch_queue_job(event_job, copy);
}
