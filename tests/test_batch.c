/* test_batch.c — mr_predict_batch, mr_design_batch and mr_validate over
 * caller-owned strided memory: every layout gives the bits of a contiguous
 * row-major batch, which gives the bits of mr_run over the same values as raw
 * f64 input (the CLI's path); label and index coding of categorical cells
 * give the same predictions; bad cells are reported at their row and column,
 * the first in row order. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>

#define CAT MR_FIXTURES "/conformance/public/categorical_numeric_codes/model.json"
#define STRICT MR_FIXTURES "/conformance/public/deg2_interactions_shuffled/model.json"
#define N 1000 /* rows: several blocks of 128 and a partial one */

static mr_model *load(const char *path)
{
    mr_model *m = NULL;
    mr_error err;
    if (mr_model_load_file(path, &m, &err) != MR_OK)
        fail_msg("%s: %s", path, err.text);
    return m;
}

static mr_engine *engine(const mr_model *m, int unknown)
{
    mr_options *o = NULL;
    assert_int_equal(mr_options_create(&o), MR_OK);
    assert_int_equal(mr_options_set_int(o, MR_OPT_UNKNOWN_LEVEL, unknown), MR_OK);
    mr_engine *e = NULL;
    mr_error err;
    assert_int_equal(mr_engine_create(m, o, &e, &err), MR_OK);
    mr_options_free(o);
    return e;
}

static void assert_same_bits(const double *a, const double *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0)
            fail_msg("%s: element %zu differs: %.17g vs %.17g", what, i, a[i], b[i]);
}

/* categorical_numeric_codes: x0 numeric, x1 categorical with classes
 * [0, 1, 2, 5] (most frequent 5). Row-major labels; some NaN, some 99 (unseen). */
static double *cat_rows(uint64_t seed)
{
    static const double labels[] = { 0.0, 1.0, 2.0, 5.0, 99.0 };
    double *x = malloc(N * 2 * sizeof *x);
    for (size_t r = 0; r < N; r++) {
        x[r * 2] = rnd_unit(&seed) * 6 - 3;
        x[r * 2 + 1] = labels[rnd_next(&seed) % 5];
        if (r % 37 == 5)
            x[r * 2] = NAN;
        if (r % 41 == 7)
            x[r * 2 + 1] = NAN;
    }
    return x;
}

/* label -> class index as mr_decode_binary does it in MR_UNKNOWN_MODE: unseen -> 5's index */
static double label_to_index(double v)
{
    if (isnan(v))
        return v;
    return v == 0.0 ? 0.0 : v == 1.0 ? 1.0 : v == 2.0 ? 2.0 : 3.0;
}

/* The same rows through mr_run as raw f64, raw f64 out: what the CLI computes. */
static void pipeline_predict(const mr_model *m, const double *x, size_t n, double *out)
{
    mr_options *o = NULL;
    assert_int_equal(mr_options_create(&o), MR_OK);
    assert_int_equal(mr_options_set_int(o, MR_OPT_INPUT_FORMAT, MR_FMT_F64), MR_OK);
    assert_int_equal(mr_options_set_int(o, MR_OPT_OUTPUT_FORMAT, MR_FMT_F64), MR_OK);
    mr_engine *e = NULL;
    mr_error err;
    assert_int_equal(mr_engine_create(m, o, &e, &err), MR_OK);
    mem_in in = { .data = (const char *)x, .len = n * mr_model_n_features(m) * sizeof *x };
    mem_out res = { 0 };
    const mr_io io = { .read = mem_read, .read_cookie = &in, .source = "mem", .write = mem_write,
                       .write_cookie = &res };
    if (mr_run(e, &io, NULL, NULL, NULL, &err) != MR_OK)
        fail_msg("mr_run: %s", err.text);
    assert_int_equal(res.len, n * sizeof *out);
    memcpy(out, res.data, res.len);
    free(res.data);
    mr_engine_free(e);
    mr_options_free(o);
}

