/* floor_kernels.h — the floors' row loops (floor_kernels.c), compiled in two translation
 * units with their own flags (bench/run): the scalar floor without vectorisation, the
 * vector floors with the release flags. Each computes out[r] for rows r0 <= r < r1 of the
 * row-major array x (ld doubles per row). */
#ifndef FLOOR_KERNELS_H
#define FLOOR_KERNELS_H

#include <stddef.h>

typedef void floor_run_fn(const double *x, size_t r0, size_t r1, size_t ld, double *out);

/* -DFLOOR_SCALAR unit: one row at a time, and the model it was generated from */
floor_run_fn floor_run_scalar;
extern const char floor_model_name[];
extern const size_t floor_model_nf, floor_model_nterms;

/* vector unit: W rows per W-lane vector; shared temporaries or none (gen_floor.py) */
floor_run_fn floor_run_simd4_shared, floor_run_simd4_inline, floor_run_simd8_shared, floor_run_simd8_inline;

#endif
