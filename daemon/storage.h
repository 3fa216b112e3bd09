/* storage: file-backed SRs and VDIs, what the SR, VDI and crashdump
 * classes (daemon/api/sr.c, vdi.c, crashdump.c) and the VM class share
 * (daemon/storage.c).  "lock held": the store lock (write lock when the
 * function changes anything). */
#ifndef XEND_STORAGE_H
#define XEND_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/dispatch.h"
#include "daemon/store.h"

#define SR_TYPE "file"          /* the one SR type: a directory of sparse files */

void storage_setup(void);                       /* default SR, missing files (lock not held) */
void storage_tick(void);                        /* physical utilisation from the files */
/* A VDI's file (malloc'd; lock held); NULL if its SR has no directory. */
char *storage_vdi_path(const xobj *vdi);
/* A new VDI record and its sparse file in SR sr (write lock held). */
xobj *storage_vdi_create(const char *sr, const char *name, const char *type, int64_t size,
                         xerr **errp);
/* Remove a VDI's file and record (write lock held). */
void storage_vdi_remove(xobj *vdi);
/* The SR for suspend images / crash dumps (lock held): the pool's choice,
 * else the default SR. */
const char *storage_sr_for(int purpose);
enum { STORAGE_SUSPEND, STORAGE_CRASHDUMP };
/* Refresh a VDI's size fields from its file (write lock held). */
void storage_vdi_refresh(xobj *vdi);

/* The directory of an SR (lock held): its PBD's device_config:location for
 * this host, else any PBD's; NULL if none. */
const char *storage_sr_dir(const xobj *sr);
/* Refresh an SR's utilisation from its VDIs (write lock held). */
void storage_sr_refresh(xobj *sr);
/* VALUE_NOT_SUPPORTED unless 0 <= size <= 1 PiB. */
bool storage_size_ok(int64_t size, xerr **errp);
/* Fill a new VDI o (not in the store yet) and make its file (lock held). */
bool storage_vdi_create_file(xobj *o, xerr **errp);
/* Is vdi used by a domain (attached VBD of a live VM, suspend image)? */
bool storage_vdi_in_use(const xobj *vdi);
/* Drop what refers to vdi: CDs become empty, other VBDs and crash dumps go. */
void storage_vdi_unlink_users(xobj *vdi);
/* Remove a VDI's record, and its file unless keep_file (write lock held). */
void storage_vdi_drop(xobj *vdi, bool keep_file);
/* A new SR record with its PBD for directory dir (write lock held). */
xobj *storage_sr_new(const char *uuid, const char *dir, const char *name, const char *descr,
                     const char *content_type, int64_t physical_size);
/* Make an SR's directory (or accept an existing one). */
bool storage_mkdir_sr(const char *dir, xerr **errp);

#endif
