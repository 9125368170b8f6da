/* input_f64.c — raw little-endian float64 rows (no header; --cols or the
 * model's feature count), then fixed-width rows (input_rows.c). */
#include <stdint.h>

#include "error.h"
#include "input.h"

static mr_status f64_header(mr_stream *r, mr_error *err)
{
    r->cols = r->o->cols ? r->o->cols : r->m->n_features;
    if (r->cols != r->m->n_features) {
        mr_err_set(err, MR_E_SHAPE, "raw f64 input has %zu columns, the model has %zu features", r->cols,
                   r->m->n_features);
        return mr_stream_fail_at(r, err, MR_E_SHAPE, 0, 0, 0, NULL);
    }
    r->itemsize = 8;
    r->npy_rows = UINT64_MAX;
    if (r->cols == 0) { /* a model without features: rows still need a length */
        mr_err_set(err, MR_E_SHAPE, "binary input needs at least one column");
        return mr_stream_fail_at(r, err, MR_E_SHAPE, 0, 0, 0, NULL);
    }
    return MR_OK;
}

const mr_input_format mr_input_f64 = {
    .name = "f64",
    .fmt = MR_FMT_F64,
    .probe = NULL, /* raw floats may start with any bytes: only when asked for */
    .header = f64_header,
    .chunk_rows = mr_rows_chunk_rows,
    .cut = mr_rows_cut,
    .split = mr_rows_split,
    .fetch = mr_rows_fetch,
    .record_end = mr_rows_record_end,
    .piped_span = mr_rows_piped_span,
    .decode = mr_rows_decode,
};
