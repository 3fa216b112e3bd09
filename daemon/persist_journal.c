/* persist_journal: the journal (records appended, synced, replayed) and
 * the XML files it is checkpointed into (see docs/persistence.md for the
 * format and the crash-safety argument).  Called with commit_mu held
 * (persist_commit.c), except persist_journal_open at start-up.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/persist_int.h"
#include "util/io.h"
#include "util/log.h"
#include "util/strutil.h"

XLOG_DOMAIN("persist");

#define JOURNAL_HDR 4096
#define JOURNAL_SIZE (16u << 20)
/* Records past this offset trigger a checkpoint before the next commit
 * (JOURNAL_SIZE; the tests lower it with XEND_JOURNAL_CHECKPOINT_BYTES to
 * run checkpoints under load). */
static uint64_t ckpt_at = JOURNAL_SIZE;
#define JOURNAL_MAGIC "xend-journal 1 gen="

static int jfd = -1;
static uint64_t jgen;
static uint64_t joff = JOURNAL_HDR;
static uint64_t jcap;
static pmap pending;                    /* files to write at the next checkpoint */

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

pent *persist_map_find(pmap *m, const char *key)
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
void persist_map_put(pmap *m, char *key, char *body, size_t len)
{
    pent *e = persist_map_find(m, key);
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

void persist_map_clear(pmap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->e[i].key);
        free(m->e[i].body);
    }
    free(m->e);
    memset(m, 0, sizeof(*m));
}

/* ---- files ---- */

static char *key_path(const char *key, const char *suffix)
{
    char *p;
    if (asprintf(&p, "%s/%s.xml%s", persist_dir, key, suffix) < 0)
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
            xlogd(XLOG_ERROR, "cannot remove %s: %s", path, strerror(errno));
            ok = false;
        }
        free(path);
        return ok;
    }
    char *tmp = key_path(key, ".tmp");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !xwrite_all(fd, body, len) || (sync && fsync(fd) != 0)) {
        xlogd(XLOG_ERROR, "cannot write %s: %s", tmp, strerror(errno));
        ok = false;
    }
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (ok && rename(tmp, path) != 0) {
        xlogd(XLOG_ERROR, "cannot rename %s: %s", tmp, strerror(errno));
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
        xlogd(XLOG_ERROR, "cannot write the journal header: %s", strerror(errno));
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
static bool journal_write(const pitem *items, size_t n)
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
            xlogd(XLOG_ERROR, "cannot grow the journal: %s", strerror(e));
            if (ftruncate(jfd, (off_t)jcap) != 0)   /* give the space back */
                xlogd(XLOG_ERROR, "cannot truncate the journal: %s", strerror(errno));
            free(rec);
            return false;
        }
        jcap = ncap;
    }
    bool ok = pwrite(jfd, rec, need, (off_t)joff) == (ssize_t)need;
    free(rec);
    if (!ok) {
        xlogd(XLOG_ERROR, "cannot append to the journal: %s", strerror(errno));
        return false;
    }
    joff += need;
    return true;
}

bool persist_journal_append(pitem *items, size_t n)
{
    bool ok = n == 0 || journal_write(items, n);
    for (size_t i = 0; i < n; i++) {
        persist_map_put(&pending, items[i].key, items[i].body, items[i].len);
        items[i].key = items[i].body = NULL;
    }
    return ok;
}

int persist_journal_sync(void)
{
    return fdatasync(jfd) == 0 ? 0 : errno;
}

bool persist_journal_full(void)
{
    return joff > ckpt_at;
}

bool persist_journal_empty(void)
{
    return joff <= JOURNAL_HDR;
}

/* Up to this many pending files are made durable one by one (fsync of
 * each file and of their directories); more with one syncfs, which also
 * flushes whatever else is dirty on that file system. */
#define CKPT_FSYNC_MAX 64

static bool fsync_dir(const char *name)
{
    int dfd = openat(persist_dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok = dfd >= 0 && fsync(dfd) == 0;
    if (!ok)
        xlogd(XLOG_ERROR, "cannot sync %s/%s: %s", persist_dir, name, strerror(errno));
    if (dfd >= 0)
        close(dfd);
    return ok;
}

/* Write every pending file and make the files, renames and removals
 * durable; false if that failed (the entries stay pending). */
static bool write_pending(void)
{
    bool each = pending.n <= CKPT_FSYNC_MAX, ok = true;
    bool dirs[XCL__COUNT] = { false };
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
        if (syncfs(persist_dir_fd) != 0) {
            xlogd(XLOG_ERROR, "syncfs: %s", strerror(errno));
            return false;
        }
        return true;
    }
    for (int c = 0; c < XCL__COUNT; c++)
        if (dirs[c] && !fsync_dir(xclasses[c].name))
            ok = false;
    return ok;
}

/* Checkpoint: write the pending files, make them durable, and only then
 * start a new journal generation (the old records die once the files hold
 * what they said).  On failure the journal stays as it is and the pending
 * files are written again by the next checkpoint. */
bool persist_journal_checkpoint(void)
{
    /* every committed change is in the pending map, now durable in its file */
    if (!write_pending() || !journal_header(jgen + 1))
        return false;
    persist_map_clear(&pending);
    if (jcap > JOURNAL_SIZE && ftruncate(jfd, JOURNAL_SIZE) == 0)
        jcap = JOURNAL_SIZE;    /* a burst grew it: give the space back */
    return true;
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
        persist_map_put(&pending, k, b, blen);
        n++;
        off = body + blen + 1;
    }
    free(buf);
    return n;
}

/* Open the journal, apply what the last run acknowledged since its last
 * checkpoint to the files (*replayed_r records), and start afresh. */
bool persist_journal_open(size_t *replayed_r, char **err_r)
{
    const char *cb = getenv("XEND_JOURNAL_CHECKPOINT_BYTES");
    if (cb && strtoull(cb, NULL, 10) > 0 && strtoull(cb, NULL, 10) < JOURNAL_SIZE)
        ckpt_at = strtoull(cb, NULL, 10);
    char *jpath;
    if (asprintf(&jpath, "%s/journal", persist_dir) < 0)
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
    *replayed_r = journal_replay();
    if (*replayed_r && !write_pending()) {
        if (asprintf(err_r, "cannot apply the journal to the files in %s: %s", persist_dir,
                     strerror(errno)) < 0)
            *err_r = NULL;
        return false;
    }
    persist_map_clear(&pending);
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
        if (asprintf(err_r, "cannot sync %s: %s", persist_dir, strerror(errno)) < 0)
            *err_r = NULL;
        return false;
    }

    return true;
}
