/* ACMPolicy: no ACM policy can be loaded on this host (see xspolicy.c). */
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

bool xh_ACMPolicy_get_header(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)result_r;
    return xsm_no_policy(errp);
}

bool xh_ACMPolicy_get_xml(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)result_r;
    return xsm_no_policy(errp);
}

bool xh_ACMPolicy_get_map(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)result_r;
    return xsm_no_policy(errp);
}

bool xh_ACMPolicy_get_binary(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)result_r;
    return xsm_no_policy(errp);
}

bool xh_ACMPolicy_get_enforced_binary(xcall *call, const char *self, xv **result_r, xerr **errp)
{
    (void)call; (void)self; (void)result_r;
    return xsm_no_policy(errp);
}

bool xh_ACMPolicy_get_VM_ssidref(xcall *call, const char *vm, xv **result_r, xerr **errp)
{
    (void)call; (void)vm; (void)result_r;
    return xsm_no_policy(errp);
}
