/* pipeline.h — the streaming pipeline's shared types (private to the library).
 *
 * Data flows one way, and only stream.c loops over chunks and blocks:
 *
 *   input format (input.h)   header; chunks of whole records, cut by the calling
 *                            thread (a pipe) or fetched by the workers themselves
 *                            (a file: mr_io.read_at); decode one block at a time
 *   backend (backend.h)      evaluates decoded blocks: at once (CPU) or later (device)
 *   output.c                 formats the values into the chunk's output bytes
 *   stream.c                 writes finished chunks strictly in ticket order
 *
 * No module calls back up this chain. A chunk's row and line numbers are
 * counted from its own start while a worker holds it; the writer, which sees
 * chunks in order, adds what came before (mr_slot.err, cnt.first_unknown_row). */
#ifndef MR_PIPELINE_H
#define MR_PIPELINE_H

#include <pthread.h>
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

#define MR_READ_SIZE ((size_t)1 << 20)
#define MR_DEFAULT_CHUNK_BYTES ((uint64_t)1 << 20) /* split CSV: raw bytes per chunk */

struct mr_input_format;
struct mr_backend_ops;

typedef struct mr_counters {
    uint64_t *missing;
    uint64_t *unknown;
    uint64_t *first_unknown_row; /* chunk-local until the writer drains the chunk */
    char (*first_unknown)[64];
} mr_counters;

typedef struct mr_slot {
    uint64_t ticket;          /* chunk number */
    /* the chunk's input: cut by the calling thread, or fetched by its worker */
    char *in;
    size_t in_off, in_len;    /* its records are in[in_off, in_len) */
    size_t in_cap;
    size_t n_rows;            /* stream mode: rows cut (CSV cut by bytes: 1 when it holds
                                 any, the job counts them); after the job: rows decoded */
    uint64_t n_lines;         /* physical lines its records span (CSV) */
    uint64_t in_bytes;        /* input bytes it accounts for (progress, stats) */
    uint64_t in_end;          /* stream mode: input offset right after its records */
    int parity;               /* split CSV: quote parity assumed at the chunk's anchor */
    int range_parity;         /* split CSV: '"' bytes of its counted range, mod 2 */
    /* the job's result */
    char *out;
    size_t out_len, out_cap;
    mr_status st;
    mr_error err;             /* rows and lines chunk-local */
    mr_status cut_st;         /* the cutter's error right after this chunk's rows */
    mr_error cut_err;         /* (global positions: the cutter knows them) */
    mr_counters cnt;
    double cpu;               /* CPU seconds of the job */
    int written;              /* the job wrote its output itself (mr_stream.direct) */
    int unterminated;         /* its last record has no line end (the input's last) */
    /* piped mode (pipe_feed.c): a raw block, cut by its worker */
    int fed;                  /* its block is still to be taken (calling thread sets it) */
    int feed_fd;              /* the read end of the pipe it comes through */
    size_t raw_len;
    uint64_t raw_off;         /* the input offset of its first byte */
    int last;                 /* the input's last block */
    int cut_open;             /* it ends at a record end found without the quote state */
    int open_end;             /* ... and that was inside quotes: the record from */
    size_t open_from;         /*   in[open_from] on is still open (the writer carries it) */
} mr_slot;

typedef struct mr_worker {
    double *x;                /* n_features x MR_BLOCK, column-wise */
    double *scratch;
    double *vals;             /* MR_BLOCK values (predict) or MR_BLOCK x n_terms (design) */
    mr_csv_fields fs;
    mr_csv_scanner sc;        /* CSV decode cursor: scanner, position, line */
    size_t pos;
    uint64_t line;
    char *keep;               /* the chunk's kept fields, already CSV-formatted */
    size_t keep_len, keep_cap;
    size_t *keep_end;         /* per chunk row: end of its kept fields in keep */
    size_t keep_end_cap;
    void *be;                 /* the backend's state for this worker */
} mr_worker;

/* A block of values back from the backend: chunk rows [row0, row0 + n). */
typedef struct mr_values {
    const double *v;          /* n values (predict) or n x n_terms (design), row-major */
    size_t row0, n;
} mr_values;

