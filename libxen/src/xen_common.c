/* libxen: the generic marshaller (slots <-> xv trees, driven by the
 * generated descriptors), the call path, sessions and errors. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xen_internal.h"
#include "util/strutil.h"
#include "util/xmlrpc.h"
#include <xen/api/xen_transport.h>

/* ------------------------------------------------------------ allocation */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        abort();
    return p;
}

char *xeni_strdup(const char *s)
{
    char *r = strdup(s ? s : "");
    if (!r)
        abort();
    return r;
}

static char *xstrndup(const char *s, size_t n)
{
    char *r = malloc(n + 1);
    if (!r)
        abort();
    if (n)
        memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *r;
    va_start(ap, fmt);
    if (vasprintf(&r, fmt, ap) < 0)
        abort();
    va_end(ap);
    return r;
}

const xeni_type xeni_t_string = { .kind = XK_STRING, .name = "string", .handle_offset = -1 };
const xeni_type xeni_t_int = { .kind = XK_INT, .name = "int", .handle_offset = -1 };
const xeni_type xeni_t_float = { .kind = XK_FLOAT, .name = "float", .handle_offset = -1 };
const xeni_type xeni_t_bool = { .kind = XK_BOOL, .name = "bool", .handle_offset = -1 };
const xeni_type xeni_t_datetime = { .kind = XK_DATETIME, .name = "datetime", .handle_offset = -1 };

size_t xeni_slot_size(const xeni_type *t)
{
    switch (t->kind) {
    case XK_INT: return sizeof(int64_t);
    case XK_FLOAT: return sizeof(double);
    case XK_BOOL: return sizeof(bool);
    case XK_DATETIME: return sizeof(time_t);
    case XK_ENUM: return sizeof(int);
    default: return sizeof(void *);
    }
}

static size_t *container_size(void *p) { return (size_t *)p; }

static char *entry_at(const xeni_type *t, void *p, size_t i)
{
    return (char *)p + t->contents_offset + i * t->entry_size;
}

void *xeni_set_alloc(const xeni_type *t, size_t size)
{
    void *p = xcalloc(1, t->contents_offset + size * t->entry_size);
    *container_size(p) = size;
    return p;
}

void *xeni_record_alloc(const xeni_type *t)
{
    void *r = xcalloc(1, t->struct_size);
    /* Enums start at a defined value; an unset enum in a record sent to the
     * server then goes out as its first value, as historical libxen did. */
    return r;
}

void *xeni_opt_alloc(void)
{
    return xcalloc(1, sizeof(xeni_opt));
}

/* ------------------------------------------------------------------ free */

void xeni_free_ptr(const xeni_type *t, void *p)
{
    if (!p)
        return;
    switch (t->kind) {
    case XK_SET:
        for (size_t i = 0; i < *container_size(p); i++)
            xeni_slot_free(t->elem, entry_at(t, p, i));
        break;
    case XK_MAP:
        for (size_t i = 0; i < *container_size(p); i++) {
            char *e = entry_at(t, p, i);
            xeni_slot_free(t->key, e);
            xeni_slot_free(t->elem, e + t->val_offset);
        }
        break;
    case XK_RECORD:
        if (t->handle_offset >= 0)
            xeni_slot_free(&xeni_t_string, (char *)p + t->handle_offset);
        for (size_t i = 0; i < t->n_members; i++)
            xeni_slot_free(t->members[i].type, (char *)p + t->members[i].offset);
        break;
    case XK_OPT: {
        xeni_opt *o = p;
        if (o->is_record)
            xeni_free_ptr(t->elem, o->u.record);
        else
            free(o->u.handle);
        break;
    }
    case XK_STRING:
        break;
    default:
        return;   /* not a pointer kind */
    }
    free(p);
}

void xeni_slot_free(const xeni_type *t, void *slot)
{
    switch (t->kind) {
    case XK_STRING:
    case XK_SET:
    case XK_MAP:
    case XK_RECORD:
    case XK_OPT: {
        void *p;
        memcpy(&p, slot, sizeof p);
        xeni_free_ptr(t, p);
        break;
    }
    default:
        break;
    }
    memset(slot, 0, xeni_slot_size(t));
}

void xeni_record_set_handle(const xeni_type *t, void *record, const char *handle)
{
    if (!record || t->kind != XK_RECORD || t->handle_offset < 0)
        return;
    char **h = (char **)((char *)record + t->handle_offset);
    if (!*h)
        *h = xeni_strdup(handle);
}

/* ------------------------------------------------------------------ enums */

