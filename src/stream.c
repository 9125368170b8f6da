/* stream.c — mr_run: the pipeline's only loop (see pipeline.h).
 *
 * Chunks have tickets 0, 1, 2, ...; their boundaries depend on the input
 * alone, never on the thread count. Each job turns one chunk into finished
 * output bytes in its slot's own buffer: fetch (split mode), then block by
 * block decode → backend → format. The calling thread cuts chunks (a pipe)
 * or only hands out tickets (a file the workers read themselves), and writes
 * finished chunks strictly in ticket order. No float crosses a chunk, so the
 * bytes are identical for any thread count and chunk size. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "input.h"
#include "numfmt.h"
#include "ordered.h"
#include "pipe_feed.h"
#include "pipeline.h"

/* A read callback failed: its errno, in the error. */
static mr_status read_failed(mr_error *err)
{
    const int e = errno;
    mr_err_set(err, MR_E_IO, "read error: %s", strerror(e));
    if (err)
        err->sys_errno = e;
    return MR_E_IO;
}

mr_status mr_stream_read(mr_stream *r, char *dst, size_t cap, size_t *got, mr_error *err)
{
    *got = 0;
    while (*got < cap) {
        const long n = r->io->read(r->io->read_cookie, dst + *got, cap - *got);
        if (n < 0)
            return read_failed(err);
        if (n == 0) {
            r->eof = 1;
            break;
        }
        *got += (size_t)n;
        r->bytes_in += (uint64_t)n;
    }
    return MR_OK;
}

/* Make sure rbuf holds at least `want` unread bytes (fewer only at EOF);
 * keeps [rpos, rend) and moves it to the front. */
mr_status mr_stream_fill(mr_stream *r, size_t keep_from, size_t want, mr_error *err)
{
    if (keep_from > 0) {
        memmove(r->rbuf, r->rbuf + keep_from, r->rend - keep_from);
        r->rend -= keep_from;
        r->rpos -= keep_from;
    }
    while (!r->eof && r->rend - r->rpos < want) {
        if (r->rend == r->rcap) {
            if (mr_buf_grow(&r->rbuf, &r->rcap, r->rcap * 2) != 0)
                return mr_err_set(err, MR_E_NOMEM, "out of memory");
        }
        size_t got;
        /* what is wanted, but at least 64 KiB and at most MR_READ_SIZE a read:
         * a header costs no 1 MiB read that split mode's workers would redo */
        const size_t room = r->rcap - r->rend, need = want - (r->rend - r->rpos);
        size_t ask = need < 65536 ? 65536 : need < MR_READ_SIZE ? need : MR_READ_SIZE;
        if (ask > room)
            ask = room;
        FORWARD_IF(mr_stream_read(r, r->rbuf + r->rend, ask, &got, err));
        r->rend += got;
        if (got < ask)
            break; /* short read only at EOF */
    }
    return MR_OK;
}

mr_status mr_stream_read_at(const mr_stream *r, char *dst, size_t len, uint64_t off, size_t *got,
                            mr_error *err)
{
    *got = 0;
    while (*got < len) {
        const long n = r->io->read_at(r->io->read_cookie, dst + *got, len - *got, off + *got);
        if (n < 0)
            return read_failed(err);
        if (n == 0) /* the size was taken when the run started */
            return mr_err_set(err, MR_E_IO, "the input ends at byte %llu, before the %llu bytes it had when the run started (it changed during the run)",
                              (unsigned long long)(off + *got), (unsigned long long)r->io->size);
        *got += (size_t)n;
    }
    return MR_OK;
}

mr_status mr_stream_fail_at(const mr_stream *r, mr_error *err, mr_status st, uint64_t line,
                            uint64_t row, uint32_t col, const char *field)
{
    if (err) {
        err->status = st;
        err->line = line;
        err->row = row;
        err->column = col;
        mr_err_field(err->source, sizeof err->source, r->src);
        mr_err_name(err->field, sizeof err->field, field);
    }
    return st;
}

void mr_stream_count_unknown(mr_slot *s, size_t f, uint64_t row, const char *txt, size_t len)
{
    if (s->cnt.unknown[f]++ == 0) {
        s->cnt.first_unknown_row[f] = row;
        const size_t n = len < 63 ? len : 63;
        memcpy(s->cnt.first_unknown[f], txt, n);
        s->cnt.first_unknown[f][n] = '\0';
    }
}

