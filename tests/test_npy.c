/* test_npy.c — .npy header parser and writer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "npy.h"

#ifndef MR_FIXTURES
#define MR_FIXTURES "fixtures"
#endif

#define BUF_CAP 4096

/* magic + version + length + dict, padded with spaces and a final '\n' to a
 * multiple of 64 as NumPy writes it. Returns the total length. */
static size_t mk(unsigned char *buf, unsigned major, const char *dict)
{
    const size_t prefix = major == 1 ? 10 : 12;
    const size_t dl = strlen(dict);
    const size_t total = (prefix + dl + 1 + 63) / 64 * 64;
    assert_true(total <= BUF_CAP);
    const size_t hl = total - prefix;
    memcpy(buf, MR_NPY_MAGIC, 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    if (major > 1) {
        buf[10] = (unsigned char)(hl >> 16);
        buf[11] = (unsigned char)(hl >> 24);
    }
    memcpy(buf + prefix, dict, dl);
    memset(buf + prefix + dl, ' ', total - prefix - dl - 1);
    buf[total - 1] = '\n';
    return total;
}

/* Parse from an exact-size heap copy so ASan catches any read past len. */
static mr_status parse_exact(const unsigned char *src, size_t len, mr_npy_header *h,
                             size_t *need, mr_error *err)
{
    unsigned char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, src, len);
    const mr_status st = mr_npy_parse_header(len ? copy : NULL, len, h, need, err);
    free(copy);
    return st;
}

static void assert_one_line(const mr_error *e)
{
    const size_t n = strlen(e->text);
    assert_true(n > 0);
    assert_null(strchr(e->text, '\n'));
    assert_true(e->text[n - 1] != '.');
    assert_true(strncmp(e->text, "npy header: ", 12) == 0);
    for (size_t i = 0; i < n; i++) /* no control byte; valid UTF-8 stays (src/escape.h) */
        assert_true((unsigned char)e->text[i] >= 0x20 && (unsigned char)e->text[i] != 0x7f);
}

static void expect_ok(const char *dict, unsigned major, mr_npy_dtype dt, uint64_t rows,
                      uint64_t cols)
{
    unsigned char buf[BUF_CAP];
    const size_t n = mk(buf, major, dict);
    mr_npy_header h;
    mr_error e = {0};
    size_t need = 0;
    const mr_status st = parse_exact(buf, n, &h, &need, &e);
    if (st != MR_OK)
        print_error("dict %s: %s\n", dict, e.text);
    assert_int_equal(st, MR_OK);
    assert_int_equal(h.dtype, dt);
    assert_true(h.rows == rows);
    assert_true(h.cols == cols);
    assert_int_equal(h.header_bytes, n);
}

static void expect_fail(const unsigned char *buf, size_t n, const char *want)
{
    mr_npy_header h;
    mr_error e = {0};
    size_t need = 0;
    const mr_status st = parse_exact(buf, n, &h, &need, &e);
    if (st != MR_E_PARSE || !strstr(e.text, want))
        print_error("want \"%s\", got status %d \"%s\"\n", want, (int)st, e.text);
    assert_int_equal(st, MR_E_PARSE);
    assert_int_equal(e.status, MR_E_PARSE);
    assert_non_null(strstr(e.text, want));
    assert_one_line(&e);
}

static void expect_dict_fail(const char *dict, const char *want)
{
    unsigned char buf[BUF_CAP];
    expect_fail(buf, mk(buf, 1, dict), want);
}

/* ---- accepted headers ---------------------------------------------------- */

static void test_accept_basic(void **state)
{
    (void)state;
    expect_ok("{'descr': '<f8', 'fortran_order': False, 'shape': (1000, 10), }", 1, MR_NPY_F64,
              1000, 10);
    expect_ok("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", 1, MR_NPY_F32, 3, 2);
    expect_ok("{'descr': '<f8', 'fortran_order': False, 'shape': (7, 1), }", 2, MR_NPY_F64, 7, 1);
    expect_ok("{'descr': '<f4', 'fortran_order': False, 'shape': (7, 1), }", 3, MR_NPY_F32, 7, 1);
}

