/* fuzz_threads.c — mr_run output must not depend on threads or chunk size.
 *
 * Input: one control byte, then CSV bytes.
 *   bits 0-1  chunk rows c1 (1, 2, 3, 5)      bits 2-3  chunk rows c2 (5, 1, 7, 64)
 *   bits 4-5  model (strings+imputer, numeric hinges without missing,
 *             numeric codes, strings)
 *   bits 6-7  mode (predict, design, check, predict with --keep id)
 *
 * Three runs: A threads=1 chunk c1 full reads; B threads=3 chunk c1 short
 * reads; C threads=3 chunk c2 other short reads. A and B must agree on
 * everything: status, error fields and text, output bytes, and on success the
 * stats. C must agree with A on the status and the error (the first failing
 * row is a property of the input), and on success on the output; after an
 * error the two outputs hold different numbers of whole chunks, so one must
 * be a prefix of the other.
 *
 * Two more runs cut the CSV by bytes (chunks of 1, 2, 5 or 13 bytes, from the
 * control byte's bits 0-1 and 2-3): D threads=3 through a positional reader
 * (split mode: the workers find record ends from a guessed quote parity that
 * the writer checks), E threads=1 through short reads (the calling thread
 * cuts at the last record end). Both report errors when their rows are
 * decoded, so D and E must agree on everything; and with A, on whether the
 * run succeeds, and then on the output and the stats.
 *
 * Two more on the input with its body repeated past 96 KiB (below the
 * header's read of 64 KiB the reader holds everything and no block is
 * moved): F threads=3 piped (raw blocks of 61, 509, 4096 or 65536 bytes moved into
 * pipes and cut by the workers at their last '\n', records cut inside quotes
 * carried on by the writer) and G threads=1 cut by the calling thread. They
 * must agree on everything, and F must have been piped when it succeeds.
 * abort() on any difference. */
#include <errno.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_models.h"
#include "marsreplay.h"

typedef struct result {
    mr_status st;
    mr_error err;
    fz_sink out;
    mr_run_stats stats;
} result;

static const mr_model *model(int i)
{
    static const char *const text[4] = {FZ_MODEL_CAT_STRINGS, FZ_MODEL_HINGES, FZ_MODEL_CAT_CODES,
                                        FZ_MODEL_CAT_STRINGS};
    static mr_model *m[4];
    if (!m[i]) {
        mr_error err;
        const mr_status st = mr_model_load_buffer(text[i], strlen(text[i]), "model", &m[i], &err);
        FUZZ_CHECK(st == MR_OK, "embedded model %d: %s", i, err.text);
    }
    return m[i];
}

/* chunk > 0: rows per chunk; chunk < 0: -chunk bytes per chunk */
static mr_engine *engine(const mr_model *m, int mode, int keep, int threads, int64_t chunk)
{
    mr_options *o;
    FUZZ_CHECK(mr_options_create(&o) == MR_OK, "oom");
    FUZZ_CHECK(mr_options_set_int(o, MR_OPT_THREADS, threads) == MR_OK, "threads");
    FUZZ_CHECK(mr_options_set_int(o, chunk > 0 ? MR_OPT_CHUNK_ROWS : MR_OPT_CHUNK_BYTES,
                                  chunk > 0 ? chunk : -chunk) == MR_OK, "chunk");
    FUZZ_CHECK(mr_options_set_int(o, MR_OPT_MODE, mode) == MR_OK, "mode");
    FUZZ_CHECK(mr_options_set_int(o, MR_OPT_INPUT_FORMAT, MR_FMT_CSV) == MR_OK, "fmt");
    if (keep)
        FUZZ_CHECK(mr_options_set_str(o, MR_OPT_KEEP, "id") == MR_OK, "keep");
    mr_engine *e;
    mr_error err;
    FUZZ_CHECK(mr_engine_create(m, o, &e, &err) == MR_OK, "engine: %s", err.text);
    mr_options_free(o); /* the engine keeps its own copy */
    return e;
}

/* The whole input as a file: read from the start, or at any offset. */
typedef struct flat {
    const uint8_t *p;
    size_t len, pos;
} flat;

static long flat_read(void *cookie, void *buf, size_t cap)
{
    flat *f = cookie;
    const size_t n = f->len - f->pos < cap ? f->len - f->pos : cap;
    memcpy(buf, f->p + f->pos, n);
    f->pos += n;
    return (long)n;
}

/* mr_io.read_into_pipe: at most `piece` bytes (and a page) a call, as
 * splice(2) moves what there is room for. */
typedef struct moving {
    flat f;
    size_t piece;
} moving;

static long moving_read(void *cookie, void *buf, size_t cap)
{
    return flat_read(&((moving *)cookie)->f, buf, cap);
}

static long moving_move(void *cookie, int fd, size_t len)
{
    moving *m = cookie;
    size_t n = m->f.len - m->f.pos;
    n = n < len ? n : len;
    n = n < m->piece ? n : m->piece;
    const ssize_t w = write(fd, m->f.p + m->f.pos, n);
    if (w > 0)
        m->f.pos += (size_t)w;
    return (long)w;
}

