/* transpose.c — see transpose.h. On x86-64 with AVX2, 4 rows x 2 features
 * move as 4 loads, 2 shuffles and 2 stores instead of 8 scalar load/store
 * pairs: the copy was the largest cost of mr_predict. */
#include "transpose.h"

static void transpose_c(const double *x, size_t ld, size_t nf, size_t n, double *blk,
                        size_t stride)
{
    for (size_t f = 0; f < nf; f++) {
        double *restrict col = blk + f * stride;
        const double *restrict src = x + f;
        for (size_t r = 0; r < n; r++)
            col[r] = src[r * ld];
    }
}

/* The same, and the sum of the values moved (see mr_transpose_rows_finite). */
static double transpose_c_sum(const double *x, size_t ld, size_t nf, size_t n, double *blk,
                              size_t stride)
{
    double s = 0.0;
    for (size_t f = 0; f < nf; f++) {
        double *restrict col = blk + f * stride;
        const double *restrict src = x + f;
        for (size_t r = 0; r < n; r++)
            s = s + (col[r] = src[r * ld]);
    }
    return s;
}

static int finite(double s)
{
    return s - s == 0.0;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* Rows r..r+3, features f, f+1: a = (x0[f], x0[f+1], x2[f], x2[f+1]) and
 * b = (x1[f], x1[f+1], x3[f], x3[f+1]) by 128-bit loads, then one unpack each
 * gives column f and column f+1. No lane-crossing shuffle (vperm2f128 is
 * slow on AMD Zen 1: 4 ns/row on bench_model with it, 3 without). */
__attribute__((target("avx2"))) static void transpose_avx2(const double *x, size_t ld, size_t nf,
                                                           size_t n, double *blk, size_t stride)
{
    size_t r = 0;
    for (; nf >= 2 && r + 4 <= n; r += 4) {
        const double *p0 = x + r * ld, *p1 = p0 + ld, *p2 = p1 + ld, *p3 = p2 + ld;
        for (size_t f = 0; f < nf; f += 2) {
            /* an odd last feature: redo the pair before it (same values) */
            const size_t g = f + 2 <= nf ? f : f - 1;
            const __m256d a = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(p0 + g)),
                                                   _mm_loadu_pd(p2 + g), 1);
            const __m256d b = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(p1 + g)),
                                                   _mm_loadu_pd(p3 + g), 1);
            double *o = blk + g * stride + r;
            _mm256_storeu_pd(o, _mm256_unpacklo_pd(a, b));
            _mm256_storeu_pd(o + stride, _mm256_unpackhi_pd(a, b));
        }
    }
    if (r < n)
        transpose_c(x + r * ld, ld, nf, n - r, blk + r, stride);
}

/* transpose_avx2, summing every value it loads into two registers (the
 * odd last feature's pair twice: only finiteness is asked). */
__attribute__((target("avx2"))) static int transpose_avx2_finite(const double *x, size_t ld,
                                                                 size_t nf, size_t n,
                                                                 double *blk, size_t stride)
{
    size_t r = 0;
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    for (; nf >= 2 && r + 4 <= n; r += 4) {
        const double *p0 = x + r * ld, *p1 = p0 + ld, *p2 = p1 + ld, *p3 = p2 + ld;
        for (size_t f = 0; f < nf; f += 2) {
            const size_t g = f + 2 <= nf ? f : f - 1;
            const __m256d a = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(p0 + g)),
                                                   _mm_loadu_pd(p2 + g), 1);
            const __m256d b = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(p1 + g)),
                                                   _mm_loadu_pd(p3 + g), 1);
            s0 = _mm256_add_pd(s0, a);
            s1 = _mm256_add_pd(s1, b);
            double *o = blk + g * stride + r;
            _mm256_storeu_pd(o, _mm256_unpacklo_pd(a, b));
            _mm256_storeu_pd(o + stride, _mm256_unpackhi_pd(a, b));
        }
    }
    double t = 0.0;
    if (r < n)
        t = transpose_c_sum(x + r * ld, ld, nf, n - r, blk + r, stride);
    double v[4];
    _mm256_storeu_pd(v, _mm256_add_pd(s0, s1));
    return finite(((v[0] + v[1]) + (v[2] + v[3])) + t);
}

int mr_transpose_rows_finite(const double *x, size_t ld, size_t nf, size_t n, double *blk,
                             size_t stride)
{
    if (__builtin_cpu_supports("avx2"))
        return transpose_avx2_finite(x, ld, nf, n, blk, stride);
    return finite(transpose_c_sum(x, ld, nf, n, blk, stride));
}

void mr_transpose_rows(const double *x, size_t ld, size_t nf, size_t n, double *blk,
                       size_t stride)
{
    /* no cached flag: workers call this concurrently, and the CPU model that
     * __builtin_cpu_supports reads is set once, before main */
    (__builtin_cpu_supports("avx2") ? transpose_avx2 : transpose_c)(x, ld, nf, n, blk, stride);
}
#else
void mr_transpose_rows(const double *x, size_t ld, size_t nf, size_t n, double *blk,
                       size_t stride)
{
    transpose_c(x, ld, nf, n, blk, stride);
}

int mr_transpose_rows_finite(const double *x, size_t ld, size_t nf, size_t n, double *blk,
                             size_t stride)
{
    return finite(transpose_c_sum(x, ld, nf, n, blk, stride));
}
#endif
