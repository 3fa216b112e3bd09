/* Unit tests of the daemon's backend gateway (daemon/backend.c): a backend
 * without an op the daemon requires is refused at open; an empty optional
 * op answers NOT_IMPLEMENTED; the one error converter puts numbers in the
 * numeric parameters and never sends the backend's message (paths, errno
 * text) to the client; the sim backend logs through the sink it is given. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/backend.h"
#include "xapi_errors.h"
#include "xenops/sim/simfile.h"

static int passed, failed;
#define CHECK(cond) do { if (cond) passed++; else { failed++; \
    fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); } } while (0)

static char tmpdir[64];

static bool has_param(const xerr *e, const char *needle)
{
    for (size_t i = 0; e && i < e->n; i++)
        if (strstr(e->params[i], needle))
            return true;
    return false;
}

static void test_required_ops(void)
{
    xo_options o = { .state_dir = tmpdir };
    xo_ops partial = xo_sim_ops;
    partial.domain_create = NULL;
    char *err = NULL;
    CHECK(!backend_open_ops(&partial, &o, &err));
    CHECK(err && strstr(err, "domain_create") && strstr(err, "sim"));
    free(err);
    err = NULL;
    partial = xo_sim_ops;
    partial.host_info = NULL;
    CHECK(!backend_open_ops(&partial, &o, &err));
    CHECK(err && strstr(err, "host_info"));
    free(err);
    CHECK(strcmp(backend_name(), "") == 0);     /* nothing opened */
}

static int fake_create(xo_backend *b, const xo_domain_config *cfg, bool paused, uint32_t *domid_r,
                       xo_error *err)
{
    (void)b; (void)cfg; (void)paused; (void)domid_r;
    xo_error_set(err, XO_E_NOMEM, "libxl: cannot allocate at /var/lib/secret: Cannot allocate memory");
    return -1;
}

static void test_empty_ops_and_numbers(void)
{
    xo_options o = { .state_dir = tmpdir };
    xo_ops partial = xo_sim_ops;
    partial.domain_pause = NULL;
    partial.disk_add = NULL;
    partial.domain_create = fake_create;
    char *err = NULL;
    CHECK(backend_open_ops(&partial, &o, &err));
    free(err);
    CHECK(strcmp(backend_name(), "sim") == 0);

    xo_error e = { 0 };
    xerr *x = NULL;
    CHECK(backend_domain_pause(1, &e) == -1 && e.code == XO_E_NOTSUP);
    CHECK(!backend_error(&e, "VM.pause", &x));
    CHECK(x && strcmp(x->code, "NOT_IMPLEMENTED") == 0 && x->n == 1 && strcmp(x->params[0], "VM.pause") == 0);
    xerr_free(x);
    x = NULL;
    memset(&e, 0, sizeof(e));
    xo_disk d = { .vdev = "xvdb" };
    CHECK(backend_disk_add(1, &d, &e) == -1 && e.code == XO_E_NOTSUP);

    /* a shortage the backend gave no numbers for: needed from the config,
     * available from the host */
    xo_host_info hi;
    memset(&hi, 0, sizeof(hi));
    memset(&e, 0, sizeof(e));
    CHECK(backend_host_info(&hi, &e) == 0 && hi.free_memory > 0);
    xo_domain_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.memory_target_kib = 1u << 20;
    cfg.vcpus_at_startup = 1;
    uint32_t domid = 0;
    memset(&e, 0, sizeof(e));
    CHECK(backend_domain_create(&cfg, false, &domid, &e) == -1 && e.code == XO_E_NOMEM);
    CHECK(e.needed == (uint64_t)1 << 30 && e.available == hi.free_memory);
    CHECK(!backend_error(&e, "VM.start", &x));
    char avail[32];
    snprintf(avail, sizeof(avail), "%llu", (unsigned long long)hi.free_memory);
    CHECK(x && strcmp(x->code, "HOST_NOT_ENOUGH_FREE_MEMORY") == 0 && x->n == 2 &&
          strcmp(x->params[0], "1073741824") == 0 && strcmp(x->params[1], avail) == 0);
    CHECK(!has_param(x, "secret") && !has_param(x, "Cannot allocate"));
    xerr_free(x);
    backend_close();
    CHECK(strcmp(backend_name(), "") == 0);
}

static void test_converter(void)
{
    static const struct { xo_errcode code; const char *xcode; } cases[] = {
        { XO_E_FAIL, "INTERNAL_ERROR" }, { XO_E_INVAL, "VALUE_NOT_SUPPORTED" },
        { XO_E_NODOMAIN, "INTERNAL_ERROR" }, { XO_E_BUSY, "INTERNAL_ERROR" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        xo_error e = { 0 };
        xerr *x = NULL;
        xo_error_set(&e, cases[i].code, "open /root/.ssh/authorized_keys: Permission denied");
        CHECK(!backend_error(&e, "VM.save", &x));
        CHECK(x && strcmp(x->code, cases[i].xcode) == 0);
        CHECK(x && !has_param(x, "/root") && !has_param(x, "Permission denied") && has_param(x, "VM.save"));
        xerr_free(x);
    }
    xo_error e = { 0 };
    xerr *x = NULL;
    xo_error_set(&e, XO_E_NOCPU, "needs 64 vCPUs, host has 4 CPUs");
    xo_error_need(&e, 64, 4);
    CHECK(!backend_error(&e, "VM.start", &x));
    CHECK(x && strcmp(x->code, "INSUFFICIENT_CPUS") == 0 && x->n == 2 && strcmp(x->params[0], "64") == 0 &&
          strcmp(x->params[1], "4") == 0);
    xerr_free(x);
}

/* ---- the sim backend logs through its sink ---- */

static char logged[1024];
static int n_logged;

static void sink(void *opaque, xo_log_level level, const char *msg)
{
    (void)opaque;
    if (level <= XO_LOG_WARNING)
        snprintf(logged, sizeof(logged), "%s", msg);
    n_logged++;
}

static void test_sim_log_sink(void)
{
    char dir[256], path[300];
    snprintf(dir, sizeof(dir), "%s/sim-log", tmpdir);
    snprintf(path, sizeof(path), "%s/" SIM_DOMAINS_SUBDIR, dir);
    CHECK(mkdir(dir, 0700) == 0 && mkdir(path, 0700) == 0);
    snprintf(path, sizeof(path), "%s/" SIM_DOMAINS_SUBDIR "/7.dom", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("this is not a domain\n", f);
        fclose(f);
    }
    xo_options o = { .sim_state_dir = dir, .log = { .fn = sink } };
    xo_error e = { 0 };
    xo_backend *b = xo_sim_ops.open(&o, &e);
    CHECK(b != NULL);
    CHECK(n_logged >= 1 && strstr(logged, "7.dom") && strstr(logged, "moved aside"));
    if (b)
        xo_sim_ops.close(b);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_backend.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_required_ops();
    test_empty_ops_and_numbers();
    test_converter();
    test_sim_log_sink();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
