/* persist: persistent objects as XML files under the state directory, made
 * durable through a journal (see docs/persistence.md for the format and the
 * crash-safety argument).
 *
 * Flow of a change: a store observer (under the store write lock) notes the
 * file the changed object lives in ("VM/<uuid>" for a VM and its devices,
 * "<class>/<uuid>" for the others) in the dirty set.  When a call ends the
 * dispatcher calls persist_call_done(): the dirty set is taken, each file is
 * serialized under the shared store lock and given a ticket; outside the
 * lock, commits run strictly in ticket order (so the later content of a file
 * always lands last): the records are appended to the journal (one write)
 * and each file's newest content is kept in memory (the pending map); then
 * one fdatasync of the journal, shared by every committer waiting at that
 * moment (group commit), makes them durable before the answer is sent.  The
 * journal record is the durable copy: the XML files themselves are written
 * only by a checkpoint (idle tick, full journal, clean exit), which writes
 * the pending files (temporary file + rename, or unlink), syncs the file
 * system holding them and only then empties the journal.  At start-up the
 * journal's records are applied to the files the same way, the files are
 * loaded, and a file that cannot be parsed is moved to <state>/corrupt/.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "daemon/classes.h"
#include "daemon/daemon.h"
#include "daemon/persist.h"
#include "daemon/store.h"
#include "util/io.h"
#include "util/strutil.h"
#include "util/log.h"
#include "xapi_model.h"

#define JOURNAL_HDR 4096
#define JOURNAL_SIZE (16u << 20)
/* Records past this offset trigger a checkpoint before the next commit
 * (JOURNAL_SIZE; the tests lower it with XEND_JOURNAL_CHECKPOINT_BYTES to
 * run checkpoints under load). */
static uint64_t ckpt_at = JOURNAL_SIZE;
#define JOURNAL_MAGIC "xend-journal 1 gen="

/* ---- which classes persist, and where ---- */

enum { P_NONE = 0, P_OWN, P_INVM };
static unsigned char pmode[XC__COUNT];
static int vm_field[XC__COUNT];          /* P_INVM: the device's VM field */
static bool *skip_field[XC__COUNT];      /* fields never written (derived / runtime) */

/* The order files are loaded in: parents before children. */
static const int own_classes[] = { XC_host, XC_pool, XC_network, XC_PIF, XC_SR, XC_VDI, XC_PBD,
                                   XC_user, XC_cpu_pool, XC_VM };
static const struct { int cls, field; } vm_devices[] = {
    { XC_VBD, XF_VBD_VM }, { XC_VIF, XF_VIF_VM }, { XC_console, XF_console_VM },
    { XC_VTPM, XF_VTPM_VM }, { XC_DPCI, XF_DPCI_VM }, { XC_DSCSI, XF_DSCSI_VM },
    { XC_DSCSI_HBA, XF_DSCSI_HBA_VM }, { XC_crashdump, XF_crashdump_VM },
};
/* VM's set field listing each device class (same order as vm_devices). */
static const int vm_device_sets[] = { XF_VM_VBDs, XF_VM_VIFs, XF_VM_consoles, XF_VM_VTPMs,
                                      XF_VM_DPCIs, XF_VM_DSCSIs, XF_VM_DSCSI_HBAs,
                                      XF_VM_crash_dumps };
#define N_OWN (sizeof(own_classes) / sizeof(own_classes[0]))
#define N_DEV (sizeof(vm_devices) / sizeof(vm_devices[0]))

static void classes_init(void)
{
    for (size_t i = 0; i < N_OWN; i++)
        pmode[own_classes[i]] = P_OWN;
    for (size_t i = 0; i < N_DEV; i++) {
        pmode[vm_devices[i].cls] = P_INVM;
        vm_field[vm_devices[i].cls] = vm_devices[i].field;
    }
    for (int c = 0; c < XC__COUNT; c++) {
        if (!pmode[c])
            continue;
        const xclass_desc *d = &xclasses[c];
        skip_field[c] = calloc((size_t)d->nfields + 1, sizeof(bool));
        if (!skip_field[c])
            abort();
        if (d->uuid_field >= 0)
            skip_field[c][d->uuid_field] = true;
        /* host and pool come from the backend; only what clients set is kept */
        if (c == XC_host || c == XC_pool)
            for (int f = 0; f < d->nfields; f++)
                if (d->fields[f].qual != XQ_RW)
                    skip_field[c][f] = true;
    }
    /* sizes are read from the files at start-up and every tick */
    skip_field[XC_SR][XF_SR_virtual_allocation] = true;
    skip_field[XC_SR][XF_SR_physical_utilisation] = true;
    skip_field[XC_VDI][XF_VDI_physical_utilisation] = true;
    /* the parents' ref Sets are rebuilt from the children on load */
    for (size_t i = 0; i < xrelationships_count; i++) {
        const xrelationship *r = &xrelationships[i];
        if (skip_field[r->parent_cls])
            skip_field[r->parent_cls][r->parent_field] = true;
    }
}

static bool is_dom0(const xobj *vm)
{
    return xobj_bool(vm, XF_VM_is_control_domain) ||
           strcmp(vm->ref, "00000000-0000-0000-0000-000000000000") == 0;
}

bool persist_vm_is_transient(const xobj *vm)
{
    if (is_dom0(vm))
        return true;
    const char *t = xobj_map_get(vm, XF_VM_other_config, PERSIST_TRANSIENT_KEY);
    return t && strcmp(t, "true") == 0;
}

/* ---- state ---- */

static char *state_dir;
static int state_fd = -1;
static bool active;
static persist_stats stats;

const char *persist_state_dir(void) { return state_dir ? state_dir : ""; }
void persist_get_stats(persist_stats *s) { *s = stats; }

/* FNV-1a over bytes, chained from h (the journal records' hash). */
static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}
#define FNV0 1469598103934665603ULL

/* A map from file keys "<class>/<uuid>" to contents, open addressing.
 * Two of them: the dirty set (the files changed since the last commit;
 * keys only) and the pending map (for each file changed since the last
 * checkpoint, its newest content as journalled, body NULL: the file is to
 * be removed; written to the files by a checkpoint; bounded by the
 * journal's size). */
