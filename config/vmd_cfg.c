/* vmd_cfg: xm's Python-style config files, read by a parser of the subset
 * real files use (LEGACY §3.5) — never executed.
 *
 * Accepted: comments; `name = expr`; ints (decimal, 0x, 0o, Python-2 0777
 * and trailing L), strings ('', "", triple-quoted, r/u prefixes, adjacent
 * literals joined), lists, True/False/None, + (ints, strings, lists), - and
 * * on ints, % formatting (%s %d %i %x %X %o %%, flags and width) with one
 * operand or a tuple, comparisons, and/or/not, indexing; int(), str(),
 * os.uname()[i], re.search(pattern, string); `import os, re, sys`;
 * if/elif/else (only the branch taken is evaluated; the others are skipped
 * unread); `pass`; the xm_vars idiom (xm_vars.var(NAME, use=, check=),
 * xm_vars.check(), and the `def` of a check function, whose body is never
 * run: a checked variable must be a positive integer).  Anything else is an
 * error naming file:line.  Deliberate difference from xm: True/False are
 * 1/0 (xm ignored bools); None leaves a variable unset. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "config/vmd_internal.h"

/* ---- tokens -------------------------------------------------------------- */

typedef enum { T_NAME, T_INT, T_STR, T_OP, T_NL, T_EOF } tkind;

typedef struct tok {
    tkind k;
    unsigned line;
    unsigned col;       /* indentation of the logical line (its first token) */
    bool bol;           /* first token of a logical line */
    const char *p;      /* source text */
    size_t len;
    int64_t i;          /* T_INT */
    char *s;            /* T_STR: the decoded value (may hold no NUL: checked) */
    size_t slen;
} tok;

typedef struct lexer {
    const char *b, *end, *p;
    unsigned line;
    const char *file;
    tok *t;
    size_t n, cap;
    vmd_err *err;
} lexer;

#define lfail(L, line, ...) vmd_fail((L)->err, (L)->file, (line), __VA_ARGS__)

static tok *push(lexer *L, tkind k, const char *p, size_t len, unsigned line)
{
    if (L->n >= 4 * (size_t)VMD_MAX_ITEMS * 16) {
        return NULL;
    }
    vmd_grow(&L->t, &L->cap, L->n + 1, sizeof(*L->t));
    tok *t = &L->t[L->n++];
    memset(t, 0, sizeof(*t));
    t->k = k, t->p = p, t->len = len, t->line = line;
    return t;
}

/* A string literal at L->p (after any prefix); raw: no escapes. */
static bool lex_string(lexer *L, bool raw, tok *t)
{
    char q = *L->p;
    bool triple = L->end - L->p >= 3 && L->p[1] == q && L->p[2] == q;
    unsigned start = L->line;
    L->p += triple ? 3 : 1;
    xbuf b = { 0 };
    for (;;) {
        if (L->p >= L->end) {
            xbuf_free(&b);
            return lfail(L, start, "the string is not closed");
        }
        char c = *L->p;
        if (c == q && (!triple || (L->end - L->p >= 3 && L->p[1] == q && L->p[2] == q))) {
            L->p += triple ? 3 : 1;
            break;
        }
        if (c == '\n') {
            if (!triple) {
                xbuf_free(&b);
                return lfail(L, start, "the string is not closed on its line");
            }
            L->line++;
        }
        if (b.len > VMD_MAX_STRING) {
            xbuf_free(&b);
            return lfail(L, start, "a string longer than %d bytes", VMD_MAX_STRING);
        }
        if (c != '\\' || raw) {
            if (c == '\\' && raw && L->p + 1 < L->end) {    /* r'\'' keeps both */
                xbuf_add(&b, L->p, 2);
                if (L->p[1] == '\n')
                    L->line++;
                L->p += 2;
                continue;
            }
            xbuf_add(&b, &c, 1);
            L->p++;
            continue;
        }
        if (L->p + 1 >= L->end) {
            xbuf_free(&b);
            return lfail(L, start, "the string is not closed");
        }
        if (L->p[1] == '\n') {          /* a continued line */
            L->line++;
            L->p += 2;
            continue;
        }
        L->p++;
        char o;
        const char *why;
        int r = vmd_unescape(&L->p, L->end, &o, &why);
        if (r < 0) {
            xbuf_free(&b);
            return lfail(L, L->line, "%s", why);
        }
        if (r == 0) {               /* Python keeps an unknown escape as it is */
            xbuf_add(&b, "\\", 1);
            o = *L->p++;
        }
        xbuf_add(&b, &o, 1);
    }
    t->slen = b.len;
    t->s = xbuf_steal(&b, NULL);
    return true;
}

