/* test_numfmt.c — mr_format_double against Python's repr(float) rules. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strtod_l, newlocale */
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"
#include "numparse.h"

#include "num_oracle.h"

static locale_t c_loc;

static int setup(void **state)
{
    (void)state;
    c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    return c_loc == (locale_t)0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    freelocale(c_loc);
    return 0;
}

static uint64_t bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint64_t rng_state;

static uint64_t xorshift(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* Format into a guarded buffer; check the size limit and that nothing past
 * the returned length was written. Returns a NUL-terminated copy. */
static size_t format(double v, char out[MR_FMT_MAX + 1])
{
    unsigned char buf[MR_FMT_MAX + 16];
    memset(buf, 0xA5, sizeof buf);
    size_t n = mr_format_double(v, (char *)buf);
    if (n == 0 || n > MR_FMT_MAX)
        fail_msg("%a: length %zu", v, n);
    for (size_t i = n; i < sizeof buf; i++)
        if (buf[i] != 0xA5)
            fail_msg("%a: byte %zu written past length %zu", v, i, n);
    memcpy(out, buf, n);
    out[n] = '\0';
    return n;
}

/* mr_format_double gives the oracle's bytes, and both mr_parse_double and
 * strtod read them back as v (NaN: "nan"). */
static void check_oracle(double v)
{
    char got[MR_FMT_MAX + 1], want[MR_FMT_MAX + 8];
    size_t n = format(v, got);
    size_t m = oracle_format_double(v, want);
    want[m] = '\0';
    if (n != m || memcmp(got, want, n) != 0)
        fail_msg("%a: got \"%s\", oracle \"%s\"", v, got, want);
    if (isnan(v))
        return;
    double back = 12345.0;
    if (mr_parse_double(got, n, &back) != 0 || bits(back) != bits(v))
        fail_msg("%a: \"%s\" parses back as %a", v, got, back);
    back = strtod_l(got, NULL, c_loc);
    if (bits(back) != bits(v))
        fail_msg("%a: \"%s\" reads back (strtod) as %a", v, got, back);
}

static void check_repr(double v, const char *want)
{
    char got[MR_FMT_MAX + 1];
    format(v, got);
    if (strcmp(got, want) != 0)
        fail_msg("%a: got \"%s\", want \"%s\"", v, got, want);
}

static void test_table(void **state)
{
    (void)state;
    static const struct { double v; const char *s; } table[] = {
        {0.1, "0.1"},
        {1.0 / 3, "0.3333333333333333"},
        {2.0 / 3, "0.6666666666666666"},
        {1.0 / 7, "0.14285714285714285"},
        {1e16, "1e+16"},
        {1e15, "1000000000000000.0"},
        {123456789012345680.0, "1.2345678901234568e+17"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {2.5e-5, "2.5e-05"},
        {5e-324, "5e-324"},
        {4.9406564584124654e-324, "5e-324"},
        {DBL_MAX, "1.7976931348623157e+308"},
        {-DBL_MAX, "-1.7976931348623157e+308"},
        {-1.5, "-1.5"},
        {100.0, "100.0"},
        {1e22, "1e+22"},
        {7e22, "7e+22"},
        {1e23, "1e+23"},
        {1e21, "1e+21"},
        {1e100, "1e+100"},
        {1e308, "1e+308"},
        {1.5e16, "1.5e+16"},
        {3.0, "3.0"},
        {1.0, "1.0"},
        {12.0, "12.0"},
        {-123.0, "-123.0"},
        {0.5, "0.5"},
        {0.3, "0.3"},
        {0.1 + 0.2, "0.30000000000000004"},
        {4.35, "4.35"},
        {0.000123, "0.000123"},
        {-0.0001, "-0.0001"},
        {123.456, "123.456"},
        {12345678.9, "12345678.9"},
        {1e-7, "1e-07"},
        {1.2345e-300, "1.2345e-300"},
        {9007199254740993.0, "9007199254740992.0"},
        {9999999999999998.0, "9999999999999998.0"},
        {999999999999999.9, "999999999999999.9"},
        {1234567890123456.7, "1234567890123456.8"},
        {1e15 + 0.3, "1000000000000000.2"},
        {9.999999999999999e-5, "9.999999999999999e-05"},
        {0x1p-1022, "2.2250738585072014e-308"},
        {2.225073858507201e-308, "2.225073858507201e-308"}, /* max subnormal */
        {1e-323, "1e-323"},
        {1.5e-323, "1.5e-323"},
        {3.5e-323, "3.5e-323"},
        {1e-310, "1e-310"},
        {5e-310, "5e-310"},
        {0x1p63, "9.223372036854776e+18"},
        {0x1p1023, "8.98846567431158e+307"},
        /* powers of two whose shortest digits are not the nearest ones */
        {0x1p-1017, "7.120236347223045e-307"},
        {-0x1p-1017, "-7.120236347223045e-307"},
        {0x1p-296, "7.854549544476363e-90"},
        /* two shortest candidates equally near: the even digit (dtoa mode 0) */
        {562949953421312.25, "562949953421312.2"},
        {562949953421312.75, "562949953421312.8"},
        {562949953421313.25, "562949953421313.2"},
        {1125899906842624.25, "1125899906842624.2"},
        {562949953421312.375, "562949953421312.4"},
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {INFINITY, "inf"},
        {-INFINITY, "-inf"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        check_repr(table[i].v, table[i].s);
        check_oracle(table[i].v);
    }

    errno = 0; /* reading back subnormals sets ERANGE inside; not ours */
    check_repr(5e-324, "5e-324");
    check_repr(-1e-310, "-1e-310");
    assert_int_equal(errno, 0);
}

static void test_nan(void **state)
{
    (void)state;
    check_repr(NAN, "nan");
    check_repr(-NAN, "nan");
    check_repr(from_bits(0x7FF0000000000001u), "nan"); /* signalling */
    check_repr(from_bits(0xFFF8000000000000u), "nan");
    check_repr(from_bits(0xFFFFFFFFFFFFFFFFu), "nan");
    check_repr(from_bits(0x7FFDEADBEEF00000u), "nan");
    check_oracle(NAN);
    check_oracle(from_bits(0xFFF0000000000001u));
}

/* ---- independent checker ---------------------------------------------- */

struct dec {
    char d[24]; /* significant digits, no leading zero */
    int n;
    int e;      /* value = d1.d2..dn * 10^e */
};

static double dec_value(const struct dec *x)
{
    char s[64];
    snprintf(s, sizeof s, "%.*se%d", x->n, x->d, x->e - (x->n - 1));
    return strtod_l(s, NULL, c_loc);
}

/* Correctly rounded p-digit decimal of v > 0 (glibc printf is exact). */
static void nearest(double v, int p, struct dec *x)
{
    char s[64];
    snprintf(s, sizeof s, "%.*e", p - 1, v);
    x->n = 0;
    const char *c = s;
    for (; *c != 'e'; c++)
        if (*c != '.')
            x->d[x->n++] = *c;
    x->e = atoi(c + 1);
}

/* Neighbouring p-digit decimal, via integer arithmetic. */
static void neighbour(const struct dec *x, int up, struct dec *y)
{
    uint64_t m = 0, lim = 1;
    for (int i = 0; i < x->n; i++) {
        m = m * 10 + (uint64_t)(x->d[i] - '0');
        lim *= 10;
    }
    int e = x->e;
    m = up ? m + 1 : m - 1;
    if (m == lim) { /* 99..9 + 1 */
        m /= 10;
        e++;
    } else if (m < lim / 10) { /* 10..0 - 1: one more digit, next decade */
        m = m * 10 + 9;
        e--;
    }
    snprintf(y->d, sizeof y->d, "%0*llu", x->n, (unsigned long long)m);
    y->n = x->n;
    y->e = e;
}

/* Reads a repr-style string; checks its shape and returns sign, digits, e. */
static void parse_repr(const char *s, int *neg, struct dec *x)
{
    const char *c = s;
    *neg = *c == '-';
    c += *neg;
    char all[40];
    int na = 0, point = -1;
    for (; (*c >= '0' && *c <= '9') || *c == '.'; c++) {
        if (*c == '.') {
            if (point >= 0)
                fail_msg("\"%s\": two points", s);
            point = na;
        } else {
            all[na++] = *c;
        }
    }
    int exp = 0;
    if (*c == 'e') {
        c++;
        if (*c != '+' && *c != '-')
            fail_msg("\"%s\": exponent without sign", s);
        if (!(c[1] >= '0' && c[1] <= '9' && c[2] >= '0' && c[2] <= '9'))
            fail_msg("\"%s\": exponent with fewer than two digits", s);
        char *end;
        exp = (int)strtol(c, &end, 10);
        c = end;
    }
    if (*c != '\0')
        fail_msg("\"%s\": junk", s);
    if (point < 0)
        point = na;
    int lead = 0;
    while (lead < na && all[lead] == '0')
        lead++;
    if (lead == na)
        fail_msg("\"%s\": zero", s);
    int end = na;
    while (all[end - 1] == '0')
        end--;
    x->n = end - lead;
    memcpy(x->d, all + lead, (size_t)x->n);
    x->e = point - lead - 1 + exp;
}

/* The canonical repr text of sign/digits/exponent, built the obvious way. */
static void render(int neg, const struct dec *x, char *s)
{
    char *p = s;
    if (neg)
        *p++ = '-';
    if (x->e >= 16 || x->e < -4) {
        p += sprintf(p, "%c", x->d[0]);
        if (x->n > 1)
            p += sprintf(p, ".%.*s", x->n - 1, x->d + 1);
        sprintf(p, "e%c%02d", x->e < 0 ? '-' : '+', abs(x->e));
    } else if (x->e < 0) {
        sprintf(p, "0.%.*s%.*s", -x->e - 1, "0000", x->n, x->d);
    } else if (x->n <= x->e + 1) {
        sprintf(p, "%.*s%.*s.0", x->n, x->d, x->e + 1 - x->n, "0000000000000000");
    } else {
        sprintf(p, "%.*s.%.*s", x->e + 1, x->d, x->n - x->e - 1, x->d + x->e + 1);
    }
}

/* Full specification check for finite non-zero v: round trip, canonical
 * layout, shortest length, nearest among the shortest. */
static void check_spec(double v)
{
    char got[MR_FMT_MAX + 1], want[64];
    check_oracle(v);
    format(v, got);

    double back = strtod_l(got, NULL, c_loc);
    if (bits(back) != bits(v))
        fail_msg("%a: \"%s\" reads back as %a", v, got, back);

    int neg;
    struct dec x;
    parse_repr(got, &neg, &x);
    render(neg, &x, want);
    if (strcmp(got, want) != 0)
        fail_msg("%a: \"%s\" is not in canonical form \"%s\"", v, got, want);

    double a = fabs(v);
    struct dec c, nb;
    /* n digits: the nearest n-digit decimal, unless it does not read back
     * (then only its neighbour across v can, see numfmt.c). */
    nearest(a, x.n, &c);
    if (dec_value(&c) == a) {
        if (memcmp(c.d, x.d, (size_t)x.n) != 0 || c.e != x.e)
            fail_msg("%a: \"%s\" but %.*se%d is nearer", v, got, c.n, c.d, c.e);
    } else {
        neighbour(&c, dec_value(&c) < a, &nb);
        if (memcmp(nb.d, x.d, (size_t)x.n) != 0 || nb.e != x.e)
            fail_msg("%a: \"%s\" is not the nearest that reads back", v, got);
    }
    /* n-1 digits: none reads back (it suffices to try the nearest and both
     * its neighbours: the ones that read back form an interval around v). */
    if (x.n > 1) {
        nearest(a, x.n - 1, &c);
        if (dec_value(&c) == a)
            fail_msg("%a: \"%s\" but %.*se%d is shorter", v, got, c.n, c.d, c.e);
        for (int up = 0; up < 2; up++) {
            neighbour(&c, up, &nb);
            if (dec_value(&nb) == a)
                fail_msg("%a: \"%s\" but %.*se%d is shorter", v, got, nb.n,
                         nb.d, nb.e);
        }
    }
}

static void test_table_spec(void **state)
{
    (void)state;
    static const double vs[] = {0.1, 1e16, 1e15, 5e-324, DBL_MAX, DBL_MIN,
                                1e22, 1e23, 0.3, 2.5e-5, 123.456};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        check_spec(vs[i]);
        check_spec(-vs[i]);
    }
}

static void test_powers_of_two(void **state)
{
    (void)state;
    for (int k = -1074; k <= 1023; k++) {
        check_spec(ldexp(1.0, k));
        check_spec(-ldexp(1.0, k));
        double t = ldexp(1.0, k) * 3;
        if (!isinf(t))
            check_spec(t);
    }
}

static void test_subnormals(void **state)
{
    (void)state;
    for (uint64_t m = 1; m <= 20000; m++)
        check_spec(from_bits(m));
    for (uint64_t m = 0xFFFFFFFFFFFFFu; m > 0xFFFFFFFFFFFFFu - 2000; m--)
        check_spec(from_bits(m));
    rng_state = 0x5DEECE66Du;
    for (int i = 0; i < 20000; i++)
        check_spec(from_bits(xorshift() & 0x800FFFFFFFFFFFFFu));
}

static void test_decades(void **state)
{
    (void)state;
    /* Around every power of ten, where the notation switches. */
    for (int k = -325; k <= 308; k++) {
        char s[32];
        snprintf(s, sizeof s, "1e%d", k);
        double d = strtod_l(s, NULL, c_loc);
        if (d == 0 || isinf(d))
            continue;
        check_spec(d);
        check_spec(nextafter(d, 0));
        check_spec(nextafter(d, INFINITY));
    }
    /* Integers and simple decimals near the fixed/scientific boundary. */
    for (int i = 0; i < 2000; i++) /* 2^53 +- 1000 */
        check_spec(9007199254739992.0 + i);
    for (int i = 0; i < 2000; i++) /* 1e16 +- 1000 */
        check_spec(9999999999999000.0 + i);
    for (int i = 1; i < 100000; i++)
        check_spec(i / 1000.0);
}

/* The full specification check (slow) on random bit patterns. */
static void test_random_spec(void **state)
{
    (void)state;
    rng_state = 0x0123456789ABCDEFu;
    for (int i = 0; i < 200000; i++) {
        double v = from_bits(xorshift());
        if (isnan(v))
            continue;
        check_spec(v);
    }
}

/* A double that often has a short repr: k-digit integer times 10^e. */
static double short_decimal(void)
{
    char s[48];
    uint64_t r = xorshift();
    static const uint64_t lim[] = {10, 100, 1000, 10000, 100000, 10000000,
                                   1000000000, 100000000000000u};
    uint64_t m = xorshift() % lim[r & 7];
    int e = (int)((r >> 3) % 660) - 340;
    if ((r >> 20) & 1)
        e = (int)((r >> 21) % 50) - 25;
    int n = snprintf(s, sizeof s, "%llue%d", (unsigned long long)m, e);
    double d;
    if (oracle_parse_double(s, (size_t)n, &d) != 0)
        fail_msg("oracle rejected %s", s);
    return ((r >> 30) & 1) ? -d : d;
}

/* Against the oracle, byte for byte, and read back: random bit patterns,
 * uniform [0, 1) values, short decimals, and neighbours of those. */
static void test_random_oracle(void **state)
{
    (void)state;
    rng_state = 0x6A09E667F3BCC908u;
    const long long n = random_count(1000000);
    for (long long i = 0; i < n; i++) {
        double v;
        switch (i & 7) {
        case 0: case 1: case 2: case 3:
            v = from_bits(xorshift());
            break;
        case 4: case 5:
            v = (double)(xorshift() >> 11) * 0x1p-53;
            break;
        case 6:
            v = short_decimal();
            break;
        default:
            v = nextafter(short_decimal(), (xorshift() & 1) ? INFINITY : -INFINITY);
            break;
        }
        check_oracle(v);
    }
    print_message("%lld doubles formatted as the oracle does, read back\n", n);
}

static void test_comma_locale(void **state)
{
    (void)state;
    static const char *names[] = {
        "de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "fr_FR.utf8",
        "fr_FR", "nl_NL.UTF-8", "ru_RU.UTF-8", "es_ES.UTF-8", "it_IT.UTF-8",
    };
    const char *found = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++)
        if (setlocale(LC_ALL, names[i]) != NULL)
            found = names[i];
    if (!found || strcmp(localeconv()->decimal_point, ",") != 0) {
        setlocale(LC_ALL, "C");
        skip();
    }
    char a[MR_FMT_MAX], b[MR_FMT_MAX], c[MR_FMT_MAX];
    size_t na = mr_format_double(1.5, a);
    size_t nb = mr_format_double(1.0 / 3, b);
    size_t nc = mr_format_double(2.5e-300, c);
    setlocale(LC_ALL, "C");
    assert_memory_equal(a, "1.5", 3);
    assert_int_equal(na, 3);
    assert_int_equal(nb, 18);
    assert_memory_equal(b, "0.3333333333333333", 18);
    assert_int_equal(nc, 8);
    assert_memory_equal(c, "2.5e-300", 8);
}

static void *thread_body(void *arg)
{
    static const struct { double v; const char *s; } in[] = {
        {0.1, "0.1"}, {0x1p-1017, "7.120236347223045e-307"},
        {5e-324, "5e-324"}, {1.0 / 3, "0.3333333333333333"},
    };
    for (int rep = 0; rep < 20000; rep++) {
        int i = rep % 4;
        char buf[MR_FMT_MAX];
        size_t n = mr_format_double(in[i].v, buf);
        if (n != strlen(in[i].s) || memcmp(buf, in[i].s, n) != 0)
            return arg;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    static int failed = 1; /* a thread returns &failed on a wrong result */
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&th[i], NULL, thread_body, &failed), 0);
    for (int i = 0; i < 8; i++) {
        void *ret;
        assert_int_equal(pthread_join(th[i], &ret), 0);
        assert_null(ret);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads), /* first: races the lazy init */
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_nan),
        cmocka_unit_test(test_table_spec),
        cmocka_unit_test(test_powers_of_two),
        cmocka_unit_test(test_subnormals),
        cmocka_unit_test(test_decades),
        cmocka_unit_test(test_random_spec),
        cmocka_unit_test(test_random_oracle),
        cmocka_unit_test(test_comma_locale),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
