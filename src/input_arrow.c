/* input_arrow.c — Arrow record batches and streams (the C Data and C Stream
 * Interfaces) in, predictions or design rows out (docs/arrow.md).
 *
 * Arrow data is not bytes: a batch is already in memory, column by column,
 * so it has no header to read, no chunks to cut and no records to split, and
 * it does not fit the byte reader's format rows (src/input.h). It is decoded
 * here, block by block, into the same column-wise block the byte formats fill
 * (w->x: feature f of row r at x[f*MR_STRIDE + r]), with the same cell
 * decoder (decode.c) and the same evaluators (eval_c.c) as mr_run and
 * mr_predict; docs/pipeline.md says why it is not a row of the table.
 *
 * A producer is trusted as far as the specification lets a consumer check:
 * the structure (formats, children, buffer counts, lengths, offsets) and
 * every dictionary index and string offset are checked; buffer sizes are not
 * part of the interface and cannot be. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "engine.h"
#include "error.h"
#include "model.h"
#include "cpu_clones.h"
#include "numfmt.h"
#include "ordered.h"
#include "plan.h"
#include "transpose.h"

typedef enum {
    AK_F64, AK_F32, AK_I8, AK_U8, AK_I16, AK_U16, AK_I32, AK_U32, AK_I64, AK_U64,
    AK_UTF8, AK_LUTF8, AK_VIEW, AK_NONE
} akind;

static const struct { const char *fmt; akind k; } kinds[] = {
    { "g", AK_F64 }, { "f", AK_F32 }, { "c", AK_I8 }, { "C", AK_U8 }, { "s", AK_I16 },
    { "S", AK_U16 }, { "i", AK_I32 }, { "I", AK_U32 }, { "l", AK_I64 }, { "L", AK_U64 },
    { "u", AK_UTF8 }, { "U", AK_LUTF8 }, { "vu", AK_VIEW },
};

static akind kind_of(const char *fmt)
{
    if (!fmt)
        return AK_NONE;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(fmt, kinds[i].fmt) == 0)
            return kinds[i].k;
    return AK_NONE;
}

static int is_int(akind k) { return k >= AK_I8 && k <= AK_U64; }
static int is_str(akind k) { return k == AK_UTF8 || k == AK_LUTF8 || k == AK_VIEW; }

/* One model feature's field: its type from the schema, its buffers per batch. */
typedef struct acol {
    size_t field;           /* index in the struct */
    akind kind;             /* values, or the indices of a dictionary */
    akind dkind;            /* dictionary values; AK_NONE if not dictionary-encoded */
    /* per batch */
    const struct ArrowArray *a;
    int64_t base;           /* physical index of the batch's row 0 in a */
    const uint8_t *valid;   /* NULL: no nulls */
    /* a dictionary, decoded once per batch */
    double *dval;
    mr_cell *dcell;
    size_t dcap;
} acol;

typedef struct amap {
    const mr_model *m;
    mr_decoder dec;
    acol *col;              /* n_features */
    size_t n_fields;
    char **names;           /* n_fields (for messages) */
    uint64_t rows_done;     /* rows of earlier batches (stream) */
    /* row-major input: one fixed_size_list<float64>[n_features] field */
    int rowmajor;
    int any_cat;            /* a categorical feature */
    const double *rv;       /* per batch: the list's values */
    int64_t rbase;          /* index in rv of row 0's first value */
    const uint8_t *rvalid;  /* the values' validity; NULL: no nulls */
    mr_prefetch *pf;        /* n_features: the next block's columns */
} amap;

static void map_free(amap *p)
{
    if (p->col)
        for (size_t f = 0; f < p->m->n_features; f++) {
            free(p->col[f].dval);
            free(p->col[f].dcell);
        }
    free(p->col);
    free(p->pf);
    if (p->names)
        for (size_t i = 0; i < p->n_fields; i++)
            free(p->names[i]);
    free(p->names);
    if (p->dec.m)
        mr_decoder_free(&p->dec);
    memset(p, 0, sizeof *p);
}

#define NOCOL ((size_t)-1) /* an error of no one field */

