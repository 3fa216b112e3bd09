/* Unit tests of the xen backend's own logic (xenops/xen/) without a
 * hypervisor: libxl, libxenctrl and libxenstore are replaced by the fake host
 * of tests/xen/mock (LD_PRELOAD; run through tests/xen/test_xen_backend.sh).
 *
 * What is tested is the backend: error mapping (libxl codes, the message
 * libxl logged), clean-up when open fails half-way, state mapping, the
 * refusal to touch dom0, argument checks, the ERROR_NOPARAVIRT fallback to
 * ACPI triggers, save images, devices, and the events it derives from libxl's
 * domain death events and the @introduceDomain watch, delivered through its
 * osevent hooks on a real xloop. */
#include "config.h"

#include "tests/lib/xtest.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxl.h>

#include "tests/xen/mock/xenmock.h"
#include "util/loop.h"
#include "xenops/xenops.h"
#include "xenops/xen/xo_xen.h"

static const xo_ops *ops = &xo_xen_ops;

/* the mock's controls, found with dlsym */
static xenmock_fail_fn *mock_fail;
static xenmock_calls_fn *mock_calls;
static xenmock_add_domain_fn *mock_add_domain;
static xenmock_guest_shutdown_fn *mock_guest_shutdown;
static xenmock_no_pv_drivers_fn *mock_no_pv_drivers;
static xenmock_last_sysrq_fn *mock_last_sysrq;
static xenmock_console_fn *mock_console;
static xenmock_console_key_fn *mock_console_key;

static void *need(const char *sym)
{
    void *p = dlsym(RTLD_DEFAULT, sym);

    if (!p)
        xtest_skip("%s not found: libxenmock.so is not preloaded (run tests/xen/test_xen_backend.sh)",
                sym);
    return p;
}

/* ------------------------------------------------------------ the events */

#define MAX_EV 256
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static xo_event evs[MAX_EV];
static size_t n_ev;

static void on_event(void *opaque, const xo_event *ev)
{
    (void)opaque;
    pthread_mutex_lock(&ev_lock);
    if (n_ev < MAX_EV)
        evs[n_ev++] = *ev;
    pthread_mutex_unlock(&ev_lock);
}

typedef struct ev_want {
    xo_event_type type;
    uint32_t domid;
    xo_event got;
} ev_want;

/* Is there such an event (then copied into w->got)? */
static bool ev_seen(void *arg)
{
    ev_want *w = arg;
    bool found = false;

    pthread_mutex_lock(&ev_lock);
    for (size_t i = 0; i < n_ev && !found; i++)
        if (evs[i].type == w->type && evs[i].domid == w->domid) {
            w->got = evs[i];
            found = true;
        }
    pthread_mutex_unlock(&ev_lock);
    return found;
}

static bool wait_event(xo_event_type type, uint32_t domid, xo_event *out)
{
    ev_want w = { type, domid, { 0 } };
    bool ok = xtest_wait_until(ev_seen, &w);

    if (out)
        *out = w.got;
    return ok;
}

/* ---------------------------------------------------------------- helpers */

static xloop *loop;
static char tmpdir[] = "/tmp/xend-xenmock-XXXXXX";

static xo_backend *open_backend(xo_error *err)
{
    xo_options o = { .state_dir = tmpdir, .loop = loop, .on_event = on_event };

    memset(err, 0, sizeof(*err));
    return ops->open(&o, err);
}

static void pv_config(xo_domain_config *c, const char *name)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->type = XO_DOM_PV;
    c->memory_static_max_kib = 256 * 1024;
    c->memory_target_kib = 256 * 1024;
    c->vcpus_max = 2;
    c->vcpus_at_startup = 2;
    snprintf(c->kernel, sizeof(c->kernel), "/boot/vmlinuz-xenmock");
}

static uint32_t create(xo_backend *b, const char *name, bool paused)
{
    xo_domain_config c;
    xo_error err = { 0 };
    uint32_t domid = 0;

    pv_config(&c, name);
    CHECKF(ops->domain_create(b, &c, paused, &domid, &err) == 0, "create %s: %s", name, err.msg);
    return domid;
}

static xo_domstate state_of(xo_backend *b, uint32_t domid)
{
    xo_dominfo di;
    xo_error err = { 0 };

    return ops->domain_info(b, domid, &di, &err) == 0 ? di.state : (xo_domstate)-1;
}

/* ----------------------------------------------------------------- tests */

