/* libxen: a ready transport, so programs need no call_func of their own
 * (http and https through libcurl, loaded when first needed).
 *
 *   xen_transport *t = xen_transport_new("https://host:9367/");
 *   xen_transport_set_ca_file(t, "/etc/xend/ca.pem");     // optional
 *   xen_session *s = xen_session_login_with_password(xen_transport_call, t,
 *                                                    user, password);
 *   ...
 *   xen_session_logout(s);
 *   xen_transport_free(t);
 *
 * or simply xen_session_login_url(url, user, password), whose session owns
 * its transport (freed by xen_session_logout).
 *
 * URLs: "http://host:port/path", "https://host:port/path" (the server
 * certificate and host name are verified by default, against the system CA
 * store or the file given to xen_transport_set_ca_file), and
 * "unix:///path/to/socket" for HTTP over a local Unix-domain socket (for
 * example unix:///var/run/xend/xen-api.sock).
 *
 * One transport keeps its connection alive between calls.  A transport must
 * not be used by two threads at once.
 */
#ifndef XEN_TRANSPORT_H
#define XEN_TRANSPORT_H

#include <xen/api/xen_common.h>

typedef struct xen_transport xen_transport;

/* A new transport for url (copied), or NULL for an unsupported URL or out of
 * memory.  Yours to free with xen_transport_free(). */
extern xen_transport *xen_transport_new(const char *url);

/* Verify the HTTPS server against the CA certificates in this PEM file
 * (copied).  Returns false if path is NULL. */
extern bool xen_transport_set_ca_file(xen_transport *t, const char *path);

/* Turn certificate and host name verification off (verify == false) or back
 * on.  On by default; turning it off is for tests only. */
extern void xen_transport_set_verify(xen_transport *t, bool verify);

/* Give up on a call after this many seconds (0, the default: never; event.next
 * and task polling may legitimately block for a long time). */
extern void xen_transport_set_timeout(xen_transport *t, long seconds);

/* Free the transport and close its connection.  NULL is fine. */
extern void xen_transport_free(xen_transport *t);

/* An xen_call_func: pass it with the transport as the handle to
 * xen_session_login_with_password().  Returns 0 on success, a libcurl error
 * code (CURLcode) on a transport failure, or the HTTP status when the
 * server answers with something other than 2xx. */
extern int xen_transport_call(const void *data, size_t len, void *user_handle,
                              void *result_handle, xen_result_func result_func);

/* A human-readable description of the last failure (static or owned by
 * the transport; do not free), or "" if there was none. */
extern const char *xen_transport_last_error(const xen_transport *t);

/* Log in through a new transport for url; the session owns the transport and
 * xen_session_logout() frees both.  Returns NULL if the URL is not
 * supported or memory runs out; otherwise check session->ok as usual. */
extern xen_session *xen_session_login_url(const char *url, const char *uname,
                                          const char *pwd);

/* Like xen_session_login_url, with a CA file for https (NULL: system store). */
extern xen_session *xen_session_login_url_ca(const char *url, const char *ca_file,
                                             const char *uname, const char *pwd);

#endif
