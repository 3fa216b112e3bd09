/* event_api: the event class's handlers: event.register, unregister,
 * next, from, inject, get_current_id (see event_int.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "daemon/classes.h"
#include "daemon/daemon.h"
#include "daemon/event_int.h"
#include "daemon/session.h"
#include "daemon/store.h"
#include "daemon/task.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/strutil.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

/* ---- handlers ---- */

/* Class names to a mask: case-insensitive, "*" is every class, unknown
 * names are ignored; an empty list is every class when empty_all. */
static uint64_t parse_classes(const xv *classes, bool empty_all)
{
    if (classes->u.arr.n == 0)
        return empty_all ? ev_all_mask : 0;
    uint64_t m = 0;
    for (size_t i = 0; i < classes->u.arr.n; i++) {
        const xv *v = classes->u.arr.items[i];
        if (v->kind != XV_STRING)
            continue;
        if (strcmp(v->u.str.s, "*") == 0) {
            m |= ev_all_mask;
            continue;
        }
        const xclass_desc *c = xclass_by_name_ci(v->u.str.s);
        if (c && has_cls(ev_all_mask, c->id))
            m |= 1ULL << c->id;
    }
    return m;
}

/* The register mask of s changed: re-file its waiting event.next. */
static void relist(sub *s)
{
    waiter *w = s->nextw;
    if (!w || w->state != W_WAITING)
        return;
    if (!s->reg_mask) {
        xerr *e = NULL;
        xerr_SESSION_NOT_REGISTERED(&e, s->session);
        ev_ready(w, e);
        return;
    }
    ev_lists_unlink(w);
    ev_lists_link(w);
}

bool xh_event_register(xcall *call, const xv *classes, xerr **errp)
{
    (void)errp;
    uint64_t mask = parse_classes(classes, true);
    store_rdlock();
    pthread_mutex_lock(&ev_state.lock);
    sub *s = ev_sub_get(call->session);
    if (!s->reg_mask || s->lost) {      /* a new start, or the re-sync after EVENTS_LOST */
        s->cursor = ev_state.head;
        s->lost = false;
    }
    for (int c = 0; c < XCL__COUNT; c++)
        if (has_cls(mask, c) && !has_cls(s->reg_mask, c))
            s->since[c] = ev_state.head;
    s->reg_mask |= mask;
    ev_update_interest(s);
    relist(s);
    pthread_mutex_unlock(&ev_state.lock);
    store_unlock();
    return true;
}

bool xh_event_unregister(xcall *call, const xv *classes, xerr **errp)
{
    (void)errp;
    uint64_t mask = parse_classes(classes, true);
    pthread_mutex_lock(&ev_state.lock);
    sub *s = ev_sub_find(call->session);
    if (s) {
        s->reg_mask &= ~mask;
        ev_update_interest(s);
        relist(s);
    }
    pthread_mutex_unlock(&ev_state.lock);
    return true;
}

bool xh_event_next(xcall *call, xv **result_r, xerr **errp)
{
    batch b = { 0 };
    pthread_mutex_lock(&ev_state.lock);
    sub *s = ev_sub_find(call->session);
    if (!s || !s->reg_mask) {
        pthread_mutex_unlock(&ev_state.lock);
        return xerr_SESSION_NOT_REGISTERED(errp, call->session);
    }
    if (!ev_collect_next(s, &b, errp)) {
        pthread_mutex_unlock(&ev_state.lock);
        return false;
    }
    if (b.n == 0 && !ev_state.stopping) {
        waiter *w = ev_waiter_new(call, s, false);
        pthread_mutex_unlock(&ev_state.lock);
        ev_start_wait(w);
        return true;
    }
    pthread_mutex_unlock(&ev_state.lock);
    if (b.n == 0) {
        ev_batch_free(&b);
        return xerr_EVENTS_LOST(errp);
    }
    *result_r = ev_build_next(&b);
    ev_batch_free(&b);
    return true;
}

