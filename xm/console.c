/* xm console: attach the terminal to a VM's text console.
 *
 * The VM's vt100 console record names, while the VM runs, the pty of its
 * console (the sim backend's, or on Xen the one xenconsoled publishes).
 * xm opens it (it must be on this machine: the local socket), puts the
 * terminal in raw mode and copies both ways until Ctrl-] is typed or the
 * console goes away.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "xm/cmds.h"
#include "xm/xm.h"

#define ESCAPE_CHAR 0x1d     /* Ctrl-] */

static bool write_all(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
            struct pollfd p = { fd, POLLOUT, 0 };
            poll(&p, 1, 1000);
            continue;
        }
        if (w <= 0)
            return false;
        buf += w;
        n -= (size_t)w;
    }
    return true;
}

/* The pty path of vm's vt100 console, or NULL after printing why. */
static char *console_tty(xen_session *s, xen_vm vm, int *rc, bool report)
{
    struct xen_console_set *cons = NULL;
    if (!xen_vm_get_consoles(s, &cons, vm)) {
        *rc = xm_fail(s);
        return NULL;
    }
    char *tty = NULL;
    bool any = false;
    for (size_t i = 0; i < cons->size && !tty; i++) {
        xen_console_record *c = NULL;
        if (!xen_console_get_record(s, &c, cons->contents[i])) {
            *rc = xm_fail(s);
            break;
        }
        if (c->protocol == XEN_CONSOLE_PROTOCOL_VT100) {
            any = true;
            struct stat st;
            if (strncmp(c->location, "/dev/", 5) == 0 && stat(c->location, &st) == 0 && S_ISCHR(st.st_mode))
                tty = xm_strdup(c->location);
        }
        xen_console_record_free(c);
    }
    xen_console_set_free(cons);
    if (!tty && !*rc && !report)
        *rc = XM_EXIT_FAIL;
    else if (!tty && !*rc)
        *rc = xm_err(XM_EXIT_FAIL, any ? "the VM's console is not a terminal on this machine (is the VM "
                     "running, and is the server local?)" : "the VM has no text (vt100) console.");
    return tty;
}

int xm_console_attach(xen_session *s, xen_vm vm, bool quiet)
{
    int rc = XM_EXIT_OK;
    char *path = NULL;
    /* a remote server's pty path names nothing here (or another terminal) */
    if (strncmp(xm_server_url(), "unix://", 7) != 0)
        return xm_err(XM_EXIT_FAIL, "the console is a terminal on the VM's host: run xm console there "
                      "(on the local socket), not through %s.", xm_server_url());
    /* a VM that was just started may publish its console a moment later */
    for (int tries = 0; tries < 50 && !path; tries++) {
        enum xen_vm_power_state ps;
        if (!xen_vm_get_power_state(s, &ps, vm))
            return xm_fail(s);
        if (ps != XEN_VM_POWER_STATE_RUNNING && ps != XEN_VM_POWER_STATE_PAUSED)
            return xm_err(XM_EXIT_FAIL, "the VM is %s; only a running or paused VM has a console.",
                          xen_vm_power_state_to_string(ps));
        rc = XM_EXIT_OK;
        path = console_tty(s, vm, &rc, tries == 49);
        if (!path && tries < 49) {
            struct timespec ts = { 0, 100 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    if (!path)
        return rc ? rc : XM_EXIT_FAIL;
    int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        rc = xm_err(XM_EXIT_FAIL, "cannot open the console %s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    struct termios pt;
    if (tcgetattr(fd, &pt) == 0) {
        cfmakeraw(&pt);
        tcsetattr(fd, TCSANOW, &pt);
    }
    bool tty = isatty(STDIN_FILENO);
    struct termios old, raw;
    if (tty && tcgetattr(STDIN_FILENO, &old) == 0) {
        raw = old;
        cfmakeraw(&raw);
        tcsetattr(STDIN_FILENO, TCSADRAIN, &raw);
    } else {
        tty = false;
    }
    if (!quiet)
        fprintf(stderr, "Connected to %s (escape character is ^])\r\n", path);
    fflush(stdout);
    bool in_open = true;
    for (;;) {
        struct pollfd p[2] = { { fd, POLLIN, 0 }, { STDIN_FILENO, POLLIN, 0 } };
        int n = poll(p, in_open ? 2 : 1, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        char buf[4096];
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = read(fd, buf, sizeof(buf));
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r <= 0)
                break;      /* the console went away: the VM stopped */
            if (!write_all(STDOUT_FILENO, buf, (size_t)r))
                break;
        }
        if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r <= 0) {
                in_open = false;    /* keep showing output until the console closes */
                continue;
            }
            char *esc = memchr(buf, ESCAPE_CHAR, (size_t)r);
            if (esc) {
                write_all(fd, buf, (size_t)(esc - buf));
                break;
            }
            if (!write_all(fd, buf, (size_t)r))
                break;
        }
    }
    if (tty)
        tcsetattr(STDIN_FILENO, TCSADRAIN, &old);
    if (!quiet)
        fprintf(stderr, "\nDisconnected from %s\n", path);
    close(fd);
    free(path);
    return XM_EXIT_OK;
}

static int attach(xen_session *s, xen_vm vm, char **args, void *quiet)
{
    (void)args;
    return xm_console_attach(s, vm, *(bool *)quiet);
}

int xm_cmd_console(int argc, char **argv)
{
    bool quiet;
    if (!xm_flag_option(argc, argv, "q", "quiet", &quiet))
        return xm_usage("console", "bad option");
    return xm_on_vm(argc, argv, 1, 1, "one VM", attach, &quiet);
}
