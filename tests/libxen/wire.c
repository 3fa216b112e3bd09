/* libxen wire behaviour against canned server replies (no daemon): a fake
 * call_func records each request and answers with a prepared body.
 * Covers: the Status struct read by name, ints as strings/<int>/<i4>/<i8>,
 * both empty-array forms, whitespace between elements, faults, transport
 * failures, datetimes, unknown enums and record members, maps with int keys,
 * sticky errors, async calls, event records, request encoding, Xen 4.4.0's
 * int results and the XENAPI_1.0 forms they replaced; replies decoded
 * straight into records give what the xv tree gives.  And the transport's
 * own HTTP/1.1 on a Unix socket, against a forked server of canned replies:
 * counted, chunked and until-close bodies, interim replies, a kept-alive
 * connection the server closed. */
#include "config.h"

#include "tests/lib/xtest.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xen/api/xen_all.h>
#include <xen/api/xen_transport.h>

#include "xen_internal.h"
#include "xen_gen_internal.h"
#include "util/xmlrpc.h"

/* ------------------------------------------------------ the fake server */
static const char *reply;      /* the body to answer with */
static int reply_rc;           /* what call_func returns */
static size_t chunk;           /* deliver the reply in pieces of this size (0: whole) */
static char *request;          /* the last request body */
static int calls;

static int fake_call(const void *data, size_t len, void *user_handle,
                     void *result_handle, xen_result_func result_func)
{
    CHECK(user_handle == (void *)&calls);
    calls++;
    free(request);
    request = strndup(data, len);
    if (reply_rc)
        return reply_rc;
    size_t n = strlen(reply);
    size_t step = chunk ? chunk : n;
    for (size_t off = 0; off < n; off += step)
        if (!result_func(reply + off, off + step > n ? n - off : step, result_handle))
            return -1;
    return 0;
}

#define OK_BEGIN "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>" \
    "<member><name>Status</name><value><string>Success</string></value></member>" \
    "<member><name>Value</name><value>"
#define OK_END "</value></member></struct></value></param></params></methodResponse>"
#define OK(v) OK_BEGIN v OK_END

static bool has_error(xen_session *s, int n, const char *const *want)
{
    if (s->ok || s->error_description_count != n)
        return false;
    for (int i = 0; i < n; i++)
        if (strcmp(s->error_description[i], want[i]) != 0)
            return false;
    return true;
}

static xen_session *login(void)
{
    reply = OK("<string>sess-1</string>");
    xen_session *s = xen_session_login_with_password(fake_call, &calls, "alice", "pw<&>");
    CHECK(s && s->ok);
    CHECK(s->session_id && strcmp(s->session_id, "sess-1") == 0);
    CHECK(strstr(request, "<methodName>session.login_with_password</methodName>") != NULL);
    CHECK(strstr(request, "alice") != NULL && strstr(request, "pw&lt;&amp;&gt;") != NULL);
    return s;
}

static void test_ints(xen_session *s)
{
    static const char *const forms[] = {
        OK("<string>4</string>"), OK("<int>4</int>"), OK("<i4>4</i4>"), OK("<i8>4</i8>"),
        OK("4"),
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        int64_t v = 0;
        reply = forms[i];
        CHECK(xen_vm_get_vcpus_max(s, &v, "vm-1"));
        CHECK(v == 4);
    }
    /* big values survive */
    int64_t v = 0;
    reply = OK("<string>-9223372036854775807</string>");
    CHECK(xen_vm_get_memory_static_max(s, &v, "vm-1") && v == -INT64_C(9223372036854775807));
    /* the request: session ref first, then the VM ref */
    CHECK(strstr(request, "<methodName>VM.get_memory_static_max</methodName>") != NULL);
    const char *p1 = strstr(request, "sess-1"), *p2 = strstr(request, "vm-1");
    CHECK(p1 && p2 && p1 < p2);
    /* ints are sent as strings */
    reply = OK("<string></string>");
    CHECK(xen_vm_set_vcpus_max(s, "vm-1", 12345678901LL));
    CHECK(strstr(request, "<string>12345678901</string>") != NULL);
    CHECK(strstr(request, "<int>") == NULL && strstr(request, "<i8>") == NULL);
}