/* A decimal number of 1 to 20 digits, exactly len bytes, into *out. */
static bool parse_u64(const char *p, size_t len, uint64_t *out)
{
    return len <= 20 && xv_parse_uint(p, len, out);
}

/* XAPI's "<id>,<message generation>" (ev_token_value), or a bare id as earlier
 * xend versions gave. */
static bool parse_token(const char *token, uint64_t *out)
{
    const char *comma = strchr(token, ',');
    uint64_t msg;
    if (!comma)
        return parse_u64(token, strlen(token), out);
    return parse_u64(token, (size_t)(comma - token), out) && parse_u64(comma + 1, strlen(comma + 1), &msg);
}

/* event.from's classes: "*" (every class), a class name in any case, or
 * "class/ref" for one object (either ref form).  Unknown classes match
 * nothing, as in XAPI; an empty class or ref is a parse failure. */
static bool parse_fsubs(const xv *classes, fsubs *f, xerr **errp)
{
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < classes->u.arr.n; i++) {
        const char *spec = classes->u.arr.items[i]->u.str.s;   /* a string Set: coerced */
        const char *slash = strchr(spec, '/');
        if (!slash) {
            if (strcmp(spec, "*") == 0) {
                f->mask |= ev_all_mask;
            } else if (!*spec) {
                free(f->o);
                return xerr_EVENT_SUBSCRIPTION_PARSE_FAILURE(errp, spec);
            } else {
                const xclass_desc *c = xclass_by_name_ci(spec);
                if (c && has_cls(ev_all_mask, c->id))
                    f->mask |= 1ULL << c->id;
            }
            continue;
        }
        char cname[64];
        size_t clen = (size_t)(slash - spec);
        const char *ref = xref_plain(slash + 1);
        if (clen == 0 || clen >= sizeof(cname) || !slash[1] || strlen(ref) >= XREF_LEN) {
            free(f->o);
            return xerr_EVENT_SUBSCRIPTION_PARSE_FAILURE(errp, spec);
        }
        memcpy(cname, spec, clen);
        cname[clen] = '\0';
        const xclass_desc *c = xclass_by_name_ci(cname);
        if (!c || !has_cls(ev_all_mask, c->id))
            continue;
        struct fobj *no = realloc(f->o, (f->n + 1) * sizeof(*no));
        if (!no)
            abort();
        f->o = no;
        f->o[f->n].cls = c->id;
        snprintf(f->o[f->n].ref, XREF_LEN, "%s", ref);
        f->n++;
        f->omask |= 1ULL << c->id;
    }
    return true;
}

/* One object's "add" for event.from with token "". */
static xv *initial_event(const xobj *o, int c, uint64_t token, int64_t now)
{
    xv *r = xv_struct();
    xv_struct_append(r, "id", xv_int((int64_t)token));
    xv_struct_append(r, "timestamp", xv_datetime_t(now));
    xv_struct_append(r, "class", xv_str(ev_lc_names[c]));
    xv_struct_append(r, "operation", xv_str("add"));
    xv_struct_append(r, "ref", xv_str(o->ref));
    xv_struct_append(r, "obj_uuid", xv_str(o->ref));
    xv_struct_append(r, "snapshot", xobj_record(o));
    return r;
}

/* event.from with token "": every object subscribed to as an "add". */
static bool from_initial(xcall *call, const fsubs *f, xv **result_r)
{
    xv *events = xv_array();
    store_rdlock();
    pthread_mutex_lock(&ev_state.lock);
    sub *s = ev_sub_get(call->session);
    s->from_mask |= f->mask | f->omask;
    ev_update_interest(s);
    uint64_t token = ev_state.head;
    pthread_mutex_unlock(&ev_state.lock);
    int64_t now = time(NULL);
    for (int c = 0; c < XCL__COUNT; c++) {
        if (!has_cls(f->mask | f->omask, c))
            continue;
        for (xobj *o = store_first(c); o; o = store_next(o)) {
            if (c == XCL_task && strcmp(xobj_str(o, XF_task_session), call->session) != 0)
                continue;
            if (ev_fsubs_match(f, c, o->ref))
                xv_array_add(events, initial_event(o, c, token, now));
        }
    }
    xv *res = xv_struct();
    xv_struct_append(res, "events", events);
    xv_struct_append(res, "valid_ref_counts", ev_ref_counts(call));
    xv_struct_append(res, "token", ev_token_value(token));
    store_unlock();
    *result_r = res;
    return true;
}

