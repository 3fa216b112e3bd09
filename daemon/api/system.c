/* system: the XML-RPC introspection message. */
#include "config.h"

#include "daemon/api/api.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

xv *api_all_methods(bool with_async)
{
    xv *a = xv_array();
    for (size_t i = 0; i < xmethods_count; i++) {
        xv_array_add(a, xv_str(xmethods[i].name));
        if (with_async && xmethods[i].async_ok)
            xv_array_add(a, xv_strf("Async.%s", xmethods[i].name));
    }
    return a;
}

/* The synchronous wire names, as XAPI lists them (Xen Orchestra takes the
 * class names from the *.get_all_records entries); dispatch sends them over
 * XML-RPC without the Status struct, as xend's introspection did. */
bool xh_system_listMethods(xcall *call, xv **result_r, xerr **errp)
{
    (void)call;
    (void)errp;
    *result_r = api_all_methods(false);
    return true;
}
