/* vmd_xml: the XML format of xm's create.dtd (LEGACY §4), the native
 * format: parsed with libxml2 (no network, no DTD loading, no entity
 * declarations), validated against the RELAX NG grammar the project
 * installs (config/create.rng), then read into a description; and written.
 *
 * One <vm> per file.  <vscsi> is refused; a <vif network="N"> names a
 * <network name="N"> of the file (made by network.create) or an existing
 * network by name_label. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>

#include "config/vmd_internal.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
    xmlInitParser();
}

void vmd_lib_init(void)
{
    pthread_once(&once, init_once);
}

/* ---- errors -------------------------------------------------------------- */

typedef struct xerr_ctx {
    vmd_err *err;
    const char *file;
    bool set;
} xerr_ctx;

/* The first libxml2 error, with its line. */
static void on_error(void *data, xmlErrorPtr e)
{
    xerr_ctx *x = data;
    if (x->set || !e || e->level < XML_ERR_ERROR)
        return;
    x->set = true;
    char msg[400];
    snprintf(msg, sizeof(msg), "%s", e->message ? e->message : "XML error");
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    vmd_fail(x->err, x->file, e->line > 0 ? (unsigned)e->line : 0, "%s", msg);
}

/* ---- validation ---------------------------------------------------------- */

/* The compiled schema is kept for the next document (xm reads one; the
 * fuzzer and the tests read thousands); validations are serialised. */
static pthread_mutex_t schema_lock = PTHREAD_MUTEX_INITIALIZER;
static xmlRelaxNGPtr cached_rng;
static char *cached_path;

static bool validate(xmlDocPtr doc, const char *schema, xerr_ctx *x)
{
    pthread_mutex_lock(&schema_lock);
    if (!cached_path || strcmp(cached_path, schema) != 0) {
        xmlRelaxNGParserCtxtPtr pc = xmlRelaxNGNewParserCtxt(schema);
        if (!pc) {
            pthread_mutex_unlock(&schema_lock);
            return vmd_fail(x->err, schema, 0, "cannot read the schema");
        }
        xerr_ctx sx = { .err = x->err, .file = schema };
        xmlRelaxNGSetParserStructuredErrors(pc, on_error, &sx);
        xmlRelaxNGPtr rng = xmlRelaxNGParse(pc);
        xmlRelaxNGFreeParserCtxt(pc);
        if (!rng) {
            pthread_mutex_unlock(&schema_lock);
            if (!sx.set)
                vmd_fail(x->err, schema, 0, "the schema cannot be read (missing or not RELAX NG)");
            return false;
        }
        if (cached_rng)
            xmlRelaxNGFree(cached_rng);
        free(cached_path);
        cached_rng = rng;
        cached_path = vmd_xstrdup(schema);
    }
    xmlRelaxNGValidCtxtPtr vc = xmlRelaxNGNewValidCtxt(cached_rng);
    xmlRelaxNGSetValidStructuredErrors(vc, on_error, x);
    int r = xmlRelaxNGValidateDoc(vc, doc);
    xmlRelaxNGFreeValidCtxt(vc);
    pthread_mutex_unlock(&schema_lock);
    if (r != 0 && !x->set)
        vmd_fail(x->err, x->file, 0, "the document does not follow create.dtd");
    return r == 0;
}

/* ---- reading ------------------------------------------------------------- */

typedef struct xr {
    const char *file;
    vmd_err *err;
    vmd_diag *warn;
    xmlNodePtr vdis[VMD_MAX_DEVICES];
    size_t n_vdis;
    xmlNodePtr nets[VMD_MAX_DEVICES];
    size_t n_nets;
} xr;

static bool is(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0;
}

static unsigned lineof(xmlNodePtr n)
{
    long l = xmlGetLineNo(n);
    return l > 0 ? (unsigned)l : 0;
}

/* An attribute (malloc'd; NULL when absent). */
static char *attr(xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST name);
    if (!v)
        return NULL;
    char *s = vmd_xstrdup((const char *)v);
    xmlFree(v);
    return s;
}

