/* xen_console: copy a domain's PV console (the pty xenconsoled offers at
 * /local/domain/<domid>/console/tty, where `xl console` finds it) into a log
 * file, on the event loop, and offer it to terminal clients (xm console)
 * through a pty of our own.
 *
 * Two readers of one pty would each get part of the output, so while the
 * log is kept the guest's pty is ours alone and clients get a second pty
 * (domain_console_tty reports it): what the guest writes goes to the log and
 * to that pty's master; what a client types there goes to the guest.  We
 * keep the second pty's slave open (raw) too, so that its master never
 * hangs up while no client is attached: output written meanwhile waits in
 * the pty, up to its buffer, and a later client reads it; more is dropped,
 * as on a console nobody reads.  Without a log (a domain made elsewhere)
 * domain_console_tty reports xenconsoled's pty itself.
 *
 * xenconsoled publishes its tty a little after the domain is introduced, so
 * the path is polled with a loop timer (every 20 ms, up to 30 s).  The tty
 * buffers output written before we open it.  The copy stops when the pty
 * hangs up (domain gone) or on xx_console_stop().  Handles are removed
 * only on the loop thread (xloop removal from elsewhere waits for a running
 * callback, and these callbacks take c->lock).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "xenops/xen/xen_priv.h"

#define XX_CONSOLE_POLL_MS 20
#define XX_CONSOLE_GIVEUP_MS 30000

struct xx_console {
    xo_backend *b;
    uint32_t domid;
    int out_fd;
    int tty_fd; /* xenconsoled's pty (the guest's side) */
    xloop_fd *h;
    int master, slave; /* the clients' pty; -1 when none */
    char tty[64];      /* its slave's path */
    xloop_fd *mh;
    xloop_timer *timer;
    int64_t deadline_ms;
    pthread_mutex_t lock;
    bool stopping;
};

static void xx_close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* The guest's side is gone: so is the clients' (they see the end). */
static void xx_console_close_locked(xx_console *c)
{
    if (c->h) {
        xloop_fd_remove(c->h);
        c->h = NULL;
    }
    if (c->mh) {
        xloop_fd_remove(c->mh);
        c->mh = NULL;
    }
    xx_close_fd(&c->tty_fd);
    xx_close_fd(&c->master);
    xx_close_fd(&c->slave);
}

/* All of buf to fd, or what fits: a full pty (nobody reads) drops the rest. */
static void xx_put(int fd, const char *buf, size_t n)
{
    while (n && fd >= 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        n -= (size_t)w;
    }
}

static void xx_console_read_cb(xloop_fd *h, int fd, short revents, void *arg)
{
    xx_console *c = arg;
    char buf[4096];

    pthread_mutex_lock(&c->lock);
    if (c->h != h || c->stopping)
        goto out;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            xx_put(c->out_fd, buf, (size_t)n);
            xx_put(c->master, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        /* EOF or EIO: the other side is gone */
        xx_console_close_locked(c);
        break;
    }
out:
    pthread_mutex_unlock(&c->lock);
}

/* What a client typed on our pty: to the guest (dropped before its pty is
 * open). */
static void xx_console_input_cb(xloop_fd *h, int fd, short revents, void *arg)
{
    xx_console *c = arg;
    char buf[1024];

    (void)revents;
    pthread_mutex_lock(&c->lock);
    if (c->mh == h && !c->stopping) {
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
            if (n > 0)
                xx_put(c->tty_fd, buf, (size_t)n);
    }
    pthread_mutex_unlock(&c->lock);
}

/* The pty clients open (c->master, c->slave, c->tty); false if none could
 * be made (the log is kept all the same). */
