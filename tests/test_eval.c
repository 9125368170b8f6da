/* test_eval.c — the plan + block evaluator against a literal reading of
 * docs/SEMANTICS.md §2/§5 (a recursive evaluator written here), bit for bit. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "model.h"
#include "plan.h"
#include "test_util.h"

/* Reference: docs/SEMANTICS.md §2 word for word, one row at a time. */
static double ref_term(const mr_term *t, const double *x)
{
    if (t->kind == MR_KIND_INTERACTION)
        return ref_term(t->parent1, x) * ref_term(t->parent2, x);
    double own;
    const double v = t->var >= 0 ? x[t->var] : 0.0;
    const int miss = t->var >= 0 && isnan(v);
    switch (t->kind) {
    case MR_KIND_CONSTANT: own = 1.0; break;
    case MR_KIND_LINEAR: own = miss ? NAN : v; break;
    case MR_KIND_HINGE: {
        const double d = t->right ? v - t->knot : t->knot - v;
        own = miss || isnan(d) ? NAN : (d > 0 ? d : 0.0);
        break;
    }
    case MR_KIND_CATEGORICAL: own = miss ? NAN : (v == t->category ? 1.0 : 0.0); break;
    case MR_KIND_MISSINGNESS: own = miss ? 1.0 : 0.0; break;
    default: own = NAN; break;
    }
    return t->parent1 ? ref_term(t->parent1, x) * own : own;
}

static double ref_predict(const mr_model *m, const double *x)
{
    double acc = 0.0;
    for (size_t i = 0; i < m->n_terms; i++) {
        const double prod = m->coef[i] * ref_term(&m->terms[i], x);
        acc = acc + prod;
    }
    return acc;
}

static int same_bits(double a, double b)
{
    if (isnan(a) && isnan(b))
        return 1;
    return memcmp(&a, &b, sizeof a) == 0;
}

static const char *kinds_model =
    "{\"spec_version\":\"1.0\",\"params\":{\"allow_missing\":true},"
    "\"feature_schema\":{\"n_features\":3,\"feature_names\":null},"
    "\"basis_terms\":["
    "{\"kind\":\"constant\"},"
    "{\"kind\":\"linear\",\"variable_idx\":0,\"parent1\":{\"kind\":\"constant\"}},"
    "{\"kind\":\"hinge\",\"variable_idx\":0,\"knot_val\":0.25,\"is_right_hinge\":true},"
    "{\"kind\":\"hinge\",\"variable_idx\":1,\"knot_val\":-0.5,\"is_right_hinge\":false,"
    " \"parent1\":{\"kind\":\"hinge\",\"variable_idx\":0,\"knot_val\":0.1,\"is_right_hinge\":true}},"
    "{\"kind\":\"categorical\",\"variable_idx\":2,\"category\":1.0},"
    "{\"kind\":\"missingness\",\"variable_idx\":1},"
    "{\"kind\":\"interaction\",\"parent1\":{\"kind\":\"linear\",\"variable_idx\":1},"
    " \"parent2\":{\"kind\":\"interaction\",\"parent1\":{\"kind\":\"missingness\",\"variable_idx\":0},"
    "   \"parent2\":{\"kind\":\"hinge\",\"variable_idx\":2,\"knot_val\":0.5,\"is_right_hinge\":false}}}"
    "],\"coefficients\":[0.5,-1.25,3.0,0.75,2.0,-4.0,1.5]}";

static mr_engine *engine_for(const mr_model *m)
{
    mr_engine *e = NULL;
    assert_int_equal(mr_engine_create(m, NULL, &e, NULL), MR_OK);
    return e;
}

/* Random rows with NaN, ±0, ±inf, the knots themselves and category values. */
static void random_rows(double *x, size_t n, size_t nf, uint64_t *seed)
{
    static const double special[] = { 0.0, -0.0, 0.25, 0.1, -0.5, 0.5, 1.0, 2.0, INFINITY, -INFINITY, NAN, 1e-320 };
    for (size_t i = 0; i < n * nf; i++) {
        const uint64_t r = rnd_next(seed);
        x[i] = (r & 3) == 0 ? special[(r >> 8) % (sizeof special / sizeof *special)]
                            : (rnd_unit(seed) - 0.5) * 4.0;
    }
}

