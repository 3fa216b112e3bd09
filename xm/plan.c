/* xm: run a VM creation plan (config/vmdesc.h) through libxen's typed
 * calls.  Each CREATE step's members are set on the class's libxen record
 * by a table of (field, kind, offset); a member libxen's record does not
 * have (xend's pool_name, s3_integrity...) is not sent, with a warning.
 * On a failure after VM.create the VM and the VDIs this plan made are
 * destroyed again, as xend did. */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/vmdesc.h"
#include "xm/plan.h"
#include "xm/xm.h"

typedef enum { F_STR, F_INT, F_BOOL, F_MAP, F_REF, F_ENUM } fkind;

typedef struct fdesc {
    const char *name;
    fkind kind;
    size_t off;
    int (*from)(xen_session *, const char *);   /* F_ENUM: -1 when unknown */
} fdesc;

#define ENUM_FROM(fn, type, undef)                                          \
    static int fn##_i(xen_session *s, const char *v)                        \
    {                                                                       \
        enum type e = fn(s, v);                                             \
        return e == undef ? -1 : (int)e;                                    \
    }
ENUM_FROM(xen_on_normal_exit_from_string, xen_on_normal_exit, XEN_ON_NORMAL_EXIT_UNDEFINED)
ENUM_FROM(xen_on_crash_behaviour_from_string, xen_on_crash_behaviour, XEN_ON_CRASH_BEHAVIOUR_UNDEFINED)
ENUM_FROM(xen_vbd_mode_from_string, xen_vbd_mode, XEN_VBD_MODE_UNDEFINED)
ENUM_FROM(xen_vbd_type_from_string, xen_vbd_type, XEN_VBD_TYPE_UNDEFINED)
ENUM_FROM(xen_vdi_type_from_string, xen_vdi_type, XEN_VDI_TYPE_UNDEFINED)
ENUM_FROM(xen_console_protocol_from_string, xen_console_protocol, XEN_CONSOLE_PROTOCOL_UNDEFINED)

#define S(rec, n, f) { n, F_STR, offsetof(rec, f), NULL }
#define I(rec, n, f) { n, F_INT, offsetof(rec, f), NULL }
#define B(rec, n, f) { n, F_BOOL, offsetof(rec, f), NULL }
#define M(rec, n, f) { n, F_MAP, offsetof(rec, f), NULL }
#define R(rec, n, f) { n, F_REF, offsetof(rec, f), NULL }
#define E(rec, n, f, fn) { n, F_ENUM, offsetof(rec, f), fn##_i }

static const fdesc vm_fields[] = {
    S(xen_vm_record, "uuid", uuid), S(xen_vm_record, "name_label", name_label),
    S(xen_vm_record, "name_description", name_description), I(xen_vm_record, "user_version", user_version),
    B(xen_vm_record, "is_a_template", is_a_template), B(xen_vm_record, "auto_power_on", auto_power_on),
    I(xen_vm_record, "memory_static_max", memory_static_max),
    I(xen_vm_record, "memory_dynamic_max", memory_dynamic_max),
    I(xen_vm_record, "memory_dynamic_min", memory_dynamic_min),
    I(xen_vm_record, "memory_static_min", memory_static_min), M(xen_vm_record, "VCPUs_params", vcpus_params),
    I(xen_vm_record, "VCPUs_max", vcpus_max), I(xen_vm_record, "VCPUs_at_startup", vcpus_at_startup),
    E(xen_vm_record, "actions_after_shutdown", actions_after_shutdown, xen_on_normal_exit_from_string),
    E(xen_vm_record, "actions_after_reboot", actions_after_reboot, xen_on_normal_exit_from_string),
    E(xen_vm_record, "actions_after_crash", actions_after_crash, xen_on_crash_behaviour_from_string),
    S(xen_vm_record, "PV_bootloader", pv_bootloader), S(xen_vm_record, "PV_kernel", pv_kernel),
    S(xen_vm_record, "PV_ramdisk", pv_ramdisk), S(xen_vm_record, "PV_args", pv_args),
    S(xen_vm_record, "PV_bootloader_args", pv_bootloader_args),
    S(xen_vm_record, "HVM_boot_policy", hvm_boot_policy), M(xen_vm_record, "HVM_boot_params", hvm_boot_params),
    M(xen_vm_record, "platform", platform), S(xen_vm_record, "PCI_bus", pci_bus),
    M(xen_vm_record, "other_config", other_config), S(xen_vm_record, "security_label", security_label),
    { NULL, F_STR, 0, NULL } };
