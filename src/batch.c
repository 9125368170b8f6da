/* batch.c — mr_predict_batch, mr_design_batch and mr_validate: strided views
 * of caller-owned doubles, decoded cell by cell as the pipeline decodes .npy
 * input (decode.c), so that a batch gives the CLI's bits for the same values.
 *
 * A batch is cut into blocks of MR_BLOCK rows; a block is gathered into the
 * engine's column-wise block, decoded in place column by column, then
 * evaluated. A column remembers its first bad row, so the error reported is
 * the first bad cell in row order, whatever the layout. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_clones.h"
#include "decode.h"
#include "engine.h"
#include "error.h"
#include "model.h"
#include "numfmt.h"
#include "transpose.h"

/* The first bad cell seen so far (row is 0-based; n_rows: none). */
typedef struct bad_cell {
    size_t row, col;
    mr_cell code;
    int bad_index; /* MR_CATEGORIES_INDEX: not a class index */
    double raw;
} bad_cell;

static mr_status check_batch(const mr_engine *e, const mr_batch *x, const void *out, mr_error *err)
{
    mr_err_clear(err);
    RETURN_IF(!e || !x || !out || (x->n_rows && !x->data), MR_E_INVAL, err, "NULL argument");
    RETURN_IF(x->categories != MR_CATEGORIES_LABEL && x->categories != MR_CATEGORIES_INDEX,
              MR_E_INVAL, err, "mr_batch.categories %d is not an mr_categories value",
              x->categories);
    for (size_t i = 0; i < sizeof x->reserved / sizeof x->reserved[0]; i++)
        RETURN_IF(x->reserved[i], MR_E_INVAL, err, "mr_batch.reserved[%zu] is not zero", i);
    RETURN_IF(x->n_cols != e->m->n_features, MR_E_SHAPE, err,
              "the batch has %zu columns, the model %zu features", x->n_cols, e->m->n_features);
    return MR_OK;
}

/* Rows [r0, r0 + n) of the batch into blk (feature f at blk[f * MR_STRIDE]). */
static void gather(const mr_batch *x, size_t r0, size_t n, double *blk)
{
    const size_t nf = x->n_cols;
    const double *base = x->data + (ptrdiff_t)r0 * x->row_stride;
    if (x->col_stride == 1 && x->row_stride >= (ptrdiff_t)nf) {
        mr_transpose_rows(base, (size_t)x->row_stride, nf, n, blk, MR_STRIDE);
        return;
    }
    for (size_t f = 0; f < nf; f++) {
        const double *src = base + (ptrdiff_t)f * x->col_stride;
        double *col = blk + f * MR_STRIDE;
        if (x->row_stride == 1) {
            memcpy(col, src, n * sizeof *col);
        } else {
            for (size_t j = 0; j < n; j++)
                col[j] = src[(ptrdiff_t)j * x->row_stride];
        }
    }
}

/* MR_CATEGORIES_INDEX: a whole number in [0, n_classes) stays; NaN is missing. */
static mr_cell decode_index(const mr_engine *e, size_t f, double raw, double *out, int *bad_index)
{
    if (isnan(raw)) {
        if (!e->m->allow_missing)
            return MR_CELL_MISSING_NOT_ALLOWED;
        *out = NAN;
        return MR_CELL_MISSING;
    }
    if (!(raw >= 0 && raw < (double)e->m->encoders[f]->n_classes && raw == floor(raw))) {
        *bad_index = 1;
        return MR_CELL_UNKNOWN_ERROR;
    }
    *out = raw + 0.0; /* -0.0 -> 0.0: the index the evaluator compares with */
    return MR_CELL_VALUE;
}

/* Decode column f of a gathered block in place. Counts into cs when given
 * (every cell); otherwise stops at the first bad cell. Updates *bad when this
 * column's first bad cell comes before it in row order. */
static void decode_column(const mr_engine *e, const mr_decoder *d, int categories, size_t f,
                          double *col, size_t r0, size_t n, mr_column_stats *cs, bad_cell *bad)
{
    const mr_encoder *enc = e->m->encoders ? e->m->encoders[f] : NULL;
    if (!enc && !cs) { /* numeric, nothing to count: the common case */
        if (!mr_any_nonfinite(col, n))
            return;
        if (e->m->allow_missing) {
            for (size_t j = 0; j < n; j++)
                col[j] = isnan(col[j]) ? NAN : col[j]; /* one NaN, as decode.c makes it */
            return;
        }
    }
    for (size_t j = 0; j < n; j++) {
        const double raw = col[j];
        int bad_index = 0;
        const mr_cell c = enc && categories == MR_CATEGORIES_INDEX
                              ? decode_index(e, f, raw, &col[j], &bad_index)
                              : mr_decode_binary(d, f, raw, &col[j]);
        if (c == MR_CELL_VALUE)
            continue;
        if (c == MR_CELL_MISSING || c == MR_CELL_MISSING_NOT_ALLOWED) {
            if (cs)
                cs->missing++;
        } else if ((c == MR_CELL_UNKNOWN || c == MR_CELL_UNKNOWN_ERROR) && !bad_index && cs) {
            if (cs->unknown++ == 0) {
                cs->first_unknown_row = r0 + j + 1;
                char t[32];
                const size_t tl = mr_format_double(raw, t);
                memcpy(cs->first_unknown, t, tl < sizeof cs->first_unknown ? tl : sizeof cs->first_unknown - 1);
            }
        }
        if (c == MR_CELL_MISSING || c == MR_CELL_UNKNOWN)
            continue;
        if (r0 + j < bad->row || (r0 + j == bad->row && f < bad->col))
            *bad = (bad_cell){ r0 + j, f, c, bad_index, raw };
        if (!cs)
            return;
    }
}

