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

/* SIGHUP: serve cfg's listeners (cfg and every config given before must
 * outlive the server).  Listeners no longer configured stop accepting at
 * once and stop when their last connection ends; new ones are bound;
 * an HTTPS listener whose certificate or key files changed is served by a
 * new daemon with them (a pair that does not load keeps the old one).
 * False when a new listener could not be bound (logged; the rest applies). */
bool rpc_server_reload(rpc_server *s, const xend_config *cfg);
/* Periodic: stops retired listeners whose connections are gone. */
void rpc_server_tick(rpc_server *s);
/* How many connections are open, on every listener. */
size_t rpc_server_connections(const rpc_server *s);
/* How many listeners are serving. */
size_t rpc_server_listeners(const rpc_server *s);

#endif