static bool lex(lexer *L)
{
    int depth = 0;
    unsigned open_line[VMD_MAX_DEPTH + 1];     /* where each open bracket is */
    bool bol = true;
    unsigned col = 0;
    while (L->p < L->end) {
        char c = *L->p;
        if (bol) {
            /* measure the indentation; skip blank and comment lines */
            col = 0;
            const char *q = L->p;
            while (q < L->end && (*q == ' ' || *q == '\t' || *q == '\f'))
                col = *q++ == '\t' ? (col / 8 + 1) * 8 : col + 1;
            if (q >= L->end)
                break;
            if (*q == '#' || *q == '\n' || *q == '\r') {
                while (q < L->end && *q != '\n')
                    q++;
                L->p = q < L->end ? q + 1 : q;
                L->line++;
                continue;
            }
            L->p = q;
            c = *L->p;
        }
        if (c == ' ' || c == '\t' || c == '\f' || c == '\r') {
            L->p++;
            continue;
        }
        if (c == '#') {
            while (L->p < L->end && *L->p != '\n')
                L->p++;
            continue;
        }
        if (c == '\\' && L->p + 1 < L->end && (L->p[1] == '\n' ||
                                               (L->p[1] == '\r' && L->p + 2 < L->end && L->p[2] == '\n'))) {
            L->p += L->p[1] == '\n' ? 2 : 3;
            L->line++;
            continue;
        }
        if (c == '\n') {
            L->p++;
            if (depth == 0 && !bol) {
                if (!push(L, T_NL, L->p - 1, 1, L->line))
                    return lfail(L, L->line, "too many tokens");
                bol = true;
            }
            L->line++;
            continue;
        }
        tok *t;
        const char *s = L->p;
        unsigned line = L->line;
        if (isalpha((unsigned char)c) || c == '_') {
            bool raw = false;
            const char *q = L->p;
            while (q < L->end && (isalnum((unsigned char)*q) || *q == '_'))
                q++;
            size_t n = (size_t)(q - L->p);
            /* string prefixes r, u, ur, b */
            if (q < L->end && (*q == '\'' || *q == '"') && n <= 2 &&
                strspn(L->p, "rRuUbB") >= n) {
                raw = memchr(L->p, 'r', n) || memchr(L->p, 'R', n);
                L->p = q;
                if (!(t = push(L, T_STR, s, 0, line)))
                    return lfail(L, line, "too many tokens");
                if (!lex_string(L, raw, t))
                    return false;
            } else {
                if (!(t = push(L, T_NAME, s, n, line)))
                    return lfail(L, line, "too many tokens");
                L->p = q;
            }
        } else if (isdigit((unsigned char)c)) {
            const char *q = L->p;
            while (q < L->end && (isalnum((unsigned char)*q) || *q == '.'))
                q++;
            char num[64];
            size_t n = (size_t)(q - L->p);
            if (n >= sizeof(num))
                return lfail(L, line, "a number too long");
            memcpy(num, L->p, n);
            num[n] = '\0';
            if (n > 1 && (num[n - 1] == 'L' || num[n - 1] == 'l'))
                num[--n] = '\0';
            if (strpbrk(num, ".eE") && !(num[0] == '0' && (num[1] == 'x' || num[1] == 'X')))
                return lfail(L, line, "'%s': floating-point numbers are not supported", num);
            int base = 10;
            const char *digits = num;
            if (num[0] == '0' && (num[1] == 'x' || num[1] == 'X'))
                base = 16, digits = num + 2;
            else if (num[0] == '0' && (num[1] == 'o' || num[1] == 'O'))
                base = 8, digits = num + 2;
            else if (num[0] == '0' && num[1])
                base = 8, digits = num + 1;          /* Python 2: 0777 */
            errno = 0;
            char *e;
            unsigned long long v = strtoull(digits, &e, base);
            if (!*digits || *e || errno || v > INT64_MAX)
                return lfail(L, line, "'%s' is not a number this parser reads", num);
            if (!(t = push(L, T_INT, s, n, line)))
                return lfail(L, line, "too many tokens");
            t->i = (int64_t)v;
            L->p = q;
        } else if (c == '\'' || c == '"') {
            if (!(t = push(L, T_STR, s, 0, line)))
                return lfail(L, line, "too many tokens");
            if (!lex_string(L, false, t))
                return false;
        } else {
            static const char *const ops2[] = { "==", "!=", "<=", ">=", "+=", "**", "//", "<>", NULL };
            size_t n = 1;
            for (int i = 0; ops2[i]; i++)
                if (L->end - L->p >= 2 && memcmp(L->p, ops2[i], 2) == 0)
                    n = 2;
            if (n == 1 && !strchr("=+-*%()[],.:<>{}", c)) {
                if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
                    return lfail(L, line, "unexpected character '%c'", c);
                return lfail(L, line, "unexpected character (code %u)", (unsigned char)c);
            }
            if (c == '(' || c == '[' || c == '{') {
                if (depth >= VMD_MAX_DEPTH)
                    return lfail(L, line, "brackets nested deeper than %d", VMD_MAX_DEPTH);
                open_line[depth++] = line;
            } else if (c == ')' || c == ']' || c == '}') {
                if (depth == 0)
                    return lfail(L, line, "'%c' without its opening bracket", c);
                depth--;
            }
            if (!(t = push(L, T_OP, s, n, line)))
                return lfail(L, line, "too many tokens");
            L->p += n;
        }
        t = &L->t[L->n - 1];
        t->col = col;
        t->bol = bol;
        bol = false;
    }
    if (depth)
        return lfail(L, open_line[depth - 1], "this bracket is not closed by the end of the file");
    if (!bol && !push(L, T_NL, L->p, 0, L->line))
        return lfail(L, L->line, "too many tokens");
    if (!push(L, T_EOF, L->p, 0, L->line))
        return lfail(L, L->line, "too many tokens");
    L->t[L->n - 1].bol = true;
    L->t[L->n - 1].col = 0;
    return true;
}

/* ---- values -------------------------------------------------------------- */

typedef enum { P_NONE, P_INT, P_STR, P_LIST, P_TUPLE, P_BOOL, P_MOD, P_FUNC } pkind;

typedef struct pv {
    pkind k;
    int64_t i;          /* INT, BOOL */
    char *s;            /* STR; MOD/FUNC: the dotted name */
    struct pv *it;      /* LIST, TUPLE */
    size_t n;
    unsigned line;
} pv;

static void pv_free(pv *v)
{
    free(v->s);
    for (size_t i = 0; i < v->n; i++)
        pv_free(&v->it[i]);
    free(v->it);
    memset(v, 0, sizeof(*v));
}

static pv pv_copy(const pv *v)
{
    pv c = *v;
    c.s = v->s ? vmd_xstrdup(v->s) : NULL;
    c.it = v->n ? vmd_xcalloc(v->n, sizeof(pv)) : NULL;
    for (size_t i = 0; i < v->n; i++)
        c.it[i] = pv_copy(&v->it[i]);
    return c;
}

static const char *pv_type(const pv *v)
{
    static const char *const n[] = { "None", "int", "str", "list", "tuple", "bool", "module",
                                     "function" };
    return n[v->k];
}

typedef struct binding {
    char *name;
    pv v;
    unsigned line;
    bool used;          /* read by an expression (a helper variable) */
    bool from_cmdline;
    bool converted;     /* a command-line value xm_vars.check() made an int */
} binding;

typedef struct checkvar {
    char *name;
    char *use;
    bool checked;       /* has a check function: a positive integer */
    unsigned line;
} checkvar;

typedef struct parser {
    lexer L;
    size_t i;           /* current token */
    binding *b;
    size_t nb, capb;
    char **fns;         /* names of def'd (never run) functions */
    size_t nfns, capfns;
    checkvar *cv;
    size_t ncv, capcv;
    size_t budget;      /* values made: bounds the work */
    size_t bytes;       /* string bytes made: bounds the memory */
    unsigned depth;
    const vmd_parse_opts *o;
} parser;

#define CUR (&P->L.t[P->i])
#define PFAIL(line, ...) lfail(&P->L, line, __VA_ARGS__)

static bool is_op(const tok *t, const char *op)
{
    return t->k == T_OP && t->len == strlen(op) && memcmp(t->p, op, t->len) == 0;
}

static bool is_kw(const tok *t, const char *kw)
{
    return t->k == T_NAME && t->len == strlen(kw) && memcmp(t->p, kw, t->len) == 0;
}

static bool expect(parser *P, const char *op)
{
    if (!is_op(CUR, op))
        return PFAIL(CUR->line, "expected '%s'", op);
    P->i++;
    return true;
}