static mr_status bad_cell_error(const mr_engine *e, const bad_cell *b, mr_error *err)
{
    char t[32], q[96];
    mr_err_quote(q, sizeof q, t, mr_format_double(b->raw, t));
    mr_status st;
    if (b->bad_index)
        st = mr_err_set(err, MR_E_DATA, "not a class index of this categorical feature (\"%s\"; "
                        "expected a whole number from 0 to %zu)", q,
                        e->m->encoders[b->col]->n_classes - 1);
    else if (b->code == MR_CELL_MISSING_NOT_ALLOWED)
        st = mr_err_set(err, MR_E_DATA, "missing value (\"%s\") but the model does not allow "
                        "missing values (params.allow_missing is false)", q);
    else if (b->code == MR_CELL_INF_NOT_ALLOWED)
        st = mr_err_set(err, MR_E_DATA, "infinite value (\"%s\") but the model does not allow "
                        "missing or infinite values (params.allow_missing is false)", q);
    else
        st = mr_err_set(err, MR_E_DATA, "unknown categorical level (\"%s\") with "
                        "MR_UNKNOWN_ERROR", q);
    if (err) {
        err->row = b->row + 1;
        err->column = (uint32_t)(b->col + 1);
        mr_err_field(err->field, sizeof err->field, e->m->feature_names[b->col]);
    }
    return st;
}

/* Gather and decode rows [r0, r0 + n) into e->xblock. 0, or -1 with *bad set. */
static int decode_block(mr_engine *e, const mr_batch *x, size_t r0, size_t n,
                        mr_column_stats *cols, bad_cell *bad)
{
    const mr_decoder d = { .m = e->m, .unknown_mode = e->opt.unknown };
    gather(x, r0, n, e->xblock);
    for (size_t f = 0; f < x->n_cols; f++)
        decode_column(e, &d, x->categories, f, e->xblock + f * MR_STRIDE, r0, n,
                      cols ? &cols[f] : NULL, bad);
    return bad->row < x->n_rows ? -1 : 0;
}

mr_status mr_predict_batch(mr_engine *e, const mr_batch *x, double *out, mr_error *err)
{
    FORWARD_IF(check_batch(e, x, out, err));
    bad_cell bad = { .row = x->n_rows };
    for (size_t r0 = 0; r0 < x->n_rows; r0 += MR_BLOCK) {
        const size_t n = x->n_rows - r0 < MR_BLOCK ? x->n_rows - r0 : MR_BLOCK;
        if (decode_block(e, x, r0, n, NULL, &bad) != 0) {
            for (size_t r = 0; r < x->n_rows; r++)
                out[r] = NAN;
            return bad_cell_error(e, &bad, err);
        }
        mr_eval_predict(e->plan, e->xblock, MR_STRIDE, n, e->scratch, out + r0, NULL, 0);
    }
    return MR_OK;
}

static void fill_nan(double *out, size_t rows, size_t cols, ptrdiff_t rs, ptrdiff_t cs)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < cols; i++)
            out[(ptrdiff_t)r * rs + (ptrdiff_t)i * cs] = NAN;
}

mr_status mr_design_batch(mr_engine *e, const mr_batch *x, double *out, ptrdiff_t out_row_stride,
                          ptrdiff_t out_col_stride, mr_error *err)
{
    FORWARD_IF(check_batch(e, x, out, err));
    const size_t nt = e->m->n_terms;
    /* row-major output with room for every term: evaluated in place; else through tmp */
    const int direct = out_col_stride == 1 && out_row_stride >= (ptrdiff_t)nt;
    double *tmp = NULL;
    if (!direct && x->n_rows && nt) {
        tmp = malloc(MR_BLOCK * nt * sizeof *tmp);
        RETURN_IF(!tmp, MR_E_NOMEM, err, "out of memory");
    }
    bad_cell bad = { .row = x->n_rows };
    for (size_t r0 = 0; r0 < x->n_rows; r0 += MR_BLOCK) {
        const size_t n = x->n_rows - r0 < MR_BLOCK ? x->n_rows - r0 : MR_BLOCK;
        if (decode_block(e, x, r0, n, NULL, &bad) != 0) {
            free(tmp);
            fill_nan(out, x->n_rows, nt, out_row_stride, out_col_stride);
            return bad_cell_error(e, &bad, err);
        }
        double *o = out + (ptrdiff_t)r0 * out_row_stride;
        if (direct) {
            mr_eval_design(e->plan, e->xblock, MR_STRIDE, n, e->scratch, o, (size_t)out_row_stride);
        } else if (nt) {
            mr_eval_design(e->plan, e->xblock, MR_STRIDE, n, e->scratch, tmp, nt);
            for (size_t j = 0; j < n; j++)
                for (size_t i = 0; i < nt; i++)
                    o[(ptrdiff_t)j * out_row_stride + (ptrdiff_t)i * out_col_stride] = tmp[j * nt + i];
        }
    }
    free(tmp);
    return MR_OK;
}

mr_status mr_validate(mr_engine *e, const mr_batch *x, mr_column_stats *columns, mr_error *err)
{
    FORWARD_IF(check_batch(e, x, x, err));
    if (columns)
        memset(columns, 0, x->n_cols * sizeof *columns);
    bad_cell bad = { .row = x->n_rows };
    for (size_t r0 = 0; r0 < x->n_rows; r0 += MR_BLOCK) {
        const size_t n = x->n_rows - r0 < MR_BLOCK ? x->n_rows - r0 : MR_BLOCK;
        /* with counts to fill, every block; else up to the first bad cell */
        if (decode_block(e, x, r0, n, columns, &bad) != 0 && !columns)
            break;
    }
    return bad.row < x->n_rows ? bad_cell_error(e, &bad, err) : MR_OK;
}
