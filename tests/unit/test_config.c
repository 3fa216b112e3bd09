/* Unit tests of config/xendconf (xend.conf parser, listeners, allow-lists)
 * and util/log (line format, levels, sanitising, concurrent writers). */
#include "config.h"

#include "tests/lib/xtest.h"

#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/xendconf.h"
#include "util/log.h"

static char tmpdir[] = "/tmp/test_config.XXXXXX";
static unsigned nfiles;

/* Writes text to a fresh file in tmpdir; returns its malloc'd path. */
static char *write_file(const char *text)
{
    char *path = NULL;
    if (asprintf(&path, "%s/f%u.conf", tmpdir, ++nfiles) < 0)
        abort();
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
    return path;
}

/* Loads text as a config file; returns true on success, *err_r else. */
static bool load_text(xend_config *c, const char *text, char **path_r, char **err_r)
{
    char *path = write_file(text);
    *err_r = NULL;
    bool ok = xend_config_load(c, path, err_r);
    if (path_r)
        *path_r = path;
    else
        free(path);
    return ok;
}

/* The load fails with "PATH:LINE: ...needle...". */
static bool load_fails(const char *text, unsigned line, const char *needle)
{
    xend_config c;
    char *path = NULL, *err = NULL, *prefix = NULL;
    xend_config_init(&c);
    bool ok = load_text(&c, text, &path, &err);
    bool good = false;
    if (asprintf(&prefix, "%s:%u: ", path, line) < 0)
        abort();
    if (ok)
        xtest_diag("unexpectedly loaded: %s", text);
    else if (!err || strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, needle))
        xtest_diag("wrong error for \"%s\": %s (wanted %s...%s)", text,
                err ? err : "(null)", prefix, needle);
    else
        good = true;
    /* a failed load leaves the defaults alone */
    if (!ok && (c.n_listeners != 1 || c.workers != 8 || strcmp(c.backend, "auto") != 0))
        good = false;
    free(prefix);
    free(path);
    free(err);
    xend_config_dispose(&c);
    return good;
}

static void test_defaults(void)
{
    xend_config c;
    xend_config_init(&c);
    CHECK(strcmp(c.state_dir, "/var/lib/xend") == 0);
    CHECK(strcmp(c.backend, "auto") == 0);
    CHECK(c.sim_config == NULL);
    CHECK(strcmp(c.pid_file, "/var/run/xend.pid") == 0);
    CHECK(c.log_file == NULL);
    CHECK(c.log_level == XLOG_INFO);
    CHECK(strcmp(c.pam_service, "xend") == 0);
    CHECK(c.max_request_bytes == 4194304);
    CHECK(c.max_xml_depth == 64);
    CHECK(c.workers == 8 && c.http_threads == 2);
    CHECK(c.session_timeout == 86400 && c.task_expiry == 3600);
    CHECK(c.event_log_size == 100000);
    CHECK(strcmp(c.audit_log, XEND_CONFIG_DEFAULT_AUDIT_LOG) == 0);
    CHECK(c.auth_threads == 4 && c.login_backoff_ms == 500 && c.login_backoff_max_ms == 30000);
    CHECK(c.sessions_per_user == 500 && c.sessions_per_originator == 500 && c.sessions_root == 400);
    CHECK(c.http_timeout == 30 && c.connections_per_address == 256 && c.fd_reserve == 128);
    CHECK(c.body_budget == (size_t)16 << 20 && c.event_log_bytes == (size_t)64 << 20);
    CHECK(c.max_finished_tasks == 10000);
    CHECK(strcmp(c.web_dir, PKGDATADIR "/web") == 0);
    CHECK(strcmp(c.on_xend_stop, "ignore") == 0 && c.on_xend_stop_timeout == 300);
    CHECK(strcmp(c.metrics, "loopback") == 0);
    CHECK(!c.log_filters && !c.image_dir && !c.sr_dir && !c.kernel_dir && !c.bootloader_dir);
    CHECK(!c.tls_priorities && !c.role_default && c.n_role_maps == 0);
    CHECK(c.n_listeners == 1);
    if (c.n_listeners == 1) {
        xend_listener *l = &c.listeners[0];
        CHECK(l->kind == XEND_LISTEN_UNIX && strcmp(l->path, "/var/run/xend/xen-api.sock") == 0);
        CHECK(l->auth_none && l->n_allow == 0 && !l->host && !l->cert_file);
        CHECK(xend_listener_warning(l) == NULL);
    }
    char *err = NULL;
    CHECK(xend_config_validate(&c, &err));
    free(err);
    xend_config_dispose(&c);
    xend_config_dispose(&c);    /* twice is harmless */
    xend_config_dispose(NULL);
}

