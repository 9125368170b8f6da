/* test_stream.c — mr_run end to end in memory: ordering and byte identity
 * across threads and chunk sizes, error rows and lines, nothing written
 * before the first chunk succeeds, binary formats, I/O failures. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>

#include "npy.h"
#include "test_util.h"

static const char *model_json = MR_TEST_CAT_MODEL("true");

static char *make_csv(size_t rows, uint64_t seed, size_t *len)
{
    static const char *labels[] = { "blue", "green", "red", "purple", "NA", "" };
    size_t cap = rows * 80 + 64, n = 0;
    char *s = malloc(cap);
    if (!s)
        abort();
    n += (size_t)sprintf(s, "id,c,note,b,colour\n");
    for (size_t r = 0; r < rows; r++) {
        const uint64_t x = rnd_next(&seed);
        const char *note = (x & 7) == 0 ? "\"a, \"\"quoted\"\"\nnote\"" : "plain";
        char c[32];
        if ((x >> 3 & 7) == 0)
            strcpy(c, "NA");
        else
            sprintf(c, "%.17g", rnd_unit(&seed) * 4 - 2);
        n += (size_t)sprintf(s + n, "%zu,%s,%s,%.6f,%s\n", r, c, note, rnd_unit(&seed) - 0.5,
                             labels[(x >> 6) % 6]);
    }
    *len = n;
    return s;
}

/* mr_run over input[0..len). With split, through a positional reader too
 * (the workers read their own chunks), claiming `size` bytes. */
static mr_status run_io(const char *input, size_t len, int split, uint64_t size, mr_options *o,
                        mem_out *out, mr_error *err, mr_run_stats *stats, size_t max_read)
{
    mr_model *m = load_json(model_json);
    mr_engine *e = NULL;
    assert_int_equal(mr_engine_create(m, o, &e, NULL), MR_OK);
    mem_in in = { .data = input, .len = len, .max_read = max_read };
    const mr_io io = { .read = mem_read, .read_cookie = &in, .source = "mem.csv",
                       .write = mem_write, .pwrite = mem_pwrite, .write_cookie = out,
                       .read_at = split ? mem_read_at : NULL, .size = size };
    const mr_status st = mr_run(e, &io, NULL, NULL, stats, err);
    mr_engine_free(e);
    mr_model_free(m);
    return st;
}

static mr_status run(const char *input, size_t len, mr_options *o, mem_out *out, mr_error *err,
                     mr_run_stats *stats, size_t max_read)
{
    return run_io(input, len, 0, 0, o, out, err, stats, max_read);
}

static mr_status run_split(const char *input, size_t len, uint64_t size, mr_options *o, mem_out *out,
                           mr_error *err, mr_run_stats *stats)
{
    return run_io(input, len, 1, size, o, out, err, stats, 0);
}

/* Split mode cuts CSV by bytes at record boundaries found from the quote
 * parity, guessed by the workers and checked by the writer: the bytes are
 * those of stream mode for any chunk size and thread count, quoted
 * newlines across cuts included, and wrong guesses are redone. */
static void split_csv_identical_to_stream(void **state)
{
    (void)state;
    size_t len, short_len;
    char *csv = make_csv(2000, 11, &len);
    char *csv_short = make_csv(200, 11, &short_len); /* for chunks of a few bytes */
    static const int modes[] = { MR_MODE_PREDICT, MR_MODE_DESIGN };
    uint32_t redone = 0;
    for (size_t mi = 0; mi < 2; mi++) {
        mr_options *o;
        mr_options_create(&o);
        mr_options_set_int(o, MR_OPT_MODE, modes[mi]);
        mr_options_set_str(o, MR_OPT_KEEP, "id,note");
        mem_out ref = { 0 }, ref_short = { 0 };
        assert_int_equal(run(csv, len, o, &ref, NULL, NULL, 0), MR_OK);
        assert_int_equal(run(csv_short, short_len, o, &ref_short, NULL, NULL, 0), MR_OK);
        static const int threads[] = { 1, 2, 3, 8 };
        static const int chunks[] = { 1, 5, 61, 997, 65536 };
        for (size_t t = 0; t < 4; t++)
            for (size_t c = 0; c < 5; c++) {
                const int tiny = chunks[c] < 10;
                const char *in = tiny ? csv_short : csv;
                const size_t in_len = tiny ? short_len : len;
                const mem_out *want = tiny ? &ref_short : &ref;
                mr_options_set_int(o, MR_OPT_THREADS, threads[t]);
                mr_options_set_int(o, MR_OPT_CHUNK_BYTES, chunks[c]);
                mem_out got = { 0 };
                mr_run_stats st;
                assert_int_equal(run_split(in, in_len, in_len, o, &got, NULL, &st), MR_OK);
                assert_int_equal(st.split, 1);
                assert_int_equal(st.rows_in, tiny ? 200 : 2000);
                assert_int_equal(st.rows_out, tiny ? 200 : 2000);
                assert_int_equal(st.bytes_in, in_len);
                if (threads[t] == 1)
                    assert_int_equal(st.redone_chunks, 0); /* serial runs know the parity */
                redone += st.redone_chunks;
                mr_run_stats_free(&st);
                assert_int_equal(got.len, want->len);
                assert_memory_equal(got.data, want->data, want->len);
                free(got.data);
            }
        free(ref_short.data);
        /* a row count asked for: the calling thread cuts (stream mode) */
        mr_options_set_int(o, MR_OPT_CHUNK_ROWS, 7);
        mr_run_stats st;
        mem_out got = { 0 };
        assert_int_equal(run_split(csv, len, len, o, &got, NULL, &st), MR_OK);
        assert_int_equal(st.split, 0);
        mr_run_stats_free(&st);
        free(got.data);
        free(ref.data);
        mr_options_free(o);
    }
    assert_true(redone > 0); /* the writer's redo path ran */
    free(csv);
    free(csv_short);
}

