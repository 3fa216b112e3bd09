/* persist: records on disk (placeholder until persistence lands). */
#include "config.h"

#include "daemon/daemon.h"

bool persist_setup(const daemon_options *o, char **err_r)
{
    (void)o;
    (void)err_r;
    return true;
}