static binding *lookup(parser *P, const char *name, size_t n)
{
    for (size_t i = P->nb; i-- > 0;)
        if (strlen(P->b[i].name) == n && memcmp(P->b[i].name, name, n) == 0)
            return &P->b[i];
    return NULL;
}

static void bind(parser *P, const char *name, pv v, unsigned line, bool cmdline)
{
    binding *b = lookup(P, name, strlen(name));
    if (b) {
        pv_free(&b->v);
        b->v = v;
        b->line = line;
        b->converted = false;
        return;
    }
    vmd_grow(&P->b, &P->capb, P->nb + 1, sizeof(*P->b));
    P->b[P->nb++] = (binding){ .name = vmd_xstrdup(name), .v = v, .line = line,
                               .from_cmdline = cmdline };
}

/* The string bytes of a value (what copying it costs). */
static size_t pv_bytes(const pv *v)
{
    size_t n = v->s ? strlen(v->s) : 0;
    for (size_t i = 0; i < v->n; i++)
        n += pv_bytes(&v->it[i]);
    return n;
}

#define MAX_BYTES (16 * (size_t)VMD_MAX_INPUT)

static bool spend_bytes(parser *P, size_t n, unsigned line)
{
    P->bytes += n;
    if (P->bytes > MAX_BYTES)
        return lfail(&P->L, line, "the file builds more than %zu MiB of strings", MAX_BYTES >> 20);
    return true;
}

static bool spend(parser *P, size_t n, unsigned line)
{
    P->budget += n;
    if (P->budget > 16 * (size_t)VMD_MAX_ITEMS)
        return PFAIL(line, "the file makes too many values (more than %d)", 16 * VMD_MAX_ITEMS);
    return true;
}

static bool truthy(const pv *v)
{
    switch (v->k) {
    case P_NONE: return false;
    case P_INT: case P_BOOL: return v->i != 0;
    case P_STR: return v->s[0] != '\0';
    case P_LIST: case P_TUPLE: return v->n != 0;
    default: return true;
    }
}

/* ---- expressions --------------------------------------------------------- */

static bool expr(parser *P, pv *out);

static bool list_items(parser *P, const char *close, pv *out, bool *had_comma)
{
    unsigned line = CUR->line;
    size_t cap = 0;
    *had_comma = false;
    while (!is_op(CUR, close)) {
        pv x;
        if (!expr(P, &x))
            return false;
        if (out->n >= VMD_MAX_ITEMS) {
            pv_free(&x);
            return PFAIL(line, "a list of more than %d items", VMD_MAX_ITEMS);
        }
        vmd_grow(&out->it, &cap, out->n + 1, sizeof(pv));
        out->it[out->n++] = x;
        if (!spend(P, 1, line))
            return false;
        if (is_op(CUR, ",")) {
            *had_comma = true;
            P->i++;
        } else if (!is_op(CUR, close)) {
            return PFAIL(CUR->line, "expected ',' or '%s'", close);
        }
    }
    P->i++;
    return true;
}

static bool call(parser *P, pv *f, pv *out, unsigned line);

static bool atom(parser *P, pv *out)
{
    tok *t = CUR;
    memset(out, 0, sizeof(*out));
    out->line = t->line;
    if (t->k == T_INT) {
        out->k = P_INT;
        out->i = t->i;
        P->i++;
        return true;
    }
    if (t->k == T_STR) {
        xbuf b = { 0 };
        xbuf_add(&b, t->s, t->slen);
        P->i++;
        while (CUR->k == T_STR) {      /* 'a' 'b' is 'ab' */
            xbuf_add(&b, CUR->s, CUR->slen);
            P->i++;
        }
        if (b.len > VMD_MAX_STRING) {
            xbuf_free(&b);
            return PFAIL(t->line, "a string longer than %d bytes", VMD_MAX_STRING);
        }
        out->k = P_STR;
        out->s = xbuf_steal(&b, NULL);
        return true;
    }
    if (is_op(t, "[") || is_op(t, "(")) {
        bool tuple = is_op(t, "(");
        P->i++;
        out->k = tuple ? P_TUPLE : P_LIST;
        bool comma;
        if (!list_items(P, tuple ? ")" : "]", out, &comma)) {
            pv_free(out);
            return false;
        }
        if (tuple && out->n == 1 && !comma) { /* (x) is x */
            pv x = out->it[0];
            free(out->it);
            *out = x;
        }
        return true;
    }
    if (t->k == T_NAME) {
        static const char *const kws[] = { "and", "or", "not", "if", "else", "elif", "def",
                                           "import", "from", "for", "while", "lambda",
                                           "return", "in", "is", "class", "with", "exec",
                                           "print", "del", "global", "yield", "try",
                                           "except", "raise", "assert", NULL };
        for (int i = 0; kws[i]; i++)
            if (is_kw(t, kws[i]))
                return PFAIL(t->line, "'%s' is not allowed here (this parser reads config "
                             "values, it does not run Python)", kws[i]);
        P->i++;
        if (is_kw(t, "True") || is_kw(t, "False")) {
            out->k = P_BOOL;
            out->i = is_kw(t, "True");
            return true;
        }
        if (is_kw(t, "None"))
            return true;
        binding *b = lookup(P, t->p, t->len);
        if (b) {
            b->used = true;
            if (!spend_bytes(P, pv_bytes(&b->v), t->line) || !spend(P, b->v.n, t->line))
                return false;
            *out = pv_copy(&b->v);
            out->line = t->line;
            return true;
        }
        static const char *const mods[] = { "os", "re", "sys", "xm_vars", "int", "str", NULL };
        for (int i = 0; mods[i]; i++)
            if (is_kw(t, mods[i])) {
                out->k = P_MOD;
                out->s = vmd_xstrdup(mods[i]);
                return true;
            }
        for (size_t i = 0; i < P->nfns; i++)
            if (strlen(P->fns[i]) == t->len && memcmp(P->fns[i], t->p, t->len) == 0) {
                out->k = P_FUNC;
                out->s = vmd_xstrdup(P->fns[i]);
                return true;
            }
        if (is_op(CUR, "("))
            return PFAIL(t->line, "the function %.*s() is not supported (this parser reads "
                         "config values, it does not run Python)", (int)t->len, t->p);
        return PFAIL(t->line, "name '%.*s' is not defined", (int)t->len, t->p);
    }
    if (t->k == T_NL || t->k == T_EOF)
        return PFAIL(t->line, "a value is missing");
    return PFAIL(t->line, "unexpected '%.*s'", (int)t->len, t->p);
}