/* mr_run from a "pipe" with mr_io.read_into_pipe: the workers cut raw
 * blocks at their last '\n', the writer carries records whose '\n' was
 * inside quotes: the bytes are those of stream mode for any block size and
 * thread count. */
static mr_status run_piped(const char *input, size_t len, mem_in *in, mr_options *o, mem_out *out,
                           mr_error *err, mr_run_stats *stats)
{
    mr_model *m = load_json(model_json);
    mr_engine *e = NULL;
    assert_int_equal(mr_engine_create(m, o, &e, NULL), MR_OK);
    in->data = input;
    in->len = len;
    const mr_io io = { .read = mem_read, .read_cookie = in, .source = "mem.csv", .write = mem_write,
                       .write_cookie = out, .read_into_pipe = mem_read_into_pipe };
    const mr_status st = mr_run(e, &io, NULL, NULL, stats, err);
    mr_engine_free(e);
    mr_model_free(m);
    return st;
}

static void piped_csv_identical_to_stream(void **state)
{
    (void)state;
    size_t len, short_len;
    /* more than the header's read of 64 KiB, which goes to chunk 0 whole */
    char *csv = make_csv(4000, 31, &len);
    char *csv_short = make_csv(1900, 31, &short_len);
    static const int modes[] = { MR_MODE_PREDICT, MR_MODE_DESIGN };
    uint32_t redone = 0;
    for (size_t mi = 0; mi < 2; mi++) {
        mr_options *o;
        mr_options_create(&o);
        mr_options_set_int(o, MR_OPT_MODE, modes[mi]);
        mr_options_set_str(o, MR_OPT_KEEP, "id,note");
        mem_out ref = { 0 }, ref_short = { 0 };
        assert_int_equal(run(csv, len, o, &ref, NULL, NULL, 0), MR_OK);
        assert_int_equal(run(csv_short, short_len, o, &ref_short, NULL, NULL, 0), MR_OK);
        static const int threads[] = { 1, 2, 3, 8 };
        static const int chunks[] = { 1, 5, 61, 997, 65536 };
        static const size_t reads[] = { 0, 7 }; /* the "splice" moves what it can, or 7 bytes */
        for (size_t t = 0; t < 4; t++)
            for (size_t c = 0; c < 5; c++)
                for (size_t ri = 0; ri < 2; ri++) {
                    const int tiny = chunks[c] < 10;
                    if (tiny && (threads[t] == 8 || ri)) /* thousands of chunks: enough with fewer */
                        continue;
                    mr_options_set_int(o, MR_OPT_THREADS, threads[t]);
                    mr_options_set_int(o, MR_OPT_CHUNK_BYTES, chunks[c]);
                    mem_out got = { 0 };
                    mem_in in = { .max_read = reads[ri] };
                    mr_run_stats st;
                    assert_int_equal(run_piped(tiny ? csv_short : csv, tiny ? short_len : len, &in, o, &got,
                                               NULL, &st), MR_OK);
                    assert_int_equal(st.split, threads[t] > 1 ? 2 : 0); /* one thread reads */
                    assert_int_equal(st.rows_out, tiny ? 1900 : 4000);
                    assert_int_equal(st.bytes_in, tiny ? short_len : len);
                    redone += st.redone_chunks;
                    mr_run_stats_free(&st);
                    const mem_out *want = tiny ? &ref_short : &ref;
                    assert_int_equal(got.len, want->len);
                    assert_memory_equal(got.data, want->data, want->len);
                    free(got.data);
                }
        free(ref_short.data);
        free(ref.data);
        mr_options_free(o);
    }
    assert_true(redone > 0); /* records carried on: the writer's redo ran */
    free(csv_short);
    free(csv);
}

static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

/* Piped mode: an input that cannot be moved is read instead; a failure
 * while moving is an I/O error after whole chunks; a bad row and a quote
 * left open are reported at the row and line stream mode names. */
static void piped_fallback_and_errors(void **state)
{
    (void)state;
    size_t len;
    char *csv = make_csv(3000, 32, &len);
    mr_options *o;
    mr_options_create(&o);
    mr_options_set_int(o, MR_OPT_THREADS, 3);
    mr_options_set_int(o, MR_OPT_CHUNK_BYTES, 4000);
    const int fds = open_fds(); /* every pipe closed, also of chunks dropped after a failure */
    mem_out ref = { 0 };
    assert_int_equal(run(csv, len, o, &ref, NULL, NULL, 0), MR_OK);
    mem_out got = { 0 };
    mem_in in = { .not_movable = 1 };
    mr_run_stats st;
    assert_int_equal(run_piped(csv, len, &in, o, &got, NULL, &st), MR_OK);
    assert_int_equal(st.split, 0);
    mr_run_stats_free(&st);
    assert_int_equal(got.len, ref.len);
    assert_memory_equal(got.data, ref.data, ref.len);
    free(got.data);
    /* the header's read takes the first 66 calls (64 KiB and more); then
     * the blocks are moved: a failure there is an I/O error after whole
     * chunks, never taken for the end of the input */
    int piped_fails = 0;
    for (int fail_at = 2; fail_at < (int)(len / 1000) - 2; fail_at += 7) {
        mem_out part = { 0 };
        mem_in bad = { .fail_at = fail_at, .max_read = 1000 };
        mr_error err;
        mr_run_stats fst;
        assert_int_equal(run_piped(csv, len, &bad, o, &part, &err, &fst), MR_E_IO);
        assert_int_equal(err.sys_errno, EIO);
        piped_fails += fst.split == 2;
        mr_run_stats_free(&fst);
        assert_true(part.len < ref.len);
        assert_true(part.len == 0 || memcmp(part.data, ref.data, part.len) == 0);
        free(part.data);
    }
    assert_true(piped_fails >= 5);
    /* errors: a bad number after the middle; a quote opened in the last record */
    char *nan = strstr(csv + len / 2, ",NA,");
    assert_non_null(nan);
    static const char *cases[] = { ",xx,", NULL };
    for (size_t ci = 0; ci < 2; ci++) {
        char *in_csv = malloc(len + 8);
        memcpy(in_csv, csv, len);
        size_t in_len = len;
        if (cases[ci])
            memcpy(in_csv + (nan - csv), cases[ci], 4);
        else
            in_len += (size_t)sprintf(in_csv + len, "\"9,1");
        mr_options_set_int(o, MR_OPT_THREADS, 1);
        mr_error want_err, got_err;
        mem_out w1 = { 0 }, w2 = { 0 };
        const mr_status want = run(in_csv, in_len, o, &w1, &want_err, NULL, 0);
        assert_int_equal(want, MR_E_PARSE);
        for (int chunk = 1; chunk <= 8192; chunk *= 8) {
            mr_options_set_int(o, MR_OPT_THREADS, 4);
            mr_options_set_int(o, MR_OPT_CHUNK_BYTES, chunk);
            mem_in pin = { 0 };
            w2.len = 0;
            mr_run_stats pst;
            assert_int_equal(run_piped(in_csv, in_len, &pin, o, &w2, &got_err, &pst), want);
            assert_int_equal(pst.split, 2);
            mr_run_stats_free(&pst);
            assert_int_equal(got_err.row, want_err.row);
            assert_int_equal(got_err.line, want_err.line);
            assert_int_equal(got_err.column, want_err.column);
            assert_string_equal(got_err.text, want_err.text);
        }
        free(w1.data);
        free(w2.data);
        free(in_csv);
    }
    assert_int_equal(open_fds(), fds);
    free(ref.data);
    mr_options_free(o);
    free(csv);
}

