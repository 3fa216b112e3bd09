/* vmd_plan: a VM description -> the XenAPI calls that make the VM (LEGACY
 * §4.3, as xm's xenapi_create did): the VDIs (reused when one already has
 * other_config:location = the disk's uname), the networks looked up by
 * bridge name, VM.create, then VBD, VIF, console and DPCI creates. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/vmd_internal.h"

static vmd_step *step(vmd_plan *p, vmd_step_kind k, const char *method, const char *bind)
{
    vmd_grow(&p->v, &p->cap, p->n + 1, sizeof(*p->v));
    vmd_step *s = &p->v[p->n++];
    memset(s, 0, sizeof(*s));
    s->kind = k;
    s->method = method ? vmd_xstrdup(method) : NULL;
    s->bind = bind ? vmd_xstrdup(bind) : NULL;
    return s;
}

static vmd_member *member(vmd_step *s, const char *name, vmd_vtype t)
{
    s->rec = vmd_xrealloc(s->rec, (s->n_rec + 1) * sizeof(*s->rec));
    vmd_member *m = &s->rec[s->n_rec++];
    memset(m, 0, sizeof(*m));
    m->name = vmd_xstrdup(name);
    m->type = t;
    return m;
}

static void m_str(vmd_step *s, const char *name, const char *v)
{
    member(s, name, VMD_V_STRING)->s = vmd_xstrdup(v ? v : "");
}

static void m_ref(vmd_step *s, const char *name, const char *sym)
{
    member(s, name, VMD_V_REF)->s = vmd_xstrdup(sym);
}

static void m_int(vmd_step *s, const char *name, int64_t v)
{
    member(s, name, VMD_V_INT)->i = v;
}

static void m_bool(vmd_step *s, const char *name, bool v)
{
    member(s, name, VMD_V_BOOL)->b = v;
}

static vmd_member *m_map(vmd_step *s, const char *name, const vmd_map *src)
{
    vmd_member *m = member(s, name, VMD_V_MAP);
    for (size_t i = 0; src && i < src->n; i++)
        vmd_map_set(&m->map, src->v[i].key, src->v[i].value);
    return m;
}

static void vm_create(vmd_plan *p, const vmdesc *d, const vmd_plan_opts *o)
{
    vmd_step *s = step(p, VMD_STEP_CREATE, "VM.create", "vm");
    for (size_t i = 0; i < vmd_n_desc_fields; i++) {
        const vmd_field *f = &vmd_desc_fields[i];
        if (f->kind == VMD_F_STR) {
            const char *v = vmd_field_str(d, f);
            if (v || !f->optional)
                m_str(s, f->xenapi, v);
        } else if (f->kind == VMD_F_MAP) {
            vmd_member *m = m_map(s, f->xenapi, vmd_field_map(d, f));
            if (o && o->transient && strcmp(f->xenapi, "other_config") == 0)
                vmd_map_set(&m->map, "transient", "True");
        } else if (f->kind == VMD_F_BOOL) {
            m_bool(s, f->xenapi, vmd_field_int(d, f));
        } else if (vmd_field_int(d, f) >= 0 || !f->optional) {
            m_int(s, f->xenapi, vmd_field_int(d, f));
        }
    }
}

/* The index of the network the description defines with this name, or -1. */
static long local_network(const vmdesc *d, const char *name)
{
    for (size_t i = 0; name && i < d->n_networks; i++)
        if (strcmp(d->networks[i].label, name) == 0)
            return (long)i;
    return -1;
}