static bool postfix(parser *P, pv *out)
{
    if (++P->depth > VMD_MAX_DEPTH)
        return PFAIL(CUR->line, "an expression nested deeper than %d", VMD_MAX_DEPTH);
    bool ok = atom(P, out);
    while (ok) {
        tok *t = CUR;
        if (is_op(t, ".")) {
            P->i++;
            if (out->k != P_MOD || CUR->k != T_NAME) {
                ok = PFAIL(t->line, "attributes are only read of the modules os, re and "
                           "xm_vars");
                break;
            }
            char *n = vmd_xasprintf("%s.%.*s", out->s, (int)CUR->len, CUR->p);
            free(out->s);
            out->s = n;
            P->i++;
        } else if (is_op(t, "(")) {
            P->i++;
            pv f = *out;
            ok = call(P, &f, out, t->line);
            pv_free(&f);
        } else if (is_op(t, "[")) {
            P->i++;
            pv idx;
            if (!(ok = expr(P, &idx)))
                break;
            if (!(ok = expect(P, "]"))) {
                pv_free(&idx);
                break;
            }
            if (idx.k != P_INT) {
                ok = PFAIL(t->line, "an index must be an int, not %s", pv_type(&idx));
                pv_free(&idx);
                break;
            }
            int64_t n = out->k == P_STR ? (int64_t)strlen(out->s) : (int64_t)out->n;
            int64_t k = idx.i < 0 ? idx.i + n : idx.i;
            if (out->k != P_STR && out->k != P_LIST && out->k != P_TUPLE) {
                ok = PFAIL(t->line, "%s cannot be indexed", pv_type(out));
            } else if (k < 0 || k >= n) {
                ok = PFAIL(t->line, "index %" PRId64 " out of range", idx.i);
            } else if (out->k == P_STR) {
                char c[2] = { out->s[k], 0 };
                free(out->s);
                out->s = vmd_xstrdup(c);
            } else {
                pv x = pv_copy(&out->it[k]);
                pv_free(out);
                *out = x;
            }
            pv_free(&idx);
        } else {
            break;
        }
    }
    P->depth--;
    if (!ok)
        pv_free(out);
    return ok;
}

/* One %d/%i/%x/%X/%o conversion with its flags (-+ #0) and width. */
static void num_format(xbuf *b, const char *flags, int width, char conv, int64_t v)
{
    uint64_t mag = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    char digits[32], head[4] = "";
    if (conv == 'x')
        snprintf(digits, sizeof(digits), "%" PRIx64, mag);
    else if (conv == 'X')
        snprintf(digits, sizeof(digits), "%" PRIX64, mag);
    else if (conv == 'o')
        snprintf(digits, sizeof(digits), "%" PRIo64, mag);
    else
        snprintf(digits, sizeof(digits), "%" PRIu64, mag);
    size_t h = 0;
    if (v < 0)
        head[h++] = '-';
    else if (strchr(flags, '+'))
        head[h++] = '+';
    else if (strchr(flags, ' '))
        head[h++] = ' ';
    if (strchr(flags, '#') && conv != 'd' && conv != 'i') {   /* Python 2: 0x, 0X, 0 */
        head[h++] = '0';
        if (conv != 'o')
            head[h++] = conv;
    }
    head[h] = '\0';
    size_t len = h + strlen(digits);
    bool left = strchr(flags, '-') != NULL, zero = strchr(flags, '0') && !left;
    if (!left && !zero)
        for (size_t k = len; k < (size_t)width; k++)
            xbuf_add(b, " ", 1);
    xbuf_puts(b, head);
    if (zero)
        for (size_t k = len; k < (size_t)width; k++)
            xbuf_add(b, "0", 1);
    xbuf_puts(b, digits);
    if (left)
        for (size_t k = len; k < (size_t)width; k++)
            xbuf_add(b, " ", 1);
}

/* %-formatting of one operand or a tuple (Python's str % args). */
static bool format(parser *P, const pv *fmtv, const pv *args, pv *out, unsigned line)
{
    const pv *av = args->k == P_TUPLE ? args->it : args;
    size_t na = args->k == P_TUPLE ? args->n : 1, ai = 0;
    xbuf b = { 0 };
    bool ok = true;
    for (const char *p = fmtv->s; *p && ok; p++) {
        if (*p != '%') {
            xbuf_add(&b, p, 1);
            continue;
        }
        p++;
        if (*p == '%') {
            xbuf_add(&b, "%", 1);
            continue;
        }
        char flags[8] = "";
        size_t nfl = 0;
        while (*p && strchr("-+ #0", *p) && nfl < sizeof(flags) - 1)
            flags[nfl++] = *p++;
        int width = 0;
        while (isdigit((unsigned char)*p) && width < 1000)
            width = width * 10 + (*p++ - '0');
        char conv = *p;
        if (width >= 1000 || !conv || !strchr("sdixXo", conv)) {
            ok = PFAIL(line, "format '%%%s%d%c': only %%s, %%d, %%i, %%x, %%X, %%o with a "
                       "width below 1000 are supported", flags, width, conv ? conv : ' ');
            break;
        }
        if (ai >= na) {
            ok = PFAIL(line, "not enough arguments for the format string");
            break;
        }
        const pv *a = &av[ai++];
        if (conv == 's') {
            char *str = a->k == P_STR ? vmd_xstrdup(a->s)
                      : a->k == P_INT ? vmd_xasprintf("%" PRId64, a->i)
                      : a->k == P_BOOL ? vmd_xstrdup(a->i ? "True" : "False")
                      : a->k == P_NONE ? vmd_xstrdup("None") : NULL;
            if (!str) {
                ok = PFAIL(line, "%%s of a %s is not supported", pv_type(a));
                break;
            }
            bool left = strchr(flags, '-') != NULL;
            size_t l = strlen(str);
            if (!left)
                for (size_t k = l; k < (size_t)width; k++)
                    xbuf_add(&b, " ", 1);
            xbuf_add(&b, str, l);
            if (left)
                for (size_t k = l; k < (size_t)width; k++)
                    xbuf_add(&b, " ", 1);
            free(str);
        } else {
            if (a->k != P_INT && a->k != P_BOOL) {
                ok = PFAIL(line, "%%%c needs a number, not %s", conv, pv_type(a));
                break;
            }
            num_format(&b, flags, width, conv, a->i);
        }
        if (b.len > VMD_MAX_STRING) {
            ok = PFAIL(line, "a string longer than %d bytes", VMD_MAX_STRING);
            break;
        }
    }
    if (ok && ai < na)
        ok = PFAIL(line, "not all arguments converted during string formatting");
    if (ok)
        ok = spend_bytes(P, b.len, line);
    if (!ok) {
        xbuf_free(&b);
        return false;
    }
    memset(out, 0, sizeof(*out));
    out->k = P_STR;
    out->s = xbuf_steal(&b, NULL);
    out->line = line;
    return true;
}

