/* xmlrpc: XML-RPC encoders and hardened libxml2-based decoders (see xmlrpc.h).
 *
 * Decoding hardening, in order:
 *  1. the body size is checked before libxml2 sees a byte;
 *  2. libxml2 runs with NONET, without NOENT/DTDLOAD/DTDATTR/DTDVALID/HUGE;
 *  3. a SAX hook on the DOCTYPE declaration stops the parser the moment a
 *     DOCTYPE starts, so no entity is ever declared, loaded or expanded;
 *  4. SAX hooks count elements (plus comments and PIs) and element depth and
 *     stop the parser when a limit is crossed, so the tree never grows past
 *     the limits;
 *  5. the tree walk checks the value nesting depth against max_depth;
 *  6. before all of that, one pass over the bytes refuses any element with an
 *     attribute: XML-RPC has none, and libxml2 checks an element's attributes
 *     against each other in quadratic time before any SAX hook hears of them.
 * libxml2 errors are captured per parse through the context's structured
 * error hook; nothing is printed.
 *
 * Calls and responses take a fast path first (the fast reader below): the
 * plain form that clients and servers write is decoded straight into xv
 * values without libxml2's document tree; anything outside that form goes
 * through the path above.
 */
#include <config.h>

#include "util/xmlrpc.h"
#include "util/strutil.h"
#include "util/utf8.h"
#include "util/uuid.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#define DEFAULT_MAX_BYTES ((size_t)8 * 1024 * 1024)
#define DEFAULT_MAX_DEPTH 64
#define DEFAULT_MAX_NODES ((size_t)1000000)

/* ---- one-time initialisation ---- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void silent_generic_error(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void init_once_fn(void)
{
    xmlInitParser();
    /* Threads created from now on start with a silent generic handler. */
    xmlThrDefSetGenericErrorFunc(NULL, silent_generic_error);
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static void codec_init(void)
{
    pthread_once(&init_once, init_once_fn);
}

void xmlrpc_cleanup(void)
{
    codec_init();
    if (c_locale) {
        freelocale(c_locale);
        c_locale = (locale_t)0;
    }
    xmlCleanupParser();
}

/* ---- encoders ---- */

/* Append n bytes: the common case (room left) inline, without a call. */
static inline void put(xbuf *b, const char *s, size_t n)
{
    if (b->cap - b->len <= n)
        xbuf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

#define ADD_LIT(b, lit) put((b), (lit), sizeof(lit) - 1)

static void add_int64(xbuf *b, int64_t i)
{
    char tmp[24];
    char *p = tmp + sizeof(tmp);
    uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (i < 0)
        *--p = '-';
    put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void add_double(xbuf *b, double d)
{
    char tmp[64];
    locale_t old = (locale_t)0;

    codec_init();
    if (c_locale)
        old = uselocale(c_locale);
    int n = snprintf(tmp, sizeof(tmp), "%.17g", d);
    if (c_locale)
        uselocale(old);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        n = 0;
    put(b, tmp, (size_t)n);
}

/* <value><tag>text</tag></value> for the rarer text kinds (a string has its
 * own, shorter way). */
static void add_text_value(xbuf *b, const char *tag, const xv *v)
{
    size_t n = strlen(tag);
    ADD_LIT(b, "<value><");
    put(b, tag, n);
    ADD_LIT(b, ">");
    xbuf_add_escaped(b, v->u.str.s, v->u.str.len);
    ADD_LIT(b, "</");
    put(b, tag, n);
    ADD_LIT(b, "></value>");
}

void xmlrpc_encode_struct_begin(xbuf *b)
{
    ADD_LIT(b, "<value><struct>");
}

void xmlrpc_encode_member_begin(xbuf *b, const char *name)
{
    ADD_LIT(b, "<member><name>");
    xbuf_add_escaped(b, name, strlen(name));
    ADD_LIT(b, "</name>");
}

void xmlrpc_encode_member_end(xbuf *b)
{
    ADD_LIT(b, "</member>");
}

void xmlrpc_encode_struct_end(xbuf *b)
{
    ADD_LIT(b, "</struct></value>");
}

void xmlrpc_encode_value(xbuf *b, const xv *v)
{
    if (!v) {
        ADD_LIT(b, "<value><string></string></value>");
        return;
    }
    switch (v->kind) {
    case XV_NIL:
        ADD_LIT(b, "<value><string></string></value>");
        break;
    case XV_STRING:
        if (v->u.str.shared) {          /* xv_encoded: already a <value> */
            put(b, v->u.str.s, v->u.str.len);
            break;
        }
        if (v->u.str.len == 0) {
            ADD_LIT(b, "<value><string></string></value>");
            break;
        }
        ADD_LIT(b, "<value><string>");
        xbuf_add_escaped(b, v->u.str.s, v->u.str.len);
        ADD_LIT(b, "</string></value>");
        break;
    case XV_INT:
        ADD_LIT(b, "<value><string>");
        add_int64(b, v->u.i);
        ADD_LIT(b, "</string></value>");
        break;
    case XV_DOUBLE:
        ADD_LIT(b, "<value><double>");
        add_double(b, v->u.d);
        ADD_LIT(b, "</double></value>");
        break;
    case XV_BOOL:
        if (v->u.b)
            ADD_LIT(b, "<value><boolean>1</boolean></value>");
        else
            ADD_LIT(b, "<value><boolean>0</boolean></value>");
        break;
    case XV_DATETIME:
        add_text_value(b, "dateTime.iso8601", v);
        break;
    case XV_BASE64:
        add_text_value(b, "base64", v);
        break;
    case XV_ARRAY:
        if (v->u.arr.n == 0) {
            ADD_LIT(b, "<value><array><data></data></array></value>");
            break;
        }
        ADD_LIT(b, "<value><array><data>");
        for (size_t i = 0; i < v->u.arr.n; i++)
            xmlrpc_encode_value(b, v->u.arr.items[i]);
        ADD_LIT(b, "</data></array></value>");
        break;
    case XV_STRUCT:
        xmlrpc_encode_struct_begin(b);
        for (size_t i = 0; i < v->u.st.n; i++) {
            xmlrpc_encode_member_begin(b, v->u.st.keys[i]);
            xmlrpc_encode_value(b, v->u.st.vals[i]);
            xmlrpc_encode_member_end(b);
        }
        xmlrpc_encode_struct_end(b);
        break;
    default:
        ADD_LIT(b, "<value><string></string></value>");
        break;
    }
}

void xmlrpc_encode_call(xbuf *b, const char *method, const xv *params)
{
    ADD_LIT(b, "<?xml version=\"1.0\"?><methodCall><methodName>");
    if (method)
        xbuf_add_escaped(b, method, strlen(method));
    ADD_LIT(b, "</methodName><params>");
    if (params && params->kind == XV_ARRAY) {
        for (size_t i = 0; i < params->u.arr.n; i++) {
            ADD_LIT(b, "<param>");
            xmlrpc_encode_value(b, params->u.arr.items[i]);
            ADD_LIT(b, "</param>");
        }
    } else if (params) {
        /* A lone non-array value is sent as the single parameter. */
        ADD_LIT(b, "<param>");
        xmlrpc_encode_value(b, params);
        ADD_LIT(b, "</param>");
    }
    ADD_LIT(b, "</params></methodCall>");
}

void xmlrpc_encode_response(xbuf *b, const xv *value)
{
    ADD_LIT(b, "<?xml version=\"1.0\"?><methodResponse><params><param>");
    xmlrpc_encode_value(b, value);
    ADD_LIT(b, "</param></params></methodResponse>");
}

void xmlrpc_encode_fault(xbuf *b, int code, const char *string)
{
    ADD_LIT(b, "<?xml version=\"1.0\"?><methodResponse><fault><value><struct>"
               "<member><name>faultCode</name><value><int>");
    add_int64(b, code);
    ADD_LIT(b, "</int></value></member><member><name>faultString</name><value><string>");
    if (string)
        xbuf_add_escaped(b, string, strlen(string));
    ADD_LIT(b, "</string></value></member></struct></value></fault></methodResponse>");
}

/* ---- errors ---- */

static char *msg_vfmt(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) {
        s = strdup("out of memory formatting an error");
        if (!s)
            abort();
    }
    return s;
}

/* Set *err once: later errors are consequences of the first. */
static void set_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(char **err, const char *fmt, ...)
{
    va_list ap;
    if (*err)
        return;
    va_start(ap, fmt);
    *err = msg_vfmt(fmt, ap);
    va_end(ap);
}

/* ---- parsing with libxml2 ---- */

typedef struct parse_state {
    size_t max_nodes, nodes;
    int max_el_depth, el_depth;
    bool doctype, too_many, too_deep;
    char *xml_err;             /* first libxml2 error, malloc'd */
} parse_state;

static parse_state *state_of(void *ctx)
{
    xmlParserCtxtPtr ctxt = ctx;
    return ctxt->_private;
}

static bool count_node(void *ctx)
{
    parse_state *ps = state_of(ctx);
    if (++ps->nodes > ps->max_nodes) {
        ps->too_many = true;
        xmlStopParser((xmlParserCtxtPtr)ctx);
        return false;
    }
    return true;
}

static void sax_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                              const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                              int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    parse_state *ps = state_of(ctx);
    if (!count_node(ctx))
        return;
    if (++ps->el_depth > ps->max_el_depth) {
        ps->too_deep = true;
        xmlStopParser((xmlParserCtxtPtr)ctx);
        return;
    }
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces,
                          nb_attributes, nb_defaulted, attributes);
}

