/* arrow_bench.c — Arrow float64 columns into double* (mr_arrow_predict)
 * against mr_predict on the same values held row-major, 1 thread.
 *
 *   cc -O3 -ffp-contract=off -D_GNU_SOURCE -Isrc/include bench/arrow_bench.c \
 *      build/src/libmarsreplay.a -ljansson -lcsv -lm -lpthread -o arrow_bench
 *   ./arrow_bench bench/bench_model.json [rows] [--json]   (default 1000000 rows)
 *
 * The values: uniform in [0, 1) per feature (the benchmark model's features
 * are Friedman-1's uniform inputs), no nulls. The Arrow batch is a struct of
 * float64 fields pointing at one column-major block (what pyarrow, polars or
 * a NumPy Fortran array hand over); mr_predict gets the same values
 * row-major, as its API takes them. A third leg is the row-major array as
 * a batch of one fixed_size_list<float64>[10] field (what the Python package
 * hands over for a C-ordered NumPy array: the library transposes it as
 * mr_predict does and checks every cell in the same pass). Each call is
 * timed over all rows, median of 31 (RUNS; 9 until 2026-12-03: too few on
 * the shared machine, where the medians of 9 moved by 15 % between runs), the
 * legs interleaved; the outputs are
 * compared bit for bit. The ratios are each Arrow leg / row-major
 * mr_predict, of the medians, and with --json also of the fastest runs
 * ("min_ratio*": the runs least disturbed by other processes) and the
 * median of each run's own ratio ("paired_ratio*": a run's legs follow each
 * other, so a slow moment hits both). For instruction counts, which do not depend on the load,
 * run it under callgrind with a few runs (docs/performance.md). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "marsreplay.h"

#ifndef RUNS
#define RUNS 31
#endif

static void no_release_schema(struct ArrowSchema *s) { s->release = NULL; }
static void no_release_array(struct ArrowArray *a) { a->release = NULL; }

int main(int argc, char **argv)
{
    if (argc < 2)
        bu_die("usage", "arrow_bench MODEL.json [rows] [--json]");
    size_t rows = 1000000;
    int json = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            rows = (size_t)strtoull(argv[i], NULL, 10);
    }
    mr_model *m;
    mr_error err;
    if (mr_model_load_file(argv[1], &m, &err) != MR_OK)
        bu_die(argv[1], err.text);
    const size_t nf = mr_model_n_features(m);
    double *rowmaj = malloc(rows * nf * sizeof *rowmaj), *colmaj = malloc(rows * nf * sizeof *colmaj);
    double *out_a = malloc(rows * sizeof *out_a), *out_r = malloc(rows * sizeof *out_r);
    if (!rowmaj || !colmaj || !out_a || !out_r)
        bu_die("malloc", NULL);
    uint64_t s = 12345;
    for (size_t r = 0; r < rows; r++)
        for (size_t f = 0; f < nf; f++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            const double v = (double)(s >> 11) * 0x1.0p-53;
            rowmaj[r * nf + f] = v;
            colmaj[f * rows + r] = v;
        }
    /* the batch: fields named as the model's features */
    struct ArrowSchema *fs = calloc(nf, sizeof *fs), **fsp = calloc(nf, sizeof *fsp);
    struct ArrowArray *fa = calloc(nf, sizeof *fa), **fap = calloc(nf, sizeof *fap);
    const void **bufs = calloc(2 * nf, sizeof *bufs);
    for (size_t f = 0; f < nf; f++) {
        fs[f] = (struct ArrowSchema){ .format = "g", .name = mr_model_feature_name(m, f),
                                      .release = no_release_schema };
        bufs[2 * f + 1] = colmaj + f * rows;
        fa[f] = (struct ArrowArray){ .length = (int64_t)rows, .n_buffers = 2,
                                     .buffers = &bufs[2 * f], .release = no_release_array };
        fsp[f] = &fs[f];
        fap[f] = &fa[f];
    }
    const void *sbuf[1] = { NULL };
    struct ArrowSchema schema = { .format = "+s", .name = "", .n_children = (int64_t)nf,
                                  .children = fsp, .release = no_release_schema };
    struct ArrowArray batch = { .length = (int64_t)rows, .n_buffers = 1, .n_children = (int64_t)nf,
                                .buffers = sbuf, .children = fap, .release = no_release_array };
    /* the same row-major values as rows: struct<rows: fixed_size_list<float64>[nf]> */
    char wfmt[32];
    snprintf(wfmt, sizeof wfmt, "+w:%zu", nf);
    struct ArrowSchema vs = { .format = "g", .name = "item", .release = no_release_schema };
    struct ArrowSchema *vsp = &vs;
    struct ArrowSchema ls = { .format = wfmt, .name = "rows", .n_children = 1, .children = &vsp,
                              .release = no_release_schema };
    struct ArrowSchema *lsp = &ls;
    struct ArrowSchema rschema = { .format = "+s", .name = "", .n_children = 1, .children = &lsp,
                                   .release = no_release_schema };
    const void *vbuf[2] = { NULL, rowmaj }, *lbuf[1] = { NULL };
    struct ArrowArray va = { .length = (int64_t)(rows * nf), .n_buffers = 2, .buffers = vbuf,
                             .release = no_release_array };
    struct ArrowArray *vap = &va;
    struct ArrowArray la = { .length = (int64_t)rows, .n_buffers = 1, .n_children = 1,
                             .buffers = lbuf, .children = &vap, .release = no_release_array };
    struct ArrowArray *lap = &la;
    struct ArrowArray rbatch = { .length = (int64_t)rows, .n_buffers = 1, .n_children = 1,
                                 .buffers = sbuf, .children = &lap, .release = no_release_array };
    double *out_w = malloc(rows * sizeof *out_w);
    if (!out_w)
        bu_die("malloc", NULL);
    mr_engine *e;
    if (mr_engine_create(m, NULL, &e, &err) != MR_OK)
        bu_die("engine", err.text);
    double ta[RUNS], tr[RUNS], tw[RUNS];
    for (int k = 0; k < RUNS; k++) { /* interleaved, so drift hits both alike */
        double t0 = bu_now();
        if (mr_predict(e, rowmaj, rows, nf, out_r, &err) != MR_OK)
            bu_die("mr_predict", err.text);
        tr[k] = bu_now() - t0;
        t0 = bu_now();
        if (mr_arrow_predict(e, &schema, &batch, out_a, &err) != MR_OK)
            bu_die("mr_arrow_predict", err.text);
        ta[k] = bu_now() - t0;
        t0 = bu_now();
        if (mr_arrow_predict(e, &rschema, &rbatch, out_w, &err) != MR_OK)
            bu_die("mr_arrow_predict (rows)", err.text);
        tw[k] = bu_now() - t0;
    }
    if (memcmp(out_a, out_r, rows * sizeof *out_a) != 0)
        bu_die("check", "mr_arrow_predict and mr_predict disagree");
    if (memcmp(out_w, out_r, rows * sizeof *out_w) != 0)
        bu_die("check", "mr_arrow_predict (rows) and mr_predict disagree");
    /* the median of each run's own ratio: a run's legs ran one after the
     * other, so a slow moment of the machine hits both */
    double pa[RUNS], pw[RUNS];
    for (int k = 0; k < RUNS; k++) {
        pa[k] = ta[k] / tr[k];
        pw[k] = tw[k] / tr[k];
    }
    const double pair_a = bu_median(pa, RUNS), pair_w = bu_median(pw, RUNS);
    double amin = ta[0], rmin = tr[0], wmin = tw[0];
    for (int k = 1; k < RUNS; k++) {
        amin = ta[k] < amin ? ta[k] : amin;
        rmin = tr[k] < rmin ? tr[k] : rmin;
        wmin = tw[k] < wmin ? tw[k] : wmin;
    }
    const double a = bu_median(ta, RUNS), r = bu_median(tr, RUNS), w = bu_median(tw, RUNS);
    if (json)
        printf("{\"rows\": %zu, \"features\": %zu, \"mr_predict_rowmajor_s\": %.6f, "
               "\"mr_arrow_predict_s\": %.6f, \"ratio\": %.4f, "
               "\"mr_arrow_predict_rows_s\": %.6f, \"ratio_rows\": %.4f, "
               "\"min_ratio\": %.4f, \"min_ratio_rows\": %.4f, "
               "\"paired_ratio\": %.4f, \"paired_ratio_rows\": %.4f}\n",
               rows, nf, r, a, a / r, w, w / r, amin / rmin, wmin / rmin, pair_a, pair_w);
    else
        printf("rows %zu, features %zu, 1 thread, median of %d\n"
               "  mr_predict (row-major)              %8.2f ms  %6.2f ns/row\n"
               "  mr_arrow_predict (f64 columns)      %8.2f ms  %6.2f ns/row  %6.3fx\n"
               "  mr_arrow_predict (fixed_size_list)  %8.2f ms  %6.2f ns/row  %6.3fx\n",
               rows, nf, RUNS, r * 1e3, r * 1e9 / (double)rows, a * 1e3, a * 1e9 / (double)rows,
               a / r, w * 1e3, w * 1e9 / (double)rows, w / r);
    mr_engine_free(e);
    mr_model_free(m);
    free(rowmaj);
    free(colmaj);
    free(out_a);
    free(out_r);
    free(out_w);
    free(fs);
    free(fsp);
    free(fa);
    free(fap);
    free(bufs);
    return 0;
}
