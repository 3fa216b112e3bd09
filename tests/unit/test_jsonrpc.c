/* Unit tests for the JSON-RPC codec (rpc/jsonrpc.c): the value cases of
 * tests/unit/jsonrpc/values.txt, request envelopes (1.0 and 2.0), replies,
 * the limits, and encoding of every value kind. */
#include <config.h>

#include "rpc/jsonrpc.h"
#include "util/xv.h"
#include "tests/lib/xtest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *encode(const xv *v)
{
    xbuf b;
    xbuf_init(&b);
    bool ok = jsonrpc_encode_value(&b, v);
    char *s = xbuf_steal(&b, NULL);
    if (!ok) {
        free(s);
        return strdup("<no JSON form>");
    }
    return s;
}

/* The golden cases: "< input", then "> output" or "! error substring". */
static void value_cases(const char *path)
{
    FILE *f = fopen(path, "rb");
    CHECKF(f != NULL, "cannot open %s", path);
    if (!f)
        return;
    char *line = NULL, *input = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, cases = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (n && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        const char *rest = n >= 2 ? line + 2 : "";
        if (line[0] == '<') {
            free(input);
            input = strdup(rest);
            continue;
        }
        CHECKF(input != NULL && (line[0] == '>' || line[0] == '!'), "%s:%d: malformed case file", path, lineno);
        if (!input)
            continue;
        xv *v = NULL;
        char *err = NULL;
        bool ok = jsonrpc_parse_value(input, strlen(input), NULL, &v, &err);
        if (line[0] == '>') {
            char *got = ok ? encode(v) : NULL;
            CHECKF(ok && strcmp(got, rest) == 0, "%s:%d: %s -> %s (expected %s)", path, lineno, input,
                  ok ? got : err, rest);
            free(got);
        } else {
            CHECKF(!ok && err && strstr(err, rest), "%s:%d: %s should fail with '%s', got %s", path, lineno,
                  input, rest, ok ? "success" : err);
        }
        cases++;
        xv_free(v);
        free(err);
        free(input);
        input = NULL;
    }
    CHECKF(cases >= 30, "%s: only %d cases read", path, cases);
    free(input);
    free(line);
    fclose(f);
}

static void test_envelopes(void)
{
    struct {
        const char *body;
        int version;            /* 0: must fail */
        const char *method, *id, *params, *err;
    } t[] = {
        { "{\"jsonrpc\":\"2.0\",\"method\":\"VM.get_all\",\"params\":[\"s\"],\"id\":0}", 2, "VM.get_all", "0", "[\"s\"]", NULL },
        { "{\"method\":\"VM.get_all\",\"params\":[\"s\"],\"id\":\"abc\"}", 1, "VM.get_all", "\"abc\"", "[\"s\"]", NULL },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"system.listMethods\",\"id\":7}", 2, "system.listMethods", "7", "[]", NULL },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":null,\"id\":7}", 2, "m", "7", "[]", NULL },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"a\":1},\"id\":7}", 2, "m", "7", "[{\"a\":1}]", NULL },
        { "{\"method\":\"m\",\"id\":1}", 0, NULL, NULL, NULL, "must be an array" },
        { "{\"method\":\"m\",\"params\":{},\"id\":1}", 0, NULL, NULL, NULL, "must be an array" },
        { "{\"jsonrpc\":\"1.0\",\"method\":\"m\",\"params\":[],\"id\":1}", 0, NULL, NULL, NULL, "\"jsonrpc\" must be" },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[]}", 0, NULL, NULL, NULL, "\"id\" must be" },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[],\"id\":null}", 0, NULL, NULL, NULL, "\"id\" must be" },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[],\"id\":1.5}", 0, NULL, NULL, NULL, "\"id\" must be" },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"\",\"params\":[],\"id\":1}", 0, NULL, NULL, NULL, "\"method\"" },
        { "{\"jsonrpc\":\"2.0\",\"method\":3,\"params\":[],\"id\":1}", 0, NULL, NULL, NULL, "\"method\"" },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":\"x\",\"id\":1}", 0, NULL, NULL, NULL, "\"params\"" },
        { "[1]", 0, NULL, NULL, NULL, "is an object" },
        { "{\"jsonrpc\":\"2.0\",", 0, NULL, NULL, NULL, "JSON:" },
        /* members in any order, others ignored, escapes in the method and id */
        { "{\"id\":-5,\"params\":[1.5,\"\\u00e9\"],\"method\":\"m\"}", 1, "m", "-5", "[1.5,\"\xc3\xa9\"]", NULL },
        { "{\"jsonrpc\":\"2.0\",\"extra\":{\"a\":[1]},\"method\":\"m\\u002ex\",\"params\":[-9223372036854775808],"
          "\"id\":\"a\\\"b\"}", 2, "m.x", "\"a\\\"b\"", "[-9223372036854775808]", NULL },
        /* a member given twice, whichever it is */
        { "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[],\"id\":1,\"id\":2}", 0, NULL, NULL, NULL, "\"id\" given twice" },
        { "{\"method\":\"a\",\"method\":\"b\",\"params\":[],\"id\":1}", 0, NULL, NULL, NULL, "\"method\" given twice" },
        { "{\"jsonrpc\":\"2.0\",\"x\":1,\"method\":\"m\",\"params\":[],\"x\":[2],\"id\":1}", 0, NULL, NULL, NULL, "\"x\" given twice" },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[],\"id\":1} x", 0, NULL, NULL, NULL, "trailing characters" },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[],\"id\":1,}", 0, NULL, NULL, NULL, "expected a member name" },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[}", 0, NULL, NULL, NULL, "JSON:" },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"m\" \"params\":[],\"id\":1}", 0, NULL, NULL, NULL, "expected ',' or '}'" },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        jsonrpc_req req;
        char *method = NULL, *err = NULL;
        xv *params = NULL;
        bool ok = jsonrpc_parse_call(t[i].body, strlen(t[i].body), NULL, &req, &method, &params, &err);
        if (t[i].version) {
            char *p = ok ? encode(params) : NULL;
            CHECKF(ok && req.version == t[i].version && strcmp(method, t[i].method) == 0 &&
                  strcmp(req.id, t[i].id) == 0 && strcmp(p, t[i].params) == 0,
                  "envelope %s: ok=%d version=%d id=%s params=%s err=%s", t[i].body, ok, req.version,
                  req.id ? req.id : "-", p ? p : "-", err ? err : "-");
            free(p);
        } else {
            CHECKF(!ok && err && strstr(err, t[i].err), "envelope %s should fail with '%s', got %s", t[i].body,
                  t[i].err, ok ? "success" : err);
        }
        jsonrpc_req_clear(&req);
        free(method);
        free(err);
        xv_free(params);
    }
}

