/* test_model.c — ModelSpec v1 loading and validation (docs/SEMANTICS.md §1, §2, §4).
 *
 * Every rejection is checked three ways: the status, the JSON path and a
 * piece of the message. Inline documents use ' for " to stay readable.
 *
 * Decisions where docs/SEMANTICS.md is silent (docs/decisions.md), pinned here:
 * variable_idx must be a JSON integer (1.0 rejected); n_features is capped at
 * 2^20; "01.0" is an accepted spec_version; an imputer object needs both
 * "encoders" and "most_frequent", and a most_frequent key without an encoder
 * is rejected; parent depth counts links (64 nested parents OK, 65 not);
 * factors of degree 0 are left out of term names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "marsreplay.h"
#include "model.h"
#include "sha256.h"

#ifndef MR_FIXTURES
#define MR_FIXTURES "fixtures"
#endif

/* ---- building documents ------------------------------------------------ */

static const char OMIT_[] = "<omit>";
#define OMIT OMIT_

/* Pieces of a model document; NULL takes the default, OMIT drops the field. */
typedef struct {
    const char *version, *params, *schema, *terms, *coefs, *imputer, *extra;
} parts;

static void cat(char **buf, size_t *len, const char *s)
{
    const size_t n = strlen(s);
    char *p = realloc(*buf, *len + n + 1);
    assert_non_null(p);
    memcpy(p + *len, s, n + 1);
    *buf = p;
    *len += n;
}

static void field(char **buf, size_t *len, const char *key, const char *val, const char *def)
{
    if (val == OMIT)
        return;
    if (*len > 1)
        cat(buf, len, ",");
    cat(buf, len, "'");
    cat(buf, len, key);
    cat(buf, len, "':");
    cat(buf, len, val ? val : def);
}

/* The document as a malloc'd string, every ' turned into ". */
static char *make(parts p)
{
    char *b = NULL;
    size_t n = 0;
    cat(&b, &n, "{");
    field(&b, &n, "spec_version", p.version, "'1.0'");
    field(&b, &n, "params", p.params, "{}");
    field(&b, &n, "feature_schema", p.schema, "{'n_features':3,'feature_names':['a','b','c']}");
    field(&b, &n, "basis_terms", p.terms, "[{'kind':'constant'}]");
    field(&b, &n, "coefficients", p.coefs, "[1.0]");
    if (p.imputer)
        field(&b, &n, "categorical_imputer", p.imputer, "null");
    if (p.extra)
        cat(&b, &n, p.extra);
    cat(&b, &n, "}");
    for (char *s = b; *s; s++)
        if (*s == '\'')
            *s = '"';
    return b;
}

static mr_model *load_ok(parts p)
{
    char *doc = make(p);
    mr_model *m = NULL;
    mr_error e;
    const mr_status st = mr_model_load_buffer(doc, strlen(doc), "t.json", &m, &e);
    if (st != MR_OK)
        print_error("unexpected failure: %s: %s\n  doc: %s\n", e.json_path, e.text, doc);
    free(doc);
    assert_int_equal(st, MR_OK);
    assert_int_equal(e.status, MR_OK);
    assert_non_null(m);
    return m;
}

static void expect_fail_raw(const char *doc, size_t len, mr_status want, const char *path,
                            const char *text)
{
    mr_model *m = (mr_model *)&m; /* must be reset to NULL */
    mr_error e;
    const mr_status st = mr_model_load_buffer(doc, len, "t.json", &m, &e);
    if (st != want || e.status != want || strcmp(e.json_path, path) != 0
        || !strstr(e.text, text)) {
        print_error("doc: %.*s\n got:  %d path '%s' text '%s'\n want: %d path '%s' text ~'%s'\n",
                    (int)len, doc, st, e.json_path, e.text, want, path, text);
        fail();
    }
    assert_null(m);
    assert_string_equal(e.source, "t.json");
    assert_non_null(memchr(e.text, '\0', sizeof e.text));
    assert_null(strchr(e.text, '\n'));
}

typedef struct {
    parts p;
    const char *path, *text;
} bad_case;

static void run_bad(const bad_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *doc = make(cases[i].p);
        expect_fail_raw(doc, strlen(doc), MR_E_MODEL, cases[i].path, cases[i].text);
        free(doc);
    }
}

#define RUN_BAD(tab) run_bad(tab, sizeof tab / sizeof tab[0])
#define BAD(path_, text_, ...) {{__VA_ARGS__}, path_, text_}
#define T1(t) .terms = "[" t "]"

/* ---- raw JSON ------------------------------------------------------------ */

static void test_json_syntax(void **state)
{
    (void)state;
    static const struct {
        const char *doc, *text;
    } cases[] = {
        {"", "invalid JSON"},
        {"{", "invalid JSON: "},
        {"3", "invalid JSON"},
        {"\"x\"", "invalid JSON"},
        {"{\"a\":1} x", "invalid JSON"},
        {"{\"a\":1,\"a\":2}", "duplicate"},
        {"{\"a\":NaN}", "NaN"},
        {"{\"a\":Infinity}", "invalid JSON"},
        {"{\"a\":-Infinity}", "invalid JSON"},
        {"{\"a\":1e999}", "overflow"},
        {"{\"a\":-1e999}", "overflow"},
        {"{\"a\":99999999999999999999}", "too big integer"},
        {"{\"a\":\"\\u0000\"}", "invalid JSON"},
        {"{\"a\":\"\xff\"}", "invalid JSON"},
        {"{'a':1}", "invalid JSON"},
        {"{\"a\":1,}", "invalid JSON"},
        {"{\"a\":\"x\ny\"}", "invalid JSON: "},
        /* jansson reports an allocation failure as a syntax error, so every
         * syntax error is re-checked: none of these may come back NOMEM */
        {"{\"a\":01}", "invalid JSON"},
        {"{\"a\":1.}", "invalid JSON"},
        {"{\"a\":.5}", "invalid JSON"},
        {"{\"a\":+1}", "invalid JSON"},
        {"{\"a\":-}", "invalid JSON"},
        {"{\"a\":1e}", "invalid JSON"},
        {"{\"a\":1e+}", "invalid JSON"},
        {"{\"a\":tru}", "invalid JSON"},
        {"{\"a\":truex}", "invalid JSON"},
        {"{\"a\":nul}", "invalid JSON"},
        {"{\"a\":\"\\ud800\"}", "invalid JSON"},
        {"{\"a\":\"\\ud800\\u0041\"}", "invalid JSON"},
        {"{\"a\":\"\\udc00\"}", "invalid JSON"},
        {"{\"a\":\"\\x\"}", "invalid JSON"},
        {"{\"a\":\"\\u12\"}", "invalid JSON"},
        {"{\"a\" 1}", "invalid JSON"},
        {"{1:2}", "invalid JSON"},
        {"{\"a\"}", "invalid JSON"},
        {"[1,]", "invalid JSON"},
        {"[1 2]", "invalid JSON"},
        {"{\"a\":[}", "invalid JSON"},
        {"{\"a\":[1}", "invalid JSON"},
        {"{\"a\":{]}", "invalid JSON"},
        {"\xef\xbb\xbf{}", "invalid JSON"},
        {"{}{}", "invalid JSON"},
        {"{}\f", "invalid JSON"},
        {"{\"a\":\"\t\"}", "invalid JSON"},
        {"   ", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_fail_raw(cases[i].doc, strlen(cases[i].doc), MR_E_MODEL, "", cases[i].text);

    /* an embedded NUL byte is not JSON either */
    expect_fail_raw("{\"a\":1}\0", 8, MR_E_MODEL, "", "invalid JSON");
    /* the line and column are also in the structured fields */
    mr_model *m;
    mr_error e;
    const char *doc = "{\n  \"a\": [1,\n   NaN]}";
    assert_int_equal(mr_model_load_buffer(doc, strlen(doc), NULL, &m, &e), MR_E_MODEL);
    assert_int_equal(e.line, 3);
    assert_true(e.column > 0);
    assert_string_equal(e.source, "<buffer>");
    assert_non_null(strstr(e.text, "invalid JSON: "));

    /* top level must be an object */
    expect_fail_raw("[]", 2, MR_E_MODEL, "", "expected a JSON object at the top level, found an empty array");
    expect_fail_raw("[1]", 3, MR_E_MODEL, "", "found an array");
}

/* ---- spec_version, required fields, params --------------------------------- */

static void test_spec_version(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        BAD("spec_version", "required field is missing", .version = OMIT),
        BAD("spec_version", "expected a \"<major>.<minor>\" string, found 1.0", .version = "1.0"),
        BAD("spec_version", "found 1", .version = "1"),
        BAD("spec_version", "found null", .version = "null"),
        BAD("spec_version", "found \"1\"", .version = "'1'"),
        BAD("spec_version", "found \"1.0.0\"", .version = "'1.0.0'"),
        BAD("spec_version", "found \"1.\"", .version = "'1.'"),
        BAD("spec_version", "found \".1\"", .version = "'.1'"),
        BAD("spec_version", "found \"v1.0\"", .version = "'v1.0'"),
        BAD("spec_version", "found \" 1.0\"", .version = "' 1.0'"),
        BAD("spec_version", "found \"1.0 \"", .version = "'1.0 '"),
        BAD("spec_version", "found \"1.x\"", .version = "'1.x'"),
        BAD("spec_version", "found \"\"", .version = "''"),
        BAD("spec_version", "unsupported major version: expected 1.x, found \"2.0\"", .version = "'2.0'"),
        BAD("spec_version", "found \"0.9\"", .version = "'0.9'"),
        BAD("spec_version", "found \"11.0\"", .version = "'11.0'"),
        BAD("spec_version", "found \"10.0\"", .version = "'10.0'"),
    };
    RUN_BAD(bad);
    static const char *const good[] = {"'1.0'", "'1.7'", "'1.10'", "'01.0'", "'1.00'"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        mr_model_free(load_ok((parts){.version = good[i]}));
}

static void test_required_fields(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        BAD("params", "required field is missing", .params = OMIT),
        BAD("feature_schema", "required field is missing", .schema = OMIT),
        BAD("basis_terms", "required field is missing", .terms = OMIT),
        BAD("coefficients", "required field is missing", .coefs = OMIT),
        BAD("params", "expected an object, found an empty array", .params = "[]"),
        BAD("params", "expected an object, found null", .params = "null"),
        BAD("feature_schema", "expected an object, found \"x\"", .schema = "'x'"),
        BAD("basis_terms", "expected an array of term objects, found an object", .terms = "{}"),
        BAD("basis_terms", "found null", .terms = "null"),
        BAD("coefficients", "expected an array of numbers, found an object", .coefs = "{}"),
        BAD("coefficients", "found 1.5", .coefs = "1.5"),
        /* a spec_version error wins over a missing field, as in pymars */
        BAD("spec_version", "unsupported", .version = "'2.0'", .coefs = OMIT),
    };
    RUN_BAD(bad);
}

static void test_params(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        BAD("params.allow_missing", "expected a boolean, found null",
            .params = "{'allow_missing':null}"),
        BAD("params.allow_missing", "expected a boolean, found \"true\"",
            .params = "{'allow_missing':'true'}"),
        BAD("params.allow_missing", "expected a boolean, found 1",
            .params = "{'allow_missing':1}"),
        BAD("params.allow_missing", "expected a boolean, found 0.0",
            .params = "{'allow_missing':0.0}"),
    };
    RUN_BAD(bad);
    mr_model *m = load_ok((parts){.params = "{'allow_missing':true,'max_degree':'anything'}"});
    assert_int_equal(mr_model_allow_missing(m), 1);
    mr_model_free(m);
    m = load_ok((parts){.params = "{'allow_missing':false}"});
    assert_int_equal(mr_model_allow_missing(m), 0);
    mr_model_free(m);
}