static void check_model_against_reference(const mr_model *m, size_t n)
{
    const size_t nf = m->n_features ? m->n_features : 1;
    double *x = malloc(n * nf * sizeof *x);
    double *y = malloc(n * sizeof *y);
    double *d = malloc(n * (m->n_terms + 1) * sizeof *d);
    uint64_t seed = 42;
    random_rows(x, n, nf, &seed);
    mr_engine *e = engine_for(m);
    assert_int_equal(mr_predict(e, x, n, nf, y, NULL), MR_OK);
    assert_int_equal(mr_design(e, x, n, nf, d, m->n_terms + 1, NULL), MR_OK);
    for (size_t r = 0; r < n; r++) {
        const double want = ref_predict(m, x + r * nf);
        if (!same_bits(want, y[r]))
            fail_msg("row %zu: expected %a got %a", r, want, y[r]);
        for (size_t i = 0; i < m->n_terms; i++) {
            const double b = ref_term(&m->terms[i], x + r * nf);
            if (!same_bits(b, d[r * (m->n_terms + 1) + i]))
                fail_msg("row %zu term %zu: expected %a got %a", r, i, b, d[r * (m->n_terms + 1) + i]);
        }
    }
    /* block size independence: row by row gives the same bits */
    for (size_t r = 0; r < n; r += 37) {
        double one;
        assert_int_equal(mr_predict(e, x + r * nf, 1, nf, &one, NULL), MR_OK);
        assert_true(same_bits(one, y[r]));
    }
    mr_engine_free(e);
    free(x);
    free(y);
    free(d);
}

static void every_kind_matches_reference(void **state)
{
    (void)state;
    mr_model *m = load_json(kinds_model);
    check_model_against_reference(m, 5000);
    mr_model_free(m);
}

static void nan_rules(void **state)
{
    (void)state;
    mr_model *m = load_json(kinds_model);
    mr_engine *e = engine_for(m);
    double d[7];
    /* x1 missing: linear(x1) term and hinge on x1 are NaN even when a factor is 0 */
    const double x[3] = { 0.0, NAN, 1.0 };
    assert_int_equal(mr_design(e, x, 1, 3, d, 7, NULL), MR_OK);
    assert_true(d[0] == 1.0);
    assert_true(isnan(d[3]));  /* h(x0-0.1)=0 times NaN hinge = NaN */
    assert_true(d[5] == 1.0);  /* missingness(x1) */
    assert_true(isnan(d[6]));  /* NaN * 0 */
    assert_true(d[4] == 1.0);  /* categorical x2 == 1 */
    double y;
    assert_int_equal(mr_predict(e, x, 1, 3, &y, NULL), MR_OK);
    assert_true(isnan(y));
    /* hinge at the knot: +0.0, never -0.0 */
    const double at_knot[3] = { 0.25, 0.0, 0.0 };
    assert_int_equal(mr_design(e, at_knot, 1, 3, d, 7, NULL), MR_OK);
    assert_false(signbit(d[2]));
    assert_true(d[2] == 0.0);
    /* missing categorical value is NaN, not 0 */
    const double cat_nan[3] = { 0.0, 0.0, NAN };
    assert_int_equal(mr_design(e, cat_nan, 1, 3, d, 7, NULL), MR_OK);
    assert_true(isnan(d[4]));
    /* inf: hinge inf, 0 * inf = NaN */
    const double inf[3] = { INFINITY, 1.0, 0.0 };
    assert_int_equal(mr_design(e, inf, 1, 3, d, 7, NULL), MR_OK);
    assert_true(isinf(d[2]));
    mr_engine_free(e);
    mr_model_free(m);
}

static void summation_order_is_canonical(void **state)
{
    (void)state;
    /* 1e16 + 1 - 1e16: left to right gives 0 (1 is lost), any other order differs */
    mr_model *m = load_json(
        "{\"spec_version\":\"1.0\",\"params\":{},\"feature_schema\":{\"n_features\":1},"
        "\"basis_terms\":[{\"kind\":\"constant\"},{\"kind\":\"constant\"},{\"kind\":\"linear\",\"variable_idx\":0}],"
        "\"coefficients\":[1e16,1.0,-1e16]}");
    mr_engine *e = engine_for(m);
    const double x = 1.0;
    double y;
    assert_int_equal(mr_predict(e, &x, 1, 1, &y, NULL), MR_OK);
    assert_true(y == 0.0);
    /* 0.0 + (-0.0) = +0.0 */
    mr_engine_free(e);
    mr_model_free(m);
    m = load_json("{\"spec_version\":\"1.0\",\"params\":{},\"feature_schema\":{\"n_features\":1},"
                  "\"basis_terms\":[{\"kind\":\"linear\",\"variable_idx\":0}],\"coefficients\":[1.0]}");
    e = engine_for(m);
    const double mz = -0.0;
    assert_int_equal(mr_predict(e, &mz, 1, 1, &y, NULL), MR_OK);
    assert_false(signbit(y));
    mr_engine_free(e);
    mr_model_free(m);
}

