/* event_codec: snapshots, an object's record in a compact, immutable,
 * shared encoding kept in the event log (see event_int.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>

#include "daemon/classes.h"
#include "daemon/daemon.h"
#include "daemon/event_int.h"
#include "daemon/session.h"
#include "daemon/store.h"
#include "daemon/task.h"
#include "util/asan.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/strutil.h"
#include "xapi_errors.h"
#include "xapi_handlers.h"
#include "xapi_model.h"

XLOG_DOMAIN("event");

/* ---- snapshots: records in a compact, immutable, shared encoding ---- */

/* Snapshots live in blocks of their own, filled in the order they are made
 * and handed back to the system when their last snapshot goes.  The log
 * keeps them for long (up to event-log-size changes) and they mostly go in
 * the order they came.  Made one by one with malloc, each landed wherever a
 * burst of requests had just freed memory, in every thread's arena, and kept
 * that page of the heap resident once the burst was over: malloc_trim only
 * returns whole free pages (bench/soak.sh: 0.7 MB of snapshots held several
 * MB of heap).  A block: 64 KiB mapped for snapshots only; a snapshot bigger
 * than a quarter of that gets a mapping of its own. */
#define SNAP_BLOCK ((size_t)64 * 1024)

/* Under AddressSanitizer a block's room is poisoned until a snapshot takes
 * it and again once that snapshot is freed, so a use after free of a
 * snapshot is caught as it would be in malloc's memory; a block is
 * unpoisoned whole before it is unmapped (the addresses get reused). */

typedef struct snap_block {
    uint32_t live;              /* atomic: its snapshots not freed, +1 while it is being filled */
    size_t size, used;
} snap_block;

#define SNAP_ALIGN(n) (((n) + 15) & ~(size_t)15)
#define SNAP_HDR SNAP_ALIGN(sizeof(snap_block))

/* The block being filled: ev_snap_encode's, under the store write lock (as
 * its scratch buffer). */
static snap_block *filling;

static snap_block *block_new(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        abort();
    snap_block *b = p;
    b->live = 1;
    b->size = size;
    b->used = SNAP_HDR;
    XEND_POISON((char *)b + SNAP_HDR, size - SNAP_HDR);
    return b;
}

static void block_release(snap_block *b)
{
    if (__atomic_sub_fetch(&b->live, 1, __ATOMIC_ACQ_REL) == 0) {
        XEND_UNPOISON(b, b->size);
        munmap(b, b->size);
    }
}

/* Room for a snapshot of len bytes (refs and blk set). */
static snap *snap_alloc(size_t len)
{
    size_t need = SNAP_ALIGN(sizeof(snap) + len);
    snap_block *b;
    if (need > SNAP_BLOCK / 4) {
        b = block_new(SNAP_HDR + need); /* its live 1 is this snapshot's */
    } else {
        if (!filling || filling->size - filling->used < need) {
            if (filling)
                block_release(filling); /* full: the filler lets go */
            filling = block_new(SNAP_BLOCK);
        }
        b = filling;
        __atomic_add_fetch(&b->live, 1, __ATOMIC_RELAXED);
    }
    snap *s = (snap *)((char *)b + b->used);
    b->used += need;
    XEND_UNPOISON(s, need);
    s->refs = 1;
    s->blk = b;
    return s;
}

snap *ev_snap_ref(snap *s)
{
    if (s)
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    return s;
}

void ev_snap_unref(snap *s)
{
    if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        snap_block *b = s->blk;
        XEND_POISON(s, SNAP_ALIGN(sizeof(snap) + s->len));
        block_release(b);
    }
}

static void put_u(xbuf *b, uint64_t v)
{
    char t[10];
    size_t n = 0;
    do {
        unsigned char c = v & 0x7f;
        v >>= 7;
        if (v)
            c |= 0x80;
        t[n++] = (char)c;
    } while (v);
    xbuf_add(b, t, n);
}