static void sax_end_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                            const xmlChar *uri)
{
    parse_state *ps = state_of(ctx);
    ps->el_depth--;
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

static void sax_comment(void *ctx, const xmlChar *value)
{
    if (count_node(ctx))
        xmlSAX2Comment(ctx, value);
}

static void sax_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    if (count_node(ctx))
        xmlSAX2ProcessingInstruction(ctx, target, data);
}

/* Called when "<!DOCTYPE name ..." has been read, before any internal subset
 * or external identifier is processed: stop right there. */
static void sax_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
                        const xmlChar *system_id)
{
    (void)name;
    (void)external_id;
    (void)system_id;
    state_of(ctx)->doctype = true;
    xmlStopParser((xmlParserCtxtPtr)ctx);
}

static xmlParserInputPtr sax_resolve_entity(void *ctx, const xmlChar *public_id,
                                            const xmlChar *system_id)
{
    (void)public_id;
    (void)system_id;
    state_of(ctx)->doctype = true;
    xmlStopParser((xmlParserCtxtPtr)ctx);
    return NULL;
}

#if LIBXML_VERSION >= 21200
static void on_xml_error(void *ctx, const xmlError *e)
#else
static void on_xml_error(void *ctx, xmlErrorPtr e)
#endif
{
    parse_state *ps = state_of(ctx);
    if (!e || e->level < XML_ERR_ERROR || ps->xml_err || e->code == XML_ERR_USER_STOP)
        return;
    const char *m = e->message ? e->message : "unknown error";
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        n--;
    if (asprintf(&ps->xml_err, "line %d: %.*s", e->line, (int)n, m) < 0)
        ps->xml_err = NULL;
}

void xmlrpc_limits_resolve(const xmlrpc_limits *lim, xmlrpc_limits *out)
{
    out->max_bytes = lim && lim->max_bytes ? lim->max_bytes : DEFAULT_MAX_BYTES;
    out->max_depth = lim && lim->max_depth > 0 ? lim->max_depth : DEFAULT_MAX_DEPTH;
    out->max_nodes = lim && lim->max_nodes ? lim->max_nodes : DEFAULT_MAX_NODES;
    if (out->max_bytes > INT_MAX)
        out->max_bytes = INT_MAX;
    if (out->max_depth > 100000)
        out->max_depth = 100000;
}

/* Does an element of body carry an attribute (or a namespace declaration)?
 * One linear pass, before libxml2 sees a byte: outside comments, CDATA
 * sections, processing instructions (the XML declaration) and the DOCTYPE
 * (refused later), a '<' can only open a tag; a start tag whose name is
 * followed by anything but '>' or "/>" (after blanks) has an attribute. */
static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool has_attribute(const char *body, size_t len)
{
    const char *p = body, *end = body + len;
    while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
        p++;
        if (p >= end)
            return false;
        const char *close = NULL;
        if (*p == '?')
            close = "?>";
        else if ((size_t)(end - p) >= 3 && memcmp(p, "!--", 3) == 0)
            close = "-->";
        else if ((size_t)(end - p) >= 8 && memcmp(p, "![CDATA[", 8) == 0)
            close = "]]>";
        if (close) {
            const char *q = memmem(p, (size_t)(end - p), close, strlen(close));
            if (!q)
                return false;           /* unterminated: libxml2 says so */
            p = q + strlen(close);
            continue;
        }
        if (*p == '/' || *p == '!')
            continue;                   /* an end tag; a DOCTYPE is refused by the parser */
        while (p < end && !is_blank(*p) && *p != '/' && *p != '>')
            p++;                        /* the element's name */
        while (p < end && is_blank(*p))
            p++;
        if (p < end && *p != '>' && *p != '/')
            return true;
    }
    return false;
}

