/* confplan: POST /config/plan, a VM config file turned into its creation
 * plan as JSON (see confplan.h and docs/web-console.md). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/vmdesc.h"
#include "daemon/session.h"
#include "rpc/confplan.h"
#include "rpc/jsonrpc.h"
#include "util/log.h"
#include "util/xv.h"

static const char *const step_kinds[] = {
    [VMD_STEP_CREATE] = "create",
    [VMD_STEP_DEFAULT_SR] = "default_sr",
    [VMD_STEP_FIND_VDI] = "find_vdi",
    [VMD_STEP_FIND_NETWORK] = "find_network",
    [VMD_STEP_FIND_PPCI] = "find_ppci",
};

static xv *member_value(const vmd_member *m)
{
    switch (m->type) {
    case VMD_V_INT:
        return xv_int(m->i);
    case VMD_V_BOOL:
        return xv_bool(m->b);
    case VMD_V_MAP: {
        xv *map = xv_struct();
        for (size_t i = 0; i < m->map.n; i++)
            xv_struct_append(map, m->map.v[i].key, xv_str(m->map.v[i].value));
        return map;
    }
    case VMD_V_STRING:
    case VMD_V_REF:
        break;
    }
    return xv_str(m->s);
}

/* {"steps": [{"kind", "method", "bind", "arg", "unless", "record", "refs"}]}:
 * a member that names an earlier step's result is in "refs" (field ->
 * symbol), never in "record", so no string value can pass for a ref. */
static xv *plan_value(const vmd_plan *p)
{
    xv *steps = xv_array();
    for (size_t i = 0; i < p->n; i++) {
        const vmd_step *st = &p->v[i];
        xv *s = xv_struct();
        xv_struct_append(s, "kind", xv_str(step_kinds[st->kind]));
        if (st->method)
            xv_struct_append(s, "method", xv_str(st->method));
        if (st->bind)
            xv_struct_append(s, "bind", xv_str(st->bind));
        if (st->arg)
            xv_struct_append(s, "arg", xv_str(st->arg));
        if (st->unless)
            xv_struct_append(s, "unless", xv_str(st->unless));
        if (st->kind == VMD_STEP_CREATE) {
            xv *rec = xv_struct(), *refs = xv_struct();
            for (size_t k = 0; k < st->n_rec; k++) {
                const vmd_member *m = &st->rec[k];
                xv_struct_append(m->type == VMD_V_REF ? refs : rec, m->name, member_value(m));
            }
            xv_struct_append(s, "record", rec);
            xv_struct_append(s, "refs", refs);
        }
        xv_array_add(steps, s);
    }
    xv *top = xv_struct();
    xv_struct_append(top, "steps", steps);
    return top;
}

static xv *error_value(const char *code, const char *message)
{
    xv *e = xv_array();
    xv_array_add(e, xv_str(code));
    xv_array_add(e, xv_str(message));
    xv *top = xv_struct();
    xv_struct_append(top, "error", e);
    return top;
}

char *rpc_confplan(const char *session, const char *name, const char *body, size_t len, unsigned *status_r,
                   size_t *len_r)
{
    xv *answer = NULL;
    *status_r = 200;
    xerr *err = NULL;
    if (!session || !session_check(NULL, session, &err)) {
        xerr_free(err);
        *status_r = 403;
        answer = error_value("SESSION_INVALID", "log in first: the X-Session header names no live session");
    } else if (len > VMD_MAX_INPUT) {
        *status_r = 413;
        answer = error_value("VALUE_NOT_SUPPORTED", "the file is larger than a VM config file may be");
    } else {
        /* the client's file name picks the format (by extension) and names
         * the file in messages; only its last component is used */
        const char *base = name ? strrchr(name, '/') : NULL;
        base = base ? base + 1 : (name && *name ? name : "upload");
        const char *dot = strrchr(base, '.');
        vmd_parse_opts o = { .format = dot ? vmd_format_from_name(dot + 1) : VMD_FMT_AUTO, .filename = base };
        vmdesc d;
        vmd_plan plan = { 0 };
        vmd_err e;
        char msg[512];
        if (vmd_parse_buffer(body, len, &o, &d, &e) && vmdesc_finish(&d, &e) &&
            vmd_plan_build(&d, &(vmd_plan_opts){ .transient = false }, &plan, &e)) {
            answer = plan_value(&plan);
        } else {
            answer = error_value("VALUE_NOT_SUPPORTED", vmd_err_str(&e, msg, sizeof msg));
            xlog(XLOG_INFO, "config/plan: %s", msg);
        }
        vmd_plan_free(&plan);
        vmdesc_free(&d);
    }
    xbuf b;
    xbuf_init(&b);
    jsonrpc_encode_value(&b, answer);
    xv_free(answer);
    return xbuf_steal(&b, len_r);
}
