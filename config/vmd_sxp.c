/* vmd_sxp: SXP domain configurations (LEGACY §2): the reader (xend's
 * sxp.py grammar), the mapping of (vm ...) to the legacy settings, and the
 * writer (xend's pretty printer, 80 columns).
 *
 * Deliberate differences from xend's reader: an unknown string escape and
 * a \x without two hex digits are errors (xend dropped or swallowed
 * characters); bytes >= 0x80 are accepted in atoms and strings (UTF-8). */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/vmd_internal.h"

/* ---- reader -------------------------------------------------------------- */

typedef struct sreader {
    const char *p, *end;
    unsigned line;
    const char *file;
    size_t items;
    vmd_err *err;
} sreader;

static bool is_sep(char c)
{
    return strchr("{}()<>[];", c) != NULL && c != '\0';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

#define sfail(R, line, ...) vmd_fail((R)->err, (R)->file, (line), __VA_ARGS__)

static bool printable(unsigned char c)
{
    return (c >= 0x20 && c < 0x7f) || c >= 0x80;
}

/* Skips blanks and comments; false at the end of the input. */
static bool skip(sreader *R)
{
    while (R->p < R->end) {
        char c = *R->p;
        if (c == '\x04') {          /* control-D ends the input */
            R->end = R->p;
            return false;
        }
        if (is_space(c)) {
            if (c == '\n')
                R->line++;
            R->p++;
        } else if (c == '#') {
            while (R->p < R->end && *R->p != '\n')
                R->p++;
        } else {
            return true;
        }
    }
    return false;
}

static bool read_string(sreader *R, lval *out)
{
    char q = *R->p++;
    unsigned start = R->line;
    xbuf b = { 0 };
    for (;;) {
        if (R->p >= R->end || *R->p == '\x04') {
            xbuf_free(&b);
            return sfail(R, start, "unexpected end of input in a string");
        }
        char c = *R->p++;
        if (c == q)
            break;
        if (c == '\n')
            R->line++;
        if (b.len >= VMD_MAX_STRING) {
            xbuf_free(&b);
            return sfail(R, start, "a string longer than %d bytes", VMD_MAX_STRING);
        }
        if (c != '\\') {
            xbuf_add(&b, &c, 1);
            continue;
        }
        if (R->p >= R->end) {
            xbuf_free(&b);
            return sfail(R, start, "unexpected end of input in a string");
        }
        char o;
        const char *why;
        int r = vmd_unescape(&R->p, R->end, &o, &why);
        if (r <= 0) {
            xbuf_free(&b);
            if (r == 0)
                return sfail(R, R->line, "unknown escape '\\%c' in a string", *R->p);
            return sfail(R, R->line, "%s", why);
        }
        xbuf_add(&b, &o, 1);
    }
    if (b.len && (vmd_utf8_valid((const unsigned char *)b.data, b.len) != b.len || !vmd_text_ok(b.data))) {
        xbuf_free(&b);
        return sfail(R, start, "the string is not UTF-8 text once its escapes are decoded "
                     "(control characters other than TAB, LF, CR are refused)");
    }
    *out = (lval){ .t = LV_STR, .s = xbuf_steal(&b, NULL), .line = start };
    return true;
}

static bool read_value(sreader *R, lval *out, unsigned depth)
{
    if (++R->items > VMD_MAX_ITEMS)
        return sfail(R, R->line, "more than %d values", VMD_MAX_ITEMS);
    char c = *R->p;
    if (c == '(') {
        if (depth >= VMD_MAX_DEPTH)
            return sfail(R, R->line, "lists nested deeper than %d", VMD_MAX_DEPTH);
        unsigned start = R->line;
        R->p++;
        *out = lval_list(start);
        for (;;) {
            if (!skip(R)) {
                lval_free(out);
                return sfail(R, start, "unexpected end of input: a list is not closed");
            }
            if (*R->p == ')') {
                R->p++;
                return true;
            }
            lval x;
            if (!read_value(R, &x, depth + 1)) {
                lval_free(out);
                return false;
            }
            lval_push(out, x);
        }
    }
    if (c == ')')
        return sfail(R, R->line, "syntax error: ')' without its '('");
    if (c == '"' || c == '\'')
        return read_string(R, out);
    if (!printable((unsigned char)c))
        return sfail(R, R->line, "invalid character: code %u", (unsigned char)c);
    const char *s = R->p++;
    while (R->p < R->end && !is_space(*R->p) && *R->p != '#' && !is_sep(*R->p)) {
        if (!printable((unsigned char)*R->p))
            return sfail(R, R->line, "invalid character: code %u", (unsigned char)*R->p);
        R->p++;
    }
    if ((size_t)(R->p - s) > VMD_MAX_STRING)
        return sfail(R, R->line, "an atom longer than %d bytes", VMD_MAX_STRING);
    char *a = vmd_xstrndup(s, (size_t)(R->p - s));
    *out = (lval){ .t = LV_STR, .s = a, .line = R->line };
    return true;
}

/* ---- (vm ...) -> settings ------------------------------------------------- */

typedef struct sctx {
    lconf *c;
    const char *file;
    vmd_err *err;
    vmd_diag *warn;
} sctx;

static const char *head(const lval *v)
{
    return v->t == LV_LIST && v->n && v->items[0].t == LV_STR ? v->items[0].s : NULL;
}

/* Keys of xend's domain *info* SXP (xm list -l): state, not configuration. */
static bool info_key(const char *k)
{
    static const char *const keys[] = { "domid", "state", "status", "cpu_time", "online_vcpus",
                                        "up_time", "start_time", "store_mfn", "console_mfn",
                                        "shutdown_reason", "memory_dynamic_min",
                                        "memory_dynamic_max", "change_home_server",
                                        "security_label", "notes", "vcpu_avail_live", NULL };
    for (int i = 0; keys[i]; i++)
        if (strcmp(k, keys[i]) == 0)
            return true;
    return false;
}

/* (key value) -> the setting key = value (first occurrence wins). */
static void scalar(sctx *x, const char *name, const lval *e)
{
    if (lconf_get(x->c, name)) {
        vmd_warn(x->warn, x->file, e->line, "(%s ...) given again; the first one counts", name);
        return;
    }
    lval v;
    if (e->n == 1)
        v = lval_str("", e->line);          /* (kernel ) as xend 3.0.3 printed '' */
    else if (e->n == 2)
        v = lval_copy(&e->items[1]);
    else {
        v = lval_list(e->line);
        for (size_t i = 1; i < e->n; i++)
            lval_push(&v, lval_copy(&e->items[i]));
    }
    lconf_set(x->c, name, v, e->line, false);
}

/* Appends item to the list setting name. */
static void append(sctx *x, const char *name, lval item, unsigned line)
{
    const lsetting *s = lconf_get(x->c, name);
    if (!s) {
        lconf_set(x->c, name, lval_list(line), line, false);
        s = lconf_get(x->c, name);
    }
    lval_push(&((lsetting *)s)->v, item);
}

/* (class (k v) (k v)) -> a list of (k v) pairs (the device's fields). */
static bool pairs(sctx *x, const lval *dev, lval *out)
{
    *out = lval_list(dev->line);
    for (size_t i = 1; i < dev->n; i++) {
        const lval *p = &dev->items[i];
        if (p->t != LV_LIST || p->n < 1 || p->n > 2 || p->items[0].t != LV_STR ||
            (p->n == 2 && p->items[1].t != LV_STR)) {
            lval_free(out);
            return vmd_fail(x->err, x->file, p->line, "(%s ...): expected (key value) entries",
                            head(dev));
        }
        lval pr = lval_list(p->line);
        lval_push(&pr, lval_copy(&p->items[0]));
        lval_push(&pr, p->n == 2 ? lval_copy(&p->items[1]) : lval_str("", p->line));
        lval_push(out, pr);
    }
    return true;
}

static const char *pair_get(const lval *dev, const char *k)
{
    for (size_t i = 1; i < dev->n; i++) {
        const lval *p = &dev->items[i];
        if (p->t == LV_LIST && p->n == 2 && p->items[0].t == LV_STR &&
            p->items[1].t == LV_STR && strcmp(p->items[0].s, k) == 0)
            return p->items[1].s;
    }
    return NULL;
}

static bool hexfield(const char *v, unsigned *out)
{
    if (!v)
        return false;
    char *e;
    unsigned long x = strtoul(v, &e, 16);
    if (e == v || *e || x > 0xffff)
        return false;
    *out = (unsigned)x;
    return true;
}

/* (pci (dev (domain 0x0) (bus 0x0) (slot 0x1d) (func 0x0) [(vdevfn ..)]
 * [(key ..)] [(opts (k v)...)]) ...) -> "DDDD:BB:SS.F[@VS][,k=v]" items. */
static bool pci_dev(sctx *x, const lval *dev)
{
    for (size_t i = 1; i < dev->n; i++) {
        const lval *d = &dev->items[i];
        const char *h = head(d);
        if (!h || strcmp(h, "dev") != 0)
            continue;
        unsigned dom, bus, slot, func, vdf;
        if (!hexfield(pair_get(d, "domain"), &dom) || !hexfield(pair_get(d, "bus"), &bus) ||
            !hexfield(pair_get(d, "slot"), &slot) || !hexfield(pair_get(d, "func"), &func))
            return vmd_fail(x->err, x->file, d->line, "(pci (dev ...)): domain, bus, slot and "
                            "func are needed, in hex");
        xbuf b = { 0 };
        xbuf_printf(&b, "%04x:%02x:%02x.%x", dom, bus, slot, func);
        const char *vd = pair_get(d, "vdevfn");
        if (vd && hexfield(vd, &vdf) && vdf != 0x100)   /* 0x100: AUTO_PHP_SLOT */
            xbuf_printf(&b, "@%02x", vdf >> 3);
        const char *key = pair_get(d, "key");
        if (key && strpbrk(key, ",=")) {
            xbuf_free(&b);
            return vmd_fail(x->err, x->file, d->line, "(pci (dev (key %s))): ',' and '=' "
                            "are not allowed", key);
        }
        if (key)
            xbuf_printf(&b, ",key=%s", key);
        for (size_t j = 1; j < d->n; j++) {
            const lval *o = &d->items[j];
            if (!head(o) || strcmp(head(o), "opts") != 0)
                continue;
            for (size_t k = 1; k < o->n; k++) {
                const lval *kv = &o->items[k];
                if (kv->t != LV_LIST || kv->n != 2 || kv->items[0].t != LV_STR ||
                    kv->items[1].t != LV_STR || !*kv->items[0].s ||
                    strpbrk(kv->items[0].s, ",= ") || strpbrk(kv->items[1].s, ",")) {
                    xbuf_free(&b);
                    return vmd_fail(x->err, x->file, kv->line, "(pci (dev (opts ...))): "
                                    "expected (key value) without ',' (nor '=' in the key)");
                }
                xbuf_printf(&b, ",%s=%s", kv->items[0].s, kv->items[1].s);
            }
        }
        append(x, "pci", lval_str(b.data, d->line), d->line);
        xbuf_free(&b);
    }
    return true;
}

static bool device(sctx *x, const lval *e)
{
    for (size_t i = 1; i < e->n; i++) {
        const lval *dev = &e->items[i];
        const char *cls = head(dev);
        if (!cls)
            return vmd_fail(x->err, x->file, dev->line, "(device ...): expected (CLASS ...)");
        lval p;
        if (!strcmp(cls, "vbd") || !strcmp(cls, "tap") || !strcmp(cls, "tap2")) {
            if (!pairs(x, dev, &p))
                return false;
            append(x, "disk", p, dev->line);
        } else if (!strcmp(cls, "vif") || !strcmp(cls, "vfb")) {
            if (!pairs(x, dev, &p))
                return false;
            append(x, cls, p, dev->line);
        } else if (!strcmp(cls, "pci")) {
            if (!pci_dev(x, dev))
                return false;
        } else if (!strcmp(cls, "vkbd") || !strcmp(cls, "console")) {
            /* vkbd comes with vfb; console is the info SXP's */
        } else {
            /* ioports, irq, vtpm, usbport, vscsi...: the variable of that
             * name says it is not supported */
            static const char *const map[][2] = { { "usbport", "usbport" }, { "ioports", "ioports" },
                                                  { "irq", "irq" }, { "vtpm", "vtpm" },
                                                  { "vscsi", "vscsi" }, { "vusb", "vusb" },
                                                  { "vif2", "vif2" } };
            bool known = false;
            for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++)
                if (!strcmp(cls, map[k][0])) {
                    append(x, map[k][1], lval_str(cls, dev->line), dev->line);
                    known = true;
                }
            if (!known)
                return vmd_fail(x->err, x->file, dev->line, "unknown device class '%s'", cls);
        }
    }
    return true;
}