static void test_accept_variants(void **state)
{
    (void)state;
    /* any key order */
    expect_ok("{'shape': (4, 5), 'fortran_order': False, 'descr': '<f8'}", 1, MR_NPY_F64, 4, 5);
    expect_ok("{'fortran_order': False, 'shape': (4, 5), 'descr': '<f4', }", 1, MR_NPY_F32, 4,
              5);
    /* double quotes, mixed */
    expect_ok("{\"descr\": \"<f8\", \"fortran_order\": False, 'shape': (2, 3)}", 1, MR_NPY_F64,
              2, 3);
    /* whitespace anywhere, including newlines and tabs inside the braces */
    expect_ok("  {\n\t'descr' :\t'<f8' ,\r\n 'fortran_order'  :  False ,'shape':(  2 ,3 , ) ,\n}",
              1, MR_NPY_F64, 2, 3);
    expect_ok("{'descr':'<f8','fortran_order':False,'shape':(2,3)}", 1, MR_NPY_F64, 2, 3);
    /* Python 2 longs */
    expect_ok("{'descr': '<f8', 'fortran_order': False, 'shape': (3L, 2L), }", 1, MR_NPY_F64, 3,
              2);
    /* zero sizes */
    expect_ok("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 0), }", 1, MR_NPY_F64, 0, 0);
    expect_ok("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 5), }", 1, MR_NPY_F64, 0, 5);
    expect_ok("{'descr': '<f8', 'fortran_order': False, 'shape': (007, 5), }", 1, MR_NPY_F64, 7,
              5);
    /* largest byte sizes that still fit uint64 */
    expect_ok("{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 0), }",
              1, MR_NPY_F64, UINT64_MAX, 0);
    expect_ok("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693951, 1), }",
              1, MR_NPY_F64, 2305843009213693951ull, 1);
    expect_ok("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4611686018427387903), }",
              1, MR_NPY_F32, 1, 4611686018427387903ull);
}

static void test_accept_newline_then_spaces(void **state)
{
    (void)state;
    /* The spec text allows the '\n' before the padding; only NumPy puts it last. */
    unsigned char buf[128];
    const char *d = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }\n";
    const size_t dl = strlen(d);
    memcpy(buf, MR_NPY_MAGIC "\x01\x00\x76\x00", 10);
    memcpy(buf + 10, d, dl);
    memset(buf + 10 + dl, ' ', 128 - 10 - dl);
    mr_npy_header h;
    assert_int_equal(parse_exact(buf, 128, &h, NULL, NULL), MR_OK);
    assert_int_equal(h.header_bytes, 128);
}

/* ---- rejected headers ---------------------------------------------------- */

#define D(descr, fo, shape) "{'descr': " descr ", 'fortran_order': " fo ", 'shape': " shape ", }"

static void test_reject_dtype(void **state)
{
    (void)state;
    expect_dict_fail(D("'>f8'", "False", "(3, 2)"), "big-endian '>f8' not supported");
    expect_dict_fail(D("'>f4'", "False", "(3, 2)"), "big-endian '>f4' not supported");
    expect_dict_fail(D("'<i4'", "False", "(3, 2)"),
                     "npy header: dtype '<i4' not supported: expected float64 or float32");
    expect_dict_fail(D("'>i4'", "False", "(3, 2)"), "dtype '>i4' not supported");
    expect_dict_fail(D("'=f8'", "False", "(3, 2)"), "explicit little-endian '<f8'");
    expect_dict_fail(D("'|f8'", "False", "(3, 2)"), "dtype '|f8' not supported");
    expect_dict_fail(D("'f8'", "False", "(3, 2)"), "dtype 'f8' not supported");
    expect_dict_fail(D("'<f2'", "False", "(3, 2)"), "dtype '<f2' not supported");
    expect_dict_fail(D("'<f16'", "False", "(3, 2)"), "dtype '<f16' not supported");
    expect_dict_fail(D("'<c16'", "False", "(3, 2)"), "dtype '<c16' not supported");
    expect_dict_fail(D("'<f8 '", "False", "(3, 2)"), "dtype '<f8 ' not supported");
    expect_dict_fail(D("''", "False", "(3, 2)"), "dtype '' not supported");
    expect_dict_fail(D("'|O'", "False", "(3, 2)"), "dtype '|O' not supported");
    expect_dict_fail(D("[('a', '<f8'), ('b', '<f8')]", "False", "(3,)"), "structured dtype");
    expect_dict_fail(D("<f8", "False", "(3, 2)"), "expected a quoted dtype string");
    expect_dict_fail(D("'<f\\x38'", "False", "(3, 2)"), "escaped string");
}