/* Error for cell (feature f) of record `row` (1-based) on `line`. */
void mr_stream_cell_error(const mr_stream *r, mr_slot *s, mr_cell code, size_t f, uint64_t line,
                          uint64_t row, uint32_t col, const char *txt, size_t len)
{
    char q[96];
    mr_err_quote(q, sizeof q, txt, len);
    mr_error *err = &s->err;
    switch (code) {
    case MR_CELL_BAD_NUMBER:
        mr_err_set(err, MR_E_PARSE, "not a number (\"%s\")", q);
        break;
    case MR_CELL_MISSING_NOT_ALLOWED:
        mr_err_set(err, MR_E_DATA, "missing value (\"%s\") but the model does not allow missing values (params.allow_missing is false)", q);
        break;
    case MR_CELL_INF_NOT_ALLOWED:
        mr_err_set(err, MR_E_DATA, "infinite value (\"%s\") but the model does not allow missing or infinite values (params.allow_missing is false)", q);
        break;
    case MR_CELL_UNKNOWN_ERROR:
        mr_err_set(err, MR_E_DATA, "unknown categorical level (\"%s\") with --unknown-level error", q);
        break;
    default:
        mr_err_set(err, MR_E_INTERNAL, "unexpected cell state");
        break;
    }
    s->st = err->status;
    mr_stream_fail_at(r, err, err->status, line, row, col, r->m->feature_names[f]);
}

/* This thread's CPU seconds. Not getrusage(RUSAGE_THREAD): its user/system
 * split is adjusted from tick samples, and deltas over a chunk's few
 * milliseconds came out 6x too small (docs/performance.md). */
static double thread_cpu(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0)
        return 0.0;
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static mr_status detect_format(mr_stream *r, mr_error *err)
{
    FORWARD_IF(mr_stream_fill(r, 0, 16, err));
    const unsigned char *b = (const unsigned char *)r->rbuf + r->rpos;
    const size_t n = r->rend - r->rpos;
    /* compressed text is refused with a hint; an explicit binary format is
     * taken as given (raw float64 may start with any bytes) */
    const int may_be_text = r->o->in_fmt == MR_FMT_AUTO || r->o->in_fmt == MR_FMT_CSV;
    if (may_be_text && n >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
        mr_err_set(err, MR_E_PARSE, "input is gzip-compressed: pipe it through zcat");
        return mr_stream_fail_at(r, err, MR_E_PARSE, 0, 0, 0, NULL);
    }
    if (may_be_text && n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) {
        mr_err_set(err, MR_E_PARSE, "input is zstd-compressed: pipe it through zstdcat");
        return mr_stream_fail_at(r, err, MR_E_PARSE, 0, 0, 0, NULL);
    }
    r->in = mr_input_find(r->o->in_fmt, b, n);
    RETURN_IF(!r->in, MR_E_INVAL, err, "no such input format (%d)", r->o->in_fmt);
    if (r->in->fmt == MR_FMT_F64 && mr_input_npy.probe(b, n)) { /* its header would be read as data */
        mr_err_set(err, MR_E_INVAL, "the input starts with the .npy magic: it is a .npy file, not raw float64 (input format npy, or auto)");
        return mr_stream_fail_at(r, err, MR_E_INVAL, 0, 0, 0, NULL);
    }
    return MR_OK;
}

/* One chunk, start to finish: its bytes (split mode), then block by block
 * decode → evaluate → format. Runs on a worker, or on the calling thread
 * (serial runs, and chunks the writer must redo). */
static void job(void *ctx, size_t si, unsigned wi)
{
    mr_stream *r = ctx;
    mr_slot *s = &r->slots[si];
    mr_worker *w = &r->works[wi];
    const double t0 = thread_cpu();
    const size_t nf = r->m->n_features;
    s->st = MR_OK;
    s->out_len = 0;
    s->unterminated = 0;
    s->open_end = 0;
    mr_err_clear(&s->err);
    memset(s->cnt.missing, 0, nf * sizeof *s->cnt.missing);
    memset(s->cnt.unknown, 0, nf * sizeof *s->cnt.unknown);
    if (r->split)
        r->in->fetch(r, s, w);
    if (s->fed) { /* piped mode, once: a redone chunk keeps its bytes */
        s->fed = 0;
        mr_feed_take(r, r->feed, s);
    }
    const int eval = r->o->mode != MR_MODE_CHECK;
    size_t row0 = 0, n;
    mr_values v;
    if (eval)
        r->be->chunk_begin(r, w);
    while (s->st == MR_OK && (n = r->in->decode(r, s, w, row0)) > 0) {
        if (eval) {
            r->be->submit(r, s, w, row0, n);
            while (r->be->collect(r, s, w, 0, &v))
                if (mr_output_block(r, s, w, &v) != 0)
                    s->st = mr_err_set(&s->err, MR_E_NOMEM, "out of memory");
        }
        row0 += n;
    }
    while (eval && r->be->collect(r, s, w, 1, &v)) /* flush: a device's values come now */
        if (s->st == MR_OK && mr_output_block(r, s, w, &v) != 0)
            s->st = mr_err_set(&s->err, MR_E_NOMEM, "out of memory");
    s->n_rows = row0;
    s->written = 0;
    if (s->st == MR_OK && r->direct == MR_DIRECT_FIXED) { /* every chunk before holds chunk_rows */
        mr_output_write_at(r, s, (r->o->out_fmt == MR_FMT_NPY ? r->npy_header_len : 0) +
                                     s->ticket * r->chunk_rows * r->nvals * sizeof(double));
    } else if (s->st == MR_OK && r->direct == MR_DIRECT_CHAINED) {
        pthread_mutex_lock(&r->pub_mu);
        const int mine = r->pub_ticket == s->ticket && r->pub_parity == s->parity;
        const uint64_t at = r->pub_off;
        pthread_mutex_unlock(&r->pub_mu);
        if (mine) /* a wrong parity guess never writes: its chunk is redone */
            mr_output_write_at(r, s, at);
    }
    s->cpu = thread_cpu() - t0;
}

