/* xm: wait for an async task, with a progress bar on a terminal and plain
 * "what: N%" lines otherwise. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xm/xm.h"

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void draw(const char *what, int64_t pct, bool tty)
{
    if (pct < 0)
        pct = 0;
    if (pct > 100)
        pct = 100;
    if (tty) {
        char bar[41];
        int fill = (int)(pct * 40 / 100);
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '.', (size_t)(40 - fill));
        bar[40] = '\0';
        printf("\r%-10s [%s] %3d%%", what, bar, (int)pct);
    } else {
        printf("%s: %d%%\n", what, (int)pct);
    }
    fflush(stdout);
}

int xm_wait_task(xen_session *s, xen_task task, const char *what, char **result_r)
{
    bool tty = isatty(STDOUT_FILENO);
    int64_t shown = -1;
    long delay = 20;
    int rc = XM_EXIT_OK;
    if (result_r)
        *result_r = NULL;
    for (;;) {
        xen_task_record *t = NULL;
        if (!xen_task_get_record(s, &t, task)) {
            rc = xm_fail(s);
            break;
        }
        if (t->progress != shown && (tty || t->status != XEN_TASK_STATUS_TYPE_PENDING || t->progress < 100)) {
            draw(what, t->progress, tty);
            shown = t->progress;
        }
        if (t->status != XEN_TASK_STATUS_TYPE_PENDING && t->status != XEN_TASK_STATUS_TYPE_CANCELLING) {
            if (tty)
                putchar('\n');
            if (t->status == XEN_TASK_STATUS_TYPE_SUCCESS) {
                if (result_r)
                    *result_r = xm_strdup(t->result);
            } else if (t->error_info && t->error_info->size) {
                fflush(stdout);
                rc = xm_fail_desc((const char *const *)t->error_info->contents, (int)t->error_info->size);
            } else {
                rc = xm_err(XM_EXIT_FAIL, "%s was %s.", what, xen_task_status_type_to_string(t->status));
            }
            xen_task_record_free(t);
            break;
        }
        xen_task_record_free(t);
        sleep_ms(delay);
        if (delay < 200)
            delay *= 2;
    }
    if (!xen_task_destroy(s, task))
        xen_session_clear_error(s);
    return rc;
}