static void test_replies(void)
{
    jsonrpc_req v1 = { 1, strdup("\"x\"") }, v2 = { 2, strdup("0") };
    xbuf b;
    xbuf_init(&b);
    xv *r = xv_struct();
    xv_struct_set(r, "n", xv_int(5));
    xv_struct_set(r, "t", xv_datetime("20250319T04:16:24"));
    jsonrpc_encode_result(&b, &v2, r);
    char *s = xbuf_steal(&b, NULL);
    CHECKF(strcmp(s, "{\"jsonrpc\":\"2.0\",\"result\":{\"n\":5,\"t\":\"20250319T04:16:24Z\"},\"id\":0}") == 0,
          "v2 result: %s", s);
    free(s);
    jsonrpc_encode_result(&b, &v1, r);
    s = xbuf_steal(&b, NULL);
    CHECKF(strcmp(s, "{\"result\":{\"n\":5,\"t\":\"20250319T04:16:24Z\"},\"error\":null,\"id\":\"x\"}") == 0,
          "v1 result: %s", s);
    free(s);
    const char *params[] = { "VM", "abc\"d" };
    jsonrpc_encode_error(&b, &v2, "HANDLE_INVALID", params, 2);
    s = xbuf_steal(&b, NULL);
    CHECKF(strcmp(s, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"HANDLE_INVALID\","
                    "\"data\":[\"VM\",\"abc\\\"d\"]},\"id\":0}") == 0, "v2 error: %s", s);
    free(s);
    jsonrpc_encode_error(&b, &v1, "SESSION_INVALID", params, 1);
    s = xbuf_steal(&b, NULL);
    CHECKF(strcmp(s, "{\"result\":null,\"error\":[\"SESSION_INVALID\",\"VM\"],\"id\":\"x\"}") == 0, "v1 error: %s", s);
    free(s);
    jsonrpc_encode_invalid(&b, NULL, JSONRPC_PARSE_ERROR, "bad");
    s = xbuf_steal(&b, NULL);
    CHECKF(strcmp(s, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32700,\"message\":\"Parse error\","
                    "\"data\":[\"bad\"]},\"id\":null}") == 0, "invalid: %s", s);
    free(s);
    /* a pre-encoded XML value has no JSON form: said, not written as text */
    xbuf e;
    xbuf_init(&e);
    xbuf_puts(&e, "<value>x</value>");
    xv_struct_set(r, "enc", xv_encoded_take(&e));
    CHECKF(!jsonrpc_encode_result(&b, &v2, r), "an encoded value is refused");
    xbuf_free(&b);
    xv_free(r);
    jsonrpc_req_clear(&v1);
    jsonrpc_req_clear(&v2);
}