const char *xeni_enum_to_string(const xeni_type *t, int v)
{
    if (v >= 0 && v < t->n_names)
        return t->names[v];
    return "undefined";
}

int xeni_enum_from_string(const xeni_type *t, const char *s)
{
    if (!s)
        return t->n_names;
    for (int i = 0; i < t->n_names; i++)
        if (strcmp(t->names[i], s) == 0)
            return i;
    return t->n_names;   /* _UNDEFINED */
}

/* ------------------------------------------------------------ slot -> xv */

static xv *key_to_xv_string(const xeni_type *t, const void *slot)
{
    switch (t->kind) {
    case XK_STRING: return xv_str(*(char *const *)slot);
    case XK_INT: return xv_strf("%" PRId64, *(const int64_t *)slot);
    case XK_FLOAT: return xv_strf("%.17g", *(const double *)slot);
    case XK_BOOL: return xv_str(*(const bool *)slot ? "true" : "false");
    case XK_ENUM: {
        int v = *(const int *)slot;
        return xv_str(v >= 0 && v < t->n_names ? t->names[v] : "");
    }
    default: return xv_str("");
    }
}

/* create() sends the RW and RO/ins fields, and the RO/run ones the caller
 * filled in: historical libxen sent whole records and xend's console.create,
 * for one, reads the RO/run VM and protocol members. */
static bool member_unset(const xeni_member *m, const char *record)
{
    void *p;
    switch (m->type->kind) {
    case XK_STRING: case XK_SET: case XK_MAP: case XK_RECORD: case XK_OPT:
        memcpy(&p, record + m->offset, sizeof p);
        return p == NULL;
    default:
        return false;
    }
}

xv *xeni_to_xv(const xeni_type *t, const void *slot, unsigned flags)
{
    const void *p = NULL;
    if (t->kind >= XK_SET)
        memcpy(&p, slot, sizeof p);
    switch (t->kind) {
    case XK_STRING: return xv_str(*(char *const *)slot);
    case XK_INT: return xv_int(*(const int64_t *)slot);
    case XK_FLOAT: return xv_double(*(const double *)slot);
    case XK_BOOL: return xv_bool(*(const bool *)slot);
    case XK_DATETIME: return xv_datetime_t((int64_t)*(const time_t *)slot);
    case XK_ENUM: {
        int v = *(const int *)slot;
        return xv_str(v >= 0 && v < t->n_names ? t->names[v] : "");
    }
    case XK_SET: {
        xv *a = xv_array();
        for (size_t i = 0; p && i < *(const size_t *)p; i++)
            xv_array_add(a, xeni_to_xv(t->elem, entry_at(t, (void *)p, i), 0));
        return a;
    }
    case XK_MAP: {
        xv *st = xv_struct();
        for (size_t i = 0; p && i < *(const size_t *)p; i++) {
            const char *e = entry_at(t, (void *)p, i);
            xv *k = key_to_xv_string(t->key, e);
            xv_struct_set(st, k->u.str.s, xeni_to_xv(t->elem, e + t->val_offset, 0));
            xv_free(k);
        }
        return st;
    }
    case XK_RECORD: {
        xv *st = xv_struct();
        for (size_t i = 0; p && i < t->n_members; i++) {
            const xeni_member *m = &t->members[i];
            if ((flags & XENI_CREATE) && !m->create && member_unset(m, (const char *)p))
                continue;
            xv_struct_set(st, m->name, xeni_to_xv(m->type, (const char *)p + m->offset, 0));
        }
        return st;
    }
    case XK_OPT: {
        const xeni_opt *o = p;
        if (!o)
            return xv_str("");
        if (!o->is_record)
            return xv_str(o->u.handle);
        if (o->u.record && t->elem->handle_offset >= 0)
            return xv_str(*(char *const *)((const char *)o->u.record + t->elem->handle_offset));
        return xv_str("");
    }
    }
    return xv_str("");
}

/* ------------------------------------------------------------ xv -> slot */