static bool image(sctx *x, const lval *e)
{
    if (e->n != 2 || !head(&e->items[1]))
        return vmd_fail(x->err, x->file, e->line, "(image ...): expected (image (linux|hvm ...))");
    const lval *img = &e->items[1];
    lconf_set(x->c, "builder", lval_str(head(img), img->line), img->line, true);
    for (size_t i = 1; i < img->n; i++) {
        const lval *k = &img->items[i];
        const char *h = head(k);
        if (!h)
            return vmd_fail(x->err, x->file, k->line, "(image (%s ...)): expected (key value)",
                            head(img));
        if (!strcmp(h, "args"))
            h = "extra";
        else if (!strcmp(h, "vcpus") && lconf_get(x->c, "vcpus"))
            continue;
        else if (!strcmp(h, "notes"))
            continue;
        scalar(x, h, k);
    }
    return true;
}

static bool security(sctx *x, const lval *e, unsigned depth)
{
    /* (security (access_control (policy P) (label L)) ...) in any nesting */
    for (size_t i = 0; i < e->n && depth < 4; i++) {
        const lval *c = &e->items[i];
        if (c->t != LV_LIST)
            continue;
        if (head(c) && !strcmp(head(c), "access_control")) {
            const char *p = pair_get(c, "policy"), *l = pair_get(c, "label");
            if (!p || !l)
                return vmd_fail(x->err, x->file, c->line, "(access_control ...) needs policy "
                                "and label");
            char *s = vmd_xasprintf("policy=%s,label=%s", p, l);
            append(x, "access_control", lval_str(s, c->line), c->line);
            free(s);
        } else if (!security(x, c, depth + 1)) {
            return false;
        }
    }
    return true;
}