static void test_open_failures(void)
{
    xo_error err;
    xo_backend *b;

    xtest_group("open fails cleanly at each step");
    mock_fail("xc_interface_open", -EACCES, NULL);
    b = open_backend(&err);
    CHECK(b == NULL);
    CHECK_INT_EQ(err.code, XO_E_FAIL);
    CHECKF(strstr(err.msg, "xenctrl") && strstr(err.msg, strerror(EACCES)), "message: %s", err.msg);

    mock_fail("libxl_ctx_alloc", ERROR_FAIL, NULL);
    b = open_backend(&err);
    CHECK(b == NULL);
    CHECKF(err.code == XO_E_FAIL && strstr(err.msg, "libxl_ctx_alloc"), "message: %s", err.msg);

    mock_fail("xs_open", -ECONNREFUSED, NULL);
    b = open_backend(&err);
    CHECK(b == NULL);
    CHECKF(err.code == XO_E_FAIL && strstr(err.msg, "xenstore") && strstr(err.msg, strerror(ECONNREFUSED)),
           "message: %s", err.msg);

    xo_options no_loop = { .state_dir = tmpdir };
    CHECK(ops->open(&no_loop, &err) == NULL && err.code == XO_E_INVAL);
}

static void test_host(xo_backend *b)
{
    xo_host_info hi;
    xo_error err = { 0 };
    char *text = NULL;

    xtest_group("host");
    CHECKF(ops->host_info(b, &hi, &err) == 0, "host_info: %s", err.msg);
    CHECK_STR_EQ(hi.hypervisor, "Xen");
    CHECKF(!strncmp(hi.version, "4.17", 4), "version %s", hi.version);
    CHECK_INT_EQ(hi.nr_cpus, 4);
    CHECK(hi.total_memory == 8ull << 30 && hi.free_memory == 4ull << 30);
    CHECKF(strstr(hi.capabilities, "hvm-3.0-x86_64") != NULL, "capabilities %s", hi.capabilities);
    CHECK(ops->host_dmesg(b, &text, false, &err) == 0 && text && strstr(text, "xenmock"));
    free(text);
    mock_fail("libxl_get_physinfo", ERROR_FAIL, "xenmock: physinfo hypercall failed");
    CHECK(ops->host_info(b, &hi, &err) == -1);
    CHECKF(strstr(err.msg, "xenmock: physinfo hypercall failed") != NULL,
           "the message libxl logged is in the error: %s", err.msg);
}

