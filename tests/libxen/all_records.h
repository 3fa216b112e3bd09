/* The generated get_all_records table (libxen/gen/all_records.c). */
#ifndef AR_ALL_RECORDS_H
#define AR_ALL_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <xen/api/xen_all.h>

typedef struct ar_result {
    bool ok;            /* get_all_records succeeded */
    size_t n;           /* records returned */
    size_t n_all;       /* refs from get_all ((size_t)-1 if it failed) */
    bool record_ok;     /* get_record of the first ref succeeded */
    size_t bad;         /* records with a wrong handle or uuid */
} ar_result;

typedef struct ar_case {
    const char *name;
    void (*run)(xen_session *s, ar_result *r);
} ar_case;

extern const ar_case ar_cases[];
extern const size_t ar_ncases;

#endif