bool vmd_sxp_parse(const char *buf, size_t len, const vmd_parse_opts *o, lconf *c, vmd_err *err)
{
    sreader R = { .p = buf, .end = buf + len, .line = 1,
                  .file = o && o->filename ? o->filename : "<string>", .err = err };
    lval top = { 0 };
    bool have = false, ok = true;
    while (ok && skip(&R)) {
        lval v;
        unsigned line = R.line;
        if (!(ok = read_value(&R, &v, 0)))
            break;
        if (have) {
            lval_free(&v);
            ok = vmd_fail(err, R.file, line, "more than one top-level value: one (vm ...) per "
                          "file");
            break;
        }
        top = v;
        have = true;
    }
    if (ok && !have)
        ok = vmd_fail(err, R.file, 0, "the file is empty: expected (vm ...)");
    if (ok && top.t != LV_LIST)
        ok = vmd_fail(err, R.file, top.line, "expected (vm ...), not an atom");
    sctx x = { .c = c, .file = R.file, .err = err, .warn = o ? o->warnings : NULL };
    /* the head (vm, domain) is ignored, as xend did */
    for (size_t i = 1; ok && i < top.n; i++) {
        const lval *e = &top.items[i];
        const char *h = head(e);
        if (!h) {
            ok = vmd_fail(err, R.file, e->line, "expected (key value) in the domain config");
            break;
        }
        if (!strcmp(h, "image"))
            ok = image(&x, e);
        else if (!strcmp(h, "device"))
            ok = device(&x, e);
        else if (!strcmp(h, "security"))
            ok = security(&x, e, 0);
        else if (!strcmp(h, "backend")) {
            for (size_t k = 1; k < e->n; k++)
                if (head(&e->items[k]))
                    lconf_set(c, head(&e->items[k]), lval_int(1, e->line), e->line, true);
        } else if (!strcmp(h, "platform") || !strcmp(h, "other_config")) {
            lval p;
            if (!(ok = pairs(&x, e, &p)))
                break;
            lconf_set(c, h, p, e->line, true);
        } else if (info_key(h)) {
            continue;
        } else {
            const char *name = !strcmp(h, "bootloader_args") ? "bootargs"
                             : !strcmp(h, "pool_name") ? "pool" : h;
            scalar(&x, name, e);
        }
    }
    lval_free(&top);
    return ok;
}