static mr_status fail_col(mr_error *err, mr_status st, uint64_t row, size_t field,
                          const char *name, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static mr_status fail_col(mr_error *err, mr_status st, uint64_t row, size_t field,
                          const char *name, const char *fmt, ...)
{
    if (!err)
        return st;
    mr_err_clear(err);
    err->status = st;
    err->row = row;
    err->column = field == NOCOL ? 0 : (uint32_t)(field + 1);
    mr_err_field(err->source, sizeof err->source, "<arrow>");
    mr_err_field(err->field, sizeof err->field, name ? name : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
    return st;
}

#define FAIL(st, ...) fail_col(err, (st), 0, NOCOL, NULL, __VA_ARGS__)

/* The schema: a struct whose fields are matched to features by name. */
static mr_status map_schema(amap *p, const mr_engine *e, const struct ArrowSchema *s,
                            mr_error *err)
{
    const mr_model *m = e->m;
    memset(p, 0, sizeof *p);
    p->m = m;
    for (size_t f = 0; f < m->n_features; f++)
        p->any_cat |= m->encoders && m->encoders[f];
    if (!s || !s->release)
        return FAIL(MR_E_INVAL, "Arrow schema is NULL or released");
    if (!s->format || strcmp(s->format, "+s") != 0)
        return FAIL(MR_E_SHAPE, "Arrow schema is not a struct (a record batch): format \"%.32s\"",
                    s->format ? s->format : "(null)");
    if (s->n_children < 0 || (s->n_children > 0 && !s->children) || s->n_children > (1 << 24))
        return FAIL(MR_E_SHAPE, "Arrow schema has a malformed list of fields");
    const size_t n = (size_t)s->n_children;
    p->n_fields = n;
    p->names = calloc(n + 1, sizeof *p->names);
    p->col = calloc(m->n_features ? m->n_features : 1, sizeof *p->col);
    p->pf = calloc(m->n_features ? m->n_features : 1, sizeof *p->pf);
    if (!p->names || !p->col || !p->pf)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        const struct ArrowSchema *c = s->children[i];
        if (!c || !c->format)
            return fail_col(err, MR_E_SHAPE, 0, i, NULL, "Arrow field %zu has no schema", i + 1);
        if (!(p->names[i] = strdup(c->name ? c->name : "")))
            goto nomem;
    }
    const mr_options *o = &e->opt;
    if (n == 1 && strncmp(s->children[0]->format, "+w:", 3) == 0) {
        /* rows, as a NumPy array's: values j of a row are feature j */
        const struct ArrowSchema *c = s->children[0];
        char *end;
        const unsigned long w = strtoul(c->format + 3, &end, 10);
        if (*end || w != m->n_features || c->n_children != 1 || !c->children ||
            !c->children[0] || !c->children[0]->format || strcmp(c->children[0]->format, "g") != 0)
            return fail_col(err, MR_E_SHAPE, 0, 0, p->names[0],
                            "a fixed-size list field is read as rows of the model's %zu "
                            "features: it must be fixed_size_list<float64>[%zu] (found \"%.32s\")",
                            m->n_features, m->n_features, c->format);
        p->rowmajor = 1;
        if (mr_decoder_init(&p->dec, m, o->unknown, o->na ? o->na : MR_DEFAULT_NA) != MR_OK)
            goto nomem;
        return MR_OK;
    }
    size_t *fc = malloc((m->n_features ? m->n_features : 1) * sizeof *fc);
    if (!fc)
        goto nomem;
    size_t a = 0, b = 0;
    const mr_map_result r = mr_map_features(m, (const char *const *)p->names, n, fc, &a, &b);
    for (size_t f = 0; r == MR_MAP_OK && f < m->n_features; f++)
        p->col[f].field = fc[f];
    free(fc);
    if (r == MR_MAP_NOMEM)
        goto nomem;
    char q[96];
    if (r == MR_MAP_DUPLICATE) {
        mr_err_quote(q, sizeof q, p->names[b], strlen(p->names[b]));
        return fail_col(err, MR_E_SHAPE, 0, b, p->names[b],
                        "duplicate field name \"%s\" (fields %zu and %zu)", q, a + 1, b + 1);
    }
    if (r == MR_MAP_MISSING) {
        mr_err_quote(q, sizeof q, m->feature_names[a], strlen(m->feature_names[a]));
        return fail_col(err, MR_E_SHAPE, 0, NOCOL, m->feature_names[a],
                        "model feature \"%s\" is not a field of the Arrow schema", q);
    }
    for (size_t f = 0; f < m->n_features; f++) {
        acol *c = &p->col[f];
        const struct ArrowSchema *cs = s->children[c->field];
        c->kind = kind_of(cs->format);
        c->dkind = AK_NONE;
        int ok = c->kind != AK_NONE;
        if (ok && cs->dictionary) {
            c->dkind = cs->dictionary->format && !cs->dictionary->dictionary
                           ? kind_of(cs->dictionary->format) : AK_NONE;
            ok = is_int(c->kind) && c->dkind != AK_NONE;
        }
        if (!ok) {
            mr_err_quote(q, sizeof q, cs->format, strlen(cs->format));
            return fail_col(err, MR_E_SHAPE, 0, c->field, m->feature_names[f],
                            "Arrow type \"%s%s%s\" is not supported for a feature (float64, "
                            "float32, int8..64, uint8..64, utf8, large_utf8, utf8_view, or "
                            "these dictionary-encoded)", q, cs->dictionary ? " dictionary of " : "",
                            cs->dictionary && cs->dictionary->format ? cs->dictionary->format : "");
        }
    }
    /* string cells: the engine's missing tokens, as CSV cells */
    if (mr_decoder_init(&p->dec, m, o->unknown, o->na ? o->na : MR_DEFAULT_NA) != MR_OK)
        goto nomem;
    for (size_t i = 0; i < o->n_na_cols; i++) {
        const char *spec = o->na_cols[i];
        const char *eq = strchr(spec, '=');
        size_t c = 0;
        while (c < n && (strlen(p->names[c]) != (size_t)(eq - spec) ||
                         memcmp(p->names[c], spec, (size_t)(eq - spec)) != 0))
            c++;
        if (c == n) {
            mr_err_quote(q, sizeof q, spec, (size_t)(eq - spec));
            return FAIL(MR_E_INVAL, "MR_OPT_NA_COLUMN field \"%s\" is not in the Arrow schema", q);
        }
        for (size_t f = 0; f < m->n_features; f++)
            if (p->col[f].field == c && mr_decoder_set_na(&p->dec, f, eq + 1) != MR_OK)
                goto nomem;
    }
    return MR_OK;
nomem:
    return FAIL(MR_E_NOMEM, "out of memory");
}

static int bit(const uint8_t *v, int64_t i) { return (v[i >> 3] >> (i & 7)) & 1; }

/* A primitive or string array's structure, as far as it can be checked. */
static int array_ok(const struct ArrowArray *a, akind k, int64_t need)
{
    if (!a || !a->release || a->length < 0 || a->offset < 0 || a->n_children < 0 || !a->buffers)
        return 0;
    if (k == AK_VIEW) { /* validity, views, data buffers..., their sizes */
        if (a->n_buffers < 3 || a->n_buffers > (1 << 20))
            return 0;
        for (int64_t i = 2; i < a->n_buffers; i++)
            if (!a->buffers[i] && (i < a->n_buffers - 1 || a->n_buffers > 3))
                return 0;
    } else if (a->n_buffers != (is_str(k) ? 3 : 2)) {
        return 0;
    }
    if (a->length > INT64_MAX - a->offset || a->length < need)
        return 0;
    if (a->length > 0 && (!a->buffers[1] || (is_str(k) && k != AK_VIEW && !a->buffers[2])))
        return 0;
    return 1;
}

/* String j (physical index) of a utf8, large_utf8 or utf8_view array; -1 if
 * its offsets go back or its view points outside its data buffer (a view
 * array carries its buffers' sizes, so that is checked in full). */
static int str_at(const struct ArrowArray *a, akind k, int64_t j, const char **s, size_t *len)
{
    int64_t o0, o1;
    if (k == AK_UTF8) {
        o0 = ((const int32_t *)a->buffers[1])[j];
        o1 = ((const int32_t *)a->buffers[1])[j + 1];
    } else if (k == AK_LUTF8) {
        o0 = ((const int64_t *)a->buffers[1])[j];
        o1 = ((const int64_t *)a->buffers[1])[j + 1];
    } else {
        /* 16 bytes: the length, then 12 bytes inline, or a prefix, buffer and offset */
        const uint8_t *v = (const uint8_t *)a->buffers[1] + (size_t)j * 16;
        int32_t n, buf, off;
        memcpy(&n, v, 4);
        if (n < 0)
            return -1;
        if (n <= 12) {
            *s = (const char *)v + 4;
            *len = (size_t)n;
            return 0;
        }
        memcpy(&buf, v + 8, 4);
        memcpy(&off, v + 12, 4);
        int64_t size = 0;
        if (buf < 0 || buf >= a->n_buffers - 3 || off < 0)
            return -1;
        memcpy(&size, (const int64_t *)a->buffers[a->n_buffers - 1] + buf, 8);
        if ((int64_t)off + n > size)
            return -1;
        *s = (const char *)a->buffers[2 + buf] + off;
        *len = (size_t)n;
        return 0;
    }
    if (o0 < 0 || o1 < o0)
        return -1;
    *s = (const char *)a->buffers[2] + o0;
    *len = (size_t)(o1 - o0);
    return 0;
}

/* A batch's column f: check it and point at it; decode its dictionary. */
static mr_status bind_batch(amap *p, const struct ArrowArray *b, mr_error *err)
{
    if (!b || !b->release)
        return FAIL(MR_E_INVAL, "Arrow array is NULL or released");
    if (b->n_children != (int64_t)p->n_fields || (b->n_children && !b->children) ||
        b->length < 0 || b->offset < 0 || b->n_buffers != 1 || !b->buffers ||
        b->length > INT64_MAX - b->offset)
        return fail_col(err, MR_E_SHAPE, p->rows_done + 1, NOCOL, NULL,
                        "Arrow batch does not match its schema (%" PRId64 " fields, %zu in "
                        "the schema; length %" PRId64 ", offset %" PRId64 ")",
                        b->n_children, p->n_fields, b->length, b->offset);
    if (b->buffers[0] && b->null_count != 0)
        return fail_col(err, MR_E_SHAPE, p->rows_done + 1, NOCOL, NULL,
                        "Arrow batch has null rows (a struct validity bitmap): not supported");
    const int64_t need = b->offset + b->length;
    if (p->rowmajor) {
        const struct ArrowArray *l = b->children[0];
        const struct ArrowArray *v = l && l->n_children == 1 && l->children ? l->children[0] : NULL;
        const int64_t nf = (int64_t)p->m->n_features;
        int ok = l && l->release && l->n_buffers == 1 && l->buffers && l->offset >= 0 &&
                 l->length >= need && l->offset <= INT64_MAX - need &&
                 (!l->buffers[0] || l->null_count == 0) && array_ok(v, AK_F64, 0);
        if (ok && nf > 0) {
            const int64_t rows = l->offset + need; /* the values the list's rows reach */
            ok = rows <= (INT64_MAX - v->offset) / nf && v->length >= rows * nf &&
                 (rows == 0 || v->buffers[1]);
        }
        if (!ok)
            return fail_col(err, MR_E_SHAPE, p->rows_done + 1, 0, p->names[0],
                            "malformed fixed_size_list<float64>[%zu] array (lengths, offsets, "
                            "buffers, or null rows)", p->m->n_features);
        p->rv = v->buffers[1];
        p->rbase = v->offset + (l->offset + b->offset) * nf;
        p->rvalid = v->null_count != 0 ? v->buffers[0] : NULL;
        return MR_OK;
    }
    for (size_t f = 0; f < p->m->n_features; f++) {
        acol *c = &p->col[f];
        const struct ArrowArray *a = b->children[c->field];
        if (!array_ok(a, c->kind, need) || (c->dkind != AK_NONE) != (a->dictionary != NULL))
            return fail_col(err, MR_E_SHAPE, p->rows_done + 1, c->field, p->m->feature_names[f],
                            "malformed Arrow array for this field (buffers, length or offset "
                            "do not fit its type \"%s\")", kinds[c->kind].fmt);
        c->a = a;
        c->base = a->offset + b->offset;
        c->valid = a->null_count != 0 ? a->buffers[0] : NULL;
        if (c->dkind == AK_NONE)
            continue;
        const struct ArrowArray *d = a->dictionary;
        if (!array_ok(d, c->dkind, 0))
            return fail_col(err, MR_E_SHAPE, p->rows_done + 1, c->field, p->m->feature_names[f],
                            "malformed Arrow dictionary for this field");
        const size_t dn = (size_t)d->length;
        if (dn > c->dcap) {
            double *v = realloc(c->dval, dn * sizeof *v);
            if (v)
                c->dval = v;
            mr_cell *cl = realloc(c->dcell, dn * sizeof *cl);
            if (cl)
                c->dcell = cl;
            if (!v || !cl)
                return FAIL(MR_E_NOMEM, "out of memory");
            c->dcap = dn;
        }
        /* each entry decoded once: a cell's result only depends on its value */
        const uint8_t *dv = d->null_count != 0 ? d->buffers[0] : NULL;
        for (size_t k = 0; k < dn; k++) {
            const int64_t j = d->offset + (int64_t)k;
            double x = NAN;
            if (dv && !bit(dv, j)) {
                c->dcell[k] = mr_decode_binary(&p->dec, f, NAN, &c->dval[k]);
                continue;
            }
            if (is_str(c->dkind)) {
                const char *t;
                size_t tl;
                if (str_at(d, c->dkind, j, &t, &tl) != 0)
                    return fail_col(err, MR_E_SHAPE, p->rows_done + 1, c->field,
                                    p->m->feature_names[f],
                                    "malformed Arrow dictionary: string offsets go back or a "
                                    "view points outside its buffer");
                c->dcell[k] = mr_decode_text(&p->dec, f, t, tl, &c->dval[k]);
                continue;
            }
            switch (c->dkind) {
            case AK_F64: x = ((const double *)d->buffers[1])[j]; break;
            case AK_F32: x = ((const float *)d->buffers[1])[j]; break;
            case AK_I8: x = ((const int8_t *)d->buffers[1])[j]; break;
            case AK_U8: x = ((const uint8_t *)d->buffers[1])[j]; break;
            case AK_I16: x = ((const int16_t *)d->buffers[1])[j]; break;
            case AK_U16: x = ((const uint16_t *)d->buffers[1])[j]; break;
            case AK_I32: x = ((const int32_t *)d->buffers[1])[j]; break;
            case AK_U32: x = ((const uint32_t *)d->buffers[1])[j]; break;
            case AK_I64: x = (double)((const int64_t *)d->buffers[1])[j]; break;
            case AK_U64: x = (double)((const uint64_t *)d->buffers[1])[j]; break;
            default: break;
            }
            c->dcell[k] = mr_decode_binary(&p->dec, f, x, &c->dval[k]);
        }
    }
    return MR_OK;
}

/* A sum of doubles is finite only if every term is (an infinity stays
 * infinite or becomes NaN, a NaN stays NaN), so one addition per value
 * tells that a run of values is all finite; a sum that is not may also have
 * overflowed, so "not finite" only means "look at each value" (the callers
 * do, cell by cell). Four vectors of sums, so that the additions do not wait
 * on each other; the order of the sums does not matter for the answer. */
typedef double v4d __attribute__((vector_size(32)));

/* Copy n float64 values; 0 if all are finite, else 1 (maybe not all). */
static MR_CLONES int copy_f64(const double *restrict v, double *restrict x, size_t n)
{
    v4d z0 = { 0 }, z1 = { 0 }, z2 = { 0 }, z3 = { 0 };
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v4d a, b, c, d;
        memcpy(&a, v + i, sizeof a);
        memcpy(&b, v + i + 4, sizeof b);
        memcpy(&c, v + i + 8, sizeof c);
        memcpy(&d, v + i + 12, sizeof d);
        memcpy(x + i, &a, sizeof a);
        memcpy(x + i + 4, &b, sizeof b);
        memcpy(x + i + 8, &c, sizeof c);
        memcpy(x + i + 12, &d, sizeof d);
        z0 += a;
        z1 += b;
        z2 += c;
        z3 += d;
    }
    double t = 0.0;
    for (; i < n; i++) {
        x[i] = v[i];
        t = t + v[i];
    }
    /* (no vector passed to a function: the baseline clone has no AVX) */
    const v4d z = (z0 + z1) + (z2 + z3);
    const double sum = ((z[0] + z[1]) + (z[2] + z[3])) + t;
    return !(sum - sum == 0.0);
}

