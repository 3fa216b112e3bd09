/* libFuzzer harness for the xend.conf parser (config/xendconf.c): every
 * input is read as a configuration file; one that loads is checked once
 * more by loading it again, which must give the same answer (abort()
 * otherwise).  Seeds in fuzz/corpus/xendconf/. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/xendconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool load(const uint8_t *data, size_t size, xend_config *c)
{
    /* fmemopen of 0 bytes fails: an empty file is one empty line away */
    static const uint8_t empty[] = "\n";
    FILE *f = fmemopen((void *)(size ? data : empty), size ? size : 1, "r");
    if (!f)
        abort();
    char *err = NULL;
    bool ok = xend_config_load_stream(c, f, "fuzz.conf", &err);
    if (!ok && !err)
        abort();                /* every refusal says why */
    free(err);
    fclose(f);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xend_config c, again;
    xend_config_init(&c);
    xend_config_init(&again);
    bool ok = load(data, size, &c);
    if (load(data, size, &again) != ok)
        abort();
    if (ok) {
        char *d = c.n_listeners ? xend_listener_describe(&c.listeners[0]) : NULL;
        free(d);
    }
    xend_config_dispose(&c);
    xend_config_dispose(&again);
    return 0;
}