/* Parse body into a tree under the limits.  Returns NULL with *err set. */
static xmlDocPtr parse_doc(const char *body, size_t len, const xmlrpc_limits *lim,
                           int *max_depth_r, char **err)
{
    size_t max_bytes, max_nodes;
    int max_depth;
    parse_state ps;
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;

    xmlrpc_limits rl;
    xmlrpc_limits_resolve(lim, &rl);
    max_bytes = rl.max_bytes;
    max_depth = rl.max_depth;
    max_nodes = rl.max_nodes;
    *max_depth_r = max_depth;
    memset(&ps, 0, sizeof(ps));
    ps.max_nodes = max_nodes;
    /* A value level is <value><array><data>, plus the envelope elements. */
    ps.max_el_depth = 3 * max_depth + 8;

    if (!body || len == 0) {
        set_err(err, "empty XML-RPC document");
        goto out;
    }
    if (len > max_bytes) {
        set_err(err, "XML-RPC document too large (%zu bytes, limit %zu)", len, max_bytes);
        goto out;
    }
    if (has_attribute(body, len)) {
        set_err(err, "XML-RPC document must not contain attributes");
        goto out;
    }

    codec_init();
    xmlSetGenericErrorFunc(NULL, silent_generic_error);   /* this thread */

    ctxt = xmlCreateMemoryParserCtxt(body, (int)len);
    if (!ctxt) {
        set_err(err, "cannot create XML parser");
        goto out;
    }
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_COMPACT |
                                XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    /* Belt and braces over the options: no substitution, no DTD loading. */
    ctxt->replaceEntities = 0;
    ctxt->loadsubset = 0;
    ctxt->validate = 0;
    ctxt->_private = &ps;
    ctxt->sax->startElementNs = sax_start_element;
    ctxt->sax->endElementNs = sax_end_element;
    ctxt->sax->comment = sax_comment;
    ctxt->sax->processingInstruction = sax_pi;
    ctxt->sax->internalSubset = sax_doctype;
    ctxt->sax->externalSubset = NULL;
    ctxt->sax->resolveEntity = sax_resolve_entity;
    ctxt->sax->serror = on_xml_error;

    xmlParseDocument(ctxt);
    doc = ctxt->myDoc;
    ctxt->myDoc = NULL;

    if (ps.doctype) {
        set_err(err, "XML-RPC document must not contain a DOCTYPE");
    } else if (ps.too_many) {
        set_err(err, "XML-RPC document has too many nodes (limit %zu)", max_nodes);
    } else if (ps.too_deep) {
        set_err(err, "XML-RPC document nested too deeply (limit %d value levels)", max_depth);
    } else if (!ctxt->wellFormed || !doc) {
        set_err(err, "malformed XML: %s", ps.xml_err ? ps.xml_err : "not well-formed");
    } else if (doc->intSubset || doc->extSubset) {
        set_err(err, "XML-RPC document must not contain a DOCTYPE");
    }
    if (*err) {
        xmlFreeDoc(doc);
        doc = NULL;
    }

out:
    if (ctxt)
        xmlFreeParserCtxt(ctxt);
    free(ps.xml_err);
    return doc;
}

/* ---- tree walking ---- */

/* n bytes of s as a malloc'd string. */
static char *dup_bytes(const char *s, size_t n)
{
    char *r = malloc(n + 1);
    if (!r)
        abort();
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

typedef struct dec {
    int max_depth;
    char *err;
} dec;

static bool is_ws(const xmlChar *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

static bool name_is(const xmlNode *n, const char *name)
{
    return strcmp((const char *)n->name, name) == 0;
}

/* Next element child starting at n (inclusive), skipping comments, PIs and
 * whitespace-only text.  NULL at the end; sets d->err on stray content. */
static xmlNode *next_element(dec *d, xmlNode *n, const xmlNode *parent)
{
    for (; n; n = n->next) {
        switch (n->type) {
        case XML_ELEMENT_NODE:
            return n;
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
            if (n->content && !is_ws(n->content)) {
                set_err(&d->err, "unexpected text inside <%s>", (const char *)parent->name);
                return NULL;
            }
            break;
        case XML_COMMENT_NODE:
        case XML_PI_NODE:
            break;
        default:
            set_err(&d->err, "unexpected XML node inside <%s>", (const char *)parent->name);
            return NULL;
        }
    }
    return NULL;
}

static xmlNode *first_element(dec *d, xmlNode *parent)
{
    return next_element(d, parent->children, parent);
}

static xmlNode *following_element(dec *d, xmlNode *n, const xmlNode *parent)
{
    return next_element(d, n->next, parent);
}

/* The text content of an element that must hold only text.  Returns a
 * malloc'd string and its length, or NULL with d->err set. */
static char *element_text(dec *d, xmlNode *el, size_t *len_r)
{
    xmlNode *n;
    size_t total = 0, count = 0;
    const xmlChar *single = NULL;

    for (n = el->children; n; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content) {
                total += strlen((const char *)n->content);
                single = n->content;
                count++;
            }
        } else if (n->type == XML_COMMENT_NODE || n->type == XML_PI_NODE) {
            continue;
        } else if (n->type == XML_ELEMENT_NODE) {
            set_err(&d->err, "unexpected element <%s> inside <%s>", (const char *)n->name,
                    (const char *)el->name);
            return NULL;
        } else {
            set_err(&d->err, "unexpected XML node inside <%s>", (const char *)el->name);
            return NULL;
        }
    }
    char *s = malloc(total + 1);
    if (!s)
        abort();
    if (count == 1) {
        memcpy(s, single, total);
    } else {
        size_t off = 0;
        for (n = el->children; n; n = n->next) {
            if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && n->content) {
                size_t l = strlen((const char *)n->content);
                memcpy(s + off, n->content, l);
                off += l;
            }
        }
    }
    s[total] = '\0';
    *len_r = total;
    return s;
}

/* Remove s's surrounding XML whitespace in place; its new length. */
static size_t trim_blanks(char *s, size_t len)
{
    size_t a = 0, z = len;
    while (a < z && is_blank(s[a]))
        a++;
    while (z > a && is_blank(s[z - 1]))
        z--;
    if (a)
        memmove(s, s + a, z - a);
    s[z - a] = '\0';
    return z - a;
}

/* Text with surrounding XML whitespace removed, for numbers and booleans. */
static char *element_text_trimmed(dec *d, xmlNode *el, size_t *len_r)
{
    size_t len;
    char *s = element_text(d, el, &len);
    if (s)
        *len_r = trim_blanks(s, len);
    return s;
}

static xv *dec_value(dec *d, xmlNode *value_el, int depth);

/* Scalars from their (trimmed) text; NULL and *err set if it is not one.
 * Both decoders use these: the tree walk and the fast path. */