static void test_reject_fortran(void **state)
{
    (void)state;
    expect_dict_fail(D("'<f8'", "True", "(3, 2)"),
                     "npy header: fortran_order is True: Fortran-order arrays not supported");
    expect_dict_fail(D("'<f8'", "0", "(3, 2)"), "fortran_order must be True or False, found '0'");
    expect_dict_fail(D("'<f8'", "false", "(3, 2)"), "found 'false'");
    expect_dict_fail(D("'<f8'", "Falsey", "(3, 2)"), "found 'Falsey'");
    expect_dict_fail(D("'<f8'", "'False'", "(3, 2)"), "expected True or False");
    expect_dict_fail(D("'<f8'", "None", "(3, 2)"), "found 'None'");
}

static void test_reject_shape(void **state)
{
    (void)state;
    expect_dict_fail(D("'<f8'", "False", "(5,)"), "npy header: expected a 2-D array, found shape (5,)");
    expect_dict_fail(D("'<f8'", "False", "()"), "expected a 2-D array, found shape ()");
    expect_dict_fail(D("'<f8'", "False", "( )"), "found shape ()");
    expect_dict_fail(D("'<f8'", "False", "(1, 2, 3)"), "found shape (1, 2, 3)");
    expect_dict_fail(D("'<f8'", "False", "(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)"),
                     "found shape (1, 2, 3, 4, 5, 6, 7, 8, ...)");
    expect_dict_fail(D("'<f8'", "False", "(5)"), "shape (5) is not a tuple");
    expect_dict_fail(D("'<f8'", "False", "(-1, 2)"), "negative dimension");
    expect_dict_fail(D("'<f8'", "False", "(1, -2)"), "negative dimension");
    expect_dict_fail(D("'<f8'", "False", "(+1, 2)"), "expected a dimension in shape");
    expect_dict_fail(D("'<f8'", "False", "(1.0, 2)"), "expected ',' or ')' in shape");
    expect_dict_fail(D("'<f8'", "False", "(0x10, 2)"), "expected ',' or ')' in shape");
    expect_dict_fail(D("'<f8'", "False", "(3 2)"), "expected ',' or ')' in shape");
    expect_dict_fail(D("'<f8'", "False", "(3,, 2)"), "expected a dimension in shape");
    expect_dict_fail(D("'<f8'", "False", "(,)"), "expected a dimension in shape");
    expect_dict_fail(D("'<f8'", "False", "[3, 2]"), "expected '(' starting the shape tuple");
    expect_dict_fail(D("'<f8'", "False", "(3, 2"), "expected a dimension in shape at byte 67, found '}'");
    expect_dict_fail(D("'<f8'", "False", "'(3, 2)'"), "expected '(' starting the shape tuple");
}

static void test_reject_huge_shape(void **state)
{
    (void)state;
    expect_dict_fail(D("'<f8'", "False", "(18446744073709551616, 1)"),
                     "shape dimension 18446744073709551616 overflows uint64");
    expect_dict_fail(D("'<f8'", "False", "(1, 99999999999999999999999999999999)"),
                     "overflows uint64");
    expect_dict_fail(D("'<f8'", "False",
                       "(1, 9999999999999999999999999999999999999999999999999999999999999999"
                       "9999999999999999999999999999999999999999999999999999999999999999)"),
                     "overflows uint64");
    expect_dict_fail(D("'<f8'", "False", "(4294967296, 4294967296)"),
                     "shape (4294967296, 4294967296) is too large: byte size overflows uint64");
    expect_dict_fail(D("'<f8'", "False", "(2305843009213693952, 1)"), "too large");
    expect_dict_fail(D("'<f4'", "False", "(1, 4611686018427387904)"), "too large");
    expect_dict_fail(D("'<f8'", "False", "(18446744073709551615, 18446744073709551615)"),
                     "too large");
    expect_dict_fail(D("'<f8'", "False", "(3, 6148914691236517206)"), "too large");
}

