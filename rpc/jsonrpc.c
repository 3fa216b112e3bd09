/* jsonrpc: JSON-RPC 1.0/2.0 decoding under hard limits, and encoding. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/jsonrpc.h"
#include "util/utf8.h"
#include "util/uuid.h"

/* ---- decoding ---- */

typedef struct jp {
    const unsigned char *s;
    size_t n, i;
    int max_depth;              /* deepest value level allowed */
    size_t max_nodes, nodes;
    char *err;
} jp;

static void *fail(jp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void *fail(jp *p, const char *fmt, ...)
{
    if (p->err)
        return NULL;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (asprintf(&p->err, "JSON: %s at byte %zu", msg, p->i) < 0)
        p->err = NULL;
    return NULL;
}

static void skip_ws(jp *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
                           p->s[p->i] == '\r'))
        p->i++;
}

/* After blanks, the character c: consumed (true), or not there. */
static bool eat(jp *p, char c)
{
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == (unsigned char)c) {
        p->i++;
        return true;
    }
    return false;
}

/* The well-formed UTF-8 sequence at s: its length, or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    uint32_t cp;
    return xv_utf8_seq(s, n, &cp);
}

static int hex4(const unsigned char *s)
{
    int v = 0;
    for (int k = 0; k < 4; k++) {
        int d = xhexval(s[k]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Past the bytes of a string that stand for themselves (printable ASCII
 * but '"' and '\\', and well-formed UTF-8).  False at a byte that is not
 * UTF-8. */
static bool plain_run(jp *p)
{
    static const bool ascii[256] = { [0x20 ... 0x21] = true, [0x23 ... 0x5b] = true, [0x5d ... 0x7f] = true };
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    const unsigned char *s = p->s;  /* in locals: the bytes could alias *p */
    size_t i = p->i, n = p->n;
    for (;;) {
        /* eight bytes at a time while none is below 0x20, '"', '\\' or
         * above 0x7f (a byte that has no zero byte test may stop early
         * on a plain byte: the loop below goes on from there) */
        for (uint64_t w; n - i >= 8; i += 8) {
            memcpy(&w, s + i, 8);
            uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
            if (((w | (w - ones * 0x20) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs) != 0)
                break;
        }
        while (i < n && ascii[s[i]])
            i++;
        size_t l = i < n && s[i] >= 0x80 ? utf8_seq(s + i, n - i) : 0;
        if (!l) {
            p->i = i;
            return i >= n || s[i] < 0x80;
        }
        i += l;
    }
}

/* A string starting at the opening quote; its text into *out (malloc'd). */
static bool parse_string(jp *p, char **out, size_t *len_r)
{
    xbuf b;
    xbuf_init(&b);
    p->i++;                                 /* the quote */
    for (;;) {
        size_t run = p->i;
        if (!plain_run(p)) {
            xbuf_free(&b);
            return fail(p, "invalid UTF-8 in a string"), false;
        }
        if (!b.data && p->i < p->n && p->s[p->i] == '"' && p->i - run <= JSONRPC_MAX_STRING) {
            /* no escape: the text is the bytes as they are, copied once */
            size_t len = p->i - run;
            char *s = malloc(len + 1);
            if (!s)
                abort();
            memcpy(s, p->s + run, len);
            s[len] = '\0';
            p->i++;
            *out = s;
            *len_r = len;
            return true;
        }
        if (p->i > run)
            xbuf_add(&b, (const char *)p->s + run, p->i - run);
        if (b.len > JSONRPC_MAX_STRING) {
            xbuf_free(&b);
            return fail(p, "string longer than %zu bytes", JSONRPC_MAX_STRING), false;
        }
        if (p->i >= p->n) {
            xbuf_free(&b);
            return fail(p, "unterminated string"), false;
        }
        unsigned c = p->s[p->i];
        if (c == '"') {
            p->i++;
            break;
        }
        if (c < 0x20) {
            xbuf_free(&b);
            return fail(p, "control character U+%04X in a string (escape it)", c), false;
        }
        /* an escape */
        if (p->i + 1 >= p->n) {
            xbuf_free(&b);
            return fail(p, "unterminated string"), false;
        }
        unsigned e = p->s[p->i + 1];
        const char *simple = NULL;
        switch (e) {
        case '"': simple = "\""; break;
        case '\\': simple = "\\"; break;
        case '/': simple = "/"; break;
        case 'b': simple = "\b"; break;
        case 'f': simple = "\f"; break;
        case 'n': simple = "\n"; break;
        case 'r': simple = "\r"; break;
        case 't': simple = "\t"; break;
        case 'u': break;
        default:
            xbuf_free(&b);
            return fail(p, "bad escape \\%c", e >= 0x20 && e < 0x7f ? (int)e : '?'), false;
        }
        if (simple) {
            xbuf_add(&b, simple, 1);
            p->i += 2;
            continue;
        }
        int hi = p->i + 6 <= p->n ? hex4(p->s + p->i + 2) : -1;
        if (hi < 0) {
            xbuf_free(&b);
            return fail(p, "bad \\u escape"), false;
        }
        p->i += 6;
        uint32_t cp = (uint32_t)hi;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            xbuf_free(&b);
            return fail(p, "lone low surrogate \\u%04X", (unsigned)cp), false;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            int lo = p->i + 6 <= p->n && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u'
                     ? hex4(p->s + p->i + 2) : -1;
            if (lo < 0xDC00 || lo > 0xDFFF) {
                xbuf_free(&b);
                return fail(p, "high surrogate \\u%04X without its low half", (unsigned)cp), false;
            }
            p->i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
        }
        if (cp == 0) {
            xbuf_free(&b);
            return fail(p, "\\u0000 in a string (not allowed)"), false;
        }
        xbuf_add_utf8(&b, cp);
    }
    if (b.len > JSONRPC_MAX_STRING) {
        xbuf_free(&b);
        return fail(p, "string longer than %zu bytes", JSONRPC_MAX_STRING), false;
    }
    *out = xbuf_steal(&b, len_r);
    return true;
}