/* Piped mode for fixed-width rows (.npy, raw f64): the workers cut their
 * raw blocks at row boundaries counted from the data's start; the bytes are
 * those of stream mode for any block and move size. Rows past the declared
 * count are never read; a short input and trailing bytes give stream
 * mode's error at its row; a read error while moving stays a read
 * error (not a short input). */
static void piped_binary_identical_to_stream(void **state)
{
    (void)state;
    const size_t rows = 20000; /* more than the header's read of 64 KiB */
    unsigned char hdr[256];
    const size_t hl = mr_npy_write_header(hdr, sizeof hdr, rows, 3);
    const size_t len = hl + rows * 3 * 8;
    char *buf = calloc(1, len + 64);
    memcpy(buf, hdr, hl);
    uint64_t seed = 11;
    for (size_t i = 0; i < rows * 3; i++) {
        double v = i % 3 == 0 ? 1.0 : rnd_unit(&seed) - 0.5;
        if (i % 17 == 2)
            v = NAN;
        memcpy(buf + hl + i * 8, &v, 8);
    }
    static const int fmts[] = { MR_FMT_NPY, MR_FMT_F64 };
    for (size_t fi = 0; fi < 2; fi++) {
        const char *in = fmts[fi] == MR_FMT_NPY ? buf : buf + hl; /* raw f64: the rows alone */
        const size_t in_len = fmts[fi] == MR_FMT_NPY ? len : len - hl;
        mr_options *o;
        mr_options_create(&o);
        mr_options_set_int(o, MR_OPT_INPUT_FORMAT, fmts[fi]);
        mr_options_set_int(o, MR_OPT_OUTPUT_FORMAT, MR_FMT_F64);
        mem_out ref = { 0 };
        assert_int_equal(run(in, in_len, o, &ref, NULL, NULL, 0), MR_OK);
        static const int threads[] = { 2, 3 };
        static const int chunks[] = { 5, 100, 4099, 65536 };
        static const size_t reads[] = { 0, 7 };
        for (size_t t = 0; t < 2; t++)
            for (size_t c = 0; c < 4; c++)
                for (size_t ri = 0; ri < 2; ri++) {
                    if (chunks[c] < 100 && ri) /* thousands of chunks: enough with one */
                        continue;
                    mr_options_set_int(o, MR_OPT_THREADS, threads[t]);
                    mr_options_set_int(o, MR_OPT_CHUNK_BYTES, chunks[c]);
                    mem_out got = { 0 };
                    mem_in pin = { .max_read = reads[ri] };
                    mr_run_stats st;
                    assert_int_equal(run_piped(in, in_len, &pin, o, &got, NULL, &st), MR_OK);
                    assert_int_equal(st.split, 2);
                    assert_int_equal(st.rows_out, rows);
                    assert_int_equal(st.bytes_in, in_len);
                    mr_run_stats_free(&st);
                    assert_int_equal(got.len, ref.len);
                    assert_memory_equal(got.data, ref.data, ref.len);
                    free(got.data);
                }
        /* a partial last row, rows missing (npy), trailing bytes (npy), a
         * header declaring fewer rows (npy); bad cells: pipecmp_rows.py (this
         * model takes any value) */
        for (int k = 0; k < 4; k++) {
            if (fmts[fi] == MR_FMT_F64 && (k == 1 || k == 2 || k == 3))
                continue;
            char *bad = malloc(in_len + 64);
            memcpy(bad, in, in_len);
            size_t bad_len = k == 0 ? in_len - 5 : k == 1 ? in_len - 24 : k == 2 ? in_len + 8 : in_len;
            if (k == 2)
                memset(bad + in_len, 0, 8);
            if (k == 3) {
                unsigned char h2[256];
                assert_int_equal(mr_npy_write_header(h2, sizeof h2, rows - 1000, 3), hl);
                memcpy(bad, h2, hl);
            }
            mr_options_set_int(o, MR_OPT_THREADS, 1);
            mr_error want_err, got_err;
            mem_out w1 = { 0 };
            const mr_status want = run(bad, bad_len, o, &w1, &want_err, NULL, 0);
            assert_int_equal(want, MR_E_PARSE);
            for (int chunk = 100; chunk <= 1 << 20; chunk *= 16) {
                mr_options_set_int(o, MR_OPT_THREADS, 3);
                mr_options_set_int(o, MR_OPT_CHUNK_BYTES, chunk);
                mem_in pin = { 0 };
                mem_out w2 = { 0 };
                mr_run_stats pst;
                assert_int_equal(run_piped(bad, bad_len, &pin, o, &w2, &got_err, &pst), want);
                assert_int_equal(pst.split, 2);
                mr_run_stats_free(&pst);
                assert_int_equal(got_err.row, want_err.row);
                assert_int_equal(got_err.column, want_err.column);
                assert_string_equal(got_err.text, want_err.text);
                assert_true(w2.len <= ref.len && (w2.len == 0 || memcmp(w2.data, ref.data, w2.len) == 0));
                free(w2.data);
            }
            free(w1.data);
            free(bad);
        }
        /* a read error while a block is moved (the header's read takes the
         * first 66 calls): the chunks before, then EIO, not a short input */
        int piped_fails = 0;
        for (int fail_at = 70; fail_at < 420; fail_at += 23) {
            mr_options_set_int(o, MR_OPT_THREADS, 3);
            mr_options_set_int(o, MR_OPT_CHUNK_BYTES, 30000);
            mem_out part = { 0 };
            mem_in bad = { .fail_at = fail_at, .max_read = 1000 };
            mr_error err;
            mr_run_stats st;
            assert_int_equal(run_piped(in, in_len, &bad, o, &part, &err, &st), MR_E_IO);
            assert_int_equal(err.sys_errno, EIO);
            piped_fails += st.split == 2;
            mr_run_stats_free(&st);
            assert_true(part.len < ref.len && (part.len == 0 || memcmp(part.data, ref.data, part.len) == 0));
            free(part.data);
        }
        assert_true(piped_fails >= 10);
        free(ref.data);
        mr_options_free(o);
    }
    free(buf);
}

