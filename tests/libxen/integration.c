/* libxen against the real daemon (started by tests/libxen/integration.sh
 * through tests/lib/harness.sh).  Reads XEND_URL (http, PAM), XEND_UNIX
 * (socket path, no authentication), XEND_USER and XEND_PASS.
 *
 *   integration            run every test
 *   integration --make-vm  create a halted VM, print its UUID (for example.sh)
 *   integration --login URL [CAFILE]
 *                          log in as XEND_USER/XEND_PASS through the libcurl
 *                          transport, print "ok" or the error (for https.sh)
 */
#include "config.h"

#include "tests/lib/xtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <xen/api/xen_all.h>

#include "all_records.h"

/* The session's error as one line, as a diagnostic. */
static void print_error(const char *what, xen_session *s)
{
    size_t len = strlen(what) + 2;
    for (int i = 0; i < s->error_description_count; i++)
        len += strlen(s->error_description[i]) + 1;
    char *line = malloc(len + 1);
    if (!line)
        abort();
    strcpy(line, what);
    strcat(line, ":");
    for (int i = 0; i < s->error_description_count; i++) {
        strcat(line, " ");
        strcat(line, s->error_description[i]);
    }
    xtest_diag("  %s", line);
    free(line);
}

/* Check that the session failed with exactly this error, then clear it. */
static bool expect_error(xen_session *s, int n, const char *const *want)
{
    bool ok = !s->ok && s->error_description_count == n;
    for (int i = 0; ok && i < n; i++)
        ok = want[i] == NULL || strcmp(s->error_description[i], want[i]) == 0;
    if (!ok)
        print_error("unexpected error", s);
    xen_session_clear_error(s);
    return ok;
}

/* A call that must succeed; report the server's error if it does not. */
static bool must(xen_session *s, bool ok, const char *what)
{
    if (!ok) {
        print_error(what, s);
        xen_session_clear_error(s);
    }
    return xtest_check_(ok, __FILE__, __LINE__, what, NULL);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "%s is not set (run me through integration.sh)\n", name);
        exit(99);
    }
    return v;
}

static char *unix_url(void)
{
    char *u;
    if (asprintf(&u, "unix://%s", env("XEND_UNIX")) < 0)
        abort();
    return u;
}

static xen_vm make_vm(xen_session *s, const char *name)
{
    xen_vm_record *r = xen_vm_record_alloc();
    r->name_label = strdup(name);
    r->name_description = strdup("made by tests/libxen/integration");
    r->memory_static_max = 268435456;
    r->memory_dynamic_max = 268435456;
    r->memory_dynamic_min = 134217728;
    r->memory_static_min = 134217728;
    r->vcpus_max = 1;
    r->vcpus_at_startup = 1;
    r->actions_after_shutdown = XEN_ON_NORMAL_EXIT_DESTROY;
    r->actions_after_reboot = XEN_ON_NORMAL_EXIT_RESTART;
    r->actions_after_crash = XEN_ON_CRASH_BEHAVIOUR_PRESERVE;
    r->pv_kernel = strdup("/boot/vmlinuz-test");
    r->pv_args = strdup("console=hvc0");
    r->other_config = xen_string_string_map_alloc(1);
    r->other_config->contents[0].key = strdup("made-by");
    r->other_config->contents[0].val = strdup("libxen");
    xen_vm vm = NULL;
    if (!xen_vm_create(s, &vm, r))
        vm = NULL;
    xen_vm_record_free(r);
    return vm;
}