/* ---- writer -------------------------------------------------------------- */

/* xend's atomp: printed bare, else quoted. */
static bool atom_ok(const char *s)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".-_:/~@", *p))
            return false;
    return true;
}

/* Python repr of a str: single quotes unless it has ' and no ". */
void vmd_py_quote(xbuf *b, const char *s)
{
    vmd_buf_quote(b, s, strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'', VMD_QUOTE_PY);
}

/* A tree to print: an atom (s) or a list. */
typedef struct sx {
    char *s;
    struct sx *it;
    size_t n, cap;
    bool list;
} sx;

static sx *sx_add(sx *l, sx v)
{
    vmd_grow(&l->it, &l->cap, l->n + 1, sizeof(*l->it));
    l->it[l->n] = v;
    return &l->it[l->n++];
}

static sx sx_atom(const char *s)
{
    return (sx){ .s = vmd_xstrdup(s) };
}

static sx sx_list(const char *h)
{
    sx l = { .list = true };
    if (h)
        sx_add(&l, sx_atom(h));
    return l;
}

/* (k v) */
static void sx_kv(sx *l, const char *k, const char *v)
{
    sx *e = sx_add(l, sx_list(k));
    sx_add(e, sx_atom(v));
}

static void sx_free(sx *v)
{
    free(v->s);
    for (size_t i = 0; i < v->n; i++)
        sx_free(&v->it[i]);
    free(v->it);
}

