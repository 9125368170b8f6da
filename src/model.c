/* model.c — load and validate a ModelSpec v1 file into an immutable mr_model.
 *
 * Every rule of docs/SEMANTICS.md §1 and §4 is checked here, before the caller gets a
 * model, so later stages (plan, decode, eval) can trust every index and number.
 * A failure names the JSON path ("basis_terms[3].parent1.knot_val") and says
 * what was expected and what was found. Nothing here prints.
 *
 * Decisions where docs/SEMANTICS.md is silent are listed in docs/decisions.md
 * and pinned by tests/test_model.c.
 */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "engine.h"
#include "error.h"
#include "escape.h"
#include "numfmt.h"
#include "sha256.h"

/* More features than this is refused: pymars models are far narrower, and it
 * bounds what a tiny file ("n_features": 1e18 without names) can allocate. */
#define MAX_FEATURES ((size_t)1 << 20)

/* ---- validation context: error sink and the current JSON path ----------- */

typedef struct {
    mr_error *err;
    char path[1024]; /* deep enough for MR_MAX_DEPTH "parent1" links */
    size_t plen;
} ctx;

typedef struct {
    char s[96];
} found_text;

static void path_append(ctx *c, const char *s)
{
    const size_t n = strlen(s);
    const size_t room = sizeof c->path - 1 - c->plen;
    const size_t k = n < room ? n : room;
    memcpy(c->path + c->plen, s, k);
    c->plen += k;
    c->path[c->plen] = '\0';
}

