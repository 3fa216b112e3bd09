/* beneath: open a path below a directory without ever leaving it (beneath.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "util/beneath.h"

/* Is comp (n bytes) a component we may open? */
static int bad_component(const char *comp, size_t n)
{
    return n == 0 || n > NAME_MAX || (comp[0] == '.' && (n == 1 || (n == 2 && comp[1] == '.')));
}

/* Walk the directories of rel[0..len) below dirfd; an O_PATH fd of the last. */
static int walk(int dirfd, const char *rel, size_t len)
{
    int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    size_t i = 0;
    while (cur >= 0 && i < len) {
        const char *slash = memchr(rel + i, '/', len - i);
        size_t n = (slash ? (size_t)(slash - rel) : len) - i;
        char comp[NAME_MAX + 1];
        if (bad_component(rel + i, n)) {
            close(cur);
            errno = EINVAL;
            return -1;
        }
        memcpy(comp, rel + i, n);
        comp[n] = '\0';
        int next = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;       /* a link: ENOTDIR (O_PATH | O_NOFOLLOW opens the link itself) */
        close(cur);
        errno = saved;
        cur = next;
        i += n + 1;
    }
    return cur;
}

int xopen_parent_beneath(int dirfd, const char *rel, const char **name_r)
{
    const char *last = strrchr(rel, '/');
    const char *name = last ? last + 1 : rel;
    if (bad_component(name, strlen(name))) {
        errno = EINVAL;
        return -1;
    }
    int fd = walk(dirfd, rel, last ? (size_t)(last - rel) : 0);
    if (fd >= 0)
        *name_r = name;
    return fd;
}

int xopen_beneath(int dirfd, const char *rel, int flags, mode_t mode)
{
    const char *name = NULL;
    int dir = xopen_parent_beneath(dirfd, rel, &name);
    if (dir < 0)
        return -1;
    int fd = openat(dir, name, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, mode);
    int saved = errno;
    close(dir);
    errno = saved;
    return fd;
}