static void sx_flat(xbuf *b, const sx *v)
{
    if (!v->list) {
        if (atom_ok(v->s))
            xbuf_puts(b, v->s);
        else
            vmd_py_quote(b, v->s);
        return;
    }
    xbuf_puts(b, "(");
    for (size_t i = 0; i < v->n; i++) {
        if (i)
            xbuf_puts(b, " ");
        sx_flat(b, &v->it[i]);
    }
    xbuf_puts(b, ")");
}

static void sx_pretty(xbuf *b, const sx *v, size_t col)
{
    xbuf f = { 0 };
    sx_flat(&f, v);
    if (!v->list || col + f.len <= 80 || v->n < 2) {
        xbuf_add(b, f.data, f.len);
        xbuf_free(&f);
        return;
    }
    xbuf_free(&f);
    xbuf_puts(b, "(");
    sx_flat(b, &v->it[0]);
    for (size_t i = 1; i < v->n; i++) {
        xbuf_printf(b, "\n%*s", (int)(col + 4), "");
        sx_pretty(b, &v->it[i], col + 4);
    }
    xbuf_printf(b, "\n%*s)", (int)col, "");
}

static char *lval_text(const lval *v)
{
    return v->t == LV_INT ? vmd_xasprintf("%lld", (long long)v->i) : vmd_xstrdup(v->s ? v->s : "");
}

