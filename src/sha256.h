/* sha256.h — SHA-256 (FIPS 180-4): model identity, and the output in --report. */
#ifndef MR_SHA256_H
#define MR_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* A digest over pieces (the CLI hashes its output file for --report). */
typedef struct mr_sha256 {
    uint32_t h[8];
    unsigned char buf[64];
    size_t n;
    uint64_t len;
} mr_sha256;
void mr_sha256_init(mr_sha256 *s);
void mr_sha256_update(mr_sha256 *s, const void *data, size_t len);
void mr_sha256_final(mr_sha256 *s, char hex[65]);

/* Write the lower-case hex digest of data[0..len) plus a NUL into hex[65]. */
void mr_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
