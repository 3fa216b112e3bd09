/* persist_record: which classes persist and in which file, and the record
 * XML of a file (one object, or a VM with its devices): writing it from the
 * store and parsing it back (see docs/persistence.md). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "daemon/persist_int.h"
#include "util/log.h"

unsigned char persist_mode[XCL__COUNT];
int persist_vm_field[XCL__COUNT];          /* P_INVM: the device's VM field */
bool *persist_skip[XCL__COUNT];      /* fields never written (derived / runtime) */

/* The order files are loaded in: parents before children. */
const int persist_own_classes[] = { XCL_host, XCL_pool, XCL_network, XCL_PIF, XCL_SR, XCL_VDI, XCL_PBD,
                                   XCL_user, XCL_cpu_pool, XCL_VM };
const persist_dev_class persist_vm_devices[] = {
    { XCL_VBD, XF_VBD_VM }, { XCL_VIF, XF_VIF_VM }, { XCL_console, XF_console_VM },
    { XCL_VTPM, XF_VTPM_VM }, { XCL_DPCI, XF_DPCI_VM }, { XCL_DSCSI, XF_DSCSI_VM },
    { XCL_DSCSI_HBA, XF_DSCSI_HBA_VM }, { XCL_crashdump, XF_crashdump_VM },
};
/* VM's set field listing each device class (same order as persist_vm_devices). */
const int persist_vm_device_sets[] = { XF_VM_VBDs, XF_VM_VIFs, XF_VM_consoles, XF_VM_VTPMs,
                                      XF_VM_DPCIs, XF_VM_DSCSIs, XF_VM_DSCSI_HBAs,
                                      XF_VM_crash_dumps };
const size_t persist_n_own = sizeof(persist_own_classes) / sizeof(persist_own_classes[0]);
const size_t persist_n_dev = sizeof(persist_vm_devices) / sizeof(persist_vm_devices[0]);

void persist_classes_init(void)
{
    for (size_t i = 0; i < persist_n_own; i++)
        persist_mode[persist_own_classes[i]] = P_OWN;
    for (size_t i = 0; i < persist_n_dev; i++) {
        persist_mode[persist_vm_devices[i].cls] = P_INVM;
        persist_vm_field[persist_vm_devices[i].cls] = persist_vm_devices[i].field;
    }
    for (int c = 0; c < XCL__COUNT; c++) {
        if (!persist_mode[c])
            continue;
        const xclass_desc *d = &xclasses[c];
        persist_skip[c] = calloc((size_t)d->nfields + 1, sizeof(bool));
        if (!persist_skip[c])
            abort();
        if (d->uuid_field >= 0)
            persist_skip[c][d->uuid_field] = true;
        /* host and pool come from the backend; only what clients set is kept */
        if (c == XCL_host || c == XCL_pool)
            for (int f = 0; f < d->nfields; f++)
                if (d->fields[f].qual != XQ_RW)
                    persist_skip[c][f] = true;
    }
    /* sizes are read from the files at start-up and every tick */
    persist_skip[XCL_SR][XF_SR_virtual_allocation] = true;
    persist_skip[XCL_SR][XF_SR_physical_utilisation] = true;
    persist_skip[XCL_VDI][XF_VDI_physical_utilisation] = true;
    /* the parents' ref Sets are rebuilt from the children on load */
    for (size_t i = 0; i < xrelationships_count; i++) {
        const xrelationship *r = &xrelationships[i];
        if (persist_skip[r->parent_cls])
            persist_skip[r->parent_cls][r->parent_field] = true;
    }
}

bool persist_is_dom0(const xobj *vm)
{
    return xobj_bool(vm, XF_VM_is_control_domain) ||
           strcmp(vm->ref, "00000000-0000-0000-0000-000000000000") == 0;
}

bool persist_vm_is_transient(const xobj *vm)
{
    if (persist_is_dom0(vm))
        return true;
    const char *t = xobj_map_get(vm, XF_VM_other_config, PERSIST_TRANSIENT_KEY);
    return t && strcmp(t, "true") == 0;
}

/* ---- XML writing ---- */

static void put_attr(xbuf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '"': rep = "&quot;"; break;
        case '\t': rep = "&#9;"; break;
        case '\n': rep = "&#10;"; break;
        default: break;
        }
        if (rep) {
            xbuf_add_escaped(b, run, (size_t)(s - run));
            xbuf_puts(b, rep);
            run = s + 1;
        }
    }
    xbuf_add_escaped(b, run, (size_t)(s - run));
}