static void empty_basis_predicts_zero(void **state)
{
    (void)state;
    mr_model *m = load_json("{\"spec_version\":\"1.0\",\"params\":{},\"feature_schema\":{\"n_features\":2},"
                            "\"basis_terms\":[],\"coefficients\":[]}");
    mr_engine *e = engine_for(m);
    const double x[4] = { 1, 2, NAN, 4 };
    double y[2] = { 5, 5 };
    assert_int_equal(mr_predict(e, x, 2, 2, y, NULL), MR_OK);
    assert_true(y[0] == 0.0 && !signbit(y[0]) && y[1] == 0.0);
    mr_engine_free(e);
    mr_model_free(m);
}

/* The op index (plan.c) across its growth: 3000 terms, each hinge and each
 * product written twice, far apart: the plan has one op per distinct one. */
static void shared_subterms_across_index_growth(void **state)
{
    (void)state;
    const size_t n = 1500;
    char *doc = malloc(200 * 2 * n + 400);
    assert_non_null(doc);
    size_t o = (size_t)sprintf(doc, "{\"spec_version\":\"1.0\",\"params\":{},\"feature_schema\":"
                                    "{\"n_features\":3},\"basis_terms\":[");
    for (size_t r = 0; r < 2; r++)
        for (size_t i = 0; i < n; i++) {
            const char *h = "{\"kind\":\"hinge\",\"variable_idx\":%zu,\"knot_val\":%zu.5,\"is_right_hinge\":true}";
            char hb[120];
            snprintf(hb, sizeof hb, h, i % 3, i / 2);
            if (i % 2)
                o += (size_t)sprintf(doc + o, "%s{\"kind\":\"linear\",\"variable_idx\":2,\"parent1\":%s}",
                                     r || i ? "," : "", hb);
            else
                o += (size_t)sprintf(doc + o, "%s%s", r || i ? "," : "", hb);
        }
    o += (size_t)sprintf(doc + o, "],\"coefficients\":[");
    for (size_t i = 0; i < 2 * n; i++)
        o += (size_t)sprintf(doc + o, "%s1", i ? "," : "");
    sprintf(doc + o, "]}");
    mr_model *m = load_json(doc);
    free(doc);
    mr_plan *p = NULL;
    assert_int_equal(mr_plan_build(m, &p), MR_OK);
    /* hinges (i%3, i/2) are distinct for i < n; odd i also has linear x2 (once)
     * and its product: n + 1 + n/2 */
    assert_int_equal(p->n_ops, n + 1 + n / 2);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p->term_reg[i], p->term_reg[n + i]);
    mr_plan_free(p);
    mr_model_free(m);
}

static void shared_subterms_are_computed_once(void **state)
{
    (void)state;
    mr_model *m = load_json(kinds_model);
    mr_plan *p = NULL;
    assert_int_equal(mr_plan_build(m, &p), MR_OK);
    /* ops: linear x0, hinge x0 .25, hinge x0 .1, hinge x1 -.5 left, mul, cat, miss x1,
     * linear x1, miss x0, hinge x2, mul, mul: 12 (constants are folded away) */
    assert_int_equal(p->n_ops, 12);
    assert_int_equal(p->term_reg[0], MR_REG_ONE);
    mr_plan_free(p);
    mr_model_free(m);
}

static void corpus_models_match_reference(void **state)
{
    (void)state;
    static const char *cases[] = {
        "deg2_interactions_shuffled", "deg3_chains", "handmade_interaction_kinds",
        "missingness_terms", "sum_stress_64_terms", "extreme_values", "categorical_numeric_codes",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/models/valid/%s.json", MR_FIXTURES, cases[i]);
        mr_model *m = NULL;
        mr_error err;
        if (mr_model_load_file(path, &m, &err) != MR_OK)
            fail_msg("%s: %s", path, err.text);
        check_model_against_reference(m, 2000);
        mr_model_free(m);
    }
}

/* Random models, the way dav1d's checkasm tests kernels: every shape the CPU
 * schedule distinguishes (stored or fused hinges on either side of a
 * product, plain terms, products of products, shared parents, all 16
 * four-term variants), each checked bit for bit against ref_term. */
