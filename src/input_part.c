/* input_part.c — cutting one seekable input into N contiguous parts of whole
 * records, for the ranks of an MPI job and the tasks of a job array
 * (mr_input_part in marsreplay.h). The library's own knowledge of its
 * formats, so that no caller re-derives it:
 *
 * CSV: the data region [head_end, size) (after a UTF-8 BOM and the header
 * record) is cut at raw byte points
 *     raw(k) = head_end + k * (size - head_end) / n        (k = 0..n)
 * and part k starts at the first record boundary at or after raw(k): the
 * position right after the first '\n' outside quotes at an index >=
 * raw(k) - 1 (the "anchor"), so a raw point already on a boundary stays.
 * "Outside quotes" is the parity of the '"' bytes from head_end: exact for
 * what the CSV scanner accepts (a quote opens a field, closes it or is
 * doubled inside it; a stray quote is a data error either way, reported by
 * the part that reads it).
 *
 * .npy / raw f64: rows are cut by index, lo(k) = k * rows / n; a .npy part
 * is shown to mr_run behind a header of its own rows (prefix). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "marsreplay.h"
#include "engine.h"
#include "error.h"
#include "npy.h"

#define SCAN_BLOCK ((size_t)1 << 20)

typedef struct src {
    mr_read_at_fn read_at;
    void *cookie;
    uint64_t size;
} src;

/* Read [off, off+len) unless the end comes first: bytes read, or -1. */
static long read_full(const src *s, char *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        const long n = s->read_at(s->cookie, buf + got, len - got, off + got);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (long)got;
}

typedef struct counts {
    uint64_t newlines, records;
    int in_quotes;
} counts;

static void count_buf(const char *buf, size_t len, counts *c)
{
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        const char *stop = q ? q : end;
        uint64_t nl = 0;
        for (const char *x = p; x < stop && (x = memchr(x, '\n', (size_t)(stop - x))) != NULL; x++)
            nl++;
        c->newlines += nl;
        if (!c->in_quotes)
            c->records += nl;
        if (!q)
            break;
        c->in_quotes ^= 1;
        p = q + 1;
    }
}

/* Index of the first '\n' outside quotes in buf, or len. */
static size_t find_boundary(const char *buf, size_t len, int *in_quotes)
{
    size_t i = 0;
    while (i < len) {
        const char *q = memchr(buf + i, '"', len - i);
        const size_t qi = q ? (size_t)(q - buf) : len;
        if (!*in_quotes) {
            const char *nl = memchr(buf + i, '\n', qi - i);
            if (nl)
                return (size_t)(nl - buf);
        }
        if (!q)
            break;
        *in_quotes ^= 1;
        i = qi + 1;
    }
    return len;
}

static int count_range(const src *s, uint64_t from, uint64_t to, counts *c, char *buf)
{
    while (from < to) {
        const size_t want = to - from < SCAN_BLOCK ? (size_t)(to - from) : SCAN_BLOCK;
        const long n = read_full(s, buf, want, from);
        if (n < 0)
            return -1;
        count_buf(buf, (size_t)n, c);
        if ((size_t)n < want)
            break; /* shorter than the snapshot: mr_run reports it */
        from += (uint64_t)n;
    }
    return 0;
}

/* The position after the first '\n' outside quotes at index >= from
 * (parity at from given); size when there is none. */
static int next_boundary(const src *s, uint64_t from, int in_quotes, uint64_t *boundary, char *buf)
{
    *boundary = s->size;
    size_t block = 4096; /* a boundary is usually a record away: start small, grow */
    while (from < s->size) {
        const size_t want = s->size - from < block ? (size_t)(s->size - from) : block;
        const long n = read_full(s, buf, want, from);
        if (n < 0)
            return -1;
        const size_t i = find_boundary(buf, (size_t)n, &in_quotes);
        if (i < (size_t)n) {
            *boundary = from + i + 1;
            return 0;
        }
        if ((size_t)n < want)
            break;
        from += (uint64_t)n;
        if (block < SCAN_BLOCK)
            block *= 4;
    }
    return 0;
}

static uint64_t raw_cut(uint64_t head, uint64_t size, uint64_t k, uint64_t n)
{
    if (k >= n || size <= head)
        return k >= n ? size : head;
    return head + (uint64_t)((unsigned __int128)(size - head) * k / n);
}