static void test_layouts_and_codings(void **state)
{
    (void)state;
    mr_model *m = load(CAT);
    mr_engine *e = engine(m, MR_UNKNOWN_MODE);
    double *x = cat_rows(42);
    double *ref = malloc(N * sizeof *ref), *y = malloc(N * sizeof *y);
    mr_error err;

    /* contiguous row-major, labels: the CLI's bits */
    mr_batch b = mr_batch_rows(x, N, 2, 2);
    assert_int_equal(mr_predict_batch(e, &b, ref, &err), MR_OK);
    pipeline_predict(m, x, N, y);
    assert_same_bits(ref, y, N, "batch vs mr_run raw f64");

    /* row-major with padding (ld 5), reversed column order (col_stride -1), reversed rows */
    double *wide = malloc(N * 5 * sizeof *wide);
    for (size_t i = 0; i < N * 5; i++)
        wide[i] = 1e300; /* poison: never read */
    for (size_t r = 0; r < N; r++) {
        wide[r * 5 + 1] = x[r * 2];
        wide[r * 5 + 3] = x[r * 2 + 1];
    }
    b = (mr_batch){ .data = wide + 1, .n_rows = N, .n_cols = 2, .row_stride = 5, .col_stride = 2 };
    assert_int_equal(mr_predict_batch(e, &b, y, &err), MR_OK);
    assert_same_bits(ref, y, N, "row-major, ld 5");

    double *rev = malloc(N * 2 * sizeof *rev); /* column order swapped in memory */
    for (size_t r = 0; r < N; r++) {
        rev[r * 2] = x[r * 2 + 1];
        rev[r * 2 + 1] = x[r * 2];
    }
    b = (mr_batch){ .data = rev + 1, .n_rows = N, .n_cols = 2, .row_stride = 2, .col_stride = -1 };
    assert_int_equal(mr_predict_batch(e, &b, y, &err), MR_OK);
    assert_same_bits(ref, y, N, "negative column stride");

    b = (mr_batch){ .data = x + (N - 1) * 2, .n_rows = N, .n_cols = 2, .row_stride = -2, .col_stride = 1 };
    assert_int_equal(mr_predict_batch(e, &b, y, &err), MR_OK);
    for (size_t r = 0; r < N; r++)
        assert_memory_equal(&y[r], &ref[N - 1 - r], sizeof *y);

    /* column-major (Fortran order, ld N + 3) */
    const size_t ldc = N + 3;
    double *colm = malloc(2 * ldc * sizeof *colm);
    for (size_t r = 0; r < N; r++) {
        colm[r] = x[r * 2];
        colm[ldc + r] = x[r * 2 + 1];
    }
    b = mr_batch_columns(colm, N, 2, ldc);
    assert_int_equal(mr_predict_batch(e, &b, y, &err), MR_OK);
    assert_same_bits(ref, y, N, "column-major");

    /* a strided slice: every third row of rows 0..3N of a bigger row-major array */
    double *big = malloc(3 * N * 2 * sizeof *big);
    for (size_t i = 0; i < 3 * N * 2; i++)
        big[i] = NAN;
    for (size_t r = 0; r < N; r++) {
        big[r * 6] = x[r * 2];
        big[r * 6 + 1] = x[r * 2 + 1];
    }
    b = mr_batch_rows(big, N, 2, 6);
    assert_int_equal(mr_predict_batch(e, &b, y, &err), MR_OK);
    assert_same_bits(ref, y, N, "strided slice");

    /* index coding: the same predictions, also equal to mr_predict (which takes indices) */
    double *xi = malloc(N * 2 * sizeof *xi);
    for (size_t r = 0; r < N; r++) {
        xi[r * 2] = x[r * 2];
        xi[r * 2 + 1] = label_to_index(x[r * 2 + 1]);
    }
    b = mr_batch_rows(xi, N, 2, 2);
    b.categories = MR_CATEGORIES_INDEX;
    assert_int_equal(mr_predict_batch(e, &b, y, &err), MR_OK);
    assert_same_bits(ref, y, N, "index coding vs label coding");
    assert_int_equal(mr_predict(e, xi, N, 2, y, &err), MR_OK);
    assert_same_bits(ref, y, N, "mr_predict (indices) vs batch (labels)");

    /* a label batch is not an index batch: the codings really differ (5.0 is index 3) */
    b = mr_batch_rows(x, N, 2, 2);
    b.categories = MR_CATEGORIES_INDEX;
    assert_int_equal(mr_predict_batch(e, &b, y, &err), MR_E_DATA);

    free(xi), free(big), free(colm), free(rev), free(wide), free(ref), free(y), free(x);
    mr_engine_free(e);
    mr_model_free(m);
}

