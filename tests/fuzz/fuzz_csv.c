/* fuzz_csv.c — CSV input: record scanner, field splitter and mr_run.
 *
 * Input: three control bytes, then the CSV bytes.
 *   b0  read pattern (fz_reader_init: 0xff full reads, else short reads);
 *       in filler mode also the offset of the data before the 1 MiB mark
 *   b1  bits 0-1 mode (predict, design, check, predict); bits 2-3 model
 *       (strings+imputer, numeric hinges without missing, numeric codes,
 *       strings); bit 4 --keep id,note; bit 5 no output header; bit 6 filler:
 *       a fixed header and a ~1 MiB row go first, so that the data straddles
 *       the library's 1 MiB read buffer (not with bit 7); bit 7 headerless,
 *       names from model
 *   b2  bits 0-2 chunk rows (default, 1, 2, 3, 4, 7, 64, 1000); bits 3-4
 *       unknown level (mode, nan, error, mode); bit 5 delimiter ';';
 *       bit 6 NA tokens "NA,-,"; bit 7 raw f64 output
 *
 * Checks: mr_csv_scan gives the same record ends however the bytes are cut
 * and counts every '\n'; mr_csv_split agrees with a reference RFC 4180 strict
 * splitter on every record; mr_run either succeeds with exactly one output
 * record per input row (plus the header) of the right width, or fails with a
 * status, a message and only whole rows before the failing one written. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_split.h"
#include "fuzz_common.h"
#include "fuzz_models.h"
#include "marsreplay.h"

#define READ_SIZE ((size_t)1 << 20) /* stream.c's read size */

/* ---- reference scanner and splitter ---------------------------------------- */

/* Record ends as csv_split.h describes them: a '\n' outside quotes, where a
 * quote opens a quoted field only at the start of a field and "" inside is a
 * literal quote. Returns the number of ends; *in_quotes at the end. */
static size_t ref_scan(const char *b, size_t len, char delim, size_t *ends, int *in_quotes)
{
    enum { START, UNQ, Q, QSEEN } st = START;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        const char c = b[i];
        switch (st) {
        case START:
        case UNQ:
            if (c == '\n') {
                ends[n++] = i + 1;
                st = START;
            } else if (c == delim) {
                st = START;
            } else if (c == '"' && st == START) {
                st = Q;
            } else {
                st = UNQ;
            }
            break;
        case Q:
            if (c == '"')
                st = QSEEN;
            break;
        case QSEEN:
            if (c == '"')
                st = Q;
            else if (c == '\n') {
                ends[n++] = i + 1;
                st = START;
            } else
                st = c == delim ? START : UNQ;
            break;
        }
    }
    *in_quotes = st == Q;
    return n;
}

typedef struct ref_fields {
    size_t n;
    size_t start[4096], len[4096]; /* into out */
    char out[1 << 16];
} ref_fields;

/* Strict RFC 4180 splitting of one record (its '\n' removed, one trailing
 * '\r' dropped). In a record with a quote: a quote opens a field only at its
 * start, "" is a quote inside, a closing quote must be followed by the
 * delimiter or the end, and a bare '\r' or a quote in an unquoted field is
 * malformed. Returns 0, -1 (malformed) or -2 (too big for this reference). */
