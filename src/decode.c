/* decode.c — input cells to feature values (see decode.h). */
#include "decode.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_clones.h"
#include "error.h"
#include "numparse.h"

mr_status mr_na_set_parse(mr_na_set *set, const char *list)
{
    memset(set, 0, sizeof *set);
    const size_t len = strlen(list);
    set->storage = malloc(len + 1);
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += list[i] == ',';
    set->tok = malloc(n * sizeof *set->tok);
    if (!set->storage || !set->tok) {
        mr_na_set_free(set);
        return MR_E_NOMEM;
    }
    memcpy(set->storage, list, len + 1);
    const char *p = set->storage;
    for (;;) {
        const char *c = strchr(p, ',');
        const size_t l = c ? (size_t)(c - p) : strlen(p);
        set->tok[set->n++] = (mr_field){ p, l };
        if (!c)
            break;
        p = c + 1;
    }
    return MR_OK;
}

void mr_na_set_free(mr_na_set *set)
{
    free(set->tok);
    free(set->storage);
    memset(set, 0, sizeof *set);
}

mr_status mr_decoder_init(mr_decoder *d, const mr_model *m, int unknown_mode,
                          const char *na_default)
{
    memset(d, 0, sizeof *d);
    d->m = m;
    d->unknown_mode = unknown_mode;
    d->na = calloc(m->n_features ? m->n_features : 1, sizeof *d->na);
    if (!d->na)
        return MR_E_NOMEM;
    for (size_t f = 0; f < m->n_features; f++) {
        if (mr_na_set_parse(&d->na[f], na_default) != MR_OK) {
            mr_decoder_free(d);
            return MR_E_NOMEM;
        }
    }
    return MR_OK;
}

mr_status mr_decoder_set_na(mr_decoder *d, size_t feature, const char *list)
{
    mr_na_set s;
    if (mr_na_set_parse(&s, list) != MR_OK)
        return MR_E_NOMEM;
    mr_na_set_free(&d->na[feature]);
    d->na[feature] = s;
    return MR_OK;
}

void mr_decoder_free(mr_decoder *d)
{
    if (d->na && d->m)
        for (size_t f = 0; f < d->m->n_features; f++)
            mr_na_set_free(&d->na[f]);
    free(d->na);
    memset(d, 0, sizeof *d);
}

/* The column names sorted by (name, column), so that the duplicate check and
 * each name-to-column lookup cost O(log n): a hostile header may have a
 * million columns (bench/hostile.py). */

static int ref_cmp(const void *x, const void *y)
{
    const mr_name_ref *a = x, *b = y;
    const int r = memcmp(a->name, b->name, a->len < b->len ? a->len : b->len);
    if (r)
        return r;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return a->col < b->col ? -1 : a->col > b->col;
}

mr_name_ref *mr_name_index(char *const *names, size_t n)
{
    mr_name_ref *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return NULL;
    for (size_t i = 0; i < n; i++)
        idx[i] = (mr_name_ref){ names[i], strlen(names[i]), i };
    qsort(idx, n, sizeof *idx, ref_cmp);
    return idx;
}