static void test_design_layouts(void **state)
{
    (void)state;
    mr_model *m = load(CAT);
    mr_engine *e = engine(m, MR_UNKNOWN_MODE);
    const size_t nt = mr_model_n_terms(m);
    double *x = cat_rows(7), *xi = malloc(N * 2 * sizeof *xi);
    for (size_t r = 0; r < N; r++) {
        xi[r * 2] = x[r * 2];
        xi[r * 2 + 1] = label_to_index(x[r * 2 + 1]);
    }
    double *ref = malloc(N * nt * sizeof *ref), *d = malloc(N * (nt + 2) * sizeof *d);
    mr_error err;
    assert_int_equal(mr_design(e, xi, N, 2, ref, nt, &err), MR_OK);

    mr_batch b = mr_batch_rows(x, N, 2, 2);
    assert_int_equal(mr_design_batch(e, &b, d, (ptrdiff_t)nt, 1, &err), MR_OK);
    assert_same_bits(ref, d, N * nt, "design, row-major out");

    assert_int_equal(mr_design_batch(e, &b, d, (ptrdiff_t)nt + 2, 1, &err), MR_OK); /* padded */
    for (size_t r = 0; r < N; r++)
        assert_same_bits(&ref[r * nt], &d[r * (nt + 2)], nt, "design, padded rows");

    assert_int_equal(mr_design_batch(e, &b, d, 1, N, &err), MR_OK); /* column-major out */
    for (size_t r = 0; r < N; r++)
        for (size_t i = 0; i < nt; i++)
            assert_memory_equal(&ref[r * nt + i], &d[i * N + r], sizeof *d);

    free(ref), free(d), free(x), free(xi);
    mr_engine_free(e);
    mr_model_free(m);
}

/* deg2_interactions_shuffled: 4 numeric features, allow_missing false. */
static void test_validate_errors(void **state)
{
    (void)state;
    mr_model *m = load(STRICT);
    mr_engine *e = engine(m, MR_UNKNOWN_MODE);
    const size_t nf = mr_model_n_features(m);
    assert_int_equal(nf, 4);
    const size_t ld = N + 1;
    double *x = malloc(nf * ld * sizeof *x); /* column-major */
    uint64_t seed = 3;
    for (size_t i = 0; i < nf * ld; i++)
        x[i] = rnd_unit(&seed);
    /* bad cells: column 3 row 200 (NaN), column 1 row 300 (inf), column 0 row 300 (NaN),
     * column 2 row 900 (NaN); in row order the first is row 200 */
    x[3 * ld + 199] = NAN;
    x[1 * ld + 299] = INFINITY;
    x[0 * ld + 299] = NAN;
    x[2 * ld + 899] = NAN;
    mr_batch b = mr_batch_columns(x, N, nf, ld);
    mr_column_stats cols[4];
    memset(cols, 0xab, sizeof cols);
    mr_error err;
    assert_int_equal(mr_validate(e, &b, cols, &err), MR_E_DATA);
    assert_int_equal(err.status, MR_E_DATA);
    assert_int_equal(err.row, 200);
    assert_int_equal(err.column, 4);
    assert_string_equal(err.field, mr_model_feature_name(m, 3));
    assert_non_null(strstr(err.text, "missing value"));
    /* counts cover the whole batch, past the first bad cell */
    assert_int_equal(cols[0].missing, 1);
    assert_int_equal(cols[1].missing, 0);
    assert_int_equal(cols[2].missing, 1);
    assert_int_equal(cols[3].missing, 1);
    for (size_t f = 0; f < nf; f++) {
        assert_int_equal(cols[f].unknown, 0);
        assert_int_equal(cols[f].first_unknown_row, 0);
    }

    /* predict stops there, fills out with NaN, names the same cell */
    double *y = malloc(N * sizeof *y);
    assert_int_equal(mr_predict_batch(e, &b, y, &err), MR_E_DATA);
    assert_int_equal(err.row, 200);
    assert_int_equal(err.column, 4);
    for (size_t r = 0; r < N; r++)
        assert_true(isnan(y[r]));

    /* without row 200's NaN, row 300 has two bad cells: the lower column is reported */
    x[3 * ld + 199] = 0.5;
    assert_int_equal(mr_validate(e, &b, NULL, &err), MR_E_DATA);
    assert_int_equal(err.row, 300);
    assert_int_equal(err.column, 1);
    x[0 * ld + 299] = 0.5;
    assert_int_equal(mr_validate(e, &b, NULL, &err), MR_E_DATA);
    assert_int_equal(err.row, 300);
    assert_int_equal(err.column, 2);
    assert_non_null(strstr(err.text, "infinite value (\"inf\")"));
    x[1 * ld + 299] = 0.5;
    x[2 * ld + 899] = 0.5;
    assert_int_equal(mr_validate(e, &b, cols, &err), MR_OK);
    assert_int_equal(err.status, MR_OK);
    for (size_t f = 0; f < nf; f++)
        assert_int_equal(cols[f].missing, 0);

    /* caller errors */
    b.n_cols = 3;
    assert_int_equal(mr_validate(e, &b, NULL, &err), MR_E_SHAPE);
    b.n_cols = 4;
    b.categories = 7;
    assert_int_equal(mr_predict_batch(e, &b, y, &err), MR_E_INVAL);
    b.categories = MR_CATEGORIES_LABEL;
    b.reserved[2] = &b;
    assert_int_equal(mr_predict_batch(e, &b, y, &err), MR_E_INVAL);
    b.reserved[2] = NULL;
    assert_int_equal(mr_predict_batch(e, NULL, y, &err), MR_E_INVAL);
    assert_int_equal(mr_predict_batch(e, &b, NULL, &err), MR_E_INVAL);
    b.n_rows = 0;
    b.data = NULL;
    assert_int_equal(mr_predict_batch(e, &b, y, &err), MR_OK); /* an empty batch */

    free(x), free(y);
    mr_engine_free(e);
    mr_model_free(m);
}