/* A run of decimal digits: how many. */
static size_t digits(jp *p)
{
    size_t d = p->i;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
        p->i++;
    return p->i - d;
}

static xv *parse_number(jp *p)
{
    size_t start = p->i;
    bool integral = true;
    if (p->i < p->n && p->s[p->i] == '-')
        p->i++;
    if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
        return fail(p, "bad number");
    if (p->s[p->i] == '0')
        p->i++;
    else
        digits(p);
    if (p->i < p->n && p->s[p->i] == '.') {
        integral = false;
        p->i++;
        if (!digits(p))
            return fail(p, "bad number (no digit after the point)");
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        integral = false;
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
            p->i++;
        if (!digits(p))
            return fail(p, "bad number (no exponent digits)");
    }
    const char *t = (const char *)p->s + start;
    size_t len = p->i - start;
    if (integral) {
        int64_t v;
        if (!xv_parse_int(t, len, &v))
            return fail(p, "integer %.*s out of the 64-bit range", len > 40 ? 40 : (int)len, t);
        return xv_int(v);
    }
    if (len > 400)
        return fail(p, "number too long");
    char tmp[401];
    memcpy(tmp, t, len);
    tmp[len] = '\0';
    errno = 0;
    double d = strtod(tmp, NULL);
    if (errno == ERANGE && isinf(d))
        return fail(p, "number %s out of range", tmp);
    return xv_double(d);
}

static bool literal(jp *p, const char *word)
{
    size_t l = strlen(word);
    if (p->n - p->i < l || memcmp(p->s + p->i, word, l) != 0)
        return false;
    p->i += l;
    return true;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first key present twice in st, or NULL. */
static const char *duplicate_key(const xv *st)
{
    size_t n = st->u.st.n;
    if (n < 2)
        return NULL;
    if (n <= 16) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (strcmp(st->u.st.keys[i], st->u.st.keys[j]) == 0)
                    return st->u.st.keys[i];
        return NULL;
    }
    char **k = malloc(n * sizeof(*k));
    if (!k)
        abort();
    memcpy(k, st->u.st.keys, n * sizeof(*k));
    qsort(k, n, sizeof(*k), cmp_key);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (strcmp(k[i - 1], k[i]) == 0)
            dup = k[i];
    free(k);
    return dup;
}

static xv *parse_value(jp *p, int depth);