static void put_value(xbuf *b, const xv *v)
{
    switch (v->kind) {
    case XV_STRING:
    case XV_DATETIME:
    case XV_BASE64:
        xbuf_add_escaped(b, v->u.str.s, v->u.str.len);
        break;
    case XV_INT:
        xbuf_printf(b, "%" PRId64, v->u.i);
        break;
    case XV_DOUBLE:
        xbuf_printf(b, "%.17g", v->u.d);
        break;
    case XV_BOOL:
        xbuf_puts(b, v->u.b ? "true" : "false");
        break;
    case XV_ARRAY:
    case XV_STRUCT: {
        /* <item>v</item>..., or <entry key="k">v</entry>... */
        bool st = v->kind == XV_STRUCT;
        size_t n = st ? v->u.st.n : v->u.arr.n;
        for (size_t i = 0; i < n; i++) {
            if (st) {
                xbuf_puts(b, "<entry key=\"");
                put_attr(b, v->u.st.keys[i]);
                xbuf_puts(b, "\">");
            } else {
                xbuf_puts(b, "<item>");
            }
            put_value(b, st ? v->u.st.vals[i] : v->u.arr.items[i]);
            xbuf_puts(b, st ? "</entry>" : "</item>");
        }
        break;
    }
    case XV_NIL:
        break;
    }
}

static void put_object(xbuf *b, const xobj *o)
{
    const xclass_desc *c = &xclasses[o->cls];
    xbuf_printf(b, " <object class=\"%s\" uuid=\"%s\">\n", c->name, o->ref);
    for (int f = 0; f < c->nfields; f++) {
        if (persist_skip[o->cls][f])
            continue;
        xbuf_puts(b, "  <field name=\"");  /* no printf per field: this runs on every call */
        xbuf_puts(b, c->fields[f].name);
        xbuf_puts(b, "\">");
        put_value(b, o->f[f]);
        xbuf_puts(b, "</field>\n");
    }
    xbuf_puts(b, " </object>\n");
}

void persist_serialize(pitem *it)
{
    char cname[64];
    const char *slash = strchr(it->key, '/');
    size_t cl = slash ? (size_t)(slash - it->key) : 0;
    if (!slash || cl >= sizeof(cname))
        return;
    memcpy(cname, it->key, cl);
    cname[cl] = '\0';
    const xclass_desc *cd = xclass_by_name(cname);
    xobj *o = cd ? store_find(cd->id, slash + 1) : NULL;
    if (!o || (o->cls == XCL_VM && persist_vm_is_transient(o)))
        return;                 /* gone: remove the file */
    xbuf b;
    xbuf_init(&b);
    xbuf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<!-- xend record: see docs/persistence.md; do not edit while xend runs -->\n"
                  "<xend-record version=\"1\">\n");
    put_object(&b, o);
    if (o->cls == XCL_VM)
        for (size_t d = 0; d < persist_n_dev; d++) {
            const xv *set = o->f[persist_vm_device_sets[d]];
            for (size_t i = 0; i < set->u.arr.n; i++) {
                xobj *dev = store_find(persist_vm_devices[d].cls, set->u.arr.items[i]->u.str.s);
                if (dev)
                    put_object(&b, dev);
            }
        }
    xbuf_puts(&b, "</xend-record>\n");
    it->body = xbuf_steal(&b, &it->len);
}

char *persist_vm_xml(const xobj *vm, size_t *len_r)
{
    char key[XREF_LEN + 4];
    snprintf(key, sizeof(key), "VM/%s", vm->ref);
    pitem it = { .key = key };
    persist_serialize(&it);
    if (!it.body) {                 /* transient VMs are not written to files */
        xbuf b;
        xbuf_init(&b);
        xbuf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xend-record version=\"1\">\n");
        put_object(&b, vm);
        xbuf_puts(&b, "</xend-record>\n");
        it.body = xbuf_steal(&b, &it.len);
    }
    *len_r = it.len;
    return it.body;
}

/* ---- reading ---- */

static xv *read_value(xmlNode *n, const xtype *t)
{
    if (t->kind == XT_SET || t->kind == XT_MAP) {
        xv *r = t->kind == XT_SET ? xv_array() : xv_struct();
        for (xmlNode *c = n->children; c; c = c->next) {
            if (c->type != XML_ELEMENT_NODE)
                continue;
            if (t->kind == XT_SET && xmlStrcmp(c->name, BAD_CAST "item") == 0) {
                xv_array_add(r, read_value(c, t->elem));
            } else if (t->kind == XT_MAP && xmlStrcmp(c->name, BAD_CAST "entry") == 0) {
                xmlChar *k = xmlGetProp(c, BAD_CAST "key");
                if (!k) {
                    xv_free(r);
                    return NULL;
                }
                xv *ev = read_value(c, t->elem);
                if (!ev) {
                    xmlFree(k);
                    xv_free(r);
                    return NULL;
                }
                xv_struct_set(r, (const char *)k, ev);
                xmlFree(k);
            } else {
                xv_free(r);
                return NULL;
            }
        }
        return r;
    }
    xmlChar *s = xmlNodeGetContent(n);
    xv *r = xv_str(s ? (const char *)s : "");
    xmlFree(s);
    return r;
}