static xv *int_from_text(char **err, const char *tag, const char *s, size_t len, bool is_i4)
{
    int64_t i;
    if (!xv_parse_int(s, len, &i)) {
        set_err(err, "invalid integer in <%s>: \"%.40s\"", tag, s);
        return NULL;
    }
    if (is_i4 && (i < INT32_MIN || i > INT32_MAX)) {
        set_err(err, "integer out of range for <%s>: %s", tag, s);
        return NULL;
    }
    return xv_int(i);
}

static xv *bool_from_text(char **err, const char *s)
{
    if (strcmp(s, "1") == 0)
        return xv_bool(true);
    if (strcmp(s, "0") == 0)
        return xv_bool(false);
    set_err(err, "invalid <boolean> value \"%.40s\" (want 0 or 1)", s);
    return NULL;
}

static xv *double_from_text(char **err, const char *s, size_t len)
{
    char *end;
    errno = 0;
    double x = c_locale ? strtod_l(s, &end, c_locale) : strtod(s, &end);
    if (len == 0 || end != s + len || (errno == ERANGE && isinf(x))) {
        set_err(err, "invalid <double> value \"%.40s\"", s);
        return NULL;
    }
    return xv_double(x);
}


/* The typed elements a <value> may hold, for both decoders. */
typedef struct value_type {
    const char *name;
    size_t len;                /* strlen(name) */
    xv_kind kind;              /* XV_NIL: <nil/>; XV_ARRAY, XV_STRUCT: containers */
    bool trim;                 /* a scalar read without its surrounding blanks */
} value_type;

#define VT(name, kind, trim) { name, sizeof(name) - 1, kind, trim }
static const value_type value_types[] = {
    VT("string", XV_STRING, false), VT("struct", XV_STRUCT, false),
    VT("array", XV_ARRAY, false),   VT("int", XV_INT, true),
    VT("i4", XV_INT, true),         VT("i8", XV_INT, true),
    VT("boolean", XV_BOOL, true),   VT("double", XV_DOUBLE, true),
    VT("dateTime.iso8601", XV_DATETIME, true), VT("base64", XV_BASE64, false),
    VT("nil", XV_NIL, false),
};
/* <value>text</value>: a string */
static const value_type untyped_value = VT("value", XV_STRING, false);
#undef VT

static const value_type *value_type_named(const char *name)
{
    for (size_t i = 0; i < sizeof value_types / sizeof value_types[0]; i++)
        if (strcmp(value_types[i].name, name) == 0)
            return &value_types[i];
    return NULL;
}

/* A scalar of type t from its text s (malloc'd, taken; len bytes, trimmed
 * when t->trim says so); NULL with *err set when the text is not one. */
static xv *scalar_from_text(char **err, const value_type *t, char *s, size_t len)
{
    xv *v;
    switch (t->kind) {
    case XV_INT:
        v = int_from_text(err, t->name, s, len, strcmp(t->name, "i4") == 0);
        break;
    case XV_BOOL:
        v = bool_from_text(err, s);
        break;
    case XV_DOUBLE:
        v = double_from_text(err, s, len);
        break;
    default:
        v = xv_str_take(s);
        v->kind = t->kind;
        return v;
    }
    free(s);
    return v;
}

static xv *dec_array(dec *d, xmlNode *el, int depth)
{
    xv *arr = xv_array();
    xmlNode *data = first_element(d, el);
    if (d->err)
        goto fail;
    if (!data)
        return arr;                               /* <array/> */
    if (!name_is(data, "data")) {
        set_err(&d->err, "unexpected <%s> inside <array> (want <data>)", (const char *)data->name);
        goto fail;
    }
    if (following_element(d, data, el) || d->err) {
        set_err(&d->err, "<array> must hold exactly one <data>");
        goto fail;
    }
    for (xmlNode *n = first_element(d, data); n; n = following_element(d, n, data)) {
        if (!name_is(n, "value")) {
            set_err(&d->err, "unexpected <%s> inside <data> (want <value>)", (const char *)n->name);
            goto fail;
        }
        xv *item = dec_value(d, n, depth + 1);
        if (!item)
            goto fail;
        xv_array_add(arr, item);
    }
    if (d->err)
        goto fail;
    return arr;
fail:
    xv_free(arr);
    return NULL;
}

/* Duplicate-key detection for big structs: an open-addressing table of
 * member indexes, so hostile structs with many members stay O(n). */
typedef struct key_index {
    size_t *slots;             /* index + 1; 0 = empty */
    size_t cap;
} key_index;

static void key_index_insert(key_index *ki, const xv *st, size_t idx)
{
    size_t mask = ki->cap - 1;
    size_t h = (size_t)xhash_str(st->u.st.keys[idx]) & mask;
    while (ki->slots[h])
        h = (h + 1) & mask;
    ki->slots[h] = idx + 1;
}

static void key_index_rebuild(key_index *ki, const xv *st)
{
    size_t cap = 64;
    while (cap < st->u.st.n * 2 + 2)
        cap *= 2;
    free(ki->slots);
    ki->slots = calloc(cap, sizeof(size_t));
    if (!ki->slots)
        abort();
    ki->cap = cap;
    for (size_t i = 0; i < st->u.st.n; i++)
        key_index_insert(ki, st, i);
}

static ssize_t key_index_find(const key_index *ki, const xv *st, const char *key)
{
    size_t mask = ki->cap - 1;
    size_t h = (size_t)xhash_str(key) & mask;
    while (ki->slots[h]) {
        size_t idx = ki->slots[h] - 1;
        if (strcmp(st->u.st.keys[idx], key) == 0)
            return (ssize_t)idx;
        h = (h + 1) & mask;
    }
    return -1;
}

#define STRUCT_LINEAR_MAX 16

/* Add key (malloc'd, taken) and val (taken) to st; a duplicate key
 * replaces the earlier member's value: the last one wins. */
static void struct_put(xv *st, key_index *ki, char *key, xv *val)
{
    ssize_t i = -1;
    if (!ki->slots && st->u.st.n < STRUCT_LINEAR_MAX) {
        for (size_t k = 0; k < st->u.st.n && i < 0; k++)
            if (strcmp(st->u.st.keys[k], key) == 0)
                i = (ssize_t)k;
    } else {
        if (!ki->slots)
            key_index_rebuild(ki, st);
        i = key_index_find(ki, st, key);
    }
    if (i >= 0) {
        free(key);
        xv_free(st->u.st.vals[i]);
        st->u.st.vals[i] = val;
        return;
    }
    xv_struct_append_take(st, key, val);
    if (!ki->slots)
        return;
    if (st->u.st.n * 2 + 2 > ki->cap)
        key_index_rebuild(ki, st);
    else
        key_index_insert(ki, st, st->u.st.n - 1);
}