/* The items of an array, after its '['. */
static xv *parse_array(jp *p, int depth)
{
    xv *a = xv_array();
    if (eat(p, ']'))
        return a;
    for (;;) {
        xv *item = parse_value(p, depth + 1);
        if (!item)
            break;
        xv_array_add(a, item);
        if (eat(p, ','))
            continue;
        if (eat(p, ']'))
            return a;
        fail(p, "expected ',' or ']' in an array");
        break;
    }
    xv_free(a);
    return NULL;
}

/* The members of an object, after its '{'. */
static xv *parse_object(jp *p, int depth)
{
    xv *o = xv_struct();
    const char *dup;
    if (eat(p, '}'))
        return o;
    for (;;) {
        char *key;
        size_t klen;
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != '"') {
            fail(p, "expected a member name");
            break;
        }
        if (!parse_string(p, &key, &klen))
            break;
        if (!eat(p, ':')) {
            free(key);
            fail(p, "expected ':' after a member name");
            break;
        }
        xv *val = parse_value(p, depth + 1);
        if (!val) {
            free(key);
            break;
        }
        xv_struct_append(o, key, val);
        free(key);
        if (eat(p, ','))
            continue;
        if (!eat(p, '}')) {
            fail(p, "expected ',' or '}' in an object");
            break;
        }
        if (!(dup = duplicate_key(o)))
            return o;
        fail(p, "member \"%.60s\" given twice in an object", dup);
        break;
    }
    xv_free(o);
    return NULL;
}

static xv *parse_value(jp *p, int depth)
{
    skip_ws(p);
    if (p->i >= p->n)
        return fail(p, "unexpected end of input");
    if (depth > p->max_depth)
        return fail(p, "nested too deeply (limit %d value levels)", p->max_depth);
    if (++p->nodes > p->max_nodes)
        return fail(p, "too many values (limit %zu)", p->max_nodes);
    unsigned c = p->s[p->i];
    if (c == '"') {
        char *s;
        size_t len;
        if (!parse_string(p, &s, &len))
            return NULL;
        return xv_str_take(s);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(p);
    if (literal(p, "true"))
        return xv_bool(true);
    if (literal(p, "false"))
        return xv_bool(false);
    if (literal(p, "null"))
        return xv_nil();
    if (c == '[') {
        p->i++;
        return parse_array(p, depth);
    }
    if (c == '{') {
        p->i++;
        return parse_object(p, depth);
    }
    return fail(p, "unexpected character '%c'", c >= 0x20 && c < 0x7f ? (int)c : '?');
}

/* Start reading a document under the limits: false (p->err set) if it
 * cannot be one. */
static bool open_doc(jp *p, const char *text, size_t len, const xmlrpc_limits *lim)
{
    xmlrpc_limits l;
    xmlrpc_limits_resolve(lim, &l);
    *p = (jp){ .s = (const unsigned char *)text, .n = len, .max_depth = l.max_depth,
               .max_nodes = l.max_nodes };
    if (!text || len == 0)
        fail(p, "empty document");
    else if (len > l.max_bytes)
        fail(p, "document too large (%zu bytes, limit %zu)", len, l.max_bytes);
    else if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        fail(p, "a byte order mark is not allowed");
    else
        return true;
    return false;
}

/* After the top value: only blanks may follow. */
static bool close_doc(jp *p)
{
    skip_ws(p);
    if (p->i == p->n)
        return true;
    fail(p, "trailing characters after the value");
    return false;
}

static char *doc_error(jp *p)
{
    return p->err ? p->err : strdup("JSON: cannot parse");
}

/* Parse a whole document whose top value sits at level top_level. */
static xv *parse_doc(const char *text, size_t len, const xmlrpc_limits *lim, int top_level,
                     char **err_r)
{
    jp p;
    xv *v = NULL;
    if (open_doc(&p, text, len, lim) && (v = parse_value(&p, top_level)) != NULL && !close_doc(&p)) {
        xv_free(v);
        v = NULL;
    }
    if (!v)
        *err_r = doc_error(&p);
    return v;
}

bool jsonrpc_parse_value(const char *text, size_t len, const xmlrpc_limits *lim, xv **v_r,
                         char **err_r)
{
    *v_r = parse_doc(text, len, lim, 1, err_r);
    return *v_r != NULL;
}

void jsonrpc_req_clear(jsonrpc_req *r)
{
    free(r->id);
    r->id = NULL;
    r->version = 0;
}

static bool bad_request(char **err_r, const char *what)
{
    *err_r = strdup(what);
    return false;
}

/* The members of a request that the envelope reads, as they were sent. */
typedef struct envelope {
    xv *jsonrpc, *id, *params;
    char *method;               /* when a string */
    bool method_given;
    xv *rest;                   /* any other member (kept to find one given twice) */
    const char *twice;          /* the first of the four given twice */
} envelope;

static void envelope_free(envelope *e)
{
    xv_free(e->jsonrpc);
    xv_free(e->id);
    xv_free(e->params);
    free(e->method);
    xv_free(e->rest);
}

/* One member's value, after its name and ':'.  The four members the
 * envelope reads are kept as they are (no tree of the whole request to
 * copy them out of); others, and duplicates, are checked like any value. */
static bool envelope_member(jp *p, envelope *e, const char *key, size_t klen)
{
    static const char *const names[] = { "jsonrpc", "id", "params", "method" };
    static const size_t lens[] = { 7, 2, 6, 6 };
    xv **slots[] = { &e->jsonrpc, &e->id, &e->params, NULL };
    size_t k = 0;
    while (k < 4 && (klen != lens[k] || memcmp(key, names[k], klen) != 0))
        k++;
    bool given = k < 3 ? *slots[k] != NULL : k == 3 && e->method_given;
    if (k == 4 || given) {
        xv *val = parse_value(p, 0);
        if (!val)
            return false;
        if (given) {
            e->twice = e->twice ? e->twice : names[k];
            xv_free(val);
            return true;
        }
        if (!e->rest)
            e->rest = xv_struct();
        char *copy = malloc(klen + 1);
        if (!copy)
            abort();
        memcpy(copy, key, klen);
        copy[klen] = '\0';
        xv_struct_append_take(e->rest, copy, val);
        return true;
    }
    if (k < 3)
        return (*slots[k] = parse_value(p, 0)) != NULL;
    e->method_given = true;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == '"') {
        size_t len;
        if (++p->nodes > p->max_nodes) {    /* as parse_value counts it */
            fail(p, "too many values (limit %zu)", p->max_nodes);
            return false;
        }
        return parse_string(p, &e->method, &len);
    }
    xv *val = parse_value(p, 0);            /* not a string: refused once read */
    xv_free(val);
    return val != NULL;
}

