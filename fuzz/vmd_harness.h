/* One libFuzzer harness for the three VM config parsers (config/vmdesc.h):
 * fuzz_cfg.c, fuzz_sxp.c and fuzz_xml.c define VMD_FUZZ_FORMAT and include
 * this.  Besides "no crash, no leak, no undefined behaviour", it checks an
 * oracle: a description the parser accepts is written in every format,
 * and what a writer produced without warnings parses back to an equal
 * description (abort() otherwise, which the fuzzer reports). */
#ifndef XEND_FUZZ_VMD_HARNESS_H
#define XEND_FUZZ_VMD_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/vmdesc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void vmd_fuzz_roundtrip(const vmdesc *d)
{
    static const vmd_format fmts[] = { VMD_FMT_CFG, VMD_FMT_SXP, VMD_FMT_XML };
    for (int i = 0; i < 3; i++) {
        char *out = NULL;
        vmd_diag w = { 0 };
        vmd_err e;
        if (!vmd_write(d, fmts[i], &out, &w, &e))
            abort();
        vmdesc d2;
        vmd_parse_opts o = { .format = fmts[i], .filename = "fuzz-roundtrip" };
        bool ok = vmd_parse_buffer(out, strlen(out), &o, &d2, &e);
        if (w.n == 0) {
            char why[300], eb[700];
            if (!ok) {
                fprintf(stderr, "written %s does not parse: %s\n%s\n", vmd_format_name(fmts[i]),
                        vmd_err_str(&e, eb, sizeof(eb)), out);
                abort();
            }
            if (!vmdesc_equal(d, &d2, why, sizeof(why))) {
                fprintf(stderr, "%s round trip differs: %s\n%s\n", vmd_format_name(fmts[i]), why,
                        out);
                abort();
            }
        }
        if (ok)
            vmdesc_free(&d2);
        vmd_diag_free(&w);
        free(out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vmd_vars vars = { 0 };
    vmd_err e;
    vmd_vars_add(&vars, "vmid=3", &e);      /* for inputs that use xm_vars */
    vmd_diag w = { 0 };
    vmd_parse_opts o = { .format = VMD_FUZZ_FORMAT, .filename = "fuzz", .vars = &vars,
                         .warnings = &w };
    vmdesc d;
    if (vmd_parse_buffer((const char *)data, size, &o, &d, &e)) {
        vmd_plan p;
        if (vmd_plan_build(&d, NULL, &p, &e)) {
            free(vmd_plan_text(&p));
            vmd_plan_free(&p);
        }
        vmd_fuzz_roundtrip(&d);
        vmdesc_free(&d);
    }
    vmd_diag_free(&w);
    vmd_vars_free(&vars);
    return 0;
}

#endif