static const fdesc vdi_fields[] = {
    S(xen_vdi_record, "name_label", name_label), S(xen_vdi_record, "name_description", name_description),
    R(xen_vdi_record, "SR", sr), I(xen_vdi_record, "virtual_size", virtual_size),
    E(xen_vdi_record, "type", type, xen_vdi_type_from_string), B(xen_vdi_record, "sharable", sharable),
    B(xen_vdi_record, "read_only", read_only), M(xen_vdi_record, "other_config", other_config),
    { NULL, F_STR, 0, NULL } };
static const fdesc vbd_fields[] = {
    R(xen_vbd_record, "VM", vm), R(xen_vbd_record, "VDI", vdi), S(xen_vbd_record, "device", device),
    B(xen_vbd_record, "bootable", bootable), E(xen_vbd_record, "mode", mode, xen_vbd_mode_from_string),
    E(xen_vbd_record, "type", type, xen_vbd_type_from_string),
    S(xen_vbd_record, "qos_algorithm_type", qos_algorithm_type),
    M(xen_vbd_record, "qos_algorithm_params", qos_algorithm_params),
    { NULL, F_STR, 0, NULL } };
static const fdesc vif_fields[] = {
    S(xen_vif_record, "device", device), R(xen_vif_record, "network", network), R(xen_vif_record, "VM", vm),
    S(xen_vif_record, "MAC", mac), I(xen_vif_record, "MTU", mtu),
    S(xen_vif_record, "qos_algorithm_type", qos_algorithm_type),
    M(xen_vif_record, "qos_algorithm_params", qos_algorithm_params),
    { NULL, F_STR, 0, NULL } };
static const fdesc console_fields[] = {
    R(xen_console_record, "VM", vm), E(xen_console_record, "protocol", protocol, xen_console_protocol_from_string),
    M(xen_console_record, "other_config", other_config),
    { NULL, F_STR, 0, NULL } };
static const fdesc dpci_fields[] = {
    R(xen_dpci_record, "VM", vm), R(xen_dpci_record, "PPCI", ppci), I(xen_dpci_record, "hotplug_slot", hotplug_slot),
    { NULL, F_STR, 0, NULL } };
static const fdesc network_fields[] = { S(xen_network_record, "name_label", name_label),
                                        S(xen_network_record, "name_description", name_description),
                                        S(xen_network_record, "default_gateway", default_gateway),
                                        S(xen_network_record, "default_netmask", default_netmask),
                                        M(xen_network_record, "other_config", other_config),
                                        { NULL, F_STR, 0, NULL } };

/* libxen's <class>_create for each kind of record, as one type. */
/* clang-format off */
static bool create_vm(xen_session *s, char **ref, void *rec) { return xen_vm_create(s, ref, rec); }
static bool create_vdi(xen_session *s, char **ref, void *rec) { return xen_vdi_create(s, ref, rec); }
static bool create_vbd(xen_session *s, char **ref, void *rec) { return xen_vbd_create(s, ref, rec); }
static bool create_vif(xen_session *s, char **ref, void *rec) { return xen_vif_create(s, ref, rec); }
static bool create_console(xen_session *s, char **ref, void *rec) { return xen_console_create(s, ref, rec); }
static bool create_dpci(xen_session *s, char **ref, void *rec) { return xen_dpci_create(s, ref, rec); }
static bool create_network(xen_session *s, char **ref, void *rec) { return xen_network_create(s, ref, rec); }
/* clang-format on */

/* The CREATE steps xm runs: the plan's method, the class, its members. */
static const struct creator {
    const char *method, *cls;
    const fdesc *fields;
    bool (*create)(xen_session *s, char **ref, void *rec);
} creators[] = {
    { "VM.create", "VM", vm_fields, create_vm },
    { "VDI.create", "VDI", vdi_fields, create_vdi },
    { "VBD.create", "VBD", vbd_fields, create_vbd },
    { "VIF.create", "VIF", vif_fields, create_vif },
    { "console.create", "console", console_fields, create_console },
    { "DPCI.create", "DPCI", dpci_fields, create_dpci },
    { "network.create", "network", network_fields, create_network },
};

/* Members of xend's VM.create that are no XenAPI 1.0 fields (the plan
 * carries them for xend-era servers): not sent, without a word. */
static bool is_xend_extra(const vmd_step *st, const char *name)
{
    static const char *const extras[] = { "pool_name", "s3_integrity", "superpages", NULL };
    if (strcmp(st->method, "VM.create") != 0)
        return false;
    for (size_t i = 0; extras[i]; i++)
        if (strcmp(name, extras[i]) == 0)
            return true;
    return false;
}