static bool parse_datetime(const char *s, size_t len, time_t *out)
{
    int Y, M, D, h, m, sec, n = 0;
    if (len == 0) {
        *out = 0;
        return true;
    }
    if (sscanf(s, "%4d%2d%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6 &&
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6)
        return false;
    /* Tolerate a "Z" or "+00:00" zone suffix; xend sends none. */
    if ((size_t)n < len && !(s[n] == 'Z' || s[n] == '+' || s[n] == '.'))
        return false;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return false;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    *out = timegm(&tm);
    return true;
}

static bool is_empty_string(const xv *v)
{
    return v->kind == XV_NIL || (v->kind == XV_STRING && v->u.str.len == 0);
}

static bool key_from_string(const xeni_type *t, const char *k, void *slot, char **err_r)
{
    switch (t->kind) {
    case XK_STRING:
        *(char **)slot = xeni_strdup(k);
        return true;
    case XK_INT: {
        char *end;
        errno = 0;
        long long i = strtoll(k, &end, 10);
        if (*k && !*end && errno == 0) {
            *(int64_t *)slot = (int64_t)i;
            return true;
        }
        break;
    }
    case XK_FLOAT: {
        char *end;
        *(double *)slot = strtod(k, &end);
        if (*k && !*end)
            return true;
        break;
    }
    case XK_ENUM:
        *(int *)slot = xeni_enum_from_string(t, k);
        return true;
    case XK_BOOL:
        *(bool *)slot = strcmp(k, "true") == 0 || strcmp(k, "1") == 0;
        return true;
    default:
        break;
    }
    *err_r = xasprintf("bad map key \"%s\" for a %s", k, t->name);
    return false;
}

static void fill_default(const xeni_type *t, void *slot)
{
    void *p = NULL;
    switch (t->kind) {
    case XK_STRING:
        p = xeni_strdup("");
        break;
    case XK_SET:
    case XK_MAP:
        p = xeni_set_alloc(t, 0);
        break;
    case XK_OPT: {
        xeni_opt *o = xeni_opt_alloc();
        o->u.handle = xeni_strdup("");
        p = o;
        break;
    }
    case XK_ENUM:
        *(int *)slot = t->n_names;
        return;
    default:
        return;
    }
    memcpy(slot, &p, sizeof p);
}

static const char *kind_name(const xv *v)
{
    static const char *const n[] = { "nil", "string", "int", "double", "boolean",
                                      "dateTime", "base64", "array", "struct" };
    return v->kind <= XV_STRUCT ? n[v->kind] : "?";
}

/* st's member called name, or NULL.  Servers send a record's members in
 * one order, mostly the descriptor's, so the search starts at *next (just
 * past the previous hit) and wraps round: one comparison per member instead
 * of a scan of half the struct. */
static const xv *struct_member(const xv *st, const char *name, size_t *next)
{
    size_t n = st->u.st.n;
    for (size_t k = 0; k < n; k++) {
        size_t j = (*next + k) % n;
        if (strcmp(st->u.st.keys[j], name) == 0) {
            *next = j + 1;
            return st->u.st.vals[j];
        }
    }
    return NULL;
}


/* One entry of a map (t) from a struct member: its key and value into
 * entry e (nothing left in it on failure). */
static bool map_entry_from_xv(const xeni_type *t, const char *key, const xv *val, char *e,
                              char **err_r)
{
    if (!key_from_string(t->key, key, e, err_r) ||
        !xeni_from_xv(t->elem, val, e + t->val_offset, err_r)) {
        xeni_slot_free(t->key, e);
        return false;
    }
    /* get_all_records: the key is the record's handle */
    if (t->key->kind == XK_STRING && t->elem->kind == XK_RECORD) {
        void *rec;
        memcpy(&rec, e + t->val_offset, sizeof rec);
        xeni_record_set_handle(t->elem, rec, *(char **)e);
    }
    return true;
}

bool xeni_from_xv(const xeni_type *t, const xv *v, void *slot, char **err_r)
{
    memset(slot, 0, xeni_slot_size(t));
    switch (t->kind) {
    case XK_STRING:
        switch (v->kind) {
        case XV_STRING: case XV_DATETIME: case XV_BASE64:
            *(char **)slot = xstrndup(v->u.str.s, v->u.str.len);
            return true;
        case XV_NIL:
            *(char **)slot = xeni_strdup("");
            return true;
        case XV_INT:
            *(char **)slot = xasprintf("%" PRId64, v->u.i);
            return true;
        default:
            break;
        }
        break;
    case XK_INT:
    case XK_FLOAT:
    case XK_BOOL:
        if (xv_get_scalar(v, t->kind == XK_INT ? XV_INT : t->kind == XK_FLOAT ? XV_DOUBLE : XV_BOOL,
                          slot))
            return true;
        break;
    case XK_DATETIME:
        if (v->kind == XV_NIL) {
            *(time_t *)slot = 0;
            return true;
        }
        if ((v->kind == XV_DATETIME || v->kind == XV_STRING) &&
            parse_datetime(v->u.str.s, v->u.str.len, (time_t *)slot))
            return true;
        break;
    case XK_ENUM:
        if (v->kind == XV_STRING) {
            char *s = xstrndup(v->u.str.s, v->u.str.len);
            *(int *)slot = xeni_enum_from_string(t, s);
            free(s);
            return true;
        }
        break;
    case XK_SET:
    case XK_MAP: {
        if (is_empty_string(v)) {
            fill_default(t, slot);
            return true;
        }
        bool map = t->kind == XK_MAP;
        if (v->kind != (map ? XV_STRUCT : XV_ARRAY))
            break;
        size_t n = map ? v->u.st.n : v->u.arr.n;
        void *p = xeni_set_alloc(t, n);
        for (size_t i = 0; i < n; i++) {
            char *e = entry_at(t, p, i);
            bool ok = map ? map_entry_from_xv(t, v->u.st.keys[i], v->u.st.vals[i], e, err_r)
                          : xeni_from_xv(t->elem, v->u.arr.items[i], e, err_r);
            if (!ok) {
                *container_size(p) = i;
                xeni_free_ptr(t, p);
                return false;
            }
        }
        memcpy(slot, &p, sizeof p);
        return true;
    }
    case XK_RECORD: {
        if (v->kind != XV_STRUCT)
            break;
        char *p = xeni_record_alloc(t);
        size_t next = 0;   /* where the member after the last one found sits */
        for (size_t i = 0; i < t->n_members; i++) {
            const xeni_member *m = &t->members[i];
            const xv *mv = struct_member(v, m->name, &next);
            if (!mv) {
                fill_default(m->type, p + m->offset);
                continue;
            }
            char *err = NULL;
            if (!xeni_from_xv(m->type, mv, p + m->offset, &err)) {
                *err_r = xasprintf("%s.%s: %s", t->name, m->name, err);
                free(err);
                xeni_free_ptr(t, p);
                return false;
            }
        }
        memcpy(slot, &p, sizeof p);
        return true;
    }
    case XK_OPT: {
        xeni_opt *o = xeni_opt_alloc();
        if (v->kind == XV_STRING || v->kind == XV_NIL) {
            o->u.handle = v->kind == XV_NIL ? xeni_strdup("")
                                            : xstrndup(v->u.str.s, v->u.str.len);
        } else if (v->kind == XV_STRUCT) {
            o->is_record = true;
            if (!xeni_from_xv(t->elem, v, &o->u.record, err_r)) {
                free(o);
                return false;
            }
        } else {
            free(o);
            break;
        }
        memcpy(slot, &o, sizeof o);
        return true;
    }
    }
    *err_r = xasprintf("expected a %s, got %s", t->name, kind_name(v));
    return false;
}

/* ------------------------------------------- reply bytes -> slot, directly */

/* A reply in the plain form (util/xmlrpc.h's scanner) goes straight into
 * the typed slots, with no xv tree in between: a get_all_records reply of
 * 10,000 VMs is 35 MB, and its tree of ~600,000 nodes was most of a
 * client's time.  Every value ends as xeni_from_xv would make it: the forms
 * a server writes (strings, untyped text, booleans, arrays, structs) are
 * decoded here; any other value is decoded into an xv by the scanner and
 * converted by xeni_from_xv.  Where the scanner gives up, a value does not
 * fit its type, or a struct repeats a member, decoding stops (false, the
 * slot zeroed) and the caller decodes the whole reply through the xv tree,
 * which gives the same result or words the error. */

#define SCAN_LIT(f, lit) xmlrpc_scan_lit((f), (lit), sizeof(lit) - 1)

static bool direct_value(xmlrpc_scan *f, const xeni_type *t, void *slot, int depth);

static bool span_is(const char *s, size_t len, const char *name)
{
    return strncmp(name, s, len) == 0 && name[len] == '\0';
}

/* Text (a string, or untyped) in a slot of type t. */
static bool direct_text(xmlrpc_scan *f, const xeni_type *t, void *slot)
{
    size_t len;
    const char *s = xmlrpc_scan_text(f, &len);
    if (!s)
        return false;
    char num[64]; /* NUL-terminated copy for the number and date parsers */
    switch (t->kind) {
    case XK_STRING:
        *(char **)slot = xstrndup(s, len);
        return true;
    case XK_OPT: {
        xeni_opt *o = xeni_opt_alloc();
        o->u.handle = xstrndup(s, len);
        memcpy(slot, &o, sizeof o);
        return true;
    }
    case XK_ENUM:
        for (int i = 0; i < t->n_names; i++)
            if (span_is(s, len, t->names[i])) {
                *(int *)slot = i;
                return true;
            }
        *(int *)slot = t->n_names;
        return true;
    case XK_INT:
        return xv_parse_int(s, len, (int64_t *)slot);
    case XK_SET:
    case XK_MAP:
        if (len)
            return false;
        fill_default(t, slot);
        return true;
    case XK_FLOAT:
    case XK_BOOL:
    case XK_DATETIME: {
        if (len >= sizeof num)
            return false;
        memcpy(num, s, len);
        num[len] = '\0';
        xv v = { .kind = XV_STRING, .u.str = { num, len, NULL } };
        char *err = NULL;
        bool ok = xeni_from_xv(t, &v, slot, &err);
        free(err);
        return ok;
    }
    case XK_RECORD:
        break;
    }
    return false;
}

/* Entry i of a growing container p (capacity *cap entries). */
static char *grow_entry(const xeni_type *t, void **p, size_t *cap, size_t i)
{
    if (i == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        char *np = realloc(*p, t->contents_offset + ncap * t->entry_size);
        if (!np)
            abort();
        memset(np + t->contents_offset + *cap * t->entry_size, 0, (ncap - *cap) * t->entry_size);
        *p = np;
        *cap = ncap;
    }
    return entry_at(t, *p, i);
}

static bool direct_array(xmlrpc_scan *f, const xeni_type *t, void *slot, int depth)
{
    void *p = xeni_set_alloc(t, 0);
    size_t n = 0, cap = 0;
    bool ok = xmlrpc_scan_tags(f, "<data>");
    while (ok) {
        if (xmlrpc_scan_tags(f, "</data>"))
            break;
        ok = direct_value(f, t->elem, grow_entry(t, &p, &cap, n), depth + 1);
        n += ok;
    }
    *container_size(p) = n;
    if (!ok || !xmlrpc_scan_tags(f, "</array>")) {
        xeni_free_ptr(t, p);
        return false;
    }
    memcpy(slot, &p, sizeof p);
    return true;
}

/* A member's name, NUL-terminated in name (reused). */
static bool direct_member_name(xmlrpc_scan *f, xbuf *name)
{
    size_t len;
    const char *s = xmlrpc_scan_member(f, &len);
    if (!s || memchr(s, '\0', len))
        return false;
    name->len = 0;
    xbuf_add(name, s, len);
    return true;
}

static bool direct_member_end(xmlrpc_scan *f) { return xmlrpc_scan_tags(f, "</member>"); }

/* Whether a map's key slots a and b hold the same key. */
static bool same_key(const xeni_type *k, const char *a, const char *b)
{
    if (k->kind == XK_STRING)
        return strcmp(*(char *const *)a, *(char *const *)b) == 0;
    return memcmp(a, b, xeni_slot_size(k)) == 0;
}

static uint64_t key_hash(const xeni_type *k, const char *slot)
{
    if (k->kind == XK_STRING)
        return xhash_str(*(char *const *)slot);
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < xeni_slot_size(k); i++)
        h = (h ^ (unsigned char)slot[i]) * 1099511628211ULL;
    return h;
}

