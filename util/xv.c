/* xv: XML-RPC value trees and the xbuf byte buffer (see xv.h). */
#include <config.h>

#include "util/xv.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/types.h>

/* ---- allocation helpers: abort only on out-of-memory ---- */

static void oom(void) __attribute__((noreturn));
static void oom(void)
{
    fputs("xend: out of memory\n", stderr);
    abort();
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

static void *xrealloc_array(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        oom();
    size_t bytes = n * size;
    p = realloc(p, bytes ? bytes : 1);
    if (!p)
        oom();
    return p;
}

static char *xmemdup0(const char *s, size_t len)
{
    if (len == SIZE_MAX)
        oom();
    char *p = xmalloc(len + 1);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static xv *xv_new(xv_kind kind)
{
    xv *v = calloc(1, sizeof(*v));
    if (!v)
        oom();
    v->kind = kind;
    return v;
}

/* ---- constructors ---- */

xv *xv_nil(void)
{
    return xv_new(XV_NIL);
}

static xv *xv_text_take(xv_kind kind, char *s, size_t len)
{
    xv *v = xv_new(kind);
    v->u.str.s = s;
    v->u.str.len = len;
    return v;
}

xv *xv_strn(const char *s, size_t len)
{
    if (!s)
        len = 0;
    return xv_text_take(XV_STRING, xmemdup0(s, len), len);
}

xv *xv_str(const char *s)
{
    return xv_strn(s, s ? strlen(s) : 0);
}

xv *xv_str_take(char *s)
{
    if (!s)
        return xv_str("");
    return xv_text_take(XV_STRING, s, strlen(s));
}

xv *xv_strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return xv_str("");
    char *s = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return xv_text_take(XV_STRING, s, (size_t)n);
}

xv *xv_int(int64_t i)
{
    xv *v = xv_new(XV_INT);
    v->u.i = i;
    return v;
}

xv *xv_double(double d)
{
    xv *v = xv_new(XV_DOUBLE);
    v->u.d = d;
    return v;
}

xv *xv_bool(bool b)
{
    xv *v = xv_new(XV_BOOL);
    v->u.b = b;
    return v;
}

xv *xv_datetime(const char *iso)
{
    size_t len = iso ? strlen(iso) : 0;
    return xv_text_take(XV_DATETIME, xmemdup0(iso, len), len);
}

xv *xv_datetime_t(int64_t unix_time)
{
    struct tm tm;
    time_t t = (time_t)unix_time;
    char buf[64];

    if ((int64_t)t != unix_time || !gmtime_r(&t, &tm)) {
        t = 0;
        gmtime_r(&t, &tm);
    }
    int n = snprintf(buf, sizeof(buf), "%04d%02d%02dT%02d:%02d:%02d",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n < 0 || (size_t)n >= sizeof(buf))
        n = 0;
    return xv_text_take(XV_DATETIME, xmemdup0(buf, (size_t)n), (size_t)n);
}

xv *xv_array(void)
{
    return xv_new(XV_ARRAY);
}

xv *xv_struct(void)
{
    return xv_new(XV_STRUCT);
}

/* ---- encoded values (shared, immutable text) ---- */

struct xv_shared {
    atomic_size_t refs;
};

xv *xv_encoded_take(xbuf *b)
{
    size_t len;
    char *s = xbuf_steal(b, &len);
    xv *v = xv_text_take(XV_STRING, s, len);
    v->u.str.shared = xmalloc(sizeof(*v->u.str.shared));
    atomic_init(&v->u.str.shared->refs, 1);
    return v;
}

bool xv_is_encoded(const xv *v)
{
    return v && v->kind == XV_STRING && v->u.str.shared;
}

static xv *shared_ref(const xv *v)
{
    atomic_fetch_add_explicit(&v->u.str.shared->refs, 1, memory_order_relaxed);
    xv *c = xv_new(v->kind);
    c->u.str = v->u.str;
    return c;
}

static void shared_unref(xv *v)
{
    if (atomic_fetch_sub_explicit(&v->u.str.shared->refs, 1, memory_order_acq_rel) == 1) {
        free(v->u.str.shared);
        free(v->u.str.s);
    }
}

xv *xv_dup(const xv *v)
{
    if (!v)
        return NULL;
    switch (v->kind) {
    case XV_STRING:
    case XV_DATETIME:
    case XV_BASE64:
        if (v->u.str.shared)
            return shared_ref(v);
        return xv_text_take(v->kind, xmemdup0(v->u.str.s, v->u.str.len), v->u.str.len);
    case XV_ARRAY: {
        xv *a = xv_array();
        if (v->u.arr.n) {
            a->u.arr.items = xrealloc_array(NULL, v->u.arr.n, sizeof(xv *));
            a->u.arr.cap = v->u.arr.n;
            for (size_t i = 0; i < v->u.arr.n; i++)
                a->u.arr.items[i] = xv_dup(v->u.arr.items[i]);
            a->u.arr.n = v->u.arr.n;
        }
        return a;
    }
    case XV_STRUCT: {
        xv *s = xv_struct();
        size_t n = v->u.st.n;
        if (n) {
            s->u.st.keys = xrealloc_array(NULL, n, sizeof(char *));
            s->u.st.vals = xrealloc_array(NULL, n, sizeof(xv *));
            s->u.st.cap = n;
            for (size_t i = 0; i < n; i++) {
                s->u.st.keys[i] = xmemdup0(v->u.st.keys[i], strlen(v->u.st.keys[i]));
                s->u.st.vals[i] = xv_dup(v->u.st.vals[i]);
            }
            s->u.st.n = n;
        }
        return s;
    }
    case XV_NIL:
    case XV_INT:
    case XV_DOUBLE:
    case XV_BOOL:
    default: {
        xv *c = xv_new(v->kind);
        c->u = v->u;
        return c;
    }
    }
}

void xv_free(xv *v)
{
    if (!v)
        return;
    switch (v->kind) {
    case XV_STRING:
    case XV_DATETIME:
    case XV_BASE64:
        if (v->u.str.shared)
            shared_unref(v);
        else
            free(v->u.str.s);
        break;
    case XV_ARRAY:
        for (size_t i = 0; i < v->u.arr.n; i++)
            xv_free(v->u.arr.items[i]);
        free(v->u.arr.items);
        break;
    case XV_STRUCT:
        for (size_t i = 0; i < v->u.st.n; i++) {
            free(v->u.st.keys[i]);
            xv_free(v->u.st.vals[i]);
        }
        free(v->u.st.keys);
        free(v->u.st.vals);
        break;
    default:
        break;
    }
    free(v);
}

/* ---- arrays ---- */

void xv_array_add(xv *arr, xv *item)
{
    if (!arr || arr->kind != XV_ARRAY || !item) {
        xv_free(item);       /* misuse: we still own item, so do not leak it */
        return;
    }
    if (arr->u.arr.n == arr->u.arr.cap) {
        size_t cap = arr->u.arr.cap ? arr->u.arr.cap * 2 : 4;
        arr->u.arr.items = xrealloc_array(arr->u.arr.items, cap, sizeof(xv *));
        arr->u.arr.cap = cap;
    }
    arr->u.arr.items[arr->u.arr.n++] = item;
}

/* ---- structs ---- */

static ssize_t struct_find(const xv *st, const char *key)
{
    for (size_t i = 0; i < st->u.st.n; i++)
        if (strcmp(st->u.st.keys[i], key) == 0)
            return (ssize_t)i;
    return -1;
}

void xv_struct_append(xv *st, const char *key, xv *val)
{
    if (!key) {
        xv_free(val);
        return;
    }
    xv_struct_append_take(st, xmemdup0(key, strlen(key)), val);
}

void xv_struct_append_take(xv *st, char *key, xv *val)
{
    if (!st || st->kind != XV_STRUCT || !key || !val) {
        free(key);
        xv_free(val);
        return;
    }
    if (st->u.st.n == st->u.st.cap) {
        size_t cap = st->u.st.cap ? st->u.st.cap * 2 : 8;
        st->u.st.keys = xrealloc_array(st->u.st.keys, cap, sizeof(char *));
        st->u.st.vals = xrealloc_array(st->u.st.vals, cap, sizeof(xv *));
        st->u.st.cap = cap;
    }
    st->u.st.keys[st->u.st.n] = key;
    st->u.st.vals[st->u.st.n] = val;
    st->u.st.n++;
}

void xv_struct_set(xv *st, const char *key, xv *val)
{
    if (!st || st->kind != XV_STRUCT || !key || !val) {
        xv_free(val);
        return;
    }
    ssize_t i = struct_find(st, key);
    if (i >= 0) {
        xv_free(st->u.st.vals[i]);
        st->u.st.vals[i] = val;
        return;
    }
    xv_struct_append(st, key, val);
}

xv *xv_struct_get(const xv *st, const char *key)
{
    if (!st || st->kind != XV_STRUCT || !key)
        return NULL;
    ssize_t i = struct_find(st, key);
    return i >= 0 ? st->u.st.vals[i] : NULL;
}

bool xv_struct_del(xv *st, const char *key)
{
    if (!st || st->kind != XV_STRUCT || !key)
        return false;
    ssize_t i = struct_find(st, key);
    if (i < 0)
        return false;
    free(st->u.st.keys[i]);
    xv_free(st->u.st.vals[i]);
    size_t rest = st->u.st.n - (size_t)i - 1;
    memmove(&st->u.st.keys[i], &st->u.st.keys[i + 1], rest * sizeof(char *));
    memmove(&st->u.st.vals[i], &st->u.st.vals[i + 1], rest * sizeof(xv *));
    st->u.st.n--;
    return true;
}

/* ---- equality ---- */

bool xv_equal(const xv *a, const xv *b)
{
    if (a == b)
        return true;
    if (!a || !b || a->kind != b->kind)
        return false;
    switch (a->kind) {
    case XV_NIL:
        return true;
    case XV_STRING:
    case XV_DATETIME:
    case XV_BASE64:
        return a->u.str.len == b->u.str.len && !a->u.str.shared == !b->u.str.shared &&
               memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    case XV_INT:
        return a->u.i == b->u.i;
    case XV_DOUBLE:
        /* NaN equals NaN here: we compare values as transported. */
        return a->u.d == b->u.d || (isnan(a->u.d) && isnan(b->u.d));
    case XV_BOOL:
        return a->u.b == b->u.b;
    case XV_ARRAY:
        if (a->u.arr.n != b->u.arr.n)
            return false;
        for (size_t i = 0; i < a->u.arr.n; i++)
            if (!xv_equal(a->u.arr.items[i], b->u.arr.items[i]))
                return false;
        return true;
    case XV_STRUCT:
        if (a->u.st.n != b->u.st.n)
            return false;
        for (size_t i = 0; i < a->u.st.n; i++) {
            const xv *bv;
            /* Fast path: same position, same key (the usual case). */
            if (strcmp(a->u.st.keys[i], b->u.st.keys[i]) == 0)
                bv = b->u.st.vals[i];
            else
                bv = xv_struct_get(b, a->u.st.keys[i]);
            if (!bv || !xv_equal(a->u.st.vals[i], bv))
                return false;
        }
        return true;
    }
    return false;
}

/* ---- lenient scalar readers ---- */

bool xv_parse_uint(const char *s, size_t len, uint64_t *out)
{
    uint64_t acc = 0;

    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return false;
        acc = acc * 10 + d;
    }
    *out = acc;
    return true;
}

