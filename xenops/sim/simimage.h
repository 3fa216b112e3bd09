/* simimage: the sim backend's suspend images and core dumps.
 * Layout (little-endian), documented in docs/sim-backend.md:
 *   0  char[8]  magic ("XSIMIMG1" or "XSIMCOR1")
 *   8  u32      version (1)
 *  12  u32      config_len
 *  16  u64      payload_len
 *  24  u32      crc32 of config || payload
 *  28  u32      reserved (0)
 *  32  config_len bytes: the domain record (simfile text)
 *      payload_len bytes: simulated guest memory
 */
#ifndef XEND_SIMIMAGE_H
#define XEND_SIMIMAGE_H

#include "xenops/sim/simfile.h"

#define SIM_IMAGE_MAGIC "XSIMIMG1"
#define SIM_CORE_MAGIC "XSIMCOR1"
#define SIM_IMAGE_HEADER 32
#define SIM_IMAGE_PAYLOAD 8192

/* Write d's image to path atomically; -1 with err (XO_E_FAIL). */
int sim_image_write(const char *path, const char *magic, const sim_dom *d, xo_error *err);
/* Read and validate; the saved record in *d.  -1 with XO_E_INVAL. */
int sim_image_read(const char *path, const char *magic, sim_dom *d, xo_error *err);

uint32_t sim_crc32(uint32_t crc, const void *data, size_t len);

#endif