static void enc(xbuf *b, const xv *v)
{
    char k = (char)v->kind;
    xbuf_add(b, &k, 1);
    switch (v->kind) {
    case XV_STRING:
    case XV_DATETIME:
    case XV_BASE64:
        put_u(b, v->u.str.len);
        xbuf_add(b, v->u.str.s, v->u.str.len);
        break;
    case XV_INT:
        put_u(b, ((uint64_t)v->u.i << 1) ^ (uint64_t)(v->u.i >> 63));
        break;
    case XV_DOUBLE:
        xbuf_add(b, (const char *)&v->u.d, sizeof(double));
        break;
    case XV_BOOL:
        k = v->u.b ? 1 : 0;
        xbuf_add(b, &k, 1);
        break;
    case XV_ARRAY:
        put_u(b, v->u.arr.n);
        for (size_t i = 0; i < v->u.arr.n; i++)
            enc(b, v->u.arr.items[i]);
        break;
    case XV_STRUCT:
        put_u(b, v->u.st.n);
        for (size_t i = 0; i < v->u.st.n; i++) {
            size_t kl = strlen(v->u.st.keys[i]);
            put_u(b, kl);
            xbuf_add(b, v->u.st.keys[i], kl);
            enc(b, v->u.st.vals[i]);
        }
        break;
    case XV_NIL:
        break;
    }
}

typedef struct rd {
    const unsigned char *p, *end;
    bool bad;
} rd;

static uint64_t get_u(rd *r)
{
    uint64_t v = 0;
    for (unsigned sh = 0; r->p < r->end && sh < 64; sh += 7) {
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << sh;
        if (!(c & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static xv *dec(rd *r, int depth)
{
    if (r->bad || r->p >= r->end || depth > 64) {
        r->bad = true;
        return xv_str("");
    }
    int kind = *r->p++;
    switch (kind) {
    case XV_STRING:
    case XV_DATETIME:
    case XV_BASE64: {
        uint64_t n = get_u(r);
        if (r->bad || n > (uint64_t)(r->end - r->p)) {
            r->bad = true;
            return xv_str("");
        }
        xv *v = xv_strn((const char *)r->p, (size_t)n);
        v->kind = (xv_kind)kind;
        r->p += n;
        return v;
    }
    case XV_INT: {
        uint64_t u = get_u(r);
        return xv_int((int64_t)(u >> 1) ^ -(int64_t)(u & 1));
    }
    case XV_DOUBLE: {
        double d = 0;
        if ((size_t)(r->end - r->p) < sizeof(d)) {
            r->bad = true;
            return xv_double(0);
        }
        memcpy(&d, r->p, sizeof(d));
        r->p += sizeof(d);
        return xv_double(d);
    }
    case XV_BOOL:
        if (r->p >= r->end) {
            r->bad = true;
            return xv_bool(false);
        }
        return xv_bool(*r->p++ != 0);
    case XV_ARRAY: {
        uint64_t n = get_u(r);
        xv *a = xv_array();
        for (uint64_t i = 0; i < n && !r->bad; i++)
            xv_array_add(a, dec(r, depth + 1));
        return a;
    }
    case XV_STRUCT: {
        uint64_t n = get_u(r);
        xv *st = xv_struct();
        char key[256];
        for (uint64_t i = 0; i < n && !r->bad; i++) {
            uint64_t kl = get_u(r);
            if (r->bad || kl >= sizeof(key) || kl > (uint64_t)(r->end - r->p)) {
                r->bad = true;
                break;
            }
            memcpy(key, r->p, (size_t)kl);
            key[kl] = '\0';
            r->p += kl;
            xv_struct_set(st, key, dec(r, depth + 1));
        }
        return st;
    }
    case XV_NIL:
        return xv_nil();
    default:
        r->bad = true;
        return xv_str("");
    }
}

/* Scratch buffer of the encoder: observers run under the store write lock,
 * one at a time. */
static xbuf scratch;

snap *ev_snap_encode(const xobj *o)
{
    scratch.len = 0;
    for (int i = 0; i < xclasses[o->cls].nfields; i++)
        enc(&scratch, o->f[i]);
    snap *s = snap_alloc(scratch.len);
    s->len = (uint32_t)scratch.len;
    memcpy(s->d, scratch.data, scratch.len);
    return s;
}

xv *ev_snap_decode(int cls, const snap *s)
{
    rd r = { s->d, s->d + s->len, false };
    xv *st = xv_struct();
    for (int i = 0; i < xclasses[cls].nfields && !r.bad; i++)
        xv_struct_append(st, xclasses[cls].fields[i].name, dec(&r, 0));
    if (r.bad)
        xlogd(XLOG_WARNING, "snapshot of a %s did not decode", xclasses[cls].name);
    return st;
}
