/* xm: SXP values and xend's pretty-printer (xend/PrettyPrint.py, width 80):
 * a list that fits in the rest of the line is printed flat; otherwise its
 * head stays on the "(" line, every other element goes on its own line 4
 * columns in from the "(", and ")" closes on a line of its own at the "("'s
 * column.  Strings that are not atoms are quoted as Python's repr() did. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xm/xm.h"

#define SXP_WIDTH 80

struct sxp {
    char *atom;             /* NULL for a list */
    sxp **items;
    size_t n, cap;
};

static sxp *atom(const char *s)
{
    sxp *x = xm_alloc(sizeof(*x));
    x->atom = xm_strdup(s);
    return x;
}

sxp *sxp_list(const char *head)
{
    sxp *x = xm_alloc(sizeof(*x));
    if (head)
        sxp_add(x, atom(head));
    return x;
}

sxp *sxp_add(sxp *list, sxp *child)
{
    if (list->n == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 4;
        sxp **n = realloc(list->items, list->cap * sizeof(sxp *));
        if (!n)
            abort();
        list->items = n;
    }
    list->items[list->n++] = child;
    return list;
}

sxp *sxp_kv(sxp *list, const char *key, const char *value)
{
    sxp *kv = sxp_list(key);
    sxp_add(kv, atom(value ? value : ""));
    return sxp_add(list, kv);
}

sxp *sxp_kv_set(sxp *list, const char *key, const char *value)
{
    return value && *value ? sxp_kv(list, key, value) : list;
}

sxp *sxp_kvf(sxp *list, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s;
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    sxp_kv(list, key, s);
    free(s);
    return list;
}

void sxp_free(sxp *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++)
        sxp_free(x->items[i]);
    free(x->items);
    free(x->atom);
    free(x);
}

/* xend's atomp(): letters, digits and . - _ : / ~ @ print bare. */
static bool is_atom(const char *s)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(".-_:/~@", c)))
            return false;
    }
    return true;
}

/* The printed form of an atom, as a new string. */
static char *show_atom(const char *s)
{
    if (is_atom(s))
        return xm_strdup(s);
    char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    size_t cap = strlen(s) * 4 + 3;
    char *out = xm_alloc(cap), *o = out;
    *o++ = q;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\' || *p == (unsigned char)q) {
            *o++ = '\\';
            *o++ = (char)*p;
        } else if (*p == '\n') {
            *o++ = '\\'; *o++ = 'n';
        } else if (*p == '\t') {
            *o++ = '\\'; *o++ = 't';
        } else if (*p == '\r') {
            *o++ = '\\'; *o++ = 'r';
        } else if (*p < 0x20 || *p == 0x7f) {
            o += sprintf(o, "\\x%02x", *p);
        } else {
            *o++ = (char)*p;
        }
    }
    *o++ = q;
    *o = '\0';
    return out;
}

/* Flat width of x, stopping early once it exceeds limit. */
static size_t flat_width(const sxp *x, size_t limit)
{
    if (x->atom) {
        char *s = show_atom(x->atom);
        size_t w = strlen(s);
        free(s);
        return w;
    }
    size_t w = 2 + (x->n ? x->n - 1 : 0);
    for (size_t i = 0; i < x->n && w <= limit; i++)
        w += flat_width(x->items[i], limit);
    return w;
}

static void print_flat(const sxp *x, FILE *out)
{
    if (x->atom) {
        char *s = show_atom(x->atom);
        fputs(s, out);
        free(s);
        return;
    }
    fputc('(', out);
    for (size_t i = 0; i < x->n; i++) {
        if (i)
            fputc(' ', out);
        print_flat(x->items[i], out);
    }
    fputc(')', out);
}

/* Print x starting at column col (the cursor is there already). */
static void print_block(const sxp *x, size_t col, FILE *out)
{
    if (x->atom || col + flat_width(x, SXP_WIDTH) <= SXP_WIDTH) {
        print_flat(x, out);
        return;
    }
    fputc('(', out);
    if (x->n)
        print_block(x->items[0], col + 1, out);
    for (size_t i = 1; i < x->n; i++) {
        fprintf(out, "\n%*s", (int)(col + 4), "");
        print_block(x->items[i], col + 4, out);
    }
    fprintf(out, "\n%*s)", (int)col, "");
}

void sxp_pretty(const sxp *x, FILE *out)
{
    print_block(x, 0, out);
    fputc('\n', out);
}