/* Errors in split mode name the row and line a serial stream run names. */
static void split_errors_as_stream(void **state)
{
    (void)state;
    size_t len;
    char *csv = make_csv(600, 12, &len);
    char *bad = strstr(csv + len / 2, ",plain,"); /* a record after the middle */
    assert_non_null(bad);
    memcpy(bad + 1, "pl\"in", 5); /* a stray quote inside an unquoted field */
    char *nan = strstr(csv + len / 4, ",NA,");
    static const char *cases[] = { "stray quote", "bad number" };
    for (size_t ci = 0; ci < 2; ci++) {
        if (ci == 1) {
            memcpy(bad + 1, "plain", 5);
            memcpy(nan, ",zz,", 4);
        }
        mr_options *o;
        mr_options_create(&o);
        mr_error ref_err, got_err;
        mem_out ref = { 0 };
        const mr_status want = run(csv, len, o, &ref, &ref_err, NULL, 0);
        assert_int_not_equal(want, MR_OK);
        static const int threads[] = { 1, 3 };
        static const int chunks[] = { 3, 97, 4096 };
        for (size_t t = 0; t < 2; t++)
            for (size_t c = 0; c < 3; c++) {
                mr_options_set_int(o, MR_OPT_THREADS, threads[t]);
                mr_options_set_int(o, MR_OPT_CHUNK_BYTES, chunks[c]);
                mem_out got = { 0 };
                print_message("%s, %d threads, chunks of %d bytes\n", cases[ci], threads[t], chunks[c]);
                assert_int_equal(run_split(csv, len, len, o, &got, &got_err, NULL), want);
                assert_int_equal(got_err.row, ref_err.row);
                assert_int_equal(got_err.line, ref_err.line);
                assert_int_equal(got_err.column, ref_err.column);
                assert_string_equal(got_err.text, ref_err.text);
                free(got.data);
            }
        free(ref.data);
        mr_options_free(o);
    }
    free(csv);
}

/* An input shorter than the size it was opened with changed under the run:
 * an I/O error, not a shorter output. */
static void split_input_shrank(void **state)
{
    (void)state;
    size_t len;
    char *csv = make_csv(500, 13, &len);
    mr_options *o;
    mr_options_create(&o);
    mr_options_set_int(o, MR_OPT_CHUNK_BYTES, 1000);
    mr_error err;
    mem_out got = { 0 };
    assert_int_equal(run_split(csv, len, len + 5000, o, &got, &err, NULL), MR_E_IO);
    assert_non_null(strstr(err.text, "changed during the run"));
    free(got.data);
    /* bytes appended after the snapshot are not read */
    got = (mem_out){ 0 };
    mem_out ref = { 0 };
    size_t half = len / 2; /* a record boundary: a line end before an id */
    while (!(csv[half - 1] == '\n' && csv[half] >= '0' && csv[half] <= '9'))
        half++;
    assert_int_equal(run(csv, half, o, &ref, NULL, NULL, 0), MR_OK);
    assert_int_equal(run_split(csv, len, half, o, &got, NULL, NULL), MR_OK);
    assert_int_equal(got.len, ref.len);
    assert_memory_equal(got.data, ref.data, ref.len);
    free(got.data);
    free(ref.data);
    mr_options_free(o);
    free(csv);
}