static bool parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    uint64_t acc;

    if (len > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (!xv_parse_uint(s + i, len - i, &acc) || acc > (uint64_t)INT64_MAX + !!neg)
        return false;
    if (neg)
        *out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
    else
        *out = (int64_t)acc;
    return true;
}

bool xv_parse_int(const char *s, size_t len, int64_t *out)
{
    int64_t v;
    if (!s || !parse_int64(s, len, &v))
        return false;
    if (out)
        *out = v;
    return true;
}

/* "1", "0", "true", "false" (any case). */
static bool parse_bool(const char *s, bool *out)
{
    if (strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0)
        *out = true;
    else if (strcmp(s, "0") == 0 || strcasecmp(s, "false") == 0)
        *out = false;
    else
        return false;
    return true;
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return end != s && *end == '\0' && errno != ERANGE;
}

/* A value of the kind wanted; a string that spells one (whole, no NUL
 * inside); an INT as a DOUBLE, or as a BOOL when it is 0 or 1. */
bool xv_get_scalar(const xv *v, xv_kind want, void *out)
{
    xv r = { .kind = want };

    if (!v)
        return false;
    if (v->kind == want)
        r.u = v->u;
    else if (v->kind == XV_INT && want == XV_DOUBLE)
        r.u.d = (double)v->u.i;
    else if (v->kind == XV_INT && want == XV_BOOL && (v->u.i == 0 || v->u.i == 1))
        r.u.b = v->u.i == 1;
    else if (v->kind != XV_STRING || strlen(v->u.str.s) != v->u.str.len)
        return false;
    else if (want == XV_INT ? !parse_int64(v->u.str.s, v->u.str.len, &r.u.i)
             : want == XV_BOOL ? !parse_bool(v->u.str.s, &r.u.b)
                               : !parse_double(v->u.str.s, &r.u.d))
        return false;
    if (out && want == XV_INT)
        *(int64_t *)out = r.u.i;
    else if (out && want == XV_BOOL)
        *(bool *)out = r.u.b;
    else if (out)
        *(double *)out = r.u.d;
    return true;
}

