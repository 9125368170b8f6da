/* input.h — input formats: one file and one row of mr_input_formats (input.c)
 * each. A format reads its header from the calling thread's buffer, then
 * hands chunks of whole records to the workers, who decode them block by
 * block into the evaluators' column layout. See docs/hacking.md. */
#ifndef MR_INPUT_H
#define MR_INPUT_H

#include "pipeline.h"

typedef struct mr_input_format {
    const char *name;
    int fmt;                                        /* MR_FMT_* */
    /* 1 if these first bytes are this format (MR_FMT_AUTO); NULL: never guessed */
    int (*probe)(const unsigned char *b, size_t n);
    /* the header, from r->rbuf (calling thread): columns, names, width */
    mr_status (*header)(mr_stream *r, mr_error *err);
    /* rows per chunk when rows are counted (stream mode, binary split mode) */
    size_t (*chunk_rows)(const mr_stream *r);
    /* stream mode (calling thread): cut the next chunk of whole records from
     * the reader into s; an error after some whole rows still leaves them in s */
    mr_status (*cut)(mr_stream *r, mr_slot *s, mr_error *err);
    /* split mode, NULL if the format cannot be split: plan r->n_chunks for
     * [r->data_start, r->io->size) (calling thread, no data read) */
    mr_status (*split)(mr_stream *r, mr_error *err);
    /* split mode (worker): read chunk s->ticket with io->read_at into s */
    void (*fetch)(const mr_stream *r, mr_slot *s, mr_worker *w);
    /* piped mode (worker), NULL if the format has none: the end of the last
     * record end in raw bytes p[0, n), input offset `at` on, that may end
     * anywhere; 0 if none. A wrong guess must be seen by decode (s->open_end) */
    size_t (*record_end)(const mr_stream *r, const char *p, size_t n, uint64_t at);
    /* piped mode (worker), NULL if every record found is the format's: the
     * chunk's records are the n bytes from input offset `at`, the input's
     * last when `last`. Returns how many of them to decode; an error that
     * comes after those (rows past a declared count, a short input) goes in
     * s->cut_st and s->cut_err, as the cutter of stream mode reports it. */
    size_t (*piped_span)(const mr_stream *r, mr_slot *s, uint64_t at, size_t n, int last);
    /* worker: decode the next block of at most MR_BLOCK rows (chunk rows from
     * row0) into w->x; 0 at the end of the chunk or on an error (s->st) */
    size_t (*decode)(const mr_stream *r, mr_slot *s, mr_worker *w, size_t row0);
} mr_input_format;

extern const mr_input_format mr_input_csv, mr_input_npy, mr_input_f64;

/* The format asked for, or for MR_FMT_AUTO the first whose probe accepts the
 * first bytes (CSV when none does). */
const mr_input_format *mr_input_find(int fmt, const unsigned char *b, size_t n);

/* input_rows.c: fixed-width float rows, shared by .npy and raw f64 */
size_t mr_rows_chunk_rows(const mr_stream *r);
mr_status mr_rows_cut(mr_stream *r, mr_slot *s, mr_error *err);
mr_status mr_rows_split(mr_stream *r, mr_error *err);
void mr_rows_fetch(const mr_stream *r, mr_slot *s, mr_worker *w);
size_t mr_rows_decode(const mr_stream *r, mr_slot *s, mr_worker *w, size_t row0);
size_t mr_rows_record_end(const mr_stream *r, const char *p, size_t n, uint64_t at);
size_t mr_rows_piped_span(const mr_stream *r, mr_slot *s, uint64_t at, size_t n, int last);

#endif