/* The symbols of a plan run: name -> ref; made (true) when this run created it. */
typedef struct sym {
    char *name, *ref;
    bool made;
    const char *cls;
} sym;

typedef struct run {
    xen_session *s;
    sym *v;
    size_t n;
    size_t net_rr;          /* round robin over the networks */
} run;

static sym *lookup(run *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].name, name) == 0)
            return &r->v[i];
    return NULL;
}

static void bind(run *r, const char *name, const char *ref, bool made, const char *cls)
{
    sym *old = lookup(r, name);
    if (old) {
        free(old->ref);
        old->ref = xm_strdup(ref);
        old->made = made;
        old->cls = cls;
        return;
    }
    sym *n = realloc(r->v, (r->n + 1) * sizeof(sym));
    if (!n)
        abort();
    r->v = n;
    r->v[r->n++] = (sym){ xm_strdup(name), xm_strdup(ref), made, cls };
}

static xen_string_string_map *to_map(const vmd_map *m)
{
    xen_string_string_map *x = xen_string_string_map_alloc(m->n);
    for (size_t i = 0; i < m->n; i++) {
        x->contents[i].key = xm_strdup(m->v[i].key);
        x->contents[i].val = xm_strdup(m->v[i].value);
    }
    return x;
}

/* A record_opt holding a borrowed handle (freed with free() only). */
typedef struct xm_opt_ref {
    bool is_record;
    union { char *handle; void *record; } u;
} xm_opt_ref;

/* What fill() allocated for one record. */
typedef struct owned {
    xen_string_string_map *maps[16];
    size_t n_maps;
    xm_opt_ref refs[8];
    size_t n_refs;
} owned;

/* Set the members of step st on record rec; *skip when a referenced
 * symbol is unbound (a PCI device this host lacks).  false after printing
 * why. */
static bool fill(run *r, const vmd_step *st, const fdesc *fields, void *rec, owned *own, bool *skip)
{
    for (size_t i = 0; i < st->n_rec; i++) {
        const vmd_member *m = &st->rec[i];
        const fdesc *f = fields;
        while (f->name && strcmp(f->name, m->name) != 0)
            f++;
        if (!f->name && is_xend_extra(st, m->name))
            continue;
        if (!f->name) {
            fprintf(stderr, "Warning: %s: '%s' is not a field this XenAPI client sends; ignored.\n",
                    st->method, m->name);
            continue;
        }
        char *slot = (char *)rec + f->off;
        switch (f->kind) {
        case F_STR:
            *(char **)slot = m->s ? m->s : "";
            break;
        case F_INT:
            *(int64_t *)slot = m->i;
            break;
        case F_BOOL:
            *(bool *)slot = m->b;
            break;
        case F_MAP: {
            if (own->n_maps == sizeof(own->maps) / sizeof(own->maps[0]))
                return xm_err(XM_EXIT_FAIL, "%s: too many maps", st->method), false;
            xen_string_string_map *x = to_map(&m->map);
            own->maps[own->n_maps++] = x;
            *(xen_string_string_map **)slot = x;
            break;
        }
        case F_ENUM: {
            int e = f->from(r->s, m->s ? m->s : "");
            xen_session_clear_error(r->s);
            if (e < 0) {
                xm_err(XM_EXIT_FAIL, "%s: '%s' is not a valid %s.", st->method, m->s ? m->s : "", m->name);
                return false;
            }
            memcpy(slot, &e, sizeof(int));      /* libxen's enums are int-sized */
            break;
        }
        case F_REF: {
            if (own->n_refs == sizeof(own->refs) / sizeof(own->refs[0]))
                return xm_err(XM_EXIT_FAIL, "%s: too many references", st->method), false;
            xm_opt_ref *o = &own->refs[own->n_refs++];
            o->is_record = false;
            if (m->type == VMD_V_REF) {
                sym *sy = lookup(r, m->s);
                if (!sy) {
                    *skip = true;
                    return true;
                }
                o->u.handle = sy->ref;
            } else {
                o->u.handle = m->s ? m->s : "";
            }
            memcpy(slot, &o, sizeof(o));     /* every record_opt has this layout */
            break;
        }
        }
    }
    return true;
}