xv *xv_convert(const xv *v, xv_kind want)
{
    xv r = { .kind = want };
    void *out = want == XV_INT ? (void *)&r.u.i : want == XV_BOOL ? (void *)&r.u.b : (void *)&r.u.d;
    if (!xv_get_scalar(v, want, out))
        return NULL;
    return want == XV_INT ? xv_int(r.u.i) : want == XV_BOOL ? xv_bool(r.u.b) : xv_double(r.u.d);
}

bool xv_get_int(const xv *v, int64_t *out)
{
    return xv_get_scalar(v, XV_INT, out);
}

bool xv_get_bool(const xv *v, bool *out)
{
    return xv_get_scalar(v, XV_BOOL, out);
}

bool xv_get_double(const xv *v, double *out)
{
    return xv_get_scalar(v, XV_DOUBLE, out);
}

/* ---- xbuf ---- */

void xbuf_init(xbuf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void xbuf_free(xbuf *b)
{
    if (!b)
        return;
    free(b->data);
    xbuf_init(b);
}

/* A buffer this large (a 10,000-VM get_all_records answer is 35 MB) is
 * written once from end to end and then freed: ask for transparent huge
 * pages, so filling it takes a page fault per 2 MiB instead of per 4 KiB.
 * Only the whole pages inside the buffer are advised. */
#define XBUF_HUGE ((size_t)8 << 20)

static void advise_huge(char *p, size_t len)
{
#ifdef MADV_HUGEPAGE
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)p + len) & ~(page - 1);
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)p;
    (void)len;