static void test_every_key(void)
{
    char *cert = write_file("-----BEGIN CERTIFICATE-----\n");
    char *key = write_file("-----BEGIN PRIVATE KEY-----\n");
    char *sim = write_file("# sim host\n");
    char *text = NULL;
    if (asprintf(&text,
                 "# xend.conf for the test\n"
                 "\n"
                 "state-dir = /srv/xend   # trailing comment\n"
                 "  backend=sim\n"
                 "sim-config = %s\n"
                 "pid-file = /run/xend-test.pid\r\n"
                 "log-file = /var/log/xend-test.log\n"
                 "log-level = debug\n"
                 "listen = unix:/run/xend/api.sock\n"
                 "listen = http:127.0.0.1:9363 auth=none allow=127\\.0\\.0\\.1\n"
                 "listen = https:[::1]:9367 cert=%s key=%s allow=::1 allow=10\\.1\\..*\n"
                 "listen = http:*:8080\n"
                 "listen = unix:/run/xend/pam.sock auth=pam\n"
                 "pam-service = xend-api\n"
                 "max-request-bytes = 8M\n"
                 "max-xml-depth = 32\n"
                 "workers = 16\n"
                 "http-threads = 4\n"
                 "session-timeout = 600\n"
                 "task-expiry = 0\n"
                 "event-log-size = 5000\n", sim, cert, key) < 0)
        abort();

    xend_config c;
    char *err = NULL;
    xend_config_init(&c);
    CHECK(load_text(&c, text, NULL, &err));
    if (err)
        xtest_diag("load: %s", err);
    free(err);
    CHECK(strcmp(c.state_dir, "/srv/xend") == 0);
    CHECK(strcmp(c.backend, "sim") == 0);
    CHECK(c.sim_config && strcmp(c.sim_config, sim) == 0);
    CHECK(strcmp(c.pid_file, "/run/xend-test.pid") == 0);
    CHECK(c.log_file && strcmp(c.log_file, "/var/log/xend-test.log") == 0);
    CHECK(c.log_level == XLOG_DEBUG);
    CHECK(strcmp(c.pam_service, "xend-api") == 0);
    CHECK(c.max_request_bytes == 8u * 1024 * 1024);
    CHECK(c.max_xml_depth == 32);
    CHECK(c.workers == 16 && c.http_threads == 4);
    CHECK(c.session_timeout == 600 && c.task_expiry == 0);
    CHECK(c.event_log_size == 5000);

    CHECK(c.n_listeners == 5);  /* the default one is replaced */
    if (c.n_listeners == 5) {
        xend_listener *l = c.listeners;
        CHECK(l[0].kind == XEND_LISTEN_UNIX && strcmp(l[0].path, "/run/xend/api.sock") == 0);
        CHECK(l[0].auth_none && l[0].port == 0);
        CHECK(l[1].kind == XEND_LISTEN_HTTP && strcmp(l[1].host, "127.0.0.1") == 0);
        CHECK(l[1].port == 9363 && l[1].auth_none && l[1].n_allow == 1);
        CHECK(l[1].n_allow == 1 && strcmp(l[1].allow[0], "127\\.0\\.0\\.1") == 0);
        CHECK(l[2].kind == XEND_LISTEN_HTTPS && strcmp(l[2].host, "::1") == 0 && l[2].port == 9367);
        CHECK(!l[2].auth_none && strcmp(l[2].cert_file, cert) == 0 && strcmp(l[2].key_file, key) == 0);
        CHECK(l[2].n_allow == 2);
        CHECK(l[3].kind == XEND_LISTEN_HTTP && l[3].host == NULL && l[3].port == 8080);
        CHECK(!l[3].auth_none);     /* TCP listeners default to PAM */
        CHECK(l[4].kind == XEND_LISTEN_UNIX && !l[4].auth_none);

        CHECK(xend_listener_warning(&l[0]) == NULL);
        CHECK(xend_listener_warning(&l[1]) && strstr(xend_listener_warning(&l[1]), "auth=none"));
        CHECK(xend_listener_warning(&l[2]) == NULL);
        CHECK(xend_listener_warning(&l[3]) && strstr(xend_listener_warning(&l[3]), "clear text"));

        char *d = xend_listener_describe(&l[0]);
        CHECK(d && strcmp(d, "unix:/run/xend/api.sock auth=none") == 0);
        free(d);
        d = xend_listener_describe(&l[2]);
        CHECK(d && strncmp(d, "https:[::1]:9367 auth=pam", 25) == 0);
        free(d);
        d = xend_listener_describe(&l[3]);
        CHECK(d && strcmp(d, "http:*:8080 auth=pam") == 0);
        free(d);
    }
    err = NULL;
    CHECK(xend_config_validate(&c, &err));
    if (err)
        xtest_diag("validate: %s", err);
    free(err);

    /* loading again starts from the defaults, not from the old values */
    CHECK(load_text(&c, "workers = 3\n", NULL, &err));
    CHECK(c.workers == 3 && strcmp(c.backend, "auto") == 0 && c.n_listeners == 1);
    free(err);

    xend_config_dispose(&c);
    free(text);
    free(cert);
    free(key);
    free(sim);
}