typedef struct {
    char *buf;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        const int k = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        assert_true(k >= 0);
        if (b->len + (size_t)k < b->cap) {
            b->len += (size_t)k;
            return;
        }
        b->cap = 2 * (b->cap + (size_t)k);
        b->buf = realloc(b->buf, b->cap);
        assert_non_null(b->buf);
    }
}

/* One factor: a hinge (knots from a small set, so equal hinges recur and are
 * shared), linear, categorical or missingness on one of nf features. */
static void random_factor(sbuf *b, int nf, uint64_t *seed, const char *parent)
{
    static const double knots[] = { -0.5, 0.1, 0.25, 0.5, 1.0 };
    const uint64_t r = rnd_next(seed);
    const int var = (int)((r >> 8) % (uint64_t)nf);
    const int kind = (int)(r % 8);
    if (kind == 7 && parent) { /* missingness takes no parent: an interaction instead */
        sb_add(b, "{\"kind\":\"interaction\",\"parent1\":%s,\"parent2\":"
                  "{\"kind\":\"missingness\",\"variable_idx\":%d}}", parent, var);
        return;
    }
    if (kind < 5)
        sb_add(b, "{\"kind\":\"hinge\",\"variable_idx\":%d,\"knot_val\":%.17g,\"is_right_hinge\":%s",
               var, knots[(r >> 16) % 5], (r >> 24) & 1 ? "true" : "false");
    else if (kind == 5)
        sb_add(b, "{\"kind\":\"linear\",\"variable_idx\":%d", var);
    else if (kind == 6)
        sb_add(b, "{\"kind\":\"categorical\",\"variable_idx\":%d,\"category\":%d.0", var, (int)((r >> 16) % 3));
    else
        sb_add(b, "{\"kind\":\"missingness\",\"variable_idx\":%d", var);
    if (parent)
        sb_add(b, ",\"parent1\":%s", parent);
    sb_add(b, "}");
}

static char *random_model_json(uint64_t *seed, int nf, int n_terms)
{
    sbuf b = { 0 }, t = { 0 };
    char *terms[64] = { 0 };
    sb_add(&b, "{\"spec_version\":\"1.0\",\"params\":{\"allow_missing\":true},"
               "\"feature_schema\":{\"n_features\":%d},\"basis_terms\":[", nf);
    for (int i = 0; i < n_terms; i++) {
        const uint64_t r = rnd_next(seed);
        t.len = 0;
        const int shape = (int)(r % 16);
        if (i > 0 && shape < 2) /* a factor on an earlier term: a shared parent */
            random_factor(&t, nf, seed, terms[(r >> 8) % (uint64_t)i]);
        else if (i > 1 && shape < 4) /* the product of two earlier terms */
            sb_add(&t, "{\"kind\":\"interaction\",\"parent1\":%s,\"parent2\":%s}",
                   terms[(r >> 8) % (uint64_t)i], terms[(r >> 16) % (uint64_t)i]);
        else if (shape == 4)
            sb_add(&t, "{\"kind\":\"constant\"}");
        else if (shape < 11) { /* a fresh degree-2 chain: its own factor is read once */
            sbuf q = { 0 };
            random_factor(&q, nf, seed, NULL);
            random_factor(&t, nf, seed, q.buf);
            free(q.buf);
        } else
            random_factor(&t, nf, seed, NULL);
        terms[i] = strdup(t.buf);
        assert_non_null(terms[i]);
        sb_add(&b, "%s%s", i ? "," : "", terms[i]);
    }
    sb_add(&b, "],\"coefficients\":[");
    for (int i = 0; i < n_terms; i++)
        sb_add(&b, "%s%.17g", i ? "," : "", (rnd_unit(seed) - 0.5) * 8.0);
    sb_add(&b, "]}");
    for (int i = 0; i < n_terms; i++)
        free(terms[i]);
    free(t.buf);
    return b.buf;
}

