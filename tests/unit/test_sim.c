/* Unit tests for the sim backend (xenops/sim), driven with a real xloop. */
#include "config.h"

#include "tests/lib/xtest.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/loop.h"
#include "xenops/xenops.h"

#ifndef SIMCTL_PATH
#define SIMCTL_PATH "xenops/sim/xend-simctl"
#endif

/* The error an op reported, and its exact message. */
#define CHECK_ERR(call, ecode, emsg) \
    CHECK((call) == -1 && err.code == (ecode) && strcmp(err.msg, (emsg)) == 0)

/* ---- event recorder ---- */
#define MAX_EV 64
typedef struct evlog {
    pthread_mutex_t m;
    pthread_cond_t c;
    xo_event ev[MAX_EV];
    size_t n;
} evlog;

static void on_event(void *opaque, const xo_event *ev)
{
    evlog *l = opaque;

    pthread_mutex_lock(&l->m);
    if (l->n < MAX_EV)
        l->ev[l->n++] = *ev;
    pthread_cond_broadcast(&l->c);
    pthread_mutex_unlock(&l->m);
}

/* Wait for an event of type for domid; true and *out filled if it came. */
static bool wait_event(evlog *l, xo_event_type type, uint32_t domid, int ms, xo_event *out)
{
    int64_t end = xloop_now_ms() + ms;
    bool found = false;

    pthread_mutex_lock(&l->m);
    while (!found) {
        for (size_t i = 0; i < l->n; i++) {
            if (l->ev[i].type == type && l->ev[i].domid == domid) {
                if (out)
                    *out = l->ev[i];
                memmove(&l->ev[i], &l->ev[i + 1], (l->n - i - 1) * sizeof(l->ev[0]));
                l->n--;
                found = true;
                break;
            }
        }
        if (found || xloop_now_ms() >= end)
            break;
        pthread_mutex_unlock(&l->m);
        usleep(2000);
        pthread_mutex_lock(&l->m);
    }
    pthread_mutex_unlock(&l->m);
    return found;
}

static char tmpdir[256];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static xo_backend *open_sim(xloop *loop, evlog *ev, const char *cfg, xo_error *err)
{
    xo_options o = { 0 };

    o.state_dir = tmpdir;
    o.sim_config = cfg;
    o.loop = loop;
    o.on_event = on_event;
    o.opaque = ev;
    return xo_sim_ops.open(&o, err);
}

static void basic_cfg(xo_domain_config *c, const char *name, uint64_t mib, unsigned vcpus)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->type = XO_DOM_PV;
    c->memory_static_max_kib = c->memory_target_kib = mib * 1024;
    c->vcpus_max = c->vcpus_at_startup = vcpus;
    snprintf(c->kernel, sizeof(c->kernel), "/boot/vmlinuz");
}

static int run_simctl(const char *a1, const char *a2, const char *a3, char *out, size_t out_len)
{
    char cmd[2048], simdir[300];
    FILE *p;
    size_t n = 0;
    int st;

    snprintf(simdir, sizeof(simdir), "%s/sim", tmpdir);
    snprintf(cmd, sizeof(cmd), "%s --state-dir %s %s %s %s 2>&1", SIMCTL_PATH, simdir, a1,
             a2 ? a2 : "", a3 ? a3 : "");
    p = popen(cmd, "r");
    if (!p)
        return -1;
    if (out) {
        n = fread(out, 1, out_len - 1, p);
        out[n] = '\0';
    } else {
        char junk[512];
        while (fread(junk, 1, sizeof(junk), p) > 0)
            ;
    }
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char buf[8192];
    size_t n;

    if (!f)
        return false;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, needle) != NULL;
}

