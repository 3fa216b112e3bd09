/* Xen 4.4.0 libxen spellings (see <xen/api/xen_compat44.h>) and its UUID
 * helpers (xen_common.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/api/xen_all.h>

#include "util/uuid.h"
#include "xen_internal.h"
#include "xen_gen_internal.h"

bool xen_cpu_pool_add_host_CPU_live(xen_session *session, xen_cpu_pool cpu_pool, xen_host_cpu host_cpu)
{
    return xen_cpu_pool_add_host_cpu_live(session, cpu_pool, host_cpu);
}

bool xen_cpu_pool_remove_host_CPU_live(xen_session *session, xen_cpu_pool cpu_pool, xen_host_cpu host_cpu)
{
    return xen_cpu_pool_remove_host_cpu_live(session, cpu_pool, host_cpu);
}

bool xen_cpu_pool_get_host_CPUs(xen_session *session, struct xen_host_cpu_set **result, xen_cpu_pool cpu_pool)
{
    return xen_cpu_pool_get_host_cpus(session, result, cpu_pool);
}

bool xen_cpu_pool_get_proposed_CPUs(xen_session *session, struct xen_string_set **result, xen_cpu_pool cpu_pool)
{
    return xen_cpu_pool_get_proposed_cpus(session, result, cpu_pool);
}

bool xen_cpu_pool_get_started_VMs(xen_session *session, struct xen_vm_set **result, xen_cpu_pool cpu_pool)
{
    return xen_cpu_pool_get_started_vms(session, result, cpu_pool);
}

bool xen_cpu_pool_set_proposed_CPUs(xen_session *session, xen_cpu_pool cpu_pool, struct xen_string_set *proposed_cpus)
{
    return xen_cpu_pool_set_proposed_cpus(session, cpu_pool, proposed_cpus);
}

/* A call of (self, one string): the string travels as it is (the daemon
 * reads a decimal string as an int where the message takes one). */
static bool call_ref_string(xen_session *session, const char *method, const char *ref, const char *s)
{
    const xeni_arg args[] = {
        { &xeni_t_string, &ref, 0 },
        { &xeni_t_string, &s, 0 },
    };
    return xeni_call(session, method, args, 2, NULL, NULL);
}

bool xen_cpu_pool_add_to_proposed_CPUs(xen_session *session, xen_cpu_pool cpu_pool, const char *cpu)
{
    return call_ref_string(session, "cpu_pool.add_to_proposed_CPUs", cpu_pool, cpu);
}

bool xen_cpu_pool_remove_from_proposed_CPUs(xen_session *session, xen_cpu_pool cpu_pool, const char *cpu)
{
    return call_ref_string(session, "cpu_pool.remove_from_proposed_CPUs", cpu_pool, cpu);
}

bool xen_cpu_pool_set_name_description(xen_session *session, xen_cpu_pool cpu_pool, const char *name_description)
{
    return call_ref_string(session, "cpu_pool.set_name_description", cpu_pool, name_description);
}

bool xen_xspolicy_get_by_uuid(xen_session *session, xen_xspolicy *result, const char *uuid)
{
    const xeni_arg args[] = { { &xeni_t_string, &uuid, 0 } };
    return xeni_call(session, "XSPolicy.get_by_uuid", args, 1, &xeni_t_string, result);
}

bool xen_xspolicy_activate_xspolicy(xen_session *session, int64_t *result, xen_xspolicy xspolicy,
                                    xs_instantiationflags flags)
{
    const xeni_arg args[] = {
        { &xeni_t_string, &xspolicy, 0 },
        { &xeni_t_int, &flags, 0 },
    };
    return xeni_call(session, "XSPolicy.activate_xspolicy", args, 2, &xeni_t_int, result);
}

/* ---- Xen 4.4.0's int results (XENAPI_1.1), and the XENAPI_1.0 forms ----
 *
 * XSPolicy.get_xstype and VDI/VIF.set_security_label keep XenAPI 1.0's wire
 * types (xs_type, void); 4.4.0's libxen gave them an int64_t result, and a
 * program written for it must compile unchanged.  The 4.4.0 forms are the
 * default symbols since XENAPI_1.1 (libxenapi.map); the forms libxenapi.so.1
 * exported first stay as name@XENAPI_1.0, so that binaries linked against
 * them keep calling what they were built for (an int64_t written where they
 * kept a 4-byte enum would overwrite their memory). */