static void test_lifecycle(xo_backend *b)
{
    xo_error err = { 0 };
    xo_dominfo di;
    xo_event ev;
    uint32_t domid, other;

    xtest_group("create, pause, unpause, live changes");
    domid = create(b, "mock-pv", false);
    CHECK(domid > 0);
    CHECK(ops->domain_info(b, domid, &di, &err) == 0);
    CHECK_STR_EQ(di.name, "mock-pv");
    CHECK_INT_EQ(di.state, XO_STATE_RUNNING);
    CHECK_INT_EQ(di.type, XO_DOM_PV);
    CHECK(di.max_memory_kib == 256 * 1024 && di.target_kib == 256 * 1024);
    CHECK(di.vcpus_max == 2 && di.vcpus_online == 2);
    CHECK(di.start_time > 0);

    /* the same name again is refused before libxl is asked */
    unsigned before = mock_calls("libxl_domain_create_new");
    xo_domain_config c;
    pv_config(&c, "mock-pv");
    CHECK(ops->domain_create(b, &c, false, &other, &err) == -1);
    CHECKF(err.code == XO_E_INVAL && strstr(err.msg, "already exists"), "%s", err.msg);
    CHECK_INT_EQ(mock_calls("libxl_domain_create_new"), before);

    /* a libxl failure carries what libxl logged */
    mock_fail("libxl_domain_create_new", ERROR_FAIL, "xenmock: cannot allocate guest memory");
    pv_config(&c, "mock-fails");
    CHECK(ops->domain_create(b, &c, false, &other, &err) == -1);
    CHECKF(err.code == XO_E_FAIL && strstr(err.msg, "xenmock: cannot allocate guest memory"), "%s", err.msg);

    CHECK(ops->domain_pause(b, domid, &err) == 0 && state_of(b, domid) == XO_STATE_PAUSED);
    CHECK(wait_event(XO_EV_DOMAIN_CHANGED, domid, NULL));
    CHECK(ops->domain_unpause(b, domid, &err) == 0 && state_of(b, domid) == XO_STATE_RUNNING);

    CHECK(ops->domain_set_memory(b, domid, 128 * 1024, &err) == 0);
    CHECK(ops->domain_info(b, domid, &di, &err) == 0 && di.target_kib == 128 * 1024);
    CHECK(ops->domain_set_memory(b, domid, 512, &err) == -1 && err.code == XO_E_INVAL);

    CHECK(ops->domain_set_vcpus(b, domid, 0, &err) == -1 && err.code == XO_E_INVAL);
    CHECK(ops->domain_set_vcpus(b, domid, 3, &err) == -1 && err.code == XO_E_INVAL);
    CHECK(ops->domain_set_vcpus(b, domid, 1, &err) == 0);
    CHECK(ops->domain_info(b, domid, &di, &err) == 0 && di.vcpus_online == 1);

    xo_vcpu_info *v = NULL;
    size_t n = 0;
    CHECK(ops->domain_vcpus(b, domid, &v, &n, &err) == 0 && n == 2 && v[0].online && !v[1].online);
    free(v);

    CHECK(ops->domain_sched_params(b, domid, 512, 50, &err) == 0);
    CHECK(ops->domain_sysrq(b, domid, 's', &err) == 0 && mock_last_sysrq(domid) == 's');
    CHECK(ops->domain_trigger(b, domid, "bogus", &err) == -1 && err.code == XO_E_INVAL);
    CHECK(ops->domain_trigger(b, domid, "nmi", &err) == 0);
    CHECK(ops->domain_rename(b, domid, "mock-renamed", &err) == 0);
    CHECK(ops->domain_info(b, domid, &di, &err) == 0 && !strcmp(di.name, "mock-renamed"));
    CHECK(ops->domain_rename(b, domid, "", &err) == -1 && err.code == XO_E_INVAL);

    xtest_group("dom0 and unknown domains");
    CHECK(ops->domain_pause(b, 0, &err) == -1 && err.code == XO_E_INVAL);
    CHECK(ops->domain_destroy(b, 0, &err) == -1 && err.code == XO_E_INVAL);
    CHECK(ops->domain_info(b, 4242, &di, &err) == -1 && err.code == XO_E_NODOMAIN);
    CHECK(ops->domain_unpause(b, 4242, &err) == -1 && err.code == XO_E_NODOMAIN);
    CHECK(ops->domain_info(b, 0, &di, &err) == 0 && !strcmp(di.name, "Domain-0"));

    xtest_group("shutdown and death events");
    CHECK(ops->domain_shutdown(b, domid, XO_SHUTDOWN_CRASH, &err) == -1 && err.code == XO_E_INVAL);
    CHECK(ops->domain_shutdown(b, domid, XO_SHUTDOWN_POWEROFF, &err) == 0);
    CHECK(wait_event(XO_EV_DOMAIN_SHUTDOWN, domid, &ev) && ev.reason == XO_SHUTDOWN_POWEROFF);
    CHECK(ev.uuid[0] != '\0');
    CHECK(ops->domain_info(b, domid, &di, &err) == 0 && di.state == XO_STATE_SHUTDOWN &&
          di.reason == XO_SHUTDOWN_POWEROFF);
    CHECK(ops->domain_destroy(b, domid, &err) == 0);
    CHECK(wait_event(XO_EV_DOMAIN_DEATH, domid, NULL));
    CHECK(ops->domain_info(b, domid, &di, &err) == -1 && err.code == XO_E_NODOMAIN);

    xtest_group("a crash is a crash");
    domid = create(b, "mock-crash", false);
    CHECK(mock_guest_shutdown(domid, LIBXL_SHUTDOWN_REASON_CRASH));
    CHECK(wait_event(XO_EV_DOMAIN_SHUTDOWN, domid, &ev) && ev.reason == XO_SHUTDOWN_CRASH);
    CHECK_INT_EQ(state_of(b, domid), XO_STATE_CRASHED);
    CHECK(ops->domain_destroy(b, domid, &err) == 0 && wait_event(XO_EV_DOMAIN_DEATH, domid, NULL));

    xtest_group("no PV drivers: the ACPI button instead");
    domid = create(b, "mock-hvm-nopv", false);
    CHECK(mock_no_pv_drivers(domid));
    before = mock_calls("libxl_send_trigger");
    CHECK(ops->domain_shutdown(b, domid, XO_SHUTDOWN_REBOOT, &err) == 0);
    CHECK_INT_EQ(mock_calls("libxl_send_trigger"), before + 1);
    CHECK(wait_event(XO_EV_DOMAIN_SHUTDOWN, domid, &ev) && ev.reason == XO_SHUTDOWN_REBOOT);
    CHECK(ops->domain_destroy(b, domid, &err) == 0 && wait_event(XO_EV_DOMAIN_DEATH, domid, NULL));
}