static void test_allow_missing_inference(void **state)
{
    (void)state;
    static const struct {
        const char *params, *terms, *coefs;
        int want;
    } cases[] = {
        {"{}", "[{'kind':'constant'}]", "[1]", 0},
        {"{}", "[{'kind':'hinge','variable_idx':0,'is_right_hinge':true,'knot_val':0}]", "[1]", 0},
        {"{}", "[{'kind':'categorical','variable_idx':0,'category':1}]", "[1]", 1},
        {"{}", "[{'kind':'linear','variable_idx':1},{'kind':'missingness','variable_idx':0}]",
         "[1,2]", 1},
        /* only top-level kinds count (pymars looks at term_payload['kind']) */
        {"{}", "[{'kind':'linear','variable_idx':1,'parent1':"
               "{'kind':'categorical','variable_idx':0,'category':1}}]", "[1]", 0},
        {"{}", "[{'kind':'interaction','parent1':{'kind':'missingness','variable_idx':0},"
               "'parent2':{'kind':'linear','variable_idx':1}}]", "[1]", 0},
        {"{}", "[]", "[]", 0},
        /* an explicit value always wins */
        {"{'allow_missing':false}", "[{'kind':'missingness','variable_idx':0}]", "[1]", 0},
        {"{'allow_missing':true}", "[{'kind':'linear','variable_idx':0}]", "[1]", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mr_model *m = load_ok((parts){.params = cases[i].params, .terms = cases[i].terms,
                                      .coefs = cases[i].coefs});
        assert_int_equal(mr_model_allow_missing(m), cases[i].want);
        mr_model_free(m);
    }
}

/* ---- feature_schema -------------------------------------------------------- */

static void test_feature_schema_bad(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        BAD("feature_schema.n_features", "expected a non-negative integer or null, found -1",
            .schema = "{'n_features':-1}"),
        BAD("feature_schema.n_features", "found 2.0", .schema = "{'n_features':2.0}"),
        BAD("feature_schema.n_features", "found true", .schema = "{'n_features':true}"),
        BAD("feature_schema.n_features", "found \"3\"", .schema = "{'n_features':'3'}"),
        BAD("feature_schema.n_features", "found an empty array", .schema = "{'n_features':[]}"),
        BAD("feature_schema.n_features", "more than 1048576 features are not supported",
            .schema = "{'n_features':1048577}"),
        BAD("feature_schema.n_features", "found 9223372036854775807",
            .schema = "{'n_features':9223372036854775807}"),
        BAD("feature_schema.feature_names", "expected an array of strings or null, found \"a\"",
            .schema = "{'n_features':1,'feature_names':'a'}"),
        BAD("feature_schema.feature_names", "found an object",
            .schema = "{'feature_names':{}}"),
        BAD("feature_schema.feature_names[1]", "expected a string, found 3",
            .schema = "{'feature_names':['a',3]}"),
        BAD("feature_schema.feature_names[0]", "expected a string, found null",
            .schema = "{'n_features':1,'feature_names':[null]}"),
        BAD("feature_schema.feature_names", "expected 5 names (n_features), found 3",
            .schema = "{'n_features':5,'feature_names':['a','b','c']}"),
        BAD("feature_schema.feature_names", "expected 0 names (n_features), found 1",
            .schema = "{'n_features':0,'feature_names':['a']}"),
        BAD("feature_schema.feature_names[2]", "duplicate feature name \"a\" (also at index 0)",
            .schema = "{'feature_names':['a','b','a','b']}"),
        BAD("feature_schema.feature_names[3]", "duplicate feature name \"b\" (also at index 1)",
            .schema = "{'feature_names':['z','b','c','b','z']}"),
        BAD("feature_schema", "neither n_features nor a non-empty feature_names", .schema = "{}"),
        BAD("feature_schema", "neither",
            .schema = "{'n_features':null,'feature_names':null}"),
        BAD("feature_schema", "neither", .schema = "{'feature_names':[]}"),
    };
    RUN_BAD(bad);

    /* the duplicate name is also reported in err->field */
    char *doc = make((parts){.schema = "{'feature_names':['q','q']}"});
    mr_model *m;
    mr_error e;
    assert_int_equal(mr_model_load_buffer(doc, strlen(doc), NULL, &m, &e), MR_E_MODEL);
    assert_string_equal(e.field, "q");
    free(doc);
}

static void test_feature_schema_good(void **state)
{
    (void)state;
    /* names only: n_features = len(names) */
    mr_model *m = load_ok((parts){.schema = "{'feature_names':['temp C','r\\u00e9gion']}"});
    assert_int_equal(mr_model_n_features(m), 2);
    assert_string_equal(mr_model_feature_name(m, 1), "r\xc3\xa9gion");
    mr_model_free(m);
    m = load_ok((parts){.schema = "{'n_features':null,'feature_names':['u','v']}"});
    assert_int_equal(mr_model_n_features(m), 2);
    mr_model_free(m);
    /* count only, null names or an empty list: x0.. */
    static const char *const counted[] = {"{'n_features':3}", "{'n_features':3,'feature_names':null}",
                                          "{'n_features':3,'feature_names':[]}"};
    for (size_t i = 0; i < 3; i++) {
        m = load_ok((parts){.schema = counted[i]});
        assert_int_equal(mr_model_n_features(m), 3);
        assert_string_equal(mr_model_feature_name(m, 0), "x0");
        assert_string_equal(mr_model_feature_name(m, 2), "x2");
        assert_null(mr_model_feature_name(m, 3));
        mr_model_free(m);
    }
    /* zero features is fine for a constant model */
    m = load_ok((parts){.schema = "{'n_features':0}"});
    assert_int_equal(mr_model_n_features(m), 0);
    assert_null(mr_model_feature_name(m, 0));
    mr_model_free(m);
    /* the largest count allowed */
    m = load_ok((parts){.schema = "{'n_features':1048576}"});
    assert_string_equal(mr_model_feature_name(m, 1048575), "x1048575");
    mr_model_free(m);
    /* names that differ only in case are distinct */
    m = load_ok((parts){.schema = "{'feature_names':['a','A']}"});
    mr_model_free(m);
}