#endif
}

/* Make room for n more bytes plus a terminating NUL. */
void xbuf_reserve(xbuf *b, size_t n)
{
    if (n > SIZE_MAX - b->len - 1)
        oom();
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            cap = need;
        else
            cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p)
        oom();
    b->data = p;
    b->cap = cap;
    if (cap >= XBUF_HUGE)
        advise_huge(p, cap);
}

void xbuf_add(xbuf *b, const char *s, size_t n)
{
    xbuf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void xbuf_puts(xbuf *b, const char *s)
{
    xbuf_add(b, s, strlen(s));
}

void xbuf_printf(xbuf *b, const char *fmt, ...)
{
    va_list ap;
    xbuf_reserve(b, 64);
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->data[b->len] = '\0';
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        xbuf_reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

size_t xv_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp_r)
{
    unsigned c = s[0];
    uint32_t cp;
    size_t len;

    if (c < 0x80) {
        *cp_r = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;                            /* overlong or out of range */
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 0;                            /* surrogates */
    *cp_r = cp;
    return len;
}

/* Length of the valid UTF-8 sequence at s (1..4) that is also an XML 1.0
 * Char, or 0 if the bytes there are not one. */
static size_t utf8_xml_char(const unsigned char *s, size_t n)
{
    uint32_t cp;
    size_t len = xv_utf8_seq(s, n, &cp);
    if (len && (cp == 0xFFFE || cp == 0xFFFF))
        return 0;                            /* not XML Chars */
    return len;
}

static const char replacement_char[] = "\xEF\xBF\xBD";   /* U+FFFD */

/* Bytes copied as they are: printable ASCII but & < >, and TAB, LF. */
static const unsigned char xml_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

void xbuf_add_escaped(xbuf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;   /* start of the pending run of bytes copied verbatim */
    size_t i = 0;

    if (!s)
        return;
    while (i < n && xml_plain[p[i]])
        i++;
    if (i == n) {                     /* the usual case: nothing to replace */
        xbuf_add(b, s, n);
        return;
    }
    xbuf_reserve(b, n);
    for (;;) {
        while (i < n && xml_plain[p[i]])
            i++;
        if (i == n)
            break;
        unsigned c = p[i];
        const char *rep;

        if (c >= 0x80) {
            size_t l = utf8_xml_char(p + i, n - i);
            if (l) {
                i += l;
                continue;
            }
            rep = replacement_char;
        } else if (c == '&') {
            rep = "&amp;";
        } else if (c == '<') {
            rep = "&lt;";
        } else if (c == '>') {
            rep = "&gt;";
        } else if (c == '\r') {
            rep = "&#13;";           /* a raw CR would be normalised away */
        } else {
            rep = replacement_char;  /* C0 control: not allowed in XML 1.0 */
        }
        if (i > run)
            xbuf_add(b, s + run, i - run);
        xbuf_puts(b, rep);
        i++;
        run = i;
    }
    if (n > run)
        xbuf_add(b, s + run, n - run);
}

char *xbuf_steal(xbuf *b, size_t *len_r)
{
    if (!b->data)
        xbuf_reserve(b, 0);
    char *s = b->data;
    if (len_r)
        *len_r = b->len;
    s[b->len] = '\0';
    xbuf_init(b);
    return s;
}