/* The end of decoding a struct: st, or NULL (st freed) when it failed. */
static xv *struct_finish(xv *st, key_index *ki, bool ok)
{
    free(ki->slots);
    if (ok)
        return st;
    xv_free(st);
    return NULL;
}

static xv *dec_struct(dec *d, xmlNode *el, int depth)
{
    xv *st = xv_struct();
    key_index ki = { NULL, 0 };

    for (xmlNode *m = first_element(d, el); m; m = following_element(d, m, el)) {
        xmlNode *name_el = NULL, *value_el = NULL;
        if (!name_is(m, "member")) {
            set_err(&d->err, "unexpected <%s> inside <struct> (want <member>)", (const char *)m->name);
            goto fail;
        }
        for (xmlNode *c = first_element(d, m); c; c = following_element(d, c, m)) {
            if (name_is(c, "name") && !name_el) {
                name_el = c;
            } else if (name_is(c, "value") && !value_el) {
                value_el = c;
            } else {
                set_err(&d->err, "malformed member: unexpected <%s>", (const char *)c->name);
                goto fail;
            }
        }
        if (d->err)
            goto fail;
        if (!name_el || !value_el) {
            set_err(&d->err, "malformed member: missing <%s>", name_el ? "value" : "name");
            goto fail;
        }
        size_t klen;
        char *key = element_text(d, name_el, &klen);
        if (!key)
            goto fail;
        xv *val = dec_value(d, value_el, depth + 1);
        if (!val) {
            free(key);
            goto fail;
        }
        struct_put(st, &ki, key, val);
    }
    return struct_finish(st, &ki, !d->err);
fail:
    return struct_finish(st, &ki, false);
}

static xv *dec_value(dec *d, xmlNode *value_el, int depth)
{
    if (depth > d->max_depth) {
        set_err(&d->err, "XML-RPC value nested too deeply (limit %d)", d->max_depth);
        return NULL;
    }
    /* Untyped: only text (or nothing) inside <value>. */
    bool has_element = false;
    for (xmlNode *n = value_el->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE) {
            has_element = true;
            break;
        }
    const value_type *t = &untyped_value;
    xmlNode *el = value_el;
    if (has_element) {
        el = first_element(d, value_el);
        if (!el)
            return NULL;
        if (following_element(d, el, value_el) || d->err) {
            set_err(&d->err, "<value> must hold exactly one typed element");
            return NULL;
        }
        t = value_type_named((const char *)el->name);
        if (!t) {
            set_err(&d->err, "unknown value type <%.64s>", (const char *)el->name);
            return NULL;
        }
    }
    switch (t->kind) {
    case XV_STRUCT:
        return dec_struct(d, el, depth);
    case XV_ARRAY:
        return dec_array(d, el, depth);
    case XV_NIL:
        if (first_element(d, el) || d->err) {
            set_err(&d->err, "<nil/> must be empty");
            return NULL;
        }
        return xv_nil();
    default: {
        size_t len;
        char *s = t->trim ? element_text_trimmed(d, el, &len) : element_text(d, el, &len);
        return s ? scalar_from_text(&d->err, t, s, len) : NULL;
    }
    }
}

/* <param><value>..</value></param> */
static xv *dec_param(dec *d, xmlNode *param)
{
    xmlNode *v = first_element(d, param);
    if (d->err)
        return NULL;
    if (!v || !name_is(v, "value")) {
        set_err(&d->err, "malformed <param>: want exactly one <value>");
        return NULL;
    }
    if (following_element(d, v, param) || d->err) {
        set_err(&d->err, "malformed <param>: want exactly one <value>");
        return NULL;
    }
    return dec_value(d, v, 1);
}


/* Parse body with libxml2; its root element, which must be <want>, and in
 * *first_r the root's first element child.  NULL with d->err set when
 * anything is wrong.  *doc_r is for xmlFreeDoc. */
static xmlNode *parse_root(dec *d, const char *body, size_t len, const xmlrpc_limits *lim,
                           const char *want, xmlDocPtr *doc_r, xmlNode **first_r)
{
    *doc_r = parse_doc(body, len, lim, &d->max_depth, &d->err);
    xmlNode *root = *doc_r ? xmlDocGetRootElement(*doc_r) : NULL;
    if (*doc_r && (!root || !name_is(root, want)))
        set_err(&d->err, "root element is <%s>, not <%s>", root ? (const char *)root->name : "(none)",
                want);
    if (d->err)
        return NULL;
    *first_r = first_element(d, root);
    return d->err ? NULL : root;
}

/* A <methodCall> decoded by libxml2 and the tree walk.  On failure *err is
 * the reason (or NULL: "malformed"), and nothing is returned. */
static bool tree_call(const char *body, size_t len, const xmlrpc_limits *lim, char **method_r,
                      xv **params_r, char **err)
{
    dec d = { 0, NULL };
    xmlDocPtr doc;
    xmlNode *n = NULL, *root = parse_root(&d, body, len, lim, "methodCall", &doc, &n);
    char *method = NULL;
    xv *params = NULL;
    bool ok = false;

    if (!root)
        goto out;
    if (!n || !name_is(n, "methodName")) {
        set_err(&d.err, "<methodCall> must start with <methodName>");
        goto out;
    }
    size_t mlen;
    method = element_text_trimmed(&d, n, &mlen);
    if (!method)
        goto out;
    if (mlen == 0) {
        set_err(&d.err, "empty <methodName>");
        goto out;
    }
    params = xv_array();
    n = following_element(&d, n, root);
    if (d.err)
        goto out;
    if (n) {
        if (!name_is(n, "params")) {
            set_err(&d.err, "unexpected <%s> inside <methodCall>", (const char *)n->name);
            goto out;
        }
        if (following_element(&d, n, root) || d.err) {
            set_err(&d.err, "unexpected content after <params>");
            goto out;
        }
        for (xmlNode *p = first_element(&d, n); p; p = following_element(&d, p, n)) {
            if (!name_is(p, "param")) {
                set_err(&d.err, "unexpected <%s> inside <params>", (const char *)p->name);
                goto out;
            }
            xv *v = dec_param(&d, p);
            if (!v)
                goto out;
            xv_array_add(params, v);
        }
        if (d.err)
            goto out;
    }
    ok = true;

out:
    xmlFreeDoc(doc);
    if (ok) {
        *method_r = method;
        *params_r = params;
    } else {
        free(method);
        xv_free(params);
    }
    *err = d.err;
    return ok;
}

