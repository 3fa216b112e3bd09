/* beneath: open a path below a directory without ever leaving it.
 *
 * The relative path is walked one component at a time with openat():
 * no component may be empty, "." or "..", and no symbolic link is followed
 * (a link fails: ENOTDIR on the way, ELOOP at the end), so what is opened is
 * inside dirfd
 * whatever the path or the file system holds.  Every open is O_NONBLOCK,
 * so a FIFO never blocks the caller.
 */
#ifndef XEND_BENEATH_H
#define XEND_BENEATH_H

#include <sys/types.h>

/* Open rel below dirfd with flags (O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK are
 * added; mode for O_CREAT).  Returns an fd or -1 with errno: EINVAL for a
 * bad component, ENOTDIR / ELOOP for a link, else openat()'s. */
int xopen_beneath(int dirfd, const char *rel, int flags, mode_t mode);

/* Open the directory holding rel's last component (below dirfd, as above)
 * as O_PATH | O_DIRECTORY; *name_r points at that component in rel.
 * Returns an fd or -1 with errno. */
int xopen_parent_beneath(int dirfd, const char *rel, const char **name_r);

#endif