static size_t ring_slots(unsigned threads);

static mr_status alloc_pipeline(mr_stream *r, unsigned threads)
{
    const size_t nf = r->m->n_features ? r->m->n_features : 1;
    r->nslots = ring_slots(threads);
    r->nwork = threads;
    r->slots = calloc(r->nslots, sizeof *r->slots);
    r->works = calloc(r->nwork + 1, sizeof *r->works);
    if (!r->slots || !r->works)
        return MR_E_NOMEM;
    for (size_t i = 0; i < r->nslots; i++) {
        mr_counters *c = &r->slots[i].cnt;
        c->missing = calloc(nf, sizeof *c->missing);
        c->unknown = calloc(nf, sizeof *c->unknown);
        c->first_unknown_row = calloc(nf, sizeof *c->first_unknown_row);
        c->first_unknown = calloc(nf, sizeof *c->first_unknown);
        if (!c->missing || !c->unknown || !c->first_unknown_row || !c->first_unknown)
            return MR_E_NOMEM;
    }
    for (unsigned i = 0; i <= r->nwork; i++) {
        mr_worker *w = &r->works[i];
        mr_csv_fields_init(&w->fs);
        w->x = malloc(nf * MR_STRIDE * sizeof *w->x);
        w->scratch = malloc(mr_plan_scratch_len(r->e->plan) * sizeof *w->scratch);
        w->vals = malloc((r->nvals ? r->nvals : 1) * MR_BLOCK * sizeof *w->vals);
        if (!w->x || !w->scratch || !w->vals)
            return MR_E_NOMEM;
    }
    return MR_OK;
}

static uint64_t pipeline_bytes(const mr_stream *r)
{
    uint64_t b = r->rcap + mr_feed_bytes(r->feed);
    for (size_t i = 0; i < r->nslots; i++)
        b += r->slots[i].in_cap + r->slots[i].out_cap;
    for (unsigned i = 0; r->works && i <= r->nwork; i++)
        b += r->works[i].keep_cap + r->works[i].fs.arena_cap + r->works[i].keep_end_cap * sizeof(size_t);
    return b;
}

static void free_run(mr_stream *r)
{
    if (r->slots)
        for (size_t i = 0; i < r->nslots; i++) {
            mr_slot *s = &r->slots[i];
            if (s->fed) /* piped: a chunk the pool dropped when the run stopped */
                close(s->feed_fd);
            free(s->in);
            free(s->out);
            free(s->cnt.missing);
            free(s->cnt.unknown);
            free(s->cnt.first_unknown_row);
            free(s->cnt.first_unknown);
        }
    free(r->slots);
    if (r->works)
        for (unsigned i = 0; i <= r->nwork; i++) {
            mr_worker *w = &r->works[i];
            free(w->x);
            free(w->scratch);
            free(w->vals);
            free(w->keep);
            free(w->keep_end);
            mr_csv_fields_free(&w->fs);
        }
    free(r->works);
    mr_feed_close(r->feed); /* after the workers stopped */
    free(r->rbuf);
    free(r->header);
    free(r->feat_col);
    free(r->present);
    free(r->keep_col);
    mr_free_list(r->keep_names, r->nkeep);
    mr_decoder_free(&r->dec);
}

/* The writer's side of the run. */
typedef struct writer {
    uint64_t rows, lines;     /* before the next chunk: its positions' offsets */
    uint64_t header_lines;    /* physical lines of the input's header */
    int parity;               /* split CSV: quote parity at the next chunk's anchor;
                                 piped: 1 while a record carried on is open (below) */
    char *carry;              /* piped: the open record the last chunk ended in */
    size_t carry_len, carry_cap;
    uint32_t redone;
    double cpu_write, cpu_jobs_inline, cpu_workers;
    mr_progress_fn progress;  /* called after each chunk written */
    void *pcookie;
    mr_run_stats *stats;      /* the column counters are folded here */
} writer;