bool vmd_plan_build(const vmdesc *d, const vmd_plan_opts *o, vmd_plan *p, vmd_err *err)
{
    memset(p, 0, sizeof(*p));
    if (!d->name || !d->on_shutdown || !d->vcpus_max || !d->mem_static_max)
        return vmd_fail(err, NULL, 0, "the description is not complete (vmdesc_finish)");
    char sym[32];
    bool any_vdi = false;
    for (size_t i = 0; i < d->n_disks; i++)
        any_vdi |= *d->disks[i].uname != '\0';
    if (any_vdi)
        step(p, VMD_STEP_DEFAULT_SR, NULL, "sr");
    for (size_t i = 0; i < d->n_disks; i++) {
        const vmd_disk *k = &d->disks[i];
        if (!*k->uname)
            continue;
        snprintf(sym, sizeof(sym), "vdi%zu", i);
        step(p, VMD_STEP_FIND_VDI, NULL, sym)->arg = vmd_xstrdup(k->uname);
        vmd_step *s = step(p, VMD_STEP_CREATE, "VDI.create", sym);
        s->unless = vmd_xstrdup(sym);
        m_str(s, "name_label", k->vdi_label ? k->vdi_label : k->uname);
        m_str(s, "name_description", "");
        m_ref(s, "SR", "sr");
        m_int(s, "virtual_size", k->size < 0 ? 0 : k->size);
        m_str(s, "type", k->vdi_type ? k->vdi_type : "system");
        m_bool(s, "sharable", k->sharable);
        m_bool(s, "read_only", !k->writable);
        vmd_map loc = { 0 };
        vmd_map_set(&loc, "location", k->uname);
        m_map(s, "other_config", &loc);
        vmd_map_free(&loc);
    }
    for (size_t i = 0; i < d->n_networks; i++) {
        const vmd_network *w = &d->networks[i];
        snprintf(sym, sizeof(sym), "netdef%zu", i);
        vmd_step *s = step(p, VMD_STEP_CREATE, "network.create", sym);
        m_str(s, "name_label", w->label);
        m_str(s, "name_description", w->description);
        m_str(s, "default_gateway", w->gateway);
        m_str(s, "default_netmask", w->netmask);
        m_map(s, "other_config", &w->other_config);
    }
    for (size_t i = 0; i < d->n_vifs; i++) {
        if (local_network(d, d->vifs[i].bridge) >= 0)
            continue;
        snprintf(sym, sizeof(sym), "net%zu", i);
        vmd_step *s = step(p, VMD_STEP_FIND_NETWORK, NULL, sym);
        if (d->vifs[i].bridge)
            s->arg = vmd_xstrdup(d->vifs[i].bridge);
    }
    for (size_t i = 0; i < d->n_pcis; i++) {
        const vmd_pci *c = &d->pcis[i];
        snprintf(sym, sizeof(sym), "ppci%zu", i);
        step(p, VMD_STEP_FIND_PPCI, NULL, sym)->arg =
            vmd_xasprintf("%04x:%02x:%02x.%x", c->domain, c->bus, c->slot, c->func);
    }
    vm_create(p, d, o);
    for (size_t i = 0; i < d->n_disks; i++) {
        const vmd_disk *k = &d->disks[i];
        vmd_step *s = step(p, VMD_STEP_CREATE, "VBD.create", NULL);
        m_ref(s, "VM", "vm");
        if (*k->uname) {
            snprintf(sym, sizeof(sym), "vdi%zu", i);
            m_ref(s, "VDI", sym);
        } else {
            m_str(s, "VDI", "");            /* an empty CD drive */
        }
        m_str(s, "device", k->dev);
        m_bool(s, "bootable", k->bootable);
        m_str(s, "mode", k->writable ? "RW" : "RO");
        m_str(s, "type", k->cdrom ? "CD" : "Disk");
        m_str(s, "qos_algorithm_type", k->qos_type);
        m_map(s, "qos_algorithm_params", &k->qos_params);
    }
    for (size_t i = 0; i < d->n_vifs; i++) {
        const vmd_vif *f = &d->vifs[i];
        vmd_step *s = step(p, VMD_STEP_CREATE, "VIF.create", NULL);
        char dev[32];
        snprintf(dev, sizeof(dev), "%zu", i);
        m_str(s, "device", f->device ? f->device : dev);
        long local = local_network(d, f->bridge);
        if (local >= 0)
            snprintf(sym, sizeof(sym), "netdef%ld", local);
        else
            snprintf(sym, sizeof(sym), "net%zu", i);
        m_ref(s, "network", sym);
        m_ref(s, "VM", "vm");
        m_str(s, "MAC", f->mac);
        m_int(s, "MTU", f->mtu ? f->mtu : 1500);
        m_str(s, "qos_algorithm_type", f->qos_type);
        m_map(s, "qos_algorithm_params", &f->qos_params);
        if (f->security_label)
            m_str(s, "security_label", f->security_label);
    }
    for (size_t i = 0; i < d->n_consoles; i++) {
        vmd_step *s = step(p, VMD_STEP_CREATE, "console.create", NULL);
        m_ref(s, "VM", "vm");
        m_str(s, "protocol", d->consoles[i].protocol);
        m_map(s, "other_config", &d->consoles[i].other_config);
    }
    for (size_t i = 0; i < d->n_pcis; i++) {
        const vmd_pci *c = &d->pcis[i];
        vmd_step *s = step(p, VMD_STEP_CREATE, "DPCI.create", NULL);
        m_ref(s, "VM", "vm");
        snprintf(sym, sizeof(sym), "ppci%zu", i);
        m_ref(s, "PPCI", sym);
        if (c->vslot >= 0)
            m_int(s, "hotplug_slot", c->vslot);
        m_map(s, "options", &c->opts);
        if (c->key)
            m_str(s, "key", c->key);
    }
    return true;
}

