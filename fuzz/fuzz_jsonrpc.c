/* libFuzzer harness for the JSON-RPC decoder (rpc/jsonrpc.c): every input
 * is decoded as a request under the daemon's limits; a decoded request is
 * re-encoded and decoded again, and must come back equal (abort()
 * otherwise).  Built by make fuzz (fuzz/local.mk); seeds in
 * fuzz/corpus/jsonrpc/. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/jsonrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xmlrpc_limits lim = { .max_bytes = 1 << 20, .max_depth = 64, .max_nodes = 200000 };
    jsonrpc_req req;
    char *method = NULL, *err = NULL;
    xv *params = NULL;
    if (jsonrpc_parse_call((const char *)data, size, &lim, &req, &method, &params, &err)) {
        xbuf b;
        xbuf_init(&b);
        if (!jsonrpc_encode_value(&b, params))
            abort();            /* a decoded tree always has a JSON form */
        xv *back = NULL;
        char *err2 = NULL;
        xmlrpc_limits big = { .max_bytes = b.len + 1, .max_depth = 66, .max_nodes = 200000 };
        if (!jsonrpc_parse_value(b.data, b.len, &big, &back, &err2))
            abort();            /* what we write, we read */
        /* NIL is written as "" (as the XML codec writes it): compare only
         * trees without one */
        if (!strstr((const char *)b.data, "\"\"") && !xv_equal(params, back))
            abort();
        xv_free(back);
        free(err2);
        xbuf_free(&b);
    }
    jsonrpc_req_clear(&req);
    free(method);
    free(err);
    xv_free(params);
    return 0;
}