static void test_status_order_and_whitespace(xen_session *s)
{
    char *label = NULL;
    reply = "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
            "<member><name>Value</name><value><string>web</string></value></member>"
            "<member><name>Status</name><value><string>Success</string></value></member>"
            "</struct></value></param></params></methodResponse>";
    CHECK(xen_vm_get_name_label(s, &label, "vm-1") && label && strcmp(label, "web") == 0);
    free(label);

    reply = "<?xml version=\"1.0\"?>\n<methodResponse>\n  <params>\n    <param>\n      <value>\n"
            "        <struct>\n          <member>\n            <name>Status</name>\n"
            "            <value><string>Success</string></value>\n          </member>\n"
            "          <member>\n            <name>Value</name>\n            <value>\n"
            "              <array>\n                <data>\n"
            "                  <value><string>a</string></value>\n"
            "                  <value>b</value>\n"
            "                </data>\n              </array>\n            </value>\n"
            "          </member>\n        </struct>\n      </value>\n    </param>\n"
            "  </params>\n</methodResponse>\n";
    struct xen_vm_set *vms = NULL;
    CHECK(xen_vm_get_all(s, &vms));
    CHECK(vms && vms->size == 2 && strcmp(vms->contents[0], "a") == 0 &&
          strcmp(vms->contents[1], "b") == 0);
    xen_vm_set_free(vms);
}

static void test_empty_arrays(xen_session *s)
{
    static const char *const forms[] = {
        OK("<array><data/></array>"), OK("<array/>"), OK("<array><data></data></array>"),
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct xen_vif_set *vifs = NULL;
        reply = forms[i];
        CHECK(xen_vm_get_vifs(s, &vifs, "vm-1"));
        CHECK(vifs && vifs->size == 0);
        xen_vif_set_free(vifs);
    }
}

static void test_errors(xen_session *s)
{
    reply = OK_BEGIN "" OK_END;   /* unused */
    reply = "<methodResponse><params><param><value><struct>"
            "<member><name>Status</name><value>Failure</value></member>"
            "<member><name>ErrorDescription</name><value><array><data>"
            "<value><string>HANDLE_INVALID</string></value><value>VM</value>"
            "<value><string>bogus</string></value></data></array></value></member>"
            "</struct></value></param></params></methodResponse>";
    char *label = (char *)"untouched";
    CHECK(!xen_vm_get_name_label(s, &label, "bogus"));
    CHECK(label == NULL);
    const char *const e1[] = { "HANDLE_INVALID", "VM", "bogus" };
    CHECK(has_error(s, 3, e1));

    /* sticky: no call is made until the error is cleared */
    int before = calls;
    int64_t v;
    CHECK(!xen_vm_get_vcpus_max(s, &v, "vm-1"));
    CHECK(calls == before);
    CHECK(has_error(s, 3, e1));
    xen_session_clear_error(s);
    CHECK(s->ok && s->error_description_count == 0 && s->error_description == NULL);

    /* an XML-RPC fault */
    reply = "<methodResponse><fault><value><struct>"
            "<member><name>faultCode</name><value><int>42</int></value></member>"
            "<member><name>faultString</name><value><string>boom</string></value></member>"
            "</struct></value></fault></methodResponse>";
    CHECK(!xen_vm_start(s, "vm-1", false));
    const char *const e2[] = { "FAULT", "42", "boom" };
    CHECK(has_error(s, 3, e2));
    xen_session_clear_error(s);

    /* the transport failed */
    reply_rc = 7;
    CHECK(!xen_vm_start(s, "vm-1", false));
    const char *const e3[] = { "TRANSPORT_FAULT", "7" };
    CHECK(has_error(s, 2, e3));
    reply_rc = 0;
    xen_session_clear_error(s);

    /* garbage and odd Status values */
    reply = "<methodResponse><params><param><value><struct>";
    CHECK(!xen_vm_start(s, "vm-1", false));
    CHECK(!s->ok && s->error_description_count == 2 &&
          strcmp(s->error_description[0], "SERVER_FAULT") == 0);
    xen_session_clear_error(s);
    reply = "<methodResponse><params><param><value><struct>"
            "<member><name>Status</name><value>Error</value></member>"
            "</struct></value></param></params></methodResponse>";
    CHECK(!xen_vm_start(s, "vm-1", false));
    CHECK(!s->ok && strcmp(s->error_description[0], "SERVER_FAULT") == 0);
    xen_session_clear_error(s);

    /* a wrong type is an error, not a crash */
    reply = OK("<array><data/></array>");
    int64_t x = 99;
    CHECK(!xen_vm_get_vcpus_max(s, &x, "vm-1") && x == 0);
    CHECK(!s->ok && strcmp(s->error_description[0], "SERVER_FAULT") == 0);
    xen_session_clear_error(s);
}

