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
 * Responses take a fast path first (fast_response below): the plain form
 * that servers write is decoded straight into xv values without libxml2's
 * document tree; anything outside that form goes through the path above.
 */
#include <config.h>

#include "util/xmlrpc.h"
#include "util/strutil.h"

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
        ADD_LIT(b, "<value><dateTime.iso8601>");
        xbuf_add_escaped(b, v->u.str.s, v->u.str.len);
        ADD_LIT(b, "</dateTime.iso8601></value>");
        break;
    case XV_BASE64:
        ADD_LIT(b, "<value><base64>");
        xbuf_add_escaped(b, v->u.str.s, v->u.str.len);
        ADD_LIT(b, "</base64></value>");
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

static xv *dec_int(dec *d, xmlNode *el, bool is_i4)
{
    size_t len;
    char *s = element_text_trimmed(d, el, &len);
    xv *v = s ? int_from_text(&d->err, (const char *)el->name, s, len, is_i4) : NULL;
    free(s);
    return v;
}

static xv *dec_bool(dec *d, xmlNode *el)
{
    size_t len;
    char *s = element_text_trimmed(d, el, &len);
    xv *v = s ? bool_from_text(&d->err, s) : NULL;
    free(s);
    return v;
}

static xv *dec_double(dec *d, xmlNode *el)
{
    size_t len;
    char *s = element_text_trimmed(d, el, &len);
    xv *v = s ? double_from_text(&d->err, s, len) : NULL;
    free(s);
    return v;
}

static xv *dec_text_kind(dec *d, xmlNode *el, xv_kind kind, bool trim)
{
    size_t len;
    char *s = trim ? element_text_trimmed(d, el, &len) : element_text(d, el, &len);
    if (!s)
        return NULL;
    if (kind == XV_STRING)
        return xv_str_take(s);
    xv *v = xv_str_take(s);
    v->kind = kind;
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
    if (d->err)
        goto fail;
    free(ki.slots);
    return st;
fail:
    free(ki.slots);
    xv_free(st);
    return NULL;
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
    if (!has_element)
        return dec_text_kind(d, value_el, XV_STRING, false);

    xmlNode *t = first_element(d, value_el);
    if (!t)
        return NULL;
    if (following_element(d, t, value_el) || d->err) {
        set_err(&d->err, "<value> must hold exactly one typed element");
        return NULL;
    }
    const char *name = (const char *)t->name;
    switch (name[0]) {
    case 's':
        if (strcmp(name, "string") == 0)
            return dec_text_kind(d, t, XV_STRING, false);
        if (strcmp(name, "struct") == 0)
            return dec_struct(d, t, depth);
        break;
    case 'i':
        if (strcmp(name, "int") == 0)
            return dec_int(d, t, false);
        if (strcmp(name, "i4") == 0)
            return dec_int(d, t, true);
        if (strcmp(name, "i8") == 0)
            return dec_int(d, t, false);
        break;
    case 'b':
        if (strcmp(name, "boolean") == 0)
            return dec_bool(d, t);
        if (strcmp(name, "base64") == 0)
            return dec_text_kind(d, t, XV_BASE64, false);
        break;
    case 'd':
        if (strcmp(name, "double") == 0)
            return dec_double(d, t);
        if (strcmp(name, "dateTime.iso8601") == 0)
            return dec_text_kind(d, t, XV_DATETIME, true);
        break;
    case 'a':
        if (strcmp(name, "array") == 0)
            return dec_array(d, t, depth);
        break;
    case 'n':
        if (strcmp(name, "nil") == 0) {
            if (first_element(d, t) || d->err) {
                set_err(&d->err, "<nil/> must be empty");
                return NULL;
            }
            return xv_nil();
        }
        break;
    default:
        break;
    }
    set_err(&d->err, "unknown value type <%.64s>", name);
    return NULL;
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

bool xmlrpc_parse_call(const char *body, size_t len, const xmlrpc_limits *lim,
                       char **method_r, xv **params_r, char **err_r)
{
    bool ok = false;
    dec d = { 0, NULL };
    char *method = NULL;
    xv *params = NULL;
    xmlDocPtr doc = parse_doc(body, len, lim, &d.max_depth, &d.err);
    xmlNode *root, *n;

    if (!doc)
        goto out;
    root = xmlDocGetRootElement(doc);
    if (!root || !name_is(root, "methodCall")) {
        set_err(&d.err, "root element is <%s>, not <methodCall>",
                root ? (const char *)root->name : "(none)");
        goto out;
    }
    n = first_element(&d, root);
    if (d.err)
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
        if (!d.err)
            set_err(&d.err, "malformed XML-RPC call");
        if (err_r)
            *err_r = d.err;
        else
            free(d.err);
        d.err = NULL;
    }
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
    *string_r = strdup(fs && fs->kind == XV_STRING ? fs->u.str.s : "");
    if (!*string_r)
        abort();
    ok = true;
out:
    xv_free(v);
    return ok;
}

