/* paths: client-named paths confined to configured directories (paths.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/paths.h"
#include "util/beneath.h"
#include "util/log.h"
#include "xapi_errors.h"

static const struct {
    const char *key;            /* the xend.conf option */
    const char *sub;            /* the default below the state directory, NULL: none */
} uses[PATHS__COUNT] = {
    [PATHS_IMAGE] = { "image-dir", "images" },
    [PATHS_SR] = { "sr-dir", "sr" },
    [PATHS_KERNEL] = { "kernel-dir", "kernels" },
    [PATHS_BOOTLOADER] = { "bootloader-dir", NULL },
};

static struct {
    char *dir;                  /* absolute, no trailing '/'; NULL: none */
    int fd;                     /* O_PATH of dir, -1: none */
} roots[PATHS__COUNT] = { { NULL, -1 }, { NULL, -1 }, { NULL, -1 }, { NULL, -1 } };

bool paths_setup(const char *state_dir, const char *const dirs[PATHS__COUNT], char **err_r)
{
    for (int u = 0; u < PATHS__COUNT; u++) {
        const char *given = dirs ? dirs[u] : NULL;
        if (!given && !uses[u].sub)
            continue;           /* none configured, none by default */
        char *dir = NULL;
        if (given ? !(dir = strdup(given)) : asprintf(&dir, "%s/%s", state_dir, uses[u].sub) < 0)
            abort();
        size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/')
            dir[--n] = '\0';
        if (dir[0] != '/' || n < 2) {
            if (asprintf(err_r, "%s %s: must be an absolute directory other than /", uses[u].key, dir) < 0)
                *err_r = NULL;
            free(dir);
            return false;
        }
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            xlog(XLOG_WARNING, "%s %s: %s", uses[u].key, dir, strerror(errno));
        int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            if (asprintf(err_r, "%s %s: %s", uses[u].key, dir, strerror(errno)) < 0)
                *err_r = NULL;
            free(dir);
            return false;
        }
        free(roots[u].dir);
        if (roots[u].fd >= 0)
            close(roots[u].fd);
        roots[u].dir = dir;
        roots[u].fd = fd;
    }
    return true;
}

const char *paths_dir(paths_use use) { return roots[use].dir ? roots[use].dir : ""; }

/* The part of path below use's directory, or NULL (errp set) when path is
 * not textually below it.  Nothing is looked at on the file system. */
static const char *below(paths_use use, const char *field, const char *path, xerr **errp)
{
    const char *dir = roots[use].dir;
    size_t n = dir ? strlen(dir) : 0;
    if (!dir || roots[use].fd < 0) {
        char why[96];
        snprintf(why, sizeof(why), "no directory is configured for it (xend.conf %s)", uses[use].key);
        xerr_VALUE_NOT_SUPPORTED(errp, field, path, why);
        return NULL;
    }
    const char *rel = path + n + 1;
    bool ok = strncmp(path, dir, n) == 0 && path[n] == '/' && *rel;
    for (const char *p = rel; ok && *p; ) {      /* no empty, "." or ".." component */
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        ok = len > 0 && !(p[0] == '.' && (len == 1 || (len == 2 && p[1] == '.')));
        p += len + (slash ? 1 : 0);
        ok = ok && !(slash && !*p);              /* no trailing '/' */
    }
    if (!ok) {
        char *why = NULL;
        if (asprintf(&why, "must be a plain path below %s (xend.conf %s)", dir, uses[use].key) < 0)
            abort();
        xerr_VALUE_NOT_SUPPORTED(errp, field, path, why);
        free(why);
        return NULL;
    }
    return rel;
}

/* The reason an open below the directory failed, for the client: the
 * path is inside the configured directory, so saying why tells nothing
 * about the rest of the file system. */
static bool open_error(int err, const char *field, const char *path, xerr **errp)
{
    const char *why = err == ENOENT ? "does not exist"
                      : err == ELOOP || err == ENOTDIR ? "is, or passes through, a symbolic link or a non-directory"
                      : err == EACCES ? "permission denied"
                      : err == ENAMETOOLONG ? "a name is too long"
                      : "cannot be opened";
    if (err != ENOENT)
        xlog(XLOG_INFO, "%s %s: %s", field, path, strerror(err));
    return xerr_VALUE_NOT_SUPPORTED(errp, field, path, why);
}

int paths_open_file(paths_use use, const char *field, const char *path, xerr **errp)
{
    const char *rel = below(use, field, path, errp);
    if (!rel)
        return -1;
    int fd = xopen_beneath(roots[use].fd, rel, O_RDONLY, 0);
    if (fd < 0) {
        open_error(errno, field, path, errp);
        return -1;
    }
    struct stat st;
    int fl = fcntl(fd, F_GETFL);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        xerr_VALUE_NOT_SUPPORTED(errp, field, path, "not a regular file");
        return -1;
    }
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        close(fd);
        open_error(errno, field, path, errp);
        return -1;
    }
    return fd;
}

bool paths_check_file(paths_use use, const char *field, const char *path, xerr **errp)
{
    int fd = paths_open_file(use, field, path, errp);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

int paths_open_parent(paths_use use, const char *field, const char *path, bool want_dir,
                      const char **name_r, xerr **errp)
{
    const char *rel = below(use, field, path, errp);
    if (!rel)
        return -1;
    const char *name = NULL;
    int dfd = xopen_parent_beneath(roots[use].fd, rel, &name);
    if (dfd < 0) {
        open_error(errno, field, path, errp);
        return -1;
    }
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) {
        close(dfd);
        xerr_VALUE_NOT_SUPPORTED(errp, field, path, want_dir ? "exists and is not a directory"
                                                              : "exists and is not a regular file");
        return -1;
    }
    *name_r = name;
    return dfd;
}

bool paths_fd_path(char *buf, size_t len, int fd, const char *name)
{
    int n = name ? snprintf(buf, len, "/proc/self/fd/%d/%s", fd, name)
                 : snprintf(buf, len, "/proc/self/fd/%d", fd);
    return n > 0 && (size_t)n < len;
}