static void test_datetime_enum_record(xen_session *s)
{
    time_t t = 0;
    reply = OK("<dateTime.iso8601>20240102T10:11:12</dateTime.iso8601>");
    CHECK(xen_session_get_last_active(s, &t, s) && t == 1704190272);
    CHECK(strstr(request, "<methodName>session.get_last_active</methodName>") != NULL);

    enum xen_vm_power_state ps = XEN_VM_POWER_STATE_HALTED;
    reply = OK("<string>Running</string>");
    CHECK(xen_vm_get_power_state(s, &ps, "vm-1") && ps == XEN_VM_POWER_STATE_RUNNING);
    reply = OK("<string>Levitating</string>");
    CHECK(xen_vm_get_power_state(s, &ps, "vm-1") && ps == XEN_VM_POWER_STATE_UNDEFINED);
    CHECK(s->ok);
    CHECK(strcmp(xen_vm_power_state_to_string(XEN_VM_POWER_STATE_SUSPENDED), "Suspended") == 0);
    CHECK(strcmp(xen_vm_power_state_to_string(XEN_VM_POWER_STATE_UNDEFINED), "undefined") == 0);
    CHECK(xen_vm_power_state_from_string(s, "Paused") == XEN_VM_POWER_STATE_PAUSED);
    CHECK(xen_vm_power_state_from_string(NULL, "paused") == XEN_VM_POWER_STATE_UNDEFINED);
    CHECK(xen_vbd_mode_from_string(s, "RW") == XEN_VBD_MODE_RW);

    /* a record with unknown members (XAPI-era fields) and missing ones */
    reply = OK("<struct>"
               "<member><name>uuid</name><value>u-1</value></member>"
               "<member><name>allowed_operations</name><value><array><data>"
               "<value>start</value></data></array></value></member>"
               "<member><name>power_state</name><value>Halted</value></member>"
               "<member><name>name_label</name><value><string>web &amp; db</string></value></member>"
               "<member><name>VCPUs_max</name><value><i4>2</i4></value></member>"
               "<member><name>resident_on</name><value>host-1</value></member>"
               "<member><name>VBDs</name><value><array><data><value>vbd-1</value>"
               "<value>vbd-2</value></data></array></value></member>"
               "<member><name>other_config</name><value><struct>"
               "<member><name>k</name><value>v</value></member></struct></value></member>"
               "<member><name>is_a_template</name><value><boolean>1</boolean></value></member>"
               "<member><name>blocked_operations</name><value><struct/></value></member>"
               "</struct>");
    xen_vm_record *r = NULL;
    CHECK(xen_vm_get_record(s, &r, "vm-1"));
    if (r) {
        CHECK(strcmp(r->handle, "vm-1") == 0);
        CHECK(strcmp(r->uuid, "u-1") == 0);
        CHECK(strcmp(r->name_label, "web & db") == 0);
        CHECK(r->vcpus_max == 2 && r->is_a_template);
        CHECK(r->power_state == XEN_VM_POWER_STATE_HALTED);
        CHECK(!r->resident_on->is_record && strcmp(r->resident_on->u.handle, "host-1") == 0);
        CHECK(r->vbds->size == 2 && strcmp(r->vbds->contents[1]->u.handle, "vbd-2") == 0);
        CHECK(r->other_config->size == 1 && strcmp(r->other_config->contents[0].val, "v") == 0);
        /* missing members come back empty, never NULL */
        CHECK(r->pv_kernel && strcmp(r->pv_kernel, "") == 0);
        CHECK(r->vifs && r->vifs->size == 0);
        CHECK(r->metrics && strcmp(r->metrics->u.handle, "") == 0);
        CHECK(r->platform && r->platform->size == 0);
    }
    xen_vm_record_free(r);

    /* maps with int keys */
    reply = OK("<struct><member><name>0</name><value><double>0.5</double></value></member>"
               "<member><name>3</name><value><double>0.25</double></value></member></struct>");
    xen_int_float_map *m = NULL;
    CHECK(xen_vm_metrics_get_vcpus_utilisation(s, &m, "m-1"));
    CHECK(m && m->size == 2 && m->contents[1].key == 3 && m->contents[1].val == 0.25);
    xen_int_float_map_free(m);
    reply = OK("<struct><member><name>1</name><value><array><data><value>fpu</value>"
               "</data></array></value></member></struct>");
    xen_int_string_set_map *fm = NULL;
    CHECK(xen_vm_metrics_get_vcpus_flags(s, &fm, "m-1"));
    CHECK(fm && fm->size == 1 && fm->contents[0].key == 1 && fm->contents[0].val->size == 1 &&
          strcmp(fm->contents[0].val->contents[0], "fpu") == 0);
    xen_int_string_set_map_free(fm);
}