/* The request object, its '{' next: the whole of it read into e. */
static bool parse_envelope(jp *p, envelope *e)
{
    p->i++;
    if (++p->nodes > p->max_nodes) {
        fail(p, "too many values (limit %zu)", p->max_nodes);
        return false;
    }
    if (!eat(p, '}')) {
        for (;;) {
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != '"')
                return fail(p, "expected a member name"), false;
            /* a name without escapes is compared where it lies */
            size_t at = p->i++, klen;
            char *key = NULL;
            const char *k = (const char *)p->s + p->i;
            if (plain_run(p) && p->i < p->n && p->s[p->i] == '"' && p->i - at - 1 <= JSONRPC_MAX_STRING) {
                klen = p->i++ - at - 1;
            } else {
                p->i = at;
                if (!parse_string(p, &key, &klen))
                    return false;
                k = key;
            }
            bool read = eat(p, ':');
            if (!read)
                fail(p, "expected ':' after a member name");
            else
                read = envelope_member(p, e, k, klen);
            free(key);
            if (!read)
                return false;
            if (eat(p, ','))
                continue;
            if (eat(p, '}'))
                break;
            return fail(p, "expected ',' or '}' in an object"), false;
        }
    }
    const char *dup = e->twice ? e->twice : e->rest ? duplicate_key(e->rest) : NULL;
    if (dup)
        return fail(p, "member \"%.60s\" given twice in an object", dup), false;
    return close_doc(p);
}

