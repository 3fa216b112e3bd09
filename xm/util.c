/* xm: errors, argument parsing, VM lookup, tables. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xm/xm.h"

void *xm_alloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fprintf(stderr, "xm: out of memory\n");
        abort();
    }
    return p;
}

char *xm_strdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) {
        fprintf(stderr, "xm: out of memory\n");
        abort();
    }
    return d;
}

char *xm_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s;
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) {
        fprintf(stderr, "xm: out of memory\n");
        abort();
    }
    return s;
}

/* ---- errors ---- */

/* A readable sentence for each XenAPI error code; the parameters follow in
 * parentheses under the datamodel's names. */
static const struct {
    const char *code, *sentence, *params[3];
} sentences[] = {
    { "HANDLE_INVALID", "the object does not exist (any more)", { "class", "handle" } },
    { "INTERNAL_ERROR", "the server failed internally", { "message" } },
    { "MAP_DUPLICATE_KEY", "the key is already in the map", { "key", "current value", "new value" } },
    { "MESSAGE_METHOD_UNKNOWN", "the server does not know this call", { "method" } },
    { "MESSAGE_PARAMETER_COUNT_MISMATCH", "the call had the wrong number of parameters",
      { "method", "expected", "received" } },
    { "OPERATION_NOT_ALLOWED", "the operation is not allowed now", { NULL } },
    { "PERMISSION_DENIED", "permission denied", { NULL } },
    { "SESSION_AUTHENTICATION_FAILED", "the username or password was not accepted", { NULL } },
    { "SESSION_INVALID", "the session has expired or is unknown", { "handle" } },
    { "VALUE_NOT_SUPPORTED", "the value is not supported", { "field", "value", "reason" } },
    { "VM_BAD_POWER_STATE", "the VM is not in a power state that allows this",
      { "vm", "expected", "actual" } },
    { "VM_HVM_REQUIRED", "this needs an HVM guest", { "vm" } },
    { "INSUFFICIENT_CPUS", "the host has too few CPUs", { "needed", "available" } },
    { "INVALID_CPU", "invalid CPU", { "message" } },
    { "FIELD_TYPE_ERROR", "a field has the wrong type", { "field" } },
    { "NOT_IMPLEMENTED", "the server does not implement this", { "function" } },
    { "HOST_NOT_ENOUGH_FREE_MEMORY", "the host has not enough free memory (bytes)",
      { "needed", "available" } },
    { "HOST_DISABLED", "the host is disabled", { "host" } },
    { "VM_SHUTDOWN_TIMEOUT", "the VM did not shut down in time", { "vm", "timeout" } },
    { "OTHER_OPERATION_IN_PROGRESS", "another operation on this object is in progress",
      { "class", "object" } },
    { "MEMORY_CONSTRAINT_VIOLATION", "the memory settings are inconsistent "
      "(static_min <= dynamic_min <= dynamic_max <= static_max)", { "constraint" } },
    { "VDI_IN_USE", "the disk image is in use", { "vdi", "operation" } },
    { "DEVICE_ALREADY_ATTACHED", "the device is already attached", { "device" } },
    { "DEVICE_ALREADY_DETACHED", "the device is already detached", { "device" } },
    { "DEVICE_ALREADY_EXISTS", "a device with this name already exists", { "device" } },
    { "VBD_NOT_REMOVABLE_MEDIA", "the device is not removable media", { "vbd" } },
    { "SR_UNKNOWN_DRIVER", "unknown storage driver", { "driver" } },
    { "TASK_CANCELLED", "the operation was cancelled", { "task" } },
    { "EVENTS_LOST", "too many events were missed", { NULL } },
    { "UUID_INVALID", "not a valid object of that kind", { "class", "uuid" } },
    { "FAULT", "the server sent an XML-RPC fault", { "code", "message" } },
    { "TRANSPORT_FAULT", "the server could not be reached", { "code" } },
    { "SERVER_FAULT", "the server's reply could not be read", { "reason" } },
};

