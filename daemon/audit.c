/* audit: the audit log (see audit.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/audit.h"
#include "daemon/xtype.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xv.h"
#include "xapi_model.h"
#include "xapi_policy.h"

XLOG_DOMAIN("audit");

static pthread_mutex_t audit_mu = PTHREAD_MUTEX_INITIALIZER;
static int audit_fd = -1;
static char *audit_path;

static int open_file(const char *path, char **err_r)
{
    /* the directory, when it is missing: only root reads the trail */
    char *dir = strdup(path);
    if (!dir)
        abort();
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            *err_r = xstrfmt("audit log %s: cannot create %s: %s", path, dir, strerror(errno));
            free(dir);
            return -1;
        }
    }
    free(dir);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
    struct stat st;
    if (fd < 0) {
        *err_r = xstrfmt("audit log %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *err_r = xstrfmt("audit log %s: not a regular file", path);
        close(fd);
        return -1;
    }
    /* a file that was there before: nobody but its owner reads it */
    if ((st.st_mode & 0077) && st.st_uid == geteuid() && fchmod(fd, st.st_mode & 0700) != 0) {
        *err_r = xstrfmt("audit log %s: chmod 0600: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

bool audit_file_open(const char *path, char **err_r)
{
    if (!path) {
        audit_file_close();
        return true;
    }
    int fd = open_file(path, err_r);
    if (fd < 0)
        return false;
    char *copy = strdup(path);
    if (!copy)
        abort();
    pthread_mutex_lock(&audit_mu);
    int old = audit_fd;
    free(audit_path);
    audit_fd = fd;
    audit_path = copy;
    pthread_mutex_unlock(&audit_mu);
    if (old >= 0)
        close(old);
    return true;
}

bool audit_reopen(char **err_r)
{
    pthread_mutex_lock(&audit_mu);
    char *path = audit_path ? strdup(audit_path) : NULL;
    pthread_mutex_unlock(&audit_mu);
    if (!path)
        return true;
    bool ok = audit_file_open(path, err_r);
    free(path);
    return ok;
}

void audit_file_close(void)
{
    pthread_mutex_lock(&audit_mu);
    int old = audit_fd;
    audit_fd = -1;
    free(audit_path);
    audit_path = NULL;
    pthread_mutex_unlock(&audit_mu);
    if (old >= 0)
        close(old);
}

bool audit_enabled(void)
{
    pthread_mutex_lock(&audit_mu);
    bool on = audit_fd >= 0;
    pthread_mutex_unlock(&audit_mu);
    return on;
}

bool audit_wants(const xmethod *m)
{
    /* event.from / event.next (the only blocking messages) wait, changing nothing */
    return m && !m->read_only && !m->blocking;
}

void audit_session_id(const char *ref, char *buf)
{
    const char *plain = xref_plain(ref);
    unsigned char d[32];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, plain, strlen(plain), d) != 0) {
        snprintf(buf, 9, "????????");
        return;
    }
    snprintf(buf, 9, "%02x%02x%02x%02x", d[0], d[1], d[2], d[3]);
}

/* " key=value", the value's spaces, '%', '=' and control or non-ASCII bytes
 * as %XX, so that one line stays one record whatever a client sent. */
static void put(xbuf *b, const char *key, const char *val)
{
    xbuf_printf(b, " %s=", key);
    if (!val || !*val) {
        xbuf_puts(b, "-");
        return;
    }
    for (const unsigned char *p = (const unsigned char *)val; *p; p++) {
        if (*p <= ' ' || *p >= 0x7f || *p == '%' || *p == '=')
            xbuf_printf(b, "%%%02X", *p);
        else
            xbuf_add(b, (const char *)p, 1);
    }
}

/* The refs the call names (never a secret parameter; a session as its id). */
static void put_refs(xbuf *b, const xcall *c)
{
    const xmethod *m = c->m;
    size_t first = m->session ? 1 : 0;
    if (!c->params || c->params->kind != XV_ARRAY || c->params->u.arr.n != first + (size_t)m->nparams)
        return;                 /* refused before its parameters were understood */
    for (int i = 0; i < m->nparams; i++) {
        size_t wire = first + (size_t)i;
        const xv *a = c->params->u.arr.items[wire];
        const xtype *t = m->params[i].type;
        if ((wire < 32 && (m->secret >> wire) & 1u) || t->kind != XT_REF || a->kind != XV_STRING)
            continue;
        if (t->cls == XCL_session) {
            char id[9];
            audit_session_id(a->u.str.s, id);
            put(b, m->params[i].name, id);
        } else {
            put(b, m->params[i].name, a->u.str.s);
        }
    }
}

/* Who: the session's user, or the name a login gave (its first parameter,
 * never secret: the password is). */
static const char *who(const xcall *c)
{
    if (c->user[0])
        return c->user;
    const xmethod *m = c->m;
    if (!m->session && m->nparams > 0 && !(m->secret & 1u) && c->params && c->params->kind == XV_ARRAY &&
        c->params->u.arr.n > 0 && c->params->u.arr.items[0]->kind == XV_STRING &&
        m->params[0].type->kind == XT_STRING)
        return c->params->u.arr.items[0]->u.str.s;
    return NULL;
}

void audit_call(const xcall *c)
{
    if (!audit_wants(c->m) || !audit_enabled())
        return;
    xbuf b;
    xbuf_init(&b);
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    xbuf_printf(&b, "%s.%03ldZ", when, ts.tv_nsec / 1000000);
    put(&b, "user", who(c));
    put(&b, "role", c->role >= 0 && c->role < XROLE__COUNT ? xrole_names[c->role] : NULL);
    put(&b, "from", c->peer.addr);
    if (c->peer.cred)
        xbuf_printf(&b, " uid=%u", c->peer.uid);
    char sid[9] = "";
    if (c->session[0])
        audit_session_id(c->session, sid);
    else if (!c->err && c->m->ret && c->m->ret->kind == XT_REF && c->m->ret->cls == XCL_session && c->result &&
             c->result->kind == XV_STRING)
        audit_session_id(c->result->u.str.s, sid);      /* the session a login opened */
    put(&b, "session", sid);
    xbuf_printf(&b, " call=%s%s", c->is_async ? "Async." : "", c->m->name);
    if (c->is_async && c->task[0])
        put(&b, "task", c->task);
    put_refs(&b, c);
    if (c->err)
        xbuf_printf(&b, " result=Failure code=%s\n", c->err->code);
    else
        xbuf_puts(&b, " result=Success\n");

    pthread_mutex_lock(&audit_mu);
    int fd = audit_fd;
    ssize_t w = fd >= 0 ? write(fd, b.data, b.len) : (ssize_t)b.len;
    int werr = errno;
    pthread_mutex_unlock(&audit_mu);
    if (w != (ssize_t)b.len)
        xlogd(XLOG_ERROR, "cannot write the audit log: %s", w < 0 ? strerror(werr) : "short write");
    xbuf_free(&b);
}