bool xen_xspolicy_get_xstype(xen_session *session, int64_t *result)
{
    /* the daemon answers the bit set of policy types as an int */
    return xeni_call(session, "XSPolicy.get_xstype", NULL, 0, &xeni_t_int, result);
}

/* A set_security_label reply: xend 4.4 answered the ssidref (an int), XenAPI
 * 1.0 servers answer void (""): 0 then.  Anything else is a server fault. */
static bool set_label(xen_session *session, const char *method, int64_t *result, const char *self,
                      const char *label, const char *old_label)
{
    *result = 0;
    const xeni_arg args[] = {
        { &xeni_t_string, &self, 0 },
        { &xeni_t_string, &label, 0 },
        { &xeni_t_string, &old_label, 0 },
    };
    char *v = NULL;
    if (!xeni_call(session, method, args, 3, &xeni_t_string, &v))
        return false;
    bool ok = true;
    if (*v) {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno || *end || end == v) {
            const char *e[] = { "SERVER_FAULT", "set_security_label answered neither an int nor void" };
            xeni_session_error(session, 2, e);
            ok = false;
        } else {
            *result = n;
        }
    }
    free(v);
    return ok;
}

bool xen_vdi_set_security_label(xen_session *session, int64_t *result, xen_vdi vdi, const char *security_label,
                                const char *old_label)
{
    return set_label(session, "VDI.set_security_label", result, vdi, security_label, old_label);
}

bool xen_vif_set_security_label(xen_session *session, int64_t *result, xen_vif vif, const char *security_label,
                                const char *old_label)
{
    return set_label(session, "VIF.set_security_label", result, vif, security_label, old_label);
}

/* The XENAPI_1.0 forms (declared in xen_internal.h): reached only through
 * their versioned names (the xeni_ prefix keeps them out of the xen_* export
 * glob). */
__asm__(".symver xeni_xspolicy_get_xstype_1_0, xen_xspolicy_get_xstype@XENAPI_1.0");
__asm__(".symver xeni_vdi_set_security_label_1_0, xen_vdi_set_security_label@XENAPI_1.0");
__asm__(".symver xeni_vif_set_security_label_1_0, xen_vif_set_security_label@XENAPI_1.0");

bool xeni_xspolicy_get_xstype_1_0(xen_session *session, enum xen_xs_type *result)
{
    return xeni_call(session, "XSPolicy.get_xstype", NULL, 0, &xeni_t_enum_xs_type, result);
}

bool xeni_vdi_set_security_label_1_0(xen_session *session, xen_vdi vdi, const char *security_label,
                                     const char *old_label)
{
    int64_t ignored;
    return set_label(session, "VDI.set_security_label", &ignored, vdi, security_label, old_label);
}

bool xeni_vif_set_security_label_1_0(xen_session *session, xen_vif vif, const char *security_label,
                                     const char *old_label)
{
    int64_t ignored;
    return set_label(session, "VIF.set_security_label", &ignored, vif, security_label, old_label);
}

/* ---- UUIDs (declared in xen_common.h) ---- */

bool xen_uuid_string_to_bytes(const char *uuid, char **bytes)
{
    *bytes = NULL;
    unsigned char b[16];
    if (!uuid || !xuuid_parse(uuid, b))
        return false;
    char *out = malloc(sizeof(b));
    if (!out)
        return false;
    memcpy(out, b, sizeof(b));
    *bytes = out;
    return true;
}

bool xen_uuid_bytes_to_string(const char *bytes, char **uuid)
{
    *uuid = NULL;
    if (!bytes)
        return false;
    char *out = malloc(XUUID_STRLEN + 1);
    if (!out)
        return false;
    xuuid_format((const unsigned char *)bytes, out);
    *uuid = out;
    return true;
}

void xen_uuid_free(char *uuid)
{
    free(uuid);
}

void xen_uuid_bytes_free(char *bytes)
{
    free(bytes);
}