static int plain_key(const char *key)
{
    if (!*key)
        return 0;
    for (const char *s = key; *s; s++) {
        const char ch = *s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
              || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

/* Push ".key" (or "key" at the root); returns the length to pop back to.
 * Keys from the data (encoder indices) that are not plain are quoted. */
static size_t path_key(ctx *c, const char *key)
{
    const size_t old = c->plen;
    if (plain_key(key)) {
        if (c->plen)
            path_append(c, ".");
        path_append(c, key);
    } else {
        char q[64];
        mr_err_quote(q, sizeof q, key, strlen(key));
        path_append(c, "[\"");
        path_append(c, q);
        path_append(c, "\"]");
    }
    return old;
}

static size_t path_index(ctx *c, size_t i)
{
    const size_t old = c->plen;
    char b[32];
    snprintf(b, sizeof b, "[%zu]", i);
    path_append(c, b);
    return old;
}

static void path_pop(ctx *c, size_t old)
{
    c->plen = old;
    c->path[old] = '\0';
}

/* Copy the path into err->json_path, eliding the middle of very deep paths
 * so both the field (tail) and the term (head) stay visible. */
static void copy_path(char *dst, size_t cap, const char *path, size_t len)
{
    if (len < cap) {
        memcpy(dst, path, len + 1);
        return;
    }
    const size_t head = 96;
    const size_t tail = cap - 1 - head - 3;
    memcpy(dst, path, head);
    memcpy(dst + head, "...", 3);
    memcpy(dst + head + 3, path + len - tail, tail);
    dst[cap - 1] = '\0';
}

static mr_status fail(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static mr_status fail(ctx *c, const char *fmt, ...)
{
    mr_error *err = c->err;
    if (err) {
        err->status = MR_E_MODEL;
        copy_path(err->json_path, sizeof err->json_path, c->path, c->plen);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
    }
    return MR_E_MODEL;
}

static mr_status nomem(ctx *c)
{
    return mr_err_set(c->err, MR_E_NOMEM, "out of memory");
}

/* A short description of a JSON value for "found ..." (strings quoted and
 * truncated). NULL means the key was absent. */
static found_text found(const json_t *v)
{
    found_text f;
    f.s[0] = '\0';
    if (!v) {
        snprintf(f.s, sizeof f.s, "nothing (the field is missing)");
        return f;
    }
    switch (json_typeof(v)) {
    case JSON_NULL: snprintf(f.s, sizeof f.s, "null"); break;
    case JSON_TRUE: snprintf(f.s, sizeof f.s, "true"); break;
    case JSON_FALSE: snprintf(f.s, sizeof f.s, "false"); break;
    case JSON_INTEGER:
        snprintf(f.s, sizeof f.s, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL: {
        const size_t n = mr_format_double(json_real_value(v), f.s);
        f.s[n] = '\0';
        break;
    }
    case JSON_STRING: {
        char q[64];
        mr_err_quote(q, sizeof q, json_string_value(v), json_string_length(v));
        snprintf(f.s, sizeof f.s, "\"%s\"", q);
        break;
    }
    case JSON_ARRAY:
        snprintf(f.s, sizeof f.s, "%s", json_array_size(v) ? "an array" : "an empty array");
        break;
    case JSON_OBJECT: snprintf(f.s, sizeof f.s, "an object"); break;
    }
    return f;
}

static int is_finite_number(const json_t *v)
{
    return v && json_is_number(v) && isfinite(json_number_value(v));
}

static char *dup_mem(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static char *dup_number(double v)
{
    char b[MR_FMT_MAX];
    const size_t n = mr_format_double(v, b);
    return dup_mem(b, n);
}

/* ---- freeing (also of half-built models) ------------------------------- */

static void free_term_parents(mr_term *t)
{
    if (t->parent1) {
        free_term_parents(t->parent1);
        free(t->parent1);
    }
    if (t->parent2) {
        free_term_parents(t->parent2);
        free(t->parent2);
    }
}

static void free_encoder(mr_encoder *e)
{
    if (!e)
        return;
    if (e->classes) {
        for (size_t k = 0; k < e->n_classes; k++) {
            free(e->classes[k].str);
            free(e->classes[k].label);
        }
        free(e->classes);
    }
    free(e);
}

MR_API void mr_model_free(mr_model *m)
{
    if (!m)
        return;
    free(m->source);
    if (m->feature_names)
        for (size_t j = 0; j < m->n_features; j++)
            free(m->feature_names[j]);
    free(m->feature_names);
    free(m->feature_used);
    if (m->terms)
        for (size_t i = 0; i < m->n_terms; i++)
            free_term_parents(&m->terms[i]);
    free(m->terms);
    free(m->coef);
    if (m->term_names)
        for (size_t i = 0; i < m->n_terms; i++)
            free(m->term_names[i]);
    free(m->term_names);
    free(m->term_degree);
    if (m->encoders)
        for (size_t j = 0; j < m->n_features; j++)
            free_encoder(m->encoders[j]);
    free(m->encoders);
    free(m->provenance.exporter);
    free(m->provenance.exporter_version);
    free(m->provenance.source_tool);
    free(m->provenance.source_tool_version);
    free(m->provenance.source_runtime);
    free(m->provenance.module_version);
    free(m);
}

/* ---- top level: spec_version, required fields, params ------------------ */

static mr_status check_spec_version(ctx *c, const json_t *root)
{
    const json_t *v = json_object_get(root, "spec_version");
    path_key(c, "spec_version");
    if (!v)
        return fail(c, "required field is missing (expected a \"<major>.<minor>\" string)");
    if (!json_is_string(v))
        return fail(c, "expected a \"<major>.<minor>\" string, found %s", found(v).s);
    const char *s = json_string_value(v);
    const size_t n = json_string_length(v);
    size_t i = 0, major_end, minor_start;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    major_end = i;
    const int dot = i > 0 && i < n && s[i] == '.';
    minor_start = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (!dot || i == minor_start || i != n)
        return fail(c, "expected a \"<major>.<minor>\" string, found %s", found(v).s);
    /* pymars compares int(major) with 1, so leading zeros are harmless */
    size_t z = 0;
    while (z + 1 < major_end && s[z] == '0')
        z++;
    if (major_end - z != 1 || s[z] != '1')
        return fail(c, "unsupported major version: expected 1.x, found %s", found(v).s);
    path_pop(c, 0);
    return MR_OK;
}

/* ---- feature_schema ------------------------------------------------------ */

typedef struct {
    const char *name;
    size_t idx;
} name_ref;

static int cmp_name_ref(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    const int r = strcmp(x->name, y->name);
    if (r)
        return r;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Duplicate feature names make column selection ambiguous. Sorting finds them
 * in O(n log n); the reported one is the earliest second occurrence. */
static mr_status check_duplicate_names(ctx *c, mr_model *m)
{
    const size_t n = m->n_features;
    if (n < 2)
        return MR_OK;
    name_ref *refs = malloc(n * sizeof *refs);
    if (!refs)
        return nomem(c);
    for (size_t j = 0; j < n; j++)
        refs[j] = (name_ref){m->feature_names[j], j};
    qsort(refs, n, sizeof *refs, cmp_name_ref);
    size_t first = 0, second = SIZE_MAX;
    for (size_t k = 1; k < n; k++) {
        if (strcmp(refs[k].name, refs[k - 1].name) == 0 && refs[k].idx < second) {
            /* within an equal run, indices ascend: the run's head is the first */
            size_t h = k - 1;
            while (h > 0 && strcmp(refs[h - 1].name, refs[k].name) == 0)
                h--;
            first = refs[h].idx;
            second = refs[k].idx;
        }
    }
    free(refs);
    if (second == SIZE_MAX)
        return MR_OK;
    path_key(c, "feature_names");
    path_index(c, second);
    if (c->err)
        mr_err_name(c->err->field, sizeof c->err->field, m->feature_names[second]);
    char q[64];
    const char *nm = m->feature_names[second];
    mr_err_quote(q, sizeof q, nm, strlen(nm));
    return fail(c, "duplicate feature name \"%s\" (also at index %zu)", q, first);
}

static mr_status parse_schema(ctx *c, const json_t *fs, mr_model *m)
{
    const size_t base = path_key(c, "feature_schema");

    /* absent and null mean the same here (pymars uses .get()) */
    const json_t *nf = json_object_get(fs, "n_features");
    int have_n = 0;
    size_t n = 0;
    if (nf && !json_is_null(nf)) {
        const size_t old = path_key(c, "n_features");
        if (!json_is_integer(nf) || json_integer_value(nf) < 0)
            return fail(c, "expected a non-negative integer or null, found %s", found(nf).s);
        if ((json_int_t)MAX_FEATURES < json_integer_value(nf))
            return fail(c, "more than %zu features are not supported, found %s",
                        MAX_FEATURES, found(nf).s);
        n = (size_t)json_integer_value(nf);
        have_n = 1;
        path_pop(c, old);
    }

    const json_t *fn = json_object_get(fs, "feature_names");
    size_t n_names = 0;
    if (fn && !json_is_null(fn)) {
        const size_t old = path_key(c, "feature_names");
        if (!json_is_array(fn))
            return fail(c, "expected an array of strings or null, found %s", found(fn).s);
        n_names = json_array_size(fn);
        for (size_t j = 0; j < n_names; j++) {
            const json_t *v = json_array_get(fn, j);
            if (!json_is_string(v)) {
                path_index(c, j);
                return fail(c, "expected a string, found %s", found(v).s);
            }
        }
        if (n_names > 0 && have_n && n_names != n)
            return fail(c, "expected %zu names (n_features), found %zu", n, n_names);
        if (n_names > MAX_FEATURES)
            return fail(c, "more than %zu features are not supported, found %zu names",
                        MAX_FEATURES, n_names);
        path_pop(c, old);
    }
    if (n_names > 0)
        n = n_names;
    else if (!have_n)
        return fail(c, "neither n_features nor a non-empty feature_names is given");

    m->n_features = n;
    m->feature_names = calloc(n ? n : 1, sizeof *m->feature_names);
    if (!m->feature_names)
        return nomem(c);
    for (size_t j = 0; j < n; j++) {
        if (n_names > 0) {
            const json_t *v = json_array_get(fn, j);
            m->feature_names[j] = dup_mem(json_string_value(v), json_string_length(v));
        } else {
            char b[32];
            snprintf(b, sizeof b, "x%zu", j);
            m->feature_names[j] = dup_mem(b, strlen(b));
        }
        if (!m->feature_names[j])
            return nomem(c);
    }
    FORWARD_IF(check_duplicate_names(c, m));
    path_pop(c, base);
    return MR_OK;
}

/* ---- basis terms ---------------------------------------------------------- */

static const struct {
    const char *name;
    mr_kind kind;
} KINDS[] = {
    {"constant", MR_KIND_CONSTANT},       {"linear", MR_KIND_LINEAR},
    {"hinge", MR_KIND_HINGE},             {"categorical", MR_KIND_CATEGORICAL},
    {"missingness", MR_KIND_MISSINGNESS}, {"interaction", MR_KIND_INTERACTION},
};

static mr_status parse_kind(ctx *c, const json_t *jt, mr_kind *out)
{
    const json_t *v = json_object_get(jt, "kind");
    const size_t old = path_key(c, "kind");
    if (!v)
        return fail(c, "required field is missing (expected a term kind)");
    if (!json_is_string(v) || json_string_length(v) == 0)
        return fail(c, "expected a non-empty string, found %s", found(v).s);
    const char *s = json_string_value(v);
    const size_t n = json_string_length(v);
    for (size_t k = 0; k < sizeof KINDS / sizeof KINDS[0]; k++) {
        if (strlen(KINDS[k].name) == n && memcmp(KINDS[k].name, s, n) == 0) {
            *out = KINDS[k].kind;
            path_pop(c, old);
            return MR_OK;
        }
    }
    return fail(c, "unknown term kind %s (expected constant, linear, hinge, categorical, "
                   "missingness or interaction)", found(v).s);
}

static const char *kind_name(mr_kind k)
{
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
        if (KINDS[i].kind == k)
            return KINDS[i].name;
    return "?";
}

static mr_status parse_var(ctx *c, const json_t *jt, size_t n_features, int *out)
{
    const json_t *v = json_object_get(jt, "variable_idx");
    const size_t old = path_key(c, "variable_idx");
    /* A JSON integer only: 1.0 is refused (pymars writes ints; numpy rejects
     * float indices at predict time). */
    if (!v || !json_is_integer(v))
        return fail(c, "expected an integer feature index, found %s", found(v).s);
    const json_int_t j = json_integer_value(v);
    if (n_features == 0)
        return fail(c, "expected a feature index, but the model has no features; found %s",
                    found(v).s);
    if (j < 0 || (json_int_t)n_features <= j)
        return fail(c, "expected a feature index in 0..%zu, found %s", n_features - 1,
                    found(v).s);
    *out = (int)j;
    path_pop(c, old);
    return MR_OK;
}

static mr_status parse_finite(ctx *c, const json_t *jt, const char *key, double *out)
{
    const json_t *v = json_object_get(jt, key);
    const size_t old = path_key(c, key);
    if (!is_finite_number(v))
        return fail(c, "expected a finite number, found %s", found(v).s);
    *out = json_number_value(v);
    path_pop(c, old);
    return MR_OK;
}

/* Returns the parent object, or NULL for absent/null; anything else fails. */
static mr_status get_parent(ctx *c, const json_t *jt, const char *key, const json_t **out)
{
    const json_t *v = json_object_get(jt, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return MR_OK;
    if (!json_is_object(v)) {
        path_key(c, key);
        return fail(c, "expected a term object or null, found %s", found(v).s);
    }
    *out = v;
    return MR_OK;
}

static mr_status parse_term(ctx *c, const json_t *jt, mr_term *t, size_t n_features, int depth);

static mr_status parse_parent(ctx *c, const json_t *jp, const char *key, mr_term **slot,
                              size_t n_features, int depth)
{
    const size_t old = path_key(c, key);
    if (depth + 1 > MR_MAX_DEPTH)
        return fail(c, "parent terms nested deeper than %d levels", MR_MAX_DEPTH);
    *slot = calloc(1, sizeof **slot);
    if (!*slot)
        return nomem(c);
    FORWARD_IF(parse_term(c, jp, *slot, n_features, depth + 1));
    path_pop(c, old);
    return MR_OK;
}

static mr_status parse_term(ctx *c, const json_t *jt, mr_term *t, size_t n_features, int depth)
{
    t->var = -1;
    if (!json_is_object(jt))
        return fail(c, "expected a term object, found %s", found(jt).s);
    FORWARD_IF(parse_kind(c, jt, &t->kind));

    const json_t *p1, *p2;
    FORWARD_IF(get_parent(c, jt, "parent1", &p1));
    FORWARD_IF(get_parent(c, jt, "parent2", &p2));

    /* Parents that pymars would silently ignore are rejected: Rust multiplies
     * by them, so the model is ambiguous. Constant terms ignore every other
     * field (pymars writes null there). */
    switch (t->kind) {
    case MR_KIND_CONSTANT:
    case MR_KIND_MISSINGNESS:
        if (p1 || p2) {
            path_key(c, p1 ? "parent1" : "parent2");
            return fail(c, "a %s term cannot have a parent, found an object",
                        kind_name(t->kind));
        }
        break;
    case MR_KIND_INTERACTION:
        if (!p1 || !p2) {
            const char *key = !p1 ? "parent1" : "parent2";
            path_key(c, key);
            return fail(c, "an interaction term needs parent1 and parent2 objects, found %s",
                        found(json_object_get(jt, key)).s);
        }
        break;
    default:
        if (p2) {
            path_key(c, "parent2");
            return fail(c, "a %s term cannot have parent2 (only interactions can), "
                           "found an object", kind_name(t->kind));
        }
        break;
    }

    switch (t->kind) {
    case MR_KIND_CONSTANT:
    case MR_KIND_INTERACTION:
        break;
    case MR_KIND_LINEAR:
    case MR_KIND_MISSINGNESS:
        FORWARD_IF(parse_var(c, jt, n_features, &t->var));
        break;
    case MR_KIND_HINGE: {
        FORWARD_IF(parse_var(c, jt, n_features, &t->var));
        const json_t *r = json_object_get(jt, "is_right_hinge");
        if (!json_is_boolean(r)) {
            /* pymars reads null as a left hinge, Rust as a right one */
            path_key(c, "is_right_hinge");
            return fail(c, "expected a boolean, found %s", found(r).s);
        }
        t->right = json_is_true(r);
        FORWARD_IF(parse_finite(c, jt, "knot_val", &t->knot));
        break;
    }
    case MR_KIND_CATEGORICAL:
        FORWARD_IF(parse_var(c, jt, n_features, &t->var));
        FORWARD_IF(parse_finite(c, jt, "category", &t->category));
        break;
    }

    if (p1)
        FORWARD_IF(parse_parent(c, p1, "parent1", &t->parent1, n_features, depth));
    if (p2)
        FORWARD_IF(parse_parent(c, p2, "parent2", &t->parent2, n_features, depth));
    return MR_OK;
}

static mr_status parse_terms(ctx *c, const json_t *bt, mr_model *m)
{
    const size_t base = path_key(c, "basis_terms");
    m->terms = calloc(m->n_terms ? m->n_terms : 1, sizeof *m->terms);
    if (!m->terms)
        return nomem(c);
    for (size_t i = 0; i < m->n_terms; i++) {
        const size_t old = path_index(c, i);
        FORWARD_IF(parse_term(c, json_array_get(bt, i), &m->terms[i], m->n_features, 0));
        path_pop(c, old);
    }
    path_pop(c, base);
    return MR_OK;
}

static mr_status parse_coefficients(ctx *c, const json_t *co, mr_model *m)
{
    const size_t base = path_key(c, "coefficients");
    m->coef = malloc((m->n_terms ? m->n_terms : 1) * sizeof *m->coef);
    if (!m->coef)
        return nomem(c);
    for (size_t i = 0; i < m->n_terms; i++) {
        const json_t *v = json_array_get(co, i);
        if (!is_finite_number(v)) {
            path_index(c, i);
            return fail(c, "expected a finite number, found %s", found(v).s);
        }
        m->coef[i] = json_number_value(v);
    }
    path_pop(c, base);
    return MR_OK;
}

/* ---- categorical_imputer (docs/SEMANTICS.md §4) --------------------------------- */

/* Encoder keys are feature indices written canonically: "0", "17"; not "01",
 * "-1", "+1" or " 1". */
static int parse_index_key(const char *key, size_t n_features, size_t *out)
{
    const size_t len = strlen(key);
    if (len == 0 || len > 9 || (key[0] == '0' && len > 1))
        return 0;
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (key[i] < '0' || key[i] > '9')
            return 0;
        v = v * 10 + (size_t)(key[i] - '0');
    }
    if (v >= n_features)
        return 0;
    *out = v;
    return 1;
}

static mr_status bad_index_key(ctx *c, const char *key, size_t n_features)
{
    char q[64];
    mr_err_quote(q, sizeof q, key, strlen(key));
    if (n_features == 0)
        return fail(c, "expected a feature index as key, but the model has no features; "
                       "found \"%s\"", q);
    return fail(c, "expected a feature index \"0\"..\"%zu\" as key, found \"%s\"",
                n_features - 1, q);
}

static mr_status parse_encoder(ctx *c, const json_t *arr, mr_encoder **slot)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return fail(c, "expected a non-empty array of classes, found %s", found(arr).s);
    mr_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return nomem(c);
    *slot = e; /* owned by the model from here, so every exit below frees it */
    const size_t n = json_array_size(arr);
    e->classes = calloc(n, sizeof *e->classes);
    if (!e->classes)
        return nomem(c);
    e->n_classes = n;
    for (size_t k = 0; k < n; k++) {
        const json_t *v = json_array_get(arr, k);
        mr_class *cl = &e->classes[k];
        if (json_is_string(v)) {
            cl->is_string = true;
            cl->len = json_string_length(v);
            cl->str = dup_mem(json_string_value(v), cl->len);
            cl->label = dup_mem(json_string_value(v), cl->len);
        } else if (is_finite_number(v)) {
            cl->num = json_number_value(v);
            cl->label = dup_number(cl->num);
        } else {
            path_index(c, k);
            return fail(c, "expected a string or a finite number, found %s", found(v).s);
        }
        if (!cl->label || (cl->is_string && !cl->str))
            return nomem(c);
    }
    return MR_OK;
}

static int class_matches(const mr_class *cl, const json_t *v)
{
    if (cl->is_string)
        return json_is_string(v) && json_string_length(v) == cl->len
               && memcmp(json_string_value(v), cl->str, cl->len) == 0;
    return json_is_number(v) && json_number_value(v) == cl->num;
}

static mr_status parse_imputer(ctx *c, const json_t *root, mr_model *m)
{
    const size_t n = m->n_features;
    m->encoders = calloc(n ? n : 1, sizeof *m->encoders);
    if (!m->encoders)
        return nomem(c);
    const json_t *imp = json_object_get(root, "categorical_imputer");
    if (!imp || json_is_null(imp))
        return MR_OK;
    const size_t base = path_key(c, "categorical_imputer");
    if (!json_is_object(imp))
        return fail(c, "expected an object or null, found %s", found(imp).s);

    const json_t *encs = json_object_get(imp, "encoders");
    size_t old = path_key(c, "encoders");
    if (!json_is_object(encs))
        return fail(c, "expected an object mapping feature indices to classes, found %s",
                    found(encs).s);
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)encs, key, val) {
        const size_t o = path_key(c, key);
        size_t j;
        if (!parse_index_key(key, n, &j))
            return bad_index_key(c, key, n);
        FORWARD_IF(parse_encoder(c, val, &m->encoders[j]));
        path_pop(c, o);
    }
    path_pop(c, old);

    /* most_frequent[j] replaces unknown labels: it must name one of the classes */
    const json_t *mf = json_object_get(imp, "most_frequent");
    old = path_key(c, "most_frequent");
    if (!json_is_object(mf))
        return fail(c, "expected an object mapping feature indices to labels, found %s",
                    found(mf).s);
    json_object_foreach((json_t *)encs, key, val) {
        size_t j = 0;
        parse_index_key(key, n, &j); /* validated above */
        mr_encoder *e = m->encoders[j];
        const json_t *v = json_object_get(mf, key);
        const size_t o = path_key(c, key);
        if (!v)
            return fail(c, "required entry is missing (feature %zu has an encoder)", j);
        size_t k = 0;
        while (k < e->n_classes && !class_matches(&e->classes[k], v))
            k++;
        if (k == e->n_classes)
            return fail(c, "expected one of the encoder's classes, found %s", found(v).s);
        e->most_frequent = k;
        path_pop(c, o);
    }
    json_object_foreach((json_t *)mf, key, val) {
        size_t j;
        if (!json_object_get(encs, key)) {
            path_key(c, key);
            if (!parse_index_key(key, n, &j))
                return bad_index_key(c, key, n);
            return fail(c, "feature %zu has no encoder, found an entry for it", j);
        }
    }
    path_pop(c, old);
    path_pop(c, base);
    return MR_OK;
}

/* ---- derived fields: degree, used features, readable names -------------- */

static int term_degree(const mr_term *t)
{
    if (!t)
        return 0;
    switch (t->kind) {
    case MR_KIND_CONSTANT: return 0;
    case MR_KIND_INTERACTION: return term_degree(t->parent1) + term_degree(t->parent2);
    default: return 1 + term_degree(t->parent1);
    }
}

static void mark_used(const mr_term *t, bool *used)
{
    for (; t; t = t->parent1) {
        if (t->var >= 0)
            used[t->var] = true;
        if (t->parent2)
            mark_used(t->parent2, used);
    }
}

/* Whether the name of t is a product "A*B" once constant factors are dropped. */
static int is_product(const mr_term *t)
{
    switch (t->kind) {
    case MR_KIND_CONSTANT: return 0;
    case MR_KIND_INTERACTION: {
        const int d1 = term_degree(t->parent1) > 0, d2 = term_degree(t->parent2) > 0;
        if (d1 && d2)
            return 1;
        return d1 ? is_product(t->parent1) : d2 ? is_product(t->parent2) : 0;
    }
    default: return t->parent1 && term_degree(t->parent1) > 0;
    }
}

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_number(sbuf *b, double v)
{
    char t[MR_FMT_MAX];
    put(b, t, mr_format_double(v, t));
}

static void render(sbuf *b, const mr_term *t, const mr_model *m)
{
    if (t->kind == MR_KIND_CONSTANT) {
        puts_(b, "(Intercept)");
        return;
    }
    if (t->kind == MR_KIND_INTERACTION) {
        const int d1 = term_degree(t->parent1) > 0, d2 = term_degree(t->parent2) > 0;
        if (d1 && d2) {
            render(b, t->parent1, m);
            const int wrap = is_product(t->parent2);
            puts_(b, wrap ? "*(" : "*");
            render(b, t->parent2, m);
            if (wrap)
                puts_(b, ")");
        } else if (d1 || d2) {
            render(b, d1 ? t->parent1 : t->parent2, m);
        } else {
            puts_(b, "(Intercept)");
        }
        return;
    }
    if (t->parent1 && term_degree(t->parent1) > 0) {
        render(b, t->parent1, m);
        puts_(b, "*");
    }
    const char *name = m->feature_names[t->var];
    switch (t->kind) {
    case MR_KIND_LINEAR: puts_(b, name); break;
    case MR_KIND_HINGE:
        puts_(b, "h(");
        if (t->right) {
            puts_(b, name);
            puts_(b, "-");
            put_number(b, t->knot);
        } else {
            put_number(b, t->knot);
            puts_(b, "-");
            puts_(b, name);
        }
        puts_(b, ")");
        break;
    case MR_KIND_CATEGORICAL: {
        puts_(b, name);
        puts_(b, "==");
        /* the category is a class index when the feature has an encoder */
        const mr_encoder *e = m->encoders[t->var];
        const double k = t->category;
        if (e && k >= 0 && k < (double)e->n_classes && k == floor(k))
            puts_(b, e->classes[(size_t)k].label);
        else
            put_number(b, k);
        break;
    }
    case MR_KIND_MISSINGNESS:
        puts_(b, "missing(");
        puts_(b, name);
        puts_(b, ")");
        break;
    default: break;
    }
}

static mr_status derive(ctx *c, mr_model *m)
{
    m->term_names = calloc(m->n_terms ? m->n_terms : 1, sizeof *m->term_names);
    m->term_degree = calloc(m->n_terms ? m->n_terms : 1, sizeof *m->term_degree);
    m->feature_used = calloc(m->n_features ? m->n_features : 1, sizeof *m->feature_used);
    if (!m->term_names || !m->term_degree || !m->feature_used)
        return nomem(c);
    m->degree = 0;
    for (size_t i = 0; i < m->n_terms; i++) {
        const mr_term *t = &m->terms[i];
        m->term_degree[i] = term_degree(t);
        if (m->term_degree[i] > m->degree)
            m->degree = m->term_degree[i];
        mark_used(t, m->feature_used);
        sbuf b = {0};
        render(&b, t, m);
        if (b.oom) {
            free(b.p);
            return nomem(c);
        }
        m->term_names[i] = b.p;
    }
    return MR_OK;
}

/* ---- optional metadata: informational, never a reason to reject ---------- */

/* A string metadata value into *slot: absent or null leaves it NULL; another type
 * leaves it NULL and marks the provenance malformed. (A \u0000 in any string is
 * already invalid JSON here: jansson refuses it.) */
static mr_status meta_string(ctx *c, const json_t *v, char **slot, bool *malformed)
{
    if (!v || json_is_null(v))
        return MR_OK;
    if (!json_is_string(v)) {
        *malformed = true;
        return MR_OK;
    }
    *slot = dup_mem(json_string_value(v), json_string_length(v));
    return *slot ? MR_OK : nomem(c);
}

static mr_status parse_provenance(ctx *c, const json_t *root, mr_model *m)
{
    mr_provenance *p = &m->provenance;
    FORWARD_IF(meta_string(c, json_object_get(root, "module_version"), &p->module_version,
                           &p->malformed));
    const json_t *o = json_object_get(root, "provenance");
    if (!o || json_is_null(o))
        return MR_OK;
    if (!json_is_object(o)) {
        p->malformed = true;
        return MR_OK;
    }
    static const struct {
        const char *key;
        size_t off;
    } fields[] = {
        {"exporter", offsetof(mr_provenance, exporter)},
        {"exporter_version", offsetof(mr_provenance, exporter_version)},
        {"source_tool", offsetof(mr_provenance, source_tool)},
        {"source_tool_version", offsetof(mr_provenance, source_tool_version)},
        {"source_runtime", offsetof(mr_provenance, source_runtime)},
    };
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
        FORWARD_IF(meta_string(c, json_object_get(o, fields[k].key),
                               (char **)((char *)p + fields[k].off), &p->malformed));
    return MR_OK;
}

const char *mr_model_metadata(const mr_model *m, const char *key)
{
    if (!m || !key)
        return NULL;
    const mr_provenance *p = &m->provenance;
    const struct { const char *key; const char *value; } fields[] = {
        { "exporter", p->exporter },
        { "exporter_version", p->exporter_version },
        { "source_tool", p->source_tool },
        { "source_tool_version", p->source_tool_version },
        { "source_runtime", p->source_runtime },
        { "module_version", p->module_version },
        { "malformed", p->malformed ? "1" : NULL },
    };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        if (strcmp(key, fields[i].key) == 0)
            return fields[i].value;
    return NULL;
}

/* ---- the whole document ------------------------------------------------- */

static mr_status build(ctx *c, const json_t *root, mr_model *m)
{
    if (!json_is_object(root))
        return fail(c, "expected a JSON object at the top level, found %s", found(root).s);

    /* pymars's own validator order: version, required fields, container types */
    FORWARD_IF(check_spec_version(c, root));
    static const char *const required[] = {"params", "feature_schema", "basis_terms",
                                           "coefficients"};
    for (size_t k = 0; k < sizeof required / sizeof required[0]; k++) {
        if (!json_object_get(root, required[k])) {
            path_key(c, required[k]);
            return fail(c, "required field is missing");
        }
    }
    const json_t *params = json_object_get(root, "params");
    const json_t *fs = json_object_get(root, "feature_schema");
    const json_t *bt = json_object_get(root, "basis_terms");
    const json_t *co = json_object_get(root, "coefficients");
    if (!json_is_object(params)) {
        path_key(c, "params");
        return fail(c, "expected an object, found %s", found(params).s);
    }
    if (!json_is_object(fs)) {
        path_key(c, "feature_schema");
        return fail(c, "expected an object, found %s", found(fs).s);
    }
    if (!json_is_array(bt)) {
        path_key(c, "basis_terms");
        return fail(c, "expected an array of term objects, found %s", found(bt).s);
    }
    if (!json_is_array(co)) {
        path_key(c, "coefficients");
        return fail(c, "expected an array of numbers, found %s", found(co).s);
    }

    FORWARD_IF(parse_schema(c, fs, m));
    if (json_array_size(co) != json_array_size(bt)) {
        path_key(c, "coefficients");
        return fail(c, "expected %zu coefficients (one per basis term), found %zu",
                    json_array_size(bt), json_array_size(co));
    }
    const json_t *am = json_object_get(params, "allow_missing");
    if (am && !json_is_boolean(am)) {
        path_key(c, "params");
        path_key(c, "allow_missing");
        return fail(c, "expected a boolean, found %s", found(am).s);
    }

    m->n_terms = json_array_size(bt);
    FORWARD_IF(parse_terms(c, bt, m));
    FORWARD_IF(parse_coefficients(c, co, m));
    FORWARD_IF(parse_imputer(c, root, m));
    FORWARD_IF(parse_provenance(c, root, m));

    if (am) {
        m->allow_missing = json_is_true(am);
    } else {
        /* pymars infers it from the top-level kinds only (legacy specs) */
        m->allow_missing = false;
        for (size_t i = 0; i < m->n_terms; i++)
            if (m->terms[i].kind == MR_KIND_CATEGORICAL
                || m->terms[i].kind == MR_KIND_MISSINGNESS)
                m->allow_missing = true;
    }
    return derive(c, m);
}

/* ---- JSON syntax errors versus allocation failures ---------------------- */

static void skip_ws(const unsigned char *s, size_t n, size_t *i)
{
    while (*i < n && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' || s[*i] == '\r'))
        (*i)++;
}

static int hex4(const unsigned char *s, size_t n, size_t i, unsigned *out)
{
    unsigned v = 0;
    if (i > n || n - i < 4)
        return 0;
    for (size_t k = 0; k < 4; k++) {
        const unsigned char ch = s[i + k];
        const int d = ch >= '0' && ch <= '9' ? ch - '0'
                    : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0)
            return 0;
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 1;
}

static int scan_string(const unsigned char *s, size_t n, size_t *i)
{
    if (*i >= n || s[*i] != '"')
        return 0;
    for (size_t k = *i + 1; k < n;) {
        const unsigned char ch = s[k];
        if (ch == '"') {
            *i = k + 1;
            return 1;
        }
        if (ch < 0x20)
            return 0;
        if (ch != '\\') {
            k++;
            continue;
        }
        if (++k >= n)
            return 0;
        if (s[k] && strchr("\"\\/bfnrt", s[k])) {
            k++;
            continue;
        }
        unsigned u, lo;
        if (s[k] != 'u' || !hex4(s, n, k + 1, &u))
            return 0;
        k += 5;
        if (u >= 0xDC00 && u <= 0xDFFF)
            return 0; /* a lone low surrogate */
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (n - k < 6 || s[k] != '\\' || s[k + 1] != 'u' || !hex4(s, n, k + 2, &lo)
                || lo < 0xDC00 || lo > 0xDFFF)
                return 0;
            k += 6;
        }
    }
    return 0;
}

static int scan_digits(const unsigned char *s, size_t n, size_t *i)
{
    const size_t start = *i;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9')
        (*i)++;
    return *i > start;
}

static int scan_scalar(const unsigned char *s, size_t n, size_t *i)
{
    static const char *const lits[] = {"true", "false", "null"};
    if (s[*i] == '"')
        return scan_string(s, n, i);
    for (size_t k = 0; k < 3; k++) {
        const size_t len = strlen(lits[k]);
        if (n - *i >= len && memcmp(s + *i, lits[k], len) == 0) {
            *i += len;
            return 1;
        }
    }
    if (s[*i] == '-')
        (*i)++;
    if (*i < n && s[*i] == '0')
        (*i)++;
    else if (!(*i < n && s[*i] >= '1' && s[*i] <= '9') || !scan_digits(s, n, i))
        return 0;
    if (*i < n && s[*i] == '.') {
        (*i)++;
        if (!scan_digits(s, n, i))
            return 0;
    }
    if (*i < n && (s[*i] == 'e' || s[*i] == 'E')) {
        (*i)++;
        if (*i < n && (s[*i] == '+' || s[*i] == '-'))
            (*i)++;
        if (!scan_digits(s, n, i))
            return 0;
    }
    return 1;
}

static int scan_key(const unsigned char *s, size_t n, size_t *i)
{
    skip_ws(s, n, i);
    if (!scan_string(s, n, i))
        return 0;
    skip_ws(s, n, i);
    if (*i >= n || s[*i] != ':')
        return 0;
    (*i)++;
    return 1;
}

/* jansson reports an allocation failure inside its parser as some syntax
 * error (json_error_code() stays unset), so such a failure is re-checked
 * with this allocation-free RFC 8259 scan: a document that scans clean
 * failed for lack of memory. Top level: an object or array, as jansson. */
static int json_syntax_ok(const unsigned char *s, size_t n)
{
    enum { MAX_NEST = 4096 };
    unsigned char is_obj[MAX_NEST / 8];
    size_t i = 0, depth = 0;
    skip_ws(s, n, &i);
    if (i >= n || (s[i] != '{' && s[i] != '['))
        return 0;
    for (;;) {
        skip_ws(s, n, &i); /* a value starts here */
        if (i >= n)
            return 0;
        const unsigned char ch = s[i];
        if (ch == '{' || ch == '[') {
            if (depth == MAX_NEST)
                return 0;
            const unsigned bit = 1u << (depth % 8);
            is_obj[depth / 8] = (unsigned char)(ch == '{' ? is_obj[depth / 8] | bit
                                                          : is_obj[depth / 8] & ~bit);
            depth++;
            i++;
            skip_ws(s, n, &i);
            if (i < n && s[i] == (ch == '{' ? '}' : ']')) {
                i++;
                depth--;
            } else {
                if (ch == '{' && !scan_key(s, n, &i))
                    return 0;
                continue;
            }
        } else if (!scan_scalar(s, n, &i)) {
            return 0;
        }
        /* after a value: close containers until a ',' asks for the next one */
        for (;;) {
            skip_ws(s, n, &i);
            if (depth == 0)
                return i == n;
            const int obj = is_obj[(depth - 1) / 8] >> ((depth - 1) % 8) & 1;
            if (i >= n)
                return 0;
            if (s[i] == ',') {
                i++;
                if (obj && !scan_key(s, n, &i))
                    return 0;
                break;
            }
            if (s[i] != (obj ? '}' : ']'))
                return 0;
            i++;
            depth--;
        }
    }
}

static mr_status json_fail(mr_error *err, const json_error_t *je, const char *buf, size_t len)
{
    switch (json_error_code(je)) {
    case json_error_out_of_memory:
        return mr_err_set(err, MR_E_NOMEM, "out of memory");
    case json_error_duplicate_key:
    case json_error_numeric_overflow:
    case json_error_invalid_utf8:
    case json_error_null_character:
    case json_error_null_byte_in_key:
    case json_error_stack_overflow:
        break; /* content errors jansson names reliably */
    default:
        if (json_syntax_ok((const unsigned char *)buf, len))
            return mr_err_set(err, MR_E_NOMEM, "out of memory");
        break;
    }
    /* jansson's message may quote raw input bytes: keep the line printable */
    char text[JSON_ERROR_TEXT_LENGTH];
    mr_escape(text, sizeof text, je->text, strlen(je->text));
    if (err) {
        err->line = je->line > 0 ? (uint64_t)je->line : 0;
        err->column = je->column > 0 ? (uint32_t)je->column : 0;
    }
    /* the position travels in err->line/column: the CLI prints FILE:LINE:COL */
    return mr_err_set(err, MR_E_MODEL, "invalid JSON: %s", text);
}

static mr_status load(const char *buf, size_t len, const char *src, mr_model **out,
                      mr_error *err)
{
    mr_model *m = calloc(1, sizeof *m);
    if (!m)
        return mr_err_set(err, MR_E_NOMEM, "out of memory");
    m->source = dup_mem(src, strlen(src));
    if (!m->source) {
        mr_model_free(m);
        return mr_err_set(err, MR_E_NOMEM, "out of memory");
    }
    mr_sha256_hex(buf, len, m->sha256);

    /* zeroed: jansson leaves the error code byte unset on some failures */
    json_error_t je;
    memset(&je, 0, sizeof je);
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    mr_status st;
    if (!root) {
        st = json_fail(err, &je, buf, len);
    } else {
        ctx c = {.err = err, .plen = 0};
        c.path[0] = '\0';
        st = build(&c, root, m);
        json_decref(root);
    }
    if (st != MR_OK) {
        mr_model_free(m);
        return st;
    }
    *out = m;
    return MR_OK;
}

MR_API mr_status mr_model_load_buffer(const char *buf, size_t len, const char *source,
                                      mr_model **out, mr_error *err)
{
    mr_err_clear(err);
    if (out)
        *out = NULL;
    const char *src = source ? source : "<buffer>";
    if (err)
        mr_err_field(err->source, sizeof err->source, src);
    if (!out || (!buf && len))
        return mr_err_set(err, MR_E_INVAL, "mr_model_load_buffer: NULL %s",
                          out ? "buffer" : "output pointer");
    const mr_status st = load(buf ? buf : "", len, src, out, err);
    if (st == MR_OK && err)
        err->source[0] = '\0'; /* only errors carry a source */
    return st;
}

/* A model bigger than this is refused before it is read whole: parsing holds
 * the text and its JSON tree (several times its size) in memory. */
static mr_status too_big(mr_error *err, const char *what, uint64_t max)
{
    return mr_err_set(err, MR_E_MODEL, "model file %s the limit of %llu bytes (--max-model-bytes)",
                      what, (unsigned long long)max);
}

/* Read a whole file of at most max bytes; works for pipes and /dev/stdin too
 * (no size needed: the limit is then checked while reading). */
static mr_status read_all(const char *path, uint64_t max, char **data, size_t *len, mr_error *err)
{
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int e = errno;
        if (err)
            err->sys_errno = e;
        return mr_err_set(err, MR_E_IO, "cannot open: %s", strerror(e));
    }
    struct stat st;
    size_t cap = 1 << 16;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
        char what[64];
        snprintf(what, sizeof what, "is %llu bytes, over", (unsigned long long)st.st_size);
        close(fd);
        return too_big(err, what, max);
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0
        && (unsigned long long)st.st_size < SIZE_MAX / 2)
        cap = (size_t)st.st_size + 1; /* +1 so EOF is seen without a realloc */
    char *p = malloc(cap);
    size_t n = 0;
    mr_status status = MR_OK;
    if (!p)
        status = mr_err_set(err, MR_E_NOMEM, "out of memory");
    while (status == MR_OK) {
        if (n > max) { /* a pipe, or a file that grew */
            status = too_big(err, "is over", max);
            break;
        }
        if (n == cap) {
            char *q = cap <= SIZE_MAX / 2 ? realloc(p, cap * 2) : NULL;
            if (!q) {
                status = mr_err_set(err, MR_E_NOMEM, "out of memory");
                break;
            }
            p = q;
            cap *= 2;
        }
        const ssize_t r = read(fd, p + n, cap - n);
        if (r > 0) {
            n += (size_t)r;
        } else if (r == 0) {
            break;
        } else if (errno != EINTR) {
            const int e = errno;
            if (err)
                err->sys_errno = e;
            status = mr_err_set(err, MR_E_IO, "cannot read: %s", strerror(e));
        }
    }
    close(fd);
    if (status != MR_OK) {
        free(p);
        return status;
    }
    *data = p;
    *len = n;
    return MR_OK;
}

MR_API mr_status mr_model_load_file_opt(const char *path, const mr_options *opt, mr_model **out,
                                        mr_error *err)
{
    mr_err_clear(err);
    if (out)
        *out = NULL;
    if (!out || !path)
        return mr_err_set(err, MR_E_INVAL, "mr_model_load_file: NULL %s",
                          out ? "path" : "output pointer");
    char *data = NULL;
    size_t len = 0;
    const mr_status st = read_all(path, opt ? opt->max_model : MR_DEFAULT_MAX_MODEL_BYTES, &data, &len, err);
    if (st != MR_OK) {
        if (err)
            mr_err_field(err->source, sizeof err->source, path);
        return st;
    }
    const mr_status r = mr_model_load_buffer(data, len, path, out, err);
    free(data);
    return r;
}

MR_API mr_status mr_model_load_file(const char *path, mr_model **out, mr_error *err)
{
    return mr_model_load_file_opt(path, NULL, out, err);
}

/* ---- accessors (NULL model or index out of range: 0 / NULL / NaN / -1) -- */

MR_API size_t mr_model_n_features(const mr_model *m)
{
    return m ? m->n_features : 0;
}

MR_API const char *mr_model_feature_name(const mr_model *m, size_t j)
{
    return m && j < m->n_features ? m->feature_names[j] : NULL;
}

MR_API int mr_model_feature_is_categorical(const mr_model *m, size_t j)
{
    return m && j < m->n_features && m->encoders[j] != NULL;
}

MR_API int mr_model_feature_is_used(const mr_model *m, size_t j)
{
    return m && j < m->n_features && m->feature_used[j];
}

MR_API size_t mr_model_n_terms(const mr_model *m)
{
    return m ? m->n_terms : 0;
}

MR_API const char *mr_model_term_name(const mr_model *m, size_t i)
{
    return m && i < m->n_terms ? m->term_names[i] : NULL;
}

MR_API double mr_model_coefficient(const mr_model *m, size_t i)
{
    return m && i < m->n_terms ? m->coef[i] : NAN;
}

MR_API int mr_model_term_degree(const mr_model *m, size_t i)
{
    return m && i < m->n_terms ? m->term_degree[i] : -1;
}

MR_API int mr_model_degree(const mr_model *m)
{
    return m ? m->degree : 0;
}

MR_API int mr_model_allow_missing(const mr_model *m)
{
    return m && m->allow_missing;
}

MR_API const char *mr_model_sha256(const mr_model *m)
{
    return m ? m->sha256 : NULL;
}

MR_API size_t mr_model_n_classes(const mr_model *m, size_t j)
{
    return m && j < m->n_features && m->encoders[j] ? m->encoders[j]->n_classes : 0;
}

MR_API const char *mr_model_class_label(const mr_model *m, size_t j, size_t k)
{
    if (!m || j >= m->n_features || !m->encoders[j] || k >= m->encoders[j]->n_classes)
        return NULL;
    return m->encoders[j]->classes[k].label;
}