typedef struct pent {
    char *key;
    char *body;
    size_t len;
} pent;

typedef struct pmap {
    pent *e;
    size_t cap, n;
} pmap;

static pent *pmap_find(pmap *m, const char *key)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        pent *ne = calloc(nc, sizeof(pent));
        if (!ne)
            abort();
        for (size_t i = 0; i < m->cap; i++)
            if (m->e[i].key) {
                size_t h = xhash_str(m->e[i].key) & (nc - 1);
                while (ne[h].key)
                    h = (h + 1) & (nc - 1);
                ne[h] = m->e[i];
            }
        free(m->e);
        m->e = ne;
        m->cap = nc;
    }
    size_t h = xhash_str(key) & (m->cap - 1);
    while (m->e[h].key && strcmp(m->e[h].key, key) != 0)
        h = (h + 1) & (m->cap - 1);
    return &m->e[h];
}

/* Note key's newest content; takes key and body. */
static void pmap_put(pmap *m, char *key, char *body, size_t len)
{
    pent *e = pmap_find(m, key);
    if (e->key) {
        free(key);
        free(e->body);
    } else {
        e->key = key;
        m->n++;
    }
    e->body = body;
    e->len = len;
}

static void pmap_clear(pmap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->e[i].key);
        free(m->e[i].body);
    }
    free(m->e);
    memset(m, 0, sizeof(*m));
}

static pthread_mutex_t dirty_mu = PTHREAD_MUTEX_INITIALIZER;
static pmap dirty;
static uint64_t issued;                 /* tickets handed out (dirty_mu) */

/* Commit ordering and the journal (commit_mu). */
static pthread_mutex_t commit_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t commit_cv = PTHREAD_COND_INITIALIZER;
static uint64_t committed;              /* every ticket <= this is written */
static uint64_t durable;                /* every ticket <= this is durable */
static bool syncing;
/* A journal write or sync failed (a full disk, an I/O error): changes
 * since may not be durable, and calls that made one are answered with an
 * error, until a checkpoint puts every pending change in its file. */
static bool failed;
static int jfd = -1;
static uint64_t jgen;
static uint64_t joff = JOURNAL_HDR;
static uint64_t jcap;
static time_t last_commit;
static pmap pending;                    /* files to write at the next checkpoint */
static time_t ckpt_failed;              /* when a checkpoint last failed (retried after 1 s) */

/* ---- the store observer ---- */

static void observe(void *arg, xstore_op op, const xobj *o, int field)
{
    (void)arg;
    int mode = pmode[o->cls];
    if (!mode)
        return;
    if (op == XSTORE_MOD && field >= 0 && skip_field[o->cls][field])
        return;
    char *key;
    const char *vm = mode == P_INVM ? xobj_str(o, vm_field[o->cls]) : "";
    const xobj *owner = o->cls == XC_VM ? o : (mode == P_INVM && *vm) ? store_find(XC_VM, vm) : NULL;
    /* dom0 (and its devices) never has a file: nothing to write or remove */
    if (owner && is_dom0(owner))
        return;
    if (mode == P_INVM && owner) {
        if (asprintf(&key, "VM/%s", vm) < 0)
            abort();
    } else if (asprintf(&key, "%s/%s", xclasses[o->cls].name, o->ref) < 0) {
        abort();
    }
    pthread_mutex_lock(&dirty_mu);
    pmap_put(&dirty, key, NULL, 0);
    pthread_mutex_unlock(&dirty_mu);
}

/* ---- XML writing ---- */

static void put_attr(xbuf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '"': rep = "&quot;"; break;
        case '\t': rep = "&#9;"; break;
        case '\n': rep = "&#10;"; break;
        default: break;
        }
        if (rep) {
            xbuf_add_escaped(b, run, (size_t)(s - run));
            xbuf_puts(b, rep);
            run = s + 1;
        }
    }
    xbuf_add_escaped(b, run, (size_t)(s - run));
}

static void put_value(xbuf *b, const xv *v)
{
    switch (v->kind) {
    case XV_STRING:
    case XV_DATETIME:
    case XV_BASE64:
        xbuf_add_escaped(b, v->u.str.s, v->u.str.len);
        break;
    case XV_INT:
        xbuf_printf(b, "%" PRId64, v->u.i);
        break;
    case XV_DOUBLE:
        xbuf_printf(b, "%.17g", v->u.d);
        break;
    case XV_BOOL:
        xbuf_puts(b, v->u.b ? "true" : "false");
        break;
    case XV_ARRAY:
        for (size_t i = 0; i < v->u.arr.n; i++) {
            xbuf_puts(b, "<item>");
            put_value(b, v->u.arr.items[i]);
            xbuf_puts(b, "</item>");
        }
        break;
    case XV_STRUCT:
        for (size_t i = 0; i < v->u.st.n; i++) {
            xbuf_puts(b, "<entry key=\"");
            put_attr(b, v->u.st.keys[i]);
            xbuf_puts(b, "\">");
            put_value(b, v->u.st.vals[i]);
            xbuf_puts(b, "</entry>");
        }
        break;
    case XV_NIL:
        break;
    }
}

static void put_object(xbuf *b, const xobj *o)
{
    const xclass_desc *c = &xclasses[o->cls];
    xbuf_printf(b, " <object class=\"%s\" uuid=\"%s\">\n", c->name, o->ref);
    for (int f = 0; f < c->nfields; f++) {
        if (skip_field[o->cls][f])
            continue;
        xbuf_puts(b, "  <field name=\"");  /* no printf per field: this runs on every call */
        xbuf_puts(b, c->fields[f].name);
        xbuf_puts(b, "\">");
        put_value(b, o->f[f]);
        xbuf_puts(b, "</field>\n");
    }
    xbuf_puts(b, " </object>\n");
}

/* One file's new content (or its removal), serialized under the store lock. */
typedef struct pitem {
    char *key;
    char *body;                 /* NULL: remove the file */
    size_t len;
} pitem;

