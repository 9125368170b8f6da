/* stream.c — mr_run: reader → parse/decode/evaluate/format (workers) → ordered writer.
 *
 * The calling thread reads and cuts chunks of whole records (a row count that
 * depends only on the input, never on the thread count), hands them to the
 * pool, and writes finished chunks strictly in ticket order. Each worker
 * turns one chunk into finished output bytes in its slot's own buffer, so
 * there is no shared state between workers and no float ever crosses a
 * chunk: the bytes are identical for any thread count and chunk size. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "config.h"
#include "error.h"
#include "npy.h"
#include "ordered.h"
#include "stream_internal.h"
#if MR_HAVE_OPENCL
#include "ocl_backend.h"
#endif

int mr_buf_grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 4096;
    while (c < need)
        c *= 2;
    char *b = realloc(*buf, c);
    if (!b)
        return -1;
    *buf = b;
    *cap = c;
    return 0;
}

mr_status mr_stream_read(run *r, char *dst, size_t cap, size_t *got, mr_error *err)
{
    *got = 0;
    while (*got < cap) {
        const long n = r->io->read(r->io->read_cookie, dst + *got, cap - *got);
        if (n < 0) {
            const int e = errno;
            mr_err_set(err, MR_E_IO, "read error: %s", strerror(e));
            if (err)
                err->sys_errno = e;
            return MR_E_IO;
        }
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
mr_status mr_stream_fill(run *r, size_t keep_from, size_t want, mr_error *err)
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
        const size_t room = r->rcap - r->rend;
        FORWARD_IF(mr_stream_read(r, r->rbuf + r->rend, room < READ_SIZE ? room : READ_SIZE, &got, err));
        r->rend += got;
        if (got < (room < READ_SIZE ? room : READ_SIZE))
            break; /* short read only at EOF */
    }
    return MR_OK;
}

mr_status mr_stream_fail_at(run *r, mr_error *err, mr_status st, uint64_t line, uint64_t row,
                         uint32_t col, const char *field)
{
    if (err) {
        err->status = st;
        err->line = line;
        err->row = row;
        err->column = col;
        mr_err_field(err->source, sizeof err->source, r->src);
        mr_err_field(err->field, sizeof err->field, field ? field : "");
    }
    return st;
}

/* Split a comma-separated list into a NULL-terminated array of copies. */
char **mr_split_list(const char *s, size_t *count)
{
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    char **v = calloc(n + 1, sizeof *v);
    if (!v)
        return NULL;
    size_t i = 0;
    for (const char *p = s;; i++) {
        const char *c = strchr(p, ',');
        const size_t l = c ? (size_t)(c - p) : strlen(p);
        if (!(v[i] = strndup(p, l))) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return NULL;
        }
        if (!c)
            break;
        p = c + 1;
    }
    *count = i + 1;
    return v;
}

void mr_free_list(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void mr_stream_count_unknown(slot *s, size_t f, uint64_t row, const char *txt, size_t len)
{
    if (s->cnt.unknown[f]++ == 0) {
        s->cnt.first_unknown_row[f] = row;
        const size_t n = len < 63 ? len : 63;
        memcpy(s->cnt.first_unknown[f], txt, n);
        s->cnt.first_unknown[f][n] = '\0';
    }
}

/* Error for cell (feature f) of record `row` (1-based) on `line`. */
void mr_stream_cell_error(run *r, slot *s, mr_cell code, size_t f, uint64_t line, uint64_t row,
                       uint32_t col, const char *txt, size_t len)
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

static mr_status detect_format(run *r, mr_error *err)
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
    r->in_fmt = r->o->in_fmt;
    if (r->in_fmt == MR_FMT_AUTO)
        r->in_fmt = (n >= MR_NPY_MAGIC_LEN && memcmp(b, MR_NPY_MAGIC, MR_NPY_MAGIC_LEN) == 0)
                        ? MR_FMT_NPY : MR_FMT_CSV;
    return MR_OK;
}

static void reset_counters(run *r, slot *s)
{
    const size_t nf = r->m->n_features;
    memset(s->cnt.missing, 0, nf * sizeof *s->cnt.missing);
    memset(s->cnt.unknown, 0, nf * sizeof *s->cnt.unknown);
}

static void job(void *ctx, size_t si, unsigned wi)
{
    run *r = ctx;
    slot *s = &r->slots[si];
    work *w = &r->works[wi];
    s->st = MR_OK;
    s->out_len = 0;
    s->rows_done = 0;
    mr_err_clear(&s->err);
    reset_counters(r, s);
#if MR_HAVE_OPENCL
    if (w->dev)
        mr_ocl_chunk_begin(r, s, w);
#endif
    if (r->in_fmt == MR_FMT_CSV)
        mr_csv_input_job(r, s, w);
    else
        mr_bin_input_job(r, s, w);
#if MR_HAVE_OPENCL
    if (w->dev) /* wait for the device, then format the chunk */
        mr_ocl_chunk_end(r, s, w);
#endif
    if (s->st == MR_OK && s->cut_st != MR_OK) {
        s->st = s->cut_st;
        s->err = s->cut_err;
    }
}

