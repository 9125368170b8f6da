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

#include "csv_split.h"
#include "decode.h"
#include "engine.h"
#include "error.h"
#include "model.h"
#include "npy.h"
#include "numfmt.h"
#include "ordered.h"
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
    size_t npy_header_len;
    int npy_rows_known;
    char *header;            /* output header, written with the first chunk: a run */
    size_t header_len;       /* that fails in its first chunk writes nothing at all */
} run;

/* ---- small helpers ------------------------------------------------------ */

static int grow(char **buf, size_t *cap, size_t need)
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

static int needs_quotes(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            return 1;
    return 0;
}

/* Append s as one CSV output field (quoted when needed, RFC 4180). */
static int put_field(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (grow(buf, cap, *len + 2 * n + 3) != 0)
        return -1;
    char *o = *buf + *len;
    if (!needs_quotes(s, n)) {
        memcpy(o, s, n);
        *len += n;
        return 0;
    }
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            *o++ = '"';
        *o++ = s[i];
    }
    *o++ = '"';
    *len = (size_t)(o - *buf);
    return 0;
}

static size_t put_value(char *o, double v, const char *na_out, size_t na_len)
{
    if (isnan(v)) {
        memcpy(o, na_out, na_len);
        return na_len;
    }
    return mr_format_double(v, o);
}

static mr_status read_some(run *r, char *dst, size_t cap, size_t *got, mr_error *err)
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
static mr_status fill(run *r, size_t keep_from, size_t want, mr_error *err)
{
    if (keep_from > 0) {
        memmove(r->rbuf, r->rbuf + keep_from, r->rend - keep_from);
        r->rend -= keep_from;
        r->rpos -= keep_from;
    }
    while (!r->eof && r->rend - r->rpos < want) {
        if (r->rend == r->rcap) {
            if (grow(&r->rbuf, &r->rcap, r->rcap * 2) != 0)
                return mr_err_set(err, MR_E_NOMEM, "out of memory");
        }
        size_t got;
        const size_t room = r->rcap - r->rend;
        FORWARD_IF(read_some(r, r->rbuf + r->rend, room < READ_SIZE ? room : READ_SIZE, &got, err));
        r->rend += got;
        if (got < (room < READ_SIZE ? room : READ_SIZE))
            break; /* short read only at EOF */
    }
    return MR_OK;
}

/* ---- input header ------------------------------------------------------- */

static mr_status fail_at(run *r, mr_error *err, mr_status st, uint64_t line, uint64_t row,
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

static mr_status detect_format(run *r, mr_error *err)
{
    FORWARD_IF(fill(r, 0, 16, err));
    const unsigned char *b = (const unsigned char *)r->rbuf + r->rpos;
    const size_t n = r->rend - r->rpos;
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
        mr_err_set(err, MR_E_PARSE, "input is gzip-compressed: pipe it through zcat");
        return fail_at(r, err, MR_E_PARSE, 0, 0, 0, NULL);
    }
    if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) {
        mr_err_set(err, MR_E_PARSE, "input is zstd-compressed: pipe it through zstdcat");
        return fail_at(r, err, MR_E_PARSE, 0, 0, 0, NULL);
    }
    r->in_fmt = r->o->in_fmt;
    if (r->in_fmt == MR_FMT_AUTO)
        r->in_fmt = (n >= MR_NPY_MAGIC_LEN && memcmp(b, MR_NPY_MAGIC, MR_NPY_MAGIC_LEN) == 0)
                        ? MR_FMT_NPY : MR_FMT_CSV;
    return MR_OK;
}

/* Split a comma-separated list into a NULL-terminated array of copies. */
static char **split_list(const char *s, size_t *count)
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