/* The map's keys so far, to find a repeated one: open addressing over
 * entry indexes + 1, sized to at least twice the entries. */
typedef struct key_set {
    size_t *slots, cap;
} key_set;

static bool key_set_add(key_set *ks, const xeni_type *t, void *p, size_t n)
{
    const xeni_type *k = t->key;
    if (n * 2 + 2 > ks->cap) {
        free(ks->slots);
        ks->cap = ks->cap ? ks->cap * 2 : 32;
        while (ks->cap < n * 2 + 2)
            ks->cap *= 2;
        ks->slots = xcalloc(ks->cap, sizeof(size_t));
        for (size_t i = 0; i < n; i++) {
            size_t h = (size_t)key_hash(k, entry_at(t, p, i)) & (ks->cap - 1);
            while (ks->slots[h])
                h = (h + 1) & (ks->cap - 1);
            ks->slots[h] = i + 1;
        }
    }
    const char *e = entry_at(t, p, n);
    size_t h = (size_t)key_hash(k, e) & (ks->cap - 1);
    for (; ks->slots[h]; h = (h + 1) & (ks->cap - 1))
        if (same_key(k, entry_at(t, p, ks->slots[h] - 1), e))
            return false;
    ks->slots[h] = n + 1;
    return true;
}

static bool direct_map(xmlrpc_scan *f, const xeni_type *t, void *slot, int depth)
{
    void *p = xeni_set_alloc(t, 0);
    size_t n = 0, cap = 0;
    xbuf name;
    xbuf_init(&name);
    key_set ks = { NULL, 0 };
    bool ok = true;
    for (;;) {
        if (xmlrpc_scan_tags(f, "</struct>"))
            break;
        char *e = grow_entry(t, &p, &cap, n), *err = NULL;
        if (!direct_member_name(f, &name) || !key_from_string(t->key, name.data, e, &err)) {
            free(err);
            ok = false;
            break;
        }
        ok = key_set_add(&ks, t, p, n) && direct_value(f, t->elem, e + t->val_offset, depth + 1) &&
             direct_member_end(f);
        if (!ok) {
            xeni_slot_free(t->key, e);
            xeni_slot_free(t->elem, e + t->val_offset);
            break;
        }
        n++;
        /* get_all_records: the key is the record's handle */
        if (t->key->kind == XK_STRING && t->elem->kind == XK_RECORD) {
            void *rec;
            memcpy(&rec, e + t->val_offset, sizeof rec);
            xeni_record_set_handle(t->elem, rec, *(char **)e);
        }
    }
    *container_size(p) = n;
    free(ks.slots);
    xbuf_free(&name);
    if (!ok) {
        xeni_free_ptr(t, p);
        return false;
    }
    memcpy(slot, &p, sizeof p);
    return true;
}

