/* Unit tests for the XML-RPC codec: util/xv.c and util/xmlrpc.c. */
#include <config.h>

#include "tests/lib/xtest.h"

#include "util/xmlrpc.h"
#include "util/xv.h"

#include <libxml/parser.h>

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

static char *encode_value_str(const xv *v)
{
    xbuf b;
    xbuf_init(&b);
    xmlrpc_encode_value(&b, v);
    return xbuf_steal(&b, NULL);
}

static char *encode_response_str(const xv *v, size_t *len_r)
{
    xbuf b;
    xbuf_init(&b);
    xmlrpc_encode_response(&b, v);
    return xbuf_steal(&b, len_r);
}

/* Remove whitespace that sits between a '>' and the next '<' when it is the
 * only thing there (turns the pretty WIRE.md examples into wire form). */
static char *squeeze(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '>' ) {
            out[o++] = '>';
            size_t j = i + 1;
            while (j < n && (s[j] == ' ' || s[j] == '\n' || s[j] == '\t'))
                j++;
            if (j < n && s[j] == '<')
                i = j - 1;
            continue;
        }
        out[o++] = s[i];
    }
    /* Leading whitespace too. */
    out[o] = '\0';
    size_t lead = strspn(out, " \n\t");
    memmove(out, out + lead, o - lead + 1);
    return out;
}

/* The encoder's output `got` (freed here) must be the pretty WIRE.md example
 * `pretty` in wire form. */
static void check_wire(const char *what, char *got, const char *pretty)
{
    char *want = squeeze(pretty);
    CHECKF(strcmp(got, want) == 0, "%s:\n got %s\nwant %s", what, got, want);
    free(got);
    free(want);
}

/* Parse a response body; returns the value or NULL (and prints the error
 * when want_ok). */
static xv *parse_resp(const char *body, size_t len, const xmlrpc_limits *lim, char **err_r)
{
    xv *v = NULL;
    int code = 0;
    char *fs = NULL, *err = NULL;
    bool ok = xmlrpc_parse_response(body, len, lim, &v, &code, &fs, &err);
    free(fs);
    if (!ok) {
        if (err_r)
            *err_r = err;
        else
            free(err);
        return NULL;
    }
    if (err_r)
        *err_r = NULL;
    return v;
}

/* Wrap a single <value>…</value> into a response and parse it. */
static xv *parse_value_xml(const char *value_xml, char **err_r)
{
    char *doc = NULL;
    if (asprintf(&doc, "<?xml version=\"1.0\"?><methodResponse><params><param>%s</param></params></methodResponse>",
                 value_xml) < 0)
        abort();
    xv *v = parse_resp(doc, strlen(doc), NULL, err_r);
    free(doc);
    return v;
}

static bool call_fails(const char *body, size_t len, const xmlrpc_limits *lim, const char *want_in_err)
{
    char *method = NULL, *err = NULL;
    xv *params = NULL;
    bool ok = xmlrpc_parse_call(body, len, lim, &method, &params, &err);
    bool good = !ok && err && (!want_in_err || strstr(err, want_in_err));
    if (!good)
        xtest_diag("  (call_fails: ok=%d err=%s, wanted \"%s\")", ok, err ? err : "(null)",
                want_in_err ? want_in_err : "*");
    if (ok) {
        free(method);
        xv_free(params);
    }
    free(err);
    return good;
}

static bool value_fails(const char *value_xml, const char *want_in_err)
{
    char *err = NULL;
    xv *v = parse_value_xml(value_xml, &err);
    bool good = !v && err && (!want_in_err || strstr(err, want_in_err));
    if (!good)
        xtest_diag("  (value_fails %s: err=%s)", value_xml, err ? err : "(null)");
    xv_free(v);
    free(err);
    return good;
}

static bool str_is(const xv *v, const char *s)
{
    return v && v->kind == XV_STRING && v->u.str.len == strlen(s) && strcmp(v->u.str.s, s) == 0;
}

/* ---- xv API ---- */

static void test_xv_basics(void)
{
    xv *st = xv_struct();
    xv_struct_set(st, "a", xv_str("1"));
    xv_struct_set(st, "b", xv_int(2));
    xv_struct_set(st, "a", xv_str("3"));              /* replaces, keeps position */
    CHECKF(st->u.st.n == 2, "duplicate key replaces");
    CHECKF(strcmp(st->u.st.keys[0], "a") == 0 && str_is(st->u.st.vals[0], "3"), "replace keeps order");
    CHECKF(xv_struct_get(st, "zz") == NULL, "missing key");
    CHECKF(xv_struct_del(st, "a") && !xv_struct_del(st, "a"), "del");
    CHECKF(st->u.st.n == 1 && strcmp(st->u.st.keys[0], "b") == 0, "del compacts");

    xv *d = xv_dup(st);
    CHECKF(xv_equal(st, d), "dup equal");
    xv_struct_set(d, "c", xv_bool(true));
    CHECKF(!xv_equal(st, d), "dup is deep");
    xv_free(d);

    xv *s1 = xv_struct(), *s2 = xv_struct();
    xv_struct_set(s1, "x", xv_int(1));
    xv_struct_set(s1, "y", xv_int(2));
    xv_struct_set(s2, "y", xv_int(2));
    xv_struct_set(s2, "x", xv_int(1));
    CHECKF(xv_equal(s1, s2), "struct equality ignores order");
    xv_struct_set(s2, "x", xv_int(5));
    CHECKF(!xv_equal(s1, s2), "struct values compared");
    xv_free(s1);
    xv_free(s2);
    xv_free(st);
    xv_free(NULL);
    CHECKF(xv_dup(NULL) == NULL, "dup NULL");

    int64_t i;
    bool b;
    double x;
    xv *v = xv_str("-9223372036854775808");
    CHECKF(xv_get_int(v, &i) && i == INT64_MIN, "int64 min from string");
    xv_free(v);
    v = xv_str("9223372036854775808");
    CHECKF(!xv_get_int(v, &i), "int64 overflow rejected");
    xv_free(v);
    v = xv_str("12x");
    CHECKF(!xv_get_int(v, &i), "junk int rejected");
    xv_free(v);
    v = xv_str("");
    CHECKF(!xv_get_int(v, &i) && !xv_get_bool(v, &b) && !xv_get_double(v, &x), "empty string converts to nothing");
    xv_free(v);
    v = xv_str("true");
    CHECKF(xv_get_bool(v, &b) && b, "bool from 'true'");
    xv_free(v);
    v = xv_str("0");
    CHECKF(xv_get_bool(v, &b) && !b, "bool from '0'");
    xv_free(v);
    v = xv_str("yes");
    CHECKF(!xv_get_bool(v, &b), "bool from 'yes' rejected");
    xv_free(v);
    v = xv_str("2.5");
    CHECKF(xv_get_double(v, &x) && x == 2.5, "double from string");
    xv_free(v);
    v = xv_bool(true);
    CHECKF(!xv_get_int(v, &i), "bool is not an int");
    xv_free(v);

    v = xv_strf("%s-%d", "abc", 42);
    CHECKF(str_is(v, "abc-42"), "strf");
    xv_free(v);
    v = xv_str(NULL);
    CHECKF(str_is(v, ""), "str(NULL)");
    xv_free(v);
    v = xv_strn("a\0b", 3);
    CHECKF(v->u.str.len == 3 && v->u.str.s[2] == 'b' && v->u.str.s[3] == '\0', "strn keeps NUL bytes");
    xv_free(v);

    v = xv_datetime_t(0);
    CHECKF(strcmp(v->u.str.s, "19700101T00:00:00") == 0, "epoch datetime");
    xv_free(v);
    v = xv_datetime_t(1704190272);
    CHECKF(v->kind == XV_DATETIME && strcmp(v->u.str.s, "20240102T10:11:12") == 0, "datetime_t UTC: %s", v->u.str.s);
    xv_free(v);

    /* misuse never crashes or leaks */
    xv *notarr = xv_str("x");
    xv_array_add(notarr, xv_str("y"));
    xv_struct_set(notarr, "k", xv_str("y"));
    CHECKF(str_is(notarr, "x"), "misuse ignored");
    xv_free(notarr);

    xbuf buf;
    xbuf_init(&buf);
    char *empty = xbuf_steal(&buf, NULL);
    CHECKF(empty && empty[0] == '\0', "steal of empty buffer");
    free(empty);
    for (int k = 0; k < 1000; k++)
        xbuf_printf(&buf, "%d,", k);
    size_t len;
    char *s = xbuf_steal(&buf, &len);
    CHECKF(len == strlen(s) && strncmp(s, "0,1,2,", 6) == 0 && strstr(s, "999,"), "xbuf_printf growth");
    free(s);
    xbuf_printf(&buf, "%0300d", 7);
    CHECKF(buf.len == 300 && buf.data[299] == '7', "xbuf_printf long");
    xbuf_free(&buf);
    xbuf_free(&buf);
}

/* ---- encoders: exact bytes ---- */

/* A struct of name, value pairs (the values taken) up to a NULL name. */
static xv *mkstruct(const char *name, ...)
{
    xv *st = xv_struct();
    va_list ap;
    va_start(ap, name);
    for (; name; name = va_arg(ap, const char *))
        xv_struct_set(st, name, va_arg(ap, xv *));
    va_end(ap);
    return st;
}

/* An array of the values (taken) up to NULL. */
static xv *mkarray(xv *item, ...)
{
    xv *arr = xv_array();
    va_list ap;
    va_start(ap, item);
    for (; item; item = va_arg(ap, xv *))
        xv_array_add(arr, item);
    va_end(ap);
    return arr;
}