static void free_list(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Read the CSV header (or take the names given), map features and kept
 * columns to fields, set per-column missing tokens. */
static mr_status csv_header(run *r, mr_error *err)
{
    const mr_model *m = r->m;
    mr_csv_scanner_init(&r->scan, r->o->delim);
    /* UTF-8 BOM */
    if (r->rend - r->rpos >= 3 && memcmp(r->rbuf + r->rpos, "\xEF\xBB\xBF", 3) == 0)
        r->rpos += 3;
    char **names = NULL;
    size_t nnames = 0;
    mr_csv_fields fs;
    mr_csv_fields_init(&fs);
    mr_status st = MR_OK;
    if (r->o->header) {
        if (r->rpos == r->rend && r->eof) {
            mr_err_set(err, MR_E_PARSE, "empty input: expected a header line");
            return fail_at(r, err, MR_E_PARSE, 1, 0, 0, NULL);
        }
        /* scan one record, reading more as needed */
        size_t spos = r->rpos;
        uint64_t recs = 0, lines = 0;
        for (;;) {
            spos += mr_csv_scan(&r->scan, r->rbuf + spos, r->rend - spos, 1, &recs, &lines);
            if (recs || r->eof)
                break;
            if (spos - r->rpos > r->o->max_record) {
                mr_err_set(err, MR_E_PARSE, "header line longer than %zu bytes", r->o->max_record);
                return fail_at(r, err, MR_E_PARSE, 1, 0, 0, NULL);
            }
            const size_t off = spos - r->rpos;
            FORWARD_IF(fill(r, r->rpos, r->rend - r->rpos + READ_SIZE, err));
            spos = r->rpos + off;
        }
        if (!recs && mr_csv_scanner_in_quotes(&r->scan)) {
            mr_err_set(err, MR_E_PARSE, "unterminated quoted field in the header");
            return fail_at(r, err, MR_E_PARSE, 1, 0, 0, NULL);
        }
        size_t len = spos - r->rpos;
        if (recs)
            len--; /* drop '\n' */
        uint32_t bad = 0;
        st = mr_csv_split(&fs, r->rbuf + r->rpos, len, r->o->delim, &bad);
        if (st == MR_E_PARSE) {
            mr_err_set(err, MR_E_PARSE, "malformed quoting in the header");
            fail_at(r, err, st, 1, 0, bad, NULL);
            goto out;
        }
        if (st != MR_OK)
            goto nomem;
        nnames = fs.n;
        names = calloc(nnames + 1, sizeof *names);
        if (!names)
            goto nomem;
        for (size_t i = 0; i < nnames; i++)
            if (!(names[i] = strndup(fs.f[i].p, fs.f[i].len)))
                goto nomem;
        r->rpos = spos;
        r->lines = lines;
    } else if (r->o->names) {
        if (!(names = split_list(r->o->names, &nnames)))
            goto nomem;
    } else if (r->o->names_from_model) {
        nnames = m->n_features;
        names = calloc(nnames + 1, sizeof *names);
        if (!names)
            goto nomem;
        for (size_t i = 0; i < nnames; i++)
            if (!(names[i] = strdup(m->feature_names[i])))
                goto nomem;
    } else {
        mr_err_set(err, MR_E_INVAL, "headerless input needs column names (--names or --names-from-model)");
        st = MR_E_INVAL;
        goto out;
    }
    r->ncols = nnames;
    /* duplicate names make selection by name ambiguous */
    for (size_t i = 0; i < nnames; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0) {
                char q[96];
                mr_err_quote(q, sizeof q, names[i], strlen(names[i]));
                mr_err_set(err, MR_E_SHAPE, "duplicate column name \"%s\" (columns %zu and %zu)", q, j + 1, i + 1);
                fail_at(r, err, MR_E_SHAPE, r->o->header ? 1 : 0, 0, (uint32_t)(i + 1), names[i]);
                st = MR_E_SHAPE;
                goto out;
            }
    r->feat_col = calloc(m->n_features ? m->n_features : 1, sizeof *r->feat_col);
    if (!r->feat_col)
        goto nomem;
    for (size_t f = 0; f < m->n_features; f++) {
        size_t c = 0;
        while (c < nnames && strcmp(names[c], m->feature_names[f]) != 0)
            c++;
        if (c == nnames) {
            char q[96];
            mr_err_quote(q, sizeof q, m->feature_names[f], strlen(m->feature_names[f]));
            mr_err_set(err, MR_E_SHAPE, "model feature column \"%s\" is missing from the %s", q,
                       r->o->header ? "header" : "column names");
            fail_at(r, err, MR_E_SHAPE, r->o->header ? 1 : 0, 0, 0, m->feature_names[f]);
            st = MR_E_SHAPE;
            goto out;
        }
        r->feat_col[f] = c;
    }
    if (r->o->keep) {
        if (!(r->keep_names = split_list(r->o->keep, &r->nkeep)))
            goto nomem;
        r->keep_col = calloc(r->nkeep, sizeof *r->keep_col);
        if (!r->keep_col)
            goto nomem;
        for (size_t k = 0; k < r->nkeep; k++) {
            size_t c = 0;
            while (c < nnames && strcmp(names[c], r->keep_names[k]) != 0)
                c++;
            if (c == nnames) {
                char q[96];
                mr_err_quote(q, sizeof q, r->keep_names[k], strlen(r->keep_names[k]));
                mr_err_set(err, MR_E_SHAPE, "--keep column \"%s\" is not in the input", q);
                fail_at(r, err, MR_E_SHAPE, r->o->header ? 1 : 0, 0, 0, r->keep_names[k]);
                st = MR_E_SHAPE;
                goto out;
            }
            r->keep_col[k] = c;
        }
    }
    for (size_t i = 0; i < r->o->n_na_cols; i++) {
        const char *spec = r->o->na_cols[i];
        const char *eq = strchr(spec, '=');
        size_t c = 0;
        while (c < nnames && (strlen(names[c]) != (size_t)(eq - spec) ||
                              memcmp(names[c], spec, (size_t)(eq - spec)) != 0))
            c++;
        if (c == nnames) {
            char q[96];
            mr_err_quote(q, sizeof q, spec, (size_t)(eq - spec));
            mr_err_set(err, MR_E_INVAL, "--na-col column \"%s\" is not in the input", q);
            st = MR_E_INVAL;
            goto out;
        }
        for (size_t f = 0; f < m->n_features; f++)
            if (r->feat_col[f] == c && mr_decoder_set_na(&r->dec, f, eq + 1) != MR_OK)
                goto nomem;
    }
    goto out;
nomem:
    st = mr_err_set(err, MR_E_NOMEM, "out of memory");
out:
    free_list(names, nnames);
    mr_csv_fields_free(&fs);
    return st;
}

static mr_status binary_header(run *r, mr_error *err)
{
    const mr_model *m = r->m;
    if (r->in_fmt == MR_FMT_NPY) {
        mr_npy_header h;
        for (;;) {
            size_t need = 0;
            const mr_status st = mr_npy_parse_header((const unsigned char *)r->rbuf + r->rpos,
                                                     r->rend - r->rpos, &h, &need, err);
            if (st == MR_OK)
                break;
            if (st != MR_AGAIN || r->eof) {
                if (st == MR_AGAIN)
                    mr_err_set(err, MR_E_PARSE, "npy header: truncated");
                return fail_at(r, err, MR_E_PARSE, 0, 0, 0, NULL);
            }
            if (need > ((size_t)1 << 24)) {
                mr_err_set(err, MR_E_PARSE, "npy header: declared length %zu is too large", need);
                return fail_at(r, err, MR_E_PARSE, 0, 0, 0, NULL);
            }
            FORWARD_IF(fill(r, r->rpos, need > r->rend - r->rpos ? need : r->rend - r->rpos + 4096, err));
        }
        if (h.cols != m->n_features) {
            mr_err_set(err, MR_E_SHAPE, "npy array has %llu columns, the model has %zu features (in the model's order)",
                       (unsigned long long)h.cols, m->n_features);
            return fail_at(r, err, MR_E_SHAPE, 0, 0, 0, NULL);
        }
        r->cols = (size_t)h.cols;
        r->itemsize = h.dtype == MR_NPY_F64 ? 8 : 4;
        r->npy_rows = h.rows;
        r->rpos += h.header_bytes;
    } else {
        r->cols = r->o->cols ? r->o->cols : m->n_features;
        if (r->cols != m->n_features) {
            mr_err_set(err, MR_E_SHAPE, "raw f64 input has %zu columns, the model has %zu features", r->cols, m->n_features);
            return fail_at(r, err, MR_E_SHAPE, 0, 0, 0, NULL);
        }
        r->itemsize = 8;
        r->npy_rows = UINT64_MAX;
    }
    if (r->cols == 0) { /* a model without features: rows still need a length */
        mr_err_set(err, MR_E_SHAPE, "binary input needs at least one column");
        return fail_at(r, err, MR_E_SHAPE, 0, 0, 0, NULL);
    }
    return MR_OK;
}

/* ---- reading chunks ----------------------------------------------------- */

/* Cut the next chunk of whole records into s. Sets *n_records (0 at the end). */
static mr_status read_csv_chunk(run *r, slot *s, mr_error *err)
{
    uint64_t recs = 0, lines = 0;
    size_t spos = r->rpos;
    size_t rec_start = r->rpos;
    while (recs < r->chunk_rows) {
        const uint64_t before = recs;
        spos += mr_csv_scan(&r->scan, r->rbuf + spos, r->rend - spos, 1, &recs, &lines);
        if (recs > before) {
            rec_start = spos; /* one record per call: spos is right after its '\n' */
            continue;
        }
        if (r->eof)
            break;
        if (spos - rec_start > r->o->max_record) {
            mr_err_set(err, MR_E_PARSE, "record longer than %zu bytes (missing line ends or an unterminated quote?)",
                       r->o->max_record);
            return fail_at(r, err, MR_E_PARSE, r->lines + lines + 1, r->rows_read + recs + 1, 0, NULL);
        }
        const size_t off = spos - r->rpos, roff = rec_start - r->rpos;
        FORWARD_IF(fill(r, r->rpos, r->rend - r->rpos + READ_SIZE, err));
        spos = r->rpos + off;
        rec_start = r->rpos + roff;
    }
    if (r->eof && spos == r->rend && spos > rec_start) {
        /* a last record without '\n' */
        if (mr_csv_scanner_in_quotes(&r->scan)) {
            mr_err_set(err, MR_E_PARSE, "unterminated quoted field at end of input");
            return fail_at(r, err, MR_E_PARSE, r->lines + lines + 1, r->rows_read + recs + 1, 0, NULL);
        }
        recs++;
    }
    const size_t len = spos - r->rpos;
    if (grow(&s->in, &s->in_cap, len + 1) != 0)
        return mr_err_set(err, MR_E_NOMEM, "out of memory");
    memcpy(s->in, r->rbuf + r->rpos, len);
    s->in_len = len;
    s->first_row = r->rows_read;
    s->first_line = r->lines + 1;
    s->n_rows = (size_t)recs;
    r->rpos = spos;
    r->rows_read += recs;
    r->lines += lines;
    return MR_OK;
}

static mr_status read_binary_chunk(run *r, slot *s, mr_error *err)
{
    const size_t rowbytes = r->cols * r->itemsize;
    uint64_t want_rows = r->chunk_rows;
    if (r->npy_rows != UINT64_MAX && r->npy_rows - r->rows_read < want_rows)
        want_rows = r->npy_rows - r->rows_read;
    const size_t want = (size_t)want_rows * rowbytes;
    if (grow(&s->in, &s->in_cap, want + 1) != 0)
        return mr_err_set(err, MR_E_NOMEM, "out of memory");
    /* bytes already buffered first, then straight into the slot */
    size_t have = r->rend - r->rpos < want ? r->rend - r->rpos : want;
    memcpy(s->in, r->rbuf + r->rpos, have);
    r->rpos += have;
    if (have < want && !r->eof) {
        size_t got;
        FORWARD_IF(read_some(r, s->in + have, want - have, &got, err));
        have += got;
    }
    s->in_len = have;
    s->first_row = r->rows_read;
    s->first_line = 0;
    s->n_rows = have / rowbytes;
    if (have % rowbytes) {
        mr_err_set(err, MR_E_PARSE, "truncated input: %zu bytes after the last whole row of %zu bytes",
                   have % rowbytes, rowbytes);
        return fail_at(r, err, MR_E_PARSE, 0, r->rows_read + s->n_rows + 1, 0, NULL);
    }
    r->rows_read += s->n_rows;
    if (r->npy_rows != UINT64_MAX && s->n_rows < want_rows) {
        mr_err_set(err, MR_E_PARSE, "truncated npy data: the header declares %llu rows, the file holds %llu",
                   (unsigned long long)r->npy_rows, (unsigned long long)r->rows_read);
        return fail_at(r, err, MR_E_PARSE, 0, r->rows_read + 1, 0, NULL);
    }
    if (r->npy_rows != UINT64_MAX && r->rows_read == r->npy_rows && s->n_rows == 0) {
        /* all declared rows read: anything after them is not ours to ignore */
        FORWARD_IF(fill(r, r->rpos, 1, err));
        if (r->rend > r->rpos) {
            mr_err_set(err, MR_E_PARSE, "trailing bytes after the %llu rows the npy header declares",
                       (unsigned long long)r->npy_rows);
            return fail_at(r, err, MR_E_PARSE, 0, r->rows_read + 1, 0, NULL);
        }
    }
    return MR_OK;
}

/* ---- the worker's job ----------------------------------------------------- */

static void count_unknown(slot *s, size_t f, uint64_t row, const char *txt, size_t len)
{
    if (s->cnt.unknown[f]++ == 0) {
        s->cnt.first_unknown_row[f] = row;
        const size_t n = len < 63 ? len : 63;
        memcpy(s->cnt.first_unknown[f], txt, n);
        s->cnt.first_unknown[f][n] = '\0';
    }
}

/* Error for cell (feature f) of record `row` (1-based) on `line`. */
static void cell_error(run *r, slot *s, mr_cell code, size_t f, uint64_t line, uint64_t row,
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
    fail_at(r, err, err->status, line, row, col, r->m->feature_names[f]);
}

static int emit_rows(run *r, slot *s, work *w, size_t n)
{
    const mr_plan *p = r->e->plan;
    const int mode = r->o->mode;
    if (mode == MR_MODE_CHECK)
        return 0;
    const size_t nvals = mode == MR_MODE_DESIGN ? p->n_terms : 1;
    if (mode == MR_MODE_DESIGN)
        mr_eval_design(p, w->x, MR_BLOCK, n, w->scratch, w->vals, nvals);
    else
        mr_eval_predict(p, w->x, MR_BLOCK, n, w->scratch, w->vals);
    if (r->o->out_fmt != MR_FMT_CSV) {
        const size_t bytes = n * nvals * sizeof(double);
        if (grow(&s->out, &s->out_cap, s->out_len + bytes) != 0)
            return -1;
        memcpy(s->out + s->out_len, w->vals, bytes);
        s->out_len += bytes;
        return 0;
    }
    const char *na = r->o->na_out ? r->o->na_out : "nan";
    const size_t na_len = strlen(na);
    const size_t per_val = (na_len > MR_FMT_MAX ? na_len : MR_FMT_MAX) + 1;
    size_t kstart = 0;
    for (size_t j = 0; j < n; j++) {
        const size_t klen = r->nkeep ? w->keep_end[j] - kstart : 0;
        if (grow(&s->out, &s->out_cap, s->out_len + klen + nvals * per_val + 1) != 0)
            return -1;
        char *o = s->out + s->out_len;
        if (klen) {
            memcpy(o, w->keep + kstart, klen);
            o += klen;
        }
        kstart = r->nkeep ? w->keep_end[j] : 0;
        for (size_t i = 0; i < nvals; i++) {
            if (i)
                *o++ = ',';
            o += put_value(o, w->vals[j * nvals + i], na, na_len);
        }
        *o++ = '\n';
        s->out_len = (size_t)(o - s->out);
    }
    return 0;
}

static void job_csv(run *r, slot *s, work *w)
{
    mr_csv_scanner sc;
    mr_csv_scanner_init(&sc, r->o->delim);
    size_t pos = 0;
    uint64_t line = s->first_line;
    size_t nb = 0; /* rows in the current block */
    w->keep_len = 0;
    for (size_t i = 0; i < s->n_rows; i++) {
        uint64_t recs = 0, lines = 0;
        const size_t used = mr_csv_scan(&sc, s->in + pos, s->in_len - pos, 1, &recs, &lines);
        const size_t len = recs ? used - 1 : used; /* without '\n' */
        const uint64_t row = s->first_row + i + 1;
        uint32_t bad = 0;
        const mr_status st = mr_csv_split(&w->fs, s->in + pos, len, r->o->delim, &bad);
        if (st != MR_OK) {
            s->st = st;
            if (st == MR_E_PARSE)
                mr_err_set(&s->err, st, "malformed quoted field");
            else
                mr_err_set(&s->err, st, "out of memory");
            fail_at(r, &s->err, st, line, row, bad, NULL);
            return;
        }
        if (w->fs.n != r->ncols) {
            s->st = MR_E_SHAPE;
            mr_err_set(&s->err, MR_E_SHAPE, "expected %zu fields, found %zu", r->ncols, w->fs.n);
            fail_at(r, &s->err, MR_E_SHAPE, line, row, 0, NULL);
            return;
        }
        for (size_t f = 0; f < r->m->n_features; f++) {
            const mr_field *fl = &w->fs.f[r->feat_col[f]];
            double *x = &w->x[f * MR_BLOCK + nb];
            const mr_cell c = mr_decode_text(&r->dec, f, fl->p, fl->len, x);
            if (c == MR_CELL_VALUE)
                continue;
            if (c == MR_CELL_MISSING) {
                s->cnt.missing[f]++;
            } else if (c == MR_CELL_UNKNOWN) {
                count_unknown(s, f, row, fl->p, fl->len);
            } else {
                cell_error(r, s, c, f, line, row, (uint32_t)(r->feat_col[f] + 1), fl->p, fl->len);
                return;
            }
        }
        for (size_t k = 0; k < r->nkeep; k++) {
            const mr_field *fl = &w->fs.f[r->keep_col[k]];
            if (put_field(&w->keep, &w->keep_len, &w->keep_cap, fl->p, fl->len) != 0 ||
                grow(&w->keep, &w->keep_cap, w->keep_len + 1) != 0)
                goto nomem;
            w->keep[w->keep_len++] = ',';
        }
        w->keep_end[nb] = w->keep_len;
        pos += used;
        line += lines;
        if (++nb == MR_BLOCK || i + 1 == s->n_rows) {
            if (emit_rows(r, s, w, nb) != 0)
                goto nomem;
            nb = 0;
            w->keep_len = 0;
        }
    }
    s->rows_done = s->n_rows;
    return;
nomem:
    s->st = mr_err_set(&s->err, MR_E_NOMEM, "out of memory");
}

static void job_binary(run *r, slot *s, work *w)
{
    const size_t nf = r->m->n_features;
    size_t nb = 0;
    for (size_t i = 0; i < s->n_rows; i++) {
        const uint64_t row = s->first_row + i + 1;
        const char *rowp = s->in + i * nf * r->itemsize;
        for (size_t f = 0; f < nf; f++) {
            double v;
            if (r->itemsize == 8) {
                memcpy(&v, rowp + f * 8, 8);
            } else {
                float fv;
                memcpy(&fv, rowp + f * 4, 4);
                v = (double)fv;
            }
            double *x = &w->x[f * MR_BLOCK + nb];
            const mr_cell c = mr_decode_binary(&r->dec, f, v, x);
            if (c == MR_CELL_VALUE)
                continue;
            if (c == MR_CELL_MISSING) {
                s->cnt.missing[f]++;
            } else if (c == MR_CELL_UNKNOWN) {
                char t[32];
                const size_t tl = mr_format_double(v, t);
                count_unknown(s, f, row, t, tl);
            } else {
                char t[32];
                const size_t tl = mr_format_double(v, t);
                cell_error(r, s, c, f, 0, row, (uint32_t)(f + 1), t, tl);
                return;
            }
        }
        if (++nb == MR_BLOCK || i + 1 == s->n_rows) {
            if (emit_rows(r, s, w, nb) != 0) {
                s->st = mr_err_set(&s->err, MR_E_NOMEM, "out of memory");
                return;
            }
            nb = 0;
        }
    }
    s->rows_done = s->n_rows;
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
    if (r->in_fmt == MR_FMT_CSV)
        job_csv(r, s, w);
    else
        job_binary(r, s, w);
}

/* ---- setup and teardown ----------------------------------------------------- */

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
        w->x = malloc(nf * MR_BLOCK * sizeof *w->x);
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
    free_list(r->keep_names, r->nkeep);
    mr_decoder_free(&r->dec);
}