static void test_values(void)
{
    xend_config c;
    char *err = NULL;
    xend_config_init(&c);
    CHECK(load_text(&c, "sim-config = none\nlog-file = none\nmax-request-bytes = 64k\n"
                        "listen = http:host-1.example.org:1 auth=pam\n"
                        "listen = http:[fe80::1%eth0]:65535\n", NULL, &err));
    free(err);
    CHECK(c.sim_config == NULL && c.log_file == NULL && c.max_request_bytes == 65536);
    CHECK(c.n_listeners == 2 && strcmp(c.listeners[0].host, "host-1.example.org") == 0);
    CHECK(c.n_listeners == 2 && c.listeners[0].port == 1);
    CHECK(c.n_listeners == 2 && strcmp(c.listeners[1].host, "fe80::1%eth0") == 0);
    CHECK(c.n_listeners == 2 && c.listeners[1].port == 65535);
    xend_config_dispose(&c);

    /* an empty file (or only comments) gives the defaults */
    xend_config_init(&c);
    CHECK(load_text(&c, "# nothing\n   \n\t# more\n", NULL, &err));
    free(err);
    CHECK(c.n_listeners == 1 && c.listeners[0].kind == XEND_LISTEN_UNIX);
    xend_config_dispose(&c);

    /* a missing file names the path */
    xend_config_init(&c);
    err = NULL;
    CHECK(!xend_config_load(&c, "/nonexistent/xend.conf", &err));
    CHECK(err && strstr(err, "/nonexistent/xend.conf") && strstr(err, "No such file"));
    free(err);
    xend_config_dispose(&c);
}

/* A listener without a port gets xend's: 9363 for http, 9367 for https. */
static void test_default_ports(void)
{
    xend_config c;
    char *err = NULL;
    xend_config_init(&c);
    CHECK(xend_config_add_listener(&c, "http:127.0.0.1", &err) && c.listeners[0].port == 9363);
    CHECK(xend_config_add_listener(&c, "https:[::1] cert=/c key=/k", &err) && c.listeners[1].port == 9367 &&
          strcmp(c.listeners[1].host, "::1") == 0);
    free(err);
    xend_config_dispose(&c);
}