static void serialize(pitem *it)
{
    char cname[64];
    const char *slash = strchr(it->key, '/');
    size_t cl = slash ? (size_t)(slash - it->key) : 0;
    if (!slash || cl >= sizeof(cname))
        return;
    memcpy(cname, it->key, cl);
    cname[cl] = '\0';
    const xclass_desc *cd = xclass_by_name(cname);
    xobj *o = cd ? store_find(cd->id, slash + 1) : NULL;
    if (!o || (o->cls == XC_VM && persist_vm_is_transient(o)))
        return;                 /* gone: remove the file */
    xbuf b;
    xbuf_init(&b);
    xbuf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<!-- xend record: see docs/persistence.md; do not edit while xend runs -->\n"
                  "<xend-record version=\"1\">\n");
    put_object(&b, o);
    if (o->cls == XC_VM)
        for (size_t d = 0; d < N_DEV; d++) {
            const xv *set = o->f[vm_device_sets[d]];
            for (size_t i = 0; i < set->u.arr.n; i++) {
                xobj *dev = store_find(vm_devices[d].cls, set->u.arr.items[i]->u.str.s);
                if (dev)
                    put_object(&b, dev);
            }
        }
    xbuf_puts(&b, "</xend-record>\n");
    it->body = xbuf_steal(&b, &it->len);
}

char *persist_vm_xml(const xobj *vm, size_t *len_r)
{
    char key[XREF_LEN + 4];
    snprintf(key, sizeof(key), "VM/%s", vm->ref);
    pitem it = { .key = key };
    serialize(&it);
    if (!it.body) {                 /* transient VMs are not written to files */
        xbuf b;
        xbuf_init(&b);
        xbuf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xend-record version=\"1\">\n");
        put_object(&b, vm);
        xbuf_puts(&b, "</xend-record>\n");
        it.body = xbuf_steal(&b, &it.len);
    }
    *len_r = it.len;
    return it.body;
}

/* ---- files ---- */

static char *key_path(const char *key, const char *suffix)
{
    char *p;
    if (asprintf(&p, "%s/%s.xml%s", state_dir, key, suffix) < 0)
        abort();
    return p;
}

/* Replace the file of key with body (temporary file + rename), or remove
 * it (body NULL); with sync, the new content is fsynced before the rename
 * (the caller then fsyncs the directory). */
static bool apply_item(const char *key, const char *body, size_t len, bool sync)
{
    char *path = key_path(key, "");
    bool ok = true;
    if (!body) {
        if (unlink(path) != 0 && errno != ENOENT) {
            xlog(XLOG_ERROR, "persist: cannot remove %s: %s", path, strerror(errno));
            ok = false;
        }
        free(path);
        return ok;
    }
    char *tmp = key_path(key, ".tmp");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !xwrite_all(fd, body, len) || (sync && fsync(fd) != 0)) {
        xlog(XLOG_ERROR, "persist: cannot write %s: %s", tmp, strerror(errno));
        ok = false;
    }
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (ok && rename(tmp, path) != 0) {
        xlog(XLOG_ERROR, "persist: cannot rename %s: %s", tmp, strerror(errno));
        ok = false;
    }
    if (!ok)
        unlink(tmp);
    free(tmp);
    free(path);
    return ok;
}

/* ---- the journal ---- */

static bool journal_header(uint64_t gen)
{
    char hdr[JOURNAL_HDR];
    memset(hdr, '\n', sizeof(hdr));
    int n = snprintf(hdr, sizeof(hdr), JOURNAL_MAGIC "%016" PRIx64 "\n", gen);
    hdr[n] = '\n';
    if (pwrite(jfd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) || fdatasync(jfd) != 0) {
        xlog(XLOG_ERROR, "persist: cannot write the journal header: %s", strerror(errno));
        return false;
    }
    jgen = gen;
    joff = JOURNAL_HDR;
    return true;
}

/* Extend the journal to cap bytes of written zeros: overwriting written
 * blocks lets fdatasync skip the file system's journal (an unwritten
 * fallocated extent would need a metadata commit on every sync). */
static int journal_extend(uint64_t cap)
{
    struct stat st;
    if (fstat(jfd, &st) != 0)
        return errno;
    static const char zeros[65536];
    for (uint64_t off = (uint64_t)st.st_size; off < cap;) {
        size_t n = cap - off < sizeof(zeros) ? (size_t)(cap - off) : sizeof(zeros);
        ssize_t w = pwrite(jfd, zeros, n, (off_t)off);
        if (w <= 0)
            return w < 0 ? errno : EIO;
        off += (uint64_t)w;
    }
    return fsync(jfd) == 0 ? 0 : errno;
}

/* Record: "XJ1 <gen> <W|D> <keylen> <key> <bodylen> <hash>\n<body>\n" */
static uint64_t record_hash(uint64_t gen, char op, const char *key, const char *body, size_t len)
{
    uint64_t h = fnv(&gen, sizeof(gen), FNV0);
    h = fnv(&op, 1, h);
    h = fnv(key, strlen(key), h);
    return fnv(body, len, h);
}

/* Append the records of items[0..n) with one write. */
static bool journal_append(const pitem *items, size_t n)
{
    xbuf b;
    xbuf_init(&b);
    for (size_t i = 0; i < n; i++) {
        const pitem *it = &items[i];
        char op = it->body ? 'W' : 'D';
        const char *body = it->body ? it->body : "";
        xbuf_printf(&b, "XJ1 %016" PRIx64 " %c %zu %s %zu %016" PRIx64 "\n", jgen, op,
                    strlen(it->key), it->key, it->len,
                    record_hash(jgen, op, it->key, body, it->len));
        xbuf_add(&b, body, it->len);
        xbuf_add(&b, "\n", 1);
    }
    size_t need;
    char *rec = xbuf_steal(&b, &need);
    if (joff + need > jcap) {
        uint64_t ncap = jcap * 2;
        while (joff + need > ncap)
            ncap *= 2;
        int e = journal_extend(ncap);
        if (e != 0) {
            xlog(XLOG_ERROR, "persist: cannot grow the journal: %s", strerror(e));
            if (ftruncate(jfd, (off_t)jcap) != 0)   /* give the space back */
                xlog(XLOG_ERROR, "persist: cannot truncate the journal: %s", strerror(errno));
            free(rec);
            return false;
        }
        jcap = ncap;
    }
    bool ok = pwrite(jfd, rec, need, (off_t)joff) == (ssize_t)need;
    free(rec);
    if (!ok) {
        xlog(XLOG_ERROR, "persist: cannot append to the journal: %s", strerror(errno));
        return false;
    }
    joff += need;
    return true;
}