static void test_sessions(void)
{
    const char *user = env("XEND_USER"), *pass = env("XEND_PASS");

    /* HTTP with PAM */
    xen_session *s = xen_session_login_url(env("XEND_URL"), user, pass);
    if (CHECK(s != NULL) && must(s, s->ok, "login over http")) {
        xen_session_record *rec = NULL;
        if (must(s, xen_session_get_record(s, &rec, s), "session.get_record")) {
            CHECK(rec->uuid && *rec->uuid);
            CHECK(rec->this_user && strcmp(rec->this_user, user) == 0);
            CHECK(rec->this_host && !rec->this_host->is_record && *rec->this_host->u.handle);
        }
        xen_session_record_free(rec);
        xen_host host = NULL;
        if (must(s, xen_session_get_this_host(s, &host, s), "session.get_this_host")) {
            xen_host_record *h = NULL;
            if (must(s, xen_host_get_record(s, &h, host), "host.get_record")) {
                CHECK(h->api_version_major == 1 && h->api_version_minor == 0);
                CHECK(strcmp(h->handle, host) == 0);
            }
            xen_host_record_free(h);
        }
        xen_host_free(host);
        /* one connection, many calls */
        bool all = true;
        for (int i = 0; i < 200 && all; i++) {
            char *uuid = NULL;
            all = xen_session_get_uuid(s, &uuid, s);
            free(uuid);
        }
        must(s, all, "200 calls on one session");
    }
    xen_session_logout(s);

    /* bad password */
    s = xen_session_login_url(env("XEND_URL"), user, "wrong password");
    const char *const e[] = { "SESSION_AUTHENTICATION_FAILED" };
    CHECK(s != NULL && expect_error(s, 1, e));
    xen_session_logout(s);

    /* the Unix socket, with a transport the program owns */
    char *u = unix_url();
    xen_transport *t = xen_transport_new(u);
    CHECK(t != NULL);
    s = xen_session_login_with_password(xen_transport_call, t, "anyone", "anything");
    if (must(s, s->ok, "login over the unix socket")) {
        char *uuid = NULL;
        must(s, xen_session_get_uuid(s, &uuid, s), "session.get_uuid over unix");
        free(uuid);
    }
    xen_session_logout(s);
    xen_transport_free(t);
    free(u);
}

static void test_all_records(xen_session *s)
{
    for (size_t i = 0; i < ar_ncases; i++) {
        ar_result r = { 0 };
        ar_cases[i].run(s, &r);
        if (!r.ok) {
            xtest_diag("  %s.get_all_records failed", ar_cases[i].name);
            print_error(ar_cases[i].name, s);
            xen_session_clear_error(s);
        }
        CHECK(r.ok);
        if (!r.ok)
            continue;
        if (r.n_all != r.n)
            xtest_diag("  %s: get_all %zu vs get_all_records %zu", ar_cases[i].name,
                    r.n_all, r.n);
        CHECK(r.n_all == r.n);
        if (!r.record_ok) {
            print_error(ar_cases[i].name, s);
            xen_session_clear_error(s);
        }
        CHECK(r.record_ok);
        CHECK(r.bad == 0);
    }
    printf("get_all_records: %zu classes\n", ar_ncases);
}

static void test_errors(xen_session *s)
{
    xen_vm_record *r = NULL;
    CHECK(!xen_vm_get_record(s, &r, "bogus-ref") && r == NULL);
    const char *const e1[] = { "HANDLE_INVALID", "VM", "bogus-ref" };
    CHECK(expect_error(s, 3, e1));

    char *label = NULL;
    CHECK(!xen_network_get_name_label(s, &label, "no-such-network"));
    const char *const e2[] = { "HANDLE_INVALID", "network", "no-such-network" };
    CHECK(expect_error(s, 3, e2));
}

/* Poll the task every 25 ms until it is no longer pending (generous deadline). */
static bool wait_task(xen_session *s, xen_task task, xen_task_record **rec_r)
{
    *rec_r = NULL;
    for (int i = 0; i < xtest_deadline_ms() / 25; i++) {
        xen_task_record *rec = NULL;
        if (!xen_task_get_record(s, &rec, task))
            return false;
        if (rec->status != XEN_TASK_STATUS_TYPE_PENDING) {
            *rec_r = rec;
            return true;
        }
        xen_task_record_free(rec);
        usleep(25000);
    }
    return false;
}

