/* fuzz_npy.c — .npy header parser and .npy input to mr_run.
 *
 * Input: the bytes of a .npy file (no control bytes; the few options come
 * from the input length, so a seed keeps its meaning while it is mutated).
 *
 * Checks:
 *  - mr_npy_parse_header on every short prefix and around the header end
 *    agrees with the parse of the whole buffer (MR_AGAIN with a `need` that
 *    is right, never a read past the prefix: each prefix is its own heap
 *    block), messages are one line of printable ASCII or UTF-8 (no
 *    control byte: src/escape.h);
 *  - mr_npy_write_header output parses back to its own shape and keeps its
 *    length for any row count;
 *  - mr_run with MR_FMT_NPY input on a model with as many features as the
 *    array has columns (1, 2, 3 or 4; otherwise a 4-feature one): it
 *    succeeds exactly when the header is valid, the data length is exact and
 *    every cell is allowed, and then its raw f64 or .npy output equals
 *    mr_predict / mr_design on the decoded cells, bit for bit; on failure
 *    only whole, correct rows before the failing one were written. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_models.h"
#include "marsreplay.h"
#include "model.h"
#include "npy.h"

/* One line with no control byte: printable ASCII and valid UTF-8 only, no
 * C1 control (the rule of src/escape.h, checked here independently). */
static int printable_line(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        if (*s < 0x80) {
            if (*s < 0x20 || *s == 0x7f)
                return 0;
            s++;
            continue;
        }
        const int n = *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 : *s >= 0xc0 ? 2 : 0;
        if (!n || *s > 0xf4)
            return 0;
        uint32_t cp = *s & (0x7f >> n);
        for (int i = 1; i < n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        const uint32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp <= 0x9f)
            return 0;
        s += n;
    }
    return 1;
}

static mr_status parse_prefix(const uint8_t *data, size_t len, mr_npy_header *h, size_t *need,
                              mr_error *err)
{
    uint8_t *copy = malloc(len ? len : 1);
    FUZZ_CHECK(copy, "oom");
    memcpy(copy, data, len);
    *need = 0;
    const mr_status st = mr_npy_parse_header(copy, len, h, need, err);
    free(copy);
    return st;
}

static void check_prefix(const uint8_t *data, size_t len, mr_status full, const mr_npy_header *fh)
{
    mr_npy_header h;
    size_t need;
    mr_error err;
    const mr_status st = parse_prefix(data, len, &h, &need, &err);
    FUZZ_CHECK(st == MR_OK || st == MR_AGAIN || st == MR_E_PARSE, "prefix %zu: status %d", len, st);
    if (st == MR_AGAIN)
        FUZZ_CHECK(need > len, "prefix %zu: MR_AGAIN with need %zu", len, need);
    if (full == MR_OK) {
        if (len < fh->header_bytes) {
            FUZZ_CHECK(st == MR_AGAIN && need <= fh->header_bytes,
                       "prefix %zu of a %zu-byte header: status %d need %zu", len,
                       fh->header_bytes, st, need);
        } else {
            FUZZ_CHECK(st == MR_OK && h.dtype == fh->dtype && h.rows == fh->rows &&
                           h.cols == fh->cols && h.header_bytes == fh->header_bytes,
                       "prefix %zu: status %d", len, st);
        }
    } else if (full == MR_AGAIN) {
        FUZZ_CHECK(st == MR_AGAIN, "prefix %zu of a short header: status %d", len, st);
    } else {
        FUZZ_CHECK(st != MR_OK, "prefix %zu parses, the whole input does not", len);
    }
}