static bool do_create(run *r, const vmd_step *st)
{
    const struct creator *k = creators;
    while (k < creators + sizeof(creators) / sizeof(creators[0]) &&
           strcmp(k->method, st->method) != 0)
        k++;
    if (k == creators + sizeof(creators) / sizeof(creators[0]))
        return xm_err(XM_EXIT_FAIL, "the plan has a call xm does not know: %s", st->method), false;
    union {
        xen_vm_record vm;
        xen_vdi_record vdi;
        xen_vbd_record vbd;
        xen_vif_record vif;
        xen_console_record console;
        xen_dpci_record dpci;
        xen_network_record network;
    } rec;
    memset(&rec, 0, sizeof(rec));
    owned own = { .n_maps = 0 };
    bool skip = false, ok = fill(r, st, k->fields, &rec, &own, &skip);
    if (ok && skip) {
        fprintf(stderr, "Warning: %s skipped: a device it needs is not on this host.\n", st->method);
    } else if (ok) {
        char *ref = NULL;
        ok = k->create(r->s, &ref, &rec);
        if (!ok) {
            fprintf(stderr, "%s: ", st->method);
            xm_fail(r->s);
        } else if (st->bind) {
            bind(r, st->bind, ref, true, k->cls);
        }
        free(ref);
    }
    for (size_t i = 0; i < own.n_maps; i++)
        xen_string_string_map_free(own.maps[i]);
    return ok;
}

static bool find_default_sr(run *r, const vmd_step *st)
{
    struct xen_pool_set *pools = NULL;
    xen_sr sr = NULL;
    if (xen_pool_get_all(r->s, &pools) && pools->size)
        xen_pool_get_default_sr(r->s, &sr, pools->contents[0]);
    xen_session_clear_error(r->s);
    xen_pool_set_free(pools);
    if (!sr || !*sr) {
        free(sr);
        sr = NULL;
        struct xen_sr_set *srs = NULL;
        if (!xen_sr_get_all(r->s, &srs)) {
            xm_fail(r->s);
            return false;
        }
        if (srs->size)
            sr = xm_strdup(srs->contents[0]);
        xen_sr_set_free(srs);
    }
    if (!sr)
        return xm_err(XM_EXIT_FAIL, "the server has no storage repository for the disks."), false;
    bind(r, st->bind, sr, false, "SR");
    free(sr);
    return true;
}

/* Every record of the class a FIND step looks in. */
typedef union found_in {
    xen_vdi_xen_vdi_record_map *vdis;
    xen_network_xen_network_record_map *nets;
    xen_ppci_xen_ppci_record_map *ppcis;
} found_in;

static bool fetch_all(run *r, const vmd_step *st, found_in *all, size_t *n)
{
    bool ok;
    switch (st->kind) {
    case VMD_STEP_FIND_VDI:
        ok = xen_vdi_get_all_records(r->s, &all->vdis);
        *n = ok ? all->vdis->size : 0;
        break;
    case VMD_STEP_FIND_NETWORK:
        ok = xen_network_get_all_records(r->s, &all->nets);
        *n = ok ? all->nets->size : 0;
        break;
    default:
        ok = xen_ppci_get_all_records(r->s, &all->ppcis);
        *n = ok ? all->ppcis->size : 0;
        break;
    }
    return ok;
}

/* The key of record i when it is the one the step names (st->arg): a VDI
 * by its other_config:location, a network by name or bridge, a PPCI by its
 * PCI address. */
static const char *match(const vmd_step *st, const found_in *all, size_t i)
{
    const char *want = st->arg ? st->arg : "";
    switch (st->kind) {
    case VMD_STEP_FIND_VDI: {
        const char *loc = xm_map_get(all->vdis->contents[i].val->other_config, "location");
        return loc && strcmp(loc, want) == 0 ? all->vdis->contents[i].key : NULL;
    }
    case VMD_STEP_FIND_NETWORK: {
        const xen_network_record *n = all->nets->contents[i].val;
        const char *b = xm_map_get(n->other_config, "bridge");
        return strcmp(n->name_label, want) == 0 || (b && strcmp(b, want) == 0)
                   ? all->nets->contents[i].key
                   : NULL;
    }
    default: {
        const xen_ppci_record *p = all->ppcis->contents[i].val;
        char name[32];
        snprintf(name, sizeof(name), "%04x:%02x:%02x.%x", (unsigned)p->domain, (unsigned)p->bus,
                 (unsigned)p->slot, (unsigned)p->func);
        return strcmp(name, want) == 0 ? all->ppcis->contents[i].key : NULL;
    }
    }
}

/* A FIND step binds the existing object it names.  Not there: a VDI or a
 * PPCI leaves its symbol unbound (steps that need it are skipped), a
 * network is an error.  A network step without a name takes the networks
 * in turn. */