/* Up to this many pending files are made durable one by one (fsync of
 * each file and of their directories); more with one syncfs, which also
 * flushes whatever else is dirty on that file system. */
#define CKPT_FSYNC_MAX 64

static bool fsync_dir(const char *name)
{
    int dfd = openat(state_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok = dfd >= 0 && fsync(dfd) == 0;
    if (!ok)
        xlog(XLOG_ERROR, "persist: cannot sync %s/%s: %s", state_dir, name, strerror(errno));
    if (dfd >= 0)
        close(dfd);
    return ok;
}

/* Write every pending file and make the files, renames and removals
 * durable; false if that failed (the entries stay pending). */
static bool write_pending(void)
{
    bool each = pending.n <= CKPT_FSYNC_MAX, ok = true;
    bool dirs[XC__COUNT] = { false };
    for (size_t i = 0; i < pending.cap; i++) {
        const pent *e = &pending.e[i];
        if (!e->key)
            continue;
        if (!apply_item(e->key, e->body, e->len, each))
            ok = false;
        char cname[64];
        const char *slash = strchr(e->key, '/');
        size_t cl = slash ? (size_t)(slash - e->key) : 0;
        const xclass_desc *cd = NULL;
        if (cl && cl < sizeof(cname)) {
            memcpy(cname, e->key, cl);
            cname[cl] = '\0';
            cd = xclass_by_name(cname);
        }
        if (cd)
            dirs[cd->id] = true;
        else
            each = false;       /* not a directory of ours: sync everything */
    }
    if (!ok)
        return false;
    if (!each) {
        if (syncfs(state_fd) != 0) {
            xlog(XLOG_ERROR, "persist: syncfs: %s", strerror(errno));
            return false;
        }
        return true;
    }
    for (int c = 0; c < XC__COUNT; c++)
        if (dirs[c] && !fsync_dir(xclasses[c].name))
            ok = false;
    return ok;
}

/* Checkpoint: write the pending files, make them durable, and only then
 * start a new journal generation (the old records die once the files hold
 * what they said).  On failure the journal stays as it is and the pending
 * files are written again by the next checkpoint.  commit_mu held, nobody
 * syncing. */
static bool checkpoint(void)
{
    /* every committed change is in the pending map, now durable in its file */
    if (write_pending() && journal_header(jgen + 1)) {
        pmap_clear(&pending);
        durable = committed;
        if (jcap > JOURNAL_SIZE && ftruncate(jfd, JOURNAL_SIZE) == 0)
            jcap = JOURNAL_SIZE;    /* a burst grew it: give the space back */
        if (failed)
            xlog(XLOG_INFO, "persist: checkpoint done, every change is on disk again");
        failed = false;
        return true;
    }
    ckpt_failed = time(NULL);
    return false;
}

/* Read the journal's valid records (current generation, intact) into the
 * pending map, the last one per file winning; the caller writes them. */
static size_t journal_replay(void)
{
    struct stat st;
    if (fstat(jfd, &st) != 0 || st.st_size < JOURNAL_HDR)
        return 0;
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf)
        abort();
    ssize_t got = pread(jfd, buf, size, 0);
    size_t n = 0;
    if (got < JOURNAL_HDR || strncmp(buf, JOURNAL_MAGIC, strlen(JOURNAL_MAGIC)) != 0) {
        free(buf);
        return 0;
    }
    buf[got] = '\0';
    jgen = strtoull(buf + strlen(JOURNAL_MAGIC), NULL, 16);
    size_t off = JOURNAL_HDR;
    for (;;) {
        char op, key[128];
        unsigned long long gen, hash;
        size_t klen, blen;
        int used = 0;
        if (off + 4 > (size_t)got || memcmp(buf + off, "XJ1 ", 4) != 0)
            break;
        char *nl = memchr(buf + off, '\n', (size_t)got - off);
        if (!nl || nl - (buf + off) > 200)
            break;
        if (sscanf(buf + off, "XJ1 %16llx %c %zu %127s %zu %16llx%n", &gen, &op, &klen, key,
                   &blen, &hash, &used) != 6 || buf + off + used != nl)
            break;
        size_t body = (size_t)(nl + 1 - buf);
        if (gen != jgen || strlen(key) != klen || (op != 'W' && op != 'D') ||
            body + blen + 1 > (size_t)got || buf[body + blen] != '\n' ||
            record_hash(gen, op, key, buf + body, blen) != hash)
            break;
        /* a key names a file below the state directory: "<class>/<uuid>" */
        const char *slash = strchr(key, '/');
        if (!slash || strstr(key, "..") || !xuuid_valid(slash + 1))
            break;
        char *k = strdup(key), *b = NULL;
        if (!k)
            abort();
        if (op == 'W') {
            b = malloc(blen + 1);
            if (!b)
                abort();
            memcpy(b, buf + body, blen);
            b[blen] = '\0';
        }
        pmap_put(&pending, k, b, blen);
        n++;
        off = body + blen + 1;
    }
    free(buf);
    return n;
}

/* ---- commit ---- */

/* A flusher's serialized records, waiting for the records of the tickets
 * before it to be appended first (commit_mu). */
typedef struct deposit {
    uint64_t ticket;
    pitem *items;
    size_t n;
    struct deposit *next;
} deposit;
static deposit *deposits;               /* sorted by ticket */

/* Something to run once every ticket <= its own is durable (commit_mu). */
typedef struct pwaiter {
    uint64_t ticket;
    bool own;                   /* its call made changes of its own */
    void (*fn)(void *arg, bool durable);
    void *arg;
    struct pwaiter *next;
} pwaiter;
static pwaiter *waiters;