static void check_header(const uint8_t *data, size_t size, mr_status *full, mr_npy_header *h)
{
    size_t need;
    mr_error err;
    memset(h, 0, sizeof *h);
    *full = parse_prefix(data, size, h, &need, &err);
    FUZZ_CHECK(*full == MR_OK || *full == MR_AGAIN || *full == MR_E_PARSE, "status %d", *full);
    if (*full == MR_OK) {
        FUZZ_CHECK(h->header_bytes >= 10 && h->header_bytes <= size, "header_bytes %zu of %zu",
                   h->header_bytes, size);
        FUZZ_CHECK(h->dtype == MR_NPY_F64 || h->dtype == MR_NPY_F32, "dtype %d", (int)h->dtype);
        const uint64_t item = h->dtype == MR_NPY_F64 ? 8 : 4;
        FUZZ_CHECK(h->cols == 0 || h->rows <= UINT64_MAX / h->cols / item, "byte size overflows");
    } else if (*full == MR_AGAIN) {
        FUZZ_CHECK(need > size, "MR_AGAIN with need %zu <= %zu", need, size);
    } else {
        FUZZ_CHECK(err.status == MR_E_PARSE && err.text[0], "error without text");
        FUZZ_CHECK(printable_line(err.text), "message not one printable line: %s", err.text);
    }
    const size_t lim = size < 16 ? size : 16;
    for (size_t l = 0; l < lim; l++)
        check_prefix(data, l, *full, h);
    if (*full == MR_OK) {
        check_prefix(data, h->header_bytes - 1, *full, h);
        if (h->header_bytes < size)
            check_prefix(data, h->header_bytes + 1, *full, h);
    }
    if (size > 16)
        check_prefix(data, 16 + (size - 16) / 2, *full, h);
}

static uint64_t fnv64(const uint8_t *d, size_t n)
{
    uint64_t x = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        x = (x ^ d[i]) * 0x100000001b3u;
    return x;
}

static void check_writer(uint64_t seed)
{
    const uint64_t rows = seed >> (seed & 63);
    const uint64_t cols = (seed >> 6) % 5 == 0 ? 0 : (seed >> 9) >> ((seed >> 6) & 63);
    unsigned char buf[256];
    const size_t n = mr_npy_write_header(buf, sizeof buf, rows, cols);
    FUZZ_CHECK(n > 0 && n % 64 == 0 && n <= sizeof buf, "header length %zu", n);
    FUZZ_CHECK(mr_npy_write_header(buf, n - 1, rows, cols) == 0, "short cap accepted");
    unsigned char b2[256];
    FUZZ_CHECK(mr_npy_write_header(b2, sizeof b2, UINT64_MAX, cols) == n &&
                   mr_npy_write_header(b2, sizeof b2, 0, cols) == n,
               "length depends on the row count");
    mr_npy_header h;
    size_t need;
    mr_error err;
    const mr_status st = mr_npy_parse_header(buf, n, &h, &need, &err);
    if (cols == 0) {
        FUZZ_CHECK(st == MR_E_PARSE, "1-D header accepted");
        return;
    }
    if (rows > UINT64_MAX / cols / 8) {
        FUZZ_CHECK(st == MR_E_PARSE, "overflowing shape accepted");
        return;
    }
    FUZZ_CHECK(st == MR_OK && h.rows == rows && h.cols == cols && h.dtype == MR_NPY_F64 &&
                   h.header_bytes == n,
               "written header (%llu, %llu) reads back as status %d (%llu, %llu): %s",
               (unsigned long long)rows, (unsigned long long)cols, st,
               (unsigned long long)h.rows, (unsigned long long)h.cols, err.text);
}

/* ---- mr_run ------------------------------------------------------------------- */

static const mr_model *model_for(uint64_t cols)
{
    static const char *const text[5] = {FZ_MODEL_INTERACT, FZ_MODEL_MISSING1, FZ_MODEL_CAT_CODES,
                                        FZ_MODEL_HINGES, FZ_MODEL_INTERACT};
    static mr_model *m[5];
    const size_t i = cols >= 1 && cols <= 4 ? (size_t)cols : 0;
    if (!m[i]) {
        mr_error err;
        const mr_status st = mr_model_load_buffer(text[i], strlen(text[i]), "model", &m[i], &err);
        FUZZ_CHECK(st == MR_OK, "embedded model: %s", err.text);
    }
    return m[i];
}