/* Where part k's search for its first boundary starts. */
static uint64_t anchor(uint64_t head, uint64_t size, uint64_t k, uint64_t n)
{
    if (k == 0)
        return head;
    if (k >= n)
        return size;
    const uint64_t raw = raw_cut(head, size, k, n);
    return raw > head ? raw - 1 : head;
}

static int detect_format(const src *s, const mr_options *opt)
{
    if (opt->in_fmt != MR_FMT_AUTO)
        return opt->in_fmt;
    char b[MR_NPY_MAGIC_LEN];
    const long n = read_full(s, b, sizeof b, 0);
    if (n < 0)
        return -1;
    return n == MR_NPY_MAGIC_LEN && memcmp(b, MR_NPY_MAGIC, MR_NPY_MAGIC_LEN) == 0 ? MR_FMT_NPY : MR_FMT_CSV;
}

static int csv_head_end(const src *s, const mr_options *opt, uint64_t *head, char *buf)
{
    unsigned char bom[3];
    *head = 0;
    const long n = read_full(s, (char *)bom, 3, 0);
    if (n < 0)
        return -1;
    if (n == 3 && bom[0] == 0xEF && bom[1] == 0xBB && bom[2] == 0xBF)
        *head = 3;
    return opt->header ? next_boundary(s, *head, 0, head, buf) : 0;
}

static mr_status read_error(mr_error *err, const char *what)
{
    const int e = errno;
    mr_err_set(err, MR_E_IO, "read error while cutting the input into parts (%s): %s", what, strerror(e));
    if (err)
        err->sys_errno = e;
    return MR_E_IO;
}

static mr_status part_binary(const src *s, const mr_options *opt, const mr_model *m, uint64_t k, uint64_t n,
                             mr_part *p, mr_error *err)
{
    unsigned itemsize = 8;
    uint64_t cols = opt->cols ? opt->cols : m ? mr_model_n_features(m) : 0;
    p->head_end = 0;
    if (p->format == MR_FMT_NPY) {
        unsigned char buf[4096];
        const long got = read_full(s, (char *)buf, sizeof buf, 0);
        if (got < 0)
            return read_error(err, "the .npy header");
        mr_npy_header h;
        size_t need = 0;
        mr_error ignore;
        if (mr_npy_parse_header(buf, (size_t)got, &h, &need, &ignore) != MR_OK ||
            h.header_bytes + h.rows * h.cols * (h.dtype == MR_NPY_F32 ? 4 : 8) != s->size) {
            /* not ours to judge here: part 0 shows mr_run the whole file */
            p->whole = k == 0;
            p->empty = k != 0;
            p->end = p->whole ? s->size : 0;
            return MR_OK;
        }
        itemsize = h.dtype == MR_NPY_F32 ? 4 : 8;
        cols = h.cols;
        p->head_end = h.header_bytes;
    }
    p->cols = cols;
    p->itemsize = itemsize;
    const uint64_t row_bytes = cols * itemsize;
    p->total_rows = row_bytes ? (s->size - p->head_end) / row_bytes : 0;
    const uint64_t lo = (uint64_t)((unsigned __int128)p->total_rows * k / n);
    const uint64_t hi = (uint64_t)((unsigned __int128)p->total_rows * (k + 1) / n);
    p->rows_before = lo;
    p->rows = hi - lo;
    p->start = p->head_end + lo * row_bytes;
    /* the last part also takes a partial row at the end: mr_run reports it */
    p->end = k + 1 == n ? s->size : p->head_end + hi * row_bytes;
    if (p->format == MR_FMT_NPY) {
        p->prefix_len = mr_npy_write_header_dtype(p->prefix, sizeof p->prefix, p->rows, cols,
                                                  itemsize == 4 ? MR_NPY_F32 : MR_NPY_F64);
        if (!p->prefix_len)
            return mr_err_set(err, MR_E_INTERNAL, "a part's .npy header does not fit in %zu bytes",
                                sizeof p->prefix);
    }
    return MR_OK;
}

/* The CSV part's bounds, from the quote parity at its anchor and at the
 * next part's, given (an MPI job's scan) or counted here (a shard alone,
 * which then also counts the rows and lines before it). */