/* Numeric values of rows [r0, r0+n) of a primitive column as doubles. */
static void load_numbers(akind k, const void *buf, int64_t j0, size_t n, double *x)
{
#define LOAD(T) do { const T *v = (const T *)buf + j0; for (size_t i = 0; i < n; i++) x[i] = (double)v[i]; } while (0)
    switch (k) {
    case AK_F64: LOAD(double); break;
    case AK_F32: LOAD(float); break;
    case AK_I8: LOAD(int8_t); break;
    case AK_U8: LOAD(uint8_t); break;
    case AK_I16: LOAD(int16_t); break;
    case AK_U16: LOAD(uint16_t); break;
    case AK_I32: LOAD(int32_t); break;
    case AK_U32: LOAD(uint32_t); break;
    case AK_I64: LOAD(int64_t); break;
    case AK_U64: LOAD(uint64_t); break;
    default: break;
    }
#undef LOAD
}

static int64_t index_at(akind k, const void *buf, int64_t j)
{
    switch (k) {
    case AK_I8: return ((const int8_t *)buf)[j];
    case AK_U8: return ((const uint8_t *)buf)[j];
    case AK_I16: return ((const int16_t *)buf)[j];
    case AK_U16: return ((const uint16_t *)buf)[j];
    case AK_I32: return ((const int32_t *)buf)[j];
    case AK_U32: return ((const uint32_t *)buf)[j];
    case AK_I64: return ((const int64_t *)buf)[j];
    case AK_U64: { const uint64_t u = ((const uint64_t *)buf)[j]; return u > INT64_MAX ? -1 : (int64_t)u; }
    default: return -1;
    }
}

/* The text of a cell, for a message. */
static size_t cell_text(const acol *c, int64_t j, char *buf, size_t cap, const char **s)
{
    const struct ArrowArray *a = c->a;
    akind k = c->kind;
    if (c->valid && !bit(c->valid, j)) {
        *s = "null";
        return 4;
    }
    if (c->dkind != AK_NONE) {
        const int64_t ix = index_at(c->kind, a->buffers[1], j);
        a = a->dictionary;
        k = c->dkind;
        j = a->offset + ix;
        if (a->null_count != 0 && a->buffers[0] && !bit(a->buffers[0], j)) {
            *s = "null";
            return 4;
        }
    }
    if (is_str(k)) {
        size_t len = 0;
        if (str_at(a, k, j, s, &len) != 0) {
            *s = "";
            return 0;
        }
        return len;
    }
    double x = NAN;
    load_numbers(k, a->buffers[1], j, 1, &x);
    *s = buf;
    return (size_t)snprintf(buf, cap, "%.17g", x);
}

