/* libFuzzer harness for the XML-RPC response decoder (util/xmlrpc.c, used
 * by libxen and the tools): every input is decoded as a <methodResponse>; a
 * decoded value is encoded, decoded and encoded again, and the two
 * encodings must be the same bytes; a fault must come with its string
 * (abort() otherwise).  Seeds in
 * fuzz/corpus/xmlrpc_response/. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmlrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xmlrpc_limits lim = { .max_bytes = 1 << 20, .max_depth = 64, .max_nodes = 200000 };
    xv *value = NULL;
    int code = 0;
    char *fault = NULL, *err = NULL;
    if (xmlrpc_parse_response((const char *)data, size, &lim, &value, &code, &fault, &err)) {
        if (!value && !fault)
            abort();            /* a fault always has its string */
        if (value) {
            xbuf b;
            xbuf_init(&b);
            xmlrpc_encode_response(&b, value);
            xv *back = NULL;
            int code2 = 0;
            char *fault2 = NULL, *err2 = NULL;
            xmlrpc_limits big = { .max_bytes = b.len + 1, .max_depth = 66, .max_nodes = 400000 };
            if (!xmlrpc_parse_response(b.data, b.len, &big, &back, &code2, &fault2, &err2) || !back)
                abort();
            xbuf b2;
            xbuf_init(&b2);
            xmlrpc_encode_response(&b2, back);
            if (b2.len != b.len || memcmp(b.data, b2.data, b.len) != 0)
                abort();
            xbuf_free(&b2);
            xv_free(back);
            free(fault2);
            free(err2);
            xbuf_free(&b);
        }
    }
    xv_free(value);
    free(fault);
    free(err);
    return 0;
}