static void test_create_async_events(xen_session *s)
{
    xen_vm_record *r = xen_vm_record_alloc();
    r->name_label = strdup("new-vm");
    r->memory_static_max = 268435456;
    r->actions_after_crash = XEN_ON_CRASH_BEHAVIOUR_PRESERVE;
    r->other_config = xen_string_string_map_alloc(1);
    r->other_config->contents[0].key = strdup("a");
    r->other_config->contents[0].val = strdup("b");
    xen_vm vm = NULL;
    reply = OK("<string>vm-new</string>");
    CHECK(xen_vm_create(s, &vm, r) && vm && strcmp(vm, "vm-new") == 0);
    CHECK(strstr(request, "<methodName>VM.create</methodName>") != NULL);
    CHECK(strstr(request, "<name>name_label</name><value><string>new-vm</string>") != NULL);
    CHECK(strstr(request, "<string>268435456</string>") != NULL);
    CHECK(strstr(request, "<string>preserve</string>") != NULL);
    CHECK(strstr(request, "<name>a</name><value><string>b</string>") != NULL);
    /* unset RO/run fields are not sent by create, RW ones always are */
    CHECK(strstr(request, "<name>suspend_VDI</name>") == NULL);
    CHECK(strstr(request, "<name>metrics</name>") == NULL);
    CHECK(strstr(request, "<name>uuid</name>") == NULL);
    CHECK(strstr(request, "<name>PV_ramdisk</name><value><string></string>") != NULL);
    xen_vm_free(vm);
    xen_vm_record_free(r);

    xen_task task = NULL;
    reply = OK("<string>task-1</string>");
    CHECK(xen_vm_start_async(s, &task, "vm-1", true) && strcmp(task, "task-1") == 0);
    CHECK(strstr(request, "<methodName>Async.VM.start</methodName>") != NULL);
    CHECK(strstr(request, "<boolean>1</boolean>") != NULL);
    xen_task_free(task);

    reply = OK("<struct><member><name>uuid</name><value>task-1</value></member>"
               "<member><name>status</name><value>success</value></member>"
               "<member><name>progress</name><value>100</value></member>"
               "<member><name>result</name><value></value></member>"
               "<member><name>error_info</name><value><array><data/></array></value></member>"
               "<member><name>allowed_operations</name><value><array><data><value>Cancel</value>"
               "</data></array></value></member></struct>");
    xen_task_record *tr = NULL;
    CHECK(xen_task_get_record(s, &tr, "task-1"));
    CHECK(tr && tr->status == XEN_TASK_STATUS_TYPE_SUCCESS && tr->progress == 100);
    CHECK(tr && tr->error_info->size == 0 && tr->allowed_operations->size == 1 &&
          tr->allowed_operations->contents[0] == XEN_TASK_ALLOWED_OPERATIONS_CANCEL);
    xen_task_record_free(tr);

    xen_string_set *classes = xen_string_set_alloc(1);
    classes->contents[0] = strdup("VM");
    reply = OK("<string></string>");
    CHECK(xen_event_register(s, classes));
    CHECK(strstr(request, "<methodName>event.register</methodName>") != NULL);
    CHECK(strstr(request, "<value><array><data><value><string>VM</string>") != NULL);
    xen_string_set_free(classes);

    reply = OK("<array><data><value><struct>"
               "<member><name>id</name><value><string>17</string></value></member>"
               "<member><name>timestamp</name><value><dateTime.iso8601>20240102T10:11:12"
               "</dateTime.iso8601></value></member>"
               "<member><name>class</name><value><string>VM</string></value></member>"
               "<member><name>operation</name><value><string>mod</string></value></member>"
               "<member><name>ref</name><value><string>vm-1</string></value></member>"
               "<member><name>obj_uuid</name><value><string>vm-1</string></value></member>"
               "<member><name>field</name><value><string>power_state</string></value></member>"
               "</struct></value></data></array>");
    chunk = 1;   /* the reply arrives one byte at a time */
    xen_event_record_set *ev = NULL;
    CHECK(xen_event_next(s, &ev));
    chunk = 0;
    CHECK(ev && ev->size == 1);
    if (ev && ev->size == 1) {
        CHECK(ev->contents[0]->id == 17 && ev->contents[0]->timestamp == 1704190272);
        CHECK(strcmp(ev->contents[0]->class, "VM") == 0);
        CHECK(ev->contents[0]->operation == XEN_EVENT_OPERATION_MOD);
        CHECK(strcmp(ev->contents[0]->ref, "vm-1") == 0);
    }
    xen_event_record_set_free(ev);

    /* event.from: a struct with a set of events and a (string -> int) map */
    reply = OK("<struct><member><name>events</name><value><array/></value></member>"
               "<member><name>valid_ref_counts</name><value><struct><member><name>VM</name>"
               "<value><string>3</string></value></member></struct></value></member>"
               "<member><name>token</name><value>42</value></member></struct>");
    xen_event_batch *b = NULL;
    xen_string_set *none = xen_string_set_alloc(0);
    CHECK(xen_event_from(s, &b, none, "", 1.5));
    CHECK(strstr(request, "<double>1.5") != NULL);
    CHECK(b && b->events->size == 0 && b->valid_ref_counts->size == 1 &&
          b->valid_ref_counts->contents[0].val == 3 && strcmp(b->token, "42") == 0);
    xen_event_batch_free(b);
    xen_string_set_free(none);
}