static void test_reject_keys(void **state)
{
    (void)state;
    expect_dict_fail("{'fortran_order': False, 'shape': (3, 2), }", "missing key 'descr'");
    expect_dict_fail("{'descr': '<f8', 'shape': (3, 2), }", "missing key 'fortran_order'");
    expect_dict_fail("{'descr': '<f8', 'fortran_order': False, }", "missing key 'shape'");
    expect_dict_fail("{}", "missing key 'descr'");
    expect_dict_fail("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3, 2)}",
                     "duplicate key 'descr'");
    expect_dict_fail("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), 'shape': (3, 2)}",
                     "duplicate key 'shape'");
    expect_dict_fail("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), 'foo': 1}",
                     "unknown key 'foo'");
    expect_dict_fail("{'Descr': '<f8', 'fortran_order': False, 'shape': (3, 2)}",
                     "unknown key 'Descr'");
    expect_dict_fail("{'descr\\x00': '<f8'}", "escaped string");
    expect_dict_fail("{'\x01\x7f\xff': '<f8'}", "unknown key '\\x01\\x7f\\xff'");
}

static void test_reject_syntax(void **state)
{
    (void)state;
    expect_dict_fail("", "expected '{' starting the header dict");
    expect_dict_fail("descr", "expected '{' starting the header dict");
    expect_dict_fail("{descr: '<f8'}", "expected a quoted key or '}'");
    expect_dict_fail("{,}", "expected a quoted key or '}'");
    expect_dict_fail("{'descr' '<f8'}", "expected ':' after a key");
    expect_dict_fail("{'descr': '<f8',, 'fortran_order': False}", "expected a quoted key");
    expect_dict_fail("{'descr': '<f8' 'fortran_order': False}", "expected ',' or '}'");
    expect_dict_fail("{'descr': \"<f8', 'fortran_order': False}", "string \\\"<f8', 'fortran_order': False}");
    expect_dict_fail("{'descr': '<f8\n', 'fortran_order': False}", "string '<f8 at byte 20 is not terminated before the end of the line");
    expect_dict_fail("{'descr: '<f8'}", "unknown key 'descr: ' at byte 11");
    expect_dict_fail("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2)", "expected ',' or '}'");
    expect_dict_fail("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2)} x",
                     "only padding after the header dict");
    expect_dict_fail("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2)}}",
                     "only padding after the header dict");
    expect_dict_fail("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2)}, {}",
                     "only padding after the header dict");
    expect_dict_fail("[('descr', '<f8')]", "expected '{'");
    /* a NUL inside the declared header */
    unsigned char buf[BUF_CAP];
    const size_t n = mk(buf, 1, D("'<f8'", "False", "(3, 2)"));
    buf[20] = 0;
    expect_fail(buf, n, "expected");
    /* a UTF-8 key in a v3.0 header is read as a key, then refused */
    expect_fail(buf, mk(buf, 3, "{'d\xc3\xa9scr': '<f8'}"), "unknown key 'd\xc3\xa9scr'"); /* valid UTF-8: shown as is */
}

static void test_reject_magic_version(void **state)
{
    (void)state;
    unsigned char buf[BUF_CAP];
    const size_t n = mk(buf, 1, D("'<f8'", "False", "(3, 2)"));

    expect_fail((const unsigned char *)"a,b,c\n1,2,3\n", 12, "bad magic \"a,b,c\\n\"");
    expect_fail((const unsigned char *)"NUMPY\x01\x00", 7, "not a .npy file");
    expect_fail((const unsigned char *)"\x93NUMPX\x01\x00", 8, "bad magic");
    /* a wrong first byte fails at once, without asking for more */
    expect_fail((const unsigned char *)"x", 1, "bad magic \"x\"");
    /* a correct partial magic asks for more */
    mr_npy_header h;
    size_t need = 0;
    for (size_t len = 0; len < n && len < 10; len++) {
        assert_int_equal(parse_exact(buf, len, &h, &need, NULL), MR_AGAIN);
        assert_int_equal(need, 10);
    }
    buf[3] = 'm';
    for (size_t len = 4; len <= n; len++)
        expect_fail(buf, len, "bad magic");
}

static void test_version(void **state)
{
    (void)state;
    unsigned char buf[BUF_CAP];
    const size_t n = mk(buf, 1, D("'<f8'", "False", "(3, 2)"));
    static const unsigned char bad[][2] = {{0, 0}, {4, 0}, {1, 1}, {2, 1}, {255, 255}, {0, 1}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        buf[6] = bad[k][0];
        buf[7] = bad[k][1];
        char want[80];
        snprintf(want, sizeof want, "unsupported format version %u.%u", bad[k][0], bad[k][1]);
        expect_fail(buf, n, want);
        expect_fail(buf, 8, want); /* known as soon as the version bytes are in */
    }
}

