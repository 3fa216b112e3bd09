/* simimage: suspend images and core dumps of simulated domains. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenops/sim/simimage.h"

uint32_t sim_crc32(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;

    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v = 0;

    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* d's image: header, domain record, payload; malloc'd, its size in *len_r.  NULL on OOM. */
static unsigned char *sim_image_build(const char *magic, const sim_dom *d, size_t *len_r)
{
    char *cfg = sim_dom_format(d);
    unsigned char *buf;
    size_t cl, total;
    uint64_t x = 0x9E3779B97F4A7C15ull ^ d->domid;

    if (!cfg)
        return NULL;
    cl = strlen(cfg);
    total = SIM_IMAGE_HEADER + cl + SIM_IMAGE_PAYLOAD;
    buf = calloc(1, total);
    if (!buf) {
        free(cfg);
        return NULL;
    }
    memcpy(buf, magic, 8);
    put32(buf + 8, 1);
    put32(buf + 12, (uint32_t)cl);
    put64(buf + 16, SIM_IMAGE_PAYLOAD);
    memcpy(buf + SIM_IMAGE_HEADER, cfg, cl);
    free(cfg);
    /* "Guest memory": a xorshift stream seeded from the uuid. */
    for (const char *u = d->uuid; *u; u++)
        x = (x ^ (unsigned char)*u) * 0x100000001B3ull;
    for (size_t i = 0; i < SIM_IMAGE_PAYLOAD; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[SIM_IMAGE_HEADER + cl + i] = (unsigned char)x;
    }
    put32(buf + 24, sim_crc32(0, buf + SIM_IMAGE_HEADER, cl + SIM_IMAGE_PAYLOAD));
    *len_r = total;
    return buf;
}

int sim_image_write(const char *path, const char *magic, const sim_dom *d, xo_error *err)
{
    size_t total = 0;
    unsigned char *buf = sim_image_build(magic, d, &total);
    int rc = -1;

    if (!buf)
        xo_error_set(err, XO_E_FAIL, "out of memory");
    else if (!path || !*path || sim_write_atomic(path, buf, total) < 0)
        xo_error_set(err, XO_E_FAIL, "writing image %s: %s", path ? path : "",
                     path && *path ? strerror(errno) : "no path");
    else
        rc = 0;
    free(buf);
    return rc;
}

/* Check the header, lengths and CRC of the image in buf (len bytes); the
 * length of its domain record in *cl_r.  -1 with XO_E_INVAL. */
static int sim_image_check(const unsigned char *buf, size_t len, const char *path,
                           const char *magic, uint32_t *cl_r, xo_error *err)
{
    uint32_t cl;
    uint64_t pl;

    if (len < SIM_IMAGE_HEADER || memcmp(buf, magic, 8) != 0) {
        xo_error_set(err, XO_E_INVAL, "image %s: not a sim image", path);
        return -1;
    }
    cl = get32(buf + 12);
    pl = get64(buf + 16);
    if (get32(buf + 8) != 1) {
        xo_error_set(err, XO_E_INVAL, "image %s: unsupported version %u", path, get32(buf + 8));
        return -1;
    }
    /* like a real save stream, the image ends where its lengths say: data
     * after it (VM.save appends the VM's record) is not the backend's */
    if (cl > (1u << 20) || pl > (32u << 20) || len < SIM_IMAGE_HEADER + cl + pl) {
        xo_error_set(err, XO_E_INVAL, "image %s: truncated or bad lengths", path);
        return -1;
    }
    if (sim_crc32(0, buf + SIM_IMAGE_HEADER, cl + pl) != get32(buf + 24)) {
        xo_error_set(err, XO_E_INVAL, "image %s: checksum mismatch", path);
        return -1;
    }
    *cl_r = cl;
    return 0;
}

int sim_image_read(const char *path, const char *magic, sim_dom *d, xo_error *err)
{
    size_t len = 0;
    unsigned char *buf = (unsigned char *)sim_read_file(path ? path : "", 64u << 20, &len);
    uint32_t cl;
    char why[128];
    int rc = -1;

    if (!buf) {
        xo_error_set(err, XO_E_INVAL, "image %s: %s", path ? path : "", strerror(errno));
        return -1;
    }
    if (sim_image_check(buf, len, path, magic, &cl, err) == 0) {
        /* The record ends where the payload starts (or at the file's NUL). */
        buf[SIM_IMAGE_HEADER + cl] = '\0';
        if (sim_dom_parse((const char *)buf + SIM_IMAGE_HEADER, d, why, sizeof(why)) < 0)
            xo_error_set(err, XO_E_INVAL, "image %s: bad domain record: %s", path, why);
        else
            rc = 0;
    }
    free(buf);
    return rc;
}
