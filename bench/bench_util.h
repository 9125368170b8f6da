/* bench_util.h — small helpers shared by the benchmark's C drivers (not part of the library). */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bu_cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* median of n values (sorts v) */
static inline double bu_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bu_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static inline void bu_die(const char *what, const char *detail)
{
    fprintf(stderr, "bench: %s: %s\n", what, detail ? detail : strerror(errno));
    exit(1);
}

/* Load a 2-D little-endian float64 C-order .npy (what gen_data.py --npy writes) into a
 * 64-byte aligned array. */
static inline double *bu_load_npy(const char *path, size_t *rows, size_t *cols)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        bu_die(path, NULL);
    unsigned char pre[10];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0)
        bu_die(path, "not a .npy file");
    size_t hlen;
    if (pre[6] == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else {
        unsigned char b[2];
        if (fread(b, 1, 2, f) != 2)
            bu_die(path, "short header");
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)b[0] << 16 | (size_t)b[1] << 24;
    }
    char *h = calloc(1, hlen + 1);
    if (!h || fread(h, 1, hlen, f) != hlen)
        bu_die(path, "short header");
    if (!strstr(h, "'<f8'") || !strstr(h, "'fortran_order': False"))
        bu_die(path, "need little-endian float64 in C order");
    const char *s = strstr(h, "'shape': (");
    unsigned long long r, c;
    if (!s || sscanf(s, "'shape': (%llu, %llu)", &r, &c) != 2)
        bu_die(path, "need a 2-D shape");
    free(h);
    double *x = NULL;
    const size_t bytes = (size_t)r * (size_t)c * sizeof(double);
    if (posix_memalign((void **)&x, 64, bytes ? bytes : 64) != 0)
        bu_die(path, "out of memory");
    if (fread(x, 1, bytes, f) != bytes)
        bu_die(path, "short data");
    fclose(f);
    *rows = (size_t)r;
    *cols = (size_t)c;
    return x;
}

static inline double *bu_alloc(size_t n)
{
    double *p = NULL;
    if (posix_memalign((void **)&p, 64, (n ? n : 1) * sizeof(double)) != 0)
        bu_die("alloc", "out of memory");
    memset(p, 0, (n ? n : 1) * sizeof(double));
    return p;
}

/* same bits, or both NaN */
static inline int bu_same(double a, double b)
{
    uint64_t ua, ub;
    memcpy(&ua, &a, 8);
    memcpy(&ub, &b, 8);
    return ua == ub || (a != a && b != b);
}

/* order-fixed checksum: plain left-to-right sum, NaN rows skipped (counted apart) */
static inline double bu_checksum(const double *y, size_t n, size_t *n_nan)
{
    double s = 0.0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] != y[i])
            k++;
        else
            s += y[i];
    }
    if (n_nan)
        *n_nan = k;
    return s;
}

#endif
