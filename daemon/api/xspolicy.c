/* XSPolicy: security policies.  XSM/ACM is not available (Xen dropped
 * ACM), so no policy is ever loaded: the messages that need one are flagged
 * unsupported in the datamodel (generated refusal: SECURITY_ERROR), the
 * others answer "none" here. */
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

bool xh_XSPolicy_get_xstype(xcall *call, xv **result_r, xerr **errp)
{
    (void)call; (void)errp;
    *result_r = xv_int(0);          /* the bit set of supported policy types: none */
    return true;
}

bool xh_XSPolicy_get_labeled_resources(xcall *call, xv **result_r, xerr **errp)
{
    (void)call; (void)errp;
    *result_r = xv_struct();        /* nothing is labelled without a policy */
    return true;
}

bool xh_XSPolicy_get_resource_label(xcall *call, const char *resource, xv **result_r, xerr **errp)
{
    (void)call; (void)resource; (void)errp;
    *result_r = xv_str("");
    return true;
}