static void to_global(mr_error *e, uint64_t rows, uint64_t lines)
{
    if (e->row)
        e->row += rows;
    if (e->line)
        e->line += lines;
}

/* Piped mode: the chunk before ended inside a quoted field, so this one
 * started in the middle of it: put that record's start in front, to redo. */
static int carry_in(writer *wr, mr_slot *s)
{
    const size_t n = s->in_len - s->in_off;
    if (mr_buf_grow(&s->in, &s->in_cap, wr->carry_len + n + 1) != 0)
        return -1;
    memmove(s->in + wr->carry_len, s->in + s->in_off, n);
    memcpy(s->in, wr->carry, wr->carry_len);
    s->in_off = 0;
    s->in_len = wr->carry_len + n;
    return 0;
}

/* ... and keep the open record of a chunk that ends inside one. */
static int carry_out(writer *wr, mr_slot *s)
{
    const size_t n = s->in_len - s->open_from;
    if (mr_buf_grow(&wr->carry, &wr->carry_cap, n + 1) != 0)
        return -1;
    memcpy(wr->carry, s->in + s->open_from, n);
    wr->carry_len = n;
    s->in_end -= n; /* the next chunk's first record starts there */
    return 0;
}

/* Check, fold and write finished chunk si (in ticket order). */
static mr_status drain(mr_stream *r, writer *wr, size_t si, mr_error *err)
{
    mr_run_stats *stats = wr->stats;
    mr_slot *s = &r->slots[si];
    const double t0 = thread_cpu();
    wr->cpu_workers += s->cpu;
    if (s->parity != wr->parity) { /* its worker guessed the quote state wrong */
        if (r->feed && carry_in(wr, s) != 0)
            return mr_err_set(err, MR_E_NOMEM, "out of memory");
        s->parity = wr->parity;
        job(r, si, r->nwork);
        wr->redone++;
    }
    if (!r->feed)
        wr->parity ^= s->range_parity;
    else if ((wr->parity = s->st == MR_OK && s->open_end) && carry_out(wr, s) != 0)
        return mr_err_set(err, MR_E_NOMEM, "out of memory");
    if (stats && stats->columns)
        for (size_t f = 0; f < r->m->n_features; f++) {
            mr_column_stats *c = &stats->columns[f];
            c->missing += s->cnt.missing[f];
            if (s->cnt.unknown[f] && !c->unknown) {
                c->first_unknown_row = s->cnt.first_unknown_row[f] + wr->rows;
                memcpy(c->first_unknown, s->cnt.first_unknown[f], sizeof c->first_unknown);
            }
            c->unknown += s->cnt.unknown[f];
        }
    mr_status st = s->st;
    if (st != MR_OK) {
        to_global(&s->err, wr->rows, wr->lines);
        if (err)
            *err = s->err;
    } else if (s->cut_st != MR_OK) { /* the cutter's error comes after the chunk's rows */
        st = s->cut_st;
        if (err)
            *err = s->cut_err;
    } else {
        st = mr_output_flush_header(r, err);
        if (st == MR_OK && !s->written && r->direct == MR_DIRECT_CHAINED && s->out_len) {
            st = mr_output_write_at(r, s, r->pub_off);
            if (st != MR_OK && err)
                *err = s->err;
        }
        if (st == MR_OK && (s->written || r->direct == MR_DIRECT_CHAINED))
            r->out_bytes += s->out_len;
        else if (st == MR_OK)
            st = mr_output_write(r, s->out, s->out_len, err);
        if (st == MR_OK && r->direct == MR_DIRECT_CHAINED) { /* the next chunk may write itself */
            pthread_mutex_lock(&r->pub_mu);
            r->pub_off += s->out_len;
            r->pub_ticket = s->ticket + 1;
            r->pub_parity = wr->parity;
            pthread_mutex_unlock(&r->pub_mu);
        }
    }
    wr->rows += s->n_rows;
    wr->lines += s->n_lines;
    if (r->split)
        r->bytes_in += s->in_bytes;
    if (st == MR_OK) {
        r->rows_out += s->n_rows;
        r->chunks++;
        r->unterminated |= s->unterminated;
    }
    wr->cpu_write += thread_cpu() - t0;
    return st;
}

/* Hand ticket t to the pool, or run it here when there is none. */
static void submit(mr_stream *r, writer *wr, mr_ordered *q, uint64_t t)
{
    if (q) {
        mr_ordered_submit(q, t);
        return;
    }
    job(r, t & (r->nslots - 1), 0);
    wr->cpu_jobs_inline += r->slots[t & (r->nslots - 1)].cpu;
}

