/* host_cpu: the explicit messages of a physical CPU. */
#include "config.h"

#include "daemon/store.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

/* CPUs that belong to no cpu_pool. */
bool xh_host_cpu_get_unassigned_cpus(xcall *call, xv **result_r, xerr **errp)
{
    (void)call;
    (void)errp;
    *result_r = xv_array();
    store_rdlock();
    for (xobj *c = store_first(XCL_host_cpu); c; c = store_next(c))
        if (xobj_get(c, XF_host_cpu_cpu_pool)->u.arr.n == 0)
            xv_array_add(*result_r, xv_str(c->ref));
    store_unlock();
    return true;
}
