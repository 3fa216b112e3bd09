/* Persisted VM.create + VM.destroy cycles through libxen (xend's C client
 * library), for bench/persist/bench_persist.py: N threads, each with its own
 * transport (one kept-alive connection) and session, create a halted VM and
 * destroy it again until the time is up.
 *
 *   libxen_cycles unix:///path/to/xen-api.sock SECONDS THREADS
 *
 * Prints "<cycles> <seconds>" (all threads together, wall time from the
 * first thread's start to the last one's end); exits non-zero on a failed
 * call (the error is printed). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xen/api/xen_all.h>

static const char *url;
static double seconds;
static int failed;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The same record as bench_persist.py's vm_rec(). */
static xen_vm_record *vm_rec(const char *name)
{
    xen_vm_record *r = xen_vm_record_alloc();
    r->name_label = strdup(name);
    r->name_description = strdup("");
    r->memory_static_max = 256 << 20;
    r->memory_dynamic_max = 256 << 20;
    r->vcpus_max = 1;
    r->vcpus_at_startup = 1;
    r->pv_kernel = strdup("/boot/vmlinuz");
    r->other_config = xen_string_string_map_alloc(0);
    return r;
}

static void report(const char *what, xen_session *s)
{
    fprintf(stderr, "libxen_cycles: %s failed:", what);
    for (int i = 0; i < s->error_description_count; i++)
        fprintf(stderr, " %s", s->error_description[i]);
    fprintf(stderr, "\n");
    __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
}

typedef struct worker {
    pthread_t th;
    int id;
    long cycles;
} worker;

static void *run(void *arg)
{
    worker *w = arg;
    xen_transport *t = xen_transport_new(url);
    if (!t) {
        fprintf(stderr, "libxen_cycles: bad URL %s\n", url);
        __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    xen_session *s = xen_session_login_with_password(xen_transport_call, t, "root", "");
    if (!s->ok) {
        report("session.login_with_password", s);
    } else {
        double stop = now() + seconds;
        char name[64];
        while (now() < stop && !__atomic_load_n(&failed, __ATOMIC_RELAXED)) {
            snprintf(name, sizeof(name), "bench-c%d-%ld", w->id, w->cycles);
            xen_vm_record *r = vm_rec(name);
            xen_vm vm = NULL;
            bool ok = xen_vm_create(s, &vm, r);
            xen_vm_record_free(r);
            if (!ok) {
                report("VM.create", s);
                break;
            }
            ok = xen_vm_destroy(s, vm);
            xen_vm_free(vm);
            if (!ok) {
                report("VM.destroy", s);
                break;
            }
            w->cycles++;
        }
    }
    xen_session_logout(s);
    xen_transport_free(t);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s URL SECONDS THREADS\n", argv[0]);
        return 2;
    }
    url = argv[1];
    seconds = atof(argv[2]);
    int n = atoi(argv[3]);
    if (n < 1 || n > 256 || seconds <= 0) {
        fprintf(stderr, "libxen_cycles: bad SECONDS or THREADS\n");
        return 2;
    }
    xen_init();
    worker *ws = calloc((size_t)n, sizeof(worker));
    if (!ws)
        return 1;
    double t0 = now();
    for (int i = 0; i < n; i++) {
        ws[i].id = i;
        if (pthread_create(&ws[i].th, NULL, run, &ws[i]) != 0) {
            fprintf(stderr, "libxen_cycles: pthread_create failed\n");
            return 1;
        }
    }
    long total = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(ws[i].th, NULL);
        total += ws[i].cycles;
    }
    double dt = now() - t0;
    free(ws);
    xen_fini();
    printf("%ld %.6f\n", total, dt);
    return failed ? 1 : 0;
}
