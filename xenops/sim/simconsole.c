/* simconsole: each live simulated domain has a real pty as its text
 * console, like the one xenconsoled offers on Xen, so that terminal clients
 * (xm console) can be tested without Xen.
 *
 * The backend holds the master side and acts as the guest: the boot banner
 * (sim_console) is written to it, and what a client types is echoed back,
 * a line at a time answered with a prompt, and appended to the console log.
 * The slave side is kept open by the backend too, in raw mode, so the
 * master never sees a hang-up while no client is attached (output written
 * meanwhile waits in the pty, up to its buffer; more is dropped, as a real
 * console without a reader would).  Ptys exist only with an event loop (the
 * daemon); domain_console_tty reports the slave's path.
 *
 * Locking: the set has its own mutex; a console is unlinked under it and
 * then its fd handler removed (which waits for a running callback), so the
 * callback needs no lock.  Callers may hold b->lock.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "xenops/sim/sim_priv.h"

typedef struct simcons {
    uint32_t domid;
    int master, slave;
    char tty[64];
    char log[XO_PATH_LEN];
    xloop_fd *h;
    struct simcons *next;
} simcons;

struct simcons_set {
    pthread_mutex_t lock;
    simcons *list;
};

#define PROMPT "sim-guest# "

static void put(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;     /* full (nobody reads) or gone: dropped */
        s += w;
        n -= (size_t)w;
    }
}

static void append_log(const simcons *c, const char *s, size_t n)
{
    if (!c->log[0])
        return;
    int fd = open(c->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;     /* best effort, like xenconsoled */
    put(fd, s, n);
    close(fd);
}

/* What a client typed: echo it as a terminal in cooked mode would. */
static void simcons_readable(xloop_fd *h, int fd, short revents, void *arg)
{
    (void)h;
    (void)revents;
    simcons *c = arg;
    char in[512], out[2048];
    ssize_t r = read(fd, in, sizeof(in));
    if (r <= 0)
        return;
    size_t n = 0;
    for (ssize_t i = 0; i < r && n + 32 < sizeof(out); i++) {
        if (in[i] == '\r' || in[i] == '\n') {
            memcpy(out + n, "\r\n" PROMPT, 2 + strlen(PROMPT));
            n += 2 + strlen(PROMPT);
        } else if (in[i] == 0x7f || in[i] == 0x08) {
            memcpy(out + n, "\b \b", 3);
            n += 3;
        } else {
            out[n++] = in[i];
        }
    }
    put(c->master, out, n);
    append_log(c, out, n);
}

void simcons_init(xo_backend *b)
{
    b->cons = calloc(1, sizeof(*b->cons));
    if (b->cons)
        pthread_mutex_init(&b->cons->lock, NULL);
}

static void simcons_free(xo_backend *b, simcons *c)
{
    if (c->h)
        xloop_fd_remove(c->h);
    close(c->master);
    close(c->slave);
    (void)b;
    free(c);
}

void simcons_open(xo_backend *b, const sim_dom *d)
{
    if (!b->loop || !b->cons)
        return;
    simcons *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->domid = d->domid;
    c->master = c->slave = -1;
    snprintf(c->log, sizeof(c->log), "%s", d->console_log);
    c->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    const char *name = c->master >= 0 && grantpt(c->master) == 0 && unlockpt(c->master) == 0
                           ? ptsname(c->master) : NULL;
    if (name && snprintf(c->tty, sizeof(c->tty), "%s", name) < (int)sizeof(c->tty))
        c->slave = open(c->tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct termios t;
    if (c->slave < 0 || tcgetattr(c->slave, &t) != 0) {
        xo_log(&b->log, XO_LOG_WARNING, "sim: domain %u: no console pty: %s", (unsigned)d->domid,
               strerror(errno));
        if (c->master >= 0)
            close(c->master);
        if (c->slave >= 0)
            close(c->slave);
        free(c);
        return;
    }
    cfmakeraw(&t);
    tcsetattr(c->slave, TCSANOW, &t);
    fcntl(c->master, F_SETFL, fcntl(c->master, F_GETFL) | O_NONBLOCK);
    c->h = xloop_fd_add(b->loop, c->master, POLLIN, simcons_readable, c);
    if (!c->h) {
        simcons_free(b, c);
        return;
    }
    pthread_mutex_lock(&b->cons->lock);
    c->next = b->cons->list;
    b->cons->list = c;
    pthread_mutex_unlock(&b->cons->lock);
}

void simcons_close(xo_backend *b, uint32_t domid)
{
    if (!b->cons)
        return;
    pthread_mutex_lock(&b->cons->lock);
    simcons **pp = &b->cons->list, *c = NULL;
    while (*pp && (*pp)->domid != domid)
        pp = &(*pp)->next;
    if (*pp) {
        c = *pp;
        *pp = c->next;
    }
    pthread_mutex_unlock(&b->cons->lock);
    if (c)
        simcons_free(b, c);
}

void simcons_fini(xo_backend *b)
{
    if (!b->cons)
        return;
    pthread_mutex_lock(&b->cons->lock);
    simcons *c = b->cons->list;
    b->cons->list = NULL;
    pthread_mutex_unlock(&b->cons->lock);
    while (c) {
        simcons *next = c->next;
        simcons_free(b, c);
        c = next;
    }
    pthread_mutex_destroy(&b->cons->lock);
    free(b->cons);
    b->cons = NULL;
}

void simcons_write(xo_backend *b, uint32_t domid, const char *text)
{
    if (!b->cons)
        return;
    pthread_mutex_lock(&b->cons->lock);
    for (simcons *c = b->cons->list; c; c = c->next) {
        if (c->domid != domid)
            continue;
        /* the guest's tty turns \n into \r\n */
        for (const char *p = text; *p;) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            put(c->master, p, n);
            if (!nl)
                break;
            put(c->master, "\r\n", 2);
            p = nl + 1;
        }
    }
    pthread_mutex_unlock(&b->cons->lock);
}

int sim_domain_console_tty(xo_backend *b, uint32_t domid, char *path, size_t len, xo_error *err)
{
    int rc = -1;
    if (b->cons) {
        pthread_mutex_lock(&b->cons->lock);
        for (simcons *c = b->cons->list; c && rc < 0; c = c->next)
            if (c->domid == domid && snprintf(path, len, "%s", c->tty) < (int)len)
                rc = 0;
        pthread_mutex_unlock(&b->cons->lock);
    }
    if (rc < 0)
        xo_error_set(err, XO_E_NODOMAIN, "domain %u has no console pty", (unsigned)domid);
    return rc;
}
