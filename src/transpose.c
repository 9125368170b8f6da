/* transpose.c — see transpose.h. On x86-64 with AVX2, 4 rows x 4 features
 * move as one 4x4 register transpose (4 loads, 8 shuffles, 4 stores) instead
 * of 16 scalar load/store pairs: the copy was the largest cost of mr_predict. */
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

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx2"))) static void transpose_avx2(const double *x, size_t ld, size_t nf,
                                                           size_t n, double *blk, size_t stride)
{
    size_t r = 0;
    for (; r + 4 <= n; r += 4) {
        const double *p0 = x + r * ld, *p1 = p0 + ld, *p2 = p1 + ld, *p3 = p2 + ld;
        size_t f = 0;
        for (; f + 4 <= nf; f += 4) {
            const __m256d a = _mm256_loadu_pd(p0 + f), b = _mm256_loadu_pd(p1 + f);
            const __m256d c = _mm256_loadu_pd(p2 + f), d = _mm256_loadu_pd(p3 + f);
            const __m256d ab02 = _mm256_unpacklo_pd(a, b), ab13 = _mm256_unpackhi_pd(a, b);
            const __m256d cd02 = _mm256_unpacklo_pd(c, d), cd13 = _mm256_unpackhi_pd(c, d);
            double *o = blk + f * stride + r;
            _mm256_storeu_pd(o, _mm256_permute2f128_pd(ab02, cd02, 0x20));
            _mm256_storeu_pd(o + stride, _mm256_permute2f128_pd(ab13, cd13, 0x20));
            _mm256_storeu_pd(o + 2 * stride, _mm256_permute2f128_pd(ab02, cd02, 0x31));
            _mm256_storeu_pd(o + 3 * stride, _mm256_permute2f128_pd(ab13, cd13, 0x31));
        }
        for (; f < nf; f++) {
            double *o = blk + f * stride + r;
            o[0] = p0[f];
            o[1] = p1[f];
            o[2] = p2[f];
            o[3] = p3[f];
        }
    }
    if (r < n)
        transpose_c(x + r * ld, ld, nf, n - r, blk + r, stride);
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
#endif