/* A required attribute into *out (which is NULL or an earlier value: an
 * element given twice replaces it). */
static bool need(xr *r, xmlNodePtr n, const char *name, char **out)
{
    free(*out);
    *out = attr(n, name);
    if (!*out)
        return vmd_fail(r->err, r->file, lineof(n), "<%s> needs the attribute %s", n->name, name);
    return true;
}

static char *text(xmlNodePtr n)
{
    xmlChar *v = xmlNodeGetContent(n);
    char *s = vmd_xstrdup(v ? (const char *)v : "");
    xmlFree(v);
    return s;
}

static bool get_int(xr *r, xmlNodePtr n, const char *name, int64_t lo, int64_t hi, int base,
                    int64_t *out)
{
    char *v = NULL;
    if (!need(r, n, name, &v))
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, base);
    bool ok = *v && !*end && !errno && x >= lo && x <= hi;
    if (!ok)
        vmd_fail(r->err, r->file, lineof(n), "<%s %s=\"%s\">: expected an integer %" PRId64
                 "..%" PRId64, n->name, name, v, lo, hi);
    else
        *out = x;
    free(v);
    return ok;
}

static bool truth(const char *v)
{
    return v && (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "1"));
}

/* <TAG key=".." value=".."/> children of n into m. */
static bool kv_children(xr *r, xmlNodePtr n, const char *tag, vmd_map *m)
{
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (!is(c, tag))
            continue;
        char *k = NULL, *v = NULL;
        if (!need(r, c, "key", &k))
            return false;
        if (!need(r, c, "value", &v)) {
            free(k);
            return false;
        }
        vmd_map_set(m, k, v);
        free(k);
        free(v);
    }
    return true;
}

static xmlNodePtr find_vdi(xr *r, const char *id)
{
    for (size_t i = 0; i < r->n_vdis; i++) {
        char *n = attr(r->vdis[i], "name");
        bool m = n && !strcmp(n, id);
        free(n);
        if (m)
            return r->vdis[i];
    }
    return NULL;
}

/* <name><label>..</label><description>..</description></name> (the last
 * one counts; the schema allows one). */
static void name_of(xmlNodePtr n, char **label, char **desc)
{
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (is(c, "name"))
            for (xmlNodePtr k = c->children; k; k = k->next) {
                if (is(k, "label") && label) {
                    free(*label);
                    *label = text(k);
                } else if (is(k, "description") && desc) {
                    free(*desc);
                    *desc = text(k);
                }
            }
}

static bool read_vbd(xr *r, xmlNodePtr n, vmd_disk *k)
{
    char *mode = NULL, *vdi = NULL, *type = NULL, *boot = NULL;
    bool ok = need(r, n, "mode", &mode) && need(r, n, "vdi", &vdi) &&
              need(r, n, "device", &k->dev) && need(r, n, "type", &type) &&
              need(r, n, "bootable", &boot);
    xmlNodePtr v = ok ? find_vdi(r, vdi) : NULL;
    if (ok && !v)
        ok = vmd_fail(r->err, r->file, lineof(n), "<vbd vdi=\"%s\">: no <vdi name=\"%s\">", vdi, vdi);
    if (ok && strcmp(mode, "RO") && strcmp(mode, "RW"))
        ok = vmd_fail(r->err, r->file, lineof(n), "<vbd mode=\"%s\">: RO or RW", mode);
    if (ok && strcmp(type, "CD") && strcmp(type, "disk") && strcmp(type, "Disk"))
        ok = vmd_fail(r->err, r->file, lineof(n), "<vbd type=\"%s\">: CD or disk", type);
    if (ok) {
        k->writable = !strcmp(mode, "RW");
        k->cdrom = !strcmp(type, "CD");
        k->bootable = truth(boot);
        k->qos_type = attr(n, "qos_algorithm_type");
        ok = kv_children(r, n, "qos_algorithm_param", &k->qos_params);
    }
    if (ok) {
        char *sh = NULL, *size = NULL;
        ok = need(r, v, "src", &k->uname) && need(r, v, "type", &k->vdi_type) &&
             need(r, v, "sharable", &sh) && need(r, v, "size", &size);
        if (ok) {
            k->sharable = truth(sh);
            char *end;
            errno = 0;
            long long sz = strtoll(size, &end, 10);
            if (!*size || *end || errno || sz < -1)
                ok = vmd_fail(r->err, r->file, lineof(v), "<vdi size=\"%s\">: bytes, or -1", size);
            k->size = sz;
            name_of(v, &k->vdi_label, NULL);
            /* canonical: NULL when it is the uname (what the writers write) */
            if (k->vdi_label && (!*k->vdi_label || !strcmp(k->vdi_label, k->uname))) {
                free(k->vdi_label);
                k->vdi_label = NULL;
            }
        }
        free(sh);
        free(size);
    }
    free(mode);
    free(vdi);
    free(type);
    free(boot);
    return ok;
}

