/* output.c — formatting values (CSV, .npy, raw f64) into a chunk's output
 * bytes, the output header (held back until the first chunk is written), and
 * the writes. Nothing here evaluates: values come from a backend. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "npy.h"
#include "numfmt.h"
#include "input.h"

static int needs_quotes(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            return 1;
    return 0;
}

/* Append s as one CSV output field (quoted when needed, RFC 4180). */
int mr_csv_put_field(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (mr_buf_grow(buf, cap, *len + 2 * n + 3) != 0)
        return -1;
    char *o = *buf + *len;
    if (!needs_quotes(s, n)) {
        memcpy(o, s, n);
        *len += n;
        return 0;
    }
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            *o++ = '"';
        *o++ = s[i];
    }
    *o++ = '"';
    *len = (size_t)(o - *buf);
    return 0;
}

static size_t put_value(char *o, double v, const char *na_out, size_t na_len)
{
    if (isnan(v)) {
        memcpy(o, na_out, na_len);
        return na_len;
    }
    return mr_format_double(v, o);
}

/* Append a block of values as output rows of the chunk (s->out): CSV text
 * with the block's kept fields in front, or raw float64 (.npy data). */
int mr_output_block(const mr_stream *r, mr_slot *s, const mr_worker *w, const mr_values *v)
{
    const size_t nvals = r->nvals, n = v->n;
    if (r->o->out_fmt != MR_FMT_CSV) {
        const size_t bytes = n * nvals * sizeof(double);
        if (mr_buf_grow(&s->out, &s->out_cap, s->out_len + bytes) != 0)
            return -1;
        if (bytes) /* a design of zero terms: s->out may still be NULL */
            memcpy(s->out + s->out_len, v->v, bytes);
        s->out_len += bytes;
        return 0;
    }
    const char *na = r->o->na_out ? r->o->na_out : "nan";
    const size_t na_len = strlen(na);
    const size_t per_val = (na_len > MR_FMT_MAX ? na_len : MR_FMT_MAX) + 1;
    for (size_t j = 0; j < n; j++) {
        const size_t row = v->row0 + j;
        const size_t kstart = r->nkeep && row ? w->keep_end[row - 1] : 0;
        size_t klen = r->nkeep ? w->keep_end[row] - kstart : 0;
        if (klen && !nvals) /* no values (a design of zero terms): no ',' after the kept fields */
            klen--;
        if (mr_buf_grow(&s->out, &s->out_cap, s->out_len + klen + nvals * per_val + 1) != 0)
            return -1;
        char *o = s->out + s->out_len;
        if (klen) {
            memcpy(o, w->keep + kstart, klen);
            o += klen;
        }
        for (size_t i = 0; i < nvals; i++) {
            if (i)
                *o++ = ',';
            o += put_value(o, v->v[j * nvals + i], na, na_len);
        }
        *o++ = '\n';
        s->out_len = (size_t)(o - s->out);
    }
    return 0;
}

/* A failed write names the output, not the input. */
static mr_status write_failed(const mr_stream *r, mr_error *err)
{
    const int e = errno;
    mr_err_clear(err);
    mr_err_set(err, MR_E_IO, "write error: %s", strerror(e));
    if (err) {
        err->sys_errno = e;
        mr_err_field(err->source, sizeof err->source, r->io->sink ? r->io->sink : "<output>");
    }
    return MR_E_IO;
}

mr_status mr_output_write_at(const mr_stream *r, mr_slot *s, uint64_t at)
{
    if (s->out_len && r->io->pwrite(r->io->write_cookie, s->out, s->out_len, at) != 0)
        return s->st = write_failed(r, &s->err);
    s->written = 1;
    return MR_OK;
}

mr_status mr_output_write(mr_stream *r, const void *buf, size_t len, mr_error *err)
{
    if (!len || r->o->mode == MR_MODE_CHECK)
        return MR_OK;
    if (r->io->write(r->io->write_cookie, buf, len) != 0)
        return write_failed(r, err);
    r->out_bytes += len;
    return MR_OK;
}

