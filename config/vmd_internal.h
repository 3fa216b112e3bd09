/* vmd_internal: what the pieces of the VM-config library share (not
 * installed, not for users of config/vmdesc.h).
 *
 * The two legacy formats (SXP and Python-style) are read into one list of
 * legacy settings — the variables of LEGACY §3.3 with typed values — and
 * that list becomes a description in vmd_legacy.c; the writers go the other
 * way.  So the meaning of every variable is written once. */
#ifndef XEND_CONFIG_VMD_INTERNAL_H
#define XEND_CONFIG_VMD_INTERNAL_H

#include <stdarg.h>

#include "config/vmdesc.h"
#include "util/xv.h"   /* xbuf, the growable string */

/* ---- allocation: out of memory aborts (a CLI and a parser, not a daemon
 * that must survive it) ---- */
void *vmd_xmalloc(size_t n);
void *vmd_xcalloc(size_t n, size_t m);
void *vmd_xrealloc(void *p, size_t n);
char *vmd_xstrdup(const char *s);
char *vmd_xstrndup(const char *s, size_t n);
char *vmd_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Grows *v (of *cap elements of size sz) to hold at least need elements. */
void vmd_grow(void *v, size_t *cap, size_t need, size_t sz);
/* Appends a zeroed element to *v, an array of *n elements of size sz kept without spare room (the
 * description's devices); returns it. */
void *vmd_push(void *v, size_t *n, size_t sz);

/* s between quotes q, with a backslash before q and '\\', and the other control characters (and
 * DEL) escaped: \n \r \t \xHH as Python writes them, or \n \t \uHHHH as JSON. */
typedef enum { VMD_QUOTE_PY, VMD_QUOTE_JSON } vmd_quoting;
void vmd_buf_quote(xbuf *b, const char *s, char q, vmd_quoting how);

/* A field of a description or of one of its devices, for what reads every field (vmdesc_free,
 * vmdesc_equal, the plan's VM.create): a field added to vmdesc.h is added to its table. */
typedef enum { VMD_F_STR, VMD_F_MAP, VMD_F_I64, VMD_F_BOOL, VMD_F_UINT, VMD_F_INT } vmd_field_kind;
typedef struct vmd_field {
    const char *name;   /* the C name */
    const char *xenapi; /* the description's: VM.create's member */
    vmd_field_kind kind;
    size_t off;
    bool optional; /* VM.create leaves it out when unset (NULL, negative) */
} vmd_field;
/* The description's own fields, in the order VM.create passes them. */
extern const vmd_field vmd_desc_fields[];
extern const size_t vmd_n_desc_fields;
const char *vmd_field_str(const void *p, const vmd_field *f);
const vmd_map *vmd_field_map(const void *p, const vmd_field *f);
int64_t vmd_field_int(const void *p, const vmd_field *f); /* the integer kinds and BOOL */

/* The length of the valid UTF-8 prefix of s[0..n). */
size_t vmd_utf8_valid(const unsigned char *s, size_t n);

/* A virtual device name: letters, digits, '_' and '-'? */
bool vmd_dev_name_ok(const char *d);

/* xx:xx:xx:xx:xx:xx in hex? */
bool vmd_mac_ok(const char *m);

/* No control characters but TAB, LF and CR (what XML 1.0 can carry)? */
bool vmd_text_ok(const char *s);

/* The escape after a backslash, at *p (< end), as both string syntaxes
 * know it: \a \b \t \n \v \f \r \\ \' \" \xHH (two digits) \ooo (octal, at
 * most 377).  1: *out is the character and *p is past the escape; 0: not
 * one of these (*p unchanged); -1: malformed or NUL, *why says why. */
int vmd_unescape(const char **p, const char *end, char *out, const char **why);

/* Errors and warnings. */
bool vmd_fail(vmd_err *e, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));   /* always false */
void vmd_warn(vmd_diag *d, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- legacy settings ---- */
typedef enum { LV_STR, LV_INT, LV_LIST } lv_type;

typedef struct lval {
    lv_type t;
    char *s;            /* LV_STR */
    int64_t i;          /* LV_INT */
    struct lval *items; /* LV_LIST */
    size_t n, cap;
    unsigned line;      /* where the value starts (0: unknown) */
} lval;

typedef struct lsetting {
    char *name;
    lval v;
    unsigned line;
} lsetting;

typedef struct lconf {
    lsetting *v;
    size_t n, cap;
    const char *file;   /* for messages (not owned) */
} lconf;

void lval_free(lval *v);
lval lval_str(const char *s, unsigned line);
lval lval_int(int64_t i, unsigned line);
lval lval_list(unsigned line);
void lval_push(lval *list, lval item);
lval lval_copy(const lval *v);
/* Appends (takes v); a later setting of the same name replaces the earlier
 * one when replace is true (Python assignment), else both are kept. */
void lconf_set(lconf *c, const char *name, lval v, unsigned line, bool replace);
const lsetting *lconf_get(const lconf *c, const char *name);
void lconf_free(lconf *c);

/* Is name a variable of LEGACY §3.3 (or one of our extensions)? */
bool vmd_legacy_known(const char *name);
/* Is name a list variable (disk, vif, pci, vfb, ...; VAR=VALUE repeats append)? */
bool vmd_legacy_is_list(const char *name);

/* Is name an image / device-model variable (kept in platform[name])? */
bool vmd_legacy_is_platform(const char *name);

/* Applies the settings to d.  With fresh (a new description) the defaults
 * of a config file apply (name from the file's basename, builder linux...);
 * else only the given variables change d (VAR=VALUE on an XML file). */
bool vmd_legacy_apply(const lconf *c, vmdesc *d, bool fresh, const char *default_name,
                      vmd_diag *warn, vmd_err *err);
/* The settings that describe d, in the order a person writes them; what the
 * legacy formats cannot say goes to warn. */
void vmd_legacy_from_desc(const vmdesc *d, lconf *c, vmd_diag *warn);


/* ---- the formats ---- */
bool vmd_cfg_parse(const char *buf, size_t len, const vmd_parse_opts *o, lconf *c,
                   vmd_err *err);
bool vmd_sxp_parse(const char *buf, size_t len, const vmd_parse_opts *o, lconf *c,
                   vmd_err *err);
bool vmd_xml_parse(const char *buf, size_t len, const vmd_parse_opts *o, vmdesc *d,
                   vmd_err *err);
char *vmd_cfg_write(const lconf *c);
char *vmd_sxp_write(const lconf *c);
char *vmd_xml_write(const vmdesc *d, vmd_diag *warn);

/* Quoting used by the writers (Python repr-like, single quotes preferred). */
void vmd_py_quote(xbuf *b, const char *s);

#endif