static bool factor(parser *P, pv *out)
{
    tok *t = CUR;
    if (is_op(t, "-") || is_op(t, "+")) {
        P->i++;
        if (++P->depth > VMD_MAX_DEPTH)
            return PFAIL(t->line, "an expression nested deeper than %d", VMD_MAX_DEPTH);
        bool ok = factor(P, out);
        P->depth--;
        if (!ok)
            return false;
        if (out->k != P_INT && out->k != P_BOOL) {
            pv_free(out);
            return PFAIL(t->line, "unary %c of a %s", *t->p, pv_type(out));
        }
        out->k = P_INT;
        if (*t->p == '-') {
            if (out->i == INT64_MIN)
                return PFAIL(t->line, "integer overflow");
            out->i = -out->i;
        }
        return true;
    }
    return postfix(P, out);
}

/* * and % of out and r into out. */
static bool apply_mul(parser *P, const tok *t, pv *out, pv *r)
{
    if (*t->p == '%' && out->k == P_STR) {
        pv f;
        if (!format(P, out, r, &f, t->line))
            return false;
        pv_free(out);
        *out = f;
        return true;
    }
    if ((out->k != P_INT && out->k != P_BOOL) || (r->k != P_INT && r->k != P_BOOL))
        return PFAIL(t->line, "'%c' of %s and %s is not supported", *t->p, pv_type(out),
                     pv_type(r));
    int64_t x;
    if (*t->p == '*') {
        if (__builtin_mul_overflow(out->i, r->i, &x))
            return PFAIL(t->line, "integer overflow");
    } else if (r->i == 0) {
        return PFAIL(t->line, "modulo by zero");
    } else if (out->i == INT64_MIN && r->i == -1) {
        return PFAIL(t->line, "integer overflow");
    } else {
        x = ((out->i % r->i) + r->i) % r->i;   /* Python's sign rule */
    }
    out->k = P_INT, out->i = x;
    return true;
}

/* + and - of out and r into out. */
static bool apply_add(parser *P, const tok *t, pv *out, pv *r)
{
    bool plus = *t->p == '+';
    if ((out->k == P_INT || out->k == P_BOOL) && (r->k == P_INT || r->k == P_BOOL)) {
        int64_t x;
        if (plus ? __builtin_add_overflow(out->i, r->i, &x) : __builtin_sub_overflow(out->i, r->i, &x))
            return PFAIL(t->line, "integer overflow");
        out->k = P_INT, out->i = x;
        return true;
    }
    if (plus && out->k == P_STR && r->k == P_STR) {
        size_t a = strlen(out->s), c = strlen(r->s);
        if (a + c > VMD_MAX_STRING)
            return PFAIL(t->line, "a string longer than %d bytes", VMD_MAX_STRING);
        if (!spend_bytes(P, a + c, t->line))
            return false;
        out->s = vmd_xrealloc(out->s, a + c + 1);
        memcpy(out->s + a, r->s, c + 1);
        return true;
    }
    if (plus && out->k == P_LIST && r->k == P_LIST) {
        if (out->n + r->n > VMD_MAX_ITEMS)
            return PFAIL(t->line, "a list of more than %d items", VMD_MAX_ITEMS);
        if (!spend(P, r->n, t->line))
            return false;
        out->it = vmd_xrealloc(out->it, (out->n + r->n + 1) * sizeof(pv));
        if (r->n)           /* an empty list may have no array at all */
            memcpy(out->it + out->n, r->it, r->n * sizeof(pv));
        out->n += r->n;
        free(r->it);        /* the items moved to out */
        r->it = NULL;
        r->n = 0;
        return true;
    }
    return PFAIL(t->line, "'%c' of %s and %s is not supported", *t->p, pv_type(out),
                 pv_type(r));
}

/* A left-associative chain: sub (OP sub)*, each OP one of the characters
 * of ops, combined by apply. */
static bool chain(parser *P, pv *out, const char *ops, bool (*sub)(parser *, pv *),
                  bool (*apply)(parser *, const tok *, pv *, pv *))
{
    if (!sub(P, out))
        return false;
    while (CUR->k == T_OP && CUR->len == 1 && strchr(ops, *CUR->p)) {
        const tok *t = CUR;
        P->i++;
        pv r;
        if (!sub(P, &r)) {
            pv_free(out);
            return false;
        }
        bool ok = apply(P, t, out, &r);
        pv_free(&r);
        if (!ok) {
            pv_free(out);
            return false;
        }
    }
    return true;
}

static bool term(parser *P, pv *out)
{
    return chain(P, out, "*%", factor, apply_mul);
}

static bool arith(parser *P, pv *out)
{
    return chain(P, out, "+-", term, apply_add);
}

static int pv_cmp(const pv *a, const pv *b, bool *ok)
{
    *ok = true;
    if ((a->k == P_INT || a->k == P_BOOL) && (b->k == P_INT || b->k == P_BOOL))
        return a->i < b->i ? -1 : a->i > b->i;
    if (a->k == P_STR && b->k == P_STR)
        return strcmp(a->s, b->s);
    if (a->k == P_NONE && b->k == P_NONE)
        return 0;
    *ok = false;
    return 0;
}

static bool comparison(parser *P, pv *out)
{
    if (!arith(P, out))
        return false;
    static const char *const ops[] = { "==", "!=", "<>", "<=", ">=", "<", ">", NULL };
    for (int i = 0; ops[i]; i++) {
        if (!is_op(CUR, ops[i]))
            continue;
        tok *t = CUR;
        P->i++;
        pv r;
        if (!arith(P, &r)) {
            pv_free(out);
            return false;
        }
        bool ok;
        int c = pv_cmp(out, &r, &ok);
        bool eq_op = i <= 2;
        if (!ok && !eq_op) {
            bool x = PFAIL(t->line, "cannot order %s and %s", pv_type(out), pv_type(&r));
            pv_free(out);
            pv_free(&r);
            return x;
        }
        bool res = i == 0 ? ok && c == 0 : i <= 2 ? !(ok && c == 0) : i == 3 ? c <= 0
                 : i == 4 ? c >= 0 : i == 5 ? c < 0 : c > 0;
        pv_free(out);
        pv_free(&r);
        out->k = P_BOOL;
        out->i = res;
        out->line = t->line;
        break;
    }
    return true;
}

