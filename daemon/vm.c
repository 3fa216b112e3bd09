/* vm: the VM lifecycle and device hot-plug (placeholder until the lifecycle lands). */
#include "config.h"

#include "xapi_errors.h"
#include "xapi_handlers.h"

bool xh_VM_clone(xcall *call, const char *vm, const char *new_name, xv **result_r, xerr **errp)
{
    (void)call; (void)vm; (void)new_name; (void)result_r;
    return xerr_NOT_IMPLEMENTED(errp, "VM.clone");
}

bool xh_VM_start(xcall *call, const char *vm, bool start_paused, xerr **errp)
{
    (void)call; (void)vm; (void)start_paused;
    return xerr_NOT_IMPLEMENTED(errp, "VM.start");
}

bool xh_VM_pause(xcall *call, const char *vm, xerr **errp)
{
    (void)call; (void)vm;
    return xerr_NOT_IMPLEMENTED(errp, "VM.pause");
}

bool xh_VM_unpause(xcall *call, const char *vm, xerr **errp)
{
    (void)call; (void)vm;
    return xerr_NOT_IMPLEMENTED(errp, "VM.unpause");
}

bool xh_VM_clean_shutdown(xcall *call, const char *vm, xerr **errp)
{
    (void)call; (void)vm;
    return xerr_NOT_IMPLEMENTED(errp, "VM.clean_shutdown");
}

bool xh_VM_clean_reboot(xcall *call, const char *vm, xerr **errp)
{
    (void)call; (void)vm;
    return xerr_NOT_IMPLEMENTED(errp, "VM.clean_reboot");
}

bool xh_VM_hard_shutdown(xcall *call, const char *vm, xerr **errp)
{
    (void)call; (void)vm;
    return xerr_NOT_IMPLEMENTED(errp, "VM.hard_shutdown");
}

bool xh_VM_hard_reboot(xcall *call, const char *vm, xerr **errp)
{
    (void)call; (void)vm;
    return xerr_NOT_IMPLEMENTED(errp, "VM.hard_reboot");
}

bool xh_VM_suspend(xcall *call, const char *vm, xerr **errp)
{
    (void)call; (void)vm;
    return xerr_NOT_IMPLEMENTED(errp, "VM.suspend");
}

bool xh_VM_resume(xcall *call, const char *vm, bool start_paused, xerr **errp)
{
    (void)call; (void)vm; (void)start_paused;
    return xerr_NOT_IMPLEMENTED(errp, "VM.resume");
}

bool xh_VM_set_VCPUs_number_live(xcall *call, const char *self, int64_t nvcpu, xerr **errp)
{
    (void)call; (void)self; (void)nvcpu;
    return xerr_NOT_IMPLEMENTED(errp, "VM.set_VCPUs_number_live");
}

bool xh_VM_add_to_VCPUs_params_live(xcall *call, const char *self, const char *key, const char *value, xerr **errp)
{
    (void)call; (void)self; (void)key; (void)value;
    return xerr_NOT_IMPLEMENTED(errp, "VM.add_to_VCPUs_params_live");
}

bool xh_VM_set_memory_dynamic_max_live(xcall *call, const char *self, int64_t max, xerr **errp)
{
    (void)call; (void)self; (void)max;
    return xerr_NOT_IMPLEMENTED(errp, "VM.set_memory_dynamic_max_live");
}

bool xh_VM_set_memory_dynamic_min_live(xcall *call, const char *self, int64_t min, xerr **errp)
{
    (void)call; (void)self; (void)min;
    return xerr_NOT_IMPLEMENTED(errp, "VM.set_memory_dynamic_min_live");
}

bool xh_VM_send_sysrq(xcall *call, const char *vm, const char *key, xerr **errp)
{
    (void)call; (void)vm; (void)key;
    return xerr_NOT_IMPLEMENTED(errp, "VM.send_sysrq");
}

bool xh_VM_send_trigger(xcall *call, const char *vm, const char *trigger, xerr **errp)
{
    (void)call; (void)vm; (void)trigger;
    return xerr_NOT_IMPLEMENTED(errp, "VM.send_trigger");
}

bool xh_VM_migrate(xcall *call, const char *vm, const char *dest, bool live, const xv *options, xerr **errp)
{
    (void)call; (void)vm; (void)dest; (void)live; (void)options;
    return xerr_NOT_IMPLEMENTED(errp, "VM.migrate");
}

bool xh_VIF_plug(xcall *call, const char *self, xerr **errp)
{
    (void)call; (void)self;
    return xerr_NOT_IMPLEMENTED(errp, "VIF.plug");
}

bool xh_VIF_unplug(xcall *call, const char *self, xerr **errp)
{
    (void)call; (void)self;
    return xerr_NOT_IMPLEMENTED(errp, "VIF.unplug");
}

bool xh_SR_get_supported_types(xcall *call, xv **result_r, xerr **errp)
{
    (void)call; (void)result_r;
    return xerr_NOT_IMPLEMENTED(errp, "SR.get_supported_types");
}

bool xh_VBD_media_change(xcall *call, const char *vbd, const char *vdi, xerr **errp)
{
    (void)call; (void)vbd; (void)vdi;
    return xerr_NOT_IMPLEMENTED(errp, "VBD.media_change");
}

bool xh_VBD_plug(xcall *call, const char *self, xerr **errp)
{
    (void)call; (void)self;
    return xerr_NOT_IMPLEMENTED(errp, "VBD.plug");
}

bool xh_VBD_unplug(xcall *call, const char *self, xerr **errp)
{
    (void)call; (void)self;
    return xerr_NOT_IMPLEMENTED(errp, "VBD.unplug");
}
#include "daemon/daemon.h"
#include "daemon/host.h"

bool vm_setup(const daemon_options *o, char **err_r)
{
    (void)o;
    (void)err_r;
    return true;
}

void vm_backend_event(void *opaque, const xo_event *ev)
{
    (void)opaque;
    (void)ev;
}

void vm_tick(void)
{
}
