/* backend: the daemon's one gateway to the hypervisor backend (backend.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backend.h"
#include "util/log.h"
#include "xapi_errors.h"

static const xo_ops *ops;
static xo_backend *be;

/* The ops the daemon cannot run without: it builds the host from
 * host_info, reconciles with domain_list / domain_info, and must be able to
 * start and stop a VM. */
#define REQUIRED(X) X(open) X(close) X(host_info) X(domain_list) X(domain_info) \
    X(domain_create) X(domain_destroy)

static const char *missing_op(const xo_ops *o)
{
#define CHECK(slot) if (!o->slot) return #slot;
    REQUIRED(CHECK)
#undef CHECK
    return NULL;
}

/* The backend's messages into the daemon's log. */
static void log_sink(void *opaque, xo_log_level level, const char *msg)
{
    (void)opaque;
    static const xlog_level map[] = { [XO_LOG_ERROR] = XLOG_ERROR, [XO_LOG_WARNING] = XLOG_WARNING,
                                      [XO_LOG_INFO] = XLOG_INFO, [XO_LOG_DEBUG] = XLOG_DEBUG };
    xlog_level lv = (unsigned)level < sizeof(map) / sizeof(map[0]) ? map[level] : XLOG_ERROR;
    if (xlog_enabled(lv))
        xlog(lv, "%s", msg);
}

bool backend_open_ops(const xo_ops *o, const xo_options *opts, char **err_r)
{
    const char *missing = missing_op(o);
    if (missing) {
        if (asprintf(err_r, "backend %s lacks the %s operation the daemon requires", o->name,
                     missing) < 0)
            *err_r = NULL;
        return false;
    }
    xo_options with_log = *opts;
    with_log.log = (xo_log_sink){ .fn = log_sink, .opaque = NULL };
    xo_error e = { 0 };
    xo_backend *b = o->open(&with_log, &e);
    if (!b) {
        if (asprintf(err_r, "backend %s: %s", o->name, e.msg) < 0)
            *err_r = NULL;
        return false;
    }
    ops = o;
    be = b;
    return true;
}

void backend_close(void)
{
    if (ops)
        ops->close(be);
    ops = NULL;
    be = NULL;
}

const char *backend_name(void) { return ops ? ops->name : ""; }

bool backend_opens_boot_files(void) { return ops && ops->opens_boot_files && ops->opens_boot_files(be); }

/* ---- the one converter ---- */

static void number(char *buf, size_t len, uint64_t v)
{
    snprintf(buf, len, "%" PRIu64, v);
}

bool backend_error(const xo_error *e, const char *what, xerr **errp)
{
    xlog(e->code == XO_E_NOTSUP ? XLOG_INFO : XLOG_WARNING, "%s: backend %s: %s", what,
         backend_name(), e->msg[0] ? e->msg : "(no detail)");
    char need[24], have[24];
    number(need, sizeof(need), e->needed);
    number(have, sizeof(have), e->available);
    switch (e->code) {
    case XO_E_NOTSUP:
        return xerr_NOT_IMPLEMENTED(errp, what);
    case XO_E_NOMEM:
        return xerr_HOST_NOT_ENOUGH_FREE_MEMORY(errp, need, have);
    case XO_E_NOCPU:
        return xerr_INSUFFICIENT_CPUS(errp, need, have);
    case XO_E_INVAL:
        return xerr_VALUE_NOT_SUPPORTED(errp, what, "",
                                        "rejected by the backend (the daemon's log says why)");
    case XO_E_NODOMAIN:
        return xerr_internal(errp, "%s: the VM's domain no longer exists", what);
    case XO_E_BUSY:
        return xerr_internal(errp, "%s: the VM's domain is in a state that forbids it", what);
    default:
        return xerr_internal(errp, "%s failed in the backend (the daemon's log says why)", what);
    }
}

/* ---- the ops: the one place an empty slot is answered ---- */

static int notsup(const char *slot, xo_error *err)
{
    xo_error_set(err, XO_E_NOTSUP, "backend %s has no %s operation", backend_name(), slot);
    return -1;
}

#define CALL(slot, ...) (ops && ops->slot ? ops->slot(be, __VA_ARGS__) : notsup(#slot, err))

/* Fill the numbers of a memory or CPU shortage the backend left unknown. */
static void fill_shortage(xo_error *err, uint64_t need_bytes, unsigned need_cpus)
{
    if (err->code != XO_E_NOMEM && err->code != XO_E_NOCPU)
        return;
    bool mem = err->code == XO_E_NOMEM;
    if (!err->needed)
        err->needed = mem ? need_bytes : need_cpus;
    if (!err->available) {
        xo_host_info hi;
        xo_error ignored = { 0 };
        memset(&hi, 0, sizeof(hi));
        if (CALL(host_info, &hi, &ignored) == 0)
            err->available = mem ? hi.free_memory : hi.nr_cpus;
    }
}

