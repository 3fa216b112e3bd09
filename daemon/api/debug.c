/* debug: the test message that always fails. */
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

bool xh_debug_return_failure(xcall *call, xerr **errp)
{
    (void)call;
    return xerr_internal(errp, "debug.return_failure was called");
}