static bool not_test(parser *P, pv *out)
{
    if (is_kw(CUR, "not")) {
        unsigned line = CUR->line;
        P->i++;
        if (++P->depth > VMD_MAX_DEPTH)
            return PFAIL(line, "an expression nested deeper than %d", VMD_MAX_DEPTH);
        bool ok = not_test(P, out);
        P->depth--;
        if (!ok)
            return false;
        bool v = !truthy(out);
        pv_free(out);
        out->k = P_BOOL;
        out->i = v;
        out->line = line;
        return true;
    }
    return comparison(P, out);
}

/* and / or: Python returns the deciding operand; both sides are evaluated
 * here (they have no effects). */
static bool bool_op(parser *P, pv *out, const char *kw, bool (*sub)(parser *, pv *))
{
    if (!sub(P, out))
        return false;
    while (is_kw(CUR, kw)) {
        P->i++;
        pv r;
        if (!sub(P, &r)) {
            pv_free(out);
            return false;
        }
        bool take_left = kw[0] == 'a' ? !truthy(out) : truthy(out);
        if (take_left) {
            pv_free(&r);
        } else {
            pv_free(out);
            *out = r;
        }
    }
    return true;
}

static bool and_test(parser *P, pv *out)
{
    return bool_op(P, out, "and", not_test);
}

static bool expr(parser *P, pv *out)
{
    if (++P->depth > VMD_MAX_DEPTH)
        return PFAIL(CUR->line, "an expression nested deeper than %d", VMD_MAX_DEPTH);
    bool ok = bool_op(P, out, "or", and_test);
    P->depth--;
    return ok;
}

/* ---- calls --------------------------------------------------------------- */

typedef struct arg {
    char *kw;           /* NULL: positional */
    pv v;
} arg;

static void args_free(arg *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].kw);
        pv_free(&a[i].v);
    }
    free(a);
}

static bool call(parser *P, pv *f, pv *out, unsigned line)
{
    arg *a = NULL;
    size_t n = 0, cap = 0;
    bool ok = true;
    while (ok && !is_op(CUR, ")")) {
        if (n >= 16) {
            ok = PFAIL(line, "too many arguments");
            break;
        }
        vmd_grow(&a, &cap, n + 1, sizeof(*a));
        memset(&a[n], 0, sizeof(*a));
        if (CUR->k == T_NAME && is_op(&P->L.t[P->i + 1], "=")) {
            a[n].kw = vmd_xstrndup(CUR->p, CUR->len);
            P->i += 2;
        }
        ok = expr(P, &a[n].v);
        if (!ok) {
            free(a[n].kw);
            break;
        }
        n++;
        if (is_op(CUR, ","))
            P->i++;
        else if (!is_op(CUR, ")"))
            ok = PFAIL(CUR->line, "expected ',' or ')'");
    }
    if (ok)
        P->i++;
    memset(out, 0, sizeof(*out));
    out->line = line;
    const char *name = f->s ? f->s : "";
    if (!ok) {
    } else if (f->k != P_MOD) {
        ok = PFAIL(line, "calling a %s is not supported", pv_type(f));
    } else if (strcmp(name, "int") == 0 && n == 1 && !a[0].kw) {
        int64_t x;
        char *end;
        if (a[0].v.k == P_INT || a[0].v.k == P_BOOL) {
            out->k = P_INT, out->i = a[0].v.i;
        } else if (a[0].v.k == P_STR) {
            errno = 0;
            const char *s = a[0].v.s;
            while (isspace((unsigned char)*s))
                s++;
            x = strtoll(s, &end, 10);
            while (isspace((unsigned char)*end))
                end++;
            if (!*s || *end || errno)
                ok = PFAIL(line, "int('%s'): not an integer", a[0].v.s);
            else
                out->k = P_INT, out->i = x;
        } else {
            ok = PFAIL(line, "int() of a %s", pv_type(&a[0].v));
        }
    } else if (strcmp(name, "str") == 0 && n == 1 && !a[0].kw) {
        if (a[0].v.k == P_STR)
            *out = pv_copy(&a[0].v);
        else if (a[0].v.k == P_INT)
            out->k = P_STR, out->s = vmd_xasprintf("%" PRId64, a[0].v.i);
        else
            ok = PFAIL(line, "str() of a %s is not supported", pv_type(&a[0].v));
    } else if (strcmp(name, "os.uname") == 0 && n == 0) {
        struct utsname u;
        if (uname(&u) != 0)
            memset(&u, 0, sizeof(u));
        const char *f5[5] = { u.sysname, u.nodename, u.release, u.version, u.machine };
        out->k = P_TUPLE;
        out->it = vmd_xcalloc(5, sizeof(pv));
        out->n = 5;
        for (int i = 0; i < 5; i++)
            out->it[i] = (pv){ .k = P_STR, .s = vmd_xstrdup(f5[i]), .line = line };
    } else if (strcmp(name, "re.search") == 0 && n == 2 && !a[0].kw && !a[1].kw &&
               a[0].v.k == P_STR && a[1].v.k == P_STR) {
        regex_t re;
        if (regcomp(&re, a[0].v.s, REG_EXTENDED | REG_NOSUB) != 0) {
            ok = PFAIL(line, "re.search: '%s' is not a pattern this parser reads", a[0].v.s);
        } else {
            bool m = regexec(&re, a[1].v.s, 0, NULL, 0) == 0;
            regfree(&re);
            if (m)      /* a match object: only its truth is used */
                out->k = P_BOOL, out->i = 1;
        }
    } else if (strcmp(name, "xm_vars.var") == 0 && n >= 1 && !a[0].kw && a[0].v.k == P_STR) {
        vmd_grow(&P->cv, &P->capcv, P->ncv + 1, sizeof(*P->cv));
        checkvar *c = &P->cv[P->ncv++];
        memset(c, 0, sizeof(*c));
        c->name = vmd_xstrdup(a[0].v.s);
        c->line = line;
        for (size_t i = 1; i < n && ok; i++) {
            if (a[i].kw && strcmp(a[i].kw, "use") == 0 && a[i].v.k == P_STR)
                c->use = vmd_xstrdup(a[i].v.s);
            else if (a[i].kw && strcmp(a[i].kw, "check") == 0 && a[i].v.k == P_FUNC)
                c->checked = true;
            else
                ok = PFAIL(line, "xm_vars.var(NAME, use=STRING, check=FUNCTION) is the "
                           "supported form");
        }
    } else if (strcmp(name, "xm_vars.check") == 0 && n == 0) {
        for (size_t i = 0; i < P->ncv && ok; i++) {
            checkvar *c = &P->cv[i];
            binding *b = lookup(P, c->name, strlen(c->name));
            if (!b || b->v.k == P_NONE) {
                ok = PFAIL(line, "variable '%s' must be given on the command line "
                           "(%s=VALUE)%s%s", c->name, c->name, c->use ? ": " : "",
                           c->use ? c->use : "");
                break;
            }
            if (!c->checked)
                continue;
            /* the shipped check idiom: int(val), positive */
            int64_t x = 0;
            char *end = NULL;
            bool num = b->v.k == P_INT;
            if (num)
                x = b->v.i;
            else if (b->v.k == P_STR) {
                errno = 0;
                x = strtoll(b->v.s, &end, 10);
                num = *b->v.s && !*end && !errno;
            }
            if (!num || x <= 0) {
                ok = PFAIL(line, "variable '%s' must be a positive integer%s%s", c->name,
                           c->use ? ": " : "", c->use ? c->use : "");
                break;
            }
            pv_free(&b->v);
            b->v = (pv){ .k = P_INT, .i = x, .line = line };
            b->converted = b->from_cmdline;
        }
    } else {
        ok = PFAIL(line, "the function %s() is not supported (this parser reads config values, "
                   "it does not run Python)", name);
    }
    args_free(a, n);
    if (!ok)
        pv_free(out);
    return ok;
}