int backend_host_info(xo_host_info *info_r, xo_error *err)
{
    return CALL(host_info, info_r, err);
}

int backend_host_cpus(xo_cpu_info **cpus_r, size_t *n_r, xo_error *err)
{
    return CALL(host_cpus, cpus_r, n_r, err);
}

int backend_host_nics(xo_nic_info **nics_r, size_t *n_r, xo_error *err)
{
    return CALL(host_nics, nics_r, n_r, err);
}

int backend_host_dmesg(char **text_r, bool clear, xo_error *err)
{
    return CALL(host_dmesg, text_r, clear, err);
}

int backend_host_send_debug_keys(const char *keys, xo_error *err)
{
    return CALL(host_send_debug_keys, keys, err);
}

int backend_domain_list(xo_dominfo **doms_r, size_t *n_r, xo_error *err)
{
    return CALL(domain_list, doms_r, n_r, err);
}

int backend_domain_info(uint32_t domid, xo_dominfo *info_r, xo_error *err)
{
    return CALL(domain_info, domid, info_r, err);
}

int backend_domain_vcpus(uint32_t domid, xo_vcpu_info **v_r, size_t *n_r, xo_error *err)
{
    return CALL(domain_vcpus, domid, v_r, n_r, err);
}

int backend_domain_io(uint32_t domid, xo_dev_io **io_r, size_t *n_r, xo_error *err)
{
    return CALL(domain_io, domid, io_r, n_r, err);
}

int backend_domain_create(const xo_domain_config *cfg, bool paused, uint32_t *domid_r,
                          xo_error *err)
{
    int r = CALL(domain_create, cfg, paused, domid_r, err);
    if (r != 0)
        fill_shortage(err, cfg->memory_target_kib * 1024, cfg->vcpus_at_startup);
    return r;
}

int backend_domain_restore(const xo_domain_config *cfg, const char *path, bool paused,
                           uint32_t *domid_r, xo_error *err)
{
    int r = CALL(domain_restore, cfg, path, paused, domid_r, err);
    if (r != 0)
        fill_shortage(err, cfg->memory_target_kib * 1024, cfg->vcpus_at_startup);
    return r;
}

int backend_domain_pause(uint32_t domid, xo_error *err)
{
    return CALL(domain_pause, domid, err);
}

int backend_domain_unpause(uint32_t domid, xo_error *err)
{
    return CALL(domain_unpause, domid, err);
}

int backend_domain_shutdown(uint32_t domid, xo_shutdown_reason how, xo_error *err)
{
    return CALL(domain_shutdown, domid, how, err);
}

int backend_domain_destroy(uint32_t domid, xo_error *err)
{
    return CALL(domain_destroy, domid, err);
}

int backend_domain_suspend(uint32_t domid, const char *path, xo_error *err)
{
    return CALL(domain_suspend, domid, path, err);
}

int backend_domain_set_memory(uint32_t domid, uint64_t target_kib, xo_error *err)
{
    int r = CALL(domain_set_memory, domid, target_kib, err);
    if (r != 0)
        fill_shortage(err, target_kib * 1024, 0);
    return r;
}

int backend_domain_set_vcpus(uint32_t domid, unsigned online, xo_error *err)
{
    int r = CALL(domain_set_vcpus, domid, online, err);
    if (r != 0)
        fill_shortage(err, 0, online);
    return r;
}

int backend_domain_sched_params(uint32_t domid, unsigned weight, unsigned cap, xo_error *err)
{
    return CALL(domain_sched_params, domid, weight, cap, err);
}

int backend_domain_sysrq(uint32_t domid, char key, xo_error *err)
{
    return CALL(domain_sysrq, domid, key, err);
}

int backend_domain_trigger(uint32_t domid, const char *trigger, xo_error *err)
{
    return CALL(domain_trigger, domid, trigger, err);
}

int backend_domain_coredump(uint32_t domid, const char *path, xo_error *err)
{
    return CALL(domain_coredump, domid, path, err);
}

int backend_domain_rename(uint32_t domid, const char *name, xo_error *err)
{
    return CALL(domain_rename, domid, name, err);
}

int backend_domain_console_tty(uint32_t domid, char *path, size_t len, xo_error *err)
{
    return CALL(domain_console_tty, domid, path, len, err);
}

int backend_disk_add(uint32_t domid, const xo_disk *d, xo_error *err)
{
    return CALL(disk_add, domid, d, err);
}

int backend_disk_remove(uint32_t domid, const char *vdev, xo_error *err)
{
    return CALL(disk_remove, domid, vdev, err);
}

int backend_disk_change_media(uint32_t domid, const xo_disk *d, xo_error *err)
{
    return CALL(disk_change_media, domid, d, err);
}

int backend_nic_add(uint32_t domid, xo_nic *nic, xo_error *err)
{
    return CALL(nic_add, domid, nic, err);
}

int backend_nic_remove(uint32_t domid, int devid, xo_error *err)
{
    return CALL(nic_remove, domid, devid, err);
}