static void test_foreign(xo_backend *b)
{
    xo_event ev;
    uint32_t ours, foreign;

    xtest_group("domains made elsewhere are DOMAIN_NEW, ours are not");
    ours = create(b, "mock-ours", true);
    CHECK_INT_EQ(state_of(b, ours), XO_STATE_PAUSED);
    foreign = mock_add_domain("made-by-xl", 65536, 1);
    CHECK(wait_event(XO_EV_DOMAIN_NEW, foreign, &ev) && ev.uuid[0]);
    /* the watch fired for ours first (pipe order): it was not reported */
    CHECK(!ev_seen(&(ev_want){ XO_EV_DOMAIN_NEW, ours, { 0 } }));
    /* and the foreign one is followed: its death is reported */
    CHECK(mock_guest_shutdown(foreign, LIBXL_SHUTDOWN_REASON_POWEROFF));
    CHECK(wait_event(XO_EV_DOMAIN_SHUTDOWN, foreign, &ev) && ev.reason == XO_SHUTDOWN_POWEROFF);

    xo_dominfo *doms = NULL;
    size_t n = 0;
    xo_error err = { 0 };
    bool saw0 = false, saw_ours = false, saw_foreign = false;
    CHECK(ops->domain_list(b, &doms, &n, &err) == 0);
    for (size_t i = 0; i < n; i++) {
        saw0 |= doms[i].domid == 0;
        saw_ours |= doms[i].domid == ours;
        saw_foreign |= doms[i].domid == foreign && doms[i].state == XO_STATE_SHUTDOWN;
    }
    CHECK(saw0 && saw_ours && saw_foreign);
    free(doms);
    mock_fail("libxl_list_domain", ERROR_FAIL, "xenmock: sysctl failed");
    CHECK(ops->domain_list(b, &doms, &n, &err) == -1 && strstr(err.msg, "xenmock: sysctl failed"));
    CHECK(ops->domain_destroy(b, ours, &err) == 0 && ops->domain_destroy(b, foreign, &err) == 0);
}

static void test_save_restore(xo_backend *b)
{
    xo_error err = { 0 };
    xo_domain_config c;
    char path[256], bad[256];
    struct stat st;
    uint32_t domid, again = 0;

    xtest_group("suspend to an image, restore from it");
    snprintf(path, sizeof(path), "%s/mock.save", tmpdir);
    domid = create(b, "mock-save", false);
    mock_fail("libxl_domain_suspend", ERROR_FAIL, "xenmock: the guest did not suspend");
    CHECK(ops->domain_suspend(b, domid, path, &err) == -1);
    CHECKF(strstr(err.msg, "xenmock: the guest did not suspend") != NULL, "%s", err.msg);
    CHECK(stat(path, &st) != 0 && errno == ENOENT);     /* no half image left */
    CHECK_INT_EQ(state_of(b, domid), XO_STATE_RUNNING);

    CHECK(ops->domain_suspend(b, domid, path, &err) == 0);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size > 0);
    CHECK(wait_event(XO_EV_DOMAIN_DEATH, domid, NULL));   /* the saved domain is gone */

    pv_config(&c, "mock-save");
    CHECK(ops->domain_restore(b, &c, path, false, &again, &err) == 0 && again != domid);
    CHECK_INT_EQ(state_of(b, again), XO_STATE_RUNNING);
    CHECK(ops->domain_destroy(b, again, &err) == 0);

    snprintf(bad, sizeof(bad), "%s/not-an-image", tmpdir);
    FILE *f = fopen(bad, "w");
    CHECK(f && fputs("garbage\n", f) >= 0 && fclose(f) == 0);
    CHECK(ops->domain_restore(b, &c, bad, false, &again, &err) == -1);
    CHECKF(strstr(err.msg, "not a saved domain image") != NULL, "%s", err.msg);
    CHECK(ops->domain_restore(b, &c, "/nonexistent/image", false, &again, &err) == -1 &&
          err.code == XO_E_INVAL);
    unlink(path);
    unlink(bad);
}