static void test_encode_exact(void)
{
    char *got;

    struct {
        const char *what;
        bool response;         /* a whole methodResponse, or the value alone */
        xv *v;
        const char *pretty;
    } wire[] = {
        /* WIRE.md 10.a: login response */
        { "login response bytes", true, mkstruct("Status", xv_str("Success"), "Value", xv_str("0b5cc4e2-71d4-4a0e-9d43-6f2a8c1e3b90"), NULL),
          "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>\n"
          " <member><name>Status</name><value><string>Success</string></value></member>\n"
          " <member><name>Value</name><value><string>0b5cc4e2-71d4-4a0e-9d43-6f2a8c1e3b90</string></value></member>\n"
          "</struct></value></param></params></methodResponse>" },
        /* 10.b: an int travels as a string */
        { "int as string", false, mkstruct("Status", xv_str("Success"), "Value", xv_int(536870912), NULL),
          "<value><struct>\n"
          " <member><name>Status</name><value><string>Success</string></value></member>\n"
          " <member><name>Value</name><value><string>536870912</string></value></member>\n"
          "</struct></value>" },
        /* 10.c: failure */
        { "failure bytes", false, mkstruct("Status", xv_str("Failure"), "ErrorDescription",
                       mkarray(xv_str("VM_BAD_POWER_STATE"), xv_str("7d3f0a9c-2b61-4c55-8e0e-1a4b9f2d6c01"),
                                   xv_str("Halted"), xv_str("Running"), NULL),
                       NULL),
          "<value><struct>\n"
          " <member><name>Status</name><value><string>Failure</string></value></member>\n"
          " <member><name>ErrorDescription</name><value><array><data>\n"
          "   <value><string>VM_BAD_POWER_STATE</string></value>\n"
          "   <value><string>7d3f0a9c-2b61-4c55-8e0e-1a4b9f2d6c01</string></value>\n"
          "   <value><string>Halted</string></value>\n"
          "   <value><string>Running</string></value>\n"
          " </data></array></value></member>\n"
          "</struct></value>" },
        /* 10.d: task record (prefix), with NIL written as "" and an empty set */
        { "task record bytes", false, mkstruct("uuid", xv_str("c41e9e57-0d2a-4f3e-b6a8-92f1d0e7a455"), "status", xv_str("success"),
                       "progress", xv_int(100), "result", xv_nil(), "error_info", xv_array(), NULL),
          "<value><struct>\n"
          " <member><name>uuid</name><value><string>c41e9e57-0d2a-4f3e-b6a8-92f1d0e7a455</string></value></member>\n"
          " <member><name>status</name><value><string>success</string></value></member>\n"
          " <member><name>progress</name><value><string>100</string></value></member>\n"
          " <member><name>result</name><value><string></string></value></member>\n"
          " <member><name>error_info</name><value><array><data></data></array></value></member>\n"
          "</struct></value>" },
        /* 10.e: event batch */
        { "event batch bytes", false, mkarray(mkstruct("id", xv_int(17), "timestamp", xv_datetime("20240102T10:11:12"), "class",
                                   xv_str("VM"), "operation", xv_str("mod"), "ref",
                                   xv_str("7d3f0a9c-2b61-4c55-8e0e-1a4b9f2d6c01"), "obj_uuid",
                                   xv_str("7d3f0a9c-2b61-4c55-8e0e-1a4b9f2d6c01"), NULL),
                      NULL),
          "<value><array><data><value><struct>\n"
          " <member><name>id</name><value><string>17</string></value></member>\n"
          " <member><name>timestamp</name><value><dateTime.iso8601>20240102T10:11:12</dateTime.iso8601></value></member>\n"
          " <member><name>class</name><value><string>VM</string></value></member>\n"
          " <member><name>operation</name><value><string>mod</string></value></member>\n"
          " <member><name>ref</name><value><string>7d3f0a9c-2b61-4c55-8e0e-1a4b9f2d6c01</string></value></member>\n"
          " <member><name>obj_uuid</name><value><string>7d3f0a9c-2b61-4c55-8e0e-1a4b9f2d6c01</string></value></member>\n"
          "</struct></value></data></array></value>" },
    };
    for (size_t k = 0; k < sizeof(wire) / sizeof(wire[0]); k++) {
        got = wire[k].response ? encode_response_str(wire[k].v, NULL) : encode_value_str(wire[k].v);
        check_wire(wire[k].what, got, wire[k].pretty);
        xv_free(wire[k].v);
    }

    /* 10.a call */
    xv *params = xv_array();
    xv_array_add(params, xv_str("root"));
    xv_array_add(params, xv_str("s3cret"));
    xbuf b;
    xbuf_init(&b);
    xmlrpc_encode_call(&b, "session.login_with_password", params);
    got = xbuf_steal(&b, NULL);
    check_wire("login call bytes", got,
               "<?xml version=\"1.0\"?>\n"
               "<methodCall><methodName>session.login_with_password</methodName>\n"
               " <params>\n"
               "  <param><value><string>root</string></value></param>\n"
               "  <param><value><string>s3cret</string></value></param>\n"
               " </params></methodCall>");
    xv_free(params);

    xbuf_init(&b);
    xmlrpc_encode_call(&b, "system.listMethods", NULL);
    got = xbuf_steal(&b, NULL);
    CHECKF(strcmp(got, "<?xml version=\"1.0\"?><methodCall><methodName>system.listMethods</methodName>"
                      "<params></params></methodCall>") == 0, "call without params: %s", got);
    free(got);

    /* scalars */
    struct { xv *v; const char *want; } cases[] = {
        { xv_int(-42), "<value><string>-42</string></value>" },
        { xv_int(INT64_MIN), "<value><string>-9223372036854775808</string></value>" },
        { xv_int(INT64_MAX), "<value><string>9223372036854775807</string></value>" },
        { xv_bool(true), "<value><boolean>1</boolean></value>" },
        { xv_bool(false), "<value><boolean>0</boolean></value>" },
        { xv_double(0.1), "<value><double>0.10000000000000001</double></value>" },
        { xv_double(-2), "<value><double>-2</double></value>" },
        { xv_nil(), "<value><string></string></value>" },
        { xv_struct(), "<value><struct></struct></value>" },
        { xv_str("a<b>&c\"d'"), "<value><string>a&lt;b&gt;&amp;c\"d'</string></value>" },
        { xv_str("tab\tnl\ncr\r"), "<value><string>tab\tnl\ncr&#13;</string></value>" },
        { xv_strn("x\x01y\0z", 5), "<value><string>x\xEF\xBF\xBDy\xEF\xBF\xBDz</string></value>" },
        { xv_str("bad\xff utf8 \xC3\xA9 \xed\xa0\x80 \xEF\xBF\xBE"),
          "<value><string>bad\xEF\xBF\xBD utf8 \xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD</string></value>" },
        { xv_str("\xF0\x9F\x98\x80"), "<value><string>\xF0\x9F\x98\x80</string></value>" },
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        got = encode_value_str(cases[k].v);
        CHECKF(strcmp(got, cases[k].want) == 0, "scalar %zu:\n got %s\nwant %s", k, got, cases[k].want);
        free(got);
        xv_free(cases[k].v);
    }
    xv *bs = xv_struct();
    xv_struct_set(bs, "a&b<c>", xv_str("v"));
    got = encode_value_str(bs);
    CHECKF(strcmp(got, "<value><struct><member><name>a&amp;b&lt;c&gt;</name><value><string>v</string></value>"
                      "</member></struct></value>") == 0, "names escaped: %s", got);
    free(got);
    xv_free(bs);

    xbuf_init(&b);
    xmlrpc_encode_fault(&b, -32700, "parse error: <bad> & worse");
    got = xbuf_steal(&b, NULL);
    CHECKF(strcmp(got, "<?xml version=\"1.0\"?><methodResponse><fault><value><struct>"
                      "<member><name>faultCode</name><value><int>-32700</int></value></member>"
                      "<member><name>faultString</name><value><string>parse error: &lt;bad&gt; &amp; worse</string></value></member>"
                      "</struct></value></fault></methodResponse>") == 0, "fault bytes: %s", got);
    int code = 0;
    char *fs = NULL, *err = NULL;
    xv *val = (xv *)1;
    bool ok = xmlrpc_parse_response(got, strlen(got), NULL, &val, &code, &fs, &err);
    CHECKF(ok && val == NULL && code == -32700 && fs && strcmp(fs, "parse error: <bad> & worse") == 0,
          "fault round trip (err=%s)", err ? err : "");
    free(fs);
    free(err);
    free(got);
}

/* ---- round trips ---- */

static xv *sample_value(void)
{
    xv *st = xv_struct();
    xv_struct_set(st, "plain", xv_str("hello"));
    xv_struct_set(st, "empty", xv_str(""));
    xv_struct_set(st, "spaces", xv_str("  lead and trail  "));
    xv_struct_set(st, "newlines", xv_str("\n\nline1\r\nline2\n"));
    xv_struct_set(st, "markup", xv_str("<a href=\"x\">&amp;</a> ]]> &#13;"));
    xv_struct_set(st, "utf8", xv_str("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"));
    xv_struct_set(st, "bool_t", xv_bool(true));
    xv_struct_set(st, "bool_f", xv_bool(false));
    xv_struct_set(st, "dbl", xv_double(3.141592653589793));
    xv_struct_set(st, "tiny", xv_double(5e-324));
    xv_struct_set(st, "huge", xv_double(1.7976931348623157e308));
    xv_struct_set(st, "negzero", xv_double(-0.0));
    xv_struct_set(st, "when", xv_datetime("20240102T10:11:12"));
    xv *b64 = xv_str("aGVsbG8gd29ybGQ=");
    b64->kind = XV_BASE64;
    xv_struct_set(st, "blob", b64);
    xv *arr = xv_array();
    xv_array_add(arr, xv_str("one"));
    xv_array_add(arr, xv_array());
    xv_array_add(arr, xv_struct());
    xv *inner = xv_array();
    xv_array_add(inner, xv_double(-1.5));
    xv_array_add(inner, xv_bool(true));
    xv_array_add(arr, inner);
    xv_struct_set(st, "list", arr);
    xv *map = xv_struct();
    xv_struct_set(map, "k1", xv_str("v1"));
    xv_struct_set(map, "", xv_str("empty key"));
    xv_struct_set(map, "with space & amp", xv_str("v3"));
    xv_struct_set(st, "map", map);
    return st;
}