static void test_vm_lifecycle(xen_session *s)
{
    xen_vm vm = make_vm(s, "libxen-lifecycle");
    if (!must(s, vm != NULL, "VM.create"))
        return;
    xen_vm_record *r = NULL;
    if (must(s, xen_vm_get_record(s, &r, vm), "VM.get_record")) {
        CHECK(strcmp(r->name_label, "libxen-lifecycle") == 0);
        CHECK(r->power_state == XEN_VM_POWER_STATE_HALTED);
        CHECK(r->memory_static_max == 268435456);
        CHECK(r->actions_after_crash == XEN_ON_CRASH_BEHAVIOUR_PRESERVE);
        CHECK(strcmp(r->pv_kernel, "/boot/vmlinuz-test") == 0);
        CHECK_STR_EQ(r->pool_name, "Pool-0");                 /* as xend: Pool-0 unless set */
        CHECK(r->cpu_pool != NULL && r->cpu_pool->size == 0); /* no pool runs a halted VM */
        bool found = false;
        for (size_t i = 0; i < r->other_config->size; i++)
            found |= strcmp(r->other_config->contents[i].key, "made-by") == 0 &&
                     strcmp(r->other_config->contents[i].val, "libxen") == 0;
        CHECK(found);
    }
    xen_vm_record_free(r);

    must(s, xen_vm_set_name_description(s, vm, "renamed"), "VM.set_name_description");
    must(s, xen_vm_add_to_other_config(s, vm, "k2", "v2"), "VM.add_to_other_config");

    enum xen_vm_power_state ps = XEN_VM_POWER_STATE_UNDEFINED;
    if (must(s, xen_vm_start(s, vm, false), "VM.start")) {
        CHECK(xen_vm_get_power_state(s, &ps, vm) && ps == XEN_VM_POWER_STATE_RUNNING);
        /* starting a running VM */
        CHECK(!xen_vm_start(s, vm, false));
        const char *const e[] = { "VM_BAD_POWER_STATE", vm, "Halted", "Running" };
        CHECK(expect_error(s, 4, e));
        must(s, xen_vm_pause(s, vm), "VM.pause");
        CHECK(xen_vm_get_power_state(s, &ps, vm) && ps == XEN_VM_POWER_STATE_PAUSED);
        must(s, xen_vm_unpause(s, vm), "VM.unpause");
        must(s, xen_vm_hard_shutdown(s, vm), "VM.hard_shutdown");
        CHECK(xen_vm_get_power_state(s, &ps, vm) && ps == XEN_VM_POWER_STATE_HALTED);
    }
    xen_session_clear_error(s);
    must(s, xen_vm_destroy(s, vm), "VM.destroy");
    xen_vm_record *gone = NULL;
    CHECK(!xen_vm_get_record(s, &gone, vm));
    const char *const e[] = { "HANDLE_INVALID", "VM", vm };
    CHECK(expect_error(s, 3, e));
    xen_vm_free(vm);
}

/* Xen 4.4.0's VM record members cpu_pool and pool_name, and their calls:
 * set by VM.create and set_pool_name, no pool running a halted VM (a new
 * VM's Pool-0 is checked by test_vm_lifecycle). */
static void test_cpu_pool(xen_session *s)
{
    xen_vm vm = make_vm(s, "libxen-pool");
    if (!must(s, vm != NULL, "VM.create"))
        return;
    must(s, xen_vm_set_pool_name(s, vm, "Pool-1"), "VM.set_pool_name");
    char *name = NULL;
    if (must(s, xen_vm_get_pool_name(s, &name, vm), "VM.get_pool_name"))
        CHECK_STR_EQ(name, "Pool-1");
    free(name);
    struct xen_cpu_pool_set *pools = NULL;
    if (must(s, xen_vm_get_cpu_pool(s, &pools, vm), "VM.get_cpu_pool"))
        CHECK(pools != NULL && pools->size == 0);
    xen_cpu_pool_set_free(pools);
    xen_vm_record *r = NULL;
    if (must(s, xen_vm_get_record(s, &r, vm), "VM.get_record")) {
        CHECK_STR_EQ(r->pool_name, "Pool-1");
        bool moved = false;   /* the field, no longer other_config:cpu_pool */
        for (size_t i = 0; i < r->other_config->size; i++)
            moved |= strcmp(r->other_config->contents[i].key, "cpu_pool") == 0;
        CHECK(!moved);
    }
    xen_vm_record_free(r);
    must(s, xen_vm_destroy(s, vm), "VM.destroy");
    xen_vm_free(vm);

    /* a record naming its pool keeps it through VM.create */
    xen_vm_record *c = xen_vm_record_alloc();
    c->name_label = strdup("libxen-pool-2");
    c->pool_name = strdup("Pool-2");
    c->vcpus_max = 1;
    c->vcpus_at_startup = 1;
    xen_vm vm2 = NULL;
    if (must(s, xen_vm_create(s, &vm2, c), "VM.create with pool_name")) {
        char *n2 = NULL;
        if (must(s, xen_vm_get_pool_name(s, &n2, vm2), "VM.get_pool_name"))
            CHECK_STR_EQ(n2, "Pool-2");
        free(n2);
        must(s, xen_vm_destroy(s, vm2), "VM.destroy");
    }
    xen_vm_free(vm2);
    xen_vm_record_free(c);
}