static mr_status cell_error(const amap *p, size_t f, mr_cell code, uint64_t row, int64_t j,
                            mr_error *err)
{
    const acol *c = &p->col[f];
    char num[40], q[96];
    const char *s;
    const size_t len = cell_text(c, j, num, sizeof num, &s);
    mr_err_quote(q, sizeof q, s, len);
    const char *name = p->m->feature_names[f];
    switch (code) {
    case MR_CELL_BAD_NUMBER:
        return fail_col(err, MR_E_PARSE, row, c->field, name, "not a number (\"%s\")", q);
    case MR_CELL_MISSING_NOT_ALLOWED:
        return fail_col(err, MR_E_DATA, row, c->field, name, "missing value (\"%s\") but the model does not allow missing values (params.allow_missing is false)", q);
    case MR_CELL_INF_NOT_ALLOWED:
        return fail_col(err, MR_E_DATA, row, c->field, name, "infinite value (\"%s\") but the model does not allow missing or infinite values (params.allow_missing is false)", q);
    case MR_CELL_UNKNOWN_ERROR:
        return fail_col(err, MR_E_DATA, row, c->field, name, "unknown categorical level (\"%s\") with MR_UNKNOWN_ERROR", q);
    default:
        return fail_col(err, MR_E_INTERNAL, row, c->field, name, "unexpected cell state");
    }
}

static int cell_ok(mr_cell c) { return c == MR_CELL_VALUE || c == MR_CELL_MISSING || c == MR_CELL_UNKNOWN; }

/* A cell's label as mr_validate gives it: a string cell's text, a number
 * as the shortest text that reads back the same. */
static size_t label_text(const acol *c, int64_t j, char *buf, size_t cap)
{
    const struct ArrowArray *a = c->a;
    akind k = c->kind;
    if (c->dkind != AK_NONE) {
        j = a->dictionary->offset + index_at(c->kind, a->buffers[1], j);
        a = a->dictionary;
        k = c->dkind;
    }
    if (is_str(k)) {
        const char *s;
        size_t len = 0;
        if (str_at(a, k, j, &s, &len) != 0)
            len = 0;
        len = len < cap - 1 ? len : cap - 1;
        memcpy(buf, s, len);
        return len;
    }
    double x = NAN;
    load_numbers(k, a->buffers[1], j, 1, &x);
    char t[32];
    const size_t len = mr_format_double(x, t);
    memcpy(buf, t, len < cap - 1 ? len : cap - 1);
    return len < cap - 1 ? len : cap - 1;
}

/* mr_validate's counts of one cell: missing cells (also those not allowed),
 * unseen labels (also with MR_UNKNOWN_ERROR), the first of them. `raw` is
 * the value of a row-major cell (c NULL). */
static void count_cell(const acol *c, mr_cell cl, uint64_t row, int64_t j, double raw,
                       mr_column_stats *cs)
{
    if (cl == MR_CELL_MISSING || cl == MR_CELL_MISSING_NOT_ALLOWED) {
        cs->missing++;
    } else if ((cl == MR_CELL_UNKNOWN || cl == MR_CELL_UNKNOWN_ERROR) && cs->unknown++ == 0) {
        cs->first_unknown_row = row;
        memset(cs->first_unknown, 0, sizeof cs->first_unknown);
        if (c) {
            label_text(c, j, cs->first_unknown, sizeof cs->first_unknown);
        } else {
            char t[32];
            const size_t len = mr_format_double(raw, t);
            memcpy(cs->first_unknown, t, len < sizeof cs->first_unknown ? len : sizeof cs->first_unknown - 1);
        }
    }
}

/* Rows [r0, r0+n) of feature f into x[0..n). Returns the column's first bad
 * cell (err filled); without cs at once, with cs (validate) after counting
 * every cell. A malformed cell (a dictionary index out of range, string
 * offsets that go back) sets *fatal and stops. */
static mr_status decode_col(const amap *p, size_t f, int64_t r0, size_t n, double *x,
                            mr_column_stats *cs, int *fatal, mr_error *err)
{
    const acol *c = &p->col[f];
    const struct ArrowArray *a = c->a;
    const int64_t j0 = c->base + r0;
    const uint64_t row1 = p->rows_done + (uint64_t)r0 + 1;
    mr_status first = MR_OK;
    /* one decoded cell i: counted, and the column's first bad one kept */
#define CELL(cl, i, j, raw)                                                        \
    do {                                                                           \
        if (cs)                                                                    \
            count_cell(c, (cl), row1 + (i), (j), (raw), cs);                       \
        if (!cell_ok(cl) && first == MR_OK) {                                      \
            first = cell_error(p, f, (cl), row1 + (i), (j), err);                  \
            if (!cs)                                                               \
                return first;                                                      \
        }                                                                          \
    } while (0)
    if (c->dkind != AK_NONE) {
        const int64_t dn = a->dictionary->length;
        for (size_t i = 0; i < n; i++) {
            const int64_t j = j0 + (int64_t)i;
            mr_cell cl;
            if (c->valid && !bit(c->valid, j)) {
                cl = mr_decode_binary(&p->dec, f, NAN, &x[i]);
            } else {
                const int64_t ix = index_at(c->kind, a->buffers[1], j);
                if (ix < 0 || ix >= dn) {
                    *fatal = 1;
                    return first != MR_OK ? first
                         : fail_col(err, MR_E_SHAPE, row1 + i, c->field, p->m->feature_names[f],
                                    "dictionary index %" PRId64 " is outside the dictionary "
                                    "(%" PRId64 " entries)", ix, dn);
                }
                cl = c->dcell[ix];
                x[i] = c->dval[ix];
            }
            CELL(cl, i, j, 0.0);
        }
        return first;
    }
    if (is_str(c->kind)) {
        for (size_t i = 0; i < n; i++) {
            const int64_t j = j0 + (int64_t)i;
            mr_cell cl;
            if (c->valid && !bit(c->valid, j)) {
                cl = mr_decode_binary(&p->dec, f, NAN, &x[i]);
            } else {
                const char *t;
                size_t tl;
                if (str_at(a, c->kind, j, &t, &tl) != 0) {
                    *fatal = 1;
                    return first != MR_OK ? first
                         : fail_col(err, MR_E_SHAPE, row1 + i, c->field, p->m->feature_names[f],
                                    "malformed Arrow array: string offsets go back or a view "
                                    "points outside its buffer");
                }
                cl = mr_decode_text(&p->dec, f, t, tl, &x[i]);
            }
            CELL(cl, i, j, 0.0);
        }
        return first;
    }
    const int cat = p->m->encoders && p->m->encoders[f];
    if (c->kind == AK_F64 && !c->valid && !cat) {
        if (!copy_f64((const double *)a->buffers[1] + j0, x, n) || (p->m->allow_missing && !cs))
            return MR_OK; /* all finite, or NaN is missing and inf a value */
    } else {
        load_numbers(c->kind, a->buffers[1], j0, n, x);
    }
    if (c->valid)
        for (size_t i = 0; i < n; i++)
            if (!bit(c->valid, j0 + (int64_t)i))
                x[i] = NAN;
    if (!cat && p->m->allow_missing && !cs)
        return MR_OK; /* NaN is missing, inf a value: as mr_decode_binary decides */
    for (size_t i = 0; i < n; i++) {
        const mr_cell cl = mr_decode_binary(&p->dec, f, x[i], &x[i]);
        CELL(cl, i, j0 + (int64_t)i, 0.0);
    }
    return first;
}

static size_t kind_size(akind k)
{
    return k == AK_F64 || k == AK_I64 || k == AK_U64 ? 8
         : k == AK_F32 || k == AK_I32 || k == AK_U32 ? 4
         : k == AK_I16 || k == AK_U16 ? 2 : 1;
}

/* The primitive values of rows [r0, min(r0 + MR_BLOCK, len)), one region
 * per column (pf[0..nf)), for the evaluator to prefetch while it computes
 * the block before: the columns are separate streams, which the hardware
 * prefetchers pick up late, and asked for at once they evict the block
 * being computed (measured: bench/arrow_bench.c, docs/arrow.md). Strings
 * and dictionaries get an empty region. */
static void next_regions(const amap *p, int64_t r0, int64_t len, mr_prefetch *pf)
{
    const int64_t n = r0 >= len ? 0 : len - r0 < MR_BLOCK ? len - r0 : MR_BLOCK;
    for (size_t f = 0; f < p->m->n_features; f++) {
        const acol *c = &p->col[f];
        pf[f] = (mr_prefetch){ NULL, 0 };
        if (n == 0 || c->dkind != AK_NONE || is_str(c->kind))
            continue;
        const size_t size = kind_size(c->kind);
        pf[f].p = (const char *)c->a->buffers[1] + (size_t)(c->base + r0) * size;
        pf[f].bytes = (size_t)n * size;
    }
}