static bool find_existing(run *r, const vmd_step *st)
{
    found_in all = { NULL };
    size_t n = 0;
    if (!fetch_all(r, st, &all, &n)) {
        xm_fail(r->s);
        return false;
    }
    bool net = st->kind == VMD_STEP_FIND_NETWORK;
    const char *found = NULL;
    for (size_t i = 0; i < n && !found && st->arg; i++)
        found = match(st, &all, i);
    if (net && !st->arg && n)
        found = all.nets->contents[r->net_rr++ % n].key;
    if (found)
        bind(r, st->bind, found, false,
             st->kind == VMD_STEP_FIND_VDI ? "VDI"
             : net                         ? "network"
                                           : "PPCI");
    else if (net && st->arg)
        xm_err(XM_EXIT_FAIL, "network %s does not exist.", st->arg);
    else if (net)
        xm_err(XM_EXIT_FAIL, "the server has no network for the VM's interfaces.");
    xen_vdi_xen_vdi_record_map_free(st->kind == VMD_STEP_FIND_VDI ? all.vdis : NULL);
    xen_network_xen_network_record_map_free(net ? all.nets : NULL);
    xen_ppci_xen_ppci_record_map_free(st->kind == VMD_STEP_FIND_PPCI ? all.ppcis : NULL);
    return found || !net;
}

/* Every domain has a text console on Xen, named in a file or not; the
 * plan lists only the consoles a file names, so xm adds the vt100 one a
 * terminal client (xm console) needs when the file has none. */
static bool text_console(run *r, const vmd_plan *p, const char *vm)
{
    for (size_t i = 0; i < p->n; i++) {
        const vmd_step *st = &p->v[i];
        if (st->kind != VMD_STEP_CREATE || strcmp(st->method, "console.create") != 0)
            continue;
        for (size_t k = 0; k < st->n_rec; k++)
            if (strcmp(st->rec[k].name, "protocol") == 0 && st->rec[k].s && strcmp(st->rec[k].s, "vt100") == 0)
                return true;
    }
    xm_opt_ref vmo = { .is_record = false, .u.handle = (char *)vm };
    xen_console_record rec = { .protocol = XEN_CONSOLE_PROTOCOL_VT100 };
    memcpy(&rec.vm, &(xm_opt_ref *){ &vmo }, sizeof(rec.vm));
    xen_string_string_map *oc = xen_string_string_map_alloc(0);
    rec.other_config = oc;
    xen_console con = NULL;
    bool ok = xen_console_create(r->s, &con, &rec);
    if (!ok) {
        fprintf(stderr, "console.create: ");
        xm_fail(r->s);
    }
    xen_console_free(con);
    xen_string_string_map_free(oc);
    return ok;
}

/* Undo: the VM (with its devices), then the VDIs and networks this run made. */
static void undo(run *r)
{
    sym *vm = lookup(r, "vm");
    if (vm && vm->made && !xen_vm_destroy(r->s, vm->ref))
        xen_session_clear_error(r->s);
    for (size_t i = 0; i < r->n; i++) {
        if (!r->v[i].made)
            continue;
        bool vdi = strcmp(r->v[i].cls, "VDI") == 0, net = strcmp(r->v[i].cls, "network") == 0;
        if ((vdi && !xen_vdi_destroy(r->s, r->v[i].ref)) ||
            (net && !xen_network_destroy(r->s, r->v[i].ref)))
            xen_session_clear_error(r->s);
    }
}

xen_vm xm_plan_run(xen_session *s, const vmd_plan *p)
{
    run r = { .s = s };
    bool ok = true;
    for (size_t i = 0; i < p->n && ok; i++) {
        const vmd_step *st = &p->v[i];
        switch (st->kind) {
        case VMD_STEP_CREATE:
            if (st->unless && lookup(&r, st->unless))
                continue;
            ok = do_create(&r, st);
            break;
        case VMD_STEP_DEFAULT_SR: ok = find_default_sr(&r, st); break;
        case VMD_STEP_FIND_VDI:
        case VMD_STEP_FIND_NETWORK:
        case VMD_STEP_FIND_PPCI:
            ok = find_existing(&r, st);
            break;
        }
    }
    sym *vm = lookup(&r, "vm");
    if (ok && vm)
        ok = text_console(&r, p, vm->ref);
    xen_vm result = ok && vm ? xm_strdup(vm->ref) : NULL;
    if (!ok)
        undo(&r);
    else if (!vm)
        xm_err(XM_EXIT_FAIL, "the plan made no VM.");
    for (size_t i = 0; i < r.n; i++) {
        free(r.v[i].name);
        free(r.v[i].ref);
    }
    free(r.v);
    return result;
}

