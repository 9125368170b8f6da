/* sha256.h — SHA-256 (FIPS 180-4) of a byte buffer, for model identity. */
#ifndef MR_SHA256_H
#define MR_SHA256_H

#include <stddef.h>

/* Write the lower-case hex digest of data[0..len) plus a NUL into hex[65]. */
void mr_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