/* The same, asked for at once (mr_eval_design does not prefetch). */
static void prefetch_next(const amap *p, int64_t r0, int64_t len, mr_prefetch *pf)
{
    next_regions(p, r0, len, pf);
    for (size_t f = 0; f < p->m->n_features; f++)
        for (size_t o = 0; o < pf[f].bytes; o += 64)
            __builtin_prefetch((const char *)pf[f].p + o);
}

/* Feature f of rows [r0, r0+n) of a row-major batch, transposed into c:
 * checked as a float64 field is (the decode_col contract, no malformed
 * cells). */
static mr_status check_rows_col(const amap *p, size_t f, int64_t r0, size_t n, double *c,
                                mr_column_stats *cs, mr_error *err)
{
    const size_t nf = p->m->n_features;
    const int64_t j0 = p->rbase + r0 * (int64_t)nf;
    const int cat = p->m->encoders && p->m->encoders[f];
    if (!cat && ((p->m->allow_missing && !cs) || !mr_any_nonfinite(c, n)))
        return MR_OK; /* as a float64 field: all finite, or NaN is missing and inf a value */
    mr_status first = MR_OK;
    for (size_t i = 0; i < n; i++) {
        const double raw = c[i];
        const mr_cell cl = mr_decode_binary(&p->dec, f, raw, &c[i]);
        const uint64_t row = p->rows_done + (uint64_t)(r0 + (int64_t)i) + 1;
        if (cs)
            count_cell(NULL, cl, row, 0, raw, cs);
        if (cell_ok(cl) || first != MR_OK)
            continue;
        const int64_t j = j0 + (int64_t)(i * nf + f);
        const int null = p->rvalid && !bit(p->rvalid, j);
        char num[40];
        snprintf(num, sizeof num, "%.17g", p->rv[j]);
        const char *what = cl == MR_CELL_UNKNOWN_ERROR ? "unknown categorical level"
                         : cl == MR_CELL_INF_NOT_ALLOWED ? "infinite value" : "missing value";
        first = fail_col(err, MR_E_DATA, row, f, p->m->feature_names[f], "%s (\"%s\")%s", what,
                         null ? "null" : num,
                         cl == MR_CELL_UNKNOWN_ERROR ? " with MR_UNKNOWN_ERROR"
                         : " but the model does not allow missing values "
                           "(params.allow_missing is false)");
        if (!cs)
            return first;
    }
    return first;
}

/* What one thread decodes and evaluates blocks with: the calling thread's
 * are the engine's, each worker has its own. */
typedef struct lane {
    double *x;              /* n_features * MR_STRIDE: the block, column-wise */
    double *scratch;        /* mr_plan_scratch_len */
    mr_prefetch *pf;        /* n_features */
} lane;

/* Rows [r0, r0+n) of the bound batch into ln->x. Returns the first bad cell
 * in row order (then the feature order) with err filled: a column's bad
 * cell at block row i leaves only rows before i for the columns after it
 * to beat. With cols (validate) every cell is counted, unless a malformed
 * cell (*fatal) stops the block. */
static mr_status decode_block(const amap *p, const lane *ln, int64_t r0, size_t n,
                              mr_column_stats *cols, int *fatal, mr_error *err)
{
    const size_t nf = p->m->n_features;
    if (p->rowmajor) {
        const int64_t j0 = p->rbase + r0 * (int64_t)nf;
        /* nothing to check at all, or the transpose's own sum says all are finite */
        const int plain = p->any_cat || p->rvalid || (p->m->allow_missing && !cols);
        int finite = 1;
        if (nf && plain)
            mr_transpose_rows(p->rv + j0, nf, nf, n, ln->x, MR_STRIDE);
        else if (nf)
            finite = mr_transpose_rows_finite(p->rv + j0, nf, nf, n, ln->x, MR_STRIDE);
        if (p->rvalid) {
            for (size_t i = 0; i < n; i++)
                for (size_t f = 0; f < nf; f++)
                    if (!bit(p->rvalid, j0 + (int64_t)(i * nf + f)))
                        ln->x[f * MR_STRIDE + i] = NAN;
        } else if (!p->any_cat && ((p->m->allow_missing && !cols) || finite)) {
            return MR_OK; /* nothing to check or count */
        }
    }
    mr_status first = MR_OK;
    size_t lim = n; /* block rows that can still hold the first bad cell */
    mr_error tmp;
    for (size_t f = 0; f < nf && (cols || lim > 0); f++) {
        const size_t m = cols ? n : lim;
        double *x = ln->x + f * MR_STRIDE;
        const mr_status st = p->rowmajor
                                 ? check_rows_col(p, f, r0, m, x, cols ? &cols[f] : NULL, &tmp)
                                 : decode_col(p, f, r0, m, x, cols ? &cols[f] : NULL, fatal, &tmp);
        if (st != MR_OK) {
            const uint64_t at = p->rows_done + (uint64_t)r0 + 1;
            const size_t i = tmp.row >= at ? (size_t)(tmp.row - at) : 0;
            if (i < lim) {
                first = st;
                lim = i;
                if (err)
                    *err = tmp;
            }
            if (*fatal)
                break;
        }
    }
    return first;
}

/* Rows [r0, r1) of the bound batch: decoded block by block and, unless mode
 * is MR_MODE_CHECK, evaluated into out (row r at out[r * ld_out]). Returns
 * the first bad cell (err). With cols (MR_MODE_CHECK) it goes on counting
 * after a bad cell, up to a malformed one (*fatal). */
static mr_status run_rows(const amap *p, const mr_plan *plan, const lane *ln, int64_t r0,
                          int64_t r1, int mode, double *out, size_t ld_out,
                          mr_column_stats *cols, int *fatal, mr_error *err)
{
    const size_t nf = p->m->n_features;
    mr_status first = MR_OK;
    for (int64_t b0 = r0; b0 < r1; b0 += MR_BLOCK) {
        const size_t n = (size_t)(r1 - b0 < MR_BLOCK ? r1 - b0 : MR_BLOCK);
        const mr_status st = decode_block(p, ln, b0, n, cols, fatal, first == MR_OK ? err : NULL);
        if (st != MR_OK && first == MR_OK)
            first = st;
        if (first != MR_OK && (!cols || *fatal))
            return first;
        if (mode == MR_MODE_CHECK)
            continue;
        const int64_t nx = b0 + MR_BLOCK; /* the next block */
        if (mode == MR_MODE_DESIGN) {
            if (!p->rowmajor)
                prefetch_next(p, nx, r1, ln->pf);
            mr_eval_design(plan, ln->x, MR_STRIDE, n, ln->scratch, out + (size_t)b0 * ld_out,
                           ld_out);
        } else if (p->rowmajor) { /* the next block's rows fetched while this one computes */
            const size_t nn = nx < r1 ? (size_t)(r1 - nx < MR_BLOCK ? r1 - nx : MR_BLOCK) : 0;
            mr_eval_predict(plan, ln->x, MR_STRIDE, n, ln->scratch, out + b0,
                            nn ? p->rv + p->rbase + nx * (int64_t)nf : NULL,
                            nn * nf * sizeof(double));
        } else { /* and the next block's columns */
            next_regions(p, nx, r1, ln->pf);
            mr_eval_predict_pf(plan, ln->x, MR_STRIDE, n, ln->scratch, out + b0, ln->pf, nf);
        }
    }
    return first;
}

/* ---- MR_OPT_THREADS workers ----------------------------------------------
 * A batch of at least 2 * ARROW_MIN_CHUNK rows is cut into chunks of whole
 * blocks, run by the engine's MR_OPT_THREADS workers (the pool of mr_run,
 * src/ordered.c), each with its own lane; the calling thread hands out the
 * chunks and takes their results in row order. Rows are independent, so the
 * values do not depend on the cut; the error reported is the first chunk's
 * first, as one thread would find it; counts are summed in row order. The
 * workers exist only during one call (or one get_next of an exported
 * stream). */
#define ARROW_MIN_CHUNK 8192

