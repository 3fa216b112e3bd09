/* persist_int: what the pieces of persistence share; private to
 * daemon/persist_*.c.  The pieces, bottom up:
 *   persist_record.c   which classes persist where; a file's record XML
 *   persist_journal.c  the journal, and the files it is checkpointed into
 *   persist_commit.c   dirty set, ticket order, group commit, the syncer
 *   persist_load.c     the state directory at start-up (persist_setup)
 */
#ifndef XEND_PERSIST_INT_H
#define XEND_PERSIST_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/classes.h"
#include "daemon/persist.h"
#include "daemon/store.h"
#include "util/xv.h"
#include "xapi_model.h"

/* ---- where things are (persist_load.c) ---- */
extern char *persist_dir;               /* the state directory */
extern int persist_dir_fd;
/* ---- set once loading is done (persist_commit.c) ---- */
extern bool persist_active;

/* ---- which classes persist, and where (persist_record.c) ---- */
enum { P_NONE = 0, P_OWN, P_INVM };     /* a file of its own / in its VM's file */
extern unsigned char persist_mode[XCL__COUNT];
extern int persist_vm_field[XCL__COUNT];         /* P_INVM: the device's VM field */
extern bool *persist_skip[XCL__COUNT];           /* fields never written (derived / runtime) */
/* The order files are loaded in: parents before children. */
extern const int persist_own_classes[];
extern const size_t persist_n_own;
typedef struct persist_dev_class { int cls, field; } persist_dev_class;
extern const persist_dev_class persist_vm_devices[];
extern const size_t persist_n_dev;
/* VM's set field listing each device class (same order as persist_vm_devices). */
extern const int persist_vm_device_sets[];
void persist_classes_init(void);
bool persist_is_dom0(const xobj *vm);

/* ---- a map from file keys "<class>/<uuid>" to contents (persist_journal.c) ----
 * Two of them: the dirty set (the files changed since the last commit; keys
 * only) and the pending map (for each file changed since the last
 * checkpoint, its newest content as journalled, body NULL: the file is to
 * be removed; bounded by the journal's size). */
typedef struct pent {
    char *key;
    char *body;
    size_t len;
} pent;
typedef struct pmap {
    pent *e;
    size_t cap, n;
} pmap;
pent *persist_map_find(pmap *m, const char *key);
void persist_map_put(pmap *m, char *key, char *body, size_t len);   /* takes key and body */
void persist_map_clear(pmap *m);

/* ---- record XML (persist_record.c) ---- */
/* One file's new content (or its removal), serialized under the store lock. */
typedef struct pitem {
    char *key;
    char *body;                 /* NULL: remove the file */
    size_t len;
} pitem;
/* Fill it->body from the store (left NULL: the object is gone); store lock held. */
void persist_serialize(pitem *it);
typedef struct objlist {
    xobj **o;
    size_t n, cap;
} objlist;
void persist_objlist_add(objlist *l, xobj *o);
/* Parse one file into objects (appended to own / devs); false: corrupt,
 * with *why (malloc'd). */
bool persist_parse_file(const char *path, const char *buf, size_t len, int want_cls,
                        objlist *own, objlist *devs, char **why);

/* ---- the journal (persist_journal.c; commit_mu held, but for _open) ---- */
bool persist_journal_open(size_t *replayed_r, char **err_r);
/* Append the records of items[0..n) (one write) and keep their contents
 * for the next checkpoint: their keys and bodies are taken even when the
 * write fails (false, logged). */
bool persist_journal_append(pitem *items, size_t n);
int persist_journal_sync(void);         /* fdatasync: 0 or an errno */
bool persist_journal_full(void);        /* past the checkpoint threshold */
bool persist_journal_empty(void);       /* no record since the last checkpoint */
/* Write the pending files, make them durable, start a new generation.
 * False (logged) leaves everything as it was. */
bool persist_journal_checkpoint(void);

/* ---- commit (persist_commit.c) ---- */
/* Loading is done: observe the store, start the syncer (a job queued with
 * queue, daemon_options.queue_blocking; NULL: a thread of its own). */
void persist_commit_start(void (*queue)(void (*fn)(void *arg), void *arg));

#endif
