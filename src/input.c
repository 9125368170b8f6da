/* input.c — the table of input formats. A new format is one file and one row. */
#include "input.h"

static const mr_input_format *const formats[] = {
    &mr_input_npy, /* probed first: a magic string */
    &mr_input_f64,
    &mr_input_csv, /* the default when nothing else matches */
};

const mr_input_format *mr_input_find(int fmt, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
        const mr_input_format *f = formats[i];
        if (fmt == f->fmt || (fmt == MR_FMT_AUTO && f->probe && f->probe(b, n)))
            return f;
    }
    return fmt == MR_FMT_AUTO ? &mr_input_csv : NULL;
}
