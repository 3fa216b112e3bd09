/* server: the HTTP transport (libmicrohttpd) for every configured listener:
 * Unix socket (root-only), plain HTTP and HTTPS.  Each request body is one
 * XML-RPC methodCall; it is decoded here under hard limits and handed to the
 * dispatcher; the connection is suspended (holding no thread) until the
 * call's answer is ready.
 */
#ifndef XEND_RPC_SERVER_H
#define XEND_RPC_SERVER_H

#include <stdbool.h>
#include "config/xendconf.h"

typedef struct rpc_server rpc_server;

/* Bind every listener of cfg (borrowed; must outlive the server) and start
 * serving.  NULL with *err_r (malloc'd) on failure. */
rpc_server *rpc_server_start(const xend_config *cfg, char **err_r);
void rpc_server_stop(rpc_server *s);

#endif