/* ---- output ---------------------------------------------------------------- */

/* A failed write names the output, not the input. */
static mr_status write_failed(const run *r, mr_error *err)
{
    const int e = errno;
    mr_err_clear(err);
    mr_err_set(err, MR_E_IO, "write error: %s", strerror(e));
    if (err) {
        err->sys_errno = e;
        mr_err_field(err->source, sizeof err->source, r->io->sink ? r->io->sink : "<output>");
    }
    return MR_E_IO;
}

static mr_status out_write(run *r, const void *buf, size_t len, mr_error *err)
{
    if (!len || r->o->mode == MR_MODE_CHECK)
        return MR_OK;
    if (r->io->write(r->io->write_cookie, buf, len) != 0)
        return write_failed(r, err);
    r->out_bytes += len;
    return MR_OK;
}

/* Keep the output header until the first chunk (or the end) is written. */
static mr_status hold_header(run *r, const void *buf, size_t len, mr_error *err)
{
    r->header = malloc(len ? len : 1);
    RETURN_IF(!r->header, MR_E_NOMEM, err, "out of memory");
    memcpy(r->header, buf, len);
    r->header_len = len;
    return MR_OK;
}

static mr_status flush_header(run *r, mr_error *err)
{
    if (!r->header)
        return MR_OK;
    const mr_status st = out_write(r, r->header, r->header_len, err);
    free(r->header);
    r->header = NULL;
    return st;
}