bool xh_event_from(xcall *call, const xv *classes, const char *token, double timeout, xv **result_r,
                   xerr **errp)
{
    fsubs f;
    if (!parse_fsubs(classes, &f, errp))
        return false;
    if (!*token) {
        from_initial(call, &f, result_r);
        free(f.o);
        return true;
    }
    uint64_t cursor;
    if (!parse_token(token, &cursor)) {
        free(f.o);
        return xerr_EVENT_FROM_TOKEN_PARSE_FAILURE(errp, token);
    }
    if (!(timeout <= MAX_TIMEOUT))      /* also NaN */
        timeout = MAX_TIMEOUT;
    store_rdlock();
    pthread_mutex_lock(&ev_state.lock);
    sub *s = ev_sub_get(call->session);
    s->from_mask |= f.mask | f.omask;
    ev_update_interest(s);
    pthread_mutex_unlock(&ev_state.lock);
    store_unlock();

    batch b = { 0 };
    pthread_mutex_lock(&ev_state.lock);
    if (!ev_collect_from(&f, call->session, cursor, &b, errp)) {
        pthread_mutex_unlock(&ev_state.lock);
        ev_batch_free(&b);
        free(f.o);
        return false;
    }
    if (b.n == 0 && timeout > 0 && !ev_state.stopping) {
        waiter *w = ev_waiter_new(call, s, true);
        w->f = f;
        w->cursor = b.upto;
        w->deadline_ms = xloop_now_ms() + (int64_t)(timeout * 1000.0 + 0.5);
        pthread_mutex_unlock(&ev_state.lock);
        ev_batch_free(&b);
        ev_start_wait(w);
        return true;
    }
    pthread_mutex_unlock(&ev_state.lock);
    free(f.o);
    *result_r = ev_build_from(&b, call);
    ev_batch_free(&b);
    return true;
}

/* A "mod" event for the object; the token returned is just before it, so
 * the next event.from with it returns at least that event (XAPI). */
bool xh_event_inject(xcall *call, const char *class, const char *sent_ref, xv **result_r, xerr **errp)
{
    const char *ref = xref_plain(sent_ref);
    const xclass_desc *c = xclass_by_name_ci(class);
    if (!c || !has_cls(ev_all_mask, c->id))
        return xerr_HANDLE_INVALID(errp, class, sent_ref);
    store_wrlock();
    xobj *o = store_find(c->id, ref);
    if (!o) {
        store_unlock();
        return xerr_HANDLE_INVALID(errp, c->name, sent_ref);
    }
    const xclass_ops *ops = xclass_get_ops(c->id);
    if (ops && ops->read && !ops->read(call, o, errp)) {
        store_unlock();
        return false;
    }
    uint64_t id = ev_log_append(c->id, XSTORE_MOD, o);
    store_unlock();
    *result_r = ev_token_value(id - 1);
    return true;
}

uint64_t events_current_id(void)
{
    pthread_mutex_lock(&ev_state.lock);
    uint64_t id = ev_state.head;
    pthread_mutex_unlock(&ev_state.lock);
    return id;
}

bool xh_event_get_current_id(xcall *call, xv **result_r, xerr **errp)
{
    (void)call;
    (void)errp;
    *result_r = xv_int((int64_t)events_current_id());
    return true;
}
