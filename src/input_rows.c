/* input_rows.c — fixed-width float rows (.npy data and raw float64): cutting
 * or fetching chunks of whole rows, and decoding a block of them. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_clones.h"
#include "error.h"
#include "input.h"
#include "numfmt.h"
#include "transpose.h"

size_t mr_rows_chunk_rows(const mr_stream *r)
{
    const size_t rows = r->cols <= 32 ? 8192 : 262144 / r->cols;
    return rows < 64 ? 64 : rows;
}

static mr_status truncated_rows(const mr_stream *r, mr_error *err, size_t extra, uint64_t rows)
{
    mr_err_set(err, MR_E_PARSE, "truncated input: %zu bytes after the last whole row of %zu bytes", extra,
               r->cols * r->itemsize);
    return mr_stream_fail_at(r, err, MR_E_PARSE, 0, rows + 1, 0, NULL);
}

static mr_status truncated_npy(const mr_stream *r, mr_error *err, uint64_t rows)
{
    mr_err_set(err, MR_E_PARSE, "truncated npy data: the header declares %llu rows, the file holds %llu",
               (unsigned long long)r->npy_rows, (unsigned long long)rows);
    return mr_stream_fail_at(r, err, MR_E_PARSE, 0, rows + 1, 0, NULL);
}

static mr_status trailing_npy(const mr_stream *r, mr_error *err)
{
    mr_err_set(err, MR_E_PARSE, "trailing bytes after the %llu rows the npy header declares",
               (unsigned long long)r->npy_rows);
    return mr_stream_fail_at(r, err, MR_E_PARSE, 0, r->npy_rows + 1, 0, NULL);
}

mr_status mr_rows_cut(mr_stream *r, mr_slot *s, mr_error *err)
{
    const size_t rowbytes = r->cols * r->itemsize;
    s->n_rows = 0; /* on an error below, n_rows counts the whole rows before it */
    s->in_off = 0;
    s->n_lines = 0;
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
    s->n_rows = have / rowbytes;
    if (have % rowbytes)
        return truncated_rows(r, err, have % rowbytes, r->rows_read + s->n_rows);
    r->rows_read += s->n_rows;
    if (r->npy_rows != UINT64_MAX && s->n_rows < want_rows)
        return truncated_npy(r, err, r->rows_read);
    if (r->npy_rows != UINT64_MAX && r->rows_read == r->npy_rows && s->n_rows == 0) {
        /* all declared rows read: anything after them is not ours to ignore */
        FORWARD_IF(mr_stream_fill(r, r->rpos, 1, err));
        if (r->rend > r->rpos)
            return trailing_npy(r, err);
    }
    return MR_OK;
}

/* Split mode: whole rows by index; the size snapshot decides, up front, the
 * error that comes after the last whole row (as stream mode meets it). */
mr_status mr_rows_split(mr_stream *r, mr_error *err)
{
    (void)err;
    const uint64_t rowbytes = (uint64_t)r->cols * r->itemsize, bytes = r->io->size - r->data_start;
    uint64_t rows = bytes / rowbytes;
    const size_t extra = (size_t)(bytes % rowbytes);
    r->tail_st = MR_OK;
    if (r->npy_rows != UINT64_MAX && rows >= r->npy_rows) {
        rows = r->npy_rows;
        if (bytes > rows * rowbytes)
            r->tail_st = trailing_npy(r, &r->tail_err);
    } else if (extra) {
        r->tail_st = truncated_rows(r, &r->tail_err, extra, rows);
    } else if (r->npy_rows != UINT64_MAX) {
        r->tail_st = truncated_npy(r, &r->tail_err, rows);
    }
    r->data_rows = rows;
    r->n_chunks = (rows + r->chunk_rows - 1) / r->chunk_rows;
    /* stream mode meets a shortage inside the last chunk, when it is short */
    r->tail_in_last = r->tail_st != MR_OK && rows % r->chunk_rows != 0 &&
                      (r->npy_rows == UINT64_MAX || rows < r->npy_rows);
    return MR_OK;
}

/* Piped mode: rows end where their offset from data_start is a multiple
 * of the row width, so a worker finds them without its tail. */
size_t mr_rows_record_end(const mr_stream *r, const char *p, size_t n, uint64_t at)
{
    (void)p;
    const uint64_t rowbytes = (uint64_t)r->cols * r->itemsize, v = at - r->data_start + n;
    const uint64_t e = v - v % rowbytes;
    return e > at - r->data_start ? (size_t)(e - (at - r->data_start)) : 0;
}

/* Piped mode: the chunk's rows are bytes [at, at + n); the errors of
 * mr_rows_split, found by the chunk they fall in. Rows past a declared
 * count are never decoded: trailing bytes (row count + 1) fail the chunk
 * that holds them; a short input fails the last one. */