static mr_status write_header(run *r, mr_error *err)
{
    const mr_options *o = r->o;
    if (o->mode == MR_MODE_CHECK)
        return MR_OK;
    const size_t nvals = o->mode == MR_MODE_DESIGN ? r->m->n_terms : 1;
    if (o->out_fmt == MR_FMT_NPY) {
        unsigned char h[256];
        r->npy_rows_known = r->in_fmt == MR_FMT_NPY;
        RETURN_IF(!r->npy_rows_known && !r->io->pwrite, MR_E_INVAL, err,
                  "npy output of unknown length needs a seekable output file (-o FILE) or .npy input");
        r->npy_header_len = mr_npy_write_header(h, sizeof h, r->npy_rows_known ? r->npy_rows : 0,
                                                o->mode == MR_MODE_DESIGN ? nvals : 0);
        RETURN_IF(!r->npy_header_len, MR_E_INTERNAL, err, "npy header does not fit");
        return hold_header(r, h, r->npy_header_len, err);
    }
    if (o->out_fmt != MR_FMT_CSV || !o->out_header)
        return MR_OK;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int bad = 0;
    for (size_t k = 0; k < r->nkeep; k++) {
        bad |= put_field(&buf, &len, &cap, r->keep_names[k], strlen(r->keep_names[k]));
        bad |= grow(&buf, &cap, len + 1);
        if (!bad)
            buf[len++] = ',';
    }
    for (size_t i = 0; i < nvals && !bad; i++) {
        const char *name = o->mode == MR_MODE_DESIGN ? r->m->term_names[i] : "prediction";
        if (i)
            buf[len++] = ',';
        bad |= put_field(&buf, &len, &cap, name, strlen(name));
        bad |= grow(&buf, &cap, len + 2);
    }
    if (bad) {
        free(buf);
        return mr_err_set(err, MR_E_NOMEM, "out of memory");
    }
    buf[len++] = '\n';
    const mr_status st = hold_header(r, buf, len, err);
    free(buf);
    return st;
}

