/* transpose.h — row-major caller rows → the evaluators' column-wise block. */
#ifndef MR_TRANSPOSE_H
#define MR_TRANSPOSE_H

#include <stddef.h>

/* blk[f*stride + r] = x[r*ld + f] for r < n, f < nf. Pure data movement:
 * every variant gives the same bits. */
void mr_transpose_rows(const double *x, size_t ld, size_t nf, size_t n, double *blk,
                       size_t stride);
/* The same, and 1 if every value moved is finite for sure, 0 if one may not
 * be: the values are summed as they pass (a sum of doubles is finite only if
 * every term is; one that overflowed says 0 too, so the caller then looks at
 * each value). The Arrow row-major batches' check, at one addition per four
 * values. */
int mr_transpose_rows_finite(const double *x, size_t ld, size_t nf, size_t n, double *blk,
                             size_t stride);

#endif
