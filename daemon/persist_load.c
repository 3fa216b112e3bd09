/* persist_load: the state directory at start-up: the journal's records
 * applied, every record file read (in parallel) and put in the store, a
 * file that cannot be parsed moved to <state>/corrupt/ (see
 * docs/persistence.md).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "daemon/daemon.h"
#include "daemon/persist_int.h"
#include "util/log.h"

XLOG_DOMAIN("persist");

char *persist_dir;
int persist_dir_fd = -1;
static persist_stats persist_stats_now;

const char *persist_state_dir(void) { return persist_dir ? persist_dir : ""; }
void persist_get_stats(persist_stats *s) { *s = persist_stats_now; }

static void move_aside(const char *dir, const char *name, const char *why)
{
    char *from, *to;
    if (asprintf(&from, "%s/%s/%s", persist_dir, dir, name) < 0 ||
        asprintf(&to, "%s/corrupt/%s-%s.%ld", persist_dir, dir, name, (long)time(NULL)) < 0)
        abort();
    if (rename(from, to) != 0)
        xlogd(XLOG_ERROR, "cannot move %s aside: %s", from, strerror(errno));
    else
        xlogd(XLOG_ERROR, "%s cannot be read (%s); moved to %s", from, why, to);
    persist_stats_now.corrupt++;
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
            !persist_parse_file(e->name, buf, len, sl->cls, &sl->own, &sl->devs, &e->why)) {
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
        persist_objlist_add(to, from->o[i]);
    free(from->o);
    memset(from, 0, sizeof(*from));
}

#define LOAD_THREADS_MAX 4

static void load_dir(int cls, objlist *own, objlist *devs)
{
    const char *dname = xclasses[cls].name;
    char *path;
    if (asprintf(&path, "%s/%s", persist_dir, dname) < 0)
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
        persist_stats_now.files++;
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
            xlogd(XLOG_WARNING, "%s %s is stored twice; keeping the first",
                 xclasses[o->cls].name, o->ref);
            xobj_free(o);
            continue;
        }
        store_insert(o);
        persist_stats_now.loaded++;
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

bool persist_setup(const daemon_options *opts, char **err_r)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    persist_classes_init();
    free(persist_dir);
    persist_dir = strdup(opts->state_dir);
    if (!persist_dir)
        abort();
    if (!mkdir_p(persist_dir, err_r))
        return false;
    persist_dir_fd = open(persist_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (persist_dir_fd < 0) {
        if (asprintf(err_r, "cannot open %s: %s", persist_dir, strerror(errno)) < 0)
            *err_r = NULL;
        return false;
    }
    const char *subdirs[] = { "corrupt", "sr", "console-log" };
    for (int c = 0; c < XCL__COUNT; c++)
        if (persist_mode[c]) {
            char *p;
            if (asprintf(&p, "%s/%s", persist_dir, xclasses[c].name) < 0)
                abort();
            bool ok = mkdir_p(p, err_r);
            free(p);
            if (!ok)
                return false;
        }
    for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        char *p;
        if (asprintf(&p, "%s/%s", persist_dir, subdirs[i]) < 0)
            abort();
        bool ok = mkdir_p(p, err_r);
        free(p);
        if (!ok)
            return false;
    }

    /* the files get what the last run acknowledged since its last
     * checkpoint; the journal starts afresh only once that is durable */
    if (!persist_journal_open(&persist_stats_now.replayed, err_r))
        return false;

    /* the records */
    objlist own = { 0 }, devs = { 0 };
    store_wrlock();
    for (size_t i = 0; i < persist_n_own; i++) {
        load_dir(persist_own_classes[i], &own, &devs);
        insert_all(&own);
    }
    for (size_t i = 0; i < persist_n_dev; i++)         /* devices kept in files of their own */
        load_dir(persist_vm_devices[i].cls, &own, &devs);
    insert_all(&own);
    insert_all(&devs);
    store_unlock();

    persist_commit_start(opts->queue_blocking);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    xlogd(XLOG_INFO, "%zu objects from %zu files in %.0f ms (%zu journal records replayed, "
                    "%zu files moved aside)",
         persist_stats_now.loaded, persist_stats_now.files,
         (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
         persist_stats_now.replayed, persist_stats_now.corrupt);
    return true;
}

