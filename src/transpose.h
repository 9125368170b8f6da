/* transpose.h — row-major caller rows → the evaluators' column-wise block. */
#ifndef MR_TRANSPOSE_H
#define MR_TRANSPOSE_H

#include <stddef.h>

/* blk[f*stride + r] = x[r*ld + f] for r < n, f < nf. Pure data movement:
 * every variant gives the same bits. */
void mr_transpose_rows(const double *x, size_t ld, size_t nf, size_t n, double *blk,
                       size_t stride);

#endif