static void test_logout_and_urls(xen_session *s)
{
    reply = OK("<string></string>");
    int before = calls;
    xen_session_logout(s);
    CHECK(calls == before + 1);
    CHECK(strstr(request, "<methodName>session.logout</methodName>") != NULL);

    /* a failed login still returns a session to inspect */
    reply = "<methodResponse><params><param><value><struct>"
            "<member><name>Status</name><value>Failure</value></member>"
            "<member><name>ErrorDescription</name><value><array><data>"
            "<value>SESSION_AUTHENTICATION_FAILED</value></data></array></value></member>"
            "</struct></value></param></params></methodResponse>";
    xen_session *bad = xen_session_login_with_password(fake_call, &calls, "x", "y");
    const char *const e[] = { "SESSION_AUTHENTICATION_FAILED" };
    CHECK(bad && has_error(bad, 1, e) && bad->session_id == NULL);
    before = calls;
    xen_session_logout(bad);   /* no logout call for a session that never was */
    CHECK(calls == before);

    CHECK(xen_transport_new("ftp://x/") == NULL);
    CHECK(xen_transport_new("unix:relative") == NULL);
    xen_transport *t = xen_transport_new("unix:///nonexistent/xen-api.sock");
    CHECK(t != NULL);
    xen_session *u = xen_session_login_with_password(xen_transport_call, t, "a", "b");
    CHECK(u && !u->ok && strcmp(u->error_description[0], "TRANSPORT_FAULT") == 0);
    CHECK(strlen(xen_transport_last_error(t)) > 0);
    xen_session_logout(u);
    xen_transport_free(t);
    CHECK(xen_session_login_url("gopher://x/", "a", "b") == NULL);

    xen_version *v = xen_get_client_side_version();
    CHECK(v && v->extraversion);
    xen_version_free(v);
}

/* XSPolicy.get_xstype and VDI/VIF.set_security_label: Xen 4.4.0's int64_t
 * results (XENAPI_1.1) and the XENAPI_1.0 forms kept for old binaries. */