static bool read_vif(xr *r, xmlNodePtr n, vmd_vif *f)
{
    char *mac = NULL, *mtu = NULL;
    bool ok = need(r, n, "mac", &mac) && need(r, n, "mtu", &mtu) &&
              need(r, n, "device", &f->device);
    if (ok && *mac)
        f->mac = vmd_xstrdup(mac);
    if (ok && *mtu) {
        char *end;
        long x = strtol(mtu, &end, 10);
        if (*end || x < 68 || x > 65535)
            ok = vmd_fail(r->err, r->file, lineof(n), "<vif mtu=\"%s\">: 68..65535 or empty", mtu);
        f->mtu = x;
    }
    if (ok) {
        f->bridge = attr(n, "network");
        for (size_t i = 0; f->bridge && i < r->n_nets; i++) {
            char *id = attr(r->nets[i], "name");
            if (id && !strcmp(id, f->bridge)) {     /* a network of this file */
                char *label = NULL;
                name_of(r->nets[i], &label, NULL);
                free(f->bridge);
                f->bridge = label ? label : vmd_xstrdup(id);
            }
            free(id);
        }
        f->security_label = attr(n, "security_label");
        f->qos_type = attr(n, "qos_algorithm_type");
        ok = kv_children(r, n, "qos_algorithm_param", &f->qos_params);
    }
    free(mac);
    free(mtu);
    return ok;
}

static bool read_pci(xr *r, xmlNodePtr n, vmd_pci *p)
{
    int64_t d, b, s, f;
    if (!get_int(r, n, "domain", 0, 0xffff, 16, &d) || !get_int(r, n, "bus", 0, 0xff, 16, &b) ||
        !get_int(r, n, "slot", 0, 0x1f, 16, &s) || !get_int(r, n, "func", 0, 7, 16, &f))
        return false;
    p->domain = (unsigned)d, p->bus = (unsigned)b, p->slot = (unsigned)s, p->func = (unsigned)f;
    p->vslot = -1;
    char *vd = attr(n, "vdevfn");
    if (vd) {
        free(vd);
        int64_t x;
        if (!get_int(r, n, "vdevfn", 0, 0xff, 16, &x))
            return false;
        p->vslot = (int)(x >> 3);
    }
    p->key = attr(n, "key");
    return kv_children(r, n, "pci_opt", &p->opts);
}

static bool read_network(xr *r, xmlNodePtr n, vmdesc *d)
{
    vmd_network *w = vmd_push(&d->networks, &d->n_networks, sizeof(*d->networks));
    char *id = NULL;
    bool ok = need(r, n, "name", &id) && need(r, n, "default_gateway", &w->gateway) &&
              need(r, n, "default_netmask", &w->netmask) &&
              kv_children(r, n, "other_config", &w->other_config);
    if (ok) {
        name_of(n, &w->label, &w->description);
        if (!w->label || !*w->label) {      /* the label names it; else its id */
            free(w->label);
            w->label = vmd_xstrdup(id);
        }
        if (w->description && !*w->description) {
            free(w->description);
            w->description = NULL;
        }
    }
    free(id);
    return ok;
}

