/* libFuzzer harness for the XML-RPC request decoder (util/xmlrpc.c): every
 * input is decoded as a <methodCall> under the daemon's limits by each
 * reader (xmlrpc_reader): the fast reader alone, libxml2 alone and both as
 * the daemon runs them.  Where the fast reader decodes a call, libxml2
 * decodes the same (method and the encoding of the params); where it gives
 * up it words no error; and the daemon's decoder answers exactly as libxml2
 * does, error text included.  Then a decoded call is encoded, decoded and
 * encoded again: both decodes succeed, the method is the same and the two
 * encodings are the same bytes (the encoder normalises, e.g. ints and nil go
 * out as strings, so the trees themselves are compared after one round).
 * abort() on any difference.  Seeds in fuzz/corpus/xmlrpc_call/. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmlrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct decoded {
    bool ok;
    char *method, *err;
    xv *params;
    xbuf wire;                 /* the call encoded again */
} decoded;

static void decode(decoded *d, xmlrpc_reader reader, const char *body, size_t len,
                   const xmlrpc_limits *lim)
{
    memset(d, 0, sizeof(*d));
    xbuf_init(&d->wire);
    d->ok = xmlrpc_parse_call_with(reader, body, len, lim, &d->method, &d->params, &d->err);
    if (d->ok)
        xmlrpc_encode_call(&d->wire, d->method, d->params);
}

static void decoded_free(decoded *d)
{
    free(d->method);
    free(d->err);
    xv_free(d->params);
    xbuf_free(&d->wire);
}

static bool same(const decoded *a, const decoded *b)
{
    if (a->ok != b->ok)
        return false;
    if (!a->ok)
        return a->err && b->err && strcmp(a->err, b->err) == 0;
    return strcmp(a->method, b->method) == 0 && a->wire.len == b->wire.len &&
           memcmp(a->wire.data, b->wire.data, a->wire.len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xmlrpc_limits lim = { .max_bytes = 1 << 20, .max_depth = 64, .max_nodes = 200000 };
    decoded fast, tree, any;
    decode(&fast, XMLRPC_READER_FAST, (const char *)data, size, &lim);
    decode(&tree, XMLRPC_READER_LIBXML2, (const char *)data, size, &lim);
    decode(&any, XMLRPC_READER_ANY, (const char *)data, size, &lim);
    if (fast.ok ? !same(&fast, &tree) : fast.err != NULL)
        abort();
    if (!same(&any, &tree))
        abort();
    if (any.ok) {
        /* what we write, we read: same limits but room for the encoder's own layout */
        xmlrpc_limits big = { .max_bytes = any.wire.len + 1, .max_depth = 66, .max_nodes = 400000 };
        decoded back;
        decode(&back, XMLRPC_READER_ANY, any.wire.data, any.wire.len, &big);
        if (!same(&back, &any))
            abort();
        decoded_free(&back);
    }
    decoded_free(&fast);
    decoded_free(&tree);
    decoded_free(&any);
    return 0;
}
