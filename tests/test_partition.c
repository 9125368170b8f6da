/* test_partition.c — cli/partition.c: cut points (quoted newlines across
 * them), the shard/MPI equivalence, shard specs, the Slurm array and launcher
 * environment, .npy headers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partition.h"

/* ---- a fake environment ---- */
static const char *const *fake_env;

static const char *fake_get(const char *name)
{
    for (const char *const *e = fake_env; e && *e; e += 2)
        if (strcmp(e[0], name) == 0)
            return e[1];
    return NULL;
}

static int tmp_file(const char *data, size_t len)
{
    char path[] = "/tmp/mr-test-partition.XXXXXX";
    const int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    return fd;
}

static void test_count_buf(void **state)
{
    (void)state;
    const char *s = "a,b\n\"x\ny\",1\n\"\"\"q\"\"\",2\nlast";
    part_counts c = { 0 };
    part_count_buf(s, strlen(s), &c);
    assert_int_equal(c.quotes, 8);
    assert_int_equal(c.newlines, 4);
    assert_int_equal(c.records, 3); /* the '\n' inside "x\ny" is not a record end */
    assert_int_equal(c.in_quotes, 0);
    /* the same in two pieces, cut inside the quoted field */
    part_counts d = { 0 };
    part_count_buf(s, 6, &d);
    assert_int_equal(d.in_quotes, 1);
    part_count_buf(s + 6, strlen(s) - 6, &d);
    assert_memory_equal(&c, &d, sizeof c);
}

static void test_find_boundary(void **state)
{
    (void)state;
    const char *s = "x\ny\",1\nz";
    int q = 1; /* starting inside the quoted field */
    assert_int_equal(part_find_boundary_buf(s, strlen(s), &q), 6);
    q = 0;
    assert_int_equal(part_find_boundary_buf(s, strlen(s), &q), 1);
    q = 0;
    assert_int_equal(part_find_boundary_buf("abc", 3, &q), 3);
}

/* A CSV with quoted newlines everywhere, and its true record boundaries. */
static char *make_csv(size_t rows, size_t *len)
{
    size_t cap = 64 + rows * 64, n = 0;
    char *b = malloc(cap);
    assert_non_null(b);
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

static int is_boundary(const char *b, size_t len, uint64_t pos, uint64_t d0, uint64_t *rows,
                       uint64_t *lines)
{
    part_counts c = { 0 };
    part_count_buf(b + d0, (size_t)(pos - d0), &c);
    *rows = c.records;
    *lines = c.newlines;
    return pos == d0 || pos == len || (b[pos - 1] == '\n' && !c.in_quotes);
}

static void test_cuts_quoted_newlines(void **state)
{
    (void)state;
    size_t len;
    char *b = make_csv(400, &len);
    const int fd = tmp_file(b, len);
    uint64_t d0;
    assert_int_equal(part_csv_data_start(fd, len, 1, &d0), 0);
    assert_int_equal(d0, 12); /* after the header with its quoted newline */
    for (uint64_t n = 1; n <= 40; n++) {
        uint64_t prev_end = d0;
        for (uint64_t k = 0; k < n; k++) {
            part_range r;
            assert_int_equal(part_csv_shard(fd, len, d0, k, n, &r), 0);
            assert_int_equal(r.start, prev_end); /* contiguous, nothing lost or doubled */
            assert_true(r.end >= r.start);
            uint64_t rows, lines;
            assert_true(is_boundary(b, len, r.start, d0, &rows, &lines));
            assert_int_equal(r.rows_before, rows);
            assert_int_equal(r.lines_before, lines);
            /* what an MPI rank computes from the parities at its anchors */
            part_counts c0 = { 0 }, c1 = { 0 };
            part_count_buf(b + d0, (size_t)(part_anchor(d0, len, k, n) - d0), &c0);
            part_count_buf(b + d0, (size_t)(part_anchor(d0, len, k + 1, n) - d0), &c1);
            uint64_t s, e;
            assert_int_equal(part_csv_bounds(fd, len, d0, k, n, c0.in_quotes, c1.in_quotes, &s, &e), 0);
            assert_int_equal(s, r.start);
            assert_int_equal(e, r.end);
            prev_end = r.end;
        }
        assert_int_equal(prev_end, len);
    }
    close(fd);
    free(b);
}

static void test_cuts_edge_cases(void **state)
{
    (void)state;
    /* header only; one row without a final newline; BOM without header */
    const char *cases[] = { "a,b\n", "a,b\n1,2", ("\xEF\xBB\xBF" "1,2\n3,4\n"), "a\n\"never closed\n1\n2\n" };
    const int header[] = { 1, 1, 0, 1 };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const size_t len = strlen(cases[i]);
        const int fd = tmp_file(cases[i], len);
        uint64_t d0;
        assert_int_equal(part_csv_data_start(fd, len, header[i], &d0), 0);
        for (uint64_t n = 1; n <= 9; n++) {
            uint64_t prev = d0;
            for (uint64_t k = 0; k < n; k++) {
                part_range r;
                assert_int_equal(part_csv_shard(fd, len, d0, k, n, &r), 0);
                assert_int_equal(r.start, prev);
                prev = r.end;
            }
            assert_int_equal(prev, len);
        }
        if (i == 2)
            assert_int_equal(d0, 3);
        if (i == 3) { /* an unterminated quote: everything after it goes to part 0 */
            part_range r;
            assert_int_equal(part_csv_shard(fd, len, d0, 0, 4, &r), 0);
            assert_int_equal(r.end, len);
        }
        close(fd);
    }
}