static bool count_ok(xr *r, xmlNodePtr n, size_t have)
{
    if (have >= VMD_MAX_DEVICES)
        return vmd_fail(r->err, r->file, lineof(n), "more than %d <%s> elements", VMD_MAX_DEVICES,
                        n->name);
    return true;
}

static bool read_vm(xr *r, xmlNodePtr vm, vmdesc *d)
{
    char *v = NULL;
    bool ok = true;
    int64_t x;
    v = attr(vm, "is_a_template");
    d->is_a_template = truth(v);
    free(v);
    v = attr(vm, "auto_power_on");
    d->auto_power_on = truth(v);
    free(v);
    if (ok && (ok = get_int(r, vm, "vcpus_max", 1, 512, 10, &x)))
        d->vcpus_max = x;
    if (ok && (ok = get_int(r, vm, "vcpus_at_startup", 1, 512, 10, &x)))
        d->vcpus_at_startup = x;
    if (ok && (ok = get_int(r, vm, "s3_integrity", 0, 1, 10, &x)))
        d->s3_integrity = x;
    if (ok && (ok = get_int(r, vm, "superpages", 0, 1, 10, &x)))
        d->superpages = x;
    ok = ok && need(r, vm, "actions_after_shutdown", &d->on_shutdown) &&
         need(r, vm, "actions_after_reboot", &d->on_reboot) &&
         need(r, vm, "actions_after_crash", &d->on_crash) &&
         need(r, vm, "pool_name", &d->pool_name) && need(r, vm, "PCI_bus", &d->pci_bus);
    if (ok)
        d->security_label = attr(vm, "security_label");
    bool have_boot = false, have_mem = false;
    for (xmlNodePtr c = vm->children; c && ok; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is(c, "name")) {
            name_of(vm, &d->name, &d->description);
        } else if (is(c, "version")) {
            char *t = text(c), *end;
            errno = 0;
            long long uv = strtoll(t, &end, 10);
            if (!*t || *end || errno)
                ok = vmd_fail(r->err, r->file, lineof(c), "<version>%s</version>: an integer", t);
            d->user_version = uv;
            free(t);
        } else if (is(c, "pv")) {
            have_boot = true;
            ok = need(r, c, "kernel", &d->kernel) && need(r, c, "bootloader", &d->bootloader) &&
                 need(r, c, "ramdisk", &d->ramdisk) && need(r, c, "args", &d->args) &&
                 need(r, c, "bootloader_args", &d->bootloader_args);
        } else if (is(c, "hvm")) {
            have_boot = true;
            ok = need(r, c, "boot_policy", &d->hvm_boot_policy) &&
                 kv_children(r, c, "boot_param", &d->hvm_boot_params);
        } else if (is(c, "memory")) {
            have_mem = true;
            const int64_t max = (int64_t)1 << 50;
            ok = get_int(r, c, "static_min", 0, max, 10, &d->mem_static_min) &&
                 get_int(r, c, "static_max", 1, max, 10, &d->mem_static_max) &&
                 get_int(r, c, "dynamic_min", 1, max, 10, &d->mem_dynamic_min) &&
                 get_int(r, c, "dynamic_max", 1, max, 10, &d->mem_dynamic_max);
        } else if (is(c, "vbd")) {
            ok = count_ok(r, c, d->n_disks) &&
                 read_vbd(r, c, vmd_push(&d->disks, &d->n_disks, sizeof(*d->disks)));
        } else if (is(c, "vif")) {
            ok = count_ok(r, c, d->n_vifs) &&
                 read_vif(r, c, vmd_push(&d->vifs, &d->n_vifs, sizeof(*d->vifs)));
        } else if (is(c, "pci")) {
            ok = count_ok(r, c, d->n_pcis) &&
                 read_pci(r, c, vmd_push(&d->pcis, &d->n_pcis, sizeof(*d->pcis)));
        } else if (is(c, "console")) {
            if ((ok = count_ok(r, c, d->n_consoles))) {
                vmd_console *k = vmd_push(&d->consoles, &d->n_consoles, sizeof(*d->consoles));
                ok = need(r, c, "protocol", &k->protocol) &&
                     kv_children(r, c, "other_config", &k->other_config);
            }
        } else if (is(c, "platform") || is(c, "vcpu_param") || is(c, "other_config")) {
            char *k = NULL, *val = NULL;
            if ((ok = need(r, c, "key", &k))) {
                if ((ok = need(r, c, "value", &val))) {
                    vmd_map_set(is(c, "platform") ? &d->platform :
                                is(c, "vcpu_param") ? &d->vcpu_params : &d->other_config, k, val);
                    free(val);
                }
                free(k);
            }
        } else if (is(c, "vscsi")) {
            ok = vmd_fail(r->err, r->file, lineof(c), "<vscsi> is not supported");
        } else {
            ok = vmd_fail(r->err, r->file, lineof(c), "unexpected element <%s> in <vm>", c->name);
        }
    }
    if (ok && (!d->name || !*d->name))
        ok = vmd_fail(r->err, r->file, lineof(vm), "<vm> needs <name><label>NAME</label>...");
    if (ok && !have_boot)
        ok = vmd_fail(r->err, r->file, lineof(vm), "<vm> needs <pv .../> or <hvm ...>");
    if (ok && !have_mem)
        ok = vmd_fail(r->err, r->file, lineof(vm), "<vm> needs <memory .../>");
    if (ok && d->description && !*d->description) {
        free(d->description);
        d->description = NULL;
    }
    return ok;
}