/* ---- coefficients -------------------------------------------------------- */

static void test_coefficients(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        BAD("coefficients", "expected 1 coefficients (one per basis term), found 0", .coefs = "[]"),
        BAD("coefficients", "expected 2 coefficients (one per basis term), found 3",
            .terms = "[{'kind':'constant'},{'kind':'constant'}]", .coefs = "[1,2,3]"),
        BAD("coefficients[0]", "expected a finite number, found null", .coefs = "[null]"),
        BAD("coefficients[0]", "expected a finite number, found \"1.5\"", .coefs = "['1.5']"),
        BAD("coefficients[0]", "expected a finite number, found true", .coefs = "[true]"),
        BAD("coefficients[0]", "found false", .coefs = "[false]"),
        BAD("coefficients[0]", "found an empty array", .coefs = "[[]]"),
        BAD("coefficients[0]", "found an object", .coefs = "[{}]"),
        BAD("coefficients[2]", "found null",
            .terms = "[{'kind':'constant'},{'kind':'constant'},{'kind':'constant'}]",
            .coefs = "[1,2,null]"),
    };
    RUN_BAD(bad);

    /* integers are numbers; -0.0 keeps its sign; subnormals are finite */
    mr_model *m = load_ok((parts){
        .terms = "[{'kind':'constant'},{'kind':'constant'},{'kind':'constant'},{'kind':'constant'}]",
        .coefs = "[2,-0.0,1e-320,-1.7976931348623157e308]"});
    assert_true(mr_model_coefficient(m, 0) == 2.0);
    assert_true(mr_model_coefficient(m, 1) == 0.0 && signbit(mr_model_coefficient(m, 1)));
    assert_true(mr_model_coefficient(m, 2) == 1e-320);
    assert_true(mr_model_coefficient(m, 3) == -1.7976931348623157e308);
    assert_true(isnan(mr_model_coefficient(m, 4)));
    mr_model_free(m);

    /* a long string is quoted and truncated, the message stays one line */
    char *doc = make((parts){.coefs = "['0123456789012345678901234567890123456789"
                                      "0123456789012345678901234567890123456789\\n']"});
    mr_model *mm;
    mr_error e;
    assert_int_equal(mr_model_load_buffer(doc, strlen(doc), NULL, &mm, &e), MR_E_MODEL);
    assert_non_null(strstr(e.text, "found \"0123456789"));
    assert_non_null(strstr(e.text, "...\""));
    assert_true(strlen(e.text) < 120);
    free(doc);
}

/* ---- basis terms --------------------------------------------------------- */

static void test_term_kind(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        BAD("basis_terms[0]", "expected a term object, found 1", T1("1")),
        BAD("basis_terms[0]", "found null", T1("null")),
        BAD("basis_terms[0]", "found an empty array", T1("[]")),
        BAD("basis_terms[0].kind", "required field is missing", T1("{}")),
        BAD("basis_terms[0].kind", "expected a non-empty string, found 3", T1("{'kind':3}")),
        BAD("basis_terms[0].kind", "found null", T1("{'kind':null}")),
        BAD("basis_terms[0].kind", "found \"\"", T1("{'kind':''}")),
        BAD("basis_terms[0].kind", "unknown term kind \"spline\"", T1("{'kind':'spline'}")),
        BAD("basis_terms[0].kind", "unknown term kind \"Linear\"",
            T1("{'kind':'Linear','variable_idx':0}")),
        BAD("basis_terms[0].kind", "unknown term kind \"constant \"", T1("{'kind':'constant '}")),
        BAD("basis_terms[1].kind", "unknown", .terms = "[{'kind':'constant'},{'kind':'x'}]",
            .coefs = "[1,2]"),
    };
    RUN_BAD(bad);
}

static void test_term_variable_idx(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        BAD("basis_terms[0].variable_idx", "expected an integer feature index, found nothing",
            T1("{'kind':'linear'}")),
        BAD("basis_terms[0].variable_idx", "found null", T1("{'kind':'linear','variable_idx':null}")),
        BAD("basis_terms[0].variable_idx", "found 1.0", T1("{'kind':'linear','variable_idx':1.0}")),
        BAD("basis_terms[0].variable_idx", "found \"1\"", T1("{'kind':'linear','variable_idx':'1'}")),
        BAD("basis_terms[0].variable_idx", "found true", T1("{'kind':'linear','variable_idx':true}")),
        BAD("basis_terms[0].variable_idx", "expected a feature index in 0..2, found -1",
            T1("{'kind':'linear','variable_idx':-1}")),
        BAD("basis_terms[0].variable_idx", "expected a feature index in 0..2, found 3",
            T1("{'kind':'linear','variable_idx':3}")),
        BAD("basis_terms[0].variable_idx", "found 9223372036854775807",
            T1("{'kind':'linear','variable_idx':9223372036854775807}")),
        BAD("basis_terms[0].variable_idx", "found 7",
            T1("{'kind':'hinge','variable_idx':7,'is_right_hinge':true,'knot_val':0}")),
        BAD("basis_terms[0].variable_idx", "found -1",
            T1("{'kind':'categorical','variable_idx':-1,'category':0}")),
        BAD("basis_terms[0].variable_idx", "found 3",
            T1("{'kind':'missingness','variable_idx':3}")),
        BAD("basis_terms[0].variable_idx", "the model has no features",
            .schema = "{'n_features':0}", T1("{'kind':'linear','variable_idx':0}")),
    };
    RUN_BAD(bad);
    mr_model *m = load_ok((parts){T1("{'kind':'linear','variable_idx':2}")});
    assert_int_equal(m->terms[0].var, 2);
    mr_model_free(m);
}

static void test_term_hinge_categorical(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        BAD("basis_terms[0].is_right_hinge", "expected a boolean, found null",
            T1("{'kind':'hinge','variable_idx':0,'is_right_hinge':null,'knot_val':0.5}")),
        BAD("basis_terms[0].is_right_hinge", "expected a boolean, found nothing",
            T1("{'kind':'hinge','variable_idx':0,'knot_val':0.5}")),
        BAD("basis_terms[0].is_right_hinge", "found \"true\"",
            T1("{'kind':'hinge','variable_idx':0,'is_right_hinge':'true','knot_val':0.5}")),
        BAD("basis_terms[0].is_right_hinge", "found 1",
            T1("{'kind':'hinge','variable_idx':0,'is_right_hinge':1,'knot_val':0.5}")),
        BAD("basis_terms[0].knot_val", "expected a finite number, found null",
            T1("{'kind':'hinge','variable_idx':0,'is_right_hinge':true,'knot_val':null}")),
        BAD("basis_terms[0].knot_val", "expected a finite number, found nothing",
            T1("{'kind':'hinge','variable_idx':0,'is_right_hinge':true}")),
        BAD("basis_terms[0].knot_val", "found \"0.5\"",
            T1("{'kind':'hinge','variable_idx':0,'is_right_hinge':true,'knot_val':'0.5'}")),
        BAD("basis_terms[0].knot_val", "found false",
            T1("{'kind':'hinge','variable_idx':0,'is_right_hinge':true,'knot_val':false}")),
        BAD("basis_terms[0].category", "expected a finite number, found null",
            T1("{'kind':'categorical','variable_idx':0,'category':null}")),
        BAD("basis_terms[0].category", "found nothing",
            T1("{'kind':'categorical','variable_idx':0}")),
        BAD("basis_terms[0].category", "found \"red\"",
            T1("{'kind':'categorical','variable_idx':0,'category':'red'}")),
        BAD("basis_terms[0].category", "found true",
            T1("{'kind':'categorical','variable_idx':0,'category':true}")),
        BAD("basis_terms[1].parent1.knot_val", "expected a finite number, found null",
            .terms = "[{'kind':'constant'},{'kind':'linear','variable_idx':1,'parent1':"
                     "{'kind':'hinge','variable_idx':0,'is_right_hinge':false,'knot_val':null}}]",
            .coefs = "[1,2]"),
    };
    RUN_BAD(bad);
    mr_model *m = load_ok((parts){
        .terms = "[{'kind':'hinge','variable_idx':1,'is_right_hinge':false,'knot_val':-2},"
                 "{'kind':'categorical','variable_idx':2,'category':3}]",
        .coefs = "[1,2]"});
    assert_int_equal(m->terms[0].kind, MR_KIND_HINGE);
    assert_false(m->terms[0].right);
    assert_true(m->terms[0].knot == -2.0);
    assert_int_equal(m->terms[1].kind, MR_KIND_CATEGORICAL);
    assert_true(m->terms[1].category == 3.0);
    mr_model_free(m);
}

