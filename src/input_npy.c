/* input_npy.c — NumPy .npy input: the magic, the header (npy.c), then
 * fixed-width rows (input_rows.c). */
#include <string.h>

#include "error.h"
#include "input.h"
#include "npy.h"

static int npy_probe(const unsigned char *b, size_t n)
{
    return n >= MR_NPY_MAGIC_LEN && memcmp(b, MR_NPY_MAGIC, MR_NPY_MAGIC_LEN) == 0;
}

static mr_status npy_header(mr_stream *r, mr_error *err)
{
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
    if (h.cols != r->m->n_features) {
        mr_err_set(err, MR_E_SHAPE, "npy array has %llu columns, the model has %zu features (in the model's order)",
                   (unsigned long long)h.cols, r->m->n_features);
        return mr_stream_fail_at(r, err, MR_E_SHAPE, 0, 0, 0, NULL);
    }
    r->cols = (size_t)h.cols;
    r->itemsize = h.dtype == MR_NPY_F64 ? 8 : 4;
    r->npy_rows = h.rows;
    r->rpos += h.header_bytes;
    if (r->cols == 0) { /* a model without features: rows still need a length */
        mr_err_set(err, MR_E_SHAPE, "binary input needs at least one column");
        return mr_stream_fail_at(r, err, MR_E_SHAPE, 0, 0, 0, NULL);
    }
    return MR_OK;
}

const mr_input_format mr_input_npy = {
    .name = "npy",
    .fmt = MR_FMT_NPY,
    .probe = npy_probe,
    .header = npy_header,
    .chunk_rows = mr_rows_chunk_rows,
    .cut = mr_rows_cut,
    .split = mr_rows_split,
    .fetch = mr_rows_fetch,
    .record_end = mr_rows_record_end,
    .piped_span = mr_rows_piped_span,
    .decode = mr_rows_decode,
};
