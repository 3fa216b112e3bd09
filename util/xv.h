/* xv: an XML-RPC value tree, shared by the daemon and libxen.
 *
 * Ownership: every xv is owned by exactly one parent (array, struct) or by
 * the caller that created it.  xv_free() frees a whole tree; xv_free(NULL) is
 * a no-op.  Functions taking "xv *v" and named *_add or *_set take ownership of v.
 * Getters return borrowed pointers valid while the tree lives.
 */
#ifndef XEND_XV_H
#define XEND_XV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum xv_kind {
    XV_NIL = 0,   /* <nil/>: accepted on input, never emitted by xend      */
    XV_STRING,    /* <string> or untyped <value>                           */
    XV_INT,       /* <int>/<i4>/<i8> on input; always emitted as <string>  */
    XV_DOUBLE,    /* <double>                                              */
    XV_BOOL,      /* <boolean>0|1</boolean>                                */
    XV_DATETIME,  /* <dateTime.iso8601>, text kept as "YYYYMMDDTHH:MM:SS"  */
    XV_BASE64,    /* <base64>, text kept as sent (not decoded)             */
    XV_ARRAY,     /* <array><data>...</data></array> (or <array/>)         */
    XV_STRUCT,    /* <struct><member>... in insertion order                */
} xv_kind;

typedef struct xv xv;
typedef struct xv_shared xv_shared;
struct xv {
    xv_kind kind;
    union {
        /* STRING DATETIME BASE64; shared is NULL except for xv_encoded values */
        struct { char *s; size_t len; xv_shared *shared; } str;
        int64_t i;                                          /* INT */
        double d;                                           /* DOUBLE */
        bool b;                                             /* BOOL */
        struct { xv **items; size_t n, cap; } arr;          /* ARRAY */
        struct { char **keys; xv **vals; size_t n, cap; } st; /* STRUCT */
    } u;
};

/* Constructors: return a new owned value; abort() only on out-of-memory. */
xv *xv_nil(void);
xv *xv_str(const char *s);                 /* copies s; NULL is taken as "" */
xv *xv_strn(const char *s, size_t len);    /* copies len bytes */
xv *xv_str_take(char *s);                  /* takes ownership of malloc'd s */
xv *xv_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
xv *xv_int(int64_t i);
xv *xv_double(double d);
xv *xv_bool(bool b);
xv *xv_datetime(const char *iso);          /* "YYYYMMDDTHH:MM:SS" */
xv *xv_datetime_t(int64_t unix_time);      /* UTC */
xv *xv_array(void);
xv *xv_struct(void);
xv *xv_dup(const xv *v);                   /* deep copy; xv_dup(NULL) = NULL */
void xv_free(xv *v);

/* Arrays */
void xv_array_add(xv *arr, xv *item);                   /* takes item */
/* Structs: members keep insertion order; a duplicate key replaces the value. */
void xv_struct_set(xv *st, const char *key, xv *val);   /* takes val, copies key */
xv *xv_struct_get(const xv *st, const char *key);       /* borrowed or NULL */
/* Append a member without looking for an existing key (O(1)): the caller
 * guarantees key is not present yet.  Takes val, copies key. */
void xv_struct_append(xv *st, const char *key, xv *val);
/* The same, taking the malloc'd key too (freed with val if st is no struct). */
void xv_struct_append_take(xv *st, char *key, xv *val);
bool xv_struct_del(xv *st, const char *key);            /* true if it existed */

/* Deep equality (kind and value; struct members compared by key, any order). */
bool xv_equal(const xv *a, const xv *b);

/* Reading scalars leniently: an XV_STRING holding a decimal integer reads as
 * an int, "1"/"0"/"true"/"false" as bool.  Return false if not convertible. */
bool xv_get_int(const xv *v, int64_t *out);
bool xv_get_bool(const xv *v, bool *out);
bool xv_get_double(const xv *v, double *out);
/* Any of the three: v as a scalar of kind want (XV_INT, XV_BOOL or
 * XV_DOUBLE) into *out (an int64_t, bool or double; may be NULL). */
bool xv_get_scalar(const xv *v, xv_kind want, void *out);
/* v read as above as a new value of kind want (XV_INT, XV_BOOL or
 * XV_DOUBLE); NULL if it does not convert. */
xv *xv_convert(const xv *v, xv_kind want);
/* Strict decimal int64 parse of exactly len bytes: optional sign, digits,
 * no whitespace, range-checked. */
bool xv_parse_int(const char *s, size_t len, int64_t *out);
/* The same for an unsigned decimal of exactly len bytes: digits only. */
bool xv_parse_uint(const char *s, size_t len, uint64_t *out);

/* The well-formed UTF-8 sequence at s (n bytes available): its length
 * (1..4) and *cp_r its code point, or 0 (overlong, a surrogate, beyond
 * U+10FFFF, cut short, not a lead byte; *cp_r untouched). */
size_t xv_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp_r);

/* A growable byte buffer used by the encoders.  data[len] is always '\0'
 * once anything was added. */
typedef struct xbuf { char *data; size_t len, cap; } xbuf;
void xbuf_init(xbuf *b);
void xbuf_free(xbuf *b);
void xbuf_reserve(xbuf *b, size_t n);    /* room for n more bytes (and the NUL) */
void xbuf_add(xbuf *b, const char *s, size_t n);
void xbuf_puts(xbuf *b, const char *s);
void xbuf_printf(xbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xbuf_add_escaped(xbuf *b, const char *s, size_t n);   /* XML text escaping */
char *xbuf_steal(xbuf *b, size_t *len_r);                   /* NUL-terminated; buffer reset */

/* A value already encoded: the text of exactly one XML-RPC <value> element,
 * as xmlrpc_encode_value writes it, which xmlrpc_encode_value emits verbatim.
 * Used to answer with data encoded straight from its source (no copy into a
 * tree).  It reads as an XV_STRING holding that text; the text is immutable
 * and shared between copies (xv_dup is O(1), reference counted; copies may
 * be freed by different threads).  Takes b's contents; b is reset. */
xv *xv_encoded_take(xbuf *b);
bool xv_is_encoded(const xv *v);

#endif
