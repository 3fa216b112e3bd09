/* xmlrpc: XML-RPC encoding and hardened decoding (libxml2), shared by the
 * daemon and libxen.  No whitespace is ever emitted between elements, ints
 * are emitted as <string>decimal</string>, <nil/> is never emitted (an
 * XV_NIL is written as the empty string).
 */
#ifndef XEND_XMLRPC_H
#define XEND_XMLRPC_H

#include "util/xv.h"

/* Limits applied while decoding untrusted input. */
typedef struct xmlrpc_limits {
    size_t max_bytes;   /* reject documents larger than this (0 = 8 MiB default) */
    int max_depth;      /* max nesting of values: a param is level 1 (0 = 64 default) */
    size_t max_nodes;   /* max XML elements in one document (0 = 1,000,000) */
} xmlrpc_limits;

/* lim (NULL: all defaults) with every 0 replaced by its default and the
 * caps applied: the limits a decoder really enforces. */
void xmlrpc_limits_resolve(const xmlrpc_limits *lim, xmlrpc_limits *out);

/* Decode a <methodCall>.  On success returns true, *method_r (malloc'd) and
 * *params_r (an XV_ARRAY of the params, owned by the caller).  On failure
 * returns false and *err_r holds a malloc'd human-readable reason.
 * The parser never loads a DTD, never touches the network, never expands
 * entities (a document with a DOCTYPE is rejected), and enforces the limits.
 * The plain form (no comments, CDATA, DOCTYPE, ...) is decoded directly,
 * anything else by libxml2, with the same result (xmlrpc_reader below). */
bool xmlrpc_parse_call(const char *body, size_t len, const xmlrpc_limits *lim,
                       char **method_r, xv **params_r, char **err_r);

/* Decode a <methodResponse>.  A normal response yields *value_r (owned).
 * A <fault> yields true with *value_r NULL and *fault_code_r and *fault_string_r
 * set (fault_string malloc'd).  Malformed input: false and *err_r. */
bool xmlrpc_parse_response(const char *body, size_t len, const xmlrpc_limits *lim,
                           xv **value_r, int *fault_code_r, char **fault_string_r,
                           char **err_r);

/* Which decoder the *_with functions use.  The fast reader decodes the
 * plain form of XML-RPC straight into xv values and gives up on anything
 * else (comments, CDATA, PIs, a DOCTYPE, other encodings, ...); libxml2
 * decodes all of XML.  Where the fast reader accepts a document, libxml2
 * accepts it with the same result, so XMLRPC_READER_ANY (what
 * xmlrpc_parse_call and xmlrpc_parse_response use: the fast reader, then
 * libxml2 where it gave up) behaves exactly as libxml2 alone, only faster.
 * The choice is for tests and fuzzers that hold the two against each other. */
typedef enum xmlrpc_reader {
    XMLRPC_READER_ANY,
    XMLRPC_READER_FAST,        /* where it gives up: false with *err_r NULL */
    XMLRPC_READER_LIBXML2,
} xmlrpc_reader;

bool xmlrpc_parse_call_with(xmlrpc_reader reader, const char *body, size_t len,
                            const xmlrpc_limits *lim, char **method_r, xv **params_r,
                            char **err_r);
bool xmlrpc_parse_response_with(xmlrpc_reader reader, const char *body, size_t len,
                                const xmlrpc_limits *lim, xv **value_r, int *fault_code_r,
                                char **fault_string_r, char **err_r);

/* The fast reader's scanner, for a decoder that builds its own values from
 * the plain form (libxen decodes replies straight into its records).  Each
 * function returns false or NULL where the input leaves the plain form (or
 * would reach a limit): the caller then gives up and decodes the same bytes
 * with xmlrpc_parse_response, which judges them.  begin reads a response up
 * to its param's <value> (call free after it, whatever it returned), end
 * from after that value to the end; tags reads a run of tags, each after
 * optional blanks ("</member></struct>"), start tags counted against the
 * node limit; value_begin reads a <value> start tag (after blanks) at depth
 * (as xmlrpc_limits counts it); text decodes the text up to the next '<'
 * (*len_r bytes at the pointer returned, valid until the next call, not
 * NUL-terminated); member reads "<member><name>NAME</name>" (after blanks)
 * and returns NAME as text does; value decodes one <value> (after blanks). */
typedef struct xmlrpc_scan {
    const char *p, *end;
    size_t nodes, max_nodes;
    int max_depth;
    xbuf text; /* scratch for text with entities */
} xmlrpc_scan;
bool xmlrpc_scan_begin(xmlrpc_scan *f, const char *body, size_t len, const xmlrpc_limits *lim);
bool xmlrpc_scan_end(xmlrpc_scan *f);
void xmlrpc_scan_free(xmlrpc_scan *f);
bool xmlrpc_scan_lit(xmlrpc_scan *f, const char *lit, size_t n);
bool xmlrpc_scan_tags(xmlrpc_scan *f, const char *tags);
void xmlrpc_scan_ws(xmlrpc_scan *f);
bool xmlrpc_scan_value_begin(xmlrpc_scan *f, int depth);
const char *xmlrpc_scan_text(xmlrpc_scan *f, size_t *len_r);
const char *xmlrpc_scan_member(xmlrpc_scan *f, size_t *len_r);
xv *xmlrpc_scan_value(xmlrpc_scan *f, int depth);

/* Free libxml2's global state at process exit (optional, for leak checkers).
 * Only call it when no other thread can be parsing. */
void xmlrpc_cleanup(void);

/* Encoders append to b.  Text is escaped; bytes that cannot appear in XML 1.0
 * (C0 controls other than TAB/LF/CR, invalid UTF-8, U+FFFE/U+FFFF) are
 * replaced by U+FFFD so the output is always well-formed; CR is written as
 * &#13; so it survives a round trip.  A NULL value is written as "". */
void xmlrpc_encode_value(xbuf *b, const xv *v);
/* A struct value written piece by piece, straight from where its members
 * live (xmlrpc_encode_value writes an XV_STRUCT with these): begin, then for
 * each member member_begin(name), xmlrpc_encode_value (or any of these for a
 * nested struct), member_end; then end. */
void xmlrpc_encode_struct_begin(xbuf *b);
void xmlrpc_encode_member_begin(xbuf *b, const char *name);
void xmlrpc_encode_member_end(xbuf *b);
void xmlrpc_encode_struct_end(xbuf *b);
void xmlrpc_encode_call(xbuf *b, const char *method, const xv *params /* ARRAY */);
void xmlrpc_encode_response(xbuf *b, const xv *value);
void xmlrpc_encode_fault(xbuf *b, int code, const char *string);

#endif