static void test_round_trip(void)
{
    xv *v = sample_value();
    size_t len;
    char *doc = encode_response_str(v, &len);
    CHECKF(strstr(doc, "> <") == NULL && strchr(doc, '\t') == NULL, "no whitespace between elements");
    char *err = NULL;
    xv *back = parse_resp(doc, len, NULL, &err);
    CHECKF(back != NULL, "round trip parses (%s)", err ? err : "");
    CHECKF(xv_equal(v, back), "round trip equal");
    if (back) {
        const xv *nz = xv_struct_get(back, "negzero");
        CHECKF(nz && nz->kind == XV_DOUBLE && signbit(nz->u.d), "negative zero survives");
        const xv *b64 = xv_struct_get(back, "blob");
        CHECKF(b64 && b64->kind == XV_BASE64 && strcmp(b64->u.str.s, "aGVsbG8gd29ybGQ=") == 0, "base64 kept");
        const xv *dt = xv_struct_get(back, "when");
        CHECKF(dt && dt->kind == XV_DATETIME, "datetime kind kept");
    }
    free(err);
    xv_free(back);
    free(doc);

    /* The same value as call parameters. */
    xv *params = xv_array();
    xv_array_add(params, xv_str("OpaqueRef:session"));
    xv_array_add(params, v);
    xbuf b;
    xbuf_init(&b);
    xmlrpc_encode_call(&b, "VM.create", params);
    doc = xbuf_steal(&b, &len);
    char *method = NULL;
    xv *got = NULL;
    err = NULL;
    bool ok = xmlrpc_parse_call(doc, len, NULL, &method, &got, &err);
    CHECKF(ok && strcmp(method, "VM.create") == 0 && xv_equal(params, got), "call round trip (%s)", err ? err : "");
    free(method);
    free(err);
    xv_free(got);
    xv_free(params);
    free(doc);

    /* ints and nil come back as strings (the XenAPI convention) */
    xv *ints = xv_array();
    xv_array_add(ints, xv_int(INT64_MIN));
    xv_array_add(ints, xv_int(0));
    xv_array_add(ints, xv_int(INT64_MAX));
    xv_array_add(ints, xv_nil());
    doc = encode_response_str(ints, &len);
    back = parse_resp(doc, len, NULL, NULL);
    int64_t i0 = 1, i1 = 1, i2 = 1;
    CHECKF(back && back->u.arr.n == 4 && xv_get_int(back->u.arr.items[0], &i0) && i0 == INT64_MIN &&
          xv_get_int(back->u.arr.items[1], &i1) && i1 == 0 &&
          xv_get_int(back->u.arr.items[2], &i2) && i2 == INT64_MAX &&
          str_is(back->u.arr.items[3], ""), "ints and nil round trip as strings");
    xv_free(back);
    xv_free(ints);
    free(doc);

    /* Doubles round-trip bit for bit. */
    double ds[] = { 0.1, 1.0 / 3, 1e-310, 123456789.123456789, -7e22, 2.2250738585072014e-308 };
    for (size_t k = 0; k < sizeof(ds) / sizeof(ds[0]); k++) {
        xv *dv = xv_double(ds[k]);
        doc = encode_response_str(dv, &len);
        back = parse_resp(doc, len, NULL, NULL);
        CHECKF(back && back->kind == XV_DOUBLE && memcmp(&back->u.d, &ds[k], sizeof(double)) == 0,
              "double %.17g round trip", ds[k]);
        xv_free(back);
        xv_free(dv);
        free(doc);
    }

    /* Forbidden bytes are replaced, and the output always parses. */
    char raw[256];
    for (int k = 0; k < 256; k++)
        raw[k] = (char)k;
    xv *rv = xv_strn(raw, sizeof(raw));
    doc = encode_response_str(rv, &len);
    err = NULL;
    back = parse_resp(doc, len, NULL, &err);
    CHECKF(back && back->kind == XV_STRING, "all-bytes string encodes to well-formed XML (%s)", err ? err : "");
    if (back) {
        CHECKF(memcmp(back->u.str.s, "\xEF\xBF\xBD", 3) == 0, "NUL replaced by U+FFFD");
        CHECKF(memcmp(back->u.str.s + 3 * 9, "\t\n\xEF\xBF\xBD\xEF\xBF\xBD\r", 9) == 0,
              "TAB LF kept, VT FF replaced, CR kept");
        CHECKF(strstr(back->u.str.s, " !\"#$%&'()*+,-./0123456789:;<=>?@") != NULL, "printable ASCII preserved");
    }
    free(err);
    xv_free(back);
    xv_free(rv);
    free(doc);
}

/* ---- decoding accepted forms ---- */

static void test_decode_forms(void)
{
    const char *pretty =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!-- a comment -->\n"
        "<methodCall>\n"
        "  <methodName>VM.set_name_label</methodName>\n"
        "  <params>\n"
        "    <param>\n"
        "      <value>\n"
        "        <string>sess</string>\n"
        "      </value>\n"
        "    </param>\n"
        "    <param><value>untyped text</value></param>\n"
        "    <param><value><![CDATA[<cdata & stuff>]]></value></param>\n"
        "    <param>\n"
        "      <value>\n"
        "        <struct>\n"
        "          <member>\n"
        "            <name>k</name>\n"
        "            <value><i4>7</i4></value>\n"
        "          </member>\n"
        "          <member><value>v2</value><name>k2</name></member>\n"
        "        </struct>\n"
        "      </value>\n"
        "    </param>\n"
        "    <param><value><string>  keep  \n spaces </string></value></param>\n"
        "    <param><value>\n  <array>\n    <data>\n      <value><boolean>1</boolean></value>\n"
        "      <value><double> 1.5 </double></value>\n    </data>\n  </array>\n</value></param>\n"
        "  </params>\n"
        "</methodCall>\n";
    char *method = NULL, *err = NULL;
    xv *p = NULL;
    bool ok = xmlrpc_parse_call(pretty, strlen(pretty), NULL, &method, &p, &err);
    CHECKF(ok, "pretty-printed call parses (%s)", err ? err : "");
    if (ok) {
        CHECKF(strcmp(method, "VM.set_name_label") == 0, "method name");
        CHECKF(p->kind == XV_ARRAY && p->u.arr.n == 6, "6 params");
        CHECKF(str_is(p->u.arr.items[0], "sess"), "typed string");
        CHECKF(str_is(p->u.arr.items[1], "untyped text"), "untyped value");
        CHECKF(str_is(p->u.arr.items[2], "<cdata & stuff>"), "CDATA text");
        const xv *st = p->u.arr.items[3];
        int64_t i = 0;
        CHECKF(st->kind == XV_STRUCT && xv_get_int(xv_struct_get(st, "k"), &i) && i == 7 &&
              xv_struct_get(st, "k")->kind == XV_INT, "i4 member");
        CHECKF(str_is(xv_struct_get(st, "k2"), "v2"), "member with value before name");
        CHECKF(str_is(p->u.arr.items[4], "  keep  \n spaces "), "whitespace in <string> preserved");
        const xv *a = p->u.arr.items[5];
        CHECKF(a->kind == XV_ARRAY && a->u.arr.n == 2 && a->u.arr.items[0]->kind == XV_BOOL &&
              a->u.arr.items[0]->u.b && a->u.arr.items[1]->kind == XV_DOUBLE &&
              a->u.arr.items[1]->u.d == 1.5, "pretty array");
    }
    free(method);
    free(err);
    xv_free(p);

    /* no <params>, and empty <params/> */
    const char *noparams[] = {
        "<methodCall><methodName>system.listMethods</methodName></methodCall>",
        "<methodCall><methodName>system.listMethods</methodName><params/></methodCall>",
        "<?xml version=\"1.0\"?>\n<methodCall>\n <methodName> system.listMethods </methodName>\n <params>\n </params>\n</methodCall>\n",
    };
    for (size_t k = 0; k < 3; k++) {
        method = NULL;
        p = NULL;
        err = NULL;
        ok = xmlrpc_parse_call(noparams[k], strlen(noparams[k]), NULL, &method, &p, &err);
        CHECKF(ok && strcmp(method, "system.listMethods") == 0 && p->kind == XV_ARRAY && p->u.arr.n == 0,
              "zero-param form %zu (%s)", k, err ? err : "");
        free(method);
        free(err);
        xv_free(p);
    }

    /* empty arrays / structs / values */
    const char *empties[] = {
        "<value><array><data/></array></value>",
        "<value><array/></value>",
        "<value><array><data></data></array></value>",
        "<value><array>\n <data>\n </data>\n</array></value>",
        "<value>\n<array>\n</array>\n</value>",
    };
    for (size_t k = 0; k < sizeof(empties) / sizeof(empties[0]); k++) {
        err = NULL;
        xv *v = parse_value_xml(empties[k], &err);
        CHECKF(v && v->kind == XV_ARRAY && v->u.arr.n == 0, "empty array form %zu (%s)", k, err ? err : "");
        xv_free(v);
        free(err);
    }
    struct { const char *xml; const char *want; } strs[] = {
        { "<value/>", "" },
        { "<value></value>", "" },
        { "<value>  </value>", "  " },
        { "<value><string/></value>", "" },
        { "<value><string></string></value>", "" },
        { "<value>a &amp; b &lt; &#x263A;</value>", "a & b < \xE2\x98\xBA" },
        { "<value><string>x<!-- c -->y</string></value>", "xy" },
    };
    for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++) {
        err = NULL;
        xv *v = parse_value_xml(strs[k].xml, &err);
        CHECKF(str_is(v, strs[k].want), "string form %s (%s)", strs[k].xml, err ? err : "");
        xv_free(v);
        free(err);
    }
    xv *v = parse_value_xml("<value><struct/></value>", NULL);
    CHECKF(v && v->kind == XV_STRUCT && v->u.st.n == 0, "<struct/>");
    xv_free(v);
    v = parse_value_xml("<value><struct>\n</struct></value>", NULL);
    CHECKF(v && v->kind == XV_STRUCT && v->u.st.n == 0, "<struct> with whitespace");
    xv_free(v);
    v = parse_value_xml("<value><nil/></value>", NULL);
    CHECKF(v && v->kind == XV_NIL, "<nil/>");
    xv_free(v);
    v = parse_value_xml("<value><dateTime.iso8601> 20240102T10:11:12 </dateTime.iso8601></value>", NULL);
    CHECKF(v && v->kind == XV_DATETIME && strcmp(v->u.str.s, "20240102T10:11:12") == 0, "datetime trimmed");
    xv_free(v);
    v = parse_value_xml("<value><struct><member><name>a</name><value>1</value></member>"
                        "<member><name>a</name><value>2</value></member></struct></value>", NULL);
    CHECKF(v && v->u.st.n == 1 && str_is(xv_struct_get(v, "a"), "2"), "duplicate member: last wins");
    xv_free(v);
}

static void test_int_forms(void)
{
    struct { const char *xml; int64_t want; } ok_cases[] = {
        { "<value><int>42</int></value>", 42 },
        { "<value><int>-42</int></value>", -42 },
        { "<value><int>+5</int></value>", 5 },
        { "<value><int> 5 </int></value>", 5 },
        { "<value><i4>2147483647</i4></value>", 2147483647 },
        { "<value><i4>-2147483648</i4></value>", -2147483647LL - 1 },
        { "<value><i8>9223372036854775807</i8></value>", INT64_MAX },
        { "<value><i8>-9223372036854775808</i8></value>", INT64_MIN },
        { "<value><int>4294967296</int></value>", 4294967296LL },
    };
    for (size_t k = 0; k < sizeof(ok_cases) / sizeof(ok_cases[0]); k++) {
        char *err = NULL;
        xv *v = parse_value_xml(ok_cases[k].xml, &err);
        CHECKF(v && v->kind == XV_INT && v->u.i == ok_cases[k].want, "int form %s (%s)", ok_cases[k].xml,
              err ? err : "");
        xv_free(v);
        free(err);
    }
}

/* ---- structural errors ---- */