bool vmd_xml_parse(const char *buf, size_t len, const vmd_parse_opts *o, vmdesc *d, vmd_err *err)
{
    const char *file = o && o->filename ? o->filename : "<string>";
    xerr_ctx x = { .err = err, .file = file };
    if (len > INT32_MAX)
        return vmd_fail(err, file, 0, "the file is too large");
    xmlParserCtxtPtr ctx = xmlNewParserCtxt();
    if (!ctx)
        return vmd_fail(err, file, 0, "out of memory");
    /* NOERROR/NOWARNING: nothing printed; the error stays in the context */
    xmlDocPtr doc = xmlCtxtReadMemory(ctx, buf, (int)len, file, NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    bool ok = doc != NULL;
    if (!ok) {
        on_error(&x, xmlCtxtGetLastError(ctx));
        if (!x.set)
            vmd_fail(err, file, 0, "not well-formed XML");
    }
    xmlFreeParserCtxt(ctx);
    if (ok && doc->intSubset && (doc->intSubset->entities || doc->intSubset->pentities))
        ok = vmd_fail(err, file, 0, "entity declarations are not accepted");
    xmlNodePtr root = ok ? xmlDocGetRootElement(doc) : NULL;
    if (ok && (!root || !is(root, "xm")))
        ok = vmd_fail(err, file, root ? lineof(root) : 0, "the root element must be <xm>");
    xr r = { .file = file, .err = err, .warn = o ? o->warnings : NULL };
    xmlNodePtr vm = NULL;
    for (xmlNodePtr c = ok ? root->children : NULL; c && ok; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is(c, "vm")) {
            if (vm)
                ok = vmd_fail(err, file, lineof(c), "a second <vm>: one VM per file");
            vm = c;
        } else if (is(c, "vdi")) {
            if ((ok = count_ok(&r, c, r.n_vdis)))
                r.vdis[r.n_vdis++] = c;
        } else if (is(c, "network")) {
            if ((ok = count_ok(&r, c, r.n_nets)))
                r.nets[r.n_nets++] = c;
        } else {
            ok = vmd_fail(err, file, lineof(c), "unexpected element <%s> in <xm>", c->name);
        }
    }
    if (ok && !vm)
        ok = vmd_fail(err, file, lineof(root), "no <vm> in the file");
    for (size_t i = 0; ok && i < r.n_nets; i++)
        ok = read_network(&r, r.nets[i], d);
    if (ok)
        ok = read_vm(&r, vm, d);
    /* the schema after the reader, whose messages are more precise */
    if (ok && !(o && o->skip_validation)) {
        const char *schema = o && o->schema ? o->schema : vmd_schema_path();
        ok = validate(doc, schema, &x);
    }
    if (doc)
        xmlFreeDoc(doc);
    return ok;
}

