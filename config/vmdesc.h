/* vmdesc: one VM description, read from and written to the three VM config
 * formats (docs/config-formats.md), and turned into the XenAPI calls that
 * create the VM.  This library knows nothing of the daemon: xm and the
 * legacy protocol use it; it needs libxml2 only.
 *
 * Formats:
 *   VMD_FMT_XML  the XML of create.dtd (<xm><vm>...</vm><vdi/>...</xm>),
 *                validated against the schema installed as
 *                $(datadir)/xend/create.rng (vmd_schema_path());
 *   VMD_FMT_SXP  a domain configuration S-expression, (vm (name ..) ...);
 *   VMD_FMT_CFG  a Python-style xm config file (name = "vm1" ...), read by
 *                a parser of the safe subset real files use: never
 *                executed, anything outside the subset is an error.
 *
 * The description is close to the XenAPI records it becomes: memory in
 * bytes, on_* actions spelt as XenAPI enum values, legacy image and
 * device-model keys in `platform`.
 *
 * Errors: every function that can fail takes a vmd_err *; on failure it is
 * filled with the file name (or "<string>"), the 1-based line (0 when the
 * error has no place in the input) and a message; vmd_err_str formats it as
 * "file:line: message".  Warnings (a setting that was accepted but has no
 * effect through XenAPI) go to a vmd_diag list when one is given.
 *
 * Thread safety: no global state besides libxml2's (initialised once by
 * vmd_lib_init(), which every entry point calls).
 */
#ifndef XEND_CONFIG_VMDESC_H
#define XEND_CONFIG_VMDESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits (every parser enforces them) -------------------------------- */
#define VMD_MAX_INPUT      (1u << 20)   /* bytes of one config file */
#define VMD_MAX_DEPTH      64           /* nesting of lists / elements */
#define VMD_MAX_ITEMS      4096         /* values in one file (list items, keys) */
#define VMD_MAX_DEVICES    256          /* disks, vifs, pci, consoles each */
#define VMD_MAX_STRING     65536        /* bytes of one string value */
#define VMD_MAX_NAME       256          /* characters of a VM name (xm refuses longer) */

/* ---- small containers --------------------------------------------------- */
typedef struct vmd_kv {
    char *key;
    char *value;
} vmd_kv;

/* An ordered string -> string map; keys are unique (vmd_map_set replaces). */
typedef struct vmd_map {
    vmd_kv *v;
    size_t n, cap;
} vmd_map;

const char *vmd_map_get(const vmd_map *m, const char *key);  /* NULL: absent */
void vmd_map_set(vmd_map *m, const char *key, const char *value);
bool vmd_map_del(vmd_map *m, const char *key);
void vmd_map_free(vmd_map *m);

typedef struct vmd_err {
    char file[256];
    unsigned line;
    char msg[512];
} vmd_err;

/* "file:line: message" (or "file: message" when line is 0) into buf. */
const char *vmd_err_str(const vmd_err *e, char *buf, size_t n);

/* Warnings: accepted settings without an effect, defaults applied... */
typedef struct vmd_diag {
    char **v;       /* "file:line: message" */
    size_t n, cap;
} vmd_diag;
void vmd_diag_free(vmd_diag *d);

/* ---- the description ---------------------------------------------------- */
typedef struct vmd_disk {
    char *uname;        /* "phy:/dev/vg/a", "file:/img", "tap:aio:/img"; "" = empty CD */
    char *dev;          /* virtual device, "xvda1", "hdc" (no "ioemu:", no ":cdrom") */
    bool cdrom;         /* VBD type CD ("hdc:cdrom"), else Disk */
    bool writable;      /* mode "w" or "w!" (RW); "r" is RO */
    bool sharable;      /* mode "w!" */
    bool bootable;
    char *backend;      /* NULL: dom0 */
    char *protocol;     /* NULL: native */
    int64_t size;       /* VDI virtual_size in bytes; -1 unknown (the default) */
    char *vdi_type;     /* VDI type: "system" (default), "user", ... */
    char *vdi_label;    /* VDI name_label; NULL: the uname (also when equal) */
    char *qos_type;     /* VBD qos_algorithm_type; NULL: "" */
    vmd_map qos_params;
} vmd_disk;

typedef struct vmd_vif {
    char *mac;          /* NULL: the server picks one */
    char *bridge;       /* network by name_label (legacy bridge) — one of
                         * `networks` or an existing one; NULL: any */
    char *device;       /* "eth0"...; NULL: eth<index> */
    int64_t mtu;        /* 0: default (1500) */
    char *qos_type;     /* "ratelimit" when rate= was given */
    vmd_map qos_params; /* ratelimit: kbps */
    char *security_label;
    vmd_map legacy;     /* type, model, ip, script, backend, accel, policy,
                         * label: kept for the legacy formats, no XenAPI field */
} vmd_vif;

typedef struct vmd_pci {
    unsigned domain, bus, slot, func;
    int vslot;          /* -1: none; else the guest slot (vdevfn) */
    char *key;          /* NULL: none */
    vmd_map opts;       /* msitranslate, power_mgmt, ... */
} vmd_pci;