/* Split "k=v,k=v" (the writer made it, so it is well formed). */
static void kv_pairs(sx *l, const char *s)
{
    char *c = vmd_xstrdup(s), *p = c;
    while (*p) {
        char *comma = strchr(p, ','), *eq;
        if (comma)
            *comma = '\0';
        if ((eq = strchr(p, '='))) {
            *eq = '\0';
            sx_kv(l, p, eq + 1);
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    free(c);
}

/* The variables printed inside (image (BUILDER ...)). */
static bool image_var(const char *n)
{
    static const char *const top[] = { "shadow_memory", "features", "target", "memory_sharing",
                                       "cpuid", "cpuid_check", "localtime", NULL };
    for (int i = 0; top[i]; i++)
        if (!strcmp(n, top[i]))
            return false;
    return true;
}

char *vmd_sxp_write(const lconf *c)
{
    sx vm = sx_list("vm");
    const lsetting *bs = lconf_get(c, "builder");
    sx img = sx_list(bs ? bs->v.s : "linux");
    sx devs = sx_list(NULL);
    for (size_t i = 0; i < c->n; i++) {
        const lsetting *s = &c->v[i];
        const char *n = s->name;
        if (!strcmp(n, "builder"))
            continue;
        if (!strcmp(n, "kernel") || !strcmp(n, "ramdisk") || !strcmp(n, "extra") ||
            !strcmp(n, "boot") || !strcmp(n, "root") ||
            (vmd_legacy_is_platform(n) && image_var(n))) {
            char *t = lval_text(&s->v);
            sx_kv(&img, !strcmp(n, "extra") ? "args" : n, t);
            free(t);
        } else if (!strcmp(n, "disk") || !strcmp(n, "vif") || !strcmp(n, "vfb") ||
                   !strcmp(n, "pci")) {
            for (size_t k = 0; k < s->v.n; k++) {
                const char *item = s->v.items[k].s;
                sx dev = sx_list("device");
                if (!strcmp(n, "disk")) {
                    sx *d = sx_add(&dev, sx_list("vbd"));
                    char *f = vmd_xstrdup(item);
                    static const char *const keys[] = { "uname", "dev", "mode", "backend", "protocol" };
                    /* uname may be empty: split by hand */
                    char *p = f;
                    for (int j = 0; j < 5 && p; j++) {
                        char *comma = strchr(p, ',');
                        if (comma)
                            *comma = '\0';
                        if (j != 0 || *p)
                            sx_kv(d, keys[j], p);
                        p = comma ? comma + 1 : NULL;
                    }
                    free(f);
                } else if (!strcmp(n, "pci")) {
                    /* one (pci (dev ...)) device per entry */
                    sx *d = sx_add(&dev, sx_list("pci"));
                    sx *e = sx_add(d, sx_list("dev"));
                    unsigned dom, bus, slot, func, vs;
                    char rest[1024] = "";
                    int got = sscanf(item, "%x:%x:%x.%x", &dom, &bus, &slot, &func);
                    char b[16];
                    if (got == 4) {
                        snprintf(b, sizeof(b), "0x%04x", dom);
                        sx_kv(e, "domain", b);
                        snprintf(b, sizeof(b), "0x%02x", bus);
                        sx_kv(e, "bus", b);
                        snprintf(b, sizeof(b), "0x%02x", slot);
                        sx_kv(e, "slot", b);
                        snprintf(b, sizeof(b), "0x%x", func);
                        sx_kv(e, "func", b);
                    }
                    /* "@VSLOT" belongs to the address, before any ",options" */
                    const char *at = strchr(item, '@'), *opt = strchr(item, ',');
                    if (at && (!opt || at < opt) && sscanf(at + 1, "%x", &vs) == 1) {
                        snprintf(b, sizeof(b), "0x%02x", vs << 3);
                        sx_kv(e, "vdevfn", b);
                    }
                    const char *comma = strchr(item, ',');
                    if (comma)
                        snprintf(rest, sizeof(rest), "%s", comma + 1);
                    sx opts = sx_list("opts");
                    char *r = rest;
                    while (*r) {
                        char *cm = strchr(r, ','), *eq;
                        if (cm)
                            *cm = '\0';
                        if ((eq = strchr(r, '='))) {
                            *eq = '\0';
                            if (!strcmp(r, "key"))
                                sx_kv(e, "key", eq + 1);
                            else {
                                sx *kv = sx_add(&opts, sx_list(NULL));
                                sx_add(kv, sx_atom(r));
                                sx_add(kv, sx_atom(eq + 1));
                            }
                        }
                        if (!cm)
                            break;
                        r = cm + 1;
                    }
                    if (opts.n > 1)
                        sx_add(e, opts);
                    else
                        sx_free(&opts);
                } else {
                    sx *d = sx_add(&dev, sx_list(n));
                    kv_pairs(d, item);
                }
                sx_add(&devs, dev);
            }
        } else if (!strcmp(n, "access_control")) {
            sx sec = sx_list("security");
            sx *ac = sx_add(&sec, sx_list("access_control"));
            kv_pairs(ac, s->v.items[0].s);
            sx_add(&vm, sec);
        } else if (!strcmp(n, "platform") || !strcmp(n, "other_config")) {
            sx m = sx_list(n);
            for (size_t k = 0; k < s->v.n; k++) {
                const char *item = s->v.items[k].s, *eq = strchr(item, '=');
                char *key = vmd_xstrndup(item, (size_t)(eq - item));
                sx_kv(&m, key, eq + 1);
                free(key);
            }
            sx_add(&vm, m);
        } else if (s->v.t == LV_LIST) {     /* cpus per VCPU */
            sx l = sx_list(n);
            sx *items = sx_add(&l, sx_list(NULL));
            for (size_t k = 0; k < s->v.n; k++) {
                char *t = lval_text(&s->v.items[k]);
                sx_add(items, sx_atom(t));
                free(t);
            }
            sx_add(&vm, l);
        } else {
            const char *name = !strcmp(n, "bootargs") ? "bootloader_args"
                             : !strcmp(n, "pool") ? "pool_name" : n;
            char *t = lval_text(&s->v);
            sx_kv(&vm, name, t);
            free(t);
        }
    }
    sx *imgw = sx_add(&vm, sx_list("image"));
    sx_add(imgw, img);
    for (size_t i = 0; i < devs.n; i++)
        sx_add(&vm, devs.it[i]);
    free(devs.it);
    xbuf b = { 0 };
    sx_pretty(&b, &vm, 0);
    xbuf_puts(&b, "\n");
    sx_free(&vm);
    return xbuf_steal(&b, NULL);
}
