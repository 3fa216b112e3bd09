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

/* A string starting at the opening quote; its text into *out (malloc'd). */
static bool parse_string(jp *p, char **out, size_t *len_r)
{
    xbuf b;
    xbuf_init(&b);
    p->i++;                                 /* the quote */
    for (;;) {
        size_t run = p->i;
        while (p->i < p->n && p->s[p->i] != '"' && p->s[p->i] != '\\' && p->s[p->i] >= 0x20) {
            if (p->s[p->i] < 0x80) {
                p->i++;
                continue;
            }
            size_t l = utf8_seq(p->s + p->i, p->n - p->i);
            if (!l) {
                xbuf_free(&b);
                return fail(p, "invalid UTF-8 in a string"), false;
            }
            p->i += l;
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

/* Parse a whole document whose top value sits at level top_level. */
static xv *parse_doc(const char *text, size_t len, const xmlrpc_limits *lim, int top_level,
                     char **err_r)
{
    xmlrpc_limits l;
    xmlrpc_limits_resolve(lim, &l);
    jp p = { .s = (const unsigned char *)text, .n = len, .max_depth = l.max_depth,
             .max_nodes = l.max_nodes };
    xv *v = NULL;
    if (!text || len == 0)
        fail(&p, "empty document");
    else if (len > l.max_bytes)
        fail(&p, "document too large (%zu bytes, limit %zu)", len, l.max_bytes);
    else if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        fail(&p, "a byte order mark is not allowed");
    else if ((v = parse_value(&p, top_level)) != NULL) {
        skip_ws(&p);
        if (p.i != p.n) {
            xv_free(v);
            v = NULL;
            fail(&p, "trailing characters after the value");
        }
    }
    if (!v)
        *err_r = p.err ? p.err : strdup("JSON: cannot parse");
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

bool jsonrpc_parse_call(const char *body, size_t len, const xmlrpc_limits *lim, jsonrpc_req *req,
                        char **method_r, xv **params_r, char **err_r)
{
    req->version = 0;
    req->id = NULL;
    *method_r = NULL;
    *params_r = NULL;
    /* the envelope is level -1, "params" level 0: a param is level 1 */
    xv *doc = parse_doc(body, len, lim, -1, err_r);
    if (!doc)
        return false;
    bool ok = false;
    if (doc->kind != XV_STRUCT) {
        req->version = 2;
        bad_request(err_r, "a JSON-RPC request is an object");
        goto out;
    }
    const xv *ver = xv_struct_get(doc, "jsonrpc");
    if (!ver)
        req->version = 1;
    else if (ver->kind == XV_STRING && strcmp(ver->u.str.s, "2.0") == 0)
        req->version = 2;
    else {
        req->version = 2;           /* answered in 2.0's form, as any bad envelope */
        bad_request(err_r, "\"jsonrpc\" must be \"2.0\" (or absent for JSON-RPC 1.0)");
        goto out;
    }
    const xv *id = xv_struct_get(doc, "id");
    if (id && (id->kind == XV_INT || id->kind == XV_STRING)) {
        xbuf b;
        xbuf_init(&b);
        jsonrpc_encode_value(&b, id);
        req->id = xbuf_steal(&b, NULL);
    } else {
        bad_request(err_r, "\"id\" must be an integer or a string (notifications are not served)");
        goto out;
    }
    const xv *m = xv_struct_get(doc, "method");
    if (!m || m->kind != XV_STRING || m->u.str.len == 0) {
        bad_request(err_r, "\"method\" must be a non-empty string");
        goto out;
    }
    xv *params = xv_struct_get(doc, "params");
    xv *arr;
    if (params && params->kind == XV_ARRAY) {
        arr = xv_dup(params);
    } else if (req->version == 2 && (!params || params->kind == XV_NIL)) {
        arr = xv_array();
    } else if (req->version == 2 && params->kind == XV_STRUCT) {
        arr = xv_array();            /* by-name params: one struct param */
        xv_array_add(arr, xv_dup(params));
    } else {
        bad_request(err_r, req->version == 1 ? "JSON-RPC 1.0 \"params\" must be an array"
                                             : "\"params\" must be an array or an object");
        goto out;
    }
    *method_r = strdup(m->u.str.s);
    if (!*method_r)
        abort();
    *params_r = arr;
    ok = true;
out:
    xv_free(doc);
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
        xbuf_printf(b, "%lld", (long long)v->u.i);
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

static const char *id_of(const jsonrpc_req *req)
{
    return req && req->id ? req->id : "null";
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
    xbuf_printf(b, ",\"id\":%s}", id_of(req));
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
        xbuf_printf(b, "]},\"id\":%s}", id_of(req));
        return;
    }
    xbuf_puts(b, "{\"result\":null,\"error\":[");
    put_string(b, code, strlen(code));
    put_params(b, params, n, true);
    xbuf_printf(b, "],\"id\":%s}", id_of(req));
}

void jsonrpc_encode_invalid(xbuf *b, const jsonrpc_req *req, int code, const char *reason)
{
    xbuf_printf(b, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":%d,\"message\":\"%s\",\"data\":[", code,
                code == JSONRPC_PARSE_ERROR ? "Parse error" : "Invalid Request");
    put_string(b, reason ? reason : "", reason ? strlen(reason) : 0);
    xbuf_printf(b, "]},\"id\":%s}", id_of(req));
}
