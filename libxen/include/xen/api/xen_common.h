/* libxen: C bindings for the Xen Management API (XenAPI 1.0).
 *
 * Source-compatible with the historical Xen libxen: programs supply a
 * transport as an xen_call_func (or use the ready libcurl one declared in
 * <xen/api/xen_transport.h>), log in with xen_session_login_with_password()
 * and call xen_<class>_<message>() functions that return true on success.
 *
 * Errors: every call returns false on failure and records the error on the
 * session: session->ok becomes false and session->error_description holds
 * error_description_count strings, the error code first and then its
 * parameters, e.g. {"HANDLE_INVALID", "VM", "<ref>"}.  Library-level failures
 * use the historical codes: {"TRANSPORT_FAULT", "<code>"} when call_func
 * fails, {"FAULT", "<code>", "<string>"} for an XML-RPC <fault>, and
 * {"SERVER_FAULT", "<reason>"} for a reply that cannot be understood.
 * An error is sticky: while session->ok is false, calls return false at once
 * without contacting the server.  xen_session_clear_error() resets it.
 *
 * Memory: arguments are borrowed, never freed by libxen.  Results are yours:
 * strings and handles with free() / xen_<class>_free(), every other result
 * with its own _free function (xen_vm_record_free, xen_vm_set_free,
 * xen_string_string_map_free, ...).  All _free functions accept NULL.  On
 * failure *result is set to NULL / 0 and there is nothing to free.
 *
 * Records received from the server are complete: a member the server did
 * not send is filled with an empty value (never NULL), members the client
 * does not know are ignored, an enum value the client does not know reads as
 * XEN_<ENUM>_UNDEFINED.
 *
 * Threads: a session must not be used by two threads at once.
 */
#ifndef XEN_COMMON_H
#define XEN_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <xen/api/xen_host_decl.h>

/* Called by a call_func with the bytes of the server's reply, possibly in
 * several pieces; returns false to abort the transfer. */
typedef bool (*xen_result_func)(const void *data, size_t len,
                                void *result_handle);

/* The transport: send the len bytes at data (an XML-RPC methodCall, not
 * NUL-terminated) to the server and hand every byte of the reply body to
 * result_func(..., result_handle).  user_handle is the handle given at
 * login.  Returns 0 on success, any other value is reported as
 * {"TRANSPORT_FAULT", "<value>"}. */
typedef int (*xen_call_func)(const void *data, size_t len, void *user_handle,
                             void *result_handle, xen_result_func result_func);

struct xen_transport;

typedef struct xen_session {
    xen_call_func call_func;
    void *handle;                  /* the user_handle given to call_func */
    const char *session_id;        /* the session ref, owned by the session */
    bool ok;                       /* false once a call has failed */
    char **error_description;      /* owned by the session */
    int error_description_count;
    /* private: a transport owned by this session (xen_session_login_url) */
    struct xen_transport *owned_transport_;
} xen_session;

/* Initialise / clean up the library (global libcurl state, set up by the
 * first http or https call).  Call xen_init once before any other call and
 * xen_fini at the end. */
extern void xen_init(void);
extern void xen_fini(void);

/* UUIDs between their text form ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx") and
 * their 16 bytes, as Xen 4.4.0's libxen offered: *bytes / *uuid is
 * malloc'd, free it with xen_uuid_bytes_free / xen_uuid_free.  False (and
 * nothing allocated) for a malformed input or out of memory. */
extern bool xen_uuid_string_to_bytes(const char *uuid, char **bytes);
extern bool xen_uuid_bytes_to_string(const char *bytes, char **uuid);
extern void xen_uuid_free(char *uuid);
extern void xen_uuid_bytes_free(char *bytes);

/* Log in and return a new session, yours to release with
 * xen_session_logout().  Never returns NULL except when out of memory: on
 * failure the session has ok == false and the error (for example
 * SESSION_AUTHENTICATION_FAILED) in error_description. */
extern xen_session *
xen_session_login_with_password(xen_call_func call_func, void *handle,
                                const char *uname, const char *pwd);

/* Log out at the server (if the session is usable) and free the session,
 * its error and any transport it owns.  NULL is fine. */
extern void xen_session_logout(xen_session *session);

/* Forget the recorded error, so the session can make calls again. */
extern void xen_session_clear_error(xen_session *session);

/* Client library version, yours to free with xen_version_free(). */
typedef struct xen_version {
    int major;
    int minor;
    int patch;
    char *extraversion;
} xen_version;
extern xen_version *xen_get_client_side_version(void);
extern void xen_version_free(xen_version *version);

/* The generated session class: xen_session_record, xen_session_get_*. */
#include <xen/api/xen_session.h>

#endif