/* The caller's commit callback said stop: its errno names why. */
static mr_status commit_stopped(const mr_stream *r, mr_error *err)
{
    const int e = errno;
    mr_err_clear(err);
    mr_err_set(err, MR_E_IO, "commit failed: %s", strerror(e));
    if (err) {
        err->sys_errno = e;
        mr_err_field(err->source, sizeof err->source, r->io->sink ? r->io->sink : "<output>");
    }
    return MR_E_IO;
}

/* Wait for ticket t (a worker's), write it, report progress. */
static mr_status write_ticket(mr_stream *r, writer *wr, mr_ordered *q, uint64_t t, mr_error *err)
{
    if (q)
        mr_ordered_wait(q, t);
    const size_t si = t & (r->nslots - 1);
    const mr_status st = drain(r, wr, si, err);
    if (st == MR_OK && wr->progress)
        wr->progress(wr->pcookie, r->rows_out, r->bytes_in);
    if (st == MR_OK && r->io->commit && r->slots[si].n_rows) { /* piped: a chunk may hold none */
        /* split mode's chunks follow each other from data_start: bytes_in
         * ends at this one; a cut chunk knows where it ended */
        const mr_commit c = { .in_offset = r->split ? r->bytes_in : r->slots[si].in_end,
                              .rows = wr->rows, .lines = wr->lines - wr->header_lines,
                              .out_bytes = r->out_bytes };
        if (r->io->commit(r->io->commit_cookie, &c) != 0)
            return commit_stopped(r, err);
    }
    return st;
}

/* Write the finished chunks up to next_read in order; wait for one only
 * when the ring is full or the input has ended (`done`). */
static mr_status write_ready(mr_stream *r, writer *wr, mr_ordered *q, uint64_t *next_write,
                             uint64_t next_read, int done, mr_error *err)
{
    while (*next_write < next_read) {
        const int must = done || next_read - *next_write >= r->nslots;
        if (q && !must && !mr_ordered_is_done(q, *next_write))
            break;
        FORWARD_IF(write_ticket(r, wr, q, (*next_write)++, err));
    }
    return MR_OK;
}

/* The reader's error, after every chunk before it was written. */
static mr_status reader_failed(mr_status st, const mr_error *rerr, mr_error *err)
{
    if (st != MR_OK && err)
        *err = *rerr;
    return st;
}

/* Stream mode: the calling thread reads and cuts; submit, write in order. */
static mr_status pump_stream(mr_stream *r, writer *wr, mr_ordered *q, mr_error *err)
{
    uint64_t next_read = 0, next_write = 0;
    mr_error rerr;
    mr_status read_st = MR_OK;
    int done_reading = 0;
    while (!done_reading || next_write < next_read) {
        if (!done_reading && next_read - next_write < r->nslots) {
            const size_t si = next_read & (r->nslots - 1);
            mr_slot *s = &r->slots[si];
            mr_err_clear(&rerr);
            read_st = r->in->cut(r, s, &rerr);
            s->in_end = r->bytes_in - (uint64_t)(r->rend - r->rpos);
            s->ticket = next_read;
            s->cut_st = MR_OK;
            if (read_st != MR_OK && s->n_rows > 0) {
                /* the cutter failed after some whole rows: those are still
                 * checked, so that a bad row among them wins (as with any
                 * chunk size), but the chunk fails either way */
                s->cut_st = read_st;
                s->cut_err = rerr;
                read_st = MR_OK;
                done_reading = 1;
            }
            const int some = s->n_rows > 0; /* once submitted, the slot is the worker's */
            if (some)
                submit(r, wr, q, next_read++);
            if (read_st != MR_OK || !some)
                done_reading = 1;
        }
        FORWARD_IF(write_ready(r, wr, q, &next_write, next_read, done_reading, err));
    }
    return reader_failed(read_st, &rerr, err);
}

/* Piped mode: the calling thread moves raw blocks into pipes (no copy), the
 * workers take and cut them (pipe_feed.c); submit, write in order.
 * MR_AGAIN before anything is consumed: the input cannot be moved. */