static void test_term_parents(void **state)
{
    (void)state;
#define LIN0 "{'kind':'linear','variable_idx':0}"
    static const bad_case bad[] = {
        BAD("basis_terms[0].parent1", "expected a term object or null, found 0",
            T1("{'kind':'linear','variable_idx':1,'parent1':0}")),
        BAD("basis_terms[0].parent1", "found an empty array",
            T1("{'kind':'linear','variable_idx':1,'parent1':[]}")),
        BAD("basis_terms[0].parent2", "expected a term object or null, found \"x\"",
            T1("{'kind':'interaction','parent1':" LIN0 ",'parent2':'x'}")),
        BAD("basis_terms[0].parent2", "found false",
            T1("{'kind':'constant','parent2':false}")),
        BAD("basis_terms[0].parent1", "an interaction term needs parent1 and parent2 objects, found nothing",
            T1("{'kind':'interaction','parent2':" LIN0 "}")),
        BAD("basis_terms[0].parent2", "an interaction term needs parent1 and parent2 objects, found null",
            T1("{'kind':'interaction','parent1':" LIN0 ",'parent2':null}")),
        BAD("basis_terms[0].parent1", "found null",
            T1("{'kind':'interaction','parent1':null,'parent2':null}")),
        BAD("basis_terms[0].parent1", "a constant term cannot have a parent",
            T1("{'kind':'constant','parent1':" LIN0 "}")),
        BAD("basis_terms[0].parent2", "a constant term cannot have a parent",
            T1("{'kind':'constant','parent2':" LIN0 "}")),
        BAD("basis_terms[0].parent1", "a missingness term cannot have a parent",
            T1("{'kind':'missingness','variable_idx':0,'parent1':{'kind':'constant'}}")),
        BAD("basis_terms[0].parent2", "a missingness term cannot have a parent",
            T1("{'kind':'missingness','variable_idx':0,'parent2':" LIN0 "}")),
        BAD("basis_terms[0].parent2", "a linear term cannot have parent2",
            T1("{'kind':'linear','variable_idx':0,'parent2':" LIN0 "}")),
        BAD("basis_terms[0].parent2", "a hinge term cannot have parent2",
            T1("{'kind':'hinge','variable_idx':0,'is_right_hinge':true,'knot_val':1,"
               "'parent1':{'kind':'constant'},'parent2':" LIN0 "}")),
        BAD("basis_terms[0].parent2", "a categorical term cannot have parent2",
            T1("{'kind':'categorical','variable_idx':0,'category':1,'parent2':" LIN0 "}")),
        /* errors inside nested parents carry the whole path */
        BAD("basis_terms[0].parent2.parent1.variable_idx", "found 5",
            T1("{'kind':'interaction','parent1':" LIN0 ",'parent2':"
               "{'kind':'linear','variable_idx':1,'parent1':{'kind':'linear','variable_idx':5}}}")),
        BAD("basis_terms[0].parent1.parent1", "a missingness term cannot have a parent",
            T1("{'kind':'interaction','parent1':{'kind':'missingness','variable_idx':0,'parent1':"
               LIN0 "},'parent2':" LIN0 "}")),
        BAD("basis_terms[0].parent1.kind", "unknown term kind \"spline\"",
            T1("{'kind':'linear','variable_idx':0,'parent1':{'kind':'spline'}}")),
    };
    RUN_BAD(bad);

    /* explicit nulls are the same as absent parents */
    mr_model *m = load_ok((parts){
        .terms = "[{'kind':'constant','parent1':null,'parent2':null},"
                 "{'kind':'linear','variable_idx':0,'parent1':null,'parent2':null},"
                 "{'kind':'missingness','variable_idx':1,'parent1':null,'parent2':null}]",
        .coefs = "[1,2,3]"});
    assert_null(m->terms[1].parent1);
    mr_model_free(m);
}

/* A linear term with `depth` nested parents (via parent1, or via an
 * interaction's parent2 when `via_p2`). */
static char *chain(int depth, int via_p2)
{
    char *b = NULL;
    size_t n = 0;
    cat(&b, &n, "{'spec_version':'1.0','params':{},'feature_schema':{'n_features':1},"
                "'coefficients':[1],'basis_terms':[");
    for (int i = 0; i < depth; i++)
        cat(&b, &n, via_p2 ? "{'kind':'interaction','parent1':{'kind':'linear','variable_idx':0},'parent2':"
                           : "{'kind':'linear','variable_idx':0,'parent1':");
    cat(&b, &n, "{'kind':'linear','variable_idx':0}");
    for (int i = 0; i < depth; i++)
        cat(&b, &n, "}");
    cat(&b, &n, "]}");
    for (char *s = b; *s; s++)
        if (*s == '\'')
            *s = '"';
    return b;
}

static void test_depth(void **state)
{
    (void)state;
    for (int via_p2 = 0; via_p2 < 2; via_p2++) {
        char *doc = chain(MR_MAX_DEPTH, via_p2);
        mr_model *m;
        mr_error e;
        assert_int_equal(mr_model_load_buffer(doc, strlen(doc), NULL, &m, &e), MR_OK);
        /* 65 linear factors either way (each interaction adds one via parent1) */
        assert_int_equal(mr_model_degree(m), MR_MAX_DEPTH + 1);
        mr_model_free(m);
        free(doc);

        doc = chain(MR_MAX_DEPTH + 1, via_p2);
        m = (mr_model *)&m;
        assert_int_equal(mr_model_load_buffer(doc, strlen(doc), NULL, &m, &e), MR_E_MODEL);
        assert_null(m);
        assert_non_null(strstr(e.text, "nested deeper than 64 levels"));
        /* the long path is elided in the middle: head and tail stay */
        /* via parent2, the interaction at depth 64 fails first on its parent1 */
        const char *tail = via_p2 ? ".parent2.parent2.parent1" : ".parent1.parent1.parent1";
        assert_int_equal(strncmp(e.json_path, via_p2 ? "basis_terms[0].parent2.parent2"
                                                     : "basis_terms[0].parent1.parent1", 30), 0);
        assert_string_equal(e.json_path + strlen(e.json_path) - strlen(tail), tail);
        assert_non_null(strstr(e.json_path, "..."));
        assert_true(strlen(e.json_path) < sizeof e.json_path);
        free(doc);
    }
}

/* ---- categorical_imputer ---------------------------------------------------- */

#define CAT_TERM T1("{'kind':'categorical','variable_idx':0,'category':1}")

