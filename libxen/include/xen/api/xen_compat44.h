/* Spellings of Xen 4.4.0's libxen that the generated API names otherwise
 * (hand-written; included by <xen/api/xen_all.h>), so that programs written
 * for 4.4.0 compile unchanged (tests/libxen/compat44/):
 *
 *  - cpu_pool's messages kept their wire capitals there
 *    (xen_cpu_pool_get_host_CPUs); here they are aliases of the lower-case
 *    functions (xen_cpu_pool_get_host_cpus), or send the string 4.4 took;
 *  - the XSPolicy scalar types and their constants;
 *  - three calls xend 4.4 offered and this daemon does not serve
 *    (cpu_pool.set_name_description, XSPolicy.get_by_uuid,
 *    XSPolicy.activate_xspolicy): they are sent,
 *    and fail with the daemon's MESSAGE_METHOD_UNKNOWN.
 * xen_uuid_* are in xen_common.h; 4.4.0's int64_t results of
 * XSPolicy.get_xstype and VDI/VIF.set_security_label are the generated
 * declarations themselves (libxen/README.md). */
#ifndef XEN_API_XEN_COMPAT44_H
#define XEN_API_XEN_COMPAT44_H

#include <stdbool.h>
#include <stdint.h>

#include <xen/api/xen_common.h>
#include <xen/api/xen_cpu_pool.h>
#include <xen/api/xen_host_cpu.h>
#include <xen/api/xen_string_set.h>
#include <xen/api/xen_vm.h>
#include <xen/api/xen_xspolicy.h>

typedef int64_t xs_type;
typedef int64_t xs_instantiationflags;
enum xs_type { XS_POLICY_ACM = 1 };
enum xs_instantiationflags { XS_INST_NONE = 0, XS_INST_BOOT = 1, XS_INST_LOAD = 2 };

extern bool xen_cpu_pool_add_host_CPU_live(xen_session *session, xen_cpu_pool cpu_pool, xen_host_cpu host_cpu);
extern bool xen_cpu_pool_remove_host_CPU_live(xen_session *session, xen_cpu_pool cpu_pool,
                                              xen_host_cpu host_cpu);
extern bool xen_cpu_pool_get_host_CPUs(xen_session *session, struct xen_host_cpu_set **result,
                                       xen_cpu_pool cpu_pool);
extern bool xen_cpu_pool_get_proposed_CPUs(xen_session *session, struct xen_string_set **result,
                                           xen_cpu_pool cpu_pool);
extern bool xen_cpu_pool_get_started_VMs(xen_session *session, struct xen_vm_set **result, xen_cpu_pool cpu_pool);
extern bool xen_cpu_pool_set_proposed_CPUs(xen_session *session, xen_cpu_pool cpu_pool,
                                           struct xen_string_set *proposed_cpus);
/* The CPU number as a decimal string, as 4.4 took it. */
extern bool xen_cpu_pool_add_to_proposed_CPUs(xen_session *session, xen_cpu_pool cpu_pool, const char *cpu);
extern bool xen_cpu_pool_remove_from_proposed_CPUs(xen_session *session, xen_cpu_pool cpu_pool, const char *cpu);
extern bool xen_cpu_pool_set_name_description(xen_session *session, xen_cpu_pool cpu_pool,
                                              const char *name_description);
extern bool xen_xspolicy_get_by_uuid(xen_session *session, xen_xspolicy *result, const char *uuid);
extern bool xen_xspolicy_activate_xspolicy(xen_session *session, int64_t *result, xen_xspolicy xspolicy,
                                           xs_instantiationflags flags);

#endif