bool jsonrpc_parse_call(const char *body, size_t len, const xmlrpc_limits *lim, jsonrpc_req *req,
                        char **method_r, xv **params_r, char **err_r)
{
    req->version = 0;
    req->id = NULL;
    *method_r = NULL;
    *params_r = NULL;
    /* the envelope is level -1, "params" level 0: a param is level 1 */
    jp p;
    if (!open_doc(&p, body, len, lim)) {
        *err_r = doc_error(&p);
        return false;
    }
    skip_ws(&p);
    if (p.i >= p.n || p.s[p.i] != '{') {
        xv *doc = parse_doc(body, len, lim, -1, err_r);
        if (!doc)
            return false;
        xv_free(doc);
        req->version = 2;
        return bad_request(err_r, "a JSON-RPC request is an object");
    }
    envelope e = { 0 };
    if (!parse_envelope(&p, &e)) {
        envelope_free(&e);
        *err_r = doc_error(&p);
        return false;
    }
    bool ok = false;
    if (!e.jsonrpc)
        req->version = 1;
    else if (e.jsonrpc->kind == XV_STRING && strcmp(e.jsonrpc->u.str.s, "2.0") == 0)
        req->version = 2;
    else {
        req->version = 2;           /* answered in 2.0's form, as any bad envelope */
        bad_request(err_r, "\"jsonrpc\" must be \"2.0\" (or absent for JSON-RPC 1.0)");
        goto out;
    }
    if (e.id && (e.id->kind == XV_INT || e.id->kind == XV_STRING)) {
        xbuf b;
        xbuf_init(&b);
        jsonrpc_encode_value(&b, e.id);
        req->id = xbuf_steal(&b, NULL);
    } else {
        bad_request(err_r, "\"id\" must be an integer or a string (notifications are not served)");
        goto out;
    }
    if (!e.method || !*e.method) {
        bad_request(err_r, "\"method\" must be a non-empty string");
        goto out;
    }
    xv *arr;
    if (e.params && e.params->kind == XV_ARRAY) {
        arr = e.params;             /* taken as it was read */
        e.params = NULL;
    } else if (req->version == 2 && (!e.params || e.params->kind == XV_NIL)) {
        arr = xv_array();
    } else if (req->version == 2 && e.params->kind == XV_STRUCT) {
        arr = xv_array();            /* by-name params: one struct param */
        xv_array_add(arr, e.params);
        e.params = NULL;
    } else {
        bad_request(err_r, req->version == 1 ? "JSON-RPC 1.0 \"params\" must be an array"
                                             : "\"params\" must be an array or an object");
        goto out;
    }
    *method_r = e.method;
    e.method = NULL;
    *params_r = arr;
    ok = true;
out:
    envelope_free(&e);
    return ok;
}

/* ---- encoding ---- */

static void put_string(xbuf *b, const char *s, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0, i = 0;
    xbuf_reserve(b, n + 2);
    xbuf_add(b, "\"", 1);
    while (i < n) {
        unsigned c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        size_t l = 1;
        char esc[8];
        const char *rep = esc;
        size_t rlen = 2;
        if (c >= 0x80) {
            l = utf8_seq(p + i, n - i);
            if (l) {
                i += l;
                continue;
            }
            l = 1;
            rep = "\xEF\xBF\xBD";       /* U+FFFD for a byte that is not UTF-8 */
            rlen = 3;
        } else if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
        } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : 'f';
        } else {
            memcpy(esc, "\\u00", 4);
            esc[4] = hexd[c >> 4];
            esc[5] = hexd[c & 15];
            rlen = 6;
        }
        if (i > run)
            xbuf_add(b, s + run, i - run);
        xbuf_add(b, rep, rlen);
        i += l;
        run = i;
    }
    if (n > run)
        xbuf_add(b, s + run, n - run);
    xbuf_add(b, "\"", 1);
}

/* An integer in decimal (what printf's %lld writes, without its cost). */
static void put_int(xbuf *b, int64_t v)
{
    char t[24], *e = t + sizeof(t), *d = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do
        *--d = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        *--d = '-';
    xbuf_add(b, d, (size_t)(e - d));
}