#define DIRECT_MAX_MEMBERS 512

static bool direct_record(xmlrpc_scan *f, const xeni_type *t, void *slot, int depth)
{
    if (t->n_members > DIRECT_MAX_MEMBERS)
        return false;
    uint64_t seen[DIRECT_MAX_MEMBERS / 64] = { 0 };
    char *p = xeni_record_alloc(t);
    xbuf name;
    xbuf_init(&name);
    size_t next = 0; /* members mostly come in the descriptor's order */
    bool ok = true;
    for (;;) {
        if (xmlrpc_scan_tags(f, "</struct>"))
            break;
        if (!direct_member_name(f, &name)) {
            ok = false;
            break;
        }
        size_t i = t->n_members;
        for (size_t k = 0; k < t->n_members; k++) {
            size_t j = (next + k) % t->n_members;
            if (strcmp(t->members[j].name, name.data) == 0) {
                i = j;
                next = j + 1;
                break;
            }
        }
        if (i == t->n_members) {
            xv *v = xmlrpc_scan_value(f, depth + 1); /* not a member libxen knows */
            ok = v != NULL;
            xv_free(v);
        } else if (seen[i / 64] & (1ull << (i % 64))) {
            ok = false;
        } else {
            seen[i / 64] |= 1ull << (i % 64);
            ok = direct_value(f, t->members[i].type, p + t->members[i].offset, depth + 1);
        }
        if (!ok || !direct_member_end(f)) {
            ok = false;
            break;
        }
    }
    xbuf_free(&name);
    for (size_t i = 0; i < t->n_members; i++)
        if (!(seen[i / 64] & (1ull << (i % 64))))
            fill_default(t->members[i].type, p + t->members[i].offset);
    if (!ok) {
        xeni_free_ptr(t, p);
        return false;
    }
    memcpy(slot, &p, sizeof p);
    return true;
}