static void test_errors(void)
{
    CHECK(load_fails("workers = 2\n\nfrobnicate = 1\n", 3, "unknown key 'frobnicate'"));
    CHECK(load_fails("listen = http:127.0.0.1:0\n", 1, "bad port"));
    CHECK(load_fails("# c\nlisten = http:127.0.0.1:65536\n", 2, "bad port"));
    CHECK(load_fails("listen = http:127.0.0.1:http\n", 1, "bad port"));
    CHECK(load_fails("listen = http:127.0.0.1:\n", 1, "bad port"));
    CHECK(load_fails("listen = https:0.0.0.0:9367\n", 1, "cert=FILE and key=FILE"));
    CHECK(load_fails("listen = https:0.0.0.0:9367 cert=/a.pem\n", 1, "cert=FILE and key=FILE"));
    CHECK(load_fails("listen = http:0.0.0.0:9363 allow=([0-9]\n", 1, "invalid regular expression"));
    CHECK(load_fails("listen = http:0.0.0.0:9363 allow=\n", 1, "allow="));
    /* patterns whose compilation would take gigabytes (found by fuzz/fuzz_xendconf.c) */
    CHECK(load_fails("listen = http:0.0.0.0:9363 allow=a++++++++++++++++++++++++++++++++++++++++++\n", 1,
                     "too many repetitions"));
    CHECK(load_fails("listen = http:0.0.0.0:9363 allow=((a{100}){100}){100}\n", 1, "too many repetitions"));
    CHECK(load_fails("listen = http:0.0.0.0:9363 allow=a{99999}\n", 1, "too many repetitions"));
    /* repetitions in a row: seconds in regcomp though they count little */
    CHECK(load_fails("listen = http:0.0.0.0:9363 allow=x\xff++*+++++++++/y\n", 1, "in a row"));
    CHECK(load_fails("listen = http:0.0.0.0:9363 allow=a*?\n", 1, "in a row"));
    CHECK(load_fails("listen = http:0.0.0.0:9363 allow=a{2}+\n", 1, "in a row"));
    {
        char big[400];
        memset(big, 'a', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        char *line = NULL;
        if (asprintf(&line, "listen = http:0.0.0.0:9363 allow=%s\n", big) < 0)
            abort();
        CHECK(load_fails(line, 1, "too long"));
        free(line);
    }
    {   /* what an address list needs still passes: + in brackets and escaped is
         * literal, and a repetition of a repeated group is not two in a row */
        xend_config c;
        char *err = NULL;
        xend_config_init(&c);
        CHECK(load_text(&c, "listen = http:0.0.0.0:9363 allow=192\\.168\\.[0-9]{1,3}\\.[0-9+]{1,3} "
                            "allow=a\\++b+ allow=(a+)+ allow=a{2}b*\n", NULL, &err));
        CHECK(c.n_listeners == 1 && xend_listener_allows(&c.listeners[0], "192.168.1.2") &&
              !xend_listener_allows(&c.listeners[0], "10.0.0.1"));
        free(err);
        xend_config_dispose(&c);
    }
    CHECK(load_fails("listen = http:::1:9363\n", 1, "brackets"));
    CHECK(load_fails("listen = http:[zz::1]:9363\n", 1, "not an IPv6 address"));
    CHECK(load_fails("listen = http:[::1]9363\n", 1, "[IPV6]:PORT"));
    CHECK(load_fails("listen = http:a/b:9363\n", 1, "host name"));
    CHECK(load_fails("listen = tcp:1.2.3.4:5\n", 1, "unix:PATH"));
    CHECK(load_fails("listen = unix:\n", 1, "socket path"));
    CHECK(load_fails("listen = unix:/a auth=maybe\n", 1, "auth=maybe"));
    CHECK(load_fails("listen = unix:/a auth=none auth=pam\n", 1, "twice"));
    CHECK(load_fails("listen = unix:/a cert=/c\n", 1, "only applies to https"));
    CHECK(load_fails("listen = unix:/a allow=.*\n", 1, "only applies to http"));
    CHECK(load_fails("listen = http:1.2.3.4:5 colour=red\n", 1, "unknown listener option 'colour'"));
    CHECK(load_fails("listen = http:1.2.3.4:5 pam\n", 1, "name=value"));
    CHECK(load_fails("backend = qemu\n", 1, "sim, xen or auto"));
    CHECK(load_fails("log-level = verbose\n", 1, "log-level 'verbose'"));
    CHECK(load_fails("workers = 0\n", 1, "out of range"));
    CHECK(load_fails("workers = -1\n", 1, "not a number"));
    CHECK(load_fails("workers = 4x\n", 1, "not a number"));
    CHECK(load_fails("max-request-bytes = 99999999999999999999999\n", 1, "out of range"));
    CHECK(load_fails("max-request-bytes = 2G\n", 1, "out of range"));
    CHECK(load_fails("max-xml-depth = 4\n", 1, "out of range"));
    CHECK(load_fails("workers = 2\nworkers = 3\n", 2, "already set at line 1"));
    CHECK(load_fails("state-dir\n", 1, "expected 'key = value'"));
    CHECK(load_fails("state-dir =\n", 1, "needs a value"));
    CHECK(load_fails("state-dir = none\n", 1, "cannot be none"));
    CHECK(load_fails("pam-service = ../etc/shadow\n", 1, "pam-service"));
    CHECK(load_fails("= 3\n", 1, "unknown key ''"));
}

static void test_add_listener(void)
{
    xend_config c;
    char *err = NULL;
    xend_config_init(&c);
    CHECK(xend_config_add_listener(&c, "http:127.0.0.1:9363", &err));
    CHECK(c.n_listeners == 1 && c.listeners[0].kind == XEND_LISTEN_HTTP);
    CHECK(xend_config_add_listener(&c, "unix:/tmp/x.sock", &err));
    CHECK(c.n_listeners == 2);
    CHECK(!xend_config_add_listener(&c, "http:127.0.0.1:99999", &err));
    CHECK(err && strstr(err, "http:127.0.0.1:99999") && strstr(err, "bad port"));
    free(err);
    err = NULL;
    CHECK(c.n_listeners == 2);
    CHECK(!xend_config_add_listener(&c, "https:[::]:9367 cert=/x", NULL)); /* NULL err_r is fine */
    xend_config_clear_listeners(&c);
    CHECK(c.n_listeners == 0);
    CHECK(!xend_config_validate(&c, &err));
    CHECK(err && strstr(err, "no listener"));
    free(err);
    err = NULL;
    CHECK(xend_config_add_listener(&c, "unix:/tmp/y.sock", &err));
    CHECK(c.n_listeners == 1);
    xend_config_dispose(&c);
}

static void test_validate(void)
{
    xend_config c;
    char *err = NULL;
    char *cert = write_file("cert\n");

    xend_config_init(&c);
    char *spec = NULL;
    if (asprintf(&spec, "https:127.0.0.1:9367 cert=%s key=%s/missing-key.pem", cert, tmpdir) < 0)
        abort();
    CHECK(xend_config_add_listener(&c, spec, &err));
    free(spec);
    CHECK(!xend_config_validate(&c, &err));
    CHECK(err && strstr(err, "private key") && strstr(err, "missing-key.pem"));
    free(err);
    err = NULL;
    xend_config_dispose(&c);

    xend_config_init(&c);
    if (asprintf(&spec, "https:127.0.0.1:9367 cert=%s key=%s", tmpdir, cert) < 0)
        abort();
    CHECK(xend_config_add_listener(&c, spec, &err));
    free(spec);
    CHECK(!xend_config_validate(&c, &err));     /* a directory is no certificate */
    CHECK(err && strstr(err, "not a regular file"));
    free(err);
    err = NULL;
    xend_config_dispose(&c);

    xend_config_init(&c);
    CHECK(xend_config_add_listener(&c, "http:127.0.0.1:9363", &err));
    CHECK(xend_config_add_listener(&c, "http:127.0.0.1:9363 auth=none", &err));
    CHECK(!xend_config_validate(&c, &err));
    CHECK(err && strstr(err, "used twice"));
    free(err);
    err = NULL;
    xend_config_clear_listeners(&c);
    CHECK(xend_config_add_listener(&c, "unix:/tmp/a.sock", &err));
    CHECK(xend_config_add_listener(&c, "unix:/tmp/a.sock auth=pam", &err));
    CHECK(!xend_config_validate(&c, &err));
    free(err);
    err = NULL;
    xend_config_clear_listeners(&c);
    CHECK(xend_config_add_listener(&c, "http:127.0.0.1:9363", &err));
    CHECK(xend_config_add_listener(&c, "http:127.0.0.2:9363", &err));
    CHECK(xend_config_add_listener(&c, "unix:/tmp/a.sock", &err));
    CHECK(xend_config_validate(&c, &err));
    free(c.sim_config);
    c.sim_config = strdup("/nonexistent/sim.conf");
    CHECK(!xend_config_validate(&c, &err));
    CHECK(err && strstr(err, "sim-config"));
    free(err);
    xend_config_dispose(&c);
    free(cert);
}

typedef struct {
    const xend_listener *l;
    int mismatches;
} allow_job;

static void *allow_thread(void *arg)
{
    allow_job *j = arg;
    for (int i = 0; i < 2000; i++) {
        if (!xend_listener_allows(j->l, "10.1.2.3") || xend_listener_allows(j->l, "10.2.0.1") ||
            !xend_listener_allows(j->l, "::1"))
            j->mismatches++;
    }
    return NULL;
}

static void test_allow(void)
{
    xend_config c;
    char *err = NULL;
    xend_config_init(&c);
    CHECK(xend_config_add_listener(&c, "http:*:9363 allow=127\\.0\\.0\\.1 allow=10\\.1\\..* allow=::1", &err));
    CHECK(xend_config_add_listener(&c, "http:*:9364", &err));
    CHECK(xend_config_add_listener(&c, "unix:/tmp/z.sock", &err));
    CHECK(xend_config_add_listener(&c, "http:*:9365 allow=192\\.168\\.", &err));
    CHECK(c.n_listeners == 4);
    if (c.n_listeners != 4) {
        xend_config_dispose(&c);
        return;
    }
    const xend_listener *l = &c.listeners[0];
    CHECK(xend_listener_allows(l, "127.0.0.1"));
    CHECK(!xend_listener_allows(l, "127.0.0.10"));        /* whole-string match */
    CHECK(!xend_listener_allows(l, "1127.0.0.1"));
    CHECK(xend_listener_allows(l, "10.1.2.3"));
    CHECK(!xend_listener_allows(l, "10.2.0.1"));
    CHECK(!xend_listener_allows(l, "127a0b0c1"));         /* dots are escaped */
    CHECK(xend_listener_allows(l, "::ffff:10.1.2.3"));    /* IPv4-mapped */
    CHECK(xend_listener_allows(l, "::FFFF:127.0.0.1"));
    CHECK(!xend_listener_allows(l, "::ffff:10.2.0.1"));
    CHECK(xend_listener_allows(l, "::1"));
    CHECK(!xend_listener_allows(l, "::2"));
    CHECK(!xend_listener_allows(l, ""));
    CHECK(!xend_listener_allows(l, NULL));
    CHECK(xend_listener_allows(&c.listeners[1], "203.0.113.9"));  /* no list: all */
    CHECK(xend_listener_allows(&c.listeners[2], NULL));           /* unix: no address */
    CHECK(!xend_listener_allows(&c.listeners[3], "192.168.1.1")); /* prefix is not enough */

    pthread_t th[4];
    allow_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (allow_job){ .l = l, .mismatches = 0 };
        pthread_create(&th[i], NULL, allow_thread, &jobs[i]);
    }
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        bad += jobs[i].mismatches;
    }
    CHECK(bad == 0);
    xend_config_dispose(&c);
}