static void random_models_match_reference(void **state)
{
    (void)state;
    uint64_t seed = 7;
    unsigned variants = 0; /* bit v: a pass of four terms with variant v was run */
    size_t fused_alone = 0, fused_in_product = 0;
    for (int k = 0; k < 200; k++) {
        const int nf = 1 + (int)(rnd_next(&seed) % 4);
        const int n_terms = (int)(rnd_next(&seed) % 40);
        char *json = random_model_json(&seed, nf, n_terms);
        mr_model *m = load_json(json);
        mr_plan *p = NULL;
        assert_int_equal(mr_plan_build(m, &p), MR_OK);
        for (size_t g = 0; g < p->n_term4; g++)
            if (!p->term4[g].plain)
                variants |= 1u << p->term4[g].variant;
        for (size_t i = 0; i < p->n_terms; i++)
            if (p->term_hinge[i] && p->term_a[i] == p->n_ops)
                fused_alone++;
            else if (p->term_hinge[i])
                fused_in_product++;
        mr_plan_free(p);
        check_model_against_reference(m, k % 2 ? 300 : 129);
        mr_model_free(m);
        free(json);
    }
    assert_int_equal(variants, 0xffff);
    assert_true(fused_alone > 0 && fused_in_product > 0);
}

static void bad_arguments(void **state)
{
    (void)state;
    mr_model *m = load_json(kinds_model);
    mr_engine *e = engine_for(m);
    double x[3] = { 0 }, y;
    mr_error err;
    assert_int_equal(mr_predict(e, x, 1, 2, &y, &err), MR_E_SHAPE);
    assert_int_equal(mr_predict(e, NULL, 1, 3, &y, &err), MR_E_INVAL);
    assert_int_equal(mr_predict(e, NULL, 0, 3, &y, &err), MR_OK);
    assert_int_equal(mr_design(e, x, 1, 3, &y, 2, &err), MR_E_SHAPE);
    mr_engine_free(e);
    mr_engine_free(NULL);
    mr_model_free(m);
}

/* Every NaN comes out as +NaN, 0x7ff8000000000000, wherever the row sits in
 * a block (vector body or scalar tail) and whatever made it: a missing input
 * (+NaN), 0 * inf (x86's default NaN is -NaN), inf - inf, NaN + -NaN. */
static void nan_results_are_canonical(void **state)
{
    (void)state;
    mr_model *m = load_json(
        "{\"spec_version\":\"1.0\",\"params\":{\"allow_missing\":true},\"feature_schema\":{\"n_features\":2},"
        "\"basis_terms\":[{\"kind\":\"linear\",\"variable_idx\":0},"
        "{\"kind\":\"interaction\",\"parent1\":{\"kind\":\"linear\",\"variable_idx\":0},"
        "\"parent2\":{\"kind\":\"linear\",\"variable_idx\":1}},"
        "{\"kind\":\"linear\",\"variable_idx\":1}],"
        "\"coefficients\":[1.0,1.0,-1.0]}");
    mr_engine *e = engine_for(m);
    double neg_nan;
    const uint64_t neg_bits = 0xfff8000000000000u, want = 0x7ff8000000000000u;
    memcpy(&neg_nan, &neg_bits, sizeof neg_nan);
    const double rows[][2] = { { 0.0, INFINITY }, { NAN, 1.0 }, { INFINITY, INFINITY }, { neg_nan, NAN },
                               { 1.0, neg_nan }, { 2.0, 3.0 } };
    enum { N = 261 };
    double x[2 * N], y[N], d[3 * N];
    for (size_t k = 0; k < N; k++) {
        x[2 * k] = rows[k % 6][0];
        x[2 * k + 1] = rows[k % 6][1];
    }
    for (size_t n = 1; n <= N; n += 37) {
        assert_int_equal(mr_predict(e, x, n, 2, y, NULL), MR_OK);
        assert_int_equal(mr_design(e, x, n, 2, d, 3, NULL), MR_OK);
        for (size_t k = 0; k < n; k++) {
            uint64_t b;
            if (k % 6 == 5) {
                assert_true(y[k] == 2.0 + 6.0 - 3.0);
                continue;
            }
            assert_true(isnan(y[k]));
            memcpy(&b, &y[k], sizeof b);
            assert_true(b == want);
            for (size_t i = 0; i < 3; i++) {
                if (!isnan(d[3 * k + i]))
                    continue;
                memcpy(&b, &d[3 * k + i], sizeof b);
                assert_true(b == want);
            }
        }
    }
    mr_engine_free(e);
    mr_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_matches_reference),
        cmocka_unit_test(nan_rules),
        cmocka_unit_test(summation_order_is_canonical),
        cmocka_unit_test(nan_results_are_canonical),
        cmocka_unit_test(empty_basis_predicts_zero),
        cmocka_unit_test(shared_subterms_are_computed_once),
        cmocka_unit_test(shared_subterms_across_index_growth),
        cmocka_unit_test(corpus_models_match_reference),
        cmocka_unit_test(random_models_match_reference),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
