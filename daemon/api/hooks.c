/* The class hooks, plugged in at one place. */
#include "config.h"

#include "daemon/api/api.h"
#include "xapi_model.h"

void api_register_hooks(void)
{
    xclass_register(XC_VM, &vm_ops);
    xclass_register(XC_VBD, &vbd_ops);
    xclass_register(XC_VIF, &vif_ops);
    xclass_register(XC_console, &console_ops);
    xclass_register(XC_VTPM, &vtpm_ops);
    xclass_register(XC_VDI, &vdi_ops);
    xclass_register(XC_crashdump, &crashdump_ops);
    xclass_register(XC_PIF, &pif_ops);
}