/* ---- util/log ------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    int ch;
    while ((ch = fgetc(f)) != EOF)
        fputc(ch, m);
    fclose(m);
    fclose(f);
    return buf;
}

static void *log_thread(void *arg)
{
    int id = (int)(long)arg;
    for (int i = 0; i < 500; i++)
        xlog(XLOG_INFO, "thread %d line %d %s", id, i,
             "padding-padding-padding-padding-padding-padding-padding-padding");
    return NULL;
}

static void test_log(void)
{
    xlog_level lv;
    CHECK(xlog_level_parse("warning", &lv) && lv == XLOG_WARNING);
    CHECK(xlog_level_parse("debug", &lv) && lv == XLOG_DEBUG);
    CHECK(!xlog_level_parse("Warning", &lv) && !xlog_level_parse(NULL, &lv));
    CHECK(strcmp(xlog_level_name(XLOG_ERROR), "error") == 0);

    char *path = NULL;
    if (asprintf(&path, "%s/xend.log", tmpdir) < 0)
        abort();
    xlog_open(path, XLOG_INFO, false);
    CHECK(xlog_get_level() == XLOG_INFO && xlog_enabled(XLOG_WARNING) && !xlog_enabled(XLOG_DEBUG));
    xlog_warn("disk %s is %d%% full\n", "sda", 93);
    xlog_debug("not written %d", 1);
    xlog_info("user 'evil\nFAKE xend[1]: error: forged' logged in");
    char big[3000];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    xlog_err("%s", big);
    xlog_set_level(XLOG_DEBUG);
    xlog_debug("now written %d", 2);
    xlog_close();

    char *text = slurp(path);
    CHECK(text != NULL);
    if (text) {
        char *pat = NULL;
        if (asprintf(&pat, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z xend\\[%ld\\]: "
                     "warning: disk sda is 93%% full\n", (long)getpid()) < 0)
            abort();
        regex_t re;
        CHECK(regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) == 0);
        CHECK(regexec(&re, text, 0, NULL, 0) == 0);
        regfree(&re);
        free(pat);
        CHECK(!strstr(text, "not written"));
        CHECK(strstr(text, ": info: user 'evil?FAKE xend[1]: error: forged' logged in\n") != NULL);
        CHECK(strstr(text, big) != NULL);
        CHECK(strstr(text, ": debug: now written 2\n") != NULL);
        int lines = 0;
        for (char *p = text; *p; p++)
            lines += *p == '\n';
        CHECK(lines == 4);
        free(text);
    }

    /* concurrent writers never interleave within a line */
    unlink(path);
    xlog_open(path, XLOG_INFO, true);
    pthread_t th[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, log_thread, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    xlog_close();
    text = slurp(path);
    CHECK(text != NULL);
    if (text) {
        int lines = 0, good = 0;
        for (char *save = NULL, *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
            int id, n;
            char *m = strstr(ln, ": info: thread ");
            lines++;
            if (m && sscanf(m, ": info: thread %d line %d ", &id, &n) == 2 &&
                strstr(m, "padding-padding") && ln[19] == 'Z')
                good++;
        }
        CHECK(lines == 2000 && good == 2000);
        free(text);
    }

    /* an unwritable log file falls back to stderr (foreground) without crashing */
    xlog_open("/nonexistent/dir/xend.log", XLOG_ERROR, true);
    xlog_close();
    unlink(path);
    free(path);
}

