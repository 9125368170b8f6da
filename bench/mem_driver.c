/* mem_driver.c — the library's in-memory evaluation alone: mr_predict over a loaded array.
 *
 *   mem_driver MODEL.json DATA.npy RUNS
 *
 * Loads the model and the decoded .npy (row-major, NaN = missing, categorical = class
 * index), creates one mr_engine per thread (engines are single-thread objects) before any
 * timing, then times mr_predict over all rows: 1 thread, and 2 threads with the rows split
 * in two halves. Median of RUNS each. Prints one JSON object on stdout. */
#include <pthread.h>

#include "bench_util.h"
#include "marsreplay.h"

typedef struct {
    mr_engine *e;
    const double *x;
    size_t n, ld;
    double *out;
    mr_status st;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    mr_error err;
    j->st = mr_predict(j->e, j->x, j->n, j->ld, j->out, &err);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.json DATA.npy RUNS\n", argv[0]);
        return 2;
    }
    const int runs = atoi(argv[3]) > 0 ? atoi(argv[3]) : 3;
    size_t n, nf;
    const double *x = bu_load_npy(argv[2], &n, &nf);
    mr_error err;
    mr_model *m;
    mr_engine *e[2];
    if (mr_model_load_file(argv[1], &m, &err) != MR_OK)
        bu_die(argv[1], err.text);
    for (int i = 0; i < 2; i++)
        if (mr_engine_create(m, NULL, &e[i], &err) != MR_OK)
            bu_die("mr_engine_create", err.text);
    if (nf < mr_model_n_features(m))
        bu_die(argv[2], "fewer columns than the model's features");
    double *out = bu_alloc(n);
    double *t = calloc((size_t)runs, sizeof *t);
    double med[2];

    job w = {e[0], x, n, nf, out, MR_OK};
    worker(&w); /* warm-up */
    for (int th = 1; th <= 2; th++) {
        for (int i = 0; i < runs; i++) {
            const size_t mid = n / 2;
            job a = {e[0], x, mid, nf, out, MR_OK};
            job b = {e[1], x + mid * nf, n - mid, nf, out + mid, MR_OK};
            const double t0 = bu_now();
            if (th == 1) {
                worker(&w);
            } else {
                pthread_t ta;
                if (pthread_create(&ta, NULL, worker, &a) != 0)
                    bu_die("pthread_create", NULL);
                worker(&b);
                pthread_join(ta, NULL);
            }
            t[i] = bu_now() - t0;
            if (w.st != MR_OK || a.st != MR_OK || b.st != MR_OK)
                bu_die("mr_predict", "failed");
        }
        med[th - 1] = bu_median(t, runs);
    }
    size_t nan_rows;
    const double cs = bu_checksum(out, n, &nan_rows);
    printf("{\"rows\": %zu, \"runs\": %d, \"features\": %zu, \"terms\": %zu, \"lib_1t_s\": %.9g, "
           "\"lib_2t_s\": %.9g, \"checksum\": %.17g, \"nan_rows\": %zu, \"library\": \"%s\"}\n",
           n, runs, mr_model_n_features(m), mr_model_n_terms(m), med[0], med[1], cs, nan_rows,
           mr_version_string());
    mr_engine_free(e[0]);
    mr_engine_free(e[1]);
    mr_model_free(m);
    return 0;
}