/* A network the file defines (XML <network>): made by network.create before
 * the VM; a vif whose bridge is its name_label uses it. */
typedef struct vmd_network {
    char *label;            /* name_label (unique in the description) */
    char *description;      /* name_description; NULL: "" */
    char *gateway, *netmask;/* default_gateway, default_netmask; NULL: "" */
    vmd_map other_config;
} vmd_network;

typedef struct vmd_console {
    char *protocol;     /* "vt100", "rfb" or "rdp" */
    vmd_map other_config; /* rfb: type (vnc|sdl), vncunused, vnclisten, ... */
} vmd_console;

typedef struct vmdesc {
    char *name;             /* name_label; required */
    char *uuid;             /* NULL: the server makes one */
    char *description;      /* name_description; NULL: "" */
    int64_t user_version;   /* default 1 */
    bool is_a_template;
    bool auto_power_on;     /* legacy on_xend_start=start */
    /* memory, bytes; 0 = unset (vmd_finish fills the defaults) */
    int64_t mem_static_min, mem_static_max, mem_dynamic_min, mem_dynamic_max;
    int64_t vcpus_max, vcpus_at_startup;    /* 0 = unset */
    vmd_map vcpu_params;    /* weight, cap, cpumap0.. ("0,2,3") */
    char *on_shutdown;      /* "destroy" | "restart" */
    char *on_reboot;        /* "destroy" | "restart" */
    char *on_crash;         /* the on_crash_behaviour enum */
    /* boot: PV when hvm_boot_policy is NULL */
    char *kernel, *ramdisk, *args, *bootloader, *bootloader_args;
    char *hvm_boot_policy;  /* "BIOS order" for HVM guests */
    vmd_map hvm_boot_params;/* order */
    vmd_map platform;       /* device-model and image keys (acpi, vnc, ...) */
    vmd_map other_config;
    char *pci_bus;          /* NULL: "" */
    char *pool_name;        /* NULL: unset (vmdesc_finish: "Pool-0") */
    char *security_label;   /* NULL: none */
    int64_t s3_integrity;   /* -1: unset (vmdesc_finish: 1) */
    int64_t superpages;     /* -1: unset (vmdesc_finish: 0) */
    vmd_disk *disks;       size_t n_disks;
    vmd_vif *vifs;         size_t n_vifs;
    vmd_pci *pcis;         size_t n_pcis;
    vmd_console *consoles; size_t n_consoles;
    vmd_network *networks; size_t n_networks;
} vmdesc;

void vmdesc_init(vmdesc *d);
void vmdesc_free(vmdesc *d);
/* Deep equality (the round-trip tests); on difference *what names the first
 * differing field when what is not NULL (static string or into buf). */
bool vmdesc_equal(const vmdesc *a, const vmdesc *b, char *what, size_t n);

/* Fills unset fields with the defaults (memory 128 MiB, 1 VCPU, on_*
 * destroy/restart/restart...) and checks the whole (memory order, vcpus,
 * cpumap, enums, unique device names).  The parsers call it. */
bool vmdesc_finish(vmdesc *d, vmd_err *err);

/* ---- parsing ------------------------------------------------------------ */
typedef enum { VMD_FMT_AUTO, VMD_FMT_XML, VMD_FMT_SXP, VMD_FMT_CFG } vmd_format;

/* "xml", "sxp", "cfg" (also "python", "py"); VMD_FMT_AUTO for anything else. */
vmd_format vmd_format_from_name(const char *name);
const char *vmd_format_name(vmd_format f);
/* Guess from the content: '<' first (after blanks) = XML, '(' = SXP, else CFG. */
vmd_format vmd_format_detect(const char *buf, size_t len);

/* A VAR=VALUE override (the command line of xm create).  For CFG the value
 * is a string variable visible to the file (and wins over its assignment);
 * for the other formats the same variable names are applied to the parsed
 * description afterwards (memory=256 vcpus=2 disk=... vif=...). */
typedef struct vmd_vars {
    vmd_kv *v;
    size_t n, cap;
} vmd_vars;
/* Adds "NAME=VALUE"; false (err filled) when it is not of that form. */
bool vmd_vars_add(vmd_vars *vars, const char *assignment, vmd_err *err);
void vmd_vars_free(vmd_vars *vars);

typedef struct vmd_parse_opts {
    vmd_format format;          /* AUTO: vmd_format_detect */
    const vmd_vars *vars;       /* NULL: none */
    const char *filename;       /* for messages and the default name */
    bool skip_validation;       /* XML: no schema validation (xm -s) */
    const char *schema;         /* XML: schema path; NULL: vmd_schema_path() */
    vmd_diag *warnings;         /* NULL: warnings dropped */
} vmd_parse_opts;

/* Parses buf (len bytes, need not be NUL-terminated) into d (initialised by
 * the call).  On failure d is empty and err says why, with file:line. */
bool vmd_parse_buffer(const char *buf, size_t len, const vmd_parse_opts *o, vmdesc *d,
                      vmd_err *err);
