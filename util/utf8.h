/* utf8: writing a code point as UTF-8, for the codecs (XML-RPC's
 * character references, JSON's \u escapes); reading is xv_utf8_seq(). */
#ifndef XEND_UTIL_UTF8_H
#define XEND_UTIL_UTF8_H

#include <stdint.h>

#include "util/xv.h"

/* Append the code point cp (the caller checked it is one: at most U+10FFFF,
 * not a surrogate) to b as UTF-8. */
static inline void xbuf_add_utf8(xbuf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    xbuf_add(b, u, n);
}

#endif