static bool direct_struct(xmlrpc_scan *f, const xeni_type *t, void *slot, int depth)
{
    switch (t->kind) {
    case XK_MAP:
        return direct_map(f, t, slot, depth);
    case XK_RECORD:
        return direct_record(f, t, slot, depth);
    case XK_OPT: {
        void *rec = NULL;
        if (!direct_record(f, t->elem, &rec, depth))
            return false;
        xeni_opt *o = xeni_opt_alloc();
        o->is_record = true;
        o->u.record = rec;
        memcpy(slot, &o, sizeof o);
        return true;
    }
    default:
        return false;
    }
}

/* <value>...</value> into a slot of type t, after optional blanks. */
static bool direct_value(xmlrpc_scan *f, const xeni_type *t, void *slot, int depth)
{
    memset(slot, 0, xeni_slot_size(t));
    const char *start = f->p;
    size_t nodes = f->nodes;
    if (!xmlrpc_scan_value_begin(f, depth))
        return false;
    const char *text = f->p;
    xmlrpc_scan_ws(f);
    bool ok;
    if (!(f->p + 1 < f->end && f->p[0] == '<' && f->p[1] != '/')) {
        f->p = text; /* untyped: a string */
        ok = direct_text(f, t, slot);
    } else if (xmlrpc_scan_tags(f, "<string>")) {
        ok = direct_text(f, t, slot) && SCAN_LIT(f, "</string>");
    } else if (t->kind == XK_BOOL && xmlrpc_scan_tags(f, "<boolean>") &&
               (SCAN_LIT(f, "1</boolean>") || SCAN_LIT(f, "0</boolean>"))) {
        *(bool *)slot = f->p[-11] == '1';
        ok = true;
    } else if (t->kind == XK_SET && xmlrpc_scan_tags(f, "<array>")) {
        ok = direct_array(f, t, slot, depth);
    } else if ((t->kind == XK_MAP || t->kind == XK_RECORD || t->kind == XK_OPT) &&
               xmlrpc_scan_tags(f, "<struct>")) {
        ok = direct_struct(f, t, slot, depth);
    } else {
        /* any other form: the scanner's xv, converted */
        f->p = start;
        f->nodes = nodes;
        xv *v = xmlrpc_scan_value(f, depth);
        char *err = NULL;
        ok = v && xeni_from_xv(t, v, slot, &err);
        free(err);
        xv_free(v);
        return ok;
    }
    ok = ok && xmlrpc_scan_tags(f, "</value>");
    if (!ok)
        xeni_slot_free(t, slot);
    return ok;
}

