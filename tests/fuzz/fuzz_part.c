/* fuzz_part.c — mr_input_part and its variants (src/input_part.c) on any
 * bytes.
 *
 * Input: the first byte picks the options (header or not, CSV or f64 or
 * auto, the checkpoint step); the rest is the input file.
 *
 * Checks, for n = 1..6 parts:
 *  - every call succeeds (reads never fail here) and the parts of a CSV are
 *    contiguous from head_end and end at the file's end; a part starts at a
 *    true record boundary (a serial walk counts the rows and lines before
 *    it, and says the quote parity there is even);
 *  - the MPI way (mr_input_part_parity + an XOR scan) and the checkpoint
 *    way (mr_input_part_checkpoints + mr_input_part_from) give the same
 *    parts as a task alone;
 *  - binary parts are whole rows that add up to the input's rows, and a
 *    .npy part's prefix parses back to its own row count. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "marsreplay.h"
#include "npy.h"

typedef struct mem {
    const uint8_t *p;
    size_t len;
} mem;

static long mem_read_at(void *cookie, void *buf, size_t cap, uint64_t off)
{
    const mem *m = cookie;
    if (off >= m->len)
        return 0;
    const size_t n = m->len - off < cap ? (size_t)(m->len - off) : cap;
    memcpy(buf, m->p + off, n);
    return (long)n;
}

typedef struct states {
    mr_part_state *s;
    size_t n, cap;
} states;

static int collect(void *ctx, const mr_part_state *st)
{
    states *v = ctx;
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 16;
        v->s = realloc(v->s, v->cap * sizeof *v->s);
        FUZZ_CHECK(v->s, "out of memory");
    }
    v->s[v->n++] = *st;
    return 0;
}

/* The truth by a serial walk from head to pos. */
static void walk(const uint8_t *b, uint64_t head, uint64_t pos, uint64_t *rows, uint64_t *lines, int *q)
{
    *rows = *lines = 0;
    *q = 0;
    for (uint64_t i = head; i < pos; i++) {
        if (b[i] == '"')
            *q ^= 1;
        if (b[i] == '\n') {
            ++*lines;
            if (!*q)
                ++*rows;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) /* the cuts' logic, not the scan's speed */
        return 0;
    const unsigned ctl = data[0];
    mem m = { data + 1, size - 1 };
    mr_options *o;
    FUZZ_CHECK(mr_options_create(&o) == MR_OK, "options");
    mr_options_set_int(o, MR_OPT_HEADER, ctl & 1);
    const int fmt = (ctl >> 1) & 3; /* 0 auto, 1 csv, 2 npy, 3 f64 */
    mr_options_set_int(o, MR_OPT_INPUT_FORMAT, fmt);
    mr_options_set_int(o, MR_OPT_COLS, 1 + ((ctl >> 3) & 3));
    const uint64_t every = 1 + (ctl >> 5) * 7;
    mr_error err;
    states cp = { 0 };
    uint64_t head = 0;
    const mr_status cst = mr_input_part_checkpoints(o, mem_read_at, &m, m.len, every, collect, &cp, &head, &err);
    for (uint64_t n = 1; n <= 6; n++) {
        uint64_t prev = 0, rows = 0;
        int scan = 0;
        for (uint64_t k = 0; k < n; k++) {
            mr_part p;
            FUZZ_CHECK(mr_input_part(o, NULL, mem_read_at, &m, m.len, k, n, NULL, &p, &err) == MR_OK, "%s",
                       err.text);
            if (p.format == MR_FMT_CSV) {
                FUZZ_CHECK(cst == MR_OK, "checkpoints of a CSV: %s", err.text);
                FUZZ_CHECK(head == p.head_end, "head_end");
                if (k == 0)
                    prev = p.head_end;
                FUZZ_CHECK(p.start == prev && p.end >= p.start && p.end <= m.len, "contiguous");
                uint64_t r, l;
                int q;
                walk(m.p, p.head_end, p.start, &r, &l, &q);
                FUZZ_CHECK(p.start == p.head_end || p.start == m.len || (!q && m.p[p.start - 1] == '\n'),
                           "a record boundary");
                FUZZ_CHECK(p.rows_before == r && p.lines_before == l, "rows/lines before");
                int mine;
                FUZZ_CHECK(mr_input_part_parity(o, mem_read_at, &m, m.len, k, n, &mine, &err) == MR_OK, "parity");
                const int parity[2] = { scan, scan ^ mine };
                scan ^= mine;
                mr_part a, c;
                FUZZ_CHECK(mr_input_part(o, NULL, mem_read_at, &m, m.len, k, n, parity, &a, &err) == MR_OK, "mpi");
                FUZZ_CHECK(a.start == p.start && a.end == p.end, "the MPI way differs");
                FUZZ_CHECK(mr_input_part_from(o, NULL, mem_read_at, &m, m.len, k, n, cp.s, cp.n, &c, &err) == MR_OK,
                           "from");
                FUZZ_CHECK(c.start == p.start && c.end == p.end && c.rows_before == p.rows_before &&
                               c.lines_before == p.lines_before,
                           "the checkpoint way differs");
                prev = p.end;
            } else if (p.whole || p.empty) {
                FUZZ_CHECK(p.whole == (k == 0) && p.empty == (k != 0), "whole/empty");
            } else {
                FUZZ_CHECK(p.rows_before == rows, "binary rows contiguous");
                rows += p.rows;
                if (p.format == MR_FMT_NPY) {
                    mr_npy_header h;
                    size_t need;
                    FUZZ_CHECK(mr_npy_parse_header(p.prefix, p.prefix_len, &h, &need, &err) == MR_OK &&
                                   h.rows == p.rows,
                               "the part's .npy header");
                }
                if (k + 1 == n)
                    FUZZ_CHECK(rows == p.total_rows && p.end == m.len, "binary rows add up");
            }
        }
        if (prev && n)
            FUZZ_CHECK(prev == m.len || prev == 0, "the CSV parts end at the end");
    }
    free(cp.s);
    mr_options_free(o);
    return 0;
}