static mr_status pump_piped(mr_stream *r, writer *wr, mr_ordered *q, mr_error *err)
{
    uint64_t next_read = 0, next_write = 0;
    int eof = 0;
    mr_status read_st = MR_OK;
    mr_error rerr;
    mr_err_clear(&rerr);
    while (!eof || next_write < next_read) {
        if (!eof && next_read - next_write < r->nslots) {
            mr_slot *s = &r->slots[next_read & (r->nslots - 1)];
            s->ticket = next_read;
            s->cut_st = MR_OK;
            s->parity = 0; /* "starts a record": the writer checks it */
            size_t got;
            read_st = mr_feed_start(r, r->feed, s, &got, &rerr);
            if (read_st == MR_AGAIN)
                return MR_AGAIN;
            if (read_st != MR_OK) {
                eof = 1; /* the chunks before are written, then the error */
            } else {
                if (next_read == 0 && r->rbuf) { /* the reader's bytes are the first tail now */
                    free(r->rbuf);
                    r->rbuf = NULL;
                    r->rcap = r->rpos = r->rend = 0;
                }
                mr_ordered_submit(q, next_read++);
                /* the worker reads while the rest comes: a pipe never waits for
                 * room. A failure now comes after the chunk's whole records
                 * (its worker reports it). */
                if (mr_feed_finish(r, r->feed, got, &eof) != MR_OK)
                    eof = 1;
            }
        }
        FORWARD_IF(write_ready(r, wr, q, &next_write, next_read, eof, err));
    }
    return reader_failed(read_st, &rerr, err);
}

/* Split mode: the workers fetch their own chunks; the calling thread only
 * hands out tickets and writes in order. */
static mr_status pump_split(mr_stream *r, writer *wr, mr_ordered *q, mr_error *err)
{
    uint64_t next_read = 0, next_write = 0;
    while (next_write < r->n_chunks) {
        while (next_read < r->n_chunks && next_read - next_write < r->nslots) {
            const size_t si = next_read & (r->nslots - 1);
            mr_slot *s = &r->slots[si];
            s->ticket = next_read;
            s->cut_st = MR_OK;
            s->n_rows = 0;
            s->n_lines = 0;
            s->range_parity = 0;
            /* exact when every chunk before it is written, else a guess */
            s->parity = next_write == next_read ? wr->parity : 0;
            if (next_read + 1 == r->n_chunks && r->tail_in_last) {
                s->cut_st = r->tail_st;
                s->cut_err = r->tail_err;
            }
            submit(r, wr, q, next_read++);
        }
        FORWARD_IF(write_ticket(r, wr, q, next_write++, err));
    }
    if (r->tail_st != MR_OK && !(r->tail_in_last && r->n_chunks)) {
        if (err)
            *err = r->tail_err;
        return r->tail_st;
    }
    return MR_OK;
}

static size_t ring_slots(unsigned threads)
{
    size_t n = 2;
    while (n < 2 * (size_t)threads)
        n *= 2;
    return threads > 1 ? n : 1;
}

/* MR_OPT_MAX_MEMORY: chunks small enough that what pipeline_bytes counts
 * stays under the cap. Buffers grow by doubling, so each is taken at twice
 * what it holds: per slot the chunk's input and output, per worker the
 * chunk's kept fields; plus the read buffer (none in split mode) and the
 * workers' blocks. The row width of CSV is the mean record length of the
 * bytes read so far (the header's read: up to 1 MiB), plus a quarter. */
static mr_status fit_memory(mr_stream *r, unsigned threads, int split, mr_error *err)
{
    const uint64_t cap = r->o->max_memory;
    if (!cap)
        return MR_OK;
    const uint64_t S = ring_slots(threads), W = (uint64_t)threads + 1;
    const int csv = r->in->fmt == MR_FMT_CSV;
    uint64_t in_row = (uint64_t)r->cols * r->itemsize;
    if (csv) {
        const char *p = r->rbuf + r->rpos, *e = r->rbuf + r->rend;
        uint64_t lines = 0;
        for (const char *q = p; (q = memchr(q, '\n', (size_t)(e - q))) != NULL; q++)
            lines++;
        in_row = p == e ? 1024 : lines ? (uint64_t)(e - p) / lines * 5 / 4 + 1 : (uint64_t)(e - p);
    }
    const uint64_t nvals = r->nvals ? r->nvals : 1, nf = r->m->n_features ? r->m->n_features : 1;
    const uint64_t out_row = r->o->out_fmt == MR_FMT_CSV ? nvals * (MR_FMT_MAX + 1) + 1 + (r->nkeep ? in_row : 0)
                                                         : nvals * 8;
    const uint64_t keep_row = r->nkeep ? in_row + 8 : 0;
    const uint64_t fixed = W * 8 * (nf * MR_STRIDE + mr_plan_scratch_len(r->e->plan) + nvals * MR_BLOCK) +
                           (split ? 0 : csv ? 2 * MR_READ_SIZE : MR_READ_SIZE) +
                           (split && csv ? S * 2 * (2 * in_row + 256) : 0); /* the boundary search */
    const uint64_t per_row = S * 2 * (in_row + out_row) + W * 2 * keep_row;
    if (cap < fixed + 16 * per_row)
        return mr_err_set(err, MR_E_INVAL, "max-memory %llu: too small for this input with %u thread%s: needs at least %llu bytes (give more, or fewer threads)",
                          (unsigned long long)cap, threads, threads == 1 ? "" : "s",
                          (unsigned long long)(fixed + 16 * per_row));
    uint64_t rows = (cap - fixed) / per_row;
    if (csv && split) { /* a chunk of B bytes holds about B / (in_row * 4/5) records */
        const uint64_t b = rows * in_row * 4 / 5;
        if (b < r->chunk_bytes)
            r->chunk_bytes = b;
        return MR_OK;
    }
    if (csv) { /* a pipe: cut by rows, each chunk within the read buffer's 1 MiB */
        r->cut_rows = 1;
        if (rows > MR_READ_SIZE / in_row)
            rows = MR_READ_SIZE / in_row;
    }
    if (rows < r->chunk_rows)
        r->chunk_rows = (size_t)rows;
    return MR_OK;
}

