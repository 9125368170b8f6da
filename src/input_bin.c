/* input_bin.c — binary input: .npy header and raw float64 rows, cut into
 * chunks of whole rows and decoded by the workers. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_clones.h"
#include "error.h"
#include "npy.h"
#include "numfmt.h"
#include "stream_internal.h"
#include "transpose.h"

mr_status mr_bin_input_header(run *r, mr_error *err)
{
    const mr_model *m = r->m;
    if (r->in_fmt == MR_FMT_NPY) {
        mr_npy_header h;
        for (;;) {
            size_t need = 0;
            const mr_status st = mr_npy_parse_header((const unsigned char *)r->rbuf + r->rpos,
                                                     r->rend - r->rpos, &h, &need, err);
            if (st == MR_OK)
                break;
            if (st != MR_AGAIN || r->eof) {
                if (st == MR_AGAIN)
                    mr_err_set(err, MR_E_PARSE, "npy header: truncated");
                return mr_stream_fail_at(r, err, MR_E_PARSE, 0, 0, 0, NULL);
            }
            if (need > ((size_t)1 << 24)) {
                mr_err_set(err, MR_E_PARSE, "npy header: declared length %zu is too large", need);
                return mr_stream_fail_at(r, err, MR_E_PARSE, 0, 0, 0, NULL);
            }
            FORWARD_IF(mr_stream_fill(r, r->rpos, need > r->rend - r->rpos ? need : r->rend - r->rpos + 4096, err));
        }
        if (h.cols != m->n_features) {
            mr_err_set(err, MR_E_SHAPE, "npy array has %llu columns, the model has %zu features (in the model's order)",
                       (unsigned long long)h.cols, m->n_features);
            return mr_stream_fail_at(r, err, MR_E_SHAPE, 0, 0, 0, NULL);
        }
        r->cols = (size_t)h.cols;
        r->itemsize = h.dtype == MR_NPY_F64 ? 8 : 4;
        r->npy_rows = h.rows;
        r->rpos += h.header_bytes;
    } else {
        r->cols = r->o->cols ? r->o->cols : m->n_features;
        if (r->cols != m->n_features) {
            mr_err_set(err, MR_E_SHAPE, "raw f64 input has %zu columns, the model has %zu features", r->cols, m->n_features);
            return mr_stream_fail_at(r, err, MR_E_SHAPE, 0, 0, 0, NULL);
        }
        r->itemsize = 8;
        r->npy_rows = UINT64_MAX;
    }
    if (r->cols == 0) { /* a model without features: rows still need a length */
        mr_err_set(err, MR_E_SHAPE, "binary input needs at least one column");
        return mr_stream_fail_at(r, err, MR_E_SHAPE, 0, 0, 0, NULL);
    }
    return MR_OK;
}

mr_status mr_bin_input_chunk(run *r, slot *s, mr_error *err)
{
    const size_t rowbytes = r->cols * r->itemsize;
    s->n_rows = 0; /* on an error below, n_rows counts the whole rows before it */
    uint64_t want_rows = r->chunk_rows;
    if (r->npy_rows != UINT64_MAX && r->npy_rows - r->rows_read < want_rows)
        want_rows = r->npy_rows - r->rows_read;
    const size_t want = (size_t)want_rows * rowbytes;
    if (mr_buf_grow(&s->in, &s->in_cap, want + 1) != 0)
        return mr_err_set(err, MR_E_NOMEM, "out of memory");
    /* bytes already buffered first, then straight into the slot */
    size_t have = r->rend - r->rpos < want ? r->rend - r->rpos : want;
    memcpy(s->in, r->rbuf + r->rpos, have);
    r->rpos += have;
    if (have < want && !r->eof) {
        size_t got;
        FORWARD_IF(mr_stream_read(r, s->in + have, want - have, &got, err));
        have += got;
    }
    s->in_len = have;
    s->first_row = r->rows_read;
    s->first_line = 0;
    s->n_rows = have / rowbytes;
    if (have % rowbytes) {
        mr_err_set(err, MR_E_PARSE, "truncated input: %zu bytes after the last whole row of %zu bytes",
                   have % rowbytes, rowbytes);
        return mr_stream_fail_at(r, err, MR_E_PARSE, 0, r->rows_read + s->n_rows + 1, 0, NULL);
    }
    r->rows_read += s->n_rows;
    if (r->npy_rows != UINT64_MAX && s->n_rows < want_rows) {
        mr_err_set(err, MR_E_PARSE, "truncated npy data: the header declares %llu rows, the file holds %llu",
                   (unsigned long long)r->npy_rows, (unsigned long long)r->rows_read);
        return mr_stream_fail_at(r, err, MR_E_PARSE, 0, r->rows_read + 1, 0, NULL);
    }
    if (r->npy_rows != UINT64_MAX && r->rows_read == r->npy_rows && s->n_rows == 0) {
        /* all declared rows read: anything after them is not ours to ignore */
        FORWARD_IF(mr_stream_fill(r, r->rpos, 1, err));
        if (r->rend > r->rpos) {
            mr_err_set(err, MR_E_PARSE, "trailing bytes after the %llu rows the npy header declares",
                       (unsigned long long)r->npy_rows);
            return mr_stream_fail_at(r, err, MR_E_PARSE, 0, r->rows_read + 1, 0, NULL);
        }
    }
    return MR_OK;
}