typedef struct ajob {
    int64_t r0, r1;
    mr_status st;
    int fatal;
    int skipped;               /* a chunk before had failed: not run */
    mr_column_stats *cols;     /* validate: this chunk's counts */
    mr_error err;
} ajob;

typedef struct apool {
    mr_ordered *q;
    unsigned workers;
    lane *lanes;
    size_t nf;
    ajob *jobs;                /* slots */
    size_t slots;
    mr_column_stats *colbuf;   /* slots * nf */
    /* the batch being run */
    const amap *p;
    const mr_plan *plan;
    int mode;
    double *out;
    size_t ld_out;
    int64_t stop;              /* chunks from this row on need not run (atomic) */
    uint64_t tickets;          /* handed out so far, over all batches (mr_ordered's count) */
} apool;

static void pool_job(void *ctx, size_t slot, unsigned worker)
{
    apool *P = ctx;
    ajob *j = &P->jobs[slot];
    j->fatal = 0;
    j->skipped = 0;
    j->st = MR_OK;
    if (j->r0 >= __atomic_load_n(&P->stop, __ATOMIC_ACQUIRE)) {
        j->skipped = 1;
        return;
    }
    if (j->cols)
        memset(j->cols, 0, P->nf * sizeof *j->cols);
    j->st = run_rows(P->p, P->plan, &P->lanes[worker], j->r0, j->r1, P->mode, P->out, P->ld_out,
                     j->cols, &j->fatal, &j->err);
    if (j->st != MR_OK && (!j->cols || j->fatal)) { /* later chunks need not run */
        int64_t s = __atomic_load_n(&P->stop, __ATOMIC_ACQUIRE);
        while (j->r1 < s &&
               !__atomic_compare_exchange_n(&P->stop, &s, j->r1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            ;
    }
}

static void pool_free(apool *P)
{
    if (!P)
        return;
    mr_ordered_destroy(P->q);
    if (P->lanes)
        for (unsigned w = 0; w < P->workers; w++) {
            free(P->lanes[w].x);
            free(P->lanes[w].scratch);
            free(P->lanes[w].pf);
        }
    free(P->lanes);
    free(P->jobs);
    free(P->colbuf);
    free(P);
}

/* The engine's workers, or NULL with *st MR_OK when they cannot start (then
 * the calling thread runs alone). */
static apool *pool_new(const mr_engine *e, mr_status *st)
{
    const unsigned T = e->opt.threads;
    const size_t nf = e->m->n_features ? e->m->n_features : 1;
    *st = MR_E_NOMEM;
    apool *P = calloc(1, sizeof *P);
    if (!P)
        return NULL;
    P->nf = e->m->n_features;
    P->workers = T;
    P->slots = 1;
    while (P->slots < 2 * (size_t)T)
        P->slots *= 2;
    P->lanes = calloc(T, sizeof *P->lanes);
    P->jobs = calloc(P->slots, sizeof *P->jobs);
    P->colbuf = calloc(P->slots * nf, sizeof *P->colbuf);
    int ok = P->lanes && P->jobs && P->colbuf;
    for (unsigned w = 0; ok && w < T; w++) {
        P->lanes[w].x = malloc(nf * MR_STRIDE * sizeof(double));
        P->lanes[w].scratch = malloc(mr_plan_scratch_len(e->plan) * sizeof(double));
        P->lanes[w].pf = malloc(nf * sizeof(mr_prefetch));
        ok = P->lanes[w].x && P->lanes[w].scratch && P->lanes[w].pf;
    }
    unsigned started = 0;
    if (ok && mr_ordered_create(T, P->slots, pool_job, P, &P->q, &started) != MR_OK)
        ok = 0;
    if (!ok) {
        pool_free(P);
        return NULL;
    }
    *st = MR_OK;
    if (started == 0) { /* no thread: the calling thread alone */
        pool_free(P);
        return NULL;
    }
    return P;
}

static void add_counts(mr_column_stats *to, const mr_column_stats *from, size_t nf)
{
    for (size_t f = 0; f < nf; f++) {
        to[f].missing += from[f].missing;
        if (from[f].unknown && !to[f].unknown) {
            to[f].first_unknown_row = from[f].first_unknown_row;
            memcpy(to[f].first_unknown, from[f].first_unknown, sizeof to[f].first_unknown);
        }
        to[f].unknown += from[f].unknown;
    }
}

/* Rows [0, len) of the bound batch, on the calling thread or, when the
 * engine has MR_OPT_THREADS > 1 and the batch is big enough, on the workers
 * (*pool: started at the first such batch; the caller frees it). */
static mr_status run_batch(amap *p, mr_engine *e, apool **pool, int64_t len, int mode,
                           double *out, size_t ld_out, mr_column_stats *cols, int *fatal,
                           mr_error *err)
{
    const unsigned T = e->opt.threads;
    if (T > 1 && len >= 2 * ARROW_MIN_CHUNK && !*pool) {
        mr_status st;
        *pool = pool_new(e, &st);
        if (st != MR_OK)
            return FAIL(MR_E_NOMEM, "out of memory");
    }
    if (T <= 1 || len < 2 * ARROW_MIN_CHUNK || !*pool) {
        const lane ln = { e->xblock, e->scratch, p->pf };
        return run_rows(p, e->plan, &ln, 0, len, mode, out, ld_out, cols, fatal, err);
    }
    apool *P = *pool;
    P->p = p;
    P->plan = e->plan;
    P->mode = mode;
    P->out = out;
    P->ld_out = ld_out;
    P->stop = INT64_MAX;
    /* a few chunks per worker, whole blocks, at least ARROW_MIN_CHUNK rows */
    int64_t chunk = len / (4 * (int64_t)T);
    chunk = chunk < ARROW_MIN_CHUNK ? ARROW_MIN_CHUNK : (chunk + MR_BLOCK - 1) / MR_BLOCK * MR_BLOCK;
    const uint64_t n_chunks = (uint64_t)((len + chunk - 1) / chunk);
    const uint64_t base = P->tickets, mask = P->slots - 1;
    mr_status first = MR_OK;
    int go = 1;
    uint64_t submitted = 0; /* chunk k is ticket base + k */
    for (uint64_t u = 0; u < submitted || (go && u < n_chunks); u++) {
        while (go && submitted < n_chunks && submitted < u + P->slots) {
            ajob *j = &P->jobs[(base + submitted) & mask];
            j->r0 = (int64_t)submitted * chunk;
            j->r1 = j->r0 + chunk < len ? j->r0 + chunk : len;
            j->cols = cols ? P->colbuf + ((base + submitted) & mask) * P->nf : NULL;
            mr_ordered_submit(P->q, base + submitted++);
        }
        mr_ordered_wait(P->q, base + u);
        const ajob *j = &P->jobs[(base + u) & mask];
        if (!go || j->skipped)
            continue;
        if (cols)
            add_counts(cols, j->cols, P->nf);
        if (j->st != MR_OK && first == MR_OK) {
            first = j->st;
            if (err)
                *err = j->err;
        }
        if (first != MR_OK && (!cols || j->fatal)) {
            *fatal = j->fatal;
            go = 0; /* wait for the chunks handed out, take nothing more from them */
        }
    }
    P->tickets = base + submitted;
    return first;
}

/* One batch through the engine: bound (checked against the schema), then
 * run; rows_done counts it. A batch that cannot be bound sets *fatal. */
static mr_status eval_batch(amap *p, mr_engine *e, apool **pool, const struct ArrowArray *b,
                            int mode, double *out, size_t ld_out, mr_column_stats *cols,
                            int *fatal, mr_error *err)
{
    *fatal = 0;
    const mr_status st = bind_batch(p, b, err);
    if (st != MR_OK) {
        *fatal = 1;
        return st;
    }
    const mr_status r = run_batch(p, e, pool, b->length, mode, out, ld_out, cols, fatal, err);
    p->rows_done += (uint64_t)b->length;
    return r;
}

static mr_status batch_call(mr_engine *e, const struct ArrowSchema *s,
                            const struct ArrowArray *b, int mode, double *out, size_t ld_out,
                            mr_column_stats *cols, mr_error *err)
{
    mr_err_clear(err);
    RETURN_IF(!e || !s || !b || (!out && mode != MR_MODE_CHECK), MR_E_INVAL, err, "NULL argument");
    if (mode == MR_MODE_DESIGN)
        RETURN_IF(ld_out < e->m->n_terms, MR_E_SHAPE, err,
                  "output leading dimension %zu is smaller than the model's %zu terms", ld_out,
                  e->m->n_terms);
    if (cols)
        memset(cols, 0, e->m->n_features * sizeof *cols);
    amap p;
    apool *pool = NULL;
    int fatal = 0;
    mr_status st = map_schema(&p, e, s, err);
    if (st == MR_OK)
        st = eval_batch(&p, e, &pool, b, mode, out, ld_out, cols, &fatal, err);
    pool_free(pool);
    map_free(&p);
    return st;
}

mr_status mr_arrow_predict(mr_engine *e, const struct ArrowSchema *schema,
                           const struct ArrowArray *batch, double *out, mr_error *err)
{
    return batch_call(e, schema, batch, MR_MODE_PREDICT, out, 1, NULL, err);
}

mr_status mr_arrow_design(mr_engine *e, const struct ArrowSchema *schema,
                          const struct ArrowArray *batch, double *out, size_t ld_out,
                          mr_error *err)
{
    return batch_call(e, schema, batch, MR_MODE_DESIGN, out, ld_out, NULL, err);
}

mr_status mr_arrow_validate(mr_engine *e, const struct ArrowSchema *schema,
                            const struct ArrowArray *batch, mr_column_stats *columns,
                            mr_error *err)
{
    return batch_call(e, schema, batch, MR_MODE_CHECK, NULL, 0, columns, err);
}

/* ---- streams ----------------------------------------------------------- */

static mr_status producer_error(struct ArrowArrayStream *in, const char *what, int rc,
                                uint64_t rows, mr_error *err)
{
    const char *why = in->get_last_error ? in->get_last_error(in) : NULL;
    char q[200];
    mr_err_quote(q, sizeof q, why ? why : "no message", why ? strlen(why) : 10);
    mr_status st = fail_col(err, MR_E_IO, rows + 1, NOCOL, NULL, "Arrow stream %s failed (%d, %s): %s",
                            what, rc, strerror(rc > 0 ? rc : EIO), q);
    if (err)
        err->sys_errno = rc > 0 ? rc : EIO;
    return st;
}

static void release_stream(struct ArrowArrayStream *in)
{
    if (in && in->release)
        in->release(in);
}

static mr_status open_stream(mr_engine *e, struct ArrowArrayStream *in, int mode, amap *p,
                             mr_error *err)
{
    mr_err_clear(err);
    RETURN_IF(!e || !in, MR_E_INVAL, err, "NULL argument");
    RETURN_IF(!in->release || !in->get_schema || !in->get_next, MR_E_INVAL, err,
              "Arrow stream is released or has no callbacks");
    RETURN_IF(mode != MR_MODE_PREDICT && mode != MR_MODE_DESIGN && mode != MR_MODE_CHECK,
              MR_E_INVAL, err, "mode %d: MR_MODE_PREDICT or MR_MODE_DESIGN", mode);
    struct ArrowSchema s;
    memset(&s, 0, sizeof s);
    const int rc = in->get_schema(in, &s);
    if (rc != 0) {
        memset(p, 0, sizeof *p);
        return producer_error(in, "get_schema", rc, 0, err);
    }
    const mr_status st = map_schema(p, e, &s, err);
    if (s.release)
        s.release(&s);
    if (st != MR_OK)
        map_free(p);
    return st;
}

mr_status mr_arrow_stream_collect(mr_engine *e, struct ArrowArrayStream *in, int mode,
                                  double **out, size_t *n_rows, mr_error *err)
{
    if (out)
        *out = NULL;
    if (n_rows)
        *n_rows = 0;
    if (!out || !n_rows) {
        release_stream(in);
        return mr_err_set(err, MR_E_INVAL, "NULL argument");
    }
    if (mode == MR_MODE_CHECK) {
        release_stream(in);
        return mr_err_set(err, MR_E_INVAL, "mode %d: MR_MODE_PREDICT or MR_MODE_DESIGN", mode);
    }
    amap p;
    apool *pool = NULL;
    int fatal = 0;
    mr_status st = open_stream(e, in, mode, &p, err);
    if (st != MR_OK) {
        release_stream(in);
        return st;
    }
    const size_t width = mode == MR_MODE_DESIGN ? (e->m->n_terms ? e->m->n_terms : 1) : 1;
    double *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        struct ArrowArray b;
        memset(&b, 0, sizeof b);
        const int rc = in->get_next(in, &b);
        if (rc != 0) {
            st = producer_error(in, "get_next", rc, p.rows_done, err);
            break;
        }
        if (!b.release)
            break; /* the end */
        if (b.length < 0 || (uint64_t)b.length > (SIZE_MAX / sizeof *buf) / width - n) {
            st = FAIL(MR_E_SHAPE, "Arrow batch of %" PRId64 " rows", b.length);
        } else if (n + (size_t)b.length > cap) {
            size_t nc = cap ? cap : 4096;
            while (nc < n + (size_t)b.length)
                nc = nc > (SIZE_MAX / sizeof *buf) / width / 2 ? n + (size_t)b.length : nc * 2;
            double *g = realloc(buf, nc * width * sizeof *buf);
            if (!g)
                st = FAIL(MR_E_NOMEM, "out of memory");
            else
                buf = g, cap = nc;
        }
        /* an empty batch too: its structure is checked all the same */
        if (st == MR_OK)
            st = eval_batch(&p, e, &pool, &b, mode, buf ? buf + n * width : NULL, width, NULL,
                            &fatal, err);
        if (st == MR_OK)
            n += (size_t)b.length;
        b.release(&b);
        if (st != MR_OK)
            break;
    }
    pool_free(pool);
    map_free(&p);
    release_stream(in);
    if (st != MR_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *n_rows = n;
    return MR_OK;
}

mr_status mr_arrow_stream_validate(mr_engine *e, struct ArrowArrayStream *in,
                                   mr_column_stats *columns, uint64_t *n_rows, mr_error *err)
{
    if (n_rows)
        *n_rows = 0;
    if (columns && e)
        memset(columns, 0, e->m->n_features * sizeof *columns);
    amap p;
    mr_status st = open_stream(e, in, MR_MODE_CHECK, &p, err);
    if (st != MR_OK) {
        release_stream(in);
        return st;
    }
    /* the first bad cell in row order, and the counts of every cell read: a
     * bad cell does not stop the stream, a malformed batch or cell or a
     * failing producer does (the error then is the first in row order of
     * all that was read) */
    apool *pool = NULL;
    mr_error first, cur;
    mr_err_clear(&first);
    for (;;) {
        struct ArrowArray b;
        memset(&b, 0, sizeof b);
        const int rc = in->get_next(in, &b);
        if (rc != 0) {
            producer_error(in, "get_next", rc, p.rows_done, &cur);
            if (first.status == MR_OK)
                first = cur;
            break;
        }
        if (!b.release)
            break; /* the end */
        int fatal = 0;
        st = eval_batch(&p, e, &pool, &b, MR_MODE_CHECK, NULL, 0, columns, &fatal, &cur);
        b.release(&b);
        if (st != MR_OK && first.status == MR_OK)
            first = cur;
        if (fatal)
            break;
    }
    if (n_rows)
        *n_rows = p.rows_done;
    pool_free(pool);
    map_free(&p);
    release_stream(in);
    if (err)
        *err = first;
    return first.status;
}

void mr_buffer_free(void *p)
{
    free(p);
}

/* ---- the exported stream of float64 batches ---------------------------- */

typedef struct xstream {
    mr_engine *e;
    struct ArrowArrayStream in;   /* moved in: ours to release */
    amap p;
    apool *pool;                  /* during one get_next */
    int mode;
    int failed;                   /* errno of a failed get_next: repeated after */
    char msg[600];
} xstream;

/* One float64 child: its buffers and values in one block, released alone. */
typedef struct xchild {
    const void *buffers[2];
    double v[];
} xchild;

static void child_release(struct ArrowArray *a)
{
    free(a->private_data);
    a->release = NULL;
}

/* The parent: children pointers and children themselves, released together
 * with those children not moved out. */
typedef struct xbatch {
    const void *buffers[1];
    struct ArrowArray **ptr;
    struct ArrowArray *kids;
} xbatch;

static void batch_release(struct ArrowArray *a)
{
    xbatch *x = a->private_data;
    for (int64_t i = 0; i < a->n_children; i++)
        if (x->kids[i].release)
            x->kids[i].release(&x->kids[i]);
    free(x->ptr);
    free(x->kids);
    free(x);
    a->release = NULL;
}

static void schema_child_release(struct ArrowSchema *s)
{
    free(s->private_data); /* the name */
    s->release = NULL;
}

typedef struct xschema {
    struct ArrowSchema **ptr;
    struct ArrowSchema *kids;
} xschema;

static void schema_release(struct ArrowSchema *s)
{
    xschema *x = s->private_data;
    for (int64_t i = 0; i < s->n_children; i++)
        if (x->kids[i].release)
            x->kids[i].release(&x->kids[i]);
    free(x->ptr);
    free(x->kids);
    free(x);
    s->release = NULL;
}

static size_t out_width(const xstream *x)
{
    return x->mode == MR_MODE_DESIGN ? x->e->m->n_terms : 1;
}

static int xs_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    xstream *x = st->private_data;
    const size_t k = out_width(x);
    memset(out, 0, sizeof *out);
    xschema *xs = calloc(1, sizeof *xs);
    if (xs) {
        xs->ptr = calloc(k ? k : 1, sizeof *xs->ptr);
        xs->kids = calloc(k ? k : 1, sizeof *xs->kids);
    }
    if (!xs || !xs->ptr || !xs->kids)
        goto nomem;
    out->format = "+s";
    out->name = "";
    out->n_children = (int64_t)k;
    out->children = xs->ptr;
    out->release = schema_release;
    out->private_data = xs;
    for (size_t i = 0; i < k; i++) {
        char *name = strdup(x->mode == MR_MODE_DESIGN ? x->e->m->term_names[i] : "prediction");
        if (!name) {
            out->n_children = (int64_t)i;
            schema_release(out);
            snprintf(x->msg, sizeof x->msg, "out of memory");
            return ENOMEM;
        }
        xs->ptr[i] = &xs->kids[i];
        xs->kids[i] = (struct ArrowSchema){ .format = "g", .name = name, .flags = ARROW_FLAG_NULLABLE,
                                            .release = schema_child_release, .private_data = name };
    }
    return 0;
nomem:
    if (xs) {
        free(xs->ptr);
        free(xs->kids);
    }
    free(xs);
    snprintf(x->msg, sizeof x->msg, "out of memory");
    return ENOMEM;
}

static int xs_fail(xstream *x, int code, const mr_error *err)
{
    if (err->row)
        snprintf(x->msg, sizeof x->msg, "%s: row %" PRIu64 "%s%s%s: %s", mr_strerror(err->status),
                 err->row, err->field[0] ? ", field \"" : "", err->field,
                 err->field[0] ? "\"" : "", err->text);
    else
        snprintf(x->msg, sizeof x->msg, "%s: %s", mr_strerror(err->status), err->text);
    x->failed = code;
    return code;
}

static int xs_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    xstream *x = st->private_data;
    memset(out, 0, sizeof *out);
    if (x->failed)
        return x->failed;
    struct ArrowArray b;
    memset(&b, 0, sizeof b);
    mr_error err;
    mr_err_clear(&err);
    const int rc = x->in.get_next(&x->in, &b);
    if (rc != 0) {
        producer_error(&x->in, "get_next", rc, x->p.rows_done, &err);
        return xs_fail(x, EIO, &err);
    }
    if (!b.release)
        return 0; /* the end: out stays released */
    const size_t k = out_width(x);
    const size_t n = b.length > 0 ? (size_t)b.length : 0;
    mr_status s = MR_OK;
    if (b.length < 0 || n > SIZE_MAX / sizeof(double) / (k ? k : 1) / 2)
        s = mr_err_set(&err, MR_E_SHAPE, "Arrow batch of %" PRId64 " rows", b.length);
    xbatch *xb = s == MR_OK ? calloc(1, sizeof *xb) : NULL;
    double *rows = NULL;
    if (s == MR_OK) {
        if (xb) {
            xb->ptr = calloc(k ? k : 1, sizeof *xb->ptr);
            xb->kids = calloc(k ? k : 1, sizeof *xb->kids);
        }
        rows = malloc((n ? n : 1) * (k ? k : 1) * sizeof *rows);
        if (!xb || !xb->ptr || !xb->kids || !rows)
            s = mr_err_set(&err, MR_E_NOMEM, "out of memory");
    }
    if (s == MR_OK) {
        int fatal = 0;
        s = eval_batch(&x->p, x->e, &x->pool, &b, x->mode, rows, k, NULL, &fatal, &err);
        pool_free(x->pool); /* threads only inside a call */
        x->pool = NULL;
    }
    b.release(&b);
    *out = (struct ArrowArray){ .length = (int64_t)n, .n_buffers = 1, .n_children = 0,
                                .buffers = xb ? xb->buffers : NULL,
                                .children = xb ? xb->ptr : NULL,
                                .release = batch_release, .private_data = xb };
    for (size_t i = 0; s == MR_OK && i < k; i++) {
        xchild *c = malloc(sizeof *c + (n ? n : 1) * sizeof(double));
        if (!c) {
            s = mr_err_set(&err, MR_E_NOMEM, "out of memory");
            break;
        }
        c->buffers[0] = NULL;
        c->buffers[1] = c->v;
        for (size_t r = 0; r < n; r++) /* design rows are row-major: one column each */
            c->v[r] = rows[r * k + i];
        xb->ptr[i] = &xb->kids[i];
        xb->kids[i] = (struct ArrowArray){ .length = (int64_t)n, .n_buffers = 2, .buffers = c->buffers,
                                           .release = child_release, .private_data = c };
        out->n_children = (int64_t)i + 1;
    }
    free(rows);
    if (s != MR_OK) {
        if (xb)
            batch_release(out);
        memset(out, 0, sizeof *out);
        return xs_fail(x, s == MR_E_NOMEM ? ENOMEM : EINVAL, &err);
    }
    return 0;
}