static void print_error(const char *const *desc, int n)
{
    const char *code = n > 0 ? desc[0] : "UNKNOWN_ERROR";
    size_t i = 0;
    while (i < sizeof(sentences) / sizeof(sentences[0]) && strcmp(sentences[i].code, code) != 0)
        i++;
    bool known = i < sizeof(sentences) / sizeof(sentences[0]);
    fprintf(stderr, "Error: %s: %s", code, known ? sentences[i].sentence : "the server refused the request");
    if (n > 1) {
        fprintf(stderr, " (");
        for (int k = 1; k < n; k++) {
            const char *pname = known && k - 1 < 3 ? sentences[i].params[k - 1] : NULL;
            fprintf(stderr, "%s%s%s%s", k > 1 ? ", " : "", pname ? pname : "", pname ? ": " : "",
                    desc[k] ? desc[k] : "");
        }
        fprintf(stderr, ")");
    }
    fprintf(stderr, ".\n");
}

int xm_fail(xen_session *s)
{
    print_error((const char *const *)s->error_description, s->error_description_count);
    xen_session_clear_error(s);
    return XM_EXIT_FAIL;
}

int xm_fail_desc(const char *const *desc, int n)
{
    print_error(desc, n);
    return XM_EXIT_FAIL;
}

static void verror(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static void verror(const char *fmt, va_list ap)
{
    fprintf(stderr, "Error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
}

int xm_err(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap);
    va_end(ap);
    return code;
}

int xm_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap);
    va_end(ap);
    bool amb;
    const xm_cmd *c = xm_lookup(cmd, &amb);
    if (c)
        fprintf(stderr, "Usage: xm %s %s\n", c->name, c->args);
    return XM_EXIT_USAGE;
}

/* ---- options ---- */

bool xm_options(int argc, char **argv, bool in_order, const xm_optdef *defs)
{
    size_t n = 0;
    while (defs[n].name)
        n++;
    struct option *lo = xm_alloc((n + 1) * sizeof(*lo));
    char *shortopts = xm_alloc(2 * n + 2), *p = shortopts;
    if (in_order)
        *p++ = '+';
    for (size_t i = 0; i < n; i++) {
        lo[i] = (struct option){ defs[i].name, defs[i].value ? required_argument : no_argument,
                                 NULL, XM_LONG_ONLY + (int)i };
        if (defs[i].letter) {
            *p++ = (char)defs[i].letter;
            if (defs[i].value)
                *p++ = ':';
        }
    }
    *p = '\0';
    lo[n] = (struct option){ NULL, 0, NULL, 0 };
    bool ok = true;
    int c;
    while (ok && (c = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
        size_t i = c >= XM_LONG_ONLY ? (size_t)(c - XM_LONG_ONLY) : 0;
        while (c < XM_LONG_ONLY && i < n && defs[i].letter != c)
            i++;
        if (i == n)
            ok = false; /* '?': getopt said which */
        else if (defs[i].value)
            *defs[i].value = optarg;
        else
            *defs[i].flag = true;
    }
    free(lo);
    free(shortopts);
    return ok;
}

bool xm_flag_option(int argc, char **argv, const char *shortopts, const char *name, bool *set_r)
{
    bool in_order = shortopts[0] == '+';
    const xm_optdef defs[] = { { shortopts[in_order], name, set_r, NULL },
                               { 0, NULL, NULL, NULL } };
    *set_r = false;
    return xm_options(argc, argv, in_order, defs);
}

int xm_on_vm(int argc, char **argv, int min, int max, const char *expected, xm_vm_fn run, void *ctx)
{
    if (argc - optind < min || argc - optind > max)
        return xm_usage(argv[0], "expected %s", expected);
    xen_session *s = xm_session();
    int rc;
    xen_vm vm = xm_find_vm(s, argv[optind], &rc);
    if (!vm)
        return rc;
    rc = run(s, vm, argv + optind + 1, ctx);
    xen_vm_free(vm);
    return rc;
}

/* ---- numbers ---- */

/* The decimal number s starts with (a digit first: no sign, no space); *end_r
 * points after it.  False when there is none or it does not fit. */
static bool leading_number(const char *s, unsigned long long *v_r, char **end_r)
{
    if (!s || !isdigit((unsigned char)*s))
        return false;
    errno = 0;
    *v_r = strtoull(s, end_r, 10);
    return errno == 0;
}

bool xm_parse_int(const char *s, int64_t *v_r)
{
    unsigned long long v;
    char *end;
    if (!leading_number(s, &v, &end) || *end || v > (unsigned long long)INT64_MAX)
        return false;
    *v_r = (int64_t)v;
    return true;
}

bool xm_parse_mem(const char *s, int64_t *bytes_r)
{
    unsigned long long v;
    char *end;
    if (!leading_number(s, &v, &end))
        return false;
    unsigned shift = 20;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return false;
        }
        if (end[1])
            return false;
    }
    if (v > ((unsigned long long)INT64_MAX >> shift))
        return false;
    *bytes_r = (int64_t)(v << shift);
    return true;
}

