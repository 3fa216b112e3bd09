/* static: serves the web console's files (GET and HEAD) from one directory.
 *
 * A request path is resolved below that directory one component at a time,
 * following no symbolic link, refusing "." and ".." and hidden names, so no
 * request reaches a file outside it; only regular files of at most 16 MiB are
 * sent, a directory answers with its index.html.  Anything else is a plain
 * 404 that does not say why. */
#ifndef XEND_RPC_STATIC_H
#define XEND_RPC_STATIC_H

#include <microhttpd.h>

/* Queues the answer for url (already %-decoded by MHD) from dir; dir NULL or
 * "" (the console switched off) answers 404.  MHD_NO only when MHD could not
 * queue anything. */
enum MHD_Result rpc_static_serve(struct MHD_Connection *conn, const char *dir, const char *url);

/* The Content-Type for a file name, by its extension. */
const char *rpc_static_type(const char *name);

#endif