static void test_compat44_results(xen_session *s)
{
    int64_t n = -1;
    reply = OK("<string>3</string>");
    CHECK(xen_xspolicy_get_xstype(s, &n) && n == 3);
    CHECK(strstr(request, "<methodName>XSPolicy.get_xstype</methodName>") != NULL);
    enum xen_xs_type e = XEN_XS_TYPE_UNDEFINED;
    reply = OK("<string>XS_POLICY_ACM</string>");
    CHECK(xeni_xspolicy_get_xstype_1_0(s, &e) && e == XEN_XS_TYPE_XS_POLICY_ACM);

    /* a 1.0 server answers void (""): 0; xend 4.4 answered the ssidref */
    reply = OK("<string></string>");
    n = -1;
    CHECK(xen_vdi_set_security_label(s, &n, "vdi-1", "l", "old") && n == 0);
    CHECK(strstr(request, "<methodName>VDI.set_security_label</methodName>") != NULL);
    CHECK(strstr(request, "<string>vdi-1</string>") && strstr(request, "<string>old</string>"));
    reply = OK("<int>42</int>");
    CHECK(xen_vif_set_security_label(s, &n, "vif-1", "l", "") && n == 42);
    CHECK(strstr(request, "<methodName>VIF.set_security_label</methodName>") != NULL);
    reply = OK("<string>42x</string>");
    n = -1;
    CHECK(!xen_vdi_set_security_label(s, &n, "vdi-1", "l", "") && n == 0);
    static const char *const bad[] = { "SERVER_FAULT", "set_security_label answered neither an int nor void" };
    CHECK(has_error(s, 2, bad));
    xen_session_clear_error(s);
    reply = OK("<string>7</string>");
    CHECK(xeni_vdi_set_security_label_1_0(s, "vdi-1", "l", ""));
    CHECK(strstr(request, "<methodName>VDI.set_security_label</methodName>") != NULL);
    CHECK(xeni_vif_set_security_label_1_0(s, "vif-1", "l", ""));
    CHECK(strstr(request, "<methodName>VIF.set_security_label</methodName>") != NULL);
}

/* A reply in the plain form is decoded straight into the slots; with a
 * comment in it the same bytes go through libxml2 and the xv tree.  Both
 * must give the same value (compared re-encoded) or the same error. */
static void decode_both(xen_session *s, const xeni_type *t, const char *value)
{
    static const char *const tails[] = { "", "<!-- through the tree -->" };
    bool ok[2];
    char *got[2] = { NULL, NULL }, *err[2] = { NULL, NULL };
    for (int k = 0; k < 2; k++) {
        char *body = NULL;
        CHECK(asprintf(&body, OK_BEGIN "%s" OK_END "%s", value, tails[k]) > 0);
        reply = body;
        union {
            void *p;
            int64_t i;
            double d;
            bool b;
            time_t t;
            int e;
        } slot;
        ok[k] = xeni_call(s, "x.y", NULL, 0, t, &slot);
        if (ok[k]) {
            xv *v = xeni_to_xv(t, &slot, 0);
            xbuf b;
            xbuf_init(&b);
            xmlrpc_encode_value(&b, v);
            got[k] = xbuf_steal(&b, NULL);
            xv_free(v);
            xeni_slot_free(t, &slot);
        } else {
            CHECK(s->error_description_count >= 1);
            err[k] = strdup(s->error_description[s->error_description_count - 1]);
            xen_session_clear_error(s);
        }
        free(body);
    }
    CHECKF(ok[0] == ok[1], "%s: direct %d, tree %d (%s)", value, ok[0], ok[1],
           err[0] ? err[0] : err[1]);
    if (ok[0] && ok[1])
        CHECKF(strcmp(got[0], got[1]) == 0, "%s:\n direct %s\n tree   %s", value, got[0], got[1]);
    if (!ok[0] && !ok[1])
        CHECKF(strcmp(err[0], err[1]) == 0, "%s: direct %s, tree %s", value, err[0], err[1]);
    for (int k = 0; k < 2; k++) {
        free(got[k]);
        free(err[k]);
    }
}