static void run_piped(const mr_model *m, int mode, int keep, int threads, int64_t bytes, size_t piece,
                      const uint8_t *csv, size_t len, result *res)
{
    mr_engine *e = engine(m, mode, keep, threads, -bytes);
    memset(res, 0, sizeof *res);
    moving mv = { { csv, len, 0 }, piece };
    const mr_io io = { .read = moving_read, .read_cookie = &mv, .source = "input.csv", .write = fz_write,
                       .pwrite = fz_pwrite, .write_cookie = &res->out, .read_into_pipe = moving_move };
    res->st = mr_run(e, &io, NULL, NULL, &res->stats, &res->err);
    mr_engine_free(e);
}

static long flat_read_at(void *cookie, void *buf, size_t cap, uint64_t off)
{
    const flat *f = cookie;
    if (off >= f->len)
        return 0;
    const size_t n = f->len - (size_t)off < cap ? f->len - (size_t)off : cap;
    memcpy(buf, f->p + off, n);
    return (long)n;
}

/* chunk > 0: rows per chunk; chunk < 0: -chunk bytes per chunk (split with
 * a positional reader when `split`) */
static void run_cut(const mr_model *m, int mode, int keep, int threads, int64_t chunk, int split,
                    uint8_t pattern, const uint8_t *csv, size_t len, result *res);

static void run(const mr_model *m, int mode, int keep, int threads, int64_t chunk, uint8_t pattern,
                const uint8_t *csv, size_t len, result *res)
{
    run_cut(m, mode, keep, threads, chunk, 0, pattern, csv, len, res);
}

static void run_cut(const mr_model *m, int mode, int keep, int threads, int64_t chunk, int split,
                    uint8_t pattern, const uint8_t *csv, size_t len, result *res)
{
    mr_engine *e = engine(m, mode, keep, threads, chunk);
    fz_reader rd;
    fz_reader_init(&rd, pattern);
    fz_reader_add(&rd, csv, len, 0);
    memset(res, 0, sizeof *res);
    flat whole = { csv, len, 0 };
    const mr_io io = { .read = split ? flat_read : fz_read, .read_cookie = split ? (void *)&whole : (void *)&rd,
                       .source = "input.csv", .write = fz_write, .pwrite = fz_pwrite,
                       .write_cookie = &res->out, .read_at = split ? flat_read_at : NULL, .size = len };
    res->st = mr_run(e, &io, NULL, NULL, &res->stats, &res->err);
    mr_engine_free(e);
}

static void result_free(result *r)
{
    fz_sink_free(&r->out);
    mr_run_stats_free(&r->stats);
}

static void same_error(const result *a, const result *b, const char *what)
{
    FUZZ_CHECK(a->st == b->st, "%s: status %d vs %d (%s | %s)", what, a->st, b->st, a->err.text,
               b->err.text);
    if (a->st == MR_OK)
        return;
    FUZZ_CHECK(a->err.status == b->err.status && a->err.line == b->err.line &&
                   a->err.row == b->err.row && a->err.column == b->err.column &&
                   a->err.sys_errno == b->err.sys_errno,
               "%s: error at line %llu row %llu col %u vs line %llu row %llu col %u (%s | %s)", what,
               (unsigned long long)a->err.line, (unsigned long long)a->err.row, a->err.column,
               (unsigned long long)b->err.line, (unsigned long long)b->err.row, b->err.column,
               a->err.text, b->err.text);
    FUZZ_CHECK(!strcmp(a->err.text, b->err.text) && !strcmp(a->err.field, b->err.field) &&
                   !strcmp(a->err.source, b->err.source),
               "%s: error text '%s' vs '%s'", what, a->err.text, b->err.text);
}

