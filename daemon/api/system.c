/* system: the XML-RPC introspection message. */
#include "config.h"

#include "daemon/api/api.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

xv *api_all_methods(void)
{
    xv *a = xv_array();
    for (size_t i = 0; i < xmethods_count; i++) {
        xv_array_add(a, xv_str(xmethods[i].name));
        if (xmethods[i].async_ok)
            xv_array_add(a, xv_strf("Async.%s", xmethods[i].name));
    }
    return a;
}

bool xh_system_listMethods(xcall *call, xv **result_r, xerr **errp)
{
    (void)call;
    (void)errp;
    *result_r = api_all_methods();
    return true;
}