/* Rows [from, n_rows) of the chunk, cell by cell: any dtype, categorical
 * features, and the exact first bad cell in row order. */
static void slow_rows(run *r, slot *s, work *w, size_t from)
{
    const size_t nf = r->m->n_features;
    size_t nb = 0;
    for (size_t i = from; i < s->n_rows; i++) {
        const uint64_t row = s->first_row + i + 1;
        const char *rowp = s->in + i * nf * r->itemsize;
        for (size_t f = 0; f < nf; f++) {
            double v;
            if (r->itemsize == 8) {
                memcpy(&v, rowp + f * 8, 8);
            } else {
                float fv;
                memcpy(&fv, rowp + f * 4, 4);
                v = (double)fv;
            }
            double *x = &w->x[f * MR_STRIDE + nb];
            const mr_cell c = mr_decode_binary(&r->dec, f, v, x);
            if (c == MR_CELL_VALUE)
                continue;
            if (c == MR_CELL_MISSING) {
                s->cnt.missing[f]++;
            } else if (c == MR_CELL_UNKNOWN) {
                char t[32];
                const size_t tl = mr_format_double(v, t);
                mr_stream_count_unknown(s, f, row, t, tl);
            } else {
                char t[32];
                const size_t tl = mr_format_double(v, t);
                mr_stream_cell_error(r, s, c, f, 0, row, (uint32_t)(f + 1), t, tl);
                return;
            }
        }
        if (++nb == MR_BLOCK || i + 1 == s->n_rows) {
            if (mr_output_rows(r, s, w, nb) != 0) {
                s->st = mr_err_set(&s->err, MR_E_NOMEM, "out of memory");
                return;
            }
            nb = 0;
        }
    }
    s->rows_done = s->n_rows;
}

/* Decode the numeric columns of a transposed float64 block in place, on the
 * bits so that the loops vectorise: a value is non-finite when every exponent
 * bit is set, and a NaN when its magnitude bits exceed that. With
 * allow_missing false any non-finite value is an error: returns 0 and changes
 * nothing. Otherwise each NaN becomes the canonical NaN (as mr_decode_binary
 * makes it) and is counted in missing[f]; returns 1. */
MR_CLONES static int decode_numeric_block(double *blk, size_t nf, size_t n, int allow_missing,
                                          uint64_t *missing)
{
    const int64_t exp = 0x7ff0000000000000, abs = 0x7fffffffffffffff;
    if (!allow_missing) {
        for (size_t f = 0; f < nf; f++) {
            const double *x = &blk[f * MR_STRIDE];
            int64_t bad = 0;
            for (size_t j = 0; j < n; j++) {
                int64_t u;
                memcpy(&u, &x[j], sizeof u);
                bad |= (u & exp) == exp;
            }
            if (bad)
                return 0;
        }
        return 1;
    }
    const double nan_value = NAN;
    int64_t canonical;
    memcpy(&canonical, &nan_value, sizeof canonical);
    for (size_t f = 0; f < nf; f++) {
        double *x = &blk[f * MR_STRIDE];
        int64_t nans = 0;
        for (size_t j = 0; j < n; j++) {
            int64_t u;
            memcpy(&u, &x[j], sizeof u);
            const int64_t nan = (u & abs) > exp;
            nans += nan;
            u = nan ? canonical : u;
            memcpy(&x[j], &u, sizeof u);
        }
        missing[f] += (uint64_t)nans;
    }
    return 1;
}

/* The fast path for float64 rows of a model without categorical features: a
 * block transposed into the evaluators' column layout, then decoded column by
 * column. A block with a value that is not allowed returns 0 with nothing
 * counted, so that slow_rows redoes it and reports the first bad cell in row
 * order, exactly as for any other input. */
static int fast_block(const run *r, slot *s, work *w, const char *rows, size_t n)
{
    const size_t nf = r->m->n_features;
    if (((uintptr_t)rows & 7) != 0)
        return 0; /* the slot buffer is malloc'ed: never, but stay defined */
    mr_transpose_rows((const double *)(const void *)rows, nf, nf, n, w->x, MR_STRIDE);
    return decode_numeric_block(w->x, nf, n, r->m->allow_missing, s->cnt.missing);
}

void mr_bin_input_job(run *r, slot *s, work *w)
{
    size_t i = 0;
    int numeric = r->itemsize == 8;
    for (size_t f = 0; numeric && r->m->encoders && f < r->m->n_features; f++)
        numeric = r->m->encoders[f] == NULL;
    if (numeric) {
        const size_t rowbytes = r->m->n_features * 8;
        for (; i < s->n_rows; i += MR_BLOCK) {
            const size_t n = s->n_rows - i < MR_BLOCK ? s->n_rows - i : MR_BLOCK;
            if (!fast_block(r, s, w, s->in + i * rowbytes, n))
                break;
            if (mr_output_rows(r, s, w, n) != 0) {
                s->st = mr_err_set(&s->err, MR_E_NOMEM, "out of memory");
                return;
            }
        }
        if (i >= s->n_rows) {
            s->rows_done = s->n_rows;
            return;
        }
    }
    slow_rows(r, s, w, i);
}