static void test_header_length_field(void **state)
{
    (void)state;
    unsigned char buf[BUF_CAP];
    const size_t n = mk(buf, 1, D("'<f8'", "False", "(3, 2)"));
    const unsigned hl = buf[8] | buf[9] << 8;
    mr_npy_header h;
    size_t need = 0;

    /* One byte short: the '\n' falls outside the declared header. */
    buf[8] = (unsigned char)(hl - 1);
    expect_fail(buf, n, "no '\\n' after the dict within the declared length");
    /* Far too short: the dict is cut. */
    buf[8] = 20;
    expect_fail(buf, n, "string 'fo at byte 27 is not terminated within the declared header length 20");
    buf[8] = 8;
    expect_fail(buf, n, "expected ':' after a key at byte 18, found end of header");
    buf[8] = 0;
    buf[9] = 0;
    expect_fail(buf, n, "expected '{' starting the header dict at byte 10, found end of header (declared length 0)");
    /* Too long: data bytes (here 1.0) read as header. */
    const double one = 1.0;
    memcpy(buf + n, &one, 8);
    buf[8] = (unsigned char)(hl + 8);
    buf[9] = (unsigned char)((hl + 8) >> 8);
    expect_fail(buf, n + 8, "only padding after the header dict");
    /* ... and data that happens to be blank still lacks the final '\n' */
    memset(buf + n, ' ', 8);
    buf[n - 1] = ' ';
    expect_fail(buf, n + 8, "no '\\n'");

    /* Huge declared lengths. v1 max: ask for the bytes (65545 total). */
    mk(buf, 1, D("'<f8'", "False", "(3, 2)"));
    buf[8] = 0xff;
    buf[9] = 0xff;
    assert_int_equal(parse_exact(buf, n, &h, &need, NULL), MR_AGAIN);
    assert_int_equal(need, 10 + 65535);
    /* v2 beyond the 1 MiB sanity cap: refused before asking for the bytes. */
    const size_t n2 = mk(buf, 2, D("'<f8'", "False", "(3, 2)"));
    memset(buf + 8, 0xff, 4);
    expect_fail(buf, n2, "declared header length 4294967295 exceeds");
    expect_fail(buf, 12, "exceeds");
    buf[8] = 0;
    buf[9] = 0;
    buf[10] = 0x10;
    buf[11] = 0; /* exactly 1 MiB: allowed, so more bytes are wanted */
    assert_int_equal(parse_exact(buf, n2, &h, &need, NULL), MR_AGAIN);
    assert_int_equal(need, 12 + (1u << 20));
    buf[8] = 1; /* 1 MiB + 1 */
    expect_fail(buf, n2, "exceeds the 1048576-byte limit");
}

/* ---- truncation, garbage, mutation ------------------------------------------ */

/* Every strict prefix of a valid header asks for more; following *need
 * reaches the full header in a few steps. */
static void check_prefixes_valid(const unsigned char *buf, size_t total)
{
    mr_npy_header h;
    for (size_t len = 0; len < total; len++) {
        size_t need = 0;
        mr_error e = {0};
        const mr_status st = parse_exact(buf, len, &h, &need, &e);
        assert_int_equal(st, MR_AGAIN);
        assert_true(need > len);
        assert_true(need <= total);
    }
    size_t len = 0, steps = 0;
    for (;;) {
        size_t need = 0;
        const mr_status st = parse_exact(buf, len, &h, &need, NULL);
        if (st == MR_OK)
            break;
        assert_int_equal(st, MR_AGAIN);
        assert_true(need > len);
        len = need;
        assert_true(++steps < 4);
    }
    assert_int_equal(len, total);
    assert_int_equal(h.header_bytes, total);
}

static void check_prefixes_any(const unsigned char *buf, size_t total)
{
    mr_npy_header h;
    for (size_t len = 0; len <= total; len++) {
        size_t need = 0;
        mr_error e = {0};
        const mr_status st = parse_exact(buf, len, &h, &need, &e);
        assert_true(st == MR_AGAIN || st == MR_E_PARSE || st == MR_OK);
        if (st == MR_AGAIN)
            assert_true(need > len);
        if (st == MR_E_PARSE)
            assert_one_line(&e);
    }
}

