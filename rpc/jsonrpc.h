/* jsonrpc: the JSON-RPC codec (1.0 and 2.0, as XAPI speaks them on
 * POST /jsonrpc), producing and consuming the same xv trees as the XML-RPC
 * codec, so one dispatcher serves both.  See docs/jsonrpc.md.
 *
 * Decoding applies the XML codec's limits (xmlrpc_limits: document size,
 * value nesting depth where a param is level 1, number of values) plus the
 * XML parser's bound on one string (JSONRPC_MAX_STRING bytes).  Input must
 * be UTF-8 (RFC 8259); a string may not contain U+0000 (xend's strings are C
 * strings: it would be cut silently).
 *
 * Mapping: string -> XV_STRING; a number without fraction or exponent ->
 * XV_INT (int64, out of range is an error); any other number -> XV_DOUBLE;
 * true/false -> XV_BOOL; null -> XV_NIL; array -> XV_ARRAY; object ->
 * XV_STRUCT (a key given twice is an error).  Encoding: XV_INT as a JSON
 * integer, XV_DOUBLE as a number (NaN and infinities, which JSON cannot
 * carry, as the strings "NaN", "Infinity", "-Infinity"), datetimes as
 * "YYYYMMDDTHH:MM:SSZ", base64 and strings as strings, XV_NIL as "" (as the
 * XML codec writes it).
 */
#ifndef XEND_JSONRPC_H
#define XEND_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>

#include "util/xmlrpc.h"
#include "util/xv.h"

/* The longest string accepted, as libxml2's default text-node bound. */
#define JSONRPC_MAX_STRING ((size_t)10000000)

/* The envelope of a decoded request, needed to answer it. */
typedef struct jsonrpc_req {
    int version;        /* 1 (no "jsonrpc" member) or 2 ("jsonrpc": "2.0") */
    char *id;           /* the request's id as JSON text, echoed verbatim (malloc'd) */
} jsonrpc_req;

void jsonrpc_req_clear(jsonrpc_req *r);

/* Decode one request.  On success: *method_r (malloc'd), *params_r (an
 * XV_ARRAY owned by the caller) and *req filled.  On failure false,
 * *err_r (malloc'd reason) and req->version set when the envelope was read
 * far enough to know it (else 0). */
bool jsonrpc_parse_call(const char *body, size_t len, const xmlrpc_limits *lim, jsonrpc_req *req,
                        char **method_r, xv **params_r, char **err_r);

/* Decode one JSON value under the limits (a top-level value is level 1). */
bool jsonrpc_parse_value(const char *text, size_t len, const xmlrpc_limits *lim, xv **v_r,
                         char **err_r);

/* Append v as JSON.  False (with b holding a partial text) if v contains a
 * value pre-encoded as XML (xv_encoded_take), which has no JSON form. */
bool jsonrpc_encode_value(xbuf *b, const xv *v);

/* Append a whole reply for req: a result (false as above), or a XenAPI
 * error: code and params (v1: "error": [code, params...]; v2: "error":
 * {"code": 1, "message": code, "data": [params...]}). */
bool jsonrpc_encode_result(xbuf *b, const jsonrpc_req *req, const xv *result);
void jsonrpc_encode_error(xbuf *b, const jsonrpc_req *req, const char *code,
                          const char *const *params, size_t n);

/* A request that could not be decoded: JSON-RPC 2.0's own error object
 * {"code": JSONRPC_PARSE_ERROR or JSONRPC_INVALID_REQUEST, "message",
 * "data": [reason]} with the request's id when it was read, else null. */
#define JSONRPC_PARSE_ERROR (-32700)
#define JSONRPC_INVALID_REQUEST (-32600)
void jsonrpc_encode_invalid(xbuf *b, const jsonrpc_req *req, int code, const char *reason);

#endif
