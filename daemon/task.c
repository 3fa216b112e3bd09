/* task: Async calls as task objects. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/store.h"
#include "daemon/task.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

bool task_create_for_call(xcall *call, xerr **errp)
{
    (void)errp;
    xobj *t = xobj_new(XC_task, NULL);
    xv_free(t->f[XF_task_name_label]);
    t->f[XF_task_name_label] = xv_str(call->m->name);
    xv_free(t->f[XF_task_session]);
    t->f[XF_task_session] = xv_str(call->session);
    xv_free(t->f[XF_task_status]);
    t->f[XF_task_status] = xv_str("pending");
    xv_free(t->f[XF_task_created]);
    t->f[XF_task_created] = xv_datetime_t(time(NULL));
    snprintf(call->task, sizeof(call->task), "%s", t->ref);
    store_wrlock();
    store_insert(t);
    store_unlock();
    return true;
}

void task_finish(const char *task_ref, const xv *result, const xerr *err)
{
    store_wrlock();
    xobj *t = store_find(XC_task, task_ref);
    if (t) {
        xobj_set_int(t, XF_task_progress, 100);
        xobj_set(t, XF_task_finished, xv_datetime_t(time(NULL)));
        if (err) {
            xv *info = xv_array();
            xv_array_add(info, xv_str(err->code));
            for (size_t i = 0; i < err->n; i++)
                xv_array_add(info, xv_str(err->params[i]));
            xobj_set(t, XF_task_error_info, info);
            xobj_set_str(t, XF_task_status, "failure");
        } else {
            if (result && result->kind == XV_STRING)
                xobj_set_str(t, XF_task_result, result->u.str.s);
            xobj_set_str(t, XF_task_status, "success");
        }
    }
    store_unlock();
}

void task_set_progress(const char *task_ref, int percent)
{
    if (!task_ref || !*task_ref)
        return;
    store_wrlock();
    xobj *t = store_find(XC_task, task_ref);
    if (t)
        xobj_set_int(t, XF_task_progress, percent);
    store_unlock();
}

bool task_cancel_requested(const char *task_ref)
{
    (void)task_ref;
    return false;
}

bool xh_task_cancel(xcall *call, const char *task, xerr **errp)
{
    (void)call;
    (void)task;
    return xerr_OPERATION_NOT_ALLOWED(errp);
}