static void test_async(xen_session *s)
{
    xen_vm vm = make_vm(s, "libxen-async");
    if (!must(s, vm != NULL, "VM.create for async"))
        return;
    xen_task task = NULL;
    if (must(s, xen_vm_start_async(s, &task, vm, false), "Async.VM.start")) {
        xen_task_record *rec = NULL;
        if (must(s, wait_task(s, task, &rec), "task finishes")) {
            CHECK(rec->status == XEN_TASK_STATUS_TYPE_SUCCESS);
            CHECK(rec->progress == 100);
            CHECK(rec->error_info->size == 0);
            CHECK(strcmp(rec->name_label, "VM.start") == 0 || strcmp(rec->name_label, "Async.VM.start") == 0);
            enum xen_vm_power_state ps;
            CHECK(xen_vm_get_power_state(s, &ps, vm) && ps == XEN_VM_POWER_STATE_RUNNING);
        }
        xen_task_record_free(rec);
        xen_task_free(task);
        task = NULL;
        /* a task that fails: starting the running VM again */
        if (must(s, xen_vm_start_async(s, &task, vm, false), "Async.VM.start (fails)")) {
            if (must(s, wait_task(s, task, &rec), "failing task finishes")) {
                CHECK(rec->status == XEN_TASK_STATUS_TYPE_FAILURE);
                CHECK(rec->error_info->size == 4 &&
                      strcmp(rec->error_info->contents[0], "VM_BAD_POWER_STATE") == 0);
            }
            xen_task_record_free(rec);
        }
        xen_task_free(task);
        task = NULL;
        /* a task with a result: clone needs Halted, so shut down first */
        if (must(s, xen_vm_hard_shutdown_async(s, &task, vm), "Async.VM.hard_shutdown")) {
            if (must(s, wait_task(s, task, &rec), "shutdown task finishes"))
                CHECK(rec->status == XEN_TASK_STATUS_TYPE_SUCCESS);
            xen_task_record_free(rec);
        }
        xen_task_free(task);
    }
    /* an immediate failure: the VM does not exist */
    task = NULL;
    CHECK(!xen_vm_start_async(s, &task, "bogus-ref", false) || task != NULL);
    xen_session_clear_error(s);
    xen_task_free(task);
    xen_session_clear_error(s);
    xen_vm_hard_shutdown(s, vm);
    xen_session_clear_error(s);
    must(s, xen_vm_destroy(s, vm), "VM.destroy after async");
    xen_vm_free(vm);
}

