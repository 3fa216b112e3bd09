/* uuid: hex digits and UUIDs, for every layer (header only). */
#ifndef XEND_UTIL_UUID_H
#define XEND_UTIL_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The value of hex digit c (either case), -1 if c is not one. */
static inline int xhexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ---- UUIDs: 36 characters, hex digits with dashes after the 8th, 12th,
 * 16th and 20th ---- */

#define XUUID_STRLEN 36

static inline bool xuuid_dash_at(size_t i)
{
    return i == 8 || i == 13 || i == 18 || i == 23;
}

/* Is s a UUID (any case)? */
static inline bool xuuid_valid(const char *s)
{
    if (strlen(s) != XUUID_STRLEN)
        return false;
    for (size_t i = 0; i < XUUID_STRLEN; i++)
        if (xuuid_dash_at(i) ? s[i] != '-' : xhexval((unsigned char)s[i]) < 0)
            return false;
    return true;
}

/* Mark 16 random or hashed bytes as a version 4 (random) UUID's. */
static inline void xuuid_mark_v4(unsigned char b[16])
{
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
}

/* The UUID of 16 bytes, in lower case, into out (XUUID_STRLEN + 1 bytes). */
static inline void xuuid_format(const unsigned char b[16], char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0; /* hex digits written */
    for (size_t i = 0; i < XUUID_STRLEN; i++) {
        if (xuuid_dash_at(i)) {
            out[i] = '-';
            continue;
        }
        out[i] = hex[n % 2 ? b[n / 2] & 15 : b[n / 2] >> 4];
        n++;
    }
    out[XUUID_STRLEN] = '\0';
}

/* The 16 bytes of UUID s; false if s is not one. */
static inline bool xuuid_parse(const char *s, unsigned char b[16])
{
    if (!xuuid_valid(s))
        return false;
    size_t n = 0; /* hex digits read */
    for (size_t i = 0; i < XUUID_STRLEN; i++) {
        if (xuuid_dash_at(i))
            continue;
        int v = xhexval((unsigned char)s[i]);
        b[n / 2] = (unsigned char)(n % 2 ? b[n / 2] << 4 | v : v);
        n++;
    }
    return true;
}

#endif