/* The inbox: deposits and waiters from transport threads that found
 * commit_mu taken (a checkpoint can hold it for a second) and must not
 * wait for it; whoever holds commit_mu next takes them (drain_inbox), and
 * the syncer is kicked to make sure someone does. */
static pthread_mutex_t inbox_mu = PTHREAD_MUTEX_INITIALIZER;
static deposit *inbox_deps;
static pwaiter *inbox_waiters;

static void insert_deposit(deposit *d)
{
    deposit **pp = &deposits;
    while (*pp && (*pp)->ticket < d->ticket)
        pp = &(*pp)->next;
    d->next = *pp;
    *pp = d;
}

/* Append deposits in ticket order, as far as they are contiguous; takes
 * their keys and bodies (commit_mu held). */
static void append_ready(void)
{
    while (deposits && deposits->ticket == committed + 1) {
        deposit *d = deposits;
        deposits = d->next;
        if (d->n && !journal_append(d->items, d->n))
            failed = true;
        for (size_t i = 0; i < d->n; i++) {
            pmap_put(&pending, d->items[i].key, d->items[i].body, d->items[i].len);
            d->items[i].key = d->items[i].body = NULL;
        }
        free(d->items);
        free(d);
        committed++;
        last_commit = time(NULL);
    }
}

/* Take the inbox into the commit state and append what became ready
 * (commit_mu held). */
static void drain_inbox(void)
{
    pthread_mutex_lock(&inbox_mu);
    deposit *d = inbox_deps;
    pwaiter *w = inbox_waiters;
    inbox_deps = NULL;
    inbox_waiters = NULL;
    pthread_mutex_unlock(&inbox_mu);
    while (d) {
        deposit *next = d->next;
        insert_deposit(d);
        d = next;
    }
    while (w) {
        pwaiter *next = w->next;
        w->next = waiters;
        waiters = w;
        w = next;
    }
    append_ready();
}

/* Run (with commit_mu released) the waiters whose tickets are durable. */
static void run_durable_waiters(void)
{
    pwaiter *ready = NULL, **tail = &ready;
    for (pwaiter **pp = &waiters; *pp;) {
        pwaiter *w = *pp;
        if (w->ticket <= durable) {
            *pp = w->next;
            w->next = NULL;
            *tail = w;
            tail = &w->next;
        } else {
            pp = &w->next;
        }
    }
    if (!ready)
        return;
    bool ok = !failed;
    pthread_mutex_unlock(&commit_mu);
    while (ready) {
        pwaiter *w = ready;
        ready = w->next;
        w->fn(w->arg, ok || !w->own);
        free(w);
    }
    pthread_mutex_lock(&commit_mu);
}

/* Group commit (commit_mu held): unless another thread is already doing
 * it, make everything committed durable, round after round while commits
 * keep arriving: one fdatasync of the journal per round (or, with the
 * journal full, a checkpoint), then wake the blocked flushers and run the
 * waiters it made due. */
static void lead_syncs(void)
{
    for (;;) {
        drain_inbox();
        if (syncing || durable >= committed)
            break;
        uint64_t upto = committed;
        syncing = true;
        if ((joff > ckpt_at || failed) && time(NULL) != ckpt_failed) {
            checkpoint();       /* full or failing: durable = committed once the files are */
        } else {
            pthread_mutex_unlock(&commit_mu);
            int r = fdatasync(jfd);
            pthread_mutex_lock(&commit_mu);
            if (r != 0) {
                xlog(XLOG_ERROR, "persist: fdatasync of the journal: %s", strerror(errno));
                failed = true;
            }
            if (upto > durable)
                durable = upto;
        }
        syncing = false;
        pthread_cond_broadcast(&commit_cv);
        run_durable_waiters();
    }
    run_durable_waiters();      /* drained waiters that were already due */
}

/* Take the dirty set and serialize it into a deposit (*d_r; NULL with
 * nothing dirty); the ticket that makes every change noted so far durable.
 * Deposits are appended in ticket order without anyone waiting for that: a
 * deposit whose predecessors are not appended yet is appended by whoever
 * appends the last of them (commit_locked). */
static uint64_t take_dirty(deposit **d_r)
{
    *d_r = NULL;
    store_rdlock();
    pthread_mutex_lock(&dirty_mu);
    if (dirty.n == 0) {
        uint64_t t = issued;
        pthread_mutex_unlock(&dirty_mu);
        store_unlock();
        return t;
    }
    pmap taken = dirty;
    memset(&dirty, 0, sizeof(dirty));
    uint64_t ticket = ++issued;
    pthread_mutex_unlock(&dirty_mu);

    deposit *d = calloc(1, sizeof(*d));
    pitem *items = calloc(taken.n, sizeof(pitem));
    if (!d || !items)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < taken.cap; i++)
        if (taken.e[i].key) {
            items[n].key = taken.e[i].key;
            taken.e[i].key = NULL;
            serialize(&items[n]);
            n++;
        }
    store_unlock();
    pmap_clear(&taken);

    d->ticket = ticket;
    d->items = items;
    d->n = n;
    *d_r = d;
    return ticket;
}

/* commit_mu held: add d (if any) and the inbox, append what is ready. */
static void commit_locked(deposit *d)
{
    if (d)
        insert_deposit(d);
    drain_inbox();
}

bool persist_flush(void)
{
    if (!active)
        return true;
    deposit *d;
    uint64_t t = take_dirty(&d);
    pthread_mutex_lock(&commit_mu);
    commit_locked(d);
    while (durable < t) {
        lead_syncs();
        if (durable < t)
            pthread_cond_wait(&commit_cv, &commit_mu);
    }
    bool ok = !failed;
    pthread_mutex_unlock(&commit_mu);
    return ok;
}

/* The syncer: leads the group commit for calls answered on a transport
 * thread, which must not block in fdatasync nor wait for commit_mu.  Kicked
 * through a semaphore, so a kick is never lost even when the kicker could
 * not take commit_mu. */
