/* xm: command table, global options, dispatch, help.
 *
 *   xm [-s URL | --server URL] [--ca-file FILE] COMMAND [ARGS]
 *
 * A command may be abbreviated to any unique prefix of its name; every
 * command takes -h/--help.
 */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xm/cmds.h"
#include "xm/xm.h"

const char *xm_opt_server;
const char *xm_opt_ca_file;

/* Every command's options, for its --help and for completion: the
 * commands (names separated by spaces) each one belongs to. */
static const struct opt_row {
    const char *cmds;
    xm_opt opt;
} opt_rows[] = {
    { "list",
      { "-l, --long", "print each domain's configuration as SXP, as xend's pretty-printer did" } },
    { "list", { "--label", "add a Label column (the VM's security label) and sort by it" } },
    { "list",
      { "--state=STATE",
        "only the VMs in this power state (running, paused, halted, suspended)" } },
    { "list", { "--names", "print only the names, one per line (for scripts and completion)" } },
    { "create", { "-c, --console_autoconnect", "attach to the console after starting the VM" } },
    { "create", { "-p, --paused", "leave the VM paused after creating it" } },
    { "create new",
      { "-f, --defconfig=FILE",
        "the configuration file (Python-style, or XML when it starts with <)" } },
    { "create new", { "-F, --config=FILE", "an SXP configuration file" } },
    { "create new",
      { "--path=PATH", "where to look for a configuration file (default .:/etc/xen)" } },
    { "create", { "-n, --dryrun", "print the configuration as SXP and create nothing" } },
    { "new", { "-n, --dryrun", "print the configuration as SXP and define nothing" } },
    { "create",
      { "-x, --xmldryrun", "print the configuration as XML (create.dtd) and create nothing" } },
    { "new",
      { "-x, --xmldryrun", "print the configuration as XML (create.dtd) and define nothing" } },
    { "create new",
      { "-s, --skipdtd", "do not validate an XML configuration against its schema" } },
    { "create", { "-q, --quiet", "no messages or warnings" } },
    { "new", { "-q, --quiet", "no warnings" } },
    { "config-convert",
      { "--from=FORMAT", "the input's format: xml, sxp or cfg (default: from its content)" } },
    { "config-convert", { "--to=FORMAT", "the output's format: xml, sxp or cfg" } },
    { "config-convert", { "-s, --skipdtd", "do not validate an XML input against its schema" } },
    { "start", { "-p, --paused", "start the VM paused" } },
    { "start", { "-c, --console", "attach to the console after starting" } },
    { "shutdown", { "-a, --all", "shut down every VM except the control domain" } },
    { "shutdown", { "-w, --wait", "wait until the VMs have halted" } },
    { "shutdown", { "-H, --halt", "shut down (the default)" } },
    { "shutdown", { "-R, --reboot", "reboot instead" } },
    { "reboot", { "-a, --all", "reboot every VM except the control domain" } },
    { "reboot", { "-w, --wait", "wait until each VM is running again" } },
    { "resume restore", { "-p, --paused", "leave the VM paused" } },
    { "save", { "-c, --checkpoint", "leave the VM running after saving it" } },
    { "sched-credit", { "-d, --domain=DOM", "the VM to show or change" } },
    { "sched-credit", { "-w, --weight=N", "set the scheduler weight (1-65535)" } },
    { "sched-credit", { "-c, --cap=N", "set the scheduler cap (0 = none, 100 = one CPU)" } },
    { "console", { "-q, --quiet", "do not print the escape-character hint" } },
    { "uptime", { "-s, --short", "one line per VM, like uptime(1)" } },
    { "dmesg", { "-c, --clear", "clear the message buffer after reading it" } },
    { "block-list network-list", { "-l, --long", "print the devices as SXP" } },
    { "block-detach network-detach",
      { "-f, --force", "accepted for compatibility; detaching is always forced" } },
    { "dump-core", { "-L, --live", "accepted for compatibility" } },
    { "dump-core", { "-C, --crash", "accepted for compatibility" } },
    { "migrate", { "-l, --live", "live migration" } },
    { "migrate", { "-p, --port=PORT", "the destination's relocation port" } },
    { "migrate", { "-n, --node=NODE", "the destination NUMA node" } },
    { "migrate", { "-s, --ssl", "migrate over SSL" } },
    { "migrate", { "-c, --change_home_server", "make the destination the VM's home server" } },
    { "top", { "-d, --delay=SECONDS", "redraw at most this often (default 1)" } },
    { "top", { "-i, --iterations=N", "stop after N screens (default: until q or interrupt)" } },
    { "top",
      { "-b, --batch", "plain output, no screen control (the default when not on a terminal)" } },
    { "help", { "--list-commands", "print the command names, one per line" } },
    { "help", { "--list-options CMD", "print the options of CMD, one per line" } },
};