/* docs/SEMANTICS.md §3/§4 for a binary cell: 0 value, -1 not allowed. */
static int decode(const mr_model *m, size_t f, double raw, int unknown, double *out)
{
    if (isnan(raw)) {
        *out = NAN;
        return m->allow_missing ? 0 : -1;
    }
    if (isinf(raw) && !m->allow_missing)
        return -1;
    const mr_encoder *enc = m->encoders[f];
    if (!enc) {
        *out = raw;
        return 0;
    }
    for (size_t k = 0; k < enc->n_classes; k++)
        if (!enc->classes[k].is_string && enc->classes[k].num == raw) {
            *out = (double)k;
            return 0;
        }
    if (unknown == MR_UNKNOWN_ERROR)
        return -1;
    *out = unknown == MR_UNKNOWN_NAN ? NAN : (double)enc->most_frequent;
    return 0;
}

static void check_run(const uint8_t *data, size_t size, mr_status hst, const mr_npy_header *h)
{
    static const int64_t chunks[5] = {0, 1, 2, 3, 5};
    const mr_model *m = model_for(hst == MR_OK ? h->cols : 0);
    const size_t nf = m->n_features, nt = m->n_terms;
    const int mode = (size / 5) % 3, unknown = (size / 15) % 3, npy_out = (size / 45) & 1;
    mr_options *o;
    FUZZ_CHECK(mr_options_create(&o) == MR_OK, "oom");
    mr_options_set_int(o, MR_OPT_INPUT_FORMAT, MR_FMT_NPY);
    mr_options_set_int(o, MR_OPT_OUTPUT_FORMAT, npy_out ? MR_FMT_NPY : MR_FMT_F64);
    mr_options_set_int(o, MR_OPT_CHUNK_ROWS, chunks[size % 5]);
    mr_options_set_int(o, MR_OPT_MODE, mode);
    mr_options_set_int(o, MR_OPT_UNKNOWN_LEVEL, unknown);
    mr_engine *e;
    mr_error err;
    FUZZ_CHECK(mr_engine_create(m, o, &e, &err) == MR_OK, "engine: %s", err.text);
    fz_reader rd;
    fz_reader_init(&rd, (uint8_t)(size * 37 + 11));
    fz_reader_add(&rd, data, size, 0);
    fz_sink out = {0};
    const mr_io io = { .read = fz_read, .read_cookie = &rd, .source = "input.npy",
                       .write = fz_write, .pwrite = fz_pwrite, .write_cookie = &out };
    mr_run_stats stats;
    const mr_status st = mr_run(e, &io, NULL, NULL, &stats, &err);

    /* what the run should do */
    int shape_ok = hst == MR_OK && h->cols == nf && nf > 0;
    size_t item = 0, avail = 0;
    uint64_t bad_row = 0, bad_col = 0; /* first cell not allowed, 1-based */
    double *x = NULL;
    size_t nrows = 0;
    if (shape_ok) {
        item = h->dtype == MR_NPY_F64 ? 8 : 4;
        avail = (size - h->header_bytes) / (nf * item);
        nrows = h->rows < avail ? (size_t)h->rows : avail; /* whole rows present */
        x = malloc((nrows ? nrows : 1) * nf * sizeof *x);
        FUZZ_CHECK(x, "oom");
        const uint8_t *p = data + h->header_bytes;
        for (size_t r = 0; r < nrows; r++)
            for (size_t f = 0; f < nf; f++, p += item) {
                double raw;
                if (item == 8) {
                    memcpy(&raw, p, 8);
                } else {
                    float fv;
                    memcpy(&fv, p, 4);
                    raw = (double)fv;
                }
                if (decode(m, f, raw, unknown, &x[r * nf + f]) != 0 && !bad_row) {
                    bad_row = r + 1;
                    bad_col = f + 1;
                }
            }
    }
    const int exact = shape_ok && h->rows <= avail && size - h->header_bytes == h->rows * nf * item;
    if (exact && !bad_row)
        FUZZ_CHECK(st == MR_OK, "valid input failed: %d %s", st, err.text);
    if (st == MR_OK) {
        FUZZ_CHECK(exact && !bad_row, "invalid input accepted");
        FUZZ_CHECK(stats.rows_out == h->rows, "rows_out %llu", (unsigned long long)stats.rows_out);
    } else {
        FUZZ_CHECK(st == MR_E_PARSE || st == MR_E_SHAPE || st == MR_E_DATA, "status %d: %s", st,
                   err.text);
        FUZZ_CHECK(err.status == st && err.text[0], "error without text");
        FUZZ_CHECK(st != MR_E_SHAPE || (hst == MR_OK && !shape_ok), "E_SHAPE: %s", err.text);
        FUZZ_CHECK(st != MR_E_DATA || (err.row == bad_row && err.column == bad_col),
                   "E_DATA at row %llu col %u, first bad cell row %llu col %llu",
                   (unsigned long long)err.row, err.column, (unsigned long long)bad_row,
                   (unsigned long long)bad_col);
        FUZZ_CHECK(st != MR_E_PARSE || hst != MR_OK || !exact, "E_PARSE on exact data: %s", err.text);
    }

    /* output: [npy header] rows * nvals doubles, equal to the in-memory API */
    const size_t nvals = mode == MR_MODE_DESIGN ? nt : 1;
    if (mode == MR_MODE_CHECK) {
        FUZZ_CHECK(out.len == 0, "check mode wrote output");
    } else if (out.len) {
        size_t off = 0;
        if (npy_out) {
            FUZZ_CHECK(out.len >= 64 && !memcmp(out.p, MR_NPY_MAGIC, MR_NPY_MAGIC_LEN), "no npy header");
            off = (size_t)(unsigned char)out.p[8] | (size_t)(unsigned char)out.p[9] << 8;
            off += 10;
            FUZZ_CHECK(off % 64 == 0 && off <= out.len, "npy header length %zu", off);
            /* the header holds the final row count */
            char shape[64];
            if (mode == MR_MODE_DESIGN && nt)
                snprintf(shape, sizeof shape, "(%llu, %zu)", (unsigned long long)h->rows, nt);
            else
                snprintf(shape, sizeof shape, "(%llu,)", (unsigned long long)h->rows);
            FUZZ_CHECK(memmem(out.p, off, shape, strlen(shape)) != NULL, "npy output lacks shape %s",
                       shape);
        }
        const size_t row = nvals * sizeof(double);
        FUZZ_CHECK(row == 0 || (out.len - off) % row == 0, "partial row written");
        const size_t wrote = row ? (out.len - off) / row : 0;
        FUZZ_CHECK(wrote <= nrows && (st == MR_OK || wrote > 0 || row == 0),
                   "%zu rows written of %zu", wrote, nrows);
        if (st != MR_OK && err.row)
            FUZZ_CHECK(wrote < err.row, "row %zu written, error at row %llu", wrote,
                       (unsigned long long)err.row);
        double *want = malloc((wrote ? wrote : 1) * (nvals ? nvals : 1) * sizeof *want);
        FUZZ_CHECK(want, "oom");
        mr_engine *ref;
        FUZZ_CHECK(mr_engine_create(m, NULL, &ref, &err) == MR_OK, "engine");
        const mr_status rs = mode == MR_MODE_DESIGN
                                 ? mr_design(ref, x, wrote, nf, want, nvals, &err)
                                 : mr_predict(ref, x, wrote, nf, want, &err);
        FUZZ_CHECK(rs == MR_OK, "reference evaluation failed");
        for (size_t i = 0; i < wrote * nvals; i++) {
            double got;
            memcpy(&got, out.p + off + i * sizeof got, sizeof got);
            FUZZ_CHECK(fz_same(got, want[i]), "value %zu: %a, in-memory %a", i, got, want[i]);
        }
        mr_engine_free(ref);
        free(want);
    }
    free(x);
    mr_run_stats_free(&stats);
    fz_sink_free(&out);
    mr_engine_free(e);
    mr_options_free(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > ((size_t)1 << 20))
        return 0;
    mr_status hst;
    mr_npy_header h;
    check_header(data, size, &hst, &h);
    check_writer(fnv64(data, size));
    check_run(data, size, hst, &h);
    return 0;
}