static sem_t syncer_sem;
static pthread_t syncer_th;
static bool syncer_started, syncer_stop;
static atomic_bool syncer_running;

static void syncer_kick(void)
{
    sem_post(&syncer_sem);
}

static void *syncer_main(void *arg)
{
    (void)arg;
    for (;;) {
        while (sem_wait(&syncer_sem) != 0)
            ;               /* EINTR */
        pthread_mutex_lock(&commit_mu);
        bool stop = syncer_stop;
        if (!stop)
            lead_syncs();   /* takes the inbox, syncs unless someone else is */
        pthread_mutex_unlock(&commit_mu);
        if (stop)
            return NULL;
    }
}

void persist_commit(bool may_block, void (*then)(void *arg, bool durable), void *arg)
{
    if (!active) {
        then(arg, true);
        return;
    }
    if (!atomic_load(&syncer_running))
        may_block = true;       /* nobody else could do it */
    deposit *d;
    uint64_t t = take_dirty(&d);
    pwaiter *w = malloc(sizeof(*w));
    if (!w)
        abort();
    *w = (pwaiter){ .ticket = t, .own = d != NULL, .fn = then, .arg = arg };
    if (may_block) {
        pthread_mutex_lock(&commit_mu);
        commit_locked(d);
        if (durable >= t) {
            bool ok = !w->own || !failed;
            pthread_mutex_unlock(&commit_mu);
            free(w);
            then(arg, ok);
            return;
        }
        w->next = waiters;
        waiters = w;
        lead_syncs();
        pthread_mutex_unlock(&commit_mu);
        return;
    }
    /* A thread that must not block: it never writes the journal and never
     * waits for commit_mu (a checkpoint holds it for a second).  With
     * nothing of its own to write, it may answer at once when what came
     * before is durable; anything else goes to the syncer. */
    if (!d && pthread_mutex_trylock(&commit_mu) == 0) {
        if (durable >= t) {
            pthread_mutex_unlock(&commit_mu);
            free(w);
            then(arg, true);
            return;
        }
        w->next = waiters;
        waiters = w;
        bool kick = !syncing;   /* a leader syncing now loops on to this ticket */
        pthread_mutex_unlock(&commit_mu);
        if (kick)
            syncer_kick();
        return;
    }
    pthread_mutex_lock(&inbox_mu);
    if (d) {
        d->next = inbox_deps;
        inbox_deps = d;
    }
    w->next = inbox_waiters;
    inbox_waiters = w;
    pthread_mutex_unlock(&inbox_mu);
    syncer_kick();
}

void persist_tick(void)
{
    if (!active)
        return;
    persist_flush();            /* changes made outside calls (backend events, ticks) */
    pthread_mutex_lock(&commit_mu);
    if (joff > JOURNAL_HDR && !syncing && committed == issued && time(NULL) - last_commit >= 1 &&
        checkpoint())
        run_durable_waiters();
    pthread_mutex_unlock(&commit_mu);
}

/* ---- loading ---- */

static xv *read_value(xmlNode *n, const xtype *t)
{
    if (t->kind == XT_SET || t->kind == XT_MAP) {
        xv *r = t->kind == XT_SET ? xv_array() : xv_struct();
        for (xmlNode *c = n->children; c; c = c->next) {
            if (c->type != XML_ELEMENT_NODE)
                continue;
            if (t->kind == XT_SET && xmlStrcmp(c->name, BAD_CAST "item") == 0) {
                xv_array_add(r, read_value(c, t->elem));
            } else if (t->kind == XT_MAP && xmlStrcmp(c->name, BAD_CAST "entry") == 0) {
                xmlChar *k = xmlGetProp(c, BAD_CAST "key");
                if (!k) {
                    xv_free(r);
                    return NULL;
                }
                xv *ev = read_value(c, t->elem);
                if (!ev) {
                    xmlFree(k);
                    xv_free(r);
                    return NULL;
                }
                xv_struct_set(r, (const char *)k, ev);
                xmlFree(k);
            } else {
                xv_free(r);
                return NULL;
            }
        }
        return r;
    }
    xmlChar *s = xmlNodeGetContent(n);
    xv *r = xv_str(s ? (const char *)s : "");
    xmlFree(s);
    return r;
}

typedef struct objlist {
    xobj **o;
    size_t n, cap;
} objlist;

static void objlist_add(objlist *l, xobj *o)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->o = realloc(l->o, l->cap * sizeof(xobj *));
        if (!l->o)
            abort();
    }
    l->o[l->n++] = o;
}

/* Parse one file into objects (appended to own / devs); false: corrupt. */
static bool parse_file(const char *path, const char *buf, size_t len, int want_cls,
                       objlist *own, objlist *devs, char **why)
{
    xmlDoc *doc = xmlReadMemory(buf, (int)len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                    XML_PARSE_NOCDATA);
    size_t own0 = own->n, dev0 = devs->n;
    bool ok = false;
    *why = NULL;
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root || xmlStrcmp(root->name, BAD_CAST "xend-record") != 0) {
        *why = strdup(doc ? "not an xend record" : "not well-formed XML");
        goto out;
    }
    int nobj = 0;
    for (xmlNode *on = root->children; on; on = on->next) {
        if (on->type != XML_ELEMENT_NODE)
            continue;
        xmlChar *cn = xmlGetProp(on, BAD_CAST "class"), *un = xmlGetProp(on, BAD_CAST "uuid");
        const xclass_desc *cd = cn ? xclass_by_name((const char *)cn) : NULL;
        bool good = xmlStrcmp(on->name, BAD_CAST "object") == 0 && cd && pmode[cd->id] && un &&
                    xuuid_valid((const char *)un) &&
                    (nobj == 0 ? cd->id == want_cls : (want_cls == XC_VM && pmode[cd->id] == P_INVM));
        if (!good) {
            if (asprintf(why, "unexpected object %s/%s", cn ? (const char *)cn : "?",
                         un ? (const char *)un : "?") < 0)
                *why = NULL;
            xmlFree(cn);
            xmlFree(un);
            goto out;
        }
        xobj *o = xobj_new(cd->id, (const char *)un);
        xmlFree(cn);
        xmlFree(un);
        (nobj == 0 ? objlist_add(own, o) : objlist_add(devs, o));
        nobj++;
        for (xmlNode *fn = on->children; fn; fn = fn->next) {
            if (fn->type != XML_ELEMENT_NODE)
                continue;
            xmlChar *name = xmlGetProp(fn, BAD_CAST "name");
            int f = -1;
            for (int i = 0; name && i < cd->nfields; i++)
                if (strcmp(cd->fields[i].name, (const char *)name) == 0)
                    f = i;
            if (f < 0 || skip_field[cd->id][f]) {   /* a field this version does not keep */
                xmlFree(name);
                continue;
            }
            xv *v = read_value(fn, cd->fields[f].type);
            if (!v || !xtype_coerce(cd->fields[f].type, &v, (const char *)name, NULL)) {
                if (asprintf(why, "bad value of %s.%s", cd->name, (const char *)name) < 0)
                    *why = NULL;
                xv_free(v);
                xmlFree(name);
                goto out;
            }
            xmlFree(name);
            xv_free(o->f[f]);
            o->f[f] = v;
        }
    }
    if (nobj == 0) {
        *why = strdup("no object");
        goto out;
    }
    ok = true;