static void test_imputer_bad(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        BAD("categorical_imputer", "expected an object or null, found an empty array",
            .imputer = "[]"),
        BAD("categorical_imputer", "found 0", .imputer = "0"),
        BAD("categorical_imputer.encoders", "expected an object mapping feature indices to classes, found nothing",
            .imputer = "{}"),
        BAD("categorical_imputer.encoders", "found an empty array",
            .imputer = "{'encoders':[],'most_frequent':{}}"),
        BAD("categorical_imputer.encoders.01", "expected a feature index \"0\"..\"2\" as key, found \"01\"",
            .imputer = "{'encoders':{'01':['a']},'most_frequent':{'01':'a'}}"),
        BAD("categorical_imputer.encoders.-1", "found \"-1\"",
            .imputer = "{'encoders':{'-1':['a']},'most_frequent':{'-1':'a'}}"),
        BAD("categorical_imputer.encoders.x", "found \"x\"",
            .imputer = "{'encoders':{'x':['a']},'most_frequent':{'x':'a'}}"),
        BAD("categorical_imputer.encoders.3", "found \"3\"",
            .imputer = "{'encoders':{'3':['a']},'most_frequent':{'3':'a'}}"),
        BAD("categorical_imputer.encoders.99999999999", "found \"99999999999\"",
            .imputer = "{'encoders':{'99999999999':['a']},'most_frequent':{}}"),
        BAD("categorical_imputer.encoders[\"\"]", "found \"\"",
            .imputer = "{'encoders':{'':['a']},'most_frequent':{}}"),
        BAD("categorical_imputer.encoders[\" 1\"]", "found \" 1\"",
            .imputer = "{'encoders':{' 1':['a']},'most_frequent':{}}"),
        BAD("categorical_imputer.encoders.0", "the model has no features",
            .schema = "{'n_features':0}",
            .imputer = "{'encoders':{'0':['a']},'most_frequent':{'0':'a'}}"),
        BAD("categorical_imputer.encoders.0", "expected a non-empty array of classes, found \"red\"",
            .imputer = "{'encoders':{'0':'red'},'most_frequent':{'0':'red'}}"),
        BAD("categorical_imputer.encoders.0", "found an empty array",
            .imputer = "{'encoders':{'0':[]},'most_frequent':{}}"),
        BAD("categorical_imputer.encoders.0[1]", "expected a string or a finite number, found null",
            .imputer = "{'encoders':{'0':['a',null]},'most_frequent':{'0':'a'}}"),
        BAD("categorical_imputer.encoders.2[0]", "found true",
            .imputer = "{'encoders':{'2':[true]},'most_frequent':{'2':true}}"),
        BAD("categorical_imputer.encoders.0[0]", "found an object",
            .imputer = "{'encoders':{'0':[{}]},'most_frequent':{}}"),
        BAD("categorical_imputer.most_frequent", "expected an object mapping feature indices to labels, found nothing",
            .imputer = "{'encoders':{'0':['a']}}"),
        BAD("categorical_imputer.most_frequent", "found null",
            .imputer = "{'encoders':{'0':['a']},'most_frequent':null}"),
        BAD("categorical_imputer.most_frequent.0", "required entry is missing",
            .imputer = "{'encoders':{'0':['a']},'most_frequent':{}}"),
        BAD("categorical_imputer.most_frequent.1", "required entry is missing",
            .imputer = "{'encoders':{'0':['a'],'1':['b']},'most_frequent':{'0':'a'}}"),
        BAD("categorical_imputer.most_frequent.0", "expected one of the encoder's classes, found \"purple\"",
            .imputer = "{'encoders':{'0':['blue','red']},'most_frequent':{'0':'purple'}}"),
        BAD("categorical_imputer.most_frequent.0", "found \"Red\"",
            .imputer = "{'encoders':{'0':['red']},'most_frequent':{'0':'Red'}}"),
        BAD("categorical_imputer.most_frequent.0", "found 2",
            .imputer = "{'encoders':{'0':['2']},'most_frequent':{'0':2}}"),
        BAD("categorical_imputer.most_frequent.0", "found \"2.0\"",
            .imputer = "{'encoders':{'0':[2.0]},'most_frequent':{'0':'2.0'}}"),
        BAD("categorical_imputer.most_frequent.0", "found null",
            .imputer = "{'encoders':{'0':[1.0]},'most_frequent':{'0':null}}"),
        BAD("categorical_imputer.most_frequent.1", "feature 1 has no encoder",
            .imputer = "{'encoders':{'0':['a']},'most_frequent':{'0':'a','1':'b'}}"),
        BAD("categorical_imputer.most_frequent.x", "expected a feature index",
            .imputer = "{'encoders':{'0':['a']},'most_frequent':{'0':'a','x':'b'}}"),
    };
    RUN_BAD(bad);
}

static void test_imputer_good(void **state)
{
    (void)state;
    /* absent and null: no categorical feature */
    static const char *const none[] = {NULL, "null"};
    for (size_t i = 0; i < 2; i++) {
        mr_model *m = load_ok((parts){.imputer = none[i]});
        for (size_t j = 0; j < 3; j++) {
            assert_int_equal(mr_model_feature_is_categorical(m, j), 0);
            assert_int_equal(mr_model_n_classes(m, j), 0);
            assert_null(m->encoders[j]);
        }
        mr_model_free(m);
    }
    mr_model *m = load_ok((parts){
        CAT_TERM,
        .imputer = "{'encoders':{'0':['blue','green','red'],'2':[0.0,1,2.5,1e+16]},"
                   "'most_frequent':{'2':1.0,'0':'red'},'extra':1}"});
    assert_int_equal(mr_model_feature_is_categorical(m, 0), 1);
    assert_int_equal(mr_model_feature_is_categorical(m, 1), 0);
    assert_int_equal(mr_model_feature_is_categorical(m, 2), 1);
    assert_int_equal(mr_model_feature_is_categorical(m, 3), 0);
    assert_int_equal(mr_model_n_classes(m, 0), 3);
    assert_int_equal(mr_model_n_classes(m, 2), 4);
    assert_string_equal(mr_model_class_label(m, 0, 1), "green");
    assert_string_equal(mr_model_class_label(m, 2, 0), "0.0");
    assert_string_equal(mr_model_class_label(m, 2, 1), "1.0");
    assert_string_equal(mr_model_class_label(m, 2, 2), "2.5");
    assert_string_equal(mr_model_class_label(m, 2, 3), "1e+16");
    assert_null(mr_model_class_label(m, 2, 4));
    assert_null(mr_model_class_label(m, 1, 0));
    assert_null(mr_model_class_label(m, 3, 0));
    const mr_encoder *e0 = m->encoders[0], *e2 = m->encoders[2];
    assert_int_equal(e0->most_frequent, 2);
    assert_true(e0->classes[2].is_string);
    assert_int_equal(e0->classes[2].len, 3);
    assert_memory_equal(e0->classes[2].str, "red", 4);
    assert_int_equal(e2->most_frequent, 1); /* 1.0 matches the integer class 1 */
    assert_false(e2->classes[1].is_string);
    assert_true(e2->classes[1].num == 1.0);
    assert_string_equal(mr_model_term_name(m, 0), "a==green");
    mr_model_free(m);

    /* mixed classes; the first equal class is the most frequent */
    m = load_ok((parts){.imputer = "{'encoders':{'1':['x',3,'y',3.0]},'most_frequent':{'1':3}}"});
    assert_int_equal(m->encoders[1]->most_frequent, 1);
    assert_string_equal(mr_model_class_label(m, 1, 0), "x");
    mr_model_free(m);
    /* empty encoders: nothing categorical */
    m = load_ok((parts){.imputer = "{'encoders':{},'most_frequent':{}}"});
    assert_int_equal(mr_model_feature_is_categorical(m, 0), 0);
    mr_model_free(m);
}

/* ---- unknown keys ---------------------------------------------------------- */

static void test_unknown_keys_ignored(void **state)
{
    (void)state;
    mr_model *m = load_ok((parts){
        .params = "{'allow_missing':false,'penalty':3.0,'nested':{'x':[null]}}",
        .schema = "{'n_features':2,'feature_names':['p','q'],'dtype':'float64'}",
        .terms = "[{'kind':'constant','variable_idx':'junk','knot_val':'junk','category':[],"
                 "'is_right_hinge':7,'gcv_score':null,'rss_score':'x','variable_name':5},"
                 "{'kind':'linear','variable_idx':1,'knot_val':'ignored','category':{},"
                 "'is_right_hinge':'no','variable_name':'x9','comment':'hi'},"
                 "{'kind':'interaction','variable_idx':'junk','knot_val':null,'parent1':"
                 "{'kind':'linear','variable_idx':0},'parent2':{'kind':'missingness',"
                 "'variable_idx':1,'knot_val':'z','category':'z'}}]",
        .coefs = "[1,2,3]",
        .extra = ",'model_type':'Earth','module_version':null,'metrics':'anything',"
                 "'future':{'a':[1,2,{}]}"});
    assert_int_equal(mr_model_n_terms(m), 3);
    assert_string_equal(mr_model_term_name(m, 1), "q");
    assert_string_equal(mr_model_term_name(m, 2), "p*missing(q)");
    mr_model_free(m);
}

/* ---- optional provenance metadata (SEMANTICS "Optional metadata") ------------- */