static mr_status part_csv(const src *s, uint64_t k, uint64_t n, const int parity[2],
                          const mr_part_state *from, mr_part *p, char *buf, mr_error *err)
{
    const uint64_t head = p->head_end, size = s->size;
    p->start = head;
    p->end = size;
    counts before = { 0 };
    const uint64_t raw = raw_cut(head, size, k, n);
    if (k > 0 && raw > head) {
        const uint64_t a = anchor(head, size, k, n);
        uint64_t base = head;
        if (from && from->offset >= head && from->offset <= a) { /* a checkpoint: count from there */
            base = from->offset;
            before = (counts){ from->lines, from->records, from->in_quotes };
        }
        if (!parity && count_range(s, base, a, &before, buf) != 0)
            return read_error(err, "counting the records before the part");
        if (next_boundary(s, a, parity ? parity[0] : before.in_quotes, &p->start, buf) != 0)
            return read_error(err, "finding the part's first record");
        if (!parity && count_range(s, a, p->start, &before, buf) != 0)
            return read_error(err, "counting the records before the part");
    }
    p->rows_before = before.records;
    p->lines_before = before.newlines;
    if (k + 1 < n) {
        const uint64_t raw1 = raw_cut(head, size, k + 1, n);
        if (raw1 <= head) {
            p->end = head;
        } else if (raw1 - 1 < p->start) {
            p->end = p->start; /* the start already passed the next cut: empty */
        } else {
            counts mine = { 0 }; /* the parity is even at a record boundary */
            if (!parity && count_range(s, p->start, raw1 - 1, &mine, buf) != 0)
                return read_error(err, "finding the part's last record");
            if (next_boundary(s, raw1 - 1, parity ? parity[1] : mine.in_quotes, &p->end, buf) != 0)
                return read_error(err, "finding the part's last record");
        }
    }
    if (p->end < p->start)
        p->end = p->start;
    return MR_OK;
}

static mr_status begin(const mr_options *opt, mr_read_at_fn read_at, void *cookie, uint64_t size,
                       uint64_t k, uint64_t n, mr_part *p, src *s, char **buf, mr_error *err)
{
    mr_err_clear(err);
    if (!opt || !read_at || !p || n == 0 || k >= n)
        return mr_err_set(err, MR_E_INVAL, "mr_input_part: need options, a reader, a part and k < n");
    memset(p, 0, sizeof *p);
    *s = (src){ read_at, cookie, size };
    *buf = malloc(size < SCAN_BLOCK ? (size_t)size + 1 : SCAN_BLOCK); /* no read is longer than the input */
    if (!*buf)
        return mr_err_set(err, MR_E_NOMEM, "out of memory");
    p->format = detect_format(s, opt);
    if (p->format < 0)
        return read_error(err, "the format's magic");
    if (p->format == MR_FMT_CSV && csv_head_end(s, opt, &p->head_end, *buf) != 0)
        return read_error(err, "the header record");
    return MR_OK;
}

mr_status mr_input_part(const mr_options *opt, const mr_model *m, mr_read_at_fn read_at, void *cookie,
                        uint64_t size, uint64_t k, uint64_t n, const int parity[2], mr_part *p, mr_error *err)
{
    src s;
    char *buf = NULL;
    mr_status st = begin(opt, read_at, cookie, size, k, n, p, &s, &buf, err);
    if (st == MR_OK && p->format == MR_FMT_CSV)
        st = part_csv(&s, k, n, parity, NULL, p, buf, err);
    else if (st == MR_OK && p->format == MR_FMT_F64 && !opt->cols && !m)
        st = mr_err_set(err, MR_E_INVAL, "mr_input_part: raw f64 input needs MR_OPT_COLS or the model");
    else if (st == MR_OK)
        st = part_binary(&s, opt, m, k, n, p, err);
    free(buf);
    return st;
}

mr_status mr_input_part_from(const mr_options *opt, const mr_model *m, mr_read_at_fn read_at, void *cookie,
                             uint64_t size, uint64_t k, uint64_t n, const mr_part_state *states,
                             size_t nstates, mr_part *p, mr_error *err)
{
    src s;
    char *buf = NULL;
    mr_status st = begin(opt, read_at, cookie, size, k, n, p, &s, &buf, err);
    if (st == MR_OK && p->format != MR_FMT_CSV) {
        free(buf);
        return mr_input_part(opt, m, read_at, cookie, size, k, n, NULL, p, err);
    }
    /* the last checkpoint at or before part k's anchor */
    const uint64_t a = anchor(p->head_end, size, k, n);
    const mr_part_state *from = NULL;
    for (size_t i = 0; st == MR_OK && i < nstates; i++) {
        if (i && states[i].offset < states[i - 1].offset) {
            st = mr_err_set(err, MR_E_INVAL, "mr_input_part_from: checkpoints out of order");
            break;
        }
        if (states[i].offset >= p->head_end && states[i].offset <= a)
            from = &states[i];
    }
    if (st == MR_OK)
        st = part_csv(&s, k, n, NULL, from, p, buf, err);
    free(buf);
    return st;
}