/* Keep the output header until the first chunk (or the end) is written. */
static mr_status hold_header(mr_stream *r, const void *buf, size_t len, mr_error *err)
{
    r->header = malloc(len ? len : 1);
    RETURN_IF(!r->header, MR_E_NOMEM, err, "out of memory");
    memcpy(r->header, buf, len);
    r->header_len = len;
    return MR_OK;
}

mr_status mr_output_flush_header(mr_stream *r, mr_error *err)
{
    if (!r->header)
        return MR_OK;
    const mr_status st = mr_output_write(r, r->header, r->header_len, err);
    free(r->header);
    r->header = NULL;
    return st;
}

/* predict: a vector (rows,); design: a matrix (rows, terms), also with no
 * terms (rows, 0) */
static size_t npy_header(const mr_stream *r, unsigned char *h, size_t cap, uint64_t rows)
{
    return r->o->mode == MR_MODE_DESIGN ? mr_npy_write_matrix_header(h, cap, rows, r->m->n_terms)
                                        : mr_npy_write_header(h, cap, rows, 0);
}

mr_status mr_output_header(mr_stream *r, mr_error *err)
{
    const mr_options *o = r->o;
    if (o->mode == MR_MODE_CHECK)
        return MR_OK;
    const size_t nvals = r->nvals;
    if (o->out_fmt == MR_FMT_NPY) {
        unsigned char h[256];
        r->npy_rows_known = r->in->fmt == MR_FMT_NPY;
        RETURN_IF(!r->npy_rows_known && !r->io->pwrite, MR_E_INVAL, err,
                  "npy output of unknown length needs a seekable output file (-o FILE) or .npy input");
        r->npy_header_len = npy_header(r, h, sizeof h, r->npy_rows_known ? r->npy_rows : 0);
        RETURN_IF(!r->npy_header_len, MR_E_INTERNAL, err, "npy header does not fit");
        return hold_header(r, h, r->npy_header_len, err);
    }
    if (o->out_fmt != MR_FMT_CSV || !o->out_header)
        return MR_OK;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int bad = mr_buf_grow(&buf, &cap, 64); /* a model without terms: "\n" alone */
    for (size_t k = 0; k < r->nkeep; k++) {
        bad |= mr_csv_put_field(&buf, &len, &cap, r->keep_names[k], strlen(r->keep_names[k]));
        bad |= mr_buf_grow(&buf, &cap, len + 2);
        if (!bad && (nvals || k + 1 < r->nkeep))
            buf[len++] = ',';
    }
    for (size_t i = 0; i < nvals && !bad; i++) {
        const char *name = o->mode == MR_MODE_DESIGN ? r->m->term_names[i] : "prediction";
        if (i)
            buf[len++] = ',';
        bad |= mr_csv_put_field(&buf, &len, &cap, name, strlen(name));
        bad |= mr_buf_grow(&buf, &cap, len + 2);
    }
    if (bad) {
        free(buf);
        return mr_err_set(err, MR_E_NOMEM, "out of memory");
    }
    buf[len++] = '\n';
    const mr_status st = hold_header(r, buf, len, err);
    free(buf);
    return st;
}

mr_status mr_output_finish(mr_stream *r, mr_error *err)
{
    if (r->o->out_fmt != MR_FMT_NPY || r->o->mode == MR_MODE_CHECK || r->npy_rows_known)
        return MR_OK;
    unsigned char h[256];
    const size_t hl = npy_header(r, h, sizeof h, r->rows_out);
    RETURN_IF(hl != r->npy_header_len, MR_E_INTERNAL, err, "npy header length changed");
    if (r->io->pwrite(r->io->write_cookie, h, hl, 0) != 0)
        return write_failed(r, err);
    return MR_OK;
}