size_t mr_rows_piped_span(const mr_stream *r, mr_slot *s, uint64_t at, size_t n, int last)
{
    const uint64_t rowbytes = (uint64_t)r->cols * r->itemsize, lo = at - r->data_start, hi = lo + n;
    const uint64_t first = lo / rowbytes; /* a chunk starts on a row: its tail came with it */
    uint64_t rows = n / rowbytes;
    if (r->npy_rows != UINT64_MAX && hi > r->npy_rows * rowbytes) {
        rows = first < r->npy_rows ? r->npy_rows - first : 0;
        s->cut_st = trailing_npy(r, &s->cut_err);
    } else if (last && n % rowbytes) {
        s->cut_st = truncated_rows(r, &s->cut_err, (size_t)(n % rowbytes), first + rows);
    } else if (last && r->npy_rows != UINT64_MAX && first + rows < r->npy_rows) {
        s->cut_st = truncated_npy(r, &s->cut_err, first + rows);
    }
    return (size_t)(rows * rowbytes);
}

void mr_rows_fetch(const mr_stream *r, mr_slot *s, mr_worker *w)
{
    (void)w;
    const uint64_t rowbytes = (uint64_t)r->cols * r->itemsize, lo = s->ticket * r->chunk_rows;
    const uint64_t n = r->data_rows - lo < r->chunk_rows ? r->data_rows - lo : r->chunk_rows;
    const size_t bytes = (size_t)(n * rowbytes);
    s->in_off = 0;
    s->in_len = 0;
    s->n_lines = 0;
    s->in_bytes = bytes;
    size_t got;
    if (mr_buf_grow(&s->in, &s->in_cap, bytes + 1) != 0) {
        s->st = mr_err_set(&s->err, MR_E_NOMEM, "out of memory");
        return;
    }
    s->st = mr_stream_read_at(r, s->in, bytes, r->data_start + lo * rowbytes, &got, &s->err);
    if (s->st == MR_OK)
        s->in_len = bytes;
}

/* Rows [row0, row0 + n) of the chunk, cell by cell: any dtype, categorical
 * features, and the exact first bad cell in row order. */
static size_t slow_block(const mr_stream *r, mr_slot *s, mr_worker *w, size_t row0, size_t n)
{
    const size_t nf = r->m->n_features;
    for (size_t j = 0; j < n; j++) {
        const uint64_t row = row0 + j + 1;
        const char *rowp = s->in + s->in_off + (row0 + j) * nf * r->itemsize;
        for (size_t f = 0; f < nf; f++) {
            double v;
            if (r->itemsize == 8) {
                memcpy(&v, rowp + f * 8, 8);
            } else {
                float fv;
                memcpy(&fv, rowp + f * 4, 4);
                v = (double)fv;
            }
            const mr_cell c = mr_decode_binary(&r->dec, f, v, &w->x[f * MR_STRIDE + j]);
            if (c == MR_CELL_VALUE)
                continue;
            char t[32];
            const size_t tl = mr_format_double(v, t);
            if (c == MR_CELL_MISSING) {
                s->cnt.missing[f]++;
            } else if (c == MR_CELL_UNKNOWN) {
                mr_stream_count_unknown(s, f, row, t, tl);
            } else {
                mr_stream_cell_error(r, s, c, f, 0, row, (uint32_t)(f + 1), t, tl);
                return 0;
            }
        }
    }
    return n;
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
 * counted, so that slow_block redoes it and reports the first bad cell in row
 * order, exactly as for any other input. */
static int fast_block(const mr_stream *r, mr_slot *s, mr_worker *w, size_t row0, size_t n)
{
    const size_t nf = r->m->n_features;
    const char *rows = s->in + s->in_off + row0 * nf * 8;
    if (r->itemsize != 8 || ((uintptr_t)rows & 7) != 0)
        return 0; /* the slot buffer is malloc'ed: never misaligned, but stay defined */
    for (size_t f = 0; r->m->encoders && f < nf; f++)
        if (r->m->encoders[f])
            return 0;
    mr_transpose_rows((const double *)(const void *)rows, nf, nf, n, w->x, MR_STRIDE);
    return decode_numeric_block(w->x, nf, n, r->m->allow_missing, s->cnt.missing);
}

size_t mr_rows_decode(const mr_stream *r, mr_slot *s, mr_worker *w, size_t row0)
{
    const size_t rows = (s->in_len - s->in_off) / (r->cols * r->itemsize);
    if (row0 >= rows)
        return 0;
    const size_t n = rows - row0 < MR_BLOCK ? rows - row0 : MR_BLOCK;
    if (fast_block(r, s, w, row0, n))
        return n;
    return slow_block(r, s, w, row0, n);
}
