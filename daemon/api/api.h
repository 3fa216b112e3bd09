/* api: what the class files of daemon/api/ share.  The rule: the
 * hand-written handlers (xh_C_m) and hooks of class C are in
 * daemon/api/<c>.c (the VM class: vm.c and vm_<part>.c); every other message
 * of C is served generically (daemon/implicit.c) with C's hooks, or, when the
 * datamodel flags it "unsupported", refused by generated code with the error
 * the datamodel names (gen/xapi_dispatch.c). */
#ifndef XEND_API_H
#define XEND_API_H

#include "daemon/classes.h"
#include "daemon/daemon.h"

/* The classes' hooks (<class>_ops, each defined in its class's file) are
 * declared and tabled by the generator (xapi_handlers.h, xclass_hooks[]). */
#include "xapi_handlers.h"

/* system.c: every method's name, the Async ones too when with_async
 * (host.list_methods; system.listMethods lists the synchronous ones). */
xv *api_all_methods(bool with_async);

#endif
