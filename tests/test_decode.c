/* test_decode.c — cells to values: missing tokens, numbers, categorical
 * matching (docs/SEMANTICS.md §3, §4), unknown-level modes, allow_missing. */
#include <float.h>
#include <math.h>

#include "decode.h"
#include "test_util.h"

static const char *cat_model =
    "{\"spec_version\":\"1.0\",\"params\":{\"allow_missing\":true},"
    "\"feature_schema\":{\"n_features\":3,\"feature_names\":[\"colour\",\"code\",\"v\"]},"
    "\"basis_terms\":[{\"kind\":\"categorical\",\"variable_idx\":0,\"category\":1.0},"
    "{\"kind\":\"categorical\",\"variable_idx\":1,\"category\":0.0},{\"kind\":\"linear\",\"variable_idx\":2}],"
    "\"coefficients\":[1,2,3],"
    "\"categorical_imputer\":{\"encoders\":{\"0\":[\"blue\",\"green\",\"red\"],\"1\":[2.0,5,\"7\"]},"
    "\"most_frequent\":{\"0\":\"red\",\"1\":5}}}";

static mr_cell dec(const mr_decoder *d, size_t f, const char *s, double *v)
{
    return mr_decode_text(d, f, s, strlen(s), v);
}

static void numbers_and_missing(void **state)
{
    (void)state;
    mr_model *m = load_json(cat_model);
    mr_decoder d;
    assert_int_equal(mr_decoder_init(&d, m, MR_UNKNOWN_MODE, ",NA,NaN,nan"), MR_OK);
    double v;
    assert_int_equal(dec(&d, 2, "1.5", &v), MR_CELL_VALUE);
    assert_true(v == 1.5);
    assert_int_equal(dec(&d, 2, "-0", &v), MR_CELL_VALUE);
    assert_true(v == 0.0 && signbit(v));
    assert_int_equal(dec(&d, 2, "1e999", &v), MR_CELL_VALUE);
    assert_true(isinf(v));
    assert_int_equal(dec(&d, 2, "-Infinity", &v), MR_CELL_VALUE);
    assert_true(isinf(v) && v < 0);
    static const char *missing[] = { "", "NA", "NaN", "nan" };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(dec(&d, 2, missing[i], &v), MR_CELL_MISSING);
        assert_true(isnan(v));
    }
    static const char *bad[] = { "abc", "1,5", " 1", "0x10", "1_0", "NAN", "na", "nan ", "--1" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(dec(&d, 2, bad[i], &v), MR_CELL_BAD_NUMBER);
    /* per-column tokens replace the list for that column only */
    assert_int_equal(mr_decoder_set_na(&d, 2, "?"), MR_OK);
    assert_int_equal(dec(&d, 2, "?", &v), MR_CELL_MISSING);
    assert_int_equal(dec(&d, 2, "NA", &v), MR_CELL_BAD_NUMBER);
    assert_int_equal(dec(&d, 0, "NA", &v), MR_CELL_MISSING);
    mr_decoder_free(&d);
    mr_model_free(m);
}