static void test_devices(xo_backend *b)
{
    xo_error err = { 0 };
    xo_nic nic;
    xo_disk disk;
    uint32_t domid;

    xtest_group("devices");
    domid = create(b, "mock-dev", false);
    memset(&nic, 0, sizeof(nic));
    nic.devid = -1;
    snprintf(nic.bridge, sizeof(nic.bridge), "xenbr0");
    CHECK(ops->nic_add(b, domid, &nic, &err) == 0 && nic.devid == 0);
    nic.devid = -1;
    CHECK(ops->nic_add(b, domid, &nic, &err) == 0 && nic.devid == 1);
    CHECK(ops->nic_remove(b, domid, 0, &err) == 0);
    CHECK(ops->nic_remove(b, domid, 0, &err) == -1 && err.code == XO_E_INVAL);

    memset(&disk, 0, sizeof(disk));
    snprintf(disk.vdev, sizeof(disk.vdev), "xvdb");
    snprintf(disk.target, sizeof(disk.target), "%s/disk.img", tmpdir);
    snprintf(disk.format, sizeof(disk.format), "raw");
    CHECKF(ops->disk_add(b, domid, &disk, &err) == 0, "disk_add: %s", err.msg);
    CHECK(ops->disk_add(b, domid, &disk, &err) == -1);
    CHECK(ops->disk_remove(b, domid, "xvdb", &err) == 0);
    CHECK(ops->disk_add(b, 0, &disk, &err) == -1 && err.code == XO_E_INVAL);
    CHECK(ops->domain_destroy(b, domid, &err) == 0);
}

/* ---------------------------------------------------------- the console */

/* What has come out of a nonblocking fd so far; eof once it ended. */
typedef struct reader {
    int fd;
    char buf[4096];
    size_t n;
    bool eof;
    const char *want;
} reader;

static bool reader_has(void *arg)
{
    reader *r = arg;
    ssize_t n;

    while (!r->eof && r->n + 1 < sizeof(r->buf)) {
        n = read(r->fd, r->buf + r->n, sizeof(r->buf) - 1 - r->n);
        if (n > 0) {
            r->n += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            r->eof = n == 0 || errno != EAGAIN;
            break;
        }
    }
    r->buf[r->n] = '\0';
    return r->want ? strstr(r->buf, r->want) != NULL : r->eof;
}

static bool file_has(const char *path, const char *want)
{
    char buf[4096] = "";
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

    if (f)
        fclose(f);
    buf[n] = '\0';
    return strstr(buf, want) != NULL;
}

typedef struct logwant {
    const char *path, *want;
} logwant;

static bool log_has(void *arg)
{
    logwant *w = arg;
    return file_has(w->path, w->want);
}