static void same_stats(const result *a, const result *b, const char *what)
{
    const mr_run_stats *x = &a->stats, *y = &b->stats;
    FUZZ_CHECK(x->rows_in == y->rows_in && x->rows_out == y->rows_out &&
                   x->bytes_in == y->bytes_in && x->bytes_out == y->bytes_out &&
                   x->n_columns == y->n_columns,
               "%s: stats differ (rows %llu/%llu vs %llu/%llu)", what,
               (unsigned long long)x->rows_in, (unsigned long long)x->rows_out,
               (unsigned long long)y->rows_in, (unsigned long long)y->rows_out);
    for (size_t j = 0; j < x->n_columns; j++) {
        const mr_column_stats *c = &x->columns[j], *d = &y->columns[j];
        FUZZ_CHECK(c->missing == d->missing && c->unknown == d->unknown &&
                       c->first_unknown_row == d->first_unknown_row &&
                       !strcmp(c->first_unknown, d->first_unknown),
                   "%s: column %zu stats differ (missing %llu vs %llu, unknown %llu vs %llu)", what,
                   j, (unsigned long long)c->missing, (unsigned long long)d->missing,
                   (unsigned long long)c->unknown, (unsigned long long)d->unknown);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > ((size_t)1 << 20))
        return 0;
    static const int64_t c1s[4] = {1, 2, 3, 5}, c2s[4] = {5, 1, 7, 64};
    const uint8_t b = data[0];
    const int64_t c1 = c1s[b & 3], c2 = c2s[(b >> 2) & 3];
    const mr_model *m = model((b >> 4) & 3);
    const int mode = (b >> 6) == 3 ? MR_MODE_PREDICT : b >> 6, keep = (b >> 6) == 3;
    const uint8_t *csv = data + 1;
    const size_t len = size - 1;

    result a, bb, c, d, e;
    run(m, mode, keep, 1, c1, 0xff, csv, len, &a);
    run(m, mode, keep, 3, c1, (uint8_t)(b ^ 0x5a), csv, len, &bb);
    run(m, mode, keep, 3, c2, (uint8_t)(b * 7 + 1), csv, len, &c);
    static const int64_t bytes[4] = {1, 2, 5, 13};
    run_cut(m, mode, keep, 3, -bytes[b & 3], 1, 0xff, csv, len, &d);
    run_cut(m, mode, keep, 1, -bytes[(b >> 2) & 3], 0, (uint8_t)(b * 3 + 2), csv, len, &e);

    same_error(&a, &bb, "threads 1 vs 3");
    FUZZ_CHECK(a.out.len == bb.out.len && (a.out.len == 0 || !memcmp(a.out.p, bb.out.p, a.out.len)),
               "threads 1 vs 3: output differs (%zu vs %zu bytes)", a.out.len, bb.out.len);
    if (a.st == MR_OK)
        same_stats(&a, &bb, "threads 1 vs 3");

    same_error(&a, &c, "chunk sizes");
    if (a.st == MR_OK) {
        FUZZ_CHECK(a.out.len == c.out.len && (a.out.len == 0 || !memcmp(a.out.p, c.out.p, a.out.len)),
                   "chunk %lld vs %lld: output differs (%zu vs %zu bytes)", (long long)c1,
                   (long long)c2, a.out.len, c.out.len);
        same_stats(&a, &c, "chunk sizes");
    } else {
        const size_t n = a.out.len < c.out.len ? a.out.len : c.out.len;
        FUZZ_CHECK(n == 0 || !memcmp(a.out.p, c.out.p, n),
                   "chunk %lld vs %lld: outputs before the error disagree", (long long)c1,
                   (long long)c2);
    }

    same_error(&d, &e, "split vs stream cut by bytes");
    FUZZ_CHECK((a.st == MR_OK) == (d.st == MR_OK), "rows vs bytes: status %d vs %d (%s | %s)", a.st, d.st,
               a.err.text, d.err.text);
    if (a.st == MR_OK) {
        FUZZ_CHECK(a.out.len == d.out.len && (a.out.len == 0 || !memcmp(a.out.p, d.out.p, a.out.len)) &&
                       a.out.len == e.out.len && (a.out.len == 0 || !memcmp(a.out.p, e.out.p, a.out.len)),
                   "rows vs bytes: output differs (%zu vs %zu vs %zu bytes)", a.out.len, d.out.len, e.out.len);
        same_stats(&a, &d, "rows vs split bytes");
        same_stats(&a, &e, "rows vs stream bytes");
    }

    const uint8_t *body = memchr(csv, '\n', len);
    if (body && body + 1 < csv + len) {
        body++;
        const size_t head = (size_t)(body - csv), blen = len - head;
        size_t big_len = len;
        while (big_len < ((size_t)96 << 10))
            big_len += blen;
        uint8_t *big = malloc(big_len);
        FUZZ_CHECK(big != NULL, "oom");
        memcpy(big, csv, len);
        for (size_t at = len; at < big_len; at += blen)
            memcpy(big + at, body, blen);
        static const size_t pieces[4] = {4096, 1, 7, 333};
        result f, g;
        static const int64_t blocks[4] = {61, 509, 4096, 65536}; /* tiny ones: tests/test_stream.c */
        run_piped(m, mode, keep, 3, blocks[(b >> 2) & 3], pieces[b & 3], big, big_len, &f);
        run_cut(m, mode, keep, 1, -bytes[b & 3], 0, 0xff, big, big_len, &g);
        same_error(&f, &g, "piped vs stream");
        FUZZ_CHECK(f.out.len == g.out.len || f.st != MR_OK, "piped vs stream: %zu vs %zu bytes", f.out.len,
                   g.out.len);
        const size_t n = f.out.len < g.out.len ? f.out.len : g.out.len;
        FUZZ_CHECK(n == 0 || !memcmp(f.out.p, g.out.p, n), "piped vs stream: output differs");
        if (f.st == MR_OK) {
            same_stats(&f, &g, "piped vs stream");
            FUZZ_CHECK(f.stats.split == 2 || head > ((size_t)32 << 10), "not piped (split %u)", f.stats.split);
        }
        result_free(&f);
        result_free(&g);
        free(big);
    }
    result_free(&a);
    result_free(&bb);
    result_free(&c);
    result_free(&d);
    result_free(&e);
    return 0;
}
