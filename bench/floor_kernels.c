/* floor_kernels.c — the floors' row loops around the generated straight-line code
 * (-include floor_<model>.h from gen_floor.py; declarations in floor_kernels.h).
 *
 * bench/run compiles this file twice, each time with the flags that suit its floor:
 *   -DFLOOR_SCALAR  -O3 -march=native -ffp-contract=off -fno-tree-vectorize
 *                   -fno-tree-slp-vectorize: the scalar reference, really one row at a time
 *   (default)       -O3 -march=native -ffp-contract=off: the vector floors, 4 and 8 rows
 *                   per step (8: one AVX-512 vector, or two 4-row vectors without
 *                   AVX-512), with and without shared temporaries
 * (-ffp-contract=off in both: no FMA, so every floor gives mr_predict's bits.) */
#include "floor_kernels.h"

#ifndef FLOOR_MODEL_H
#error "compile with -include floor_<model>.h (bench/gen_floor.py)"
#endif

#ifdef FLOOR_SCALAR

const char floor_model_name[] = FLOOR_NAME;
const size_t floor_model_nf = FLOOR_NF, floor_model_nterms = FLOOR_NTERMS;

void floor_run_scalar(const double *x, size_t r0, size_t r1, size_t ld, double *out)
{
    for (size_t r = r0; r < r1; r++)
        out[r] = floor_row(x + r * ld);
}

#else

#define FLOOR_RUN(W, KIND) \
    void floor_run_simd##W##_##KIND(const double *x, size_t r0, size_t r1, size_t ld, double *out) \
    { \
        size_t r = r0; \
        for (; r + W <= r1; r += W) \
            floor_row##W##_##KIND(x + r * ld, ld, out + r); \
        for (; r < r1; r++) \
            out[r] = floor_row(x + r * ld); \
    }
#ifndef __AVX512F__ /* no 8-lane registers: 8 rows as two 4-row steps, back to back */
static inline __attribute__((always_inline)) void floor_row8_shared(const double *x, size_t ld, double *o)
{
    floor_row4_shared(x, ld, o);
    floor_row4_shared(x + 4 * ld, ld, o + 4);
}
static inline __attribute__((always_inline)) void floor_row8_inline(const double *x, size_t ld, double *o)
{
    floor_row4_inline(x, ld, o);
    floor_row4_inline(x + 4 * ld, ld, o + 4);
}
#endif
FLOOR_RUN(4, shared)
FLOOR_RUN(4, inline)
FLOOR_RUN(8, shared)
FLOOR_RUN(8, inline)

#endif