static void test_provenance(void **state)
{
    (void)state;
    /* all members */
    mr_model *m = load_ok((parts){
        .extra = ",'provenance':{'exporter':'marsreplay-export-earth','exporter_version':'0.1.0',"
                 "'source_tool':'earth','source_tool_version':'5.3.2','source_runtime':'R 4.2.2',"
                 "'future_member':[1,{}]},'module_version':'1.0.4'"});
        assert_string_equal(mr_model_metadata(m, "exporter"), "marsreplay-export-earth");
    assert_string_equal(mr_model_metadata(m, "exporter_version"), "0.1.0");
    assert_string_equal(mr_model_metadata(m, "source_tool"), "earth");
    assert_string_equal(mr_model_metadata(m, "source_tool_version"), "5.3.2");
    assert_string_equal(mr_model_metadata(m, "source_runtime"), "R 4.2.2");
    assert_string_equal(mr_model_metadata(m, "module_version"), "1.0.4");
    assert_null(mr_model_metadata(m, "malformed"));
    mr_model_free(m);

    /* none: every member NULL (the corpus files have module_version null) */
    m = load_ok((parts){.extra = ",'module_version':null,'provenance':null"});
    assert_null(mr_model_metadata(m, "exporter"));
    assert_null(mr_model_metadata(m, "exporter_version"));
    assert_null(mr_model_metadata(m, "source_tool"));
    assert_null(mr_model_metadata(m, "source_tool_version"));
    assert_null(mr_model_metadata(m, "source_runtime"));
    assert_null(mr_model_metadata(m, "module_version"));
    assert_null(mr_model_metadata(m, "malformed"));
    mr_model_free(m);

    /* some members: the others stay NULL */
    m = load_ok((parts){.extra = ",'provenance':{'exporter':'x','source_tool_version':'2'}"});
    assert_string_equal(mr_model_metadata(m, "exporter"), "x");
    assert_null(mr_model_metadata(m, "exporter_version"));
    assert_string_equal(mr_model_metadata(m, "source_tool_version"), "2");
    assert_null(mr_model_metadata(m, "malformed"));
    mr_model_free(m);

    /* wrong types load (metadata never rejects a model), ignored and marked */
    static const char *const wrong[] = {
        ",'provenance':5",
        ",'provenance':['earth']",
        ",'provenance':{'exporter':7,'source_tool':'earth'}",
        ",'provenance':{'exporter_version':{'major':1}}",
        ",'provenance':{'source_runtime':true}",
        ",'module_version':1.04",
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        m = load_ok((parts){.extra = wrong[i]});
            assert_string_equal(mr_model_metadata(m, "malformed"), "1");
        assert_null(mr_model_metadata(m, "exporter"));
        assert_null(mr_model_metadata(m, "exporter_version"));
        assert_null(mr_model_metadata(m, "source_runtime"));
        assert_null(mr_model_metadata(m, "module_version"));
        if (i == 2)
            assert_string_equal(mr_model_metadata(m, "source_tool"), "earth");
        else
            assert_null(mr_model_metadata(m, "source_tool"));
        mr_model_free(m);
    }
    assert_null(mr_model_metadata(NULL, "exporter"));
    m = load_ok((parts){.extra = ""});
    assert_null(mr_model_metadata(m, "no such key"));
    assert_null(mr_model_metadata(m, NULL));
    mr_model_free(m);

    /* the replay is unchanged: a model with provenance has the same terms */
    m = load_ok((parts){.extra = ",'provenance':{'exporter':'x'}"});
    assert_int_equal(mr_model_n_terms(m), 1);
    mr_model_free(m);
}

/* ---- derived fields ----------------------------------------------------------- */

static void test_term_names_and_degrees(void **state)
{
    (void)state;
#define CONST "{'kind':'constant'}"
#define HA(r, k) "{'kind':'hinge','variable_idx':0,'is_right_hinge':" r ",'knot_val':" k
    mr_model *m = load_ok((parts){
        .schema = "{'feature_names':['a','b','c']}",
        .imputer = "{'encoders':{'2':['lo','hi']},'most_frequent':{'2':'hi'}}",
        .terms = "["
            CONST ","                                                          /* 0 */
            HA("true", "0.5") "}," HA("false", "0.5") "},"                     /* 1, 2 */
            HA("true", "-2.5") ",'parent1':" CONST "},"                        /* 3 */
            HA("true", "1e-05") ",'parent1':" HA("false", "3") "}},"          /* 4 */
            "{'kind':'linear','variable_idx':1,'parent1':" CONST "},"          /* 5 */
            "{'kind':'categorical','variable_idx':1,'category':2},"            /* 6 */
            "{'kind':'categorical','variable_idx':2,'category':1},"            /* 7 */
            "{'kind':'categorical','variable_idx':2,'category':2},"            /* 8 */
            "{'kind':'categorical','variable_idx':2,'category':0.5},"          /* 9 */
            "{'kind':'categorical','variable_idx':2,'category':-1},"           /* 10 */
            "{'kind':'missingness','variable_idx':2},"                         /* 11 */
            "{'kind':'interaction','parent1':{'kind':'linear','variable_idx':0},"
            "'parent2':{'kind':'linear','variable_idx':1,'parent1':{'kind':'linear','variable_idx':2}}},"
            "{'kind':'interaction','parent1':{'kind':'linear','variable_idx':1,'parent1':"
            "{'kind':'linear','variable_idx':2}},'parent2':{'kind':'linear','variable_idx':0}},"
            "{'kind':'interaction','parent1':" CONST ",'parent2':{'kind':'linear','variable_idx':1,"
            "'parent1':{'kind':'linear','variable_idx':2}}},"                  /* 14 */
            "{'kind':'interaction','parent1':" CONST ",'parent2':" CONST "},"  /* 15 */
            "{'kind':'interaction','parent1':{'kind':'interaction','parent1':"
            "{'kind':'linear','variable_idx':0},'parent2':{'kind':'linear','variable_idx':1}},"
            "'parent2':{'kind':'interaction','parent1':{'kind':'missingness','variable_idx':2},"
            "'parent2':" CONST "}},"                                            /* 16 */
            "{'kind':'linear','variable_idx':0,'parent1':{'kind':'interaction','parent1':"
            "{'kind':'linear','variable_idx':1},'parent2':{'kind':'linear','variable_idx':2}}}"
            "]",
        .coefs = "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]"});
    static const char *const names[] = {
        "(Intercept)",
        "h(a-0.5)",
        "h(0.5-a)",
        "h(a--2.5)",
        "h(3.0-a)*h(a-1e-05)",
        "b",
        "b==2.0",
        "c==hi",
        "c==2.0",
        "c==0.5",
        "c==-1.0",
        "missing(c)",
        "a*(c*b)",
        "c*b*a",
        "c*b",
        "(Intercept)",
        "a*b*missing(c)",
        "b*c*a",
    };
    static const int degrees[] = {0, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 3, 3, 2, 0, 3, 3};
    assert_int_equal(mr_model_n_terms(m), 18);
    for (size_t i = 0; i < 18; i++) {
        assert_string_equal(mr_model_term_name(m, i), names[i]);
        assert_int_equal(mr_model_term_degree(m, i), degrees[i]);
        assert_true(mr_model_coefficient(m, i) == (double)i);
    }
    assert_int_equal(mr_model_degree(m), 3);
    assert_null(mr_model_term_name(m, 18));
    assert_int_equal(mr_model_term_degree(m, 18), -1);
    /* missingness at top level: allow_missing inferred true */
    assert_int_equal(mr_model_allow_missing(m), 1);
    mr_model_free(m);
}

static void test_features_used(void **state)
{
    (void)state;
    mr_model *m = load_ok((parts){
        .schema = "{'n_features':6}",
        .terms = "[{'kind':'constant'},{'kind':'linear','variable_idx':1},"
                 "{'kind':'interaction','parent1':{'kind':'constant'},'parent2':"
                 "{'kind':'hinge','variable_idx':3,'is_right_hinge':true,'knot_val':0,"
                 "'parent1':{'kind':'missingness','variable_idx':5}}}]",
        .coefs = "[1,1,1]"});
    static const int used[] = {0, 1, 0, 1, 0, 1};
    for (size_t j = 0; j < 6; j++)
        assert_int_equal(mr_model_feature_is_used(m, j), used[j]);
    assert_int_equal(mr_model_feature_is_used(m, 6), 0);
    assert_int_equal(mr_model_term_degree(m, 2), 2);
    mr_model_free(m);

    /* zero terms: degree 0, nothing used */
    m = load_ok((parts){.terms = "[]", .coefs = "[]"});
    assert_int_equal(mr_model_n_terms(m), 0);
    assert_int_equal(mr_model_degree(m), 0);
    assert_int_equal(mr_model_feature_is_used(m, 0), 0);
    assert_null(mr_model_term_name(m, 0));
    mr_model_free(m);
}