/* ---- the fast path for responses ----
 *
 * A direct decoder for the plain form of XML-RPC that xend (and most
 * servers) write: no comments, PIs (but the XML declaration), CDATA,
 * DOCTYPE, attributes or self-closing tags but <nil/>, no raw CR (XML would
 * normalise it), text of legal XML characters with the five predefined
 * entities and character references.  It builds the xv tree straight from
 * the bytes, without libxml2's document tree: for a 35 MB get_all_records
 * reply that tree was most of a client's time.  Anything else it does not
 * judge: it gives up and xmlrpc_parse_response runs the hardened libxml2
 * decoder over the same bytes, which accepts what XML allows and words the
 * error for what it does not.  The limits hold here too (more nodes or
 * deeper values than allowed: give up, and libxml2's path refuses). */

typedef struct fast {
    const char *p, *end;
    size_t nodes, max_nodes;
    int max_depth;
    xbuf text;                 /* scratch for text with entities */
} fast;

static char *dup_bytes(const char *s, size_t n)
{
    char *r = malloc(n + 1);
    if (!r)
        abort();
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

static bool fast_lit(fast *f, const char *lit, size_t n)
{
    if ((size_t)(f->end - f->p) < n || memcmp(f->p, lit, n) != 0)
        return false;
    f->p += n;
    return true;
}

#define FAST_LIT(f, lit) fast_lit((f), (lit), sizeof(lit) - 1)

/* An element's start tag, counted against max_nodes. */
static bool fast_open(fast *f, const char *lit, size_t n)
{
    if (!fast_lit(f, lit, n))
        return false;
    return ++f->nodes <= f->max_nodes;
}

#define FAST_OPEN(f, lit) fast_open((f), (lit), sizeof(lit) - 1)

static void fast_ws(fast *f)
{
    while (f->p < f->end && is_blank(*f->p) && *f->p != '\r')
        f->p++;
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
        char c = *f->p;
        int dv = c >= '0' && c <= '9' ? c - '0'
               : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
               : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (dv < 0 || digits >= 8)
            return false;
        cp = cp * (hex ? 16 : 10) + (uint32_t)dv;
    }
    if (digits == 0 || !FAST_LIT(f, ";"))
        return false;
    /* XML 1.0's Char production */
    if (!(cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
          (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF)))
        return false;
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    xbuf_add(out, u, n);
    return true;
}

/* The text up to the next '<', decoded into a malloc'd string (*len_r
 * bytes); NULL to give up. */