mr_status mr_input_part_checkpoints(const mr_options *opt, mr_read_at_fn read_at, void *cookie, uint64_t size,
                                    uint64_t every, int (*emit)(void *ctx, const mr_part_state *state),
                                    void *ctx, uint64_t *head_end, mr_error *err)
{
    src s;
    char *buf = NULL;
    mr_part p;
    mr_status st = begin(opt, read_at, cookie, size, 0, 1, &p, &s, &buf, err);
    if (st == MR_OK && (p.format != MR_FMT_CSV || every == 0 || !emit))
        st = mr_err_set(err, MR_E_INVAL, "mr_input_part_checkpoints: CSV input, a step and a callback");
    if (head_end)
        *head_end = p.head_end;
    counts c = { 0 };
    for (uint64_t off = p.head_end; st == MR_OK && off < size; off += every) {
        const mr_part_state state = { off, c.records, c.newlines, c.in_quotes };
        if (emit(ctx, &state) != 0) {
            st = mr_err_set(err, MR_E_IO, "mr_input_part_checkpoints: the callback failed");
            break;
        }
        const uint64_t to = size - off < every ? size : off + every;
        if (count_range(&s, off, to, &c, buf) != 0)
            st = read_error(err, "counting quotes and records");
    }
    free(buf);
    return st;
}

mr_status mr_input_part_parity(const mr_options *opt, mr_read_at_fn read_at, void *cookie, uint64_t size,
                               uint64_t k, uint64_t n, int *parity, mr_error *err)
{
    src s;
    char *buf = NULL;
    mr_part p;
    mr_status st = begin(opt, read_at, cookie, size, k, n, &p, &s, &buf, err);
    counts c = { 0 };
    if (st == MR_OK && p.format == MR_FMT_CSV &&
        count_range(&s, anchor(p.head_end, size, k, n), anchor(p.head_end, size, k + 1, n), &c, buf) != 0)
        st = read_error(err, "counting quotes");
    if (parity)
        *parity = c.in_quotes;
    free(buf);
    return st;
}

mr_status mr_input_part_advance(mr_part *p, uint64_t at, uint64_t rows, uint64_t lines, mr_error *err)
{
    mr_err_clear(err);
    RETURN_IF(!p || p->whole || p->empty || at < p->start || at > p->end || rows < p->rows_before ||
                  lines < p->lines_before,
              MR_E_INVAL, err, "mr_input_part_advance: offset %llu is not inside the part",
              (unsigned long long)at);
    if (p->format != MR_FMT_CSV) {
        const uint64_t row_bytes = p->cols * p->itemsize, done = row_bytes ? (at - p->start) / row_bytes : 0;
        RETURN_IF(!row_bytes || (at - p->start) % row_bytes || rows != p->rows_before + done || done > p->rows,
                  MR_E_INVAL, err, "mr_input_part_advance: offset %llu is not a row boundary of the part",
                  (unsigned long long)at);
        p->rows -= done;
        if (p->format == MR_FMT_NPY) {
            p->prefix_len = mr_npy_write_header_dtype(p->prefix, sizeof p->prefix, p->rows, p->cols,
                                                      p->itemsize == 4 ? MR_NPY_F32 : MR_NPY_F64);
            RETURN_IF(!p->prefix_len, MR_E_INTERNAL, err, "a part's .npy header does not fit");
        }
    }
    p->start = at;
    p->rows_before = rows;
    p->lines_before = lines;
    return MR_OK;
}

size_t mr_npy_output_header(unsigned char *buf, size_t cap, uint64_t rows, uint64_t cols, int mode)
{
    return mode == MR_MODE_DESIGN ? mr_npy_write_matrix_header(buf, cap, rows, cols)
                                  : mr_npy_write_header(buf, cap, rows, 0);
}