typedef struct mr_stream {
    const mr_engine *e;
    const mr_model *m;
    const mr_options *o;
    const mr_io *io;
    const char *src;
    mr_decoder dec;
    const struct mr_input_format *in;
    const struct mr_backend_ops *be;
    void *be_run;             /* the backend's state for this run */
    size_t chunk_rows;
    size_t nvals;             /* values per row: 1, or the term count (design) */
    /* CSV */
    size_t ncols;
    size_t *feat_col;         /* feature → input field (ncols: absent, a feature no term uses) */
    size_t *present;          /* the features to decode, in order */
    size_t npresent;
    size_t nkeep;
    size_t *keep_col;
    char **keep_names;
    mr_csv_scanner scan;      /* the calling thread's cutter (stream mode) */
    /* binary */
    size_t cols;
    size_t itemsize;
    uint64_t npy_rows;        /* declared rows (npy); UINT64_MAX: until EOF */
    /* reading in the calling thread (headers; whole input in stream mode) */
    char *rbuf;
    size_t rpos, rend, rcap;
    int eof;
    uint64_t lines;           /* physical lines consumed so far (header, cut chunks) */
    uint64_t rows_read;
    uint64_t bytes_in;
    /* split mode: workers read their own chunks with io->read_at */
    int split;
    uint64_t data_start;      /* first byte after the header */
    uint64_t chunk_bytes;     /* CSV cut by bytes: raw bytes per chunk */
    int cut_rows;             /* stream-mode CSV cut by rows (MR_OPT_CHUNK_ROWS, memory cap) */
    uint64_t data_rows;       /* binary: whole rows to read */
    uint64_t n_chunks;
    int direct;               /* who writes a chunk (mr_io.write_any_order): MR_DIRECT_* */
    pthread_mutex_t pub_mu;   /* MR_DIRECT_CHAINED: what the writer has published: */
    uint64_t pub_ticket;      /*   the next chunk to write, */
    uint64_t pub_off;         /*   its offset in the output */
    int pub_parity;           /*   and the quote parity at its anchor */
    mr_status tail_st;        /* an error after the last chunk (truncated, trailing bytes) */
    mr_error tail_err;
    int tail_in_last;         /* ... that fails the last chunk too, as a cutter's error
                                 would in stream mode (a chunk found short) */
    struct mr_feed *feed;     /* piped mode: the workers read the pipe's blocks */
    /* pipeline */
    size_t nslots;
    mr_slot *slots;
    unsigned nwork;           /* workers; works[nwork] is the writer's own (redone chunks) */
    mr_worker *works;
    /* output */
    uint64_t out_bytes;
    uint64_t rows_out;
    uint64_t chunks;          /* chunks written */
    int unterminated;         /* the input's last record had no line end */
    size_t npy_header_len;
    int npy_rows_known;
    char *header;             /* output header, written with the first chunk: a run */
    size_t header_len;        /* that fails in its first chunk writes nothing at all */
} mr_stream;

enum {
    MR_DIRECT_NONE,    /* the writer writes every chunk, in order */
    MR_DIRECT_FIXED,   /* fixed-width rows in and out: each job pwrites at an offset known ahead */
    MR_DIRECT_CHAINED, /* a job pwrites itself when the writer has published its offset
                          (every chunk before it written), else the writer does */
};

/* buf.c */
int mr_buf_grow(char **buf, size_t *cap, size_t need);
char **mr_split_list(const char *s, size_t *count);
void mr_free_list(char **v, size_t n);

/* stream.c: what the input formats use */
mr_status mr_stream_read(mr_stream *r, char *dst, size_t cap, size_t *got, mr_error *err);
mr_status mr_stream_fill(mr_stream *r, size_t keep_from, size_t want, mr_error *err);
/* pread [off, off + len) of the input into dst; short only at its end. */
mr_status mr_stream_read_at(const mr_stream *r, char *dst, size_t len, uint64_t off, size_t *got,
                            mr_error *err);
mr_status mr_stream_fail_at(const mr_stream *r, mr_error *err, mr_status st, uint64_t line,
                            uint64_t row, uint32_t col, const char *field);
void mr_stream_count_unknown(mr_slot *s, size_t f, uint64_t row, const char *txt, size_t len);
void mr_stream_cell_error(const mr_stream *r, mr_slot *s, mr_cell code, size_t f, uint64_t line,
                          uint64_t row, uint32_t col, const char *txt, size_t len);

/* output.c: formatting and writing (never evaluates) */
int mr_csv_put_field(char **buf, size_t *len, size_t *cap, const char *s, size_t n);
int mr_output_block(const mr_stream *r, mr_slot *s, const mr_worker *w, const mr_values *v);
mr_status mr_output_header(mr_stream *r, mr_error *err);
mr_status mr_output_flush_header(mr_stream *r, mr_error *err);
mr_status mr_output_finish(mr_stream *r, mr_error *err);
mr_status mr_output_write(mr_stream *r, const void *buf, size_t len, mr_error *err);
/* A chunk's output at byte `at` of the output (pwrite; from any thread). */
mr_status mr_output_write_at(const mr_stream *r, mr_slot *s, uint64_t at);

#endif