static char *fast_text(fast *f, size_t *len_r)
{
    const char *start = f->p, *run = f->p;
    bool copied = false;
    f->text.len = 0;
    while (f->p < f->end && *f->p != '<') {
        unsigned char c = (unsigned char)*f->p;
        if (c == '&') {
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
    if (f->p == f->end)
        return NULL;
    size_t len;
    char *s;
    if (copied) {
        xbuf_add(&f->text, run, (size_t)(f->p - run));
        len = f->text.len;
        s = dup_bytes(f->text.data, len);
    } else {
        len = (size_t)(f->p - start);
        s = dup_bytes(start, len);
    }
    *len_r = len;
    return s;
}

/* Text without its surrounding blanks (numbers, booleans, dates). */
static char *fast_text_trimmed(fast *f, size_t *len_r)
{
    size_t len;
    char *s = fast_text(f, &len);
    if (s)
        *len_r = trim_blanks(s, len);
    return s;
}

static xv *fast_value(fast *f, int depth);

/* A scalar: its text, then the closing tag. */
static xv *fast_scalar(fast *f, const char *close, size_t close_n, xv_kind kind)
{
    size_t len;
    bool trim = kind != XV_STRING && kind != XV_BASE64;
    char *s = trim ? fast_text_trimmed(f, &len) : fast_text(f, &len);
    xv *v = NULL;
    char *err = NULL;                     /* the tree walk words the error */
    if (!s || !fast_lit(f, close, close_n))
        goto out;
    switch (kind) {
    case XV_INT:
        v = int_from_text(&err, "int", s, len, strcmp(close, "</i4>") == 0);
        break;
    case XV_BOOL:
        v = bool_from_text(&err, s);
        break;
    case XV_DOUBLE:
        v = double_from_text(&err, s, len);
        break;
    default:
        v = xv_str_take(s);
        v->u.str.len = len;
        v->kind = kind;
        return v;
    }
out:
    free(err);
    free(s);
    return v;
}

static xv *fast_array(fast *f, int depth)
{
    xv *arr = xv_array();
    fast_ws(f);
    if (!FAST_OPEN(f, "<data>"))
        goto fail;
    for (;;) {
        fast_ws(f);
        if (FAST_LIT(f, "</data>"))
            break;
        xv *item = fast_value(f, depth + 1);
        if (!item)
            goto fail;
        xv_array_add(arr, item);
    }
    fast_ws(f);
    if (FAST_LIT(f, "</array>"))
        return arr;
fail:
    xv_free(arr);
    return NULL;
}

static xv *fast_struct(fast *f, int depth)
{
    xv *st = xv_struct();
    key_index ki = { NULL, 0 };
    for (;;) {
        fast_ws(f);
        if (FAST_LIT(f, "</struct>"))
            break;
        if (!FAST_OPEN(f, "<member>"))
            goto fail;
        fast_ws(f);
        if (!FAST_OPEN(f, "<name>"))
            goto fail;
        size_t klen;
        char *key = fast_text(f, &klen);
        if (!key)
            goto fail;
        if (!FAST_LIT(f, "</name>")) {
            free(key);
            goto fail;
        }
        fast_ws(f);
        xv *val = fast_value(f, depth + 1);
        if (!val) {
            free(key);
            goto fail;
        }
        struct_put(st, &ki, key, val);
        fast_ws(f);
        if (!FAST_LIT(f, "</member>"))
            goto fail;
    }
    free(ki.slots);
    return st;
fail:
    free(ki.slots);
    xv_free(st);
    return NULL;
}

/* <value>...</value>, at its start tag. */
static xv *fast_value(fast *f, int depth)
{
    if (depth > f->max_depth || !FAST_OPEN(f, "<value>"))
        return NULL;
    const char *text_start = f->p;
    while (f->p < f->end && is_blank(*f->p) && *f->p != '\r')
        f->p++;
    if (f->p < f->end && *f->p == '<' && f->p + 1 < f->end && f->p[1] != '/') {
        xv *v = NULL;
        if (FAST_OPEN(f, "<string>"))
            v = fast_scalar(f, "</string>", 9, XV_STRING);
        else if (FAST_OPEN(f, "<struct>"))
            v = fast_struct(f, depth);
        else if (FAST_OPEN(f, "<array>"))
            v = fast_array(f, depth);
        else if (FAST_OPEN(f, "<int>"))
            v = fast_scalar(f, "</int>", 6, XV_INT);
        else if (FAST_OPEN(f, "<i4>"))
            v = fast_scalar(f, "</i4>", 5, XV_INT);
        else if (FAST_OPEN(f, "<i8>"))
            v = fast_scalar(f, "</i8>", 5, XV_INT);
        else if (FAST_OPEN(f, "<boolean>"))
            v = fast_scalar(f, "</boolean>", 10, XV_BOOL);
        else if (FAST_OPEN(f, "<double>"))
            v = fast_scalar(f, "</double>", 9, XV_DOUBLE);
        else if (FAST_OPEN(f, "<dateTime.iso8601>"))
            v = fast_scalar(f, "</dateTime.iso8601>", 19, XV_DATETIME);
        else if (FAST_OPEN(f, "<base64>"))
            v = fast_scalar(f, "</base64>", 9, XV_BASE64);
        else if (FAST_OPEN(f, "<nil/>"))
            v = xv_nil();
        if (!v)
            return NULL;
        fast_ws(f);
        if (FAST_LIT(f, "</value>"))
            return v;
        xv_free(v);
        return NULL;
    }
    /* untyped: a string */
    f->p = text_start;
    size_t len;
    char *s = fast_text(f, &len);
    if (!s)
        return NULL;
    if (!FAST_LIT(f, "</value>")) {
        free(s);
        return NULL;
    }
    xv *v = xv_str_take(s);
    v->u.str.len = len;
    return v;
}

/* A whole <methodResponse> holding one param, or NULL to give up. */
static xv *fast_response(const char *body, size_t len, const xmlrpc_limits *lim)
{
    xmlrpc_limits l;
    xmlrpc_limits_resolve(lim, &l);
    if (!body || len == 0 || len > l.max_bytes)
        return NULL;
    fast f = { .p = body, .end = body + len, .max_nodes = l.max_nodes, .max_depth = l.max_depth };
    xbuf_init(&f.text);
    codec_init();
    xv *v = NULL;
    if (!FAST_LIT(&f, "<?xml version=\"1.0\"?>"))
        (void)FAST_LIT(&f, "<?xml version='1.0'?>");
    fast_ws(&f);
    if (!FAST_OPEN(&f, "<methodResponse>"))
        goto out;
    fast_ws(&f);
    if (!FAST_OPEN(&f, "<params>"))
        goto out;
    fast_ws(&f);
    if (!FAST_OPEN(&f, "<param>"))
        goto out;
    fast_ws(&f);
    v = fast_value(&f, 1);
    if (!v)
        goto out;
    fast_ws(&f);
    if (!FAST_LIT(&f, "</param>"))
        goto fail;
    fast_ws(&f);
    if (!FAST_LIT(&f, "</params>"))
        goto fail;
    fast_ws(&f);
    if (!FAST_LIT(&f, "</methodResponse>"))
        goto fail;
    fast_ws(&f);
    if (f.p == f.end)
        goto out;
fail:
    xv_free(v);
    v = NULL;
out:
    xbuf_free(&f.text);
    return v;
}

bool xmlrpc_parse_response(const char *body, size_t len, const xmlrpc_limits *lim,
                           xv **value_r, int *fault_code_r, char **fault_string_r,
                           char **err_r)
{
    bool ok = false;
    dec d = { 0, NULL };
    xv *value = NULL;
    int code = 0;
    char *fstring = NULL;
    xmlDocPtr doc = NULL;
    xmlNode *root, *n;

    value = fast_response(body, len, lim);
    if (value) {
        ok = true;
        goto out;
    }
    doc = parse_doc(body, len, lim, &d.max_depth, &d.err);
    if (!doc)
        goto out;
    root = xmlDocGetRootElement(doc);
    if (!root || !name_is(root, "methodResponse")) {
        set_err(&d.err, "root element is <%s>, not <methodResponse>",
                root ? (const char *)root->name : "(none)");
        goto out;
    }
    n = first_element(&d, root);
    if (d.err)
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
        if (!dec_fault(&d, n, &code, &fstring))
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
    if (ok) {
        *value_r = value;
        if (!value) {
            if (fault_code_r)
                *fault_code_r = code;
            if (fault_string_r)
                *fault_string_r = fstring;
            else
                free(fstring);
        }
    } else {
        xv_free(value);
        free(fstring);
        if (!d.err)
            set_err(&d.err, "malformed XML-RPC response");
        if (err_r)
            *err_r = d.err;
        else
            free(d.err);
    }
    return ok;
}
