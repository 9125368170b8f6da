/* npy.h — NumPy .npy v1/v2/v3 headers: parse (input) and write (output). */
#ifndef MR_NPY_H
#define MR_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "marsreplay.h"

typedef enum { MR_NPY_F64 = 0, MR_NPY_F32 = 1 } mr_npy_dtype;

typedef struct mr_npy_header {
    mr_npy_dtype dtype;   /* only little-endian '<f8' and '<f4' are accepted */
    uint64_t rows;        /* shape[0] */
    uint64_t cols;        /* shape[1]; a 1-D shape (n,) is rejected */
    size_t header_bytes;  /* offset of the first data byte from the start of the file */
} mr_npy_header;

#define MR_NPY_MAGIC "\x93NUMPY"
#define MR_NPY_MAGIC_LEN 6

/* Parse the header at buf[0..len). Returns
 *  MR_OK and *h;
 *  MR_AGAIN when len is too short to hold the whole header (call again with
 *    more bytes; *need is then set to the total bytes needed, when known);
 *  MR_E_PARSE with err->text describing the problem (bad magic, unsupported
 *    version, malformed dict, big-endian/other dtype, fortran_order True,
 *    not 2-D, shape whose byte size overflows uint64).
 * Never reads past buf[len-1]. */
mr_status mr_npy_parse_header(const unsigned char *buf, size_t len, mr_npy_header *h,
                              size_t *need, mr_error *err);

/* Write a v1.0 header for a C-order little-endian array of `rows` x `cols`
 * float64 (cols == 0 means a 1-D array of `rows` elements) into buf (cap >=
 * 128). The total header length is a multiple of 64 bytes as NumPy writes it.
 * The shape text is padded with spaces so that the header can be rewritten in
 * place with a different row count of up to 20 digits without changing its
 * length. Returns the number of bytes written, 0 if cap is too small. */
size_t mr_npy_write_header(unsigned char *buf, size_t cap, uint64_t rows, uint64_t cols);
/* The same for a float32 or float64 array (mr_input_part's part headers). */
size_t mr_npy_write_header_dtype(unsigned char *buf, size_t cap, uint64_t rows, uint64_t cols,
                                 mr_npy_dtype dtype);
/* The same, always 2-D: shape (rows, cols) also for cols == 0 (the design
 * matrix of a model without terms: a valid empty array, no data bytes). */
size_t mr_npy_write_matrix_header(unsigned char *buf, size_t cap, uint64_t rows, uint64_t cols);

#endif