static void test_structural_errors(void)
{
    /* value, what the error says (NULL: anything), what is checked */
    static const char *const bad_values[][3] = {
        { "<value><i4>2147483648</i4></value>", "out of range", "i4 overflow" },
        { "<value><i4>-2147483649</i4></value>", "out of range", "i4 underflow" },
        { "<value><i8>9223372036854775808</i8></value>", "invalid integer", "i8 overflow" },
        { "<value><int>abc</int></value>", "invalid integer", "int junk" },
        { "<value><int></int></value>", "invalid integer", "int empty" },
        { "<value><int>1.5</int></value>", "invalid integer", "int fraction" },
        { "<value><int>0x10</int></value>", "invalid integer", "int hex" },
        { "<value><boolean>2</boolean></value>", "boolean", "boolean 2" },
        { "<value><boolean>true</boolean></value>", "boolean", "boolean true" },
        { "<value><double>abc</double></value>", "double", "double junk" },
        { "<value><double></double></value>", "double", "double empty" },
        { "<value><double>1e999</double></value>", "double", "double overflow" },
        { "<value><foo>1</foo></value>", "unknown value type <foo>", "unknown type" },
        { "<value><struct><member><name>a</name></member></struct></value>", "malformed member", "member without value" },
        { "<value><struct><member><value>1</value></member></struct></value>", "malformed member", "member without name" },
        { "<value><struct><member><name>a</name><value>1</value><value>2</value></member></struct></value>", "malformed member", "member with two values" },
        { "<value><struct><name>a</name></struct></value>", "<member>", "struct without member" },
        { "<value><struct><member><name><b/></name><value/></member></struct></value>", "unexpected element", "element in name" },
        { "<value><array><value>1</value></array></value>", "<data>", "array without data" },
        { "<value><array><data><string>x</string></data></array></value>", "<value>", "data without value" },
        { "<value><array><data/><data/></array></value>", "exactly one", "two data" },
        { "<value><string>a</string><string>b</string></value>", "exactly one", "two types in value" },
        { "<value>text<string>a</string></value>", "unexpected text", "text and type in value" },
        { "<value><string>a<b>x</b></string></value>", "unexpected element <b>", "element in string" },
        { "<value><nil>x</nil></value>", NULL, "nil with content" },
        { "<value><struct>junk</struct></value>", "unexpected text", "text in struct" },
    };
    for (size_t k = 0; k < sizeof(bad_values) / sizeof(bad_values[0]); k++)
        CHECKF(value_fails(bad_values[k][0], bad_values[k][1]), "bad value refused: %s", bad_values[k][2]);

    const char *calls[][2] = {
        { "<methodResponse><params/></methodResponse>", "methodCall" },
        { "<methodCall><params/></methodCall>", "methodName" },
        { "<methodCall><methodName></methodName></methodCall>", "empty <methodName>" },
        { "<methodCall><methodName>x</methodName><params><param/></params></methodCall>", "param" },
        { "<methodCall><methodName>x</methodName><params><value/></params></methodCall>", "unexpected <value>" },
        { "<methodCall><methodName>x</methodName><params/><params/></methodCall>", NULL },
        { "<methodCall><methodName>x</methodName><params><param><value/><value/></param></params></methodCall>", "param" },
        { "<methodCall><methodName>x</methodName>junk</methodCall>", "unexpected text" },
    };
    for (size_t k = 0; k < sizeof(calls) / sizeof(calls[0]); k++)
        CHECKF(call_fails(calls[k][0], strlen(calls[k][0]), NULL, calls[k][1]), "bad call %zu", k);

    const char *resps[] = {
        "<methodResponse/>",
        "<methodResponse><params/></methodResponse>",
        "<methodResponse><params><param><value/></param><param><value/></param></params></methodResponse>",
        "<methodResponse><fault><value><string>x</string></value></fault></methodResponse>",
        "<methodResponse><fault><value><struct><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>",
        "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member>"
        "<member><name>faultString</name><value><int>2</int></value></member></struct></value></fault></methodResponse>",
        "<methodCall><methodName>x</methodName></methodCall>",
    };
    for (size_t k = 0; k < sizeof(resps) / sizeof(resps[0]); k++) {
        char *err = NULL;
        xv *v = parse_resp(resps[k], strlen(resps[k]), NULL, &err);
        CHECKF(!v && err && *err, "bad response %zu rejected", k);
        xv_free(v);
        free(err);
    }
}

/* ---- hostile input ---- */