/* ---- writing ------------------------------------------------------------- */

static void esc(xbuf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '&': xbuf_puts(b, "&amp;"); break;
        case '<': xbuf_puts(b, "&lt;"); break;
        case '>': xbuf_puts(b, "&gt;"); break;
        case '"': xbuf_puts(b, "&quot;"); break;
        case '\n': xbuf_puts(b, "&#10;"); break;
        case '\r': xbuf_puts(b, "&#13;"); break;
        case '\t': xbuf_puts(b, "&#9;"); break;
        default:
            if (*p < 0x20)      /* not representable in XML 1.0 (xml_losses warns) */
                xbuf_puts(b, "\xef\xbf\xbd");
            else
                xbuf_add(b, (const char *)p, 1);
        }
    }
}

static void a(xbuf *b, const char *name, const char *v)
{
    xbuf_printf(b, " %s=\"", name);
    esc(b, v);
    xbuf_puts(b, "\"");
}

static void kvs(xbuf *b, const char *ind, const char *tag, const vmd_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        xbuf_printf(b, "%s<%s", ind, tag);
        a(b, "key", m->v[i].key);
        a(b, "value", m->v[i].value);
        xbuf_puts(b, "/>\n");
    }
}

static bool has_ctl(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t' && *s != '\r')
            return true;
    return false;
}

/* What create.dtd has no place for. */
static void xml_losses(const vmdesc *d, vmd_diag *w)
{
    const char *F = "output";
    if (d->uuid)
        vmd_warn(w, F, 0, "uuid %s: create.dtd has no uuid (the server makes one)", d->uuid);
    const char *pv[] = { d->kernel, d->ramdisk, d->args, d->bootloader, d->bootloader_args };
    for (int i = 0; d->hvm_boot_policy && i < 5; i++)
        if (pv[i] && *pv[i])
            vmd_warn(w, F, 0, "an HVM guest's kernel, ramdisk, args and bootloader have no "
                     "place in create.dtd's <hvm>");
    for (size_t i = 0; i < d->n_disks; i++) {
        const vmd_disk *k = &d->disks[i];
        if (k->backend || k->protocol)
            vmd_warn(w, F, 0, "disk %s: backend/protocol have no place in create.dtd", k->dev);
    }
    for (size_t i = 0; i < d->n_vifs; i++)
        for (size_t j = 0; j < d->vifs[i].legacy.n; j++)
            vmd_warn(w, F, 0, "vif %zu: %s=%s has no place in create.dtd", i,
                     d->vifs[i].legacy.v[j].key, d->vifs[i].legacy.v[j].value);
    /* XML 1.0 cannot hold control characters other than TAB, LF, CR */
    const char *strs[] = { d->name, d->description, d->kernel, d->ramdisk, d->args,
                           d->bootloader, d->bootloader_args, d->pool_name, d->security_label };
    const vmd_map *maps[] = { &d->platform, &d->other_config, &d->vcpu_params,
                              &d->hvm_boot_params };
    bool bad = false;
    for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++)
        bad |= has_ctl(strs[i]);
    for (size_t i = 0; i < sizeof(maps) / sizeof(*maps); i++)
        for (size_t j = 0; j < maps[i]->n; j++)
            bad |= has_ctl(maps[i]->v[j].key) || has_ctl(maps[i]->v[j].value);
    for (size_t i = 0; i < d->n_disks; i++)
        bad |= has_ctl(d->disks[i].uname) || has_ctl(d->disks[i].vdi_label);
    if (bad)
        vmd_warn(w, F, 0, "a control character cannot be written in XML 1.0 (written as U+FFFD)");
}

