/* xen_config: pure translation from xenops configuration structs to libxl's
 * (no hypervisor, no libxl_ctx needed), and libxl's error codes as xenops'.
 * Unit-tested without Xen by tests/xen/test_xen_config.c.
 */
#ifndef XEND_XEN_CONFIG_H
#define XEND_XEN_CONFIG_H

#include <libxl.h>

#include "xenops/xenops.h"

/* libxl's ERROR_* -> xo_errcode. */
xo_errcode xx_errcode_from_libxl(int rc);

/* cfg -> *d_r.  *d_r must have been libxl_domain_config_init()ed; on success
 * and on failure the caller disposes of it with libxl_domain_config_dispose().
 * A nil uuid stays nil (the caller generates one).  Platform keys that libxl
 * has no field for are ignored; malformed values are rejected (XO_E_INVAL). */
int xx_config_to_libxl(const xo_domain_config *cfg, libxl_domain_config *d_r, xo_error *err);

/* d -> *disk_r (libxl_device_disk_init()ed by the caller, disposed by it). */
int xx_disk_to_libxl(const xo_disk *d, xo_domtype type, libxl_device_disk *disk_r,
                     xo_error *err);

/* n -> *nic_r (libxl_device_nic_init()ed by the caller, disposed by it). */
int xx_nic_to_libxl(const xo_nic *n, xo_domtype type, libxl_device_nic *nic_r, xo_error *err);

/* "aa:bb:cc:dd:ee:ff" -> mac; -1 if malformed. */
int xx_mac_parse(const char *s, libxl_mac *mac_r);
void xx_mac_format(const libxl_mac *mac, char out[18]);

libxl_domain_type xx_domtype_to_libxl(xo_domtype t);
xo_domtype xx_domtype_from_libxl(libxl_domain_type t);
xo_shutdown_reason xx_reason_from_libxl(libxl_shutdown_reason r);

#endif