out:
    if (!ok) {
        for (size_t i = own0; i < own->n; i++)
            xobj_free(own->o[i]);
        for (size_t i = dev0; i < devs->n; i++)
            xobj_free(devs->o[i]);
        own->n = own0;
        devs->n = dev0;
        if (!*why)
            *why = strdup("unreadable");
    }
    xmlFreeDoc(doc);
    (void)path;
    return ok;
}

bool persist_vm_parse(const char *buf, size_t len, xobj ***objs_r, size_t *n_r, char **why_r)
{
    objlist own = { 0 }, devs = { 0 };
    if (!parse_file("", buf, len, XC_VM, &own, &devs, why_r))
        return false;
    for (size_t i = 0; i < devs.n; i++)
        objlist_add(&own, devs.o[i]);
    free(devs.o);
    *objs_r = own.o;
    *n_r = own.n;
    return true;
}

static void move_aside(const char *dir, const char *name, const char *why)
{
    char *from, *to;
    if (asprintf(&from, "%s/%s/%s", state_dir, dir, name) < 0 ||
        asprintf(&to, "%s/corrupt/%s-%s.%ld", state_dir, dir, name, (long)time(NULL)) < 0)
        abort();
    if (rename(from, to) != 0)
        xlog(XLOG_ERROR, "persist: cannot move %s aside: %s", from, strerror(errno));
    else
        xlog(XLOG_ERROR, "persist: %s cannot be read (%s); moved to %s", from, why, to);
    stats.corrupt++;
    free(from);
    free(to);
}

static bool read_whole(int dfd, const char *name, char **buf_r, size_t *len_r)
{
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size > (64 << 20)) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        abort();
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *buf_r = buf;
    *len_r = got;
    return true;
}

/* One file to load, and what became of it. */
typedef struct lentry {
    char name[48];              /* "<uuid>.xml" */
    char *why;                  /* not NULL: move it aside, for this reason */
} lentry;

/* Files are read and parsed by several threads, each into its own lists;
 * libxml2 parses separate documents in parallel safely. */
typedef struct lslice {
    int cls, dfd;
    lentry *e;
    size_t from, to;
    objlist own, devs;
} lslice;

static void *load_slice(void *arg)
{
    lslice *sl = arg;
    for (size_t i = sl->from; i < sl->to; i++) {
        lentry *e = &sl->e[i];
        char *buf = NULL;
        size_t len = 0, own0 = sl->own.n;
        if (!read_whole(sl->dfd, e->name, &buf, &len) ||
            !parse_file(e->name, buf, len, sl->cls, &sl->own, &sl->devs, &e->why)) {
            if (!e->why)
                e->why = strdup("unreadable");
        } else if (strncmp(sl->own.o[own0]->ref, e->name, 36) != 0) {
            for (size_t j = own0; j < sl->own.n; j++)
                xobj_free(sl->own.o[j]);
            sl->own.n = own0;
            e->why = strdup("its object's uuid differs from its name");
        }
        free(buf);
    }
    return NULL;
}

static void objlist_take(objlist *to, objlist *from)
{
    for (size_t i = 0; i < from->n; i++)
        objlist_add(to, from->o[i]);
    free(from->o);
    memset(from, 0, sizeof(*from));
}

#define LOAD_THREADS_MAX 4

static void load_dir(int cls, objlist *own, objlist *devs)
{
    const char *dname = xclasses[cls].name;
    char *path;
    if (asprintf(&path, "%s/%s", state_dir, dname) < 0)
        abort();
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        free(path);
        return;
    }
    lentry *e = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t nl = strlen(de->d_name);
        if (de->d_name[0] == '.')
            continue;
        if (nl > 4 && strcmp(de->d_name + nl - 4, ".tmp") == 0) {
            unlinkat(dfd, de->d_name, 0);      /* an interrupted write */
            continue;
        }
        stats.files++;
        char uuid[XREF_LEN];
        bool named = nl == 36 + 4 && strcmp(de->d_name + 36, ".xml") == 0;
        if (named) {
            memcpy(uuid, de->d_name, 36);
            uuid[36] = '\0';
            named = xuuid_valid(uuid);
        }
        if (!named) {
            move_aside(dname, de->d_name, "not named <uuid>.xml");
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            e = realloc(e, cap * sizeof(*e));
            if (!e)
                abort();
        }
        memcpy(e[n].name, de->d_name, nl + 1);
        e[n].why = NULL;
        n++;
    }
    xmlInitParser();            /* once, before threads parse */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = n < 256 || cpus < 2 ? 1 : (size_t)(cpus < LOAD_THREADS_MAX ? cpus : LOAD_THREADS_MAX);
    lslice sl[LOAD_THREADS_MAX];
    pthread_t th[LOAD_THREADS_MAX];
    bool started[LOAD_THREADS_MAX] = { false };
    for (size_t t = 0; t < nt; t++) {
        sl[t] = (lslice){ .cls = cls, .dfd = dfd, .e = e, .from = n * t / nt, .to = n * (t + 1) / nt };
        started[t] = t > 0 && pthread_create(&th[t], NULL, load_slice, &sl[t]) == 0;
    }
    for (size_t t = 0; t < nt; t++)     /* slice 0, and any that got no thread, here */
        if (!started[t])
            load_slice(&sl[t]);
    for (size_t t = 0; t < nt; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        objlist_take(own, &sl[t].own);
        objlist_take(devs, &sl[t].devs);
    }
    for (size_t i = 0; i < n; i++)
        if (e[i].why) {
            move_aside(dname, e[i].name, e[i].why);
            free(e[i].why);
        }
    free(e);
    closedir(d);
    free(path);
}

