/* persist_commit: from the store's changes to durable journal records.
 *
 * A store observer (under the store write lock) notes the file the changed
 * object lives in ("VM/<uuid>" for a VM and its devices, "<class>/<uuid>"
 * for the others) in the dirty set.  persist_commit() takes the dirty set:
 * each file is serialized under the shared store lock and given a ticket;
 * outside the lock, commits run strictly in ticket order (so the later
 * content of a file always lands last): the records are appended to the
 * journal (one write), then one fdatasync of the journal, shared by every
 * committer waiting at that moment (group commit), makes them durable
 * before the continuations run.  Threads that must not block never write
 * nor sync: they leave their records in the inbox for the syncer thread.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/persist_int.h"
#include "util/log.h"

XLOG_DOMAIN("persist");

bool persist_active;

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
static time_t last_commit;
static time_t ckpt_failed;              /* when a checkpoint last failed (retried after 1 s) */

/* ---- the store observer ---- */

static void observe(void *arg, xstore_op op, const xobj *o, int field)
{
    (void)arg;
    int mode = persist_mode[o->cls];
    if (!mode)
        return;
    if (op == XSTORE_MOD && field >= 0 && persist_skip[o->cls][field])
        return;
    char *key;
    const char *vm = mode == P_INVM ? xobj_str(o, persist_vm_field[o->cls]) : "";
    const xobj *owner = o->cls == XCL_VM ? o : (mode == P_INVM && *vm) ? store_find(XCL_VM, vm) : NULL;
    /* dom0 (and its devices) never has a file: nothing to write or remove */
    if (owner && persist_is_dom0(owner))
        return;
    if (mode == P_INVM && owner) {
        if (asprintf(&key, "VM/%s", vm) < 0)
            abort();
    } else if (asprintf(&key, "%s/%s", xclasses[o->cls].name, o->ref) < 0) {
        abort();
    }
    pthread_mutex_lock(&dirty_mu);
    persist_map_put(&dirty, key, NULL, 0);
    pthread_mutex_unlock(&dirty_mu);
}

/* ---- commit ---- */

/* A checkpoint (commit_mu held, nobody syncing): every committed change is
 * durable once the files hold it. */
static bool checkpoint(void)
{
    if (persist_journal_checkpoint()) {
        durable = committed;
        if (failed)
            xlogd(XLOG_INFO, "checkpoint done, every change is on disk again");
        failed = false;
        return true;
    }
    ckpt_failed = time(NULL);
    return false;
}

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
        if (!persist_journal_append(d->items, d->n))
            failed = true;
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
        if ((persist_journal_full() || failed) && time(NULL) != ckpt_failed) {
            checkpoint();       /* full or failing: durable = committed once the files are */
        } else {
            pthread_mutex_unlock(&commit_mu);
            int e = persist_journal_sync();
            pthread_mutex_lock(&commit_mu);
            if (e != 0) {
                xlogd(XLOG_ERROR, "fdatasync of the journal: %s", strerror(e));
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

/* Take the dirty set and persist_serialize it into a deposit (*d_r; NULL with
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
            persist_serialize(&items[n]);
            n++;
        }
    store_unlock();
    persist_map_clear(&taken);

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
    if (!persist_active)
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
 * thread, which must not block in fdatasync nor wait for commit_mu.  It is a
 * job on the daemon's worker pool (daemon_options.queue_blocking), queued
 * once at a time: the flag is cleared before the job takes the inbox, so a
 * kick is never lost.  Without a pool, a thread of its own, kicked through
 * a semaphore. */
static void (*queue_blocking)(void (*fn)(void *arg), void *arg);
static atomic_bool sync_job_queued;
static sem_t syncer_sem;
static pthread_t syncer_th;
static bool syncer_started, syncer_stop;
static atomic_bool syncer_running;

static void sync_job(void *arg)
{
    (void)arg;
    atomic_store(&sync_job_queued, false);
    pthread_mutex_lock(&commit_mu);
    lead_syncs();           /* takes the inbox, syncs unless someone else is */
    pthread_mutex_unlock(&commit_mu);
}

static void syncer_kick(void)
{
    if (!queue_blocking)
        sem_post(&syncer_sem);
    else if (!atomic_exchange(&sync_job_queued, true))
        queue_blocking(sync_job, NULL);
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

/* commit_mu held.  If w's ticket is durable: unlock, answer w (ok) and
 * free it, true.  Else w waits (false, the lock still held). */
static bool answer_or_wait(pwaiter *w, bool ok)
{
    if (durable >= w->ticket) {
        pthread_mutex_unlock(&commit_mu);
        void (*fn)(void *arg, bool durable) = w->fn;
        void *arg = w->arg;
        free(w);
        fn(arg, ok);
        return true;
    }
    w->next = waiters;
    waiters = w;
    return false;
}

void persist_commit(bool may_block, void (*then)(void *arg, bool durable), void *arg)
{
    if (!persist_active) {
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
        if (answer_or_wait(w, !w->own || !failed))
            return;
        lead_syncs();
        pthread_mutex_unlock(&commit_mu);
        return;
    }
    /* A thread that must not block: it never writes the journal and never
     * waits for commit_mu (a checkpoint holds it for a second).  With
     * nothing of its own to write, it may answer at once when what came
     * before is durable; anything else goes to the syncer. */
    if (!d && pthread_mutex_trylock(&commit_mu) == 0) {
        if (answer_or_wait(w, true))
            return;
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
    if (!persist_active)
        return;
    persist_flush();            /* changes made outside calls (backend events, ticks) */
    pthread_mutex_lock(&commit_mu);
    if (!persist_journal_empty() && !syncing && committed == issued && time(NULL) - last_commit >= 1 &&
        checkpoint())
        run_durable_waiters();
    pthread_mutex_unlock(&commit_mu);
}

/* At a clean exit the files become the only copy: checkpoint. */
static void commit_atexit(void)
{
    if (!persist_active)
        return;
    atomic_store(&syncer_running, false);       /* from now on whoever commits leads */
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
    if (!syncing && !persist_journal_empty() && checkpoint())
        run_durable_waiters();
    pthread_mutex_unlock(&commit_mu);
}

void persist_commit_start(void (*queue)(void (*fn)(void *arg), void *arg))
{
    store_add_observer(observe, NULL);
    persist_active = true;
    queue_blocking = queue;
    if (queue) {
        atomic_store(&syncer_running, true);
    } else if (!syncer_started && sem_init(&syncer_sem, 0, 0) == 0 &&
               pthread_create(&syncer_th, NULL, syncer_main, NULL) == 0) {
        syncer_started = true;  /* else whoever commits leads the syncs */
        atomic_store(&syncer_running, true);
    }
    atexit(commit_atexit);
}