static const char *xs_last_error(struct ArrowArrayStream *st)
{
    const xstream *x = st->private_data;
    return x->msg[0] ? x->msg : NULL;
}

static void xs_release(struct ArrowArrayStream *st)
{
    xstream *x = st->private_data;
    release_stream(&x->in);
    map_free(&x->p);
    free(x);
    st->release = NULL;
}

mr_status mr_arrow_stream_export(mr_engine *e, struct ArrowArrayStream *in, int mode,
                                 struct ArrowArrayStream *out, mr_error *err)
{
    if (!out) {
        release_stream(in);
        return mr_err_set(err, MR_E_INVAL, "NULL argument");
    }
    memset(out, 0, sizeof *out);
    if (mode == MR_MODE_CHECK) {
        release_stream(in);
        return mr_err_set(err, MR_E_INVAL, "mode %d: MR_MODE_PREDICT or MR_MODE_DESIGN", mode);
    }
    xstream *x = calloc(1, sizeof *x);
    if (!x) {
        release_stream(in);
        return mr_err_set(err, MR_E_NOMEM, "out of memory");
    }
    const mr_status st = open_stream(e, in, mode, &x->p, err);
    if (st != MR_OK) {
        release_stream(in);
        free(x);
        return st;
    }
    x->e = e;
    x->mode = mode;
    x->in = *in; /* moved, as the specification allows */
    in->release = NULL;
    *out = (struct ArrowArrayStream){ .get_schema = xs_get_schema, .get_next = xs_get_next,
                                      .get_last_error = xs_last_error, .release = xs_release,
                                      .private_data = x };
    return MR_OK;
}
