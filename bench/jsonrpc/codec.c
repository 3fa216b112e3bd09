/* bench/jsonrpc/codec: CPU time of one VM.get_power_state request through
 * each codec, in process (decode the request as the server does, encode
 * the answer as rpc/reply.c does for a string result): a figure the load of
 * a shared machine does not move much, measured in process CPU time.
 * usage: codec [ITERATIONS] */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc/jsonrpc.h"
#include "util/xmlrpc.h"

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    const char *xml = "<?xml version=\"1.0\"?><methodCall><methodName>VM.get_power_state</methodName><params>"
                      "<param><value><string>0b2c5a8e-1f0d-4c53-9a55-0d2b9a8f4e11</string></value></param>"
                      "<param><value><string>00000000-0000-0000-0000-000000000000</string></value></param>"
                      "</params></methodCall>";
    const char *json = "{\"jsonrpc\":\"2.0\",\"method\":\"VM.get_power_state\",\"params\":"
                       "[\"OpaqueRef:0b2c5a8e-1f0d-4c53-9a55-0d2b9a8f4e11\","
                       "\"OpaqueRef:00000000-0000-0000-0000-000000000000\"],\"id\":0}";
    xmlrpc_limits lim = { .max_bytes = 4194304, .max_depth = 64, .max_nodes = 200000 };
    double t0 = cpu_now();
    for (long i = 0; i < n; i++) {
        char *m = NULL, *err = NULL;
        xv *p = NULL;
        if (!xmlrpc_parse_call(xml, strlen(xml), &lim, &m, &p, &err))
            abort();
        xv *st = xv_struct();
        xv_struct_set(st, "Status", xv_str("Success"));
        xv_struct_set(st, "Value", xv_str("Running"));
        xbuf b;
        xbuf_init(&b);
        xmlrpc_encode_response(&b, st);
        xbuf_free(&b);
        xv_free(st);
        xv_free(p);
        free(m);
    }
    double t1 = cpu_now();
    for (long i = 0; i < n; i++) {
        char *m = NULL, *err = NULL;
        xv *p = NULL;
        jsonrpc_req req;
        if (!jsonrpc_parse_call(json, strlen(json), &lim, &req, &m, &p, &err))
            abort();
        xv *r = xv_str("Running");
        xbuf b;
        xbuf_init(&b);
        jsonrpc_encode_result(&b, &req, r);
        xbuf_free(&b);
        xv_free(r);
        jsonrpc_req_clear(&req);
        xv_free(p);
        free(m);
    }
    double t2 = cpu_now();
    double xu = (t1 - t0) / (double)n * 1e6, ju = (t2 - t1) / (double)n * 1e6;
    printf("codec CPU per VM.get_power_state (decode request + encode answer), %ld iterations:\n", n);
    printf("  XML-RPC  %.2f us\n  JSON-RPC %.2f us (%.1fx less)\n", xu, ju, xu / ju);
    printf("CODEC xml_us=%.3f json_us=%.3f\n", xu, ju);
    xmlrpc_cleanup();
    return 0;
}
