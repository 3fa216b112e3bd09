/* reply: the XenAPI result convention on the wire, the only place that
 * writes Status / Value / ErrorDescription (XML-RPC) or a JSON-RPC result /
 * error, and XML-RPC faults for requests that never became a call.  Each
 * returns a malloc'd body.
 */
#ifndef XEND_REPLY_H
#define XEND_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/dispatch.h"
#include "rpc/jsonrpc.h"

/* The wire form of a call's answer. */
typedef enum xcodec { XCODEC_XMLRPC = 0, XCODEC_JSONRPC } xcodec;

/* How a request wants its answer (from its path and envelope). */
typedef struct rpc_form {
    xcodec codec;
    bool opaque_refs;           /* refs in XAPI's "OpaqueRef:<uuid>" form */
    const jsonrpc_req *json;    /* JSON-RPC: the envelope to answer */
} rpc_form;

/* A finished call's answer: {Status: Success, Value: v} or {Status:
 * Failure, ErrorDescription: [code, params...]} in XML-RPC (the bare value
 * for system.listMethods, as XAPI answers it), or JSON-RPC's result /
 * error.  call->result may be rewritten in place (refs).  An error's
 * detail is never sent. */
char *rpc_reply_encode(const rpc_form *f, xcall *call, size_t *len_r);
/* An XML-RPC <fault> (malformed request, wrong HTTP method, too large). */
char *rpc_fault_encode(int code, const char *msg, size_t *len_r);

#endif
