/* test_csv_split.c — record scanning across buffer boundaries, and the
 * unquoted fast path against libcsv on the same bytes. */
#include <csv.h>
#include <stdio.h>

#include "csv_split.h"
#include "test_util.h"

/* Record ends found when the input arrives in pieces of `step` bytes. */
static size_t scan_in_pieces(const char *s, size_t len, size_t step, size_t *ends, size_t max)
{
    mr_csv_scanner sc;
    mr_csv_scanner_init(&sc, ',');
    size_t pos = 0, n = 0;
    while (pos < len) {
        size_t lim = pos + step < len ? pos + step : len;
        size_t p = pos;
        while (p < lim) {
            uint64_t recs = 0, lines = 0;
            p += mr_csv_scan(&sc, s + p, lim - p, 1, &recs, &lines);
            if (recs && n < max)
                ends[n++] = p;
        }
        pos = lim;
    }
    return n;
}

static void scan_is_split_independent(void **state)
{
    (void)state;
    const char *csv = "a,b,c\n1,\"x,\ny\",3\n\"\"\"q\"\"\",,\n\n4,5,\"6\"\r\n7,8,9";
    const size_t len = strlen(csv);
    size_t ref[16], got[16];
    const size_t n = scan_in_pieces(csv, len, len, ref, 16);
    assert_int_equal(n, 5); /* header, quoted-newline row, quote row, empty row, CRLF row */
    for (size_t step = 1; step < len; step++) {
        const size_t k = scan_in_pieces(csv, len, step, got, 16);
        assert_int_equal(k, n);
        assert_memory_equal(got, ref, n * sizeof *ref);
    }
}

static void scan_counts_lines_inside_quotes(void **state)
{
    (void)state;
    const char *csv = "\"a\nb\nc\",1\n2,3\n";
    mr_csv_scanner sc;
    mr_csv_scanner_init(&sc, ',');
    uint64_t recs = 0, lines = 0;
    const size_t used = mr_csv_scan(&sc, csv, strlen(csv), 1, &recs, &lines);
    assert_int_equal(recs, 1);
    assert_int_equal(lines, 3);
    assert_int_equal(used, 10);
    mr_csv_scanner_init(&sc, ',');
    recs = lines = 0;
    mr_csv_scan(&sc, "\"open,1\n", 8, 10, &recs, &lines);
    assert_int_equal(recs, 0);
    assert_true(mr_csv_scanner_in_quotes(&sc));
}

static void fields(const char *rec, unsigned char delim, const char **want, size_t n)
{
    mr_csv_fields fs;
    mr_csv_fields_init(&fs);
    uint32_t bad = 0;
    assert_int_equal(mr_csv_split(&fs, rec, strlen(rec), delim, &bad), MR_OK);
    assert_int_equal(fs.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fs.f[i].len, strlen(want[i]));
        assert_memory_equal(fs.f[i].p, want[i], fs.f[i].len);
    }
    mr_csv_fields_free(&fs);
}

static void split_basic(void **state)
{
    (void)state;
    fields("1,2,3", ',', (const char *[]){ "1", "2", "3" }, 3);
    fields("", ',', (const char *[]){ "" }, 1);
    fields(",", ',', (const char *[]){ "", "" }, 2);
    fields(" 1 , 2", ',', (const char *[]){ " 1 ", " 2" }, 2); /* no trimming */
    fields("1,2\r", ',', (const char *[]){ "1", "2" }, 2);
    fields("a;b", ';', (const char *[]){ "a", "b" }, 2);
    fields("\"a,b\",\"c\"\"d\",\"\"", ',', (const char *[]){ "a,b", "c\"d", "" }, 3);
    fields("\"line\nbreak\",x", ',', (const char *[]){ "line\nbreak", "x" }, 2);
    fields("\" sp \",2\r", ',', (const char *[]){ " sp ", "2" }, 2);
}

static void split_rejects_bad_quoting(void **state)
{
    (void)state;
    static const char *bad[] = { "ab\"c,1", "\"ab\"c,1", "\"unterminated,1", "\"a\",1\r2" };
    mr_csv_fields fs;
    mr_csv_fields_init(&fs);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint32_t col = 0;
        const mr_status st = mr_csv_split(&fs, bad[i], strlen(bad[i]), ',', &col);
        if (st != MR_E_PARSE)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(col >= 1);
    }
    mr_csv_fields_free(&fs);
}

/* libcsv directly, strict and without trimming, as the reference. */
typedef struct {
    char f[64][64];
    size_t len[64];
    size_t n;
} lib_fields;

static void lib_cb(void *s, size_t len, void *ctx)
{
    lib_fields *lf = ctx;
    if (lf->n < 64 && len < 64) {
        memcpy(lf->f[lf->n], s, len);
        lf->len[lf->n] = len;
    }
    lf->n++;
}

static int no_space(unsigned char c)
{
    (void)c;
    return 0;
}

static void fast_path_agrees_with_libcsv(void **state)
{
    (void)state;
    uint64_t seed = 7;
    static const char alphabet[] = "0123456789.,e-+ aN\r";
    mr_csv_fields fs;
    mr_csv_fields_init(&fs);
    for (int iter = 0; iter < 20000; iter++) {
        char rec[48];
        const size_t len = rnd_next(&seed) % 40;
        for (size_t i = 0; i < len; i++)
            rec[i] = alphabet[rnd_next(&seed) % (sizeof alphabet - 2)]; /* no \r */
        rec[len] = 0;
        struct csv_parser p;
        csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_EMPTY_IS_NULL * 0);
        csv_set_space_func(&p, no_space);
        lib_fields lf = { .n = 0 };
        csv_parse(&p, rec, len, lib_cb, NULL, &lf);
        csv_fini(&p, lib_cb, NULL, &lf);
        csv_free(&p);
        uint32_t bad;
        assert_int_equal(mr_csv_split(&fs, rec, len, ',', &bad), MR_OK);
        if (len == 0)
            continue; /* libcsv reports no field for an empty record; we report one empty field */
        assert_int_equal(fs.n, lf.n);
        for (size_t i = 0; i < fs.n && i < 64; i++) {
            assert_int_equal(fs.f[i].len, lf.len[i]);
            assert_memory_equal(fs.f[i].p, lf.f[i], lf.len[i]);
        }
    }
    mr_csv_fields_free(&fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scan_is_split_independent),
        cmocka_unit_test(scan_counts_lines_inside_quotes),
        cmocka_unit_test(split_basic),
        cmocka_unit_test(split_rejects_bad_quoting),
        cmocka_unit_test(fast_path_agrees_with_libcsv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
