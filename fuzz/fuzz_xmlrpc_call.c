/* libFuzzer harness for the XML-RPC request decoder (util/xmlrpc.c): every
 * input is decoded as a <methodCall> under the daemon's limits; a decoded
 * call is encoded, decoded and encoded again: both decodes succeed, the
 * method is the same and the two encodings are the same bytes (abort()
 * otherwise; the encoder normalises, e.g. ints and nil go out as strings,
 * so the trees themselves are compared after one round).  Seeds in fuzz/corpus/xmlrpc_call/. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmlrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xmlrpc_limits lim = { .max_bytes = 1 << 20, .max_depth = 64, .max_nodes = 200000 };
    char *method = NULL, *err = NULL;
    xv *params = NULL;
    if (xmlrpc_parse_call((const char *)data, size, &lim, &method, &params, &err)) {
        xbuf b;
        xbuf_init(&b);
        xmlrpc_encode_call(&b, method, params);
        char *method2 = NULL, *err2 = NULL;
        xv *back = NULL;
        /* what we write, we read: same limits but room for the encoder's own layout */
        xmlrpc_limits big = { .max_bytes = b.len + 1, .max_depth = 66, .max_nodes = 400000 };
        if (!xmlrpc_parse_call(b.data, b.len, &big, &method2, &back, &err2))
            abort();
        if (strcmp(method, method2) != 0)
            abort();
        xbuf b2;
        xbuf_init(&b2);
        xmlrpc_encode_call(&b2, method2, back);
        if (b2.len != b.len || memcmp(b.data, b2.data, b.len) != 0)
            abort();
        xbuf_free(&b2);
        free(method2);
        free(err2);
        xv_free(back);
        xbuf_free(&b);
    }
    free(method);
    free(err);
    xv_free(params);
    return 0;
}