static void test_accessors_null(void **state)
{
    (void)state;
    mr_model_free(NULL);
    assert_int_equal(mr_model_n_features(NULL), 0);
    assert_null(mr_model_feature_name(NULL, 0));
    assert_int_equal(mr_model_feature_is_categorical(NULL, 0), 0);
    assert_int_equal(mr_model_feature_is_used(NULL, 0), 0);
    assert_int_equal(mr_model_n_terms(NULL), 0);
    assert_null(mr_model_term_name(NULL, 0));
    assert_true(isnan(mr_model_coefficient(NULL, 0)));
    assert_int_equal(mr_model_term_degree(NULL, 0), -1);
    assert_int_equal(mr_model_degree(NULL), 0);
    assert_int_equal(mr_model_allow_missing(NULL), 0);
    assert_null(mr_model_sha256(NULL));
    assert_int_equal(mr_model_n_classes(NULL, 0), 0);
    assert_null(mr_model_class_label(NULL, 0, 0));

    mr_error e;
    mr_model *m = NULL;
    assert_int_equal(mr_model_load_buffer("{}", 2, NULL, NULL, &e), MR_E_INVAL);
    assert_int_equal(mr_model_load_buffer(NULL, 5, NULL, &m, &e), MR_E_INVAL);
    assert_null(m);
    assert_int_equal(mr_model_load_file(NULL, &m, &e), MR_E_INVAL);
    assert_int_equal(mr_model_load_file("x", NULL, &e), MR_E_INVAL);
    /* a NULL error pointer is allowed everywhere */
    assert_int_equal(mr_model_load_buffer("[", 1, NULL, &m, NULL), MR_E_MODEL);
    assert_int_equal(mr_model_load_buffer(NULL, 0, NULL, &m, NULL), MR_E_MODEL);
    char *doc = make((parts){0});
    assert_int_equal(mr_model_load_buffer(doc, strlen(doc), NULL, &m, NULL), MR_OK);
    mr_model_free(m);
    free(doc);
}

/* ---- the conformance corpus ------------------------------------------------- */

static void test_corpus_valid(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t n_features, n_terms;
        int degree, allow_missing;
    } cases[] = {
        {"categorical_numeric_codes", 2, 6, 1, 1},
        {"categorical_strings_missing", 3, 11, 2, 1},
        {"constant_only", 2, 1, 0, 0},
        {"deg1_hinges", 3, 6, 1, 0},
        {"deg2_5000_rows", 5, 14, 2, 0},
        {"deg2_interactions_shuffled", 4, 9, 2, 0},
        {"deg3_chains", 3, 11, 3, 0},
        {"empty_basis", 2, 0, 0, 0},
        {"extreme_values", 3, 8, 2, 1},
        {"fixture_categorical_numeric_nan", 1, 2, 1, 1},
        {"fixture_missingness", 1, 2, 1, 1},
        {"handmade_interaction_kinds", 4, 10, 4, 1},
        {"missingness_terms", 3, 3, 2, 1},
        {"no_linear_hinges_only", 2, 9, 2, 0},
        {"single_feature_one_row", 1, 4, 1, 0},
        {"sum_stress_64_terms", 6, 64, 2, 0},
        {"wide_45_features_5000_rows", 45, 12, 1, 0},
        {"zero_rows", 2, 4, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/models/valid/%s.json", MR_FIXTURES, cases[i].name);
        mr_model *m = NULL;
        mr_error e;
        const mr_status st = mr_model_load_file(path, &m, &e);
        if (st != MR_OK)
            print_error("%s: %s: %s\n", path, e.json_path, e.text);
        assert_int_equal(st, MR_OK);
        assert_int_equal(mr_model_n_features(m), cases[i].n_features);
        assert_int_equal(mr_model_n_terms(m), cases[i].n_terms);
        assert_int_equal(mr_model_degree(m), cases[i].degree);
        assert_int_equal(mr_model_allow_missing(m), cases[i].allow_missing);
        assert_int_equal(strlen(mr_model_sha256(m)), 64);
        assert_string_equal(m->source, path);
        for (size_t t = 0; t < cases[i].n_terms; t++)
            assert_non_null(mr_model_term_name(m, t));
        mr_model_free(m);
    }
}

/* MR_OPT_MAX_MODEL_BYTES: a file over the limit is refused from its size
 * (a sparse 300 MiB file: the default refuses it without reading it), one
 * at the limit loads; NULL options mean the default. */
static void test_max_model_bytes(void **state)
{
    (void)state;
    char path[] = "/tmp/mr-max-model-XXXXXX";
    const int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 300 << 20), 0);
    close(fd);
    mr_model *m = NULL;
    mr_error e;
    assert_int_equal(mr_model_load_file(path, &m, &e), MR_E_MODEL);
    assert_null(m);
    assert_non_null(strstr(e.text, "model file is 314572800 bytes, over the limit of 268435456 bytes"));
    assert_int_equal(mr_model_load_file_opt(path, NULL, &m, &e), MR_E_MODEL);
    char *doc = make((parts){0});
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(doc, fp);
    fclose(fp);
    mr_options *o = NULL;
    assert_int_equal(mr_options_create(&o), MR_OK);
    assert_int_equal(mr_options_set_int(o, MR_OPT_MAX_MODEL_BYTES, 0), MR_E_INVAL);
    assert_int_equal(mr_options_set_int(o, MR_OPT_MAX_MODEL_BYTES, (int64_t)strlen(doc) - 1), MR_OK);
    assert_int_equal(mr_model_load_file_opt(path, o, &m, &e), MR_E_MODEL);
    assert_non_null(strstr(e.text, "over the limit"));
    assert_string_equal(e.source, path);
    assert_int_equal(mr_options_set_int(o, MR_OPT_MAX_MODEL_BYTES, (int64_t)strlen(doc)), MR_OK);
    assert_int_equal(mr_model_load_file_opt(path, o, &m, &e), MR_OK);
    mr_model_free(m);
    mr_options_free(o);
    free(doc);
    unlink(path);
}

static mr_model *load_fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/models/valid/%s.json", MR_FIXTURES, name);
    mr_model *m = NULL;
    assert_int_equal(mr_model_load_file(path, &m, NULL), MR_OK);
    return m;
}

static void test_corpus_details(void **state)
{
    (void)state;
    mr_model *m = load_fixture("handmade_interaction_kinds");
    assert_string_equal(mr_model_sha256(m),
                        "49ee78d69ca05f30ef549aa98869c7dddacc6346f87aa0cebd6b95551212c5b5");
    assert_string_equal(mr_model_feature_name(m, 0), "temp C");
    assert_string_equal(mr_model_feature_name(m, 1), "r\xc3\xa9gion");
    static const char *const names[] = {
        "(Intercept)",
        "h(temp C-0.885)",
        "h(0.885-temp C)",
        "h(temp C-0.885)*dose_mg",
        "h(1.5356918039437006-dose_mg)*flag==1.0",
        "temp C*h(dose_mg-1.5356918039437006)*(dose_mg*h(-0.885-temp C))",
        "h(temp C-0.885)*h(dose_mg-1.5356918039437006)*flag==0.0",
        "missing(r\xc3\xa9gion)",
        "r\xc3\xa9gion",
        "missing(flag)*dose_mg",
    };
    static const int degrees[] = {0, 1, 1, 2, 2, 4, 3, 1, 1, 2};
    for (size_t i = 0; i < 10; i++) {
        assert_string_equal(mr_model_term_name(m, i), names[i]);
        assert_int_equal(mr_model_term_degree(m, i), degrees[i]);
    }
    for (size_t j = 0; j < 4; j++)
        assert_int_equal(mr_model_feature_is_used(m, j), 1);
    mr_model_free(m);

    m = load_fixture("categorical_strings_missing");
    assert_string_equal(mr_model_feature_name(m, 0), "colour");
    assert_int_equal(mr_model_feature_is_categorical(m, 0), 1);
    assert_int_equal(mr_model_n_classes(m, 0), 3);
    assert_string_equal(mr_model_class_label(m, 0, 2), "red");
    assert_int_equal(m->encoders[0]->most_frequent, 0);
    assert_string_equal(mr_model_term_name(m, 1), "colour==blue");
    assert_string_equal(mr_model_term_name(m, 6), "h(b-0.2117)*colour==green");
    assert_string_equal(mr_model_term_name(m, 9), "missing(colour)");
    mr_model_free(m);

    m = load_fixture("categorical_numeric_codes");
    assert_int_equal(mr_model_n_classes(m, 1), 4);
    assert_string_equal(mr_model_class_label(m, 1, 3), "5.0");
    assert_int_equal(m->encoders[1]->most_frequent, 3);
    assert_string_equal(mr_model_term_name(m, 1), "x1==2.0");
    assert_true(mr_model_coefficient(m, 0) == m->coef[0]);
    mr_model_free(m);

    m = load_fixture("deg1_hinges");
    assert_string_equal(mr_model_term_name(m, 1), "h(0.756780946472289-x0)");
    assert_int_equal(m->terms[1].kind, MR_KIND_HINGE);
    assert_int_equal(m->terms[1].parent1->kind, MR_KIND_CONSTANT);
    assert_int_equal(m->terms[1].parent1->var, -1);
    mr_model_free(m);
}