/* Split mode when the input allows it: a positional reader, a format that
 * can be split, and (CSV) no row count asked for. The memory cap sizes the
 * chunks for the mode that will run. */
static mr_status plan_split(mr_stream *r, unsigned threads, mr_error *err)
{
    const uint64_t consumed = r->bytes_in - (uint64_t)(r->rend - r->rpos);
    const int split = r->io->read_at && r->in->split && consumed <= r->io->size && !r->cut_rows;
    FORWARD_IF(fit_memory(r, threads, split, err));
    if (!split)
        return MR_OK;
    r->split = 1;
    /* fixed-width rows in, fixed-width values out: every chunk's place in
     * the output is known before it is computed */
    if (r->in->fmt != MR_FMT_CSV && r->o->out_fmt != MR_FMT_CSV && r->direct == MR_DIRECT_CHAINED)
        r->direct = MR_DIRECT_FIXED;
    r->data_start = consumed;
    r->bytes_in = consumed;
    free(r->rbuf); /* the workers read the rest themselves */
    r->rbuf = NULL;
    r->rcap = r->rpos = r->rend = 0;
    return r->in->split(r, err);
}

static mr_status start_backend(mr_stream *r, mr_engine *e, mr_error *err)
{
    r->be = e->be;
    mr_status st = r->be->run_begin(r, e, err);
    if (st == MR_AGAIN) { /* not for this run: e->info.fallback says why */
        r->be->run_end(r, e);
        r->be = &mr_backend_cpu;
        st = r->be->run_begin(r, e, err);
    }
    return st;
}

