/* paths: the files and directories a client names, confined to the
 * directories xend.conf gives for each use (docs/xend.conf.md):
 *
 *   image-dir       VM.save's dest, VM.restore's src
 *   sr-dir          SR.create's device_config:location
 *   kernel-dir      PV_kernel, PV_ramdisk given to the backend
 *   bootloader-dir  an absolute PV_bootloader (a bare name is Xen's own)
 *
 * A path must be absolute and below its use's directory, textually (no "."
 * or ".." component, no "//"); it is then opened one component at a time
 * below that directory without following any link (util/beneath.h), and
 * must be a regular file where a file is meant (a FIFO is refused, never
 * waited on).  A path outside is refused before the file system is looked
 * at, so the error never tells whether something exists there.  Errors are
 * VALUE_NOT_SUPPORTED(field, path, reason).
 *
 * The backend is handed "/proc/self/fd/N[/name]": it opens what the daemon
 * checked, not a path that could be swapped meanwhile.
 */
#ifndef XEND_PATHS_H
#define XEND_PATHS_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/xerr.h"

typedef enum { PATHS_IMAGE, PATHS_SR, PATHS_KERNEL, PATHS_BOOTLOADER, PATHS__COUNT } paths_use;

/* dirs[use]: the configured directory, NULL for the default (below
 * state_dir: images, sr, kernels; none for bootloaders).  The defaults are
 * made (0700) when missing; each stays open (O_PATH) for the daemon's
 * life.  False with *err_r (malloc'd) for a directory that is not absolute
 * or cannot be opened. */
bool paths_setup(const char *state_dir, const char *const dirs[PATHS__COUNT], char **err_r);
/* The directory of use ("" when none is configured). */
const char *paths_dir(paths_use use);

/* Open the regular file path names for reading.  An fd (blocking again,
 * close-on-exec) or -1 with *errp set. */
int paths_open_file(paths_use use, const char *field, const char *path, xerr **errp);

/* Check path may be given to the backend as is (PV_bootloader): a regular
 * file below use's directory. */
bool paths_check_file(paths_use use, const char *field, const char *path, xerr **errp);

/* Open the directory path's last component is (to be) in; that component
 * in *name_r (pointing into path).  The component may not exist; if it
 * does it must be of type want_dir ? directory : regular file. */
int paths_open_parent(paths_use use, const char *field, const char *path, bool want_dir,
                      const char **name_r, xerr **errp);

/* "/proc/self/fd/FD" or, with name, "/proc/self/fd/FD/NAME" into buf
 * (false if it does not fit). */
bool paths_fd_path(char *buf, size_t len, int fd, const char *name);

#endif