static void test_truncated(void **state)
{
    (void)state;
    unsigned char buf[BUF_CAP];
    for (unsigned major = 1; major <= 3; major++)
        check_prefixes_valid(buf, mk(buf, major, D("'<f8'", "False", "(1000, 10)")));
    check_prefixes_valid(buf, mk(buf, 1, "{'shape':(2,3),'fortran_order':False,'descr':'<f4'}"));
    const char *bad[] = {
        D("'>f8'", "False", "(3, 2)"), D("'<f8'", "True", "(3, 2)"), D("'<f8'", "False", "(3,)"),
        D("'<f8'", "False", "(99999999999999999999999, 2)"), "{'descr': '<f8'", "garbage",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        check_prefixes_any(buf, mk(buf, 1, bad[k]));
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_garbage(void **state)
{
    (void)state;
    unsigned char buf[512];
    static const char alphabet[] = "{}()[]:,'\" \n\t0123456789Ldescrfortan_ordeshapeTrueFals<>f84i";
    mr_npy_header h;
    for (int iter = 0; iter < 20000; iter++) {
        const size_t len = (size_t)(rng() % sizeof buf);
        const int mode = (int)(rng() % 3);
        for (size_t i = 0; i < len; i++) {
            const uint64_t r = rng();
            buf[i] = mode == 0 ? (unsigned char)r : (unsigned char)alphabet[r % (sizeof alphabet - 1)];
        }
        if (mode && len >= 10) { /* valid prefix so the dict parser gets exercised */
            memcpy(buf, MR_NPY_MAGIC, 6);
            buf[6] = (unsigned char)(1 + rng() % 3);
            buf[7] = 0;
            const size_t prefix = buf[6] == 1 ? 10 : 12;
            const size_t hl = len > prefix ? len - prefix - (mode == 2 ? rng() % 4 : 0) : 0;
            buf[8] = (unsigned char)hl;
            buf[9] = (unsigned char)(hl >> 8);
            if (prefix == 12 && len >= 12)
                buf[10] = buf[11] = 0;
        }
        size_t need = 0;
        mr_error e = {0};
        const mr_status st = parse_exact(buf, len, &h, &need, &e);
        assert_true(st == MR_OK || st == MR_AGAIN || st == MR_E_PARSE);
        if (st == MR_AGAIN)
            assert_true(need > len);
        if (st == MR_E_PARSE)
            assert_one_line(&e);
        if (st == MR_OK)
            assert_true(h.header_bytes <= len);
    }
}

/* Every single-byte change of a valid header: no crash, sane results. */
static void test_mutations(void **state)
{
    (void)state;
    unsigned char buf[BUF_CAP];
    const size_t n = mk(buf, 1, D("'<f8'", "False", "(3, 2)"));
    static const unsigned char vals[] = {0, ' ', '\n', '\'', '"', ',', ':', '(', ')', '{', '}',
                                         '0', '9', '-', 'L', 'x', 0x80, 0xff};
    mr_npy_header h;
    for (size_t pos = 0; pos < n; pos++) {
        const unsigned char orig = buf[pos];
        for (size_t v = 0; v < sizeof vals; v++) {
            buf[pos] = vals[v];
            size_t need = 0;
            mr_error e = {0};
            const mr_status st = parse_exact(buf, n, &h, &need, &e);
            assert_true(st == MR_OK || st == MR_AGAIN || st == MR_E_PARSE);
            if (st == MR_OK) {
                assert_true(h.header_bytes <= n);
            }
            if (st == MR_E_PARSE)
                assert_one_line(&e);
        }
        buf[pos] = orig;
    }
}

static void test_null_args(void **state)
{
    (void)state;
    unsigned char buf[BUF_CAP];
    const size_t n = mk(buf, 1, D("'<f8'", "False", "(3, 2)"));
    mr_npy_header h;
    mr_error e = {0};
    assert_int_equal(mr_npy_parse_header(buf, n, NULL, NULL, &e), MR_E_INVAL);
    assert_int_equal(mr_npy_parse_header(NULL, 5, &h, NULL, NULL), MR_E_INVAL);
    size_t need = 0;
    assert_int_equal(mr_npy_parse_header(NULL, 0, &h, &need, NULL), MR_AGAIN);
    assert_int_equal(need, 10);
    /* err and need may be NULL */
    assert_int_equal(mr_npy_parse_header(buf, n, &h, NULL, NULL), MR_OK);
    assert_int_equal(mr_npy_parse_header(buf, 5, &h, NULL, NULL), MR_AGAIN);
    assert_int_equal(mr_npy_parse_header((const unsigned char *)"zzzzzz", 6, &h, NULL, NULL),
                     MR_E_PARSE);
}

/* ---- writer ----------------------------------------------------------------- */

static void test_write_exact_text(void **state)
{
    (void)state;
    unsigned char buf[256];
    memset(buf, 0xaa, sizeof buf);
    const size_t n = mr_npy_write_header(buf, sizeof buf, 3, 2);
    assert_int_equal(n, 128);
    assert_memory_equal(buf, MR_NPY_MAGIC "\x01\x00\x76\x00", 10);
    const char *dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }";
    assert_memory_equal(buf + 10, dict, strlen(dict));
    for (size_t i = 10 + strlen(dict); i < n - 1; i++)
        assert_int_equal(buf[i], ' ');
    assert_int_equal(buf[n - 1], '\n');
    assert_int_equal(buf[n], 0xaa); /* nothing written past the header */

    const size_t n1 = mr_npy_write_header(buf, sizeof buf, 5, 0);
    const char *d1 = "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }";
    assert_memory_equal(buf + 10, d1, strlen(d1));
    assert_int_equal(n1 % 64, 0);
    /* a matrix of zero columns stays 2-D (a design of zero terms) */
    const size_t n2 = mr_npy_write_matrix_header(buf, sizeof buf, 5, 0);
    const char *d2 = "{'descr': '<f8', 'fortran_order': False, 'shape': (5, 0), }";
    assert_memory_equal(buf + 10, d2, strlen(d2));
    assert_int_equal(n2, n1);
}

static void test_write_round_trip(void **state)
{
    (void)state;
    static const uint64_t rows[] = {0, 1, 2, 9, 10, 999, 4294967296ull, 10000000000000000000ull,
                                    UINT64_MAX};
    static const uint64_t cols[] = {0, 1, 3, 10, 4294967296ull, UINT64_MAX};
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
        size_t first = 0;
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            unsigned char buf[128];
            const size_t n = mr_npy_write_header(buf, sizeof buf, rows[r], cols[c]);
            assert_true(n > 0 && n <= 128);
            assert_int_equal(n % 64, 0);
            if (r == 0)
                first = n;
            assert_int_equal(n, first); /* independent of the digits of ROWS */

            mr_npy_header h;
            mr_error e = {0};
            const mr_status st = parse_exact(buf, n, &h, NULL, &e);
            if (cols[c] == 0) {
                char want[64];
                snprintf(want, sizeof want, "found shape (%llu,)", (unsigned long long)rows[r]);
                assert_int_equal(st, MR_E_PARSE);
                assert_non_null(strstr(e.text, want));
            } else if (cols[c] && rows[r] > UINT64_MAX / cols[c] / 8) {
                assert_int_equal(st, MR_E_PARSE);
                assert_non_null(strstr(e.text, "too large"));
            } else {
                assert_int_equal(st, MR_OK);
                assert_int_equal(h.dtype, MR_NPY_F64);
                assert_true(h.rows == rows[r]);
                assert_true(h.cols == cols[c]);
                assert_int_equal(h.header_bytes, n);
            }
        }
    }
}

