/* test_input_part.c — mr_input_part (src/input_part.c): CSV cut points with
 * quoted newlines across them, a job-array task alone and an MPI rank from
 * the parities agreeing, edge cases, binary row ranges and the .npy part
 * headers, and read errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marsreplay.h"
#include "npy.h"

typedef struct mem {
    const char *p;
    size_t len;
    int fail;                 /* fail reads at or after this offset (0: never) */
} mem;

static long mem_read_at(void *cookie, void *buf, size_t cap, uint64_t off)
{
    const mem *m = cookie;
    if (m->fail && off + cap > (uint64_t)m->fail) {
        errno = EIO;
        return -1;
    }
    if (off >= m->len)
        return 0;
    const size_t n = m->len - off < cap ? (size_t)(m->len - off) : cap;
    memcpy(buf, m->p + off, n);
    return (long)n;
}

static mr_options *csv_opts(int header)
{
    mr_options *o;
    assert_int_equal(mr_options_create(&o), MR_OK);
    mr_options_set_int(o, MR_OPT_HEADER, header);
    return o;
}

/* A CSV with quoted newlines everywhere. */
static char *make_csv(size_t rows, size_t *len)
{
    size_t cap = 64 + rows * 64, n = 0;
    char *b = malloc(cap);
    if (!b)
        abort(); /* (assert_non_null is not known to stop here: -Wformat-overflow) */
    n += (size_t)sprintf(b, "\"head\ner\",y\n");
    uint64_t s = 12345;
    for (size_t i = 0; i < rows; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        switch ((s >> 33) % 5) {
        case 0: n += (size_t)sprintf(b + n, "\"two\nlines\",%zu\n", i); break;
        case 1: n += (size_t)sprintf(b + n, "\"q\"\"\n\"\"\",%zu\n", i); break;
        case 2: n += (size_t)sprintf(b + n, "\"\n\n\n\",%zu\n", i); break;
        case 3: n += (size_t)sprintf(b + n, "plain,%zu\r\n", i); break;
        default: n += (size_t)sprintf(b + n, ",%zu\n", i); break;
        }
    }
    *len = n;
    return b;
}

/* The truth, by a plain serial walk: records and lines before pos, and
 * whether pos is a record boundary. */
static int is_boundary(const char *b, size_t len, uint64_t pos, uint64_t d0, uint64_t *rows, uint64_t *lines)
{
    int q = 0;
    *rows = *lines = 0;
    for (uint64_t i = d0; i < pos; i++) {
        if (b[i] == '"')
            q ^= 1;
        if (b[i] == '\n') {
            ++*lines;
            if (!q)
                ++*rows;
        }
    }
    return pos == d0 || pos == len || (b[pos - 1] == '\n' && !q);
}

static void test_csv_cuts_quoted_newlines(void **state)
{
    (void)state;
    size_t len;
    char *b = make_csv(400, &len);
    mem m = { b, len, 0 };
    mr_options *o = csv_opts(1);
    mr_error err;
    for (uint64_t n = 1; n <= 40; n++) {
        uint64_t prev_end = 12; /* after the header with its quoted newline */
        int scan = 0;           /* the XOR scan of the parities, as MPI ranks make it */
        for (uint64_t k = 0; k < n; k++) {
            mr_part p, q;
            assert_int_equal(mr_input_part(o, NULL, mem_read_at, &m, len, k, n, NULL, &p, &err), MR_OK);
            assert_int_equal(p.format, MR_FMT_CSV);
            assert_int_equal(p.head_end, 12);
            assert_int_equal(p.start, prev_end); /* contiguous: nothing lost or doubled */
            assert_true(p.end >= p.start);
            uint64_t rows, lines;
            assert_true(is_boundary(b, len, p.start, 12, &rows, &lines));
            assert_int_equal(p.rows_before, rows);
            assert_int_equal(p.lines_before, lines);
            int mine;
            assert_int_equal(mr_input_part_parity(o, mem_read_at, &m, len, k, n, &mine, &err), MR_OK);
            const int parity[2] = { scan, scan ^ mine };
            assert_int_equal(mr_input_part(o, NULL, mem_read_at, &m, len, k, n, parity, &q, &err), MR_OK);
            assert_int_equal(q.start, p.start);
            assert_int_equal(q.end, p.end);
            scan ^= mine;
            prev_end = p.end;
        }
        assert_int_equal(prev_end, len);
    }
    mr_options_free(o);
    free(b);
}

static int collect(void *ctx, const mr_part_state *st)
{
    mr_part_state **next = ctx;
    *(*next)++ = *st;
    return 0;
}

