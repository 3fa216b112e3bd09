/* tls: checks of an HTTPS listener's certificate, key and priority string
 * with GnuTLS, before libmicrohttpd is given them (its own errors only say
 * that the daemon did not start). */
#ifndef XEND_TLS_H
#define XEND_TLS_H

#include <stdbool.h>

#include "config/xendconf.h"

/* The priority string in force: c->tls_priorities or the default. */
const char *tls_priorities(const xend_config *c);

/* Checks that the priority string is valid and that, for every HTTPS
 * listener, the certificate and key files load and belong together.
 * False with *err_r (caller frees) naming the listener and the problem. */
bool tls_check_config(const xend_config *c, char **err_r);

/* The same for one listener's cert_pem/key_pem (PEM text). */
bool tls_check_pair(const char *what, const char *cert_pem, const char *key_pem, char **err_r);

/* A listener's client-ca= file (PEM text): false with *err_r unless it holds
 * at least one CA certificate. */
bool tls_check_ca(const char *what, const char *ca_pem, char **err_r);

/* The account a TLS client's certificate names (session: a gnutls_session_t
 * whose credentials trust the listener's client CA): true with its subject's
 * common name in name when the client sent a certificate that verifies
 * (chain to the CA, dates, not revoked by what the CA file holds) and whose
 * common name is a plausible account name ([A-Za-z0-9._-], not starting
 * with '-', shorter than size); false otherwise, with *why_r set (static
 * text) when a certificate was sent but not accepted. */
bool tls_peer_name(void *session, char *name, size_t size, const char **why_r);

#endif