static bool xx_console_pty(xx_console *c)
{
    const char *name = NULL;
    struct termios tio;

    c->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (c->master >= 0 && grantpt(c->master) == 0 && unlockpt(c->master) == 0)
        name = ptsname(c->master);
    if (name && snprintf(c->tty, sizeof(c->tty), "%s", name) < (int)sizeof(c->tty))
        c->slave = open(c->tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (c->slave < 0 || tcgetattr(c->slave, &tio) != 0 ||
        fcntl(c->master, F_SETFL, fcntl(c->master, F_GETFL) | O_NONBLOCK) != 0) {
        xx_close_fd(&c->master);
        xx_close_fd(&c->slave);
        return false;
    }
    cfmakeraw(&tio);
    tcsetattr(c->slave, TCSANOW, &tio);
    return true;
}

static void xx_console_poll_cb(xloop_timer *t, void *arg)
{
    xx_console *c = arg;
    char *tty = NULL;

    pthread_mutex_lock(&c->lock);
    if (c->timer != t || c->stopping)
        goto out;
    c->timer = NULL;
    tty = xx_xenconsoled_tty(c->b, c->domid);
    if (tty) {
        int fd = open(tty, O_RDWR | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 && !isatty(fd)) {
            close(fd);
            fd = -1;
        }
        if (fd >= 0) {
            struct termios tio;
            if (tcgetattr(fd, &tio) == 0) {
                cfmakeraw(&tio);
                tcsetattr(fd, TCSANOW, &tio);
            }
            c->tty_fd = fd;
            c->h = xloop_fd_add(c->b->loop, fd, POLLIN, xx_console_read_cb, c);
            if (!c->h) {
                close(fd);
                c->tty_fd = -1;
            }
            goto out;
        }
    }
    if (xloop_now_ms() < c->deadline_ms)
        c->timer = xloop_timer_add(c->b->loop, xloop_now_ms() + XX_CONSOLE_POLL_MS,
                                   xx_console_poll_cb, c);
out:
    pthread_mutex_unlock(&c->lock);
    free(tty);
}

int xx_console_start(xo_backend *b, uint32_t domid, const char *path, xo_error *err)
{
    xx_console *c = NULL, *old = NULL;
    xx_dom *d;
    int rc = -1;

    if (!b->xs) {
        xo_error_set(err, XO_E_FAIL, "console log: no xenstore connection");
        goto out;
    }
    c = xo_calloc(1, sizeof(*c), err);
    if (!c)
        goto out;
    c->b = b;
    c->domid = domid;
    c->tty_fd = c->master = c->slave = -1;
    pthread_mutex_init(&c->lock, NULL);
    c->out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (c->out_fd < 0) {
        xo_error_set(err, XO_E_FAIL, "console log %s: %s", path, strerror(errno));
        goto out;
    }
    if (!xx_console_pty(c))
        xo_log(&b->log, XO_LOG_WARNING, "xen: domain %u: no console pty for clients: %s",
               (unsigned)domid, strerror(errno));
    c->deadline_ms = xloop_now_ms() + XX_CONSOLE_GIVEUP_MS;

    pthread_mutex_lock(&b->lock);
    for (d = b->doms; d; d = d->next)
        if (d->domid == domid && !d->dead)
            break;
    if (d) {
        old = d->console;
        d->console = c;
    }
    pthread_mutex_unlock(&b->lock);
    if (!d) {
        xo_error_set(err, XO_E_NODOMAIN, "console log: domain %u is not known", domid);
        goto out;
    }
    if (old)
        xx_console_stop(old);
    pthread_mutex_lock(&c->lock);
    if (c->master >= 0)
        c->mh = xloop_fd_add(b->loop, c->master, POLLIN, xx_console_input_cb, c);
    c->timer = xloop_timer_add(b->loop, xloop_now_ms(), xx_console_poll_cb, c);
    pthread_mutex_unlock(&c->lock);
    c = NULL;
    rc = 0;
out:
    if (c) {
        xx_close_fd(&c->out_fd);
        xx_close_fd(&c->master);
        xx_close_fd(&c->slave);
        pthread_mutex_destroy(&c->lock);
        free(c);
    }
    return rc;
}

/* Loop thread: nothing of c's runs now; an armed timer can be removed. */
static void xx_console_stop_cb(void *arg)
{
    xx_console *c = arg;

    if (c->timer)
        xloop_timer_remove(c->timer);
    c->timer = NULL;
    xx_console_close_locked(c);
    xx_close_fd(&c->out_fd);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Stop copying (any thread, no lock held); the rest happens on the loop. */
void xx_console_stop(xx_console *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_mutex_unlock(&c->lock);
    xloop_call(c->b->loop, xx_console_stop_cb, c);
}

/* "/dev/pts/N" and nothing else: no other directory, no "..", no suffix. */
static bool xx_is_pts_name(const char *s)
{
    static const char prefix[] = "/dev/pts/";
    size_t n = strlen(prefix), digits;

    if (strncmp(s, prefix, n) != 0)
        return false;
    digits = strspn(s + n, "0123456789");
    return digits > 0 && digits <= 9 && s[n + digits] == '\0';
}

/* xenconsoled's pty of domid, as `xl console` finds it (malloc'd), or NULL. */
char *xx_xenconsoled_tty(xo_backend *b, uint32_t domid)
{
    char path[64];
    unsigned len = 0;
    char *tty;

    if (!b->xs)
        return NULL;
    snprintf(path, sizeof(path), "/local/domain/%u/console/tty", domid);
    tty = xs_read(b->xs, XBT_NULL, path, &len);
    if (tty && (len == 0 || strlen(tty) != len)) {
        free(tty);
        tty = NULL;
    }
    /* libxl makes this key read-only for the guest, but it is opened as
     * root and handed to clients: take nothing but a pty's name */
    if (tty && !xx_is_pts_name(tty)) {
        xo_log(&b->log, XO_LOG_WARNING, "xen: domain %u: console/tty is not a /dev/pts name; ignored",
               (unsigned)domid);
        free(tty);
        tty = NULL;
    }
    return tty;
}

/* The pty a terminal client opens: ours while we keep the log (the guest's
 * pty is then ours alone), else xenconsoled's. */
int xx_domain_console_tty(xo_backend *b, uint32_t domid, char *path, size_t len, xo_error *err)
{
    int rc = -1;
    bool logged = false;
    char *tty;

    pthread_mutex_lock(&b->lock);
    for (xx_dom *d = b->doms; d; d = d->next) {
        xx_console *c = d->console;
        if (d->domid != domid || d->dead || !c)
            continue;
        /* c is freed only after being unlinked from d under b->lock */
        pthread_mutex_lock(&c->lock);
        if (!c->stopping) {
            logged = true;
            if (c->master >= 0 && snprintf(path, len, "%s", c->tty) < (int)len)
                rc = 0;
        }
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_unlock(&b->lock);
    if (rc == 0 || logged)
        goto out;
    tty = xx_xenconsoled_tty(b, domid);
    if (tty && snprintf(path, len, "%s", tty) < (int)len)
        rc = 0;
    free(tty);
out:
    if (rc)
        xo_error_set(err, XO_E_NODOMAIN, "domain %u has no console pty", (unsigned)domid);
    return rc;
}