static void test_events(xen_session *s)
{
    /* a second session that waits, with a timeout so a broken event.next
     * cannot hang the test */
    xen_transport *t = xen_transport_new(env("XEND_URL"));
    xen_transport_set_timeout(t, 20);
    xen_session *w = xen_session_login_with_password(xen_transport_call, t,
                                                     env("XEND_USER"), env("XEND_PASS"));
    if (!must(w, w->ok, "login for events"))
        goto out;
    xen_event_record_set *ev = NULL;
    CHECK(!xen_event_next(w, &ev));
    const char *const e[] = { "SESSION_NOT_REGISTERED", NULL };
    CHECK(expect_error(w, 2, e));

    xen_string_set *classes = xen_string_set_alloc(1);
    classes->contents[0] = strdup("VM");
    bool reg = must(w, xen_event_register(w, classes), "event.register");
    xen_string_set_free(classes);
    if (!reg)
        goto out;

    xen_vm vm = make_vm(s, "libxen-events");
    if (!must(s, vm != NULL, "VM.create for events"))
        goto out;
    must(s, xen_vm_set_name_label(s, vm, "libxen-events-renamed"), "VM.set_name_label");

    bool saw_add = false, saw_mod = false;
    int64_t last_id = -1;
    bool ids_rise = true;
    for (int round = 0; round < 10 && !(saw_add && saw_mod); round++) {
        ev = NULL;
        if (!must(w, xen_event_next(w, &ev), "event.next"))
            break;
        CHECK(ev->size > 0);
        for (size_t i = 0; i < ev->size; i++) {
            xen_event_record *r = ev->contents[i];
            ids_rise &= r->id > last_id;
            last_id = r->id;
            CHECK(strcasecmp(r->class, "VM") == 0);
            CHECK(r->timestamp > 1000000000);
            if (strcmp(r->ref, vm) == 0 && r->operation == XEN_EVENT_OPERATION_ADD)
                saw_add = true;
            if (strcmp(r->ref, vm) == 0 && r->operation == XEN_EVENT_OPERATION_MOD)
                saw_mod = true;
        }
        xen_event_record_set_free(ev);
    }
    CHECK(saw_add);
    CHECK(saw_mod);
    CHECK(ids_rise);
    classes = xen_string_set_alloc(1);
    classes->contents[0] = strdup("VM");
    must(w, xen_event_unregister(w, classes), "event.unregister");
    xen_string_set_free(classes);
    must(s, xen_vm_destroy(s, vm), "VM.destroy after events");
    xen_vm_free(vm);
out:
    xen_session_logout(w);
    xen_transport_free(t);
}

static int login_only(const char *url, const char *ca)
{
    const char *user = getenv("XEND_USER"), *pass = getenv("XEND_PASS");
    xen_session *s = xen_session_login_url_ca(url, ca, user ? user : "", pass ? pass : "");
    if (!s) {
        printf("bad url\n");
        return 2;
    }
    if (s->ok) {
        printf("ok %s\n", s->session_id);
    } else {
        for (int i = 0; i < s->error_description_count; i++)
            printf("%s%s", i ? " " : "", s->error_description[i]);
        printf("\n");
    }
    int rc = s->ok ? 0 : 1;
    xen_session_logout(s);
    return rc;
}

int main(int argc, char **argv)
{
    xen_init();
    if (argc >= 3 && strcmp(argv[1], "--login") == 0) {
        int rc = login_only(argv[2], argc > 3 ? argv[3] : NULL);
        xen_fini();
        return rc;
    }
    char *u = unix_url();
    xen_session *s = xen_session_login_url(u, "libxen-test", "");
    free(u);
    if (!s || !s->ok) {
        fprintf(stderr, "cannot log in over %s\n", env("XEND_UNIX"));
        return 99;
    }
    if (argc == 2 && strcmp(argv[1], "--make-vm") == 0) {
        xen_vm vm = make_vm(s, "libxen-example-vm");
        char *uuid = NULL;
        int rc = vm && xen_vm_get_uuid(s, &uuid, vm) ? 0 : 1;
        if (rc == 0)
            printf("%s\n", uuid);
        else
            print_error("make-vm", s);
        free(uuid);
        xen_vm_free(vm);
        xen_session_logout(s);
        xen_fini();
        return rc;
    }
    const char *only = getenv("LIBXEN_ONLY");
#define RUN(name, call) do { \
        if (!only || strstr(only, name)) { \
            int f0 = xtest_failed(); \
            xtest_group(name); \
            call; \
            xtest_diag("%s %s", xtest_failed() == f0 ? "PASS" : "FAIL", name); \
        } \
    } while (0)
    RUN("sessions", test_sessions());
    RUN("all_records", test_all_records(s));
    RUN("errors", test_errors(s));
    RUN("vm_lifecycle", test_vm_lifecycle(s));
    RUN("cpu_pool", test_cpu_pool(s));
    RUN("async", test_async(s));
    RUN("events", test_events(s));
    xen_session_logout(s);
    xen_fini();
    return xtest_done();
}