/* Ends an element of the 4-space level: its <TAG key value/> children, or
 * "/>" when there are none. */
static void close_kvs(xbuf *b, const char *el, const char *tag, const vmd_map *m)
{
    if (!m->n) {
        xbuf_puts(b, "/>\n");
        return;
    }
    xbuf_puts(b, ">\n");
    kvs(b, "      ", tag, m);
    xbuf_printf(b, "    </%s>\n", el);
}

char *vmd_xml_write(const vmdesc *d, vmd_diag *warn)
{
    xml_losses(d, warn);
    xbuf b = { 0 };
    char n[64];
    xbuf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<!DOCTYPE xm SYSTEM \"create.dtd\">\n<xm>\n  <vm");
    a(&b, "is_a_template", d->is_a_template ? "true" : "false");
    a(&b, "auto_power_on", d->auto_power_on ? "true" : "false");
    snprintf(n, sizeof(n), "%" PRId64, d->s3_integrity < 0 ? 1 : d->s3_integrity);
    a(&b, "s3_integrity", n);
    snprintf(n, sizeof(n), "%" PRId64, d->vcpus_max);
    a(&b, "vcpus_max", n);
    snprintf(n, sizeof(n), "%" PRId64, d->vcpus_at_startup);
    a(&b, "vcpus_at_startup", n);
    a(&b, "pool_name", d->pool_name ? d->pool_name : "Pool-0");
    a(&b, "actions_after_shutdown", d->on_shutdown);
    a(&b, "actions_after_reboot", d->on_reboot);
    a(&b, "actions_after_crash", d->on_crash);
    a(&b, "PCI_bus", d->pci_bus);
    snprintf(n, sizeof(n), "%" PRId64, d->superpages < 0 ? 0 : d->superpages);
    a(&b, "superpages", n);
    if (d->security_label)
        a(&b, "security_label", d->security_label);
    xbuf_puts(&b, ">\n    <name>\n      <label>");
    esc(&b, d->name);
    xbuf_puts(&b, "</label>\n      <description>");
    esc(&b, d->description);
    xbuf_printf(&b, "</description>\n    </name>\n    <version>%" PRId64 "</version>\n",
                   d->user_version);
    if (d->hvm_boot_policy) {
        xbuf_puts(&b, "    <hvm");
        a(&b, "boot_policy", d->hvm_boot_policy);
        close_kvs(&b, "hvm", "boot_param", &d->hvm_boot_params);
    } else {
        xbuf_puts(&b, "    <pv");
        a(&b, "kernel", d->kernel);
        a(&b, "bootloader", d->bootloader);
        a(&b, "ramdisk", d->ramdisk);
        a(&b, "args", d->args);
        a(&b, "bootloader_args", d->bootloader_args);
        xbuf_puts(&b, "/>\n");
    }
    xbuf_printf(&b, "    <memory static_min=\"%" PRId64 "\" static_max=\"%" PRId64
                   "\" dynamic_min=\"%" PRId64 "\" dynamic_max=\"%" PRId64 "\"/>\n",
                   d->mem_static_min, d->mem_static_max, d->mem_dynamic_min, d->mem_dynamic_max);
    for (size_t i = 0; i < d->n_disks; i++) {
        const vmd_disk *k = &d->disks[i];
        xbuf_printf(&b, "    <vbd name=\"vbd%zu\" mode=\"%s\" vdi=\"vdi%zu\"", i,
                       k->writable ? "RW" : "RO", i);
        a(&b, "device", k->dev);
        a(&b, "bootable", k->bootable ? "1" : "0");
        a(&b, "type", k->cdrom ? "CD" : "disk");
        a(&b, "qos_algorithm_type", k->qos_type);
        close_kvs(&b, "vbd", "qos_algorithm_param", &k->qos_params);
    }
    for (size_t i = 0; i < d->n_vifs; i++) {
        const vmd_vif *f = &d->vifs[i];
        xbuf_printf(&b, "    <vif name=\"vif%zu\"", i);
        a(&b, "mac", f->mac);
        if (f->mtu)
            snprintf(n, sizeof(n), "%" PRId64, f->mtu);
        a(&b, "mtu", f->mtu ? n : "");
        snprintf(n, sizeof(n), "%zu", i);
        a(&b, "device", f->device ? f->device : n);
        a(&b, "qos_algorithm_type", f->qos_type);
        if (f->bridge) {
            long local = -1;
            for (size_t j = 0; j < d->n_networks; j++)
                if (!strcmp(d->networks[j].label, f->bridge))
                    local = (long)j;
            if (local >= 0)
                xbuf_printf(&b, " network=\"net%ld\"", local);
            else
                a(&b, "network", f->bridge);
        }
        if (f->security_label)
            a(&b, "security_label", f->security_label);
        close_kvs(&b, "vif", "qos_algorithm_param", &f->qos_params);
    }
    for (size_t i = 0; i < d->n_pcis; i++) {
        const vmd_pci *p = &d->pcis[i];
        xbuf_printf(&b, "    <pci domain=\"0x%04x\" bus=\"0x%02x\" slot=\"0x%02x\" "
                       "func=\"0x%x\"", p->domain, p->bus, p->slot, p->func);
        if (p->vslot >= 0)
            xbuf_printf(&b, " vdevfn=\"0x%02x\"", (unsigned)p->vslot << 3);
        if (p->key)
            a(&b, "key", p->key);
        close_kvs(&b, "pci", "pci_opt", &p->opts);
    }
    for (size_t i = 0; i < d->n_consoles; i++) {
        const vmd_console *k = &d->consoles[i];
        xbuf_puts(&b, "    <console");
        a(&b, "protocol", k->protocol);
        close_kvs(&b, "console", "other_config", &k->other_config);
    }
    kvs(&b, "    ", "platform", &d->platform);
    kvs(&b, "    ", "vcpu_param", &d->vcpu_params);
    kvs(&b, "    ", "other_config", &d->other_config);
    xbuf_puts(&b, "  </vm>\n");
    for (size_t i = 0; i < d->n_disks; i++) {
        const vmd_disk *k = &d->disks[i];
        xbuf_printf(&b, "  <vdi name=\"vdi%zu\"", i);
        a(&b, "src", k->uname);
        a(&b, "type", k->vdi_type ? k->vdi_type : "system");
        xbuf_printf(&b, " size=\"%" PRId64 "\"", k->size);
        a(&b, "sharable", k->sharable ? "True" : "False");
        a(&b, "read_only", k->writable ? "False" : "True");
        xbuf_puts(&b, ">\n    <name>\n      <label>");
        esc(&b, k->vdi_label ? k->vdi_label : k->uname);
        xbuf_puts(&b, "</label>\n      <description></description>\n    </name>\n  </vdi>\n");
    }
    for (size_t i = 0; i < d->n_networks; i++) {
        const vmd_network *w = &d->networks[i];
        xbuf_printf(&b, "  <network name=\"net%zu\"", i);
        a(&b, "default_gateway", w->gateway);
        a(&b, "default_netmask", w->netmask);
        xbuf_puts(&b, ">\n    <name>\n      <label>");
        esc(&b, w->label);
        xbuf_puts(&b, "</label>\n      <description>");
        esc(&b, w->description);
        xbuf_puts(&b, "</description>\n    </name>\n");
        kvs(&b, "    ", "other_config", &w->other_config);
        xbuf_puts(&b, "  </network>\n");
    }
    xbuf_puts(&b, "</xm>\n");
    return xbuf_steal(&b, NULL);
}
