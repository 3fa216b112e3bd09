/* xm: which server, which credentials, the session.
 *
 * Server: -s/--server, else $XM_SERVER, else the <server uri=...> of
 * xm-config.xml ($XM_CONFIG_FILE, default /etc/xen/xm-config.xml, as Xen
 * 4.4's xm read it), else the local socket unix:///var/run/xend/xen-api.sock.
 * "httpu:///PATH" (xm's old spelling) means unix:///PATH.
 *
 * Credentials, for http and https only (the local socket is root-only and
 * needs none): the username/password attributes of xm-config.xml when its
 * server is the one in use, else $XM_USERNAME / $XM_PASSWORD, else asked on
 * the terminal (the password without echo).  Never from the command line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <xen/api/xen_transport.h>

#include "xm/xm.h"

#define DEFAULT_URL "unix:///var/run/xend/xen-api.sock"
#define DEFAULT_XM_CONFIG "/etc/xen/xm-config.xml"
#define XM_CONFIG_MAX (64 * 1024)

static xen_session *session;
static xen_transport *transport;
static char *url_in_use;

typedef struct xmconf {
    char *uri, *username, *password;
} xmconf;

static char *attr(xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    char *s = xm_strdup((const char *)v);
    xmlFree(v);
    return s;
}

/* Read xm-config.xml.  A missing file is no error; a broken one is (the
 * administrator meant something by it). */
static bool read_xmconf(xmconf *c)
{
    memset(c, 0, sizeof(*c));
    const char *path = getenv("XM_CONFIG_FILE");
    if (!path || !*path)
        path = DEFAULT_XM_CONFIG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return true;
        xm_err(XM_EXIT_CONNECT, "cannot read %s: %s", path, strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > XM_CONFIG_MAX) {
        close(fd);
        xm_err(XM_EXIT_CONNECT, "%s: not a regular file of at most %d bytes", path, XM_CONFIG_MAX);
        return false;
    }
    char *buf = xm_alloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    xmlDoc *doc = xmlReadMemory(buf, (int)got, path, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    free(buf);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root) {
        const xmlError *e = xmlGetLastError();
        xm_err(XM_EXIT_CONNECT, "%s:%d: not well-formed XML%s%s", path, e ? e->line : 0,
               e && e->message ? ": " : "", e && e->message ? e->message : "");
        xmlFreeDoc(doc);
        return false;
    }
    xmlNode *server = NULL;
    for (xmlNode *n = root->children; n && !server; n = n->next)
        if (n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, (const xmlChar *)"server") == 0)
            server = n;
    if (server) {
        char *type = attr(server, "type");
        if (type && strcmp(type, "Xen-API") == 0) {
            c->uri = attr(server, "uri");
            c->username = attr(server, "username");
            c->password = attr(server, "password");
            if (c->password && (st.st_mode & 077))
                fprintf(stderr, "Warning: %s holds a password and is readable by others "
                        "(chmod 600 it).\n", path);
        } else {
            fprintf(stderr, "Warning: %s: server type '%s' is not spoken by this xm; "
                    "using the Xen-API server %s.\n", path, type ? type : "", DEFAULT_URL);
        }
        free(type);
    }
    xmlFreeDoc(doc);
    return true;
}

static void free_xmconf(xmconf *c)
{
    free(c->uri);
    free(c->username);
    if (c->password) {
        explicit_bzero(c->password, strlen(c->password));
        free(c->password);
    }
}

/* One line from the terminal, without echo if asked; NULL if there is no
 * terminal or on end of input. */
static char *prompt(const char *what, bool echo)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return NULL;
    struct termios old, raw;
    bool restore = false;
    if (!echo && tcgetattr(fd, &old) == 0) {
        raw = old;
        raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        raw.c_lflag |= ICANON;
        restore = tcsetattr(fd, TCSAFLUSH, &raw) == 0;
    }
    (void)!write(fd, what, strlen(what));
    char buf[512];
    size_t n = 0;
    bool ok = false;
    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (ch == '\n' || ch == '\r') {
            ok = true;
            break;
        }
        if (n + 1 < sizeof(buf))
            buf[n++] = ch;
    }
    buf[n] = '\0';
    if (restore) {
        tcsetattr(fd, TCSAFLUSH, &old);
        (void)!write(fd, "\n", 1);
    }
    close(fd);
    char *s = ok ? xm_strdup(buf) : NULL;
    explicit_bzero(buf, sizeof(buf));
    return s;
}