static void test_corpus_invalid(void **state)
{
    (void)state;
    static const struct {
        const char *name, *path, *text;
    } cases[] = {
        {"coef_length_mismatch", "coefficients", "expected 6 coefficients"},
        {"coefficient_nan_token", "", "invalid JSON: "},
        {"coefficient_overflow_inf", "", "real number overflow"},
        {"coefficient_string", "coefficients[0]", "expected a finite number, found \"1.5\""},
        {"empty_kind", "basis_terms[0].kind", "expected a non-empty string, found \"\""},
        {"feature_names_count_mismatch", "feature_schema.feature_names", "expected 5 names"},
        {"hinge_missing_is_right_hinge", "basis_terms[1].is_right_hinge", "expected a boolean, found null"},
        {"hinge_missing_knot", "basis_terms[1].knot_val", "expected a finite number, found null"},
        {"imputer_most_frequent_not_a_class", "categorical_imputer.most_frequent.0", "found \"purple\""},
        {"interaction_missing_parent2", "basis_terms[1].parent2", "found null"},
        {"missing_coefficients", "coefficients", "required field is missing"},
        {"missing_feature_schema", "feature_schema", "required field is missing"},
        {"missingness_with_parent", "basis_terms[6].parent1", "a missingness term cannot have a parent"},
        {"n_features_negative", "feature_schema.n_features", "found -1"},
        {"params_not_object", "params", "expected an object"},
        {"parent_as_index", "basis_terms[1].parent1", "expected a term object or null, found 0"},
        {"spec_version_bad_format", "spec_version", "found \"1.0.0\""},
        {"spec_version_major2", "spec_version", "found \"2.0\""},
        {"spec_version_not_string", "spec_version", "found 1.0"},
        {"truncated_json", "", "invalid JSON: "},
        {"unknown_kind", "basis_terms[1].kind", "unknown term kind \"spline\""},
        {"variable_idx_negative", "basis_terms[1].variable_idx", "found -1"},
        {"variable_idx_out_of_range", "basis_terms[1].variable_idx", "expected a feature index in 0..2, found 7"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/models/invalid/%s.json", MR_FIXTURES, cases[i].name);
        mr_model *m = (mr_model *)&m;
        mr_error e;
        const mr_status st = mr_model_load_file(path, &m, &e);
        if (st != MR_E_MODEL || strcmp(e.json_path, cases[i].path) || !strstr(e.text, cases[i].text))
            print_error("%s: got %d '%s' '%s'\n", cases[i].name, st, e.json_path, e.text);
        assert_int_equal(st, MR_E_MODEL);
        assert_null(m);
        assert_string_equal(e.json_path, cases[i].path);
        assert_non_null(strstr(e.text, cases[i].text));
        assert_string_equal(e.source, path);
    }
}

/* ---- files and identity --------------------------------------------------- */

static void test_load_file_errors(void **state)
{
    (void)state;
    mr_model *m = (mr_model *)&m;
    mr_error e;
    const char *missing = MR_FIXTURES "/models/no_such_model.json";
    assert_int_equal(mr_model_load_file(missing, &m, &e), MR_E_IO);
    assert_null(m);
    assert_int_equal(e.status, MR_E_IO);
    assert_int_equal(e.sys_errno, ENOENT);
    assert_string_equal(e.source, missing);
    assert_non_null(strstr(e.text, "cannot open"));

    const char *dir = MR_FIXTURES "/models";
    assert_int_equal(mr_model_load_file(dir, &m, &e), MR_E_IO);
    assert_int_equal(e.sys_errno, EISDIR);
    assert_string_equal(e.source, dir);
    assert_non_null(strstr(e.text, "cannot read"));

    /* the buffer's name is the source; success leaves the error clear */
    char *doc = make((parts){.coefs = "[null]"});
    assert_int_equal(mr_model_load_buffer(doc, strlen(doc), "my.json", &m, &e), MR_E_MODEL);
    assert_string_equal(e.source, "my.json");
    assert_int_equal(e.sys_errno, 0);
    free(doc);
    doc = make((parts){0});
    assert_int_equal(mr_model_load_buffer(doc, strlen(doc), "my.json", &m, &e), MR_OK);
    assert_int_equal(e.status, MR_OK);
    assert_string_equal(e.text, "");
    assert_string_equal(e.json_path, "");
    assert_string_equal(m->source, "my.json");
    mr_model_free(m);
    assert_int_equal(mr_model_load_buffer(doc, strlen(doc), NULL, &m, &e), MR_OK);
    assert_string_equal(m->source, "<buffer>");
    mr_model_free(m);
    free(doc);
}

static void test_model_sha256(void **state)
{
    (void)state;
    /* the digest covers the exact bytes, whitespace included */
    char *doc = make((parts){0});
    const size_t n = strlen(doc);
    char want[65];
    mr_sha256_hex(doc, n, want);
    mr_model *m;
    assert_int_equal(mr_model_load_buffer(doc, n, NULL, &m, NULL), MR_OK);
    assert_string_equal(mr_model_sha256(m), want);
    mr_model_free(m);

    char *spaced = malloc(n + 2);
    assert_non_null(spaced);
    memcpy(spaced, doc, n);
    memcpy(spaced + n, "\n", 2);
    assert_int_equal(mr_model_load_buffer(spaced, n + 1, NULL, &m, NULL), MR_OK);
    assert_string_not_equal(mr_model_sha256(m), want);
    mr_sha256_hex(spaced, n + 1, want);
    assert_string_equal(mr_model_sha256(m), want);
    mr_model_free(m);
    free(spaced);
    free(doc);
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    char hex[65];
    mr_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    mr_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *v448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    mr_sha256_hex(v448, strlen(v448), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *v896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    mr_sha256_hex(v896, strlen(v896), hex);
    assert_string_equal(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");

    char *million = malloc(1000000);
    assert_non_null(million);
    memset(million, 'a', 1000000);
    mr_sha256_hex(million, 1000000, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

    /* padding edges: 55/56 bytes (one or two final blocks), 63/64/65, 119/120 */
    static const struct {
        size_t n;
        const char *hex;
    } edges[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        mr_sha256_hex(million, edges[i].n, hex);
        assert_string_equal(hex, edges[i].hex);
    }
    /* every byte value, unaligned start */
    unsigned char *all = malloc(768 + 1);
    assert_non_null(all);
    for (size_t i = 0; i < 768; i++)
        all[i + 1] = (unsigned char)i;
    mr_sha256_hex(all + 1, 768, hex);
    assert_string_equal(hex, "f3a25aa93aa2fbba28d79260535bbd6a5eb0fc1c24a8b0f04e12b484c1dfe363");
    free(all);
    free(million);
}

/* mr_features() says what the build has, as docs/library.md states it */
static void test_features(void **state)
{
    (void)state;
    const unsigned f = mr_features();
    assert_int_equal(!!(f & MR_FEATURE_OPENCL), MR_HAVE_OPENCL);
    assert_int_equal(!!(f & MR_FEATURE_MPI), MR_HAVE_MPI);
    assert_int_equal(f & ~(MR_FEATURE_OPENCL | MR_FEATURE_MPI | MR_FEATURE_SIMD), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_json_syntax),
        cmocka_unit_test(test_spec_version),
        cmocka_unit_test(test_required_fields),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_allow_missing_inference),
        cmocka_unit_test(test_feature_schema_bad),
        cmocka_unit_test(test_feature_schema_good),
        cmocka_unit_test(test_coefficients),
        cmocka_unit_test(test_term_kind),
        cmocka_unit_test(test_term_variable_idx),
        cmocka_unit_test(test_term_hinge_categorical),
        cmocka_unit_test(test_term_parents),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_imputer_bad),
        cmocka_unit_test(test_imputer_good),
        cmocka_unit_test(test_unknown_keys_ignored),
        cmocka_unit_test(test_provenance),
        cmocka_unit_test(test_term_names_and_degrees),
        cmocka_unit_test(test_features_used),
        cmocka_unit_test(test_accessors_null),
        cmocka_unit_test(test_corpus_valid),
        cmocka_unit_test(test_corpus_details),
        cmocka_unit_test(test_corpus_invalid),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_max_model_bytes),
        cmocka_unit_test(test_model_sha256),
        cmocka_unit_test(test_sha256_vectors),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