static void test_console(xo_backend *b)
{
    xo_error err = { 0 };
    xo_domain_config c;
    char log[256], tty[64], xtty[64];
    uint32_t ours = 0, foreign, bare;

    xtest_group("the console: logged, and offered to clients on a pty of its own");
    snprintf(log, sizeof(log), "%s/console.log", tmpdir);
    pv_config(&c, "mock-console");
    snprintf(c.console_log, sizeof(c.console_log), "%s", log);
    CHECKF(ops->domain_create(b, &c, false, &ours, &err) == 0, "create: %s", err.msg);
    int guest = mock_console(ours); /* xenconsoled's side */
    CHECK(guest >= 0);
    CHECK(ptsname_r(guest, xtty, sizeof(xtty)) == 0);
    CHECKF(ops->domain_console_tty(b, ours, tty, sizeof(tty), &err) == 0, "console_tty: %s",
           err.msg);
    CHECKF(strncmp(tty, "/dev/pts/", 9) == 0 && strcmp(tty, xtty) != 0,
           "a pty that is not xenconsoled's (%s): %s", xtty, tty);
    /* the guest prints before any client is there; a client opens later */
    CHECK(write(guest, "XQ-GUEST-HELLO\r\n", 16) == 16);
    CHECK(xtest_wait_until(log_has, &(logwant){ log, "XQ-GUEST-HELLO" }));
    reader cl = { .fd = open(tty, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC),
                  .want = "XQ-GUEST-HELLO" };
    CHECKF(cl.fd >= 0, "open %s: %s", tty, strerror(errno));
    CHECKF(xtest_wait_until(reader_has, &cl), "the client reads what came before it: %s", cl.buf);
    /* what the client types reaches the guest, and the guest's answer both */
    CHECK(write(cl.fd, "uname\r", 6) == 6);
    int gflags = fcntl(guest, F_GETFL);
    CHECK(fcntl(guest, F_SETFL, gflags | O_NONBLOCK) == 0);
    reader g = { .fd = guest, .want = "uname\r" };
    CHECKF(xtest_wait_until(reader_has, &g), "the guest got: %s", g.buf);
    CHECK(fcntl(guest, F_SETFL, gflags) == 0);
    CHECK(write(guest, "Linux\r\n", 7) == 7);
    cl.want = "Linux";
    CHECKF(xtest_wait_until(reader_has, &cl), "the client reads the answer: %s", cl.buf);
    CHECK(xtest_wait_until(log_has, &(logwant){ log, "Linux" }));

    xtest_group("the console of a domain made elsewhere is xenconsoled's; none before it has one");
    foreign = mock_add_domain("made-by-xl-con", 65536, 1);
    CHECK(ops->domain_console_tty(b, foreign, tty, sizeof(tty), &err) == -1 &&
          err.code == XO_E_NODOMAIN);
    int fguest = mock_console(foreign);
    CHECK(fguest >= 0 && ptsname_r(fguest, xtty, sizeof(xtty)) == 0);
    CHECKF(ops->domain_console_tty(b, foreign, tty, sizeof(tty), &err) == 0 && !strcmp(tty, xtty),
           "%s, want %s: %s", tty, xtty, err.msg);
    /* the key is opened as root and handed to clients: only a pty's name counts */
    static const char *const not_a_pty[] = { "/etc/shadow", "/dev/pts/../../etc/shadow", "/dev/pts/",
                                             "/dev/pts/1x", "/dev/ptmx", "dev/pts/1" };
    for (size_t i = 0; i < sizeof(not_a_pty) / sizeof(not_a_pty[0]); i++) {
        CHECK(mock_console_key(foreign, not_a_pty[i]));
        CHECKF(ops->domain_console_tty(b, foreign, tty, sizeof(tty), &err) == -1 &&
                   err.code == XO_E_NODOMAIN,
               "console/tty '%s' is not taken as the console", not_a_pty[i]);
    }
    CHECK(mock_console_key(foreign, NULL));
    CHECK(ops->domain_console_tty(b, foreign, tty, sizeof(tty), &err) == 0 && !strcmp(tty, xtty));
    bare = create(b, "mock-no-console", false);
    CHECK(ops->domain_console_tty(b, bare, tty, sizeof(tty), &err) == -1 &&
          err.code == XO_E_NODOMAIN);
    CHECK(ops->domain_console_tty(b, 4242, tty, sizeof(tty), &err) == -1 &&
          err.code == XO_E_NODOMAIN);

    xtest_group("the console ends with the domain");
    CHECK(ops->domain_destroy(b, ours, &err) == 0 && wait_event(XO_EV_DOMAIN_DEATH, ours, NULL));
    cl.want = NULL;
    CHECKF(xtest_wait_until(reader_has, &cl), "the client sees the end");
    CHECK(ops->domain_console_tty(b, ours, tty, sizeof(tty), &err) == -1 &&
          err.code == XO_E_NODOMAIN);
    if (cl.fd >= 0)
        close(cl.fd);
    CHECK(ops->domain_destroy(b, foreign, &err) == 0 && ops->domain_destroy(b, bare, &err) == 0);
    unlink(log);
}

int main(void)
{
    xo_error err;
    xo_backend *b;

    mock_fail = need("xenmock_fail");
    mock_calls = need("xenmock_calls");
    mock_add_domain = need("xenmock_add_domain");
    mock_guest_shutdown = need("xenmock_guest_shutdown");
    mock_no_pv_drivers = need("xenmock_no_pv_drivers");
    mock_last_sysrq = need("xenmock_last_sysrq");
    mock_console = need("xenmock_console");
    mock_console_key = need("xenmock_console_key");
    xtest_mkdtemp(tmpdir);
    loop = xloop_new();
    if (!loop)
        xtest_skip("cannot create an event loop: %s", strerror(errno));

    test_open_failures();
    b = open_backend(&err);
    if (CHECKF(b != NULL, "open the backend on the mock: %s", err.msg)) {
        test_host(b);
        test_lifecycle(b);
        test_foreign(b);
        test_save_restore(b);
        test_devices(b);
        test_console(b);
        ops->close(b);
    }
    xloop_free(loop);
    rmdir(tmpdir);
    return xtest_done();
}
