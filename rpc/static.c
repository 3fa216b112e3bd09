/* static: the web console's files, answered for GET and HEAD (see static.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rpc/static.h"
#include "util/beneath.h"

/* The longest path we look at, and the largest file we send: the console's
 * files are a few dozen KiB. */
#define STATIC_MAX_PATH 256
#define STATIC_MAX_FILE ((off_t)16 << 20)

static const struct {
    const char *ext, *type;
} static_types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".json", "application/json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
    { ".txt", "text/plain; charset=utf-8" },
};

const char *rpc_static_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot)
        for (size_t i = 0; i < sizeof static_types / sizeof static_types[0]; i++)
            if (strcmp(dot, static_types[i].ext) == 0)
                return static_types[i].type;
    return "application/octet-stream";
}

/* Opens the file url names below dirfd (util/beneath.h: one component at a
 * time, no link followed, never leaving the directory); hidden names are
 * refused too.  A directory answers with its index.html.  Returns an fd of
 * a regular file (with its size and Content-Type), or -1. */
static int static_open(int dirfd, const char *url, off_t *size_r, const char **type_r)
{
    char rel[STATIC_MAX_PATH + 1];
    size_t n = strlen(url);
    if (url[0] != '/' || n > STATIC_MAX_PATH)
        return -1;
    memcpy(rel, url + 1, n);            /* with the terminating NUL */
    size_t len = n - 1;
    while (len > 0 && rel[len - 1] == '/')      /* "sub/" names the directory sub */
        rel[--len] = '\0';
    for (const char *c = rel; *c; c = strchr(c, '/') ? strchr(c, '/') + 1 : c + strlen(c))
        if (*c == '.')                  /* ".", "..", hidden files */
            return -1;
    const char *name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    int fd = *rel ? xopen_beneath(dirfd, rel, O_RDONLY, 0) : dup(dirfd);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0)
        goto fail;
    if (S_ISDIR(st.st_mode)) {
        int idx = xopen_beneath(fd, "index.html", O_RDONLY, 0);
        close(fd);
        if ((fd = idx) < 0 || fstat(fd, &st) != 0)
            goto fail;
        name = "index.html";
    }
    if (!S_ISREG(st.st_mode) || st.st_size > STATIC_MAX_FILE)
        goto fail;
    /* the file is read through MHD: make it blocking again */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
        goto fail;
    *size_r = st.st_size;
    *type_r = rpc_static_type(name);    /* name points into rel: use it here */
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    return -1;
}

static enum MHD_Result static_answer(struct MHD_Connection *conn, unsigned status, struct MHD_Response *resp,
                                     const char *type)
{
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    /* the console is self-contained: its own scripts and styles, calls to its own origin */
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'none'");
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

enum MHD_Result rpc_static_serve(struct MHD_Connection *conn, const char *dir, const char *url)
{
    static const char not_found[] = "not found\n";
    int fd = -1;
    off_t size = 0;
    const char *type = NULL;
    if (dir && *dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fd = static_open(dfd, url, &size, &type);
            close(dfd);
        }
    }
    if (fd < 0)
        return static_answer(conn, MHD_HTTP_NOT_FOUND,
                             MHD_create_response_from_buffer(sizeof not_found - 1, (void *)not_found,
                                                             MHD_RESPMEM_PERSISTENT),
                             "text/plain; charset=utf-8");
    /* MHD closes fd when the response is destroyed */
    return static_answer(conn, MHD_HTTP_OK, MHD_create_response_from_fd((size_t)size, fd), type);
}