/* ---- VMs ---- */

static bool looks_like_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

xen_vm xm_find_vm(xen_session *s, const char *dom, int *rc)
{
    *rc = XM_EXIT_OK;
    /* a name first: names are what people type */
    struct xen_vm_set *vms = NULL;
    if (!xen_vm_get_by_name_label(s, &vms, dom)) {
        *rc = xm_fail(s);
        return NULL;
    }
    if (vms->size > 1) {
        xen_vm_set_free(vms);
        *rc = xm_err(XM_EXIT_FAIL, "%zu VMs are called '%s'; name one by its uuid.", vms->size, dom);
        return NULL;
    }
    if (vms->size == 1) {
        xen_vm vm = vms->contents[0];
        vms->contents[0] = NULL;
        vms->size = 0;
        xen_vm_set_free(vms);
        return vm;
    }
    xen_vm_set_free(vms);
    if (looks_like_uuid(dom)) {
        xen_vm vm = NULL;
        if (xen_vm_get_by_uuid(s, &vm, dom))
            return vm;
        xen_session_clear_error(s);
    } else {
        int64_t domid;
        if (xm_parse_int(dom, &domid)) {
            /* a domain id: only running, paused (or suspending) VMs have one */
            xen_vm_xen_vm_record_map *all = NULL;
            if (!xen_vm_get_all_records(s, &all)) {
                *rc = xm_fail(s);
                return NULL;
            }
            xen_vm found = NULL;
            for (size_t i = 0; i < all->size && !found; i++)
                if (all->contents[i].val->domid == domid &&
                    all->contents[i].val->power_state != XEN_VM_POWER_STATE_HALTED &&
                    all->contents[i].val->power_state != XEN_VM_POWER_STATE_SUSPENDED)
                    found = xm_strdup(all->contents[i].key);
            xen_vm_xen_vm_record_map_free(all);
            if (found)
                return found;
        }
    }
    *rc = xm_err(XM_EXIT_NOTFOUND, "no VM is named '%s' (give a name, uuid or domain id).", dom);
    return NULL;
}

/* ---- tables ---- */

struct xm_table {
    size_t ncols, nrows, cap;
    char *align;
    char **cells;       /* nrows * ncols */
};

xm_table *xm_table_new(size_t ncols, const char *align)
{
    xm_table *t = xm_alloc(sizeof(*t));
    t->ncols = ncols;
    t->align = xm_strdup(align);
    return t;
}

void xm_table_addv(xm_table *t, char **cells)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        char **n = realloc(t->cells, t->cap * t->ncols * sizeof(char *));
        if (!n)
            abort();
        t->cells = n;
    }
    for (size_t c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = cells[c] ? cells[c] : xm_strdup("");
    t->nrows++;
}

void xm_table_add(xm_table *t, ...)
{
    char *cells[16];
    va_list ap;
    va_start(ap, t);
    for (size_t c = 0; c < t->ncols && c < 16; c++)
        cells[c] = xm_strdup(va_arg(ap, const char *));
    va_end(ap);
    xm_table_addv(t, cells);
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

void xm_table_print(xm_table *t)
{
    size_t *w = xm_alloc(t->ncols * sizeof(size_t));
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t l = width(t->cells[r * t->ncols + c]);
            if (l > w[c])
                w[c] = l;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            size_t pad = w[c] - width(cell);
            bool right = t->align[c] == 'r';
            bool last = c + 1 == t->ncols;
            if (c)
                putchar(' ');
            if (right)
                printf("%*s", (int)pad, "");
            fputs(cell, stdout);
            if (!right && !last)
                printf("%*s", (int)pad, "");
        }
        putchar('\n');
    }
    free(w);
}

void xm_table_free(xm_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->align);
    free(t);
}