static bool dec_fault(dec *d, xmlNode *fault, int *code_r, char **string_r)
{
    bool ok = false;
    xv *v = NULL;
    xmlNode *value = first_element(d, fault);
    if (d->err)
        goto out;
    if (!value || !name_is(value, "value") || following_element(d, value, fault) || d->err) {
        set_err(&d->err, "malformed <fault>: want exactly one <value>");
        goto out;
    }
    v = dec_value(d, value, 1);
    if (!v)
        goto out;
    if (v->kind != XV_STRUCT) {
        set_err(&d->err, "malformed <fault>: value is not a struct");
        goto out;
    }
    int64_t code;
    if (!xv_get_int(xv_struct_get(v, "faultCode"), &code) || code < INT_MIN || code > INT_MAX) {
        set_err(&d->err, "malformed <fault>: missing or invalid faultCode");
        goto out;
    }
    const xv *fs = xv_struct_get(v, "faultString");
    if (fs && fs->kind != XV_STRING && fs->kind != XV_NIL) {
        set_err(&d->err, "malformed <fault>: faultString is not a string");
        goto out;
    }
    *code_r = (int)code;
    *string_r = fs && fs->kind == XV_STRING ? dup_bytes(fs->u.str.s, fs->u.str.len) : dup_bytes("", 0);
    ok = true;
out:
    xv_free(v);
    return ok;
}

/* A <methodResponse> decoded by libxml2 and the tree walk: a value, or a
 * fault (*value_r NULL, *code_r and *fstring_r set).  On failure *err is
 * the reason (or NULL: "malformed"), and nothing is returned. */
static bool tree_response(const char *body, size_t len, const xmlrpc_limits *lim, xv **value_r,
                          int *code_r, char **fstring_r, char **err)
{
    dec d = { 0, NULL };
    xmlDocPtr doc;
    xmlNode *n = NULL, *root = parse_root(&d, body, len, lim, "methodResponse", &doc, &n);
    xv *value = NULL;
    bool ok = false;

    *fstring_r = NULL;
    if (!root)
        goto out;
    if (!n) {
        set_err(&d.err, "empty <methodResponse>");
        goto out;
    }
    if (following_element(&d, n, root) || d.err) {
        set_err(&d.err, "unexpected content after <%s> in <methodResponse>", (const char *)n->name);
        goto out;
    }
    if (name_is(n, "fault")) {
        if (!dec_fault(&d, n, code_r, fstring_r))
            goto out;
    } else if (name_is(n, "params")) {
        xmlNode *p = first_element(&d, n);
        if (d.err)
            goto out;
        if (!p || !name_is(p, "param") || following_element(&d, p, n) || d.err) {
            set_err(&d.err, "<methodResponse> <params> must hold exactly one <param>");
            goto out;
        }
        value = dec_param(&d, p);
        if (!value)
            goto out;
    } else {
        set_err(&d.err, "unexpected <%s> inside <methodResponse>", (const char *)n->name);
        goto out;
    }
    ok = true;

out:
    xmlFreeDoc(doc);
    if (ok)
        *value_r = value;
    else
        xv_free(value);
    *err = d.err;
    return ok;
}

/* ---- the fast reader ----
 *
 * A direct decoder for the plain form of XML-RPC that clients and servers
 * write, calls and responses alike: no comments, PIs (but the XML
 * declaration, version 1.0, UTF-8), CDATA, DOCTYPE, attributes or
 * self-closing tags but <nil/> and <params/>, no raw CR (XML would
 * normalise it), text of legal XML characters with the five predefined
 * entities and character references.  It builds the xv tree straight from
 * the bytes, without libxml2's document tree: for a 35 MB get_all_records
 * reply that tree was most of a client's time, and for a small call most of
 * the daemon's.  Anything else it does not judge: it gives up and the
 * hardened libxml2 decoder runs over the same bytes, which accepts what XML
 * allows and words the error for what it does not.  So it only ever accepts
 * what that decoder accepts, with the same result, and refuses nothing
 * itself.  The limits hold here too (more bytes, nodes or deeper values
 * than allowed: give up, and libxml2's path refuses), and so do libxml2's
 * own (element depth, text length), so that it never accepts what libxml2
 * would refuse. */

/* libxml2 refuses elements nested deeper than 256 and text nodes longer
 * than XML_MAX_TEXT_LENGTH without XML_PARSE_HUGE: give up well before. */
#define FAST_MAX_ELEMENT_DEPTH 200
#define FAST_MAX_TEXT ((size_t)XML_MAX_TEXT_LENGTH / 2)

typedef xmlrpc_scan fast;

static bool fast_lit(fast *f, const char *lit, size_t n)
{
    if ((size_t)(f->end - f->p) < n || memcmp(f->p, lit, n) != 0)
        return false;
    f->p += n;
    return true;
}

#define FAST_LIT(f, lit) fast_lit((f), (lit), sizeof(lit) - 1)

static void fast_ws(fast *f)
{
    while (f->p < f->end && is_blank(*f->p) && *f->p != '\r')
        f->p++;
}

/* A run of tags, each after optional blanks ("</param></params>"), where
 * the content is elements only; start tags count against max_nodes. */
static bool fast_tags(fast *f, const char *tags)
{
    while (*tags) {
        fast_ws(f);
        /* compared up to its '>' in one pass: most probes fail at once */
        size_t n = 0;
        do {
            if (f->p + n >= f->end || f->p[n] != tags[n])
                return false;
        } while (tags[n++] != '>');
        f->p += n;
        if (tags[1] != '/' && ++f->nodes > f->max_nodes)
            return false;
        tags += n;
    }
    return true;
}

/* </name>, straight after an element's text. */
static bool fast_close(fast *f, const value_type *t)
{
    if ((size_t)(f->end - f->p) < t->len + 3 || f->p[0] != '<' || f->p[1] != '/' ||
        memcmp(f->p + 2, t->name, t->len) != 0 || f->p[t->len + 2] != '>')
        return false;
    f->p += t->len + 3;
    return true;
}

/* A character reference's or entity's replacement, at f->p just past '&'. */
static bool fast_entity(fast *f, xbuf *out)
{
    static const struct { const char *name; size_t n; char c; } ents[] = {
        { "amp;", 4, '&' }, { "lt;", 3, '<' }, { "gt;", 3, '>' },
        { "quot;", 5, '"' }, { "apos;", 5, '\'' },
    };
    for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++)
        if (fast_lit(f, ents[i].name, ents[i].n)) {
            xbuf_add(out, &ents[i].c, 1);
            return true;
        }
    if (!FAST_LIT(f, "#"))
        return false;
    bool hex = FAST_LIT(f, "x");
    uint32_t cp = 0;
    int digits = 0;
    for (; f->p < f->end && *f->p != ';'; f->p++, digits++) {
        int dv = xhexval((unsigned char)*f->p);
        if (dv < 0 || (!hex && dv > 9) || digits >= 8)
            return false;
        cp = cp * (hex ? 16 : 10) + (uint32_t)dv;
    }
    if (digits == 0 || !FAST_LIT(f, ";"))
        return false;
    /* XML 1.0's Char production */
    if (!(cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
          (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF)))
        return false;
    xbuf_add_utf8(out, cp);
    return true;
}