void persist_objlist_add(objlist *l, xobj *o)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->o = realloc(l->o, l->cap * sizeof(xobj *));
        if (!l->o)
            abort();
    }
    l->o[l->n++] = o;
}

/* Parse one file into objects (appended to own / devs); false: corrupt. */
bool persist_parse_file(const char *path, const char *buf, size_t len, int want_cls,
                       objlist *own, objlist *devs, char **why)
{
    xmlDoc *doc = xmlReadMemory(buf, (int)len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                    XML_PARSE_NOCDATA);
    size_t own0 = own->n, dev0 = devs->n;
    bool ok = false;
    *why = NULL;
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root || xmlStrcmp(root->name, BAD_CAST "xend-record") != 0) {
        *why = strdup(doc ? "not an xend record" : "not well-formed XML");
        goto out;
    }
    int nobj = 0;
    for (xmlNode *on = root->children; on; on = on->next) {
        if (on->type != XML_ELEMENT_NODE)
            continue;
        xmlChar *cn = xmlGetProp(on, BAD_CAST "class"), *un = xmlGetProp(on, BAD_CAST "uuid");
        const xclass_desc *cd = cn ? xclass_by_name((const char *)cn) : NULL;
        bool good = xmlStrcmp(on->name, BAD_CAST "object") == 0 && cd && persist_mode[cd->id] && un &&
                    xuuid_valid((const char *)un) &&
                    (nobj == 0 ? cd->id == want_cls : (want_cls == XCL_VM && persist_mode[cd->id] == P_INVM));
        if (!good) {
            if (asprintf(why, "unexpected object %s/%s", cn ? (const char *)cn : "?",
                         un ? (const char *)un : "?") < 0)
                *why = NULL;
            xmlFree(cn);
            xmlFree(un);
            goto out;
        }
        xobj *o = xobj_new(cd->id, (const char *)un);
        xmlFree(cn);
        xmlFree(un);
        (nobj == 0 ? persist_objlist_add(own, o) : persist_objlist_add(devs, o));
        nobj++;
        for (xmlNode *fn = on->children; fn; fn = fn->next) {
            if (fn->type != XML_ELEMENT_NODE)
                continue;
            xmlChar *name = xmlGetProp(fn, BAD_CAST "name");
            int f = -1;
            for (int i = 0; name && i < cd->nfields; i++)
                if (strcmp(cd->fields[i].name, (const char *)name) == 0)
                    f = i;
            if (f < 0 || persist_skip[cd->id][f]) {   /* a field this version does not keep */
                xmlFree(name);
                continue;
            }
            xv *v = read_value(fn, cd->fields[f].type);
            if (!v || !xtype_coerce(cd->fields[f].type, &v, (const char *)name, NULL)) {
                if (asprintf(why, "bad value of %s.%s", cd->name, (const char *)name) < 0)
                    *why = NULL;
                xv_free(v);
                xmlFree(name);
                goto out;
            }
            xmlFree(name);
            xv_free(o->f[f]);
            o->f[f] = v;
        }
    }
    if (nobj == 0) {
        *why = strdup("no object");
        goto out;
    }
    ok = true;
out:
    if (!ok) {
        for (size_t i = own0; i < own->n; i++)
            xobj_free(own->o[i]);
        for (size_t i = dev0; i < devs->n; i++)
            xobj_free(devs->o[i]);
        own->n = own0;
        devs->n = dev0;
        if (!*why)
            *why = strdup("unreadable");
    }
    xmlFreeDoc(doc);
    (void)path;
    return ok;
}

bool persist_vm_parse(const char *buf, size_t len, xobj ***objs_r, size_t *n_r, char **why_r)
{
    objlist own = { 0 }, devs = { 0 };
    if (!persist_parse_file("", buf, len, XCL_VM, &own, &devs, why_r)) {
        free(own.o);            /* emptied, but for the arrays */
        free(devs.o);
        return false;
    }
    for (size_t i = 0; i < devs.n; i++)
        persist_objlist_add(&own, devs.o[i]);
    free(devs.o);
    *objs_r = own.o;
    *n_r = own.n;
    return true;
}