static int ref_split(const char *rec, size_t len, char delim, ref_fields *f)
{
    if (len && rec[len - 1] == '\r')
        len--;
    const int quoted_rec = memchr(rec, '"', len) != NULL;
    size_t i = 0, o = 0;
    f->n = 0;
    for (;;) {
        if (f->n == 4096 || o + (len - i) > sizeof f->out)
            return -2;
        f->start[f->n] = o;
        if (quoted_rec && i < len && rec[i] == '"') {
            i++;
            for (;;) {
                if (i == len)
                    return -1; /* unterminated */
                if (rec[i] == '"') {
                    if (i + 1 < len && rec[i + 1] == '"') {
                        f->out[o++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                f->out[o++] = rec[i++];
            }
            if (i < len && rec[i] != delim)
                return -1; /* junk after the closing quote */
        } else {
            for (; i < len && rec[i] != delim; i++) {
                if (quoted_rec && (rec[i] == '"' || rec[i] == '\r'))
                    return -1;
                f->out[o++] = rec[i];
            }
        }
        f->len[f->n] = o - f->start[f->n];
        f->n++;
        if (i == len)
            return 0;
        i++; /* delimiter */
    }
}

/* ---- scanner and splitter checks -------------------------------------------- */

static void check_scan_split(const char *b, size_t len, char delim, uint8_t pattern)
{
    size_t *ends = malloc((len + 1) * sizeof *ends);
    FUZZ_CHECK(ends, "oom");
    int ref_inq;
    const size_t nends = ref_scan(b, len, delim, ends, &ref_inq);
    size_t newlines = 0;
    for (size_t i = 0; i < len; i++)
        newlines += b[i] == '\n';

    /* one call over everything */
    mr_csv_scanner s;
    mr_csv_scanner_init(&s, (unsigned char)delim);
    uint64_t recs = 0, lines = 0;
    FUZZ_CHECK(mr_csv_scan(&s, b, len, SIZE_MAX, &recs, &lines) == len, "did not consume all");
    FUZZ_CHECK(recs == nends, "%llu records, reference %zu", (unsigned long long)recs, nends);
    FUZZ_CHECK(lines == newlines, "%llu lines, %zu newlines", (unsigned long long)lines, newlines);
    FUZZ_CHECK(mr_csv_scanner_in_quotes(&s) == ref_inq, "in_quotes %d, reference %d",
               mr_csv_scanner_in_quotes(&s), ref_inq);

    /* record by record, the bytes cut into random pieces */
    uint32_t rng = 0x2545f491u ^ pattern;
    mr_csv_scanner_init(&s, (unsigned char)delim);
    recs = lines = 0;
    size_t pos = 0, k = 0;
    while (pos < len) {
        size_t piece = 1 + fz_next(&rng) % (pattern & 0x80 ? 4096 : 9);
        if (piece > len - pos)
            piece = len - pos;
        const size_t end = pos + piece;
        while (pos < end) {
            const uint64_t before = recs;
            pos += mr_csv_scan(&s, b + pos, end - pos, 1, &recs, &lines);
            if (recs != before) {
                FUZZ_CHECK(recs == before + 1, "want=1 gave %llu records",
                           (unsigned long long)(recs - before));
                FUZZ_CHECK(k < nends && ends[k] == pos, "record end at %zu, reference %zu", pos,
                           k < nends ? ends[k] : (size_t)-1);
                k++;
            }
        }
    }
    FUZZ_CHECK(k == nends && lines == newlines, "piecewise: %zu records %llu lines", k,
               (unsigned long long)lines);
    FUZZ_CHECK(mr_csv_scanner_in_quotes(&s) == ref_inq, "piecewise in_quotes");

    /* every record, and the unterminated last one, through the splitter;
     * after a malformed record the splitter must still work */
    mr_csv_fields fs;
    mr_csv_fields_init(&fs);
    ref_fields *rf = malloc(sizeof *rf);
    FUZZ_CHECK(rf, "oom");
    size_t start = 0;
    for (size_t r = 0; r <= nends; r++) {
        const size_t stop = r < nends ? ends[r] - 1 : len;
        if (r == nends && start == len)
            break;
        const char *rec = b + start;
        const size_t rl = stop - start;
        start = r < nends ? ends[r] : len;
        uint32_t bad = 0;
        const mr_status st = mr_csv_split(&fs, rec, rl, (unsigned char)delim, &bad);
        const int want = ref_split(rec, rl, delim, rf);
        FUZZ_CHECK(st == MR_OK || st == MR_E_PARSE, "split status %d", st);
        if (want == -2)
            continue;
        FUZZ_CHECK((st == MR_OK) == (want == 0), "record %zu (%zu bytes): split status %d, reference %s",
                   r, rl, st, want ? "malformed" : "ok");
        if (st != MR_OK) {
            FUZZ_CHECK(bad >= 1, "no bad field");
            char probe[8] = {'"', 'p', '"', delim, 'q', '"', '"', '"'};
            FUZZ_CHECK(mr_csv_split(&fs, probe, 5, (unsigned char)delim, &bad) == MR_OK &&
                           fs.n == 2 && fs.f[0].len == 1 && fs.f[0].p[0] == 'p' &&
                           fs.f[1].len == 1 && fs.f[1].p[0] == 'q',
                       "splitter broken after a malformed record (%zu fields)", fs.n);
            FUZZ_CHECK(mr_csv_split(&fs, probe + 5, 3, (unsigned char)delim, &bad) == MR_E_PARSE,
                       "unterminated probe accepted");
            FUZZ_CHECK(mr_csv_split(&fs, probe, 5, (unsigned char)delim, &bad) == MR_OK && fs.n == 2,
                       "splitter broken after an unterminated record");
            continue;
        }
        FUZZ_CHECK(fs.n == rf->n, "record %zu: %zu fields, reference %zu", r, fs.n, rf->n);
        for (size_t i = 0; i < fs.n; i++)
            FUZZ_CHECK(fs.f[i].len == rf->len[i] &&
                           (fs.f[i].len == 0 ||
                            memcmp(fs.f[i].p, rf->out + rf->start[i], fs.f[i].len) == 0),
                       "record %zu field %zu differs", r, i);
    }
    free(rf);
    mr_csv_fields_free(&fs);
    free(ends);
}

/* ---- mr_run ------------------------------------------------------------------ */

static const char *const MODEL_TEXT[4] = {FZ_MODEL_CAT_STRINGS, FZ_MODEL_HINGES,
                                          FZ_MODEL_CAT_CODES, FZ_MODEL_CAT_STRINGS};
static const size_t MODEL_LEN[4] = {sizeof FZ_MODEL_CAT_STRINGS - 1, sizeof FZ_MODEL_HINGES - 1,
                                    sizeof FZ_MODEL_CAT_CODES - 1, sizeof FZ_MODEL_CAT_STRINGS - 1};

static const mr_model *model(int i)
{
    static mr_model *m[4];
    if (!m[i]) {
        mr_error err;
        const mr_status st = mr_model_load_buffer(MODEL_TEXT[i], MODEL_LEN[i], "model", &m[i], &err);
        FUZZ_CHECK(st == MR_OK, "embedded model %d: %s", i, err.text);
    }
    return m[i];
}

/* Filler mode: the fixed header line, and the end of the long first row. */
static char *filler_head(const mr_model *m, char delim, size_t *head_len, int header)
{
    fz_sink s = {0};
    char d[1] = {delim};
    if (header) {
        FUZZ_CHECK(fz_write(&s, "note", 4) == 0, "oom");
        for (size_t j = 0; j < mr_model_n_features(m); j++) {
            const char *n = mr_model_feature_name(m, j);
            FUZZ_CHECK(fz_write(&s, d, 1) == 0 && fz_write(&s, n, strlen(n)) == 0, "oom");
        }
        FUZZ_CHECK(fz_write(&s, d, 1) == 0 && fz_write(&s, "id\n", 3) == 0, "oom");
    }
    *head_len = s.len;
    return s.p;
}

static char *filler_tail(const mr_model *m, char delim, size_t *len, int header)
{
    fz_sink s = {0};
    char d[1] = {delim};
    for (size_t j = 0; j < mr_model_n_features(m); j++) {
        const char *v = mr_model_n_classes(m, j) ? mr_model_class_label(m, j, 0) : "1.5";
        if (header || j)
            FUZZ_CHECK(fz_write(&s, d, 1) == 0, "oom");
        FUZZ_CHECK(fz_write(&s, v, strlen(v)) == 0, "oom");
    }
    if (header)
        FUZZ_CHECK(fz_write(&s, d, 1) == 0 && fz_write(&s, "0", 1) == 0, "oom");
    FUZZ_CHECK(fz_write(&s, "\n", 1) == 0, "oom");
    *len = s.len;
    return s.p;
}

static void check_run(const uint8_t *data, size_t size)
{
    const uint8_t b0 = data[0], b1 = data[1], b2 = data[2];
    const char *csv = (const char *)data + 3;
    const size_t len = size - 3;
    static const int64_t chunks[8] = {0, 1, 2, 3, 4, 7, 64, 1000};
    const int mode = (b1 & 3) == 3 ? MR_MODE_PREDICT : b1 & 3;
    const mr_model *m = model((b1 >> 2) & 3);
    const int keep = b1 & 0x10, out_header = !(b1 & 0x20), headerless = b1 & 0x80;
    const int filler = (b1 & 0x40) && !headerless, f64 = b2 & 0x80;
    const char delim = b2 & 0x20 ? ';' : ',';

    mr_options *o;
    FUZZ_CHECK(mr_options_create(&o) == MR_OK, "oom");
    FUZZ_CHECK(mr_options_set_int(o, MR_OPT_MODE, mode) == MR_OK, "mode");
    FUZZ_CHECK(mr_options_set_int(o, MR_OPT_CHUNK_ROWS, chunks[b2 & 7]) == MR_OK, "chunk");
    FUZZ_CHECK(mr_options_set_int(o, MR_OPT_UNKNOWN_LEVEL, ((b2 >> 3) & 3) % 3) == MR_OK, "unk");
    FUZZ_CHECK(mr_options_set_int(o, MR_OPT_OUT_HEADER, out_header) == MR_OK, "outh");
    FUZZ_CHECK(mr_options_set_int(o, MR_OPT_INPUT_FORMAT, MR_FMT_CSV) == MR_OK, "fmt");
    if (f64)
        FUZZ_CHECK(mr_options_set_int(o, MR_OPT_OUTPUT_FORMAT, MR_FMT_F64) == MR_OK, "ofmt");
    if (delim != ',')
        FUZZ_CHECK(mr_options_set_str(o, MR_OPT_DELIMITER, ";") == MR_OK, "delim");
    if (b2 & 0x40)
        FUZZ_CHECK(mr_options_set_str(o, MR_OPT_NA_TOKENS, "NA,-,") == MR_OK, "na");
    if (keep)
        FUZZ_CHECK(mr_options_set_str(o, MR_OPT_KEEP, "id,note") == MR_OK, "keep");
    if (headerless) {
        FUZZ_CHECK(mr_options_set_int(o, MR_OPT_HEADER, 0) == MR_OK, "header");
        FUZZ_CHECK(mr_options_set_int(o, MR_OPT_NAMES_FROM_MODEL, 1) == MR_OK, "names");
    }
    mr_engine *e;
    mr_error err;
    FUZZ_CHECK(mr_engine_create(m, o, &e, &err) == MR_OK, "engine: %s", err.text);

    /* the input stream */
    fz_reader rd;
    fz_reader_init(&rd, b0);
    char *head = NULL, *tail = NULL;
    size_t head_len = 0, tail_len = 0, pad = 0;
    if (filler) {
        head = filler_head(m, delim, &head_len, !headerless);
        tail = filler_tail(m, delim, &tail_len, !headerless);
        pad = READ_SIZE - head_len - tail_len - b0;
        rd.rng = 0; /* the filler is 1 MiB: full reads */
        fz_reader_add(&rd, head, head_len, 0);
        fz_reader_add(&rd, NULL, pad, 'a');
        fz_reader_add(&rd, tail, tail_len, 0);
    }
    fz_reader_add(&rd, csv, len, 0);

    fz_sink out = {0};
    const mr_io io = { .read = fz_read, .read_cookie = &rd, .source = "input.csv",
                       .write = fz_write, .pwrite = fz_pwrite, .write_cookie = &out };
    mr_run_stats stats;
    const mr_status st = mr_run(e, &io, NULL, NULL, &stats, &err);
    FUZZ_CHECK(st == MR_OK || (fz_is_error_status(st) && st != MR_E_INTERNAL && st != MR_E_IO),
               "status %d: %s", st, err.text);

    /* expected rows: record ends plus an unterminated last record, less the header */
    size_t expect_rows = 0;
    if (st == MR_OK) {
        /* scan the stream as the library saw it (filler ends with '\n') */
        const char *p = csv;
        size_t n = len;
        if (!filler && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
            p += 3;
            n -= 3;
        }
        size_t *ends = malloc((n + 1) * sizeof *ends);
        FUZZ_CHECK(ends, "oom");
        int inq;
        const size_t ne = ref_scan(p, n, delim, ends, &inq);
        FUZZ_CHECK(!inq, "MR_OK with an open quote at the end");
        size_t recs = ne + (n > (ne ? ends[ne - 1] : 0));
        free(ends);
        if (filler)
            recs += 1 + (head_len > 0);
        expect_rows = recs - (headerless ? 0 : 1);
        FUZZ_CHECK(headerless || recs >= 1, "MR_OK without a header");
        FUZZ_CHECK(stats.rows_in == expect_rows && stats.rows_out == expect_rows,
                   "rows in %llu out %llu, expected %zu", (unsigned long long)stats.rows_in,
                   (unsigned long long)stats.rows_out, expect_rows);
        FUZZ_CHECK(stats.bytes_in == len + head_len + pad + tail_len, "bytes_in %llu",
                   (unsigned long long)stats.bytes_in);
    } else {
        FUZZ_CHECK(err.status == st && err.text[0], "error without status/text");
        FUZZ_CHECK(!strpbrk(err.text, "\r\n"), "error text not one line: %s", err.text);
    }
    FUZZ_CHECK(stats.bytes_out == out.len, "bytes_out %llu, wrote %zu",
               (unsigned long long)stats.bytes_out, out.len);

    const size_t nvals = mode == MR_MODE_DESIGN ? mr_model_n_terms(m) : 1;
    const size_t nkeep = keep ? 2 : 0;
    if (mode == MR_MODE_CHECK) {
        FUZZ_CHECK(out.len == 0, "check mode wrote %zu bytes", out.len);
    } else if (f64) {
        const size_t row = nvals * sizeof(double);
        if (st == MR_OK)
            FUZZ_CHECK(out.len == expect_rows * row, "f64 output %zu bytes for %zu rows", out.len,
                       expect_rows);
        else
            FUZZ_CHECK(out.len % row == 0, "partial f64 row on error");
    } else {
        size_t pos = 0, nrec = 0;
        int bad = 0;
        fz_rec rec;
        char buf[128];
        while (fz_next_record(out.p, out.len, &pos, &rec, &bad)) {
            const int is_header = out_header && nrec == 0;
            FUZZ_CHECK(!bad, "unterminated output record %zu", nrec);
            FUZZ_CHECK(rec.fields == nkeep + nvals, "output record %zu has %zu fields, expected %zu",
                       nrec, rec.fields, nkeep + nvals);
            if (is_header) {
                fz_field(&rec, nkeep, buf, sizeof buf);
                FUZZ_CHECK(mode == MR_MODE_DESIGN || strcmp(buf, "prediction") == 0, "header %s", buf);
            } else {
                for (size_t i = 0; i < nvals; i++) {
                    fz_field(&rec, nkeep + i, buf, sizeof buf);
                    FUZZ_CHECK(fz_value_ok(buf, "nan"), "bad value '%s'", buf);
                }
            }
            nrec++;
        }
        const size_t data_recs = nrec - (out_header && nrec ? 1 : 0);
        if (st == MR_OK) {
            FUZZ_CHECK(nrec == expect_rows + (out_header ? 1 : 0), "%zu output records for %zu rows",
                       nrec, expect_rows);
        } else {
            /* nothing, or the header with whole rows before the failing one */
            FUZZ_CHECK(nrec == 0 || data_recs > 0, "a failed run wrote the header alone");
            FUZZ_CHECK(err.row == 0 || data_recs < err.row, "%zu rows written, error at row %llu",
                       data_recs, (unsigned long long)err.row);
        }
    }
    mr_run_stats_free(&stats);
    fz_sink_free(&out);
    free(head);
    free(tail);
    mr_engine_free(e);
    mr_options_free(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || size > ((size_t)1 << 20))
        return 0;
    const char delim = data[2] & 0x20 ? ';' : ',';
    check_scan_split((const char *)data + 3, size - 3, delim, data[0]);
    check_run(data, size);
    return 0;
}