static mr_status alloc_pipeline(run *r, unsigned threads)
{
    const size_t nf = r->m->n_features ? r->m->n_features : 1;
    size_t n = 2;
    while (n < 2 * (size_t)threads)
        n *= 2;
    r->nslots = threads > 1 ? n : 1;
    r->nwork = threads;
    r->slots = calloc(r->nslots, sizeof *r->slots);
    r->works = calloc(r->nwork, sizeof *r->works);
    if (!r->slots || !r->works)
        return MR_E_NOMEM;
    for (size_t i = 0; i < r->nslots; i++) {
        counters *c = &r->slots[i].cnt;
        c->missing = calloc(nf, sizeof *c->missing);
        c->unknown = calloc(nf, sizeof *c->unknown);
        c->first_unknown_row = calloc(nf, sizeof *c->first_unknown_row);
        c->first_unknown = calloc(nf, sizeof *c->first_unknown);
        if (!c->missing || !c->unknown || !c->first_unknown_row || !c->first_unknown)
            return MR_E_NOMEM;
    }
    const size_t nvals = r->o->mode == MR_MODE_DESIGN ? r->m->n_terms : 1;
    for (unsigned i = 0; i < r->nwork; i++) {
        work *w = &r->works[i];
        mr_csv_fields_init(&w->fs);
        w->x = malloc(nf * MR_STRIDE * sizeof *w->x);
        w->scratch = malloc(mr_plan_scratch_len(r->e->plan) * sizeof *w->scratch);
        w->vals = malloc((nvals ? nvals : 1) * MR_BLOCK * sizeof *w->vals);
        if (!w->x || !w->scratch || !w->vals)
            return MR_E_NOMEM;
    }
    return MR_OK;
}

static uint64_t pipeline_bytes(const run *r)
{
    uint64_t b = r->rcap;
    for (size_t i = 0; i < r->nslots; i++)
        b += r->slots[i].in_cap + r->slots[i].out_cap;
    for (unsigned i = 0; i < r->nwork; i++)
        b += r->works[i].keep_cap + r->works[i].fs.arena_cap;
    return b;
}

static void free_run(run *r)
{
#if MR_HAVE_OPENCL
    mr_ocl_run_end(r);
#endif
    if (r->slots)
        for (size_t i = 0; i < r->nslots; i++) {
            slot *s = &r->slots[i];
            free(s->in);
            free(s->out);
            free(s->cnt.missing);
            free(s->cnt.unknown);
            free(s->cnt.first_unknown_row);
            free(s->cnt.first_unknown);
        }
    free(r->slots);
    if (r->works)
        for (unsigned i = 0; i < r->nwork; i++) {
            work *w = &r->works[i];
            free(w->x);
            free(w->scratch);
            free(w->vals);
            free(w->keep);
            mr_csv_fields_free(&w->fs);
        }
    free(r->works);
    free(r->rbuf);
    free(r->header);
    free(r->feat_col);
    free(r->keep_col);
    mr_free_list(r->keep_names, r->nkeep);
    mr_decoder_free(&r->dec);
}

/* Write a finished slot and fold its counters into the totals. */
static mr_status drain(run *r, slot *s, mr_run_stats *stats, mr_error *err)
{
    if (stats && stats->columns)
        for (size_t f = 0; f < r->m->n_features; f++) {
            mr_column_stats *c = &stats->columns[f];
            c->missing += s->cnt.missing[f];
            if (s->cnt.unknown[f] && !c->unknown) {
                c->first_unknown_row = s->cnt.first_unknown_row[f];
                memcpy(c->first_unknown, s->cnt.first_unknown[f], sizeof c->first_unknown);
            }
            c->unknown += s->cnt.unknown[f];
        }
    if (s->st != MR_OK) {
        if (err)
            *err = s->err;
        return s->st;
    }
    FORWARD_IF(mr_output_flush_header(r, err));
    FORWARD_IF(mr_output_write(r, s->out, s->out_len, err));
    r->rows_out += s->rows_done;
    r->chunks++;
    return MR_OK;
}

static mr_status read_chunk(run *r, slot *s, mr_error *err)
{
    return r->in_fmt == MR_FMT_CSV ? mr_csv_input_chunk(r, s, err) : mr_bin_input_chunk(r, s, err);
}

static size_t default_chunk_rows(const run *r)
{
    if (r->o->chunk_rows)
        return r->o->chunk_rows;
    /* ~ a few MiB of input per chunk: depends on the input's width only */
    const size_t width = r->in_fmt == MR_FMT_CSV ? r->ncols : r->cols;
    const size_t rows = width <= 32 ? 8192 : 262144 / width;
    return rows < 64 ? 64 : rows;
}