static void test_row_range(void **state)
{
    (void)state;
    for (uint64_t rows = 0; rows < 30; rows++)
        for (uint64_t n = 1; n < 12; n++) {
            uint64_t prev = 0;
            for (uint64_t k = 0; k < n; k++) {
                uint64_t lo, hi;
                part_row_range(rows, k, n, &lo, &hi);
                assert_int_equal(lo, prev);
                assert_true(hi - lo <= rows / n + 1);
                prev = hi;
            }
            assert_int_equal(prev, rows);
        }
    uint64_t lo, hi; /* no overflow near the top */
    part_row_range(UINT64_MAX, 999999, 1000000, &lo, &hi);
    assert_int_equal(hi, UINT64_MAX);
}

static void test_shard_spec(void **state)
{
    (void)state;
    uint64_t k, n;
    char why[256];
    assert_int_equal(part_parse_shard("0/1", &k, &n, why, sizeof why), 0);
    assert_int_equal(k, 0);
    assert_int_equal(n, 1);
    assert_int_equal(part_parse_shard("6/7", &k, &n, why, sizeof why), 0);
    assert_int_equal(k, 6);
    assert_int_equal(n, 7);
    const char *bad[] = { "7/7", "1", "a/b", "-1/3", "1/0", "1/3x", "/3", "1/", " 1/3", "0/1000001", "" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        why[0] = 0;
        assert_int_equal(part_parse_shard(bad[i], &k, &n, why, sizeof why), -1);
        assert_true(strlen(why) > 0);
    }
}

static void test_slurm_env(void **state)
{
    (void)state;
    uint64_t k = 99, n = 99;
    char why[320];
    const char *plain[] = { "SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "3",
                            "SLURM_ARRAY_TASK_STEP", "1", "SLURM_ARRAY_TASK_COUNT", "4", NULL };
    fake_env = plain;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), 0);
    assert_int_equal(k, 2);
    assert_int_equal(n, 4);
    const char *stepped[] = { "SLURM_ARRAY_TASK_ID", "14", "SLURM_ARRAY_TASK_MIN", "10", "SLURM_ARRAY_TASK_MAX", "16",
                              "SLURM_ARRAY_TASK_STEP", "2", "SLURM_ARRAY_TASK_COUNT", "4", NULL };
    fake_env = stepped;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), 0);
    assert_int_equal(k, 2);
    assert_int_equal(n, 4);
    /* --array=1,5,9: Slurm reports STEP=1; COUNT=3 gives it away */
    const char *list[] = { "SLURM_ARRAY_TASK_ID", "5", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_MAX", "9",
                           "SLURM_ARRAY_TASK_STEP", "1", "SLURM_ARRAY_TASK_COUNT", "3", NULL };
    fake_env = list;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), -1);
    assert_non_null(strstr(why, "not a plain range"));
    const char *off_step[] = { "SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "6",
                               "SLURM_ARRAY_TASK_STEP", "2", "SLURM_ARRAY_TASK_COUNT", "4", NULL };
    fake_env = off_step;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), -1);
    const char *no_count[] = { "SLURM_ARRAY_TASK_ID", "0", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "3", NULL };
    fake_env = no_count;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), -1);
    assert_non_null(strstr(why, "SLURM_ARRAY_TASK_COUNT is not set"));
    const char *none[] = { NULL };
    fake_env = none;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), -1);
    assert_non_null(strstr(why, "SLURM_ARRAY_TASK_ID is not set"));
    const char *junk[] = { "SLURM_ARRAY_TASK_ID", "x", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "3",
                           "SLURM_ARRAY_TASK_COUNT", "4", NULL };
    fake_env = junk;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), -1);
    const char *outside[] = { "SLURM_ARRAY_TASK_ID", "9", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "3",
                              "SLURM_ARRAY_TASK_COUNT", "4", NULL };
    fake_env = outside;
    assert_int_equal(part_slurm_shard(fake_get, &k, &n, why, sizeof why), -1);
}