static void test_kinds(void)
{
    xv *a = xv_array();
    xv_array_add(a, xv_double(NAN));
    xv_array_add(a, xv_double(INFINITY));
    xv_array_add(a, xv_double(-INFINITY));
    xv_array_add(a, xv_double(0.25));
    xv_array_add(a, xv_nil());
    xv_array_add(a, xv_strn("a\0b\x7f\xff", 5));
    xv_array_add(a, xv_str("\x01\r"));
    char *s = encode(a);
    CHECKF(strcmp(s, "[\"NaN\",\"Infinity\",\"-Infinity\",0.25,\"\",\"a\\u0000b\x7f\xEF\xBF\xBD\",\"\\u0001\\r\"]") == 0,
          "kinds: %s", s);
    free(s);
    xv_free(a);
}

static void test_limits(void)
{
    xmlrpc_limits lim = { .max_bytes = 1000, .max_depth = 4, .max_nodes = 10 };
    xv *v = NULL;
    char *err = NULL;
    CHECKF(jsonrpc_parse_value("[[[1]]]", 7, &lim, &v, &err), "depth 4 is allowed: %s", err ? err : "");
    xv_free(v);
    v = NULL;
    CHECKF(!jsonrpc_parse_value("[[[[1]]]]", 9, &lim, &v, &err) && strstr(err, "nested too deeply"),
          "depth 5 refused: %s", err ? err : "success");
    free(err);
    err = NULL;
    CHECKF(!jsonrpc_parse_value("[1,2,3,4,5,6,7,8,9,10]", 22, &lim, &v, &err) && strstr(err, "too many values"),
          "11 values refused: %s", err ? err : "success");
    free(err);
    err = NULL;
    char big[1100];
    memset(big, ' ', sizeof(big));
    big[0] = '1';
    CHECKF(!jsonrpc_parse_value(big, sizeof(big), &lim, &v, &err) && strstr(err, "too large"),
          "size refused: %s", err ? err : "success");
    free(err);
    err = NULL;
    /* a param is level 1, as in the XML codec: depth 4 = params nested 3 deep */
    const char *ok4 = "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[[[[1]]]],\"id\":1}";
    const char *bad5 = "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[[[[[1]]]]],\"id\":1}";
    xmlrpc_limits deep = { .max_depth = 4 };
    jsonrpc_req req;
    char *m = NULL;
    CHECKF(jsonrpc_parse_call(ok4, strlen(ok4), &deep, &req, &m, &v, &err), "param depth 4: %s", err ? err : "");
    jsonrpc_req_clear(&req);
    free(m);
    xv_free(v);
    m = NULL;
    v = NULL;
    CHECKF(!jsonrpc_parse_call(bad5, strlen(bad5), &deep, &req, &m, &v, &err) && strstr(err, "nested too deeply"),
          "param depth 5 refused: %s", err ? err : "success");
    jsonrpc_req_clear(&req);
    free(err);
    err = NULL;
    /* a string over the XML parser's text bound */
    size_t n = JSONRPC_MAX_STRING + 3;
    char *s = malloc(n);
    memset(s, 'a', n);
    s[0] = '"';
    s[n - 1] = '"';
    xmlrpc_limits huge = { .max_bytes = n + 1 };
    CHECKF(!jsonrpc_parse_value(s, n, &huge, &v, &err) && err && strstr(err, "string longer"),
          "long string refused: %s", err ? err : "success");
    free(err);
    free(s);
    /* many members: duplicate detection stays fast and right */
    xbuf b;
    xbuf_init(&b);
    xbuf_puts(&b, "{");
    for (int i = 0; i < 50000; i++)
        xbuf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
    xbuf_puts(&b, ",\"k123\":0}");
    err = NULL;
    xmlrpc_limits wide = { .max_nodes = 200000 };
    CHECKF(!jsonrpc_parse_value(b.data, b.len, &wide, &v, &err) && strstr(err, "\"k123\" given twice"),
          "duplicate among 50,000 members: %s", err ? err : "success");
    free(err);
    xbuf_free(&b);
}

/* Values built in C survive encode -> parse unchanged. */
static void test_roundtrip(void)
{
    xv *st = xv_struct();
    xv_struct_set(st, "s", xv_str("é \"q\" \\ \n\t/ 😀"));
    xv_struct_set(st, "i", xv_int(-42));
    xv_struct_set(st, "d", xv_double(1.5e-7));
    xv_struct_set(st, "b", xv_bool(true));
    xv *arr = xv_array();
    xv_array_add(arr, xv_struct());
    xv_array_add(arr, xv_array());
    xv_struct_set(st, "a", arr);
    char *s = encode(st);
    xv *back = NULL;
    char *err = NULL;
    CHECKF(jsonrpc_parse_value(s, strlen(s), NULL, &back, &err) && xv_equal(st, back), "round trip of %s: %s", s,
          err ? err : "differs");
    free(err);
    free(s);
    xv_free(back);
    xv_free(st);
}

int main(int argc, char **argv)
{
    const char *dir = getenv("srcdir");
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/unit/jsonrpc/values.txt", argc > 1 ? argv[1] : dir ? dir : ".");
    value_cases(path);
    test_envelopes();
    test_replies();
    test_kinds();
    test_limits();
    test_roundtrip();
    return xtest_done();
}