static void test_validate_categorical(void **state)
{
    (void)state;
    mr_model *m = load(CAT);
    double *x = cat_rows(99);
    uint64_t missing[2] = { 0, 0 }, unseen = 0, first = 0;
    for (size_t r = 0; r < N; r++) {
        missing[0] += isnan(x[r * 2]);
        missing[1] += isnan(x[r * 2 + 1]);
        if (x[r * 2 + 1] == 99.0 && unseen++ == 0)
            first = r + 1;
    }
    assert_true(unseen > 0 && missing[0] > 0 && missing[1] > 0);
    mr_batch b = mr_batch_rows(x, N, 2, 2);
    mr_column_stats cols[2];
    mr_error err;

    mr_engine *e = engine(m, MR_UNKNOWN_MODE); /* unseen labels are allowed, counted */
    assert_int_equal(mr_validate(e, &b, cols, &err), MR_OK);
    assert_int_equal(cols[0].missing, missing[0]);
    assert_int_equal(cols[1].missing, missing[1]);
    assert_int_equal(cols[0].unknown, 0);
    assert_int_equal(cols[1].unknown, unseen);
    assert_int_equal(cols[1].first_unknown_row, first);
    assert_string_equal(cols[1].first_unknown, "99.0");
    mr_engine_free(e);

    e = engine(m, MR_UNKNOWN_ERROR); /* the first unseen label is the error */
    assert_int_equal(mr_validate(e, &b, cols, &err), MR_E_DATA);
    assert_int_equal(err.row, first);
    assert_int_equal(err.column, 2);
    assert_non_null(strstr(err.text, "unknown categorical level (\"99.0\")"));
    assert_int_equal(cols[1].unknown, unseen);
    double *y = malloc(N * sizeof *y);
    assert_int_equal(mr_predict_batch(e, &b, y, &err), MR_E_DATA);
    assert_int_equal(err.row, first);
    mr_engine_free(e);

    /* index coding: 3.5, 4 and -1 are not indices of 4 classes */
    e = engine(m, MR_UNKNOWN_MODE);
    static const double bad[] = { 3.5, 4.0, -1.0, INFINITY };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double xi[6] = { 0.1, 0.0, 0.2, 3.0, 0.3, bad[i] };
        mr_batch bi = mr_batch_rows(xi, 3, 2, 2);
        bi.categories = MR_CATEGORIES_INDEX;
        assert_int_equal(mr_predict_batch(e, &bi, y, &err), MR_E_DATA);
        assert_int_equal(err.row, 3);
        assert_int_equal(err.column, 2);
        assert_non_null(strstr(err.text, "not a class index"));
        xi[5] = 3.0;
        assert_int_equal(mr_predict_batch(e, &bi, y, &err), MR_OK);
    }
    mr_engine_free(e);
    free(x), free(y);
    mr_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts_and_codings),
        cmocka_unit_test(test_design_layouts),
        cmocka_unit_test(test_validate_errors),
        cmocka_unit_test(test_validate_categorical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
