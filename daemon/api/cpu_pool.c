/* cpu_pool: records only; the backends have no cpupool operations. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/classes.h"
#include "daemon/host.h"
#include "daemon/store.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

bool xh_cpu_pool_activate(xcall *call, const char *self, xerr **errp)
{
    (void)call; (void)self;
    return xerr_NOT_IMPLEMENTED(errp, "cpu_pool.activate");
}

bool xh_cpu_pool_deactivate(xcall *call, const char *self, xerr **errp)
{
    (void)call; (void)self;
    return xerr_NOT_IMPLEMENTED(errp, "cpu_pool.deactivate");
}

bool xh_cpu_pool_add_host_CPU_live(xcall *call, const char *self, const char *host_cpu, xerr **errp)
{
    (void)call; (void)self; (void)host_cpu;
    return xerr_NOT_IMPLEMENTED(errp, "cpu_pool.add_host_CPU_live");
}

bool xh_cpu_pool_remove_host_CPU_live(xcall *call, const char *self, const char *host_cpu, xerr **errp)
{
    (void)call; (void)self; (void)host_cpu;
    return xerr_NOT_IMPLEMENTED(errp, "cpu_pool.remove_host_CPU_live");
}
