/* tls: see tls.h. */
#include "config.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/tls.h"

const char *tls_priorities(const xend_config *c)
{
    return c->tls_priorities ? c->tls_priorities : XEND_CONFIG_TLS_DEFAULT_PRIORITIES;
}

static bool fail(char **err_r, const char *what, const char *detail, int rc)
{
    if (asprintf(err_r, "%s: %s (%s)", what, detail, gnutls_strerror(rc)) < 0)
        *err_r = NULL;
    return false;
}

static bool check_priorities(const char *prio, char **err_r)
{
    gnutls_priority_t p;
    const char *where = NULL;
    int rc = gnutls_priority_init(&p, prio, &where);
    if (rc != GNUTLS_E_SUCCESS) {
        if (asprintf(err_r, "tls-priorities: %s at '%s'", gnutls_strerror(rc),
                     where ? where : prio) < 0)
            *err_r = NULL;
        return false;
    }
    gnutls_priority_deinit(p);
    return true;
}

/* Loads into fresh credentials a certificate and its key (GnuTLS compares
 * the key with the certificate's public key: GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
 * or, when ca is given, CA certificates, of which there must be one at least:
 * from files, or from PEM text when mem. */
static bool check_load(const char *what, const char *cert, const char *key, const char *ca, bool mem,
                       char **err_r)
{
    gnutls_certificate_credentials_t cred;
    int rc = gnutls_certificate_allocate_credentials(&cred);
    if (rc != GNUTLS_E_SUCCESS)
        return fail(err_r, what, "cannot allocate credentials", rc);
    const char *first = ca ? ca : cert, *second = ca ? "" : key;
    gnutls_datum_t c = { (unsigned char *)(uintptr_t)first, (unsigned)strlen(first) };
    gnutls_datum_t k = { (unsigned char *)(uintptr_t)second, (unsigned)strlen(second) };
    if (ca)
        rc = mem ? gnutls_certificate_set_x509_trust_mem(cred, &c, GNUTLS_X509_FMT_PEM)
                 : gnutls_certificate_set_x509_trust_file(cred, ca, GNUTLS_X509_FMT_PEM);
    else
        rc = mem ? gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0)
                 : gnutls_certificate_set_x509_key_file2(cred, cert, key, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_certificate_free_credentials(cred);
    if (ca && rc == 0)
        rc = GNUTLS_E_NO_CERTIFICATE_FOUND;        /* a readable file without a certificate */
    if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
        return fail(err_r, what, "the private key does not belong to the certificate", rc);
    if (rc < 0)
        return fail(err_r, what,
                    ca ? "no CA certificate in the client-ca= file" : "cannot load the certificate and key", rc);
    return true;
}

bool tls_check_pair(const char *what, const char *cert_pem, const char *key_pem, char **err_r)
{
    return check_load(what, cert_pem, key_pem, NULL, true, err_r);
}

bool tls_check_ca(const char *what, const char *ca_pem, char **err_r)
{
    return check_load(what, NULL, NULL, ca_pem, true, err_r);
}

static bool name_ok(const char *s, size_t size)
{
    size_t n = strlen(s);
    if (n == 0 || n >= size || s[0] == '-')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

bool tls_peer_name(void *session, char *name, size_t size, const char **why_r)
{
    gnutls_session_t s = session;
    *why_r = NULL;
    name[0] = '\0';
    unsigned n = 0;
    const gnutls_datum_t *chain = s ? gnutls_certificate_get_peers(s, &n) : NULL;
    if (!chain || n == 0)
        return false; /* no certificate: a password login as usual */
    /* Verified against client-ca= and for TLS client authentication: a
     * certificate whose extended key usage leaves that purpose out (a
     * server's certificate from the same CA, say) is not a login.  One
     * without the extension may serve any purpose (RFC 5280 4.2.1.12). */
    gnutls_typed_vdata_st purpose = { .type = GNUTLS_DT_KEY_PURPOSE_OID,
                                      .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT };
    unsigned status = 0;
    if (gnutls_certificate_verify_peers(s, &purpose, 1, &status) != GNUTLS_E_SUCCESS || status != 0) {
        *why_r = status & GNUTLS_CERT_PURPOSE_MISMATCH
                     ? "the client certificate is not for client authentication (extended key usage)"
                     : "the client certificate does not verify against client-ca=";
        return false;
    }
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) != GNUTLS_E_SUCCESS) {
        *why_r = "cannot read the client certificate";
        return false;
    }
    char cn[256];
    size_t len = sizeof(cn);
    bool ok = gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) == GNUTLS_E_SUCCESS &&
              gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &len) ==
                  GNUTLS_E_SUCCESS &&
              strlen(cn) == len && name_ok(cn, size);
    gnutls_x509_crt_deinit(crt);
    if (!ok) {
        *why_r = "the client certificate's common name is not an account name";
        return false;
    }
    memcpy(name, cn, len + 1);
    return true;
}

bool tls_check_config(const xend_config *c, char **err_r)
{
    bool any = false;
    for (size_t i = 0; i < c->n_listeners; i++) {
        const xend_listener *l = &c->listeners[i];
        if (l->kind != XEND_LISTEN_HTTPS)
            continue;
        any = true;
        char *d = xend_listener_describe(l);
        char what[1200];
        snprintf(what, sizeof(what), "listener %s (cert %s, key %s)", d ? d : "https", l->cert_file,
                 l->key_file);
        free(d);
        if (!check_load(what, l->cert_file, l->key_file, NULL, false, err_r) ||
            (l->client_ca_file && !check_load(what, NULL, NULL, l->client_ca_file, false, err_r)))
            return false;
    }
    return !any && !c->tls_priorities ? true : check_priorities(tls_priorities(c), err_r);
}