/* Reads path (at most VMD_MAX_INPUT bytes) and parses it; o->filename
 * defaults to path. */
bool vmd_parse_file(const char *path, const vmd_parse_opts *o, vmdesc *d, vmd_err *err);

/* Applies VAR=VALUE overrides to a parsed description (what
 * vmd_parse_buffer does for the XML and SXP formats). */
bool vmd_apply_vars(vmdesc *d, const vmd_vars *vars, vmd_diag *warnings, vmd_err *err);

/* The installed schema (the RELAX NG grammar of create.dtd); the environment
 * variable XEND_CREATE_SCHEMA overrides it (tests). */
const char *vmd_schema_path(void);

/* ---- writing ------------------------------------------------------------ */
/* Writes d in format f (not AUTO) as a newly allocated NUL-terminated string
 * (*out, free()).  What the format cannot express is listed in warnings
 * (the CFG and SXP formats have no place for e.g. VBD QoS parameters). */
bool vmd_write(const vmdesc *d, vmd_format f, char **out, vmd_diag *warnings, vmd_err *err);

/* The converter (xm config-convert): parse in, write out. */
bool vmd_convert(const char *buf, size_t len, const vmd_parse_opts *in, vmd_format out_fmt,
                 char **out, vmd_diag *warnings, vmd_err *err);

/* ---- the XenAPI calls ---------------------------------------------------- */
/* A description becomes an ordered plan of steps (LEGACY §4.3): lookups the
 * client resolves with its own calls, then create calls whose records may
 * refer to earlier steps' results by symbol.  xm executes a plan through
 * libxen; the golden tests print it with vmd_plan_text.  Networks the file
 * defines are made first (network.create, bound to "netdef0"...). */
typedef enum {
    VMD_V_STRING,   /* s */
    VMD_V_INT,      /* i */
    VMD_V_BOOL,     /* b */
    VMD_V_MAP,      /* map (string -> string) */
    VMD_V_REF       /* s = symbol of an earlier step's result */
} vmd_vtype;

typedef struct vmd_member {
    char *name;         /* XenAPI field name */
    vmd_vtype type;
    char *s;
    int64_t i;
    bool b;
    vmd_map map;
} vmd_member;

typedef enum {
    /* Call `method` (e.g. "VM.create") with one struct argument, the record
     * rec[0..n_rec); bind its result to `bind` (NULL: unused).  When
     * `unless` is not NULL and that symbol is already bound (a reused VDI),
     * the step is skipped. */
    VMD_STEP_CREATE,
    /* Bind `bind` to the SR new VDIs go to: the pool's default_SR (else the
     * first SR).  Error when there is none. */
    VMD_STEP_DEFAULT_SR,
    /* Bind `bind` to an existing VDI whose other_config:location equals
     * `arg`, or leave it unbound (a later CREATE with unless=bind makes it). */
    VMD_STEP_FIND_VDI,
    /* Bind `bind` to the network whose name_label (or other_config:bridge)
     * equals `arg`; error "network ARG does not exist" when none.  arg NULL:
     * the networks in turn (round robin over network.get_all()). */
    VMD_STEP_FIND_NETWORK,
    /* Bind `bind` to the PPCI named `arg` ("0000:00:1d.0"); when there is
     * none the steps using `bind` are skipped (xend did the same). */
    VMD_STEP_FIND_PPCI
} vmd_step_kind;

typedef struct vmd_step {
    vmd_step_kind kind;
    char *method;       /* CREATE: "VM.create", "VDI.create", "VBD.create",
                         * "VIF.create", "console.create", "DPCI.create" */
    char *bind;         /* result symbol: "vm", "sr", "vdi0", "net0", "ppci0" */
    char *arg;          /* FIND_*: the key */
    char *unless;       /* CREATE: skip when this symbol is bound */
    vmd_member *rec;    /* CREATE: the record, in XenAPI field order */
    size_t n_rec;
} vmd_step;

typedef struct vmd_plan {
    vmd_step *v;
    size_t n, cap;
} vmd_plan;

typedef struct vmd_plan_opts {
    bool transient;     /* xm create: other_config:transient = "True" */
} vmd_plan_opts;

/* Builds the plan for d (vmdesc_finish'ed).  The first CREATE of the VM is
 * bound to "vm"; on failure of a later step the client destroys "vm" and the
 * VDIs it created (xend did). */
bool vmd_plan_build(const vmdesc *d, const vmd_plan_opts *o, vmd_plan *p, vmd_err *err);
void vmd_plan_free(vmd_plan *p);
/* The plan as text, one step per line (the golden files' format). */
char *vmd_plan_text(const vmd_plan *p);

/* The cpus syntax of config files and xm vcpu-pin ("0-3,^1": numbers,
 * ranges, exclusions applied left to right) -> the sorted CPU list "0,2,3"
 * (*out, free(); "" for none).  False with a reason in why on error. */
bool vmd_cpus_parse(const char *spec, char **out, char *why, size_t n);

/* Library initialisation (libxml2); idempotent and thread-safe. */
void vmd_lib_init(void);

#endif