static const char billion_laughs[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE lolz [\n"
    " <!ENTITY lol \"lol\">\n"
    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
    "]>\n"
    "<methodCall><methodName>&lol9;</methodName><params><param><value>&lol9;</value></param></params></methodCall>\n";

static const char xxe[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE methodCall [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n"
    "<methodCall><methodName>x</methodName><params><param><value><string>&xxe;</string></value></param></params></methodCall>\n";

static const char xxe_resp[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE methodResponse [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n"
    "<methodResponse><params><param><value><string>&xxe;</string></value></param></params></methodResponse>\n";

static const char ext_dtd[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE methodCall SYSTEM \"file:///etc/passwd\">\n"
    "<methodCall><methodName>x</methodName></methodCall>\n";

static const char param_entity[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE methodCall [ <!ENTITY % p SYSTEM \"http://127.0.0.1:1/evil.dtd\"> %p; ]>\n"
    "<methodCall><methodName>x</methodName></methodCall>\n";

static const char undeclared_entity[] =
    "<methodCall><methodName>&foo;</methodName></methodCall>";

/* head, open levels times, inner, close levels times, tail. */
static char *nesting(const char *head, const char *open, const char *inner, const char *close,
                     const char *tail, int levels, size_t *len_r)
{
    xbuf b;
    xbuf_init(&b);
    xbuf_puts(&b, head);
    for (int k = 0; k < levels; k++)
        xbuf_puts(&b, open);
    xbuf_puts(&b, inner);
    for (int k = 0; k < levels; k++)
        xbuf_puts(&b, close);
    xbuf_puts(&b, tail);
    return xbuf_steal(&b, len_r);
}

/* A call whose param is levels arrays deep (levels + 1 values). */
static char *nested_values(int levels, size_t *len_r)
{
    return nesting("<methodCall><methodName>x</methodName><params><param>", "<value><array><data>",
                   "<value>x</value>", "</data></array></value>", "</param></params></methodCall>",
                   levels, len_r);
}

/* A call with elements levels deep that are no XML-RPC at all. */
static char *raw_nesting(int levels, size_t *len_r)
{
    return nesting("<methodCall><methodName>x</methodName>", "<a>", "", "</a>", "</methodCall>", levels,
                   len_r);
}

static char *many_values(size_t n, const char *item, size_t *len_r)
{
    xbuf b;
    xbuf_init(&b);
    xbuf_puts(&b, "<methodCall><methodName>x</methodName><params><param><value><array><data>");
    for (size_t k = 0; k < n; k++)
        xbuf_puts(&b, item);
    xbuf_puts(&b, "</data></array></value></param></params></methodCall>");
    return xbuf_steal(&b, len_r);
}

/* Counts every attempt libxml2 makes to load an external resource. */
static int entity_loads;
static xmlParserInputPtr counting_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    __atomic_fetch_add(&entity_loads, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

typedef struct hostile { const char *name; char *body; size_t len; const char *want; xmlrpc_limits lim; } hostile;

static void test_hostile(void)
{
    hostile h[16];
    size_t nh = 0;
    xmlrpc_limits none = { 0, 0, 0 };

    h[nh++] = (hostile){ "billion laughs", strdup(billion_laughs), strlen(billion_laughs), "DOCTYPE", none };
    h[nh++] = (hostile){ "XXE", strdup(xxe), strlen(xxe), "DOCTYPE", none };
    h[nh++] = (hostile){ "external DTD", strdup(ext_dtd), strlen(ext_dtd), "DOCTYPE", none };
    h[nh++] = (hostile){ "parameter entity", strdup(param_entity), strlen(param_entity), "DOCTYPE", none };
    h[nh++] = (hostile){ "undeclared entity", strdup(undeclared_entity), strlen(undeclared_entity), "malformed XML", none };
    h[nh].name = "10,000-deep values";
    h[nh].body = nested_values(10000, &h[nh].len);
    h[nh].want = "deep";
    h[nh++].lim = none;
    h[nh].name = "100,000-deep raw nesting";
    h[nh].body = raw_nesting(100000, &h[nh].len);
    h[nh].want = "deep";
    h[nh++].lim = none;
    h[nh].name = "65-deep values (over max_depth 64)";
    h[nh].body = nested_values(65, &h[nh].len);
    h[nh].want = "deep";
    h[nh++].lim = none;
    h[nh].name = "nodes over a small limit";
    h[nh].body = many_values(5000, "<value/>", &h[nh].len);
    h[nh].want = "too many nodes";
    h[nh++].lim = (xmlrpc_limits){ 0, 0, 1000 };
    h[nh].name = "comments over a small node limit";
    h[nh].body = many_values(5000, "<!---->", &h[nh].len);
    h[nh].want = "too many nodes";
    h[nh++].lim = (xmlrpc_limits){ 0, 0, 1000 };
    h[nh].name = "body over a small size limit";
    h[nh].body = many_values(100, "<value/>", &h[nh].len);
    h[nh].want = "too large";
    h[nh++].lim = (xmlrpc_limits){ 512, 0, 0 };
    h[nh++] = (hostile){ "truncated", strdup("<methodCall><methodName>x</methodName><params><param><val"), 0,
                         "malformed XML", none };
    h[nh++] = (hostile){ "garbage", strdup("\x01\x02GET / HTTP/1.1\r\n\r\n{\"json\": true}"), 0, "malformed XML", none };
    h[nh++] = (hostile){ "invalid UTF-8", strdup("<methodCall><methodName>x\xff\xfe</methodName></methodCall>"), 0,
                         "malformed XML", none };
    h[nh++] = (hostile){ "empty", strdup(""), 0, "empty", none };
    h[nh++] = (hostile){ "two roots", strdup("<methodCall><methodName>x</methodName></methodCall><methodCall/>"), 0,
                         "malformed XML", none };
    for (size_t k = 0; k < nh; k++)
        if (!h[k].len)
            h[k].len = strlen(h[k].body);

    xmlExternalEntityLoader old_loader = xmlGetExternalEntityLoader();
    xmlSetExternalEntityLoader(counting_loader);

    /* stderr must stay silent: libxml2 never prints. */
    fflush(stderr);
    char tmpl[] = "/tmp/test_codec_stderr.XXXXXX";
    int tfd = mkstemp(tmpl);
    int saved = dup(2);
    if (tfd >= 0) {
        unlink(tmpl);
        dup2(tfd, 2);
    }
    bool results[16];
    for (size_t k = 0; k < nh; k++)
        results[k] = call_fails(h[k].body, h[k].len, &h[k].lim, h[k].want);
    fflush(stderr);
    off_t printed = tfd >= 0 ? lseek(tfd, 0, SEEK_END) : 0;
    dup2(saved, 2);
    close(saved);
    if (tfd >= 0)
        close(tfd);
    for (size_t k = 0; k < nh; k++)
        CHECKF(results[k], "hostile '%s' rejected with '%s'", h[k].name, h[k].want);
    CHECKF(printed == 0, "nothing printed to stderr while parsing hostile input (%lld bytes)", (long long)printed);

    /* The XXE as a response as well: must not contain the file. */
    char *err = NULL;
    xv *v = parse_resp(xxe_resp, strlen(xxe_resp), NULL, &err);
    CHECKF(!v && err && strstr(err, "DOCTYPE") && !strstr(err, "root:"), "XXE response rejected");
    free(err);

    /* Bounded memory: repeat each many times (ASan/valgrind judge leaks). */
    int reps = getenv("TEST_CODEC_QUICK") ? 3 : 40;
    bool all = true;
    for (int r = 0; r < reps; r++)
        for (size_t k = 0; k < nh; k++)
            all &= call_fails(h[k].body, h[k].len, &h[k].lim, h[k].want);
    CHECKF(all, "hostile documents rejected repeatedly");
    CHECKF(entity_loads == 0, "no external entity or DTD was ever loaded (%d attempts)", entity_loads);
    /* Control: the hook does see loads when a careless parser is used. */
    xmlDocPtr careless = xmlReadMemory(ext_dtd, (int)strlen(ext_dtd), NULL, NULL,
                                       XML_PARSE_DTDLOAD | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlFreeDoc(careless);
    CHECKF(entity_loads > 0, "control: a DTDLOAD parse does call the loader");
    xmlSetExternalEntityLoader(old_loader);

    for (size_t k = 0; k < nh; k++)
        free(h[k].body);

    /* Over the default 8 MiB size limit. */
    size_t big = (size_t)8 * 1024 * 1024 + 1;
    char *body = malloc(big);
    memset(body, ' ', big);
    memcpy(body, "<methodCall>", 12);
    CHECKF(call_fails(body, big, NULL, "too large"), "body over 8 MiB default");
    free(body);

    /* Over the default node limit (1,000,000) within the size limit. */
    size_t len;
    body = many_values(1100000, "<a/>", &len);
    CHECKF(len < (size_t)8 * 1024 * 1024, "node bomb fits the size limit");
    CHECKF(call_fails(body, len, NULL, "too many nodes"), "over the default node limit");
    free(body);

    /* max_depth applies on value nesting: 4 nested arrays = 5 values. */
    xmlrpc_limits d5 = { 0, 5, 0 };
    body = nested_values(4, &len);
    char *method = NULL;
    xv *p = NULL;
    err = NULL;
    CHECKF(xmlrpc_parse_call(body, len, &d5, &method, &p, &err), "depth 5 accepted at max_depth 5 (%s)",
          err ? err : "");
    free(method);
    xv_free(p);
    free(err);
    free(body);
    body = nested_values(5, &len);
    CHECKF(call_fails(body, len, &d5, "nested too deeply"), "depth 6 rejected at max_depth 5");
    free(body);
    body = nested_values(60, &len);
    method = NULL;
    p = NULL;
    err = NULL;
    CHECKF(xmlrpc_parse_call(body, len, NULL, &method, &p, &err), "60 nested arrays accepted by default (%s)",
          err ? err : "");
    free(method);
    xv_free(p);
    free(err);
    free(body);

    /* With our own depth limit raised out of the way, libxml2's own element
     * depth limit (256 without XML_PARSE_HUGE) still stops raw nesting. */
    xmlrpc_limits deep = { 0, 100000, 0 };
    body = raw_nesting(100000, &len);
    CHECKF(call_fails(body, len, &deep, "malformed XML"), "libxml2 depth limit still applies");
    free(body);
    body = nested_values(10000, &len);
    CHECKF(call_fails(body, len, &deep, "malformed XML"), "libxml2 depth limit on values");
    free(body);

    /* A struct with many members (and duplicates) decodes in linear time. */
    xbuf b;
    xbuf_init(&b);
    xbuf_puts(&b, "<methodResponse><params><param><value><struct>");
    for (int k = 0; k < 100000; k++)
        xbuf_printf(&b, "<member><name>k%d</name><value>%d</value></member>", k % 60000, k);
    xbuf_puts(&b, "</struct></value></param></params></methodResponse>");
    body = xbuf_steal(&b, &len);
    clock_t t0 = clock();
    v = parse_resp(body, len, NULL, NULL);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECKF(v && v->u.st.n == 60000 && str_is(xv_struct_get(v, "k5"), "60005") &&
          str_is(xv_struct_get(v, "k59999"), "59999") && strcmp(v->u.st.keys[7], "k7") == 0,
          "big struct with duplicates");
    CHECKF(secs < 10, "big struct decodes quickly (%.2fs)", secs);
    xv_free(v);
    free(body);
}

/* ---- fuzz ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static const char *fuzz_tokens[] = {
    "<", ">", "/", "<value>", "</value>", "<array>", "<data>", "</data>", "<struct>", "<member>", "<name>",
    "&amp;", "&", "<!DOCTYPE x [<!ENTITY a \"b\">]>", "<![CDATA[", "]]>", "<!--", "-->", "<i4>", "<int>",
    "\xff", "\xc3", "\0", "<nil/>", "<double>", "1e400", "-", "9999999999999999999",
};

/* Mutate the document in buf (len bytes, room for cap) a few times. */
static void mutate(char *buf, size_t *len_r, size_t cap)
{
    size_t len = *len_r;
    int muts = 1 + (int)(rnd() % 3);
    for (int m = 0; m < muts; m++) {
        uint32_t op = rnd() % 12;
        size_t pos = len ? rnd() % len : 0;
        if (op <= 3 && len) {                          /* overwrite with a letter */
            buf[pos] = "abcXYZ019 .-_"[rnd() % 13];
        } else if (op == 4 && len) {                   /* random byte */
            buf[pos] = (char)(rnd() & 0xFF);
        } else if (op == 5 && len > 1) {               /* delete a run */
            size_t n = 1 + rnd() % 16;
            if (n > len - pos)
                n = len - pos;
            memmove(buf + pos, buf + pos + n, len - pos - n);
            len -= n;
        } else if (op == 6 && len + 64 < cap) { /* insert a token */
            const char *t = fuzz_tokens[rnd() % (sizeof(fuzz_tokens) / sizeof(fuzz_tokens[0]))];
            size_t n = strlen(t);
            if (n == 0)
                n = 1;                                  /* the "\0" token */
            memmove(buf + pos + n, buf + pos, len - pos);
            memcpy(buf + pos, t, n);
            len += n;
        } else if (op == 7 && rnd() % 4 == 0) {        /* truncate */
            len = pos;
        } else if (op == 8 && len > 32 && len + 64 < cap) { /* duplicate a chunk */
            size_t n = 1 + rnd() % 64;
            if (n > len - pos)
                n = len - pos;
            memmove(buf + pos + n, buf + pos, len - pos);
            len += n;
        } else if (op == 9 && len) {                   /* markup characters */
            buf[pos] = "<>/&;\"' \n\r"[rnd() % 10];
        }
    }
    *len_r = len;
}

static void test_fuzz(void)
{
    xv *seed_v = sample_value();
    xv *params = xv_array();
    xv_array_add(params, seed_v);
    xv_array_add(params, xv_int(-5));
    xbuf b;
    xbuf_init(&b);
    xmlrpc_encode_call(&b, "VM.create", params);
    size_t seed_len;
    char *seed = xbuf_steal(&b, &seed_len);
    const char *seed2 =
        "<?xml version=\"1.0\"?>\n<methodResponse>\n <params>\n  <param>\n   <value><array><data>\n"
        "    <value><i4>1</i4></value><value><boolean>0</boolean></value><value/>\n"
        "    <value><struct><member><name>n</name><value><double>2.5</double></value></member></struct></value>\n"
        "   </data></array></value>\n  </param>\n </params>\n</methodResponse>\n";
    const char *seeds[] = { seed, seed2 };
    size_t seed_lens[] = { seed_len, strlen(seed2) };

    int iters = getenv("TEST_CODEC_QUICK") ? 2000 : 20000;
    int accepted = 0, reencode_ok = 0, silent_rejects = 0;
    xmlrpc_limits lim = { 1 << 20, 16, 20000 };
    char *buf = malloc(seed_len * 4 + 4096);
    for (int it = 0; it < iters; it++) {
        int which = (int)(rnd() % 2);
        size_t len = seed_lens[which];
        memcpy(buf, seeds[which], len);
        mutate(buf, &len, seed_len * 4 + 4096);
        char *method = NULL, *err = NULL;
        xv *p = NULL;
        if (xmlrpc_parse_call(buf, len, &lim, &method, &p, &err)) {
            accepted++;
            /* Whatever we accept must re-encode to something we accept again. */
            xbuf_init(&b);
            xmlrpc_encode_call(&b, method, p);
            size_t l2;
            char *again = xbuf_steal(&b, &l2);
            char *m2 = NULL, *e2 = NULL;
            xv *p2 = NULL;
            if (xmlrpc_parse_call(again, l2, &lim, &m2, &p2, &e2))
                reencode_ok++;
            else
                xtest_diag("  re-encode failed: %s", e2);
            free(m2);
            free(e2);
            xv_free(p2);
            free(again);
            free(method);
            xv_free(p);
        } else {
            if (!err || !*err)
                silent_rejects++;
            free(err);
        }
        xv *v = NULL;
        int code;
        char *fs = NULL;
        err = NULL;
        if (xmlrpc_parse_response(buf, len, &lim, &v, &code, &fs, &err)) {
            xv_free(v);
            free(fs);
        } else {
            free(err);
        }
    }
    CHECKF(accepted == reencode_ok, "every accepted fuzz call re-encodes and re-parses (%d/%d)", reencode_ok, accepted);
    CHECKF(silent_rejects == 0, "every fuzz rejection has a message (%d without)", silent_rejects);
    CHECKF(accepted > iters / 50, "fuzz explores accepted documents too (%d)", accepted);
    printf("fuzz: %d iterations, %d calls accepted\n", iters, accepted);

    /* Random strings always encode to well-formed XML. */
    int wf = 0, n_str = iters / 10;
    for (int it = 0; it < n_str; it++) {
        char s[64];
        size_t n = rnd() % sizeof(s);
        for (size_t k = 0; k < n; k++)
            s[k] = (char)(rnd() & 0xFF);
        xv *sv = xv_strn(s, n);
        size_t dl;
        char *doc = encode_response_str(sv, &dl);
        xv *back = parse_resp(doc, dl, NULL, NULL);
        if (back && back->kind == XV_STRING)
            wf++;
        xv_free(back);
        xv_free(sv);
        free(doc);
    }
    CHECKF(wf == n_str, "random byte strings always encode to well-formed XML (%d/%d)", wf, n_str);

    free(buf);
    free(seed);
    xv_free(params);
}

/* ---- the call readers against each other ----
 *
 * xmlrpc_parse_call tries the fast reader and hands what it gives up on to
 * libxml2.  Over a corpus (the fuzzer's seeds, the golden requests, the
 * cases below and mutations of them all): where the fast reader decodes a
 * call, libxml2 decodes the same method and params (compared as values and
 * as their encoding, so member order and -0 count); where it gives up it
 * says nothing; and xmlrpc_parse_call answers exactly as libxml2 alone,
 * error text included. */

typedef struct call_read {
    bool ok;
    char *method, *err;
    xv *params;
    char *wire;                /* the params encoded again */
} call_read;

static void read_call(xmlrpc_reader r, const char *body, size_t len, const xmlrpc_limits *lim,
                      call_read *c)
{
    memset(c, 0, sizeof(*c));
    c->ok = xmlrpc_parse_call_with(r, body, len, lim, &c->method, &c->params, &c->err);
    if (c->ok) {
        xbuf b;
        xbuf_init(&b);
        xmlrpc_encode_call(&b, c->method, c->params);
        c->wire = xbuf_steal(&b, NULL);
    }
}

static bool same_call(const call_read *a, const call_read *b)
{
    if (a->ok != b->ok)
        return false;
    if (!a->ok)
        return a->err && b->err && strcmp(a->err, b->err) == 0;
    return strcmp(a->method, b->method) == 0 && xv_equal(a->params, b->params) &&
           strcmp(a->wire, b->wire) == 0;
}

/* 1 if the readers agree on body, else 0 (and the case is shown);
 * *fast_r counts the documents the fast reader decodes. */
static int readers_agree(const char *what, const char *body, size_t len, const xmlrpc_limits *lim,
                         int *fast_r)
{
    static const xmlrpc_reader readers[] = { XMLRPC_READER_FAST, XMLRPC_READER_LIBXML2, XMLRPC_READER_ANY };
    call_read r[3];
    for (int i = 0; i < 3; i++)
        read_call(readers[i], body, len, lim, &r[i]);
    const call_read *f = &r[0], *x = &r[1], *any = &r[2];
    bool agree = (f->ok ? same_call(f, x) : f->err == NULL) && same_call(any, x);
    if (!agree)
        xtest_diag("  %s: fast %s, libxml2 %s (%s), both %s: %.*s", what,
                   f->ok ? "decodes" : "gives up", x->ok ? "decodes" : "refuses", x->err ? x->err : "",
                   any->ok ? "decodes" : "refuses", (int)(len < 300 ? len : 300), body);
    if (f->ok)
        (*fast_r)++;
    for (int i = 0; i < 3; i++) {
        free(r[i].method);
        free(r[i].err);
        free(r[i].wire);
        xv_free(r[i].params);
    }
    return agree;
}

static char *read_file(const char *path, size_t *len_r)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    xbuf b;
    xbuf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        xbuf_add(&b, chunk, n);
    fclose(fp);
    return xbuf_steal(&b, len_r);
}

/* The files of dir (under the source tree) whose names end in suffix. */
static int read_corpus_dir(const char *dir, const char *suffix, char **docs, size_t *lens, int max)
{
    const char *src = getenv("XEND_SRCDIR");
    char *path = NULL;
    int n = 0;
    if (asprintf(&path, "%s/%s", src ? src : ".", dir) < 0)
        abort();
    DIR *d = opendir(path);
    CHECKF(d != NULL, "corpus directory %s readable (XEND_SRCDIR=%s)", path, src ? src : "unset");
    for (struct dirent *e; d && (e = readdir(d)) != NULL && n < max;) {
        size_t l = strlen(e->d_name), sl = strlen(suffix);
        if (e->d_name[0] == '.' || l < sl || strcmp(e->d_name + l - sl, suffix) != 0)
            continue;
        char *file = NULL;
        if (asprintf(&file, "%s/%s", path, e->d_name) < 0)
            abort();
        docs[n] = read_file(file, &lens[n]);
        CHECKF(docs[n] != NULL, "%s readable", file);
        free(file);
        if (docs[n])
            n++;
    }
    if (d)
        closedir(d);
    free(path);
    return n;
}

#define CALL(params) "<?xml version=\"1.0\"?><methodCall><methodName>m</methodName><params>" params \
                     "</params></methodCall>"
#define PARAM(v) "<param><value>" v "</value></param>"

/* Calls the fast reader decodes (the plain forms clients write). */
static const char *const plain_calls[] = {
    CALL(PARAM("<string>OpaqueRef:1</string>") PARAM("<string>x</string>")),
    "<?xml version='1.0'?>\n<methodCall>\n<methodName>VM.get_record</methodName>\n<params>\n"
    "<param>\n<value><string>s</string></value>\n</param>\n<param>\n<value><struct>\n<member>\n"
    "<name>k</name>\n<value><int>3</int></value>\n</member>\n</struct></value>\n</param>\n"
    "</params>\n</methodCall>\n",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><methodCall><methodName>a</methodName></methodCall>",
    "<?xml version='1.0' encoding='utf-8'?><methodCall><methodName>a</methodName><params/></methodCall>",
    "<methodCall><methodName>no.declaration</methodName><params></params></methodCall>",
    "  \n<methodCall>\t<methodName> \n trimmed \t</methodName> </methodCall>\n \n",
    "<methodCall><methodName>&#86;M.&amp;&lt;&gt;&quot;&apos;</methodName></methodCall>",
    CALL(PARAM("") PARAM("  ") PARAM("un&amp;typed") PARAM(" <string> kept </string> ")),
    CALL(PARAM("<i4>-2147483648</i4>") PARAM("<i8>9223372036854775807</i8>") PARAM("<int> 7 </int>")),
    CALL(PARAM("<boolean>1</boolean>") PARAM("<boolean> 0 </boolean>") PARAM("<double>-0</double>")
         PARAM("<double> 1e-300 </double>") PARAM("<nil/>")),
    CALL(PARAM("<dateTime.iso8601> 20261202T07:50:00 </dateTime.iso8601>") PARAM("<base64> aGk= </base64>")),
    CALL(PARAM("<string>&#13;&#10;&#x9;&#xE9;&#233;&#x1F600;&#xFFFD;</string>")),
    CALL(PARAM("<string>h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80 \x7F</string>")),
    CALL(PARAM("<string>a]]b > c ]> ]]</string>")),
    CALL(PARAM("<array><data></data></array>") PARAM("<array> <data> <value>a</value> </data> </array>")),
    CALL(PARAM("<struct></struct>")
         PARAM("<struct><member><name>k</name><value>v</value></member>"
               "<member><name>k</name><value>w</value></member>"
               "<member><name> spaced </name><value><struct><member><name></name><value></value></member>"
               "</struct></value></member></struct>")),
};

/* Calls it gives up on: libxml2 decides (decodes or refuses). */
static const char *const unusual_calls[] = {
    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall><methodName>caf\xE9</methodName></methodCall>",
    "\xEF\xBB\xBF<methodCall><methodName>bom</methodName></methodCall>",
    "<?xml version=\"1.0\" standalone=\"yes\"?><methodCall><methodName>a</methodName></methodCall>",
    " <?xml version=\"1.0\"?><methodCall><methodName>a</methodName></methodCall>",
    "<!--c--><methodCall><methodName>a</methodName></methodCall>",
    "<methodCall><methodName>a</methodName></methodCall><!--c-->",
    "<methodCall><methodName>a</methodName></methodCall><?pi x?>",
    "<methodCall><methodName>a</methodName></methodCall>x",
    "<methodCall><methodName>a</methodName></methodCall><methodCall/>",
    "<methodCall><methodName><![CDATA[a<b]]></methodName></methodCall>",
    "<methodCall><methodName>a<!--c-->b</methodName></methodCall>",
    "<methodCall><?pi?><methodName>a</methodName></methodCall>",
    "<!DOCTYPE methodCall [<!ENTITY e \"x\">]><methodCall><methodName>&e;</methodName></methodCall>",
    "<methodCall><methodName>&e;</methodName></methodCall>",
    "<methodCall><methodName a=\"1\">a</methodName></methodCall>",
    "<methodCall ><methodName >a</methodName ></methodCall >",
    "<methodCall>\r\n<methodName>crlf</methodName>\r\n</methodCall>",
    CALL(PARAM("<string>cr\r\nlf</string>")),
    "<methodCall><methodName></methodName></methodCall>",
    "<methodCall><methodName>  </methodName></methodCall>",
    "<methodCall><methodName>a</methodName><params><param></param></params></methodCall>",
    "<methodCall><methodName>a</methodName><params><param><value/></param></params></methodCall>",
    "<methodCall><methodName>a</methodName><params/><params/></methodCall>",
    "<methodCall><methodName>a</methodName><foo/></methodCall>",
    "<methodCall><params/><methodName>a</methodName></methodCall>",
    "<methodResponse><params/></methodResponse>",
    "<methodCall><methodName>a</methodName>",
    "<methodCall><methodName>a</methodName></methodcall>",
    CALL(PARAM("<string/>")),
    CALL(PARAM("<string>x</string><string>y</string>")),
    CALL(PARAM("x<string>y</string>")),
    CALL(PARAM("<nil></nil>")),
    CALL(PARAM("<nil>x</nil>")),
    CALL(PARAM("<array/>")),
    CALL(PARAM("<array><data/></array>")),
    CALL(PARAM("<struct><member><value>v</value><name>k</name></member></struct>")),
    CALL(PARAM("<struct><member><name>k</name></member></struct>")),
    CALL(PARAM("<strin>x</strin>")),
    CALL(PARAM("<i4>2147483648</i4>") PARAM("<int>1x</int>")),
    CALL(PARAM("<boolean>2</boolean>")),
    CALL(PARAM("<double>1e999</double>")),
    CALL(PARAM("<string>&#0;</string>")),
    CALL(PARAM("<string>&#xD800;</string>")),
    CALL(PARAM("<string>&#xFFFE;</string>")),
    CALL(PARAM("<string>&#x110000;</string>")),
    CALL(PARAM("<string>&#00000000065;</string>")),
    CALL(PARAM("<string>&#x;</string>")),
    CALL(PARAM("<string>&#12a;</string>")),
    CALL(PARAM("<string>&amp</string>")),
    CALL(PARAM("<string>&bogus;</string>")),
    CALL(PARAM("<string>a]]>b</string>")),
    CALL(PARAM("<string>ctl\x01</string>")),
    CALL(PARAM("<string>bad \xC3 utf8</string>")),
    CALL(PARAM("<string>overlong \xC0\xAF</string>")),
    CALL(PARAM("<string>surrogate \xED\xA0\x80</string>")),
    CALL(PARAM("<string>\xEF\xBF\xBE</string>")),
    CALL(PARAM("<string>\xF4\x90\x80\x80</string>")),
};

static void test_call_readers(void)
{
    enum { MAX_DOCS = 256 };
    char *docs[MAX_DOCS];
    size_t lens[MAX_DOCS];
    int n = 0, agree = 0, fast = 0;

    int seeds = read_corpus_dir("fuzz/corpus/xmlrpc_call", "", docs, lens, MAX_DOCS);
    int golden = read_corpus_dir("tests/golden", ".request.xml", docs + seeds, lens + seeds,
                                 MAX_DOCS - seeds);
    n = seeds + golden;
    CHECKF(seeds >= 5 && golden >= 20, "the corpus is there: %d fuzz seeds, %d golden requests", seeds,
           golden);
    for (int i = 0; i < n; i++)
        agree += readers_agree("corpus", docs[i], lens[i], NULL, &fast);
    CHECKF(agree == n, "the readers agree on the fuzz seeds and golden requests (%d/%d)", agree, n);
    CHECKF(fast >= golden, "the fast reader decodes the golden requests (%d of %d corpus files)", fast, n);

    int np = (int)(sizeof plain_calls / sizeof plain_calls[0]);
    int nu = (int)(sizeof unusual_calls / sizeof unusual_calls[0]);
    agree = fast = 0;
    for (int i = 0; i < np; i++)
        agree += readers_agree("plain", plain_calls[i], strlen(plain_calls[i]), NULL, &fast);
    CHECKF(agree == np && fast == np, "the fast reader decodes every plain call as libxml2 does (%d, %d/%d)",
           agree, fast, np);
    agree = fast = 0;
    for (int i = 0; i < nu; i++)
        agree += readers_agree("unusual", unusual_calls[i], strlen(unusual_calls[i]), NULL, &fast);
    CHECKF(agree == nu && fast == 0, "the fast reader leaves every unusual call to libxml2 (%d, %d/%d)",
           agree, nu - fast, nu);

    /* The limits, each side of the line, and libxml2's own depth limit. */
    agree = fast = 0;
    int cases = 0;
    for (int levels = 3; levels <= 90; levels += 87) {
        size_t len;
        char *doc = nested_values(levels - 1, &len);   /* levels of values */
        int lims[] = { levels - 1, levels, levels + 20 };
        for (int k = 0; k < 3; k++, cases++) {
            xmlrpc_limits lim = { 0, lims[k], 0 };
            agree += readers_agree("depth", doc, len, &lim, &fast);
        }
        /* nodes: 4 of the envelope, 3 a level (value, array, data), the last value */
        size_t nodes = 3 * (size_t)levels + 2;
        for (int k = -1; k <= 0; k++, cases++) {
            xmlrpc_limits lim = { 0, 200, nodes + (size_t)k };
            agree += readers_agree("nodes", doc, len, &lim, &fast);
        }
        for (int k = -1; k <= 0; k++, cases++) {
            xmlrpc_limits lim = { len + (size_t)k, 200, 0 };
            agree += readers_agree("bytes", doc, len, &lim, &fast);
        }
        free(doc);
    }
    CHECKF(agree == cases, "the readers agree at the limits (%d/%d)", agree, cases);
    CHECKF(fast == 4, "the fast reader decodes within the limits only (%d of %d)", fast, cases);

    /* Mutations of all of it, and of the encoder's own output. */
    xv *params = xv_array();
    xv_array_add(params, sample_value());
    xv_array_add(params, xv_str("OpaqueRef:x"));
    xbuf eb;
    xbuf_init(&eb);
    xmlrpc_encode_call(&eb, "VM.set_other_config", params);
    xv_free(params);
    docs[n] = xbuf_steal(&eb, &lens[n]);
    n++;
    int iters = getenv("TEST_CODEC_QUICK") ? 3000 : 30000;
    xmlrpc_limits lim = { 1 << 20, 16, 20000 };
    agree = fast = 0;
    for (int it = 0; it < iters; it++) {
        int i = it % 3 == 0 ? n - 1 : (int)(rnd() % (uint32_t)n);
        size_t len = lens[i], cap = len * 4 + 4096;
        char *buf = malloc(cap);
        if (!buf)
            abort();
        memcpy(buf, docs[i], len);
        mutate(buf, &len, cap);
        agree += readers_agree("mutated", buf, len, &lim, &fast);
        free(buf);
    }
    CHECKF(agree == iters, "the readers agree on every mutated call (%d/%d)", agree, iters);
    CHECKF(fast > iters / 100, "mutated calls reach the fast reader too (%d decoded)", fast);
    printf("call readers: %d mutated calls, %d decoded by the fast reader\n", iters, fast);
    for (int i = 0; i < n; i++)
        free(docs[i]);
}

/* ---- the response fast path against libxml2 ----
 *
 * xmlrpc_parse_response decodes the plain form directly and hands anything
 * else to libxml2.  A comment before the root element is such a thing, so
 * the same document with one inserted must decode to the same value, or be
 * refused by both paths. */

static xv *parse_resp_via_libxml(const char *body, size_t len, const xmlrpc_limits *lim)
{
    static const char decl[] = "<?xml version=\"1.0\"?>";
    size_t at = len >= sizeof decl - 1 && memcmp(body, decl, sizeof decl - 1) == 0 ? sizeof decl - 1 : 0;
    char *doc = malloc(len + 16);
    if (!doc)
        abort();
    memcpy(doc, body, at);
    memcpy(doc + at, "<!--x-->", 8);
    memcpy(doc + at + 8, body + at, len - at);
    xv *v = parse_resp(doc, len + 8, lim, NULL);
    free(doc);
    return v;
}

/* 1 if both paths agree, 0 if not; *accepted_r counts the accepted ones. */
static int fast_path_agrees(const char *body, size_t len, const xmlrpc_limits *lim, int *accepted_r)
{
    if (len >= 5 && memcmp(body, "<?xml", 5) == 0 && (len < 21 || memcmp(body, "<?xml version=\"1.0\"?>", 21) != 0))
        return 1;   /* a mangled declaration: no place to put the comment */
    xv *a = parse_resp(body, len, lim, NULL);
    xv *b = parse_resp_via_libxml(body, len, lim);
    int same = (!a && !b) || (a && b && xv_equal(a, b));
    if (!same)
        xtest_diag("  fast path %s, libxml2 %s: %.*s", a ? "accepts" : "refuses", b ? "accepts" : "refuses",
                   (int)(len < 300 ? len : 300), body);
    if (a)
        (*accepted_r)++;
    xv_free(a);
    xv_free(b);
    return same;
}

static void test_fast_path(void)
{
    static const char *const values[] = {
        "<value><string>plain</string></value>",
        "<value>untyped &amp; &lt;x&gt; &quot;q&quot; &apos;a&apos;</value>",
        "<value><string>&#13;&#10;&#x9;&#xE9;&#233;&#x1F600;</string></value>",
        "<value><string>h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80</string></value>",
        "<value><string></string></value>", "<value></value>", "<value>  </value>",
        "<value> <int>-7</int> </value>", "<value><i4>2147483647</i4></value>", "<value><i4>2147483648</i4></value>",
        "<value><i8>9223372036854775807</i8></value>", "<value><int> 12 </int></value>", "<value><int>1x</int></value>",
        "<value><boolean>1</boolean></value>", "<value><boolean> 0 </boolean></value>", "<value><boolean>2</boolean></value>",
        "<value><double>1.5e3</double></value>", "<value><double>1e999</double></value>", "<value><double>x</double></value>",
        "<value><dateTime.iso8601> 20261202T07:50:00 </dateTime.iso8601></value>",
        "<value><base64> aGk= </base64></value>", "<value><nil/></value>", "<value><nil></nil></value>",
        "<value><array><data></data></array></value>", "<value><array/></value>",
        "<value><array>\n <data>\n  <value>a</value>\n  <value><int>1</int></value>\n </data>\n</array></value>",
        "<value><struct></struct></value>",
        "<value><struct><member><name>k</name><value>v</value></member>"
        "<member><name>k</name><value>w</value></member></struct></value>",
        "<value><struct>\n <member>\n  <name> spaced key </name>\n  <value><string>v</string></value>\n </member>\n"
        "</struct></value>",
        "<value><struct><member><value>v</value><name>k</name></member></struct></value>",
        "<value><string>a]]>b</string></value>", "<value><string>a]]b > c</string></value>",
        "<value><string>raw\rcr</string></value>", "<value><string>ctl\x01</string></value>",
        "<value><string>bad \xC3 utf8</string></value>", "<value><string>\xEF\xBF\xBE</string></value>",
        "<value><string>&#0;</string></value>", "<value><string>&#xD800;</string></value>", "<value><string>&bogus;</string></value>",
        "<value><string>&amp</string></value>", "<value><string><![CDATA[<x>]]></string></value>",
        "<value><string>a<!-- c -->b</string></value>", "<value><string a=\"1\">x</string></value>",
        "<value><strin>x</strin></value>", "<value><string>x</value>", "<value>x<int>1</int></value>",
        "<value><int>1</int><int>2</int></value>",
    };
    int agree = 0, accepted = 0, n = (int)(sizeof values / sizeof values[0]);
    for (int i = 0; i < n; i++) {
        char *doc = NULL;
        if (asprintf(&doc, "<?xml version=\"1.0\"?><methodResponse><params><param>%s</param></params></methodResponse>",
                     values[i]) < 0)
            abort();
        agree += fast_path_agrees(doc, strlen(doc), NULL, &accepted);
        free(doc);
    }
    CHECKF(agree == n, "fast path and libxml2 agree on every sample value (%d/%d)", agree, n);
    CHECKF(accepted > n / 2 && accepted < n, "the samples include accepted and refused ones (%d of %d accepted)",
           accepted, n);

    /* The encoder's output, and mutations of it. */
    xv *sv = sample_value();
    size_t seed_len;
    char *seed = encode_response_str(sv, &seed_len);
    int seed_ok = 0;
    CHECKF(fast_path_agrees(seed, seed_len, NULL, &seed_ok) && seed_ok,
           "the fast path decodes the encoder's sample value as libxml2 does");
    int iters = getenv("TEST_CODEC_QUICK") ? 2000 : 20000;
    xmlrpc_limits lim = { 1 << 20, 16, 20000 };
    char *buf = malloc(seed_len * 4 + 4096);
    if (!buf)
        abort();
    agree = accepted = 0;
    for (int it = 0; it < iters; it++) {
        size_t len = seed_len;
        memcpy(buf, seed, len);
        mutate(buf, &len, seed_len * 4 + 4096);
        agree += fast_path_agrees(buf, len, &lim, &accepted);
    }
    CHECKF(agree == iters, "fast path and libxml2 agree on every mutated response (%d/%d)", agree, iters);
    CHECKF(accepted > 0, "mutated responses are accepted too (%d)", accepted);
    printf("fast path: %d mutated responses, %d accepted\n", iters, accepted);
    free(buf);
    free(seed);
    xv_free(sv);
}

/* ---- threads ---- */

static void *thread_main(void *arg)
{
    const char *doc = arg;
    long bad = 0;
    for (int k = 0; k < 300; k++) {
        char *method = NULL, *err = NULL;
        xv *p = NULL;
        if (!xmlrpc_parse_call(doc, strlen(doc), NULL, &method, &p, &err) || strcmp(method, "VM.start") != 0 ||
            p->u.arr.n != 3)
            bad++;
        free(method);
        free(err);
        xv_free(p);
        if (!call_fails(xxe, strlen(xxe), NULL, "DOCTYPE"))
            bad++;
    }
    return (void *)bad;
}

static void test_threads(void)
{
    const char *doc = "<?xml version=\"1.0\"?><methodCall><methodName>VM.start</methodName><params>"
                      "<param><value><string>s</string></value></param><param><value>vm</value></param>"
                      "<param><value><boolean>0</boolean></value></param></params></methodCall>";
    pthread_t t[4];
    long total = 0;
    for (int k = 0; k < 4; k++)
        pthread_create(&t[k], NULL, thread_main, (void *)doc);
    for (int k = 0; k < 4; k++) {
        void *r;
        pthread_join(t[k], &r);
        total += (long)r;
    }
    CHECKF(total == 0, "concurrent parsing from 4 threads (%ld failures)", total);
}

/* ---- values encoded straight from their source (xv_encoded) ---- */

/* Encode st's members one by one with the streaming struct calls. */
static char *encode_streamed_str(const xv *st)
{
    xbuf b;
    xbuf_init(&b);
    xmlrpc_encode_struct_begin(&b);
    for (size_t i = 0; i < st->u.st.n; i++) {
        xmlrpc_encode_member_begin(&b, st->u.st.keys[i]);
        xmlrpc_encode_value(&b, st->u.st.vals[i]);
        xmlrpc_encode_member_end(&b);
    }
    xmlrpc_encode_struct_end(&b);
    return xbuf_steal(&b, NULL);
}

static xv *sample_record(void)
{
    xv *r = xv_struct();
    xv_struct_set(r, "uuid", xv_str("0ec7437e-165b-46d5-b1cf-5fcf92a8bb21"));
    xv_struct_set(r, "name<&>", xv_str("a<b>&c \r\x01 \xC3\xA9 \xff"));
    xv_struct_set(r, "empty", xv_str(""));
    xv_struct_set(r, "nil", xv_nil());
    xv_struct_set(r, "memory", xv_int(268435456));
    xv_struct_set(r, "negative", xv_int(-7));
    xv_struct_set(r, "flag", xv_bool(true));
    xv_struct_set(r, "load", xv_double(0.25));
    xv_struct_set(r, "when", xv_datetime("20261124T20:11:06"));
    xv_struct_set(r, "blob", xv_strn("QUJD", 4));
    xv *set = xv_array();
    xv_array_add(set, xv_str("OpaqueRef:1"));
    xv_array_add(set, xv_str("x&y"));
    xv_struct_set(r, "set", set);
    xv_struct_set(r, "empty_set", xv_array());
    xv *map = xv_struct();
    xv_struct_set(map, "k", xv_str("v"));
    xv_struct_set(r, "map", map);
    xv_struct_set(r, "empty_map", xv_struct());
    return r;
}

static void *dup_free_main(void *arg)
{
    const xv *e = arg;
    for (int i = 0; i < 20000; i++)
        xv_free(xv_dup(e));
    return NULL;
}

static void test_encoded(void)
{
    xv *rec = sample_record();
    char *tree = encode_value_str(rec);
    char *streamed = encode_streamed_str(rec);
    CHECKF(strcmp(tree, streamed) == 0, "streamed struct = tree struct:\n got %s\nwant %s", streamed, tree);

    /* an encoded value is written verbatim, wherever it sits */
    xbuf b;
    xbuf_init(&b);
    xbuf_puts(&b, streamed);
    xv *e = xv_encoded_take(&b);
    CHECKF(b.data == NULL && b.len == 0, "xv_encoded_take resets the buffer");
    CHECKF(xv_is_encoded(e) && e->kind == XV_STRING && e->u.str.len == strlen(tree),
          "encoded value reads as a string of its text");
    CHECKF(!xv_is_encoded(rec) && !xv_is_encoded(NULL), "only encoded values are encoded");
    char *got = encode_value_str(e);
    CHECKF(strcmp(got, tree) == 0, "encoded value emitted verbatim: %s", got);
    free(got);

    xv *plain = xv_struct(), *pre = xv_struct();
    xv_struct_set(plain, "Status", xv_str("Success"));
    xv_struct_set(plain, "Value", xv_dup(rec));
    xv_struct_set(pre, "Status", xv_str("Success"));
    xv_struct_set(pre, "Value", xv_dup(e));
    size_t l1, l2;
    char *r1 = encode_response_str(plain, &l1), *r2 = encode_response_str(pre, &l2);
    CHECKF(l1 == l2 && memcmp(r1, r2, l1) == 0, "response with an encoded value is byte-exact:\n got %s\nwant %s",
          r2, r1);
    /* and it decodes to the record */
    xv *back = NULL;
    int fc = 0;
    char *fs = NULL, *err = NULL;
    CHECKF(xmlrpc_parse_response(r2, l2, NULL, &back, &fc, &fs, &err) && back, "decodes: %s", err ? err : "");
    if (back) {
        xv *want = xv_dup(rec);
        xv_struct_set(want, "nil", xv_str(""));
        xv_struct_set(want, "memory", xv_str("268435456"));
        xv_struct_set(want, "negative", xv_str("-7"));
        xv_struct_set(want, "name<&>", xv_str("a<b>&c \r\xEF\xBF\xBD \xC3\xA9 \xEF\xBF\xBD"));
        CHECKF(xv_equal(xv_struct_get(back, "Value"), want), "decoded record matches");
        xv_free(want);
    }
    xv_free(back);
    free(fs);
    free(err);
    free(r1);
    free(r2);
    xv_free(plain);
    xv_free(pre);

    /* copies share the text, live on when the original goes, and compare
     * equal to each other but not to a plain string of the same text */
    xv *d = xv_dup(e);
    CHECKF(d->u.str.s == e->u.str.s && xv_is_encoded(d), "xv_dup shares the encoded text");
    CHECKF(xv_equal(d, e), "copies are equal");
    xv *same_text = xv_str(tree);
    CHECKF(!xv_equal(e, same_text) && !xv_equal(same_text, e), "encoded != plain string with its text");
    xv_free(same_text);
    xv_free(e);
    got = encode_value_str(d);
    CHECKF(strcmp(got, tree) == 0, "copy outlives the original");
    free(got);

    /* concurrent copies and frees (reference count) */
    pthread_t t[4];
    for (int k = 0; k < 4; k++)
        pthread_create(&t[k], NULL, dup_free_main, d);
    for (int k = 0; k < 4; k++)
        pthread_join(t[k], NULL);
    got = encode_value_str(d);
    CHECKF(strcmp(got, tree) == 0, "copies freed from 4 threads leave the value intact");
    free(got);
    xv_free(d);

    /* an encoded value inside an array and as a task-style lone value */
    xv *arr = xv_array();
    xbuf_init(&b);
    xmlrpc_encode_value(&b, rec);
    xv_array_add(arr, xv_encoded_take(&b));
    xv_array_add(arr, xv_int(1));
    xv *arr_plain = xv_array();
    xv_array_add(arr_plain, xv_dup(rec));
    xv_array_add(arr_plain, xv_int(1));
    char *a1 = encode_value_str(arr), *a2 = encode_value_str(arr_plain);
    CHECKF(strcmp(a1, a2) == 0, "encoded value as an array item");
    free(a1);
    free(a2);
    xv_free(arr);
    xv_free(arr_plain);

    free(tree);
    free(streamed);
    xv_free(rec);
}

/* Escaping at every position of a run, and long runs (the copy fast path). */
static void test_escape_positions(void)
{
    const char *specials[] = { "&", "<", ">", "\r", "\x01", "\xff", "\xC3\xA9", "\t", "\n" };
    const char *wants[] = { "&amp;", "&lt;", "&gt;", "&#13;", "\xEF\xBF\xBD", "\xEF\xBF\xBD", "\xC3\xA9",
                            "\t", "\n" };
    for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++)
        for (size_t pos = 0; pos <= 20; pos++) {
            char in[64], want[64];
            snprintf(in, sizeof(in), "%.*s%s%.*s", (int)pos, "abcdefghijklmnopqrst", specials[k],
                     (int)(20 - pos), "ABCDEFGHIJKLMNOPQRST");
            snprintf(want, sizeof(want), "%.*s%s%.*s", (int)pos, "abcdefghijklmnopqrst", wants[k],
                     (int)(20 - pos), "ABCDEFGHIJKLMNOPQRST");
            xbuf b;
            xbuf_init(&b);
            xbuf_add_escaped(&b, in, strlen(in));
            CHECKF(b.len == strlen(want) && strcmp(b.data, want) == 0, "escape %zu at %zu: %s", k, pos, b.data);
            xbuf_free(&b);
        }
    /* a buffer past the huge-page size, grown piece by piece */
    xbuf b;
    xbuf_init(&b);
    char chunk[4096];
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (char)('a' + i % 26);
    size_t pieces = ((size_t)20 << 20) / sizeof(chunk);
    for (size_t i = 0; i < pieces; i++)
        xbuf_add_escaped(&b, chunk, sizeof(chunk));
    bool same = b.len == pieces * sizeof(chunk) && b.data[b.len] == '\0';
    for (size_t i = 0; same && i < pieces; i++)
        same = memcmp(b.data + i * sizeof(chunk), chunk, sizeof(chunk)) == 0;
    CHECKF(same, "20 MiB buffer built from 4 KiB pieces");
    xbuf_free(&b);
}

int main(void)
{
    test_xv_basics();
    test_encode_exact();
    test_round_trip();
    test_decode_forms();
    test_int_forms();
    test_structural_errors();
    test_hostile();
    test_fuzz();
    test_fast_path();
    test_call_readers();
    test_threads();
    test_encoded();
    test_escape_positions();
    xmlrpc_cleanup();
    return xtest_done();
}
