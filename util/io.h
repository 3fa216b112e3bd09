/* io: small file-descriptor helpers shared by the daemon's components. */
#ifndef XEND_UTIL_IO_H
#define XEND_UTIL_IO_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <unistd.h>

/* Write all n bytes of p to fd, retrying short writes and EINTR; false
 * with errno set on an error. */
static inline bool xwrite_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        c += w;
        n -= (size_t)w;
    }
    return true;
}

#endif