void vmd_plan_free(vmd_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        vmd_step *s = &p->v[i];
        free(s->method);
        free(s->bind);
        free(s->arg);
        free(s->unless);
        for (size_t j = 0; j < s->n_rec; j++) {
            free(s->rec[j].name);
            free(s->rec[j].s);
            vmd_map_free(&s->rec[j].map);
        }
        free(s->rec);
    }
    free(p->v);
    memset(p, 0, sizeof(*p));
}

/* A JSON-style double-quoted string. */
static void quote(xbuf *b, const char *s) { vmd_buf_quote(b, s, '"', VMD_QUOTE_JSON); }

char *vmd_plan_text(const vmd_plan *p)
{
    xbuf b = { 0 };
    for (size_t i = 0; i < p->n; i++) {
        const vmd_step *s = &p->v[i];
        switch (s->kind) {
        case VMD_STEP_DEFAULT_SR:
            xbuf_printf(&b, "%s = default_SR\n", s->bind);
            break;
        case VMD_STEP_FIND_VDI:
        case VMD_STEP_FIND_NETWORK:
        case VMD_STEP_FIND_PPCI:
            xbuf_printf(&b, "%s = %s ", s->bind,
                           s->kind == VMD_STEP_FIND_VDI ? "find_VDI location" :
                           s->kind == VMD_STEP_FIND_NETWORK ? "find_network" : "find_PPCI");
            if (s->arg)
                quote(&b, s->arg);
            else
                xbuf_puts(&b, "(any)");
            xbuf_puts(&b, "\n");
            break;
        case VMD_STEP_CREATE:
            if (s->bind)
                xbuf_printf(&b, "%s = ", s->bind);
            xbuf_puts(&b, s->method);
            if (s->unless)
                xbuf_printf(&b, " unless %s", s->unless);
            xbuf_puts(&b, "\n");
            for (size_t j = 0; j < s->n_rec; j++) {
                const vmd_member *m = &s->rec[j];
                xbuf_printf(&b, "    %s: ", m->name);
                switch (m->type) {
                case VMD_V_STRING:
                    quote(&b, m->s);
                    break;
                case VMD_V_INT:
                    xbuf_printf(&b, "%" PRId64, m->i);
                    break;
                case VMD_V_BOOL:
                    xbuf_puts(&b, m->b ? "true" : "false");
                    break;
                case VMD_V_REF:
                    xbuf_printf(&b, "$%s", m->s);
                    break;
                case VMD_V_MAP:
                    xbuf_puts(&b, "{");
                    for (size_t k = 0; k < m->map.n; k++) {
                        if (k)
                            xbuf_puts(&b, ", ");
                        quote(&b, m->map.v[k].key);
                        xbuf_puts(&b, ": ");
                        quote(&b, m->map.v[k].value);
                    }
                    xbuf_puts(&b, "}");
                    break;
                }
                xbuf_puts(&b, "\n");
            }
            break;
        }
    }
    return xbuf_steal(&b, NULL);
}
