/* host: the host's explicit messages (enable/disable, power, dmesg, log,
 * debug keys, list_methods). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backend.h"
#include "daemon/host.h"
#include "daemon/store.h"
#include "daemon/api/api.h"
#include "util/log.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

static bool set_enabled(const char *host, bool on)
{
    store_wrlock();
    xobj *o = store_find(XCL_host, host);
    if (o)
        xobj_set_bool(o, XF_host_enabled, on);
    store_unlock();
    xlog(XLOG_INFO, "host %s", on ? "enabled" : "disabled: no VM may start");
    return true;
}

bool xh_host_disable(xcall *call, const char *host, xerr **errp)
{
    (void)call;
    (void)errp;
    return set_enabled(host, false);
}

bool xh_host_enable(xcall *call, const char *host, xerr **errp)
{
    (void)call;
    (void)errp;
    return set_enabled(host, true);
}

/* Powering the host off or rebooting it from the API: as XAPI does, only a
 * disabled host may be asked; xend then leaves the act to the administrator's
 * tooling (it would take the daemon down with it). */
static bool host_power(const char *host, const char *what, xerr **errp)
{
    store_rdlock();
    xobj *o = store_find(XCL_host, host);
    bool enabled = o && xobj_bool(o, XF_host_enabled);
    store_unlock();
    if (enabled)
        return xerr_OPERATION_NOT_ALLOWED(errp);
    return xerr_NOT_IMPLEMENTED(errp, what);
}

bool xh_host_shutdown(xcall *call, const char *host, xerr **errp)
{
    (void)call;
    return host_power(host, "host.shutdown", errp);
}

bool xh_host_reboot(xcall *call, const char *host, xerr **errp)
{
    (void)call;
    return host_power(host, "host.reboot", errp);
}

static bool dmesg(bool clear, xv **result_r, xerr **errp)
{
    char *text = NULL;
    xo_error e = { 0 };
    if (backend_host_dmesg(&text, clear, &e) != 0)
        return backend_error(&e, clear ? "host.dmesg_clear" : "host.dmesg", errp);
    *result_r = xv_str_take(text);
    return true;
}

bool xh_host_dmesg(xcall *call, const char *host, xv **result_r, xerr **errp)
{
    (void)call;
    (void)host;
    return dmesg(false, result_r, errp);
}

bool xh_host_dmesg_clear(xcall *call, const char *host, xv **result_r, xerr **errp)
{
    (void)call;
    (void)host;
    return dmesg(true, result_r, errp);
}

static const char *log_path;

void host_set_log_file(const char *path) { log_path = path; }

/* The daemon's own log: the last 64 KiB of its log file ("" when it logs
 * to stderr or syslog). */
bool xh_host_get_log(xcall *call, const char *host, xv **result_r, xerr **errp)
{
    (void)call;
    (void)host;
    (void)errp;
    FILE *f = log_path ? fopen(log_path, "r") : NULL;
    if (!f) {
        *result_r = xv_str("");
        return true;
    }
    enum { TAIL = 64 * 1024 };
    char *buf = malloc(TAIL + 1);
    if (!buf)
        abort();
    if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > TAIL)
        fseek(f, -TAIL, SEEK_END);
    else
        fseek(f, 0, SEEK_SET);
    size_t n = fread(buf, 1, TAIL, f);
    fclose(f);
    buf[n] = '\0';
    *result_r = xv_str_take(buf);
    return true;
}

bool xh_host_send_debug_keys(xcall *call, const char *host, const char *keys, xerr **errp)
{
    (void)call;
    (void)host;
    xo_error e = { 0 };
    if (backend_host_send_debug_keys(keys, &e) != 0)
        return backend_error(&e, "host.send_debug_keys", errp);
    return true;
}

bool xh_host_list_methods(xcall *call, xv **result_r, xerr **errp)
{
    (void)call;
    (void)errp;
    *result_r = api_all_methods(true);
    return true;
}