/* From an index's checkpoints: the same parts and counts as counting from the start */
static void test_csv_from_checkpoints(void **state)
{
    (void)state;
    size_t len;
    char *b = make_csv(600, &len);
    mem m = { b, len, 0 };
    mr_options *o = csv_opts(1);
    mr_error err;
    for (uint64_t every = 7; every < len; every *= 3) {
        mr_part_state *states = calloc(len / every + 2, sizeof *states), *next = states;
        uint64_t head;
        assert_int_equal(mr_input_part_checkpoints(o, mem_read_at, &m, len, every, collect, &next, &head, &err),
                         MR_OK);
        assert_int_equal(head, 12);
        assert_int_equal((size_t)(next - states), (len - 12 + every - 1) / every);
        for (uint64_t n = 1; n <= 17; n += 4)
            for (uint64_t k = 0; k < n; k++) {
                mr_part a, c;
                assert_int_equal(mr_input_part(o, NULL, mem_read_at, &m, len, k, n, NULL, &a, &err), MR_OK);
                assert_int_equal(mr_input_part_from(o, NULL, mem_read_at, &m, len, k, n, states,
                                                    (size_t)(next - states), &c, &err), MR_OK);
                assert_int_equal(c.start, a.start);
                assert_int_equal(c.end, a.end);
                assert_int_equal(c.rows_before, a.rows_before);
                assert_int_equal(c.lines_before, a.lines_before);
            }
        free(states);
    }
    mr_options_free(o);
    free(b);
}

static void test_csv_edge_cases(void **state)
{
    (void)state;
    /* header only; one row without a final newline; BOM without header; an
     * unterminated quote (everything after it goes to part 0) */
    const char *cases[] = { "a,b\n", "a,b\n1,2", ("\xEF\xBB\xBF" "1,2\n3,4\n"), "a\n\"never closed\n1\n2\n", "" };
    const int header[] = { 1, 1, 0, 1, 1 };
    const uint64_t head[] = { 4, 4, 3, 2, 0 };
    mr_error err;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const size_t len = strlen(cases[i]);
        mem m = { cases[i], len, 0 };
        mr_options *o = csv_opts(header[i]);
        for (uint64_t n = 1; n <= 9; n++) {
            uint64_t prev = head[i];
            for (uint64_t k = 0; k < n; k++) {
                mr_part p;
                assert_int_equal(mr_input_part(o, NULL, mem_read_at, &m, len, k, n, NULL, &p, &err), MR_OK);
                assert_int_equal(p.head_end, head[i]);
                assert_int_equal(p.start, prev);
                prev = p.end;
            }
            assert_int_equal(prev, len);
        }
        if (i == 3) {
            mr_part p;
            assert_int_equal(mr_input_part(o, NULL, mem_read_at, &m, len, 0, 4, NULL, &p, &err), MR_OK);
            assert_int_equal(p.end, len);
        }
        mr_options_free(o);
    }
}

static void test_binary_rows_and_npy_prefix(void **state)
{
    (void)state;
    mr_error err;
    mr_model *model;
    const char *json = "{\"modelspec_version\": 1}"; /* only needed for f64's feature count: use MR_OPT_COLS */
    (void)json;
    model = NULL;
    for (int itemsize = 4; itemsize <= 8; itemsize += 4) {
        for (uint64_t rows = 0; rows < 23; rows += 5) {
            const uint64_t cols = 3;
            unsigned char h[256];
            const size_t hl = mr_npy_write_header_dtype(h, sizeof h, rows, cols, itemsize == 4 ? MR_NPY_F32 : MR_NPY_F64);
            const size_t len = hl + rows * cols * (size_t)itemsize;
            char *b = calloc(1, len + 1);
            memcpy(b, h, hl);
            mem m = { b, len, 0 };
            mr_options *o;
            assert_int_equal(mr_options_create(&o), MR_OK);
            for (uint64_t n = 1; n <= 7; n++) {
                uint64_t prev = 0;
                for (uint64_t k = 0; k < n; k++) {
                    mr_part p;
                    assert_int_equal(mr_input_part(o, model, mem_read_at, &m, len, k, n, NULL, &p, &err), MR_OK);
                    assert_int_equal(p.format, MR_FMT_NPY);
                    assert_false(p.whole);
                    assert_int_equal(p.total_rows, rows);
                    assert_int_equal(p.rows_before, prev);
                    assert_int_equal(p.start, hl + prev * cols * (uint64_t)itemsize);
                    assert_int_equal(p.end - p.start, p.rows * cols * (uint64_t)itemsize);
                    mr_npy_header ph;
                    size_t need;
                    assert_int_equal(mr_npy_parse_header(p.prefix, p.prefix_len, &ph, &need, &err), MR_OK);
                    assert_int_equal(ph.rows, p.rows);
                    assert_int_equal(ph.cols, cols);
                    assert_int_equal(ph.dtype, itemsize == 4 ? MR_NPY_F32 : MR_NPY_F64);
                    prev += p.rows;
                }
                assert_int_equal(prev, rows);
            }
            /* a size that does not fit the header: part 0 reads it whole, the others nothing */
            mem bad = { b, len + 1, 0 };
            mr_part p0, p1;
            assert_int_equal(mr_input_part(o, model, mem_read_at, &bad, len + 1, 0, 2, NULL, &p0, &err), MR_OK);
            assert_int_equal(mr_input_part(o, model, mem_read_at, &bad, len + 1, 1, 2, NULL, &p1, &err), MR_OK);
            assert_true(p0.whole && !p0.empty && p0.end == len + 1);
            assert_true(!p1.whole && p1.empty);
            /* raw f64 by MR_OPT_COLS: rows by index, the last part takes a partial row */
            mr_options_set_int(o, MR_OPT_INPUT_FORMAT, MR_FMT_F64);
            mr_options_set_int(o, MR_OPT_COLS, 2);
            mem raw = { b, 16 * 10 + 5, 0 };
            mr_part r;
            assert_int_equal(mr_input_part(o, model, mem_read_at, &raw, raw.len, 2, 3, NULL, &r, &err), MR_OK);
            assert_int_equal(r.format, MR_FMT_F64);
            assert_int_equal(r.total_rows, 10);
            assert_int_equal(r.rows_before, 6);
            assert_int_equal(r.start, 6 * 16);
            assert_int_equal(r.end, raw.len);
            mr_options_free(o);
            free(b);
        }
    }
    /* the output header: the same length whatever the row count */
    unsigned char h[256];
    assert_int_equal(mr_npy_output_header(h, sizeof h, 0, 0, MR_MODE_PREDICT),
                     mr_npy_output_header(h, sizeof h, UINT64_MAX, 0, MR_MODE_PREDICT));
    assert_int_equal(mr_npy_output_header(h, sizeof h, 5, 17, MR_MODE_DESIGN) % 64, 0);
    assert_int_equal(mr_npy_output_header(h, 10, 5, 17, MR_MODE_DESIGN), 0);
    /* a design of one term is (rows, 1), of none (rows, 0): what mr_run writes */
    mr_npy_header ph;
    size_t need;
    mr_error e2;
    const size_t l1 = mr_npy_output_header(h, sizeof h, 5, 1, MR_MODE_DESIGN);
    assert_int_equal(mr_npy_parse_header(h, l1, &ph, &need, &e2), MR_OK);
    assert_int_equal(ph.cols, 1);
    assert_null(memmem(h, l1, "(5, 0)", 6));
    mr_npy_output_header(h, sizeof h, 5, 0, MR_MODE_DESIGN);
    assert_non_null(memmem(h, l1, "(5, 0)", 6));
}