/* A whole reply {Status: Success, Value: ...} decoded into *result (type
 * rt, NULL for none); false for anything else (a failure, a fault, another
 * form), with *result zeroed: then decode it through the xv tree. */
static bool direct_reply(const char *body, size_t len, const xmlrpc_limits *lim,
                         const xeni_type *rt, void *result)
{
    xmlrpc_scan f;
    xbuf name;
    xbuf_init(&name);
    bool ok = xmlrpc_scan_begin(&f, body, len, lim) && xmlrpc_scan_value_begin(&f, 1) &&
              xmlrpc_scan_tags(&f, "<struct>");
    bool success = false, have_value = false;
    while (ok) {
        if (xmlrpc_scan_tags(&f, "</struct>"))
            break;
        if (!direct_member_name(&f, &name)) {
            ok = false;
        } else if (rt && strcmp(name.data, "Value") == 0) {
            ok = !have_value && direct_value(&f, rt, result, 2); /* a second Value: give up */
            have_value = true;
        } else {
            xv *v = xmlrpc_scan_value(&f, 2);
            ok = v != NULL;
            if (ok && strcmp(name.data, "Status") == 0)
                success = v->kind == XV_STRING && strcmp(v->u.str.s, "Success") == 0;
            xv_free(v);
        }
        ok = ok && direct_member_end(&f);
    }
    ok = ok && xmlrpc_scan_tags(&f, "</value>") && xmlrpc_scan_end(&f) && success &&
         (!rt || have_value);
    if (!ok && rt && result)
        xeni_slot_free(rt, result);
    xmlrpc_scan_free(&f);
    xbuf_free(&name);
    return ok;
}

/* ----------------------------------------------------------------- errors */

void xeni_session_error(xen_session *s, int n, const char *const *strings)
{
    if (!s->ok)
        return;   /* keep the first error */
    s->ok = false;
    s->error_description = xcalloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++)
        s->error_description[i] = xeni_strdup(strings[i]);
    s->error_description_count = n;
}

static void error2(xen_session *s, const char *code, const char *arg)
{
    const char *e[] = { code, arg };
    xeni_session_error(s, 2, e);
}

void xen_session_clear_error(xen_session *s)
{
    if (!s)
        return;
    xstrv_free(s->error_description, (size_t)s->error_description_count);
    s->error_description = NULL;
    s->error_description_count = 0;
    s->ok = true;
}

/* ------------------------------------------------------------------- call */

static bool add_reply(const void *data, size_t len, void *handle)
{
    xbuf *b = handle;
    if (b->len + len > ((size_t)1 << 30))
        return false;   /* refuse replies over 1 GiB */
    xbuf_add(b, data, len);
    return true;
}

static void set_failure(xen_session *s, const xv *ed)
{
    if (!ed || ed->kind != XV_ARRAY || ed->u.arr.n == 0) {
        error2(s, "SERVER_FAULT", "Failure without an ErrorDescription");
        return;
    }
    size_t n = ed->u.arr.n;
    char **strs = xcalloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        char *err = NULL;
        if (!xeni_from_xv(&xeni_t_string, ed->u.arr.items[i], &strs[i], &err)) {
            free(err);
            strs[i] = xeni_strdup("");
        }
    }
    xeni_session_error(s, (int)n, (const char *const *)strs);
    xstrv_free(strs, n);
}