/* Whether row r is an option of command cmd. */
static bool opt_of(const struct opt_row *r, const char *cmd)
{
    size_t n = strlen(cmd);
    for (const char *p = strstr(r->cmds, cmd); p; p = strstr(p + 1, cmd))
        if ((p == r->cmds || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

#define C(n, fn, a, s)                                                                             \
    {                                                                                              \
        n, a, s, xm_cmd_##fn, false                                                                \
    }
const xm_cmd xm_commands[] = {
    C("list", list, "[-l|--long] [--label] [--state=STATE] [DOM...]", "list the VMs"),
    C("info", info, "", "print information about the host"),
    C("new", new, "[options] CONFIG [VAR=VALUE...]",
      "define a VM from a configuration file (not started)"),
    C("create", create, "[-c] [-p] [options] CONFIG [VAR=VALUE...]",
      "create and start a run-once VM from a configuration file (removed when it halts)"),
    C("config-convert", config_convert, "--to=FORMAT [--from=FORMAT] FILE [VAR=VALUE...]",
      "convert a VM configuration file between XML, SXP and Python-style"),
    C("start", start, "DOM [-p] [-c]", "start a defined VM"),
    C("delete", delete, "DOM", "remove a halted VM's definition"),
    C("shutdown", shutdown, "DOM... | -a  [-w] [-H|-R]", "ask VMs to shut down"),
    C("reboot", reboot, "DOM... | -a  [-w]", "ask VMs to reboot"),
    C("destroy", destroy, "DOM", "stop a VM at once (power off)"),
    C("pause", pause, "DOM", "pause a VM"),
    C("unpause", unpause, "DOM", "unpause a paused VM"),
    C("suspend", suspend, "DOM", "suspend a VM to the server's disk"),
    C("resume", resume, "DOM [-p]", "resume a suspended VM"),
    C("save", save, "[-c] DOM FILE", "save a VM's state to a file on the server"),
    C("restore", restore, "FILE [-p]", "restore a VM from a saved state file on the server"),
    C("mem-set", mem_set, "DOM MEMORY", "set a running VM's memory target (MiB, or with k/m/g)"),
    C("mem-max", mem_max, "DOM MEMORY", "set a VM's maximum memory (MiB, or with k/m/g)"),
    C("vcpu-set", vcpu_set, "DOM N", "set the number of a running VM's online VCPUs"),
    C("vcpu-list", vcpu_list, "[DOM...]", "list the VCPUs of running VMs"),
    C("vcpu-pin", vcpu_pin, "DOM VCPU|all CPUS|all", "pin VCPUs to physical CPUs"),
    C("sched-credit", sched_credit, "[-d DOM [-w WEIGHT] [-c CAP]]",
      "show or set credit scheduler parameters"),
    C("console", console, "[-q] DOM", "attach to a VM's console (detach with Ctrl-])"),
    C("uptime", uptime, "[-s] [DOM...]", "print how long VMs have been running"),
    C("dmesg", dmesg, "[-c]", "print the hypervisor's message buffer"),
    C("log", log, "", "print the server's log"),
    C("block-list", block_list, "DOM [-l]", "list a VM's virtual block devices"),
    C("block-attach", block_attach, "DOM BACKDEV FRONTDEV MODE", "attach a disk (MODE r or w)"),
    C("block-detach", block_detach, "DOM DEV [-f]", "detach a virtual block device"),
    C("network-list", network_list, "DOM [-l]", "list a VM's virtual network interfaces"),
    C("network-attach", network_attach, "DOM [mac=MAC] [bridge=BRIDGE] [mtu=N] [model=M]",
      "attach a virtual network interface"),
    C("network-detach", network_detach, "DOM DEVID|MAC [-f]", "detach a virtual network interface"),
    C("dump-core", dump_core, "[-L] [-C] DOM [FILE]", "write a VM's memory to a core file"),
    C("rename", rename, "DOM NEWNAME", "rename a VM"),
    C("migrate", migrate, "DOM HOST [-l] [-p PORT] [-n NODE] [-s] [-c]",
      "migrate a VM to another host"),
    C("top", top, "[-d SECONDS] [-i N] [-b]",
      "a live table of the VMs, updated from the server's events"),
    C("domid", domid, "DOM", "print a VM's domain id"),
    C("domname", domname, "DOM", "print a VM's name"),
    C("sysrq", sysrq, "DOM KEY", "send a magic SysRq key to a VM"),
    { "help", "[COMMAND]", "print help about xm or a command", xm_cmd_help, true },
};
#undef C
const size_t xm_n_commands = sizeof(xm_commands) / sizeof(xm_commands[0]);

/* Deprecated names xend's xm still accepted. */
static const struct { const char *old, *now; } aliases[] = {
    { "balloon", "mem-set" }, { "set-vcpus", "vcpu-set" }, { "vif-list", "network-list" },
    { "vbd-create", "block-attach" }, { "vbd-destroy", "block-detach" }, { "vbd-list", "block-list" },
};

const xm_cmd *xm_lookup(const char *name, bool *ambiguous)
{
    const xm_cmd *found = NULL;
    size_t n = strlen(name);
    *ambiguous = false;
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(name, aliases[i].old) == 0) {
            fprintf(stderr, "Warning: '%s' is deprecated; use '%s'.\n", aliases[i].old, aliases[i].now);
            name = aliases[i].now;
            n = strlen(name);
        }
    for (size_t i = 0; i < xm_n_commands; i++) {
        if (strcmp(xm_commands[i].name, name) == 0)
            return &xm_commands[i];
        if (n > 0 && strncmp(xm_commands[i].name, name, n) == 0) {
            if (found)
                *ambiguous = true;
            found = &xm_commands[i];
        }
    }
    return *ambiguous ? NULL : found;
}

void xm_print_help(const xm_cmd *c)
{
    printf("Usage: xm %s %s\n\n%c%s.\n", c->name, c->args, toupper((unsigned char)c->summary[0]),
           c->summary + 1);
    bool any = false;
    for (size_t i = 0; i < sizeof(opt_rows) / sizeof(opt_rows[0]); i++)
        if (opt_of(&opt_rows[i], c->name)) {
            printf("%s  %-28s %s\n", any ? "" : "\nOptions:\n", opt_rows[i].opt.spelling,
                   opt_rows[i].opt.help);
            any = true;
        }
    printf("  %-28s %s\n", "-h, --help", "print this help");
}

static void print_overview(FILE *out)
{
    fprintf(out,
            "Usage: xm [-s URL] [--ca-file FILE] COMMAND [ARGS]\n\n"
            "Manage the VMs of a Xen host through its XenAPI server (xend).\n\n"
            "Commands (any unique prefix will do):\n");
    for (size_t i = 0; i < xm_n_commands; i++)
        fprintf(out, "  %-15s %s\n", xm_commands[i].name, xm_commands[i].summary);
    fprintf(out,
            "\nGlobal options:\n"
            "  -s, --server URL   unix:///PATH, http://HOST:PORT/ or https://HOST:PORT/\n"
            "                     (default: XM_SERVER, then /etc/xen/xm-config.xml, then\n"
            "                     unix:///var/run/xend/xen-api.sock)\n"
            "  --ca-file FILE     verify an https server against the CA certificates in FILE\n"
            "\n'xm help COMMAND' or 'xm COMMAND --help' describes a command; see xm(1).\n");
}

int xm_cmd_help(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        bool amb;
        xm_print_help(xm_lookup("help", &amb));
        return XM_EXIT_OK;
    }
    if (argc == 2 && strcmp(argv[1], "--list-commands") == 0) {
        for (size_t i = 0; i < xm_n_commands; i++)
            printf("%s\n", xm_commands[i].name);
        return XM_EXIT_OK;
    }
    if (argc == 3 && strcmp(argv[1], "--list-options") == 0) {
        bool amb;
        const xm_cmd *c = xm_lookup(argv[2], &amb);
        if (!c)
            return XM_EXIT_USAGE;
        for (size_t i = 0; i < sizeof(opt_rows) / sizeof(opt_rows[0]); i++) {
            if (!opt_of(&opt_rows[i], c->name))
                continue;
            /* "-p, --paused" -> "-p" "--paused"; "--state=STATE" -> "--state=" */
            char buf[128];
            snprintf(buf, sizeof(buf), "%s", opt_rows[i].opt.spelling);
            for (char *tok = strtok(buf, ", "); tok; tok = strtok(NULL, ", ")) {
                char *eq = strchr(tok, '=');
                if (eq)
                    eq[1] = '\0';
                printf("%s\n", tok);
            }
        }
        printf("--help\n");
        return XM_EXIT_OK;
    }
    if (argc == 1) {
        print_overview(stdout);
        return XM_EXIT_OK;
    }
    if (argc != 2)
        return xm_usage("help", "too many arguments");
    bool amb;
    const xm_cmd *c = xm_lookup(argv[1], &amb);
    if (!c)
        return xm_err(XM_EXIT_USAGE, "%s command '%s'; 'xm help' lists them.",
                      amb ? "ambiguous" : "unknown", argv[1]);
    xm_print_help(c);
    return XM_EXIT_OK;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "server", required_argument, NULL, 's' },
        { "ca-file", required_argument, NULL, 'C' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    /* '+': stop at the command name; its options are its own. */
    while ((c = getopt_long(argc, argv, "+s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': xm_opt_server = optarg; break;
        case 'C': xm_opt_ca_file = optarg; break;
        case 'h': print_overview(stdout); return XM_EXIT_OK;
        default:
            print_overview(stderr);
            return XM_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        print_overview(stderr);
        return XM_EXIT_USAGE;
    }
    bool amb;
    const xm_cmd *cmd = xm_lookup(argv[optind], &amb);
    if (!cmd)
        return xm_err(XM_EXIT_USAGE, "%s command '%s'; 'xm help' lists them.",
                      amb ? "ambiguous" : "unknown", argv[optind]);
    int cargc = argc - optind;
    char **cargv = argv + optind;
    if (cmd->run != xm_cmd_help && wants_help(cargc, cargv)) {
        xm_print_help(cmd);
        return XM_EXIT_OK;
    }
    cargv[0] = (char *)cmd->name;
    optind = 0;     /* the command parses its own options from a fresh start */
    xen_init();
    int rc = cmd->run(cargc, cargv);
    xm_disconnect();
    xen_fini();
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("xm: standard output");
        return rc ? rc : XM_EXIT_FAIL;
    }
    return rc;
}