static void insert_all(objlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        xobj *o = l->o[i];
        if (store_find(o->cls, o->ref)) {
            xlog(XLOG_WARNING, "persist: %s %s is stored twice; keeping the first",
                 xclasses[o->cls].name, o->ref);
            xobj_free(o);
            continue;
        }
        store_insert(o);
        stats.loaded++;
    }
    free(l->o);
    memset(l, 0, sizeof(*l));
}

static bool mkdir_p(const char *path, char **err_r)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return true;
    if (asprintf(err_r, "cannot create %s: %s", path, strerror(errno)) < 0)
        *err_r = NULL;
    return false;
}

/* At a clean exit the files become the only copy: checkpoint. */
static void persist_atexit(void)
{
    if (!active)
        return;
    if (syncer_started) {
        syncer_started = false;
        pthread_mutex_lock(&commit_mu);
        syncer_stop = true;
        atomic_store(&syncer_running, false);   /* from now on whoever commits leads */
        pthread_mutex_unlock(&commit_mu);
        syncer_kick();
        pthread_join(syncer_th, NULL);
    }
    persist_flush();
    pthread_mutex_lock(&commit_mu);
    if (!syncing && joff > JOURNAL_HDR && checkpoint())
        run_durable_waiters();
    pthread_mutex_unlock(&commit_mu);
}

bool persist_setup(const daemon_options *opts, char **err_r)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    classes_init();
    const char *cb = getenv("XEND_JOURNAL_CHECKPOINT_BYTES");
    if (cb && strtoull(cb, NULL, 10) > 0 && strtoull(cb, NULL, 10) < JOURNAL_SIZE)
        ckpt_at = strtoull(cb, NULL, 10);
    free(state_dir);
    state_dir = strdup(opts->state_dir);
    if (!state_dir)
        abort();
    if (!mkdir_p(state_dir, err_r))
        return false;
    state_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (state_fd < 0) {
        if (asprintf(err_r, "cannot open %s: %s", state_dir, strerror(errno)) < 0)
            *err_r = NULL;
        return false;
    }
    const char *subdirs[] = { "corrupt", "sr", "console-log" };
    for (int c = 0; c < XC__COUNT; c++)
        if (pmode[c]) {
            char *p;
            if (asprintf(&p, "%s/%s", state_dir, xclasses[c].name) < 0)
                abort();
            bool ok = mkdir_p(p, err_r);
            free(p);
            if (!ok)
                return false;
        }
    for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        char *p;
        if (asprintf(&p, "%s/%s", state_dir, subdirs[i]) < 0)
            abort();
        bool ok = mkdir_p(p, err_r);
        free(p);
        if (!ok)
            return false;
    }

    /* the journal: replay what the last run acknowledged, then start afresh */
    char *jpath;
    if (asprintf(&jpath, "%s/journal", state_dir) < 0)
        abort();
    jfd = open(jpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (jfd < 0) {
        if (asprintf(err_r, "cannot open %s: %s", jpath, strerror(errno)) < 0)
            *err_r = NULL;
        free(jpath);
        return false;
    }
    free(jpath);
    /* the files get what the last run acknowledged since its last
     * checkpoint; the journal is reset below only once that is durable */
    stats.replayed = journal_replay();
    if (stats.replayed && !write_pending()) {
        if (asprintf(err_r, "cannot apply the journal to the files in %s: %s", state_dir,
                     strerror(errno)) < 0)
            *err_r = NULL;
        return false;
    }
    pmap_clear(&pending);
    struct stat st;
    jcap = fstat(jfd, &st) == 0 && (uint64_t)st.st_size > JOURNAL_SIZE ? (uint64_t)st.st_size
                                                                        : JOURNAL_SIZE;
    int e = journal_extend(jcap);
    if (e != 0) {
        if (asprintf(err_r, "cannot allocate the journal: %s", strerror(e)) < 0)
            *err_r = NULL;
        return false;
    }
    if (!journal_header(jgen + 1)) {
        if (asprintf(err_r, "cannot sync %s: %s", state_dir, strerror(errno)) < 0)
            *err_r = NULL;
        return false;
    }

    /* the records */
    objlist own = { 0 }, devs = { 0 };
    store_wrlock();
    for (size_t i = 0; i < N_OWN; i++) {
        load_dir(own_classes[i], &own, &devs);
        insert_all(&own);
    }
    for (size_t i = 0; i < N_DEV; i++)         /* devices kept in files of their own */
        load_dir(vm_devices[i].cls, &own, &devs);
    insert_all(&own);
    insert_all(&devs);
    store_unlock();

    store_add_observer(observe, NULL);
    active = true;
    if (!syncer_started && sem_init(&syncer_sem, 0, 0) == 0 &&
        pthread_create(&syncer_th, NULL, syncer_main, NULL) == 0) {
        syncer_started = true;  /* else transport threads lead the syncs themselves */
        atomic_store(&syncer_running, true);
    }
    atexit(persist_atexit);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    xlog(XLOG_INFO, "persist: %zu objects from %zu files in %.0f ms (%zu journal records replayed, "
                    "%zu files moved aside)",
         stats.loaded, stats.files,
         (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
         stats.replayed, stats.corrupt);
    return true;
}