/* The caller writes a placeholder header, streams data, then rewrites the
 * header with the final count: the data must not move or be touched. */
static void test_write_rewrite_in_place(void **state)
{
    (void)state;
    unsigned char file[256];
    const size_t n = mr_npy_write_header(file, sizeof file, 0, 3);
    memset(file + n, 0x5a, sizeof file - n);
    const size_t n2 = mr_npy_write_header(file, n, 10000000000000000000ull / 1000, 3);
    assert_int_equal(n2, n);
    for (size_t i = n; i < sizeof file; i++)
        assert_int_equal(file[i], 0x5a);
    mr_npy_header h;
    assert_int_equal(parse_exact(file, n, &h, NULL, NULL), MR_OK);
    assert_true(h.rows == 10000000000000000ull);
    assert_int_equal(h.header_bytes, n);
}

static void test_write_small_cap(void **state)
{
    (void)state;
    unsigned char buf[128];
    const size_t n = mr_npy_write_header(buf, sizeof buf, UINT64_MAX, UINT64_MAX);
    assert_int_equal(n, 128); /* the contract's cap >= 128 always suffices */
    assert_int_equal(mr_npy_write_header(buf, n - 1, 1, 1), 0);
    assert_int_equal(mr_npy_write_header(buf, 0, 1, 1), 0);
    assert_int_equal(mr_npy_write_header(NULL, 0, 1, 1), 0);
}