int main(void)
{
    xloop *loop = xloop_new();
    evlog ev;
    xo_error err;
    xo_backend *b;
    xo_host_info hi;
    xo_domain_config cfg;
    uint32_t d1 = 0, d2 = 0, d3 = 0, d4 = 0;
    char path[512], img[512], conf[512], out[2048];
    xo_dominfo di, *list = NULL;
    size_t n = 0;
    xo_event e;

    memset(&ev, 0, sizeof(ev));
    pthread_mutex_init(&ev.m, NULL);
    pthread_cond_init(&ev.c, NULL);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_sim.XXXXXX");
    if (!loop || !mkdtemp(tmpdir)) {
        perror("setup");
        return 1;
    }

    CHECK(xo_backend_by_name("sim") == &xo_sim_ops);
    CHECK(xo_backend_by_name("qemu") == NULL);

    /* ---- host description ---- */
    snprintf(conf, sizeof(conf), "%s/host.conf", tmpdir);
    write_text(conf, "# test host\ncpus = 8\nmemory_mib = 4096\ndom0_memory_mib = 1024\n"
                     "hostname = simhost\nnic = eth0 00:16:3e:00:00:01 1500 xenbr0\n"
                     "nic = eth1 00:16:3e:00:00:02 9000\nshutdown_delay_ms = 30\n"
                     "version = 4.17.0-sim\n");
    b = open_sim(loop, &ev, conf, &err);
    CHECK(b != NULL);
    if (!b) {
        xtest_diag("open: %s", err.msg);
        return 1;
    }
    CHECK(xo_sim_ops.host_info(b, &hi, &err) == 0);
    CHECK(strcmp(hi.hostname, "simhost") == 0);
    CHECK(strcmp(hi.hypervisor, "sim") == 0);
    CHECK(strcmp(hi.version, "4.17.0-sim") == 0);
    CHECK(hi.nr_cpus == 8);
    CHECK(hi.total_memory == 4096ull << 20);
    CHECK(hi.free_memory == 3072ull << 20);
    {
        xo_nic_info *nics = NULL;
        xo_cpu_info *cpus = NULL;
        CHECK(xo_sim_ops.host_nics(b, &nics, &n, &err) == 0);
        CHECK(n == 2 && strcmp(nics[1].device, "eth1") == 0 && nics[1].mtu == 9000 &&
              nics[1].bridge[0] == '\0' && strcmp(nics[0].bridge, "xenbr0") == 0);
        free(nics);
        CHECK(xo_sim_ops.host_cpus(b, &cpus, &n, &err) == 0);
        CHECK(n == 8 && cpus[7].number == 7 && cpus[0].speed_mhz > 0);
        free(cpus);
    }
    {
        char *dm = NULL;
        CHECK(xo_sim_ops.host_dmesg(b, &dm, true, &err) == 0);
        CHECK(dm && strstr(dm, "Xen version 4.17.0-sim"));
        free(dm);
        CHECK(xo_sim_ops.host_dmesg(b, &dm, false, &err) == 0);
        CHECK(dm && dm[0] == '\0');
        free(dm);
    }

    /* A bad description is rejected with the line. */
    {
        char bad[512];
        xo_options o = { .state_dir = tmpdir, .sim_config = bad };
        snprintf(bad, sizeof(bad), "%s/bad.conf", tmpdir);
        write_text(bad, "cpus = 4\nmemory_mib = lots\n");
        CHECK(xo_sim_ops.open(&o, &err) == NULL && err.code == XO_E_INVAL &&
              strstr(err.msg, ":2:"));
    }

    /* ---- create / list / info ---- */
    basic_cfg(&cfg, "vm1", 512, 2);
    snprintf(cfg.console_log, sizeof(cfg.console_log), "%s/vm1.console", tmpdir);
    CHECK(xo_sim_ops.domain_create(b, &cfg, false, &d1, &err) == 0);
    CHECK(d1 == 1);
    CHECK(file_contains(cfg.console_log, "XQ-GUEST-HELLO"));
    basic_cfg(&cfg, "vm2", 256, 1);
    snprintf(cfg.uuid, sizeof(cfg.uuid), "11111111-2222-3333-4444-555555555555");
    CHECK(xo_sim_ops.domain_create(b, &cfg, true, &d2, &err) == 0);
    CHECK(d2 == 2);
    CHECK(xo_sim_ops.domain_list(b, &list, &n, &err) == 0);
    CHECK(n == 3);
    if (n == 3) {
        CHECK(list[0].domid == 0 && strcmp(list[0].name, "Domain-0") == 0 &&
              strcmp(list[0].uuid, "00000000-0000-0000-0000-000000000000") == 0);
        CHECK(list[1].domid == 1 && list[1].state == XO_STATE_RUNNING && list[1].vcpus_online == 2);
        CHECK(list[2].domid == 2 && list[2].state == XO_STATE_PAUSED &&
              strcmp(list[2].uuid, cfg.uuid) == 0 && list[2].memory_kib == 256 * 1024);
    }
    free(list);
    CHECK(xo_sim_ops.domain_info(b, 99, &di, &err) == -1 && err.code == XO_E_NODOMAIN);
    CHECK(xo_sim_ops.domain_info(b, d1, &di, &err) == 0 && strcmp(di.name, "vm1") == 0 &&
          di.start_time > 0);
    {
        uint64_t t0 = di.cpu_time_ns;
        usleep(50000);
        CHECK(xo_sim_ops.domain_info(b, d1, &di, &err) == 0 && di.cpu_time_ns > t0);
    }
    /* Duplicate name, bad vcpus. */
    basic_cfg(&cfg, "vm1", 64, 1);
    CHECK(xo_sim_ops.domain_create(b, &cfg, false, &d3, &err) == -1 && err.code == XO_E_INVAL);
    basic_cfg(&cfg, "big-cpu", 64, 9);
    CHECK(xo_sim_ops.domain_create(b, &cfg, false, &d3, &err) == -1 && err.code == XO_E_NOCPU);
    /* Memory exhaustion: 3072 - 512 - 256 = 2304 MiB free. */
    basic_cfg(&cfg, "big-mem", 4000, 1);
    CHECK(xo_sim_ops.domain_create(b, &cfg, false, &d3, &err) == -1 && err.code == XO_E_NOMEM &&
          strstr(err.msg, "needs 4000 MiB, 2304 MiB free"));
    CHECK(xo_sim_ops.host_info(b, &hi, &err) == 0 && hi.free_memory == 2304ull << 20);

    /* ---- vcpus, memory ---- */
    {
        xo_vcpu_info *v = NULL;
        CHECK(xo_sim_ops.domain_vcpus(b, d1, &v, &n, &err) == 0);
        CHECK(n == 2 && v[0].online && v[1].online && v[0].cpu >= 0);
        free(v);
    }
    CHECK(xo_sim_ops.domain_set_vcpus(b, d1, 3, &err) == -1 && err.code == XO_E_INVAL);
    CHECK(xo_sim_ops.domain_set_vcpus(b, d1, 1, &err) == 0);
    CHECK(wait_event(&ev, XO_EV_DOMAIN_CHANGED, d1, xtest_deadline_ms(), NULL));
    CHECK(xo_sim_ops.domain_set_memory(b, d1, 256 * 1024, &err) == 0);
    CHECK(xo_sim_ops.domain_info(b, d1, &di, &err) == 0 && di.target_kib == 256 * 1024 &&
          di.vcpus_online == 1);
    CHECK(xo_sim_ops.domain_set_memory(b, d1, 1024 * 1024, &err) == -1 && err.code == XO_E_INVAL);

    /* ---- pause / unpause / busy ---- */
    CHECK_ERR(xo_sim_ops.domain_unpause(b, d1, &err), XO_E_BUSY,
              "domain 1 is running, cannot unpause");
    CHECK(xo_sim_ops.domain_pause(b, d1, &err) == 0);
    CHECK_ERR(xo_sim_ops.domain_pause(b, d1, &err), XO_E_BUSY, "domain 1 is paused, cannot pause");
    CHECK(xo_sim_ops.domain_info(b, d1, &di, &err) == 0 && di.state == XO_STATE_PAUSED);
    CHECK(xo_sim_ops.domain_unpause(b, d1, &err) == 0);
    CHECK_ERR(xo_sim_ops.domain_pause(b, 0, &err), XO_E_INVAL,
              "operation not permitted on Domain-0");
    CHECK_ERR(xo_sim_ops.domain_set_vcpus(b, 99, 1, &err), XO_E_NODOMAIN,
              "no domain with domid 99");

    /* ---- devices ---- */
    {
        xo_disk dk = { 0 };
        xo_nic nic = { .devid = -1 };
        snprintf(dk.vdev, sizeof(dk.vdev), "xvdb");
        snprintf(dk.target, sizeof(dk.target), "/images/data disk.img");
        snprintf(dk.format, sizeof(dk.format), "raw");
        CHECK(xo_sim_ops.disk_add(b, d1, &dk, &err) == 0);
        CHECK_ERR(xo_sim_ops.disk_add(b, d1, &dk, &err), XO_E_INVAL,
                  "virtual device xvdb already in use");
        CHECK_ERR(xo_sim_ops.disk_change_media(b, d1, &dk, &err), XO_E_INVAL,
                  "disk xvdb is not a CD-ROM");
        CHECK_ERR(xo_sim_ops.disk_remove(b, d1, "xvdz", &err), XO_E_INVAL,
                  "domain 1 has no disk xvdz");
        CHECK(xo_sim_ops.nic_add(b, d1, &nic, &err) == 0);
        CHECK(nic.devid == 0 && strncmp(nic.mac, "00:16:3e:", 9) == 0 && strlen(nic.mac) == 17 &&
              strcmp(nic.bridge, "xenbr0") == 0);
        nic.devid = -1;
        nic.mac[0] = '\0';
        CHECK(xo_sim_ops.nic_add(b, d1, &nic, &err) == 0 && nic.devid == 1);
        CHECK_ERR(xo_sim_ops.nic_remove(b, d1, 7, &err), XO_E_INVAL, "domain 1 has no nic 7");
        /* byte counters: one per device (the disk by vdev, the nics by devid), growing as the guest runs */
        xo_dev_io *io = NULL, *io2 = NULL;
        size_t nio = 0, nio2 = 0;
        CHECK(xo_sim_ops.domain_io(b, d1, &io, &nio, &err) == 0);
        CHECK(nio >= 3 && !io[nio - 3].nic && strcmp(io[nio - 3].vdev, "xvdb") == 0 &&
              io[nio - 2].nic && io[nio - 2].devid == 0 && io[nio - 1].nic && io[nio - 1].devid == 1);
        usleep(50000);
        CHECK(xo_sim_ops.domain_io(b, d1, &io2, &nio2, &err) == 0 && nio2 == nio);
        for (size_t i = 0; i < nio && nio2 == nio; i++)
            CHECKF(io2[i].rd_bytes > io[i].rd_bytes && io2[i].wr_bytes > io[i].wr_bytes, "device %zu", i);
        free(io);
        free(io2);
        CHECK(xo_sim_ops.domain_io(b, 99, &io, &nio, &err) == -1 && err.code == XO_E_NODOMAIN);
        CHECK(xo_sim_ops.nic_remove(b, d1, 0, &err) == 0);
        CHECK(xo_sim_ops.disk_remove(b, d1, "xvdb", &err) == 0);
    }
    CHECK(xo_sim_ops.domain_rename(b, d1, "vm2", &err) == -1 && err.code == XO_E_INVAL);
    CHECK(xo_sim_ops.domain_rename(b, d1, "vm one", &err) == 0);
    CHECK(xo_sim_ops.domain_sysrq(b, d1, 's', &err) == 0);
    CHECK(xo_sim_ops.domain_trigger(b, d1, "bogus", &err) == -1 && err.code == XO_E_INVAL);
    CHECK(xo_sim_ops.domain_sched_params(b, d1, 512, 50, &err) == 0);

    /* ---- shutdown -> event with reason ---- */
    CHECK(xo_sim_ops.domain_shutdown(b, d1, XO_SHUTDOWN_REBOOT, &err) == 0);
    CHECK(xo_sim_ops.domain_info(b, d1, &di, &err) == 0 && di.state == XO_STATE_RUNNING);
    CHECK(wait_event(&ev, XO_EV_DOMAIN_SHUTDOWN, d1, xtest_deadline_ms(), &e));
    CHECK(e.reason == XO_SHUTDOWN_REBOOT);
    CHECK(xo_sim_ops.domain_info(b, d1, &di, &err) == 0 && di.state == XO_STATE_SHUTDOWN &&
          di.reason == XO_SHUTDOWN_REBOOT);
    CHECK_ERR(xo_sim_ops.domain_pause(b, d1, &err), XO_E_BUSY,
              "domain 1 is shutdown, cannot pause");
    CHECK_ERR(xo_sim_ops.domain_suspend(b, d1, "/nonexistent/img", &err), XO_E_BUSY,
              "domain 1 is shutdown, cannot suspend");
    CHECK_ERR(xo_sim_ops.domain_shutdown(b, d1, XO_SHUTDOWN_POWEROFF, &err), XO_E_BUSY,
              "domain 1 is shutdown");
    CHECK_ERR(xo_sim_ops.domain_sysrq(b, d1, 's', &err), XO_E_BUSY, "domain 1 is shutdown");
    CHECK_ERR(xo_sim_ops.domain_trigger(b, d1, "nmi", &err), XO_E_BUSY, "domain 1 is shutdown");
    CHECK_ERR(xo_sim_ops.nic_remove(b, d1, 1, &err), XO_E_BUSY, "domain 1 is shutdown");
    /* Arguments are checked before the state. */
    CHECK_ERR(xo_sim_ops.domain_shutdown(b, d1, XO_SHUTDOWN_CRASH, &err), XO_E_INVAL,
              "shutdown reason must be poweroff or reboot");
    CHECK_ERR(xo_sim_ops.domain_sysrq(b, d1, '!', &err), XO_E_INVAL, "bad sysrq key");
    CHECK_ERR(xo_sim_ops.domain_trigger(b, d1, "bogus", &err), XO_E_INVAL,
              "unknown trigger 'bogus'");
    snprintf(path, sizeof(path), "%s/core", tmpdir);
    CHECK(xo_sim_ops.domain_coredump(b, d1, path, &err) == 0 && access(path, F_OK) == 0);

    /* ---- destroy -> death ---- */
    CHECK(xo_sim_ops.domain_destroy(b, d1, &err) == 0);
    CHECK(wait_event(&ev, XO_EV_DOMAIN_DEATH, d1, xtest_deadline_ms(), NULL));
    CHECK(xo_sim_ops.domain_info(b, d1, &di, &err) == -1 && err.code == XO_E_NODOMAIN);

    /* ---- suspend / restore ---- */
    CHECK(xo_sim_ops.domain_unpause(b, d2, &err) == 0);
    snprintf(img, sizeof(img), "%s/vm2.img", tmpdir);
    CHECK(xo_sim_ops.domain_suspend(b, d2, img, &err) == 0);
    {
        struct stat st;
        CHECK(stat(img, &st) == 0 && st.st_size > 4096);
    }
    CHECK(xo_sim_ops.domain_info(b, d2, &di, &err) == -1 && err.code == XO_E_NODOMAIN);
    basic_cfg(&cfg, "vm2", 256, 1);
    CHECK(xo_sim_ops.domain_restore(b, &cfg, img, false, &d3, &err) == 0);
    CHECK(d3 == 3);
    CHECK(xo_sim_ops.domain_info(b, d3, &di, &err) == 0 && di.state == XO_STATE_RUNNING &&
          strcmp(di.name, "vm2") == 0);
    {
        char *dm = NULL;
        CHECK(xo_sim_ops.host_dmesg(b, &dm, false, &err) == 0 && dm &&
              strstr(dm, "(XEN) sim: domain 1 destroyed\n") &&
              strstr(dm, "(XEN) sim: domain 2 suspended to ") &&
              strstr(dm, "(XEN) sim: domain 3 (vm2) restored from "));
        free(dm);
    }
    /* Corrupted and missing images are rejected. */
    {
        char bad[512];
        FILE *f;
        snprintf(bad, sizeof(bad), "%s/bad.img", tmpdir);
        CHECK(system("true") == 0);
        snprintf(out, sizeof(out), "cp %s %s", img, bad);
        CHECK(system(out) == 0);
        f = fopen(bad, "r+");
        if (f) {
            fseek(f, 600, SEEK_SET);
            fputc('Z' ^ 0x55, f);
            fclose(f);
        }
        basic_cfg(&cfg, "vm-bad", 64, 1);
        CHECK(xo_sim_ops.domain_restore(b, &cfg, bad, false, &d4, &err) == -1 &&
              err.code == XO_E_INVAL);
        write_text(bad, "not an image at all");
        CHECK(xo_sim_ops.domain_restore(b, &cfg, bad, false, &d4, &err) == -1 &&
              err.code == XO_E_INVAL);
        snprintf(bad, sizeof(bad), "%s/missing.img", tmpdir);
        CHECK(xo_sim_ops.domain_restore(b, &cfg, bad, false, &d4, &err) == -1 &&
              err.code == XO_E_INVAL);
    }

    /* ---- unresponsive guest ignores shutdown ---- */
    basic_cfg(&cfg, "stubborn", 128, 1);
    CHECK(xo_sim_ops.domain_create(b, &cfg, false, &d4, &err) == 0 && d4 == 4);
    CHECK(run_simctl("unresponsive", "4", "on", out, sizeof(out)) == 0);
    CHECK(xo_sim_ops.domain_shutdown(b, d4, XO_SHUTDOWN_POWEROFF, &err) == 0);
    CHECK(!wait_event(&ev, XO_EV_DOMAIN_SHUTDOWN, d4, 200, NULL));
    CHECK(xo_sim_ops.domain_info(b, d4, &di, &err) == 0 && di.state == XO_STATE_RUNNING);
    /* Waking up, it acts on the request it ignored. */
    CHECK(run_simctl("unresponsive", "4", "off", out, sizeof(out)) == 0);
    CHECK(wait_event(&ev, XO_EV_DOMAIN_SHUTDOWN, d4, xtest_deadline_ms(), &e) && e.reason == XO_SHUTDOWN_POWEROFF);
    CHECK(xo_sim_ops.domain_destroy(b, d4, &err) == 0);
    CHECK(wait_event(&ev, XO_EV_DOMAIN_DEATH, d4, xtest_deadline_ms(), NULL));

    /* ---- control tool: guest-initiated events ---- */
    CHECK(run_simctl("crash", "3", NULL, out, sizeof(out)) == 0);
    CHECK(wait_event(&ev, XO_EV_DOMAIN_SHUTDOWN, d3, xtest_deadline_ms(), &e) && e.reason == XO_SHUTDOWN_CRASH);
    CHECK(xo_sim_ops.domain_info(b, d3, &di, &err) == 0 && di.state == XO_STATE_CRASHED);
    CHECK(run_simctl("poweroff", "3", NULL, out, sizeof(out)) != 0 &&
          strstr(out, "domain 3 is crashed, not running"));
    CHECK(run_simctl("poweroff", "42", NULL, out, sizeof(out)) != 0 && strstr(out, "42"));
    CHECK(run_simctl("create-foreign", "outsider", "128", out, sizeof(out)) == 0);
    CHECK(strncmp(out, "5 ", 2) == 0);
    CHECK(wait_event(&ev, XO_EV_DOMAIN_NEW, 5, xtest_deadline_ms(), NULL));
    CHECK(run_simctl("watchdog", "5", NULL, out, sizeof(out)) == 0);
    CHECK(wait_event(&ev, XO_EV_DOMAIN_SHUTDOWN, 5, xtest_deadline_ms(), &e) && e.reason == XO_SHUTDOWN_WATCHDOG);
    CHECK(run_simctl("list", NULL, NULL, out, sizeof(out)) == 0 && strstr(out, "outsider") &&
          strstr(out, "crashed"));
    CHECK(run_simctl("frobnicate", "5", NULL, out, sizeof(out)) != 0);

    /* ---- restart: a second instance sees the same domains ---- */
    basic_cfg(&cfg, "survivor", 64, 1);
    CHECK(xo_sim_ops.domain_create(b, &cfg, false, &d4, &err) == 0 && d4 == 6);
    xo_sim_ops.close(b);
    b = open_sim(loop, &ev, conf, &err);
    CHECK(b != NULL);
    if (!b)
        return 1;
    CHECK(xo_sim_ops.domain_list(b, &list, &n, &err) == 0 && n == 4);
    if (n == 4) {
        CHECK(list[1].domid == 3 && list[1].state == XO_STATE_CRASHED);
        CHECK(list[2].domid == 5 && strcmp(list[2].name, "outsider") == 0);
        CHECK(list[3].domid == 6 && list[3].state == XO_STATE_RUNNING &&
              strcmp(list[3].name, "survivor") == 0);
    }
    free(list);
    /* Domids are never reused within a state dir. */
    CHECK(xo_sim_ops.domain_destroy(b, 6, &err) == 0);
    basic_cfg(&cfg, "next", 64, 1);
    CHECK(xo_sim_ops.domain_create(b, &cfg, false, &d4, &err) == 0 && d4 == 7);
    /* The control tool works against the reopened instance too. */
    CHECK(run_simctl("reboot", "7", NULL, out, sizeof(out)) == 0);
    CHECK(wait_event(&ev, XO_EV_DOMAIN_SHUTDOWN, 7, xtest_deadline_ms(), &e) && e.reason == XO_SHUTDOWN_REBOOT);
    xo_sim_ops.close(b);
    /* With no backend open, the tool gives up with an error. */
    CHECK(run_simctl("--timeout 0.3 destroy", "7", NULL, out, sizeof(out)) != 0);

    xloop_free(loop);
    snprintf(out, sizeof(out), "rm -rf %s", tmpdir);
    if (system(out) != 0)
        xtest_diag("could not remove %s", tmpdir);
    pthread_cond_destroy(&ev.c);
    pthread_mutex_destroy(&ev.m);
    return xtest_done();
}