/* ---- statements ---------------------------------------------------------- */

static bool block(parser *P, unsigned indent, bool run);

/* Skips the rest of the statement and the indented block after it. */
static void skip_block(parser *P, unsigned indent)
{
    while (CUR->k != T_NL && CUR->k != T_EOF)
        P->i++;
    if (CUR->k == T_NL)
        P->i++;
    while (CUR->k != T_EOF && CUR->bol && CUR->col > indent) {
        while (CUR->k != T_NL && CUR->k != T_EOF)
            P->i++;
        if (CUR->k == T_NL)
            P->i++;
    }
}

static bool end_of_stmt(parser *P)
{
    if (CUR->k == T_NL) {
        P->i++;
        return true;
    }
    if (CUR->k == T_EOF)
        return true;
    if (is_op(CUR, ";"))
        return PFAIL(CUR->line, "';' is not supported: one statement per line");
    return PFAIL(CUR->line, "unexpected '%.*s' after the statement", (int)CUR->len, CUR->p);
}

/* The body after ':' of if/elif/else, taken or skipped. */
static bool suite(parser *P, unsigned indent, bool run)
{
    if (!expect(P, ":"))
        return false;
    if (CUR->k != T_NL) {           /* `if x: a = 1` */
        if (!run) {
            skip_block(P, indent);
            return true;
        }
        return block(P, CUR->col, run) ;
    }
    P->i++;
    if (!CUR->bol || CUR->k == T_EOF || CUR->col <= indent)
        return PFAIL(CUR->line, "an indented block is expected");
    if (!run) {
        unsigned c = CUR->col;
        while (CUR->k != T_EOF && CUR->col >= c && CUR->bol)
            skip_block(P, c);
        return true;
    }
    return block(P, CUR->col, true);
}

static bool stmt(parser *P, unsigned indent, bool run)
{
    tok *t = CUR;
    if (is_kw(t, "import")) {
        P->i++;
        for (;;) {
            if (CUR->k != T_NAME)
                return PFAIL(t->line, "import: a module name is expected");
            static const char *const ok[] = { "os", "re", "sys", NULL };
            bool allowed = false;
            for (int i = 0; ok[i]; i++)
                allowed |= is_kw(CUR, ok[i]);
            if (!allowed)
                return PFAIL(t->line, "import of '%.*s': only os, re and sys may be imported",
                             (int)CUR->len, CUR->p);
            P->i++;
            if (is_op(CUR, ".") && P->L.t[P->i + 1].k == T_NAME) {  /* os.path */
                P->i += 2;
            }
            if (!is_op(CUR, ","))
                break;
            P->i++;
        }
        return end_of_stmt(P);
    }
    if (is_kw(t, "pass")) {
        P->i++;
        return end_of_stmt(P);
    }
    if (is_kw(t, "def")) {
        P->i++;
        if (CUR->k != T_NAME)
            return PFAIL(t->line, "def: a function name is expected");
        char *name = vmd_xstrndup(CUR->p, CUR->len);
        /* only the xm_vars check idiom: the body is never run */
        vmd_grow(&P->fns, &P->capfns, P->nfns + 1, sizeof(*P->fns));
        P->fns[P->nfns++] = name;
        skip_block(P, indent);
        return true;
    }
    if (is_kw(t, "if")) {
        bool taken = false;
        for (;;) {
            P->i++;
            bool cond = false;
            if (run && !taken) {
                pv c;
                if (!expr(P, &c))
                    return false;
                cond = truthy(&c);
                pv_free(&c);
            } else {
                while (!is_op(CUR, ":") && CUR->k != T_NL && CUR->k != T_EOF)
                    P->i++;
            }
            if (!suite(P, indent, run && !taken && cond))
                return false;
            taken |= cond;
            if (CUR->bol && CUR->col == indent && is_kw(CUR, "elif"))
                continue;
            if (CUR->bol && CUR->col == indent && is_kw(CUR, "else")) {
                P->i++;
                return suite(P, indent, run && !taken);
            }
            return true;
        }
    }
    if (t->k == T_NAME && is_op(&P->L.t[P->i + 1], "=")) {
        char *name = vmd_xstrndup(t->p, t->len);
        P->i += 2;
        pv v;
        if (!expr(P, &v)) {
            free(name);
            return false;
        }
        if (is_op(CUR, ",")) {
            free(name);
            pv_free(&v);
            return PFAIL(t->line, "a tuple is not a config value");
        }
        bool ok = end_of_stmt(P);
        if (ok && run) {
            static const char *const ro[] = { "os", "re", "sys", "xm_vars", "xm_file",
                                              "xm_help", NULL };
            for (int i = 0; ro[i] && ok; i++)
                if (strcmp(name, ro[i]) == 0)
                    ok = PFAIL(t->line, "'%s' cannot be assigned", name);
            if (ok)
                bind(P, name, v, t->line, false);
            else
                pv_free(&v);
        } else {
            pv_free(&v);
        }
        free(name);
        return ok;
    }
    if (t->k == T_NAME && is_op(&P->L.t[P->i + 1], "+="))
        return PFAIL(t->line, "'+=' is not supported: write %.*s = %.*s + ...", (int)t->len,
                     t->p, (int)t->len, t->p);
    if (is_kw(t, "xm_vars")) {      /* xm_vars.var(...) / xm_vars.check() */
        pv v;
        if (!expr(P, &v))
            return false;
        pv_free(&v);
        return end_of_stmt(P);
    }
    if (t->k == T_NAME) {
        static const char *const kws[] = { "for", "while", "class", "return", "lambda",
                                           "from", "exec", "print", "del", "global", "try",
                                           "with", "raise", "assert", "yield", NULL };
        for (int i = 0; kws[i]; i++)
            if (is_kw(t, kws[i]))
                return PFAIL(t->line, "'%s' is not supported (this parser reads config values, "
                             "it does not run Python)", kws[i]);
    }
    return PFAIL(t->line, "expected NAME = VALUE");
}