static void cleanup_tmpdir(void)
{
    for (unsigned i = 1; i <= nfiles; i++) {
        char *p = NULL;
        if (asprintf(&p, "%s/f%u.conf", tmpdir, i) >= 0)
            unlink(p);
        free(p);
    }
    rmdir(tmpdir);
}

/* role-user, role-group, role-default and the unix listener's group= */
static void test_roles(void)
{
    xend_config c;
    char *err = NULL;
    xend_config_init(&c);
    CHECK(c.n_role_maps == 0 && c.role_default == NULL);
    CHECK(load_text(&c, "role-user = alice vm-operator\nrole-group = xen_ops\tpool-operator\n"
                        "role-user = bob read-only\nrole-default = vm-admin\n"
                        "listen = unix:/run/xend/g.sock group=xen_ops\n", NULL, &err));
    CHECKF(err == NULL, "%s", err ? err : "");
    if (c.n_role_maps == 3) {
        CHECK(!c.role_maps[0].is_group && !strcmp(c.role_maps[0].name, "alice") &&
              !strcmp(c.role_maps[0].role, "vm-operator"));
        CHECK(c.role_maps[1].is_group && !strcmp(c.role_maps[1].name, "xen_ops") &&
              !strcmp(c.role_maps[1].role, "pool-operator"));
        CHECK(!c.role_maps[2].is_group && !strcmp(c.role_maps[2].role, "read-only"));
    } else {
        CHECKF(false, "%zu role lines, expected 3", c.n_role_maps);
    }
    CHECK(c.role_default && !strcmp(c.role_default, "vm-admin"));
    CHECK(c.n_listeners == 1 && c.listeners[0].group && !strcmp(c.listeners[0].group, "xen_ops"));
    xend_config_dispose(&c);
    free(err);

    xend_config_init(&c);
    CHECK(load_text(&c, "role-default = none\n", NULL, &err) && c.role_default == NULL);
    xend_config_dispose(&c);
    free(err);

    CHECK(load_fails("role-user = alice\n", 1, "role-user: expected NAME ROLE"));
    CHECK(load_fails("role-user = alice vm-operator extra\n", 1, "expected NAME ROLE"));
    CHECK(load_fails("role-group = ops root\n", 1, "role 'root': expected pool-admin"));
    CHECK(load_fails("role-user = a:b read-only\n", 1, "not a valid user name"));
    CHECK(load_fails("role-user = al read-only\nrole-user = al vm-admin\n", 2, "'al' is mapped twice"));
    CHECK(load_fails("role-default = superuser\n", 1, "role-default 'superuser'"));
    CHECK(load_fails("role-default = none\nrole-default = read-only\n", 2, "already set"));
    CHECK(load_fails("listen = http:127.0.0.1:9363 group=ops\n", 1, "group= only applies to unix"));
    CHECK(load_fails("listen = unix:/run/x.sock group=a:b\n", 1, "not a valid group name"));
}

int main(void)
{
    xtest_mkdtemp(tmpdir);
    test_defaults();
    test_every_key();
    test_values();
    test_errors();
    test_default_ports();
    test_add_listener();
    test_validate();
    test_allow();
    test_log();
    test_roles();
    cleanup_tmpdir();
    return xtest_done();
}