bool jsonrpc_encode_value(xbuf *b, const xv *v)
{
    if (!v) {
        xbuf_puts(b, "\"\"");
        return true;
    }
    switch (v->kind) {
    case XV_NIL:
        xbuf_puts(b, "\"\"");
        return true;
    case XV_STRING:
        if (xv_is_encoded(v))
            return false;
        put_string(b, v->u.str.s, v->u.str.len);
        return true;
    case XV_BASE64:
        put_string(b, v->u.str.s, v->u.str.len);
        return true;
    case XV_DATETIME:
        if (v->u.str.len == 17) {       /* "YYYYMMDDTHH:MM:SS": UTC, said so */
            char t[19];
            memcpy(t, v->u.str.s, 17);
            t[17] = 'Z';
            t[18] = '\0';
            put_string(b, t, 18);
        } else {
            put_string(b, v->u.str.s, v->u.str.len);
        }
        return true;
    case XV_INT:
        put_int(b, v->u.i);
        return true;
    case XV_DOUBLE:
        if (isnan(v->u.d))
            xbuf_puts(b, "\"NaN\"");
        else if (isinf(v->u.d))
            xbuf_puts(b, v->u.d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        else {
            size_t at = b->len;
            xbuf_printf(b, "%.17g", v->u.d);
            if (!memchr(b->data + at, '.', b->len - at) && !memchr(b->data + at, 'e', b->len - at))
                xbuf_puts(b, ".0");     /* stays a float when read back */
        }
        return true;
    case XV_BOOL:
        xbuf_puts(b, v->u.b ? "true" : "false");
        return true;
    case XV_ARRAY:
    case XV_STRUCT: {
        bool st = v->kind == XV_STRUCT;
        size_t n = st ? v->u.st.n : v->u.arr.n;
        xbuf_add(b, st ? "{" : "[", 1);
        for (size_t i = 0; i < n; i++) {
            if (i)
                xbuf_add(b, ",", 1);
            if (st) {
                put_string(b, v->u.st.keys[i], strlen(v->u.st.keys[i]));
                xbuf_add(b, ":", 1);
            }
            if (!jsonrpc_encode_value(b, st ? v->u.st.vals[i] : v->u.arr.items[i]))
                return false;
        }
        xbuf_add(b, st ? "}" : "]", 1);
        return true;
    }
    }
    return false;
}

/* ,"id":<the request's id>} closing an answer */
static void put_id_end(xbuf *b, const jsonrpc_req *req)
{
    xbuf_puts(b, ",\"id\":");
    xbuf_puts(b, req && req->id ? req->id : "null");
    xbuf_add(b, "}", 1);
}

bool jsonrpc_encode_result(xbuf *b, const jsonrpc_req *req, const xv *result)
{
    if (req->version == 2)
        xbuf_puts(b, "{\"jsonrpc\":\"2.0\",\"result\":");
    else
        xbuf_puts(b, "{\"result\":");
    if (!jsonrpc_encode_value(b, result))
        return false;
    if (req->version != 2)
        xbuf_puts(b, ",\"error\":null");
    put_id_end(b, req);
    return true;
}

static void put_params(xbuf *b, const char *const *params, size_t n, bool comma_first)
{
    for (size_t i = 0; i < n; i++) {
        if (i || comma_first)
            xbuf_add(b, ",", 1);
        const char *s = params[i] ? params[i] : "";
        put_string(b, s, strlen(s));
    }
}

void jsonrpc_encode_error(xbuf *b, const jsonrpc_req *req, const char *code,
                          const char *const *params, size_t n)
{
    if (req->version == 2) {
        /* XAPI's code 1: some clients read 0 as "no error" */
        xbuf_puts(b, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":");
        put_string(b, code, strlen(code));
        xbuf_puts(b, ",\"data\":[");
        put_params(b, params, n, false);
        xbuf_add(b, "]}", 2);
        put_id_end(b, req);
        return;
    }
    xbuf_puts(b, "{\"result\":null,\"error\":[");
    put_string(b, code, strlen(code));
    put_params(b, params, n, true);
    xbuf_add(b, "]", 1);
    put_id_end(b, req);
}

void jsonrpc_encode_invalid(xbuf *b, const jsonrpc_req *req, int code, const char *reason)
{
    xbuf_printf(b, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":%d,\"message\":\"%s\",\"data\":[", code,
                code == JSONRPC_PARSE_ERROR ? "Parse error" : "Invalid Request");
    put_string(b, reason ? reason : "", reason ? strlen(reason) : 0);
    xbuf_add(b, "]}", 2);
    put_id_end(b, req);
}