/* a resumed part: advanced to a row or record boundary inside it, refused elsewhere */
static void test_advance(void **state)
{
    (void)state;
    mr_error err;
    unsigned char h[256];
    const size_t hl = mr_npy_write_header_dtype(h, sizeof h, 10, 3, MR_NPY_F32);
    const size_t len = hl + 10 * 3 * 4;
    char *b = calloc(1, len);
    memcpy(b, h, hl);
    mem m = { b, len, 0 };
    mr_options *o;
    assert_int_equal(mr_options_create(&o), MR_OK);
    mr_part p;
    assert_int_equal(mr_input_part(o, NULL, mem_read_at, &m, len, 1, 2, NULL, &p, &err), MR_OK);
    assert_int_equal(p.rows_before, 5);
    assert_int_equal(mr_input_part_advance(&p, p.start + 12 * 2, 7, 0, &err), MR_OK);
    assert_int_equal(p.rows, 3);
    mr_npy_header ph;
    size_t need;
    assert_int_equal(mr_npy_parse_header(p.prefix, p.prefix_len, &ph, &need, &err), MR_OK);
    assert_int_equal(ph.rows, 3);
    assert_int_equal(ph.dtype, MR_NPY_F32);
    assert_int_equal(mr_input_part_advance(&p, p.start + 5, 7, 0, &err), MR_E_INVAL);  /* not a row */
    assert_int_equal(mr_input_part_advance(&p, p.start + 12, 9, 0, &err), MR_E_INVAL); /* wrong count */
    assert_int_equal(mr_input_part_advance(&p, p.end + 12, 10, 0, &err), MR_E_INVAL);  /* outside */
    mr_options_free(o);
    free(b);
}

static void test_errors(void **state)
{
    (void)state;
    size_t len;
    char *b = make_csv(2000, &len);
    mem m = { b, len, (int)(len / 2) };
    mr_options *o = csv_opts(1);
    mr_error err;
    mr_part p;
    assert_int_equal(mr_input_part(o, NULL, mem_read_at, &m, len, 3, 4, NULL, &p, &err), MR_E_IO);
    assert_int_equal(err.sys_errno, EIO);
    assert_non_null(strstr(err.text, "cutting the input"));
    assert_int_equal(mr_input_part(o, NULL, mem_read_at, &m, len, 4, 4, NULL, &p, &err), MR_E_INVAL);
    assert_int_equal(mr_input_part(NULL, NULL, mem_read_at, &m, len, 0, 1, NULL, &p, &err), MR_E_INVAL);
    mr_options_set_int(o, MR_OPT_INPUT_FORMAT, MR_FMT_F64);
    m.fail = 0;
    assert_int_equal(mr_input_part(o, NULL, mem_read_at, &m, len, 0, 1, NULL, &p, &err), MR_E_INVAL);
    mr_options_free(o);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_cuts_quoted_newlines),
        cmocka_unit_test(test_csv_from_checkpoints),
        cmocka_unit_test(test_csv_edge_cases),
        cmocka_unit_test(test_binary_rows_and_npy_prefix),
        cmocka_unit_test(test_advance),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
