/* The command handlers (one line each; the table is in main.c). */
#ifndef XM_CMDS_H
#define XM_CMDS_H
#define XM_CMD_HANDLERS(X) \
    X(list) X(info) X(new) X(create) X(config_convert) X(start) X(delete) X(shutdown) X(reboot) \
    X(destroy) X(pause) X(unpause) X(suspend) X(resume) X(save) X(restore) \
    X(mem_set) X(mem_max) X(vcpu_set) X(vcpu_list) X(vcpu_pin) X(sched_credit) \
    X(console) X(uptime) X(dmesg) X(log) X(block_list) X(block_attach) \
    X(block_detach) X(network_list) X(network_attach) X(network_detach) \
    X(dump_core) X(rename) X(migrate) X(top) X(help) X(domid) X(domname) \
    X(sysrq)
#define XM_DECLARE(n) int xm_cmd_##n(int argc, char **argv);
XM_CMD_HANDLERS(XM_DECLARE)
#undef XM_DECLARE
#endif