/* The text up to the next '<', decoded: *len_r bytes at the pointer
 * returned, in the body or (when it held entities) in f->text, valid until
 * the next call; not NUL-terminated.  NULL to give up. */
static const char *fast_text_span(fast *f, size_t *len_r)
{
    /* the bytes that stand for themselves: printable ASCII but & < > */
    static const bool plain[256] = {
        [0x20 ... 0x25] = true, [0x27 ... 0x3b] = true, [0x3d] = true, [0x3f ... 0x7f] = true
    };
    const char *start = f->p, *run = f->p;
    bool copied = false;
    f->text.len = 0;
    while (f->p < f->end) {
        unsigned char c = (unsigned char)*f->p;
        if (plain[c]) {
            f->p++;
        } else if (c == '<') {
            break;
        } else if (c == '&') {
            xbuf_add(&f->text, run, (size_t)(f->p - run));
            f->p++;
            if (!fast_entity(f, &f->text))
                return NULL;
            run = f->p;
            copied = true;
        } else if (c >= 0x80) {
            uint32_t cp;
            size_t n = xv_utf8_seq((const unsigned char *)f->p, (size_t)(f->end - f->p), &cp);
            if (n == 0 || cp == 0xFFFE || cp == 0xFFFF)
                return NULL;
            f->p += n;
        } else if (c < 0x20 ? c != '\t' && c != '\n'
                            : c == '>' && f->p - start >= 2 && f->p[-1] == ']' && f->p[-2] == ']') {
            return NULL;                  /* a control, a raw CR, or "]]>" */
        } else {
            f->p++;
        }
    }
    if (f->p == f->end || (size_t)(f->p - start) > FAST_MAX_TEXT)
        return NULL;
    if (!copied) {
        *len_r = (size_t)(f->p - start);
        return start;
    }
    xbuf_add(&f->text, run, (size_t)(f->p - run));
    *len_r = f->text.len;
    return f->text.data;
}

/* The same text in a malloc'd string, trimmed of its surrounding blanks if
 * trim. */
static char *fast_text(fast *f, bool trim, size_t *len_r)
{
    size_t len;
    const char *span = fast_text_span(f, &len);
    if (!span)
        return NULL;
    char *s = dup_bytes(span, len);
    *len_r = trim ? trim_blanks(s, len) : len;
    return s;
}

static xv *fast_value(fast *f, int depth);

/* A scalar of type t: its text, then its closing tag. */
static xv *fast_scalar(fast *f, const value_type *t)
{
    size_t len;
    char *s = fast_text(f, t->trim, &len);
    if (!s || !fast_close(f, t)) {
        free(s);
        return NULL;
    }
    char *err = NULL;                     /* the tree walk words the error */
    xv *v = scalar_from_text(&err, t, s, len);
    free(err);
    return v;
}

static xv *fast_array(fast *f, int depth)
{
    xv *arr = xv_array();
    if (fast_tags(f, "<data>")) {
        while (!fast_tags(f, "</data>")) {
            xv *item = fast_value(f, depth + 1);
            if (!item)
                goto fail;
            xv_array_add(arr, item);
        }
        if (fast_tags(f, "</array>"))
            return arr;
    }
fail:
    xv_free(arr);
    return NULL;
}

static xv *fast_struct(fast *f, int depth)
{
    xv *st = xv_struct();
    key_index ki = { NULL, 0 };
    bool ok;
    while (!(ok = fast_tags(f, "</struct>"))) {
        size_t klen;
        char *key;
        xv *val;
        if (!fast_tags(f, "<member><name>") || !(key = fast_text(f, false, &klen)))
            break;
        if (!FAST_LIT(f, "</name>") || !(val = fast_value(f, depth + 1))) {
            free(key);
            break;
        }
        struct_put(st, &ki, key, val);
        if (!fast_tags(f, "</member>"))
            break;
    }
    return struct_finish(st, &ki, ok);
}

/* The typed element at f->p ("<name>", or "<nil/>"), counted; NULL if none. */
static const value_type *fast_type(fast *f)
{
    size_t room = (size_t)(f->end - f->p);
    for (size_t i = 0; i < sizeof value_types / sizeof value_types[0]; i++) {
        const value_type *t = &value_types[i];
        const char *tail = t->kind == XV_NIL ? "/>" : ">";
        size_t tail_n = t->kind == XV_NIL ? 2 : 1;
        if (room >= t->len + 1 + tail_n && memcmp(f->p + 1, t->name, t->len) == 0 &&
            memcmp(f->p + 1 + t->len, tail, tail_n) == 0) {
            f->p += 1 + t->len + tail_n;
            return ++f->nodes <= f->max_nodes ? t : NULL;
        }
    }
    return NULL;
}

/* <value>...</value>, after optional blanks. */
static xv *fast_value(fast *f, int depth)
{
    if (!xmlrpc_scan_value_begin(f, depth))
        return NULL;
    const char *text_start = f->p;
    fast_ws(f);
    if (f->end - f->p < 2 || f->p[0] != '<' || f->p[1] == '/') {
        f->p = text_start;                /* untyped: a string */
        return fast_scalar(f, &untyped_value);
    }
    const value_type *t = fast_type(f);
    xv *v = NULL;
    if (!t)
        return NULL;
    switch (t->kind) {
    case XV_STRUCT:
        v = fast_struct(f, depth);
        break;
    case XV_ARRAY:
        v = fast_array(f, depth);
        break;
    case XV_NIL:
        v = xv_nil();
        break;
    default:
        v = fast_scalar(f, t);
        break;
    }
    if (v && !fast_tags(f, "</value>")) {
        xv_free(v);
        v = NULL;
    }
    return v;
}

/* <param><value>...</value></param>, after optional blanks. */
static xv *fast_param(fast *f)
{
    if (!fast_tags(f, "<param>"))
        return NULL;
    xv *v = fast_value(f, 1);
    if (v && !fast_tags(f, "</param>")) {
        xv_free(v);
        v = NULL;
    }
    return v;
}

/* Start reading body: false (give up) if it is over the size limit; then
 * past an XML declaration of the plain forms. */