const char *xm_server_url(void)
{
    return url_in_use ? url_in_use : DEFAULT_URL;
}

xen_session *xm_session(void)
{
    if (session)
        return session;
    xmconf conf;
    if (!read_xmconf(&conf))
        exit(XM_EXIT_CONNECT);
    const char *url = xm_opt_server;
    if (!url || !*url)
        url = getenv("XM_SERVER");
    if (!url || !*url)
        url = conf.uri;
    if (!url || !*url)
        url = DEFAULT_URL;
    if (strncmp(url, "httpu://", 8) == 0)
        url_in_use = xm_printf("unix://%s", url + 8);
    else
        url_in_use = xm_strdup(url);

    transport = xen_transport_new(url_in_use);
    if (!transport) {
        free_xmconf(&conf);
        xm_err(XM_EXIT_CONNECT, "unsupported server URL '%s' (use unix:///PATH, http://HOST:PORT/ "
               "or https://HOST:PORT/)", url_in_use);
        exit(XM_EXIT_CONNECT);
    }
    if (xm_opt_ca_file && !xen_transport_set_ca_file(transport, xm_opt_ca_file)) {
        free_xmconf(&conf);
        xm_err(XM_EXIT_CONNECT, "cannot use CA file '%s'", xm_opt_ca_file);
        exit(XM_EXIT_CONNECT);
    }

    char *user = NULL, *pass = NULL;
    bool local = strncmp(url_in_use, "unix://", 7) == 0;
    if (local) {
        user = xm_strdup("root");
        pass = xm_strdup("");
    } else {
        bool conf_applies = conf.uri && strcmp(conf.uri, url) == 0;
        if (conf_applies && conf.username)
            user = xm_strdup(conf.username);
        if (conf_applies && conf.password)
            pass = xm_strdup(conf.password);
        if (!user && getenv("XM_USERNAME"))
            user = xm_strdup(getenv("XM_USERNAME"));
        if (!pass && getenv("XM_PASSWORD"))
            pass = xm_strdup(getenv("XM_PASSWORD"));
        if (!user)
            user = prompt("Username: ", true);
        if (user && !pass) {
            char *p = xm_printf("Password for %s at %s: ", user, url_in_use);
            pass = prompt(p, false);
            free(p);
        }
        if (!user || !pass) {
            free(user);
            free(pass);
            free_xmconf(&conf);
            xm_err(XM_EXIT_CONNECT, "%s needs a username and password: put them in xm-config.xml, "
                   "set XM_USERNAME and XM_PASSWORD, or run xm on a terminal to be asked",
                   url_in_use);
            exit(XM_EXIT_CONNECT);
        }
    }
    free_xmconf(&conf);
    session = xen_session_login_with_password(xen_transport_call, transport, user, pass);
    explicit_bzero(pass, strlen(pass));
    free(user);
    free(pass);
    if (!session) {
        fprintf(stderr, "Error: out of memory\n");
        exit(XM_EXIT_CONNECT);
    }
    if (!session->ok) {
        const char *code = session->error_description_count ? session->error_description[0] : "";
        if (strcmp(code, "TRANSPORT_FAULT") == 0 || strcmp(code, "SERVER_FAULT") == 0)
            fprintf(stderr, "Error: cannot talk to the server at %s: %s\n", url_in_use,
                    xen_transport_last_error(transport)[0] ? xen_transport_last_error(transport)
                    : (session->error_description_count > 1 ? session->error_description[1] : code));
        else
            xm_fail(session);
        xen_session_logout(session);
        session = NULL;
        xm_disconnect();
        exit(XM_EXIT_CONNECT);
    }
    return session;
}

void xm_disconnect(void)
{
    if (session) {
        xen_session_logout(session);
        session = NULL;
    }
    xen_transport_free(transport);
    transport = NULL;
    free(url_in_use);
    url_in_use = NULL;
}