static void test_direct_matches_tree(xen_session *s)
{
    static const struct {
        const xeni_type *t;
        const char *v;
    } cases[] = {
        { &xeni_t_string, "<string>a &amp; b &#233;</string>" },
        { &xeni_t_string, "  untyped &lt;x&gt; " },
        { &xeni_t_string, "" },
        { &xeni_t_string, "<int>7</int>" },
        { &xeni_t_string, "<boolean>1</boolean>" },
        { &xeni_t_int, "<string>-42</string>" },
        { &xeni_t_int, "<string> 42</string>" },
        { &xeni_t_int, "<i8>9223372036854775807</i8>" },
        { &xeni_t_int, "<string>99999999999999999999</string>" },
        { &xeni_t_int, "<struct></struct>" },
        { &xeni_t_float, "<double>0.25</double>" },
        { &xeni_t_float, "<string>1e3</string>" },
        { &xeni_t_float, "<string>x</string>" },
        { &xeni_t_bool, "<boolean>1</boolean>" },
        { &xeni_t_bool, "<boolean>0</boolean>" },
        { &xeni_t_bool, "<boolean> 1 </boolean>" },
        { &xeni_t_bool, "<string>TRUE</string>" },
        { &xeni_t_bool, "<string>2</string>" },
        { &xeni_t_datetime, "<dateTime.iso8601>20240102T10:11:12</dateTime.iso8601>" },
        { &xeni_t_datetime, "<string>2024-01-02T10:11:12Z</string>" },
        { &xeni_t_datetime, "<string>soon</string>" },
        { &xeni_t_string_set, "<array><data><value>a</value><value><string>b</string></value>"
                              "<value><int>3</int></value></data></array>" },
        { &xeni_t_string_set, "<array><data/></array>" },
        { &xeni_t_string_set, "<string></string>" },
        { &xeni_t_string_set, "<string>x</string>" },
        { &xeni_t_string_set,
          "<array><data><value><array><data></data></array></value></data></array>" },
        { &xeni_t_vm_power_state_set,
          "<array><data><value>Running</value><value>Levitating</value></data></array>" },
        { &xeni_t_string_string_map,
          "<struct><member><name>k</name><value>v</value></member>"
          "<member><name>k2</name><value><string></string></value></member></struct>" },
        { &xeni_t_string_string_map, "<struct><member><name>k</name><value>1</value></member>"
                                     "<member><name>k</name><value>2</value></member></struct>" },
        { &xeni_t_int_float_map,
          "<struct><member><name>0</name><value><double>0.5</double></value></member>"
          "<member><name>1</name><value><string>0.25</string></value></member></struct>" },
        { &xeni_t_int_float_map,
          "<struct><member><name>x</name><value><double>0.5</double></value></member></struct>" },
        { &xeni_t_int_float_map,
          "<struct><member><name>1</name><value><double>0.5</double></value></member>"
          "<member><name>01</name><value><double>1</double></value></member></struct>" },
        { &xeni_t_int_string_set_map,
          "<struct><member><name>1</name><value><array><data><value>fpu</value>"
          "</data></array></value></member></struct>" },
        { &xeni_t_vm_xen_vm_record_map,
          "<struct><member><name>OpaqueRef:1</name><value><struct>"
          "<member><name>uuid</name><value><string>u-1</string></value></member>"
          "<member><name>power_state</name><value><string>Running</string></value></member>"
          "<member><name>name_label</name><value>one</value></member>"
          "<member><name>not_a_field</name><value><struct><member><name>a</"
          "name><value><array><data>"
          "<value>1</value></data></array></value></member></struct></value></member>"
          "<member><name>is_a_template</name><value><boolean>0</boolean></value></member>"
          "<member><name>memory_static_max</name><value><string>1024</string></value></member>"
          "<member><name>VCPUs_params</name><value><struct><member><name>weight</name><value>256</"
          "value>"
          "</member></struct></value></member>"
          "<member><name>VBDs</name><value><array><data><value>vbd-1</value><value>vbd-2</value></"
          "data></array>"
          "</value></member>"
          "<member><name>metrics</name><value><string>m-1</string></value></member>"
          "<member><name>suspend_VDI</name><value></value></member>"
          "</struct></value></member>"
          "<member><name>OpaqueRef:2</name><value><struct></struct></value></member></struct>" },
        { &xeni_t_vm_xen_vm_record_map, "<struct><member><name>r</name><value><struct>"
                                        "<member><name>name_label</name><value>a</value></member>"
                                        "<member><name>name_label</name><value>b</value></member></"
                                        "struct></value></member></struct>" },
        { &xeni_t_vm_xen_vm_record_map,
          "<struct><member><name>r</name><value><struct></struct></value></member>"
          "<member><name>r</name><value><struct></struct></value></member></struct>" },
        { &xeni_t_vm_xen_vm_record_map, "<struct><member><name>r</name><value><struct>"
                                        "<member><name>memory_static_max</name><value>lots</"
                                        "value></member></struct></value></member></struct>" },
        { &xeni_t_vm_xen_vm_record_map, "<array><data/></array>" },
        { &xeni_t_vm_xen_vm_record_map, "<string></string>" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        decode_both(s, cases[i].t, cases[i].v);
    /* two Values: the last one, as in the tree */
    reply = OK_BEGIN "<string>x</string></value></member><member><name>Value</name><value>y" OK_END;
    char *out = NULL;
    CHECK(xeni_call(s, "x.y", NULL, 0, &xeni_t_string, &out) && strcmp(out, "y") == 0);
    free(out);
}


/* ------------------------------------- HTTP on a Unix socket, canned */
/* What the server does for one request: answer raw (NULL: nothing), then
 * close the connection or not; or with stall, nothing for 2 s (the end). */
typedef struct canned {
    const char *raw;
    bool close, stall;
} canned;

/* Read one request (headers, then Content-Length bytes); false at EOF. */
static bool read_request(int fd)
{
    char buf[8192];
    size_t n = 0;
    char *end = NULL;
    while (!end) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            return false;
        n += (size_t)r;
        buf[n] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    const char *cl = strstr(buf, "Content-Length: ");
    size_t want = cl ? strtoul(cl + 16, NULL, 10) : 0, have = n - (size_t)(end + 4 - buf);
    while (have < want) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r <= 0)
            return false;
        have += (size_t)r;
    }
    return true;
}

