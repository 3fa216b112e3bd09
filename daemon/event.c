/* event: the event log and subscriptions (API 1.0 register/next and
 * XAPI event.from).  Placeholder until the event queue lands. */
#include "config.h"

#include "daemon/daemon.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"

bool xh_event_register(xcall *call, const xv *classes, xerr **errp)
{
    (void)call; (void)classes;
    return xerr_NOT_IMPLEMENTED(errp, "event.register");
}

bool xh_event_unregister(xcall *call, const xv *classes, xerr **errp)
{
    (void)call; (void)classes;
    return xerr_NOT_IMPLEMENTED(errp, "event.unregister");
}

bool xh_event_next(xcall *call, xv **result_r, xerr **errp)
{
    (void)call; (void)result_r;
    return xerr_NOT_IMPLEMENTED(errp, "event.next");
}

bool xh_event_from(xcall *call, const xv *classes, const char *token, double timeout, xv **result_r,
                   xerr **errp)
{
    (void)call; (void)classes; (void)token; (void)timeout; (void)result_r;
    return xerr_NOT_IMPLEMENTED(errp, "event.from");
}

bool xh_event_inject(xcall *call, const char *class, const char *ref, xv **result_r, xerr **errp)
{
    (void)call; (void)class; (void)ref; (void)result_r;
    return xerr_NOT_IMPLEMENTED(errp, "event.inject");
}

bool xh_event_get_current_id(xcall *call, xv **result_r, xerr **errp)
{
    (void)call; (void)result_r;
    return xerr_NOT_IMPLEMENTED(errp, "event.get_current_id");
}

bool events_setup(const daemon_options *o, char **err_r)
{
    (void)o;
    (void)err_r;
    return true;
}

void events_tick(void)
{
}