static void test_launcher_env(void **state)
{
    (void)state;
    const char *none[] = { "SLURM_JOB_ID", "5", "SLURM_ARRAY_TASK_ID", "1", NULL };
    fake_env = none;
    assert_int_equal(part_mpi_launched(fake_get), 0);
    const char *ompi[] = { "OMPI_COMM_WORLD_SIZE", "1", NULL };
    fake_env = ompi;
    assert_int_equal(part_mpi_launched(fake_get), 1);
    const char *pmix[] = { "PMIX_RANK", "0", NULL };
    fake_env = pmix;
    assert_int_equal(part_mpi_launched(fake_get), 1);
    const char *hydra[] = { "PMI_RANK", "3", NULL };
    fake_env = hydra;
    assert_int_equal(part_mpi_launched(fake_get), 1);
    const char *srun_nopmi[] = { "SLURM_STEP_NUM_TASKS", "4", "SLURM_PROCID", "1", NULL };
    fake_env = srun_nopmi;
    assert_int_equal(part_mpi_launched(fake_get), 0);
    const char *srun_pmi2[] = { "SLURM_STEP_NUM_TASKS", "4", "PMI_FD", "7", NULL };
    fake_env = srun_pmi2;
    assert_int_equal(part_mpi_launched(fake_get), 1);
    const char *srun_one[] = { "SLURM_STEP_NUM_TASKS", "1", "PMI_FD", "7", NULL };
    fake_env = srun_one;
    assert_int_equal(part_mpi_launched(fake_get), 0);
    const char *empty[] = { "OMPI_COMM_WORLD_SIZE", "", NULL };
    fake_env = empty;
    assert_int_equal(part_mpi_launched(fake_get), 0);
}

static void test_npy(void **state)
{
    (void)state;
    unsigned char h[256];
    part_npy p;
    size_t n = part_npy_header(h, sizeof h, 12345, 7, 4);
    assert_int_equal(n % 64, 0);
    assert_int_equal(part_npy_parse(h, n, &p), 0);
    assert_int_equal(p.rows, 12345);
    assert_int_equal(p.cols, 7);
    assert_int_equal(p.itemsize, 4);
    assert_int_equal(p.header_bytes, n);
    /* a short buffer, other dtypes, Fortran order, 1-D, an unknown key: refused */
    assert_int_equal(part_npy_parse(h, n - 1, &p), -1);
    const char *bad[] = { "{'descr': '>f8', 'fortran_order': False, 'shape': (3, 2), }",
                          "{'descr': '<i8', 'fortran_order': False, 'shape': (3, 2), }",
                          "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 2), }",
                          "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                          "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), 'x': 1}",
                          "{'descr': '<f8', 'shape': (3, 2), }",
                          "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2, 1), }" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unsigned char b[256];
        const size_t dl = strlen(bad[i]);
        memcpy(b, "\x93NUMPY\x01\x00", 8);
        b[8] = (unsigned char)(dl + 1);
        b[9] = 0;
        memcpy(b + 10, bad[i], dl);
        b[10 + dl] = '\n';
        assert_int_equal(part_npy_parse(b, 11 + dl, &p), -1);
    }
    /* keys in another order, no spaces, no trailing comma: accepted */
    const char *ok = "{\"shape\":(3,2),\"fortran_order\":False,\"descr\":\"<f8\"}";
    unsigned char b[256];
    const size_t dl = strlen(ok);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)(dl + 1);
    b[9] = 0;
    memcpy(b + 10, ok, dl);
    b[10 + dl] = '\n';
    assert_int_equal(part_npy_parse(b, 11 + dl, &p), 0);
    assert_int_equal(p.rows, 3);
    assert_int_equal(p.itemsize, 8);
    /* the output header: same length whatever the row count */
    const size_t a = part_npy_out_header(h, sizeof h, 0, 0);
    const size_t z = part_npy_out_header(h, sizeof h, UINT64_MAX, 0);
    assert_int_equal(a, z);
    assert_int_equal(a % 64, 0);
    assert_int_equal(part_npy_out_header(h, sizeof h, 5, 17) % 64, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_buf),
        cmocka_unit_test(test_find_boundary),
        cmocka_unit_test(test_cuts_quoted_newlines),
        cmocka_unit_test(test_cuts_edge_cases),
        cmocka_unit_test(test_row_range),
        cmocka_unit_test(test_shard_spec),
        cmocka_unit_test(test_slurm_env),
        cmocka_unit_test(test_launcher_env),
        cmocka_unit_test(test_npy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