static void identical_for_any_threads_and_chunks(void **state)
{
    (void)state;
    size_t len;
    char *csv = make_csv(20000, 1, &len);
    static const int modes[] = { MR_MODE_PREDICT, MR_MODE_DESIGN };
    for (size_t mi = 0; mi < 2; mi++) {
        mr_options *o;
        mr_options_create(&o);
        mr_options_set_int(o, MR_OPT_MODE, modes[mi]);
        mr_options_set_str(o, MR_OPT_KEEP, "id,note");
        mem_out ref = { 0 };
        mr_run_stats st;
        assert_int_equal(run(csv, len, o, &ref, NULL, &st, 0), MR_OK);
        assert_int_equal(st.rows_in, 20000);
        assert_int_equal(st.rows_out, 20000);
        assert_true(st.columns[0].unknown > 0);
        assert_true(st.columns[2].missing > 0);
        mr_run_stats_free(&st);
        static const int threads[] = { 1, 2, 3, 8 };
        static const int chunks[] = { 1, 7, 128, 5000, 100000 };
        for (size_t t = 0; t < 4; t++)
            for (size_t c = 0; c < 5; c++) {
                mr_options_set_int(o, MR_OPT_THREADS, threads[t]);
                mr_options_set_int(o, MR_OPT_CHUNK_ROWS, chunks[c]);
                mem_out got = { 0 };
                assert_int_equal(run(csv, len, o, &got, NULL, NULL, 1 + c * 977), MR_OK);
                assert_int_equal(got.len, ref.len);
                assert_memory_equal(got.data, ref.data, ref.len);
                free(got.data);
            }
        free(ref.data);
        mr_options_free(o);
    }
    free(csv);
}

static void error_names_first_bad_row_and_line(void **state)
{
    (void)state;
    size_t len;
    char *csv = make_csv(3000, 2, &len);
    /* corrupt row 2500's b field: find its line start */
    char *p = csv;
    size_t row = 0;
    for (; row < 2500; row++) { /* skip header + 2499 records (notes may hold newlines) */
        int q = 0;
        while (*p && (q || *p != '\n')) {
            if (*p == '"')
                q = !q;
            p++;
        }
        p++;
    }
    /* p is at the start of data row 2500: id,c,note,b,colour */
    size_t lines_before = 1;
    for (char *k = csv; k < p; k++)
        lines_before += *k == '\n';
    char *comma = strchr(p, ',');
    memcpy(comma + 1, "x", 1); /* c field now starts with 'x' */
    mr_error ref_err;
    mem_out ref = { 0 };
    mr_options *o;
    mr_options_create(&o);
    assert_int_equal(run(csv, len, o, &ref, &ref_err, NULL, 0), MR_E_PARSE);
    assert_int_equal(ref_err.row, 2500);
    assert_int_equal(ref_err.line, lines_before);
    assert_int_equal(ref_err.column, 2);
    assert_string_equal(ref_err.field, "c");
    assert_string_equal(ref_err.source, "mem.csv");
    for (int t = 1; t <= 4; t++) {
        mr_options_set_int(o, MR_OPT_THREADS, t);
        mr_options_set_int(o, MR_OPT_CHUNK_ROWS, 100);
        mem_out got = { 0 };
        mr_error err;
        assert_int_equal(run(csv, len, o, &got, &err, NULL, 333), MR_E_PARSE);
        assert_int_equal(err.row, 2500);
        assert_int_equal(err.line, lines_before);
        /* rows before the failing chunk only, whole rows, and never past it */
        assert_true(got.len == 0 || got.data[got.len - 1] == '\n');
        size_t nl = 0;
        for (size_t i = 0; i < got.len; i++)
            nl += got.data[i] == '\n';
        assert_true(nl <= 2500); /* header + at most 2499 rows */
        free(got.data);
    }
    free(ref.data);
    mr_options_free(o);
    free(csv);
}

static void nothing_written_when_first_chunk_fails(void **state)
{
    (void)state;
    const char *csv = "colour,b,c\nred,1,2\nred,abc,2\n";
    mem_out out = { 0 };
    mr_error err;
    assert_int_equal(run(csv, strlen(csv), NULL, &out, &err, NULL, 0), MR_E_PARSE);
    assert_int_equal(out.len, 0);
    assert_int_equal(err.line, 3);
    /* ragged row */
    const char *ragged = "colour,b,c\nred,1\n";
    assert_int_equal(run(ragged, strlen(ragged), NULL, &out, &err, NULL, 0), MR_E_SHAPE);
    assert_int_equal(out.len, 0);
    assert_int_equal(err.line, 2);
    /* header only: the header line alone */
    const char *hdr = "c,b,colour\n";
    assert_int_equal(run(hdr, strlen(hdr), NULL, &out, &err, NULL, 0), MR_OK);
    assert_int_equal(out.len, strlen("prediction\n"));
    free(out.data);
}

static void header_problems(void **state)
{
    (void)state;
    mem_out out = { 0 };
    mr_error err;
    assert_int_equal(run("", 0, NULL, &out, &err, NULL, 0), MR_E_PARSE);
    const char *missing = "colour,b\nred,1\n";
    assert_int_equal(run(missing, strlen(missing), NULL, &out, &err, NULL, 0), MR_E_SHAPE);
    assert_string_equal(err.field, "c");
    const char *dup = "colour,b,c,b\nred,1,2,3\n";
    assert_int_equal(run(dup, strlen(dup), NULL, &out, &err, NULL, 0), MR_E_SHAPE);
    const char *gz = "\x1f\x8b\x08\x00";
    assert_int_equal(run(gz, 4, NULL, &out, &err, NULL, 0), MR_E_PARSE);
    assert_non_null(strstr(err.text, "zcat"));
    assert_int_equal(out.len, 0);
    /* BOM, CRLF, no final newline, columns in any order, extra column */
    const char *ok = "\xEF\xBB\xBF" "extra,c,colour,b\r\nz,1.5,red,0.5\r\nz,2,blue,1";
    assert_int_equal(run(ok, strlen(ok), NULL, &out, &err, NULL, 0), MR_OK);
    assert_non_null(strstr(out.data, "prediction\n"));
    size_t nl = 0;
    for (size_t i = 0; i < out.len; i++)
        nl += out.data[i] == '\n';
    assert_int_equal(nl, 3);
    free(out.data);
}