static bool block(parser *P, unsigned indent, bool run)
{
    while (CUR->k != T_EOF) {
        if (!CUR->bol) {
            /* the one-line body of `if x: stmt` */
            return stmt(P, indent, run);
        }
        if (CUR->col < indent)
            return true;
        if (CUR->col > indent)
            return PFAIL(CUR->line, "unexpected indentation");
        if (!stmt(P, indent, run))
            return false;
    }
    return true;
}

/* ---- conversion to settings ---------------------------------------------- */

static bool to_lval(parser *P, const char *name, const pv *v, lval *out, unsigned depth)
{
    switch (v->k) {
    case P_INT:
    case P_BOOL:
        *out = lval_int(v->i, v->line);
        return true;
    case P_STR:
        if (vmd_utf8_valid((const unsigned char *)v->s, strlen(v->s)) != strlen(v->s) ||
            !vmd_text_ok(v->s))
            return PFAIL(v->line, "%s: the string is not UTF-8 text once its escapes are "
                         "decoded (control characters other than TAB, LF, CR are refused)", name);
        *out = lval_str(v->s, v->line);
        return true;
    case P_LIST:
        if (depth > 4)
            return PFAIL(v->line, "%s: lists nested too deeply", name);
        *out = lval_list(v->line);
        for (size_t i = 0; i < v->n; i++) {
            lval x;
            if (v->it[i].k == P_NONE)
                continue;
            if (!to_lval(P, name, &v->it[i], &x, depth + 1)) {
                lval_free(out);
                return false;
            }
            lval_push(out, x);
        }
        return true;
    default:
        return PFAIL(v->line, "%s: a %s is not a config value", name, pv_type(v));
    }
}

bool vmd_cfg_parse(const char *buf, size_t len, const vmd_parse_opts *o, lconf *c, vmd_err *err)
{
    parser P0 = { 0 }, *P = &P0;
    P->o = o;
    P->L = (lexer){ .b = buf, .p = buf, .end = buf + len, .line = 1,
                    .file = o && o->filename ? o->filename : "<string>", .err = err };
    bool ok = lex(&P->L);
    /* the namespace xm gave a config file */
    bind(P, "xm_file", (pv){ .k = P_STR, .s = vmd_xstrdup(P->L.file) }, 0, false);
    bind(P, "xm_help", (pv){ .k = P_INT, .i = 0 }, 0, false);
    const vmd_vars *vars = o ? o->vars : NULL;
    for (size_t i = 0; vars && i < vars->n; i++)
        bind(P, vars->v[i].key, (pv){ .k = P_STR, .s = vmd_xstrdup(vars->v[i].value) }, 0, true);
    if (ok)
        ok = block(P, 0, true);
    if (ok && CUR->k != T_EOF)
        ok = PFAIL(CUR->line, "unexpected indentation");
    /* the variables, command-line values winning (list ones repeat) */
    for (size_t i = 0; ok && i < P->nb; i++) {
        binding *b = &P->b[i];
        if (strcmp(b->name, "xm_file") == 0 || strcmp(b->name, "xm_help") == 0)
            continue;
        bool cmdline = false;
        for (size_t j = 0; vars && j < vars->n; j++)
            cmdline |= strcmp(vars->v[j].key, b->name) == 0;
        if (cmdline)
            continue;
        if (b->v.k == P_NONE)
            continue;       /* None: unset */
        if (!vmd_legacy_known(b->name) && b->used)
            continue;       /* a helper variable (arch_libdir, vmid...) */
        lval v;
        if (!(ok = to_lval(P, b->name, &b->v, &v, 0)))
            break;
        lconf_set(c, b->name, v, b->line, true);
    }
    for (size_t j = 0; ok && vars && j < vars->n; j++) {
        const char *k = vars->v[j].key;
        binding *b = lookup(P, k, strlen(k));
        bool helper = !vmd_legacy_known(k) && b && b->used;
        if (helper)
            continue;
        if (vmd_legacy_is_list(k)) {
            const lsetting *s = lconf_get(c, k);
            if (s && s->v.t == LV_LIST) {
                lval_push(&((lsetting *)s)->v, lval_str(vars->v[j].value, 0));
                continue;
            }
            lval l = lval_list(0);
            lval_push(&l, lval_str(vars->v[j].value, 0));
            lconf_set(c, k, l, 0, true);
        } else {
            /* a checked xm_vars variable holds its converted value */
            if (b && b->converted)
                lconf_set(c, k, lval_int(b->v.i, 0), 0, true);
            else
                lconf_set(c, k, lval_str(vars->v[j].value, 0), 0, true);
        }
    }
    for (size_t i = 0; i < P->L.n; i++)
        free(P->L.t[i].s);
    free(P->L.t);
    for (size_t i = 0; i < P->nb; i++) {
        free(P->b[i].name);
        pv_free(&P->b[i].v);
    }
    free(P->b);
    for (size_t i = 0; i < P->nfns; i++)
        free(P->fns[i]);
    free(P->fns);
    for (size_t i = 0; i < P->ncv; i++) {
        free(P->cv[i].name);
        free(P->cv[i].use);
    }
    free(P->cv);
    return ok;
}

/* ---- writer -------------------------------------------------------------- */

static void write_value(xbuf *b, const lval *v)
{
    if (v->t == LV_INT)
        xbuf_printf(b, "%" PRId64, v->i);
    else if (v->t == LV_STR)
        vmd_py_quote(b, v->s);
    else {
        xbuf_puts(b, "[");
        bool multi = v->n > 1;
        for (size_t i = 0; i < v->n; i++) {
            xbuf_puts(b, multi ? "\n    " : " ");
            write_value(b, &v->items[i]);
            xbuf_puts(b, multi ? "," : " ");
        }
        xbuf_puts(b, multi ? "\n]" : "]");
    }
}

char *vmd_cfg_write(const lconf *c)
{
    xbuf b = { 0 };
    xbuf_puts(&b, "# -*- mode: python; -*-\n# xm domain configuration (see xmdomain.cfg(5))\n");
    for (size_t i = 0; i < c->n; i++) {
        xbuf_printf(&b, "%s = ", c->v[i].name);
        write_value(&b, &c->v[i].v);
        xbuf_puts(&b, "\n");
    }
    return xbuf_steal(&b, NULL);
}
