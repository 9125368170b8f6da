/* stream_internal.h — shared state of the streaming pipeline (stream.c) and
 * its parts: CSV input (input_csv.c), binary input (input_bin.c) and output
 * formatting (output.c). Private to the library. */
#ifndef MR_STREAM_INTERNAL_H
#define MR_STREAM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "csv_split.h"
#include "decode.h"
#include "engine.h"
#include "marsreplay.h"
#include "model.h"
#include "plan.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "binary input/output assumes a little-endian host"
#endif

#define READ_SIZE ((size_t)1 << 20)

typedef struct counters {
    uint64_t *missing;
    uint64_t *unknown;
    uint64_t *first_unknown_row;
    char (*first_unknown)[64];
} counters;

typedef struct slot {
    char *in;                /* the chunk's input bytes */
    size_t in_len, in_cap;
    uint64_t first_row;      /* data rows before this chunk */
    uint64_t first_line;     /* physical line of the chunk's first record (CSV) */
    size_t n_rows;           /* rows (binary input; CSV counts while parsing) */
    char *out;
    size_t out_len, out_cap;
    size_t rows_done;
    mr_status st;
    mr_error err;
    mr_status cut_st;        /* the reader's error right after this chunk's rows */
    mr_error cut_err;
    counters cnt;
} slot;

typedef struct work {
    double *x;               /* n_features x MR_BLOCK, column-wise */
    double *scratch;
    double *vals;            /* MR_BLOCK predictions or MR_BLOCK x n_terms design */
    mr_csv_fields fs;
    char *keep;              /* the block's kept fields, already CSV-formatted */
    size_t keep_len, keep_cap;
    size_t keep_end[MR_BLOCK];
    struct mr_ocl_work *dev; /* OpenCL state of this worker, or NULL (ocl_backend.h) */
} work;

typedef struct run {
    const mr_engine *e;
    const mr_model *m;
    const mr_options *o;
    const mr_io *io;
    const char *src;
    mr_decoder dec;
    int in_fmt;
    size_t chunk_rows;
    /* CSV */
    size_t ncols;
    size_t *feat_col;        /* feature → input field */
    size_t nkeep;
    size_t *keep_col;
    char **keep_names;
    /* binary */
    size_t cols;
    size_t itemsize;
    uint64_t npy_rows;       /* declared rows (npy); UINT64_MAX: until EOF */
    /* reader */
    char *rbuf;
    size_t rpos, rend, rcap;
    int eof;
    mr_csv_scanner scan;
    uint64_t lines;          /* physical lines consumed so far */
    uint64_t rows_read;
    uint64_t bytes_in;
    /* pipeline */
    size_t nslots;
    slot *slots;
    unsigned nwork;
    work *works;
    /* output */
    uint64_t out_bytes;
    uint64_t rows_out;
    uint64_t chunks;         /* chunks written */
    size_t npy_header_len;
    int npy_rows_known;
    char *header;            /* output header, written with the first chunk: a run */
    size_t header_len;       /* that fails in its first chunk writes nothing at all */
    struct mr_ocl_run *ocl;  /* the run's device state, or NULL (ocl_backend.h) */
} run;

/* stream.c: helpers shared by the parts */
int mr_buf_grow(char **buf, size_t *cap, size_t need);
mr_status mr_stream_read(run *r, char *dst, size_t cap, size_t *got, mr_error *err);
mr_status mr_stream_fill(run *r, size_t keep_from, size_t want, mr_error *err);
mr_status mr_stream_fail_at(run *r, mr_error *err, mr_status st, uint64_t line, uint64_t row,
                         uint32_t col, const char *field);
char **mr_split_list(const char *s, size_t *count);
void mr_free_list(char **v, size_t n);
void mr_stream_count_unknown(slot *s, size_t f, uint64_t row, const char *txt, size_t len);
void mr_stream_cell_error(run *r, slot *s, mr_cell code, size_t f, uint64_t line, uint64_t row,
                       uint32_t col, const char *txt, size_t len);

/* input_csv.c */
mr_status mr_csv_input_header(run *r, mr_error *err);
mr_status mr_csv_input_chunk(run *r, slot *s, mr_error *err);
void mr_csv_input_job(run *r, slot *s, work *w);

/* input_bin.c */
mr_status mr_bin_input_header(run *r, mr_error *err);
mr_status mr_bin_input_chunk(run *r, slot *s, mr_error *err);
void mr_bin_input_job(run *r, slot *s, work *w);

/* output.c */
/* Append s as one CSV output field (quoted when needed, RFC 4180). */
int mr_csv_put_field(char **buf, size_t *len, size_t *cap, const char *s, size_t n);
int mr_output_rows(run *r, slot *s, work *w, size_t n);
mr_status mr_output_header(run *r, mr_error *err);
mr_status mr_output_flush_header(run *r, mr_error *err);
mr_status mr_output_finish(run *r, mr_error *err);
mr_status mr_output_write(run *r, const void *buf, size_t len, mr_error *err);

#endif
