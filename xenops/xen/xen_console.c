/* xen_console: copy a domain's PV console (the pty xenconsoled offers at
 * /local/domain/<domid>/console/tty) into a log file, on the event loop.
 *
 * xenconsoled publishes the tty a little after the domain is introduced, so
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
    int tty_fd;
    xloop_fd *h;
    xloop_timer *timer;
    int64_t deadline_ms;
    pthread_mutex_t lock;
    bool stopping;
};

static void xx_console_close_locked(xx_console *c)
{
    if (c->h) {
        xloop_fd_remove(c->h);
        c->h = NULL;
    }
    if (c->tty_fd >= 0) {
        close(c->tty_fd);
        c->tty_fd = -1;
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
            ssize_t off = 0;
            while (off < n) {
                ssize_t w = write(c->out_fd, buf + off, (size_t)(n - off));
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    break;
                off += w;
            }
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

static void xx_console_poll_cb(xloop_timer *t, void *arg)
{
    xx_console *c = arg;
    char path[64], *tty = NULL;
    unsigned len = 0;

    pthread_mutex_lock(&c->lock);
    if (c->timer != t || c->stopping)
        goto out;
    c->timer = NULL;
    snprintf(path, sizeof(path), "/local/domain/%u/console/tty", c->domid);
    tty = xs_read(c->b->xs, XBT_NULL, path, &len);
    if (tty && len > 0) {
        int fd = open(tty, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
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
    c = calloc(1, sizeof(*c));
    if (!c) {
        xo_error_set(err, XO_E_FAIL, "out of memory");
        goto out;
    }
    c->b = b;
    c->domid = domid;
    c->tty_fd = -1;
    pthread_mutex_init(&c->lock, NULL);
    c->out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (c->out_fd < 0) {
        xo_error_set(err, XO_E_FAIL, "console log %s: %s", path, strerror(errno));
        goto out;
    }
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
    c->timer = xloop_timer_add(b->loop, xloop_now_ms(), xx_console_poll_cb, c);
    pthread_mutex_unlock(&c->lock);
    c = NULL;
    rc = 0;
out:
    if (c) {
        if (c->out_fd >= 0)
            close(c->out_fd);
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
    if (c->out_fd >= 0)
        close(c->out_fd);
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
