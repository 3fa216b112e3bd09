/* service: see service.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "daemon/service.h"
#include "util/io.h"
#include "util/log.h"

static int report_fd = -1;          /* daemon mode: the pipe to the waiting parent */
static int state_lock_fd = -1;
static int pid_fd = -1;
static char *pid_path;
static bool watchdog_on;

static void notify(const char *msg)
{
#ifdef HAVE_SYSTEMD
    (void)sd_notify(0, msg);
#else
    (void)msg;
#endif
}

/* The parent's side: wait for the child's one report, exit with it. */
static void __attribute__((noreturn)) wait_for_child(int fd, pid_t child)
{
    char buf[2048];
    size_t len = 0;
    /* one line; not EOF, which a process forked by the daemon could delay */
    while (len < sizeof(buf) - 1 && !memchr(buf, '\n', len)) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    len = strlen(buf);
    if (len > 0 && buf[0] == '0')
        _exit(0);
    if (len > 1 && buf[0] == '1') {
        fprintf(stderr, "xend: %s\n", buf + 1);
        _exit(1);
    }
    /* no report: the child died before it could say why */
    int st = 0;
    if (waitpid(child, &st, 0) == child && WIFSIGNALED(st))
        fprintf(stderr, "xend: the daemon was killed by signal %d during start-up\n", WTERMSIG(st));
    else
        fprintf(stderr, "xend: the daemon exited during start-up without a reason (status %d)\n",
                WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    _exit(1);
}

void service_daemonize(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        fprintf(stderr, "xend: pipe: %s\n", strerror(errno));
        exit(1);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "xend: fork: %s\n", strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        close(p[1]);
        wait_for_child(p[0], pid);
    }
    close(p[0]);
    report_fd = p[1];
    setsid();
    if (chdir("/") != 0)
        service_fail("chdir /", strerror(errno));
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
}

static void report(char code, const char *msg)
{
    if (report_fd < 0)
        return;
    char buf[2048];
    int n = snprintf(buf, sizeof(buf) - 1, "%c%s", code, msg ? msg : "");
    if (n < 0) {
        buf[0] = code;
        buf[1] = '\0';
    }
    buf[strcspn(buf, "\n")] = '\0';   /* one line (the log has the reason whole) */
    n = (int)strlen(buf);
    buf[n++] = '\n';
    (void)xwrite_all(report_fd, buf, (size_t)n);
    close(report_fd);
    report_fd = -1;
}

void service_ready(const char *status)
{
    report('0', NULL);
    char msg[300];
    snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status ? status : "ready");
    notify(msg);
#ifdef HAVE_SYSTEMD
    uint64_t usec = 0;
    watchdog_on = sd_watchdog_enabled(0, &usec) > 0;
    if (watchdog_on)
        xlog(XLOG_INFO, "systemd watchdog: every %" PRIu64 " ms", usec / 1000);
#endif
}

void service_fail(const char *what, const char *why)
{
    char msg[1500];
    snprintf(msg, sizeof(msg), "%s: %s", what, why && *why ? why : "failed");
    xlog(XLOG_ERROR, "%s", msg);
    if (report_fd >= 0)
        report('1', msg);
    else if (!xlog_to_stderr())
        fprintf(stderr, "xend: %s\n", msg);     /* the log went elsewhere */
    char st[1600];
    snprintf(st, sizeof(st), "STATUS=start-up failed: %s", msg);
    notify(st);
    service_pid_file_remove();
    exit(1);
}

void service_status(const char *fmt, ...)
{
    char msg[512] = "STATUS=";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + 7, sizeof(msg) - 7, fmt, ap);
    va_end(ap);
    notify(msg);
}

void service_reloading(void)
{
    notify("RELOADING=1\nSTATUS=reloading xend.conf");
}

void service_reloaded(void)
{
    notify("READY=1\nSTATUS=ready (configuration reloaded)");
}

void service_stopping(void)
{
    notify("STOPPING=1\nSTATUS=stopping");
}

void service_watchdog(void)
{
    if (watchdog_on)
        notify("WATCHDOG=1");
}

/* The pid holding a lock on the file (dev, ino), from /proc/locks; 0 if
 * none is listed.  Lines: "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF". */
static long lock_holder(dev_t dev, ino_t ino)
{
    FILE *f = fopen("/proc/locks", "re");
    if (!f)
        return 0;
    char line[256];
    long found = 0;
    while (!found && fgets(line, sizeof(line), f)) {
        char kind[16], mode[16], rw[16];
        long pid;
        unsigned maj, min;
        unsigned long long i;
        const char *s = strchr(line, ':');
        if (!s || strstr(line, "->"))       /* "->" marks a waiter, not the holder */
            continue;
        if (sscanf(s + 1, "%15s %15s %15s %ld %x:%x:%llu", kind, mode, rw, &pid, &maj, &min, &i) == 7 &&
            maj == major(dev) && min == minor(dev) && i == (unsigned long long)ino)
            found = pid;
    }
    fclose(f);
    return found;
}

/* Opens path with flags and takes an exclusive flock without waiting. */
static int lock_path(const char *path, int flags, const char *what, char **err_r)
{
    int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        if (asprintf(err_r, "cannot open %s %s: %s", what, path, strerror(errno)) < 0)
            *err_r = NULL;
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return fd;
    int e = errno;
    struct stat st;
    long pid = fstat(fd, &st) == 0 ? lock_holder(st.st_dev, st.st_ino) : 0;
    close(fd);
    char holder[64] = "another process";
    if (pid > 0)
        snprintf(holder, sizeof(holder), "another xend (pid %ld)", pid);
    int r = e == EWOULDBLOCK
                ? asprintf(err_r, "%s %s is in use by %s; only one xend may use it", what, path, holder)
                : asprintf(err_r, "cannot lock %s %s: %s", what, path, strerror(e));
    if (r < 0)
        *err_r = NULL;
    return -1;
}

bool service_lock_state_dir(const char *dir, char **err_r)
{
    int fd = lock_path(dir, O_RDONLY | O_DIRECTORY, "state directory", err_r);
    if (fd < 0)
        return false;
    if (state_lock_fd >= 0)
        close(state_lock_fd);
    state_lock_fd = fd;
    return true;
}

bool service_pid_file(const char *path, char **err_r)
{
    int fd = lock_path(path, O_RDWR | O_CREAT, "pid file", err_r);
    if (fd < 0)
        return false;
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || !xwrite_all(fd, buf, (size_t)n)) {
        if (asprintf(err_r, "cannot write pid file %s: %s", path, strerror(errno)) < 0)
            *err_r = NULL;
        close(fd);
        unlink(path);
        return false;
    }
    pid_fd = fd;
    pid_path = strdup(path);
    if (!pid_path)
        abort();
    return true;
}

void service_pid_file_remove(void)
{
    if (pid_fd < 0)
        return;
    /* unlinked while still locked, so no other xend can have taken it */
    unlink(pid_path);
    close(pid_fd);
    pid_fd = -1;
    free(pid_path);
    pid_path = NULL;
}