/* The main loop: read, submit, write in order. */
static mr_status pump(run *r, mr_ordered *q, mr_progress_fn progress, void *pcookie,
                      mr_run_stats *stats, mr_error *err)
{
    uint64_t next_read = 0, next_write = 0;
    mr_status st = MR_OK;
    mr_error rerr;
    mr_status read_st = MR_OK;
    int done_reading = 0;
    while (!done_reading || next_write < next_read) {
        if (!done_reading && next_read - next_write < r->nslots) {
            slot *s = &r->slots[next_read & (r->nslots - 1)];
            mr_err_clear(&rerr);
            read_st = read_chunk(r, s, &rerr);
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
            if (s->n_rows > 0) {
                if (q)
                    mr_ordered_submit(q, next_read);
                else
                    job(r, next_read & (r->nslots - 1), 0);
                next_read++;
            }
            if (read_st != MR_OK || s->n_rows == 0)
                done_reading = 1;
        }
        /* write what is ready; block only when the ring is full or input ended */
        while (next_write < next_read) {
            const int must = done_reading || next_read - next_write >= r->nslots;
            if (q && !must && !mr_ordered_is_done(q, next_write))
                break;
            if (q)
                mr_ordered_wait(q, next_write);
            slot *s = &r->slots[next_write & (r->nslots - 1)];
            st = drain(r, s, stats, err);
            next_write++;
            if (st != MR_OK)
                return st;
            if (progress)
                progress(pcookie, r->rows_out, r->bytes_in);
        }
    }
    if (read_st != MR_OK) {
        if (err)
            *err = rerr;
        return read_st;
    }
    return MR_OK;
}

mr_status mr_run(mr_engine *e, const mr_io *io, mr_progress_fn progress, void *progress_cookie,
                 mr_run_stats *stats, mr_error *err)
{
    mr_err_clear(err);
    if (stats)
        memset(stats, 0, sizeof *stats);
    RETURN_IF(!e || !io || !io->read, MR_E_INVAL, err, "mr_run: NULL argument");
    RETURN_IF(e->opt.mode != MR_MODE_CHECK && !io->write, MR_E_INVAL, err, "mr_run: no output");
    FORWARD_IF(mr_backend_select(e, err)); /* no OpenCL call unless a device was asked for */
    run r = { 0 };
    r.e = e;
    r.m = e->m;
    r.o = &e->opt;
    r.io = io;
    r.src = io->source ? io->source : "<input>";
    if (err)
        mr_err_field(err->source, sizeof err->source, r.src);
    mr_status st = mr_decoder_init(&r.dec, r.m, r.o->unknown, r.o->na ? r.o->na : MR_DEFAULT_NA);
    if (st == MR_OK && stats) {
        stats->n_columns = r.m->n_features;
        stats->columns = calloc(r.m->n_features ? r.m->n_features : 1, sizeof *stats->columns);
        if (!stats->columns)
            st = MR_E_NOMEM;
    }
    r.rcap = READ_SIZE;
    if (st == MR_OK && !(r.rbuf = malloc(r.rcap)))
        st = MR_E_NOMEM;
    if (st != MR_OK) {
        free_run(&r);
        return mr_err_set(err, st, "out of memory");
    }
    st = detect_format(&r, err);
    if (st == MR_OK)
        st = r.in_fmt == MR_FMT_CSV ? mr_csv_input_header(&r, err) : mr_bin_input_header(&r, err);
    if (st == MR_OK && r.o->keep && (r.in_fmt != MR_FMT_CSV || r.o->out_fmt != MR_FMT_CSV))
        st = mr_err_set(err, MR_E_INVAL, "--keep needs CSV input and CSV output");
    if (st == MR_OK && r.in_fmt == MR_FMT_CSV && r.o->header && (r.o->names || r.o->names_from_model))
        st = mr_err_set(err, MR_E_INVAL, "--names and --names-from-model are for headerless input (--no-header)");
    unsigned threads = e->opt.threads ? e->opt.threads : 1;
    mr_ordered *q = NULL;
    if (st == MR_OK) {
        r.chunk_rows = default_chunk_rows(&r);
        st = alloc_pipeline(&r, threads);
        if (st != MR_OK)
            mr_err_set(err, st, "out of memory");
    }
#if MR_HAVE_OPENCL
    if (st == MR_OK)
        st = mr_ocl_run_begin(&r, e, err);
#endif
    if (st == MR_OK)
        st = mr_output_header(&r, err);
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
    if (st == MR_OK)
        st = pump(&r, q, progress, progress_cookie, stats, err);
    mr_ordered_destroy(q);
    if (st == MR_OK)
        st = mr_output_flush_header(&r, err); /* zero rows: the header alone */
    if (st == MR_OK)
        st = mr_output_finish(&r, err);
    if (stats) {
        stats->rows_in = r.rows_read;
        stats->rows_out = r.rows_out;
        stats->bytes_in = r.bytes_in;
        stats->bytes_out = r.out_bytes;
        stats->threads = threads;
        stats->buffer_bytes = pipeline_bytes(&r);
        stats->chunks = r.chunks;
    }
    if (st == MR_OK)
        mr_err_clear(err);
    if (st != MR_OK && err && !err->source[0])
        mr_err_field(err->source, sizeof err->source, r.src);
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