static void serve(int lfd, const canned *c, size_t n)
{
    int fd = -1;
    for (size_t i = 0; i < n; i++) {
        if (fd < 0 && (fd = accept(lfd, NULL, NULL)) < 0)
            _exit(1);
        if (!read_request(fd))
            _exit(2);
        if (c[i].stall) {
            sleep(2);
            _exit(0);
        }
        if (c[i].raw && write(fd, c[i].raw, strlen(c[i].raw)) != (ssize_t)strlen(c[i].raw))
            _exit(3);
        if (c[i].close) {
            close(fd);
            fd = -1;
        }
    }
    _exit(0);
}

static bool collect(const void *data, size_t len, void *handle)
{
    char **acc = handle;
    size_t old = *acc ? strlen(*acc) : 0;
    char *n = realloc(*acc, old + len + 1);
    if (!n)
        return false;
    memcpy(n + old, data, len);
    n[old + len] = '\0';
    *acc = n;
    return true;
}

/* One call through t: its code, and the body it got in *body (freed before). */
static int call(xen_transport *t, char **body)
{
    free(*body);
    *body = NULL;
    return xen_transport_call("<x/>", 4, t, body, collect);
}

static void test_unix_http(void)
{
    static const canned script[] = {
        { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, false },
        { "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
          "5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nTrailer: t\r\n\r\n", false, false },
        { NULL, true, false },          /* the kept-alive connection closed unanswered */
        { "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, false },
        { "HTTP/1.0 200 OK\r\n\r\nuntil close", true, false },
        { "HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy", false, false },
        { "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", true, false },
        { NULL, false, true },
    };
    char dir[] = "/tmp/libxen-wire-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64], url[80];
    snprintf(path, sizeof path, "%s/s", dir);
    snprintf(url, sizeof url, "unix://%s", path);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 4) == 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        serve(lfd, script, sizeof script / sizeof script[0]);
    CHECK(pid >= 0);
    close(lfd);
    xen_transport *t = xen_transport_new(url);
    char *body = NULL;
    CHECK(call(t, &body) == 0 && body && strcmp(body, "hello") == 0);
    CHECK(call(t, &body) == 0 && body && strcmp(body, "hello world") == 0);
    CHECK(call(t, &body) == 0 && body && strcmp(body, "ok") == 0);     /* on a new connection */
    CHECK(call(t, &body) == 0 && body && strcmp(body, "until close") == 0);
    CHECK(call(t, &body) == 503 && strcmp(xen_transport_last_error(t), "HTTP status 503") == 0);
    CHECK(call(t, &body) == 56 /* CURLE_RECV_ERROR: the body ended early */ && strlen(xen_transport_last_error(t)) > 0);
    xen_transport_set_timeout(t, 1);
    CHECK(call(t, &body) == 28 /* CURLE_OPERATION_TIMEDOUT */ && strstr(xen_transport_last_error(t), "timed out"));
    free(body);
    xen_transport_free(t);
    int st = -1;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    xen_init();
    xen_session *s = login();
    test_ints(s);
    test_status_order_and_whitespace(s);
    test_empty_arrays(s);
    test_errors(s);
    test_datetime_enum_record(s);
    test_create_async_events(s);
    test_compat44_results(s);
    test_direct_matches_tree(s);
    test_logout_and_urls(s);
    test_unix_http();
    free(request);
    xen_fini();
    return xtest_done();
}