static void npy_round_trip(void **state)
{
    (void)state;
    /* rows in feature order: colour (numeric codes never match string classes:
     * unknown → most frequent), b, c */
    const size_t rows = 1000;
    unsigned char hdr[256];
    const size_t hl = mr_npy_write_header(hdr, sizeof hdr, rows, 3);
    size_t len = hl + rows * 3 * 8;
    char *buf = malloc(len);
    memcpy(buf, hdr, hl);
    uint64_t seed = 3;
    for (size_t i = 0; i < rows * 3; i++) {
        double v = i % 3 == 0 ? 1.0 : rnd_unit(&seed) - 0.5;
        if (i % 17 == 2)
            v = NAN;
        memcpy(buf + hl + i * 8, &v, 8);
    }
    mr_options *o;
    mr_options_create(&o);
    mr_options_set_int(o, MR_OPT_OUTPUT_FORMAT, MR_FMT_NPY);
    mem_out a = { 0 }, b = { 0 };
    mr_run_stats st;
    assert_int_equal(run(buf, len, o, &a, NULL, &st, 0), MR_OK);
    assert_int_equal(st.columns[0].unknown + st.columns[0].missing, rows);
    assert_true(st.columns[0].missing > 0);
    mr_run_stats_free(&st);
    mr_npy_header h;
    size_t need;
    assert_int_equal(mr_npy_parse_header((unsigned char *)a.data, a.len, &h, &need, NULL), MR_E_PARSE);
    (void)h; /* 1-D output is not a valid *input* shape; check the length instead */
    assert_int_equal(a.len, hl + rows * 8);
    mr_options_set_int(o, MR_OPT_THREADS, 3);
    mr_options_set_int(o, MR_OPT_CHUNK_ROWS, 10);
    assert_int_equal(run(buf, len, o, &b, NULL, NULL, 100), MR_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    /* truncated data */
    mem_out c = { 0 };
    mr_error err;
    assert_int_equal(run(buf, len - 5, o, &c, &err, NULL, 0), MR_E_PARSE);
    free(a.data);
    free(b.data);
    free(c.data);
    free(buf);
    mr_options_free(o);
}

/* A file-like output for write_any_order: pwrite anywhere, from any thread. */
typedef struct any_out {
    char data[1 << 18];
    size_t len;
    pthread_mutex_t mu;
} any_out;

static int any_pwrite(void *cookie, const void *buf, size_t len, uint64_t off)
{
    any_out *o = cookie;
    if (off + len > sizeof o->data)
        return -1;
    pthread_mutex_lock(&o->mu);
    memcpy(o->data + off, buf, len);
    if (off + len > o->len)
        o->len = off + len;
    pthread_mutex_unlock(&o->mu);
    return 0;
}

static int any_write(void *cookie, const void *buf, size_t len)
{
    any_out *o = cookie;
    return any_pwrite(o, buf, len, 0); /* only the header comes this way, first */
}

/* Split binary input: rows by index, the same bytes and errors as stream
 * mode; with write_any_order the workers write .npy chunks at their offsets. */
static void split_binary_identical_to_stream(void **state)
{
    (void)state;
    const size_t rows = 1000;
    unsigned char hdr[256];
    const size_t hl = mr_npy_write_header(hdr, sizeof hdr, rows, 3);
    const size_t len = hl + rows * 3 * 8;
    char *buf = malloc(len);
    memcpy(buf, hdr, hl);
    uint64_t seed = 5;
    for (size_t i = 0; i < rows * 3; i++) {
        double v = i % 3 == 0 ? 1.0 : rnd_unit(&seed) - 0.5;
        if (i % 17 == 2)
            v = NAN;
        memcpy(buf + hl + i * 8, &v, 8);
    }
    mr_options *o;
    mr_options_create(&o);
    mr_options_set_int(o, MR_OPT_OUTPUT_FORMAT, MR_FMT_NPY);
    mem_out ref = { 0 };
    assert_int_equal(run(buf, len, o, &ref, NULL, NULL, 0), MR_OK);
    static const int threads[] = { 1, 3 };
    static const int chunks[] = { 1, 10, 333, 0 };
    for (size_t t = 0; t < 2; t++)
        for (size_t c = 0; c < 4; c++) {
            mr_options_set_int(o, MR_OPT_THREADS, threads[t]);
            mr_options_set_int(o, MR_OPT_CHUNK_ROWS, chunks[c]);
            mem_out got = { 0 };
            mr_run_stats st;
            assert_int_equal(run_split(buf, len, len, o, &got, NULL, &st), MR_OK);
            assert_int_equal(st.split, 1);
            mr_run_stats_free(&st);
            assert_int_equal(got.len, ref.len);
            assert_memory_equal(got.data, ref.data, ref.len);
            free(got.data);
            /* the workers write their own chunks */
            mr_model *m = load_json(model_json);
            mr_engine *e = NULL;
            assert_int_equal(mr_engine_create(m, o, &e, NULL), MR_OK);
            mem_in in = { .data = buf, .len = len };
            static any_out any;
            any.len = 0;
            pthread_mutex_init(&any.mu, NULL);
            const mr_io io = { .read = mem_read, .read_cookie = &in, .source = "mem.npy",
                               .write = any_write, .pwrite = any_pwrite, .write_cookie = &any,
                               .read_at = mem_read_at, .size = len, .write_any_order = 1 };
            assert_int_equal(mr_run(e, &io, NULL, NULL, NULL, NULL), MR_OK);
            pthread_mutex_destroy(&any.mu);
            mr_engine_free(e);
            mr_model_free(m);
            assert_int_equal(any.len, ref.len);
            assert_memory_equal(any.data, ref.data, ref.len);
        }
    /* truncated and over-long data: the error stream mode gives */
    const size_t cuts[] = { len - 5, len - 24, len + 8 };
    char *longer = calloc(1, len + 8);
    memcpy(longer, buf, len);
    for (size_t k = 0; k < 3; k++) {
        mr_options_set_int(o, MR_OPT_CHUNK_ROWS, 64);
        mr_error want, got;
        mem_out a = { 0 }, b = { 0 };
        const mr_status st = run(longer, cuts[k], o, &a, &want, NULL, 0);
        assert_int_equal(st, MR_E_PARSE);
        assert_int_equal(run_split(longer, cuts[k], cuts[k], o, &b, &got, NULL), st);
        assert_int_equal(got.row, want.row);
        assert_string_equal(got.text, want.text);
        assert_int_equal(a.len, b.len); /* the rows before it, written or not alike */
        free(a.data);
        free(b.data);
    }
    free(longer);
    free(ref.data);
    free(buf);
    mr_options_free(o);
}

/* With write_any_order, a CSV chunk is written by its own worker once the
 * writer has published its offset (and the quote parity it assumed is the
 * true one), else by the writer: the file is the ordered output, for split
 * and stream mode, any chunk size and thread count, wrong guesses included. */
static void chained_writes_identical(void **state)
{
    (void)state;
    size_t len;
    char *csv = make_csv(600, 21, &len);
    mr_options *o;
    mr_options_create(&o);
    mr_options_set_str(o, MR_OPT_KEEP, "id,note");
    mem_out ref = { 0 };
    assert_int_equal(run(csv, len, o, &ref, NULL, NULL, 0), MR_OK);
    assert_true(ref.len < sizeof ((any_out *)0)->data);
    static const int threads[] = { 1, 2, 4 };
    static const int chunks[] = { 7, 97, 1000, 0 };
    uint32_t redone = 0;
    for (int split = 0; split < 2; split++)
        for (size_t t = 0; t < 3; t++)
            for (size_t c = 0; c < 4; c++) {
                mr_options_set_int(o, MR_OPT_THREADS, threads[t]);
                mr_options_set_int(o, MR_OPT_CHUNK_BYTES, chunks[c]);
                mr_model *m = load_json(model_json);
                mr_engine *e = NULL;
                assert_int_equal(mr_engine_create(m, o, &e, NULL), MR_OK);
                mem_in in = { .data = csv, .len = len, .max_read = 333 };
                static any_out any;
                memset(any.data, 'X', sizeof any.data);
                any.len = 0;
                pthread_mutex_init(&any.mu, NULL);
                const mr_io io = { .read = mem_read, .read_cookie = &in, .source = "mem.csv",
                                   .write = any_write, .pwrite = any_pwrite, .write_cookie = &any,
                                   .read_at = split ? mem_read_at : NULL, .size = len, .write_any_order = 1 };
                mr_run_stats st;
                assert_int_equal(mr_run(e, &io, NULL, NULL, &st, NULL), MR_OK);
                redone += st.redone_chunks;
                assert_int_equal(st.bytes_out, ref.len);
                mr_run_stats_free(&st);
                pthread_mutex_destroy(&any.mu);
                mr_engine_free(e);
                mr_model_free(m);
                assert_int_equal(any.len, ref.len);
                assert_memory_equal(any.data, ref.data, ref.len);
            }
    assert_true(redone > 0); /* wrong guesses happened, and wrote nothing of theirs */
    free(ref.data);
    mr_options_free(o);
    free(csv);
}

/* mr_io.commit: called in ticket order after each chunk with a record
 * boundary of the input, the rows and data lines before it and the output
 * bytes that are then all written (workers writing their own chunks
 * included); a non-zero return stops the run with MR_E_IO and its errno. */
typedef struct commit_log {
    const char *csv;
    size_t len, header_end;
    const mem_out *ref;
    any_out *out;
    unsigned calls, stop_at;
    mr_commit last;
} commit_log;

static int on_commit(void *cookie, const mr_commit *c)
{
    commit_log *l = cookie;
    l->calls++;
    assert_true(c->in_offset > l->last.in_offset && c->in_offset <= l->len);
    assert_true(c->rows > l->last.rows && c->out_bytes > l->last.out_bytes);
    /* a record boundary: the rows and physical lines before it, counted here */
    uint64_t rows = 0, lines = 0;
    int q = 0;
    for (size_t i = l->header_end; i < c->in_offset; i++) {
        if (l->csv[i] == '"')
            q ^= 1;
        else if (l->csv[i] == '\n') {
            lines++;
            rows += !q;
        }
    }
    assert_int_equal(q, 0);
    assert_int_equal(l->csv[c->in_offset - 1], '\n');
    assert_int_equal(c->rows, rows);
    assert_int_equal(c->lines, lines);
    /* the output before it: the header and exactly those rows, all written */
    uint64_t out_rows = 0;
    for (size_t i = 0; i < c->out_bytes; i++)
        out_rows += l->ref->data[i] == '\n';
    assert_int_equal(out_rows, rows + 1);
    pthread_mutex_lock(&l->out->mu);
    assert_true(l->out->len >= c->out_bytes);
    assert_memory_equal(l->out->data, l->ref->data, c->out_bytes);
    pthread_mutex_unlock(&l->out->mu);
    l->last = *c;
    if (l->calls == l->stop_at) {
        errno = ECANCELED;
        return -1;
    }
    return 0;
}

static void commit_points_are_ordered_prefixes(void **state)
{
    (void)state;
    size_t len;
    char *csv = make_csv(3000, 21, &len); /* more than the header's read: piped mode has blocks */
    mr_options *o;
    mr_options_create(&o);
    mem_out ref = { 0 };
    assert_int_equal(run(csv, len, o, &ref, NULL, NULL, 0), MR_OK);
    assert_true(ref.len < sizeof ((any_out *)0)->data);
    static const int threads[] = { 1, 3 };
    static const int chunks[] = { 97, 1000 };
    for (int mode = 0; mode < 4; mode++) /* split by bytes, stream by bytes, stream by rows, piped */
        for (size_t t = 0; t < 2; t++)
            for (size_t c = 0; c < 2; c++)
                for (unsigned stop_at = 0; stop_at < 4; stop_at += 3) {
                    mr_options_set_int(o, MR_OPT_THREADS, threads[t]);
                    mr_options_set_int(o, MR_OPT_CHUNK_BYTES, chunks[c]);
                    mr_options_set_int(o, MR_OPT_CHUNK_ROWS, mode == 2 ? chunks[c] / 10 : 0);
                    mr_model *m = load_json(model_json);
                    mr_engine *e = NULL;
                    assert_int_equal(mr_engine_create(m, o, &e, NULL), MR_OK);
                    mem_in in = { .data = csv, .len = len, .max_read = 333 };
                    static any_out any;
                    memset(any.data, 'X', sizeof any.data);
                    any.len = 0;
                    pthread_mutex_init(&any.mu, NULL);
                    commit_log log = { .csv = csv, .len = len, .header_end = (size_t)(strchr(csv, '\n') + 1 - csv),
                                       .ref = &ref, .out = &any, .stop_at = stop_at };
                    const mr_io io = { .read = mem_read, .read_cookie = &in, .source = "mem.csv",
                                       .write = any_write, .pwrite = any_pwrite, .write_cookie = &any,
                                       .read_at = mode == 0 ? mem_read_at : NULL, .size = len,
                                       .write_any_order = 1, .commit = on_commit, .commit_cookie = &log,
                                       .read_into_pipe = mode == 3 ? mem_read_into_pipe : NULL };
                    mr_error err;
                    const mr_status st = mr_run(e, &io, NULL, NULL, NULL, &err);
                    pthread_mutex_destroy(&any.mu);
                    mr_engine_free(e);
                    mr_model_free(m);
                    if (stop_at) { /* stopped: no chunk after the refused commit */
                        assert_int_equal(st, MR_E_IO);
                        assert_int_equal(err.sys_errno, ECANCELED);
                        assert_int_equal(log.calls, stop_at);
                    } else { /* the last commit is the end of the input and output */
                        assert_int_equal(st, MR_OK);
                        assert_true(log.calls > 3);
                        assert_int_equal(log.last.in_offset, len);
                        assert_int_equal(log.last.rows, 3000);
                        assert_int_equal(log.last.out_bytes, ref.len);
                    }
                }
    free(ref.data);
    mr_options_free(o);
    free(csv);
}

static void io_errors(void **state)
{
    (void)state;
    size_t len;
    char *csv = make_csv(50000, 4, &len);
    mr_model *m = load_json(model_json);
    mr_engine *e = NULL;
    mr_options *o;
    mr_options_create(&o);
    mr_options_set_int(o, MR_OPT_THREADS, 2);
    assert_int_equal(mr_engine_create(m, o, &e, NULL), MR_OK);
    /* write failure (disk full) */
    mem_in in = { .data = csv, .len = len };
    mem_out out = { .limit = 100000 };
    mr_io io = { .read = mem_read, .read_cookie = &in, .source = "x", .write = mem_write, .write_cookie = &out };
    mr_error err;
    assert_int_equal(mr_run(e, &io, NULL, NULL, NULL, &err), MR_E_IO);
    assert_int_equal(err.sys_errno, ENOSPC);
    /* read failure */
    mem_in bad = { .data = csv, .len = len, .max_read = 4096, .fail_at = 20 };
    mem_out out2 = { 0 };
    io.read_cookie = &bad;
    io.write_cookie = &out2;
    assert_int_equal(mr_run(e, &io, NULL, NULL, NULL, &err), MR_E_IO);
    assert_int_equal(err.sys_errno, EIO);
    free(out.data);
    free(out2.data);
    mr_engine_free(e);
    mr_options_free(o);
    mr_model_free(m);
    free(csv);
}

static void headerless_and_options(void **state)
{
    (void)state;
    mr_options *o;
    mr_options_create(&o);
    mr_options_set_int(o, MR_OPT_HEADER, 0);
    mem_out out = { 0 };
    mr_error err;
    const char *csv = "red;1;2\nblue;NA;?\n";
    assert_int_equal(run(csv, strlen(csv), o, &out, &err, NULL, 0), MR_E_INVAL);
    mr_options_set_int(o, MR_OPT_NAMES_FROM_MODEL, 1);
    assert_int_equal(mr_options_set_str(o, MR_OPT_DELIMITER, ";"), MR_OK);
    assert_int_equal(mr_options_set_str(o, MR_OPT_NA_COLUMN, "c=?"), MR_OK);
    assert_int_equal(mr_options_set_str(o, MR_OPT_NA_OUT, ""), MR_OK);
    mr_options_set_int(o, MR_OPT_OUT_HEADER, 0);
    assert_int_equal(run(csv, strlen(csv), o, &out, &err, NULL, 0), MR_OK);
    /* row 2: b missing → NaN prediction written as the empty string */
    assert_int_equal(out.data[out.len - 1], '\n');
    assert_int_equal(out.data[out.len - 2], '\n');
    assert_int_equal(mr_options_set_str(o, MR_OPT_DELIMITER, "\""), MR_E_INVAL);
    assert_int_equal(mr_options_set_int(o, MR_OPT_THREADS, 0), MR_E_INVAL);
    assert_int_equal(mr_options_set_str(o, MR_OPT_NA_COLUMN, "nocolumn"), MR_E_INVAL);
    free(out.data);
    mr_options_free(o);
    mr_options_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identical_for_any_threads_and_chunks),
        cmocka_unit_test(error_names_first_bad_row_and_line),
        cmocka_unit_test(split_csv_identical_to_stream),
        cmocka_unit_test(split_errors_as_stream),
        cmocka_unit_test(piped_csv_identical_to_stream),
        cmocka_unit_test(piped_fallback_and_errors),
        cmocka_unit_test(piped_binary_identical_to_stream),
        cmocka_unit_test(split_input_shrank),
        cmocka_unit_test(split_binary_identical_to_stream),
        cmocka_unit_test(chained_writes_identical),
        cmocka_unit_test(nothing_written_when_first_chunk_fails),
        cmocka_unit_test(header_problems),
        cmocka_unit_test(npy_round_trip),
        cmocka_unit_test(commit_points_are_ordered_prefixes),
        cmocka_unit_test(io_errors),
        cmocka_unit_test(headerless_and_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