mr_status mr_run(mr_engine *e, const mr_io *io, mr_progress_fn progress, void *progress_cookie,
                 mr_run_stats *stats, mr_error *err)
{
    const double t_start = thread_cpu();
    mr_err_clear(err);
    if (stats)
        memset(stats, 0, sizeof *stats);
    RETURN_IF(!e || !io || !io->read, MR_E_INVAL, err, "mr_run: NULL argument");
    RETURN_IF(e->opt.mode != MR_MODE_CHECK && !io->write, MR_E_INVAL, err, "mr_run: no output");
    FORWARD_IF(mr_backend_select(e, err)); /* no OpenCL call unless a device was asked for */
    mr_stream r = { 0 };
    r.e = e;
    r.m = e->m;
    r.o = &e->opt;
    r.io = io;
    r.src = io->source ? io->source : "<input>";
    r.nvals = r.o->mode == MR_MODE_DESIGN ? r.m->n_terms : 1;
    if (err)
        mr_err_field(err->source, sizeof err->source, r.src);
    mr_status st = mr_decoder_init(&r.dec, r.m, r.o->unknown, r.o->na ? r.o->na : MR_DEFAULT_NA);
    if (st == MR_OK && stats) {
        stats->n_columns = r.m->n_features;
        stats->columns = calloc(r.m->n_features ? r.m->n_features : 1, sizeof *stats->columns);
        if (!stats->columns)
            st = MR_E_NOMEM;
    }
    r.rcap = MR_READ_SIZE;
    if (st == MR_OK && !(r.rbuf = malloc(r.rcap)))
        st = MR_E_NOMEM;
    if (st != MR_OK) {
        free_run(&r);
        return mr_err_set(err, st, "out of memory");
    }
    st = detect_format(&r, err);
    if (st == MR_OK)
        st = r.in->header(&r, err);
    for (size_t f = 0; st == MR_OK && stats && r.feat_col && f < r.m->n_features; f++)
        stats->columns[f].absent = r.feat_col[f] == r.ncols;
    if (st == MR_OK && r.o->keep && (r.in->fmt != MR_FMT_CSV || r.o->out_fmt != MR_FMT_CSV))
        st = mr_err_set(err, MR_E_INVAL, "--keep needs CSV input and CSV output");
    if (st == MR_OK && r.in->fmt == MR_FMT_CSV && r.o->header && (r.o->names || r.o->names_from_model))
        st = mr_err_set(err, MR_E_INVAL, "--names and --names-from-model are for headerless input (--no-header)");
    unsigned threads = e->opt.threads ? e->opt.threads : 1;
    mr_ordered *q = NULL;
    if (st == MR_OK) {
        /* an output thrown away on failure may be written in any order:
         * the workers write their own chunks once their offsets are known */
        if (io->write_any_order && io->pwrite && r.o->mode != MR_MODE_CHECK)
            r.direct = MR_DIRECT_CHAINED;
        r.chunk_rows = r.o->chunk_rows ? r.o->chunk_rows : r.in->chunk_rows(&r);
        r.chunk_bytes = r.o->chunk_bytes ? r.o->chunk_bytes : MR_DEFAULT_CHUNK_BYTES;
        r.cut_rows = r.in->fmt == MR_FMT_CSV && r.o->chunk_rows;
        st = plan_split(&r, threads, err);
    }
    if (st == MR_OK && (st = alloc_pipeline(&r, threads)) != MR_OK)
        mr_err_set(err, st, "out of memory");
    int backend_started = 0;
    if (st == MR_OK) {
        st = start_backend(&r, e, err);
        backend_started = 1;
    }
    if (st == MR_OK)
        st = mr_output_header(&r, err);
    pthread_mutex_init(&r.pub_mu, NULL);
    r.pub_off = r.header_len; /* the header goes first, written with the first chunk */
    if (st == MR_OK && threads > 1) {
        unsigned started = 0;
        st = mr_ordered_create(threads, r.nslots, job, &r, &q, &started);
        if (st == MR_OK && started == 0) { /* no threads to be had: run serially */
            mr_ordered_destroy(q);
            q = NULL;
        }
        threads = started ? started : 1;
        if (st != MR_OK)
            mr_err_set(err, st, "cannot start worker threads");
    }
    const uint64_t header_lines = r.lines;
    writer wr = { .lines = header_lines, .header_lines = header_lines, .progress = progress, .pcookie = progress_cookie, .stats = stats };
    /* a pipe with workers: they copy its bytes out (pipe_feed.c) */
    if (st == MR_OK && !r.split && !r.eof && q && io->read_into_pipe && r.in->record_end && !r.cut_rows)
        r.feed = mr_feed_open(&r);
    if (st == MR_OK && r.feed) {
        st = pump_piped(&r, &wr, q, err);
        if (st == MR_AGAIN) { /* nothing consumed: read it here */
            mr_feed_close(r.feed);
            r.feed = NULL;
            st = MR_OK;
        }
    }
    if (st == MR_OK && !r.feed)
        st = (r.split ? pump_split : pump_stream)(&r, &wr, q, err);
    mr_ordered_destroy(q);
    if (st == MR_OK)
        st = mr_output_flush_header(&r, err); /* zero rows: the header alone */
    if (st == MR_OK)
        st = mr_output_finish(&r, err);
    if (backend_started)
        r.be->run_end(&r, e);
    if (stats) {
        const double calling = thread_cpu() - t_start - wr.cpu_jobs_inline;
        stats->rows_in = wr.rows;
        stats->rows_out = r.rows_out;
        stats->bytes_in = r.bytes_in;
        stats->bytes_out = r.out_bytes;
        stats->threads = threads;
        stats->buffer_bytes = pipeline_bytes(&r);
        stats->chunks = r.chunks;
        stats->cpu_write_seconds = wr.cpu_write;
        stats->cpu_read_seconds = calling > wr.cpu_write ? calling - wr.cpu_write : 0.0;
        stats->cpu_worker_seconds = wr.cpu_workers;
        stats->split = r.split ? 1u : r.feed ? 2u : 0u;
        stats->lines_in = wr.lines - header_lines;
        stats->redone_chunks = wr.redone;
        stats->last_record_unterminated = (uint32_t)r.unterminated;
    }
    if (st == MR_OK)
        mr_err_clear(err);
    if (st != MR_OK && err && !err->source[0])
        mr_err_field(err->source, sizeof err->source, r.src);
    pthread_mutex_destroy(&r.pub_mu);
    free(wr.carry);
    free_run(&r);
    return st;
}

void mr_run_stats_free(mr_run_stats *stats)
{
    if (!stats)
        return;
    free(stats->columns);
    stats->columns = NULL;
    stats->n_columns = 0;
}
