/* probe.c — physical references for the benchmark table.
 *
 *   probe BYTES RUNS
 *
 * memcpy of a BYTES buffer (the input array's size) with 1 and 2 threads (each copies half),
 * both buffers touched first; glibc strtod on the %.17g text of 1e6 uniform [0,1) doubles; and
 * snprintf("%.17g") of the same values. Median of RUNS each. JSON on stdout. */
#include <pthread.h>

#include "bench_util.h"

typedef struct {
    char *dst;
    const char *src;
    size_t n;
} cp_job;

static void *cp_worker(void *arg)
{
    const cp_job *j = arg;
    memcpy(j->dst, j->src, j->n);
    return NULL;
}

#define NV 1000000

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s BYTES RUNS\n", argv[0]);
        return 2;
    }
    const size_t bytes = (size_t)strtoull(argv[1], NULL, 10);
    const int runs = atoi(argv[2]) > 0 ? atoi(argv[2]) : 3;
    double *t = calloc((size_t)runs, sizeof *t);

    char *src = NULL, *dst = NULL;
    if (posix_memalign((void **)&src, 64, bytes) || posix_memalign((void **)&dst, 64, bytes))
        bu_die("alloc", "out of memory");
    memset(src, 1, bytes);
    memset(dst, 2, bytes);
    double cp[2];
    for (int th = 1; th <= 2; th++) {
        for (int i = 0; i < runs; i++) {
            const size_t half = bytes / 2;
            cp_job a = {dst, src, half}, b = {dst + half, src + half, bytes - half};
            const double t0 = bu_now();
            if (th == 1) {
                memcpy(dst, src, bytes);
            } else {
                pthread_t ta;
                pthread_create(&ta, NULL, cp_worker, &a);
                cp_worker(&b);
                pthread_join(ta, NULL);
            }
            t[i] = bu_now() - t0;
        }
        cp[th - 1] = bu_median(t, runs);
    }
    free(src);
    free(dst);

    /* values: xorshift64* -> [0,1) doubles, then their %.17g text */
    double *v = bu_alloc(NV);
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < NV; i++) {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        v[i] = (double)((s * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
    }
    char *text = malloc((size_t)NV * 26), **cell = malloc(NV * sizeof *cell);
    char *w = text;
    for (size_t i = 0; i < NV; i++) {
        cell[i] = w;
        w += sprintf(w, "%.17g", v[i]) + 1;
    }
    volatile double sink = 0;
    for (int i = 0; i < runs; i++) {
        double acc = 0;
        const double t0 = bu_now();
        for (size_t k = 0; k < NV; k++)
            acc += strtod(cell[k], NULL);
        t[i] = bu_now() - t0;
        sink = acc;
    }
    const double st = bu_median(t, runs);
    char one[40];
    for (int i = 0; i < runs; i++) {
        size_t len = 0;
        const double t0 = bu_now();
        for (size_t k = 0; k < NV; k++)
            len += (size_t)snprintf(one, sizeof one, "%.17g", v[k]);
        t[i] = bu_now() - t0;
        sink = (double)len;
    }
    (void)sink;
    const double pt = bu_median(t, runs);
    printf("{\"bytes\": %zu, \"runs\": %d, \"memcpy_1t_s\": %.9g, \"memcpy_2t_s\": %.9g, "
           "\"values\": %d, \"strtod_s\": %.9g, \"printf_s\": %.9g}\n",
           bytes, runs, cp[0], cp[1], NV, st, pt);
    return 0;
}