static mr_status finish_npy(run *r, mr_error *err)
{
    if (r->o->out_fmt != MR_FMT_NPY || r->o->mode == MR_MODE_CHECK || r->npy_rows_known)
        return MR_OK;
    unsigned char h[256];
    const size_t nvals = r->o->mode == MR_MODE_DESIGN ? r->m->n_terms : 0;
    const size_t hl = mr_npy_write_header(h, sizeof h, r->rows_out, nvals);
    RETURN_IF(hl != r->npy_header_len, MR_E_INTERNAL, err, "npy header length changed");
    if (r->io->pwrite(r->io->write_cookie, h, hl, 0) != 0)
        return write_failed(r, err);
    return MR_OK;
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
    FORWARD_IF(flush_header(r, err));
    FORWARD_IF(out_write(r, s->out, s->out_len, err));
    r->rows_out += s->rows_done;
    return MR_OK;
}

static mr_status read_chunk(run *r, slot *s, mr_error *err)
{
    return r->in_fmt == MR_FMT_CSV ? read_csv_chunk(r, s, err) : read_binary_chunk(r, s, err);
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
            if (read_st != MR_OK || s->n_rows == 0) {
                done_reading = 1;
                continue;
            }
            if (q) {
                mr_ordered_submit(q, next_read++);
            } else {
                job(r, next_read & (r->nslots - 1), 0);
                next_read++;
            }
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
        st = r.in_fmt == MR_FMT_CSV ? csv_header(&r, err) : binary_header(&r, err);
    if (st == MR_OK && r.in_fmt != MR_FMT_CSV && r.o->keep)
        st = mr_err_set(err, MR_E_INVAL, "--keep needs CSV input");
    unsigned threads = e->opt.threads ? e->opt.threads : 1;
    mr_ordered *q = NULL;
    if (st == MR_OK) {
        r.chunk_rows = default_chunk_rows(&r);
        st = alloc_pipeline(&r, threads);
        if (st != MR_OK)
            mr_err_set(err, st, "out of memory");
    }
    if (st == MR_OK)
        st = write_header(&r, err);
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
        st = flush_header(&r, err); /* zero rows: the header alone */
    if (st == MR_OK)
        st = finish_npy(&r, err);
    if (stats) {
        stats->rows_in = r.rows_read;
        stats->rows_out = r.rows_out;
        stats->bytes_in = r.bytes_in;
        stats->bytes_out = r.out_bytes;
        stats->threads = threads;
        stats->buffer_bytes = pipeline_bytes(&r);
    }
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