/* The first column named s[0..len), or n. */
size_t mr_name_find(const mr_name_ref *idx, size_t n, const char *s, size_t len)
{
    const mr_name_ref key = { s, len, 0 };
    size_t lo = 0, hi = n;
    while (lo < hi) { /* the first entry not below (s, column 0) */
        const size_t mid = lo + (hi - lo) / 2;
        if (ref_cmp(&idx[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && idx[lo].len == len && memcmp(idx[lo].name, s, len) == 0 ? idx[lo].col : n;
}

static int same_name(const mr_name_ref *a, const mr_name_ref *b)
{
    return a->len == b->len && memcmp(a->name, b->name, a->len) == 0;
}

/* A duplicate name: the earliest column i that repeats an earlier name, and
 * that name's first column *j; 0 if none (i is 1-based). */
size_t mr_name_first_duplicate(const mr_name_ref *idx, size_t n, size_t *j)
{
    size_t best = 0;
    for (size_t k = 1; k < n; k++) /* the second of each run of equal names */
        if (same_name(&idx[k], &idx[k - 1]) && (k == 1 || !same_name(&idx[k - 1], &idx[k - 2])) &&
            (!best || idx[k].col + 1 < best)) {
            best = idx[k].col + 1;
            *j = idx[k - 1].col;
        }
    return best;
}

mr_map_result mr_map_features_idx(const mr_model *m, const mr_name_ref *idx, size_t n, size_t *feat_col,
                                  size_t *a, size_t *b)
{
    size_t j = 0;
    const size_t dup = mr_name_first_duplicate(idx, n, &j);
    if (dup) {
        *a = j;
        *b = dup - 1;
        return MR_MAP_DUPLICATE;
    }
    mr_map_result res = MR_MAP_OK;
    for (size_t f = 0; f < m->n_features; f++) {
        const size_t c = mr_name_find(idx, n, m->feature_names[f], strlen(m->feature_names[f]));
        if (c == n && res == MR_MAP_OK) {
            *a = f; /* the first missing one; every one gets n */
            res = MR_MAP_MISSING;
        }
        feat_col[f] = c;
    }
    return res;
}

mr_map_result mr_map_features(const mr_model *m, const char *const *names, size_t n,
                              size_t *feat_col, size_t *a, size_t *b)
{
    mr_name_ref *idx = mr_name_index((char *const *)names, n);
    if (!idx)
        return MR_MAP_NOMEM;
    const mr_map_result res = mr_map_features_idx(m, idx, n, feat_col, a, b);
    free(idx);
    return res;
}

/* 1 if some value is ±inf or NaN (every exponent bit set), on the bits so that
 * it vectorises; AVX2 has the 64-bit compare that SSE2 lacks (about 4x fewer
 * instructions per cell under callgrind). The exponent plus one carries into
 * the sign bit exactly when it is all ones: an and, an add and an or per
 * vector (a compare and a mask to 0/1 took two more), sixteen values a turn
 * (the compiler did not unroll the plain loop: 1.5 instructions a value, now
 * about 0.9). */
typedef uint64_t mr_v4u __attribute__((vector_size(32)));

MR_CLONES static int any_nonfinite(const double *col, size_t n)
{
    const uint64_t exp = 0x7ff0000000000000u, one = 0x0010000000000000u;
    const mr_v4u e = { exp, exp, exp, exp }, o = { one, one, one, one };
    mr_v4u c0 = { 0 }, c1 = { 0 }, c2 = { 0 }, c3 = { 0 };
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        mr_v4u a, b, c, d;
        memcpy(&a, col + j, sizeof a);
        memcpy(&b, col + j + 4, sizeof b);
        memcpy(&c, col + j + 8, sizeof c);
        memcpy(&d, col + j + 12, sizeof d);
        c0 |= (a & e) + o;
        c1 |= (b & e) + o;
        c2 |= (c & e) + o;
        c3 |= (d & e) + o;
    }
    const mr_v4u c = (c0 | c1) | (c2 | c3);
    uint64_t carry = c[0] | c[1] | c[2] | c[3];
    for (; j < n; j++) {
        uint64_t u;
        memcpy(&u, &col[j], sizeof u);
        carry |= (u & exp) + one;
    }
    return (carry >> 63) != 0;
}

/* Not cloned itself: clang 14 names a cloned extern function's ifunc
 * "NAME.ifunc", which other files cannot call. */
int mr_any_nonfinite(const double *v, size_t n)
{
    return any_nonfinite(v, n);
}

static int is_na(const mr_na_set *set, const char *s, size_t len)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->tok[i].len == len && memcmp(set->tok[i].p, s, len) == 0)
            return 1;
    return 0;
}

/* Map an unseen label per the unknown-level mode. */
static mr_cell unknown(const mr_decoder *d, const mr_encoder *enc, double *out)
{
    switch (d->unknown_mode) {
    case MR_UNKNOWN_NAN: *out = NAN; return MR_CELL_UNKNOWN;
    case MR_UNKNOWN_ERROR: return MR_CELL_UNKNOWN_ERROR;
    default: *out = (double)enc->most_frequent; return MR_CELL_UNKNOWN; /* pymars */
    }
}

mr_cell mr_decode_text(const mr_decoder *d, size_t f, const char *s, size_t len, double *out)
{
    if (is_na(&d->na[f], s, len)) {
        if (!d->m->allow_missing)
            return MR_CELL_MISSING_NOT_ALLOWED;
        *out = NAN;
        return MR_CELL_MISSING;
    }
    const mr_encoder *enc = d->m->encoders ? d->m->encoders[f] : NULL;
    double v;
    const int numeric = mr_parse_double(s, len, &v) == 0;
    if (!enc) {
        if (!numeric)
            return MR_CELL_BAD_NUMBER;
        if (isinf(v) && !d->m->allow_missing)
            return MR_CELL_INF_NOT_ALLOWED;
        *out = v;
        return MR_CELL_VALUE;
    }
    if (numeric && isinf(v) && !d->m->allow_missing)
        return MR_CELL_INF_NOT_ALLOWED;
    for (size_t k = 0; k < enc->n_classes; k++) { /* first match wins (docs/SEMANTICS.md §4) */
        const mr_class *c = &enc->classes[k];
        if (c->is_string ? (c->len == len && memcmp(c->str, s, len) == 0)
                         : (numeric && c->num == v)) {
            *out = (double)k;
            return MR_CELL_VALUE;
        }
    }
    return unknown(d, enc, out);
}

mr_cell mr_decode_binary(const mr_decoder *d, size_t f, double raw, double *out)
{
    if (isnan(raw)) {
        if (!d->m->allow_missing)
            return MR_CELL_MISSING_NOT_ALLOWED;
        *out = NAN;
        return MR_CELL_MISSING;
    }
    if (isinf(raw) && !d->m->allow_missing)
        return MR_CELL_INF_NOT_ALLOWED;
    const mr_encoder *enc = d->m->encoders ? d->m->encoders[f] : NULL;
    if (!enc) {
        *out = raw;
        return MR_CELL_VALUE;
    }
    for (size_t k = 0; k < enc->n_classes; k++) {
        const mr_class *c = &enc->classes[k];
        if (!c->is_string && c->num == raw) {
            *out = (double)k;
            return MR_CELL_VALUE;
        }
    }
    return unknown(d, enc, out);
}