static void categorical_matching(void **state)
{
    (void)state;
    mr_model *m = load_json(cat_model);
    mr_decoder d;
    assert_int_equal(mr_decoder_init(&d, m, MR_UNKNOWN_MODE, ",NA,NaN,nan"), MR_OK);
    double v;
    assert_int_equal(dec(&d, 0, "green", &v), MR_CELL_VALUE);
    assert_true(v == 1.0);
    /* byte-for-byte: case differs → unknown → most frequent ("red" = 2) */
    assert_int_equal(dec(&d, 0, "Red", &v), MR_CELL_UNKNOWN);
    assert_true(v == 2.0);
    /* numeric classes compare numerically */
    assert_int_equal(dec(&d, 1, "2", &v), MR_CELL_VALUE);
    assert_true(v == 0.0);
    assert_int_equal(dec(&d, 1, "2e0", &v), MR_CELL_VALUE);
    assert_true(v == 0.0);
    assert_int_equal(dec(&d, 1, "5.000", &v), MR_CELL_VALUE);
    assert_true(v == 1.0);
    /* string class "7" matches the bytes only */
    assert_int_equal(dec(&d, 1, "7", &v), MR_CELL_VALUE);
    assert_true(v == 2.0);
    assert_int_equal(dec(&d, 1, "7.0", &v), MR_CELL_UNKNOWN);
    assert_true(v == 1.0); /* most frequent 5 → index 1 */
    assert_int_equal(dec(&d, 1, "NA", &v), MR_CELL_MISSING);
    /* binary input: numeric classes only */
    assert_int_equal(mr_decode_binary(&d, 1, 5.0, &v), MR_CELL_VALUE);
    assert_true(v == 1.0);
    assert_int_equal(mr_decode_binary(&d, 1, 7.0, &v), MR_CELL_UNKNOWN);
    assert_int_equal(mr_decode_binary(&d, 1, NAN, &v), MR_CELL_MISSING);
    mr_decoder_free(&d);
    assert_int_equal(mr_decoder_init(&d, m, MR_UNKNOWN_NAN, ""), MR_OK);
    assert_int_equal(dec(&d, 0, "purple", &v), MR_CELL_UNKNOWN);
    assert_true(isnan(v));
    mr_decoder_free(&d);
    assert_int_equal(mr_decoder_init(&d, m, MR_UNKNOWN_ERROR, ""), MR_OK);
    assert_int_equal(dec(&d, 0, "purple", &v), MR_CELL_UNKNOWN_ERROR);
    mr_decoder_free(&d);
    mr_model_free(m);
}

static void allow_missing_false(void **state)
{
    (void)state;
    mr_model *m = load_json("{\"spec_version\":\"1.0\",\"params\":{\"allow_missing\":false},"
                            "\"feature_schema\":{\"n_features\":1},"
                            "\"basis_terms\":[{\"kind\":\"linear\",\"variable_idx\":0}],\"coefficients\":[1]}");
    mr_decoder d;
    assert_int_equal(mr_decoder_init(&d, m, MR_UNKNOWN_MODE, ",NA,NaN,nan"), MR_OK);
    double v;
    assert_int_equal(dec(&d, 0, "NA", &v), MR_CELL_MISSING_NOT_ALLOWED);
    assert_int_equal(dec(&d, 0, "", &v), MR_CELL_MISSING_NOT_ALLOWED);
    assert_int_equal(dec(&d, 0, "inf", &v), MR_CELL_INF_NOT_ALLOWED);
    assert_int_equal(dec(&d, 0, "1e999", &v), MR_CELL_INF_NOT_ALLOWED);
    assert_int_equal(dec(&d, 0, "3", &v), MR_CELL_VALUE);
    assert_int_equal(mr_decode_binary(&d, 0, NAN, &v), MR_CELL_MISSING_NOT_ALLOWED);
    assert_int_equal(mr_decode_binary(&d, 0, -INFINITY, &v), MR_CELL_INF_NOT_ALLOWED);
    mr_decoder_free(&d);
    mr_model_free(m);
}

/* mr_any_nonfinite: every position of a vector turn and of the tail, each
 * kind of value that is not finite, and the largest finite ones. */
static void any_nonfinite(void **state)
{
    (void)state;
    double v[53];
    for (size_t n = 0; n <= 53; n++) {
        for (size_t i = 0; i < 53; i++)
            v[i] = i % 3 == 0 ? DBL_MAX : i % 3 == 1 ? -DBL_MIN / 2 : -0.0;
        assert_int_equal(mr_any_nonfinite(v, n), 0);
        for (size_t k = 0; k < n; k++) {
            static const double bad[] = { INFINITY, -INFINITY, NAN, -NAN };
            for (size_t b = 0; b < 4; b++) {
                const double keep = v[k];
                v[k] = bad[b];
                assert_int_equal(mr_any_nonfinite(v, n), 1);
                assert_int_equal(mr_any_nonfinite(v, k), 0);
                v[k] = keep;
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numbers_and_missing),
        cmocka_unit_test(categorical_matching),
        cmocka_unit_test(allow_missing_false),
        cmocka_unit_test(any_nonfinite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