static bool do_call(xen_session *s, const char *method, bool with_session,
                    const xeni_arg *args, size_t nargs,
                    const xeni_type *rt, void *result)
{
    if (rt && result)
        memset(result, 0, xeni_slot_size(rt));
    if (!s || !s->ok)
        return false;

    xv *params = xv_array();
    if (with_session)
        xv_array_add(params, xv_str(s->session_id));
    for (size_t i = 0; i < nargs; i++)
        xv_array_add(params, xeni_to_xv(args[i].type, args[i].slot, args[i].flags));
    xbuf body, reply;
    xbuf_init(&body);
    xbuf_init(&reply);
    xmlrpc_encode_call(&body, method, params);
    xv_free(params);

    int rc = s->call_func(body.data, body.len, s->handle, &reply, add_reply);
    xbuf_free(&body);
    if (rc != 0) {
        char code[32];
        snprintf(code, sizeof code, "%d", rc);
        error2(s, "TRANSPORT_FAULT", code);
        xbuf_free(&reply);
        return false;
    }

    static const xmlrpc_limits lim = {
        .max_bytes = (size_t)1 << 30, .max_depth = 64, .max_nodes = 200000000,
    };
    xv *value = NULL;
    int fault_code = 0;
    char *fault_string = NULL, *err = NULL;
    bool ok = direct_reply(reply.data, reply.len, &lim, rt, result);
    if (ok)
        goto out;
    if (!xmlrpc_parse_response(reply.data ? reply.data : "", reply.len, &lim,
                               &value, &fault_code, &fault_string, &err)) {
        error2(s, "SERVER_FAULT", err ? err : "unparsable reply");
        goto out;
    }
    if (!value) {
        char code[32];
        snprintf(code, sizeof code, "%d", fault_code);
        const char *e[] = { "FAULT", code, fault_string ? fault_string : "" };
        xeni_session_error(s, 3, e);
        goto out;
    }
    const xv *status = value->kind == XV_STRUCT ? xv_struct_get(value, "Status") : NULL;
    if (!status || status->kind != XV_STRING) {
        error2(s, "SERVER_FAULT", "reply without a Status");
        goto out;
    }
    if (strcmp(status->u.str.s, "Success") == 0) {
        const xv *val = xv_struct_get(value, "Value");
        if (!rt) {
            ok = true;
            goto out;
        }
        if (!val) {
            error2(s, "SERVER_FAULT", "Success without a Value");
            goto out;
        }
        if (!xeni_from_xv(rt, val, result, &err)) {
            error2(s, "SERVER_FAULT", err);
            goto out;
        }
        ok = true;
    } else if (strcmp(status->u.str.s, "Failure") == 0) {
        set_failure(s, xv_struct_get(value, "ErrorDescription"));
    } else {
        char *m = xasprintf("unexpected Status \"%s\"", status->u.str.s);
        error2(s, "SERVER_FAULT", m);
        free(m);
    }
out:
    xv_free(value);
    free(fault_string);
    free(err);
    xbuf_free(&reply);
    return ok;
}

bool xeni_call(xen_session *s, const char *method, const xeni_arg *args,
               size_t nargs, const xeni_type *rt, void *result)
{
    return do_call(s, method, true, args, nargs, rt, result);
}

bool xeni_call_nosession(xen_session *s, const char *method,
                         const xeni_arg *args, size_t nargs,
                         const xeni_type *rt, void *result)
{
    return do_call(s, method, false, args, nargs, rt, result);
}

/* --------------------------------------------------------------- sessions */

xen_session *xen_session_login_with_password(xen_call_func call_func, void *handle,
                                             const char *uname, const char *pwd)
{
    xen_session *s = xcalloc(1, sizeof *s);
    s->call_func = call_func;
    s->handle = handle;
    s->ok = true;
    const xeni_arg args[] = {
        { &xeni_t_string, &uname, 0 },
        { &xeni_t_string, &pwd, 0 },
    };
    char *id = NULL;
    if (xeni_call_nosession(s, "session.login_with_password", args, 2,
                            &xeni_t_string, &id))
        s->session_id = id;
    return s;
}

void xen_session_logout(xen_session *s)
{
    if (!s)
        return;
    if (s->ok && s->session_id)
        xeni_call(s, "session.logout", NULL, 0, NULL, NULL);
    xen_session_clear_error(s);
    free((char *)s->session_id);
    if (s->owned_transport_)
        xen_transport_free(s->owned_transport_);
    free(s);
}

xen_version *xen_get_client_side_version(void)
{
    xen_version *v = xcalloc(1, sizeof *v);
    if (sscanf(PACKAGE_VERSION, "%d.%d.%d", &v->major, &v->minor, &v->patch) < 2)
        v->major = v->minor = v->patch = 0;
    v->extraversion = xeni_strdup("");
    return v;
}

void xen_version_free(xen_version *v)
{
    if (!v)
        return;
    free(v->extraversion);
    free(v);
}
