/* XSPolicy: security policies.  XSM/ACM is not available (Xen dropped
 * ACM), so no policy is ever loaded: the messages that need one refuse with
 * SECURITY_ERROR, the others answer "none". */
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

bool xsm_no_policy(xerr **errp)
{
    return xerr_SECURITY_ERROR(errp, "-3", "no security policy is loaded or supported on this host");
}

bool xh_XSPolicy_get_xstype(xcall *call, xv **result_r, xerr **errp)
{
    (void)call; (void)errp;
    *result_r = xv_int(0);          /* the bit set of supported policy types: none */
    return true;
}

bool xh_XSPolicy_set_xspolicy(xcall *call, const char *type, const char *repr, const char *flags,
                              bool overwrite, xv **result_r, xerr **errp)
{
    (void)call; (void)type; (void)repr; (void)flags; (void)overwrite; (void)result_r;
    return xsm_no_policy(errp);
}

bool xh_XSPolicy_reset_xspolicy(xcall *call, const char *type, xv **result_r, xerr **errp)
{
    (void)call; (void)type; (void)result_r;
    return xsm_no_policy(errp);
}

bool xh_XSPolicy_get_xspolicy(xcall *call, xv **result_r, xerr **errp)
{
    (void)call; (void)result_r;
    return xsm_no_policy(errp);
}

bool xh_XSPolicy_rm_xsbootpolicy(xcall *call, xerr **errp)
{
    (void)call;
    return xsm_no_policy(errp);
}

bool xh_XSPolicy_get_labeled_resources(xcall *call, xv **result_r, xerr **errp)
{
    (void)call; (void)errp;
    *result_r = xv_struct();        /* nothing is labelled without a policy */
    return true;
}

bool xh_XSPolicy_set_resource_label(xcall *call, const char *resource, const char *label,
                                    const char *old_label, xerr **errp)
{
    (void)call; (void)resource; (void)label; (void)old_label;
    return xsm_no_policy(errp);
}

bool xh_XSPolicy_get_resource_label(xcall *call, const char *resource, xv **result_r, xerr **errp)
{
    (void)call; (void)resource; (void)errp;
    *result_r = xv_str("");
    return true;
}

bool xh_XSPolicy_can_run(xcall *call, const char *security_label, xv **result_r, xerr **errp)
{
    (void)call; (void)security_label; (void)result_r;
    return xsm_no_policy(errp);
}