static bool fast_begin(fast *f, const char *body, size_t len, const xmlrpc_limits *lim)
{
    static const char *const decls[] = {
        "<?xml version=\"1.0\"?>", "<?xml version='1.0'?>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<?xml version='1.0' encoding='UTF-8'?>",
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>", "<?xml version='1.0' encoding='utf-8'?>",
    };
    xmlrpc_limits l;
    xmlrpc_limits_resolve(lim, &l);
    if (!body || len == 0 || len > l.max_bytes)
        return false;
    *f = (fast){ .p = body, .end = body + len, .max_nodes = l.max_nodes, .max_depth = l.max_depth };
    xbuf_init(&f->text);
    codec_init();
    for (size_t i = 0; i < sizeof decls / sizeof decls[0]; i++)
        if (fast_lit(f, decls[i], strlen(decls[i])))
            break;
    return true;
}

/* Done reading: if ok so far, were the closing tags and then only blanks
 * left? */
static bool fast_end(fast *f, bool ok, const char *tags)
{
    ok = ok && fast_tags(f, tags);
    fast_ws(f);
    xbuf_free(&f->text);
    return ok && f->p == f->end;
}

/* A whole plain <methodCall>, or false to give up. */
static bool fast_call(const char *body, size_t len, const xmlrpc_limits *lim, char **method_r,
                      xv **params_r)
{
    fast f;
    if (!fast_begin(&f, body, len, lim))
        return false;
    size_t mlen = 0;
    char *method = NULL;
    xv *params = xv_array();
    if (fast_tags(&f, "<methodCall><methodName>"))
        method = fast_text(&f, true, &mlen);
    bool ok = method && mlen > 0 && FAST_LIT(&f, "</methodName>");
    if (ok && !fast_tags(&f, "<params/>") && fast_tags(&f, "<params>")) {
        while (ok && !fast_tags(&f, "</params>")) {
            xv *v = fast_param(&f);
            if (v)
                xv_array_add(params, v);
            ok = v != NULL;
        }
    }
    if (!fast_end(&f, ok, "</methodCall>")) {
        free(method);
        xv_free(params);
        return false;
    }
    *method_r = method;
    *params_r = params;
    return true;
}

/* A whole plain <methodResponse> holding one param, or NULL to give up. */
static xv *fast_response(const char *body, size_t len, const xmlrpc_limits *lim)
{
    fast f;
    if (!fast_begin(&f, body, len, lim))
        return NULL;
    xv *v = NULL;
    if (fast_tags(&f, "<methodResponse><params>"))
        v = fast_param(&f);
    if (!fast_end(&f, v != NULL, "</params></methodResponse>")) {
        xv_free(v);
        v = NULL;
    }
    return v;
}

/* ---- the fast reader's scanner, for decoders of their own (util/xmlrpc.h) ---- */

bool xmlrpc_scan_begin(xmlrpc_scan *f, const char *body, size_t len, const xmlrpc_limits *lim)
{
    *f = (fast){ .p = NULL };
    xbuf_init(&f->text);
    return fast_begin(f, body, len, lim) && fast_tags(f, "<methodResponse><params><param>");
}

bool xmlrpc_scan_end(xmlrpc_scan *f)
{
    bool ok = fast_tags(f, "</param></params></methodResponse>");
    fast_ws(f);
    return ok && f->p == f->end;
}

void xmlrpc_scan_free(xmlrpc_scan *f) { xbuf_free(&f->text); }
bool xmlrpc_scan_lit(xmlrpc_scan *f, const char *lit, size_t n) { return fast_lit(f, lit, n); }
bool xmlrpc_scan_tags(xmlrpc_scan *f, const char *tags) { return fast_tags(f, tags); }
void xmlrpc_scan_ws(xmlrpc_scan *f) { fast_ws(f); }
const char *xmlrpc_scan_text(xmlrpc_scan *f, size_t *len_r) { return fast_text_span(f, len_r); }
xv *xmlrpc_scan_value(xmlrpc_scan *f, int depth) { return fast_value(f, depth); }

bool xmlrpc_scan_value_begin(xmlrpc_scan *f, int depth)
{
    return depth <= f->max_depth && 3 * depth + 3 <= FAST_MAX_ELEMENT_DEPTH &&
           fast_tags(f, "<value>");
}

const char *xmlrpc_scan_member(xmlrpc_scan *f, size_t *len_r)
{
    if (!fast_tags(f, "<member><name>"))
        return NULL;
    const char *s = fast_text_span(f, len_r);
    return s && FAST_LIT(f, "</name>") ? s : NULL;
}

/* ---- decoding: the fast reader first ---- */

/* A decoder's failure: its error (or dflt) to *err_r, or freed. */
static bool decode_failed(char *err, char **err_r, const char *dflt)
{
    if (!err && dflt) {
        err = strdup(dflt);
        if (!err)
            abort();
    }
    if (err_r)
        *err_r = err;
    else
        free(err);
    return false;
}

bool xmlrpc_parse_call_with(xmlrpc_reader reader, const char *body, size_t len,
                            const xmlrpc_limits *lim, char **method_r, xv **params_r, char **err_r)
{
    char *err = NULL;
    if (err_r)
        *err_r = NULL;
    if (reader != XMLRPC_READER_LIBXML2 && fast_call(body, len, lim, method_r, params_r))
        return true;
    if (reader == XMLRPC_READER_FAST)
        return false;
    if (tree_call(body, len, lim, method_r, params_r, &err))
        return true;
    return decode_failed(err, err_r, "malformed XML-RPC call");
}

bool xmlrpc_parse_call(const char *body, size_t len, const xmlrpc_limits *lim,
                       char **method_r, xv **params_r, char **err_r)
{
    return xmlrpc_parse_call_with(XMLRPC_READER_ANY, body, len, lim, method_r, params_r, err_r);
}

bool xmlrpc_parse_response_with(xmlrpc_reader reader, const char *body, size_t len,
                                const xmlrpc_limits *lim, xv **value_r, int *fault_code_r,
                                char **fault_string_r, char **err_r)
{
    char *err = NULL, *fstring = NULL;
    int code = 0;
    if (err_r)
        *err_r = NULL;
    if (reader != XMLRPC_READER_LIBXML2 && (*value_r = fast_response(body, len, lim)) != NULL)
        return true;
    if (reader == XMLRPC_READER_FAST)
        return false;
    if (!tree_response(body, len, lim, value_r, &code, &fstring, &err))
        return decode_failed(err, err_r, "malformed XML-RPC response");
    if (!*value_r) {
        if (fault_code_r)
            *fault_code_r = code;
        if (fault_string_r)
            *fault_string_r = fstring;
        else
            free(fstring);
    }
    return true;
}

bool xmlrpc_parse_response(const char *body, size_t len, const xmlrpc_limits *lim,
                           xv **value_r, int *fault_code_r, char **fault_string_r,
                           char **err_r)
{
    return xmlrpc_parse_response_with(XMLRPC_READER_ANY, body, len, lim, value_r, fault_code_r,
                                      fault_string_r, err_r);
}