/* ---- NumPy-written fixtures ---------------------------------------------- */

static unsigned char *slurp(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/npy/%s", MR_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s", path);
    unsigned char *data = malloc(4096);
    assert_non_null(data);
    *len = fread(data, 1, 4096, f);
    fclose(f);
    return data;
}

static void check_fixture_ok(const char *name, mr_npy_dtype dt, uint64_t rows, uint64_t cols)
{
    size_t len;
    unsigned char *data = slurp(name, &len);
    mr_npy_header h;
    mr_error e = {0};
    const mr_status st = parse_exact(data, len, &h, NULL, &e);
    if (st != MR_OK)
        print_error("%s: %s\n", name, e.text);
    assert_int_equal(st, MR_OK);
    assert_int_equal(h.dtype, dt);
    assert_true(h.rows == rows && h.cols == cols);
    const size_t item = dt == MR_NPY_F64 ? 8 : 4;
    assert_int_equal(len, h.header_bytes + rows * cols * item);
    assert_int_equal(h.header_bytes % 64, 0);
    /* arange data, little-endian: element k is k */
    for (size_t k = 0; k < rows * cols; k++) {
        const unsigned char *p = data + h.header_bytes + k * item;
        if (dt == MR_NPY_F64) {
            uint64_t bits = 0;
            for (int b = 7; b >= 0; b--)
                bits = bits << 8 | p[b];
            double v;
            memcpy(&v, &bits, 8);
            assert_true(v == (double)k);
        } else {
            uint32_t bits = 0;
            for (int b = 3; b >= 0; b--)
                bits = bits << 8 | p[b];
            float v;
            memcpy(&v, &bits, 4);
            assert_true(v == (float)k);
        }
    }
    check_prefixes_valid(data, h.header_bytes);
    free(data);
}

static void check_fixture_fail(const char *name, const char *want)
{
    size_t len;
    unsigned char *data = slurp(name, &len);
    expect_fail(data, len, want);
    check_prefixes_any(data, len);
    free(data);
}

static void test_fixtures(void **state)
{
    (void)state;
    check_fixture_ok("f64_3x2.npy", MR_NPY_F64, 3, 2);
    check_fixture_ok("f32_2x3.npy", MR_NPY_F32, 2, 3);
    check_fixture_ok("f64_0x3.npy", MR_NPY_F64, 0, 3);
    check_fixture_ok("v2_f64_2x2.npy", MR_NPY_F64, 2, 2);
    check_fixture_ok("v3_f32_2x2.npy", MR_NPY_F32, 2, 2);
    check_fixture_fail("be_f64_3x2.npy", "npy header: big-endian '>f8' not supported");
    check_fixture_fail("fortran_f64_3x2.npy",
                       "npy header: fortran_order is True: Fortran-order arrays not supported");
    check_fixture_fail("f64_1d_5.npy", "npy header: expected a 2-D array, found shape (5,)");
    check_fixture_fail("i4_2x2.npy",
                       "npy header: dtype '<i4' not supported: expected float64 or float32");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_basic),
        cmocka_unit_test(test_accept_variants),
        cmocka_unit_test(test_accept_newline_then_spaces),
        cmocka_unit_test(test_reject_dtype),
        cmocka_unit_test(test_reject_fortran),
        cmocka_unit_test(test_reject_shape),
        cmocka_unit_test(test_reject_huge_shape),
        cmocka_unit_test(test_reject_keys),
        cmocka_unit_test(test_reject_syntax),
        cmocka_unit_test(test_reject_magic_version),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_header_length_field),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_null_args),
        cmocka_unit_test(test_write_exact_text),
        cmocka_unit_test(test_write_round_trip),
        cmocka_unit_test(test_write_rewrite_in_place),
        cmocka_unit_test(test_write_small_cap),
        cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
